"""The 1:1 peer-support conversation (shared/seeds/002): a trained peer and a colleague.

| phase        | minutes (min-max) | may always speak |
|--------------|-------------------|------------------|
| waiting      | untimed           | both             |
| conversation | 60 (45-60)        | both             |
| closed       | untimed           | nobody           |

The trained peer holds the leader role; the colleague is the one member
(``session_minutes`` in the group settings sets the conversation's length).
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
        setting="session_minutes",
        note="open conversation between peer and colleague",
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the conversation has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.PEER_SUPPORT,
    phase_enum=Phase,
    phases=PHASES,
    default_total_min=60,
    uses_presenter=False,
    co_leaders_lead=True,
    description="Peer-support conversation, 1:1",
)
