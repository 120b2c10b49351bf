"""Dynamic (supportive psychodynamic) group therapy (shared/seeds/003), default 90 minutes.

Two psychiatrists as co-therapists with equal rights (``co_leaders_lead``), weekly sessions.

| phase         | minutes (min-max) | may always speak | by the floor | floor |
|---------------|-------------------|------------------|--------------|-------|
| waiting       | untimed           | everyone         |              |       |
| check_in      | 15 (5-25)         | leaders          | members      | hands |
| open_floor    | 60 (30-75)        | everyone         |              |       |
| closing_round | 15 (5-25)         | leaders          | members      | hands |
| closed        | untimed           | nobody           |              |       |

The opening check-in and the closing round are rounds: the therapists call on each member in
turn (or open the floor). The open floor is free conversation, as in the study.
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


class Phase(StrEnum):
    WAITING = "waiting"
    CHECK_IN = "check_in"
    OPEN_FLOOR = "open_floor"
    CLOSING_ROUND = "closing_round"
    CLOSED = "closed"


_MEMBERS = frozenset({Role.MEMBER})

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
        note="opening round: each member in turn",
    ),
    PhaseSpec(
        Phase.OPEN_FLOOR,
        60,
        30,
        75,
        EVERYONE,
        setting="open_floor_minutes",
        note="the therapists facilitate and invite feelings into words",
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
        note="closing round: each member in turn",
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the session has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.DYNAMIC,
    phase_enum=Phase,
    phases=PHASES,
    default_total_min=90,
    uses_presenter=False,
    co_leaders_lead=True,
    description="Dynamic group therapy: check-in, open floor, closing round; two co-therapists",
)
