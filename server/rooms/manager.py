"""Owns every live room of this process: starts one on first use, restoring persisted state."""

from __future__ import annotations

import asyncio
import logging

from server.media.port import MediaEngine

from .ports import Clock, RoomBroadcaster, RoomStore, SystemClock
from .room import Room

log = logging.getLogger(__name__)


class RoomManager:
    def __init__(
        self,
        store: RoomStore,
        broadcaster: RoomBroadcaster,
        *,
        media: MediaEngine | None = None,
        clock: Clock | None = None,
        grace_s: float = 60,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._broadcaster = broadcaster
        self._media = media
        self._grace_s = grace_s
        self._rooms: dict[int, Room] = {}
        self._starting: dict[int, asyncio.Future[Room]] = {}
        self._closed = False

    async def start(self) -> None:
        self._closed = False

    async def stop(self) -> None:
        self._closed = True
        rooms, self._rooms = list(self._rooms.values()), {}
        for room in rooms:
            await room.stop()

    def peek(self, session_id: int) -> Room | None:
        room = self._rooms.get(session_id)
        return room if room is not None and not room.done else None

    async def get(self, session_id: int) -> Room:
        """The running room for ``session_id``; started (or restored) if need be."""
        room = self._rooms.get(session_id)
        if room is not None and not room.done:
            return room
        if room is not None:  # it closed by itself (ended and empty): release what it held
            del self._rooms[session_id]
            await room.stop()
        if self._closed:
            raise RuntimeError("the room manager is stopped")
        pending = self._starting.get(session_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._starting[session_id] = future
        try:
            room = await self._open(session_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it themselves
            raise
        finally:
            self._starting.pop(session_id, None)
        self._rooms[session_id] = room
        future.set_result(room)
        return room

    async def _open(self, session_id: int) -> Room:
        info = await self.store.load_session(session_id)
        restored = await self.store.load_state(session_id)
        room = Room(
            info,
            store=self.store,
            broadcaster=self._broadcaster,
            media=self._media,
            clock=self.clock,
            grace_s=self._grace_s,
            restored=restored,
        )
        await room.start()
        log.info("room %s started (%s)", session_id, "restored" if restored else "new")
        return room

    @property
    def rooms(self) -> dict[int, Room]:
        return {k: r for k, r in self._rooms.items() if not r.done}
