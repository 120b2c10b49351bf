"""What ``circle doctor`` checks in the scheduling tables: pending dispatches nobody handles.

A dispatch whose purpose has no handler is never claimed (``handlers.py``); it waits, pending,
until a feature registers one. This lists them per purpose so an operator sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.scheduling.models import Dispatch, DispatchStatus, Purpose


@dataclass(frozen=True, slots=True)
class Unhandled:
    purpose: Purpose
    due: int  # due now or overdue
    later: int  # not yet due
    oldest_due_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "purpose": self.purpose.value,
            "due": self.due,
            "later": self.later,
            "oldest_due_at": self.oldest_due_at.isoformat(),
        }


async def unhandled_dispatches(
    s: AsyncSession, handled: frozenset[Purpose], now: datetime
) -> list[Unhandled]:
    """Pending dispatches of purposes outside ``handled``, counted per purpose."""
    is_due = case((Dispatch.due_at <= now, 1), else_=0)
    rows = await s.execute(
        select(
            Dispatch.purpose,
            func.sum(is_due),
            func.count(),
            func.min(Dispatch.due_at),
        )
        .where(
            Dispatch.status == DispatchStatus.PENDING,
            Dispatch.purpose.not_in(sorted(handled)),
        )
        .group_by(Dispatch.purpose)
        .order_by(Dispatch.purpose)
    )
    out = []
    for purpose, due, total, oldest in rows.all():
        if oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=UTC)
        out.append(Unhandled(Purpose(purpose), int(due or 0), int(total) - int(due or 0), oldest))
    return out
