"""The one-to-one coaching call after a resilience workshop (shared/seeds/004: "a follow up one
hour 1:1 coaching phone-call with a facilitator"), default 60 minutes.

| phase   | minutes (min-max) | may always speak |
|---------|-------------------|------------------|
| waiting | untimed           | both             |
| call    | 60 (30-60)        | both             |
| closed  | untimed           | nobody           |

The facilitator holds the leader role, the participant is the one member. The length is the
study's (``coaching_minutes`` in server/protocols/workshop.py's table); the 30-minute lower
bound is ours. Offered to every workshop participant, who may decline (server/coaching/).
"""

from __future__ import annotations

from enum import StrEnum

from server.domain import ProtocolKind

from .base import EVERYONE, NOBODY, PhaseSpec, ProtocolSpec
from .workshop import n

COACHING_MIN_MINUTES = 30  # product choice


class Phase(StrEnum):
    WAITING = "waiting"
    CALL = "call"
    CLOSED = "closed"


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(
        Phase.CALL,
        n("coaching_minutes"),
        COACHING_MIN_MINUTES,
        n("coaching_minutes"),
        EVERYONE,
        setting="call_minutes",
        note="one-to-one coaching: what the group was not the place for, the learning in practice",
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the call has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.COACHING,
    phase_enum=Phase,
    phases=PHASES,
    default_total_min=n("coaching_minutes"),
    uses_presenter=False,
    co_leaders_lead=True,
    description="Coaching call after a workshop, 1:1",
)
