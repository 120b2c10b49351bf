"""The series questionnaire plan: documented defaults per protocol, windows, and bad plans named
by field (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from server.domain import ProtocolKind
from server.questionnaires.form_plan import (
    FormPlan,
    TimepointPlan,
    closes_at,
    default_plan,
    reminder_times,
)
from server.questionnaires.models import Timepoint

T0 = datetime(2026, 11, 12, 19, 0, tzinfo=UTC)


def test_defaults_follow_the_studies_and_the_documented_windows() -> None:
    balint = default_plan(ProtocolKind.BALINT)
    assert balint.pre.instruments == ["cdas", "cdrisc"]  # study 001
    assert default_plan(ProtocolKind.PEER_SUPPORT).pre.instruments == ["bat"]  # study 002
    assert balint.post.instruments == ["cdas", "cdrisc", "evaluation"]
    assert (balint.post.reminder_days, balint.post.close_days) == ([3, 7], 14)
    assert balint.followup_weeks == 6 and balint.followup.close_days == 14
    assert balint.pre.close_days is None  # with the first session
    assert not balint.checkin.enabled and balint.checkin.instruments == ["checkin"]
    assert balint.rule(Timepoint.POST) is balint.post


def test_windows_and_reminders() -> None:
    post = default_plan(ProtocolKind.BALINT).post
    closes = closes_at(post, T0, None)
    assert closes == T0 + timedelta(days=14)
    assert reminder_times(post, T0, closes) == [T0 + timedelta(days=3), T0 + timedelta(days=7)]
    pre = TimepointPlan(instruments=["phq9"], reminder_days=[1, 5], close_days=None)
    first_end = T0 + timedelta(days=2)
    assert closes_at(pre, T0, first_end) == first_end
    assert reminder_times(pre, T0, first_end) == [T0 + timedelta(days=1)]  # day 5 is too late


def _plan(**changes: Any) -> dict[str, Any]:
    base = default_plan(ProtocolKind.BALINT).model_dump(mode="json")
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return base


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        (_plan(post={"reminder_days": [7, 3]}), "post"),
        (_plan(post={"reminder_days": [3, 14]}), "post"),
        (_plan(post={"close_days": None}), "close_days"),
        (_plan(pre={"instruments": ["PHQ 9"]}), "pre.instruments.0"),
        (_plan(followup_weeks=0), "followup_weeks"),
        (_plan(checkin={"surprise": True}), "checkin.surprise"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(plan: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        FormPlan.model_validate(plan)
    assert field in str(err.value)
