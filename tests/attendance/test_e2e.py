"""End to end: a series of 6 sessions with 10 members through the real signaling server on a
fake clock, with reconnects (inside and outside the grace), a second device, an excuse said
ahead, an early leave, a late join, a graceful restart mid-session and a leader's correction;
the records are rebuilt by the rooms' after-end hook, and the grid and the scores are checked
value by value through REST."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from server.attendance.models import AttendanceRecordRow
from server.db.engine import Database
from server.db.models import PersonRole, ScheduledSession
from server.domain import GroupRole, OrgRole, SessionStatus
from tests.attendance.conftest import as_person
from tests.signaling.conftest import Peer, Server, make_server

MIN = 60_000
DAY = 24 * 60 * MIN


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(
        sqlite_url,
        tmp_path,
        members=10,
        status=SessionStatus.SCHEDULED,
        settings={"room_lease_s": 5},  # the after-end hook runs on the renewal (every ~1.7 s)
    )
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def _sessions(server: Server, t0: int) -> list[int]:
    """Session 1 (seeded) and five more, two days apart, starting at ``t0`` (fake clock)."""
    w = server.world
    db = Database(w.db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            first = await s.get(ScheduledSession, w.session_id)
            assert first is not None
            first.starts_at = datetime.fromtimestamp(t0 / 1000, tz=UTC)
            first.index = 1
            ids = [first.id]
            for k in range(1, 6):
                x = ScheduledSession(
                    series_id=w.series_id,
                    group_id=w.group_id,
                    index=k + 1,
                    starts_at=first.starts_at + timedelta(days=2 * k),
                    timezone="UTC",
                    duration_minutes=60,
                    status=SessionStatus.SCHEDULED,
                )
                s.add(x)
                await s.flush()
                ids.append(x.id)
            # the roster was formed before the series
            from server.db.models import Membership

            await s.execute(
                update(Membership)
                .where(Membership.group_id == w.group_id)
                .values(created_at=first.starts_at - timedelta(days=30))
            )
            s.add(PersonRole(person_id=w.outsider, organisation_id=1, role=OrgRole.COORDINATOR))
        return ids
    finally:
        await db.dispose()


async def _records(server: Server, session_id: int, wait_s: float = 15) -> int:
    db = Database(server.world.db_url)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            async with db.sessionmaker() as s:
                n = await s.scalar(
                    select(func.count())
                    .select_from(AttendanceRecordRow)
                    .where(AttendanceRecordRow.session_id == session_id)
                )
            if n or time.monotonic() > deadline:
                return n or 0
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def test_a_series_end_to_end(server: Server) -> None:
    w = server.world
    m = w.members
    clock = server.clock
    t0 = clock.now_ms() + 5 * MIN
    ids = await _sessions(server, t0)
    peers: dict[int, Peer] = {}

    def peer(pid: int, sid: int) -> Peer:
        role = GroupRole.LEADER if pid == w.leader else GroupRole.MEMBER
        p = Peer(server.url, pid, sid, role)
        server.peers.append(p)
        peers[pid] = p
        return p

    async def enter(pid: int, sid: int) -> None:
        await peer(pid, sid).enter()

    async def gone(pid: int, presence: str) -> None:
        def seen(snap: dict) -> bool:  # type: ignore[type-arg]
            return any(
                q["person_id"] == str(pid) and q["presence"] == presence
                for q in snap["participants"]
            )

        await peers[w.leader].until(seen)

    async def run(k: int, absent: tuple[int, ...] = (), late: tuple[int, ...] = ()) -> int:
        """Everyone (but ``absent``, ``late``) comes 2 minutes early; the leader starts."""
        sid = ids[k]
        start = t0 + k * 2 * DAY
        clock.advance(start - 2 * MIN - clock.now_ms())
        for pid in (w.leader, *m):
            if pid not in absent and pid not in late:
                await enter(pid, sid)
        clock.advance(2 * MIN)
        leader = peers[w.leader]
        ok = await leader.call(
            "protocol.command", {"command": "set_presenter", "person_id": str(m[0])}
        )
        assert ok["ok"], ok
        assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
        return start

    async def finish(k: int, start: int, here: list[int]) -> None:
        clock.advance(start + 60 * MIN - clock.now_ms())
        assert (await peers[w.leader].call("protocol.command", {"command": "end"}))["ok"]
        for pid in here:
            assert (await peers[pid].call("leave", {}))["ok"]
        for p in list(peers.values()):
            await p.close()
        peers.clear()
        assert await _records(server, ids[k]) == 12  # the hook rebuilt them: 12 expected

    everyone = [w.leader, *m]
    # 1: m9 absent, m8 15 minutes late
    start = await run(0, absent=(m[9],), late=(m[8],))
    clock.advance(15 * MIN)
    await enter(m[8], ids[0])
    await finish(0, start, [p for p in everyone if p != m[9]])

    # 2: at minute 18 m1 drops and is back in 30 s; m2 drops, the grace runs out, back at 40
    start = await run(1)
    clock.advance(18 * MIN)
    await peers[m[1]].sio.disconnect()
    await peers[m[2]].sio.disconnect()
    await gone(m[1], "reconnecting")
    await gone(m[2], "reconnecting")
    clock.advance(30_000)
    await enter(m[1], ids[1])
    clock.advance(30_000)
    await gone(m[2], "left")
    clock.advance(start + 40 * MIN - clock.now_ms())
    await enter(m[2], ids[1])
    await finish(1, start, everyone)

    # 3: the server stops gracefully at minute 30 and is back 2 minutes later; the first
    # member returns 30 s after that, the rest right after
    start = await run(2)
    clock.advance(30 * MIN)
    await server.stop()
    peers.clear()
    clock.advance(2 * MIN)
    await server.start()
    clock.advance(30_000)
    for pid in everyone:
        await enter(pid, ids[2])
    await finish(2, start, everyone)

    # 4: m3 said ahead they could not come; m4 leaves at minute 30
    member3 = await as_person_live(server, m[3])
    try:
        status, _ = await member3.call(
            "PUT", f"/api/sessions/{ids[3]}/excuse", {"reason": "night shift"}
        )
        assert status == 200
    finally:
        await member3.close()
    start = await run(3, absent=(m[3],))
    clock.advance(30 * MIN)
    assert (await peers[m[4]].call("leave", {}))["ok"]
    await finish(3, start, [p for p in everyone if p not in (m[3], m[4])])

    # 5: m5 on two devices; m9 absent
    start = await run(4, absent=(m[9],))
    first = peers[m[5]]
    await enter(m[5], ids[4])  # a second device replaces the first connection
    await first.event("room.replaced")
    await finish(4, start, [p for p in everyone if p != m[9]])

    # 6: m9 absent; the leader then marks them excused
    start = await run(5, absent=(m[9],))
    await finish(5, start, [p for p in everyone if p != m[9]])
    leader_api = await as_person_live(server, w.leader)
    try:
        status, body = await leader_api.post(
            f"/api/sessions/{ids[5]}/attendance/{m[9]}/corrections",
            {"status": "excused", "reason": "a family emergency, told me the day after"},
        )
        assert status == 201, body
        status, grid = await leader_api.get(f"/api/series/{w.series_id}/attendance")
        assert status == 200
        status, scores = await leader_api.get(f"/api/series/{w.series_id}/scores")
        assert status == 200
    finally:
        await leader_api.close()

    rows = {r["person_id"]: r for r in grid["members"]}

    def cells(pid: int, key: str = "status") -> list[object]:
        return [rows[pid]["sessions"][str(x)][key] for x in ids]

    P = "present"
    assert cells(m[0]) == [P] * 6
    assert cells(m[1]) == [P] * 6 and cells(m[1], "reconnects") == [0, 1, 0, 0, 0, 0]
    assert cells(m[2]) == [P, "left_early", P, P, P, P]
    # minutes 0-18 and 40-60: the gap is past the grace, so two presences
    assert cells(m[2], "minutes_present")[1] == 38 and cells(m[2], "reconnects")[1] == 1
    assert cells(m[3]) == [P, P, P, "excused", P, P]
    assert rows[m[3]]["sessions"][str(ids[3])]["excused_ahead"] is True
    assert cells(m[4]) == [P, P, P, "left_early", P, P]
    assert cells(m[4], "minutes_present")[3] == 30
    assert cells(m[5]) == [P] * 6 and cells(m[5], "reconnects")[4] == 0
    assert cells(m[8]) == ["late", P, P, P, P, P]
    assert cells(m[8], "minutes_present")[0] == 45
    assert cells(m[9]) == ["absent", P, P, P, "absent", "excused"]
    assert cells(m[9], "derived_status")[5] == "absent"  # the original, kept and shown
    assert cells(w.co_leader) == ["absent"] * 6
    # the restart neither split nor lost anyone's presence: 57.5 held minutes, no reconnect
    for pid in everyone:
        assert cells(pid, "minutes_present")[2] == 57, pid
        assert cells(pid, "reconnects")[2] == 0, pid
        assert cells(pid)[2] == P
    rates = {pid: rows[pid]["attendance_rate"] for pid in m}
    assert rates == {**{pid: 1.0 for pid in m[:9]}, m[9]: 0.6}
    by_id = {x["id"]: x for x in grid["sessions"]}
    assert by_id[ids[0]]["attendance_rate"] == round(10 / 12, 4)  # co-leader and m9 absent
    assert grid["regularity"] == {
        "due": 6,
        "held_as_booked": 6,
        "moved": 0,
        "cancelled": 0,
        "rate": 1.0,
    }

    group = {t["term"]: t for t in scores["group"]["terms"]}
    assert group["B"]["value"] == 0.98  # 0.5 x regularity 1.0 + 0.5 x mean rate 0.96
    assert group["B"]["points"] == 4.9
    assert scores["group"]["total"] == 4.9 and scores["group"]["level"] == "silver"
    assert scores["group"]["missing"] == ["X", "A", "C", "D", "E", "F"]
    people = {x["person_id"]: {t["term"]: t for t in x["terms"]} for x in scores["members"]}
    assert people[m[9]]["B"]["points"] == 3.0  # 3 of 5
    assert people[m[0]]["B"]["points"] == 5.0
    assert people[m[0]]["E"]["points"] == round(5 * 4.9 / 28, 4)
    assert people[w.leader]["F"]["raw"] == 6 and people[w.leader]["F"]["points"] == 3.0
    assert people[m[0]]["A"]["missing"] and people[m[0]]["I"]["missing"]


async def as_person_live(server: Server, pid: int):
    from tests.conftest import Live

    assert server.runner is not None
    return await as_person(Live(server.runner.app, server.url), server.world.db_url, pid)
