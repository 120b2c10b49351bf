"""Vocabulary shared by every group protocol: capabilities, roles, phase tables, state, commands.

A protocol is a table of phases (:class:`PhaseSpec`) wrapped in a :class:`ProtocolSpec`; the
one engine in :mod:`server.protocols.engine` applies commands to a :class:`ProtocolState` by
reading that table. Nothing here does I/O or reads a clock: time is passed in as integer
milliseconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from server.domain import ProtocolKind

from .table import Basis

MINUTE_MS = 60_000


class Capability(StrEnum):
    """What a participant may do. Roles expand to these (``server.rooms.capabilities``)."""

    SPEAK = "speak"  # audio is forwarded
    SHOW_VIDEO = "show_video"  # video is forwarded
    RAISE_HAND = "raise_hand"
    LEAD = "lead"  # phase commands: advance, back, pause, resume, adjust, end, choose presenter
    MODERATE = "moderate"  # floor commands: call on, set the floor, lower someone's hand
    PRESENT = "present"  # may be chosen as the presenter (a case-bringing member)
    NOTE = "note"  # leaders' private notes
    STAND_IN = "stand_in"  # may take over leading while the leader is away (rooms/continuity.py)


class Role(StrEnum):
    """A person's role within one live session. ``presenter`` is a member chosen for a session."""

    LEADER = "leader"
    CO_LEADER = "co_leader"
    MEMBER = "member"
    PRESENTER = "presenter"


class Floor(StrEnum):
    """How members whose speech is governed by the floor get to speak in a phase."""

    OPEN = "open"  # anyone may speak
    HANDS = "hands"  # only the member the leader has called on


class CommandName(StrEnum):
    """The wire word of every command a person sends. Defined here only: each command class
    below carries its word as ``name``, the rooms' ``Verb`` is this enum, the signaling model of
    ``protocol.command`` accepts :data:`LEADER_COMMANDS`, and the web client's
    ``LeaderCommandName`` union is checked against it (tests/protocols/test_command_names.py).
    """

    ADVANCE = "advance"
    BACK = "back"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    SET_PRESENTER = "set_presenter"
    ACCEPT_HAND = "accept_hand"
    CALL_ON = "call_on"
    ADJUST = "adjust"
    SET_FLOOR = "set_floor"
    RAISE_HAND = "hand.raise"
    LOWER_HAND = "hand.lower"
    HAND_OVER = "hand_over"


class LeadReason(StrEnum):
    """Why a co-leader stands in for the leader (``ProtocolState.stand_in``)."""

    LEADER_LOST = "leader_lost"  # no leader present for longer than the takeover time
    HANDED_OVER = "handed_over"  # a leader handed over explicitly


# Sent with the ``protocol.command`` event (the hands have events of their own), in this order.
LEADER_COMMANDS: tuple[CommandName, ...] = tuple(
    c for c in CommandName if c not in (CommandName.RAISE_HAND, CommandName.LOWER_HAND)
)


LEADERS: frozenset[Role] = frozenset({Role.LEADER, Role.CO_LEADER})
EVERYONE: frozenset[Role] = frozenset(Role)
NOBODY: frozenset[Role] = frozenset()


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One row of a protocol table.

    ``speakers`` always may speak in the phase; ``floor_roles`` may speak when the floor is open
    or when the leader has called on them. Durations are minutes; ``None`` means untimed
    (the waiting room, the closed room). ``setting`` names the group setting (minutes) that
    overrides the default duration, checked against the bounds.
    """

    phase: StrEnum
    default_min: int | None
    min_min: int | None
    max_min: int | None
    speakers: frozenset[Role]
    floor_roles: frozenset[Role] = NOBODY
    default_floor: Floor = Floor.OPEN
    presenter_changeable: bool = False  # the presenter may be chosen (or changed) in this phase
    requires_presenter: bool = False  # the phase cannot be entered without a presenter
    setting: str | None = None
    note: str = ""  # the source: what the study says (``basis`` study) or why (product)
    basis: Basis = Basis.PRODUCT  # where default_min and the bounds come from
    floor_setting: str | None = None  # the group setting (a Floor word) choosing default_floor
    presenter_video_setting: str | None = None  # flag: false cuts the presenter's video here
    only_in: str | None = None  # the phase exists only in this ``format`` of the protocol
    flex: bool = False  # takes up the booked length the other phases leave (one per format)
    ends_unled: bool = False  # with nobody who can lead present, ends at its maximum

    @property
    def timed(self) -> bool:
        return self.default_min is not None


@dataclass(frozen=True, slots=True)
class ProtocolConfig:
    """Per-group choices, checked against the table: planned seconds per timed phase."""

    durations_s: tuple[tuple[str, int], ...]
    auto_advance: bool = False
    floors: tuple[tuple[str, str], ...] = ()  # phase -> Floor word, where a setting chose it
    video_off: tuple[str, ...] = ()  # phases in which the presenter's video is cut
    skipped: tuple[str, ...] = ()  # phases not in this group's format
    format: str = ""

    def duration_ms(self, phase: StrEnum) -> int | None:
        for name, seconds in self.durations_s:
            if name == phase.value:
                return seconds * 1000
        return None

    def floor(self, phase: StrEnum) -> Floor | None:
        for name, floor in self.floors:
            if name == phase.value:
                return Floor(floor)
        return None


@dataclass(frozen=True, slots=True)
class ProtocolState:
    """Everything a protocol knows about a live session. Immutable: ``apply`` returns a new one.

    ``epoch`` changes whenever the phase timing changes, so a timer armed for an older epoch is
    recognised as stale.
    """

    protocol: ProtocolKind
    config: ProtocolConfig
    phase: StrEnum
    epoch: int
    phase_started_at_ms: int
    phase_duration_ms: int | None
    paused_at_ms: int | None = None
    paused_ms: int = 0
    overrun: bool = False
    presenter_id: int | None = None
    floor: Floor = Floor.OPEN
    hands: tuple[int, ...] = ()
    called_on: int | None = None
    ended: bool = False
    stand_in: int | None = None  # a co-leader leading in the leader's place
    lead_reason: LeadReason | None = None  # why, while ``stand_in`` is set
    lead_by: int | None = None  # who handed over (None: the server, after the leader was lost)

    @property
    def paused(self) -> bool:
        return self.paused_at_ms is not None

    def deadline_ms(self) -> int | None:
        """When the current phase is planned to end; ``None`` if untimed or paused."""
        if self.phase_duration_ms is None or self.paused_at_ms is not None or self.ended:
            return None
        return self.phase_started_at_ms + self.phase_duration_ms + self.paused_ms

    def remaining_ms(self, now_ms: int) -> int | None:
        if self.phase_duration_ms is None:
            return None
        until = self.paused_at_ms if self.paused_at_ms is not None else now_ms
        elapsed = until - self.phase_started_at_ms - self.paused_ms
        return max(0, self.phase_duration_ms - elapsed)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who gives a command, with the capabilities the room computed for them right now."""

    person_id: int
    capabilities: frozenset[Capability]


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """Base of commands. ``required`` is the capability the actor must hold (``None``: system)."""

    required: ClassVar[Capability | None] = Capability.LEAD
    name: ClassVar[str] = "command"


@dataclass(frozen=True, slots=True)
class ActorCommand(Command):
    actor: Actor


@dataclass(frozen=True, slots=True)
class Advance(ActorCommand):
    name: ClassVar[str] = CommandName.ADVANCE


@dataclass(frozen=True, slots=True)
class Back(ActorCommand):
    name: ClassVar[str] = CommandName.BACK


@dataclass(frozen=True, slots=True)
class Pause(ActorCommand):
    name: ClassVar[str] = CommandName.PAUSE


@dataclass(frozen=True, slots=True)
class Resume(ActorCommand):
    name: ClassVar[str] = CommandName.RESUME


@dataclass(frozen=True, slots=True)
class End(ActorCommand):
    name: ClassVar[str] = CommandName.END


@dataclass(frozen=True, slots=True)
class Adjust(ActorCommand):
    """Extend (positive) or shorten (negative) the current phase by ``seconds``."""

    seconds: int
    name: ClassVar[str] = CommandName.ADJUST


@dataclass(frozen=True, slots=True)
class SetPresenter(ActorCommand):
    """Choose ``person_id`` (whose role in the room is ``target_role``) as the presenter."""

    person_id: int
    target_role: Role
    name: ClassVar[str] = CommandName.SET_PRESENTER


@dataclass(frozen=True, slots=True)
class AcceptHand(ActorCommand):
    """Accept a volunteer's raised hand (the first in the queue unless ``person_id``)."""

    person_id: int | None = None
    target_role: Role = Role.MEMBER
    name: ClassVar[str] = CommandName.ACCEPT_HAND


@dataclass(frozen=True, slots=True)
class CallOn(ActorCommand):
    """Give the floor to ``person_id`` (or the first raised hand); ``clear`` takes it back."""

    person_id: int | None = None
    clear: bool = False
    required: ClassVar[Capability | None] = Capability.MODERATE
    name: ClassVar[str] = CommandName.CALL_ON


@dataclass(frozen=True, slots=True)
class SetFloor(ActorCommand):
    floor: Floor
    required: ClassVar[Capability | None] = Capability.MODERATE
    name: ClassVar[str] = CommandName.SET_FLOOR


@dataclass(frozen=True, slots=True)
class RaiseHand(ActorCommand):
    required: ClassVar[Capability | None] = Capability.RAISE_HAND
    name: ClassVar[str] = CommandName.RAISE_HAND


@dataclass(frozen=True, slots=True)
class LowerHand(ActorCommand):
    """Lower one's own hand (no capability needed) or, with ``moderate``, someone else's."""

    person_id: int | None = None
    required: ClassVar[Capability | None] = None
    name: ClassVar[str] = CommandName.LOWER_HAND


@dataclass(frozen=True, slots=True)
class HandOver(ActorCommand):
    """Hand leading to ``person_id`` (a co-leader who may stand in), or back (``back``: the
    person is a leader, and the stand-in ends)."""

    person_id: int
    back: bool = False
    eligible: bool = True  # the room found the person may stand in (or, ``back``, leads)
    name: ClassVar[str] = CommandName.HAND_OVER


@dataclass(frozen=True, slots=True)
class StandIn(Command):
    """Posted by the room: the leader has been away too long; ``person_id`` leads meanwhile."""

    person_id: int
    required: ClassVar[Capability | None] = None
    name: ClassVar[str] = "stand_in"


@dataclass(frozen=True, slots=True)
class LeaderBack(Command):
    """Posted by the room: a leader is present again and leads; the stand-in ends."""

    required: ClassVar[Capability | None] = None
    name: ClassVar[str] = "leader_back"


@dataclass(frozen=True, slots=True)
class ReleaseUnled(Command):
    """Posted by the room when nobody who can lead is present: a phase that ``ends_unled``
    ends at its maximum (the presenter's microphone comes back)."""

    epoch: int
    required: ClassVar[Capability | None] = None
    name: ClassVar[str] = "release_unled"


@dataclass(frozen=True, slots=True)
class TimerFired(Command):
    """Posted by the room's timer when a phase's planned end is reached."""

    epoch: int
    required: ClassVar[Capability | None] = None
    name: ClassVar[str] = "timer"


@dataclass(frozen=True, slots=True)
class Forget(Command):
    """A person has left the room for good: drop their hand and their floor."""

    person_id: int
    required: ClassVar[Capability | None] = None
    name: ClassVar[str] = "forget"


# --- effects ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Effect:
    pass


@dataclass(frozen=True, slots=True)
class PhaseChanged(Effect):
    old: StrEnum
    new: StrEnum


@dataclass(frozen=True, slots=True)
class PresenterChanged(Effect):
    old: int | None
    new: int | None


@dataclass(frozen=True, slots=True)
class Overran(Effect):
    phase: StrEnum


@dataclass(frozen=True, slots=True)
class Ended(Effect):
    pass


@dataclass(frozen=True, slots=True)
class LeadChanged(Effect):
    stand_in: int | None
    reason: LeadReason | None


# The table itself (``ProtocolSpec``) lives in ``spec.py``; re-exported here for its readers.
from .spec import ProtocolSpec as ProtocolSpec  # noqa: E402
