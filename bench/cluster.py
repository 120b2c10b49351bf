"""Cluster benchmark: signaling spread over 1, 2 and 3 nodes behind the reference proxy, and
what a member sees when a node is killed (-9) or drained (SIGTERM).

    python bench/cluster.py [--rooms 12] [--rounds 10] [--interval 1.0] [--trials 10]

Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) and Debian's
haproxy: every cluster is ``bash deploy/local-cluster.sh N`` (N nodes, HAProxy with
deploy/haproxy.cfg), each on a fresh database that is dropped afterwards.

1. **Spread** (N = 1, 2, 3): ``--rooms`` Balint rooms of 12 python-socketio clients, all
   through the proxy (``/socket.io/?session=<id>``, as the browser connects), run by client
   processes pinned to the last CPU, the nodes pinned to CPU 0, so every N gets the same one
   core of server time. Each room's leader gives ``--rounds`` phase changes; the fan-out
   latency of a change is the time from the leader's emit until the last of the 12 clients
   has the new snapshot. Server CPU is the sum over the node processes (/proc/<pid>/stat)
   over the window, divided by the deliveries (changes x 12).
2. **Takeover** (N = 3, ``--trials`` times): members that behave like the browser client (a
   fresh join token per attempt, the web client's back-off from
   web_client/src/protocol/retry-policy.json: 0.5 s doubling to 2 s for 8 attempts, then up
   to 10 s, each x0.5-1.5)
   sit in ``--failover-rooms`` rooms; the node owning most of them (``room_leases``) is held
   down (its supervisor does not restart it) and killed with SIGKILL. Takeover time: from
   the kill until the last member that lost its connection is back in its room (join
   acknowledged). Then the node is let back and the next trial starts once it is ready.
3. **Drain** (N = 3, once): the same with SIGTERM: ``drain_s`` is from the signal until the
   process has exited; ``members_back_s`` until its members are back in their rooms.
During 2 and 3 every leader keeps changing phase (one command at a time). ``lost``: an
acknowledged change missing from the room a member rejoins (its phase differs from the
acknowledged one); ``doubled``: a phase change the leader saw that nobody sent.
The last line is one JSON object. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._host import cpu_seconds, pct, pin, raise_fd_limit  # noqa: E402
from bench.cluster_failover import *  # noqa: E402, F403
from bench.cluster_failover import backoff, failover, seconds_text  # noqa: E402
from bench.cluster_nodes import *  # noqa: E402, F403
from bench.cluster_nodes import (  # noqa: E402
    IDLE_WINDOW_S,
    PROXY_SETTLE_S,
    Cluster,
    mint,
    pin_nodes,
    psql,
    start_cluster,
)
from bench.signaling import Client, drive_room  # noqa: E402
from bench.signaling_servers import CLIENTS_PER_ROOM, NS, seed  # noqa: E402

# --- 1. spread: load over N nodes ------------------------------------------------------------


async def load_worker_main(
    proxy: str, rooms: list[dict[str, Any]], opts: dict[str, Any], events: Any, results: Any
) -> None:
    clients = [
        [
            Client(
                "app",
                f"{proxy}/?session={r['session_id']}",
                str(r["session_id"]),
                mint(pid, r["session_id"], i == 0),
            )
            for i, pid in enumerate(r["people"])
        ]
        for r in rooms
    ]
    sem = asyncio.Semaphore(20)

    async def enter(room: list[Client], i: int, r: dict[str, Any]) -> None:
        """As the web client does: a refused or failed join is tried again, with a fresh
        token and back-off (a room may be moving while the proxy's ring settles)."""
        for attempt in range(1, 8):
            async with sem:
                try:
                    await room[i].enter()
                    return
                except Exception:
                    with contextlib.suppress(Exception):
                        await room[i].sio.disconnect()
            await asyncio.sleep(backoff(attempt))
            sid, pid = r["session_id"], r["people"][i]
            room[i] = Client("app", room[i].url, str(sid), mint(pid, sid, i == 0))
        await room[i].enter()

    await asyncio.gather(
        *(
            enter(room, i, r)
            for room, r in zip(clients, rooms, strict=True)
            for i in range(len(room))
        )
    )
    results.put(("joined", sum(len(room) for room in clients)))
    while not events["go"].is_set():  # noqa: ASYNC110 (a multiprocessing event)
        await asyncio.sleep(0.05)
    stop_at = time.monotonic() + opts["rounds"] * opts["interval"] * 1.5 + 60
    failed: list[str] = []

    async def drive(room: list[Client], r: dict[str, Any]) -> list[float]:
        """One room; a room whose connections were closed under it (these load clients do
        not reconnect) stops and is counted, the others go on."""
        try:
            await room[0].sio.call(
                "protocol.command",
                {"command": "set_presenter", "person_id": str(r["people"][1])},
                namespace=NS,
                timeout=30,
            )
            return await drive_room("app", room, opts["rounds"], opts["interval"], "", stop_at)
        except Exception as exc:
            failed.append(type(exc).__name__)
            return []

    lat = await asyncio.gather(*(drive(room, r) for room, r in zip(clients, rooms, strict=True)))
    held = sum(1 for room in clients for c in room if c.sio.connected)
    results.put(("done", [x for r in lat for x in r], held, failed))
    for room in clients:
        for c in room:
            with contextlib.suppress(Exception):
                await c.sio.disconnect()


def load_worker(*args: Any, cpus: set[int]) -> None:
    pin(cpus)
    raise_fd_limit()
    asyncio.run(load_worker_main(*args))


def collect(results: Any, procs: list[Any], limit_s: float) -> Any:
    """The next result, or SystemExit when every worker died or the time is up."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            return results.get(timeout=1)
        if not any(p.is_alive() for p in procs):
            raise SystemExit("every client process has exited")
    raise SystemExit("the client processes did not report in time")


def spread(
    cluster: Cluster, rooms: list[dict[str, Any]], opts: Any, load_cpus: set[int]
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    events, results = {"go": ctx.Event()}, ctx.Queue()
    parts = [rooms[i :: opts.workers] for i in range(opts.workers) if rooms[i :: opts.workers]]
    cfg = {"rounds": opts.rounds, "interval": opts.interval}
    procs = [
        ctx.Process(
            target=load_worker,
            args=(cluster.proxy, part, cfg, events, results),
            kwargs={"cpus": load_cpus},
        )
        for part in parts
    ]
    for p in procs:
        p.start()
    clients = sum(collect(results, procs, 300)[1] for _ in procs)
    pids = cluster.pids()
    # The nodes' cost with every client connected and nothing happening (pings, heartbeats,
    # lease renewals, the Redis listeners), so the per-delivery figure can leave it out.
    idle0, t_idle = sum(cpu_seconds(pid) for pid in pids), time.monotonic()
    time.sleep(IDLE_WINDOW_S)
    idle_rate = (sum(cpu_seconds(pid) for pid in pids) - idle0) / (time.monotonic() - t_idle)
    cpu0 = sum(cpu_seconds(pid) for pid in pids)
    t0 = time.monotonic()
    events["go"].set()
    done = [collect(results, procs, opts.rounds * opts.interval * 2 + 300) for _ in procs]
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
    window = time.monotonic() - t0
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():
            p.terminate()
    latencies = [x for d in done for x in d[1]]
    deliveries = len(latencies) * CLIENTS_PER_ROOM
    return {
        "nodes": len(cluster.nodes),
        "clients": clients,
        "held": sum(d[2] for d in done),
        "rooms_failed": [x for d in done for x in d[3]],
        "changes": len(latencies),
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
        "cpu_s": cpu,
        "window_s": window,
        "cpu_us_per_delivery": cpu * 1e6 / deliveries if deliveries else float("nan"),
        "idle_cpu_per_s": idle_rate,
        "marginal_us_per_delivery": (cpu - idle_rate * window) * 1e6 / deliveries
        if deliveries
        else float("nan"),
    }


# --- the run --------------------------------------------------------------------------------


def fresh_database(tag: str) -> str:
    name = f"circle_bench_{tag}"
    psql(f'DROP DATABASE IF EXISTS "{name}"')
    psql(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=12, help="rooms of 12 in the spread runs")
    parser.add_argument("--rounds", type=int, default=10, help="phase changes per room")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--nodes", default="1,2,3", help="node counts of the spread runs")
    parser.add_argument("--trials", type=int, default=10, help="kill -9 trials")
    parser.add_argument("--failover-rooms", type=int, default=4)
    opts = parser.parse_args()

    ncpu = len(os.sched_getaffinity(0))
    server_cpus, load_cpus = ({0}, set(range(1, ncpu))) if ncpu >= 2 else ({0}, {0})
    run_tag = uuid.uuid4().hex[:8]
    counts = [int(x) for x in opts.nodes.split(",")]
    print(
        f"{opts.rooms} rooms x {CLIENTS_PER_ROOM} clients through HAProxy; nodes on CPU "
        f"{sorted(server_cpus)}, {opts.workers} client processes on CPUs {sorted(load_cpus)}; "
        f"{ncpu} CPUs in all (shared with other work: figures are noisy)",
        flush=True,
    )
    spreads: list[dict[str, Any]] = []
    fail: dict[str, Any] = {}
    databases: list[str] = []
    try:
        for n in counts:
            tag = f"{run_tag}_n{n}"
            db_url = fresh_database(tag)
            databases.append(f"circle_bench_{tag}")
            rooms = asyncio.run(seed(db_url, opts.rooms))
            cluster = start_cluster(n, db_url, f"bench-{tag}")
            try:
                pin_nodes(cluster, server_cpus)
                # The proxy's checks bring a node up after two passes a second apart: until
                # every node is in its ring, sessions would hash differently (and move).
                time.sleep(PROXY_SETTLE_S)
                figures = spread(cluster, rooms, opts, load_cpus)
                spreads.append(figures)
                if figures["rooms_failed"]:
                    print(f"  rooms stopped early: {figures['rooms_failed']}", flush=True)
                print(
                    f"{n} node(s): {figures['clients']} clients, {figures['held']} held, "
                    f"{figures['changes']} changes; fan-out to 12 p50 {figures['p50']:.1f} ms, "
                    f"p99 {figures['p99']:.1f} ms; node CPU {figures['cpu_s']:.2f} s in "
                    f"{figures['window_s']:.1f} s = {figures['cpu_us_per_delivery']:.0f} us "
                    f"per delivery; idle nodes use {figures['idle_cpu_per_s'] * 100:.1f} % of "
                    f"a core, so {figures['marginal_us_per_delivery']:.0f} us per delivery "
                    "above idle",
                    flush=True,
                )
                if n == max(counts) and n >= 2 and opts.trials > 0:
                    extra = asyncio.run(seed_more(db_url, opts.failover_rooms))
                    fail = asyncio.run(failover(cluster, db_url, extra, opts.trials))
            finally:
                cluster.stop()
    finally:
        for name in databases:
            with contextlib.suppress(subprocess.CalledProcessError):
                psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    for f in spreads:
        base = spreads[0]["cpu_us_per_delivery"]
        ratio = f["cpu_us_per_delivery"] / base if base else float("nan")
        print(
            f"nodes {f['nodes']}: {f['cpu_us_per_delivery']:.0f} us of node CPU per delivery "
            f"({ratio:.2f} x the first), {f['marginal_us_per_delivery']:.0f} us above idle"
        )
    takeovers = fail.get("takeover_s", [])
    if fail:
        print(
            f"takeover after kill -9 over {len(takeovers)} trials ({fail['failed']} not back "
            f"within 60 s): p50 {pct(takeovers, 0.5):.2f} s, max "
            f"{max(takeovers, default=float('nan')):.2f} s; drain: exit after "
            f"{seconds_text(fail.get('drain_s'))}, members back after {seconds_text(fail.get('drain_back_s'))}; "
            f"{fail['changes_acked']} phase changes acknowledged, lost {fail['lost']}, doubled "
            f"{fail['doubled']}; refusals seen by members: {fail['refusals']}"
        )
    last = spreads[-1] if spreads else {}
    result = {
        "nodes": last.get("nodes"),
        "clients": last.get("clients"),
        "fanout_p50_ms": round(last.get("p50", float("nan")), 2),
        "fanout_p99_ms": round(last.get("p99", float("nan")), 2),
        "cpu_us_per_delivery": {
            str(f["nodes"]): round(f["cpu_us_per_delivery"], 1) for f in spreads
        },
        "marginal_us_per_delivery": {
            str(f["nodes"]): round(f["marginal_us_per_delivery"], 1) for f in spreads
        },
        "fanout_p99_ms_by_nodes": {str(f["nodes"]): round(f["p99"], 2) for f in spreads},
        "takeover_p50_s": round(pct(takeovers, 0.5), 2) if takeovers else None,
        "takeover_max_s": round(max(takeovers), 2) if takeovers else None,
        "takeover_failed": fail.get("failed"),
        "drain_s": None if fail.get("drain_s") is None else round(fail["drain_s"], 2),
        "drain_members_back_s": None
        if fail.get("drain_back_s") is None
        else round(fail["drain_back_s"], 2),
        "lost": fail.get("lost"),
        "doubled": fail.get("doubled"),
    }
    print(json.dumps(result))


async def seed_more(db_url: str, rooms: int) -> list[dict[str, Any]]:
    """More rooms in the same database (seed() names its organisation "bench" and its people
    r<room>p<i>@bench.example: rename those first so the names are free again)."""
    from sqlalchemy import func, update

    from server.db.engine import Database
    from server.db.models import Organisation, Person

    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            tag = uuid.uuid4().hex[:6]
            await s.execute(
                update(Organisation).where(Organisation.slug == "bench").values(slug=f"bench-{tag}")
            )
            await s.execute(
                update(Person)
                .where(Person.email.like("%@bench.example"))
                .values(email=func.concat(tag, "-", Person.email))
            )
    finally:
        await db.dispose()
    return await seed(db_url, rooms)


if __name__ == "__main__":
    main()
