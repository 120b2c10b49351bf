"""The raw attendance events are true across server stops and crashes (issue 13)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AttendanceEvent, RoomLease
from server.domain import AttendanceKind, GroupRole
from server.rooms.commands import Join, Leave, Verb
from server.rooms.manager import RoomManager
from server.rooms.models import OutageCause, SessionOutage
from server.rooms.store import SqlRoomStore
from tests.fakes_rooms import ManualClock, RecordingBroadcaster
from tests.signaling.conftest import seed

from .conftest import LEADER, MEMBERS, SESSION, Env

MIN = 60_000


def events(env: Env, person: int) -> list[tuple[AttendanceKind, int, str | None]]:
    return [(a.kind, a.at_ms, a.reason) for s, a in env.store.attendance if a.person_id == person]


def crash(manager: RoomManager) -> None:
    """kill -9: the tasks die, nothing runs on the way out, the lease stays held."""
    for room in manager.rooms.values():
        assert room._task is not None
        room._task.cancel()
    if manager._renewer is not None:
        manager._renewer.cancel()


async def test_graceful_stop_writes_leaves_at_the_stop_time(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(MEMBERS[0])
    env.clock.advance(10 * MIN)
    stop = env.clock.now_ms()
    await env.restart()
    assert events(env, MEMBERS[0])[-1] == (AttendanceKind.LEAVE, stop, "server stopped")
    assert env.store.outages == {(SESSION, stop): (None, "stop")}  # not back yet
    env.clock.advance(2 * MIN)  # down for two minutes; the first member back reopens it
    back = env.clock.now_ms()
    await env.join(MEMBERS[0], sid="again")
    assert events(env, MEMBERS[0])[-1] == (AttendanceKind.RECONNECT, back, None)
    assert env.store.outages == {(SESSION, stop): (back, "stop")}
    # a member who was already reconnecting at the stop gets no leave row from it
    assert [k for k, _, _ in events(env, LEADER)] == [AttendanceKind.JOIN, AttendanceKind.LEAVE]


async def test_crash_is_an_outage_from_the_last_sign_of_life(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(MEMBERS[0])
    env.clock.advance(7 * MIN)
    last = env.clock.now_ms()
    await env.join(MEMBERS[1])  # the last change the crashed run saved
    env.clock.advance(5 * MIN)  # it died somewhere in here
    crash(env.manager)
    await asyncio.sleep(0)
    env.clock.advance(4 * MIN)
    restart = env.clock.now_ms()
    env.out = RecordingBroadcaster()
    env.manager = RoomManager(env.store, env.out, media=env.media, clock=env.clock, grace_s=60)
    await env.manager.start()
    assert env.store.leases == {}  # given up at once, not held until it runs out
    assert env.store.outages == {(SESSION, last): (restart, "crash")}
    env.clock.advance(30_000)
    await env.join(MEMBERS[0], sid="again")  # the first member back, 30 s after the restart
    # stamped at the outage's start, as the server's outage, never as the member leaving
    assert events(env, MEMBERS[0])[-2:] == [
        (AttendanceKind.DISCONNECT, last, "server outage"),
        (AttendanceKind.RECONNECT, restart + 30_000, None),
    ]
    assert all(k is not AttendanceKind.LEAVE for k, _, _ in events(env, MEMBERS[1]))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


def _join(person: int, sid: str) -> Join:
    return Join(
        person_id=person,
        sid=sid,
        display_name="M",
        group_role=GroupRole.MEMBER,
        agreement_accepted=True,
    )


async def test_sql_crash_recovery_records_the_outage_and_frees_the_lease(
    db_url: str, db: Database
) -> None:
    world = await seed(db_url, members=2)
    sid = world.session_id
    clock = ManualClock(int(datetime.now(UTC).timestamp() * 1000) - 10 * MIN)
    store = SqlRoomStore(db, owner="node-a")
    first = RoomManager(store, RecordingBroadcaster(), clock=clock, node_id="node-a")
    await first.start()
    room = await first.get(sid)
    await room.submit(_join(world.members[0], "s1"))
    last = clock.now_ms()
    crash(first)
    await asyncio.sleep(0)
    clock.advance(5 * MIN)
    second = RoomManager(store, RecordingBroadcaster(), clock=clock, node_id="node-a")
    await second.start()
    try:
        async with db.sessionmaker() as s:
            assert (await s.scalars(select(RoomLease))).all() == []
            (outage,) = (await s.scalars(select(SessionOutage))).all()
        assert outage.cause is OutageCause.CRASH
        assert outage.ended_at == datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC)
        # from the last saved change (the lease's wall-clock renewal reads later than this
        # test's clock, so it is not taken)
        assert outage.started_at == datetime.fromtimestamp(last / 1000, tz=UTC)
        room = await second.get(sid)
        await room.submit(_join(world.members[0], "s2"))
        async with db.sessionmaker() as s:
            rows = (await s.scalars(select(AttendanceEvent).order_by(AttendanceEvent.id))).all()
        assert [(r.kind, r.reason) for r in rows] == [
            (AttendanceKind.JOIN, None),
            (AttendanceKind.DISCONNECT, "server outage"),
            (AttendanceKind.RECONNECT, None),
        ]
        assert rows[1].at == outage.started_at
    finally:
        await second.stop()


async def test_an_ended_room_that_closed_is_handed_to_the_after_end_hook(env: Env) -> None:
    ended: list[int] = []

    async def hook(session_id: int) -> None:
        ended.append(session_id)

    await env.manager.stop()
    env.manager = RoomManager(env.store, env.out, clock=env.clock, on_ended=hook)
    await env.manager.start()
    await env.join(LEADER, GroupRole.LEADER)
    room = await env.room()
    await env.act(LEADER, Verb.END)
    assert ended == []  # ended, but the leader is still in it
    await room.submit(Leave(person_id=LEADER, sid=f"sid-{LEADER}"))
    await room.wait_closed()
    await env.manager.get(SESSION)  # the manager retires the closed room on its next look
    assert ended == [SESSION]
