"""Node heartbeats in Redis (server/signaling/cluster.py): beaten from a thread, so a process
whose event loop stalls still counts as alive (it is never robbed of its rooms); a process that
stopped beating is dead at once; one never seen beating is taken as alive (its leases decide)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import redis

from server.signaling.cluster import ClusterLink
from server.signaling.context import Services
from tests.conftest import REDIS_URL, SECRET, require_redis


def _link(prefix: str, node: str) -> ClusterLink:
    svc = Services(sio=None, secret=SECRET, clock=None)  # type: ignore[arg-type]
    return ClusterLink(svc, REDIS_URL, prefix, node, beat_s=0.2, ttl_s=1.0)


async def test_alive_while_beating_dead_once_stopped_unknown_is_alive() -> None:
    require_redis()
    prefix = f"circle-test-{uuid.uuid4().hex[:8]}"
    a, b = _link(prefix, "node-a"), _link(prefix, "node-b")
    await a.start()
    await b.start()
    try:
        assert await b.alive("node-a")
        assert await b.alive("never-seen")  # no heartbeat ever: its lease decides
        seen = await b.last_seen_ms("node-a")
        assert seen is not None and abs(seen - time.time() * 1000) < 2000
        await a.stop()
        assert not await b.alive("node-a")
        assert await b.last_seen_ms("node-a") is not None
    finally:
        await b.stop()


async def test_a_stalled_event_loop_keeps_beating() -> None:
    """The loop is blocked for three times the heartbeat's time to live; the key stays."""
    require_redis()
    prefix = f"circle-test-{uuid.uuid4().hex[:8]}"
    a = _link(prefix, "node-a")
    await a.start()
    seen_alive: list[bool] = []
    stop = threading.Event()

    def watch() -> None:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            while not stop.wait(0.1):
                seen_alive.append(bool(client.exists(f"{prefix}:node:node-a")))
        finally:
            client.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        time.sleep(3.0)  # noqa: ASYNC251 (the point: the event loop does nothing else)
    finally:
        stop.set()
        watcher.join()
        await a.stop()
    assert len(seen_alive) > 10 and all(seen_alive)
    await asyncio.sleep(0)
