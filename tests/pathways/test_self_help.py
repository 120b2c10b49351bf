"""Self-help groups through the real server: hosts chosen per session over REST (by rotation, or
by the group), the host leads their own session only (a capability grant, not a role: the
snapshot shows it, the room refuses a non-host's phase command), the host is recorded as the one
who ran the meeting (attendance ``led``, score input F), and files the meeting report the group
and its coordinator read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from server.attendance.models import AttendanceRecordRow
from server.db.engine import Database
from server.db.models import (
    Group,
    Membership,
    Organisation,
    Person,
    PersonRole,
    ScheduledSession,
    Series,
)
from server.domain import GroupRole, OrgRole, ProtocolKind, SessionStatus
from tests.conftest import Live
from tests.fakes_rooms import ManualClock
from tests.foundation.seed import password_hash
from tests.signaling.conftest import Peer, Server, World

from .helpers import login


async def _seed(url: str) -> tuple[World, list[int], int]:
    """A self-help group of four members (no leader), a coordinator, an outsider and two
    sessions starting now, still ``scheduled`` (hosts are chosen before a session opens)."""
    pw = await password_hash()
    db = Database(url)
    w = World(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="St. Test", slug="st-test")
            s.add(org)
            await s.flush()

            def person(key: str, name: str) -> Person:
                p = Person(
                    organisation_id=org.id,
                    email=f"{key}@test.example",
                    display_name=name,
                    password_hash=pw,
                )
                s.add(p)
                return p

            coord = person("coord", "Coordinator")
            mem = [person(f"m{i}", f"Member {i}") for i in range(4)]
            out = person("out", "Outsider")
            await s.flush()
            s.add(PersonRole(person_id=coord.id, organisation_id=org.id, role=OrgRole.COORDINATOR))
            group = Group(
                organisation_id=org.id,
                name="Self-help A",
                protocol=ProtocolKind.SELF_HELP,
                capacity=12,
                min_members=3,
                settings={},
            )
            s.add(group)
            await s.flush()
            for m in mem:
                s.add(Membership(group_id=group.id, person_id=m.id, role=GroupRole.MEMBER))
            series = Series(group_id=group.id, title="S", timezone="UTC", planned_sessions=2)
            s.add(series)
            await s.flush()
            now = datetime.now(UTC)
            sessions = [
                ScheduledSession(
                    series_id=series.id,
                    group_id=group.id,
                    index=i + 1,
                    starts_at=now + timedelta(minutes=i),
                    timezone="UTC",
                    duration_minutes=90,
                    status=SessionStatus.SCHEDULED,
                )
                for i in range(2)
            ]
            s.add_all(sessions)
            await s.flush()
            w.members = [m.id for m in mem]
            w.outsider, w.group_id, w.series_id = out.id, group.id, series.id
            w.session_id = sessions[0].id
            return w, [x.id for x in sessions], coord.id
    finally:
        await db.dispose()


@pytest.fixture
async def setup(sqlite_url: str, tmp_path: Path) -> AsyncIterator[tuple[Server, list[int]]]:
    world, sessions, _ = await _seed(sqlite_url)
    server = Server(world, tmp_path, ManualClock(time.time_ns() // 1_000_000), None)
    await server.start()
    yield server, sessions
    for p in server.peers:
        await p.close()
    await server.stop()


async def _open(url: str, session_ids: list[int]) -> None:
    """The scheduler opens the lobbies."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await s.execute(
                update(ScheduledSession)
                .where(ScheduledSession.id.in_(session_ids))
                .values(status=SessionStatus.OPEN)
            )
    finally:
        await db.dispose()


def _me(snap: dict[str, Any], pid: int) -> dict[str, Any]:
    return next(p for p in snap["participants"] if p["person_id"] == str(pid))


async def _records(url: str, session_id: int, wait_s: float = 15) -> dict[int, bool]:
    """The attendance records of an ended session (written once its room has closed)."""
    db = Database(url)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            async with db.sessionmaker() as s:
                rows = list(
                    await s.scalars(
                        select(AttendanceRecordRow).where(
                            AttendanceRecordRow.session_id == session_id
                        )
                    )
                )
            if rows or time.monotonic() > deadline:
                return {r.person_id: r.led for r in rows}
            await asyncio.sleep(0.1)
    finally:
        await db.dispose()


async def test_host_leads_only_their_session_and_reports(
    setup: tuple[Server, list[int]], sqlite_url: str, api_factory: Any
) -> None:
    server, (s1, s2) = setup
    w = server.world
    m0, m1, m2, m3 = w.members
    live = Live(app=server.runner.app, url=server.url)  # type: ignore[union-attr]
    coord = await login(live, api_factory, "coord@test.example")
    member = await login(live, api_factory, "m1@test.example")
    outsider = await login(live, api_factory, "out@test.example")

    # The coordinator rotates hosts over the coming sessions: the members in turn.
    status, plan = await coord.post(f"/api/groups/{w.group_id}/hosts/rotate")
    assert status == 200, plan
    assert [(h["session_id"], h["person_id"]) for h in plan] == [(s1, m0), (s2, m1)]
    # The group changes a host itself (any member); nobody outside the group may.
    status, got = await member.call("PUT", f"/api/sessions/{s2}/host", {"person_id": m1})
    assert status == 200 and got["person_id"] == m1
    status, _ = await outsider.call("PUT", f"/api/sessions/{s2}/host", {"person_id": m1})
    assert status == 403
    status, err = await member.call("PUT", f"/api/sessions/{s2}/host", {"person_id": w.outsider})
    assert status == 400 and "person_id" in err["error"]["details"]["fields"]

    await _open(sqlite_url, [s1, s2])
    # Session 1: m0 hosts. m1 is an ordinary member there.
    host1 = Peer(server.url, m0, s1, GroupRole.MEMBER)
    other1 = Peer(server.url, m1, s1, GroupRole.MEMBER)
    server.peers += [host1, other1]
    snap = await host1.enter()
    await other1.enter()
    caps = _me(snap, m0)["capabilities"]
    assert _me(snap, m0)["hosting"] and {"lead", "moderate"} <= set(caps) and "note" not in caps
    refused = await other1.call("protocol.command", {"command": "advance"})
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused
    ok = await host1.call("protocol.command", {"command": "advance"})
    assert ok["ok"], ok
    snap = await other1.until(lambda s: s["phase"] == "meeting")
    assert not _me(snap, m1)["hosting"] and "lead" not in _me(snap, m1)["capabilities"]

    # Session 2: m1 hosts; m0's rights stayed in session 1.
    host2 = Peer(server.url, m1, s2, GroupRole.MEMBER)
    other2 = Peer(server.url, m0, s2, GroupRole.MEMBER)
    server.peers += [host2, other2]
    await host2.enter()
    await other2.enter()
    refused = await other2.call("protocol.command", {"command": "advance"})
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused
    ok = await host2.call("protocol.command", {"command": "advance"})
    assert ok["ok"], ok

    # The host ends session 1: attendance records the host as the one who ran it.
    server.clock.advance(60 * 60_000)
    ok = await host1.call("protocol.command", {"command": "end"})
    assert ok["ok"], ok
    for p in (host1, other1):
        assert (await p.call("leave", {}))["ok"]
        await p.close()
    led = await _records(sqlite_url, s1)
    assert led.get(m0) is True and led.get(m1) is False, led
    # ... which is the individual score's input F (each sees their own).
    host = await login(live, api_factory, "m0@test.example")
    for who, pid, runs in ((host, m0, 1), (member, m1, 0)):
        status, scores = await who.get(f"/api/series/{w.series_id}/scores")
        assert status == 200, scores
        (mine,) = scores["members"]
        f = next(x for x in mine["terms"] if x["term"] == "F")
        assert mine["person_id"] == pid and f["raw"] == runs, f

    # The meeting report: by the host only, after the meeting, no case details, members only.
    report = {
        "covered": "sleep after night shifts",
        "attendance": [m0, m1],
        "no_case_details": True,
    }
    status, err = await member.post(f"/api/sessions/{s1}/meeting-report", report)
    assert status == 403, err
    host = await login(live, api_factory, "m0@test.example")
    status, err = await host.post(
        f"/api/sessions/{s1}/meeting-report", {**report, "no_case_details": False}
    )
    assert status == 400 and "no_case_details" in err["error"]["details"]["fields"], err
    status, err = await host.post(
        f"/api/sessions/{s1}/meeting-report", {**report, "attendance": [m0, w.outsider]}
    )
    assert status == 400 and "attendance" in err["error"]["details"]["fields"], err
    status, got = await host.post(f"/api/sessions/{s1}/meeting-report", report)
    assert status == 201 and got["host_id"] == m0 and got["attendance"] == [m0, m1], got
    status, _ = await host.post(f"/api/sessions/{s1}/meeting-report", report)
    assert status == 409
    for reader in (member, coord):
        status, reports = await reader.get(f"/api/groups/{w.group_id}/meeting-reports")
        assert status == 200 and [r["covered"] for r in reports] == [report["covered"]]
    status, _ = await outsider.get(f"/api/groups/{w.group_id}/meeting-reports")
    assert status == 403
    # A started session's host no longer changes.
    status, err = await coord.call("PUT", f"/api/sessions/{s1}/host", {"person_id": m2})
    assert status == 409 and "session_id" in err["error"]["details"]["fields"]
    assert m3  # the fourth member stays an ordinary member throughout
