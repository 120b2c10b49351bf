"""The narrow ports a room talks through. Rooms never see Socket.IO, aiortc or SQL objects."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from server.domain import AttendanceKind, AuditOutcome, ProtocolKind, SessionStatus
from server.errors import Conflict, ErrorCode, Gone
from server.lifecycle import Change

from .models import OutageCause

JSON = dict[str, Any]

# Attendance reasons the room writes when the server, not the member, broke the presence.
SERVER_STOPPED = "server stopped"  # a leave row at a graceful stop's time
SERVER_OUTAGE = "server outage"  # a disconnect row at a crashed run's last sign of life


class Clock(Protocol):
    """Wall-clock milliseconds and sleeping until one. Tests give a fake one."""

    def now_ms(self) -> int: ...

    async def sleep_until(self, at_ms: int) -> None: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep_until(self, at_ms: int) -> None:
        # asyncio.sleep may wake a little early against the wall clock: sleep the rest.
        for _ in range(100):
            left = at_ms - self.now_ms()
            if left <= 0:
                return
            await asyncio.sleep(left / 1000)


class RoomBroadcaster(Protocol):
    """How a room reaches its clients; implemented by ``server.signaling``.

    ``attach`` puts a connection into the room's fan-out (and the leaders' channel when
    ``leader``); every snapshot then reaches it. ``drop`` ends a connection that another one
    of the same person has replaced.
    """

    async def attach(self, session_id: int, sid: str, *, leader: bool) -> None: ...

    async def detach(self, session_id: int, sid: str) -> None: ...

    async def snapshot(self, session_id: int, payload: JSON) -> None: ...

    async def to_leaders(self, session_id: int, event: str, payload: JSON) -> None: ...

    async def to_room(self, session_id: int, event: str, payload: JSON) -> None: ...

    async def drop(self, sid: str, reason: str) -> None: ...


class Peers(Protocol):
    """The other server processes, as far as rooms need them (a cluster; None alone)."""

    async def alive(self, node_id: str) -> bool:
        """Is ``node_id``'s process running (its heartbeat fresh)? A live process whose event
        loop is slow still beats; only a dead one stops."""
        ...

    async def last_seen_ms(self, node_id: str) -> int | None:
        """When ``node_id`` last beat (wall clock ms), if known: a crashed owner's true end."""
        ...

    async def ask_handover(self, session_id: int, holder: str, to: str) -> None:
        """Ask ``holder`` to save the room, give its lease up and send its members over."""
        ...


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a room needs to know about its scheduled session, read once when it starts."""

    session_id: int
    group_id: int
    series_id: int | None
    protocol: ProtocolKind
    capacity: int  # members; leaders are not counted
    settings: JSON
    status: SessionStatus
    starts_at: datetime
    lobby_minutes: int
    duration_minutes: int
    agreement_version: str
    planned_sessions: int | None


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    person_id: int
    kind: AttendanceKind
    at_ms: int
    reason: str | None = None


class LeaseLost(Conflict):
    """This process no longer holds the room's lease: another runs the room now. Raised by a
    store that fences writes; the room that gets it stops."""

    code = ErrorCode.WRONG_NODE


class SessionClosed(Gone):
    """The session was cancelled or ended under the room (a coordinator, the scheduler, another
    process). Raised by a store whose save finds it so; the room tells its clients and stops."""

    def __init__(self, session_id: int, status: SessionStatus) -> None:
        cancelled = status is SessionStatus.CANCELLED
        super().__init__(
            "This session was cancelled." if cancelled else "This session has ended.",
            code=ErrorCode.CANCELLED if cancelled else ErrorCode.ENDED,
        )
        self.session_id = session_id
        self.status = status


class RoomStore(Protocol):
    """Persistence a room needs. One call per change; implementations commit before returning."""

    async def load_session(self, session_id: int) -> SessionInfo: ...

    async def load_state(self, session_id: int) -> tuple[int, JSON] | None: ...

    async def save(
        self,
        session_id: int,
        *,
        version: int | None,
        state: JSON | None,
        attendance: list[AttendanceRecord],
        change: Change | None = None,
        final: bool = False,
    ) -> SessionStatus | None:
        """One transaction; returns the session's status after ``change``, if one was asked. ``change``: the session status change this save makes (a
        compare-and-set, server.session_status). Unless ``final`` (the room ended the session
        itself), a save that finds the session cancelled or ended writes nothing and raises
        :class:`SessionClosed`."""
        ...

    async def lease_holder(self, session_id: int) -> str | None:
        """Who holds an unexpired lease on the room, if anyone (a read: claims nothing)."""
        ...

    async def has_accepted(self, person_id: int, series_id: int, version: str) -> bool: ...

    async def accept_agreement(
        self, person_id: int, series_id: int, version: str, at_ms: int
    ) -> None: ...

    async def display_name(self, person_id: int) -> str: ...

    async def claim(
        self, session_id: int, owner: str, ttl_ms: int, *, dead: str | None = None
    ) -> str | None:
        """Take or renew the room's lease for ``owner``: None when it is ours now, else the
        owner that holds it (a lease past its time is taken over, and so is one still held
        by ``dead``, a node whose heartbeat has stopped)."""
        ...

    async def release(self, session_id: int, owner: str) -> None:
        """Give the lease up, if ``owner`` holds it."""
        ...

    async def recover(self, owner: str, lease_ms: int, now_ms: int) -> dict[int, int]:
        """At start-up: the leases ``owner`` still holds are a crashed earlier run's. For each,
        record the room's outage (cause crash) from its last sign of life (the last lease
        renewal or the last saved change, whichever is later) to ``now_ms``, and give the lease
        up. Returns {session id: outage start ms}."""
        ...

    async def record_outage(
        self, session_id: int, start_ms: int, end_ms: int | None, cause: OutageCause
    ) -> None:
        """Record (or, for the same start, complete) a time the room was not running."""
        ...

    async def audit(
        self,
        *,
        actor_id: int | None,
        action: str,
        target: str,
        outcome: AuditOutcome,
        details: JSON | None = None,
    ) -> None: ...
