"""The two published formulas as pure functions: normalised inputs in, a total, a level and a
term-by-term breakdown out. A missing input is reported as missing, never read as zero.

Individual = 4A + 5B + 5C + 4D + 5E + 4F + 5G + 3H + 5I (seed 000, Table 3)
Group      = X + 5A + 5B + 3C + 4D + 5E + 5F            (seed 000, Table 4)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.settings import GROUP_LETTERS, INDIVIDUAL_LETTERS, ScoreConfig


class Kind(StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"


class Source(StrEnum):
    MEASURED = "measured"  # by this system (attendance, sessions led, questionnaires)
    BY_HAND = "entered by hand"  # by a coordinator, audited
    GROUP_SCORE = "the group's score"  # individual E


INDIVIDUAL_TERMS = {
    "A": "member's satisfaction",
    "B": "presence in group meetings",
    "C": "passed steps",
    "D": "specialised courses passed",
    "E": "group score",
    "F": "running group meetings",
    "G": "scientific articles",
    "H": "wall posts",
    "I": "change in health status",
}
GROUP_TERMS = {
    "X": "years of group work experience",
    "A": "members' satisfaction",
    "B": "order (regularity) of meetings",
    "C": "intergroup activities",
    "D": "group wall posts",
    "E": "average change in members' health",
    "F": "holding promotional programs",
}


@dataclass(frozen=True, slots=True)
class Input:
    """One term's input: ``value`` normalised to 0-1 (None: missing), the raw figure it came
    from, its source, and a line saying how it was measured or why it is missing."""

    value: float | None
    raw: float | None
    source: Source
    detail: str


def count_value(count: float, full: float) -> float:
    """A count normalised: ``full`` or more earns the whole term."""
    return max(0.0, min(count / full, 1.0))


def scale_value(mean: float, low: float, high: float) -> float:
    """A mean on a [low, high] answer scale, as 0-1."""
    return max(0.0, min((mean - low) / (high - low), 1.0))


def change_value(improvement: float, width: float, full_share: float) -> float:
    """An improvement (in the instrument's better direction) of ``full_share`` of its range
    ``width`` or more earns the whole term; no change or worse earns nothing."""
    return max(0.0, min(improvement / (width * full_share), 1.0))


def compute(
    kind: Kind, inputs: Mapping[str, Input], config: ScoreConfig, period: Mapping[str, Any]
) -> dict[str, Any]:
    letters: tuple[str, ...]
    if kind is Kind.INDIVIDUAL:
        letters, names, weights = INDIVIDUAL_LETTERS, INDIVIDUAL_TERMS, config.individual_weights
        levels = config.individual_levels
    else:
        letters, names, weights = GROUP_LETTERS, GROUP_TERMS, config.group_weights
        levels = config.group_levels
    terms: list[dict[str, Any]] = []
    total = 0.0
    missing: list[str] = []
    for letter in letters:
        inp = inputs.get(letter) or Input(None, None, Source.BY_HAND, "not entered")
        weight = float(weights[letter])
        points = None if inp.value is None else round(weight * inp.value, 4)
        if points is None:
            missing.append(letter)
        else:
            total += points
        terms.append(
            {
                "term": letter,
                "name": names[letter],
                "weight": weight,
                "value": None if inp.value is None else round(inp.value, 4),
                "raw": inp.raw,
                "points": points,
                "source": inp.source.value,
                "detail": inp.detail,
                "missing": points is None,
            }
        )
    total = round(total, 4)
    return {
        "kind": kind.value,
        "formula": " + ".join(
            f"{'' if weights[x] == 1 else f'{weights[x]:g}'}{x}" for x in letters
        ),
        "period": dict(period),
        "total": total,
        "max_total": float(sum(weights.values())),
        "level": level_of(total, levels),
        "complete": not missing,
        "missing": missing,
        "terms": terms,
    }


def level_of(total: float, levels: Mapping[str, float]) -> str:
    reached = next(iter(levels))
    for name, threshold in levels.items():
        if total >= threshold:
            reached = name
    return reached
