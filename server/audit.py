"""The audit log of privileged and refused actions."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import AuditEntry
from server.domain import AuditOutcome

log = logging.getLogger("circle.audit")


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    outcome: AuditOutcome,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to ``session`` (the caller commits, with or beside its change)."""
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action[:80],
            target=target[:200],
            outcome=outcome,
            details=details or {},
        )
    )
    log.info("audit %s %s %s by %s", outcome.value, action, loggable(target), actor_id)


def loggable(target: str) -> str:
    """The target as the application log may show it: never an e-mail address (an entry about
    an address that is nobody's account keeps it in the audit table, not in the log)."""
    return "email:(hidden)" if target.startswith("email:") else target


async def record_now(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    outcome: AuditOutcome,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one audit entry in its own transaction (for refusals, where nothing else commits)."""
    async with sessionmaker() as s, s.begin():
        await record(
            s, actor_id=actor_id, action=action, target=target, outcome=outcome, details=details
        )
