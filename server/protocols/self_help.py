"""The peer-led self-help group (shared/seeds/000, "healers' healing"): no trained leader.

The study describes self-help groups that members run themselves, counts "running group
meetings" in the individual score (input F, Table 3) and has a report after each meeting. It
gives no group size, length or phase plan: every number of this table is the product's choice,
labelled so (``Basis.PRODUCT``).

The host of a session is chosen per session (by a coordinator once the sessions are booked,
by rotation, or by the group before the meeting: server/pathways/hosts.py). Nobody holds a
leader role: the room grants the host the leading capabilities (``lead``, ``moderate``) for
that session only (server/rooms/capabilities.py), and attendance records the host as the one
who ran it.

| phase    | minutes (min-max)           | may always speak |
|----------|-----------------------------|------------------|
| waiting  | untimed                     | everyone         |
| meeting  | the booked length (30-120)  | everyone         |
| closed   | untimed                     | nobody           |
"""

from __future__ import annotations

from enum import StrEnum

from server.domain import ProtocolKind

from .base import EVERYONE, NOBODY, PhaseSpec
from .spec import ProtocolSpec
from .table import Basis, Bound, Rules


class Phase(StrEnum):
    WAITING = "waiting"
    MEETING = "meeting"
    CLOSED = "closed"


PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(Phase.WAITING, None, None, None, EVERYONE, note="lobby"),
    PhaseSpec(
        Phase.MEETING,
        90,
        30,
        120,
        EVERYONE,
        note="the study gives no length: the meeting takes the booked length; its host keeps time",
        flex=True,
    ),
    PhaseSpec(Phase.CLOSED, None, None, None, NOBODY, note="the meeting has ended"),
)

SPEC = ProtocolSpec(
    kind=ProtocolKind.SELF_HELP,
    phase_enum=Phase,
    phases=PHASES,
    rules=Rules(
        members=Bound(
            3, 12, 12, Basis.PRODUCT, "the study gives no size: at most the platform's 12"
        ),
        sessions=Bound(1, 52, 12, Basis.PRODUCT, "the study gives none: an open-ended group"),
        per_week=Bound(1, 1, 1, Basis.PRODUCT, "the study gives no cadence: at most weekly"),
        length=Bound(30, 120, 90, Basis.PRODUCT, "the study gives no length"),
    ),
    uses_presenter=False,
    co_leaders_lead=True,
    description="Self-help group: peer-led, the host rotates per session",
)
