"""Whether a person may still be in a session's room: active, actively enrolled in the
session's group, in the role their join token carries (checked at ``hello`` and ``join``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Membership, Person, ScheduledSession
from server.domain import GroupRole, MembershipStatus, RemovalReason


async def removal_reason(
    sessionmaker: async_sessionmaker[AsyncSession],
    person_id: int,
    session_id: int,
    role: GroupRole,
) -> RemovalReason | None:
    """Why the person may no longer be in the room, or None when they may."""
    async with sessionmaker() as s:
        row = (
            await s.execute(
                select(Person.is_active, Membership.role)
                .join(Membership, Membership.person_id == Person.id)
                .join(ScheduledSession, ScheduledSession.group_id == Membership.group_id)
                .where(
                    Person.id == person_id,
                    ScheduledSession.id == session_id,
                    Membership.status == MembershipStatus.ACTIVE,
                )
            )
        ).first()
    if row is None:
        active = await _active(sessionmaker, person_id)
        return RemovalReason.WITHDRAWN if active else RemovalReason.DEACTIVATED
    if not row.is_active:
        return RemovalReason.DEACTIVATED
    if row.role is not role:
        return RemovalReason.ROLE_CHANGED
    return None


async def _active(sessionmaker: async_sessionmaker[AsyncSession], person_id: int) -> bool:
    async with sessionmaker() as s:
        return bool(await s.scalar(select(Person.is_active).where(Person.id == person_id)))


async def group_session_ids(s: AsyncSession, group_id: int) -> list[int]:
    """The sessions of a group (whose live rooms a withdrawn member leaves)."""
    rows = await s.scalars(select(ScheduledSession.id).where(ScheduledSession.group_id == group_id))
    return list(rows)
