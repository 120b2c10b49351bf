"""Change notices carry the coordinator's reason or note, and a change to the rest of a series
is one summary per person, not one notice per session (issue 14, item 15)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from server.scheduling.api import SERVICE_KEY
from tests.conftest import Live
from tests.foundation.seed import seed
from tests.scheduling.test_api import _login, _series


async def _box(live: Live, coord: Any, org_id: int) -> list[dict[str, Any]]:
    await live.app[SERVICE_KEY].sweep()
    status, box = await coord.get(f"/api/organisations/{org_id}/outbox")
    assert status == 200
    return list(box)


async def test_reasons_and_notes_reach_everyone_and_the_audit_log(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, series = await coord.post(f"/api/groups/{w.group_id}/series", _series())
    assert status == 201
    ids = [x["id"] for x in series["sessions"]]

    # A reason that is too long is refused by name and cancels nothing.
    status, err = await coord.post(f"/api/sessions/{ids[1]}/cancel", {"reason": "x" * 501})
    assert status == 400 and "reason" in err["error"]["details"]["fields"]
    status, again = await coord.get(f"/api/series/{series['id']}")
    assert next(x for x in again["sessions"] if x["id"] == ids[1])["status"] == "scheduled"

    status, _ = await coord.post(
        f"/api/sessions/{ids[1]}/cancel", {"reason": "The leader is ill; we will add a session."}
    )
    assert status == 200
    day = date.fromisoformat(series["sessions"][2]["local_start"][:10]) + timedelta(days=1)
    status, _ = await coord.post(
        f"/api/sessions/{ids[2]}/move",
        {"date": day.isoformat(), "local_time": "18:00", "note": "Room 2 is free then."},
    )
    assert status == 200
    box = await _box(live_sqlite, coord, w.org_id)
    cancelled = [m for m in box if m["kind"] == "cancelled"]
    assert cancelled and all("The leader is ill" in m["body"] for m in cancelled)
    assert any("Note: The leader is ill" in m["body"] for m in cancelled if m["locale"] == "en")
    moved = [m for m in box if m["kind"] == "moved"]
    assert moved and all("Room 2 is free then." in m["body"] for m in moved)
    # Without a body, as before: no note line.
    status, _ = await coord.post(f"/api/sessions/{ids[3]}/cancel")
    assert status == 200
    box = await _box(live_sqlite, coord, w.org_id)
    plain = [m for m in box if m["kind"] == "cancelled" and "Note" not in m["body"]]
    assert len(plain) == len(cancelled)


async def test_changing_the_rest_of_a_series_sends_one_summary_per_person(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, series = await coord.post(f"/api/groups/{w.group_id}/series", _series(sessions=8))
    assert status == 201
    ids = [x["id"] for x in series["sessions"]]
    start = date.fromisoformat(series["sessions"][1]["local_start"][:10]) + timedelta(days=7)
    start -= timedelta(days=start.weekday())  # a Monday
    status, rest = await coord.post(
        f"/api/sessions/{ids[1]}/rest",
        {
            "weekdays": ["TU", "FR"],
            "local_time": "18:30",
            "start_date": start.isoformat(),
            "note": "New room, new evenings.",
        },
    )
    assert status == 200 and len(rest) == 7
    box = await _box(live_sqlite, coord, w.org_id)
    per_person = Counter(m["to_address"] for m in box if m["kind"] == "retimed")
    people = 8 + 2  # members, leader and co-leader
    assert len(per_person) == people and set(per_person.values()) == {1}
    assert not [m for m in box if m["kind"] == "moved"]
    en = next(m for m in box if m["kind"] == "retimed" and m["locale"] == "en")
    assert en["body"].count("\n- ") == 7 and "18:30" in en["body"]
    assert "New room, new evenings." in en["body"]

    status, gone = await coord.post(
        f"/api/sessions/{ids[4]}/cancel-rest", {"reason": "The series ends early."}
    )
    assert status == 200 and len(gone) == 4
    box = await _box(live_sqlite, coord, w.org_id)
    per_person = Counter(m["to_address"] for m in box if m["kind"] == "cancelled_rest")
    assert len(per_person) == people and set(per_person.values()) == {1}
    assert not [m for m in box if m["kind"] == "cancelled"]
    summary = next(m for m in box if m["kind"] == "cancelled_rest")
    assert summary["body"].count("\n- ") == 4 and "The series ends early." in summary["body"]
