"""The leaders' private note: relayed to leaders only, handed to a leader who (re)joins, and
kept with the live room only (never in the database)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from server.db.engine import Database
from server.domain import GroupRole

from .conftest import Peer, Server


async def _join_ack(peer: Peer) -> dict[str, Any]:
    await peer.connect()
    hello = await peer.call("hello", {"v": 1})
    if hello["agreement"]["required"]:
        await peer.call("agreement.accept", {"version": hello["agreement"]["version"]})
    ack = await peer.call("join", {})
    assert ack["ok"], ack
    return ack


async def test_a_late_leader_gets_the_note_and_members_never_do(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    member = server.peer(w.members[0])
    await leader.enter()
    member_ack = await _join_ack(member)
    assert "note" not in member_ack
    reply = await leader.call("leader.note", {"text": "Sara seems exhausted; check in after."})
    assert reply["ok"]
    co = server.peer(w.co_leader, GroupRole.CO_LEADER)
    ack = await _join_ack(co)
    assert ack["note"]["text"] == "Sara seems exhausted; check in after."
    assert ack["note"]["version"] == reply["version"]
    late_member = server.peer(w.members[1])
    assert "note" not in await _join_ack(late_member)
    assert all(name != "room.note" for name, _ in member.events + late_member.events)
    # Nothing of it reaches the database.
    db = Database(w.db_url)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT state FROM room_states"))).all()
    await db.dispose()
    assert rows and all("exhausted" not in str(r[0]) for r in rows)
