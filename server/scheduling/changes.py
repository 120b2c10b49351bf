"""Changing a booked series: move or cancel one session or the rest, add a make-up session.

Every change bumps the session's iCalendar SEQUENCE, supersedes its pending dispatches, plans
new ones under the new SEQUENCE and queues a notice to everyone in the group, all in the
caller's transaction.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.models import ScheduledSession, Series
from server.domain import AuditOutcome, SessionStatus
from server.errors import Conflict, ErrorCode, NotFound, UserError
from server.lifecycle import Change, may
from server.notify.templates import Kind
from server.scheduling.calendars import holidays
from server.scheduling.models import Purpose
from server.scheduling.plan import PlannedDispatch, SchedulingConfig, notice
from server.scheduling.series import (
    SeriesSpec,
    Slot,
    Weekday,
    check_year,
    fields_of,
    generate,
    load_zone,
    local_to_utc,
    placement_problems,
)
from server.scheduling.store import (
    get_group,
    insert_dispatches,
    leader_conflicts,
    live,
    next_index,
    plan_for,
    replan_timepoints,
    roster,
    series_sessions,
    supersede,
    times,
)
from server.session_status import write_status

log = logging.getLogger("circle.scheduling")
TIMEPOINTS = (Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST)
Date = date  # MoveRequest has a field named ``date``


NOTE_CHARS = 500  # a coordinator's note on a change, sent with its notice


class MoveRequest(BaseModel):
    """A new local date and time (in the series' timezone) and optionally a new duration;
    ``note`` goes to everyone with the notice."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: Date
    local_time: time
    duration_minutes: int | None = Field(None, ge=15, le=8 * 60)
    note: str | None = Field(None, max_length=NOTE_CHARS)

    @field_validator("date")
    @classmethod
    def _year(cls, v: Date) -> Date:
        return check_year(v)


class CancelRequest(BaseModel):
    """Why a session (or the rest of a series) is cancelled: told to everyone and audited."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reason: str | None = Field(None, max_length=NOTE_CHARS)


class RestRequest(BaseModel):
    """A new weekly pattern for this session and every later one still to come."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weekdays: list[Weekday] = Field(max_length=7)
    local_time: time
    start_date: date
    duration_minutes: int | None = Field(None, ge=15, le=8 * 60)
    note: str | None = Field(None, max_length=NOTE_CHARS)

    @field_validator("start_date")
    @classmethod
    def _year(cls, v: date) -> date:
        return check_year(v)

    @field_validator("weekdays")
    @classmethod
    def _some_day(cls, v: list[Weekday]) -> list[Weekday]:
        if not v:
            raise ValueError("choose at least one weekday (MO, TU, WE, TH, FR, SA, SU)")
        return v


async def load_session(s: AsyncSession, session_id: int) -> ScheduledSession:
    sess = await s.get(ScheduledSession, session_id, with_for_update=True)
    if sess is None:
        raise NotFound(f"no session {session_id}")
    return sess


def _changeable(sess: ScheduledSession, change: Change, now: datetime) -> None:
    """A coordinator may cancel a session until it goes live; move it only before its start."""
    if sess.status is SessionStatus.CANCELLED:
        raise Conflict(f"session {sess.id} is cancelled", code=ErrorCode.SESSION_CANCELLED)
    if not may(change, sess.status) or (change is Change.MOVE and sess.starts_at <= now):
        raise Conflict(
            f"session {sess.id} has already begun (status {sess.status.value})",
            code=ErrorCode.SESSION_STARTED,
        )


async def _write(s: AsyncSession, sess: ScheduledSession, change: Change, now: datetime) -> None:
    old = sess.status
    written = await write_status(s, sess.id, change, now=now, loaded=sess)
    if not written.ok:  # the row is locked FOR UPDATE: only a bug gets here
        raise Conflict(
            f"session {sess.id} is {written.status}; it cannot be changed now (was {old.value})",
            code=ErrorCode.SESSION_STARTED,
        )


async def _notify_all(
    s: AsyncSession, sess: ScheduledSession, kind: Kind, now: datetime, **extra: Any
) -> list[PlannedDispatch]:
    extra = {k: v for k, v in extra.items() if v}
    people = await roster(s, sess.group_id)
    return [
        notice(times(sess), pid, Purpose.CHANGE_NOTICE, now, {"kind": kind.value, **extra})
        for pid in people.everyone
    ]


async def _siblings(s: AsyncSession, sess: ScheduledSession) -> list[ScheduledSession]:
    return await series_sessions(s, sess.series_id) if sess.series_id else [sess]


async def _check_placement(
    s: AsyncSession,
    group_id: int,
    siblings: list[ScheduledSession],
    moved: dict[int, tuple[datetime, int]],
    *,
    added: tuple[int, datetime, int] | None = None,
    timezone: str,
) -> None:
    """Refuse a change that would leave the series breaking the rules booking keeps (sessions
    per series, meetings per week, overlaps), with every problem named by its field."""
    group = await get_group(s, group_id)
    zone = load_zone(timezone)
    slots: list[Slot] = []
    changed: set[int] = set()
    for x in live(siblings):
        start, minutes = moved.get(x.id, (x.starts_at, x.duration_minutes))
        if x.id in moved:
            changed.add(x.index)
        slots.append(Slot(x.index, start.astimezone(zone), minutes))
    if added is not None:
        index, start, minutes = added
        slots.append(Slot(index, start.astimezone(zone), minutes))
        changed.add(index)
    problems = placement_problems(group.protocol, slots, changed=changed)
    if problems:
        raise Conflict(
            "; ".join(p.message for p in problems),
            code=ErrorCode.SCHEDULE_REFUSED,
            fields=fields_of(problems),
            problems=[p.to_wire() for p in problems],
        )


async def _reschedule(
    s: AsyncSession,
    sess: ScheduledSession,
    starts_at: datetime,
    duration: int,
    *,
    cfg: SchedulingConfig,
    now: datetime,
    note: str | None = None,
    notify: bool = True,
) -> list[PlannedDispatch]:
    """Move ``sess`` (already checked) and return its new dispatches and, unless the caller
    sends one summary for several, its notices."""
    old = sess.starts_at
    await _write(s, sess, Change.MOVE, now)
    sess.starts_at = starts_at
    sess.duration_minutes = duration
    sess.sequence += 1
    await supersede(s, [sess.id])
    await s.flush()
    siblings = await _siblings(s, sess)
    people = await roster(s, sess.group_id)
    planned = [p for p in plan_for(sess, siblings, people, cfg, now) if p.purpose not in TIMEPOINTS]
    if notify:
        planned += await _notify_all(
            s, sess, Kind.MOVED, now, old_starts_at=old.isoformat(), note=note
        )
    log.info("session %s moved %s -> %s (sequence %d)", sess.id, old, starts_at, sess.sequence)
    return planned


async def move_session(
    s: AsyncSession,
    session_id: int,
    req: MoveRequest,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> ScheduledSession:
    sess = await load_session(s, session_id)
    _changeable(sess, Change.MOVE, now)
    starts_at = local_to_utc(req.date, req.local_time, load_zone(sess.timezone))
    duration = req.duration_minutes or sess.duration_minutes
    if starts_at <= now:
        raise UserError("the new time is in the past", code="in_past", field="date")
    end = starts_at + timedelta(minutes=duration)
    await _check_placement(
        s,
        sess.group_id,
        await _siblings(s, sess),
        {sess.id: (starts_at, duration)},
        timezone=sess.timezone,
    )
    problems = await leader_conflicts(
        s, sess.group_id, [(sess.index, starts_at, end)], exclude_sessions=[sess.id]
    )
    if problems:
        raise Conflict(problems[0].message, code="leader_double_booked", field="local_time")
    planned = await _reschedule(s, sess, starts_at, duration, cfg=cfg, now=now, note=req.note)
    await insert_dispatches(s, planned)
    await _fix_timepoints(s, sess, cfg, now)
    await record(
        s,
        actor_id=actor_id,
        action="session.move",
        target=f"session:{sess.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"starts_at": starts_at.isoformat(), "sequence": sess.sequence},
    )
    return sess


async def _fix_timepoints(
    s: AsyncSession, sess: ScheduledSession, cfg: SchedulingConfig, now: datetime
) -> None:
    if sess.series_id is not None:
        siblings = await series_sessions(s, sess.series_id)
        await replan_timepoints(s, siblings, await roster(s, sess.group_id), cfg, now)


async def cancel_session(
    s: AsyncSession,
    session_id: int,
    req: CancelRequest | None = None,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> ScheduledSession:
    sess = await load_session(s, session_id)
    _changeable(sess, Change.CANCEL, now)
    reason = req.reason if req is not None else None
    await _cancel(s, sess, now, note=reason)
    await _fix_timepoints(s, sess, cfg, now)
    await record(
        s,
        actor_id=actor_id,
        action="session.cancel",
        target=f"session:{sess.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"reason": reason} if reason else None,
    )
    return sess


async def _cancel(
    s: AsyncSession,
    sess: ScheduledSession,
    now: datetime,
    *,
    note: str | None = None,
    notify: bool = True,
) -> None:
    old = sess.status
    await _write(s, sess, Change.CANCEL, now)
    sess.sequence += 1
    await supersede(s, [sess.id])
    await s.flush()
    if notify:
        await insert_dispatches(s, await _notify_all(s, sess, Kind.CANCELLED, now, note=note))
    log.info("session %s: %s -> cancelled (sequence %d)", sess.id, old.value, sess.sequence)


async def add_makeup(
    s: AsyncSession,
    series_id: int,
    req: MoveRequest,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> ScheduledSession:
    series = await s.get(Series, series_id)
    if series is None:
        raise NotFound(f"no series {series_id}")
    siblings = await series_sessions(s, series_id)
    duration = req.duration_minutes or (siblings[0].duration_minutes if siblings else 60)
    starts_at = local_to_utc(req.date, req.local_time, load_zone(series.timezone))
    if starts_at <= now:
        raise UserError("the make-up session would be in the past", code="in_past", field="date")
    index = await next_index(s, series_id)
    end = starts_at + timedelta(minutes=duration)
    await _check_placement(
        s,
        series.group_id,
        siblings,
        {},
        added=(index, starts_at, duration),
        timezone=series.timezone,
    )
    problems = await leader_conflicts(s, series.group_id, [(index, starts_at, end)])
    if problems:
        raise Conflict(problems[0].message, code="leader_double_booked", field="local_time")
    sess = ScheduledSession(
        series_id=series_id,
        group_id=series.group_id,
        index=index,
        starts_at=starts_at,
        timezone=series.timezone,
        duration_minutes=duration,
        lobby_minutes=siblings[0].lobby_minutes if siblings else cfg.lobby_minutes,
        sequence=0,
        is_makeup=True,
    )
    s.add(sess)
    await s.flush()
    siblings.append(sess)
    people = await roster(s, series.group_id)
    planned = [p for p in plan_for(sess, siblings, people, cfg, now) if p.purpose not in TIMEPOINTS]
    planned += await _notify_all(s, sess, Kind.MAKEUP, now)
    await insert_dispatches(s, planned)
    await replan_timepoints(s, siblings, people, cfg, now)
    await record(
        s,
        actor_id=actor_id,
        action="session.makeup",
        target=f"session:{sess.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"series_id": series_id},
    )
    return sess


async def _rest(
    s: AsyncSession, session_id: int, now: datetime, change: Change, *, makeups: bool = True
) -> list[ScheduledSession]:
    sess = await load_session(s, session_id)
    _changeable(sess, change, now)
    if sess.series_id is None:
        return [sess]
    siblings = live(await series_sessions(s, sess.series_id))
    return [
        x
        for x in siblings
        if (x.starts_at, x.id) >= (sess.starts_at, sess.id)
        and (makeups or not x.is_makeup or x.id == sess.id)
    ]


async def cancel_rest(
    s: AsyncSession,
    session_id: int,
    req: CancelRequest | None = None,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> list[ScheduledSession]:
    """Cancel this session and every later live one; each person gets one notice listing
    them all (not one per session)."""
    rest = await _rest(s, session_id, now, Change.CANCEL)
    reason = req.reason if req is not None else None
    for x in rest:
        await _cancel(s, x, now, notify=False)
    await insert_dispatches(
        s,
        await _notify_all(
            s, rest[0], Kind.CANCELLED_REST, now, sessions=[x.id for x in rest], note=reason
        ),
    )
    await _fix_timepoints(s, rest[0], cfg, now)
    details: dict[str, Any] = {"cancelled": [x.id for x in rest]}
    if reason:
        details["reason"] = reason
    await record(
        s,
        actor_id=actor_id,
        action="series.cancel_rest",
        target=f"session:{session_id}",
        outcome=AuditOutcome.ALLOWED,
        details=details,
    )
    return rest


async def change_rest(
    s: AsyncSession,
    session_id: int,
    req: RestRequest,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> list[ScheduledSession]:
    """Re-time this session and every later live one of its series by a new weekly pattern.
    Make-up sessions (placed by hand) keep their time."""
    rest = await _rest(s, session_id, now, Change.MOVE, makeups=False)
    first = rest[0]
    duration = req.duration_minutes or first.duration_minutes
    spec = SeriesSpec(
        title="rest",
        sessions=len(rest),
        weekdays=req.weekdays,
        local_time=req.local_time,
        start_date=req.start_date,
        duration_minutes=duration,
        timezone=first.timezone,
    )
    org = (await get_group(s, first.group_id)).organisation_id
    occurrences = generate(spec, await holidays(s, org, spec.start_date))  # skips them too
    if occurrences[0].starts_at <= now:
        raise UserError("the new pattern starts in the past", code="in_past", field="start_date")
    moving = [x.id for x in rest]
    await _check_placement(
        s,
        first.group_id,
        await _siblings(s, first),
        {x.id: (o.starts_at, duration) for x, o in zip(rest, occurrences, strict=True)},
        timezone=first.timezone,
    )
    problems = await leader_conflicts(
        s,
        first.group_id,
        [(x.index, o.starts_at, o.ends_at) for x, o in zip(rest, occurrences, strict=True)],
        exclude_sessions=moving,
    )
    if problems:
        raise Conflict(problems[0].message, code="leader_double_booked", field="local_time")
    planned: list[PlannedDispatch] = []
    for x, o in zip(rest, occurrences, strict=True):
        planned += await _reschedule(s, x, o.starts_at, duration, cfg=cfg, now=now, notify=False)
    # One notice per person listing every new time, instead of one per moved session.
    planned += await _notify_all(
        s, first, Kind.RETIMED, now, sessions=[x.id for x in rest], note=req.note
    )
    await insert_dispatches(s, planned)
    await _fix_timepoints(s, first, cfg, now)
    series = await s.get(Series, first.series_id) if first.series_id is not None else None
    if series is not None:
        changes = [
            *series.pattern.get("changes", []),
            {"from_index": first.index}
            | spec.model_dump(mode="json", exclude={"title", "sessions"}),
        ]
        series.pattern = {**series.pattern, "changes": changes}
    await record(
        s,
        actor_id=actor_id,
        action="series.change_rest",
        target=f"session:{session_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"moved": moving},
    )
    return rest
