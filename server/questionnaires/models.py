"""Questionnaire tables: responses and their items, research consent, imported cohorts and each
person's stable pseudonymous research code.

Instruments are files (``server/questionnaires/instruments/*.yaml``), not rows: a response names
its instrument by id and records the instrument's version it was answered (or imported) under.

A response row is one person's form at one timepoint in one context (a series, or an imported
cohort): it exists from the moment the form is assigned (``assigned``), holds partial answers
(``in_progress``), and is final once ``submitted``; a form whose window passed unanswered is
``closed``. ``slot_key`` (see :func:`slot_key`) makes "one form per person, context, instrument,
timepoint (and session, for check-ins)" a database constraint, so a second process that tries to
assign the same form fails on the unique key instead of creating a duplicate.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow


class Timepoint(StrEnum):
    PRE = "pre"  # before the series (baseline)
    POST = "post"  # after the last session
    FOLLOWUP = "followup"  # weeks after the series (default 6)
    CHECKIN = "checkin"  # after one session
    EVALUATION = "evaluation"  # end-of-series evaluation form


class ResponseStatus(StrEnum):
    ASSIGNED = "assigned"  # the form is open for this person; nothing answered yet
    IN_PROGRESS = "in_progress"  # some answers saved
    SUBMITTED = "submitted"  # final; scored
    CLOSED = "closed"  # the window passed before it was submitted (partial answers kept)


class ResponseSource(StrEnum):
    FORM = "form"  # answered here
    IMPORT = "import"  # moved in with ``circle import responses``


# Crockford base32 without I, L, O, U: unambiguous when read aloud or copied by hand.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_PREFIX = "HC-"
CODE_LENGTH = 10  # 50 random bits


def new_research_code() -> str:
    """A fresh random pseudonym (``HC-`` and 10 base32 characters). It is stored, not derived,
    so it survives a change of the server's secret key and reveals nothing about the person."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def slot_key(
    *,
    instrument: str,
    timepoint: Timepoint,
    person_code: str,
    series_id: int | None = None,
    cohort_id: int | None = None,
    session_id: int | None = None,
) -> str:
    """The identity of one form: context (series or cohort), person, instrument, timepoint and,
    for check-ins, the session. Exactly one of ``series_id`` and ``cohort_id`` is given."""
    if (series_id is None) == (cohort_id is None):
        raise ValueError("give exactly one of series_id and cohort_id")
    context = f"s{series_id}" if series_id is not None else f"c{cohort_id}"
    occasion = "-" if session_id is None else str(session_id)
    return f"{context}:{person_code}:{instrument}:{timepoint.value}:{occasion}"


class ResearchCode(Base):
    """A person's stable pseudonymous code, created on first need and never changed. Outcome
    reports and research exports carry this code and nothing else that identifies the person."""

    __tablename__ = "research_codes"
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cohort(Base):
    """A set of imported responses (a finished study moved in); its people have codes only."""

    __tablename__ = "cohorts"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuestionnaireResponse(Base):
    """One person's form at one timepoint (see the module docstring)."""

    __tablename__ = "questionnaire_responses"
    __table_args__ = (
        Index("ix_qresponses_series", "series_id", "instrument", "timepoint"),
        Index("ix_qresponses_cohort", "cohort_id", "instrument", "timepoint"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_key: Mapped[str] = mapped_column(String(255), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )  # None for imported cohorts
    person_code: Mapped[str] = mapped_column(String(64))  # ResearchCode.code, or the import's
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL")
    )  # the session a check-in follows
    instrument: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(32))
    timepoint: Mapped[Timepoint] = mapped_column(_enum(Timepoint, "questionnaire_timepoint"))
    status: Mapped[ResponseStatus] = mapped_column(
        _enum(ResponseStatus, "questionnaire_status"), default=ResponseStatus.ASSIGNED
    )
    source: Mapped[ResponseSource] = mapped_column(
        _enum(ResponseSource, "questionnaire_source"), default=ResponseSource.FORM
    )
    locale: Mapped[str | None] = mapped_column(String(8))  # the language the items were shown in
    opens_at: Mapped[datetime | None] = mapped_column()
    closes_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column()
    # Written once, on submission or import, by server.questionnaires.scoring:
    # {"total": float | None, "subscales": {id: float}, "band": str | None}.
    scores: Mapped[dict[str, Any] | None] = mapped_column()


class ResponseItem(Base):
    """One answer: a scale value, or text for a free-text item of an evaluation form."""

    __tablename__ = "response_items"
    __table_args__ = (UniqueConstraint("response_id", "item_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_responses.id", ondelete="CASCADE")
    )
    item_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(String(2000))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ResearchConsent(Base):
    """Consent to research use of a person's answers, separate from taking part. One row per
    consent period: a withdrawal sets ``withdrawn_at`` (audited); giving consent again starts a
    new row. Exports include a person only while their newest row has no ``withdrawn_at``."""

    __tablename__ = "research_consents"
    __table_args__ = (Index("ix_research_consents_person_scope", "person_id", "scope"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    # "research" (the organisation's research use of questionnaire answers) or "series:<id>".
    scope: Mapped[str] = mapped_column(String(64), default="research")
    text_version: Mapped[str] = mapped_column(String(32), default="1")  # consent text shown
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()


class ResearchGrant(Base):
    """A researcher's read access to one study, without an organisation role: an imported cohort
    or a group (all its series). Like the organisation-wide ``researcher`` role it reads
    pseudonymous outcomes and exports only."""

    __tablename__ = "research_grants"
    __table_args__ = (Index("ix_research_grants_person", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
