"""Self-help groups (shared/seeds/000): the host of each session, and the host's meeting report.

The one writer of ``session_hosts`` (server/db/hosts.py). A host is an active member of the
group, chosen per session before it opens: by a coordinator once the sessions are booked (one
by one, or ``rotate``: the group's members in turn over its coming sessions) or by the group itself (any active member may
set the host of a coming session). The room grants the host the leading capabilities for that
session only; attendance records the host, present, as the one who ran the meeting (``led``,
individual score input F).

After the meeting the host files one short report: what was covered and who was there, with the
host's confirmation that it holds no case details. The group's members and the organisation's
coordinators read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.hosts import SessionHost
from server.db.models import Membership, Person, ScheduledSession
from server.domain import AuditOutcome, MembershipStatus, SessionStatus
from server.errors import Conflict, UserError
from server.pathways.models import MeetingReport

CHANGEABLE = (SessionStatus.SCHEDULED,)  # the room reads its host when it opens


async def active_members(s: AsyncSession, group_id: int) -> list[int]:
    rows = await s.scalars(
        select(Membership.person_id)
        .join(Person, Person.id == Membership.person_id)
        .where(
            Membership.group_id == group_id,
            Membership.status == MembershipStatus.ACTIVE,
            Person.is_active.is_(True),
        )
        .order_by(Membership.created_at, Membership.id)
    )
    return list(rows)


async def set_host(
    s: AsyncSession, sess: ScheduledSession, person_id: int, *, actor_id: int, now: datetime
) -> SessionHost:
    if sess.status not in CHANGEABLE:
        raise Conflict(
            f"session_id: the host is chosen before the session opens ({sess.status.value})",
            field="session_id",
        )
    if person_id not in await active_members(s, sess.group_id):
        raise UserError(
            "person_id: the host must be an active member of the group", field="person_id"
        )
    row = await s.get(SessionHost, sess.id)
    if row is None:
        row = SessionHost(
            session_id=sess.id, person_id=person_id, chosen_by=actor_id, chosen_at=now
        )
        s.add(row)
    else:
        row.person_id, row.chosen_by, row.chosen_at = person_id, actor_id, now
    await s.flush()
    await audit.record(
        s,
        actor_id=actor_id,
        action="session.host",
        target=f"session:{sess.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"host": person_id},
    )
    return row


def rotation(members: list[int], sessions: list[int], last_host: int | None) -> dict[int, int]:
    """Pure: the members in turn over the sessions, starting after ``last_host``."""
    if not members:
        return {}
    start = (members.index(last_host) + 1) % len(members) if last_host in members else 0
    return {sid: members[(start + i) % len(members)] for i, sid in enumerate(sessions)}


async def rotate(s: AsyncSession, group_id: int, *, actor_id: int, now: datetime) -> dict[int, int]:
    """Give every coming session of the group without a host one, the members in turn."""
    coming = list(
        await s.scalars(
            select(ScheduledSession)
            .where(
                ScheduledSession.group_id == group_id,
                ScheduledSession.status.in_(CHANGEABLE),
            )
            .order_by(ScheduledSession.starts_at)
        )
    )
    hosted = {
        h.session_id: h.person_id
        for h in await s.scalars(
            select(SessionHost)
            .join(ScheduledSession, ScheduledSession.id == SessionHost.session_id)
            .where(ScheduledSession.group_id == group_id)
            .order_by(ScheduledSession.starts_at)
        )
    }
    last = list(hosted.values())[-1] if hosted else None
    todo = [x.id for x in coming if x.id not in hosted]
    plan = rotation(await active_members(s, group_id), todo, last)
    for sid, pid in plan.items():
        s.add(SessionHost(session_id=sid, person_id=pid, chosen_by=actor_id, chosen_at=now))
    await s.flush()
    await audit.record(
        s,
        actor_id=actor_id,
        action="group.rotate_hosts",
        target=f"group:{group_id}",
        outcome=AuditOutcome.ALLOWED,
        details={"sessions": len(plan)},
    )
    return plan


async def file_report(
    s: AsyncSession,
    sess: ScheduledSession,
    host_id: int,
    *,
    covered: str,
    attendance: list[int],
    now: datetime,
) -> MeetingReport:
    if sess.status is not SessionStatus.ENDED:
        raise Conflict(
            "session_id: the report is filed after the meeting has ended", field="session_id"
        )
    if await s.get(MeetingReport, sess.id) is not None:
        raise Conflict("session_id: this meeting has its report already", field="session_id")
    members = set(await active_members(s, sess.group_id))
    strangers = [p for p in attendance if p not in members]
    if strangers:
        raise UserError(
            f"attendance: {strangers[0]} is not a member of this group", field="attendance"
        )
    report = MeetingReport(
        session_id=sess.id,
        group_id=sess.group_id,
        host_id=host_id,
        covered=covered,
        attendance=sorted(set(attendance)),
        created_at=now,
    )
    s.add(report)
    await s.flush()
    await audit.record(
        s,
        actor_id=host_id,
        action="meeting_report.file",
        target=f"session:{sess.id}",
        outcome=AuditOutcome.ALLOWED,
    )
    return report
