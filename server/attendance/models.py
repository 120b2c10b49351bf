"""Attendance and score tables: derived records, excuses, corrections, and the score inputs a
coordinator enters by hand (docs/attendance.md, docs/scores.md). Server outages are the rooms'
(server/rooms/models.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    ABSENT = "absent"
    EXCUSED = "excused"


class AttendanceRecordRow(Base):
    """One person's derived attendance at one session: rebuilt from the events at any time
    (``circle attendance rebuild``); never edited by hand (corrections are kept apart)."""

    __tablename__ = "attendance_records"
    __table_args__ = (Index("ix_attendance_records_person", "person_id"),)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus, "attendance_status"))
    seconds_present: Mapped[int] = mapped_column(Integer, default=0)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
    first_in: Mapped[datetime | None] = mapped_column()
    last_out: Mapped[datetime | None] = mapped_column()
    led: Mapped[bool] = mapped_column(default=False)  # present as leader, co-leader or the session's host


class AttendanceExcuse(Base):
    """A member said ahead "I can't come to this session". The reason is for leaders only."""

    __tablename__ = "attendance_excuses"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttendanceCorrection(Base):
    """A leader's correction of one record, with a reason. Every correction is kept; the
    newest applies and the derived record beside it stays as it was."""

    __tablename__ = "attendance_corrections"
    __table_args__ = (Index("ix_attendance_corrections_sp", "session_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    status: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus, "attendance_status"))
    reason: Mapped[str] = mapped_column(String(500))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreEntry(Base):
    """A score input the system does not measure, entered by a coordinator (audited)."""

    __tablename__ = "score_entries"
    __table_args__ = (Index("ix_score_entries_subject", "subject", "subject_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(8))  # "person" | "group"
    subject_id: Mapped[int] = mapped_column(Integer)
    term: Mapped[str] = mapped_column(String(2))  # the formula's letter: C, D, G, H; X, C, D, F
    value: Mapped[float] = mapped_column(Float)  # raw, normalised by configuration
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))
