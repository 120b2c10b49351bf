"""The retention sweep: personal data is kept only as long as docs/privacy.md says.

Periods are settings (``retention_*``, documented in docs/configuration.md). The sweep is
idempotent, so every process may run it; ``circle privacy sweep`` runs it once by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import (
    AttendanceEvent,
    AuditEntry,
    AuthSession,
    Invitation,
    LoginAttempt,
    ScheduledSession,
)
from server.notify.models import OutboxMessage, OutboxStatus
from server.pathways.models import LeaderMessage
from server.scheduling.models import CalendarToken

log = logging.getLogger("circle.privacy")
EXPIRED_BODY = "[removed: kept for {days} days after sending]"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    outbox_days: int = 30
    links_days: int = 7
    audit_days: int = 365
    attendance_days: int = 365


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def sweep(s: AsyncSession, policy: RetentionPolicy, now: datetime) -> dict[str, int]:
    """One pass; returns rows changed per rule. The caller commits."""
    out: dict[str, int] = {}
    sent_before = now - timedelta(days=policy.outbox_days)
    body = EXPIRED_BODY.format(days=policy.outbox_days)
    out["outbox_bodies"] = _count(
        await s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED]),
                func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < sent_before,
                OutboxMessage.body != body,
            )
            .values(body=body, to_address="")
        )
    )
    links_before = now - timedelta(days=policy.links_days)
    out["auth_sessions"] = _count(
        await s.execute(delete(AuthSession).where(AuthSession.expires_at < links_before))
    )
    out["invitations"] = _count(
        await s.execute(
            delete(Invitation).where(
                or_(Invitation.expires_at < links_before, Invitation.used_at < links_before)
            )
        )
    )
    out["calendar_tokens"] = _count(
        await s.execute(delete(CalendarToken).where(CalendarToken.revoked_at < links_before))
    )
    out["login_attempts"] = _count(
        await s.execute(delete(LoginAttempt).where(LoginAttempt.at < links_before))
    )
    audit_before = now - timedelta(days=policy.audit_days)
    out["audit_addresses"] = _count(
        await s.execute(
            update(AuditEntry)
            .where(AuditEntry.at < audit_before, AuditEntry.target.startswith("email:"))
            .where(AuditEntry.target != "email:(removed)")
            .values(target="email:(removed)")
        )
    )
    out["audit_details"] = _count(
        await s.execute(
            update(AuditEntry)
            .where(AuditEntry.at < audit_before, cast(AuditEntry.details, String) != "{}")
            .values(details={})
        )
    )
    # Attendance lives as long as its group meets, plus the period: a group whose last
    # session ended before the cut-off has its attendance events removed.
    cutoff = now - timedelta(days=policy.attendance_days)
    last_end = (
        select(ScheduledSession.group_id, func.max(ScheduledSession.starts_at).label("last"))
        .group_by(ScheduledSession.group_id)
        .subquery()
    )
    old_sessions = (
        select(ScheduledSession.id)
        .join(last_end, last_end.c.group_id == ScheduledSession.group_id)
        .where(and_(last_end.c.last < cutoff))
    )
    out["attendance_events"] = _count(
        await s.execute(delete(AttendanceEvent).where(AttendanceEvent.session_id.in_(old_sessions)))
    )
    # Messages to a group's leaders follow the same rule as its attendance.
    old_groups = select(last_end.c.group_id).where(last_end.c.last < cutoff)
    out["leader_messages"] = _count(
        await s.execute(delete(LeaderMessage).where(LeaderMessage.group_id.in_(old_groups)))
    )
    changed = {k: v for k, v in out.items() if v}
    if changed:
        log.info("retention sweep: %s", changed)
    return out


class RetentionSweeper:
    """Runs the sweep at start and then every ``every_s`` seconds; owned by the app."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        policy: RetentionPolicy,
        *,
        every_s: float,
        clock: Any,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._policy = policy
        self._every = every_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> dict[str, int]:
        async with self._sessionmaker() as s, s.begin():
            return await sweep(s, self._policy, self._clock())

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("retention sweep failed; next try in %.0f s", self._every)
            await asyncio.sleep(self._every)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
