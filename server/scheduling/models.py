"""Scheduling tables: due dispatches, the notification outbox, calendar feed tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow


class Purpose(StrEnum):
    LOBBY_OPEN = "lobby_open"
    REMINDER = "reminder"  # offset_minutes says which (1440: 24 h, 15: 15 min)
    SESSION_START = "session_start"
    SESSION_CLOSE = "session_close"
    TIMEPOINT_PRE = "timepoint_pre"  # questionnaire triggers (server/questionnaires/triggers.py)
    TIMEPOINT_POST = "timepoint_post"
    TIMEPOINT_FOLLOWUP = "timepoint_followup"  # per member, planned when post opens
    TIMEPOINT_CHECKIN = "timepoint_checkin"  # per session, at its end: the optional check-in
    FORM_REMINDER = "form_reminder"  # per member and open form (payload assignment_id)
    FORM_CLOSE = "form_close"  # a form's window ends (payload assignment_id)
    CHANGE_NOTICE = "change_notice"  # a session moved, was cancelled or added
    ENROLMENT_NOTICE = "enrolment_notice"  # enrolled, waiting, promoted, withdrawn

    @property
    def per_session(self) -> bool:
        """Session-level actions (no person)."""
        return self in (
            Purpose.LOBBY_OPEN,
            Purpose.SESSION_START,
            Purpose.SESSION_CLOSE,
            Purpose.TIMEPOINT_CHECKIN,
        )


class DispatchStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # missed beyond its grace, or no longer relevant
    SUPERSEDED = "superseded"  # the session moved or was cancelled before it was due


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


class Dispatch(Base):
    """One thing to do at one time, at most once.

    ``key`` is unique: session, its iCalendar SEQUENCE, person (or ``-``), purpose and offset.
    A moved session gets new dispatches under its new SEQUENCE; the old pending ones are
    superseded. Whoever flips ``status`` from pending (in one transaction with its effect) owns it.
    """

    __tablename__ = "dispatches"
    __table_args__ = (Index("ix_dispatches_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    purpose: Mapped[Purpose] = mapped_column(_enum(Purpose, "dispatch_purpose"))
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()  # after this a missed dispatch is skipped
    status: Mapped[DispatchStatus] = mapped_column(
        _enum(DispatchStatus, "dispatch_status"), default=DispatchStatus.PENDING
    )
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[str | None] = mapped_column(String(64))  # which process
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A notification. In the embedded default the outbox is the destination; with SMTP it is
    the queue the mailer drains, retrying with backoff and surfacing failures."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispatch_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatches.id", ondelete="SET NULL"), unique=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16), default="outbox")  # outbox | smtp
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class CalendarToken(Base):
    """The secret of a person's iCalendar feed URL; only its SHA-256 is stored."""

    __tablename__ = "calendar_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class SeriesConfirmation(Base):
    """A member confirmed they will take part in a series (shown to the coordinator)."""

    __tablename__ = "series_confirmations"
    __table_args__ = (UniqueConstraint("series_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
