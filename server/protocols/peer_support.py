"""The 1:1 peer-support conversation (shared/seeds/002): a trained peer and a colleague.

| phase        | minutes (min-max) | may always speak |
|--------------|-------------------|------------------|
| waiting      | untimed           | both             |
| conversation | 60 (45-60)*       | both             |
| closed       | untimed           | nobody           |

The trained peer holds the leader role; the colleague is the one member. The conversation
takes the session's booked length (45-60 minutes; the study gives none).
"""

from __future__ import annotations

from enum import StrEnum

from server.domain import ProtocolKind

from .base import (
    EVERYONE,
    NOBODY,
    PhaseSpec,
    ProtocolSpec,
)
from .table import Basis, Bound, Rules


class Phase(StrEnum):
    WAITING = "waiting"
    CONVERSATION = "conversation"
    CLOSED = "closed"


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(
        Phase.CONVERSATION,
        60,
        45,
        60,
        EVERYONE,
        note="the study gives no length: the conversation takes the booked length, 45-60 min",
        flex=True,
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the conversation has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.PEER_SUPPORT,
    phase_enum=Phase,
    phases=PHASES,
    rules=Rules(
        members=Bound(1, 1, 1, Basis.STUDY, "002: one-to-one conversations with a trained peer"),
        sessions=Bound(
            1,
            3,
            3,
            Basis.STUDY,
            "002: three conversations were offered; some preferred to start with one",
        ),
        per_week=Bound(1, 2, 1, Basis.PRODUCT, "the study gives no cadence (two months)"),
        length=Bound(45, 60, 60, Basis.PRODUCT, "the study gives no length"),
    ),
    uses_presenter=False,
    co_leaders_lead=True,
    description="Peer-support conversation, 1:1",
)
