"""Scheduling tables: due dispatches, calendar feed tokens (the outbox is
``server/notify/models.py``, series confirmations ``server/db/models.py``), organisations'
booking zone and holidays, groups' reminder timing."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
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


class CalendarToken(Base):
    """The secret of a person's iCalendar feed URL; only its SHA-256 is stored."""

    __tablename__ = "calendar_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class OrganisationCalendar(Base):
    """An organisation's scheduling defaults: the zone its coordinators book in by default."""

    __tablename__ = "organisation_calendars"
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationHoliday(Base):
    """A day on which no session of the organisation's series is booked: a series that falls on
    it skips it and gets a session at its end instead."""

    __tablename__ = "organisation_holidays"
    __table_args__ = (UniqueConstraint("organisation_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))


class GroupReminders(Base):
    """A group's own reminder timing (minutes before each session); the ``reminder_offsets_minutes``
    setting applies to groups without a row."""

    __tablename__ = "group_reminders"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    offsets_minutes: Mapped[list[int]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
