"""REST: preview, book, move (ICS SEQUENCE+1, notice), enrol with waiting list, outbox, feed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiohttp
from icalendar import Calendar, vInt

from server.db.engine import Database
from server.lifecycle import Change
from server.scheduling.api import SERVICE_KEY
from server.session_status import write_status
from tests.conftest import Live
from tests.foundation.seed import PASSWORD, seed


async def _login(live: Live, api_factory: Any, email: str) -> Any:
    api = api_factory(live)
    status, _ = await api.post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200
    return api


def _monday_in(weeks: int) -> str:
    today = datetime.now(UTC).date()
    return (today + timedelta(days=7 * weeks - today.weekday())).isoformat()


def _series(**kw: Any) -> dict[str, Any]:
    body = {
        "title": "Balint autumn",
        "sessions": 6,
        "weekdays": ["MO", "TH"],
        "local_time": "19:00",
        "start_date": _monday_in(2),
        "duration_minutes": 60,
        "timezone": "Europe/Amsterdam",
    }
    body.update(kw)
    return body


async def test_book_move_and_calendar_through_rest(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    g = w.group_id

    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series(sessions=9))
    assert status == 200 and not pv["ok"]
    assert [p["code"] for p in pv["problems"]] == ["session_count"]

    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series())
    assert status == 200 and pv["ok"], pv
    assert all(s["local"].endswith("T19:00") for s in pv["sessions"])

    status, series = await coord.post(f"/api/groups/{g}/series", _series())
    assert status == 201, series
    first = series["sessions"][0]

    status, err = await coord.post(f"/api/groups/{g}/series", _series())
    assert status == 409 and err["error"]["code"] == "booking_refused"
    codes = {p["code"] for p in err["error"]["details"]["problems"]}
    assert "leader_double_booked" in codes

    for bad in (
        _series(start_date="2027-02-31"),
        _series(timezone="Europe/Atlantis"),
        _series(sessions=0),
        _series(weekdays=[]),
        _series(extra=1),
    ):
        status, err = await coord.post(f"/api/groups/{g}/series/preview", bad)
        assert status == 400, (bad, err)

    member = await _login(live_sqlite, api_factory, "m0@test.example")
    status, feed = await member.post("/api/me/calendar-feed")
    assert status == 201
    path = feed["url"].removeprefix("http://127.0.0.1:8080")
    async with member.http.get(live_sqlite.url + path) as resp:
        assert resp.status == 200 and resp.content_type == "text/calendar"
        cal = Calendar.from_ical(await resp.read())
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    uid = next(u for u in events if u.startswith(f"session-{first['id']}@"))
    assert int(cast(vInt, events[uid]["sequence"])) == 0

    new_day = (datetime.fromisoformat(first["local_start"]) + timedelta(days=1)).date()
    status, moved = await coord.post(
        f"/api/sessions/{first['id']}/move", {"date": new_day.isoformat(), "local_time": "18:30"}
    )
    assert status == 200, moved
    assert moved["sequence"] == 1 and moved["local_start"].endswith("T18:30")
    async with member.http.get(live_sqlite.url + path) as resp:
        cal = Calendar.from_ical(await resp.read())
    ev = next(e for e in cal.walk("VEVENT") if str(e["uid"]) == uid)
    assert int(cast(vInt, ev["sequence"])) == 1

    await live_sqlite.app[SERVICE_KEY].sweep()
    status, box = await coord.get(f"/api/organisations/{w.org_id}/outbox")
    assert status == 200
    kinds = {m["kind"] for m in box}
    assert {"booked", "moved"} <= kinds

    status, c = await member.post(f"/api/series/{series['id']}/confirm")
    assert status == 200 and c["new"]
    # Member 1 confirms with the one-click link in the booking notice, without logging in.
    notice = next(m for m in box if m["kind"] == "booked" and m["to_address"] == "m1@test.example")
    # The token rides in the fragment; opening the link (a mail scanner) spends nothing.
    link = re.search(r"http://127.0.0.1:8080/app/#confirm=(\S+)", notice["body"])
    assert link is not None
    token = link.group(1)
    async with aiohttp.ClientSession() as anon:
        old_form = f"{live_sqlite.url}/api/confirm/{token}"
        async with anon.get(old_form, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == f"/app/#confirm={token}"
        status, conf = await coord.get(f"/api/series/{series['id']}/confirmations")
        assert [x["person_id"] for x in conf if x["confirmed_at"]] == w.member_ids[:1]
        # The page confirms with a POST after the click.
        async with anon.post(live_sqlite.url + "/api/confirm", json={"token": token}) as resp:
            assert resp.status == 200 and (await resp.json())["new"] is True
        tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
        async with anon.post(live_sqlite.url + "/api/confirm", json={"token": tampered}) as resp:
            assert resp.status == 410
    status, conf = await coord.get(f"/api/series/{series['id']}/confirmations")
    assert status == 200
    assert [x["person_id"] for x in conf if x["confirmed_at"]] == w.member_ids[:2]

    status, _ = await member.post(f"/api/groups/{g}/series", _series())
    assert status == 403
    async with member.http.get(live_sqlite.url + "/api/calendar/not-a-token") as resp:
        assert resp.status == 410

    status, doc = await coord.get("/api/openapi.json")
    assert "/api/groups/{group_id}/series/preview" in doc["paths"]


async def test_changes_enrolment_and_series_ics_through_rest(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=3)  # fewer than a Balint group needs: a warning only
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    g = w.group_id
    status, series = await coord.post(f"/api/groups/{g}/series", _series(sessions=8))
    assert status == 201
    assert [p["code"] for p in series["problems"]] == ["too_few_members"]
    ids = [x["id"] for x in series["sessions"]]

    status, cancelled = await coord.post(f"/api/sessions/{ids[1]}/cancel")
    assert status == 200 and cancelled["status"] == "cancelled" and cancelled["sequence"] == 1
    status, err = await coord.post(f"/api/sessions/{ids[1]}/cancel")
    assert status == 409 and err["error"]["code"] == "session_cancelled"

    last = datetime.fromisoformat(series["sessions"][-1]["local_start"])
    status, mk = await coord.post(
        f"/api/series/{series['id']}/makeup",
        {"date": (last + timedelta(days=2)).date().isoformat(), "local_time": "19:00"},
    )
    assert status == 201 and mk["is_makeup"] and mk["index"] == 9

    rest_from = datetime.fromisoformat(series["sessions"][4]["local_start"]).date()
    status, rest = await coord.post(
        f"/api/sessions/{ids[4]}/rest",
        {"weekdays": ["TU"], "local_time": "20:00", "start_date": rest_from.isoformat()},
    )
    assert status == 200, rest
    assert [x["id"] for x in rest] == ids[4:]
    assert {x["local_start"][11:] for x in rest} == {"20:00"}
    status, err = await coord.post(
        f"/api/sessions/{ids[4]}/rest",
        {"weekdays": [], "local_time": "20:00", "start_date": rest_from.isoformat()},
    )
    assert status == 400

    status, gone = await coord.post(f"/api/sessions/{ids[6]}/cancel-rest")
    assert status == 200 and {x["status"] for x in gone} == {"cancelled"}

    # The series as an .ics file: valid, cancelled sessions flagged, SEQUENCE bumped.
    async with coord.http.get(f"{live_sqlite.url}/api/series/{series['id']}/calendar.ics") as resp:
        assert resp.status == 200
        cal = Calendar.from_ical(await resp.read())
    assert str(cal["version"]) == "2.0" and "prodid" in cal
    events = {str(e["uid"]).split("@")[0]: e for e in cal.walk("VEVENT")}
    assert len(events) == 9
    assert str(events[f"session-{ids[1]}"]["status"]) == "CANCELLED"
    assert int(cast(vInt, events[f"session-{ids[1]}"]["sequence"])) == 1
    assert int(cast(vInt, events[f"session-{ids[6]}"]["sequence"])) == 2  # re-timed, then cancelled
    for e in events.values():
        assert {"dtstamp", "dtstart", "dtend", "summary"} <= {k.lower() for k in e}

    # Enrolment with notices; the outsider is of the same organisation.
    status, e = await coord.post(f"/api/groups/{g}/enrolments", {"person_id": w.outsider_id})
    assert status == 201 and e["status"] == "active"
    status, e = await coord.post(f"/api/groups/{g}/enrolments", {"person_id": w.outsider_id})
    assert status == 409
    status, e = await coord.call("DELETE", f"/api/groups/{g}/enrolments/{w.outsider_id}")
    assert status == 200 and e["status"] == "withdrawn"
    await live_sqlite.app[SERVICE_KEY].sweep()
    status, box = await coord.get(f"/api/organisations/{w.org_id}/outbox")
    kinds = {(m["kind"], m["to_address"]) for m in box}
    assert {("enrolled", "out@test.example"), ("withdrawn", "out@test.example")} <= kinds
    assert any(k == "cancelled" for k, _ in kinds) and any(k == "makeup" for k, _ in kinds)
    status, failed = await coord.get(f"/api/organisations/{w.org_id}/outbox?status=failed")
    assert status == 200 and failed == []


async def test_a_coordinator_may_cancel_until_the_session_goes_live(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    """Issue 11, defect 1: a session whose lobby is open (``open``) can still be cancelled;
    one that went live cannot."""
    w = await seed(sqlite_url, members=3)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, series = await coord.post(f"/api/groups/{w.group_id}/series", _series(sessions=8))
    assert status == 201
    ids = [x["id"] for x in series["sessions"]]
    db = Database(sqlite_url)
    try:
        async with db.engine.begin() as conn:
            assert (await write_status(conn, ids[0], Change.LOBBY_OPEN)).ok  # the lobby opens
            assert (await write_status(conn, ids[1], Change.START)).ok  # the leader started it
    finally:
        await db.dispose()
    status, cancelled = await coord.post(f"/api/sessions/{ids[0]}/cancel")
    assert status == 200 and cancelled["status"] == "cancelled"
    status, err = await coord.post(f"/api/sessions/{ids[1]}/cancel")
    assert status == 409 and err["error"]["code"] == "session_started"
