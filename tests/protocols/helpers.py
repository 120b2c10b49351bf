"""Small builders shared by the protocol tests."""

from __future__ import annotations

from server.domain import GroupRole
from server.protocols.base import Actor, ProtocolSpec, ProtocolState
from server.rooms.capabilities import effective

T0 = 1_700_000_000_000
MIN = 60_000

LEADER, CO_LEADER = 1, 2
MEMBERS = tuple(range(10, 22))  # 12 members
ROLES: dict[int, GroupRole] = {
    LEADER: GroupRole.LEADER,
    CO_LEADER: GroupRole.CO_LEADER,
    **{m: GroupRole.MEMBER for m in MEMBERS},
}


def actor(spec: ProtocolSpec, state: ProtocolState, person_id: int) -> Actor:
    """The actor as a room would build it: capabilities from the one table, now."""
    return Actor(person_id, effective(spec, state, person_id, ROLES[person_id]))
