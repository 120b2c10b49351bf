"""Between meetings a member may write privately to their group's leaders (shared/seeds/003:
"participants outside the meetings had the opportunity to contact group therapists"). Never to
other members: the message is read by the group's active leaders and co-leaders and by its
sender, nobody else. The leaders are told through notify's outbox (the message's text is not in
the mail). Messages are kept under the group's retention rule (server/privacy/retention.py:
deleted with the group's attendance, ``retention_attendance_days`` after its last session).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import Group, Membership, Person
from server.domain import AuditOutcome, GroupRole, MembershipStatus
from server.notify.mailer import Notifier
from server.pages import pathways_page
from server.pathways.mail import PathMail, tell
from server.pathways.models import LeaderMessage

LEADING = (GroupRole.LEADER, GroupRole.CO_LEADER)


async def leaders_of(s: AsyncSession, group_id: int) -> list[Person]:
    rows = await s.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.group_id == group_id,
            Membership.status == MembershipStatus.ACTIVE,
            Membership.role.in_(LEADING),
            Person.is_active.is_(True),
        )
        .order_by(Person.id)
    )
    return list(rows)


async def send(
    s: AsyncSession,
    group: Group,
    sender: Person,
    body: str,
    *,
    notifier: Notifier,
    public_url: str,
    now: datetime,
) -> tuple[LeaderMessage, int]:
    """Store the message and tell each leader; returns it and how many leaders were told."""
    msg = LeaderMessage(group_id=group.id, sender_id=sender.id, body=body, created_at=now)
    s.add(msg)
    await s.flush()
    leaders = await leaders_of(s, group.id)
    for leader in leaders:
        await tell(
            s,
            notifier,
            PathMail.LEADER_MESSAGE,
            leader,
            now,
            group=group.name,
            member=sender.display_name,
            link=pathways_page(public_url, f"messages={group.id}"),
        )
    await audit.record(
        s,
        actor_id=sender.id,
        action="leader_message.send",
        target=f"group:{group.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"message": msg.id, "leaders_told": len(leaders)},
    )
    return msg, len(leaders)


async def for_leaders(s: AsyncSession, group_id: int) -> list[tuple[LeaderMessage, str]]:
    rows = await s.execute(
        select(LeaderMessage, Person.display_name)
        .join(Person, Person.id == LeaderMessage.sender_id)
        .where(LeaderMessage.group_id == group_id)
        .order_by(LeaderMessage.created_at.desc(), LeaderMessage.id.desc())
        .limit(500)
    )
    return [(m, name) for m, name in rows.all()]


async def of_sender(s: AsyncSession, group_id: int, sender_id: int) -> list[LeaderMessage]:
    rows = await s.scalars(
        select(LeaderMessage)
        .where(LeaderMessage.group_id == group_id, LeaderMessage.sender_id == sender_id)
        .order_by(LeaderMessage.created_at.desc(), LeaderMessage.id.desc())
        .limit(500)
    )
    return list(rows)
