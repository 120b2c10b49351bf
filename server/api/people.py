"""Organisations and the people in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx, remove_from_rooms
from server.api.routing import Router
from server.api.schemas import (
    InvitationOut,
    OrganisationIn,
    OrganisationOut,
    PersonIn,
    PersonOut,
    PersonPatch,
)
from server.auth.names import check_impersonation
from server.auth.sessions import create_invitation, revoke_all_sessions, void_open_links
from server.db.models import AuthSession, Organisation, Person, PersonRole, utcnow
from server.domain import STAFF_ROLES, AuditOutcome, OrgRole, RemovalReason
from server.errors import Conflict, ErrorCode, NotFound
from server.notify import NOTIFIER_KEY
from server.notify.outbox import Notice, enqueue
from server.notify.templates import Kind, format_when, person_zone, pick_locale, render
from server.pages import sign_in_page

router = Router("organisations")


@router.get("/api/organisations", response=list[OrganisationOut], summary="My organisations")
async def list_organisations(ctx: Ctx) -> list[OrganisationOut]:
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        ids = set(
            await s.scalars(select(PersonRole.organisation_id).where(PersonRole.person_id == me.id))
        ) | {me.organisation_id}
        orgs = await s.scalars(select(Organisation).where(Organisation.id.in_(ids)))
        return [OrganisationOut.model_validate(o) for o in orgs]


@router.post(
    "/api/organisations",
    body=OrganisationIn,
    response=OrganisationOut,
    status=201,
    errors=(409,),
    summary="Create an organisation (admins); the creator becomes its admin",
)
async def create_organisation(ctx: Ctx, body: OrganisationIn) -> OrganisationOut:
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        is_admin = await s.scalar(
            select(PersonRole.id).where(
                PersonRole.person_id == me.id, PersonRole.role == OrgRole.ADMIN
            )
        )
    if not is_admin:
        raise await ctx.refuse("organisation.create", body.slug, "only admins create organisations")
    try:
        async with ctx.sessionmaker() as s, s.begin():
            org = Organisation(name=body.name, slug=body.slug)
            s.add(org)
            await s.flush()
            s.add(PersonRole(person_id=me.id, organisation_id=org.id, role=OrgRole.ADMIN))
            await audit.record(
                s,
                actor_id=me.id,
                action="organisation.create",
                target=f"organisation:{org.id}",
                outcome=AuditOutcome.ALLOWED,
            )
    except IntegrityError:
        raise Conflict(f"an organisation with slug {body.slug!r} exists already") from None
    return OrganisationOut.model_validate(org)


async def _org_or_404(s: AsyncSession, org_id: int) -> Organisation:
    org = await s.get(Organisation, org_id)
    if org is None:
        raise NotFound("no such organisation")
    return org


@router.get("/api/organisations/{org_id}", response=OrganisationOut, summary="One organisation")
async def get_organisation(ctx: Ctx) -> OrganisationOut:
    org_id = ctx.path_int("org_id")
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        org = await _org_or_404(s, org_id)
        if me.organisation_id != org_id and not await ctx.org_roles(s, org_id):
            raise await ctx.refuse("organisation.read", f"organisation:{org_id}", "not yours")
        return OrganisationOut.model_validate(org)


@router.get(
    "/api/organisations/{org_id}/people",
    response=list[PersonOut],
    summary="People of an organisation (coordinators)",
)
async def list_people(ctx: Ctx) -> list[PersonOut]:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await _org_or_404(s, org_id)
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="people.list")
        rows = await s.scalars(
            select(Person).where(Person.organisation_id == org_id).order_by(Person.display_name)
        )
        return [PersonOut.model_validate(p) for p in rows]


@router.post(
    "/api/organisations/{org_id}/people",
    body=PersonIn,
    response=PersonOut,
    status=201,
    errors=(409,),
    summary="Add a person (coordinators; roles only by admins)",
)
async def create_person(ctx: Ctx, body: PersonIn) -> PersonOut:
    org_id = ctx.path_int("org_id")
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        await _org_or_404(s, org_id)
        roles = await ctx.org_roles(s, org_id)
    if not roles & set(STAFF_ROLES):
        raise await ctx.refuse("person.create", f"organisation:{org_id}", "coordinators only")
    if body.roles and OrgRole.ADMIN not in roles:
        raise await ctx.refuse("person.grant_role", f"organisation:{org_id}", "admins only")
    try:
        async with ctx.sessionmaker() as s, s.begin():
            person = Person(
                organisation_id=org_id,
                email=body.email,
                display_name=body.display_name,
                profession=body.profession,
                department=body.department,
                locale=body.locale,
                timezone=body.timezone,
            )
            s.add(person)
            await s.flush()
            for role in set(body.roles):
                s.add(PersonRole(person_id=person.id, organisation_id=org_id, role=role))
            await audit.record(
                s,
                actor_id=me.id,
                action="person.create",
                target=f"person:{person.id}",
                outcome=AuditOutcome.ALLOWED,
                details={"roles": sorted(body.roles)},
            )
    except IntegrityError:
        raise Conflict("a person with this email exists already") from None
    return PersonOut.model_validate(person)


async def _person_for(
    ctx: Ctx, s: AsyncSession, person_id: int, action: str
) -> tuple[Person, bool]:
    """The person, and whether the caller is staff of their organisation (else it is self)."""
    me = ctx.me()
    person = await s.get(Person, person_id)
    if person is None:
        raise NotFound("no such person")
    staff = bool((await ctx.org_roles(s, person.organisation_id)) & set(STAFF_ROLES))
    if not staff and person.id != me.id:
        raise await ctx.refuse(action, f"person:{person_id}", "you may only see yourself")
    return person, staff


@router.get(
    "/api/people/{person_id}", response=PersonOut, summary="One person (self or coordinators)"
)
async def get_person(ctx: Ctx) -> PersonOut:
    async with ctx.sessionmaker() as s:
        person, _ = await _person_for(ctx, s, ctx.path_int("person_id"), "person.read")
        return PersonOut.model_validate(person)


async def _role_orgs(s: AsyncSession, person_id: int) -> set[int]:
    """The organisations in which ``person_id`` holds a role (admin or coordinator)."""
    rows = await s.scalars(
        select(PersonRole.organisation_id).where(PersonRole.person_id == person_id)
    )
    return set(rows)


async def _admin_over(ctx: Ctx, s: AsyncSession, person: Person) -> bool:
    """Whether the caller is an admin of the person's organisation and of every organisation
    in which the person holds a role (so no coordinator reaches an admin, in any organisation)."""
    me = ctx.me()
    orgs = {person.organisation_id} | await _role_orgs(s, person.id)
    admin_of = set(
        await s.scalars(
            select(PersonRole.organisation_id).where(
                PersonRole.person_id == me.id, PersonRole.role == OrgRole.ADMIN
            )
        )
    )
    return orgs <= admin_of


@router.patch(
    "/api/people/{person_id}",
    body=PersonPatch,
    response=PersonOut,
    errors=(409,),
    summary="Change a person (self: name, language, timezone; coordinators: all; "
    "people who hold an organisation role: admins only)",
)
async def patch_person(ctx: Ctx, body: PersonPatch) -> PersonOut:
    person_id = ctx.path_int("person_id")
    changes = body.model_dump(exclude_unset=True)
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        person, staff = await _person_for(ctx, s, person_id, "person.update")
        holds_role = bool(await _role_orgs(s, person_id))
        admin = await _admin_over(ctx, s, person) if holds_role else False
        if "display_name" in changes and changes["display_name"] is not None:
            await check_impersonation(s, person_id, changes["display_name"])
    if not staff and set(changes) - {"display_name", "locale", "timezone"}:
        raise await ctx.refuse("person.update", f"person:{person_id}", "coordinators only")
    if holds_role and person_id != me.id and not admin:
        raise await ctx.refuse(
            "person.update",
            f"person:{person_id}",
            "only an admin may change a person who holds an organisation role",
        )
    deactivated = changes.get("is_active") is False and person.is_active
    async with ctx.sessionmaker() as s, s.begin():
        row = await s.get(Person, person_id)
        assert row is not None
        for field, value in changes.items():
            if value is None and field in ("display_name", "timezone", "is_active"):
                continue
            setattr(row, field, value)
        if deactivated:
            await revoke_all_sessions(s, person_id)
            await void_open_links(s, person_id)
        await audit.record(
            s,
            actor_id=me.id,
            action="person.update",
            target=f"person:{person_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"fields": sorted(changes)},
        )
    if deactivated:
        await remove_from_rooms(ctx, person_id, None, RemovalReason.DEACTIVATED)
    return PersonOut.model_validate(row)


@router.post(
    "/api/people/{person_id}/invitation",
    response=InvitationOut,
    status=201,
    errors=(409,),
    summary="Mint a one-click sign-in link for a new person (admins)",
    description="Only an admin of the person's organisation may make one, and only for a "
    "person who holds no organisation role, has no password and has never signed in (409 "
    "`use_password_reset` otherwise: they reset their password). The person is told by "
    "e-mail that a link was made; the link itself is handed over by the admin.",
)
async def invite_person(ctx: Ctx) -> InvitationOut:
    person_id = ctx.path_int("person_id")
    target = f"person:{person_id}"
    async with ctx.sessionmaker() as s:
        person, _ = await _person_for(ctx, s, person_id, "person.invite")
        admin = await _admin_over(ctx, s, person)
        holds_role = bool(await _role_orgs(s, person_id))
        signed_in = await s.scalar(
            select(AuthSession.id).where(AuthSession.person_id == person_id).limit(1)
        )
    if not admin:
        raise await ctx.refuse("person.invite", target, "only admins make sign-in links")
    if holds_role or person.password_hash is not None or signed_in is not None:
        await ctx.refuse("person.invite", target, "use_password_reset")
        raise Conflict(
            "this person has a role, a password or has signed in before: they reset their "
            "password instead of getting a sign-in link",
            code=ErrorCode.USE_PASSWORD_RESET,
        )
    if not person.is_active:
        raise Conflict("this person is deactivated", code=ErrorCode.INACTIVE)
    url, expires = await issue_invitation(ctx, person, created_by=ctx.me().id)
    return InvitationOut(url=url, expires_at=expires)


def _link_notice(person: Person, expires_at: datetime) -> Notice:
    """Tells the person that a sign-in link was made for them (the notice carries no link)."""
    locale = pick_locale(person.locale)
    zone = person_zone(person.timezone)
    subject, body = render(
        Kind.SIGN_IN_LINK,
        locale,
        name=person.display_name,
        when=format_when(utcnow(), zone, locale),
        until=format_when(expires_at, zone, locale),
    )
    return Notice(
        kind=Kind.SIGN_IN_LINK.value,
        to_address=person.email,
        locale=locale,
        subject=subject,
        body=body,
        person_id=person.id,
        organisation_id=person.organisation_id,
    )


async def issue_invitation(
    ctx: Ctx, person: Person, *, created_by: int | None
) -> tuple[str, datetime]:
    """Make a one-click sign-in link for ``person`` (audited; the person is told by e-mail)."""
    async with ctx.sessionmaker() as s, s.begin():
        token, inv = await create_invitation(
            s,
            ctx.settings.secret_key,
            person_id=person.id,
            ttl_hours=ctx.settings.invitation_ttl_hours,
            created_by=created_by,
        )
        await enqueue(
            s, [_link_notice(person, inv.expires_at)], ctx.request.app[NOTIFIER_KEY], utcnow()
        )
        await audit.record(
            s,
            actor_id=created_by,
            action="person.invite",
            target=f"person:{person.id}",
            outcome=AuditOutcome.ALLOWED,
        )
    return sign_in_page(ctx.settings.public_url, token), inv.expires_at
