"""The one writer of the research record: pseudonymous codes, submitted responses, consent.

The answering side (forms, drafts, links) calls :func:`record_submission` when a member submits
a complete form; ``circle import responses`` (server.questionnaires.importer) writes imported
cohorts through :func:`add_items` beside it. Both validate every answer against the
instrument and store the scores once, so reports never re-score.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict
from server.questionnaires.instrument import Instrument
from server.questionnaires.models import (
    QuestionnaireResponse,
    ResearchCode,
    ResearchConsent,
    ResponseItem,
    ResponseSource,
    ResponseStatus,
    Timepoint,
    new_research_code,
    slot_key,
)
from server.questionnaires.scoring import AnswerError, Scores, missing_required, score_answers

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


async def record_submission(
    s: AsyncSession,
    inst: Instrument,
    *,
    person_id: int,
    organisation_id: int,
    series_id: int,
    timepoint: Timepoint,
    answers: Mapping[str, int | str],
    session_id: int | None = None,
    locale: str | None = None,
    started_at: datetime | None = None,
    submitted_at: datetime | None = None,
) -> tuple[QuestionnaireResponse, Scores]:
    """Store one submitted form with its items and scores. Every required item must be
    answered and every value valid (the error names the item); a second submission of the same
    form (same slot) is refused with 409 (Conflict): the caller's transaction must then roll
    back, which ``async with session.begin()`` does, and nothing of the attempt remains."""
    missing = missing_required(inst, answers)
    if missing:
        raise AnswerError(f"{missing[0]}: not answered ({len(missing)} missing)", field=missing[0])
    scores = score_answers(inst, answers)
    code = await research_code(s, person_id, organisation_id)
    now = submitted_at or datetime.now(UTC)
    response = QuestionnaireResponse(
        slot_key=slot_key(
            instrument=inst.id,
            timepoint=timepoint,
            person_code=code,
            series_id=series_id,
            session_id=session_id if timepoint is Timepoint.CHECKIN else None,
        ),
        organisation_id=organisation_id,
        person_id=person_id,
        person_code=code,
        series_id=series_id,
        session_id=session_id,
        instrument=inst.id,
        instrument_version=inst.version,
        timepoint=timepoint,
        status=ResponseStatus.SUBMITTED,
        source=ResponseSource.FORM,
        locale=locale,
        started_at=started_at or now,
        submitted_at=now,
        scores=scores.to_json(),
    )
    s.add(response)
    try:
        await s.flush()
    except IntegrityError:
        # The slot is taken: this form was submitted already. The caller's transaction is
        # rolled back with this error, so nothing of this attempt remains.
        raise Conflict(f"{inst.id} {timepoint.value}: already submitted") from None
    add_items(s, response.id, answers, now)
    return response, scores


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
