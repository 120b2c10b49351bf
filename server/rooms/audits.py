"""What a room writes to the audit log: refused commands, and a session it ended itself."""

from __future__ import annotations

import logging

from server.domain import AuditOutcome
from server.errors import CircleError

from .commands import ByPerson
from .ports import RoomStore

log = logging.getLogger("server.rooms.room")


async def audit_refusal(
    store: RoomStore, session_id: int, c: ByPerson, exc: CircleError, phase: str
) -> None:
    try:
        await store.audit(
            actor_id=c.person_id,
            action=f"room.{getattr(c, 'verb', type(c).__name__.lower())}",
            target=f"session:{session_id}",
            outcome=AuditOutcome.REFUSED,
            details={"code": exc.code, "message": exc.message, "phase": phase},
        )
    except Exception:
        log.exception("room %s: audit write failed", session_id)


async def audit_end(store: RoomStore, session_id: int, reason: str) -> None:
    try:
        await store.audit(
            actor_id=None,
            action="session.end",
            target=f"session:{session_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"reason": reason, "by": "room"},
        )
    except Exception:
        log.exception("room %s: audit write failed", session_id)
