"""What a member sees of a form: a summary for lists and the full form to answer, with item
text in the member's language where the instrument file carries an authorised translation and
in the instrument's own language otherwise (the page around it is in the member's language)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Group, Series
from server.questionnaires.form_models import FormAssignment
from server.questionnaires.form_schemas import (
    ChoiceOut,
    FormOut,
    FormSummaryOut,
    InstrumentFormOut,
    ItemOut,
)
from server.questionnaires.forms import answers_of, form_state, responses_of
from server.questionnaires.instrument import Instrument, ItemType, LangText
from server.questionnaires.models import QuestionnaireResponse
from server.questionnaires.registry import Registry


def pick_text(text: LangText | None, lang: str, inst: Instrument) -> tuple[str, str] | None:
    """``lang`` if the file has it, else the instrument's first language, else any."""
    if not text:
        return None
    if lang in text:
        return text[lang], lang
    for first in [*inst.languages, "en", *text]:
        if first in text:
            return text[first], first
    return None


def instrument_form(
    inst: Instrument, lang: str, answers: dict[str, int | str]
) -> InstrumentFormOut:
    title = pick_text(inst.title, lang, inst) or (inst.id, "en")
    instructions = pick_text(inst.instructions, lang, inst)
    items: list[ItemOut] = []
    for item in inst.items:
        text, item_lang = inst.item_text(item, lang)
        choices: list[ChoiceOut] = []
        if item.type is ItemType.SCALE:
            for c in inst.scale_of(item).choices:
                label = pick_text(c.label, item_lang, inst) or (str(c.value), item_lang)
                choices.append(ChoiceOut(value=c.value, label=label[0], lang=label[1]))
        items.append(
            ItemOut(
                id=item.id,
                text=text,
                lang=item_lang,
                type="scale" if item.type is ItemType.SCALE else "text",
                required=item.required,
                choices=choices,
            )
        )
    return InstrumentFormOut(
        id=inst.id,
        version=inst.version,
        title=title[0],
        title_lang=title[1],
        instructions=instructions[0] if instructions else None,
        instructions_lang=instructions[1] if instructions else None,
        items=items,
        answers=answers,
    )


def _counts(
    responses: list[QuestionnaireResponse],
    answers: dict[str, dict[str, int | str]],
    registry: Registry,
) -> tuple[int, int]:
    answered = required = 0
    for r in responses:
        inst = registry.get(r.instrument)
        for item in inst.items:
            if item.required:
                required += 1
                answered += item.id in answers[r.instrument]
    return answered, required


async def _summary(
    s: AsyncSession,
    a: FormAssignment,
    registry: Registry,
    now: datetime,
    responses: list[QuestionnaireResponse],
    answers: dict[str, dict[str, int | str]],
) -> FormSummaryOut:
    series = await s.get(Series, a.series_id)
    group = await s.get(Group, a.group_id)
    answered, required = _counts(responses, answers, registry)
    opens = min((r.opens_at for r in responses if r.opens_at), default=None)
    closes = min((r.closes_at for r in responses if r.closes_at), default=None)
    return FormSummaryOut(
        id=a.id,
        series_id=a.series_id,
        series_title=series.title if series else "",
        group_name=group.name if group else "",
        timepoint=a.timepoint,
        state=form_state(responses, now),
        opens_at=opens,
        closes_at=closes,
        instruments=[r.instrument for r in responses],
        answered=answered,
        required=required,
    )


async def summary_out(
    s: AsyncSession, a: FormAssignment, registry: Registry, now: datetime
) -> FormSummaryOut:
    responses = await responses_of(s, a, registry)
    return await _summary(s, a, registry, now, responses, await answers_of(s, responses))


async def form_out(
    s: AsyncSession, a: FormAssignment, registry: Registry, lang: str, now: datetime
) -> FormOut:
    responses = await responses_of(s, a, registry)
    answers = await answers_of(s, responses)
    summary = await _summary(s, a, registry, now, responses, answers)
    parts = [
        instrument_form(registry.get(r.instrument), lang, answers[r.instrument]) for r in responses
    ]
    return FormOut(**summary.model_dump(), parts=parts)
