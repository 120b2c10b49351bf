"""Two server processes on one PostgreSQL database send each reminder once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.db.engine import Database
from server.notify.models import OutboxMessage
from server.scheduling.booking import book
from server.scheduling.handlers import BUILTIN
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from tests.conftest import fresh_db_url

from .conftest import Clock, make_world
from .two_sweepers import run_two

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_db_url("postgresql", request, tmp_path)


async def test_two_processes_send_each_reminder_once(
    pg_url: str, clock: Clock, cfg: SchedulingConfig
) -> None:
    db = Database(pg_url)
    spec = parse_spec(
        {
            "title": "Balint",
            "sessions": 6,
            "weekdays": ["MO", "TH"],
            "local_time": "19:00",
            "start_date": "2026-10-19",
            "duration_minutes": 60,
            "timezone": "Europe/Amsterdam",
        }
    )
    starts = None
    for i in range(20):  # twenty groups, each with its own leader, all meeting at 19:00
        w = await make_world(db, tag=f"g{i}")
        async with db.sessionmaker() as s, s.begin():
            _, sessions, _ = await book(s, w.group_id, spec, actor_id=None, cfg=cfg, now=clock())
            starts = sessions[0].starts_at
    assert starts is not None
    now = starts - timedelta(minutes=5)
    async with db.sessionmaker() as s:
        due = await s.scalar(
            select(func.count()).select_from(Dispatch).where(Dispatch.due_at <= now)
        )
    assert due is not None and due > 700

    reports = await run_two("tests.scheduling.sweeper_proc", pg_url, now, 7_301_733)

    async with db.sessionmaker() as s:
        by_worker = dict(
            (
                await s.execute(
                    select(Dispatch.done_by, func.count())
                    .where(Dispatch.status == DispatchStatus.DONE)
                    .group_by(Dispatch.done_by)
                )
            ).all()
        )
        pending_due = await s.scalar(
            select(func.count())
            .select_from(Dispatch)
            .where(
                Dispatch.due_at <= now,
                Dispatch.status == DispatchStatus.PENDING,
                Dispatch.purpose.in_(BUILTIN),  # timepoints wait for a handler
            )
        )
        per_reminder = (
            await s.execute(
                select(Dispatch.id, func.count(OutboxMessage.id))
                .outerjoin(OutboxMessage, OutboxMessage.dispatch_id == Dispatch.id)
                .where(Dispatch.purpose == Purpose.REMINDER, Dispatch.due_at <= now)
                .group_by(Dispatch.id)
            )
        ).all()
    await db.dispose()
    assert pending_due == 0
    assert sum(r["done"] for r in reports) == sum(by_worker.values())
    assert set(by_worker) == {"proc-1", "proc-2"}, by_worker  # both really worked
    assert len(per_reminder) == 20 * 9 * 2  # 24 h and 15 min reminders, 9 people per group
    assert {n for _, n in per_reminder} == {1}
