"""Dynamic (supportive psychodynamic) group therapy (shared/seeds/003), default 90 minutes.

Two psychiatrists as co-therapists with equal rights (``co_leaders_lead``), weekly sessions.

| phase         | minutes (min-max) | may always speak | by the floor | floor |
|---------------|-------------------|------------------|--------------|-------|
| waiting       | untimed           | everyone         |              |       |
| check_in*     | 15 (5-25)         | leaders          | members      | hands |
| open_floor    | 90 (45-120)†      | everyone         |              |       |
| closing_round*| 15 (5-25)         | leaders          | members      | hands |
| closed        | untimed           | nobody           |              |       |

The study's format (``format: free``, the default) is the therapists' free discussion: the
open floor takes the whole booked session. * Only in the product's variant ``format: rounds``:
an opening check-in and a closing round, in which the therapists call on each member in turn
(or open the floor). † Takes what the other phases leave of the booked length.
"""

from __future__ import annotations

from enum import StrEnum

from server.domain import ProtocolKind

from .base import (
    EVERYONE,
    LEADERS,
    NOBODY,
    Floor,
    PhaseSpec,
    ProtocolSpec,
    Role,
)
from .table import Basis, Bound, Rules, Setting, SettingKind


class Phase(StrEnum):
    WAITING = "waiting"
    CHECK_IN = "check_in"
    OPEN_FLOOR = "open_floor"
    CLOSING_ROUND = "closing_round"
    CLOSED = "closed"


_MEMBERS = frozenset({Role.MEMBER})
FREE = "free"  # the study's format: the therapists' free discussion
ROUNDS = "rounds"  # the product's variant: a check-in and a closing round around it

PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(
        Phase.CHECK_IN,
        15,
        5,
        25,
        LEADERS,
        _MEMBERS,
        Floor.HANDS,
        setting="check_in_minutes",
        note="the product's variant (format 'rounds'): an opening round, each member in turn",
        only_in=ROUNDS,
    ),
    PhaseSpec(
        Phase.OPEN_FLOOR,
        90,
        45,
        120,
        EVERYONE,
        note="003: the therapists lead the discussion, facilitate interactions and invite "
        "members to put feelings into words; it takes the booked 1.5 hours (less any rounds)",
        basis=Basis.STUDY,
        flex=True,
    ),
    PhaseSpec(
        Phase.CLOSING_ROUND,
        15,
        5,
        25,
        LEADERS,
        _MEMBERS,
        Floor.HANDS,
        setting="closing_minutes",
        note="the product's variant (format 'rounds'): a closing round, each member in turn",
        only_in=ROUNDS,
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the session has ended"),
)

RULES = Rules(
    members=Bound(
        6, 13, 13, Basis.STUDY, "003: thirteen members took part (at least 6: product choice)"
    ),
    sessions=Bound(
        1, 18, 16, Basis.STUDY, "003: weekly over four months (up to 18 sessions; 16 planned)"
    ),
    per_week=Bound(1, 1, 1, Basis.STUDY, "003: virtual meetings were held once per week"),
    length=Bound(60, 120, 90, Basis.STUDY, "003: each meeting 1.5 hours"),
    settings=(
        Setting(
            "format",
            SettingKind.CHOICE,
            FREE,
            Basis.STUDY,
            "003: the therapists' free discussion ('free'); 'rounds' adds a check-in and a "
            "closing round, the product's variant",
            choices=(FREE, ROUNDS),
        ),
    ),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.DYNAMIC,
    phase_enum=Phase,
    phases=PHASES,
    rules=RULES,
    uses_presenter=False,
    co_leaders_lead=True,
    description="Dynamic group therapy: the therapists' free discussion; two co-therapists",
)
