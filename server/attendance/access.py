"""Who may see and change attendance and scores: capabilities from roles, in one place.

A member sees only their own attendance and score; a group's leaders (and co-leaders) their
groups'; coordinators and admins their organisation's. Every refusal is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.db.models import Group
from server.domain import STAFF_ROLES, GroupRole
from server.errors import NotFound


class Reach(StrEnum):
    OWN = "own"  # a member: their own rows only
    GROUP = "group"  # a leader or co-leader of the group
    ORGANISATION = "organisation"  # a coordinator or admin of the group's organisation


@dataclass(frozen=True, slots=True)
class Access:
    reach: Reach
    person_id: int
    group: Group

    @property
    def sees_everyone(self) -> bool:
        return self.reach is not Reach.OWN

    @property
    def may_correct(self) -> bool:
        return self.reach is not Reach.OWN


async def group_access(ctx: Ctx, s: AsyncSession, group_id: int, action: str) -> Access:
    group = await s.get(Group, group_id)
    if group is None:
        raise NotFound("no such group")
    me = ctx.me()
    if (await ctx.org_roles(s, group.organisation_id)) & set(STAFF_ROLES):
        return Access(Reach.ORGANISATION, me.id, group)
    role = await ctx.group_role(s, group.id)
    if role in (GroupRole.LEADER, GroupRole.CO_LEADER):
        return Access(Reach.GROUP, me.id, group)
    if role is GroupRole.MEMBER:
        return Access(Reach.OWN, me.id, group)
    raise await ctx.refuse(action, f"group:{group.id}", "you are not in this group")


async def require_leader(ctx: Ctx, s: AsyncSession, group_id: int, action: str) -> Access:
    access = await group_access(ctx, s, group_id, action)
    if not access.may_correct:
        raise await ctx.refuse(
            action, f"group:{group_id}", "only the group's leaders or coordinators may do this"
        )
    return access
