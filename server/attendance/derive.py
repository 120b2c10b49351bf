"""Attendance records derived from the raw events: pure functions, no I/O, time passed in.

One person at one session: their join/reconnect/leave/disconnect events, the session's
scheduled window and its server outages in, a status, the seconds present and the number of
reconnects out. The same events and rules always give the same record (docs/attendance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.attendance.models import AttendanceStatus
from server.domain import AttendanceKind
from server.settings import Settings

OPENS = frozenset({AttendanceKind.JOIN, AttendanceKind.RECONNECT})
CLOSES = frozenset({AttendanceKind.LEAVE, AttendanceKind.DISCONNECT})


@dataclass(frozen=True, slots=True)
class Rules:
    """Thresholds (settings ``attendance_present_ratio``, ``attendance_late_minutes``,
    ``attendance_grace_s``)."""

    present_ratio: float = 0.75  # present: at least this share of the held session
    late_ms: int = 10 * 60_000  # late: first in more than this after the start
    grace_ms: int = 60_000  # a gap this short (outages not counted) merges two presences

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        return cls(
            present_ratio=settings.attendance_present_ratio,
            late_ms=settings.attendance_late_minutes * 60_000,
            grace_ms=settings.attendance_grace_s * 1000,
        )


@dataclass(frozen=True, slots=True)
class Event:
    kind: AttendanceKind
    at_ms: int


@dataclass(frozen=True, slots=True)
class Window:
    """A held session: its scheduled start and end, and its server outages (end None: the
    outage lasted to the end)."""

    start_ms: int
    end_ms: int
    outages: tuple[tuple[int, int | None], ...] = ()

    def closed_outages(self) -> list[tuple[int, int]]:
        return [(s, self.end_ms if e is None else e) for s, e in self.outages]


@dataclass(frozen=True, slots=True)
class Derived:
    status: AttendanceStatus
    seconds_present: int
    reconnects: int
    first_in_ms: int | None
    last_out_ms: int | None


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _length(span: tuple[int, int], outages: Sequence[tuple[int, int]]) -> int:
    """How long ``span`` is, server outages not counted."""
    return max(0, span[1] - span[0]) - sum(_overlap(span, o) for o in outages)


def held_ms(window: Window) -> int:
    return _length((window.start_ms, window.end_ms), _union(window.closed_outages()))


def presences(events: Sequence[Event], end_ms: int) -> list[tuple[int, int]]:
    """The spans between an opening and a closing event, in time order. Openings while already
    open (a second device, a replaced tab) and closings while closed change nothing; a presence
    still open at the last event lasts to ``end_ms``."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    for ev in sorted(events, key=lambda e: e.at_ms):
        if ev.kind in OPENS and opened is None:
            opened = ev.at_ms
        elif ev.kind in CLOSES and opened is not None:
            spans.append((opened, ev.at_ms))
            opened = None
    if opened is not None:
        spans.append((opened, max(opened, end_ms)))
    return spans


def derive(events: Sequence[Event], window: Window, rules: Rules, *, excused: bool) -> Derived:
    outages = _union(window.closed_outages())
    spans = presences(events, window.end_ms)
    merged: list[tuple[int, int]] = []
    reconnects = 0
    for span in spans:
        if merged:
            gap = (merged[-1][1], span[0])
            by_server = any(s <= gap[0] <= e for s, e in outages)
            if not by_server:
                reconnects += 1  # the member came back (a server outage is not theirs)
            if _length(gap, outages) <= rules.grace_ms:
                merged[-1] = (merged[-1][0], max(merged[-1][1], span[1]))
                continue
        merged.append(span)
    clipped = [
        (max(s, window.start_ms), min(e, window.end_ms))
        for s, e in merged
        if min(e, window.end_ms) > max(s, window.start_ms)
    ]
    seconds = sum(_length(span, outages) for span in clipped) // 1000
    first_in = spans[0][0] if spans else None
    last_out = spans[-1][1] if spans else None
    held = held_ms(window)
    if seconds <= 0:
        status = AttendanceStatus.EXCUSED if excused else AttendanceStatus.ABSENT
    elif first_in is not None and first_in > window.start_ms + rules.late_ms:
        status = AttendanceStatus.LATE
    elif seconds * 1000 >= rules.present_ratio * held:
        status = AttendanceStatus.PRESENT
    else:
        status = AttendanceStatus.LEFT_EARLY
    return Derived(status, max(0, seconds), reconnects, first_in, last_out)


def held_window(
    start_ms: int,
    scheduled_end_ms: int,
    everyone: Sequence[Sequence[Event]],
    outages: Sequence[tuple[int, int | None]],
) -> Window:
    """The held session: from the scheduled start to the scheduled end, or to the last member's
    leaving when everyone had left before it (a session ended early). Outages inside count as
    neither presence nor absence."""
    end = scheduled_end_ms
    last_out: int | None = None
    for events in everyone:
        spans = presences(events, scheduled_end_ms)
        if not spans:
            continue
        if events and sorted(events, key=lambda e: e.at_ms)[-1].kind in OPENS:
            last_out = scheduled_end_ms  # still there at the last event
        elif spans[-1][1] > (last_out or 0):
            last_out = spans[-1][1]
    if last_out is not None and start_ms < last_out < end:
        end = last_out
    return Window(start_ms, end, tuple(outages))
