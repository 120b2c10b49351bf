"""Rooms sharded across worker processes, so one machine uses all its cores.

:class:`ShardedMediaEngine` is a ``MediaEngine`` for the main (signaling) process. It starts
``workers`` processes, each running its own :class:`~server.media.sfu.AiortcMediaEngine`
with its own event loop and its own shared UDP socket (``udpmux.py``; port ``udp_port +
index`` when a port is configured). A room lives in exactly one worker, chosen by a
stable hash of the room id (``shard_of``), so every call about a room goes to the same
process and the room's media never crosses processes.

How a join reaches the room: browser -> Socket.IO (main process) -> room owner ->
``ShardedMediaEngine.add_participant`` -> local pipe -> the room's worker, which creates the
peer connection and sends ``media.offer`` back up the pipe -> the participant's
``SignalSender`` in the main process -> Socket.IO -> browser. The ICE candidates in that
offer are the worker's own sockets: media flows straight between browser and worker.

Calls are request/response over a ``multiprocessing`` pipe (pickled tuples); expected errors
(``CircleError`` subclasses) cross the pipe and are raised again in the main process.
``set_capabilities`` is sent without waiting (the worker applies it as soon as it reads it,
well under a packet interval). ``stats`` and ``socket_stats`` are synchronous in the port, so
they return the last snapshot the worker pushed (every ``stats_interval_s``); ``socket_stats``
numbers each worker's shared socket by the worker's index.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import multiprocessing as mp
import queue
import threading
import zlib
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from server import errors
from server.errors import CircleError, ErrorCode, NotFound
from server.media.port import (
    IceCandidate,
    MediaSocketStats,
    RoomMediaStats,
    SignalSender,
    TileSize,
)
from server.media.sfu import AiortcMediaEngine, MediaLost, SfuSettings

logger = logging.getLogger(__name__)


class PipeWriter:
    """Sends on a pipe from a thread, so an event loop never blocks on a full pipe (two
    processes both blocked sending to each other would deadlock). ``send`` only queues."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="pipe-writer", daemon=True)
            self._thread.start()

    def send(self, msg: Any) -> None:
        self._queue.put(msg)

    def _run(self) -> None:
        while True:
            msg = self._queue.get()
            if msg is _STOP:
                return
            try:
                self._conn.send(msg)
            except (OSError, EOFError, ValueError):
                return

    async def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(thread.join, 5)


_STOP = object()


def worker_settings(settings: SfuSettings, index: int) -> SfuSettings:
    """Worker ``index``'s settings: its shared UDP socket on ``udp_port + index`` (a fixed
    port range for firewalls), or an ephemeral one when ``udp_port`` is 0."""
    port = settings.udp_port
    if not port:
        return settings
    return dataclasses.replace(settings, udp_port=port + index)


def shard_of(room_id: str, workers: int) -> int:
    """The worker a room lives in: stable across processes and restarts."""
    return zlib.crc32(room_id.encode()) % workers


def _error_to_wire(exc: BaseException) -> tuple[str, str, str]:
    if isinstance(exc, CircleError):
        return type(exc).__name__, exc.message, exc.code
    return "CircleError", "internal error in media worker", "internal"


def _error_from_wire(name: str, message: str, code: str) -> CircleError:
    cls = getattr(errors, name, CircleError)
    if not (isinstance(cls, type) and issubclass(cls, CircleError)):
        cls = CircleError
    return cls(message, code=code)


# --- worker side ------------------------------------------------------------------------------
def worker_main(conn: Connection, settings: SfuSettings, stats_interval_s: float) -> None:
    """Entry point of a media worker process."""
    asyncio.run(_Worker(conn, settings, stats_interval_s).run())


class _Worker:
    def __init__(self, conn: Connection, settings: SfuSettings, stats_interval_s: float) -> None:
        self.conn = conn
        self.out = PipeWriter(conn)
        self.engine = AiortcMediaEngine(settings, on_media_lost=self._lost)
        self.stats_interval_s = stats_interval_s
        self.tasks: set[asyncio.Task[None]] = set()
        self.done = asyncio.Event()

    async def _lost(self, room_id: str, pid: str) -> None:
        self.out.send(("lost", room_id, pid))

    async def run(self) -> None:
        self.out.start()
        await self.engine.start()
        loop = asyncio.get_running_loop()
        loop.add_reader(self.conn.fileno(), self._readable)
        pusher = asyncio.create_task(self._push_stats())
        try:
            await self.done.wait()
        finally:
            loop.remove_reader(self.conn.fileno())
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            for task in list(self.tasks):
                task.cancel()
            await self.engine.stop()
            self.out.send(("stopped",))
            await self.out.stop()

    def _readable(self) -> None:
        try:
            msg = self.conn.recv()
        except EOFError:
            self.done.set()
            return
        kind = msg[0]
        if kind == "caps":  # synchronous, no reply: effective before the next packet is read
            _, room_id, pid, may_speak, may_show_video, audience = msg
            with contextlib.suppress(CircleError):
                self.engine.set_capabilities(
                    room_id,
                    pid,
                    may_speak=may_speak,
                    may_show_video=may_show_video,
                    audience=audience,
                )
        elif kind == "view":  # like caps: no reply, in order with the packets
            _, room_id, pid, tiles = msg
            with contextlib.suppress(CircleError):
                self.engine.set_view(room_id, pid, {k: TileSize(v) for k, v in tiles.items()})
        elif kind == "call":
            task = asyncio.create_task(self._call(*msg[1:]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif kind == "stop":
            self.done.set()

    async def _call(self, call_id: int, method: str, args: tuple[Any, ...]) -> None:
        try:
            if method == "add_participant":
                room_id, pid = args

                async def send(event: str, payload: dict[str, Any]) -> None:
                    self.out.send(("signal", room_id, pid, event, payload))

                await self.engine.add_participant(room_id, pid, send)
            elif method == "handle_candidate":
                room_id, pid, (cand, mid, index) = args
                await self.engine.handle_candidate(room_id, pid, IceCandidate(cand, mid, index))
            elif method in ("open_room", "close_room", "remove_participant", "handle_answer"):
                await getattr(self.engine, method)(*args)
            else:
                raise NotFound(f"unknown media call {method}")
            self.out.send(("reply", call_id, True, None))
        except Exception as exc:
            if not isinstance(exc, CircleError):
                logger.exception("media worker call %s failed", method)
            self.out.send(("reply", call_id, False, _error_to_wire(exc)))

    async def _push_stats(self) -> None:
        while True:
            snapshot = {rid: self.engine.stats(rid) for rid in self.engine.room_ids()}
            self.out.send(("stats", snapshot, self.engine.socket_stats()))
            await asyncio.sleep(self.stats_interval_s)


# --- main side --------------------------------------------------------------------------------
class _WorkerHandle:
    def __init__(self, index: int, process: Any, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.out = PipeWriter(conn)
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.stats: dict[str, RoomMediaStats] = {}
        self.socket_stats: tuple[MediaSocketStats, ...] = ()
        self.stopped = asyncio.Event()


class ShardedMediaEngine:
    """``MediaEngine`` over ``workers`` processes (see the module docstring)."""

    def __init__(
        self,
        settings: SfuSettings | None = None,
        *,
        workers: int = 2,
        on_media_lost: MediaLost | None = None,
        stats_interval_s: float = 1.0,
    ) -> None:
        self.settings = settings or SfuSettings()
        self.workers = max(1, workers)
        self._on_media_lost = on_media_lost
        self._stats_interval_s = stats_interval_s
        self._handles: list[_WorkerHandle] = []
        self._senders: dict[tuple[str, str], SignalSender] = {}
        self._ids = itertools.count(1)
        self._signal_tasks: set[asyncio.Task[None]] = set()
        self._last_delivery: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def start(self) -> None:
        if self._handles:
            return
        ctx = mp.get_context("spawn")  # never fork a process that runs an event loop
        loop = asyncio.get_running_loop()
        for i in range(self.workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(child, worker_settings(self.settings, i), self._stats_interval_s),
                name=f"media-worker-{i}",
                daemon=True,
            )
            proc.start()
            child.close()
            handle = _WorkerHandle(i, proc, parent)
            handle.out.start()
            loop.add_reader(parent.fileno(), self._readable, handle)
            self._handles.append(handle)

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for h in self._handles:
            h.out.send(("stop",))
        for h in self._handles:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(h.stopped.wait(), timeout=10)
            loop.remove_reader(h.conn.fileno())
            await h.out.stop()
            await asyncio.to_thread(h.process.join, 5)
            if h.process.is_alive():
                h.process.kill()
            h.conn.close()
            for fut in h.pending.values():
                if not fut.done():
                    fut.set_exception(CircleError("media worker stopped", code=ErrorCode.INTERNAL))
        for task in list(self._signal_tasks):
            task.cancel()
        self._handles = []

    # --- the port --------------------------------------------------------------------------
    async def open_room(self, room_id: str, credentials_until: float | None = None) -> None:
        await self._call(room_id, "open_room", room_id, credentials_until)

    async def close_room(self, room_id: str) -> None:
        await self._call(room_id, "close_room", room_id)
        for key in [k for k in self._senders if k[0] == room_id]:
            del self._senders[key]

    async def add_participant(self, room_id: str, participant_id: str, send: SignalSender) -> None:
        self._senders[(room_id, participant_id)] = send
        await self._call(room_id, "add_participant", room_id, participant_id)

    async def remove_participant(self, room_id: str, participant_id: str) -> None:
        await self._call(room_id, "remove_participant", room_id, participant_id)
        self._senders.pop((room_id, participant_id), None)

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None:
        await self._call(room_id, "handle_answer", room_id, participant_id, sdp)

    async def handle_candidate(
        self, room_id: str, participant_id: str, candidate: IceCandidate
    ) -> None:
        wire = (candidate.candidate, candidate.sdp_mid, candidate.sdp_mline_index)
        await self._call(room_id, "handle_candidate", room_id, participant_id, wire)

    def set_capabilities(
        self,
        room_id: str,
        participant_id: str,
        *,
        may_speak: bool,
        may_show_video: bool,
        audience: frozenset[str] | None = None,
    ) -> None:
        handle = self._handle(room_id)
        handle.out.send(("caps", room_id, participant_id, may_speak, may_show_video, audience))

    def set_view(self, room_id: str, participant_id: str, tiles: Mapping[str, TileSize]) -> None:
        wire = {pid: str(size) for pid, size in tiles.items()}
        self._handle(room_id).out.send(("view", room_id, participant_id, wire))

    def stats(self, room_id: str) -> RoomMediaStats:
        snapshot = self._handle(room_id).stats.get(room_id)
        if snapshot is None:
            raise NotFound(f"no media stats for room {room_id} yet")
        return snapshot

    def socket_stats(self) -> tuple[MediaSocketStats, ...]:
        return tuple(s for h in self._handles for s in h.socket_stats)

    def set_media_lost_handler(self, handler: MediaLost | None) -> None:
        self._on_media_lost = handler

    # --- plumbing --------------------------------------------------------------------------
    def _handle(self, room_id: str) -> _WorkerHandle:
        if not self._handles:
            raise CircleError("media engine not started", code=ErrorCode.INTERNAL)
        return self._handles[shard_of(room_id, len(self._handles))]

    async def _call(self, room_id: str, method: str, *args: Any) -> Any:
        handle = self._handle(room_id)
        call_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        handle.pending[call_id] = fut
        handle.out.send(("call", call_id, method, args))
        try:
            return await fut
        finally:
            handle.pending.pop(call_id, None)

    def _readable(self, handle: _WorkerHandle) -> None:
        try:
            msg = handle.conn.recv()
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(handle.conn.fileno())
            handle.stopped.set()
            return
        kind = msg[0]
        if kind == "reply":
            _, call_id, ok, value = msg
            fut = handle.pending.get(call_id)
            if fut is not None and not fut.done():
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(_error_from_wire(*value))
        elif kind == "signal":
            _, room_id, pid, event, payload = msg
            send = self._senders.get((room_id, pid))
            if send is not None:
                self._spawn((room_id, pid), send(event, payload))
        elif kind == "lost":
            _, room_id, pid = msg
            self._senders.pop((room_id, pid), None)
            if self._on_media_lost is not None:
                self._spawn((room_id, pid), self._on_media_lost(room_id, pid))
        elif kind == "stats":
            _, handle.stats, sockets = msg
            handle.socket_stats = tuple(
                dataclasses.replace(s, worker=handle.index) for s in sockets
            )
        elif kind == "stopped":
            handle.stopped.set()

    def _spawn(self, key: tuple[str, str], coro: Any) -> None:
        """Deliveries to the signaling side run as tasks owned (and cancelled) by the engine;
        per participant each waits for the previous one, so offers keep the pipe's order."""
        previous = self._last_delivery.get(key)

        async def deliver() -> None:
            if previous is not None and not previous.done():
                with contextlib.suppress(Exception):
                    await asyncio.shield(previous)
            await coro

        task = asyncio.create_task(deliver())
        self._last_delivery[key] = task
        self._signal_tasks.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._signal_tasks.discard(task)
        for key, last in list(self._last_delivery.items()):
            if last is task:
                del self._last_delivery[key]
        if not task.cancelled() and task.exception() is not None:
            logger.warning("media signal delivery failed: %r", task.exception())
