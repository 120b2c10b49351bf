"""Shared vocabulary: enums used by the database, the protocols, the rooms and the wire."""

from __future__ import annotations

from enum import StrEnum


class ProtocolKind(StrEnum):
    BALINT = "balint"
    DYNAMIC = "dynamic"  # dynamic (supportive psychodynamic) group therapy
    PEER_SUPPORT = "peer_support"  # 1:1 peer-support conversation
    WORKSHOP = "workshop"  # resilience workshop with breakouts (server/protocols/workshop.py)
    COACHING = "coaching"  # the 1:1 coaching call offered after a workshop
    SELF_HELP = "self_help"  # peer-led self-help group, the host rotates per session (000)


class OrgRole(StrEnum):
    """Roles held in an organisation (not in a group)."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"  # the scheduler: forms groups, books series
    RESEARCHER = "researcher"  # reads pseudonymous outcomes and research exports, nothing else


# Organisation roles that may schedule: form groups, book series, see the roster's contacts.
STAFF_ROLES: frozenset[OrgRole] = frozenset({OrgRole.COORDINATOR, OrgRole.ADMIN})

# Organisation roles that may read pseudonymous outcome reports and research exports (every read
# audited). A researcher holds no staff capability: no names, e-mails or contact details.
RESEARCH_ROLES: frozenset[OrgRole] = frozenset(
    {OrgRole.RESEARCHER, OrgRole.COORDINATOR, OrgRole.ADMIN}
)


class GroupRole(StrEnum):
    """Roles held in a group. ``presenter`` is not stored: a room grants it for a session."""

    LEADER = "leader"
    CO_LEADER = "co_leader"
    MEMBER = "member"


class MembershipStatus(StrEnum):
    ACTIVE = "active"
    WAITING = "waiting"  # on the waiting list of a full group
    WITHDRAWN = "withdrawn"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"  # lobby open
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class AttendanceKind(StrEnum):
    JOIN = "join"
    LEAVE = "leave"
    DISCONNECT = "disconnect"
    RECONNECT = "reconnect"


class AuditOutcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


# Group sizes, series rules, session lengths and phases per protocol: the protocol's table
# (server/protocols, docs/protocols.md), the one source.


class RemovalReason(StrEnum):
    """Why a person is taken out of a group's live rooms (``room.removed``, code ``removed``)."""

    WITHDRAWN = "withdrawn"
    DEACTIVATED = "deactivated"
    ROLE_CHANGED = "role_changed"
