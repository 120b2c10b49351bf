"""What the CLI commands do, as async functions on the database (tested directly)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.schemas import OrganisationIn, PersonIn
from server.auth import passwords
from server.auth.sessions import create_invitation
from server.auth.tokens import mint_join_token
from server.db import migrate
from server.db.engine import Database
from server.db.models import (
    Group,
    Membership,
    Organisation,
    Person,
    PersonRole,
    ScheduledSession,
    Series,
    utcnow,
)
from server.domain import (
    AuditOutcome,
    GroupRole,
    MembershipStatus,
    OrgRole,
    ProtocolKind,
)
from server.lifecycle import Change
from server.pages import sign_in_page
from server.session_status import write_status
from server.settings import Settings

DEMO_SLUG = "demo"
DEMO_TZ = "Europe/Amsterdam"
DEMO_MEMBERS = [
    ("Sara Ahmadi", "nurse", "Intensive care"),
    ("Daan de Vries", "physician", "Emergency"),
    ("Leila Karimi", "midwife", "Obstetrics"),
    ("Joost Bakker", "paramedic", "Ambulance"),
    ("Maryam Hosseini", "physician", "Internal medicine"),
    ("Eva Jansen", "nurse", "Oncology"),
    ("Reza Moradi", "nurse", "Emergency"),
    ("Sanne Visser", "psychologist", "Psychiatry"),
    ("Ali Rezaei", "physician", "Anaesthesia"),
    ("Noor Smit", "nurse", "Palliative care"),
]


def _invalid(exc: ValidationError) -> ValueError:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return ValueError("; ".join(parts))


async def _ready_db(settings: Settings) -> Database:
    db = Database(settings.effective_database_url)
    if not await migrate.is_current(db):
        await db.dispose()
        raise ValueError("the database is not migrated; run: circle db upgrade")
    return db


async def add_user(settings: Settings, args: argparse.Namespace, password: str | None) -> str:
    try:
        person_in = PersonIn(
            email=args.email,
            display_name=args.name,
            profession=args.profession,
            department=args.department,
            locale=args.locale,
            timezone=args.timezone,
            roles=[OrgRole(r) for r in sorted(set(args.role))],
        )
        org_in = OrganisationIn(name=args.org_name or args.org, slug=args.org)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if password is not None and (reason := passwords.check_policy(password)):
        raise ValueError(reason)
    pw_hash = await passwords.hash_password(password) if password else None
    db = await _ready_db(settings)
    try:
        async with db.sessionmaker() as s, s.begin():
            org = await s.scalar(select(Organisation).where(Organisation.slug == org_in.slug))
            if org is None:
                if not args.org_name:
                    raise ValueError(
                        f"no organisation {org_in.slug!r}; pass --org-name to create it"
                    )
                org = Organisation(name=org_in.name, slug=org_in.slug)
                s.add(org)
                await s.flush()
            if await s.scalar(select(Person.id).where(Person.email == person_in.email)):
                raise ValueError(f"a person with email {person_in.email} exists already")
            person = Person(
                organisation_id=org.id,
                email=person_in.email,
                display_name=person_in.display_name,
                profession=person_in.profession,
                department=person_in.department,
                locale=person_in.locale,
                timezone=person_in.timezone,
                password_hash=pw_hash,
            )
            s.add(person)
            await s.flush()
            for role in person_in.roles:
                s.add(PersonRole(person_id=person.id, organisation_id=org.id, role=role))
            await audit.record(
                s,
                actor_id=None,
                action="cli.user_add",
                target=f"person:{person.id}",
                outcome=AuditOutcome.ALLOWED,
                details={"roles": [r.value for r in person_in.roles]},
            )
            token, _ = await create_invitation(
                s,
                settings.secret_key,
                person_id=person.id,
                ttl_hours=settings.invitation_ttl_hours,
                created_by=None,
            )
        return f"added {person_in.email} (id {person.id})\none-click link: {sign_in_page(settings.public_url, token)}"
    finally:
        await db.dispose()


async def _person(
    s: AsyncSession,
    org: Organisation,
    email: str,
    name: str,
    *,
    profession: str | None = None,
    department: str | None = None,
    locale: str | None = None,
) -> Person:
    p = await s.scalar(select(Person).where(Person.email == email))
    if p is None:
        p = Person(
            organisation_id=org.id,
            email=email,
            display_name=name,
            profession=profession,
            department=department,
            locale=locale,
            timezone=DEMO_TZ,
        )
        s.add(p)
        await s.flush()
    return p


async def create_demo(settings: Settings, *, start_in_minutes: int = 5) -> str:
    """Create (or refresh) the demo: an organisation, a Balint group of a leader, a co-leader
    and 10 members, a series whose next session's lobby is open now; print one-click links."""
    if not 0 <= start_in_minutes <= 24 * 60:
        raise ValueError("--start-in must be between 0 and 1440 minutes")
    db = await _ready_db(settings)
    lines: list[str] = []
    try:
        async with db.sessionmaker() as s, s.begin():
            org = await s.scalar(select(Organisation).where(Organisation.slug == DEMO_SLUG))
            if org is None:
                org = Organisation(name="Demo Hospital", slug=DEMO_SLUG)
                s.add(org)
                await s.flush()
            coord = await _person(s, org, "coordinator@demo.example", "Carla Coordinator")
            for role in (OrgRole.ADMIN, OrgRole.COORDINATOR):
                if not await s.scalar(
                    select(PersonRole.id).where(
                        PersonRole.person_id == coord.id, PersonRole.role == role
                    )
                ):
                    s.add(PersonRole(person_id=coord.id, organisation_id=org.id, role=role))
            group = await s.scalar(
                select(Group).where(
                    Group.organisation_id == org.id, Group.name == "Balint group (demo)"
                )
            )
            if group is None:
                group = Group(
                    organisation_id=org.id,
                    name="Balint group (demo)",
                    protocol=ProtocolKind.BALINT,
                    capacity=12,
                    min_members=8,
                    settings={"sitback_minutes": 15, "auto_advance": False},
                )
                s.add(group)
                await s.flush()
            people: list[tuple[Person, GroupRole]] = [
                (
                    await _person(
                        s,
                        org,
                        "leader@demo.example",
                        "Dr. Hanna Leader",
                        profession="psychiatrist",
                        department="Psychiatry",
                    ),
                    GroupRole.LEADER,
                ),
                (
                    await _person(
                        s,
                        org,
                        "coleader@demo.example",
                        "Dr. Omid Co-leader",
                        profession="psychologist",
                        department="Psychology",
                        locale="fa",
                    ),
                    GroupRole.CO_LEADER,
                ),
            ]
            for i, (name, prof, dept) in enumerate(DEMO_MEMBERS, start=1):
                people.append(
                    (
                        await _person(
                            s,
                            org,
                            f"member{i}@demo.example",
                            name,
                            profession=prof,
                            department=dept,
                        ),
                        GroupRole.MEMBER,
                    )
                )
            for person, grole in people:
                if not await s.scalar(
                    select(Membership.id).where(
                        Membership.group_id == group.id, Membership.person_id == person.id
                    )
                ):
                    s.add(Membership(group_id=group.id, person_id=person.id, role=grole))
            now = utcnow()
            series = Series(
                group_id=group.id,
                title="Demo Balint series",
                timezone=DEMO_TZ,
                planned_sessions=1,
                pattern={"demo": True},
                created_by=coord.id,
            )
            s.add(series)
            await s.flush()
            sess = ScheduledSession(
                series_id=series.id,
                group_id=group.id,
                index=1,
                starts_at=(now + timedelta(minutes=start_in_minutes)).replace(microsecond=0),
                timezone=DEMO_TZ,
                duration_minutes=60,
                lobby_minutes=max(10, start_in_minutes + 1),
            )
            s.add(sess)
            await s.flush()
            await write_status(s, sess.id, Change.LOBBY_OPEN, loaded=sess)  # its lobby is open
            links: list[tuple[str, str]] = []
            for person, label in [(coord, "coordinator")] + [(p, r.value) for p, r in people]:
                token, _ = await create_invitation(
                    s,
                    settings.secret_key,
                    person_id=person.id,
                    ttl_hours=settings.invitation_ttl_hours,
                    created_by=None,
                )
                links.append(
                    (
                        f"{person.display_name} ({label})",
                        sign_in_page(settings.public_url, token),
                    )
                )
        lines.append(
            f"Demo ready: organisation 'Demo Hospital', group '{group.name}', "
            f"session {sess.id} (lobby open now)."
        )
        lines.append(
            f"Open {settings.public_url}/app/ with one of these one-click links "
            "(each works once; run `circle demo` again for fresh ones):"
        )
        width = max(len(label) for label, _ in links)
        lines += [f"  {label.ljust(width)}  {url}" for label, url in links]
        return "\n".join(lines)
    finally:
        await db.dispose()


async def bot_tokens(settings: Settings, session_id: int, count: int) -> list[tuple[str, str]]:
    """Join tokens for the last ``count`` members of the session's group (the first ones are
    left for people following the demo's links)."""
    db = await _ready_db(settings)
    try:
        async with db.sessionmaker() as s:
            sess = await s.get(ScheduledSession, session_id)
            if sess is None:
                raise ValueError(f"no session {session_id}")
            rows = (
                await s.execute(
                    select(Person.id, Person.display_name)
                    .join(Membership, Membership.person_id == Person.id)
                    .where(
                        Membership.group_id == sess.group_id,
                        Membership.role == GroupRole.MEMBER,
                        Membership.status == MembershipStatus.ACTIVE,
                    )
                    .order_by(Person.id.desc())
                    .limit(count)
                )
            ).all()
    finally:
        await db.dispose()
    if len(rows) < count:
        raise ValueError(f"session {session_id}'s group has only {len(rows)} members")
    return [
        (
            name,
            mint_join_token(
                settings.secret_key,
                person_id=pid,
                session_id=session_id,
                role=GroupRole.MEMBER,
                ttl_s=settings.join_token_ttl_s,
            ),
        )
        for pid, name in reversed(rows)
    ]


async def latest_demo_session(settings: Settings) -> int | None:
    db = await _ready_db(settings)
    try:
        async with db.sessionmaker() as s:
            return await s.scalar(
                select(ScheduledSession.id)
                .join(Group, Group.id == ScheduledSession.group_id)
                .join(Organisation, Organisation.id == Group.organisation_id)
                .where(Organisation.slug == DEMO_SLUG)
                .order_by(ScheduledSession.id.desc())
                .limit(1)
            )
    finally:
        await db.dispose()


async def run_bots(
    settings: Settings, session_id: int, count: int, seconds: int, url: str | None = None
) -> int:
    """Join ``count`` synthetic participants (test pattern with their name, a tone) and keep
    them in the session for ``seconds`` (0: until interrupted)."""
    if not 1 <= count <= 12:
        raise ValueError("--count must be between 1 and 12")
    if seconds < 0:
        raise ValueError("--seconds must not be negative")
    from server.bots import bot as bots

    tokens = await bot_tokens(settings, session_id, count)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)  # leave the room cleanly when told
    try:
        await bots.run_bots(
            url or settings.public_url, tokens, duration_s=seconds or None, stop=stop
        )
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    return 0
