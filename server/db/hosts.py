"""Who hosts (runs) a session of a peer-led group: one row per session, at most one host.

A shared fact with one writer (server/pathways/hosts.py: chosen by a coordinator once the
sessions are booked, by rotation, or by the group); the room reads it to grant the host the leading capabilities for that session only
(server/rooms), and attendance reads it to record the host as the one who ran the meeting
(individual score input F).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from server.db.models import Base, utcnow


class SessionHost(Base):
    __tablename__ = "session_hosts"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    chosen_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
