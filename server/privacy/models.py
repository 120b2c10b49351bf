"""A person's requests about their own data (GDPR articles 15 and 17): export and erasure."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum, utcnow


class RequestKind(StrEnum):
    ERASURE = "erasure"


class PrivacyRequest(Base):
    """Asked by the person; carried out by a coordinator or admin (``done_*``), whose report of
    what was deleted, pseudonymised and kept (and why) is stored beside it."""

    __tablename__ = "privacy_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind, "privacy_request_kind"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
