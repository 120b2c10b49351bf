"""Removed people leave the live room at once, and join tokens are single-use with a bounded
number of sockets and one event budget per person (issue 14, items 3 and 4).

Through a real server: REST for the removal (a coordinator's login), Socket.IO for the room;
the scale-out cases on PostgreSQL and Redis with two server processes on one database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from server.auth.cookies import bound_csrf
from server.auth.sessions import open_session
from server.db.engine import Database
from server.db.models import Membership, Person, PersonRole
from server.domain import GroupRole, OrgRole
from tests.conftest import REDIS_URL, SECRET, Api, fresh_db_url, require_redis
from tests.fakes_rooms import ManualClock

from .conftest import NS, Peer, Server, World, make_server, seed
from .test_refusals import connect_error


async def _coordinator(server: Server) -> Api:
    """A REST client signed in as a new admin of the organisation."""
    db = Database(server.world.db_url)
    async with db.sessionmaker() as s, s.begin():
        leader = await s.get(Person, server.world.leader)
        assert leader is not None
        coord = Person(
            organisation_id=leader.organisation_id, email="coord@test.example", display_name="C"
        )
        s.add(coord)
        await s.flush()
        for role in (OrgRole.COORDINATOR, OrgRole.ADMIN):
            s.add(PersonRole(person_id=coord.id, organisation_id=coord.organisation_id, role=role))
        token = await open_session(s, coord.id, ttl_hours=1)
    await db.dispose()
    api = Api(server.url)
    api.http.cookie_jar.update_cookies(
        {"circle_session": token, "circle_csrf": bound_csrf(SECRET, token)}
    )
    return api


def _in_room(snap: dict[str, Any], person_id: int) -> bool:
    return any(
        p["person_id"] == str(person_id) and p["presence"] != "left" for p in snap["participants"]
    )


async def _gone(peer: Peer) -> None:
    for _ in range(200):
        if not peer.sio.connected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"person {peer.person_id}'s socket is still open")


@pytest.fixture
async def room(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(sqlite_url, tmp_path, members=3)
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


def _record_removed(peer: Peer) -> None:
    peer.sio.on("room.removed", peer._recorder("room.removed"), namespace=NS)


async def test_a_withdrawn_member_is_removed_at_once(room: Server) -> None:
    w = room.world
    leader = room.peer(w.leader, GroupRole.LEADER)
    member = room.peer(w.members[0])
    _record_removed(member)
    await leader.enter()
    await member.enter()
    early = member.token()  # minted before the withdrawal
    api = await _coordinator(room)
    try:
        status, body = await api.call(
            "DELETE", f"/api/groups/{w.group_id}/enrolments/{w.members[0]}"
        )
        assert status == 200, body
    finally:
        await api.close()
    removed = await member.event("room.removed")
    assert removed["error"]["code"] == "removed"
    assert removed["error"]["details"]["reason"] == "withdrawn"
    await _gone(member)
    await leader.until(lambda s: not _in_room(s, w.members[0]))
    # The token from before no longer gets them in.
    again = room.peer(w.members[0])
    await again.connect(early)
    refused = await again.call("hello", {"v": 1})
    assert refused["ok"] is False and refused["error"]["code"] == "removed"


async def test_a_deactivated_member_is_removed_at_once(room: Server) -> None:
    w = room.world
    leader = room.peer(w.leader, GroupRole.LEADER)
    member = room.peer(w.members[1])
    _record_removed(member)
    await leader.enter()
    await member.enter()
    api = await _coordinator(room)
    try:
        status, body = await api.call("PATCH", f"/api/people/{w.members[1]}", {"is_active": False})
        assert status == 200, body
    finally:
        await api.close()
    removed = await member.event("room.removed")
    assert removed["error"]["details"]["reason"] == "deactivated"
    await _gone(member)
    await leader.until(lambda s: not _in_room(s, w.members[1]))


async def test_join_rechecks_enrolment_and_role(room: Server) -> None:
    w = room.world
    # A co-leader's token minted before they were made a member no longer enters as co-leader.
    co = room.peer(w.co_leader, GroupRole.CO_LEADER)
    token = co.token()
    db = Database(w.db_url)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(Membership)
            .where(Membership.person_id == w.co_leader)
            .values(role=GroupRole.MEMBER)
        )
    await db.dispose()
    await co.connect(token)
    refused = await co.call("hello", {"v": 1})
    assert refused["ok"] is False and refused["error"]["details"]["reason"] == "role_changed"
    # Withdrawn between hello and join: join refuses too.
    member = room.peer(w.members[2])
    await member.connect()
    hello = await member.call("hello", {"v": 1})
    assert hello["ok"], hello
    assert (await member.call("agreement.accept", {"version": hello["agreement"]["version"]}))["ok"]
    db = Database(w.db_url)
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(Membership)
            .where(Membership.person_id == w.members[2])
            .values(status="withdrawn")
        )
    await db.dispose()
    refused = await member.call("join", {})
    assert refused["ok"] is False and refused["error"]["code"] == "removed"


async def test_a_join_token_opens_one_socket(room: Server) -> None:
    w = room.world
    first = room.peer(w.members[0])
    token = first.token()
    await first.connect(token)
    refused = await connect_error(room, {"token": token})
    assert refused["data"]["code"] == "token_used"  # type: ignore[index]


async def test_at_most_n_sockets_per_person_and_one_budget(sqlite_url: str, tmp_path: Path) -> None:
    server = await make_server(
        sqlite_url,
        tmp_path,
        members=2,
        settings={"room_event_rate": 1, "room_event_burst": 10, "room_sockets_per_person": 2},
    )
    try:
        w = server.world
        peers = [server.peer(w.members[0]) for _ in range(3)]
        await peers[0].enter()
        await peers[1].connect()
        await peers[2].connect()  # the third: the oldest goes
        assert (await peers[0].event("room.replaced"))["reason"].startswith("too many")
        await _gone(peers[0])
        assert peers[1].sio.connected and peers[2].sio.connected
        # Two sockets share one budget of 10: the second socket cannot add 10 more.
        answers = [await peers[1].call("no.such.event", {}) for _ in range(6)]
        answers += [await peers[2].call("no.such.event", {}) for _ in range(6)]
        codes = [a["error"]["code"] for a in answers]
        assert codes.count("rate_limited") >= 2, codes
        # Someone else's budget is untouched.
        other = server.peer(w.members[1])
        await other.connect()
        assert (await other.call("no.such.event", {}))["error"]["code"] == "unknown_event"
    finally:
        for p in server.peers:
            await p.close()
        await server.stop()


# --- scale-out: PostgreSQL and Redis, two processes -------------------------------------------


@pytest.fixture
def pg_world_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_db_url("postgresql", request, tmp_path)


async def _pair(url: str, tmp_path: Path) -> tuple[World, Server, Server]:
    require_redis()
    world = await seed(url, members=2)
    clock = ManualClock(time.time_ns() // 1_000_000)
    # A channel of their own: other test runs may share this Redis at the same time.
    common = {"redis_channel": f"circle-test-{uuid.uuid4().hex[:8]}"}
    a = Server(
        world, tmp_path / "a", clock, None, redis_url=REDIS_URL, settings={"node_id": "a", **common}
    )
    b = Server(
        world, tmp_path / "b", clock, None, redis_url=REDIS_URL, settings={"node_id": "b", **common}
    )
    await a.start()
    await b.start()
    return world, a, b


@pytest.mark.postgres
@pytest.mark.redis
async def test_removal_on_another_process_reaches_the_room(
    pg_world_url: str, tmp_path: Path
) -> None:
    world, a, b = await _pair(pg_world_url, tmp_path)
    try:
        leader = a.peer(world.leader, GroupRole.LEADER)
        member = a.peer(world.members[0])
        _record_removed(member)
        await leader.enter()
        await member.enter()
        api = await _coordinator(b)  # the REST call lands on the other process
        try:
            status, body = await api.call(
                "DELETE", f"/api/groups/{world.group_id}/enrolments/{world.members[0]}"
            )
            assert status == 200, body
        finally:
            await api.close()
        assert (await member.event("room.removed"))["error"]["code"] == "removed"
        await _gone(member)
        await leader.until(lambda s: not _in_room(s, world.members[0]))
    finally:
        for p in [*a.peers, *b.peers]:
            await p.close()
        await a.stop()
        await b.stop()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_join_token_is_spent_across_processes(pg_world_url: str, tmp_path: Path) -> None:
    world, a, b = await _pair(pg_world_url, tmp_path)
    try:
        first = a.peer(world.members[0])
        token = first.token()
        await first.connect(token)
        refused = await connect_error(b, {"token": token})
        assert refused["data"]["code"] == "token_used"  # type: ignore[index]
    finally:
        for p in [*a.peers, *b.peers]:
            await p.close()
        await a.stop()
        await b.stop()
