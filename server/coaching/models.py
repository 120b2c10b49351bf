"""The coaching offers made after a resilience workshop (shared/seeds/004): one per
participant, offered by default (opt-out), declined by the person or booked as a 1:1 call
through the scheduling (docs/workshop.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow


class OfferStatus(StrEnum):
    OFFERED = "offered"  # made; the coach or a coordinator books a time unless declined
    DECLINED = "declined"  # the person said no (the call is optional)
    BOOKED = "booked"  # a 1:1 coaching session is booked (``session_id``)


class CoachingOffer(Base):
    __tablename__ = "coaching_offers"
    __table_args__ = (UniqueConstraint("workshop_session_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    status: Mapped[OfferStatus] = mapped_column(_enum(OfferStatus, "coaching_offer_status"))
    decline_reason: Mapped[str | None] = mapped_column(String(500))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
