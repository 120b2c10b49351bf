"""Scheduler benchmark: book 2,000 groups x 8 sessions, start with ~200,000 dispatches pending,
fire a sample of them under that load, and compare with the naive design (one APScheduler job
per dispatch in APScheduler's SQLAlchemy job store) measured in the same run.

    .venv/bin/python bench/scheduler.py [--groups 2000] [--members 3] [--db URL]

The last line is one JSON object: groups, sessions, dispatches, book_s, startup_s, rss_mb,
worst_lateness_s, lost, doubled (plus cpu_us_per_dispatch and the naive figures).

How it measures (see /work/shared/BENCHMARKS.md):
- book_s: wall time of booking every series through ``server.scheduling.booking.book`` (preview
  with leader-conflict checks, sessions, dispatch planning), one transaction per group.
- startup_s: from constructing the scheduling service to the end of its first sweep, with every
  dispatch pending (the booking notices are marked sent first: they are not the point here).
- the fire window (with ``--processes 2``, the default, a second server process sweeps the same
  database throughout): ``--hot`` pending dispatches, spread over the whole table, are made due at
  random instants 2-12 s ahead; the service fires them while the rest stay pending. Lateness is
  ``done_at - due_at`` from the table; ``lost`` is a hot one not done 5 s after the last was
  due; ``doubled`` is a dispatch heard twice (by either process's listener) or with two outbox
  rows; ``fired_by_process`` shows both processes did work.
- cpu_us_per_dispatch: this process's CPU time (utime+stime, /proc/self/stat) during the window
  divided by the dispatches it fired (it is a server; no load generator runs then).
- naive: ``--naive-groups`` groups' dispatches added as individual APScheduler date jobs to a
  SQLAlchemyJobStore in the same database, then started (with a second process on the same
  store) and fired the same way; its per-dispatch booking cost, start-up, lateness, lost and
  doubled are printed beside ours with the booking ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, update

from bench._host import cpu_seconds, loadavg, rss_mb
from server.db import migrate
from server.db.engine import Database, sync_url
from server.db.models import Group, Membership, Organisation, Person
from server.domain import GroupRole, ProtocolKind
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.scheduling.booking import book
from server.scheduling.dispatcher import Fired
from server.scheduling.handlers import BUILTIN
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from server.scheduling.service import SchedulingService

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


async def make_groups(db: Database, n: int, members: int, tag: str) -> list[int]:
    """Organisation, people and groups by bulk insert (set-up, not measured)."""
    async with db.sessionmaker() as s, s.begin():
        org = Organisation(name=f"Bench {tag}", slug=f"bench-{tag}")
        s.add(org)
        await s.flush()
        people = [
            {
                "organisation_id": org.id,
                "email": f"{tag}-{g}-{k}@bench.invalid",
                "display_name": f"P{g}.{k}",
                "timezone": "Europe/Amsterdam" if k % 2 else "Asia/Tehran",
                "locale": ("en", "nl", "fa")[k % 3],
                "is_active": True,
            }
            for g in range(n)
            for k in range(members + 1)
        ]
        await s.execute(insert(Person), people)
        pids = list(
            await s.scalars(
                select(Person.id).where(Person.organisation_id == org.id).order_by(Person.id)
            )
        )
        await s.execute(
            insert(Group),
            [
                {
                    "organisation_id": org.id,
                    "name": f"G{tag}{g}",
                    "protocol": ProtocolKind.BALINT,
                    "capacity": 12,
                    "min_members": 1,
                    "settings": {},
                }
                for g in range(n)
            ],
        )
        gids = list(
            await s.scalars(
                select(Group.id).where(Group.organisation_id == org.id).order_by(Group.id)
            )
        )
        rows = []
        for g, gid in enumerate(gids):
            chunk = pids[g * (members + 1) : (g + 1) * (members + 1)]
            for k, pid in enumerate(chunk):
                role = GroupRole.LEADER if k == 0 else GroupRole.MEMBER
                rows.append({"group_id": gid, "person_id": pid, "role": role})
        await s.execute(insert(Membership), rows)
    return gids


def spec_for(i: int, today: date) -> Any:
    first = i % 7
    return parse_spec(
        {
            "title": f"Series {i}",
            "sessions": 8,
            "weekdays": [DAYS[first], DAYS[(first + 3) % 7]],
            "local_time": f"{8 + i % 12:02d}:{(i * 5) % 60:02d}",
            "start_date": (today + timedelta(days=2 + i % 14)).isoformat(),
            "duration_minutes": 60,
            "timezone": ("Europe/Amsterdam", "Asia/Tehran", "America/New_York")[i % 3],
        }
    )


async def book_all(db: Database, gids: list[int], cfg: SchedulingConfig) -> float:
    today = datetime.now(UTC).date()
    t0 = time.perf_counter()
    for i, gid in enumerate(gids):
        async with db.sessionmaker() as s, s.begin():
            await book(s, gid, spec_for(i, today), actor_id=None, cfg=cfg, now=datetime.now(UTC))
    return time.perf_counter() - t0


async def make_hot(db: Database, count: int, rng: random.Random) -> tuple[list[int], datetime]:
    """Make ``count`` pending dispatches due 2-12 s from now; returns their ids, last due."""
    async with db.sessionmaker() as s, s.begin():
        ids = list(
            await s.scalars(
                select(Dispatch.id).where(
                    Dispatch.status == DispatchStatus.PENDING,
                    Dispatch.purpose.in_(BUILTIN),  # timepoints wait for a handler
                )
            )
        )
        hot = rng.sample(ids, min(count, len(ids)))
        now = datetime.now(UTC)
        last = now
        for chunk in range(0, len(hot), 500):
            for did in hot[chunk : chunk + 500]:
                due = now + timedelta(seconds=rng.uniform(2, 12))
                last = max(last, due)
                await s.execute(
                    update(Dispatch)
                    .where(Dispatch.id == did)
                    .values(due_at=due, expires_at=due + timedelta(hours=1))
                )
    return hot, last


async def sweeper_worker(url: str, out_path: str) -> None:
    """A second server process: sweeps the same database until SIGTERM, then reports what its
    listener heard."""
    import signal

    db = Database(url)
    heard: Counter[str] = Counter()

    async def listener(f: Fired) -> None:
        heard[f.key] += 1

    service = SchedulingService(
        db.sessionmaker, SchedulingConfig(), OutboxNotifier(), worker="bench-process-2"
    )
    service.add_listener(listener)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await service.start()
    await service.sweep()
    print("ready", flush=True)
    await stop.wait()
    await service.stop()
    await db.dispose()
    _put_json(out_path, dict(heard))


async def measure_ours(
    db: Database, cfg: SchedulingConfig, hot_n: int, rng: random.Random, processes: int = 2
) -> dict[str, Any]:
    async with db.sessionmaker() as s, s.begin():  # booking notices count as delivered
        await s.execute(
            update(Dispatch)
            .where(Dispatch.purpose.in_([Purpose.CHANGE_NOTICE, Purpose.ENROLMENT_NOTICE]))
            .values(status=DispatchStatus.DONE, done_at=datetime.now(UTC))
        )
    heard: Counter[str] = Counter()

    async def listener(f: Fired) -> None:
        heard[f.key] += 1

    other = None
    out_path = ""
    if processes > 1:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
            out_path = fh.name
        other = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--sweeper-worker",
            db.url,
            out_path,
            stdout=asyncio.subprocess.PIPE,
        )
        assert other.stdout is not None
        await other.stdout.readline()
    t0 = time.perf_counter()
    service = SchedulingService(
        db.sessionmaker, cfg, OutboxNotifier(), interval_s=1.0, worker="bench-process-1"
    )
    service.add_listener(listener)
    await service.start()
    await service.sweep()  # start-up includes one full sweep over the pending table
    startup = time.perf_counter() - t0
    rss = rss_mb()
    hot, last_due = await make_hot(db, hot_n, rng)
    c0 = cpu_seconds()
    await asyncio.sleep((last_due + timedelta(seconds=5) - datetime.now(UTC)).total_seconds())
    cpu = cpu_seconds() - c0
    await service.stop()
    theirs: dict[str, int] = {}
    if other is not None:
        other.terminate()
        await other.wait()
        theirs = _take_json(out_path)
    mine = sum(heard.values())
    heard.update(theirs)
    async with db.sessionmaker() as s:
        rows = (
            await s.execute(
                select(
                    Dispatch.id, Dispatch.key, Dispatch.status, Dispatch.due_at, Dispatch.done_at
                ).where(Dispatch.id.in_(hot))
            )
        ).all()
        dup_outbox = await s.scalar(
            select(func.count()).select_from(
                select(OutboxMessage.dispatch_id)
                .group_by(OutboxMessage.dispatch_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    lateness = [
        (r.done_at - r.due_at).total_seconds()
        for r in rows
        if r.status is DispatchStatus.DONE and r.done_at is not None
    ]
    lost = sum(1 for r in rows if r.status is not DispatchStatus.DONE)
    doubled = sum(1 for n in heard.values() if n > 1) + int(dup_outbox or 0)
    fired = sum(heard.values())
    async with db.sessionmaker() as s:
        by_process = dict(
            (
                await s.execute(
                    select(Dispatch.done_by, func.count())
                    .where(Dispatch.id.in_(hot), Dispatch.status == DispatchStatus.DONE)
                    .group_by(Dispatch.done_by)
                )
            ).all()
        )
    return {
        "startup_s": round(startup, 3),
        "rss_mb": round(rss, 1),
        "worst_lateness_s": round(max(lateness, default=0.0), 3),
        "p50_lateness_s": round(sorted(lateness)[len(lateness) // 2], 3) if lateness else 0.0,
        "p99_lateness_s": round(sorted(lateness)[int(len(lateness) * 0.99)], 3)
        if lateness
        else 0.0,
        "late_over_1s": sum(1 for x in lateness if x > 1.0),
        "loadavg_1m": loadavg(),
        "lost": lost,
        "doubled": doubled,
        "fired": fired,
        "processes": processes,
        "fired_by_process": {str(k): v for k, v in sorted(by_process.items(), key=str)},
        "cpu_us_per_dispatch": round(cpu * 1e6 / max(1, mine), 1),
    }


# --------------------------------------------------------------------------------------------
# The naive baseline: one APScheduler job per dispatch in its SQLAlchemy job store.

NAIVE_FIRED: Counter[str] = Counter()
NAIVE_LATENESS: list[float] = []


def naive_fire(key: str, due_ts: float) -> None:
    NAIVE_LATENESS.append(time.time() - due_ts)
    NAIVE_FIRED[key] += 1


async def measure_naive(
    db: Database, cfg: SchedulingConfig, n_groups: int, hot_n: int, rng: random.Random
) -> dict[str, Any]:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    gids = await make_groups(db, n_groups, 3, "naive")
    today = datetime.now(UTC).date()
    async with db.sessionmaker() as s:
        before = await s.scalar(select(func.max(Dispatch.id))) or 0
    for i, gid in enumerate(gids):
        async with db.sessionmaker() as s, s.begin():
            await book(s, gid, spec_for(i, today), actor_id=None, cfg=cfg, now=datetime.now(UTC))
    async with db.sessionmaker() as s:
        planned = (
            await s.execute(
                select(Dispatch.key, Dispatch.due_at).where(
                    Dispatch.id > before,
                    Dispatch.purpose.not_in([Purpose.CHANGE_NOTICE, Purpose.ENROLMENT_NOTICE]),
                )
            )
        ).all()
    store_url = sync_url(db.url)
    sched = AsyncIOScheduler(timezone=UTC, jobstores={"default": SQLAlchemyJobStore(url=store_url)})
    # Adding jobs to a stopped scheduler queues them in memory; the store gets them at start.
    # To measure the store's cost, add them to the store directly through a paused scheduler.
    sched.start(paused=True)
    t0 = time.perf_counter()
    hot_keys = set(rng.sample([k for k, _ in planned], min(hot_n, len(planned))))
    ordered = [p for p in planned if p[0] not in hot_keys] + [
        p for p in planned if p[0] in hot_keys
    ]
    last_due = datetime.now(UTC)
    for key, due in ordered:
        if key in hot_keys:  # added last, due 2-12 s after they are added
            due = datetime.now(UTC) + timedelta(seconds=rng.uniform(6, 16))
            last_due = max(last_due, due)
        sched.add_job(
            naive_fire,
            "date",
            run_date=due,
            id=key,
            args=[key, due.timestamp()],
            misfire_grace_time=3600,
        )
    add_s = time.perf_counter() - t0
    sched.shutdown(wait=False)
    NAIVE_FIRED.clear()
    NAIVE_LATENESS.clear()
    # A second server process on the same job store (APScheduler 3 has no claim across
    # schedulers): whatever both fire is sent twice. It starts first and says when it is up.
    window = (last_due + timedelta(seconds=5) - datetime.now(UTC)).total_seconds()
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out_path = fh.name
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--naive-worker",
        store_url,
        f"{window:.1f}",
        out_path,
        stdout=asyncio.subprocess.PIPE,
    )
    assert other.stdout is not None
    await other.stdout.readline()
    t1 = time.perf_counter()
    sched2 = AsyncIOScheduler(
        timezone=UTC, jobstores={"default": SQLAlchemyJobStore(url=store_url)}
    )
    sched2.start()
    startup = time.perf_counter() - t1
    window = (last_due + timedelta(seconds=5) - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(window)
    sched2.shutdown(wait=False)
    await other.wait()
    theirs = _take_json(out_path)
    both = Counter(NAIVE_FIRED)
    both.update(theirs)
    lost = len(hot_keys - set(both))
    return {
        "naive_dispatches": len(planned),
        "naive_add_s": round(add_s, 2),
        "naive_add_us_per_dispatch": round(add_s * 1e6 / max(1, len(planned)), 1),
        "naive_startup_s": round(startup, 3),
        "naive_worst_lateness_s": round(max(NAIVE_LATENESS, default=0.0), 3),
        "naive_lost": lost,
        "naive_doubled": sum(1 for v in both.values() if v > 1),
        "naive_fired_by_second_process": sum(theirs.values()),
    }


def _take_json(path: str) -> dict[str, int]:
    p = Path(path)
    data: dict[str, int] = json.loads(p.read_text() or "{}")
    p.unlink()
    return data


def _put_json(path: str, data: dict[str, int]) -> None:
    Path(path).write_text(json.dumps(data))


async def naive_worker(store_url: str, seconds: float, out_path: str) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    sched = AsyncIOScheduler(timezone=UTC, jobstores={"default": SQLAlchemyJobStore(url=store_url)})
    sched.start()
    print("ready", flush=True)
    await asyncio.sleep(max(0.0, seconds - 1.0))
    sched.shutdown(wait=False)
    _put_json(out_path, dict(NAIVE_FIRED))


async def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--sweeper-worker":
        await sweeper_worker(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) == 5 and sys.argv[1] == "--naive-worker":
        await naive_worker(sys.argv[2], float(sys.argv[3]), sys.argv[4])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=int, default=2000)
    ap.add_argument("--members", type=int, default=3, help="members per group (plus a leader)")
    ap.add_argument("--hot", type=int, default=2000, help="dispatches fired in the window")
    ap.add_argument("--naive-groups", type=int, default=200)
    ap.add_argument(
        "--processes",
        type=int,
        default=2,
        choices=(1, 2),
        help="server processes sweeping the one database during the fire window",
    )
    ap.add_argument("--db", default="", help="database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    rng = random.Random(6)
    tmp = tempfile.TemporaryDirectory(prefix="circle-bench-")
    url = args.db or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    db = Database(url)
    await migrate.upgrade(db)
    cfg = SchedulingConfig()

    gids = await make_groups(db, args.groups, args.members, "main")
    book_s = await book_all(db, gids, cfg)
    async with db.sessionmaker() as s:
        n_sessions = await s.scalar(
            select(func.count()).select_from(select(Dispatch.session_id).distinct().subquery())
        )
        n_dispatches = await s.scalar(
            select(func.count())
            .select_from(Dispatch)
            .where(Dispatch.purpose.not_in([Purpose.CHANGE_NOTICE, Purpose.ENROLMENT_NOTICE]))
        )
    print(
        f"booked {args.groups} groups: {n_sessions} sessions, {n_dispatches} dispatches "
        f"in {book_s:.1f}s ({book_s * 1e3 / args.groups:.1f} ms per series)",
        flush=True,
    )
    ours = await measure_ours(db, cfg, args.hot, rng, args.processes)
    print(f"ours: {ours}", flush=True)
    naive: dict[str, Any] = {}
    if args.naive_groups:
        naive = await measure_naive(db, cfg, args.naive_groups, min(args.hot, 500), rng)
        ours_per = book_s * 1e6 / max(1, n_dispatches or 0)
        naive["naive_book_ratio"] = round(
            (naive["naive_add_us_per_dispatch"] + ours_per) / ours_per, 2
        )
        print(f"naive (one APScheduler job per dispatch, SQLAlchemyJobStore): {naive}", flush=True)
        print(
            f"naive extrapolated to {n_dispatches} dispatches: "
            f"{naive['naive_add_us_per_dispatch'] * (n_dispatches or 0) / 1e6:.0f}s of add_job "
            f"on top of booking",
            flush=True,
        )
    await db.dispose()
    tmp.cleanup()
    print(
        json.dumps(
            {
                "groups": args.groups,
                "sessions": n_sessions,
                "dispatches": n_dispatches,
                "book_s": round(book_s, 2),
                **ours,
                **naive,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
