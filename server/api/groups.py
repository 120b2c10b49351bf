"""Groups and their rosters. Enrolling and withdrawing (with the waiting list and notices)
lives in ``server/scheduling`` (``/api/groups/{group_id}/enrolments``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.api.schemas import GroupIn, GroupOut, GroupPatch, MembershipOut
from server.db.models import Group, Membership, Organisation, Person
from server.domain import (
    GROUP_SIZE,
    STAFF_ROLES,
    AuditOutcome,
    GroupRole,
    MembershipStatus,
)
from server.errors import Conflict, NotFound, UserError

router = Router("groups")


async def member_count(s: AsyncSession, group_id: int) -> int:
    n = await s.scalar(
        select(func.count()).where(
            Membership.group_id == group_id,
            Membership.role == GroupRole.MEMBER,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    return n or 0


async def group_out(s: AsyncSession, g: Group) -> GroupOut:
    return GroupOut(
        id=g.id,
        organisation_id=g.organisation_id,
        name=g.name,
        protocol=g.protocol,
        capacity=g.capacity,
        min_members=g.min_members,
        settings=g.settings,
        member_count=await member_count(s, g.id),
    )


async def _group(ctx: Ctx, s: AsyncSession, action: str, *, staff_only: bool) -> tuple[Group, bool]:
    group = await s.get(Group, ctx.path_int("group_id"))
    if group is None:
        raise NotFound("no such group")
    staff = bool((await ctx.org_roles(s, group.organisation_id)) & set(STAFF_ROLES))
    if staff_only and not staff:
        raise await ctx.refuse(action, f"group:{group.id}", "only coordinators may do this")
    if not staff and await ctx.group_role(s, group.id) is None:
        raise await ctx.refuse(action, f"group:{group.id}", "you are not in this group")
    return group, staff


def _validate_sizes(protocol_min: int, protocol_max: int, capacity: int, min_members: int) -> None:
    if capacity > protocol_max:
        raise UserError(f"this protocol allows at most {protocol_max} members", field="capacity")
    if min_members > capacity:
        raise UserError("min_members cannot exceed capacity", field="min_members")
    del protocol_min


@router.get(
    "/api/organisations/{org_id}/groups",
    response=list[GroupOut],
    summary="Groups of an organisation (coordinators: all; others: their own)",
)
async def list_groups(ctx: Ctx) -> list[GroupOut]:
    org_id = ctx.path_int("org_id")
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        if await s.get(Organisation, org_id) is None:
            raise NotFound("no such organisation")
        q = select(Group).where(Group.organisation_id == org_id).order_by(Group.name)
        if not (await ctx.org_roles(s, org_id)) & set(STAFF_ROLES):
            q = q.join(Membership, Membership.group_id == Group.id).where(
                Membership.person_id == me.id, Membership.status == MembershipStatus.ACTIVE
            )
        return [await group_out(s, g) for g in await s.scalars(q)]


@router.post(
    "/api/organisations/{org_id}/groups",
    body=GroupIn,
    response=GroupOut,
    status=201,
    summary="Create a group (coordinators)",
)
async def create_group(ctx: Ctx, body: GroupIn) -> GroupOut:
    org_id = ctx.path_int("org_id")
    lo, hi = GROUP_SIZE[body.protocol]
    capacity = body.capacity or hi
    min_members = body.min_members or lo
    _validate_sizes(lo, hi, capacity, min_members)
    async with ctx.sessionmaker() as s:
        if await s.get(Organisation, org_id) is None:
            raise NotFound("no such organisation")
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="group.create")
    async with ctx.sessionmaker() as s, s.begin():
        group = Group(
            organisation_id=org_id,
            name=body.name,
            protocol=body.protocol,
            capacity=capacity,
            min_members=min_members,
            settings=body.settings.model_dump(exclude_none=True),
        )
        s.add(group)
        await s.flush()
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="group.create",
            target=f"group:{group.id}",
            outcome=AuditOutcome.ALLOWED,
        )
        return await group_out(s, group)


@router.get("/api/groups/{group_id}", response=GroupOut, summary="One group")
async def get_group(ctx: Ctx) -> GroupOut:
    async with ctx.sessionmaker() as s:
        group, _ = await _group(ctx, s, "group.read", staff_only=False)
        return await group_out(s, group)


@router.patch(
    "/api/groups/{group_id}",
    body=GroupPatch,
    response=GroupOut,
    errors=(409,),
    summary="Change a group",
)
async def patch_group(ctx: Ctx, body: GroupPatch) -> GroupOut:
    async with ctx.sessionmaker() as s, s.begin():
        group, _ = await _group(ctx, s, "group.update", staff_only=True)
        lo, hi = GROUP_SIZE[group.protocol]
        capacity = body.capacity or group.capacity
        min_members = body.min_members or group.min_members
        _validate_sizes(lo, hi, capacity, min_members)
        if capacity < await member_count(s, group.id):
            raise Conflict("the group has more members than that; withdraw some first")
        if body.name:
            group.name = body.name
        group.capacity, group.min_members = capacity, min_members
        if body.settings is not None:
            group.settings = {**group.settings, **body.settings.model_dump(exclude_none=True)}
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="group.update",
            target=f"group:{group.id}",
            outcome=AuditOutcome.ALLOWED,
        )
        return await group_out(s, group)


def _membership_out(m: Membership, p: Person, *, full: bool) -> MembershipOut:
    return MembershipOut(
        person_id=p.id,
        display_name=p.display_name,
        role=m.role,
        status=m.status,
        email=p.email if full else None,
        profession=p.profession if full else None,
        department=p.department if full else None,
    )


@router.get(
    "/api/groups/{group_id}/members",
    response=list[MembershipOut],
    summary="The group's roster (contact details for coordinators and leaders only)",
)
async def list_members(ctx: Ctx) -> list[MembershipOut]:
    async with ctx.sessionmaker() as s:
        group, staff = await _group(ctx, s, "group.members", staff_only=False)
        my_role = await ctx.group_role(s, group.id)
        full = staff or my_role in (GroupRole.LEADER, GroupRole.CO_LEADER)
        q = (
            select(Membership, Person)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.group_id == group.id)
            .order_by(Membership.role, Person.display_name)
        )
        if not full:
            q = q.where(Membership.status == MembershipStatus.ACTIVE)
        rows = (await s.execute(q)).all()
        return [_membership_out(m, p, full=full) for m, p in rows]
