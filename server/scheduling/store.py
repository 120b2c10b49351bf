"""Database helpers shared by booking and changes: who is in a group, planning and superseding
dispatches, leader conflicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Group, Membership, ScheduledSession
from server.domain import GroupRole, MembershipStatus, SessionStatus
from server.errors import NotFound
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import PlannedDispatch, SchedulingConfig, SessionTimes, plan_session
from server.scheduling.series import Problem, ProblemKind, overlaps

LEADER_ROLES = (GroupRole.LEADER, GroupRole.CO_LEADER)
MAX_SESSION = timedelta(hours=8)
# Dispatches that follow a session's time (superseded and planned again when it moves). A form's
# own reminders, close and follow-up follow the form, planned when it opened.
FORM_BOUND = (Purpose.FORM_REMINDER, Purpose.FORM_CLOSE, Purpose.TIMEPOINT_FOLLOWUP)
TIMED = tuple(
    p
    for p in Purpose
    if p not in (Purpose.CHANGE_NOTICE, Purpose.ENROLMENT_NOTICE) and p not in FORM_BOUND
)


@dataclass(frozen=True, slots=True)
class Roster:
    leaders: list[int]
    members: list[int]

    @property
    def everyone(self) -> list[int]:
        return self.leaders + self.members


async def get_group(s: AsyncSession, group_id: int) -> Group:
    group = await s.get(Group, group_id)
    if group is None:
        raise NotFound(f"no group {group_id}")
    return group


async def roster(s: AsyncSession, group_id: int) -> Roster:
    rows = await s.execute(
        select(Membership.person_id, Membership.role)
        .where(Membership.group_id == group_id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.id)
    )
    leaders: list[int] = []
    members: list[int] = []
    for pid, role in rows:
        (leaders if role in LEADER_ROLES else members).append(pid)
    return Roster(leaders, members)


def times(sess: ScheduledSession) -> SessionTimes:
    return SessionTimes(
        sess.id, sess.sequence, sess.starts_at, sess.duration_minutes, sess.lobby_minutes
    )


async def insert_dispatches(s: AsyncSession, planned: Sequence[PlannedDispatch]) -> int:
    if planned:
        await s.execute(insert(Dispatch), [p.row() for p in planned])
    return len(planned)


async def supersede(
    s: AsyncSession,
    session_ids: Iterable[int],
    *,
    person_id: int | None = None,
    purposes: Iterable[Purpose] | None = None,
) -> int:
    """Pending timed dispatches (not notices) of these sessions (of one person) will not run.
    Their key gets the row id appended, so a later plan may use the key again."""
    ids = list(session_ids)
    if not ids:
        return 0
    stmt = update(Dispatch).where(
        Dispatch.session_id.in_(ids), Dispatch.status == DispatchStatus.PENDING
    )
    if person_id is not None:
        stmt = stmt.where(Dispatch.person_id == person_id)
    stmt = stmt.where(Dispatch.purpose.in_(list(purposes or TIMED)))
    result = await s.execute(
        stmt.values(
            status=DispatchStatus.SUPERSEDED, key=Dispatch.key + ":x" + cast(Dispatch.id, String)
        ).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def series_sessions(s: AsyncSession, series_id: int) -> list[ScheduledSession]:
    rows = await s.execute(
        select(ScheduledSession)
        .where(ScheduledSession.series_id == series_id)
        .order_by(ScheduledSession.starts_at, ScheduledSession.id)
    )
    return list(rows.scalars())


def live(sessions: Iterable[ScheduledSession]) -> list[ScheduledSession]:
    return sorted(
        (x for x in sessions if x.status is not SessionStatus.CANCELLED),
        key=lambda x: (x.starts_at, x.id),
    )


def plan_for(
    sess: ScheduledSession,
    series: Sequence[ScheduledSession],
    people: Roster,
    cfg: SchedulingConfig,
    now: datetime,
    *,
    only_person: int | None = None,
) -> list[PlannedDispatch]:
    """Dispatches for ``sess``; ``series`` are its siblings (first/last get the timepoints).
    The pre timepoint goes with the first session that has not ended yet, so a member who
    joins a running series gets the pre form at once (the form's owner sends it only once)."""
    active = live(series) or [sess]
    running = [x for x in active if x.starts_at + timedelta(minutes=x.duration_minutes) > now]
    everyone = people.everyone if only_person is None else [only_person]
    members = (
        people.members if only_person is None else [p for p in people.members if p == only_person]
    )
    planned = plan_session(
        times(sess),
        everyone,
        cfg,
        now,
        members=members,
        first=(running or active)[0].id == sess.id,
        last=active[-1].id == sess.id,
    )
    if only_person is not None:
        planned = [p for p in planned if p.person_id == only_person]
    return planned


async def replan_timepoints(
    s: AsyncSession,
    series: Sequence[ScheduledSession],
    people: Roster,
    cfg: SchedulingConfig,
    now: datetime,
) -> None:
    """After the first or last session changed, put the pre/post timepoints where they belong."""
    active = live(series)
    if not active:
        return
    tp = (Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST)
    await supersede(s, [x.id for x in series], purposes=tp)
    running = [x for x in active if x.starts_at + timedelta(minutes=x.duration_minutes) > now]
    ends = [active[0], *running[:1], active[-1]]
    planned = [
        p
        for x in {x.id: x for x in ends}.values()
        for p in plan_for(x, series, people, cfg, now)
        if p.purpose in tp
    ]
    await insert_missing(s, planned)  # a pre that already went out keeps its key


async def leader_conflicts(
    s: AsyncSession,
    group_id: int,
    windows: Sequence[tuple[int, datetime, datetime]],
    *,
    exclude_sessions: Iterable[int] = (),
) -> list[Problem]:
    """Refusals for every window in which a leader of the group already leads or attends
    another (not cancelled) session."""
    if not windows:
        return []
    leaders = (await roster(s, group_id)).leaders
    if not leaders:
        return []
    lo = min(w[1] for w in windows) - MAX_SESSION
    hi = max(w[2] for w in windows)
    excluded = list(exclude_sessions)
    stmt = (
        select(ScheduledSession, Membership.person_id)
        .join(Membership, Membership.group_id == ScheduledSession.group_id)
        .where(
            Membership.person_id.in_(leaders),
            Membership.status == MembershipStatus.ACTIVE,
            ScheduledSession.status != SessionStatus.CANCELLED,
            ScheduledSession.starts_at >= lo,
            ScheduledSession.starts_at < hi,
        )
    )
    if excluded:
        stmt = stmt.where(ScheduledSession.id.not_in(excluded))
    busy = (await s.execute(stmt)).all()
    problems: list[Problem] = []
    for index, start, end in windows:
        for other, pid in busy:
            o_end = other.starts_at + timedelta(minutes=other.duration_minutes)
            if overlaps(start, end, other.starts_at, o_end):
                problems.append(
                    Problem(
                        ProblemKind.REFUSE,
                        "leader_double_booked",
                        f"session {index}: leader {pid} is already booked in group "
                        f"{other.group_id} from {other.starts_at:%Y-%m-%d %H:%M} UTC",
                        index,
                        field="local_time",
                    )
                )
                break
    return problems


async def next_index(s: AsyncSession, series_id: int) -> int:
    found = await s.scalar(
        select(func.max(ScheduledSession.index)).where(ScheduledSession.series_id == series_id)
    )
    return int(found or 0) + 1


async def insert_missing(s: AsyncSession, planned: Sequence[PlannedDispatch]) -> None:
    """Insert, skipping keys that exist (done or pending): the unique key makes this safe."""
    if not planned:
        return
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(Dispatch).on_conflict_do_nothing(index_elements=["key"])
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        stmt = lite_insert(Dispatch).on_conflict_do_nothing(index_elements=["key"])
    await s.execute(stmt, [p.row() for p in planned])


async def reconcile_group(
    s: AsyncSession, group_id: int, cfg: SchedulingConfig, now: datetime
) -> None:
    """Make the group's future per-person dispatches match its active roster, however the
    roster changed (this module's enrol/withdraw, or the groups API)."""
    people = await roster(s, group_id)
    rows = await s.execute(
        select(ScheduledSession)
        .where(
            ScheduledSession.group_id == group_id, ScheduledSession.starts_at > now - MAX_SESSION
        )
        .order_by(ScheduledSession.starts_at)
    )
    future = [x for x in rows.scalars() if x.status is not SessionStatus.CANCELLED]
    if not future:
        return
    by_series: dict[int | None, list[ScheduledSession]] = {}
    for x in future:
        if x.series_id not in by_series:
            by_series[x.series_id] = await series_sessions(s, x.series_id) if x.series_id else [x]
    planned = [
        p
        for x in future
        for p in plan_for(x, by_series[x.series_id], people, cfg, now)
        if p.person_id is not None
    ]
    await insert_missing(s, planned)
    active = set(people.everyone)
    stale = select(Dispatch.person_id).where(
        Dispatch.session_id.in_([x.id for x in future]),
        Dispatch.status == DispatchStatus.PENDING,
        Dispatch.person_id.is_not(None),
        Dispatch.purpose.in_([Purpose.REMINDER, Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST]),
    )
    for pid in set((await s.execute(stale)).scalars()) - active:
        if pid is not None:
            await supersede(
                s,
                [x.id for x in future],
                person_id=pid,
                purposes=[Purpose.REMINDER, Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST],
            )
