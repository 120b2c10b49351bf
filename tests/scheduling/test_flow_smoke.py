from __future__ import annotations

from sqlalchemy import func, select

from server.db.engine import Database
from server.scheduling.booking import book
from server.scheduling.dispatcher import Dispatcher
from server.scheduling.models import Dispatch, OutboxMessage
from server.scheduling.notifier import OutboxNotifier
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec

from .conftest import Clock, World


async def test_book_and_sweep(db: Database, world: World, clock: Clock, cfg: SchedulingConfig) -> None:
    spec = parse_spec(
        dict(title="Balint", sessions=8, weekdays=["MO", "TH"], local_time="19:00",
             start_date="2026-10-19", duration_minutes=60, timezone="Europe/Amsterdam")
    )
    async with db.sessionmaker() as s, s.begin():
        series, sessions, pv = await book(s, world.group_id, spec, actor_id=None, cfg=cfg, now=clock())
    async with db.sessionmaker() as s:
        n = await s.scalar(select(func.count()).select_from(Dispatch))
    print(n)
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t")
    r = await d.sweep_once(clock())
    print(r.done, r.messages)
    clock.advance(days=60)
    r = await d.sweep_once(clock())
    print(r.done, r.skipped, r.messages)
    async with db.sessionmaker() as s:
        for m in (await s.execute(select(OutboxMessage).limit(3))).scalars():
            print(m.subject, m.body)
