"""Breakouts through the real signaling server (media engine faked: who receives whom is what
the room tells it): split, move, back by the leader, by the timer and by the phase; bad input
refused with the field named, nothing changed, and audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from server.db.engine import Database
from server.db.models import AuditEntry, Group, ScheduledSession
from server.domain import AuditOutcome, GroupRole, ProtocolKind

from .conftest import Peer, Server, make_server


async def as_workshop_db(db_url: str, group_id: int, session_id: int) -> None:
    """Make the seeded group a workshop group and its session 3.5 hours long."""
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await s.execute(
                update(Group)
                .where(Group.id == group_id)
                .values(protocol=ProtocolKind.WORKSHOP, settings={}, min_members=4)
            )
            await s.execute(
                update(ScheduledSession)
                .where(ScheduledSession.id == session_id)
                .values(duration_minutes=210)
            )
    finally:
        await db.dispose()


async def as_workshop(server: Server) -> None:
    await as_workshop_db(server.world.db_url, server.world.group_id, server.world.session_id)


@pytest.fixture
async def workshop(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(sqlite_url, tmp_path, media=True, members=6)
    await as_workshop(s)
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def in_case_work(server: Server) -> tuple[Peer, list[Peer]]:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    await leader.enter()
    members = [server.peer(pid) for pid in w.members[:6]]
    for m in members:
        await m.enter()
    for _ in range(2):
        assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await leader.until(lambda s: s["phase"] == "case_work_1")
    assert snap["breakouts_allowed"] is True and snap["breakouts"] is None
    return leader, members


def heard_by(server: Server, person: int) -> frozenset[str] | None:
    assert server.media is not None
    return server.media.audiences[(str(server.world.session_id), str(person))]


async def refusals(server: Server, action: str) -> list[Any]:
    rows = await server.db_rows(AuditEntry, action=action, outcome=AuditOutcome.REFUSED)
    return rows


async def test_split_by_hand_move_and_back_with_media_following(workshop: Server) -> None:
    server = workshop
    leader, ms = await in_case_work(server)
    ids = [m.person_id for m in ms]
    a, b = [str(i) for i in ids[:3]], [str(i) for i in ids[3:6]]
    ok = await leader.call("breakout.open", {"groups": [a, b], "minutes": 10})
    assert ok == {"ok": True}, ok
    snap = await ms[0].until(lambda s: s["breakouts"] is not None)
    assert snap["breakouts"]["groups"] == [a, b]
    assert snap["breakouts"]["remaining_ms"] == 10 * 60_000
    # group A's members reach only group A; the leader (in no group) reaches nobody of them
    assert heard_by(server, ids[0]) == frozenset(a) - {a[0]}
    assert heard_by(server, ids[3]) == frozenset(b) - {b[0]}
    assert heard_by(server, server.world.leader) == frozenset()
    # the leader visits group B, then comes back
    assert (
        await leader.call("breakout.move", {"person_id": str(server.world.leader), "group": 1})
    )["ok"]
    await ms[3].until(lambda s: s["breakouts"]["groups"][1][-1] == str(server.world.leader))
    assert heard_by(server, ids[3]) == (frozenset(b) | {str(server.world.leader)}) - {b[0]}
    assert str(server.world.leader) not in heard_by(server, ids[0])  # type: ignore[operator]
    # back: everyone hears everyone
    assert (await leader.call("breakout.close", {}))["ok"]
    await ms[0].until(lambda s: s["breakouts"] is None)
    assert all(heard_by(server, i) is None for i in [*ids, server.world.leader])


async def test_automatic_split_and_the_timer_and_the_phase_bring_everyone_back(
    workshop: Server,
) -> None:
    server = workshop
    leader, ms = await in_case_work(server)
    assert (await leader.call("breakout.open", {"size": 3, "minutes": 5}))["ok"]
    snap = await ms[0].until(lambda s: s["breakouts"] is not None)
    groups = snap["breakouts"]["groups"]
    assert sorted(len(g) for g in groups) == [3, 3]
    assert str(server.world.leader) not in {p for g in groups for p in g}  # leaders stay out
    server.clock.advance(5 * 60_000)
    await ms[0].until(lambda s: s["breakouts"] is None)
    assert heard_by(server, ms[0].person_id) is None
    # again, and leaving the case-work phase ends it too
    assert (await leader.call("breakout.open", {"size": 2}))["ok"]
    await ms[0].until(lambda s: s["breakouts"] is not None and len(s["breakouts"]["groups"]) == 3)
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await ms[0].until(lambda s: s["phase"] == "break_1")
    assert snap["breakouts"] is None
    assert heard_by(server, ms[0].person_id) is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"groups": [["MEMBER0"]]}, "groups[0]"),  # a breakout of one person
        ({"groups": [["MEMBER0", "MEMBER1"], ["MEMBER2"]]}, "groups[1]"),
        ({"groups": [["MEMBER0", "MEMBER1", "MEMBER2", "MEMBER3", "MEMBER4"]]}, "groups[0]"),
        ({"groups": [["MEMBER0", "OUTSIDER"]]}, "groups[0][1]"),  # not in the room
        ({"groups": [["MEMBER0", "999999"]]}, "groups[0][1]"),  # nobody at all
        ({"groups": [["MEMBER0", "MEMBER1"], ["MEMBER1", "MEMBER2"]]}, "groups[1][0]"),
        ({"size": 5}, "size"),
        ({"size": 1}, "size"),
        ({"size": 2, "minutes": 0}, "minutes"),
        ({"size": 2, "minutes": 61}, "minutes"),
        ({}, "groups"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_changes_nothing_and_is_audited(
    workshop: Server, payload: dict[str, Any], field: str
) -> None:
    server = workshop
    leader, ms = await in_case_work(server)
    names = {f"MEMBER{i}": str(m.person_id) for i, m in enumerate(ms)}
    names["OUTSIDER"] = str(server.world.outsider)

    def real(v: Any) -> Any:
        if isinstance(v, list):
            return [real(x) for x in v]
        return names.get(v, v) if isinstance(v, str) else v

    body = {k: real(v) for k, v in payload.items()}
    version = leader.last["version"]
    reply = await leader.call("breakout.open", body)
    assert reply["error"]["code"] == "invalid", reply
    assert field in reply["error"]["details"]["fields"], reply
    # a change is broadcast before its acknowledgement: none came
    assert leader.last["version"] == version
    assert all(heard_by(server, m.person_id) is None for m in ms)
    rows = await refusals(server, "room.breakout.open")
    assert len(rows) == 1 and rows[0].actor_id == server.world.leader
    assert rows[0].details["code"] == "invalid" and field in rows[0].details["message"]


async def test_members_may_not_split_and_breakouts_only_in_case_work(workshop: Server) -> None:
    server = workshop
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    await leader.enter()
    ms = [server.peer(pid) for pid in w.members[:4]]
    for m in ms:
        await m.enter()
    # the opening phase has no breakouts
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    reply = await leader.call("breakout.open", {"size": 2})
    assert reply["error"]["code"] == "protocol"
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    reply = await ms[0].call("breakout.open", {"size": 2})
    assert reply["error"]["code"] == "forbidden"
    assert len(await refusals(server, "room.breakout.open")) == 2
    # moving when not split, and to a group that does not exist
    assert (await leader.call("breakout.move", {"person_id": str(ms[0].person_id)}))["error"][
        "code"
    ] == "protocol"
    assert (await leader.call("breakout.open", {"size": 2}))["ok"]
    reply = await leader.call("breakout.move", {"person_id": str(ms[0].person_id), "group": 7})
    assert "group" in reply["error"]["details"]["fields"]
    reply = await leader.call("breakout.move", {"person_id": "999999", "group": 0})
    assert "person_id" in reply["error"]["details"]["fields"]
    # a move that would leave someone alone
    snap = await ms[0].until(lambda s: s["breakouts"] is not None)
    first = snap["breakouts"]["groups"][0]
    reply = await leader.call("breakout.move", {"person_id": first[0], "group": None})
    assert "person_id" in reply["error"]["details"]["fields"]
    assert (await ms[0].until(lambda s: True))["breakouts"]["groups"] == snap["breakouts"]["groups"]


async def test_a_latecomer_lands_in_the_main_room(workshop: Server) -> None:
    server = workshop
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    await leader.enter()
    ms = [server.peer(pid) for pid in w.members[:4]]
    for m in ms:
        await m.enter()
    for _ in range(2):
        assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    assert (await leader.call("breakout.open", {"size": 2}))["ok"]
    late = server.peer(w.members[4])
    snap = await late.enter()
    assert snap["breakouts"] is not None
    assert str(late.person_id) not in {p for g in snap["breakouts"]["groups"] for p in g}
    await leader.until(
        lambda s: any(p["person_id"] == str(late.person_id) for p in s["participants"])
    )
    assert heard_by(server, late.person_id) == frozenset({str(w.leader)})  # the main room
    assert heard_by(server, w.leader) == frozenset({str(late.person_id)})


async def test_a_restarted_room_comes_back_split_with_its_timer(workshop: Server) -> None:
    server = workshop
    w = server.world
    leader, ms = await in_case_work(server)
    assert (await leader.call("breakout.open", {"size": 3, "minutes": 10}))["ok"]
    before = await leader.until(lambda s: s["breakouts"] is not None)
    server.clock.advance(4 * 60_000)

    await server.stop()  # every client drops with the server
    await server.start()

    leader2 = server.peer(w.leader, GroupRole.LEADER)
    snap = await leader2.enter()
    assert snap["breakouts"]["groups"] == before["breakouts"]["groups"]
    assert snap["breakouts"]["ends_at_ms"] == before["breakouts"]["ends_at_ms"]
    member = server.peer(ms[0].person_id)
    await member.enter()
    group = next(g for g in snap["breakouts"]["groups"] if str(ms[0].person_id) in g)
    assert heard_by(server, ms[0].person_id) == frozenset(group) - {str(ms[0].person_id)}
    server.clock.advance(6 * 60_000)  # the re-armed timer brings everyone back
    await leader2.until(lambda s: s["breakouts"] is None)
    assert heard_by(server, ms[0].person_id) is None
