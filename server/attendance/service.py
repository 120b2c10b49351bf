"""Excuses said ahead and leaders' corrections: each change in one transaction with its audit
entry. Derived records are never edited: a correction sits beside its record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.attendance.models import AttendanceCorrection, AttendanceExcuse, AttendanceStatus
from server.db.models import Membership, ScheduledSession
from server.domain import AuditOutcome, MembershipStatus, SessionStatus
from server.errors import Conflict, ErrorCode, NotFound, UserError


async def declare_excuse(
    s: AsyncSession, session: ScheduledSession, person_id: int, reason: str | None, now: datetime
) -> AttendanceExcuse:
    """ "I can't come to this session": only before it starts; saying it again updates it."""
    if session.status in (SessionStatus.CANCELLED, SessionStatus.ENDED) or session.starts_at <= now:
        raise Conflict(
            "this session has started or is over; ask your leader instead",
            code=ErrorCode.SESSION_STARTED,
        )
    excuse = await s.scalar(
        select(AttendanceExcuse).where(
            AttendanceExcuse.session_id == session.id, AttendanceExcuse.person_id == person_id
        )
    )
    if excuse is None:
        excuse = AttendanceExcuse(session_id=session.id, person_id=person_id)
        s.add(excuse)
    excuse.reason = reason
    excuse.declared_at = now
    await audit.record(
        s,
        actor_id=person_id,
        action="attendance.excuse",
        target=f"session:{session.id}",
        outcome=AuditOutcome.ALLOWED,
    )
    return excuse


async def withdraw_excuse(
    s: AsyncSession, session: ScheduledSession, person_id: int, now: datetime
) -> None:
    if session.starts_at <= now:
        raise Conflict("this session has started or is over", code=ErrorCode.SESSION_STARTED)
    await s.execute(
        delete(AttendanceExcuse).where(
            AttendanceExcuse.session_id == session.id, AttendanceExcuse.person_id == person_id
        )
    )
    await audit.record(
        s,
        actor_id=person_id,
        action="attendance.excuse_withdrawn",
        target=f"session:{session.id}",
        outcome=AuditOutcome.ALLOWED,
    )


async def correct(
    s: AsyncSession,
    session: ScheduledSession,
    person_id: int,
    status: AttendanceStatus,
    reason: str,
    by_id: int,
    now: datetime,
    original: AttendanceStatus | None,
) -> AttendanceCorrection:
    """A leader's correction (marking excused is one): kept with every earlier one."""
    member = await s.scalar(
        select(Membership.id).where(
            Membership.group_id == session.group_id,
            Membership.person_id == person_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if member is None and original is None:
        raise NotFound("this person has no record at this session")
    if session.status not in (SessionStatus.LIVE, SessionStatus.ENDED):
        raise UserError("only a held session's records can be corrected", field="session")
    fix = AttendanceCorrection(
        session_id=session.id,
        person_id=person_id,
        status=status,
        reason=reason,
        by_id=by_id,
        at=now,
    )
    s.add(fix)
    await audit.record(
        s,
        actor_id=by_id,
        action="attendance.correct",
        target=f"session:{session.id}/person:{person_id}",
        outcome=AuditOutcome.ALLOWED,
        details={
            "from": None if original is None else original.value,
            "to": status.value,
            "reason": reason,
        },
    )
    return fix
