"""Dispatches: driven by APScheduler, at most once across restarts and crashes, misfire grace."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AuditEntry, ScheduledSession
from server.domain import SessionStatus
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.scheduling.booking import book
from server.scheduling.dispatcher import Dispatcher, Fired
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from server.scheduling.service import SchedulingService

from .conftest import Clock, World

SPEC = {
    "title": "Balint",
    "sessions": 6,
    "weekdays": ["MO", "TH"],
    "local_time": "19:00",
    "start_date": "2026-10-19",
    "duration_minutes": 60,
    "timezone": "Europe/Amsterdam",
}


async def _book(
    db: Database, w: World, clock: Clock, cfg: SchedulingConfig
) -> list[ScheduledSession]:
    async with db.sessionmaker() as s, s.begin():
        _, sessions, _ = await book(
            s, w.group_id, parse_spec(SPEC), actor_id=None, cfg=cfg, now=clock()
        )
        return sessions


async def _statuses(db: Database) -> dict[str, DispatchStatus]:
    async with db.sessionmaker() as s:
        return {d.key: d.status for d in await s.scalars(select(Dispatch))}


async def _reminders_sent(db: Database) -> Counter[int | None]:
    async with db.sessionmaker() as s:
        rows = await s.execute(
            select(Dispatch.id)
            .join(OutboxMessage, OutboxMessage.dispatch_id == Dispatch.id)
            .where(Dispatch.purpose == Purpose.REMINDER)
        )
        return Counter(r[0] for r in rows)


def _service(db: Database, cfg: SchedulingConfig, clock: Clock, **kw: Any) -> SchedulingService:
    return SchedulingService(
        db.sessionmaker, cfg, OutboxNotifier(), clock=clock, interval_s=0.05, **kw
    )


async def _wait_for(service: SchedulingService, want: set[Purpose]) -> list[Fired]:
    seen: list[Fired] = []
    done = asyncio.Event()

    async def listener(f: Fired) -> None:
        seen.append(f)
        if want <= {x.purpose for x in seen}:
            done.set()

    service.add_listener(listener)
    await asyncio.wait_for(done.wait(), timeout=10)
    return seen


async def test_scheduler_fires_due_dispatches_and_moves_session_status(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    sessions = await _book(db, world, clock, cfg)
    first = sessions[0]
    clock.now = first.starts_at - timedelta(minutes=10)  # lobby opens now
    service = _service(db, cfg, clock)
    fired_task = asyncio.ensure_future(_wait_for(service, {Purpose.LOBBY_OPEN}))
    await service.start()
    try:
        fired = await fired_task
    finally:
        await service.stop()
    assert {(f.purpose, f.session_id) for f in fired if f.purpose.per_session} == {
        (Purpose.LOBBY_OPEN, first.id)
    }
    async with db.sessionmaker() as s:
        got = await s.get(ScheduledSession, first.id)
        assert got is not None and got.status is SessionStatus.OPEN
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="x")
    for minutes, purpose, status in (
        (1, Purpose.SESSION_START, SessionStatus.LIVE),
        # 30 minutes after the planned end. A live session is its room's to end, but no process
        # runs its room (no lease): no one ended it, and the close does (issue 11, defect 2).
        (91, Purpose.SESSION_CLOSE, SessionStatus.ENDED),
    ):
        clock.now = first.starts_at + timedelta(minutes=minutes)
        result = await d.sweep_once(clock())
        fired_here = {f.purpose for f in result.fired if f.session_id == first.id}
        assert fired_here - {Purpose.TIMEPOINT_CHECKIN} == {purpose}  # check-in: at the end
        async with db.sessionmaker() as s:
            got = await s.get(ScheduledSession, first.id)
            assert got is not None and got.status is status
    async with db.sessionmaker() as s:
        ends = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "session.end"))).all()
    assert [(a.target, a.details["reason"]) for a in ends] == [
        (f"session:{first.id}", "no one ended it")
    ]


async def test_restart_between_schedule_and_run_neither_loses_nor_doubles(
    tmp_path: Path, world: World, db: Database, clock: Clock, cfg: SchedulingConfig
) -> None:
    sessions = await _book(db, world, clock, cfg)
    first = sessions[0]
    # Process A runs while nothing is due yet, then goes down.
    a = _service(db, cfg, clock)
    await a.start()
    await a.sweep()
    await a.stop()
    await db.dispose()
    probe = Database(db.url)
    before = await _statuses(probe)
    await probe.dispose()
    reminder_keys = {
        k for k in before if k.endswith(":reminder:15") and k.startswith(f"s{first.id}.")
    }
    assert len(reminder_keys) == 9 and {before[k] for k in reminder_keys} == {
        DispatchStatus.PENDING
    }
    # While it is down the 15-minute reminder of session 1 falls due. Process B starts.
    clock.now = first.starts_at - timedelta(minutes=14)
    db_b = Database(db.url)
    b = _service(db_b, cfg, clock)
    waiting = asyncio.ensure_future(_wait_for(b, {Purpose.REMINDER}))
    await b.start()
    try:
        fired = await waiting
        await b.sweep()  # and again: nothing more
    finally:
        await b.stop()
    assert reminder_keys <= {f.key for f in fired}
    after = await _statuses(db_b)
    assert {after[k] for k in reminder_keys} == {DispatchStatus.DONE}
    sent = await _reminders_sent(db_b)
    assert set(sent.values()) == {1} and len(sent) == 18  # 24 h and 15 min, 9 people
    await db_b.dispose()


async def test_a_crash_inside_the_sweep_leaves_the_batch_for_the_next_one(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = await _book(db, world, clock, cfg)
    clock.now = sessions[0].starts_at - timedelta(minutes=20)
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t")

    async def boom(*_: Any) -> Any:
        raise RuntimeError("power cut")

    monkeypatch.setattr(d, "_apply", boom)
    with pytest.raises(RuntimeError):
        await d.sweep_once(clock())
    assert DispatchStatus.DONE not in set((await _statuses(db)).values())
    monkeypatch.undo()
    result = await d.sweep_once(clock())
    assert result.done > 0
    again = await d.sweep_once(clock())
    assert again.done == 0
    assert set((await _reminders_sent(db)).values()) == {1}


async def test_missed_beyond_grace_is_skipped_but_close_still_runs(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    sessions = await _book(db, world, clock, cfg)
    first = sessions[0]
    clock.now = first.starts_at + timedelta(hours=3)  # down from before the reminders to now
    result = await Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t").sweep_once(
        clock()
    )
    statuses = await _statuses(db)
    mine = {k: v for k, v in statuses.items() if k.startswith(f"s{first.id}.0:")}
    assert mine[f"s{first.id}.0:p-:session_close:0"] is DispatchStatus.DONE
    assert mine[f"s{first.id}.0:p-:lobby_open:0"] is DispatchStatus.SKIPPED
    assert mine[f"s{first.id}.0:p-:session_start:0"] is DispatchStatus.SKIPPED
    reminders = {v for k, v in mine.items() if ":reminder:" in k}
    assert reminders == {DispatchStatus.SKIPPED}
    assert result.skipped >= 2 + 18
    async with db.sessionmaker() as s:
        got = await s.get(ScheduledSession, first.id)
        assert got is not None and got.status is SessionStatus.ENDED
