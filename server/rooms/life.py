"""A room's view of its session's life (server.lifecycle): the status it knows, the change its
next save writes (a compare-and-set in the store), and why the room closes, if it does. Owned
by the room's task; no I/O but telling the clients at the end."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from server.domain import SessionStatus
from server.lifecycle import FINAL, NO_ONE_ENDED_IT, Change, Window, abandoned, may, target

from .ports import RoomBroadcaster, SessionClosed, SessionInfo

log = logging.getLogger("server.rooms.room")


class SessionLife:
    def __init__(self, session_id: int, status: SessionStatus) -> None:
        self.session_id = session_id
        self.status = status
        self.change: Change | None = None  # written by the next save
        self.closing: str | None = None  # why the room retires after this command

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def make(self, change: Change) -> None:
        """Make ``change`` if the lifecycle allows it from the status the room knows."""
        if may(change, self.status):
            log.info("session %s: %s (%s)", self.session_id, change.value, self.status.value)
            self.status = target(change)
            self.change = change

    def take_change(self) -> Change | None:
        change, self.change = self.change, None
        return change

    def saved(self, found: SessionStatus | None) -> None:
        """What the save found: another writer may have got there first (live at the start)."""
        if found is not None and not self.final:
            self.status = found

    def abandon_if_due(self, window: Window, now_ms: int, *, occupied: bool) -> bool:
        """Nobody in the room past its join window, and no one ended the session: it ends."""
        if self.closing is not None:
            return False
        now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
        if not abandoned(self.status, window, now, occupied=occupied):
            return False
        self.make(Change.ABANDON)
        self.closing = NO_ONE_ENDED_IT
        return True

    def refreshed(self, old: SessionInfo, new: SessionInfo, *, ended: bool) -> bool:
        """The scheduler changed the session; True when it moved. Raises SessionClosed when
        it was cancelled or ended; a move back to scheduled closes the lobby."""
        if new.status in FINAL and not self.final:
            raise SessionClosed(new.session_id, new.status)
        if not self.final:
            self.status = new.status
        moved = (new.starts_at, new.duration_minutes) != (old.starts_at, old.duration_minutes)
        if moved and self.status is SessionStatus.SCHEDULED and not ended:
            self.closing = "moved"  # moved while people waited in the lobby: told, closed
        return moved

    def closed_under(self, exc: SessionClosed) -> None:
        self.closing = exc.code
        self.status = exc.status


async def tell_closed(out: RoomBroadcaster, session_id: int, reason: str) -> None:
    try:
        await out.to_room(session_id, "room.ended", {"reason": reason})
    except Exception:
        log.exception("room %s: telling its clients it closed failed", session_id)
