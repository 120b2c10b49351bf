"""REST for the coordinator pages (issue 16, items 8-13): restore a cancelled session, group
roles, holidays and exclusion dates, reminder timing per group, CSV invitations, and an outbox
that says when nothing was e-mailed. Bad input is named by field, changes nothing, is audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from server.db.engine import Database
from server.db.models import AuditEntry, Person
from server.domain import AuditOutcome
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from tests.conftest import Live
from tests.foundation.seed import seed
from tests.scheduling.test_api import _login, _series
from tests.scheduling.test_change_notices import _box


async def _audit(url: str, action: str) -> list[AuditEntry]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))
    finally:
        await db.dispose()


async def test_restore_a_cancelled_session_tells_everyone_again(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, series = await coord.post(f"/api/groups/{w.group_id}/series", _series(sessions=8))
    assert status == 201
    ids = [x["id"] for x in series["sessions"]]

    status, err = await coord.post(f"/api/sessions/{ids[1]}/restore")
    assert status == 409 and err["error"]["code"] == "not_cancelled"
    status, gone = await coord.post(f"/api/sessions/{ids[1]}/cancel")
    assert status == 200 and gone["sequence"] == 1
    status, back = await coord.post(f"/api/sessions/{ids[1]}/restore")
    assert status == 200, back
    assert back["status"] == "scheduled" and back["sequence"] == 2
    box = await _box(live_sqlite, coord, w.org_id)
    restored = [m for m in box if m["kind"] == "restored"]
    assert len(restored) == 10  # eight members, the leader and the co-leader
    assert all(m["recipient_name"] for m in restored)
    entries = await _audit(sqlite_url, "session.restore")
    assert [(e.target, e.outcome) for e in entries] == [
        (f"session:{ids[1]}", AuditOutcome.REFUSED),  # the first try: it was not cancelled
        (f"session:{ids[1]}", AuditOutcome.ALLOWED),
    ]
    # Reminders are planned again under the new SEQUENCE.
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s:
            pending = await s.scalar(
                select(func.count()).where(
                    Dispatch.session_id == ids[1],
                    Dispatch.purpose == Purpose.REMINDER,
                    Dispatch.status == DispatchStatus.PENDING,
                    Dispatch.key.like(f"s{ids[1]}.2:%"),
                )
            )
    finally:
        await db.dispose()
    assert pending and pending > 0

    # A make-up that takes the cancelled session's place: restoring would make 9 of at most 8.
    status, _ = await coord.post(f"/api/sessions/{ids[2]}/cancel")
    last = date.fromisoformat(series["sessions"][-1]["local_start"][:10])
    status, mk = await coord.post(
        f"/api/series/{series['id']}/makeup",
        {"date": (last + timedelta(days=1)).isoformat(), "local_time": "19:00"},
    )
    assert status == 201, mk
    status, err = await coord.post(f"/api/sessions/{ids[2]}/restore")
    assert status == 409 and err["error"]["code"] == "schedule_refused"
    status, again = await coord.get(f"/api/series/{series['id']}")
    assert next(x for x in again["sessions"] if x["id"] == ids[2])["status"] == "cancelled"

    member = await _login(live_sqlite, api_factory, "m0@test.example")
    status, _ = await member.post(f"/api/sessions/{ids[2]}/restore")
    assert status == 403


async def test_roles_and_a_warning_for_a_group_without_a_leader(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    g = w.group_id
    status, err = await coord.call(
        "PATCH", f"/api/groups/{g}/enrolments/{w.leader_id}", {"role": "boss"}
    )
    assert status == 400 and "role" in err["error"]["details"]["fields"]
    status, members = await coord.get(f"/api/groups/{g}/members")
    assert next(m for m in members if m["person_id"] == w.leader_id)["role"] == "leader"

    for pid in (w.leader_id, w.co_leader_id):
        status, out = await coord.call(
            "PATCH", f"/api/groups/{g}/enrolments/{pid}", {"role": "member"}
        )
        assert status == 200 and out["role"] == "member", out
    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series())
    assert status == 200 and pv["ok"]
    assert "no_leader" in [p["code"] for p in pv["problems"] if p["kind"] == "warn"]

    status, out = await coord.call(
        "PATCH", f"/api/groups/{g}/enrolments/{w.leader_id}", {"role": "leader"}
    )
    assert status == 200
    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series())
    assert "no_leader" not in [p["code"] for p in pv["problems"]]
    assert len(await _audit(sqlite_url, "group.role")) == 3

    # Questionnaire timepoints are members' own: they follow a change of role.
    status, _ = await coord.post(f"/api/groups/{g}/series", _series())
    assert status == 201
    m0 = w.member_ids[0]

    async def posts() -> int:
        db = Database(sqlite_url)
        try:
            async with db.sessionmaker() as s:
                n = await s.scalar(
                    select(func.count()).where(
                        Dispatch.person_id == m0,
                        Dispatch.purpose == Purpose.TIMEPOINT_POST,
                        Dispatch.status == DispatchStatus.PENDING,
                    )
                )
                return int(n or 0)
        finally:
            await db.dispose()

    assert await posts() > 0
    status, _ = await coord.call("PATCH", f"/api/groups/{g}/enrolments/{m0}", {"role": "co_leader"})
    assert status == 200 and await posts() == 0
    status, _ = await coord.call("PATCH", f"/api/groups/{g}/enrolments/{m0}", {"role": "member"})
    assert status == 200 and await posts() > 0

    # Enrolling with a role: the enrol form sends it.
    status, _ = await coord.post(
        f"/api/groups/{g}/enrolments", {"person_id": w.outsider_id, "role": "co_leader"}
    )
    assert status == 201
    status, members = await coord.get(f"/api/groups/{g}/members")
    assert next(m for m in members if m["person_id"] == w.outsider_id)["role"] == "co_leader"


async def test_holidays_and_exclusions_are_skipped_and_moved_to_the_end(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    cal = f"/api/organisations/{w.org_id}/calendar"
    start = date.fromisoformat(_series()["start_date"])  # a Monday
    holiday = start + timedelta(days=7)  # the second Monday
    excluded = start + timedelta(days=3)  # the first Thursday

    for bad, name in (
        ({"timezone": "Mars/Olympus", "holidays": []}, "timezone"),
        ({"holidays": [{"date": "2027-02-30", "name": "x"}]}, "holidays.0.date"),
        ({"holidays": [{"date": holiday.isoformat(), "name": ""}]}, "holidays.0.name"),
        ({"holidays": [{"date": holiday.isoformat(), "name": "a"}] * 2}, "holidays"),
    ):
        status, err = await coord.call("PUT", cal, bad)
        assert status == 400 and name in err["error"]["details"]["fields"], (bad, err)
    status, now = await coord.get(cal)
    assert now == {"timezone": None, "holidays": []}

    body: dict[str, Any] = {
        "timezone": "Asia/Tehran",
        "holidays": [{"date": holiday.isoformat(), "name": "Feast"}],
    }
    status, out = await coord.call("PUT", cal, body)
    assert status == 200 and out["timezone"] == "Asia/Tehran" and len(out["holidays"]) == 1
    assert len(await _audit(sqlite_url, "calendar.update")) == 1

    spec = _series(exclude_dates=[excluded.isoformat()])
    status, pv = await coord.post(f"/api/groups/{w.group_id}/series/preview", spec)
    assert status == 200 and pv["ok"], pv
    days = [x["local"][:10] for x in pv["sessions"]]
    assert holiday.isoformat() not in days and excluded.isoformat() not in days
    assert len(days) == 6
    assert pv["skipped"] == [
        {"date": excluded.isoformat(), "reason": "excluded", "name": ""},
        {"date": holiday.isoformat(), "reason": "holiday", "name": "Feast"},
    ]
    status, series = await coord.post(f"/api/groups/{w.group_id}/series", spec)
    assert status == 201
    assert [x["local_start"][:10] for x in series["sessions"]] == days
    assert series["pattern"]["skipped"] == pv["skipped"]
    # Re-timing the rest skips holidays too (here one set after booking).
    fourth = date.fromisoformat(days[3])
    later = fourth + timedelta(days=(1 - fourth.weekday()) % 7 or 7)  # the Tuesday after it
    body["holidays"].append({"date": later.isoformat(), "name": "Ward closed"})
    status, _ = await coord.call("PUT", cal, body)
    assert status == 200
    fifth = series["sessions"][4]["id"]
    status, rest = await coord.post(
        f"/api/sessions/{fifth}/rest",
        {"weekdays": ["TU"], "local_time": "19:00", "start_date": later.isoformat()},
    )
    assert status == 200, rest
    assert [x["local_start"][:10] for x in rest] == [
        (later + timedelta(days=7 * k)).isoformat() for k in (1, 2)
    ]
    status, err = await coord.post(
        f"/api/groups/{w.group_id}/series/preview", _series(exclude_dates=["tomorrow"])
    )
    assert status == 400 and "exclude_dates" in str(err["error"]["details"]["fields"])


async def test_reminder_timing_per_group(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    path = f"/api/groups/{w.group_id}/reminders"
    status, out = await coord.get(path)
    assert status == 200 and out["default"] is True
    status, _ = await coord.post(f"/api/groups/{w.group_id}/series", _series())
    assert status == 201
    for bad in (
        {"offsets_minutes": [0]},
        {"offsets_minutes": [60, 60]},
        {"offsets_minutes": [1] * 5},
    ):
        status, err = await coord.call("PUT", path, bad)
        assert status == 400 and "offsets_minutes" in err["error"]["details"]["fields"], err
    status, out = await coord.call("PUT", path, {"offsets_minutes": [60, 2880]})
    assert status == 200 and out == {"offsets_minutes": [2880, 60], "default": False}
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s:
            rows = await s.execute(
                select(Dispatch.offset_minutes, func.count())
                .where(
                    Dispatch.purpose == Purpose.REMINDER, Dispatch.status == DispatchStatus.PENDING
                )
                .group_by(Dispatch.offset_minutes)
            )
            offsets = dict(rows.all())
    finally:
        await db.dispose()
    assert set(offsets) == {2880, 60}
    assert offsets[60] == 6 * 10  # six sessions, ten people
    assert len(await _audit(sqlite_url, "reminders.update")) == 1


CSV_OK = (
    "name,email,language,zone,profession,department\n"
    "Sara Ahmadi,sara@test.example,fa,Asia/Tehran,nurse,ICU\n"
    "Jan de Vries,JAN@test.example,nl,,physician,\n"
    "Member 0,m0@test.example,,,,\n"
)


async def test_csv_invitations_are_all_or_nothing_with_a_report(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=3)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    path = f"/api/groups/{w.group_id}/import"
    bad = (
        "name,email,language,zone,profession,department\n"
        "Sara Ahmadi,sara@test.example,fa,Asia/Tehran,nurse,ICU\n"
        "Jan de Vries,not-an-address,de,Mars/Base,physician,\n"
        ",sara@test.example,,,,\n"
    )
    status, err = await coord.post(path, {"csv": bad})
    assert status == 400 and err["error"]["code"] == "import_refused"
    rows = {(r["row"], r["field"]) for r in err["error"]["details"]["rows"]}
    assert {(3, "email"), (3, "language"), (3, "zone"), (4, "name")} <= rows
    db = Database(sqlite_url)
    try:
        async with db.sessionmaker() as s:
            assert await s.scalar(select(Person).where(Person.email == "sara@test.example")) is None
    finally:
        await db.dispose()
    refused = await _audit(sqlite_url, "group.import")
    assert [e.outcome for e in refused] == [AuditOutcome.REFUSED]
    assert "@" not in str(refused[0].details)

    status, err = await coord.post(path, {"csv": "name,mail\nA,a@test.example\n"})
    assert status == 400 and {(1, "mail"), (1, "email")} <= {
        (r["row"], r["field"]) for r in err["error"]["details"]["rows"]
    }
    status, err = await coord.post(path, {"csv": CSV_OK.replace("Member 0", "Member zero")})
    assert status == 400 and err["error"]["details"]["rows"] == [
        {"row": 4, "field": "email", "message": "this person is already in the group"}
    ]

    status, out = await coord.post(path, {"csv": CSV_OK.replace("m0@", "out@")})
    assert status == 201, out
    assert out["created"] == 2 and out["enrolled"] == 3 and out["waiting"] == 0
    status, members = await coord.get(f"/api/groups/{w.group_id}/members")
    by_name = {m["display_name"]: m for m in members}
    assert (
        by_name["Sara Ahmadi"]["department"] == "ICU"
        and by_name["Jan de Vries"]["role"] == "member"
    )
    status, people = await coord.get(f"/api/organisations/{w.org_id}/people")
    jan = next(p for p in people if p["display_name"] == "Jan de Vries")
    assert jan["email"] == "jan@test.example" and jan["locale"] == "nl"
    assert [e.outcome for e in await _audit(sqlite_url, "group.import")][-1] is AuditOutcome.ALLOWED


async def test_the_outbox_says_nothing_was_emailed_and_the_booking_lists_every_session(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, _ = await coord.post(f"/api/groups/{w.group_id}/series", _series())
    assert status == 201
    box = await _box(live_sqlite, coord, w.org_id)
    booked = [m for m in box if m["kind"] == "booked"]
    assert booked and {m["delivery"] for m in booked} == {"not_emailed"}
    assert {m["status"] for m in booked} == {"sent"}  # stored: the outbox is the destination
    assert "Member 0" in {m["recipient_name"] for m in booked}
    english = next(m for m in booked if m["locale"] == "en")
    assert english["body"].count("\n- ") == 6  # every session's time, not only the first
    status, st = await coord.get(f"/api/organisations/{w.org_id}/outbox/status")
    assert status == 200 and st["mail_configured"] is False
    assert st["not_emailed"] == len(box) and st["failed"] == 0
    member = await _login(live_sqlite, api_factory, "m0@test.example")
    status, _ = await member.get(f"/api/organisations/{w.org_id}/outbox/status")
    assert status == 403
