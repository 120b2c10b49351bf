"""Migrations: upgrade from empty on SQLite and PostgreSQL; the models match the schema."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError

from server.db import migrate, model_registry
from server.db.engine import Database
from server.db.models import AgreementAcceptance, Organisation, Person
from tests.conftest import _pg_exec, _pg_url, require_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_db(request, tmp_path: Path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield db
        await db.dispose()
        return
    require_postgres()
    name = f"circle_empty_{uuid.uuid4().hex[:10]}"
    await _pg_exec(f'CREATE DATABASE "{name}"')
    db = Database(_pg_url(name))
    yield db
    await db.dispose()
    await _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_upgrade_from_empty_matches_models(empty_db: Database):
    assert await migrate.current_revision(empty_db) is None
    assert not await migrate.is_current(empty_db)
    await migrate.upgrade(empty_db)
    assert await migrate.current_revision(empty_db) == migrate.head_revision()
    metadata = model_registry.metadata()

    def diff(conn):
        return compare_metadata(MigrationContext.configure(conn), metadata)

    async with empty_db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_upgrade_is_idempotent_and_constraints_hold(empty_db: Database):
    await migrate.upgrade(empty_db)
    await migrate.upgrade(empty_db)
    async with empty_db.sessionmaker() as s, s.begin():
        org = Organisation(name="O", slug="o")
        s.add(org)
        await s.flush()
        s.add(Person(organisation_id=org.id, email="a@b.example", display_name="A"))
    with pytest.raises(IntegrityError):
        async with empty_db.sessionmaker() as s, s.begin():
            s.add(Person(organisation_id=org.id, email="a@b.example", display_name="B"))
    async with empty_db.sessionmaker() as s:
        people = list(await s.scalars(select(Person)))
    assert len(people) == 1 and people[0].created_at.tzinfo is not None
    # An agreement is accepted once per person, series and version.
    assert ("person_id", "series_id", "version") in {
        tuple(cast(UniqueConstraint, c).columns.keys())
        for c in cast(Table, AgreementAcceptance.__table__).constraints
        if c.__class__.__name__ == "UniqueConstraint"
    }
