"""Calendar feeds across a daylight-saving change, read back by two independent parsers.

Europe/Amsterdam falls back on 2026-10-25 at 03:00 CEST -> 02:00 CET, so 02:30 happens twice
that night. A local time with a TZID cannot say which (RFC 5545 3.3.5: readers take the first),
which is why the feed writes UTC. Expected instants worked by hand: 02:30 CET (the second
02:30) is 01:30Z; 02:30 CEST (the first) is 00:30Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from server.db.models import ScheduledSession
from server.domain import SessionStatus
from server.scheduling.ics import EventRow, build_calendar

AMS = ZoneInfo("Europe/Amsterdam")


def _session(sid: int, starts_at: datetime, minutes: int) -> ScheduledSession:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    return ScheduledSession(
        id=sid,
        group_id=1,
        series_id=1,
        index=sid,
        starts_at=starts_at,
        duration_minutes=minutes,
        timezone="Europe/Amsterdam",
        status=SessionStatus.SCHEDULED,
        sequence=0,
        is_makeup=False,
        updated_at=now,
    )


@pytest.mark.parametrize("reader_zone", ["Europe/Amsterdam", "Asia/Tehran", "America/New_York"])
def test_sessions_in_the_repeated_hour_keep_their_instant_and_length(reader_zone: str) -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, an hour later
    assert first.astimezone(AMS).strftime("%H:%M") == second.astimezone(AMS).strftime("%H:%M")
    rows = [
        EventRow(_session(1, first, 45), "Group", "Balint", 2),
        EventRow(_session(2, second, 45), "Group", "Balint", 2),
    ]
    data = build_calendar(rows, ZoneInfo(reader_zone), public_url="https://c.example", name="x")

    expected = {"session-1@c.example": first, "session-2@c.example": second}
    # Parser one: icalendar.
    for ev in Calendar.from_ical(data).walk("VEVENT"):
        start, end = ev.decoded("dtstart"), ev.decoded("dtend")
        assert start == expected[str(ev["uid"])]
        assert end - start == timedelta(minutes=45)
    # Parser two, independent of the writer: vobject.
    cal = vobject.readOne(data.decode())
    seen = {}
    for ev in cal.vevent_list:
        start, end = ev.dtstart.value, ev.dtend.value
        assert start.utcoffset() == timedelta(0)
        assert end - start == timedelta(minutes=45)
        seen[ev.uid.value] = start
    assert seen == expected
    # The two sessions are an hour apart, not the same event twice.
    assert seen["session-2@c.example"] - seen["session-1@c.example"] == timedelta(hours=1)


def test_calendar_links_open_the_member_apps_session_page() -> None:
    start = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    data = build_calendar(
        [EventRow(_session(7, start, 60), "Group", "Balint", 8)],
        AMS,
        public_url="https://c.example",
        name="x",
    )
    ev = Calendar.from_ical(data).walk("VEVENT")[0]
    assert str(ev["url"]) == "https://c.example/app/?session=7"
    assert "Join: https://c.example/app/?session=7" in str(ev["description"])
