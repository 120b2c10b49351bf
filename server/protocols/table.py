"""The numbers of a protocol's table besides its phases: group size, series, session length, and
the group settings the protocol accepts, each with its provenance.

A protocol's table is one :class:`~server.protocols.base.ProtocolSpec` (its phase rows plus one
:class:`Rules`). Group creation, series booking and the room all read it; nothing else holds a
protocol number. Every number says where it comes from: ``Basis.STUDY`` with the seed and what
it says, or ``Basis.PRODUCT`` with why the product chose it. docs/protocols.md repeats every
number and tests/protocols/test_protocol_tables.py checks the two against each other.

Adding a protocol kind: a module with its ``Phase`` enum, its phase rows and its ``Rules``, a
line in ``registry.PROTOCOLS``, and a section in docs/protocols.md (docs/protocols.md,
"Adding a protocol").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from server.errors import UserError


class Basis(StrEnum):
    """Where a number comes from."""

    STUDY = "study"  # the source study says so (``source`` quotes it)
    PRODUCT = "product"  # the study is silent: the product's choice (``source`` says why)


@dataclass(frozen=True, slots=True)
class Bound:
    """A whole number with its allowed range and default, and where they come from."""

    low: int
    high: int
    default: int
    basis: Basis
    source: str

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ValueError(f"default {self.default} outside {self.low}-{self.high}")

    def allows(self, value: int) -> bool:
        return self.low <= value <= self.high

    @property
    def span(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


class SettingKind(StrEnum):
    MINUTES = "minutes"  # a whole number of minutes within low-high
    SECONDS = "seconds"  # a whole number of seconds within low-high
    FLAG = "flag"  # true or false
    CHOICE = "choice"  # one of ``choices``


Value = int | bool | str


@dataclass(frozen=True, slots=True)
class Setting:
    """One group setting a protocol accepts (``groups.settings.<name>`` in the REST API)."""

    name: str
    kind: SettingKind
    default: Value
    basis: Basis
    source: str
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.check(self.default)

    @property
    def allowed(self) -> str:
        """The allowed values, as an error message and the docs say them."""
        match self.kind:
            case SettingKind.MINUTES | SettingKind.SECONDS:
                return f"{self.low}-{self.high} {self.kind.value}"
            case SettingKind.FLAG:
                return "true or false"
            case SettingKind.CHOICE:
                return "one of " + ", ".join(repr(c) for c in self.choices)
        raise AssertionError(self.kind)  # pragma: no cover

    def check(self, value: object) -> Value:
        """``value`` if this setting allows it, else a UserError naming the field and range."""
        field = f"settings.{self.name}"
        ok: bool
        match self.kind:
            case SettingKind.MINUTES | SettingKind.SECONDS:
                assert self.low is not None and self.high is not None
                ok = (
                    isinstance(value, int)
                    and not isinstance(value, bool)
                    and self.low <= value <= self.high
                )
            case SettingKind.FLAG:
                ok = isinstance(value, bool)
            case SettingKind.CHOICE:
                ok = isinstance(value, str) and value in self.choices
        if not ok:
            raise UserError(
                f"{field} must be {self.allowed}, not {value!r}",
                field=field,
                allowed=self.allowed,
            )
        assert isinstance(value, int | str)
        return value


@dataclass(frozen=True, slots=True)
class Rules:
    """Group size, series and session length of one protocol, and its non-phase settings.

    ``per_week``: a booking above ``high`` is refused; below ``low`` the preview warns (or
    refuses, if the group's ``cadence`` setting says ``refuse``). ``length``: the booked
    session length in minutes; the protocol's ``flex`` phase takes up what the other phases
    leave (within its bounds), so the default plan adds up to ``length.default``.
    """

    members: Bound  # members per group (leaders not counted); default = capacity
    sessions: Bound  # sessions per series
    per_week: Bound  # meetings per week
    length: Bound  # minutes per session
    settings: tuple[Setting, ...] = ()


def check_settings(
    known: Mapping[str, Setting], values: Mapping[str, object], kind: str
) -> dict[str, Value]:
    """Every key known and every value allowed, or the first problem as a UserError."""
    out: dict[str, Value] = {}
    for key, value in values.items():
        if value is None:
            continue
        setting = known.get(key)
        if setting is None:
            names = ", ".join(sorted(known))
            raise UserError(
                f"settings.{key} is not a setting of a {kind} group (its settings: {names})",
                field=f"settings.{key}",
                allowed=names,
            )
        out[key] = setting.check(value)
    return out
