"""Scoring: pure functions from an instrument and a person's answers to the total, the
subscales and their bands.

- A reversed item counts as ``low + high - value`` on its own scale (CBI's leisure item: 100 - v).
- ``sum`` adds the (reversed where marked) item values, ``mean`` averages them, ``sum_times``
  multiplies the sum by the score's factor (WHO-5: raw 0-25 x 4 = 0-100).
- Every item of a score must be answered: no prorating, no imputation. A form is submitted only
  when it is complete, so a missing item is an error that names the item.
- A band holds the scores from its ``from`` up to the next band's ``from`` (exclusive).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.errors import UserError
from server.questionnaires.instrument import Instrument, Item, ItemType, Method, Score


class AnswerError(UserError):
    """An answer outside the item's scale, to an unknown item, or a missing required answer
    (``invalid``; ``details.fields`` names the item)."""


@dataclass(frozen=True)
class Scores:
    """One response's scores. ``total`` is None for an instrument without one (CBI)."""

    total: float | None
    subscales: dict[str, float] = field(default_factory=dict)
    bands: dict[str, str] = field(default_factory=dict)  # score name -> band label (en)

    def get(self, name: str) -> float | None:
        return self.total if name == "total" else self.subscales.get(name)

    def to_json(self) -> dict[str, Any]:
        """The shape stored in ``QuestionnaireResponse.scores``."""
        return {"total": self.total, "subscales": dict(self.subscales), "bands": dict(self.bands)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scores:
        return cls(
            total=data.get("total"),
            subscales=dict(data.get("subscales") or {}),
            bands=dict(data.get("bands") or {}),
        )


def check_answer(inst: Instrument, item_id: str, value: int | str) -> Item:
    """Validate one answer against the instrument; the error names the item."""
    item = inst.item(item_id)
    if item is None:
        raise AnswerError(f"{item_id}: no such item in {inst.id}", field=item_id)
    if item.type is ItemType.TEXT:
        if not isinstance(value, str) or len(value) > 2000:
            raise AnswerError(f"{item_id}: expected text of at most 2000 characters", field=item_id)
        return item
    scale = inst.scale_of(item)
    if isinstance(value, bool) or not isinstance(value, int) or value not in scale.values:
        allowed = ", ".join(str(v) for v in sorted(scale.values))
        raise AnswerError(f"{item_id}: {value!r} is not one of {allowed}", field=item_id)
    return item


def item_score(inst: Instrument, item: Item, value: int) -> int:
    """The value an item contributes to its scores (reversed where the file says so)."""
    if not item.reverse:
        return value
    scale = inst.scale_of(item)
    return scale.low + scale.high - value


def score_value(inst: Instrument, score: Score, answers: Mapping[str, int]) -> float:
    items = inst.score_items(score)
    missing = [i.id for i in items if i.id not in answers]
    if missing:
        raise AnswerError(f"{missing[0]}: not answered ({len(missing)} missing)", field=missing[0])
    values = [item_score(inst, i, answers[i.id]) for i in items]
    total = float(sum(values))
    if score.method is Method.MEAN:
        return total / len(values)
    if score.method is Method.SUM_TIMES:
        return total * score.factor
    return total


def band_of(score: Score, value: float) -> str | None:
    if score.bands is None:
        return None
    label: str | None = None
    for band in score.bands.cuts:
        if value >= band.from_:
            label = band.label.get("en") or next(iter(band.label.values()))
    return label


def score_answers(inst: Instrument, answers: Mapping[str, int | str]) -> Scores:
    """Validate every answer and compute all scores of a complete response."""
    numeric: dict[str, int] = {}
    for item_id, value in answers.items():
        item = check_answer(inst, item_id, value)
        if item.type is ItemType.SCALE:
            assert isinstance(value, int)
            numeric[item_id] = value
    total: float | None = None
    subscales: dict[str, float] = {}
    bands: dict[str, str] = {}
    for name, score in inst.scores():
        result = score_value(inst, score, numeric)
        if name == "total":
            total = result
        else:
            subscales[name] = result
        label = band_of(score, result)
        if label is not None:
            bands[name] = label
    return Scores(total=total, subscales=subscales, bands=bands)


def total_only(inst: Instrument, total: float) -> Scores:
    """Scores for an imported response that has only a total (no items): range-checked."""
    if inst.total is None:
        raise AnswerError(f"total: {inst.id} has no total score", field="total")
    lo, hi = inst.total.range
    if not lo <= total <= hi:
        raise AnswerError(f"total: {total:g} is outside {lo:g}..{hi:g}", field="total")
    label = band_of(inst.total, total)
    return Scores(total=total, bands={"total": label} if label else {})


def missing_required(inst: Instrument, answers: Mapping[str, object]) -> list[str]:
    """Required items not yet answered (a form can be submitted only when this is empty)."""
    return [i.id for i in inst.items if i.required and i.id not in answers]


def safety_triggered(inst: Instrument, answers: Mapping[str, int | str]) -> bool:
    """True when the instrument's safety rule fires (e.g. PHQ-9 item 9 above 0)."""
    rule = inst.safety
    if rule is None:
        return False
    value = answers.get(rule.item)
    return isinstance(value, int) and value > rule.above
