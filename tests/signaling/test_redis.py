"""With REDIS_URL set, fan-out goes through Socket.IO's Redis manager."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from server.domain import GroupRole
from tests.conftest import REDIS_URL, require_redis
from tests.fakes_rooms import ManualClock

from .conftest import Server, seed

pytestmark = pytest.mark.redis


async def test_a_phase_change_through_redis(sqlite_url: str, tmp_path: Path) -> None:
    require_redis()
    world = await seed(sqlite_url, members=2)
    server = Server(
        world,
        tmp_path,
        ManualClock(time.time_ns() // 1_000_000),
        None,
        redis_url=REDIS_URL,
        # A channel of its own: other test runs may share this Redis at the same time.
        settings={"redis_channel": f"circle-test-{uuid.uuid4().hex[:8]}"},
    )
    await server.start()
    try:
        leader = server.peer(world.leader, GroupRole.LEADER)
        member = server.peer(world.members[0])
        await leader.enter()
        await member.enter()
        assert (
            await leader.call(
                "protocol.command", {"command": "set_presenter", "person_id": str(member.person_id)}
            )
        )["ok"]
        assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
        snap = await member.until(lambda s: s["phase"] == "presentation")
        assert snap["presenter_id"] == str(member.person_id)
        assert (await leader.call("leader.note", {"text": "via redis"}))["ok"]
        assert (await leader.event("room.note"))["text"] == "via redis"
    finally:
        for p in server.peers:
            await p.close()
        await server.stop()
