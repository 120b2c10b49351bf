"""Draining on SIGTERM (server/signaling/drain.py), two processes on one database and Redis:
readiness goes false first and new connections are refused for now (``room_moving``), while
members carry on; then the room is handed over (no leave), every websocket is closed by the
server, and the other process restores the room where it stood."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import socketio
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AttendanceEvent, RoomLease
from server.domain import AttendanceKind
from server.signaling import SIGNALING_KEY
from server.signaling.drain import drain
from tests.conftest import REDIS_URL, require_redis
from tests.fakes_rooms import ManualClock

from .conftest import Server, seed


async def _kinds(url: str, session_id: int) -> list[AttendanceKind]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            rows = await s.scalars(
                select(AttendanceEvent.kind)
                .where(AttendanceEvent.session_id == session_id)
                .order_by(AttendanceEvent.id)
            )
            return list(rows)
    finally:
        await db.dispose()


async def test_drain_hands_the_room_over_without_a_leave(sqlite_url: str, tmp_path: Path) -> None:
    require_redis()
    world = await seed(sqlite_url, members=2)
    clock = ManualClock(time.time_ns() // 1_000_000)
    channel = f"circle-test-{uuid.uuid4().hex[:8]}"
    common = {"redis_channel": channel}
    a = Server(
        world, tmp_path / "a", clock, None, redis_url=REDIS_URL, settings={"node_id": "a", **common}
    )
    b = Server(
        world, tmp_path / "b", clock, None, redis_url=REDIS_URL, settings={"node_id": "b", **common}
    )
    await a.start()
    await b.start()
    try:
        member = a.peer(world.members[0])
        await member.enter()
        assert a.runner is not None
        svc = a.runner.app[SIGNALING_KEY]
        draining = asyncio.create_task(drain(svc, 1.0))
        await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http, http.get(f"{a.url}/readyz") as resp:
            assert resp.status == 503
            assert (await resp.json())["status"] == "draining"
        # members carry on during the notice
        assert (await member.call("hand.raise", {}))["ok"]
        late = a.peer(world.members[1])
        refusal: dict[str, object] = {}
        late.sio.on("connect_error", lambda data: refusal.update(data), namespace="/room")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect()
        assert refusal["data"] == {"code": "room_moving", "message": refusal["message"]}
        rooms, closed = await draining
        assert (rooms, closed) == (1, 1)
        for _ in range(100):  # the server closed the websocket
            if not member.sio.connected:
                break
            await asyncio.sleep(0.05)
        assert not member.sio.connected
        db = Database(sqlite_url)
        try:
            async with db.sessionmaker() as s:
                assert await s.scalar(select(RoomLease.owner)) is None
        finally:
            await db.dispose()
        again = b.peer(world.members[0])
        snap = await again.enter()
        assert snap["hands"] == [str(world.members[0])]  # the room where it stood
        kinds = await _kinds(sqlite_url, world.session_id)
        assert kinds == [AttendanceKind.JOIN, AttendanceKind.DISCONNECT, AttendanceKind.RECONNECT]
    finally:
        for p in [*a.peers, *b.peers]:
            await p.close()
        await a.stop()
        await b.stop()
