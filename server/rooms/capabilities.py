"""The one table from roles to capabilities, and how a protocol's phase grants and revokes them.

| role      | speak | show_video | raise_hand | lead | moderate | present | note | stand_in |
|-----------|-------|------------|------------|------|----------|---------|------|----------|
| leader    | x     | x          |            | x    | x        |         | x    |          |
| co_leader | x     | x          |            | (1)  | x        |         | x    | x        |
| member    | x     | x          | x          |      |          | x       |      |          |
| presenter | x     | x          | x          |      |          | x       |      |          |

(1) granted by protocols whose co-leaders have equal rights (dynamic therapy, peer support),
and to the one co-leader standing in for the leader (``stand_in``: server/rooms/continuity.py).

The host of a peer-led session (self-help groups, ``server.db.hosts``) is a member who holds
``lead`` and ``moderate`` for that session only: a capability grant, not a role.
The phase then revokes ``speak`` from whoever its table does not let speak now (the presenter
in sit-back, members during the presentation or before they are called on), and everything but
``show_video`` once the session has ended; a group may also cut the presenter's video in
sit-back (``sitback_presenter_video: false``). The media layer enforces ``speak`` and
``show_video`` by not forwarding.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from server.domain import GroupRole
from server.protocols.base import Capability, ProtocolSpec, ProtocolState, Role

C = Capability

ROLE_CAPABILITIES: Mapping[Role, frozenset[Capability]] = MappingProxyType(
    {
        Role.LEADER: frozenset({C.SPEAK, C.SHOW_VIDEO, C.LEAD, C.MODERATE, C.NOTE}),
        Role.CO_LEADER: frozenset({C.SPEAK, C.SHOW_VIDEO, C.MODERATE, C.NOTE, C.STAND_IN}),
        Role.MEMBER: frozenset({C.SPEAK, C.SHOW_VIDEO, C.RAISE_HAND, C.PRESENT}),
        Role.PRESENTER: frozenset({C.SPEAK, C.SHOW_VIDEO, C.RAISE_HAND, C.PRESENT}),
    }
)

_GROUP_TO_ROLE: Mapping[GroupRole, Role] = MappingProxyType(
    {
        GroupRole.LEADER: Role.LEADER,
        GroupRole.CO_LEADER: Role.CO_LEADER,
        GroupRole.MEMBER: Role.MEMBER,
    }
)


def session_role(state: ProtocolState, person_id: int, group_role: GroupRole) -> Role:
    """The role a person holds in this session: a member chosen to present is the presenter."""
    if group_role is GroupRole.MEMBER and state.presenter_id == person_id:
        return Role.PRESENTER
    return _GROUP_TO_ROLE[group_role]


HOST_CAPABILITIES: frozenset[Capability] = frozenset({C.LEAD, C.MODERATE})


def effective(
    spec: ProtocolSpec,
    state: ProtocolState,
    person_id: int,
    group_role: GroupRole,
    *,
    hosting: bool = False,
) -> frozenset[Capability]:
    """What ``person_id`` may do right now: the role's row (plus the host's grant for this
    session), then the protocol's grants/revokes."""
    role = session_role(state, person_id, group_role)
    caps = set(ROLE_CAPABILITIES[role])
    if hosting:
        caps |= HOST_CAPABILITIES
    if role is Role.CO_LEADER and (spec.co_leaders_lead or state.stand_in == person_id):
        caps.add(C.LEAD)
    if not spec.may_speak(state, role, person_id):
        caps.discard(C.SPEAK)
    if not spec.may_show_video(state, role):
        caps.discard(C.SHOW_VIDEO)
    if state.ended:
        caps &= {C.SHOW_VIDEO}
    return frozenset(caps)
