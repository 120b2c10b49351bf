"""Request and response models of the scheduling API (pydantic; requests refuse extra fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.domain import GroupRole, MembershipStatus, SessionStatus
from server.notify.models import OutboxStatus
from server.scheduling import changes
from server.scheduling.series import Weekday


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeriesIn(In):
    title: str = Field(min_length=1, max_length=200)
    sessions: int = Field(description="Balint 6-8, dynamic up to 16, peer support 3")
    weekdays: list[Weekday] = Field(description='e.g. ["MO", "TH"]')
    local_time: str = Field(description="HH:MM in the group's timezone", max_length=8)
    start_date: str = Field(description="YYYY-MM-DD", max_length=10)
    duration_minutes: int
    timezone: str = Field(description="IANA name, e.g. Europe/Amsterdam", max_length=64)
    lobby_minutes: int | None = None
    exclude_dates: list[str] | None = Field(
        None,
        max_length=100,
        description="YYYY-MM-DD local dates to skip; each skipped session moves to the end "
        "(the organisation's holidays are skipped too)",
    )


MoveIn = changes.MoveRequest
RestIn = changes.RestRequest
CancelIn = changes.CancelRequest


class EnrolIn(In):
    person_id: int = Field(ge=1, le=2**31 - 1)
    role: GroupRole = GroupRole.MEMBER


class OutboxQuery(In):
    status: OutboxStatus | None = None
    limit: int = Field(100, ge=1, le=500)


class ProblemOut(BaseModel):
    kind: Literal["refuse", "warn"]
    code: str
    message: str
    session_index: int | None = None
    field: str | None = None  # the request field to change to clear it


class PreviewSessionOut(BaseModel):
    index: int
    starts_at: int = Field(description="milliseconds since the epoch, UTC")
    local: str
    weekday: str
    utc_offset: str
    duration_minutes: int


class SkippedOut(BaseModel):
    date: str = Field(description="YYYY-MM-DD, a pattern day the series does not meet on")
    reason: Literal["excluded", "holiday"]
    name: str = Field(description="the holiday's name; empty for an excluded date")


class PreviewOut(BaseModel):
    ok: bool
    members: int
    sessions: list[PreviewSessionOut]
    problems: list[ProblemOut]
    skipped: list[SkippedOut] = Field(default_factory=list)


class SessionOut(BaseModel):
    id: int
    series_id: int | None
    group_id: int
    index: int
    starts_at: datetime
    local_start: str = Field(description="in the series' timezone")
    my_local_start: str = Field(description="in the caller's own timezone")
    timezone: str
    duration_minutes: int
    status: SessionStatus
    sequence: int
    is_makeup: bool


class SeriesOut(BaseModel):
    id: int
    group_id: int
    title: str
    timezone: str
    planned_sessions: int
    pattern: dict[str, Any]
    sessions: list[SessionOut]
    problems: list[ProblemOut] = Field(default_factory=list)


class EnrolOut(BaseModel):
    person_id: int
    status: MembershipStatus
    promoted_person_id: int | None = None


class ConfirmLinkIn(In):
    token: str = Field(min_length=1, max_length=1024)


class ConfirmOut(BaseModel):
    confirmed: bool
    new: bool


class ConfirmationOut(BaseModel):
    person_id: int
    display_name: str
    role: GroupRole
    status: MembershipStatus
    confirmed_at: datetime | None


class FeedOut(BaseModel):
    url: str


class OutboxOut(BaseModel):
    id: int
    person_id: int | None
    to_address: str
    locale: str
    kind: str
    subject: str
    body: str
    channel: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    recipient_name: str | None = Field(None, description="the person's display name")
    delivery: Literal["emailed", "not_emailed", "pending", "failed"] = Field(
        "pending",
        description="not_emailed: kept in the outbox only, no mail server is configured "
        "(status says sent: the outbox is its destination); emailed: handed to the SMTP server",
    )
