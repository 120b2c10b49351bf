"""A protocol's whole table (:class:`ProtocolSpec`): its phase rows, its :class:`Rules`, and the
per-group configuration built from the group's settings and the session's booked length."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from server.domain import ProtocolKind

from .base import Floor, PhaseSpec, ProtocolConfig, ProtocolState, Role
from .table import Basis, Rules, Setting, SettingKind, Value, check_settings

# Settings every protocol accepts (the room's, not a study's).
COMMON_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "auto_advance",
        SettingKind.FLAG,
        False,
        Basis.PRODUCT,
        "a phase whose time is up waits for the leader (overrun) unless the group chose this",
    ),
    Setting(
        "takeover_seconds",
        SettingKind.SECONDS,
        30,
        Basis.PRODUCT,
        "how long the leader's connection may be lost before a co-leader present takes over",
        low=5,
        high=600,
    ),
)


@dataclass(frozen=True, slots=True)
class Plan:
    """The planned minutes of each timed phase for one booked length."""

    minutes: tuple[tuple[StrEnum, int], ...]
    flex: PhaseSpec
    wanted: int  # the flex phase's minutes before it was held to its bounds
    length: int

    @property
    def fits(self) -> bool:
        assert self.flex.min_min is not None and self.flex.max_min is not None
        return self.flex.min_min <= self.wanted <= self.flex.max_min

    def problem(self) -> str | None:
        """Why the phase plan does not fit the booked length, or None."""
        if self.fits:
            return None
        total = sum(m for _, m in self.minutes)
        return (
            f"the phase plan does not fit {self.length} minutes: {self.flex.phase.value} would "
            f"last {self.wanted} (it may last {self.flex.min_min}-{self.flex.max_min}), so the "
            f"phases add up to {total} minutes"
        )


@dataclass(frozen=True)
class ProtocolSpec:
    """A protocol: its phases in order (first is the waiting room, last the closed room)."""

    kind: ProtocolKind
    phase_enum: type[StrEnum]
    phases: tuple[PhaseSpec, ...]
    rules: Rules
    uses_presenter: bool
    co_leaders_lead: bool  # co-leaders hold the same phase commands as the leader
    description: str = ""
    _by_phase: Mapping[StrEnum, PhaseSpec] = field(init=False, repr=False, compare=False)
    _settings: Mapping[str, Setting] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_phase", {p.phase: p for p in self.phases})
        if set(self._by_phase) != set(self.phase_enum):
            raise ValueError(f"{self.kind}: the table must list every phase exactly once")
        settings: dict[str, Setting] = {s.name: s for s in COMMON_SETTINGS}
        for row in self.phases:
            if row.timed:
                assert row.min_min is not None and row.max_min is not None
                assert row.default_min is not None
                if not row.min_min <= row.default_min <= row.max_min:
                    raise ValueError(f"{self.kind}/{row.phase}: default outside its bounds")
            if row.setting is not None:
                assert row.default_min is not None and not row.flex
                settings[row.setting] = Setting(
                    row.setting,
                    SettingKind.MINUTES,
                    row.default_min,
                    row.basis,
                    row.note,
                    low=row.min_min,
                    high=row.max_min,
                )
        for s in self.rules.settings:
            settings[s.name] = s
        object.__setattr__(self, "_settings", settings)
        for fmt in self.formats:
            flex = [r for r in self.active_rows(fmt) if r.flex]
            if len(flex) != 1:
                raise ValueError(f"{self.kind}/{fmt or 'default'}: one flex phase, not {flex}")
        default_plan = self.plan({}, None)
        if not default_plan.fits or default_plan.wanted != default_plan.flex.default_min:
            raise ValueError(f"{self.kind}: the default phases do not add up to its length")

    # --- the table ---------------------------------------------------------------------------

    @property
    def settings(self) -> Mapping[str, Setting]:
        """Every group setting this protocol accepts, by name."""
        return self._settings

    @property
    def default_total_min(self) -> int:
        return self.rules.length.default

    @property
    def formats(self) -> tuple[str, ...]:
        """The protocol's formats (the ``format`` setting's choices), or ("",) if it has one."""
        fmt = self._settings.get("format")
        return fmt.choices if fmt is not None else ("",)

    def active_rows(self, fmt: str) -> list[PhaseSpec]:
        return [r for r in self.phases if r.only_in is None or r.only_in == fmt]

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

    def next(self, phase: StrEnum, skipped: tuple[str, ...] = ()) -> StrEnum | None:
        for row in self.phases[self.index(phase) + 1 :]:
            if row.phase.value not in skipped:
                return row.phase
        return None

    def previous(self, phase: StrEnum, skipped: tuple[str, ...] = ()) -> StrEnum | None:
        for row in reversed(self.phases[: self.index(phase)]):
            if row.phase.value not in skipped:
                return row.phase
        return None

    def parse_phase(self, value: str) -> StrEnum:
        return self.phase_enum(value)

    # --- one group's configuration -------------------------------------------------------------

    def check_settings(self, values: Mapping[str, object]) -> dict[str, Value]:
        """The REST edge's check: every key a setting of this protocol, every value in range."""
        return check_settings(self._settings, values, self.kind.value)

    def setting(self, values: Mapping[str, Value], name: str) -> Value:
        return values.get(name, self._settings[name].default)

    def plan(self, values: Mapping[str, Value], length_min: int | None) -> Plan:
        """Each timed phase's minutes for a session booked for ``length_min`` (default: the
        protocol's length): the flex phase takes up what the others leave, held to its bounds."""
        fmt = str(self.setting(values, "format")) if "format" in self._settings else ""
        length = self.rules.length.default if length_min is None else length_min
        fixed: list[tuple[StrEnum, int]] = []
        flex: PhaseSpec | None = None
        for row in self.active_rows(fmt):
            if not row.timed:
                continue
            if row.flex:
                flex = row
                continue
            minutes = self.setting(values, row.setting) if row.setting else row.default_min
            assert isinstance(minutes, int)
            fixed.append((row.phase, minutes))
        assert flex is not None and flex.min_min is not None and flex.max_min is not None
        wanted = length - sum(m for _, m in fixed)
        held = min(max(wanted, flex.min_min), flex.max_min)
        order = {r.phase: i for i, r in enumerate(self.phases)}
        planned = sorted([*fixed, (flex.phase, held)], key=lambda pm: order[pm[0]])
        return Plan(tuple(planned), flex, wanted, length)

    def config(
        self, settings: Mapping[str, object] | None = None, length_min: int | None = None
    ) -> ProtocolConfig:
        """The configuration of a group's session booked for ``length_min`` minutes.

        ``settings`` are the stored group settings, checked when they were set (the REST edge,
        :meth:`check_settings`); keys this version no longer knows are ignored here, a value out
        of range raises UserError naming it.
        """
        stored = settings or {}
        values = self.check_settings({k: v for k, v in stored.items() if k in self._settings})
        fmt = str(self.setting(values, "format")) if "format" in self._settings else ""
        active = {r.phase for r in self.active_rows(fmt)}
        plan = self.plan(values, length_min)
        floors = tuple(
            (r.phase.value, str(self.setting(values, r.floor_setting)))
            for r in self.phases
            if r.floor_setting is not None
        )
        video_off = tuple(
            r.phase.value
            for r in self.phases
            if r.presenter_video_setting is not None
            and self.setting(values, r.presenter_video_setting) is False
        )
        auto = self.setting(values, "auto_advance")
        return ProtocolConfig(
            durations_s=tuple((p.value, m * 60) for p, m in plan.minutes),
            auto_advance=bool(auto),
            floors=floors,
            video_off=video_off,
            skipped=tuple(r.phase.value for r in self.phases if r.phase not in active),
            format=fmt,
        )

    def initial(self, config: ProtocolConfig, now_ms: int) -> ProtocolState:
        first = self.phases[0]
        return ProtocolState(
            protocol=self.kind,
            config=config,
            phase=first.phase,
            epoch=0,
            phase_started_at_ms=now_ms,
            phase_duration_ms=config.duration_ms(first.phase),
            floor=config.floor(first.phase) or first.default_floor,
        )

    # --- what the phase allows -------------------------------------------------------------------

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

    def may_show_video(self, state: ProtocolState, role: Role) -> bool:
        """The phase rule for video: only a presenter's, in a phase the group chose to cut it."""
        return not (role is Role.PRESENTER and state.phase.value in state.config.video_off)
