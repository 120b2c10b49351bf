"""The research record's shared parts: pseudonymous codes, the item rows of a complete response,
consent.

Responses become ``submitted`` in one place, the answering side (server.questionnaires.forms:
``submit`` for a form answered item by item, ``record_submission`` for one answered in one go);
``circle import responses`` (server.questionnaires.importer) writes imported cohorts through
:func:`add_items` beside it. Both validate every answer against the instrument and store the
scores once, so reports never re-score.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.questionnaires.models import (
    ResearchCode,
    ResearchConsent,
    ResponseItem,
    new_research_code,
)

RESEARCH_SCOPE = "research"


async def research_code(s: AsyncSession, person_id: int, organisation_id: int) -> str:
    """The person's stable pseudonym, created (random, stored) on first need.

    The first statement is a write (``INSERT ... ON CONFLICT DO NOTHING``), so on SQLite the
    transaction takes the write lock before it reads anything: a read-then-write transaction in
    WAL mode fails at once ("database is locked", no retry) when another writer committed in
    between, and a submission must not be lost that way."""
    dialect = s.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    for _ in range(5):
        await s.execute(
            insert_fn(ResearchCode)
            .values(
                person_id=person_id,
                organisation_id=organisation_id,
                code=new_research_code(),
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )
        code = await s.scalar(select(ResearchCode.code).where(ResearchCode.person_id == person_id))
        if code is not None:
            return code
        # Only a clash of the random code itself (about 1 in 10^15 per pair) gets here.
    raise RuntimeError("could not allocate a research code")


def add_items(
    s: AsyncSession, response_id: int, answers: Mapping[str, int | str], at: datetime
) -> None:
    """The answers of a response, one row each (already validated by scoring)."""
    s.add_all(
        ResponseItem(
            response_id=response_id,
            item_id=item_id,
            value=value if isinstance(value, int) else None,
            text=value if isinstance(value, str) else None,
            answered_at=at,
        )
        for item_id, value in answers.items()
    )


async def give_consent(
    s: AsyncSession,
    *,
    person_id: int,
    organisation_id: int,
    scope: str = RESEARCH_SCOPE,
    text_version: str = "1",
) -> ResearchConsent:
    """Start a consent period (no-op returning the open one if consent is already given)."""
    current = await s.scalar(
        select(ResearchConsent).where(
            ResearchConsent.person_id == person_id,
            ResearchConsent.scope == scope,
            ResearchConsent.withdrawn_at.is_(None),
        )
    )
    if current is not None:
        return current
    row = ResearchConsent(
        person_id=person_id, organisation_id=organisation_id, scope=scope, text_version=text_version
    )
    s.add(row)
    await s.flush()
    return row


async def withdraw_consent(s: AsyncSession, *, person_id: int, scope: str = RESEARCH_SCOPE) -> int:
    """Close every open consent period of this scope; returns how many were open. From this
    moment the person is left out of every report and export."""
    result = await s.execute(
        update(ResearchConsent)
        .where(
            ResearchConsent.person_id == person_id,
            ResearchConsent.scope == scope,
            ResearchConsent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
