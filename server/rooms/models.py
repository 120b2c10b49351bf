"""The rooms' own table: the times the server was not running a session's live room."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, _enum


class OutageCause(StrEnum):
    STOP = "stop"  # a graceful stop (SIGTERM): members' leave rows are stamped at its time
    CRASH = "crash"  # the process died (kill -9, power): from its last sign of life


class SessionOutage(Base):
    """A time the server was not running a session's live room. Written by the room store
    (server/rooms); neither the members' leaving nor their absence."""

    __tablename__ = "session_outages"
    __table_args__ = (UniqueConstraint("session_id", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()  # None: not back yet
    cause: Mapped[OutageCause] = mapped_column(_enum(OutageCause, "outage_cause"))
