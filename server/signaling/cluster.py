"""This process among the others of a cluster, over Redis (docs/deployment.md).

* **Heartbeat.** A thread (not the event loop) writes ``<prefix>:node:<node id>`` every
  ``beat_s`` with a time to live of ``ttl_s``, and ``<prefix>:seen:<node id>``, the last beat's
  wall-clock time, kept a day. The key disappears ``ttl_s`` after the process dies (kill -9, a
  crash, the host gone), and only then: a process whose event loop is slow still beats, so it
  is never taken for dead; its rooms can only be taken over when their leases run out.
* **Handover requests.** A process that must run a room another live process holds (the
  proxy sends the room's connections to it) asks the holder on ``<prefix>:rooms``; the holder
  saves the room, gives its lease up and closes the room's websockets here, so the members
  reconnect through the proxy to the asking process (server.rooms.manager).
* **Refresh.** A change to a session made on any process (a coordinator's cancel, the
  scheduler's start or close) is published; the process running the room re-reads the session
  and follows (a cancelled room ends for its members at once).

Messages are small JSON objects, validated before use; a malformed one is logged and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Any

import redis
import redis.asyncio as aioredis

from server.rooms.commands import Refresh

from .context import NAMESPACE, Services

log = logging.getLogger(__name__)

CLOSE_MOVING = 1012  # "service restart": browsers close the websocket and socket.io reconnects


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ClusterLink:
    """Implements :class:`server.rooms.ports.Peers` for the room manager."""

    def __init__(
        self,
        svc: Services,
        redis_url: str,
        prefix: str,
        node_id: str,
        *,
        beat_s: float = 1.0,
        ttl_s: float = 3.0,
    ) -> None:
        self._svc = svc
        self._url = redis_url
        self._redis: Any = aioredis.from_url(redis_url)
        self._prefix = prefix
        self._channel = f"{prefix}:rooms"
        self.node_id = node_id
        self._beat_s = beat_s
        self._ttl_ms = int(ttl_s * 1000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._jobs: set[asyncio.Task[Any]] = set()

    def _node_key(self, node_id: str) -> str:
        return f"{self._prefix}:node:{node_id}"

    def _seen_key(self, node_id: str) -> str:
        return f"{self._prefix}:seen:{node_id}"

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.clear()
        self._beat_once(redis.Redis.from_url(self._url))  # alive before any room opens here
        self._thread = threading.Thread(target=self._beat, name="node-heartbeat", daemon=True)
        self._thread.start()
        self._task = asyncio.create_task(self._listen(), name="cluster-link")
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        """A clean stop: no more beats, and the key goes at once (the leases are released)."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
            self._thread = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for job in list(self._jobs):
            job.cancel()
        with contextlib.suppress(Exception):
            await self._redis.delete(self._node_key(self.node_id))
        await self._redis.aclose()

    def _beat_once(self, client: Any) -> None:
        now = _wall_ms()
        pipe = client.pipeline(transaction=False)
        pipe.set(self._node_key(self.node_id), now, px=self._ttl_ms)
        pipe.set(self._seen_key(self.node_id), now, ex=86_400)
        pipe.execute()

    def _beat(self) -> None:
        client = redis.Redis.from_url(self._url, socket_timeout=self._beat_s)
        try:
            while not self._stop.wait(self._beat_s):
                try:
                    self._beat_once(client)
                except Exception as exc:  # Redis away: the others cannot see us either
                    log.warning("heartbeat failed: %s", type(exc).__name__)
        finally:
            client.close()

    # --- Peers -------------------------------------------------------------------------------

    async def alive(self, node_id: str) -> bool:
        """Dead only when it has beaten before and stopped: a node never seen beating (one
        without Redis, or a version before heartbeats, during a rolling upgrade) keeps its
        rooms until their leases run out."""
        try:
            beating, seen = (
                await self._redis.exists(self._node_key(node_id)),
                await self._redis.exists(self._seen_key(node_id)),
            )
        except Exception:
            log.warning("heartbeat of %s unreadable; taken as alive", node_id)
            return True  # never rob a holder we cannot see
        return bool(beating) or not seen

    async def last_seen_ms(self, node_id: str) -> int | None:
        try:
            raw = await self._redis.get(self._seen_key(node_id))
            return int(raw) if raw is not None else None
        except Exception:
            return None

    async def ask_handover(self, session_id: int, holder: str, to: str) -> None:
        await self._publish({"t": "handover", "s": session_id, "holder": holder, "to": to})

    async def refresh(self, session_id: int) -> None:
        """Tell whichever process runs the room that its session changed."""
        await self._publish({"t": "refresh", "s": session_id, "from": self.node_id})

    async def _publish(self, message: dict[str, Any]) -> None:
        try:
            await self._redis.publish(self._channel, json.dumps(message))
        except Exception:
            log.exception("publishing %s failed", message.get("t"))

    # --- hearing the others -------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._apply(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster channel lost (%s); resubscribing", type(exc).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _apply(self, data: Any) -> None:
        try:
            m = json.loads(data)
            kind, session_id = m["t"], m["s"]
            if kind not in ("handover", "refresh") or type(session_id) is not int:
                raise ValueError(kind)
            holder = m.get("holder")
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed cluster message")
            return
        manager = self._svc.manager
        if manager is None:
            return
        if kind == "refresh":
            room = manager.peek(session_id)
            if room is not None:
                room.post(Refresh())
        elif holder == self.node_id:
            job = asyncio.create_task(manager.hand_over(session_id), name=f"handover-{session_id}")
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)


async def let_go(svc: Services, session_id: int | None = None) -> int:
    """Close this process's websockets (of one session, or all) the way browsers honour:
    the websocket itself, with 1012, so socket.io reconnects through the proxy at once (an
    Engine.IO close packet alone is ignored by the browser's transport until its ping times
    out). Returns how many were closed."""
    closed = 0
    for conn in list(svc.conns.values()):
        if session_id is not None and conn.session_id != session_id:
            continue
        conn.joined = False
        await close_transport(svc, conn.sid)
        closed += 1
    return closed


async def close_transport(svc: Services, sid: str) -> None:
    eio_sid = svc.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
    if eio_sid is None:
        return
    websockets = getattr(svc.sio.eio, "websockets", {})
    ws = websockets.get(eio_sid)
    try:
        if ws is not None:
            await ws.close_with_reason("moving to another server", code=CLOSE_MOVING)
        elif eio_sid in svc.sio.eio.sockets:
            await svc.sio.eio.disconnect(eio_sid)
    except Exception:
        log.warning("closing connection %s failed", sid, exc_info=True)
