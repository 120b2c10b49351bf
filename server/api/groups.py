"""Groups and their memberships (with a waiting list when a group is full)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.api.schemas import GroupIn, GroupOut, GroupPatch, MembershipIn, MembershipOut
from server.db.models import Group, Membership, Organisation, Person
from server.domain import GROUP_SIZE, AuditOutcome, GroupRole, MembershipStatus, OrgRole
from server.errors import Conflict, NotFound, UserError

router = Router("groups")
STAFF = (OrgRole.COORDINATOR, OrgRole.ADMIN)
MAX_LEADERS = 4  # a leader, a co-leader and two psychologist co-leaders (001)


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
    staff = bool((await ctx.org_roles(s, group.organisation_id)) & set(STAFF))
    if staff_only and not staff:
        raise await ctx.refuse(action, f"group:{group.id}", "only coordinators may do this")
    if not staff and await ctx.group_role(s, group.id) is None:
        raise await ctx.refuse(action, f"group:{group.id}", "you are not in this group")
    return group, staff


def _validate_sizes(protocol_min: int, protocol_max: int, capacity: int, min_members: int) -> None:
    if capacity > protocol_max:
        raise UserError(f"this protocol allows at most {protocol_max} members")
    if min_members > capacity:
        raise UserError("min_members cannot exceed capacity")
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
        if not (await ctx.org_roles(s, org_id)) & set(STAFF):
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
        await ctx.require_org_role(s, org_id, STAFF, action="group.create")
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
    "/api/groups/{group_id}", body=GroupPatch, response=GroupOut, summary="Change a group"
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


@router.post(
    "/api/groups/{group_id}/members",
    body=MembershipIn,
    response=MembershipOut,
    status=201,
    errors=(409,),
    summary="Enrol a person (coordinators); a full group puts members on its waiting list",
)
async def add_member(ctx: Ctx, body: MembershipIn) -> MembershipOut:
    async with ctx.sessionmaker() as s, s.begin():
        group, _ = await _group(ctx, s, "group.enrol", staff_only=True)
        person = await s.get(Person, body.person_id)
        if person is None or person.organisation_id != group.organisation_id:
            raise NotFound("no such person in this organisation")
        existing = await s.scalar(
            select(Membership).where(
                Membership.group_id == group.id, Membership.person_id == person.id
            )
        )
        if existing is not None and existing.status != MembershipStatus.WITHDRAWN:
            raise Conflict(f"already in this group ({existing.status.value})")
        if body.role == GroupRole.MEMBER:
            full = await member_count(s, group.id) >= group.capacity
            status = MembershipStatus.WAITING if full else MembershipStatus.ACTIVE
        else:
            n_leaders = await s.scalar(
                select(func.count()).where(
                    Membership.group_id == group.id,
                    Membership.role != GroupRole.MEMBER,
                    Membership.status == MembershipStatus.ACTIVE,
                )
            )
            if (n_leaders or 0) >= MAX_LEADERS:
                raise Conflict(f"a group has at most {MAX_LEADERS} leaders")
            status = MembershipStatus.ACTIVE
        if existing is None:
            existing = Membership(group_id=group.id, person_id=person.id)
            s.add(existing)
        existing.role, existing.status = body.role, status
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="group.enrol",
            target=f"group:{group.id}",
            outcome=AuditOutcome.ALLOWED,
            details={"person_id": person.id, "role": body.role.value, "status": status.value},
        )
        return _membership_out(existing, person, full=True)


@router.delete(
    "/api/groups/{group_id}/members/{person_id}",
    response=MembershipOut,
    summary="Withdraw a person (coordinators); the first on the waiting list moves up",
)
async def remove_member(ctx: Ctx) -> MembershipOut:
    person_id = ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        group, _ = await _group(ctx, s, "group.withdraw", staff_only=True)
        m = await s.scalar(
            select(Membership).where(
                Membership.group_id == group.id,
                Membership.person_id == person_id,
                Membership.status != MembershipStatus.WITHDRAWN,
            )
        )
        person = await s.get(Person, person_id)
        if m is None or person is None:
            raise NotFound("this person is not in this group")
        m.status = MembershipStatus.WITHDRAWN
        await s.flush()
        if m.role == GroupRole.MEMBER:
            await promote_waiting(s, group)
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="group.withdraw",
            target=f"group:{group.id}",
            outcome=AuditOutcome.ALLOWED,
            details={"person_id": person_id},
        )
        return _membership_out(m, person, full=True)


async def promote_waiting(s: AsyncSession, group: Group) -> Membership | None:
    """Move the longest-waiting member up if there is room."""
    if await member_count(s, group.id) >= group.capacity:
        return None
    nxt = await s.scalar(
        select(Membership)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.WAITING)
        .order_by(Membership.updated_at, Membership.id)
        .limit(1)
    )
    if nxt is not None:
        nxt.status = MembershipStatus.ACTIVE
    return nxt
