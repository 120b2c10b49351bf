"""Pure series generation: DST-safe local times, protocol rules, refusals with clear errors."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import ProtocolKind
from server.errors import UserError
from server.scheduling.series import (
    ProblemKind,
    check_rules,
    generate,
    parse_spec,
)


def spec(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "Balint",
        "sessions": 8,
        "weekdays": ["MO", "TH"],
        "local_time": "19:00",
        "start_date": "2026-10-19",
        "duration_minutes": 60,
        "timezone": "Europe/Amsterdam",
    }
    base.update(kw)
    return base


def test_amsterdam_keeps_19_00_across_25_october_2026() -> None:
    occ = generate(parse_spec(spec()))
    assert [o.local_start.time() for o in occ] == [time(19, 0)] * 8
    utc_hours = [(o.starts_at.date().isoformat(), o.starts_at.hour) for o in occ]
    # CEST (UTC+2) before the change on Sunday 25 October, CET (UTC+1) after it.
    assert utc_hours[:4] == [
        ("2026-10-19", 17),
        ("2026-10-22", 17),
        ("2026-10-26", 18),
        ("2026-10-29", 18),
    ]
    assert {o.starts_at.tzinfo for o in occ} == {UTC}
    assert [o.local_start.strftime("%a") for o in occ] == ["Mon", "Thu"] * 4


def test_amsterdam_spring_change_and_three_weekdays() -> None:
    occ = generate(
        parse_spec(spec(start_date="2027-03-22", weekdays=["MO", "WE", "FR"], sessions=6))
    )
    assert [o.local_start.strftime("%m-%d %H:%M") for o in occ] == [
        "03-22 19:00",
        "03-24 19:00",
        "03-26 19:00",
        "03-29 19:00",
        "03-31 19:00",
        "04-02 19:00",
    ]
    assert [o.starts_at.hour for o in occ] == [18, 18, 18, 17, 17, 17]


def test_tehran_keeps_19_00_local() -> None:
    # Iran has kept UTC+03:30 all year since 2022, including across its old 21/22 March change.
    occ = generate(
        parse_spec(spec(timezone="Asia/Tehran", start_date="2027-03-14", weekdays=["SA", "TU"]))
    )
    assert all(o.local_start.time() == time(19, 0) for o in occ)
    assert {(o.starts_at.hour, o.starts_at.minute) for o in occ} == {(15, 30)}


def test_dynamic_weekly_16_sessions_through_dst() -> None:
    occ = generate(
        parse_spec(spec(sessions=16, weekdays=["WE"], duration_minutes=90, start_date="2026-09-02"))
    )
    assert len(occ) == 16 and all(o.local_start.hour == 19 for o in occ)
    assert (occ[-1].local_start.date() - occ[0].local_start.date()).days == 15 * 7


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        ({"start_date": "2026-02-31"}, "start_date", "day value is outside expected range"),
        ({"start_date": "9999-12-31"}, "start_date", "year must be between 2000 and 2200"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "unknown timezone 'Europe/Atlantis'"),
        ({"timezone": "../etc/passwd"}, "timezone", "unknown timezone"),
        ({"sessions": 0}, "sessions", "greater than or equal to 1"),
        ({"weekdays": []}, "weekdays", "choose at least one weekday"),
        ({"weekdays": ["MO", "MO"]}, "weekdays", "must not repeat"),
        ({"weekdays": ["XX"]}, "weekdays.0", "Input should be"),
        ({"local_time": "25:00"}, "local_time", "Input should be"),
        ({"duration_minutes": 0}, "duration_minutes", "greater than or equal to 15"),
        ({"colour": "blue"}, "colour", "unknown field"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(
    override: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(UserError) as err:
        parse_spec(spec(**override))
    fields = err.value.details["fields"]
    assert field in fields and words in fields[field], fields
    assert field.split(".")[0] in err.value.message


def test_skipped_local_time_is_refused() -> None:
    with pytest.raises(UserError) as err:
        generate(parse_spec(spec(local_time="02:30", start_date="2027-03-28", weekdays=["SU"])))
    assert err.value.code == "nonexistent_local_time"
    assert "2027-03-28 02:30 does not exist in Europe/Amsterdam" in err.value.message


NOW = datetime(2026, 10, 1, tzinfo=UTC)


def _codes(protocol: ProtocolKind, members: int, **kw: Any) -> dict[str, ProblemKind]:
    s = parse_spec(spec(**kw))
    problems = check_rules(
        s, generate(s), protocol=protocol, members=members, min_members=1, capacity=99, now=NOW
    )
    return {p.code: p.kind for p in problems}


def test_protocol_rules() -> None:
    assert _codes(ProtocolKind.BALINT, 10) == {}
    assert _codes(ProtocolKind.BALINT, 10, sessions=9) == {"session_count": ProblemKind.REFUSE}
    assert _codes(ProtocolKind.BALINT, 10, sessions=5) == {"session_count": ProblemKind.REFUSE}
    assert _codes(ProtocolKind.BALINT, 7) == {"too_few_members": ProblemKind.WARN}
    assert _codes(ProtocolKind.BALINT, 13) == {"too_many_members": ProblemKind.REFUSE}
    assert _codes(ProtocolKind.DYNAMIC, 10, sessions=16) == {
        "too_many_weekdays": ProblemKind.REFUSE
    }
    assert _codes(ProtocolKind.DYNAMIC, 10, sessions=16, weekdays=["TH"]) == {}
    assert _codes(ProtocolKind.DYNAMIC, 10, sessions=18, weekdays=["TH"]) == {}
    assert _codes(ProtocolKind.DYNAMIC, 10, sessions=19, weekdays=["TH"]) == {
        "session_count": ProblemKind.REFUSE
    }
    assert _codes(ProtocolKind.PEER_SUPPORT, 1, sessions=3) == {}
    assert _codes(ProtocolKind.PEER_SUPPORT, 1, sessions=4) == {"session_count": ProblemKind.REFUSE}


def test_dates_in_the_past_are_refused_per_session() -> None:
    s = parse_spec(spec(start_date="2026-09-24"))
    problems = check_rules(
        s,
        generate(s),
        protocol=ProtocolKind.BALINT,
        members=10,
        min_members=8,
        capacity=12,
        now=NOW,
    )
    assert [(p.code, p.session_index) for p in problems] == [("in_past", 1), ("in_past", 2)]
    assert "2026-09-24 19:00" in problems[0].message


ZONES = ["Europe/Amsterdam", "Asia/Tehran", "America/New_York", "Australia/Sydney", "UTC"]


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
    hour=st.integers(min_value=5, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
    days=st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1),
    n=st.integers(min_value=1, max_value=16),
)
def test_every_occurrence_keeps_its_local_wall_clock_time(
    zone: str, start: date, hour: int, minute: int, days: set[str], n: int
) -> None:
    occ = generate(
        parse_spec(
            spec(
                timezone=zone,
                start_date=start.isoformat(),
                local_time=f"{hour:02d}:{minute:02d}",
                weekdays=sorted(days),
                sessions=n,
            )
        )
    )
    assert len(occ) == n
    assert [o.index for o in occ] == list(range(1, n + 1))
    for o in occ:
        assert o.starts_at.astimezone(ZoneInfo(zone)).time() == time(hour, minute)
        assert o.local_start.strftime("%a")[:2].upper() in days
        assert o.local_start.date() >= start
    assert all(a.starts_at < b.starts_at for a, b in itertools.pairwise(occ))
