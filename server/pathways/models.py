"""Tables of the pathways: peer support (offers, trained peers, evaluations), messages to a
group's leaders between meetings, and the meeting reports of peer-led groups.

Each table has one writer in this package (offers.py, matching.py, conversations.py,
messages.py, reports.py); every one that holds personal data has its row in
server/privacy/holdings.py.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow


class OfferStatus(StrEnum):
    OFFERED = "offered"  # queued for the person; nobody else sees it
    ACCEPTED = "accepted"  # "I'd like a conversation", with consent to be contacted
    DECLINED = "declined"  # with an optional reason
    PROPOSED = "proposed"  # a coordinator proposed a trained peer; the peer or coordinator confirms
    MATCHED = "matched"  # confirmed: conversations may be booked (1-3, one at a time)
    CLOSED = "closed"  # finished (three conversations, or closed by the coordinator)


OPEN_STATUSES = (
    OfferStatus.OFFERED,
    OfferStatus.ACCEPTED,
    OfferStatus.PROPOSED,
    OfferStatus.MATCHED,
)


class DeclineReason(StrEnum):
    """Why a person declined (002 asked why people did not join: lack of time, confidentiality)."""

    NO_TIME = "no_time"
    CONFIDENTIALITY = "confidentiality"
    NOT_NEEDED = "not_needed"
    OTHER_SUPPORT = "other_support"  # already has support elsewhere
    OTHER = "other"


class PeerSupporter(Base):
    """A trained peer of an organisation, with when they are available (their own words)."""

    __tablename__ = "peer_supporters"
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    availability: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerOffer(Base):
    """One offer of peer support to one person, and the pathway it starts (match, series).

    Queued by a submitted Burnout Assessment Tool result at or above the cut-off; one response
    queues at most one offer (``response_id`` is unique), and nobody gets a second offer while
    one of theirs is open (``OPEN_STATUSES``).
    """

    __tablename__ = "peer_offers"
    __table_args__ = (Index("ix_peer_offers_person_status", "person_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_responses.id", ondelete="SET NULL"), unique=True
    )
    instrument: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    cutoff: Mapped[float] = mapped_column(Float)
    status: Mapped[OfferStatus] = mapped_column(_enum(OfferStatus, "peer_offer_status"))
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(
        _enum(DeclineReason, "peer_decline_reason")
    )
    decline_note: Mapped[str | None] = mapped_column(String(500))  # the person's own words
    answered_at: Mapped[datetime | None] = mapped_column()
    peer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    matched_at: Mapped[datetime | None] = mapped_column()
    window_ends_at: Mapped[datetime | None] = mapped_column()
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationSide(StrEnum):
    COLLEAGUE = "colleague"
    PEER = "peer"


class PeerEvaluation(Base):
    """The optional short evaluation of one conversation by one side."""

    __tablename__ = "peer_evaluations"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("peer_offers.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    side: Mapped[EvaluationSide] = mapped_column(_enum(EvaluationSide, "peer_evaluation_side"))
    helpful: Mapped[int] = mapped_column(Integer)  # 1 (not at all) .. 5 (very)
    comment: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeaderMessage(Base):
    """A member's private message to their group's leaders between meetings."""

    __tablename__ = "leader_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingReport(Base):
    """The host's short report of a peer-led meeting: what was covered, who was there. No case
    details (the form says so and the host confirms it)."""

    __tablename__ = "meeting_reports"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    covered: Mapped[str] = mapped_column(String(1000))
    attendance: Mapped[list[Any]] = mapped_column(JSON, default=list)  # person ids confirmed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
