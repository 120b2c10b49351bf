"""The logged-in person: profile and sessions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.api.routing import Router
from server.api.schemas import GroupRef, MeOut, MyProfileIn, SessionSummaryOut
from server.api.sessions_view import sessions_of
from server.auth.names import check_impersonation
from server.db.models import Group, Membership, Person, PersonRole
from server.domain import MembershipStatus

router = Router("me")


async def me_out(s: AsyncSession, person: Person) -> MeOut:
    roles = list(await s.scalars(select(PersonRole.role).where(PersonRole.person_id == person.id)))
    rows = await s.execute(
        select(Group, Membership.role)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.person_id == person.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(Group.name)
    )
    return MeOut(
        id=person.id,
        display_name=person.display_name,
        email=person.email,
        locale=person.locale,
        timezone=person.timezone,
        organisation_id=person.organisation_id,
        roles=sorted(set(roles)),
        groups=[GroupRef(id=g.id, name=g.name, protocol=g.protocol, role=r) for g, r in rows.all()],
        has_password=person.password_hash is not None,
    )


@router.get("/api/me", response=MeOut, summary="Who I am: profile, roles and groups")
async def get_me(ctx: Ctx) -> MeOut:
    async with ctx.sessionmaker() as s:
        return await me_out(s, ctx.me())


@router.patch(
    "/api/me",
    body=MyProfileIn,
    response=MeOut,
    errors=(409,),
    summary="Change my name, language or timezone",
    description="A display name with invisible or text-direction characters is refused (400), "
    "and so is one that looks like the name of a leader of a group I am a member of (409 "
    "`name_impersonates`).",
)
async def patch_me(ctx: Ctx, body: MyProfileIn) -> MeOut:
    if body.display_name is not None:
        async with ctx.sessionmaker() as s:
            await check_impersonation(s, ctx.me().id, body.display_name)
    async with ctx.sessionmaker() as s, s.begin():
        person = await s.get(Person, ctx.me().id)
        assert person is not None
        for field, value in body.model_dump(exclude_unset=True).items():
            if field == "display_name" and value is None:
                continue
            setattr(person, field, value if field != "timezone" or value else person.timezone)
    async with ctx.sessionmaker() as s:
        return await me_out(s, person)


@router.get(
    "/api/me/sessions", response=list[SessionSummaryOut], summary="My sessions, soonest first"
)
async def my_sessions(ctx: Ctx) -> list[SessionSummaryOut]:
    async with ctx.sessionmaker() as s:
        return await sessions_of(s, ctx.me().id)
