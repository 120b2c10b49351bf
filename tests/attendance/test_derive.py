"""Attendance derivation over events (pure): the cases issue 13 lists, by hand."""

from __future__ import annotations

import pytest

from server.attendance.derive import Event, Rules, Window, derive, held_window
from server.attendance.models import AttendanceStatus as S
from server.domain import AttendanceKind as K

MIN = 60_000
T0 = 1_800_000_000_000  # the scheduled start
WINDOW = Window(T0, T0 + 60 * MIN)  # a 60-minute session
RULES = Rules()  # 75 %, 10 minutes late, 60 s grace


def ev(*pairs: tuple[K, float]) -> list[Event]:
    return [Event(k, T0 + int(m * MIN)) for k, m in pairs]


@pytest.mark.parametrize(
    ("name", "events", "status", "minutes", "reconnects"),
    [
        ("whole session", ev((K.JOIN, -2), (K.LEAVE, 61)), S.PRESENT, 60, 0),
        (
            "reconnect inside the grace merges",
            ev((K.JOIN, 0), (K.DISCONNECT, 20), (K.RECONNECT, 20.5), (K.LEAVE, 60)),
            S.PRESENT,
            60,
            1,
        ),
        (
            "reconnect outside the grace splits",
            ev((K.JOIN, 0), (K.DISCONNECT, 20), (K.RECONNECT, 40), (K.LEAVE, 60)),
            S.LEFT_EARLY,
            40,
            1,
        ),
        (
            "two devices count once",
            ev((K.JOIN, 0), (K.RECONNECT, 5), (K.RECONNECT, 6), (K.LEAVE, 60)),
            S.PRESENT,
            60,
            0,
        ),
        ("late join", ev((K.JOIN, 12), (K.LEAVE, 60)), S.LATE, 48, 0),
        ("ten minutes is not late", ev((K.JOIN, 10), (K.LEAVE, 60)), S.PRESENT, 50, 0),
        ("early leave", ev((K.JOIN, 0), (K.LEAVE, 30)), S.LEFT_EARLY, 30, 0),
        ("exactly 75 %", ev((K.JOIN, 0), (K.LEAVE, 45)), S.PRESENT, 45, 0),
        ("absent", [], S.ABSENT, 0, 0),
        ("in the lobby only", ev((K.JOIN, -8), (K.LEAVE, -1)), S.ABSENT, 0, 0),
        (
            "still there at the last event",
            ev(
                (K.JOIN, 0),
            ),
            S.PRESENT,
            60,
            0,
        ),
    ],
)
def test_one_person(
    name: str, events: list[Event], status: S, minutes: int, reconnects: int
) -> None:
    d = derive(events, WINDOW, RULES, excused=False)
    assert (d.status, d.seconds_present, d.reconnects) == (status, minutes * 60, reconnects), name


def test_excused_absence_and_an_excused_member_who_came() -> None:
    assert derive([], WINDOW, RULES, excused=True).status is S.EXCUSED
    came = derive(ev((K.JOIN, 0), (K.LEAVE, 60)), WINDOW, RULES, excused=True)
    assert came.status is S.PRESENT


def test_a_crash_mid_session_neither_splits_nor_loses_the_presence() -> None:
    # down from minute 20 to 35 (disconnect stamped at the outage start), back at 35.5
    window = Window(T0, T0 + 60 * MIN, ((T0 + 20 * MIN, T0 + 35 * MIN),))
    events = ev((K.JOIN, 0), (K.DISCONNECT, 20), (K.RECONNECT, 35.5), (K.LEAVE, 60))
    d = derive(events, window, RULES, excused=False)
    # 45 held minutes, all of them present; the return after the outage is not a reconnect
    assert (d.status, d.seconds_present, d.reconnects) == (S.PRESENT, 45 * 60, 0)


def test_a_graceful_stop_neither_splits_nor_loses_the_presence() -> None:
    window = Window(T0, T0 + 60 * MIN, ((T0 + 30 * MIN, T0 + 33 * MIN),))
    events = ev((K.JOIN, 0), (K.LEAVE, 30), (K.RECONNECT, 33.2), (K.LEAVE, 60))
    d = derive(events, window, RULES, excused=False)
    assert (d.status, d.seconds_present, d.reconnects) == (S.PRESENT, 57 * 60, 0)


def test_an_outage_not_yet_over_lasts_to_the_end() -> None:
    window = Window(T0, T0 + 60 * MIN, ((T0 + 50 * MIN, None),))
    d = derive(ev((K.JOIN, 0), (K.LEAVE, 50)), window, RULES, excused=False)
    assert (d.status, d.seconds_present) == (S.PRESENT, 50 * 60)


def test_the_thresholds_are_rules() -> None:
    events = ev((K.JOIN, 5), (K.DISCONNECT, 20), (K.RECONNECT, 22), (K.LEAVE, 50))
    assert derive(events, WINDOW, RULES, excused=False).status is S.LEFT_EARLY
    lenient = Rules(present_ratio=0.5, late_ms=2 * MIN, grace_ms=3 * MIN)
    d = derive(events, WINDOW, lenient, excused=False)
    assert (d.status, d.seconds_present) == (S.LATE, 45 * 60)


def test_a_session_that_ended_early_ends_with_its_last_member() -> None:
    everyone = [ev((K.JOIN, 0), (K.LEAVE, 40)), ev((K.JOIN, 1), (K.LEAVE, 39))]
    window = held_window(T0, T0 + 60 * MIN, everyone, [])
    assert window.end_ms == T0 + 40 * MIN
    assert derive(everyone[1], window, RULES, excused=False).status is S.PRESENT
    still_there = [
        *everyone,
        ev(
            (K.JOIN, 0),
        ),
    ]
    assert held_window(T0, T0 + 60 * MIN, still_there, []).end_ms == T0 + 60 * MIN


def test_deterministic_whatever_the_order_given() -> None:
    events = ev((K.JOIN, 0), (K.DISCONNECT, 20), (K.RECONNECT, 20.5), (K.LEAVE, 60))
    assert derive(events, WINDOW, RULES, excused=False) == derive(
        list(reversed(events)), WINDOW, RULES, excused=False
    )
