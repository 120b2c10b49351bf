"""Owns every live room of this process: starts one on first use, restoring persisted state.

A room has exactly one owner among the server processes sharing a database. Opening a room
claims its lease (``RoomStore.claim``) for this process's ``node_id``; a process that finds
the lease held by another refuses with ``wrong_node`` instead of running a second copy. The
leases of live rooms are renewed every third of ``lease_ms``; a room whose lease was lost (the
process stalled past it and another took over) is stopped here at once. A room that closes by
itself (ended and empty, cancelled, or empty past its window) is retired at once by its reaper:
its lease released, its media room closed.

In a cluster (``peers`` given: the other processes, their heartbeats and a way to ask them) a
room is never refused to a connection that reached the "wrong" process: the room moves to it.
A live holder is asked to hand the room over (it saves the room, gives its lease up and sends
its members here); a holder whose heartbeat has stopped (killed, crashed) loses the lease at
once, by a compare-and-set on that holder, so of two processes taking over only one wins. A
holder that is alive but slow keeps beating and is never robbed; only its lease running out
(``lease_ms``) lets another take it. While the room moves, the connection waits (at most
``handover_wait_ms``) and is then refused with ``room_moving``, which clients retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from server.domain import SessionStatus
from server.errors import Conflict, ErrorCode
from server.media.port import MediaEngine
from server.metrics import METRICS

from .ports import (
    Clock,
    Peers,
    RoomBroadcaster,
    RoomStore,
    SessionClosed,
    SessionInfo,
    SystemClock,
)
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
        peers: Peers | None = None,
        handover_wait_ms: int = 8000,
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
        self.peers = peers
        self.handover_wait_ms = handover_wait_ms
        # Rooms this process handed to another just now (monotonic s): not taken back at once
        # by a late event of a connection that was still closing here.
        self._handed: dict[int, float] = {}
        self.draining = False  # no new rooms: the process is stopping (server.signaling.drain)
        # Told after a room was handed over (its connections here are closed then).
        self.on_handed_over: Callable[[int], Awaitable[None]] | None = None

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
        if self.peers is None:
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
        if self._closed or self.draining:
            raise _moving(session_id, "this process is stopping")
        handed = self._handed.get(session_id)
        if handed is not None and time.monotonic() - handed < 3:
            raise _moving(session_id, "it was just handed to another process")
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
                await self._retire(session_id, room, release=not room.lease_lost)
                if room.lease_lost:
                    await self._lost(session_id)
        finally:
            if self._reapers.get(session_id) is asyncio.current_task():
                del self._reapers[session_id]

    async def _open(self, session_id: int) -> Room:
        info = await self.store.load_session(session_id)
        if info.status is SessionStatus.CANCELLED:  # nothing to open: no lease, no media room
            raise SessionClosed(session_id, info.status)
        holder = await self.store.claim(session_id, self.node_id, self.lease_ms)
        last_seen: int | None = None
        if holder is not None:
            if self.peers is None:
                raise _wrong_node(session_id, holder)
            last_seen = await self._take_over(session_id, holder, self.peers)
        self._handed.pop(session_id, None)
        try:
            room = await self._build(session_id, info, last_seen)
        except BaseException:
            await self._release(session_id)
            raise
        return room

    async def _take_over(self, session_id: int, holder: str, peers: Peers) -> int | None:
        """Get the lease ``holder`` has: at once from a dead holder (returns when it was last
        seen alive), else by asking it to hand the room over and waiting for the release."""
        deadline = time.monotonic() + self.handover_wait_ms / 1000
        asked: str | None = None
        while True:
            if not await peers.alive(holder):
                seen = await peers.last_seen_ms(holder)
                found = await self.store.claim(session_id, self.node_id, self.lease_ms, dead=holder)
                if found is None:
                    log.warning("room %s: took it over from %s (no heartbeat)", session_id, holder)
                    METRICS.lease_taken_over("dead")
                    return seen
                holder = found
                continue
            if asked != holder:
                await peers.ask_handover(session_id, holder, self.node_id)
                asked = holder
            if time.monotonic() > deadline:
                raise _moving(session_id, f"{holder} has not handed it over yet")
            await asyncio.sleep(0.05)
            found = await self.store.claim(session_id, self.node_id, self.lease_ms)
            if found is None:
                log.info("room %s: handed over by %s", session_id, holder)
                METRICS.lease_taken_over("handover")
                return None
            holder = found

    async def hand_over(self, session_id: int) -> bool:
        """Another process asks for the room (the proxy sends its members there), or this one
        is draining: save it with its members reconnecting (no leave for anyone), give the
        lease up, and let the connections here go (``on_handed_over``). False when the room
        does not run here."""
        room = self._rooms.get(session_id)
        if room is None:
            if session_id not in self._starting:  # a lease left behind (a failed release)
                await self._release(session_id)
            return False
        self._handed[session_id] = time.monotonic()
        del self._rooms[session_id]
        reaper = self._reapers.pop(session_id, None)
        if reaper is not None:
            reaper.cancel()
        await room.stop(handover=True)
        await self._release(session_id)
        log.info("room %s handed over", session_id)
        if self.on_handed_over is not None:
            try:
                await self.on_handed_over(session_id)
            except Exception:
                log.exception(
                    "room %s: closing its connections after the handover failed", session_id
                )
        await self._ended(session_id, room)
        return True

    async def _lost(self, session_id: int) -> None:
        """Another process runs the room now (this one was taken for dead, or stalled past
        its lease): in a cluster its connections here go, to reconnect to the new owner."""
        if self.peers is None or self.on_handed_over is None:
            return
        self._handed[session_id] = time.monotonic()
        try:
            await self.on_handed_over(session_id)
        except Exception:
            log.exception("room %s: closing its connections failed", session_id)

    async def hand_over_all(self) -> int:
        """Drain: no new rooms here, every live room handed over; how many were."""
        self.draining = True
        count = 0
        for session_id in list(self._rooms):
            count += await self.hand_over(session_id)
        return count

    async def _build(
        self, session_id: int, info: SessionInfo, last_seen: int | None = None
    ) -> Room:
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
        room.outages.last_seen = last_seen
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
                    await self._lost(session_id)

    @property
    def rooms(self) -> dict[int, Room]:
        return {k: r for k, r in self._rooms.items() if not r.done}


def _moving(session_id: int, why: str) -> Conflict:
    log.info("room %s is moving between processes (%s)", session_id, why)
    return Conflict(
        "This session's room is moving to another server; reconnecting.",
        code=ErrorCode.ROOM_MOVING,
    )


def _wrong_node(session_id: int, holder: str) -> Conflict:
    log.warning("room %s is held by %s, not opened here", session_id, holder)
    return Conflict(
        "This session's room is running on another server process. Reconnect; if this "
        "keeps happening, the proxy must route connections by session.",
        code=ErrorCode.WRONG_NODE,
    )
