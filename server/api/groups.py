"""Groups and their rosters. Enrolling and withdrawing (with the waiting list and notices)
lives in ``server/scheduling`` (``/api/groups/{group_id}/enrolments``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.api.schemas import GroupIn, GroupOut, GroupPatch, MembershipOut, ProtocolOut
from server.db.models import Group, Membership, Organisation, Person
from server.domain import (
    STAFF_ROLES,
    AuditOutcome,
    GroupRole,
    MembershipStatus,
    ProtocolKind,
)
from server.errors import Conflict, NotFound, UserError
from server.protocols.registry import spec_for

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


def _checked(
    protocol: ProtocolKind,
    capacity: int,
    min_members: int,
    old: dict[str, Any],
    new: dict[str, Any] | None,
) -> dict[str, Any]:
    """Sizes and settings checked against the protocol's table (server/protocols): the group's
    settings after the change, or a UserError naming the field and the allowed range. Keys a
    newer version no longer knows are dropped; a ``null`` resets a setting to its default."""
    spec = spec_for(protocol)
    members = spec.rules.members
    if not 1 <= capacity <= members.high:
        raise UserError(
            f"capacity must be 1-{members.high} for a {protocol.value} group, not {capacity}",
            field="capacity",
            allowed=f"1-{members.high}",
        )
    if min_members > capacity:
        raise UserError("min_members cannot exceed capacity", field="min_members")
    new = new or {}
    spec.check_settings(new)
    merged = {**old, **new}
    return {k: v for k, v in merged.items() if v is not None and k in spec.settings}


async def _refused(ctx: Ctx, action: str, target: str, exc: UserError) -> UserError:
    """Audit a refused change of a group (nothing was changed) and return the error."""
    await audit.record_now(
        ctx.sessionmaker,
        actor_id=ctx.me().id,
        action=action,
        target=target,
        outcome=AuditOutcome.REFUSED,
        details={"fields": exc.details.get("fields", {}), "message": exc.message},
    )
    return exc


@router.get(
    "/api/protocols",
    response=list[ProtocolOut],
    summary="The group kinds and their member bounds (for the coordinator's create form)",
)
async def list_protocols(ctx: Ctx) -> list[ProtocolOut]:
    out = []
    for kind in ProtocolKind:
        members = spec_for(kind).rules.members
        out.append(
            ProtocolOut(
                protocol=kind,
                members_low=members.low,
                members_high=members.high,
                members_default=members.default,
            )
        )
    return out


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
    members = spec_for(body.protocol).rules.members
    capacity = body.capacity or members.default
    min_members = body.min_members or min(members.low, capacity)
    async with ctx.sessionmaker() as s:
        if await s.get(Organisation, org_id) is None:
            raise NotFound("no such organisation")
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="group.create")
    try:
        settings = _checked(body.protocol, capacity, min_members, {}, body.settings)
    except UserError as exc:
        raise await _refused(ctx, "group.create", f"organisation:{org_id}", exc) from None
    async with ctx.sessionmaker() as s, s.begin():
        group = Group(
            organisation_id=org_id,
            name=body.name,
            protocol=body.protocol,
            capacity=capacity,
            min_members=min_members,
            settings=settings,
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
        capacity = body.capacity or group.capacity
        min_members = body.min_members or group.min_members
        try:
            settings = _checked(
                group.protocol, capacity, min_members, group.settings, body.settings
            )
        except UserError as exc:
            raise await _refused(ctx, "group.update", f"group:{group.id}", exc) from None
        if capacity < await member_count(s, group.id):
            raise Conflict("the group has more members than that; withdraw some first")
        if body.name:
            group.name = body.name
        group.capacity, group.min_members = capacity, min_members
        group.settings = settings
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
