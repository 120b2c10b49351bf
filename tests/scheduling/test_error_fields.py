"""One error shape: every refusal names its fields in ``details.fields`` (issue 14, item 14)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Live
from tests.foundation.seed import seed
from tests.scheduling.test_api import _login, _series


async def test_every_booking_refusal_names_its_fields(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    url = f"/api/groups/{w.group_id}/series"

    async def refused(body: dict[str, Any], status: int, code: str) -> dict[str, str]:
        got, err = await coord.post(url, body)
        assert got == status and err["error"]["code"] == code, err
        fields = err["error"]["details"]["fields"]
        assert isinstance(fields, dict) and fields
        return fields

    # An unknown body field is named as such.
    fields = await refused({**_series(), "colour": "blue"}, 400, "invalid")
    assert fields == {"colour": "unknown field"}
    # Too many sessions for a Balint series (6-8) and too many meetings a week (at most 3).
    fields = await refused(_series(sessions=12), 409, "booking_refused")
    assert "sessions" in fields and "6-8" in fields["sessions"]
    fields = await refused(_series(weekdays=["MO", "TU", "WE", "TH"]), 409, "booking_refused")
    assert "weekdays" in fields
    # A bad value inside the body is named by its own field.
    fields = await refused(_series(local_time="25:99"), 400, "invalid")
    assert list(fields) == ["local_time"]
    # Nothing was booked by any of them.
    status, series = await coord.post(url, _series())
    assert status == 201 and len(series["sessions"]) == 6

    # Moving into the past: the same shape (it used ``details.field`` before).
    sid = series["sessions"][0]["id"]
    status, err = await coord.post(
        f"/api/sessions/{sid}/move", {"date": "2020-01-06", "local_time": "19:00"}
    )
    assert status == 400 and err["error"]["details"]["fields"] == {
        "date": "the new time is in the past"
    }
    assert "field" not in err["error"]["details"]
    # A query parameter nobody asked for.
    status, err = await coord.get(f"/api/groups/{w.group_id}?colour=blue")
    assert status == 400 and err["error"]["details"]["fields"] == {
        "colour": "unknown query parameter"
    }
