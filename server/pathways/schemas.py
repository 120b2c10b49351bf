"""Request and response models of the pathways' REST routes (extra fields refused)."""

from __future__ import annotations

from datetime import date as Date
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from server.api.schemas import TimeZone
from server.domain import SessionStatus
from server.pathways.models import DeclineReason, EvaluationSide, OfferStatus
from server.scheduling.series import check_year


def _text(v: str) -> str:
    if any((ord(c) < 32 and c not in "\n\t") or ord(c) == 127 for c in v):
        raise ValueError("must not contain control characters")
    if not v.strip():
        raise ValueError("must not be blank")
    return v.strip()


Note = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_text)]
MessageText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_text)
]
Covered = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_text)]
Availability = Annotated[str, StringConstraints(max_length=200), AfterValidator(str.strip)]
PersonId = Annotated[int, Field(gt=0, le=2**31 - 1)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- peer support ----------------------------------------------------------------------------


class OfferAnswerIn(In):
    """``accept`` true: "I'd like a conversation" (``consent_contact`` must be true). False:
    no thank you, optionally with a reason and a note."""

    accept: bool
    consent_contact: bool = False
    reason: DeclineReason | None = None
    note: Note | None = None


class OfferOut(BaseModel):
    """An offer as its person sees it (no score is shown: the offer is not a diagnosis)."""

    id: int
    status: OfferStatus
    created_at: datetime
    answered_at: datetime | None
    consent_contact: bool
    reason: DeclineReason | None
    note: str | None
    peer_name: str | None  # once matched
    window_ends_at: datetime | None
    conversations: int
    max_conversations: int


class AsPeerOut(BaseModel):
    """A request as its proposed or matched peer sees it."""

    id: int
    status: OfferStatus
    colleague_name: str
    window_ends_at: datetime | None
    conversations: int


class MyPeerSupportOut(BaseModel):
    offers: list[OfferOut]
    as_peer: list[AsPeerOut]


class RequestOut(BaseModel):
    """An opted-in request as a coordinator sees it (never the score)."""

    id: int
    status: OfferStatus
    person_id: int
    display_name: str
    profession: str | None
    department: str | None
    consent_contact: bool
    answered_at: datetime | None
    peer_id: int | None
    peer_name: str | None
    window_ends_at: datetime | None
    group_id: int | None
    series_id: int | None
    conversations: int


class DeclinesOut(BaseModel):
    """Declined offers as counts per reason chosen (no names, no notes)."""

    reasons: dict[str, int]


class SuggestionOut(BaseModel):
    person_id: int
    display_name: str
    profession: str | None
    department: str | None
    availability: str
    open_pathways: int
    same_profession: bool
    other_department: bool | None


class MatchIn(In):
    peer_id: PersonId
    confirm: bool = False  # the coordinator confirms at once (else the peer confirms)


class ConfirmIn(In):
    accept: bool


class ConversationIn(In):
    """The next conversation, in local time of ``timezone`` (default: the booker's)."""

    date: Annotated[Date, AfterValidator(check_year)]
    local_time: time
    timezone: TimeZone | None = None
    duration_minutes: int = Field(60, ge=45, le=60)


class ConversationOut(BaseModel):
    session_id: int
    index: int
    starts_at: datetime
    duration_minutes: int
    status: SessionStatus


class EvaluationIn(In):
    helpful: int = Field(ge=1, le=5)
    comment: Note | None = None


class EvaluationOut(BaseModel):
    session_id: int
    side: EvaluationSide
    helpful: int
    comment: str | None
    created_at: datetime


class PeerSupporterIn(In):
    availability: Availability = ""
    active: bool = True


class PeerSupporterOut(BaseModel):
    person_id: int
    display_name: str
    profession: str | None
    department: str | None
    availability: str
    active: bool


# -- messages to leaders, hosts, meeting reports ---------------------------------------------


class MessageIn(In):
    body: MessageText


class MessageOut(BaseModel):
    id: int
    group_id: int
    sender_id: int
    sender_name: str
    body: str
    created_at: datetime


class SentOut(BaseModel):
    id: int
    created_at: datetime
    leaders_told: int


class HostIn(In):
    person_id: PersonId


class HostOut(BaseModel):
    session_id: int
    person_id: int
    display_name: str


class ReportIn(In):
    """``no_case_details`` must be true: the host confirms the report holds no case details."""

    covered: Covered
    attendance: list[PersonId] = Field(max_length=200)
    no_case_details: Literal[True]


class ReportOut(BaseModel):
    session_id: int
    group_id: int
    host_id: int | None
    host_name: str | None
    covered: str
    attendance: list[int]
    created_at: datetime
