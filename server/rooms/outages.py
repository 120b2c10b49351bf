"""A room's part in true attendance across server stops and crashes (docs/attendance.md).

A graceful stop writes each present member's leave at the stop time (reason ``server
stopped``), keeps their place and roles for when the room is back, and starts an outage. A
room restored after a crash stamps each member who was present with a disconnect at its
previous run's last sign of life (reason ``server outage``), never a leave; that outage was
recorded at start-up by the manager (``RoomStore.recover``), or, when another process took
the room over, is recorded here from the last saved change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from server.domain import AttendanceKind

from .models import OutageCause
from .participants import Participant, Presence
from .ports import JSON, SERVER_OUTAGE, SERVER_STOPPED, AttendanceRecord, Clock, RoomStore

log = logging.getLogger(__name__)


class Outages:
    def __init__(self, clock: Clock, restored: tuple[int, JSON] | None) -> None:
        self._clock = clock
        data = restored[1] if restored is not None else {}
        self.stopped_at: int | None = data.get("stopped_at_ms")  # a graceful stop, not back yet
        self.saved_at: int | None = data.get("saved_at_ms")  # the last saved change
        self.down_since: int | None = None  # set by the manager: a crash it recorded
        # set by the manager: the crashed holder's last heartbeat, when it took the room over
        self.last_seen: int | None = None
        self._pending: tuple[int, int | None, OutageCause] | None = None

    def stamp(self, data: JSON) -> JSON:
        """The saved room state, with when it was saved and, when stopping, when it stopped."""
        data["saved_at_ms"] = self._clock.now_ms()
        if self.stopped_at is not None:
            data["stopped_at_ms"] = self.stopped_at
        return data

    def stop(
        self, participants: dict[int, Participant], *, handover: bool = False
    ) -> list[AttendanceRecord]:
        """A graceful stop: the present members leave now, keeping their place. Handed over
        to another process (a cluster), they are disconnected now instead: they reconnect
        there within moments, so nobody left."""
        now = self._clock.now_ms()
        self.stopped_at = now
        self._pending = (now, None, OutageCause.STOP)
        kind = AttendanceKind.DISCONNECT if handover else AttendanceKind.LEAVE
        out = []
        for p in participants.values():
            if p.presence is Presence.PRESENT:
                p.presence, p.sid, p.sender = Presence.RECONNECTING, None, None
                out.append(AttendanceRecord(p.person_id, kind, now, SERVER_STOPPED))
        return out

    def resume(self, participants: dict[int, Participant]) -> list[AttendanceRecord]:
        """Restored: who was present is reconnecting, dropped at the outage's start."""
        now = self._clock.now_ms()
        if self.stopped_at is not None:  # stopped gracefully: the leave rows exist
            down = self.stopped_at
            self._pending = (down, now, OutageCause.STOP)
        elif self.down_since is not None:  # a crash the manager recorded at start-up
            down = self.down_since
        else:  # a crash, taken over by another process: from its last heartbeat or change
            known = [t for t in (self.saved_at, self.last_seen) if t is not None and t <= now]
            down = max(known) if known else now
            self._pending = (down, now, OutageCause.CRASH)
        self.stopped_at = None
        out = []
        for p in participants.values():
            if p.presence is Presence.PRESENT:
                p.presence = Presence.RECONNECTING
                out.append(
                    AttendanceRecord(p.person_id, AttendanceKind.DISCONNECT, down, SERVER_OUTAGE)
                )
        return out

    async def record(
        self, store: RoomStore, session_id: int, saved: Awaitable[None] | None = None
    ) -> None:
        """After ``saved`` (the room's commit), record the outage pending, if any."""
        try:
            if saved is not None:
                await saved
            if self._pending is not None:
                await store.record_outage(session_id, *self._pending)
                self._pending = None
        except Exception:  # a stale copy (LeaseLost: not ours to record) or the database gone
            log.warning("room %s: the outage was not recorded", session_id, exc_info=True)
