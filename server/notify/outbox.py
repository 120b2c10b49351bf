"""``enqueue()``: the one writer of new outbox rows.

Callers render a ``Notice`` (``templates.render``) and enqueue it in the transaction of the
change that caused it, so the message exists if and only if the change committed. The notifier
decides the row's fate: the embedded outbox stores it as ``sent`` (the row is the delivery),
SMTP as ``queued`` for the mailer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.notify.mailer import Notifier
from server.notify.models import OutboxMessage, OutboxStatus

log = logging.getLogger("circle.notify")

SUBJECT_MAX = 300


@dataclass(frozen=True, slots=True)
class Notice:
    """One rendered message to one person."""

    kind: str  # a templates.Kind value
    to_address: str
    locale: str
    subject: str
    body: str
    person_id: int | None = None
    organisation_id: int | None = None
    dispatch_id: int | None = None  # the dispatch that sent it (at most one message each)


def _row(n: Notice, notifier: Notifier, now: datetime) -> dict[str, Any]:
    immediate = notifier.immediate
    return {
        "dispatch_id": n.dispatch_id,
        "organisation_id": n.organisation_id,
        "person_id": n.person_id,
        "to_address": n.to_address,
        "locale": n.locale,
        "kind": n.kind,
        "subject": n.subject[:SUBJECT_MAX],
        "body": n.body,
        "channel": notifier.channel,
        "status": OutboxStatus.SENT if immediate else OutboxStatus.QUEUED,
        "attempts": 1 if immediate else 0,
        "next_attempt_at": now,
        "sent_at": now if immediate else None,
        "created_at": now,
    }


async def enqueue(
    s: AsyncSession, notices: Sequence[Notice], notifier: Notifier, now: datetime
) -> int:
    """Write ``notices`` to the outbox in the caller's transaction; returns how many."""
    if not notices:
        return 0
    rows = [_row(n, notifier, now) for n in notices]
    await s.execute(insert(OutboxMessage), rows)
    for row in rows:  # the mail log: every notice, where it went, by which channel
        log.info(
            "notice %s for dispatch %s to person %s: %s (%s)",
            row["kind"],
            row["dispatch_id"],
            row["person_id"],
            row["status"].value,
            row["channel"],
        )
    return len(rows)
