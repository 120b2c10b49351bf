"""A cluster's rooms move instead of refusing (issue 17): a dead holder's lease is taken at once
(the compare-and-set on that holder), a live holder hands the room over (saved, members
disconnected, not gone), and a live holder that does not answer is never robbed. SQLite and
PostgreSQL; the other processes are fakes of :class:`server.rooms.ports.Peers`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AttendanceEvent, RoomLease
from server.domain import AttendanceKind, GroupRole
from server.errors import Conflict
from server.rooms.commands import Join
from server.rooms.manager import RoomManager
from server.rooms.participants import Presence
from server.rooms.store import SqlRoomStore
from tests.fakes_rooms import ManualClock, RecordingBroadcaster
from tests.signaling.conftest import World, seed


class FakePeers:
    """Nodes by id: which are alive, when each was last seen, and who answers handovers."""

    def __init__(self) -> None:
        self.dead: set[str] = set()
        self.seen: dict[str, int] = {}
        self.managers: dict[str, RoomManager] = {}
        self.asked: list[tuple[int, str, str]] = []

    async def alive(self, node_id: str) -> bool:
        return node_id not in self.dead

    async def last_seen_ms(self, node_id: str) -> int | None:
        return self.seen.get(node_id)

    async def ask_handover(self, session_id: int, holder: str, to: str) -> None:
        self.asked.append((session_id, holder, to))
        holding = self.managers.get(holder)
        if holding is not None:
            await holding.hand_over(session_id)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


def node(db: Database, peers: FakePeers, name: str, clock: ManualClock) -> RoomManager:
    m = RoomManager(
        SqlRoomStore(db, owner=name),
        RecordingBroadcaster(),
        clock=clock,
        node_id=name,
        peers=peers,
        handover_wait_ms=400,
    )
    peers.managers[name] = m
    return m


async def _join(m: RoomManager, w: World) -> None:
    room = await m.get(w.session_id)
    await room.submit(
        Join(
            person_id=w.members[0],
            sid="sid-1",
            display_name="Member",
            group_role=GroupRole.MEMBER,
            agreement_accepted=True,
        )
    )


async def _kinds(db: Database, session_id: int) -> list[tuple[AttendanceKind, int]]:
    async with db.sessionmaker() as s:
        rows = await s.scalars(
            select(AttendanceEvent)
            .where(AttendanceEvent.session_id == session_id)
            .order_by(AttendanceEvent.id)
        )
        return [(r.kind, int(r.at.timestamp() * 1000)) for r in rows]


async def _holder(db: Database, session_id: int) -> str | None:
    async with db.sessionmaker() as s:
        return await s.scalar(select(RoomLease.owner).where(RoomLease.session_id == session_id))


async def test_a_dead_holders_room_is_taken_over_at_once(db_url: str, db: Database) -> None:
    w = await seed(db_url, members=1)
    now = time.time_ns() // 1_000_000
    clock = ManualClock(now)
    peers = FakePeers()
    a, b = node(db, peers, "node-a", clock), node(db, peers, "node-b", clock)
    await a.start()
    await b.start()
    try:
        await _join(a, w)
        peers.dead.add("node-a")  # kill -9: no handover, no release; its lease has 30 s left
        peers.seen["node-a"] = now + 1_000
        clock.advance(4_000)
        started = time.monotonic()
        room = await b.get(w.session_id)
        assert time.monotonic() - started < 1  # not a lease length
        assert await _holder(db, w.session_id) == "node-b"
        assert room.participants[w.members[0]].presence is Presence.RECONNECTING
        # The member's disconnect is stamped at the dead node's last heartbeat, the true
        # time, not when the room came back.
        assert (AttendanceKind.DISCONNECT, now + 1_000) in await _kinds(db, w.session_id)
        assert peers.asked == []
    finally:
        await a.stop()
        await b.stop()


async def test_a_live_holder_hands_the_room_over_and_nobody_leaves(
    db_url: str, db: Database
) -> None:
    w = await seed(db_url, members=1)
    clock = ManualClock(time.time_ns() // 1_000_000)
    peers = FakePeers()
    a, b = node(db, peers, "node-a", clock), node(db, peers, "node-b", clock)
    let_go: list[int] = []

    async def closed(session_id: int) -> None:
        let_go.append(session_id)

    a.on_handed_over = closed
    await a.start()
    await b.start()
    try:
        await _join(a, w)
        clock.advance(2_000)
        handed_at = clock.now_ms()
        room = await b.get(w.session_id)
        assert peers.asked == [(w.session_id, "node-a", "node-b")]
        assert a.peek(w.session_id) is None and let_go == [w.session_id]
        assert await _holder(db, w.session_id) == "node-b"
        assert room.participants[w.members[0]].presence is Presence.RECONNECTING
        kinds = await _kinds(db, w.session_id)
        assert (AttendanceKind.DISCONNECT, handed_at) in kinds
        assert AttendanceKind.LEAVE not in [k for k, _ in kinds]
        # The old node does not take it back at once for a late event of a closing socket.
        with pytest.raises(Conflict) as moving:
            await a.get(w.session_id)
        assert moving.value.code == "room_moving"
    finally:
        await a.stop()
        await b.stop()


async def test_a_live_holder_that_does_not_answer_is_never_robbed(
    db_url: str, db: Database
) -> None:
    w = await seed(db_url, members=1)
    clock = ManualClock(time.time_ns() // 1_000_000)
    peers = FakePeers()
    a = node(db, peers, "node-a", clock)
    b = node(db, peers, "node-b", clock)
    del peers.managers["node-a"]  # slow: it beats, but answers nothing
    await a.start()
    await b.start()
    try:
        await _join(a, w)
        with pytest.raises(Conflict) as moving:
            await b.get(w.session_id)
        assert moving.value.code == "room_moving"  # a transient refusal clients retry
        assert await _holder(db, w.session_id) == "node-a"
        assert a.peek(w.session_id) is not None
    finally:
        await a.stop()
        await b.stop()


async def test_only_one_of_two_nodes_takes_a_dead_holders_lease(db_url: str, db: Database) -> None:
    sid = (await seed(db_url, members=1)).session_id
    store = SqlRoomStore(db)
    assert await store.claim(sid, "node-a", 30_000) is None
    assert await store.claim(sid, "node-b", 30_000, dead="node-a") is None
    # node-c also found node-a dead, a moment later: the lease changed hands meanwhile
    assert await store.claim(sid, "node-c", 30_000, dead="node-a") == "node-b"


async def test_a_holder_taken_for_dead_stops_and_lets_its_connections_go(
    db_url: str, db: Database
) -> None:
    """Its heartbeat was lost (Redis unreachable from it) while it ran: another node took the
    room; its next change is fenced off, and its connections are closed so they reconnect to
    the new owner (never a second copy)."""
    w = await seed(db_url, members=2)
    clock = ManualClock(time.time_ns() // 1_000_000)
    peers = FakePeers()
    a, b = node(db, peers, "node-a", clock), node(db, peers, "node-b", clock)
    let_go: list[int] = []

    async def closed(session_id: int) -> None:
        let_go.append(session_id)

    a.on_handed_over = closed
    await a.start()
    await b.start()
    try:
        await _join(a, w)
        stale = a.peek(w.session_id)
        assert stale is not None
        peers.dead.add("node-a")
        await b.get(w.session_id)
        with pytest.raises(Conflict):
            await stale.submit(
                Join(
                    person_id=w.members[1],
                    sid="sid-2",
                    display_name="Member",
                    group_role=GroupRole.MEMBER,
                    agreement_accepted=True,
                )
            )
        await stale.wait_closed()
        for _ in range(100):  # the reaper runs right after the room's task ends
            if let_go:
                break
            await asyncio.sleep(0.02)
        assert let_go == [w.session_id]
        assert a.peek(w.session_id) is None
        assert await _holder(db, w.session_id) == "node-b"
    finally:
        await a.stop()
        await b.stop()


async def test_a_lease_left_behind_by_a_live_node_is_given_up_when_asked(
    db_url: str, db: Database
) -> None:
    w = await seed(db_url, members=1)
    clock = ManualClock(time.time_ns() // 1_000_000)
    peers = FakePeers()
    a, b = node(db, peers, "node-a", clock), node(db, peers, "node-b", clock)
    await a.start()
    await b.start()
    try:
        # node-a holds the lease but runs no room (its release failed earlier)
        assert await SqlRoomStore(db).claim(w.session_id, "node-a", 30_000) is None
        room = await b.get(w.session_id)
        assert not room.done
        assert await _holder(db, w.session_id) == "node-b"
    finally:
        await a.stop()
        await b.stop()
