"""Answering: open a form (its responses, one per instrument), save one answer, submit.

A form's answers and state are the instrument side's rows (``questionnaire_responses`` and
``response_items``, created ``assigned`` when the form opens); this module is their one writer
while a member answers. Validation, scoring and the research code are the instrument side's
(``scoring``, ``store``). Every answer is validated against the instrument file before anything
is written: an unknown instrument or item,
or a value off the item's scale, is refused with the field named (``phq9.item_9``) and changes
nothing. A partly answered form stays as it is (resumable anywhere); it can be submitted only
when every required item of every instrument is answered.

A response becomes ``submitted`` only in :func:`_finish`, called by :func:`submit` and by
:func:`record_submission` (one instrument answered in one go, without a form: seeding, tests,
the benchmark's baseline). Imported cohorts are written by the importer with source ``import``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Person
from server.errors import Conflict, ErrorCode, UserError
from server.questionnaires import scoring
from server.questionnaires.form_models import FormAssignment
from server.questionnaires.instrument import Instrument, Kind
from server.questionnaires.models import (
    QuestionnaireResponse,
    ResearchCode,
    ResponseItem,
    ResponseStatus,
    Timepoint,
    slot_key,
)
from server.questionnaires.registry import Registry
from server.questionnaires.store import add_items, research_code

ANSWERABLE = (ResponseStatus.ASSIGNED, ResponseStatus.IN_PROGRESS)
MAX_TEXT = 2000


class FormState(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"


def insert_stmt(s: AsyncSession, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support on both dialects."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as lite_insert

    return lite_insert(table)


def response_timepoint(form_tp: Timepoint, inst: Instrument) -> Timepoint:
    """An evaluation form answered with the post form is recorded at ``evaluation``."""
    if inst.kind is Kind.EVALUATION:
        return Timepoint.EVALUATION
    return form_tp


def _slot(a: FormAssignment, inst: Instrument, code: str) -> str:
    return slot_key(
        instrument=inst.id,
        timepoint=response_timepoint(a.timepoint, inst),
        person_code=code,
        series_id=a.series_id,
        session_id=a.session_id if a.timepoint is Timepoint.CHECKIN else None,
    )


def _response_row(
    *,
    slot: str,
    inst: Instrument,
    timepoint: Timepoint,
    code: str,
    person_id: int,
    organisation_id: int,
    series_id: int,
    session_id: int | None,
    locale: str | None,
    opens_at: datetime | None,
    closes_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """One response of a form as it opens (``assigned``): its slot, context and window."""
    return {
        "slot_key": slot,
        "organisation_id": organisation_id,
        "person_id": person_id,
        "person_code": code,
        "series_id": series_id,
        "session_id": session_id,
        "instrument": inst.id,
        "instrument_version": inst.version,
        "timepoint": timepoint,
        "status": ResponseStatus.ASSIGNED,
        "locale": locale,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "created_at": now,
        "updated_at": now,
    }


async def create_responses(
    s: AsyncSession,
    a: FormAssignment,
    person: Person,
    registry: Registry,
    *,
    opens_at: datetime,
    closes_at: datetime,
    locale: str,
) -> None:
    code = await research_code(s, person.id, person.organisation_id)
    for iid in a.instruments:
        inst = registry.get(iid)
        row = _response_row(
            slot=_slot(a, inst, code),
            inst=inst,
            timepoint=response_timepoint(a.timepoint, inst),
            code=code,
            person_id=person.id,
            organisation_id=person.organisation_id,
            series_id=a.series_id,
            session_id=a.session_id if a.timepoint is Timepoint.CHECKIN else None,
            locale=locale,
            opens_at=opens_at,
            closes_at=closes_at,
            now=opens_at,
        )
        await s.execute(
            insert_stmt(s, QuestionnaireResponse)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["slot_key"])
        )


async def responses_of(
    s: AsyncSession, a: FormAssignment, registry: Registry
) -> list[QuestionnaireResponse]:
    """The form's responses in the order of its instruments."""
    code = await s.scalar(select(ResearchCode.code).where(ResearchCode.person_id == a.person_id))
    if code is None:
        return []
    keys = {_slot(a, registry.get(i), code): i for i in a.instruments if i in registry.ids()}
    rows = await s.scalars(
        select(QuestionnaireResponse).where(QuestionnaireResponse.slot_key.in_(list(keys)))
    )
    by_inst = {r.instrument: r for r in rows}
    return [by_inst[i] for i in a.instruments if i in by_inst]


def form_state(responses: list[QuestionnaireResponse], now: datetime) -> FormState:
    if responses and all(r.status is ResponseStatus.SUBMITTED for r in responses):
        return FormState.SUBMITTED
    if not responses or any(
        r.status is ResponseStatus.CLOSED or (r.closes_at is not None and r.closes_at <= now)
        for r in responses
    ):
        return FormState.CLOSED
    return FormState.OPEN


async def close_form(s: AsyncSession, a: FormAssignment, registry: Registry, now: datetime) -> None:
    ids = [r.id for r in await responses_of(s, a, registry) if r.status in ANSWERABLE]
    if ids:
        await s.execute(
            update(QuestionnaireResponse)
            .where(QuestionnaireResponse.id.in_(ids), QuestionnaireResponse.status.in_(ANSWERABLE))
            .values(status=ResponseStatus.CLOSED, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def answers_of(
    s: AsyncSession, responses: list[QuestionnaireResponse]
) -> dict[str, dict[str, int | str]]:
    by_id = {r.id: r.instrument for r in responses}
    out: dict[str, dict[str, int | str]] = {r.instrument: {} for r in responses}
    if not by_id:
        return out
    rows = await s.scalars(select(ResponseItem).where(ResponseItem.response_id.in_(list(by_id))))
    for item in rows:
        value: int | str | None = item.value if item.value is not None else item.text
        if value is not None:
            out[by_id[item.response_id]][item.item_id] = value
    return out


@dataclass(frozen=True, slots=True)
class Answer:
    instrument: str
    item: str
    value: int | str | None  # None clears the answer


def check_answer(inst: Instrument, ans: Answer) -> int | str | None:
    """The validated value (the instrument side's rule); the error names ``<instrument>.<item>``."""
    field = f"{ans.instrument}.{ans.item}"
    if ans.value is None:
        if inst.item(ans.item) is None:
            raise UserError(f"{field}: no such item", fields={field: "no such item"})
        return None
    try:
        scoring.check_answer(inst, ans.item, ans.value)
    except scoring.AnswerError as exc:
        reason = exc.message.split(": ", 1)[-1]
        raise UserError(f"{field}: {reason}", fields={field: reason}) from None
    return ans.value


def _answerable(r: QuestionnaireResponse, now: datetime) -> None:
    if r.status is ResponseStatus.SUBMITTED:
        raise Conflict("this questionnaire was already submitted", code=ErrorCode.SUBMITTED)
    if r.status is ResponseStatus.CLOSED or (r.closes_at is not None and r.closes_at <= now):
        raise Conflict("this questionnaire has closed", code=ErrorCode.CLOSED)


async def save_answer(
    s: AsyncSession,
    a: FormAssignment,
    registry: Registry,
    ans: Answer,
    now: datetime,
) -> QuestionnaireResponse:
    """Validate and store one answer (or clear it); the response becomes in progress."""
    if ans.instrument not in a.instruments:
        field = ans.instrument
        raise UserError(f"{field}: not part of this form", fields={field: "not part of this form"})
    inst = registry.get(ans.instrument)
    value = check_answer(inst, ans)
    responses = {r.instrument: r for r in await responses_of(s, a, registry)}
    r = responses.get(inst.id)
    if r is None:
        raise Conflict("this questionnaire is not open", code=ErrorCode.CLOSED)
    _answerable(r, now)
    existing = await s.scalar(
        select(ResponseItem).where(
            ResponseItem.response_id == r.id, ResponseItem.item_id == ans.item
        )
    )
    if value is None:
        if existing is not None:
            await s.delete(existing)
    else:
        number = value if isinstance(value, int) else None
        text = value if isinstance(value, str) else None
        if existing is None:
            s.add(
                ResponseItem(
                    response_id=r.id, item_id=ans.item, value=number, text=text, answered_at=now
                )
            )
        else:
            existing.value, existing.text, existing.answered_at = number, text, now
    if r.status is ResponseStatus.ASSIGNED:
        r.status = ResponseStatus.IN_PROGRESS
        r.started_at = now
    r.updated_at = now
    await s.flush()
    return r


async def submit(
    s: AsyncSession, a: FormAssignment, registry: Registry, now: datetime
) -> list[QuestionnaireResponse]:
    """Submit every response of the form at once, only when nothing required is missing."""
    responses = await responses_of(s, a, registry)
    if not responses:
        raise Conflict("this questionnaire is not open", code=ErrorCode.CLOSED)
    for r in responses:
        _answerable(r, now)
    answers = await answers_of(s, responses)
    missing = [
        f"{r.instrument}.{item}"
        for r in responses
        for item in scoring.missing_required(registry.get(r.instrument), answers[r.instrument])
    ]
    if missing:
        raise Conflict(
            f"{len(missing)} required item(s) unanswered: {', '.join(missing[:10])}",
            code=ErrorCode.INCOMPLETE,
            fields={m: "required" for m in missing},
        )
    for r in responses:
        _finish(r, scoring.score_answers(registry.get(r.instrument), answers[r.instrument]), now)
    await s.flush()
    return responses


def _finish(r: QuestionnaireResponse, scores: scoring.Scores, now: datetime) -> None:
    """The one place a response becomes ``submitted``, with its scores stored once."""
    r.status = ResponseStatus.SUBMITTED
    r.submitted_at = now
    r.updated_at = now
    r.scores = scores.to_json()


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
) -> tuple[QuestionnaireResponse, scoring.Scores]:
    """A complete form of one instrument answered in one go (no assignment, no window): the
    response opens as a form's would, gets its answers and is submitted by the same code as
    :func:`submit`. Every required item must be answered and every value valid (the error names
    the item); a second submission of the same slot is refused with 409 (Conflict): the
    caller's transaction must then roll back, which ``async with session.begin()`` does, and
    nothing of the attempt remains."""
    missing = scoring.missing_required(inst, answers)
    if missing:
        raise scoring.AnswerError(
            f"{missing[0]}: not answered ({len(missing)} missing)", field=missing[0]
        )
    scores = scoring.score_answers(inst, answers)
    code = await research_code(s, person_id, organisation_id)
    now = submitted_at or datetime.now(UTC)
    r = QuestionnaireResponse(
        **_response_row(
            slot=slot_key(
                instrument=inst.id,
                timepoint=timepoint,
                person_code=code,
                series_id=series_id,
                session_id=session_id if timepoint is Timepoint.CHECKIN else None,
            ),
            inst=inst,
            timepoint=timepoint,
            code=code,
            person_id=person_id,
            organisation_id=organisation_id,
            series_id=series_id,
            session_id=session_id,
            locale=locale,
            opens_at=None,
            closes_at=None,
            now=now,
        )
    )
    r.started_at = started_at or now
    _finish(r, scores, now)  # before the INSERT: the row is written once, already submitted
    s.add(r)
    try:
        await s.flush()
    except IntegrityError:
        # The slot is taken: this form was submitted (or opened) already.
        raise Conflict(f"{inst.id} {timepoint.value}: already submitted") from None
    add_items(s, r.id, answers, now)
    return r, scores
