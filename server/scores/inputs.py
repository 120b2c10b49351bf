"""The scores' inputs for one series, read from what the system measures and from what a
coordinator entered by hand. Every input carries its source and how it was measured, or why it
is missing.

Measured: attendance (individual B; group B with regularity), sessions led (individual F),
the post-session check-in's satisfaction (A) and the change on the series' questionnaire
(individual I; group E the members' mean) through :class:`Questionnaires`; the group's score
is individual E.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attendance import report
from server.attendance.models import ScoreEntry
from server.scores.formula import (
    Input,
    Kind,
    Source,
    change_value,
    compute,
    count_value,
    scale_value,
)
from server.settings import ScoreConfig

M = Source.MEASURED
HAND_TERMS = {Kind.INDIVIDUAL: ("C", "D", "G", "H"), Kind.GROUP: ("X", "C", "D", "F")}
SUBJECT = {Kind.INDIVIDUAL: "person", Kind.GROUP: "group"}


@dataclass(frozen=True, slots=True)
class Satisfaction:
    mean: float  # the person's mean check-in satisfaction answer in the period
    answers: int
    low: float  # the answer scale
    high: float


@dataclass(frozen=True, slots=True)
class Change:
    improvement: float  # post - pre, signed so that positive is better
    width: float  # the instrument's total range
    instrument: str


class Questionnaires(Protocol):
    """What the scores read from the questionnaire side. ``None``: that side is not there."""

    async def satisfaction(
        self, s: AsyncSession, series_id: int
    ) -> Mapping[int, Satisfaction] | None: ...

    async def change(self, s: AsyncSession, series_id: int) -> Mapping[int, Change] | None: ...


class NoQuestionnaires:
    """Used where the questionnaire side is not installed: its inputs read as missing."""

    async def satisfaction(
        self, s: AsyncSession, series_id: int
    ) -> Mapping[int, Satisfaction] | None:
        return None

    async def change(self, s: AsyncSession, series_id: int) -> Mapping[int, Change] | None:
        return None


NOT_THERE = "missing: the questionnaire side is not available"


async def _hand_entries(
    s: AsyncSession, kind: Kind, subject_ids: list[int], start: date, end: date
) -> dict[tuple[int, str], ScoreEntry]:
    """The newest entry per subject and term whose period overlaps ``start``-``end``."""
    rows = await s.scalars(
        select(ScoreEntry)
        .where(
            ScoreEntry.subject == SUBJECT[kind],
            ScoreEntry.subject_id.in_(subject_ids),
            ScoreEntry.period_start <= end,
            ScoreEntry.period_end >= start,
        )
        .order_by(ScoreEntry.entered_at, ScoreEntry.id)
    )
    return {(e.subject_id, e.term): e for e in rows}


def _hand(
    kind: Kind, entries: Mapping[tuple[int, str], ScoreEntry], sid: int, full: Mapping[str, float]
) -> dict[str, Input]:
    out: dict[str, Input] = {}
    for letter in HAND_TERMS[kind]:
        e = entries.get((sid, letter))
        if e is None:
            out[letter] = Input(None, None, Source.BY_HAND, "missing: not entered for this period")
            continue
        top = full.get(letter, 1.0)
        out[letter] = Input(
            count_value(e.value, top),
            e.value,
            Source.BY_HAND,
            f"{e.value:g} (whole term at {top:g}), for {e.period_start} to {e.period_end}",
        )
    return out


def _satisfaction_input(one: Satisfaction | None, there: bool) -> Input:
    if not there:
        return Input(None, None, M, NOT_THERE)
    if one is None:
        return Input(None, None, M, "missing: no check-in answered in this period")
    return Input(
        scale_value(one.mean, one.low, one.high),
        round(one.mean, 4),
        M,
        f"check-in satisfaction, mean {one.mean:.2f} of {one.low:g}-{one.high:g} "
        f"over {one.answers} answers",
    )


def _change_input(one: Change | None, there: bool, share: float) -> Input:
    if not there:
        return Input(None, None, M, NOT_THERE)
    if one is None:
        return Input(None, None, M, "missing: no pre and post answers on the series' instrument")
    return Input(
        change_value(one.improvement, one.width, share),
        round(one.improvement, 4),
        M,
        f"{one.instrument}: improved by {one.improvement:g} on a range of {one.width:g}",
    )


async def series_scores(
    s: AsyncSession,
    series_id: int,
    config: ScoreConfig,
    questionnaires: Questionnaires,
    now: datetime,
) -> dict[str, Any]:
    """The group's score and every member's individual score for one series."""
    data = await report.load(s, series_id)
    built = report.build(data, now)
    held = [x for x in data.sessions if x.status in report.HELD]
    start = (
        (held[0] if held else data.sessions[0]).starts_at.date() if data.sessions else now.date()
    )
    end = held[-1].starts_at.date() if held else start
    period = {"series_id": series_id, "from": start.isoformat(), "to": end.isoformat()}
    sat = await questionnaires.satisfaction(s, series_id)
    chg = await questionnaires.change(s, series_id)
    people = [m["person_id"] for m in built["members"]]
    members = [m for m in built["members"] if m["role"] == "member"]

    group_in = _hand(
        Kind.GROUP,
        await _hand_entries(s, Kind.GROUP, [data.series.group_id], start, end),
        data.series.group_id,
        config.group_full,
    )
    sats = [sat[m["person_id"]] for m in members if sat and m["person_id"] in sat]
    if sat is None or not sats:
        group_in["A"] = _satisfaction_input(None, sat is not None)
    else:
        mean = fmean(x.mean for x in sats)
        group_in["A"] = Input(
            scale_value(mean, sats[0].low, sats[0].high),
            round(mean, 4),
            M,
            f"members' mean check-in satisfaction {mean:.2f} ({len(sats)} members)",
        )
    regularity = built["regularity"]
    reg = regularity["held_as_booked"] / regularity["due"] if regularity["due"] else None
    rates = [m["attended"] / m["expected"] for m in members if m["expected"]]
    if reg is None or not rates:
        group_in["B"] = Input(None, None, M, "missing: no session of the series held yet")
    else:
        att = fmean(rates)
        share = config.group_regularity_share
        group_in["B"] = Input(
            share * reg + (1 - share) * att,
            round(reg, 4),
            M,
            f"regularity {reg:.2f} x {share:g} + members' attendance {att:.2f} x {1 - share:g}",
        )
    changes = [
        _change_input(chg.get(m["person_id"]), True, config.change_full_share).value
        for m in members
        if chg and m["person_id"] in chg
    ]
    if chg is None or not changes:
        group_in["E"] = _change_input(None, chg is not None, config.change_full_share)
    else:
        mean_change = fmean(v for v in changes if v is not None)
        group_in["E"] = Input(
            mean_change, round(mean_change, 4), M, f"mean of {len(changes)} members' change (I)"
        )
    group = compute(Kind.GROUP, group_in, config, period)

    hand = await _hand_entries(s, Kind.INDIVIDUAL, people, start, end)
    individuals: list[dict[str, Any]] = []
    for m in built["members"]:
        pid = m["person_id"]
        inp = _hand(Kind.INDIVIDUAL, hand, pid, config.individual_full)
        inp["A"] = _satisfaction_input(sat.get(pid) if sat else None, sat is not None)
        if not m["expected"]:
            inp["B"] = Input(None, None, M, "missing: no held session expected them yet")
        else:
            inp["B"] = Input(
                m["attended"] / m["expected"],
                m["attendance_rate"],
                M,
                f"attended {m['attended']} of {m['expected']} held sessions (excused not counted)",
            )
        inp["E"] = Input(
            group["total"] / group["max_total"],
            group["total"],
            Source.GROUP_SCORE,
            f"the group's score {group['total']:g} of {group['max_total']:g}",
        )
        led = sum(1 for x in held if (rec := data.records.get((x.id, pid))) is not None and rec.led)
        full_f = config.individual_full.get("F", 8)
        inp["F"] = Input(
            count_value(led, full_f), led, M, f"led {led} sessions (whole term at {full_f:g})"
        )
        inp["I"] = _change_input(
            chg.get(pid) if chg else None, chg is not None, config.change_full_share
        )
        score = compute(Kind.INDIVIDUAL, inp, config, period)
        score.update(person_id=pid, display_name=m["display_name"], role=m["role"])
        individuals.append(score)
    return {
        "series_id": series_id,
        "group_id": data.series.group_id,
        "group": group,
        "members": individuals,
    }
