"""The resilience workshop (shared/seeds/004, "Resilience training for coping with error"):
one interactive group session of about 3.5 hours for 4-12 people, with work-based case
studies, followed by an optional 1-hour one-to-one coaching call and a follow-up 4-6 weeks
later.

Every number of the format is in :data:`TABLE`, each labelled either ``study`` (with the words
of seed 004 it comes from) or ``product`` (our choice where the study is silent). The phase
rows below read their minutes from that table.

| phase       | minutes (min-max) | may always speak | breakouts |
|-------------|-------------------|------------------|-----------|
| waiting     | untimed           | everyone         |           |
| opening     | 30 (15-45)        | everyone         |           |
| case_work_1 | 45 (20-60)        | everyone         | yes       |
| break_1     | 15 (5-20)         | everyone         |           |
| skills      | 45 (20-60)        | everyone         |           |
| case_work_2 | 45 (20-60)        | everyone         | yes       |
| break_2     | 10 (5-20)         | everyone         |           |
| closing     | 20 (10-40)        | everyone         |           |
| closed      | untimed           | nobody           |           |

The study gives the whole (3.5 h = 210 min), the size (4-12) and that it was interactive with
work-based case studies; the phase plan, its lengths and the breaks are ours. Both facilitators
lead with equal rights (the study had two psychologists facilitating). The small-group case
work uses breakout rooms (``server/rooms/breakouts.py``), allowed in the case-work phases only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from server.domain import ProtocolKind

from .base import EVERYONE, NOBODY, PhaseSpec, ProtocolSpec


class Source(StrEnum):
    STUDY = "study"  # seed 004 says so (``note`` quotes it)
    PRODUCT = "product"  # our choice; the study is silent


@dataclass(frozen=True, slots=True)
class Value:
    value: int
    source: Source
    note: str


def _study(value: int, note: str) -> Value:
    return Value(value, Source.STUDY, note)


def _ours(value: int, note: str) -> Value:
    return Value(value, Source.PRODUCT, note)


# The one table of the workshop's numbers (docs/workshop.md shows it; tests/protocols checks it).
TABLE: Mapping[str, Value] = MappingProxyType(
    {
        "total_minutes": _study(210, "004: 'a 3.5 hour interactive, group workshop'"),
        "members_min": _study(4, "004: 'involving 4-12 participants'"),
        "members_max": _study(12, "004: 'involving 4-12 participants'"),
        "sessions_per_series": _study(1, "004: one workshop, then a coaching call"),
        "opening_minutes": _ours(30, "introduction: resilience to failure events"),
        "opening_min": _ours(15, "bounds of the opening"),
        "opening_max": _ours(45, "bounds of the opening"),
        "case_work_minutes": _ours(45, "each of two small-group case-work blocks"),
        "case_work_min": _ours(20, "bounds of a case-work block"),
        "case_work_max": _ours(60, "bounds of a case-work block"),
        "break_1_minutes": _ours(15, "first break"),
        "break_2_minutes": _ours(10, "second break"),
        "break_min": _ours(5, "bounds of a break"),
        "break_max": _ours(20, "bounds of a break"),
        "skills_minutes": _ours(45, "techniques (CBT-based, as in 004) in the whole group"),
        "skills_min": _ours(20, "bounds of the skills block"),
        "skills_max": _ours(60, "bounds of the skills block"),
        "closing_minutes": _ours(20, "plans for practice; the coaching offer"),
        "closing_min": _ours(10, "bounds of the closing"),
        "closing_max": _ours(40, "bounds of the closing"),
        "breakout_group_min": _ours(2, "issue 15: groups of 2-4 (004 gives no size)"),
        "breakout_group_max": _ours(4, "issue 15: groups of 2-4 (004 gives no size)"),
        "breakout_default_minutes": _ours(15, "a timed case exercise"),
        "breakout_min_minutes": _ours(1, "bounds of one exercise"),
        "breakout_max_minutes": _ours(60, "bounds of one exercise"),
        "coaching_minutes": _study(60, "004: 'a follow up one hour 1:1 coaching phone-call'"),
        "coaching_offer_days": _ours(14, "the coaching call is offered within this window"),
        "follow_up_min_weeks": _study(4, "004: 'interviews 4-6 weeks post workshop'"),
        "follow_up_max_weeks": _study(6, "004: 'interviews 4-6 weeks post workshop'"),
    }
)


def n(key: str) -> int:
    return TABLE[key].value


class Phase(StrEnum):
    WAITING = "waiting"
    OPENING = "opening"
    CASE_WORK_1 = "case_work_1"
    BREAK_1 = "break_1"
    SKILLS = "skills"
    CASE_WORK_2 = "case_work_2"
    BREAK_2 = "break_2"
    CLOSING = "closing"
    CLOSED = "closed"


# Phases in which the leader may split the room into breakout groups.
BREAKOUT_PHASES: frozenset[StrEnum] = frozenset({Phase.CASE_WORK_1, Phase.CASE_WORK_2})


def _timed(phase: Phase, key: str, bounds: str, setting: str, note: str) -> PhaseSpec:
    return PhaseSpec(
        phase,
        n(f"{key}_minutes"),
        n(f"{bounds}_min"),
        n(f"{bounds}_max"),
        EVERYONE,
        setting=setting,
        note=note,
    )


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    _timed(Phase.OPENING, "opening", "opening", "opening_minutes", TABLE["opening_minutes"].note),
    _timed(
        Phase.CASE_WORK_1,
        "case_work",
        "case_work",
        "case_work_1_minutes",
        "work-based case studies in small groups (breakouts)",
    ),
    _timed(Phase.BREAK_1, "break_1", "break", "break_1_minutes", "break"),
    _timed(Phase.SKILLS, "skills", "skills", "skills_minutes", TABLE["skills_minutes"].note),
    _timed(
        Phase.CASE_WORK_2,
        "case_work",
        "case_work",
        "case_work_2_minutes",
        "work-based case studies in small groups (breakouts)",
    ),
    _timed(Phase.BREAK_2, "break_2", "break", "break_2_minutes", "break"),
    _timed(Phase.CLOSING, "closing", "closing", "closing_minutes", TABLE["closing_minutes"].note),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the workshop has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.WORKSHOP,
    phase_enum=Phase,
    phases=PHASES,
    default_total_min=n("total_minutes"),
    uses_presenter=False,
    co_leaders_lead=True,
    description="Resilience workshop: opening, case work in breakouts, skills, closing",
)


def breakouts_allowed(spec: ProtocolSpec, phase: StrEnum) -> bool:
    """May the room be split into breakout groups in this phase of this protocol?"""
    return spec.kind is ProtocolKind.WORKSHOP and phase in BREAKOUT_PHASES
