"""Pure: a series' questionnaire plan (which instruments at which timepoint, reminders, windows)
and the documented defaults.

Defaults (docs/questionnaires-answering.md):

| timepoint | opens | reminders | closes |
|---|---|---|---|
| pre | at booking or enrolment, whichever is later (a late joiner: at once) | none | when the first session (the joiner's first) ends |
| post | when the last session ends | after 3 and 7 days | after 14 days |
| followup | 6 weeks after the last session ends | after 3 and 7 days | after 14 days |

A resilience workshop (004: interviews "4-6 weeks post workshop") opens its follow-up 4 weeks
after the workshop and closes it 14 days later, so the answers fall 4-6 weeks after it
(``WORKSHOP_FOLLOWUP_WEEKS``; the weeks are those of server/protocols/workshop.py's table).
| checkin | when each session ends (off by default) | none | after 2 days |
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from server.domain import ProtocolKind
from server.questionnaires.instrument import INSTRUMENT_ID
from server.questionnaires.models import Timepoint

FORM_TIMEPOINTS = (Timepoint.PRE, Timepoint.POST, Timepoint.FOLLOWUP, Timepoint.CHECKIN)
InstrumentId = Annotated[str, StringConstraints(pattern=INSTRUMENT_ID)]


class TimepointPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    instruments: list[InstrumentId] = Field(default_factory=list, max_length=8)
    reminder_days: list[Annotated[int, Field(ge=1, le=60)]] = Field(
        default_factory=list, max_length=4
    )
    # Days after opening; ``None`` only for pre, which closes when the first session ends.
    close_days: Annotated[int, Field(ge=1, le=90)] | None = 14

    @model_validator(mode="after")
    def _reminders_inside_window(self) -> Self:
        days = self.reminder_days
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ValueError("reminder_days must increase")
        if self.close_days is not None and days and days[-1] >= self.close_days:
            raise ValueError("every reminder must come before close_days")
        return self


class FormPlan(BaseModel):
    """One series' plan; stored as JSON in ``series_form_plans``, validated on the way in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pre: TimepointPlan
    post: TimepointPlan
    followup: TimepointPlan
    checkin: TimepointPlan
    followup_weeks: Annotated[int, Field(ge=1, le=52)] = 6

    @model_validator(mode="after")
    def _only_pre_closes_with_a_session(self) -> Self:
        for tp in (self.post, self.followup, self.checkin):
            if tp.close_days is None:
                raise ValueError("close_days is required for post, followup and checkin")
        return self

    def rule(self, tp: Timepoint) -> TimepointPlan:
        rule: TimepointPlan = getattr(self, tp.value)
        return rule

    def instruments(self) -> set[str]:
        return {i for tp in FORM_TIMEPOINTS for i in self.rule(tp).instruments}


# The measures each protocol's studies used (DOMAIN.md): CDAS + CD-RISC (Balint, 001),
# BAT (peer support, 002); PHQ-9 + GAD-7 for dynamic group therapy (003 reports none).
PROTOCOL_INSTRUMENTS: dict[ProtocolKind, list[str]] = {
    ProtocolKind.BALINT: ["cdas", "cdrisc"],
    ProtocolKind.DYNAMIC: ["phq9", "gad7"],
    ProtocolKind.PEER_SUPPORT: ["bat"],
    # 004 measured resilience (its instrument is published elsewhere): CD-RISC, our choice.
    ProtocolKind.WORKSHOP: ["cdrisc"],
    ProtocolKind.COACHING: ["cdrisc"],  # never sent: see default_plan
}
# 004: follow-up 4-6 weeks post workshop: opens at 4 weeks, closes 14 days later (6 weeks).
WORKSHOP_FOLLOWUP_WEEKS = 4
CHECKIN_INSTRUMENT = "checkin"
EVALUATION_INSTRUMENT = "evaluation"  # the end-of-series evaluation, with the post form


def default_plan(protocol: ProtocolKind) -> FormPlan:
    measures = PROTOCOL_INSTRUMENTS.get(protocol, ["who5"])
    if protocol is ProtocolKind.COACHING:  # the workshop's own plan measures; the call sends none
        off = TimepointPlan(enabled=False, instruments=measures, close_days=14)
        return FormPlan(
            pre=TimepointPlan(enabled=False, instruments=measures, close_days=None),
            post=off,
            followup=off,
            checkin=off,
        )
    return FormPlan(
        pre=TimepointPlan(instruments=measures, close_days=None),
        post=TimepointPlan(
            instruments=[*measures, EVALUATION_INSTRUMENT], reminder_days=[3, 7], close_days=14
        ),
        followup=TimepointPlan(instruments=measures, reminder_days=[3, 7], close_days=14),
        checkin=TimepointPlan(enabled=False, instruments=[CHECKIN_INSTRUMENT], close_days=2),
        **_followup_weeks(protocol),
    )


def _followup_weeks(protocol: ProtocolKind) -> dict[str, int]:
    if protocol is ProtocolKind.WORKSHOP:
        return {"followup_weeks": WORKSHOP_FOLLOWUP_WEEKS}
    return {}


def closes_at(
    rule: TimepointPlan, opens_at: datetime, first_session_end: datetime | None
) -> datetime:
    """When a form opened at ``opens_at`` closes: pre with the (joiner's) first session,
    the others ``close_days`` after opening."""
    if rule.close_days is None:
        return first_session_end or opens_at + timedelta(days=1)
    return opens_at + timedelta(days=rule.close_days)


def reminder_times(rule: TimepointPlan, opens_at: datetime, closes: datetime) -> list[datetime]:
    """Reminders inside the window (a pre form closing early drops the late ones)."""
    out = [opens_at + timedelta(days=d) for d in rule.reminder_days]
    return [t for t in out if t < closes]


def slot_for(tp: Timepoint, session_id: int | None = None) -> str:
    return f"checkin:{session_id}" if tp is Timepoint.CHECKIN else tp.value
