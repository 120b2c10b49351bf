"""Seeding questionnaire data straight through forms.record_submission (no HTTP)."""

from __future__ import annotations

from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AuditEntry, Person, PersonRole
from server.domain import OrgRole
from server.questionnaires.forms import record_submission
from server.questionnaires.models import Timepoint
from server.questionnaires.registry import load_registry
from server.questionnaires.store import give_consent, withdraw_consent

REG = load_registry(None)


def phq9(total: int) -> dict[str, int | str]:
    """PHQ-9 answers summing to ``total`` (items filled with 3s from the first, item 9 = 0)."""
    values = []
    left = total
    for _ in range(8):
        v = min(3, left)
        values.append(v)
        left -= v
    assert left == 0
    return {f"item_{i}": v for i, v in enumerate([*values, 0], 1)}


async def submit(url: str, person_id: int, org_id: int, series_id: int, tp: Timepoint, total: int):
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await record_submission(
                s,
                REG.get("phq9"),
                person_id=person_id,
                organisation_id=org_id,
                series_id=series_id,
                timepoint=tp,
                answers=phq9(total),
            )
    finally:
        await db.dispose()


async def consent(url: str, person_id: int, org_id: int, *, withdraw: bool = False) -> None:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            if withdraw:
                await withdraw_consent(s, person_id=person_id)
            else:
                await give_consent(s, person_id=person_id, organisation_id=org_id)
    finally:
        await db.dispose()


async def add_researcher(url: str, org_id: int) -> int:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            p = Person(organisation_id=org_id, email="res@test.example", display_name="Researcher")
            s.add(p)
            await s.flush()
            s.add(PersonRole(person_id=p.id, organisation_id=org_id, role=OrgRole.RESEARCHER))
            return p.id
    finally:
        await db.dispose()


async def audit_entries(url: str, *where: object) -> list[AuditEntry]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list(await s.scalars(select(AuditEntry).where(*where)))  # type: ignore[arg-type]
    finally:
        await db.dispose()
