"""Vocabulary shared by every group protocol: capabilities, roles, phase tables, state, commands.

A protocol is a table of phases (:class:`PhaseSpec`) wrapped in a :class:`ProtocolSpec`; the
one engine in :mod:`server.protocols.engine` applies commands to a :class:`ProtocolState` by
reading that table. Nothing here does I/O or reads a clock: time is passed in as integer
milliseconds since the Unix epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from server.domain import ProtocolKind
from server.errors import UserError

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
    note: str = ""  # what the source study says, for readers checking the table

    @property
    def timed(self) -> bool:
        return self.default_min is not None


@dataclass(frozen=True, slots=True)
class ProtocolConfig:
    """Per-group choices, checked against the table: planned seconds per timed phase."""

    durations_s: tuple[tuple[str, int], ...]
    auto_advance: bool = False

    def duration_ms(self, phase: StrEnum) -> int | None:
        for name, seconds in self.durations_s:
            if name == phase.value:
                return seconds * 1000
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


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolSpec:
    """A protocol: its phases in order (first is the waiting room, last the closed room)."""

    kind: ProtocolKind
    phase_enum: type[StrEnum]
    phases: tuple[PhaseSpec, ...]
    default_total_min: int
    uses_presenter: bool
    co_leaders_lead: bool  # co-leaders hold the same phase commands as the leader
    description: str = ""
    _by_phase: Mapping[StrEnum, PhaseSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_phase", {p.phase: p for p in self.phases})
        if set(self._by_phase) != set(self.phase_enum):
            raise ValueError(f"{self.kind}: the table must list every phase exactly once")
        for row in self.phases:
            if row.timed:
                assert row.min_min is not None and row.max_min is not None
                assert row.default_min is not None
                if not row.min_min <= row.default_min <= row.max_min:
                    raise ValueError(f"{self.kind}/{row.phase}: default outside its bounds")

    @property
    def waiting(self) -> StrEnum:
        return self.phases[0].phase

    @property
    def closed(self) -> StrEnum:
        return self.phases[-1].phase

    def row(self, phase: StrEnum) -> PhaseSpec:
        return self._by_phase[phase]

    def index(self, phase: StrEnum) -> int:
        return self.phases.index(self._by_phase[phase])

    def next(self, phase: StrEnum) -> StrEnum | None:
        i = self.index(phase)
        return self.phases[i + 1].phase if i + 1 < len(self.phases) else None

    def previous(self, phase: StrEnum) -> StrEnum | None:
        i = self.index(phase)
        return self.phases[i - 1].phase if i > 0 else None

    def parse_phase(self, value: str) -> StrEnum:
        return self.phase_enum(value)

    def config(self, settings: Mapping[str, object] | None = None) -> ProtocolConfig:
        """Build the per-group configuration from group settings, refusing out-of-bounds values.

        Recognised keys: each row's ``setting`` (minutes), ``auto_advance`` (bool).
        """
        settings = settings or {}
        durations: list[tuple[str, int]] = []
        for row in self.phases:
            if not row.timed:
                continue
            assert row.default_min is not None and row.min_min is not None
            assert row.max_min is not None
            minutes: object = row.default_min
            if row.setting is not None and settings.get(row.setting) is not None:
                minutes = settings[row.setting]
            if isinstance(minutes, bool) or not isinstance(minutes, int):
                raise UserError(
                    f"{row.setting} must be a whole number of minutes",
                    field=f"settings.{row.setting}",
                )
            if not row.min_min <= minutes <= row.max_min:
                raise UserError(
                    f"{row.setting or row.phase.value} must be between {row.min_min} and "
                    f"{row.max_min} minutes, not {minutes}",
                    field=f"settings.{row.setting or row.phase.value}",
                )
            durations.append((row.phase.value, minutes * 60))
        auto = settings.get("auto_advance", False)
        if not isinstance(auto, bool):
            raise UserError("auto_advance must be true or false", field="settings.auto_advance")
        return ProtocolConfig(durations_s=tuple(durations), auto_advance=auto)

    def initial(self, config: ProtocolConfig, now_ms: int) -> ProtocolState:
        first = self.phases[0]
        return ProtocolState(
            protocol=self.kind,
            config=config,
            phase=first.phase,
            epoch=0,
            phase_started_at_ms=now_ms,
            phase_duration_ms=config.duration_ms(first.phase),
            floor=first.default_floor,
        )

    def may_speak(self, state: ProtocolState, role: Role, person_id: int) -> bool:
        """The phase rule: may a person with ``role`` speak now? (No other rule cuts a mic.)"""
        if state.ended:
            return False
        row = self.row(state.phase)
        if role in row.speakers:
            return True
        if role in row.floor_roles:
            return state.floor is Floor.OPEN or state.called_on == person_id
        return False
