"""Dispatch purposes nobody handles stay pending; a registered handler runs them once, inside
the claim's transaction; ``circle doctor`` reports the ones left waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import create_app
from server.audit import record
from server.db.engine import Database
from server.db.models import AuditEntry
from server.domain import AuditOutcome
from server.notify.mailer import OutboxNotifier
from server.scheduling.booking import book
from server.scheduling.dispatcher import Dispatcher
from server.scheduling.doctor import unhandled_dispatches
from server.scheduling.handlers import BUILTIN, HANDLERS_KEY, DispatchHandlers
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from tests.conftest import SECRET, make_settings

from .conftest import Clock, World
from .test_dispatch import SPEC

TIMEPOINTS = {Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST}


async def _book(db: Database, w: World, clock: Clock, cfg: SchedulingConfig) -> None:
    """Book the series the day before it starts: the pre timepoints fall due at once."""
    clock.now = datetime(2026, 10, 18, 12, 0, tzinfo=UTC)
    async with db.sessionmaker() as s, s.begin():
        await book(s, w.group_id, parse_spec(SPEC), actor_id=None, cfg=cfg, now=clock())


async def _by_purpose(db: Database, purpose: Purpose) -> dict[str, DispatchStatus]:
    async with db.sessionmaker() as s:
        rows = await s.scalars(select(Dispatch).where(Dispatch.purpose == purpose))
        return {d.key: d.status for d in rows}


async def test_a_timepoint_nobody_handles_stays_pending_until_a_handler_is_registered(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    await _book(db, world, clock, cfg)
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t")
    result = await d.sweep_once(clock())
    assert not {f.purpose for f in result.fired} & TIMEPOINTS
    pre = await _by_purpose(db, Purpose.TIMEPOINT_PRE)
    assert len(pre) == len(world.member_ids)
    assert set(pre.values()) == {DispatchStatus.PENDING}
    # Long past every grace, still pending: nobody ran them, so none is "skipped" either.
    await d.sweep_once(clock() + timedelta(days=120))
    for purpose in TIMEPOINTS:
        assert set((await _by_purpose(db, purpose)).values()) == {DispatchStatus.PENDING}
    # Nor does the wake-up chase them: the next due time ignores purposes nobody handles.
    assert await d.next_due() is None

    seen: list[str] = []

    async def on_pre(s: AsyncSession, batch: Sequence[Dispatch], now: datetime) -> None:
        seen.extend(x.key for x in batch)
        for x in batch:  # its writes commit with the claim
            await record(
                s,
                actor_id=None,
                action="test.timepoint",
                target=f"session:{x.session_id}",
                outcome=AuditOutcome.ALLOWED,
                details={"person_id": x.person_id},
            )

    d.register(Purpose.TIMEPOINT_PRE, on_pre)
    result = await d.sweep_once(clock())
    assert sorted(seen) == sorted(pre)
    assert {f.key for f in result.fired if f.purpose is Purpose.TIMEPOINT_PRE} == set(pre)
    assert set((await _by_purpose(db, Purpose.TIMEPOINT_PRE)).values()) == {DispatchStatus.DONE}
    post = await _by_purpose(db, Purpose.TIMEPOINT_POST)
    assert set(post.values()) == {DispatchStatus.PENDING}
    await d.sweep_once(clock())
    assert len(seen) == len(pre)  # at most once
    async with db.sessionmaker() as s:
        logged = await s.scalars(select(AuditEntry).where(AuditEntry.action == "test.timepoint"))
        assert len(list(logged)) == len(pre)


async def test_a_handler_that_fails_leaves_its_batch_pending(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    await _book(db, world, clock, cfg)
    handlers = DispatchHandlers()
    calls = 0

    async def flaky(s: AsyncSession, batch: Sequence[Dispatch], now: datetime) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("form service down")

    handlers.register(Purpose.TIMEPOINT_PRE, flaky)
    d = Dispatcher(db.sessionmaker, cfg, OutboxNotifier(), worker="t", handlers=handlers)
    with pytest.raises(RuntimeError):
        await d.sweep_once(clock())
    assert set((await _by_purpose(db, Purpose.TIMEPOINT_PRE)).values()) == {DispatchStatus.PENDING}
    await d.sweep_once(clock())
    assert set((await _by_purpose(db, Purpose.TIMEPOINT_PRE)).values()) == {DispatchStatus.DONE}


def test_registration_refuses_builtin_and_second_handlers() -> None:
    handlers = DispatchHandlers()

    async def h(s: AsyncSession, batch: Sequence[Dispatch], now: datetime) -> None:
        return None

    with pytest.raises(ValueError, match="reminder is handled by the dispatcher"):
        handlers.register(Purpose.REMINDER, h)
    handlers.register(Purpose.TIMEPOINT_POST, h)
    with pytest.raises(ValueError, match="timepoint_post already has a handler"):
        handlers.register(Purpose.TIMEPOINT_POST, h)
    assert handlers.handled == BUILTIN | {Purpose.TIMEPOINT_POST}


async def test_unhandled_dispatches_are_counted_per_purpose(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    await _book(db, world, clock, cfg)
    async with db.sessionmaker() as s:
        found = await unhandled_dispatches(s, BUILTIN, clock())
    n = len(world.member_ids)
    assert [(u.purpose, u.due, u.later) for u in found] == [
        (Purpose.TIMEPOINT_CHECKIN, 0, 6),  # one per session, at its end
        (Purpose.TIMEPOINT_POST, 0, n),
        (Purpose.TIMEPOINT_PRE, n, 0),
    ]
    assert found[2].oldest_due_at == clock()


def _doctor(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CIRCLE_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": SECRET,
        "DATABASE_URL": db_url,
        "CIRCLE_MEDIA_ENABLED": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "server", "doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
async def test_circle_doctor_reports_pending_dispatches_nobody_handles(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig, tmp_path: Path
) -> None:
    r = _doctor(db.url, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ok: every pending dispatch has a handler" in r.stdout
    await _book(db, world, clock, cfg)
    # What this build of the app handles (a feature may have registered the timepoints).
    handled = create_app(make_settings(db.url, tmp_path))[HANDLERS_KEY].handled
    waiting = sorted(p.value for p in TIMEPOINTS - handled)
    r = _doctor(db.url, tmp_path, "--json")
    assert r.returncode == (1 if waiting else 0), r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] is not waiting and report["migrated"] is True
    assert [u["purpose"] for u in report["unhandled_dispatches"]] == waiting
    for u in report["unhandled_dispatches"]:
        assert u["due"] + u["later"] == len(world.member_ids)
    r = _doctor(db.url, tmp_path)
    for purpose in waiting:
        assert f"  {purpose}: " in r.stdout
