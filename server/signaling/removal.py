"""Taking a person out of live rooms when they may no longer be there.

Withdrawal from the group, deactivation and a changed role reach every live room at once:
``remove_from_rooms`` (the app's ``REMOVER_KEY``) acts on this process's rooms and connections and, with Redis, publishes
the removal so every other process does the same for its own. There the person is evicted
from the room (roster, media, attendance noted), told why (``room.removed`` with the error
code ``removed`` and the reason) and their sockets are closed. ``hello`` and ``join`` check
the same facts again (server/signaling/session.py), so a join token minted before the
removal no longer gets anyone in, on any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

import redis.asyncio as aioredis

from server.domain import RemovalReason
from server.errors import CircleError, ErrorCode, PermissionDenied
from server.rooms.commands import Evict

from .context import NAMESPACE, Services

log = logging.getLogger(__name__)


MESSAGES = {
    RemovalReason.WITHDRAWN: "You are no longer enrolled in this group.",
    RemovalReason.DEACTIVATED: "Your account has been deactivated.",
    RemovalReason.ROLE_CHANGED: "Your role in this group has changed; join again.",
}


def removed_error(reason: RemovalReason) -> PermissionDenied:
    return PermissionDenied(MESSAGES[reason], code=ErrorCode.REMOVED, reason=reason.value)


async def evict_here(
    svc: Services, person_id: int, session_ids: list[int] | None, reason: RemovalReason
) -> int:
    """Evict ``person_id`` from this process's rooms (all, or those of ``session_ids``) and
    close their connections there; returns how many connections were closed."""
    wanted = None if session_ids is None else set(session_ids)
    if svc.manager is not None:
        for session_id, room in svc.manager.rooms.items():
            if wanted is not None and session_id not in wanted:
                continue
            if person_id in room.participants:
                with contextlib.suppress(CircleError):
                    await room.submit(Evict(person_id=person_id, reason=reason.value))
    closed = 0
    body = {"ok": False, "error": removed_error(reason).to_wire()}
    for conn in svc.conns_of(person_id):
        if wanted is not None and conn.session_id not in wanted:
            continue
        conn.joined = False
        await svc.sio.emit("room.removed", body, to=conn.sid, namespace=NAMESPACE)
        await svc.sio.disconnect(conn.sid, namespace=NAMESPACE)
        closed += 1
    return closed


async def remove_from_rooms(
    svc: Services, person_id: int, session_ids: list[int] | None, reason: RemovalReason
) -> None:
    """Take ``person_id`` out of the live rooms of ``session_ids`` (all when None), on this
    process now and, through Redis, on the others (``REMOVER_KEY`` in server/appkeys.py)."""
    try:
        closed = await evict_here(svc, person_id, session_ids, reason)
    except Exception:
        log.exception("removing person %s from live rooms failed", person_id)
        closed = 0
    log.info("person %s out of live rooms here (%s): %d connections", person_id, reason, closed)
    if svc.fanout is not None:
        await svc.fanout.publish(person_id, session_ids, reason)


class RemovalFanout:
    """Removals between processes on a Redis channel; each applies them to its own rooms."""

    def __init__(self, svc: Services, redis_url: str, channel: str, node_id: str) -> None:
        self._svc = svc
        self._redis: Any = aioredis.from_url(redis_url)
        self._channel = channel
        self._node = f"{node_id}/{secrets.token_hex(6)}"  # this process, even on one host
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="room-removals")
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._redis.aclose()

    async def publish(
        self, person_id: int, session_ids: list[int] | None, reason: RemovalReason
    ) -> None:
        message = {"from": self._node, "p": person_id, "s": session_ids, "r": reason.value}
        try:
            await self._redis.publish(self._channel, json.dumps(message))
        except Exception:
            log.exception("publishing a removal failed (other processes refuse at hello/join)")

    async def _listen(self) -> None:
        """Subscribe and apply removals; a lost Redis connection is retried every second."""
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._apply(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("removals channel lost (%s); resubscribing", type(exc).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _apply(self, data: Any) -> None:
        try:
            m = json.loads(data)
            if m.get("from") == self._node:
                return
            person_id, session_ids = m["p"], m["s"]
            reason = RemovalReason(m["r"])
            if not isinstance(person_id, int) or not (
                session_ids is None
                or (isinstance(session_ids, list) and all(isinstance(i, int) for i in session_ids))
            ):
                raise ValueError("bad removal message")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignored a malformed removal message")
            return
        try:
            await evict_here(self._svc, person_id, session_ids, reason)
        except Exception:
            log.exception("applying a removal from another process failed")
