"""Open forms the way the scheduler does (a timepoint dispatch swept with the questionnaire
handlers) and read the link a member was mailed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from server.db.engine import Database
from server.db.models import ScheduledSession
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.scheduling.dispatcher import Dispatcher
from server.scheduling.models import Purpose
from server.scheduling.plan import PlannedDispatch, SchedulingConfig, dispatch_key
from server.scheduling.store import insert_missing

from .triggers_support import handlers

LINK = re.compile(r"#form=([A-Za-z0-9_\-.]+)")


async def open_pre_forms(url: str, session_id: int, people: list[int]) -> None:
    db = Database(url)
    now = datetime.now(UTC)
    try:
        async with db.sessionmaker() as s, s.begin():
            sess = await s.get(ScheduledSession, session_id)
            assert sess is not None
            end = sess.starts_at + timedelta(minutes=sess.duration_minutes)
            await insert_missing(
                s,
                [
                    PlannedDispatch(
                        dispatch_key(sess.id, sess.sequence, p, Purpose.TIMEPOINT_PRE),
                        sess.id,
                        p,
                        Purpose.TIMEPOINT_PRE,
                        0,
                        now,
                        end,
                    )
                    for p in people
                ],
            )
        d = Dispatcher(
            db.sessionmaker, SchedulingConfig(), OutboxNotifier(), worker="t", handlers=handlers()
        )
        await d.sweep_once(now)
    finally:
        await db.dispose()


async def mailed_links(url: str, person_id: int) -> list[str]:
    """The form-link tokens in the person's questionnaire mails, oldest first."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            bodies = await s.scalars(
                select(OutboxMessage.body)
                .where(
                    OutboxMessage.person_id == person_id,
                    OutboxMessage.kind.in_(["form_open", "form_reminder"]),
                )
                .order_by(OutboxMessage.id)
            )
            return [m.group(1) for b in bodies if (m := LINK.search(b))]
    finally:
        await db.dispose()
