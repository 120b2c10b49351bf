"""Enrol and withdraw members mid-series, with a waiting list when the group is full."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.models import Membership, Person, ScheduledSession, Series, SeriesConfirmation
from server.domain import AuditOutcome, GroupRole, MembershipStatus, SessionStatus
from server.errors import Conflict, NotFound
from server.notify.templates import Kind
from server.scheduling.models import Purpose
from server.scheduling.plan import PlannedDispatch, SchedulingConfig, notice
from server.scheduling.store import (
    get_group,
    insert_missing,
    plan_for,
    roster,
    series_sessions,
    supersede,
    times,
)

log = logging.getLogger("circle.scheduling")


async def _future_sessions(s: AsyncSession, group_id: int, now: datetime) -> list[ScheduledSession]:
    rows = await s.execute(
        select(ScheduledSession)
        .where(
            ScheduledSession.group_id == group_id,
            ScheduledSession.status != SessionStatus.CANCELLED,
            ScheduledSession.starts_at > now,
        )
        .order_by(ScheduledSession.starts_at)
    )
    return list(rows.scalars())


async def _plan_person(
    s: AsyncSession,
    group_id: int,
    person_id: int,
    kind: Kind,
    cfg: SchedulingConfig,
    now: datetime,
) -> list[PlannedDispatch]:
    """Reminders and timepoints for a person newly active in the group, and one notice."""
    future = await _future_sessions(s, group_id, now)
    people = await roster(s, group_id)
    planned: list[PlannedDispatch] = []
    siblings_by_series: dict[int | None, list[ScheduledSession]] = {}
    for sess in future:
        if sess.series_id not in siblings_by_series:
            siblings_by_series[sess.series_id] = (
                await series_sessions(s, sess.series_id) if sess.series_id else [sess]
            )
        siblings = siblings_by_series[sess.series_id]
        planned += plan_for(sess, siblings, people, cfg, now, only_person=person_id)
    if future:
        planned.append(
            notice(times(future[0]), person_id, Purpose.ENROLMENT_NOTICE, now, {"kind": kind})
        )
    return planned


async def _notice_next(
    s: AsyncSession, group_id: int, person_id: int, kind: Kind, now: datetime
) -> list[PlannedDispatch]:
    future = await _future_sessions(s, group_id, now)
    if not future:
        return []
    return [notice(times(future[0]), person_id, Purpose.ENROLMENT_NOTICE, now, {"kind": kind})]


async def active_member_count(s: AsyncSession, group_id: int) -> int:
    n = await s.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.group_id == group_id,
            Membership.status == MembershipStatus.ACTIVE,
            Membership.role == GroupRole.MEMBER,
        )
    )
    return int(n or 0)


async def enrol(
    s: AsyncSession,
    group_id: int,
    person_id: int,
    *,
    role: GroupRole = GroupRole.MEMBER,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> Membership:
    """Enrol ``person_id``; a member joins the waiting list when the group is full."""
    group = await get_group(s, group_id)
    person = await s.get(Person, person_id)
    if person is None or person.organisation_id != group.organisation_id:
        raise NotFound(f"no person {person_id} in this organisation")
    existing = await s.scalar(
        select(Membership)
        .where(Membership.group_id == group_id, Membership.person_id == person_id)
        .with_for_update()
    )
    if existing is not None and existing.status is not MembershipStatus.WITHDRAWN:
        raise Conflict(
            f"person {person_id} is already {existing.status.value} in this group",
            code="already_enrolled",
        )
    full = role is GroupRole.MEMBER and await active_member_count(s, group_id) >= group.capacity
    status = MembershipStatus.WAITING if full else MembershipStatus.ACTIVE
    if existing is None:
        existing = Membership(group_id=group_id, person_id=person_id, role=role, status=status)
        s.add(existing)
    else:
        existing.role = role
        existing.status = status
        existing.created_at = now  # back of the waiting list
    await s.flush()
    if full:
        planned = await _notice_next(s, group_id, person_id, Kind.WAITING, now)
    else:
        planned = await _plan_person(s, group_id, person_id, Kind.ENROLLED, cfg, now)
    # A person enrolled before has dispatches of their own for the same sessions and versions;
    # those that already fired (an early reminder, the pre questionnaire) happened once and keep
    # their key, so only the missing ones are inserted.
    await insert_missing(s, planned)
    await record(
        s,
        actor_id=actor_id,
        action="group.enrol",
        target=f"group:{group_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"person_id": person_id, "status": status.value},
    )
    log.info("group %s: person %s enrolled as %s", group_id, person_id, status.value)
    return existing


async def withdraw(
    s: AsyncSession,
    group_id: int,
    person_id: int,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> Membership | None:
    """Withdraw ``person_id``; returns the membership promoted from the waiting list, if any."""
    m = await s.scalar(
        select(Membership)
        .where(Membership.group_id == group_id, Membership.person_id == person_id)
        .with_for_update()
    )
    if m is None or m.status is MembershipStatus.WITHDRAWN:
        raise NotFound(f"person {person_id} is not enrolled in group {group_id}")
    was_active = m.status is MembershipStatus.ACTIVE
    m.status = MembershipStatus.WITHDRAWN
    await s.flush()
    session_ids = [
        sid
        for sid in (
            await s.execute(
                select(ScheduledSession.id).where(ScheduledSession.group_id == group_id)
            )
        ).scalars()
    ]
    await supersede(s, session_ids, person_id=person_id)
    planned = await _notice_next(s, group_id, person_id, Kind.WITHDRAWN, now)
    promoted: Membership | None = None
    if was_active and m.role is GroupRole.MEMBER:
        promoted = await s.scalar(
            select(Membership)
            .where(Membership.group_id == group_id, Membership.status == MembershipStatus.WAITING)
            .order_by(Membership.created_at, Membership.id)
            .limit(1)
            .with_for_update()
        )
        if promoted is not None:
            promoted.status = MembershipStatus.ACTIVE
            await s.flush()
            planned += await _plan_person(s, group_id, promoted.person_id, Kind.PROMOTED, cfg, now)
            log.info("group %s: person %s promoted from the waiting list", group_id, promoted.id)
    await insert_missing(s, planned)  # the promoted person may have been enrolled before
    await record(
        s,
        actor_id=actor_id,
        action="group.withdraw",
        target=f"group:{group_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"person_id": person_id, "promoted": promoted.person_id if promoted else None},
    )
    return promoted


async def confirm(s: AsyncSession, series_id: int, person_id: int, now: datetime) -> bool:
    """Record that a member confirmed the series; False when it was already confirmed."""
    series = await s.get(Series, series_id)
    if series is None:
        raise NotFound(f"no series {series_id}")
    m = await s.scalar(
        select(Membership).where(
            Membership.group_id == series.group_id,
            Membership.person_id == person_id,
            Membership.status != MembershipStatus.WITHDRAWN,
        )
    )
    if m is None:
        raise NotFound(f"person {person_id} is not in the group of series {series_id}")
    found = await s.scalar(
        select(SeriesConfirmation).where(
            SeriesConfirmation.series_id == series_id, SeriesConfirmation.person_id == person_id
        )
    )
    if found is not None:
        return False
    s.add(SeriesConfirmation(series_id=series_id, person_id=person_id, confirmed_at=now))
    await s.flush()
    return True
