"""One owner process per live room: leases in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from server.db.engine import Database
from server.db.models import AttendanceEvent, RoomLease
from server.domain import GroupRole
from server.errors import Conflict
from server.rooms.commands import Join
from server.rooms.manager import RoomManager
from server.rooms.store import SqlRoomStore
from tests.fakes_rooms import ManualClock, RecordingBroadcaster
from tests.signaling.conftest import seed


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlRoomStore]:
    db = Database(db_url)
    yield SqlRoomStore(db)
    await db.dispose()


async def test_claim_renew_release_and_takeover(db_url: str, store: SqlRoomStore) -> None:
    sid = (await seed(db_url, members=1)).session_id
    assert await store.claim(sid, "node-a", 30_000) is None
    assert await store.claim(sid, "node-b", 30_000) == "node-a"
    assert await store.claim(sid, "node-a", 30_000) is None  # renewing
    await store.release(sid, "node-b")  # not b's to give up
    assert await store.claim(sid, "node-b", 30_000) == "node-a"
    await store.release(sid, "node-a")
    assert await store.claim(sid, "node-b", 30_000) is None
    # A lease that ran out is taken over.
    assert await store.claim(sid, "node-b", -1_000) is None
    assert await store.claim(sid, "node-a", 30_000) is None
    assert await store.claim(sid, "node-b", 30_000) == "node-a"


async def steal(db_url: str, session_id: int, owner: str = "node-b") -> None:
    """Another process took the room over (this one stalled past its lease)."""
    db = Database(db_url)
    async with db.engine.begin() as conn:
        await conn.execute(
            update(RoomLease)
            .where(RoomLease.session_id == session_id)
            .values(owner=owner, lease_until=datetime.now(UTC) + timedelta(minutes=5))
        )
    await db.dispose()


def manager(store: SqlRoomStore, node: str, lease_ms: int = 30_000) -> RoomManager:
    return RoomManager(
        store, RecordingBroadcaster(), clock=ManualClock(), node_id=node, lease_ms=lease_ms
    )


async def test_a_second_process_refuses_a_room_the_first_runs(
    db_url: str, store: SqlRoomStore
) -> None:
    sid = (await seed(db_url, members=1)).session_id
    a, b = manager(store, "node-a"), manager(store, "node-b")
    await a.start()
    await b.start()
    try:
        await a.get(sid)
        with pytest.raises(Conflict) as refused:
            await b.get(sid)
        assert refused.value.code == "wrong_node"
        assert b.peek(sid) is None
        await a.stop()  # a clean stop hands the room on
        room = await b.get(sid)
        assert not room.done
    finally:
        await a.stop()
        await b.stop()


async def test_a_copy_that_lost_its_lease_stops(db_url: str, store: SqlRoomStore) -> None:
    sid = (await seed(db_url, members=1)).session_id
    a = manager(store, "node-a", lease_ms=300)  # renewed every 100 ms
    await a.start()
    try:
        await a.get(sid)
        await steal(db_url, sid)
        for _ in range(50):  # the renewal has no event to await: poll for up to 5 s
            if a.peek(sid) is None:
                break
            await asyncio.sleep(0.1)
        assert a.peek(sid) is None
        with pytest.raises(Conflict):
            await a.get(sid)
    finally:
        await a.stop()


async def test_a_stale_copy_writes_nothing(db_url: str) -> None:
    """Fencing: before its renewal notices, a copy that lost its lease tries to save a change;
    the save is refused, nothing is written, and the copy stops."""
    world = await seed(db_url, members=1)
    sid = world.session_id
    db = Database(db_url)
    fenced = SqlRoomStore(db, owner="node-a")
    a = manager(fenced, "node-a")  # renewal every 10 s: not during this test
    await a.start()
    try:
        room = await a.get(sid)
        saved = await fenced.load_state(sid)
        assert saved is not None
        await steal(db_url, sid)
        join = Join(
            person_id=world.members[0],
            sid="sid-1",
            display_name="Member",
            group_role=GroupRole.MEMBER,
            agreement_accepted=True,
        )
        with pytest.raises(Conflict) as refused:
            await room.submit(join)
        assert refused.value.code == "wrong_node"
        await room.wait_closed()
        assert room.done
        assert await fenced.load_state(sid) == saved  # the stale change was not written
        async with db.sessionmaker() as s:
            rows = await s.scalars(select(AttendanceEvent).where(AttendanceEvent.session_id == sid))
            assert list(rows) == []
    finally:
        await a.stop()
        await db.dispose()
