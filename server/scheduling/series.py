"""Pure series generation: a weekly pattern in a group's IANA timezone -> UTC occurrences.

Each occurrence is computed from its *local* wall-clock time (date + time in the series'
timezone) and converted to UTC on its own, so 19:00 stays 19:00 across daylight-saving changes.
No I/O here; ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from server.domain import ProtocolKind
from server.errors import UserError, validation_fields
from server.protocols.registry import spec_for
from server.protocols.table import Rules

MAX_SESSIONS = 52
MAX_EXCLUSIONS = 100
FIRST_YEAR, LAST_YEAR = 2000, 2200  # dates outside are typos (and would overflow arithmetic)


def check_year(v: date) -> date:
    if not FIRST_YEAR <= v.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return v


class Weekday(StrEnum):
    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"

    @property
    def number(self) -> int:
        """Monday is 0, as in ``date.weekday()``."""
        return list(Weekday).index(self)


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or a UserError naming it."""
    try:
        if not name or name != name.strip() or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(
            f"unknown timezone {name!r}: use an IANA name such as Europe/Amsterdam",
            code="unknown_timezone",
            field="timezone",
        ) from exc


class SeriesSpec(BaseModel):
    """A series as a coordinator books it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    sessions: int = Field(ge=1, le=MAX_SESSIONS)
    weekdays: list[Weekday] = Field(max_length=7)
    local_time: time
    start_date: date
    duration_minutes: int = Field(ge=15, le=8 * 60)
    timezone: str = Field(min_length=1, max_length=64)
    lobby_minutes: int | None = Field(None, ge=0, le=240)
    exclude_dates: list[date] = Field(
        default_factory=list,
        max_length=MAX_EXCLUSIONS,
        description="local dates the series skips; each skipped session moves to the end",
    )

    @field_validator("exclude_dates")
    @classmethod
    def _exclusions(cls, v: list[date]) -> list[date]:
        for d in v:
            check_year(d)
        return sorted(set(v))

    @field_validator("weekdays")
    @classmethod
    def _unique_days(cls, v: list[Weekday]) -> list[Weekday]:
        if not v:
            raise ValueError("choose at least one weekday (MO, TU, WE, TH, FR, SA, SU)")
        if len(set(v)) != len(v):
            raise ValueError("weekdays must not repeat")
        return sorted(v, key=lambda d: d.number)

    @field_validator("start_date")
    @classmethod
    def _year(cls, v: date) -> date:
        return check_year(v)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            load_zone(v)
        except UserError as exc:
            raise ValueError(exc.message) from None
        return v

    @field_validator("local_time")
    @classmethod
    def _minute(cls, v: time) -> time:
        if v.tzinfo is not None:
            raise ValueError("give the local time without an offset; the timezone says where")
        return v.replace(second=0, microsecond=0)


def parse_spec(data: Any) -> SeriesSpec:
    """Validate raw input into a SeriesSpec; every problem is named by its field."""
    try:
        return SeriesSpec.model_validate(data)
    except ValidationError as exc:
        fields = validation_fields(exc)
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise UserError(f"invalid series: {summary}", fields=fields) from None


@dataclass(frozen=True, slots=True)
class Occurrence:
    index: int  # 1-based
    local_start: datetime  # aware, in the series' zone
    starts_at: datetime  # aware UTC
    duration_minutes: int

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``day at`` in ``zone``.

    A time skipped by a daylight-saving jump is refused; an ambiguous one (the repeated hour)
    takes its first occurrence.
    """
    local = datetime.combine(day, at, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise UserError(
            f"{day.isoformat()} {at.strftime('%H:%M')} does not exist in {zone.key} "
            "(the clocks jump over it); choose another time",
            code="nonexistent_local_time",
            field="local_time",
        )
    return utc


@dataclass(frozen=True, slots=True)
class Skipped:
    """A pattern day the series does not meet on: excluded by the coordinator, or a holiday of
    the organisation (``name`` says which)."""

    day: date
    reason: str  # "excluded" | "holiday"
    name: str = ""

    def to_wire(self) -> dict[str, str]:
        return {"date": self.day.isoformat(), "reason": self.reason, "name": self.name}


def generate(spec: SeriesSpec, holidays: dict[date, str] | None = None) -> list[Occurrence]:
    """The sessions of ``spec``: the first ``spec.sessions`` pattern days from start_date on,
    skipping its excluded dates and the organisation's ``holidays`` (so a skipped session
    moves to the end of the series)."""
    return plan_days(spec, holidays)[0]


def plan_days(
    spec: SeriesSpec, holidays: dict[date, str] | None = None
) -> tuple[list[Occurrence], list[Skipped]]:
    """:func:`generate` with the pattern days it skipped."""
    zone = load_zone(spec.timezone)
    days = {d.number for d in spec.weekdays}
    excluded = set(spec.exclude_dates)
    closed = holidays or {}
    out: list[Occurrence] = []
    skipped: list[Skipped] = []
    day = spec.start_date
    while len(out) < spec.sessions:
        if day.weekday() in days:
            if day in excluded:
                skipped.append(Skipped(day, "excluded"))
            elif day in closed:
                skipped.append(Skipped(day, "holiday", closed[day]))
            else:
                utc = local_to_utc(day, spec.local_time, zone)
                out.append(
                    Occurrence(len(out) + 1, utc.astimezone(zone), utc, spec.duration_minutes)
                )
        day += timedelta(days=1)
    return out, skipped


# ---------------------------------------------------------------------------------------------
# Protocol rules (the protocol's table, server/protocols) and the preview checks that need no
# database.


def rules_for(protocol: ProtocolKind) -> Rules:
    return spec_for(protocol).rules


class ProblemKind(StrEnum):
    REFUSE = "refuse"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    code: str
    message: str
    session_index: int | None = None
    field: str = "body"  # the request field to change to clear it

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind.value,
            "code": self.code,
            "message": self.message,
            "field": self.field,
        }
        if self.session_index is not None:
            body["session_index"] = self.session_index
        return body


def fields_of(problems: list[Problem]) -> dict[str, str]:
    """``details.fields`` for a refusal: each problem's field, the first message for it."""
    out: dict[str, str] = {}
    for p in problems:
        out.setdefault(p.field, p.message)
    return out


def check_rules(
    spec: SeriesSpec,
    occurrences: list[Occurrence],
    *,
    protocol: ProtocolKind,
    members: int,
    min_members: int,
    capacity: int,
    now: datetime,
    settings: Mapping[str, object] | None = None,
) -> list[Problem]:
    """Refusals and warnings that follow from the spec, the protocol's table, the group's
    settings and the member count."""
    rules = rules_for(protocol)
    problems: list[Problem] = []
    problems += cadence_and_plan(spec, protocol, settings or {})
    if not rules.sessions.allows(spec.sessions):
        span = rules.sessions.span
        problems.append(
            Problem(
                ProblemKind.REFUSE,
                "session_count",
                f"a {protocol.value} series has {span} sessions, not {spec.sessions}",
                field="sessions",
            )
        )
    if len(spec.weekdays) > rules.per_week.high:
        problems.append(
            Problem(
                ProblemKind.REFUSE,
                "too_many_weekdays",
                f"a {protocol.value} group meets at most {rules.per_week.high} time(s) a week",
                field="weekdays",
            )
        )
    for occ in occurrences:
        if occ.starts_at <= now:
            problems.append(
                Problem(
                    ProblemKind.REFUSE,
                    "in_past",
                    f"session {occ.index} ({occ.local_start:%Y-%m-%d %H:%M}) is in the past",
                    occ.index,
                    field="start_date",
                )
            )
    floor = max(rules.members.low, min_members)
    ceiling = min(rules.members.high, capacity)
    if members > ceiling:
        problems.append(
            Problem(
                ProblemKind.REFUSE,
                "too_many_members",
                f"{members} members enrolled; a {protocol.value} group takes at most {ceiling}",
                field="members",
            )
        )
    elif members < floor:
        problems.append(
            Problem(
                ProblemKind.WARN,
                "too_few_members",
                f"{members} members enrolled; a {protocol.value} group needs at least {floor}",
                field="members",
            )
        )
    return problems


def cadence_and_plan(
    spec: SeriesSpec, protocol: ProtocolKind, settings: Mapping[str, object]
) -> list[Problem]:
    """What the protocol's table says of the pattern and the booked length: a series meeting
    less often than the protocol's ``per_week.low`` warns (or is refused, when the group's
    ``cadence`` setting says ``refuse``); a length the phase plan does not fit warns."""
    table = spec_for(protocol)
    values = table.check_settings({k: v for k, v in settings.items() if k in table.settings})
    problems: list[Problem] = []
    per_week = table.rules.per_week
    if len(spec.weekdays) < per_week.low:
        refuse = "cadence" in table.settings and table.setting(values, "cadence") == "refuse"
        problems.append(
            Problem(
                ProblemKind.REFUSE if refuse else ProblemKind.WARN,
                "cadence",
                f"a {protocol.value} group meets {per_week.span} times a week "
                f"({per_week.source}); this series meets {len(spec.weekdays)} time(s) a week",
                field="weekdays",
            )
        )
    plan = table.plan(values, spec.duration_minutes).problem()
    if plan is not None:
        problems.append(Problem(ProblemKind.WARN, "phase_plan", plan, field="duration_minutes"))
    return problems


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True, slots=True)
class Slot:
    """One live session of a series as the rules see it: its index and its local start."""

    index: int
    local_start: datetime  # aware, in the series' zone
    minutes: int

    @property
    def starts_at(self) -> datetime:
        return self.local_start.astimezone(UTC)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


def placement_problems(
    protocol: ProtocolKind, slots: list[Slot], *, changed: set[int] | None = None
) -> list[Problem]:
    """The rules a series' live sessions must keep after any change, the same for booking,
    moving, re-timing and make-ups: at most the protocol's sessions per series, at most its
    meetings per (local, Monday-first) week, and no two sessions overlapping. ``changed``
    (session indexes) limits the week and overlap problems to weeks and pairs a change
    touched, so an old irregularity does not block an unrelated change."""
    rules = rules_for(protocol)
    touched = changed if changed is not None else {x.index for x in slots}
    problems: list[Problem] = []
    if len(slots) > rules.sessions.high:
        problems.append(
            Problem(
                ProblemKind.REFUSE,
                "session_count",
                f"a {protocol.value} series has at most {rules.sessions.high} sessions; "
                f"this would make {len(slots)}",
                field="date",
            )
        )
    weeks: dict[tuple[int, int], list[Slot]] = {}
    for x in slots:
        iso = x.local_start.isocalendar()
        weeks.setdefault((iso.year, iso.week), []).append(x)
    for (year, week), inweek in sorted(weeks.items()):
        if len(inweek) > rules.per_week.high and touched & {x.index for x in inweek}:
            problems.append(
                Problem(
                    ProblemKind.REFUSE,
                    "too_many_per_week",
                    f"a {protocol.value} group meets at most {rules.per_week.high} time(s) a "
                    f"week; week {week} of {year} would have {len(inweek)}",
                    max(touched & {x.index for x in inweek}),
                    field="date",
                )
            )
    ordered = sorted(slots, key=lambda x: (x.starts_at, x.index))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.starts_at >= a.ends_at:
                break
            if {a.index, b.index} & touched:
                problems.append(
                    Problem(
                        ProblemKind.REFUSE,
                        "sessions_overlap",
                        f"sessions {a.index} and {b.index} overlap",
                        b.index,
                        field="local_time",
                    )
                )
    return problems
