"""Two server processes on one database (scale-out without session-sticky routing): the
second refuses a room the first runs, with ``wrong_node``, instead of running a second copy;
once the first is gone, the second restores the room where it stood."""

from __future__ import annotations

import time
from pathlib import Path

from server.domain import GroupRole
from tests.fakes_rooms import ManualClock

from .conftest import Server, seed


async def test_a_room_runs_in_one_process_only(sqlite_url: str, tmp_path: Path) -> None:
    world = await seed(sqlite_url, members=2)
    clock = ManualClock(time.time_ns() // 1_000_000)
    a = Server(world, tmp_path / "a", clock, None, settings={"node_id": "node-a"})
    b = Server(world, tmp_path / "b", clock, None, settings={"node_id": "node-b"})
    await a.start()
    await b.start()
    try:
        leader = a.peer(world.leader, GroupRole.LEADER)
        presenter = a.peer(world.members[0])
        await leader.enter()
        await presenter.enter()
        assert (
            await leader.call(
                "protocol.command", {"command": "set_presenter", "person_id": str(world.members[0])}
            )
        )["ok"]
        member = b.peer(world.members[1])
        await member.connect()
        refused = await member.call("hello", {"v": 1})
        assert refused["ok"] is False and refused["error"]["code"] == "wrong_node"
        await leader.close()
        await presenter.close()
        await a.stop()  # a clean stop hands the room on
        again = b.peer(world.members[1])
        snapshot = await again.enter()
        assert snapshot["presenter_id"] == str(world.members[0])
    finally:
        for p in [*a.peers, *b.peers]:
            await p.close()
        await a.stop()
        await b.stop()
