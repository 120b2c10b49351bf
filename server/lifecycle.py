"""A scheduled session's life, in one place: which status changes are allowed (and from which
statuses), and when its room may be entered. Pure: no I/O, time passed in.

Every write of ``scheduled_sessions.status`` names a :class:`Change` and goes through
:func:`server.session_status.write_status`, which turns this table into a compare-and-set
(``UPDATE ... WHERE status IN (allowed predecessors)``): nothing overwrites a status it did not
expect, so a cancelled or ended session stays so.

::

    scheduled --lobby_open/first_join--> open --start--> live --end/abandon--> ended
        |  \\________________start_________________/^                          ^
        |------------ cancel (until live) ------------> cancelled              |
        \\-- close (never went live, past the window) --------------------------/
    cancelled --restore (a coordinator's undo, before the planned start)--> scheduled
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from server.domain import SessionStatus

S = SessionStatus

LATE_JOIN = timedelta(minutes=30)
"""A room stays joinable this long past its planned end; the scheduler's close comes then, so
late joiners and reconnections are not cut off."""

NO_ONE_ENDED_IT = "no one ended it"
"""The reason recorded when a room empty past its window ends the session itself."""


class Change(StrEnum):
    """Who moves a session's status, and why."""

    LOBBY_OPEN = "lobby_open"  # the scheduler, lobby_minutes before the start
    FIRST_JOIN = "first_join"  # the room: someone entered it
    START = "start"  # the scheduler at the planned start, or the leader starting the protocol
    END = "end"  # the room: the leader ended the session
    CLOSE = "close"  # the scheduler, past the join window: a session that never went live
    ABANDON = "abandon"  # empty past its window: no one ended it (room or scheduler)
    CANCEL = "cancel"  # a coordinator, until the session goes live
    MOVE = "move"  # a coordinator, until the session goes live: back to scheduled
    RESTORE = "restore"  # a coordinator undoes a cancellation before the planned start


LIVE_OR_BEFORE = frozenset({S.SCHEDULED, S.OPEN, S.LIVE})
NOT_LIVE_YET = frozenset({S.SCHEDULED, S.OPEN})

TRANSITIONS: dict[Change, tuple[frozenset[SessionStatus], SessionStatus]] = {
    Change.LOBBY_OPEN: (frozenset({S.SCHEDULED}), S.OPEN),
    Change.FIRST_JOIN: (frozenset({S.SCHEDULED}), S.OPEN),
    Change.START: (NOT_LIVE_YET, S.LIVE),
    Change.END: (LIVE_OR_BEFORE, S.ENDED),
    Change.CLOSE: (NOT_LIVE_YET, S.ENDED),
    Change.ABANDON: (LIVE_OR_BEFORE, S.ENDED),
    Change.CANCEL: (NOT_LIVE_YET, S.CANCELLED),
    Change.MOVE: (NOT_LIVE_YET, S.SCHEDULED),
    Change.RESTORE: (frozenset({S.CANCELLED}), S.SCHEDULED),
}

FINAL = frozenset({S.ENDED, S.CANCELLED})


class IllegalChange(ValueError):
    """``change`` is not allowed from ``status``; the message names both."""

    def __init__(self, change: Change, status: SessionStatus) -> None:
        super().__init__(f"{change.value} is not allowed in status {status.value}")
        self.change = change
        self.status = status


def allowed_from(change: Change) -> frozenset[SessionStatus]:
    return TRANSITIONS[change][0]


def target(change: Change) -> SessionStatus:
    return TRANSITIONS[change][1]


def may(change: Change, status: SessionStatus) -> bool:
    return status in TRANSITIONS[change][0]


def next_status(change: Change, status: SessionStatus) -> SessionStatus:
    """The status after ``change``; raises :class:`IllegalChange` when it is not allowed."""
    allowed, to = TRANSITIONS[change]
    if status not in allowed:
        raise IllegalChange(change, status)
    return to


def settled(change: Change, found: SessionStatus) -> bool:
    """A compare-and-set that wrote nothing found ``found``: true when that is already where
    ``change`` leads (another writer got there first), so there is nothing to undo."""
    return found is TRANSITIONS[change][1]


# --- the join window -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """When a session's room may be entered: from ``lobby_minutes`` before the start until
    :data:`LATE_JOIN` after the planned end."""

    starts_at: datetime
    lobby_minutes: int
    duration_minutes: int

    @property
    def opens_at(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.lobby_minutes)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def closes_at(self) -> datetime:
        return self.ends_at + LATE_JOIN


class Refusal(StrEnum):
    """Why a room may not be entered now."""

    NOT_OPEN = "not_open"  # before the lobby opens
    CLOSED = "closed"  # past the window, and it never went live
    ENDED = "ended"
    CANCELLED = "cancelled"


def may_enter(
    status: SessionStatus, window: Window, now: datetime, *, early: bool = False
) -> Refusal | None:
    """None when the room may be entered now. An open or live session may be entered (a live
    one may run over); a scheduled one inside its window. ``early``: leaders may open the room
    before the lobby opens."""
    if status is S.CANCELLED:
        return Refusal.CANCELLED
    if status is S.ENDED:
        return Refusal.ENDED
    if status in (S.OPEN, S.LIVE):
        return None
    if now < window.opens_at and not early:
        return Refusal.NOT_OPEN
    if now > window.closes_at:
        return Refusal.CLOSED
    return None


def abandoned(status: SessionStatus, window: Window, now: datetime, *, occupied: bool) -> bool:
    """A room with nobody in it past its window ends the session itself (no one ended it)."""
    return status in LIVE_OR_BEFORE and not occupied and now >= window.closes_at
