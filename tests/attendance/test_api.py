"""Attendance records through REST and the CLI: rebuild, grid, excuses, corrections, authz."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from server.attendance import records
from server.attendance.derive import Rules
from server.attendance.models import AttendanceRecordRow
from server.db.engine import Database
from server.db.models import AuditEntry, Group, Membership, Organisation, Person, PersonRole
from server.domain import AuditOutcome, GroupRole, OrgRole, ProtocolKind, SessionStatus
from tests.conftest import SECRET, Live
from tests.foundation.seed import seed

from .conftest import D, J, L, R, add_session, as_person, backdate_memberships, days_ago


async def _world(url: str):
    w = await seed(url, members=3, with_password=False, session_in_minutes=120)
    m0, m1, m2 = w.member_ids
    await backdate_memberships(url, w.group_id, days_ago(30))
    a = await add_session(
        url,
        w,
        1,
        days_ago(14),
        SessionStatus.ENDED,
        {
            w.leader_id: [(J, -5), (L, 60)],
            m0: [(J, 0), (D, 20), (R, 20.5), (L, 60)],  # a blip inside the grace
            m1: [(J, 15), (L, 60)],  # late
        },  # m2 absent
    )
    b = await add_session(
        url,
        w,
        2,
        days_ago(7),
        SessionStatus.ENDED,
        {w.leader_id: [(J, 0), (L, 60)], m0: [(J, 0), (L, 30)], m1: [(J, 1), (L, 60)]},
        excused=(m2,),
        sequence=1,  # moved
    )
    never = await add_session(url, w, 3, days_ago(3), SessionStatus.OPEN, {m0: [(J, -2), (L, 5)]})
    db = Database(url)
    try:
        assert await records.rebuild(db, Rules(), series_id=w.series_id) == 10
    finally:
        await db.dispose()
    return w, (a, b, never)


async def test_records_grid_rates_and_regularity(live: Live, db_url: str) -> None:
    w, (a, b, never) = await _world(db_url)
    m0, m1, m2 = w.member_ids
    coord = await as_person(live, db_url, w.coordinator_id)
    try:
        status, rep = await coord.get(f"/api/series/{w.series_id}/attendance")
    finally:
        await coord.close()
    assert status == 200, rep
    grid = {m["person_id"]: m for m in rep["members"]}
    cell = grid[m0]["sessions"][str(a)]
    assert (cell["status"], cell["minutes_present"], cell["reconnects"]) == ("present", 60, 1)
    assert grid[m1]["sessions"][str(a)]["status"] == "late"
    assert grid[m2]["sessions"][str(a)]["status"] == "absent"
    assert grid[m0]["sessions"][str(b)]["status"] == "left_early"
    excused = grid[m2]["sessions"][str(b)]
    assert (excused["status"], excused["excused_ahead"]) == ("excused", True)
    assert excused["excuse_reason"] == "night shift"  # leaders and coordinators see it
    assert grid[m0]["sessions"][str(never)] is None  # never went live: no record
    assert (grid[m2]["attended"], grid[m2]["expected"], grid[m2]["attendance_rate"]) == (0, 1, 0.0)
    assert grid[m0]["attendance_rate"] == 1.0
    by_id = {x["id"]: x for x in rep["sessions"]}
    # leader, m0 and m1 of five expected (the co-leader and m2 were absent)
    assert by_id[a]["attendance_rate"] == 0.6
    assert rep["regularity"] == {
        "due": 3,
        "held_as_booked": 1,
        "moved": 1,
        "cancelled": 0,
        "rate": 0.3333,
    }


async def test_a_member_sees_only_their_own_row(live: Live, db_url: str) -> None:
    w, (a, b, _) = await _world(db_url)
    m2 = w.member_ids[2]
    member = await as_person(live, db_url, m2)
    try:
        status, rep = await member.get(f"/api/series/{w.series_id}/attendance")
        assert status == 200
        assert [m["person_id"] for m in rep["members"]] == [m2]
        assert "excuse_reason" not in rep["members"][0]["sessions"][str(b)]
        assert all(x["attendance_rate"] is None for x in rep["sessions"])
        status, _ = await member.get(f"/api/series/{w.series_id}/attendance.csv")
        assert status == 200
        # a member may not correct records
        status, _ = await member.post(
            f"/api/sessions/{a}/attendance/{m2}/corrections",
            {"status": "present", "reason": "I was there"},
        )
        assert status == 403
    finally:
        await member.close()
    outsider = await as_person(live, db_url, w.outsider_id)
    try:
        status, _ = await outsider.get(f"/api/series/{w.series_id}/attendance")
        assert status == 403
    finally:
        await outsider.close()


async def test_a_leader_sees_only_their_groups(live: Live, db_url: str) -> None:
    w, (a, _, _) = await _world(db_url)
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            other = Group(
                organisation_id=w.org_id,
                name="Balint B",
                protocol=ProtocolKind.BALINT,
                capacity=12,
                min_members=8,
                settings={},
            )
            s.add(other)
            await s.flush()
            p = Person(organisation_id=w.org_id, email="l2@test.example", display_name="L2")
            s.add(p)
            await s.flush()
            s.add(Membership(group_id=other.id, person_id=p.id, role=GroupRole.LEADER))
            leader_b = p.id
    finally:
        await db.dispose()
    api = await as_person(live, db_url, leader_b)
    try:
        for path in (
            f"/api/series/{w.series_id}/attendance",
            f"/api/series/{w.series_id}/attendance.csv",
            f"/api/series/{w.series_id}/scores",
            f"/api/sessions/{a}/excuses",
        ):
            status, _ = await api.get(path)
            assert status == 403, path
        status, _ = await api.post(
            f"/api/sessions/{a}/attendance/{w.member_ids[0]}/corrections",
            {"status": "absent", "reason": "not my group"},
        )
        assert status == 403
    finally:
        await api.close()


async def test_coordinators_only_their_organisation(live: Live, db_url: str) -> None:
    w, _ = await _world(db_url)
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="Other", slug="other")
            s.add(org)
            await s.flush()
            p = Person(organisation_id=org.id, email="c2@test.example", display_name="C2")
            s.add(p)
            await s.flush()
            s.add(PersonRole(person_id=p.id, organisation_id=org.id, role=OrgRole.COORDINATOR))
            other = p.id
    finally:
        await db.dispose()
    api = await as_person(live, db_url, other)
    try:
        status, body = await api.get(f"/api/series/{w.series_id}/attendance")
        assert status == 403, body
    finally:
        await api.close()


async def test_a_leaders_correction_is_audited_and_keeps_the_original(
    live: Live, db_url: str
) -> None:
    w, (a, _, _) = await _world(db_url)
    m2 = w.member_ids[2]
    leader = await as_person(live, db_url, w.leader_id)
    try:
        status, body = await leader.post(
            f"/api/sessions/{a}/attendance/{m2}/corrections",
            {"status": "excused", "reason": "told me by phone: a patient emergency"},
        )
        assert status == 201, body
        assert (body["status"], body["derived_status"]) == ("excused", "absent")
        status, body = await leader.post(
            f"/api/sessions/{a}/attendance/{m2}/corrections", {"status": "excused"}
        )
        assert status == 400 and "reason" in json.dumps(body)
        status, rep = await leader.get(f"/api/series/{w.series_id}/attendance")
    finally:
        await leader.close()
    cell = next(m for m in rep["members"] if m["person_id"] == m2)["sessions"][str(a)]
    assert (cell["status"], cell["derived_status"]) == ("excused", "absent")
    assert cell["corrections"][0]["reason"] == "told me by phone: a patient emergency"
    db = Database(db_url)
    try:
        # a rebuild re-derives the record and the correction still stands beside it
        await records.rebuild(db, Rules(), series_id=w.series_id)
        async with db.sessionmaker() as s:
            rec = await s.get(AttendanceRecordRow, (a, m2))
            entry = await s.scalar(
                select(AuditEntry).where(AuditEntry.action == "attendance.correct")
            )
    finally:
        await db.dispose()
    assert rec is not None and rec.status.value == "absent"
    assert entry is not None and entry.outcome is AuditOutcome.ALLOWED
    assert entry.details["from"] == "absent" and entry.details["to"] == "excused"


async def test_i_cant_come_ahead_and_leaders_see_it(live: Live, db_url: str) -> None:
    w, (a, _, _) = await _world(db_url)
    m0 = w.member_ids[0]
    member = await as_person(live, db_url, m0)
    leader = await as_person(live, db_url, w.leader_id)
    try:
        status, body = await member.call(
            "PUT", f"/api/sessions/{w.session_id}/excuse", {"reason": "on call"}
        )
        assert status == 200, body
        status, seen = await leader.get(f"/api/sessions/{w.session_id}/excuses")
        assert status == 200
        assert [(x["person_id"], x["reason"]) for x in seen] == [(m0, "on call")]
        status, mine = await member.get("/api/me/excuses")
        assert [x["session_id"] for x in mine] == [w.session_id]
        status, _ = await member.get(f"/api/sessions/{w.session_id}/excuses")
        assert status == 403  # the reason is for leaders only
        status, body = await member.call("PUT", f"/api/sessions/{a}/excuse", {})
        assert status == 409 and body["error"]["code"] == "session_started"
        status, body = await member.call(
            "PUT", f"/api/sessions/{w.session_id}/excuse", {"reason": "x" * 501}
        )
        assert status == 400
        status, _ = await member.call("DELETE", f"/api/sessions/{w.session_id}/excuse")
        assert status == 204
        status, seen = await leader.get(f"/api/sessions/{w.session_id}/excuses")
        assert seen == []
    finally:
        await member.close()
        await leader.close()


def test_cli_rebuild_and_csv(tmp_path: Path, sqlite_url: str) -> None:
    import asyncio

    w, _ = asyncio.run(_world(sqlite_url))
    env = {
        **os.environ,
        "CIRCLE_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": SECRET,
        "DATABASE_URL": sqlite_url,
    }

    def circle(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", "attendance", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    done = circle("rebuild", "--series", str(w.series_id))
    assert done.returncode == 0, done.stderr
    assert "rebuilt 10 attendance records" in done.stdout
    out = circle("--series", str(w.series_id), "--format", "csv")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("person_id,name,role,session 1")
    member2 = next(line for line in lines if ",Member 2," in line)
    assert member2.split(",")[3:5] == ["absent", "excused"]
    as_json = json.loads(circle("--series", str(w.series_id)).stdout)
    assert as_json["series_id"] == w.series_id
    bad = circle("--series", "999999")
    assert bad.returncode == 1 and "no such series" in bad.stderr
