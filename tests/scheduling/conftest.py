"""Fixtures: a fresh SQLite database per test, a fake clock, a group with people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from server.db.engine import Database
from server.db.models import Group, Membership, Organisation, Person
from server.domain import GroupRole, MembershipStatus, ProtocolKind
from server.scheduling.plan import SchedulingConfig


class Clock:
    """An injectable clock; tests move it explicitly."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@dataclass
class World:
    org_id: int
    group_id: int
    leader_id: int
    member_ids: list[int] = field(default_factory=list)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 10, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def cfg() -> SchedulingConfig:
    return SchedulingConfig()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A database migrated by Alembic (0001 + 0002), once on SQLite and once on PostgreSQL
    (the root conftest's ``db_url``: PostgreSQL skips when unreachable, fails under CI=true)."""
    database = Database(db_url)
    yield database
    await database.dispose()


async def make_world(
    db: Database,
    *,
    members: int = 8,
    protocol: ProtocolKind = ProtocolKind.BALINT,
    capacity: int = 12,
    min_members: int = 8,
    leader_id: int | None = None,
    org_id: int | None = None,
    tag: str = "a",
) -> World:
    async with db.sessionmaker() as s, s.begin():
        if org_id is None:
            org = Organisation(name="Org", slug=f"org-{tag}")
            s.add(org)
            await s.flush()
            org_id = org.id
        if leader_id is None:
            leader = Person(
                organisation_id=org_id,
                email=f"leader-{tag}@example.org",
                display_name="Leader",
                timezone="Europe/Amsterdam",
                locale="nl",
            )
            s.add(leader)
            await s.flush()
            leader_id = leader.id
        group = Group(
            organisation_id=org_id,
            name=f"Group {tag}",
            protocol=protocol,
            capacity=capacity,
            min_members=min_members,
        )
        s.add(group)
        await s.flush()
        s.add(Membership(group_id=group.id, person_id=leader_id, role=GroupRole.LEADER))
        ids: list[int] = []
        for i in range(members):
            p = Person(
                organisation_id=org_id,
                email=f"m{i}-{tag}@example.org",
                display_name=f"Member {i}",
                timezone="Asia/Tehran" if i % 2 else "Europe/Amsterdam",
                locale="fa" if i % 2 else "en",
            )
            s.add(p)
            await s.flush()
            s.add(
                Membership(
                    group_id=group.id,
                    person_id=p.id,
                    role=GroupRole.MEMBER,
                    status=MembershipStatus.ACTIVE,
                )
            )
            ids.append(p.id)
        return World(org_id, group.id, leader_id, ids)


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)
