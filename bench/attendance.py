"""Attendance benchmark: 2,000 groups x 8 sessions x 12 members with realistic reconnect
noise; full rebuild time and memory, one session's rebuild, dashboard REST p99.

    .venv/bin/python bench/attendance.py [--groups 2000] [--sessions 8] [--members 12]
                                         [--db URL] [--requests 400] [--seed 7]

How it measures:
- data: one organisation; per group a leader, ``--members`` members, one series of
  ``--sessions`` ended 60-minute sessions (one in 10 series has one moved session and one
  cancelled). Per member per session (seeded random): 8 % absent (a third of them said ahead
  they could not come), 10 % late (11-25 min), 8 % left early (20-40 min before the end),
  35 % with 1-3 drops of which 80 % come back within 5-50 s and the rest after 2-10 min, 5 % a
  second device, and one group in 20 a server crash mid-session (outage 1-4 min, every present
  member's drop stamped at its start).
- rebuild_s: wall time of ``records.rebuild`` over every session (batched, one transaction per
  500 sessions). rebuild_rss_mb: the peak resident set during it (sampled every 20 ms from
  /proc/self/statm), less the resident set just before.
- session_rebuild_ms: the median of 200 single-session rebuilds (the after-end hook's path);
  session_rebuild_p95_ms beside it.
- baseline (same run): the same rebuild one session per call, as the hook does it, over a
  sample of 400 sessions, extrapolated to all sessions (baseline_rebuild_s_est).
- dashboard_p99_ms: the app on loopback (create_app, no media, no scheduler), a coordinator's
  cookie, ``--requests`` GETs alternating /api/series/{id}/attendance and
  /api/series/{id}/scores over random series, one at a time; p50 and p99 of the wall time.

The machine is shared: figures are indicative. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.app import create_app
from server.attendance import records
from server.attendance.derive import Rules
from server.attendance.models import AttendanceExcuse
from server.auth.sessions import open_session
from server.db import migrate
from server.db.engine import Database
from server.db.models import (
    AttendanceEvent,
    Group,
    Membership,
    Organisation,
    Person,
    PersonRole,
    ScheduledSession,
    Series,
)
from server.domain import (
    AttendanceKind,
    GroupRole,
    OrgRole,
    ProtocolKind,
    SessionStatus,
)
from server.rooms.models import SessionOutage
from server.settings import Settings

PAGE = os.sysconf("SC_PAGE_SIZE")
MIN = 60_000
J, L, D, R = (
    AttendanceKind.JOIN,
    AttendanceKind.LEAVE,
    AttendanceKind.DISCONNECT,
    AttendanceKind.RECONNECT,
)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def member_events(rng: random.Random, start: int, outage: tuple[int, int] | None) -> list[Any]:
    """One member's events at one session, as (kind, ms, reason)."""
    end = start + 60 * MIN
    t_in = start + rng.randint(-5 * MIN, 3 * MIN)
    if rng.random() < 0.10:
        t_in = start + rng.randint(11 * MIN, 25 * MIN)
    t_out = end + rng.randint(0, 2 * MIN)
    if rng.random() < 0.08:
        t_out = end - rng.randint(20 * MIN, 40 * MIN)
    evs: list[Any] = [(J, t_in, None)]
    if rng.random() < 0.05:
        evs.append((R, t_in + rng.randint(1_000, 5 * MIN), None))  # a second device
    if rng.random() < 0.35 and t_out - t_in > 15 * MIN:
        n = rng.choice([1, 2, 3])
        for d in sorted(rng.randint(t_in + MIN, t_out - 2 * MIN) for _ in range(n)):
            back = d + (
                rng.randint(5_000, 50_000) if rng.random() < 0.8 else rng.randint(2, 10) * MIN
            )
            if back >= t_out:
                break
            evs += [(D, d, None), (R, back, None)]
    if outage is not None and t_in < outage[0] < t_out:
        evs = [e for e in evs if not outage[0] <= e[1] <= outage[1]]
        evs += [(D, outage[0], "server outage"), (R, outage[1] + rng.randint(2_000, 40_000), None)]
    evs.append((L, t_out, None))
    return sorted(evs, key=lambda e: e[1])


async def build(
    db: Database, groups: int, sessions: int, members: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    base = int(datetime(2026, 1, 5, 17, tzinfo=UTC).timestamp() * 1000)
    counts = {"events": 0, "sessions": 0}
    async with db.sessionmaker() as s, s.begin():
        org = Organisation(name="Bench", slug="bench")
        s.add(org)
        await s.flush()
        coord = Person(organisation_id=org.id, email="coord@bench.example", display_name="C")
        s.add(coord)
        await s.flush()
        s.add(PersonRole(person_id=coord.id, organisation_id=org.id, role=OrgRole.COORDINATOR))
        org_id, coord_id = org.id, coord.id
    series_ids: list[int] = []
    for g0 in range(0, groups, 100):
        async with db.engine.begin() as conn:
            chunk = range(g0, min(groups, g0 + 100))
            people = [
                {
                    "organisation_id": org_id,
                    "email": f"p{g}-{i}@bench.example",
                    "display_name": f"Person {g}-{i}",
                    "timezone": "UTC",
                    "is_active": True,
                    "created_at": dt(base - 30 * 24 * 60 * MIN),
                }
                for g in chunk
                for i in range(members + 1)
            ]
            pids = list((await conn.execute(insert(Person).returning(Person.id), people)).scalars())
            gids = list(
                (
                    await conn.execute(
                        insert(Group).returning(Group.id),
                        [
                            {
                                "organisation_id": org_id,
                                "name": f"Group {g}",
                                "protocol": ProtocolKind.BALINT,
                                "capacity": 12,
                                "min_members": 8,
                                "settings": {},
                                "created_at": dt(base),
                            }
                            for g in chunk
                        ],
                    )
                ).scalars()
            )
            mships, series_rows = [], []
            for k, gid in enumerate(gids):
                team = pids[k * (members + 1) : (k + 1) * (members + 1)]
                for i, pid in enumerate(team):
                    mships.append(
                        {
                            "group_id": gid,
                            "person_id": pid,
                            "role": GroupRole.LEADER if i == 0 else GroupRole.MEMBER,
                            "status": "active",
                            "created_at": dt(base - 30 * 24 * 60 * MIN),
                            "updated_at": dt(base - 30 * 24 * 60 * MIN),
                        }
                    )
                series_rows.append(
                    {
                        "group_id": gid,
                        "title": "Series",
                        "timezone": "UTC",
                        "planned_sessions": sessions,
                        "pattern": {},
                        "agreement_version": "1",
                        "status": "booked",
                        "created_at": dt(base),
                    }
                )
            await conn.execute(insert(Membership), mships)
            sids = list(
                (await conn.execute(insert(Series).returning(Series.id), series_rows)).scalars()
            )
            series_ids += sids
            sess_rows = []
            for k, (gid, serid) in enumerate(zip(gids, sids, strict=True)):
                for n in range(sessions):
                    odd = (g0 + k) % 10 == 0
                    sess_rows.append(
                        {
                            "series_id": serid,
                            "group_id": gid,
                            "index": n + 1,
                            "starts_at": dt(base + n * 3 * 24 * 60 * MIN + (g0 + k) * 60_000),
                            "timezone": "UTC",
                            "duration_minutes": 60,
                            "status": SessionStatus.CANCELLED
                            if odd and n == 5
                            else SessionStatus.ENDED,
                            "lobby_minutes": 10,
                            "sequence": 1 if odd and n in (3, 5) else 0,
                            "is_makeup": False,
                            "created_at": dt(base),
                            "updated_at": dt(base),
                        }
                    )
            rows = (
                await conn.execute(
                    insert(ScheduledSession).returning(
                        ScheduledSession.id, ScheduledSession.group_id, ScheduledSession.starts_at
                    ),
                    sess_rows,
                )
            ).all()
            by_group = {
                gid: pids[k * (members + 1) : (k + 1) * (members + 1)] for k, gid in enumerate(gids)
            }
            events, excuses, outages = [], [], []
            for sid, gid, starts in rows:
                counts["sessions"] += 1
                start = int(starts.timestamp() * 1000)
                outage = None
                if rng.random() < 0.05:
                    down = start + rng.randint(10, 45) * MIN
                    outage = (down, down + rng.randint(1, 4) * MIN)
                    outages.append(
                        {
                            "session_id": sid,
                            "started_at": dt(outage[0]),
                            "ended_at": dt(outage[1]),
                            "cause": "crash",
                        }
                    )
                for pid in by_group[gid]:
                    if rng.random() < 0.08:
                        if rng.random() < 0.33:
                            excuses.append(
                                {
                                    "session_id": sid,
                                    "person_id": pid,
                                    "reason": None,
                                    "declared_at": dt(start - MIN),
                                }
                            )
                        continue
                    for kind, at, reason in member_events(rng, start, outage):
                        events.append(
                            {
                                "session_id": sid,
                                "person_id": pid,
                                "kind": kind,
                                "at": dt(at),
                                "reason": reason,
                            }
                        )
            counts["events"] += len(events)
            for i in range(0, len(events), 20_000):
                await conn.execute(insert(AttendanceEvent), events[i : i + 20_000])
            if excuses:
                await conn.execute(insert(AttendanceExcuse), excuses)
            if outages:
                await conn.execute(insert(SessionOutage), outages)
    return {"org": org_id, "coord": coord_id, "series": series_ids, **counts}


class Sampler:
    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> Sampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


async def dashboard(db_url: str, coord: int, series: list[int], n: int, tmp: Path) -> list[float]:
    db = Database(db_url)
    async with db.sessionmaker() as s, s.begin():
        token = await open_session(s, coord, ttl_hours=1)
    await db.dispose()
    settings = Settings(
        database_url=db_url,
        secret_key="bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        var_dir=tmp / "var",
        scheduler_enabled=False,
        media_enabled=False,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rng = random.Random(3)
    times: list[float] = []
    try:
        async with aiohttp.ClientSession(cookies={"circle_session": token}) as http:
            for i in range(n + 20):
                path = "attendance" if i % 2 == 0 else "scores"
                url = f"http://127.0.0.1:{port}/api/series/{rng.choice(series)}/{path}"
                t0 = time.perf_counter()
                async with http.get(url) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                if i >= 20:  # the first 20 warm the app up
                    times.append((time.perf_counter() - t0) * 1000)
    finally:
        await runner.cleanup()
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--members", type=int, default=12)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--db", help="database URL (default: a SQLite file in a temporary directory)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-attendance-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    db = Database(url)
    await migrate.upgrade(db)
    t0 = time.perf_counter()
    world = await build(db, args.groups, args.sessions, args.members, args.seed)
    print(
        f"data: {world['sessions']} sessions, {world['events']} events "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    rules = Rules()
    before = rss_mb()
    with Sampler() as sampler:
        t0 = time.perf_counter()
        written = await records.rebuild(db, rules)
        rebuild_s = time.perf_counter() - t0
    rebuild_rss = sampler.peak - before
    print(
        f"full rebuild: {written} records in {rebuild_s:.2f} s, +{rebuild_rss:.1f} MB", flush=True
    )
    async with db.engine.connect() as conn:
        ids = list((await conn.scalars(select(ScheduledSession.id))).all())
    rng = random.Random(args.seed)
    one: list[float] = []
    for sid in rng.sample(ids, min(200, len(ids))):
        t0 = time.perf_counter()
        await records.rebuild(db, rules, session_ids=[sid])
        one.append((time.perf_counter() - t0) * 1000)
    sample = rng.sample(ids, min(400, len(ids)))
    t0 = time.perf_counter()
    for sid in sample:
        await records.rebuild(db, rules, session_ids=[sid])
    baseline_est = (time.perf_counter() - t0) / len(sample) * len(ids)
    print(
        f"one session: median {statistics.median(one):.1f} ms, p95 {pct(one, 0.95):.1f} ms; "
        f"baseline (one session per call) for all: ~{baseline_est:.1f} s",
        flush=True,
    )
    await db.dispose()
    times = await dashboard(url, world["coord"], world["series"], args.requests, tmp)
    print(
        f"dashboard: p50 {pct(times, 0.5):.1f} ms, p99 {pct(times, 0.99):.1f} ms "
        f"over {len(times)} requests",
        flush=True,
    )
    print("note: the machine is shared with other work; figures are indicative", flush=True)
    print(
        json.dumps(
            {
                "groups": args.groups,
                "sessions": world["sessions"],
                "members": args.members,
                "events": world["events"],
                "records": written,
                "rebuild_s": round(rebuild_s, 2),
                "rebuild_rss_mb": round(rebuild_rss, 1),
                "session_rebuild_ms": round(statistics.median(one), 2),
                "session_rebuild_p95_ms": round(pct(one, 0.95), 2),
                "baseline_rebuild_s_est": round(baseline_est, 1),
                "dashboard_p50_ms": round(pct(times, 0.5), 2),
                "dashboard_p99_ms": round(pct(times, 0.99), 2),
                "database": url.split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
