"""The resilience workshop (shared/seeds/004, "Resilience training for coping with error"):
one interactive group session of about 3.5 hours for 4-12 people, with work-based case
studies, followed by an optional 1-hour one-to-one coaching call and a follow-up 4-6 weeks
later.

| phase       | minutes (min-max) | may always speak | breakouts |
|-------------|-------------------|------------------|-----------|
| waiting     | untimed           | everyone         |           |
| opening     | 30 (15-45)        | everyone         |           |
| case_work_1 | 45 (20-60)        | everyone         | yes       |
| break_1     | 15 (5-20)         | everyone         |           |
| skills      | 45 (20-60)        | everyone         |           |
| case_work_2 | 45 (20-60)        | everyone         | yes       |
| break_2     | 10 (5-20)         | everyone         |           |
| closing     | 20 (10-40)*       | everyone         |           |
| closed      | untimed           | nobody           |           |

* takes what the booked length leaves. The study gives the whole (3.5 h = 210 min), the size
(4-12) and that it was interactive with work-based case studies; the phase plan, its lengths
and the breaks are the product's. Both facilitators lead with equal rights (the study had two
psychologists facilitating). The small-group case work uses breakout rooms
(``server/rooms/breakouts.py``), allowed in the case-work phases only; their numbers, and the
coaching call's and follow-up's, are in :data:`TABLE` beside the protocol's ``Rules``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from server.domain import ProtocolKind

from .base import EVERYONE, NOBODY, PhaseSpec
from .spec import ProtocolSpec
from .table import Basis, Bound, Rules

# The workshop's numbers that are not the room's phases or the series rules.
TABLE: Mapping[str, Bound] = MappingProxyType(
    {
        "breakout_group": Bound(
            2, 4, 3, Basis.PRODUCT, "issue 15: groups of 2-4 (004 gives no size); 3 by default"
        ),
        "breakout_minutes": Bound(1, 60, 15, Basis.PRODUCT, "one timed case exercise"),
        "coaching_offer_days": Bound(
            14, 14, 14, Basis.PRODUCT, "the coaching call is booked within 14 days of the workshop"
        ),
        "follow_up_weeks": Bound(
            4, 6, 4, Basis.STUDY, "004: 'interviews 4-6 weeks post workshop' (opens at 4)"
        ),
    }
)


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

_CASES = "004: work-based case studies; the product's plan: in small groups (breakouts)"
_BREAK = "the product's plan: a break (004 gives no plan)"

PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(
        Phase.OPENING,
        30,
        15,
        45,
        EVERYONE,
        setting="opening_minutes",
        note="the product's plan: resilience to failure events, introduced (004 gives no plan)",
    ),
    PhaseSpec(Phase.CASE_WORK_1, 45, 20, 60, EVERYONE, setting="case_work_1_minutes", note=_CASES),
    PhaseSpec(Phase.BREAK_1, 15, 5, 20, EVERYONE, setting="break_1_minutes", note=_BREAK),
    PhaseSpec(
        Phase.SKILLS,
        45,
        20,
        60,
        EVERYONE,
        setting="skills_minutes",
        note="the product's plan: CBT-based techniques (as in 004) practised in the whole group",
    ),
    PhaseSpec(Phase.CASE_WORK_2, 45, 20, 60, EVERYONE, setting="case_work_2_minutes", note=_CASES),
    PhaseSpec(Phase.BREAK_2, 10, 5, 20, EVERYONE, setting="break_2_minutes", note=_BREAK),
    PhaseSpec(
        Phase.CLOSING,
        20,
        10,
        40,
        EVERYONE,
        note="the product's plan: learning into practice, the coaching offer; takes the rest",
        flex=True,
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the workshop has ended"),
)

RULES = Rules(
    members=Bound(4, 12, 12, Basis.STUDY, "004: 'involving 4-12 participants'"),
    sessions=Bound(1, 1, 1, Basis.STUDY, "004: one workshop, then a coaching call"),
    per_week=Bound(1, 1, 1, Basis.PRODUCT, "one session: no cadence"),
    length=Bound(
        200,
        230,
        210,
        Basis.STUDY,
        "004: 'a 3.5 hour interactive, group workshop' (200-230: the product's range)",
    ),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.WORKSHOP,
    phase_enum=Phase,
    phases=PHASES,
    rules=RULES,
    uses_presenter=False,
    co_leaders_lead=True,
    description="Resilience workshop: opening, case work in breakouts, skills, closing",
)


def breakouts_allowed(spec: ProtocolSpec, phase: StrEnum) -> bool:
    """May the room be split into breakout groups in this phase of this protocol?"""
    return spec.kind is ProtocolKind.WORKSHOP and phase in BREAKOUT_PHASES
