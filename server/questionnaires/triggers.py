"""Questionnaire triggers: the dispatch handler that opens forms, reminds and closes them.

Runs inside the scheduler's sweep transaction (the dispatch is claimed and its effects written
together), so each dispatch acts once across processes. A form itself is one row per (person,
series, slot), inserted ``ON CONFLICT DO NOTHING``: however many dispatches ask for it (a late
joiner's pre, a replan), it opens and is mailed once.

Before every send: the person is still an active member of the group, has not submitted this
form, the form is open, and they have not opted out of questionnaire e-mail (an opted-out
member's form still opens in the app, without mail). Nothing here is consulted when joining a
group or a session: questionnaires never block taking part.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Group, Membership, Person, ScheduledSession, Series
from server.domain import GroupRole, MembershipStatus
from server.notify.mailer import Notifier
from server.notify.templates import format_when, person_zone, pick_locale
from server.questionnaires.form_models import FormAssignment, FormMailPref, SeriesFormPlan
from server.questionnaires.form_plan import (
    FormPlan,
    closes_at,
    default_plan,
    reminder_times,
    slot_for,
)
from server.questionnaires.forms import (
    FormState,
    close_form,
    create_responses,
    form_state,
    insert_stmt,
    responses_of,
)
from server.questionnaires.links import mint_form_link
from server.questionnaires.mail import FormMail, queue_mail, render_form_mail, timepoint_name
from server.questionnaires.models import Timepoint
from server.questionnaires.registry import Registry
from server.scheduling.models import Dispatch, Purpose
from server.scheduling.plan import PlannedDispatch, dispatch_key
from server.scheduling.store import insert_missing
from server.settings import Settings

log = logging.getLogger("circle.questionnaires")

OPENS: dict[Purpose, Timepoint] = {
    Purpose.TIMEPOINT_PRE: Timepoint.PRE,
    Purpose.TIMEPOINT_POST: Timepoint.POST,
    Purpose.TIMEPOINT_FOLLOWUP: Timepoint.FOLLOWUP,
}
PURPOSES = (*OPENS, Purpose.TIMEPOINT_CHECKIN, Purpose.FORM_REMINDER, Purpose.FORM_CLOSE)
CLOSE_GRACE = timedelta(days=30)
FOLLOWUP_GRACE = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class FormsConfig:
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> FormsConfig:
        return cls(
            public_url=settings.public_url,
            secret_key=settings.secret_key,
        )


def session_end(x: ScheduledSession) -> datetime:
    return x.starts_at + timedelta(minutes=x.duration_minutes)


async def series_plan(s: AsyncSession, series: Series) -> FormPlan:
    row = await s.get(SeriesFormPlan, series.id)
    if row is not None:
        return FormPlan.model_validate(row.plan)
    group = await s.get(Group, series.group_id)
    assert group is not None
    return default_plan(group.protocol)


async def is_enrolled(s: AsyncSession, group_id: int, person_id: int) -> bool:
    role = await s.scalar(
        select(Membership.role).where(
            Membership.group_id == group_id,
            Membership.person_id == person_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    return role is GroupRole.MEMBER


async def opted_out(s: AsyncSession, person_id: int) -> bool:
    pref = await s.get(FormMailPref, person_id)
    return pref is not None and pref.opted_out


class FormTriggers:
    """The handler for the questionnaire purposes (``PURPOSES``)."""

    purposes = PURPOSES

    def __init__(self, cfg: FormsConfig, notifier: Notifier, registry: Registry) -> None:
        self._cfg = cfg
        self._notifier = notifier
        self._registry = registry

    async def handle(self, s: AsyncSession, batch: Sequence[Dispatch], now: datetime) -> None:
        """Apply a claimed batch in the sweep's transaction (the dispatcher's handler API)."""
        await self.apply(s, batch, now)

    async def apply(self, s: AsyncSession, batch: Sequence[Dispatch], now: datetime) -> int:
        """As ``handle``; returns the mails queued."""
        sent = 0
        for d in batch:
            if d.purpose not in PURPOSES:
                continue
            sess = await s.get(ScheduledSession, d.session_id)
            if sess is None or sess.series_id is None:
                continue
            if d.purpose in OPENS and d.person_id is not None:
                sent += await self._open(s, d, sess, OPENS[d.purpose], d.person_id, now, d.id)
            elif d.purpose is Purpose.TIMEPOINT_CHECKIN:
                members = await s.scalars(
                    select(Membership.person_id).where(
                        Membership.group_id == sess.group_id,
                        Membership.status == MembershipStatus.ACTIVE,
                        Membership.role == GroupRole.MEMBER,
                    )
                )
                for pid in list(members):
                    sent += await self._open(s, d, sess, Timepoint.CHECKIN, pid, now, None)
            elif d.purpose is Purpose.FORM_REMINDER:
                sent += await self._remind(s, d, now)
            elif d.purpose is Purpose.FORM_CLOSE:
                await self._close(s, d, now)
        return sent

    async def _open(
        self,
        s: AsyncSession,
        d: Dispatch,
        sess: ScheduledSession,
        tp: Timepoint,
        person_id: int,
        now: datetime,
        dispatch_id: int | None,
    ) -> int:
        series = await s.get(Series, sess.series_id)
        if series is None:
            return 0
        plan = await series_plan(s, series)
        rule = plan.rule(tp)
        if not rule.enabled or not rule.instruments:
            return 0
        if not await is_enrolled(s, sess.group_id, person_id):
            return 0
        slot = slot_for(tp, sess.id)
        # The window counts from when the form was due (the session's end), not from a late
        # sweep; reminders already past are not sent.
        opened = min(d.due_at, now)
        closes = closes_at(rule, opened, session_end(sess))
        if closes <= now:
            return 0
        instruments = [i for i in rule.instruments if i in self._registry.ids()]
        person = await s.get(Person, person_id)
        if not instruments or person is None:
            return 0
        stmt = (
            insert_stmt(s, FormAssignment)
            .values(
                person_id=person_id,
                series_id=series.id,
                group_id=sess.group_id,
                session_id=sess.id,
                timepoint=tp,
                slot=slot,
                instruments=instruments,
                mails_sent=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["person_id", "series_id", "slot"])
            .returning(FormAssignment.id)
        )
        new_id = (await s.execute(stmt)).scalar_one_or_none()
        if new_id is None:
            log.info("form %s of person %s in series %s is already out", slot, person_id, series.id)
            return 0
        a = await s.get(FormAssignment, new_id)
        assert a is not None
        await create_responses(
            s,
            a,
            person,
            self._registry,
            opens_at=opened,
            closes_at=closes,
            locale=pick_locale(person.locale),
        )
        follow: list[PlannedDispatch] = []
        base = dispatch_key(sess.id, sess.sequence, person_id, Purpose.FORM_REMINDER)
        for due in reminder_times(rule, opened, closes):
            if due <= now:
                continue
            minutes = int((due - opened).total_seconds() // 60)
            key = f"{base.rsplit(':', 1)[0]}:{minutes}:{slot}"
            follow.append(
                PlannedDispatch(
                    key,
                    sess.id,
                    person_id,
                    Purpose.FORM_REMINDER,
                    minutes,
                    due,
                    closes,
                    {"assignment_id": a.id},
                )
            )
        close_key = f"{dispatch_key(sess.id, sess.sequence, person_id, Purpose.FORM_CLOSE)}:{slot}"
        follow.append(
            PlannedDispatch(
                close_key,
                sess.id,
                person_id,
                Purpose.FORM_CLOSE,
                0,
                closes,
                closes + CLOSE_GRACE,
                {"assignment_id": a.id},
            )
        )
        if tp is Timepoint.POST and plan.followup.enabled:
            due = session_end(sess) + timedelta(weeks=plan.followup_weeks)
            follow.append(
                PlannedDispatch(
                    dispatch_key(sess.id, sess.sequence, person_id, Purpose.TIMEPOINT_FOLLOWUP),
                    sess.id,
                    person_id,
                    Purpose.TIMEPOINT_FOLLOWUP,
                    0,
                    due,
                    due + FOLLOWUP_GRACE,
                )
            )
        await insert_missing(s, follow)
        log.info("form %s opened for person %s in series %s", slot, person_id, series.id)
        return await self._mail(s, a, FormMail.FORM_OPEN, dispatch_id, now)

    async def _remind(self, s: AsyncSession, d: Dispatch, now: datetime) -> int:
        a = await self._assignment(s, d)
        if a is None:
            return 0
        if form_state(await responses_of(s, a, self._registry), now) is not FormState.OPEN:
            return 0  # submitted (reminders stop) or closed
        if not await is_enrolled(s, a.group_id, a.person_id):
            return 0
        return await self._mail(s, a, FormMail.FORM_REMINDER, d.id, now)

    async def _close(self, s: AsyncSession, d: Dispatch, now: datetime) -> None:
        a = await self._assignment(s, d)
        if a is not None:
            await close_form(s, a, self._registry, now)

    @staticmethod
    async def _assignment(s: AsyncSession, d: Dispatch) -> FormAssignment | None:
        aid = d.payload.get("assignment_id")
        return await s.get(FormAssignment, aid) if isinstance(aid, int) else None

    async def _mail(
        self,
        s: AsyncSession,
        a: FormAssignment,
        kind: FormMail,
        dispatch_id: int | None,
        now: datetime,
    ) -> int:
        """Queue one form mail, unless the person opted out or is no longer active."""
        if await opted_out(s, a.person_id):
            log.info("form %s of person %s: no mail (opted out)", a.id, a.person_id)
            return 0
        person = await s.get(Person, a.person_id)
        series = await s.get(Series, a.series_id)
        group = await s.get(Group, a.group_id)
        if person is None or not person.is_active or series is None or group is None:
            return 0
        if not self._cfg.secret_key:
            return 0  # no signed links without a key; the form is in the app
        locale = pick_locale(person.locale)
        zone = person_zone(person.timezone, series.timezone)
        responses = await responses_of(s, a, self._registry)
        closes = min((r.closes_at for r in responses if r.closes_at is not None), default=None)
        link = await mint_form_link(
            s, self._cfg.secret_key, a, closes, now, self._cfg.public_url, locale
        )
        subject, body = render_form_mail(
            kind,
            locale,
            name=person.display_name,
            title=series.title,
            group=group.name,
            timepoint=timepoint_name(a.timepoint, locale),
            until=format_when(closes, zone, locale) if closes else "",
            tz=zone.key,
            link=link,
        )
        await queue_mail(
            s,
            self._notifier,
            person=person,
            organisation_id=group.organisation_id,
            kind=kind.value,
            subject=subject,
            body=body,
            dispatch_id=dispatch_id,
            now=now,
            locale=locale,
        )
        a.mails_sent += 1
        return 1
