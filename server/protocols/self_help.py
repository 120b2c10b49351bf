"""The peer-led self-help group (shared/seeds/000, "healers' healing"): no trained leader.

The study describes self-help groups that members run themselves, with a member who runs each
meeting ("running group meetings", input F of the individual score, Table 3) and a meeting
report after it. It gives no group size, length or phase plan: every number in :data:`TABLE`
is the product's choice, labelled so (``source``).

The host of a session is chosen per session (by a coordinator once the sessions are booked,
by rotation, or by the group before the meeting: server/pathways/hosts.py). Nobody holds a leader role: the room grants the host the
leading capabilities (``lead``, ``moderate``) for that session only
(server/rooms/capabilities.py), and attendance records the host as the one who ran it.

| phase    | minutes (min-max) | may always speak |
|----------|-------------------|------------------|
| waiting  | untimed           | everyone         |
| meeting  | 90 (30-120)       | everyone         |
| closed   | untimed           | nobody           |
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from server.domain import ProtocolKind

from .base import EVERYONE, NOBODY, PhaseSpec, ProtocolSpec

# One table of every number of this protocol (to be merged into the per-protocol tables);
# SOURCES says where each comes from: "000" where the study says it, "product" where it is ours.
TABLE: Final[Mapping[str, int]] = MappingProxyType(
    {
        "members_min": 3,
        "members_max": 12,
        "sessions_min": 1,
        "sessions_max": 52,
        "per_week_max": 1,
        "session_minutes": 90,
        "session_minutes_min": 30,
        "session_minutes_max": 120,
        "report_covered_max_chars": 1000,
    }
)
SOURCES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "members_min": "product",
        "members_max": "product (the upper bound of the platform's groups, 8-12)",
        "sessions_min": "product",
        "sessions_max": "product",
        "per_week_max": "product",
        "session_minutes": "product",
        "session_minutes_min": "product",
        "session_minutes_max": "product",
        "report_covered_max_chars": "product",
        "host_rotates": "000 (members run the meetings; individual score input F)",
        "meeting_report": "000 (a report after each meeting)",
    }
)


class Phase(StrEnum):
    WAITING = "waiting"
    MEETING = "meeting"
    CLOSED = "closed"


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(
        Phase.MEETING,
        TABLE["session_minutes"],
        TABLE["session_minutes_min"],
        TABLE["session_minutes_max"],
        EVERYONE,
        setting="session_minutes",
        note="a peer-led meeting; the host of the session keeps time (product's choice)",
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the meeting has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.SELF_HELP,
    phase_enum=Phase,
    phases=PHASES,
    default_total_min=TABLE["session_minutes"],
    uses_presenter=False,
    co_leaders_lead=True,
    description="Self-help group: peer-led, the host rotates per session",
)
