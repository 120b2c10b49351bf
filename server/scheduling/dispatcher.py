"""The sweep: claim due dispatches and apply their effects, at most once, in one transaction.

A batch is claimed by one ``UPDATE ... SET status='done' WHERE id IN (SELECT ... FOR UPDATE
SKIP LOCKED) RETURNING ...``; its effects (session status changes, outbox rows) are written in
the same transaction. If the process dies before commit, nothing happened and the next sweep (in
this or another process) takes the batch again; after commit the rows are no longer pending, so
no sweep can take them twice. On PostgreSQL the row locks let two processes sweep side by side;
SQLite serialises writers, and the claim's first statement is the write.

A dispatch found after its ``expires_at`` (the server was down past its grace) is recorded as
``skipped``, not run.

Only purposes with a handler are claimed (``handlers.py``): the dispatcher's own and those a
feature registered. A dispatch of any other purpose stays ``pending`` until one is registered.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import audit
from server.auth.tokens import mint_confirm_token
from server.db.models import Group, Membership, Person, ScheduledSession, Series
from server.domain import AuditOutcome, MembershipStatus, SessionStatus
from server.lifecycle import NO_ONE_ENDED_IT, Change
from server.notify.mailer import Notifier
from server.notify.outbox import Notice, enqueue
from server.notify.templates import (
    Kind,
    format_when,
    note_line,
    person_zone,
    pick_locale,
    render,
)
from server.pages import confirm_page, session_page
from server.scheduling.handlers import DispatchHandlers, Handler
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import SchedulingConfig
from server.session_status import write_status

log = logging.getLogger("circle.scheduling")

# The session status change each of these purposes makes (server.lifecycle has the table).
TRANSITIONS: dict[Purpose, Change] = {
    Purpose.LOBBY_OPEN: Change.LOBBY_OPEN,
    Purpose.SESSION_START: Change.START,
    # A session that never went live ends at the close; a live one is its room's to end (it
    # may run over), unless no process runs its room: then no one ended it, and the close does.
    Purpose.SESSION_CLOSE: Change.CLOSE,
}


@dataclass(frozen=True, slots=True)
class Fired:
    """What listeners (rooms, questionnaires) hear after a dispatch committed."""

    key: str
    purpose: Purpose
    session_id: int
    person_id: int | None
    due_at: datetime
    fired_at: datetime


Listener = Callable[[Fired], Awaitable[None]]


@dataclass(slots=True)
class SweepResult:
    done: int = 0
    skipped: int = 0
    messages: int = 0
    fired: list[Fired] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        cfg: SchedulingConfig,
        notifier: Notifier,
        *,
        worker: str,
        batch: int = 500,
        clock: Callable[[], datetime] | None = None,
        handlers: DispatchHandlers | None = None,
    ) -> None:
        self.handlers = handlers if handlers is not None else DispatchHandlers()
        self._clock = clock
        self._sm = sessionmaker
        self._cfg = cfg
        self._notifier = notifier
        self._worker = worker
        self._batch = batch

    def register(self, purpose: Purpose, handler: Handler) -> None:
        """Handle dispatches of ``purpose`` (see ``handlers.py``); until a purpose has a
        handler its dispatches are not claimed."""
        self.handlers.register(purpose, handler)

    def _pending(self) -> tuple[Any, ...]:
        """Pending dispatches this dispatcher may claim: those of a handled purpose."""
        return (
            Dispatch.status == DispatchStatus.PENDING,
            Dispatch.purpose.in_(sorted(self.handlers.handled)),
        )

    async def _claim(self, s: AsyncSession, now: datetime) -> Sequence[Dispatch]:
        ids = (
            select(Dispatch.id)
            .where(*self._pending(), Dispatch.due_at <= now)
            .order_by(Dispatch.due_at)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        rows = await s.execute(
            update(Dispatch)
            .where(Dispatch.id.in_(ids.scalar_subquery()))
            .values(status=DispatchStatus.DONE, done_at=now, done_by=self._worker)
            .returning(Dispatch)
            .execution_options(synchronize_session=False)
        )
        return rows.scalars().all()

    async def next_due(self) -> datetime | None:
        """When the earliest pending dispatch falls due (one index lookup)."""
        async with self._sm() as s:
            found: datetime | None = await s.scalar(
                select(func.min(Dispatch.due_at)).where(*self._pending())
            )
        return found

    async def _skip_expired(self, s: AsyncSession, now: datetime) -> int:
        rows = await s.execute(
            update(Dispatch)
            .where(*self._pending(), Dispatch.due_at <= now, Dispatch.expires_at < now)
            .values(status=DispatchStatus.SKIPPED, done_at=now, done_by=self._worker)
            .returning(Dispatch.key)
            .execution_options(synchronize_session=False)
        )
        keys = rows.scalars().all()
        for key in keys:
            log.info("dispatch %s missed beyond its grace: skipped", key)
        return len(keys)

    async def sweep_once(self, at: datetime | None = None) -> SweepResult:
        """Run everything due (in batches); returns what was done. ``at`` fixes the time;
        without it each batch reads the clock, so ``done_at`` is the time of its claim."""
        if at is None and self._clock is None:
            raise ValueError("sweep_once needs a time or a clock")
        result = SweepResult()
        first = True
        while True:
            now = at or self._now()
            async with self._sm() as s, s.begin():
                if first:  # missed beyond grace: recorded as skipped, in the first transaction
                    result.skipped += await self._skip_expired(s, now)
                    first = False
                claimed = await self._claim(s, now)
                gone: set[int] = set()
                if claimed:
                    messages, gone = await self._apply(s, claimed, now)
                    result.messages += messages
            result.done += len(claimed) - len(gone)
            result.skipped += len(gone)
            result.fired.extend(
                Fired(d.key, d.purpose, d.session_id, d.person_id, d.due_at, now)
                for d in claimed
                if d.id not in gone
            )
            if len(claimed) < self._batch:
                return result

    def _now(self) -> datetime:
        assert self._clock is not None
        return self._clock()

    async def _apply(
        self, s: AsyncSession, claimed: Sequence[Dispatch], now: datetime
    ) -> tuple[int, set[int]]:
        session_ids = {d.session_id for d in claimed}
        # A summary notice lists the sessions it is about (re-timed or cancelled together).
        session_ids |= {int(x) for d in claimed for x in d.payload.get("sessions", [])}
        found = await s.execute(
            select(ScheduledSession).where(ScheduledSession.id.in_(session_ids))
        )
        sessions = {x.id: x for x in found.scalars()}
        outbox: list[Notice] = []
        gone = await _not_active(s, claimed, sessions)
        to_mail = {d.id for d in claimed if d.person_id is not None and _kind(d) is not None}
        people = {d.person_id for d in claimed if d.id in to_mail and d.person_id is not None}
        context = await _Context.load(s, sessions, people)
        by_handler: dict[Purpose, list[Dispatch]] = {}
        for d in claimed:
            sess = sessions.get(d.session_id)
            if sess is None:
                continue
            if self.handlers.get(d.purpose) is not None:
                if d.id not in gone:
                    by_handler.setdefault(d.purpose, []).append(d)
            elif d.purpose in TRANSITIONS:
                await _transition(s, sess, d.purpose, now)
            elif d.id in gone:
                continue
            elif d.id in to_mail:
                notice = context.message(d, sess, self._cfg, now)
                if notice is not None:
                    outbox.append(notice)
        await enqueue(s, outbox, self._notifier, now)
        for purpose, batch in by_handler.items():
            handler = self.handlers.get(purpose)
            assert handler is not None
            await handler(s, batch, now)
        return len(outbox), gone


ROSTER_BOUND = (Purpose.REMINDER, Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST)


async def _not_active(
    s: AsyncSession, claimed: Sequence[Dispatch], sessions: dict[int, ScheduledSession]
) -> set[int]:
    """Ids of reminders and timepoints whose person left the group since they were planned;
    they are recorded as skipped."""
    bound = [d for d in claimed if d.purpose in ROSTER_BOUND and d.person_id is not None]
    if not bound:
        return set()
    groups = {sessions[d.session_id].group_id for d in bound if d.session_id in sessions}
    rows = await s.execute(
        select(Membership.group_id, Membership.person_id).where(
            Membership.group_id.in_(groups),
            Membership.person_id.in_({d.person_id for d in bound}),
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    active = {(g, p) for g, p in rows}
    gone = {
        d.id
        for d in bound
        if d.session_id in sessions and (sessions[d.session_id].group_id, d.person_id) not in active
    }
    if gone:
        await s.execute(
            update(Dispatch)
            .where(Dispatch.id.in_(gone))
            .values(status=DispatchStatus.SKIPPED)
            .execution_options(synchronize_session=False)
        )
    return gone


def _kind(d: Dispatch) -> Kind | None:
    if d.purpose is Purpose.REMINDER:
        return Kind.REMINDER
    if d.purpose in (Purpose.CHANGE_NOTICE, Purpose.ENROLMENT_NOTICE):
        return Kind(str(d.payload.get("kind", Kind.MOVED.value)))
    return None


async def _transition(
    s: AsyncSession, sess: ScheduledSession, purpose: Purpose, now: datetime
) -> None:
    change = TRANSITIONS[purpose]
    written = await write_status(s, sess.id, change, now=now, loaded=sess)
    if written.ok or change is not Change.CLOSE or written.status is not SessionStatus.LIVE:
        return
    if (
        await write_status(s, sess.id, Change.ABANDON, now=now, unless_room_runs=True, loaded=sess)
    ).ok:
        await audit.record(
            s,
            actor_id=None,
            action="session.end",
            target=f"session:{sess.id}",
            outcome=AuditOutcome.ALLOWED,
            details={"reason": NO_ONE_ENDED_IT, "by": "scheduler"},
        )


@dataclass(slots=True)
class _Context:
    people: dict[int, Person]
    groups: dict[int, Group]
    series: dict[int, Series]
    sessions: dict[int, ScheduledSession]

    @classmethod
    async def load(
        cls, s: AsyncSession, sessions: dict[int, ScheduledSession], person_ids: set[int]
    ) -> _Context:
        if not person_ids:
            return cls({}, {}, {}, sessions)
        people = (await s.execute(select(Person).where(Person.id.in_(person_ids)))).scalars()
        gids = {x.group_id for x in sessions.values()}
        sids = {x.series_id for x in sessions.values() if x.series_id is not None}
        groups = (await s.execute(select(Group).where(Group.id.in_(gids)))).scalars()
        series = (await s.execute(select(Series).where(Series.id.in_(sids)))).scalars()
        return cls(
            {p.id: p for p in people},
            {g.id: g for g in groups},
            {x.id: x for x in series},
            sessions,
        )

    def message(
        self,
        d: Dispatch,
        sess: ScheduledSession,
        cfg: SchedulingConfig,
        now: datetime,
    ) -> Notice | None:
        kind = _kind(d)
        person = self.people.get(d.person_id or 0)
        if kind is None or person is None or not person.is_active:
            return None
        group = self.groups.get(sess.group_id)
        series = self.series.get(sess.series_id or 0)
        locale = pick_locale(person.locale)
        zone = person_zone(person.timezone, sess.timezone)
        old = d.payload.get("old_starts_at")
        values = {
            "name": person.display_name,
            "group": group.name if group else "",
            "title": series.title if series else (group.name if group else ""),
            "when": format_when(sess.starts_at, zone, locale),
            "old_when": format_when(datetime.fromisoformat(old), zone, locale) if old else "",
            "tz": zone.key,
            "index": sess.index,
            "link": session_page(cfg.public_url, sess.id),
            "confirm": session_page(cfg.public_url, sess.id),
            "note": note_line(d.payload.get("note"), locale),
            "sessions": "\n".join(
                f"- {format_when(x.starts_at, zone, locale)}"
                for x in sorted(
                    (
                        self.sessions[int(i)]
                        for i in d.payload.get("sessions", [])
                        if int(i) in self.sessions
                    ),
                    key=lambda x: (x.starts_at, x.id),
                )
            ),
        }
        if series is not None and cfg.secret_key:
            token = mint_confirm_token(
                cfg.secret_key, series_id=series.id, person_id=person.id, now=now.timestamp()
            )
            values["confirm"] = confirm_page(cfg.public_url, token)
        subject, body = render(kind, locale, **values)
        return Notice(
            kind=kind.value,
            to_address=person.email,
            locale=locale,
            subject=subject,
            body=body,
            person_id=person.id,
            organisation_id=group.organisation_id if group else None,
            dispatch_id=d.id,
        )
