"""Test data written straight to the database (fast: no argon2 except where asked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from server.auth.passwords import hash_password
from server.auth.sessions import create_invitation, open_session
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
from server.domain import GroupRole, OrgRole, ProtocolKind, SessionStatus

SECRET = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
PASSWORD = "correct horse battery"
_HASHES: dict[str, str] = {}


async def password_hash(password: str = PASSWORD) -> str:
    """The argon2 hash of ``password``, computed once per test process: every seeded person
    may share it (it verifies the same password), and each argon2 hash costs a tenth of a
    second of CPU or more."""
    if password not in _HASHES:
        _HASHES[password] = await hash_password(password)
    return _HASHES[password]


@dataclass
class World:
    org_id: int = 0
    coordinator_id: int = 0
    leader_id: int = 0
    co_leader_id: int = 0
    member_ids: list[int] = field(default_factory=list)
    outsider_id: int = 0
    group_id: int = 0
    series_id: int = 0
    session_id: int = 0


async def seed(
    url: str, *, members: int = 3, with_password: bool = True, session_in_minutes: int = 2
) -> World:
    db = Database(url)
    w = World()
    pw = await password_hash() if with_password else None
    try:
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="St. Test", slug="st-test")
            s.add(org)
            await s.flush()
            w.org_id = org.id

            def person(email: str, name: str) -> Person:
                p = Person(
                    organisation_id=org.id,
                    email=email,
                    display_name=name,
                    password_hash=pw,
                    timezone="Europe/Amsterdam",
                )
                s.add(p)
                return p

            coord = person("coord@test.example", "Coordinator")
            leader = person("leader@test.example", "Leader")
            co = person("co@test.example", "Co-leader")
            mem = [person(f"m{i}@test.example", f"Member {i}") for i in range(members)]
            outsider = person("out@test.example", "Outsider")
            await s.flush()
            s.add(PersonRole(person_id=coord.id, organisation_id=org.id, role=OrgRole.COORDINATOR))
            group = Group(
                organisation_id=org.id,
                name="Balint A",
                protocol=ProtocolKind.BALINT,
                capacity=12,
                min_members=8,
                settings={},
            )
            s.add(group)
            await s.flush()
            s.add(Membership(group_id=group.id, person_id=leader.id, role=GroupRole.LEADER))
            s.add(Membership(group_id=group.id, person_id=co.id, role=GroupRole.CO_LEADER))
            for m in mem:
                s.add(Membership(group_id=group.id, person_id=m.id, role=GroupRole.MEMBER))
            series = Series(
                group_id=group.id, title="S", timezone="Europe/Amsterdam", planned_sessions=6
            )
            s.add(series)
            await s.flush()
            sess = ScheduledSession(
                series_id=series.id,
                group_id=group.id,
                index=1,
                starts_at=utcnow() + timedelta(minutes=session_in_minutes),
                timezone="Europe/Amsterdam",
                duration_minutes=60,
                status=SessionStatus.SCHEDULED,
                lobby_minutes=10,
            )
            s.add(sess)
            await s.flush()
            w.coordinator_id, w.leader_id, w.co_leader_id = coord.id, leader.id, co.id
            w.member_ids = [m.id for m in mem]
            w.outsider_id, w.group_id, w.series_id, w.session_id = (
                outsider.id,
                group.id,
                series.id,
                sess.id,
            )
    finally:
        await db.dispose()
    return w


async def session_cookie(url: str, person_id: int) -> str:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            return await open_session(s, person_id, ttl_hours=1)
    finally:
        await db.dispose()


async def invitation(url: str, person_id: int, *, ttl_hours: int = 1) -> str:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            token, _ = await create_invitation(
                s, SECRET, person_id=person_id, ttl_hours=ttl_hours, created_by=None
            )
            return token
    finally:
        await db.dispose()
