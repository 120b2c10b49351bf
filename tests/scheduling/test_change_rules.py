"""Moves, make-ups and re-timing keep the rules booking keeps (issue 14, item 13).

A Balint series (seed 001): 6-8 sessions, at most 3 meetings a week, no two at once. Each
refusal names its field and changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.conftest import Live
from tests.foundation.seed import seed
from tests.scheduling.test_api import _login, _series


async def test_changes_go_through_the_booking_rules(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, series = await coord.post(f"/api/groups/{w.group_id}/series", _series(sessions=8))
    assert status == 201, series
    sessions = series["sessions"]
    monday = date.fromisoformat(sessions[0]["local_start"][:10])  # MO, TH, MO, TH, ...

    async def refused(path: str, body: dict[str, Any], code: str, field: str) -> None:
        status, err = await coord.post(path, body)
        assert status == 409, err
        assert err["error"]["code"] == "schedule_refused"
        assert code in {p["code"] for p in err["error"]["details"]["problems"]}
        assert field in err["error"]["details"]["fields"]

    makeup = f"/api/series/{series['id']}/makeup"
    # A ninth session in an eight-session series.
    wed = monday + timedelta(days=2)
    await refused(makeup, {"date": wed.isoformat(), "local_time": "19:00"}, "session_count", "date")
    # On top of session 1 (same day, overlapping hour).
    await refused(
        f"/api/sessions/{sessions[2]['id']}/move",
        {"date": monday.isoformat(), "local_time": "19:30"},
        "sessions_overlap",
        "local_time",
    )
    # Cancel one so a make-up is allowed, then fill the first week to three meetings.
    status, _ = await coord.post(f"/api/sessions/{sessions[7]['id']}/cancel")
    assert status == 200
    status, extra = await coord.post(makeup, {"date": wed.isoformat(), "local_time": "19:00"})
    assert status == 201, extra
    # A fourth meeting that week, by moving session 3 (next Monday) to the first Tuesday.
    tue = monday + timedelta(days=1)
    await refused(
        f"/api/sessions/{sessions[2]['id']}/move",
        {"date": tue.isoformat(), "local_time": "19:00"},
        "too_many_per_week",
        "date",
    )
    # Re-timing the rest onto four weekdays would put four in a week: refused too.
    next_monday = monday + timedelta(days=7)
    await refused(
        f"/api/sessions/{sessions[2]['id']}/rest",
        {
            "weekdays": ["MO", "TU", "WE", "TH"],
            "local_time": "19:00",
            "start_date": next_monday.isoformat(),
        },
        "too_many_per_week",
        "date",
    )
    # Nothing moved: session 3 is where it was booked, with its first version.
    status, again = await coord.get(f"/api/series/{series['id']}")
    assert status == 200
    third = next(x for x in again["sessions"] if x["id"] == sessions[2]["id"])
    assert third["local_start"] == sessions[2]["local_start"] and third["sequence"] == 0
    # A move that keeps the rules still works.
    status, moved = await coord.post(
        f"/api/sessions/{sessions[2]['id']}/move",
        {"date": (next_monday + timedelta(days=1)).isoformat(), "local_time": "18:00"},
    )
    assert status == 200, moved
