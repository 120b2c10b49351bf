"""Owns every live room of this process: starts one on first use, restoring persisted state.

A room has exactly one owner among the server processes sharing a database. Opening a room
claims its lease (``RoomStore.claim``) for this process's ``node_id``; a process that finds
the lease held by another refuses with ``wrong_node`` instead of running a second copy. The
leases of live rooms are renewed every third of ``lease_ms``; a room whose lease was lost (the
process stalled past it and another took over) is stopped here at once. A room that closes by
itself (ended and empty, cancelled, or empty past its window) is retired at once by its reaper:
its lease released, its media room closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from server.domain import SessionStatus
from server.errors import Conflict, ErrorCode
from server.media.port import MediaEngine

from .ports import Clock, RoomBroadcaster, RoomStore, SessionClosed, SessionInfo, SystemClock
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
        node_id: str = "local",
        lease_ms: int = 30_000,
        on_ended: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._broadcaster = broadcaster
        self._media = media
        self._grace_s = grace_s
        self._rooms: dict[int, Room] = {}
        self._starting: dict[int, asyncio.Future[Room]] = {}
        self._closed = False
        self.node_id = node_id
        self.lease_ms = lease_ms
        self._renewer: asyncio.Task[None] | None = None
        self._on_ended = on_ended  # told once an ended room has closed (attendance rebuild)
        self._down_since: dict[int, int] = {}  # rooms a crashed earlier run left: since when
        self._reapers: dict[int, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._closed = False
        try:  # leases this node still holds are a crashed earlier run's: record, give up
            self._down_since = await self.store.recover(
                self.node_id, self.lease_ms, self.clock.now_ms()
            )
        except Exception:
            log.exception("recovering the rooms of an earlier run failed")
        if self._down_since:
            log.warning("rooms %s were left by a crash; outages recorded", sorted(self._down_since))
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_leases(), name="room-leases")

    async def stop(self) -> None:
        self._closed = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        reapers, self._reapers = list(self._reapers.values()), {}
        for reaper in reapers:
            reaper.cancel()
        for reaper in reapers:
            with contextlib.suppress(asyncio.CancelledError):
                await reaper
        rooms, self._rooms = dict(self._rooms), {}
        for session_id, room in rooms.items():
            await room.stop()
            await self._release(session_id)
            await self._ended(session_id, room)

    async def info(self, session_id: int) -> SessionInfo:
        """What the pre-join page needs, without opening the room (no lease, no media room):
        from the room if it runs here, else read; ``wrong_node`` if another process runs it."""
        room = self.peek(session_id)
        if room is not None:
            return room.info
        holder = await self.store.lease_holder(session_id)
        if holder is not None and holder != self.node_id:
            raise _wrong_node(session_id, holder)
        return await self.store.load_session(session_id)

    def peek(self, session_id: int) -> Room | None:
        room = self._rooms.get(session_id)
        return room if room is not None and not room.done else None

    async def get(self, session_id: int) -> Room:
        """The running room for ``session_id``; started (or restored) if need be."""
        room = self._rooms.get(session_id)
        if room is not None and not room.done:
            return room
        if room is not None:  # it closed by itself (ended and empty): release what it held
            await self._retire(session_id, room)
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
        self._reapers[session_id] = asyncio.create_task(
            self._reap(session_id, room), name=f"room-{session_id}-reaper"
        )
        future.set_result(room)
        return room

    async def _reap(self, session_id: int, room: Room) -> None:
        """Retire the room as soon as it closes by itself."""
        try:
            await room.wait_closed()
            if self._rooms.get(session_id) is room:
                await self._retire(session_id, room)
        finally:
            if self._reapers.get(session_id) is asyncio.current_task():
                del self._reapers[session_id]

    async def _open(self, session_id: int) -> Room:
        info = await self.store.load_session(session_id)
        if info.status is SessionStatus.CANCELLED:  # nothing to open: no lease, no media room
            raise SessionClosed(session_id, info.status)
        holder = await self.store.claim(session_id, self.node_id, self.lease_ms)
        if holder is not None:
            raise _wrong_node(session_id, holder)
        try:
            room = await self._build(session_id, info)
        except BaseException:
            await self._release(session_id)
            raise
        return room

    async def _build(self, session_id: int, info: SessionInfo) -> Room:
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
        room.outages.down_since = self._down_since.pop(session_id, None)
        await room.start()
        await room.outages.record(self.store, session_id)  # the outage it came back from
        log.info("room %s started (%s)", session_id, "restored" if restored else "new")
        return room

    async def _retire(self, session_id: int, room: Room, *, release: bool = True) -> None:
        """Forget a room that closed (or must close), stop it, and give its lease up."""
        if self._rooms.get(session_id) is room:
            del self._rooms[session_id]
        await room.stop()
        if release:
            await self._release(session_id)
            await self._ended(session_id, room)

    async def _ended(self, session_id: int, room: Room) -> None:
        if self._on_ended is None or not room.state.ended:
            return
        try:
            await self._on_ended(session_id)
        except Exception:
            log.exception("room %s: the after-end hook failed", session_id)

    async def _release(self, session_id: int) -> None:
        try:
            await self.store.release(session_id, self.node_id)
        except Exception:  # it runs out by itself
            log.exception("room %s: releasing its lease failed", session_id)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            for session_id, room in list(self._rooms.items()):
                if room.done:
                    await self._retire(session_id, room)
                    continue
                try:
                    holder = await self.store.claim(session_id, self.node_id, self.lease_ms)
                except Exception:
                    log.exception("room %s: renewing its lease failed", session_id)
                    continue
                if holder is not None and self._rooms.get(session_id) is room:
                    # Another process took the room over: this copy must not go on.
                    log.error("room %s: lease lost to %s; stopping this copy", session_id, holder)
                    await self._retire(session_id, room, release=False)

    @property
    def rooms(self) -> dict[int, Room]:
        return {k: r for k, r in self._rooms.items() if not r.done}


def _wrong_node(session_id: int, holder: str) -> Conflict:
    log.warning("room %s is held by %s, not opened here", session_id, holder)
    return Conflict(
        "This session's room is running on another server process. Reconnect; if this "
        "keeps happening, the proxy must route connections by session.",
        code=ErrorCode.WRONG_NODE,
    )
