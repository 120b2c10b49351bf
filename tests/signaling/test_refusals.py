"""Refusals at the edge: tokens, hello, agreement, rooms one is not in, bad payloads."""

from __future__ import annotations

import pytest
import socketio

from server.auth.tokens import mint_join_token
from server.db.models import AgreementAcceptance, AuditEntry
from server.domain import AuditOutcome, GroupRole
from tests.conftest import SECRET

from .conftest import NS, Server


async def connect_error(server: Server, auth: object) -> dict[str, object]:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []

    async def on_error(data: object) -> None:
        errors.append(data)

    client.on("connect_error", on_error, namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            server.url, namespaces=[NS], transports=["websocket"], auth=auth, wait_timeout=5
        )
    await client.disconnect()
    assert errors, "no connect_error"
    data = errors[0]
    assert isinstance(data, dict)
    return data


async def test_connect_needs_a_valid_token(server: Server) -> None:
    w = server.world
    assert (await connect_error(server, None))["data"]["code"] == "unauthenticated"  # type: ignore[index]
    assert (await connect_error(server, {"token": 12}))["data"]["code"] == "unauthenticated"  # type: ignore[index]
    forged = mint_join_token(
        "another-secret-0123456789abcdefghijklmnop",
        person_id=w.leader,
        session_id=w.session_id,
        role=GroupRole.LEADER,
    )
    assert (await connect_error(server, {"token": forged}))["data"]["code"] == "unauthenticated"  # type: ignore[index]
    expired = mint_join_token(
        SECRET, person_id=w.leader, session_id=w.session_id, role=GroupRole.LEADER, ttl_s=-10
    )
    err = await connect_error(server, {"token": expired})
    assert err["data"]["code"] == "expired"  # type: ignore[index]
    assert "expired" in str(err["message"])


async def test_hello_first_and_its_version(server: Server) -> None:
    m = server.peer(server.world.members[0])
    await m.connect()
    assert (await m.call("join", {}))["error"]["code"] == "hello_required"
    assert (await m.call("hello", {"v": 2}))["error"]["code"] == "unsupported_version"
    hello = await m.call("hello", {"v": 1})
    assert hello["ok"] and hello["you"] == {
        "person_id": str(m.person_id),
        "role": "member",
        "display_name": "Member 0",
    }
    assert hello["agreement"]["required"] and hello["agreement"]["version"] == "2"
    assert (
        "Confidentiality" in hello["agreement"]["text"]
        and "6 sessions" in hello["agreement"]["text"]
    )


async def test_agreement_before_the_first_join(server: Server) -> None:
    m = server.peer(server.world.members[0])
    await m.connect()
    await m.call("hello", {"v": 1})
    assert (await m.call("join", {}))["error"]["code"] == "agreement_required"
    assert (await m.call("agreement.accept", {"version": "1"}))["error"][
        "code"
    ] == "agreement_version"
    ok = await m.call("agreement.accept", {"version": "2"})
    assert ok["ok"] and ok["version"] == "2"
    [row] = await server.db_rows(AgreementAcceptance, person_id=m.person_id)
    assert row.version == "2" and row.series_id == server.world.series_id
    assert abs(row.accepted_at.timestamp() * 1000 - ok["accepted_at_ms"]) < 1000
    assert (await m.call("join", {}))["ok"]
    # a second connection later is not asked again
    again = server.peer(m.person_id)
    await again.connect()
    assert (await again.call("hello", {"v": 1}))["agreement"]["required"] is False


async def test_acting_before_joining_is_refused_and_audited(server: Server) -> None:
    m = server.peer(server.world.members[0])
    await m.connect()
    await m.call("hello", {"v": 1})
    for event, payload in [
        ("hand.raise", {}),
        ("mic.set", {"muted": False}),
        ("protocol.command", {"command": "advance"}),
        ("leave", {}),
    ]:
        reply = await m.call(event, payload)
        assert reply["error"]["code"] == "not_in_room", event
    rows = await server.db_rows(AuditEntry, actor_id=m.person_id)
    assert len(rows) == 4 and {r.outcome for r in rows} == {AuditOutcome.REFUSED}


async def test_leader_notes_reach_leaders_only(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    co = server.peer(w.co_leader, GroupRole.CO_LEADER)
    member = server.peer(w.members[0])
    for p in (leader, co, member):
        await p.enter()
    assert (await member.call("leader.note", {"text": "hi"}))["error"]["code"] == "forbidden"
    ok = await leader.call("leader.note", {"text": "keep an eye on the time"})
    assert ok == {"ok": True, "version": 1}
    note = await co.event("room.note")
    assert note["text"] == "keep an eye on the time"
    await leader.event("room.note")
    assert all(name != "room.note" for name, _ in member.events)
    too_long = await leader.call("leader.note", {"text": "x" * 4001})
    assert too_long["error"]["code"] in ("invalid", "too_large")


async def test_a_second_connection_replaces_the_first(server: Server) -> None:
    m1 = server.peer(server.world.members[0])
    await m1.enter()
    m2 = server.peer(m1.person_id)
    snap = await m2.enter()
    assert [p["presence"] for p in snap["participants"]] == ["present"]
    assert (await m1.event("room.replaced"))["reason"]


async def test_dynamic_therapy_co_therapists_have_equal_rights(sqlite_url: str, tmp_path) -> None:
    from server.db.engine import Database
    from server.db.models import Group
    from server.domain import ProtocolKind

    from .conftest import make_server

    server = await make_server(sqlite_url, tmp_path, members=3)
    try:
        db = Database(server.world.db_url)
        async with db.sessionmaker() as s, s.begin():
            group = await s.get(Group, server.world.group_id)
            assert group is not None
            group.protocol = ProtocolKind.DYNAMIC
            group.settings = {"format": "rounds"}  # the product's variant, with rounds
        await db.dispose()
        w = server.world
        co = server.peer(w.co_leader, GroupRole.CO_LEADER)
        member = server.peer(w.members[0])
        snap = await co.enter()
        assert snap["protocol"] == "dynamic" and snap["phase"] == "waiting"
        await member.enter()
        assert (await co.call("protocol.command", {"command": "advance"}))["ok"]
        snap = await member.until(lambda s: s["phase"] == "check_in")
        assert snap["floor"] == "hands" and snap["phase_duration_ms"] == 15 * 60_000
        assert (await member.call("protocol.command", {"command": "advance"}))["error"][
            "code"
        ] == "forbidden"
    finally:
        for p in server.peers:
            await p.close()
        await server.stop()
