"""The one-to-one coaching call after a resilience workshop (shared/seeds/004: "a follow up one
hour 1:1 coaching phone-call with a facilitator"), default 60 minutes.

| phase   | minutes (min-max) | may always speak |
|---------|-------------------|------------------|
| waiting | untimed           | both             |
| call    | 60 (30-60)*       | both             |
| closed  | untimed           | nobody           |

* takes the booked length. The facilitator holds the leader role, the participant is the one
member. Offered to every workshop participant, who may decline (server/coaching/).
"""

from __future__ import annotations

from enum import StrEnum

from server.domain import ProtocolKind

from .base import EVERYONE, NOBODY, PhaseSpec
from .spec import ProtocolSpec
from .table import Basis, Bound, Rules

_HOUR = "004: 'a follow up one hour 1:1 coaching phone-call' (30 minutes at least: the product's)"


class Phase(StrEnum):
    WAITING = "waiting"
    CALL = "call"
    CLOSED = "closed"


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(Phase.CALL, 60, 30, 60, EVERYONE, note=_HOUR, basis=Basis.STUDY, flex=True),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the call has ended"),
)

RULES = Rules(
    members=Bound(1, 1, 1, Basis.STUDY, "004: one-to-one, a facilitator and a participant"),
    sessions=Bound(1, 1, 1, Basis.STUDY, "004: one coaching call after the workshop"),
    per_week=Bound(1, 1, 1, Basis.PRODUCT, "one session: no cadence"),
    length=Bound(30, 60, 60, Basis.STUDY, _HOUR),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.COACHING,
    phase_enum=Phase,
    phases=PHASES,
    rules=RULES,
    uses_presenter=False,
    co_leaders_lead=True,
    description="Coaching call after a workshop, 1:1",
)
