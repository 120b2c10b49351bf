"""Through REST: a group's sizes and settings are checked against its protocol's table. A setting
the protocol cannot run is refused naming the field and the allowed range, changes nothing and
is audited; the booking preview warns (or refuses) what the table says of cadence and length."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AuditEntry, Group
from server.domain import AuditOutcome
from tests.conftest import Live
from tests.foundation.seed import PASSWORD, seed


async def _coordinator(live: Live, api_factory: Any) -> Any:
    api = api_factory(live)
    status, _ = await api.post(
        "/api/auth/login", {"email": "coord@test.example", "password": PASSWORD}
    )
    assert status == 200
    return api


async def _rows(url: str, model: Any) -> list[Any]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list((await s.scalars(select(model).order_by(model.id))).all())
    finally:
        await db.dispose()


CREATE_REFUSALS = [
    ("balint", {"settings": {"sitback_minutes": 25}}, "settings.sitback_minutes", "15-20 minutes"),
    ("balint", {"settings": {"sitback_minutes": "15"}}, "settings.sitback_minutes", "15-20"),
    ("balint", {"settings": {"questions_floor": "raised"}}, "settings.questions_floor", "'open'"),
    ("balint", {"settings": {"cadence": "never"}}, "settings.cadence", "'warn', 'refuse'"),
    ("balint", {"settings": {"takeover_seconds": 2}}, "settings.takeover_seconds", "5-600"),
    ("balint", {"settings": {"format": "rounds"}}, "settings.format", "not a setting"),
    ("balint", {"capacity": 13}, "capacity", "1-12"),
    # the bug of issue 15: accepted 30-180 while the room could run only 45-60
    ("peer_support", {"settings": {"session_minutes": 90}}, "settings.session_minutes", "not a"),
    ("dynamic", {"settings": {"format": "seminar"}}, "settings.format", "'free', 'rounds'"),
    ("dynamic", {"settings": {"check_in_minutes": 40}}, "settings.check_in_minutes", "5-25"),
    ("dynamic", {"capacity": 14}, "capacity", "1-13"),
]


@pytest.mark.parametrize(("protocol", "extra", "field", "allowed"), CREATE_REFUSALS)
async def test_a_setting_the_protocol_cannot_run_is_refused(
    live_sqlite: Live,
    sqlite_url: str,
    api_factory: Any,
    protocol: str,
    extra: dict[str, Any],
    field: str,
    allowed: str,
) -> None:
    w = await seed(sqlite_url, members=1)
    coord = await _coordinator(live_sqlite, api_factory)
    before = len(await _rows(sqlite_url, Group))
    status, body = await coord.post(
        f"/api/organisations/{w.org_id}/groups", {"name": "G", "protocol": protocol, **extra}
    )
    assert status == 400, body
    assert body["error"]["code"] == "invalid"
    assert list(body["error"]["details"]["fields"]) == [field]
    assert allowed in body["error"]["details"]["fields"][field]
    assert field in body["error"]["message"]
    assert len(await _rows(sqlite_url, Group)) == before  # nothing changed
    audits = [a for a in await _rows(sqlite_url, AuditEntry) if a.action == "group.create"]
    assert [(a.outcome, a.actor_id) for a in audits] == [(AuditOutcome.REFUSED, w.coordinator_id)]
    assert field in audits[0].details["fields"]


async def test_settings_the_table_allows_are_kept_and_a_bad_patch_changes_nothing(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=1)
    coord = await _coordinator(live_sqlite, api_factory)
    good = {
        "sitback_minutes": 20,
        "questions_floor": "hands",
        "sitback_presenter_video": False,
        "cadence": "refuse",
        "takeover_seconds": 45,
        "auto_advance": True,
    }
    status, g = await coord.post(
        f"/api/organisations/{w.org_id}/groups",
        {"name": "B", "protocol": "balint", "settings": good},
    )
    assert status == 201 and g["settings"] == good
    assert (g["capacity"], g["min_members"]) == (12, 8)  # the table's defaults
    status, body = await coord.call(
        "PATCH", f"/api/groups/{g['id']}", {"name": "Renamed", "settings": {"return_minutes": 1}}
    )
    assert status == 400
    assert "3-15 minutes" in body["error"]["details"]["fields"]["settings.return_minutes"]
    status, same = await coord.get(f"/api/groups/{g['id']}")
    assert same["name"] == "B" and same["settings"] == good
    refused = [
        a
        for a in await _rows(sqlite_url, AuditEntry)
        if a.action == "group.update" and a.outcome == AuditOutcome.REFUSED
    ]
    assert len(refused) == 1 and refused[0].target == f"group:{g['id']}"
    # a null resets a setting to the protocol's default
    status, g2 = await coord.call(
        "PATCH", f"/api/groups/{g['id']}", {"settings": {"questions_floor": None}}
    )
    assert status == 200 and "questions_floor" not in g2["settings"]


def _monday_in(weeks: int) -> str:
    today = datetime.now(UTC).date()
    return (today + timedelta(days=7 * weeks - today.weekday())).isoformat()


def _series(**kw: Any) -> dict[str, Any]:
    body = {
        "title": "Balint",
        "sessions": 6,
        "weekdays": ["MO", "TH"],
        "local_time": "19:00",
        "start_date": _monday_in(2),
        "duration_minutes": 60,
        "timezone": "Europe/Amsterdam",
    }
    return {**body, **kw}


async def test_balint_preview_warns_once_a_week_and_a_length_the_phases_do_not_fit(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=8)
    coord = await _coordinator(live_sqlite, api_factory)
    g = w.group_id
    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series())
    assert status == 200 and pv["ok"] and pv["problems"] == [], pv
    # 001: 2-3 sessions a week. Once a week warns...
    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series(weekdays=["MO"]))
    assert pv["ok"]
    [p] = pv["problems"]
    assert (p["kind"], p["code"], p["field"]) == ("warn", "cadence", "weekdays")
    assert "2-3 times a week" in p["message"]
    # ...and a booked length outside what the phases can fill warns that the plan does not fit
    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series(duration_minutes=90))
    [p] = pv["problems"]
    assert (p["kind"], p["code"], p["field"]) == ("warn", "phase_plan", "duration_minutes")
    assert "open would last 50 (it may last 5-30)" in p["message"]
    # 50 minutes: the open processing shrinks to 10, no warning
    status, pv = await coord.post(f"/api/groups/{g}/series/preview", _series(duration_minutes=50))
    assert pv["problems"] == []
    # the group's setting makes once a week a refusal: booking it changes nothing
    status, _ = await coord.call("PATCH", f"/api/groups/{g}", {"settings": {"cadence": "refuse"}})
    assert status == 200
    status, err = await coord.post(f"/api/groups/{g}/series", _series(weekdays=["MO"]))
    assert status == 409 and err["error"]["code"] == "booking_refused"
    assert "weekdays" in err["error"]["details"]["fields"]
    status, listed = await coord.get(f"/api/groups/{g}/series")
    assert status == 200 and len(listed) == 1  # only the seed's series
