"""Tables of the answering side: who is asked which form when, drafts, links, opt-out, alerts.

Answers, status and windows live in the instrument side's ``questionnaire_responses``
(server/questionnaires/models.py); a ``FormAssignment`` only groups the responses of one form
for the mail, the link and the member's list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow
from server.questionnaires.models import Timepoint


class FormAssignment(Base):
    """One form (the instruments one person is asked at one timepoint of a series): the
    envelope that is mailed and linked. Its state and answers are the instrument side's
    ``questionnaire_responses`` (one per instrument, same series, timepoint and session).

    ``slot`` is the timepoint, or ``checkin:<session id>``; (person, series, slot) is unique,
    which is what makes every form go out once however many dispatches ask for it.
    """

    __tablename__ = "form_assignments"
    __table_args__ = (UniqueConstraint("person_id", "series_id", "slot"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    timepoint: Mapped[Timepoint] = mapped_column(_enum(Timepoint, "form_timepoint"))
    slot: Mapped[str] = mapped_column(String(40))
    instruments: Mapped[list[str]] = mapped_column(JSON, default=list)
    mails_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormLink(Base):
    """Which form a mailed single-use link (an ``invitations`` row, purpose ``form``) opens."""

    __tablename__ = "form_links"
    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("form_assignments.id", ondelete="CASCADE"), index=True
    )


class SeriesFormPlan(Base):
    """A series' own questionnaire plan (JSON of ``plan.FormPlan``); absent: the defaults."""

    __tablename__ = "series_form_plans"
    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormMailPref(Base):
    """A person's choice not to get questionnaire e-mail (forms stay in the app)."""

    __tablename__ = "form_mail_prefs"
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SafetyAlert(Base):
    """An answer that met an instrument's safety rule; the group's leaders see it."""

    __tablename__ = "safety_alerts"
    __table_args__ = (UniqueConstraint("assignment_id", "instrument", "item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("form_assignments.id", ondelete="CASCADE")
    )
    instrument: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column()
