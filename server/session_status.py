"""The one writer of ``scheduled_sessions.status``: the room, the dispatcher, coordinator changes
and the CLI all change a session's status here, as a compare-and-set by the table in
:mod:`server.lifecycle` (``UPDATE ... WHERE status IN (allowed predecessors)``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.db.models import RoomLease, ScheduledSession
from server.domain import SessionStatus
from server.lifecycle import Change, allowed_from, settled, target

log = logging.getLogger("circle.lifecycle")


@dataclass(frozen=True, slots=True)
class Written:
    """``ok``: the session is now where the change leads (written here, or already there).
    ``status``: its status now (what was found when the compare-and-set wrote nothing)."""

    ok: bool
    status: SessionStatus | None


async def write_status(
    db: AsyncConnection | AsyncSession,
    session_id: int,
    change: Change,
    *,
    now: datetime | None = None,
    unless_room_runs: bool = False,
    loaded: ScheduledSession | None = None,
) -> Written:
    """Apply ``change`` to the session's status in the caller's transaction.

    ``unless_room_runs``: write only while no process holds an unexpired lease on the session's
    room (the room decides then). ``loaded``: an ORM object of this session in ``db``, brought
    up to date without marking it dirty (so the ORM never writes the status itself)."""
    now = now or datetime.now(UTC)
    to = target(change)
    stmt = (
        update(ScheduledSession)
        .where(
            ScheduledSession.id == session_id,
            ScheduledSession.status.in_(sorted(allowed_from(change))),
        )
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if unless_room_runs:
        stmt = stmt.where(
            ~exists().where(RoomLease.session_id == session_id, RoomLease.lease_until > now)
        )
    result = await db.execute(stmt)
    if result.rowcount:  # type: ignore[attr-defined]
        log.info("session %s: %s -> %s", session_id, change.value, to.value)
        if loaded is not None:
            set_committed_value(loaded, "status", to)
        return Written(True, to)
    found = await db.scalar(
        select(ScheduledSession.status).where(ScheduledSession.id == session_id)
    )
    if found is not None and settled(change, found):
        return Written(True, found)
    log.info(
        "session %s: %s leaves status %s as it is",
        session_id,
        change.value,
        found.value if found is not None else "(no such session)",
    )
    return Written(False, found)
