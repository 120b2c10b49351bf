"""Scale-out by configuration: with REDIS_URL set, two server processes share Socket.IO rooms.

A room's owner task lives in one process (joins for a session are routed to it, see
docs/deployment.md); what another process emits to that room (the scheduler ending a session,
an operator notice) still reaches every participant through python-socketio's Redis manager.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from aiohttp import web

from server.appkeys import SIO_KEY
from server.domain import GroupRole
from server.signaling.broadcaster import SioBroadcaster
from tests.conftest import REDIS_URL, make_settings, require_redis, start_app
from tests.signaling.conftest import NS, Peer, seed


async def test_an_emit_in_one_process_reaches_clients_of_another(sqlite_url: str, tmp_path: Path):
    require_redis()
    w = await seed(sqlite_url, members=2)
    channel = f"circle-test-{uuid.uuid4().hex[:8]}"
    runners: list[web.AppRunner] = []
    peer: Peer | None = None
    try:
        lives = []
        for i in range(2):
            settings = make_settings(
                sqlite_url, tmp_path / str(i), redis_url=REDIS_URL, redis_channel=channel
            )
            runner, live = await start_app(settings)
            runners.append(runner)
            lives.append(live)
        peer = Peer(lives[0].url, w.members[0], w.session_id, GroupRole.MEMBER)
        await peer.enter()
        other = SioBroadcaster(lives[1].app[SIO_KEY], NS)
        await other.to_room(w.session_id, "room.ended", {"reason": "from process two"})
        assert await peer.event("room.ended") == {"reason": "from process two"}
    finally:
        if peer is not None:
            await peer.close()
        for runner in runners:
            await runner.cleanup()
