"""The scores' questionnaire inputs, read from the questionnaire side's submitted responses
(server/questionnaires): each person's mean check-in ``satisfaction`` subscale, and pre and
post totals of the series' outcome instrument, with each instrument's range and direction from
the instrument registry the app loaded. Without a registry (an app built without the
questionnaire plug-in) every answer is ``None`` and the scores say so.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Group, Series
from server.errors import NotFound
from server.questionnaires.instrument import Direction
from server.questionnaires.models import QuestionnaireResponse, ResponseStatus, Timepoint
from server.questionnaires.registry import Registry
from server.scores.inputs import Change, Satisfaction

log = logging.getLogger(__name__)

CHECKIN = "checkin"
NOT_OUTCOMES = frozenset({"checkin", "evaluation"})
CHECKIN_SCALE = (1.0, 5.0)  # the shipped check-in's answer scale, if the registry is silent

Row = tuple[int, str, str, Any]  # person, instrument, timepoint, scores


def satisfaction_from(rows: Iterable[Row], low: float, high: float) -> dict[int, Satisfaction]:
    """Each person's mean check-in satisfaction over their submitted check-ins."""
    values: dict[int, list[float]] = defaultdict(list)
    for person, _instrument, _timepoint, scores in rows:
        v = ((scores or {}).get("subscales") or {}).get("satisfaction")
        if isinstance(v, int | float):
            values[person].append(float(v))
    return {p: Satisfaction(fmean(v), len(v), low, high) for p, v in values.items() if v}


def change_from(
    rows: Iterable[Row], info: Mapping[str, tuple[float, float, bool]], chosen: str | None
) -> dict[int, Change]:
    """Post minus pre on the series' outcome instrument (``chosen``: the group's setting
    ``outcome_instrument``; else the one most members answered both times, ties: the first by
    name), signed so that better is positive."""
    totals: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for person, instrument, timepoint, scores in rows:
        total = (scores or {}).get("total")
        if (
            instrument in NOT_OUTCOMES
            or instrument not in info
            or not isinstance(total, int | float)
        ):
            continue
        totals[(instrument, person)][timepoint] = float(total)
    pairs: dict[str, dict[int, float]] = defaultdict(dict)
    for (instrument, person), t in totals.items():
        if "pre" in t and "post" in t:
            pairs[instrument][person] = t["post"] - t["pre"]
    if not pairs:
        return {}
    pick = chosen if chosen in pairs else min(pairs, key=lambda i: (-len(pairs[i]), i))
    low, high, better = info[pick]
    sign = 1.0 if better else -1.0
    return {p: Change(sign * d, high - low, pick) for p, d in pairs[pick].items()}


def _info(registry: Registry) -> dict[str, tuple[float, float, bool]]:
    out: dict[str, tuple[float, float, bool]] = {}
    for iid in registry.ids():
        inst = registry.get(iid)
        if inst.total is not None:
            low, high = inst.total.range
            out[iid] = (float(low), float(high), inst.direction is Direction.HIGHER_IS_BETTER)
    return out


def _checkin_scale(registry: Registry) -> tuple[float, float]:
    try:
        inst = registry.get(CHECKIN)
    except NotFound:
        return CHECKIN_SCALE
    for sub in inst.subscales:
        if sub.id == "satisfaction":
            return float(sub.range[0]), float(sub.range[1])
    return CHECKIN_SCALE


class SqlQuestionnaires:
    """The :class:`server.scores.inputs.Questionnaires` port over the responses table.
    ``registry`` gives the app's instrument registry (None when the app has none)."""

    def __init__(self, registry: Callable[[], Registry | None]) -> None:
        self._registry = registry

    async def _rows(self, s: AsyncSession, series_id: int, *timepoints: Timepoint) -> list[Row]:
        R = QuestionnaireResponse
        result = await s.execute(
            select(R.person_id, R.instrument, R.timepoint, R.scores).where(
                R.series_id == series_id,
                R.status == ResponseStatus.SUBMITTED,
                R.timepoint.in_(timepoints),
                R.person_id.is_not(None),
            )
        )
        return [(int(p), str(i), str(t.value), sc) for p, i, t, sc in result.all()]

    async def satisfaction(
        self, s: AsyncSession, series_id: int
    ) -> Mapping[int, Satisfaction] | None:
        registry = self._registry()
        if registry is None:
            return None
        rows = [r for r in await self._rows(s, series_id, Timepoint.CHECKIN) if r[1] == CHECKIN]
        return satisfaction_from(rows, *_checkin_scale(registry))

    async def change(self, s: AsyncSession, series_id: int) -> Mapping[int, Change] | None:
        registry = self._registry()
        if registry is None:
            return None
        rows = await self._rows(s, series_id, Timepoint.PRE, Timepoint.POST)
        settings = await s.scalar(
            select(Group.settings)
            .join(Series, Series.group_id == Group.id)
            .where(Series.id == series_id)
        )
        chosen = (settings or {}).get("outcome_instrument")
        return change_from(rows, _info(registry), chosen if isinstance(chosen, str) else None)
