"""The session's life through the real server (issue 11): the pre-join page opens nothing, a
coordinator cancels in the lobby, nothing overwrites ``cancelled``, a fenced save that fails
tells nobody anything."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from server.db.engine import Database
from server.db.models import RoomLease, ScheduledSession, utcnow
from server.domain import GroupRole, SessionStatus
from server.scheduling import changes
from server.scheduling.api import SERVICE_KEY
from server.scheduling.plan import SchedulingConfig

from .conftest import Server, make_server


async def _cancel(server: Server, *, announce: bool) -> None:
    """A coordinator's cancel (the same code as the REST endpoint), written to the database;
    ``announce``: this node's scheduler hook tells the rooms (else: another process wrote it)."""
    db = Database(server.world.db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await changes.cancel_session(
                s, server.world.session_id, actor_id=None, cfg=SchedulingConfig(), now=utcnow()
            )
    finally:
        await db.dispose()
    if announce:
        assert server.runner is not None
        await server.runner.app[SERVICE_KEY].session_changed([server.world.session_id])


async def _status(server: Server) -> SessionStatus:
    [sess] = await server.db_rows(ScheduledSession, id=server.world.session_id)
    return sess.status  # type: ignore[no-any-return]


async def test_a_coordinator_cancels_in_the_lobby(db_url: str, tmp_path: Path) -> None:
    """Defect 1: the pre-join page claims no lease and opens no media room; with people in the
    lobby the cancel is allowed, they are told, and the room closes for good."""
    server = await make_server(db_url, tmp_path, media=True, status=SessionStatus.SCHEDULED)
    w = server.world
    try:
        member = server.peer(w.members[0])
        await member.connect()
        assert (await member.call("hello", {"v": 1}))["ok"]
        assert await server.db_rows(RoomLease, session_id=w.session_id) == []
        assert server.media is not None and str(w.session_id) not in server.media.participants
        assert await _status(server) is SessionStatus.SCHEDULED
        leader = server.peer(w.leader, GroupRole.LEADER)
        await leader.enter()
        await member.enter()
        assert await _status(server) is SessionStatus.OPEN
        await _cancel(server, announce=True)
        assert (await leader.event("room.ended"))["reason"] == "cancelled"
        assert (await member.event("room.ended"))["reason"] == "cancelled"
        late = server.peer(w.members[1])
        await late.connect()
        assert (await late.call("hello", {"v": 1}))["ok"]
        await late.call("agreement.accept", {"version": "2"})
        refused = await late.call("join", {})
        assert refused["ok"] is False and refused["error"]["code"] == "cancelled"
        assert await _status(server) is SessionStatus.CANCELLED
        # the closed room gave its lease and media room up, and a refused join opens none
        assert await server.db_rows(RoomLease, session_id=w.session_id) == []
        assert str(w.session_id) not in server.media.participants
    finally:
        for p in server.peers:
            await p.close()
        await server.stop()


async def test_nothing_overwrites_a_cancel_the_room_did_not_hear(
    db_url: str, tmp_path: Path
) -> None:
    """Defect 1: a cancel written by another process while the room is open: the next join is
    refused (not admitted, no ``open`` over ``cancelled``) and those in the lobby are told."""
    server = await make_server(db_url, tmp_path, status=SessionStatus.SCHEDULED)
    w = server.world
    try:
        leader = server.peer(w.leader, GroupRole.LEADER)
        await leader.enter()
        await _cancel(server, announce=False)
        member = server.peer(w.members[0])
        await member.connect()
        assert (await member.call("hello", {"v": 1}))["ok"]
        await member.call("agreement.accept", {"version": "2"})
        refused = await member.call("join", {})
        assert refused["ok"] is False and refused["error"]["code"] == "cancelled"
        assert (await leader.event("room.ended"))["reason"] == "cancelled"
        assert await _status(server) is SessionStatus.CANCELLED
    finally:
        for p in server.peers:
            await p.close()
        await server.stop()


async def test_a_copy_that_lost_its_lease_tells_nobody(db_url: str, tmp_path: Path) -> None:
    """Defect 6: save before broadcast. Another process took the room over; this copy's next
    change is refused with ``wrong_node`` and no client saw it."""
    server = await make_server(db_url, tmp_path, members=2)
    w = server.world
    try:
        leader = server.peer(w.leader, GroupRole.LEADER)
        member = server.peer(w.members[0])
        await leader.enter()
        await member.enter()
        db = Database(w.db_url)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(
                    update(RoomLease)
                    .where(RoomLease.session_id == w.session_id)
                    .values(owner="another-node")
                )
        finally:
            await db.dispose()
        reply = await leader.call(
            "protocol.command", {"command": "set_presenter", "person_id": str(w.members[0])}
        )
        assert reply["ok"] is False and reply["error"]["code"] == "wrong_node"
        # the leader's own snapshots come on the same connection before its ack
        assert all(s["presenter_id"] is None for s in leader.snapshots)
    finally:
        for p in server.peers:
            await p.close()
        await server.stop()
