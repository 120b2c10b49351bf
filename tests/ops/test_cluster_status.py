"""``circle cluster status`` (server/cli_cluster.py): nodes, their rooms, lease and heartbeat
ages, read from the database and Redis as every node writes them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import redis.asyncio as aioredis
from sqlalchemy import Table

from server.cli_cluster import cluster_status
from server.db.engine import Database
from server.db.models import RoomLease
from server.domain import GroupRole
from tests.conftest import SECRET, make_settings, require_redis
from tests.fakes_rooms import ManualClock
from tests.signaling.conftest import Server, seed

ROOT = Path(__file__).resolve().parents[2]
ROOM_LEASES = cast(Table, RoomLease.__table__)  # the mapped class's Core table


async def circle(
    *args: str, db_url: str, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """The command in a subprocess, waited for in a thread: the test's event loop keeps serving
    the node (its heartbeats), which a blocking wait would stall past the heartbeat's TTL on a
    loaded machine (the node then reads as dead)."""
    full = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CIRCLE_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": SECRET,
        "DATABASE_URL": db_url,
        **env,
    }
    if "REDIS_URL" not in env:
        full.pop("REDIS_URL", None)
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
        check=False,
    )


async def test_live_rooms_their_nodes_and_lease_ages(sqlite_url: str, tmp_path: Path) -> None:
    world = await seed(sqlite_url, members=1)
    clock = ManualClock(time.time_ns() // 1_000_000)
    require_redis()
    redis_url, channel = "redis://127.0.0.1:6379/0", f"test-cluster-{uuid.uuid4().hex[:8]}"
    a = Server(
        world,
        tmp_path / "a",
        clock,
        None,
        redis_url=redis_url,
        settings={"node_id": "node-a", "redis_channel": channel},
    )
    await a.start()
    try:
        leader = a.peer(world.leader, GroupRole.LEADER)
        await leader.enter()
        settings = make_settings(sqlite_url, tmp_path, redis_url=redis_url, redis_channel=channel)
        status = await cluster_status(settings)
        assert status is not None and status.healthy and status.heartbeats == "redis"
        (node,) = status.nodes
        assert (node.node, node.rooms, node.alive) == ("node-a", [world.session_id], True)
        assert node.heartbeat_age_s is not None and node.heartbeat_age_s < 3  # beats every 1 s
        (room,) = status.rooms
        assert room.node == "node-a" and room.status == "open"
        assert 0 <= room.lease_age_s < 10.5 and 19.5 < room.lease_left_s <= 30  # renewed every 10 s
        assert room.saved_age_s is not None and 0 <= room.saved_age_s < 30

        # The command itself, as an operator runs it.
        env = {"REDIS_URL": redis_url, "CIRCLE_REDIS_CHANNEL": channel}
        r = await circle("cluster", "status", db_url=sqlite_url, tmp_path=tmp_path, **env)
        assert r.returncode == 0, r.stderr
        assert "node-a" in r.stdout and f"session {world.session_id}" in r.stdout
        r = await circle("cluster", "status", "--json", db_url=sqlite_url, tmp_path=tmp_path, **env)
        body = json.loads(r.stdout)
        assert body["ok"] is True and body["rooms"][0]["node"] == "node-a"
        assert body["nodes"][0]["alive"] is True
    finally:
        await leader.close()
        await a.stop()

    # A lease that ran out (a crashed node nobody took over yet) is reported, exit code 1.
    db = Database(sqlite_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                ROOM_LEASES.insert().values(
                    session_id=world.session_id,
                    owner="node-b",
                    lease_until=datetime.now(UTC) - timedelta(seconds=12),
                )
            )
    finally:
        await db.dispose()
    r = await circle("cluster", "status", "--json", db_url=sqlite_url, tmp_path=tmp_path)
    assert r.returncode == 1
    room = json.loads(r.stdout)["rooms"][0]
    assert room["node"] == "node-b" and room["expired"] is True
    assert 11 < -room["lease_left_s"] < 120 and room["lease_age_s"] > 40  # (a slow host)


async def test_heartbeats_from_redis(sqlite_url: str, tmp_path: Path) -> None:
    require_redis()
    channel = f"test-cluster-{uuid.uuid4().hex[:8]}"
    redis_url = "redis://127.0.0.1:6379/0"
    world = await seed(sqlite_url, members=1)
    db = Database(sqlite_url)
    now = datetime.now(UTC)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                ROOM_LEASES.insert().values(
                    session_id=world.session_id,
                    owner="node-1",
                    lease_until=now + timedelta(seconds=20),
                )
            )
    finally:
        await db.dispose()
    client = aioredis.from_url(redis_url)
    now_ms = int(now.timestamp() * 1000)
    try:
        # node-1 beats (its key lives heartbeat_ttl_s), node-2 is alive without rooms, node-3
        # died 40 s ago (its key expired; its last beat stays).
        for node, ago in (("node-1", 1500), ("node-2", 300), ("node-3", 40_000)):
            await client.set(f"{channel}:seen:{node}", str(now_ms - ago), ex=60)
        await client.set(f"{channel}:node:node-1", str(now_ms - 1500), ex=60)
        await client.set(f"{channel}:node:node-2", str(now_ms - 300), ex=60)
        settings = make_settings(sqlite_url, tmp_path, redis_url=redis_url, redis_channel=channel)
        status = await cluster_status(settings, now=now)
        assert status is not None and status.heartbeats == "redis" and status.healthy
        ages = {n.node: (n.heartbeat_age_s, n.alive, n.rooms) for n in status.nodes}
        assert ages == {
            "node-1": (1.5, True, [world.session_id]),
            "node-2": (0.3, True, []),
            "node-3": (40.0, False, []),
        }
        assert status.rooms[0].lease_age_s == 10.0

        # The node holding the room stops beating (its key expires): reported, not healthy.
        await client.delete(f"{channel}:node:node-1")
        await client.set(f"{channel}:seen:{'node-1'}", str(now_ms - 30_000), ex=60)
        status = await cluster_status(settings, now=now)
        assert status is not None and not status.healthy
        assert "30.0 s ago  DEAD" in status.as_text()
    finally:
        keys = [f"{channel}:{kind}:node-{i}" for kind in ("node", "seen") for i in (1, 2, 3)]
        await client.delete(*keys)
        await client.aclose()
