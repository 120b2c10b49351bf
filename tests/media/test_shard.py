"""Rooms sharded across worker processes: a join reaches the room's worker over a pipe."""

from __future__ import annotations

import pytest

from server.bots.client import MediaClient
from server.errors import UserError
from server.media.ice import IceSettings
from server.media.port import IceCandidate, TileSize
from server.media.sfu import SfuSettings
from server.media.shard import ShardedMediaEngine, shard_of
from tests.media.harness import Clips, wait_until

pytestmark = pytest.mark.media


def test_rooms_spread_over_workers_stably() -> None:
    rooms = [f"session-{i}" for i in range(40)]
    placement = [shard_of(r, 2) for r in rooms]
    assert set(placement) == {0, 1}
    assert placement == [shard_of(r, 2) for r in rooms]


async def test_sharded_engine_forwards_gates_and_refuses(clips: Clips) -> None:
    rooms = ["session-a", "session-d"]
    assert shard_of(rooms[0], 2) != shard_of(rooms[1], 2)  # one room per worker
    engine = ShardedMediaEngine(
        SfuSettings(ice=IceSettings.loopback()), workers=2, stats_interval_s=0.2
    )
    await engine.start()
    clients: list[MediaClient] = []
    try:
        for room in rooms:
            await engine.open_room(room)
            for pid in ("x", "y"):
                c = MediaClient(pid, audio=clips.audio, video=clips.video)
                clients.append(c)

                async def deliver(sdp: str, _r: str = room, _p: str = pid) -> None:
                    await engine.handle_answer(_r, _p, sdp)

                c.start(deliver)
                await engine.add_participant(room, pid, c.signal)
        xa, ya, xb, yb = clients
        await wait_until(
            lambda: all(
                c.frames_from(o, "video") >= 5
                for c, o in ((xa, "y"), (ya, "x"), (xb, "y"), (yb, "x"))
            ),
            20,
            "media in both rooms",
        )
        # each worker's shared socket is counted in the worker and reaches this process,
        # numbered by worker
        await wait_until(
            lambda: sorted(s.worker for s in engine.socket_stats() if s.received > 0) == [0, 1],
            5,
            "both workers' socket counters",
        )
        assert all(s.unknown == s.filtered == s.send_dropped == 0 for s in engine.socket_stats())
        # a view crosses the pipe (the worker maps it to caps; nothing to answer)
        engine.set_view(rooms[0], "x", {"y": TileSize.SMALL})
        # the gate works across the pipe
        engine.set_capabilities(rooms[0], "x", may_speak=False, may_show_video=True)
        await wait_until(
            lambda: engine.stats(rooms[0]).dropped_packets > 0, 5, "x's audio dropped in room a"
        )
        assert engine.stats(rooms[1]).dropped_packets == 0
        # expected errors cross the pipe with their type
        with pytest.raises(UserError):
            await engine.handle_candidate(rooms[1], "x", IceCandidate("garbage", "0", 0))
        with pytest.raises(UserError):
            await engine.handle_answer(rooms[1], "x", "not sdp")
        await engine.remove_participant(rooms[1], "y")
        await wait_until(lambda: engine.stats(rooms[1]).participants == 1, 5, "y removed")
    finally:
        for c in clients:
            await c.stop()
        await engine.stop()
