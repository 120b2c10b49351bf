"""The scores' questionnaire inputs, read from the questionnaire side's responses
(``questionnaire_responses``, server/questionnaires) when that side is installed.

It reads the table by name (submitted responses of a series: the check-in's ``satisfaction``
subscale; pre and post totals of the series' outcome instrument) and each instrument's range
and direction from the instrument registry. Where the table or the registry is not there, every
answer is ``None`` and the scores say the questionnaire side is not available.
"""

from __future__ import annotations

import importlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from statistics import fmean
from typing import Any

from sqlalchemy import JSON, column, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Group, Series
from server.scores.inputs import Change, Satisfaction

log = logging.getLogger(__name__)

CHECKIN = "checkin"
NOT_OUTCOMES = frozenset({"checkin", "evaluation"})
CHECKIN_SCALE = (1.0, 5.0)  # the shipped check-in's answer scale, if the registry is silent

RESPONSES = table(
    "questionnaire_responses",
    column("person_id"),
    column("series_id"),
    column("instrument"),
    column("timepoint"),
    column("status"),
    column("scores", JSON),
)

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


def _registry() -> Any | None:
    try:
        module = importlib.import_module("server.questionnaires.registry")
        return module.load_registry()
    except Exception:  # not installed here, or its files do not load: inputs are missing
        log.debug("questionnaire registry not available", exc_info=True)
        return None


def _info(registry: Any) -> dict[str, tuple[float, float, bool]]:
    out: dict[str, tuple[float, float, bool]] = {}
    for iid in registry.ids():
        inst = registry.get(iid)
        if inst.total is not None:
            low, high = inst.total.range
            out[iid] = (float(low), float(high), str(inst.direction) == "better")
    return out


def _checkin_scale(registry: Any) -> tuple[float, float]:
    try:
        inst = registry.get(CHECKIN)
        for sub in inst.subscales:
            if sub.id == "satisfaction":
                return float(sub.range[0]), float(sub.range[1])
    except Exception:
        log.debug("no check-in instrument", exc_info=True)
    return CHECKIN_SCALE


class SqlQuestionnaires:
    """The :class:`server.scores.inputs.Questionnaires` port over the responses table."""

    def __init__(self) -> None:
        self._registry: Any | None = None
        self._present: bool | None = None

    async def _there(self, s: AsyncSession) -> bool:
        # Asked once per process: tables come with migrations, which run before the server.
        if self._present is None:
            conn = await s.connection()
            self._present = await conn.run_sync(
                lambda c: inspect(c).has_table("questionnaire_responses")
            )
            if self._present:
                self._registry = _registry()
        return bool(self._present) and self._registry is not None

    async def _rows(self, s: AsyncSession, series_id: int, *timepoints: str) -> list[Row]:
        result = await s.execute(
            select(
                RESPONSES.c.person_id,
                RESPONSES.c.instrument,
                RESPONSES.c.timepoint,
                RESPONSES.c.scores,
            ).where(
                RESPONSES.c.series_id == series_id,
                RESPONSES.c.status == "submitted",
                RESPONSES.c.timepoint.in_(timepoints),
                RESPONSES.c.person_id.is_not(None),
            )
        )
        return [(int(p), str(i), str(t), sc) for p, i, t, sc in result.all()]

    async def satisfaction(
        self, s: AsyncSession, series_id: int
    ) -> Mapping[int, Satisfaction] | None:
        if not await self._there(s):
            return None
        rows = [r for r in await self._rows(s, series_id, "checkin") if r[1] == CHECKIN]
        return satisfaction_from(rows, *_checkin_scale(self._registry))

    async def change(self, s: AsyncSession, series_id: int) -> Mapping[int, Change] | None:
        if not await self._there(s):
            return None
        rows = await self._rows(s, series_id, "pre", "post")
        settings = await s.scalar(
            select(Group.settings)
            .join(Series, Series.group_id == Group.id)
            .where(Series.id == series_id)
        )
        chosen = (settings or {}).get("outcome_instrument")
        return change_from(rows, _info(self._registry), chosen if isinstance(chosen, str) else None)
