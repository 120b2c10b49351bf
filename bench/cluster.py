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
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._host import cpu_seconds, pct, pin, raise_fd_limit  # noqa: E402
from bench.retry_policy import retry_delay_s  # noqa: E402
from bench.signaling import Client, drive_room  # noqa: E402
from bench.signaling_servers import CLIENTS_PER_ROOM, NS, SECRET, seed  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
IDLE_WINDOW_S = 3.0
PROXY_SETTLE_S = 4.0
REDIS_URL = "redis://127.0.0.1:6379/0"


# --- the cluster (deploy/local-cluster.sh) ------------------------------------------------------


@dataclass
class Cluster:
    proc: subprocess.Popen[str]
    dir: Path
    proxy: str
    nodes: dict[str, str] = field(default_factory=dict)  # node id -> direct URL

    def pid(self, node: str) -> int:
        return int((self.dir / f"{node}.pid").read_text().strip())

    def pids(self) -> list[int]:
        return [self.pid(n) for n in self.nodes]

    def hold(self, node: str) -> None:
        (self.dir / f"hold{node.removeprefix('node')}").touch()

    def release(self, node: str) -> None:
        (self.dir / f"hold{node.removeprefix('node')}").unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)


def start_cluster(n: int, db_url: str, channel: str) -> Cluster:
    work = Path(tempfile.mkdtemp(prefix=f"circle-bench-cluster{n}-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "CIRCLE_REDIS_CHANNEL": channel,
        "CLUSTER_DIR": str(work),
        "CLUSTER_CMD": f"{sys.executable} -m server",
        "CIRCLE_SCHEDULER_ENABLED": "false",
        "CIRCLE_MEDIA_ENABLED": "false",
        "CIRCLE_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        ["bash", str(ROOT / "deploy" / "local-cluster.sh"), str(n)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    cluster = Cluster(proc, work, "")
    deadline = time.monotonic() + 180
    assert proc.stdout is not None
    for line in proc.stdout:
        words = line.split()
        if words[:1] == ["node"] and len(words) == 4:
            cluster.nodes[words[3]] = words[2]
        elif words[:1] == ["proxy"]:
            cluster.proxy = words[1]
        elif words[:1] == ["ready"]:
            return cluster
        if time.monotonic() > deadline:
            break
    cluster.stop()
    raise SystemExit(f"local-cluster.sh {n} did not become ready (see {work})")


def pin_nodes(cluster: Cluster, cpus: set[int]) -> None:
    for pid in cluster.pids():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, cpus)


def lease_owners(db_url: str) -> dict[int, str]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT session_id, owner FROM room_leases").fetchall()
    return {int(sid): str(owner) for sid, owner in rows}


def wait_ready(url: str, limit_s: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def mint(person_id: int, session_id: int, leader: bool) -> str:
    from server.auth.tokens import mint_join_token
    from server.domain import GroupRole

    role = GroupRole.LEADER if leader else GroupRole.MEMBER
    return mint_join_token(SECRET, person_id=person_id, session_id=session_id, role=role, ttl_s=600)


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


# --- 2 and 3: members who come back ---------------------------------------------------------


class Member:
    """A browser-like member: a fresh token per attempt; the web client's back-off after a
    lost connection or a refusal; hello, join, and back in again after every drop."""

    def __init__(self, proxy: str, session_id: int, person_id: int, leader: bool) -> None:
        self.url = f"{proxy}/?session={session_id}"
        self.session_id, self.person_id, self.leader = session_id, person_id, leader
        self.sio: Any = None
        self.inside = asyncio.Event()
        self.dropped_at: float | None = None
        self.back_at: float | None = None
        self.snapshots: list[dict[str, Any]] = []
        self.refusals: dict[str, int] = {}
        self._gone = asyncio.Event()
        self._stop = False

    async def run(self) -> None:
        import socketio

        attempt = 0
        while not self._stop:
            sio = socketio.AsyncClient(reconnection=False)
            self._gone = asyncio.Event()
            sio.on("disconnect", self._on_disconnect, namespace=NS)
            sio.on("room.snapshot", self._on_snapshot, namespace=NS)
            try:
                await sio.connect(
                    self.url,
                    namespaces=[NS],
                    transports=["websocket"],
                    auth={"token": mint(self.person_id, self.session_id, self.leader)},
                    wait_timeout=5,
                )
                hello = await sio.call("hello", {"v": 1}, namespace=NS, timeout=5)
                if not hello.get("ok"):
                    raise Refused(hello["error"]["code"])
                joined = await sio.call("join", {}, namespace=NS, timeout=5)
                if not joined.get("ok"):
                    raise Refused(joined["error"]["code"])
                self._on_snapshot(joined["snapshot"])
            except Refused as exc:
                self.refusals[exc.code] = self.refusals.get(exc.code, 0) + 1
                await self._close(sio)
                attempt += 1
                await asyncio.sleep(backoff(attempt))
                continue
            except Exception:
                await self._close(sio)
                attempt += 1
                await asyncio.sleep(backoff(attempt))
                continue
            attempt = 0
            self.sio = sio
            if self.dropped_at is not None and self.back_at is None:
                self.back_at = time.monotonic()
            self.inside.set()
            await self._gone.wait()
            self.inside.clear()
            self.sio = None
            if not self._stop:
                self.dropped_at, self.back_at = time.monotonic(), None
                attempt += 1
                await asyncio.sleep(backoff(attempt))

    def _on_disconnect(self, *args: Any) -> None:
        self._gone.set()

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        self.snapshots.append(data)

    @property
    def phase(self) -> str | None:
        if not self.snapshots:
            return None
        return str(max(self.snapshots, key=lambda s: int(s["version"]))["phase"])

    async def _close(self, sio: Any) -> None:
        with contextlib.suppress(Exception):
            await sio.disconnect()

    async def stop(self) -> None:
        self._stop = True
        self._gone.set()
        if self.sio is not None:
            await self._close(self.sio)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def backoff(attempt: int) -> float:
    """The web client's wait before its ``attempt``-th retry (1 for the first):
    bench/retry_policy.py, from web_client/src/protocol/retry-policy.json."""
    return retry_delay_s(attempt - 1)


@dataclass
class Ledger:
    """A leader's phase changes: sent, acknowledged, and what it saw."""

    sent: int = 0
    acked: int = 0
    lost: int = 0
    doubled: int = 0


async def keep_changing(leader: Member, ledger: Ledger, stop: asyncio.Event) -> None:
    """One phase change at a time (advance/back) while the leader is inside; checks each
    rejoin against the last acknowledged phase, and that no change comes unasked."""
    expected: str | None = None  # the phase after the last acknowledged change
    pending = False  # a change was sent and not acknowledged (it may or may not apply)
    seen_versions = 0
    base: str | None = None
    while not stop.is_set():
        await leader.inside.wait()
        sio = leader.sio
        if sio is None:
            continue
        now_phase = leader.phase
        if expected is not None and not pending and now_phase != expected:
            # Between our changes (or across a rejoin) the phase moved by itself.
            seen = [s for s in leader.snapshots if int(s["version"]) > seen_versions]
            if any(s["phase"] == expected for s in seen) or not seen:
                ledger.doubled += 1  # it was as acknowledged, then moved unasked
            else:
                ledger.lost += 1  # the acknowledged change is not in the room
            expected = now_phase
        base = base or now_phase  # the phase to come back to (waiting, after set_presenter)
        command = "advance" if now_phase == base else "back"
        ledger.sent += 1
        pending = True
        try:
            reply = await sio.call(
                "protocol.command", {"command": command}, namespace=NS, timeout=5
            )
        except Exception:
            await asyncio.sleep(0.2)
            continue
        if reply.get("ok"):
            ledger.acked += 1
            pending = False
            expected = leader.phase
            seen_versions = max((int(s["version"]) for s in leader.snapshots), default=0)
        elif reply.get("error", {}).get("code") not in (None, "wrong_node"):
            pending = False
            expected = leader.phase
        await asyncio.sleep(random.uniform(0.2, 0.4))


async def failover(
    cluster: Cluster, db_url: str, rooms: list[dict[str, Any]], trials: int
) -> dict[str, Any]:
    members = [
        Member(cluster.proxy, r["session_id"], pid, i == 0)
        for r in rooms
        for i, pid in enumerate(r["people"])
    ]
    tasks = [asyncio.create_task(m.run()) for m in members]
    stop = asyncio.Event()
    ledgers: list[Ledger] = []
    changers: list[asyncio.Task[None]] = []
    out: dict[str, Any] = {"takeover_s": [], "failed": 0}
    try:
        await asyncio.wait_for(asyncio.gather(*(m.inside.wait() for m in members)), 120)
        for m in members:
            if m.leader:
                first = next(x for x in rooms if x["session_id"] == m.session_id)
                await m.sio.call(
                    "protocol.command",
                    {"command": "set_presenter", "person_id": str(first["people"][1])},
                    namespace=NS,
                    timeout=10,
                )
                ledger = Ledger()
                ledgers.append(ledger)
                changers.append(asyncio.create_task(keep_changing(m, ledger, stop)))
        await asyncio.sleep(2)
        for trial in range(trials):
            took = await one_failure(cluster, db_url, members, signal.SIGKILL)
            print(
                f"  takeover trial {trial + 1}: {took['back_s']:.2f} s "
                f"({took['dropped']} members dropped)",
                flush=True,
            )
            if took["back_s"] is None:
                out["failed"] += 1
            else:
                out["takeover_s"].append(took["back_s"])
        drained = await one_failure(cluster, db_url, members, signal.SIGTERM)
        out["drain_s"] = drained["exit_s"]
        out["drain_back_s"] = drained["back_s"]
        print(
            f"  drain: process exited after {drained['exit_s']:.2f} s, members back after "
            f"{drained['back_s']} s ({drained['dropped']} dropped)",
            flush=True,
        )
    finally:
        stop.set()
        for t in changers:
            t.cancel()
        for m in members:
            await m.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*changers, *tasks, return_exceptions=True)
    refusals: dict[str, int] = {}
    for m in members:
        for code, n in m.refusals.items():
            refusals[code] = refusals.get(code, 0) + n
    out.update(
        members=len(members),
        lost=sum(x.lost for x in ledgers),
        doubled=sum(x.doubled for x in ledgers),
        changes_acked=sum(x.acked for x in ledgers),
        refusals=refusals,
    )
    return out


async def one_failure(
    cluster: Cluster, db_url: str, members: list[Member], how: signal.Signals
) -> dict[str, Any]:
    owners = await asyncio.to_thread(lease_owners, db_url)
    mine = {sid for m in members for sid in [m.session_id]}
    counts: dict[str, int] = {}
    for sid, node in owners.items():
        if sid in mine:
            counts[node] = counts.get(node, 0) + 1
    victim = max(counts, key=lambda n: counts[n]) if counts else next(iter(cluster.nodes))
    pid = cluster.pid(victim)
    cluster.hold(victim)
    for m in members:
        m.dropped_at = None
        m.back_at = None
    t0 = time.monotonic()
    os.kill(pid, how)
    exit_s = None
    deadline = t0 + 60
    while time.monotonic() < deadline:
        if _zombie(pid):  # gone, or dead and not yet reaped by its supervisor
            exit_s = time.monotonic() - t0
            break
        await asyncio.sleep(0.02)
    back_s: float | None = None
    while time.monotonic() < deadline:
        dropped = [m for m in members if m.dropped_at is not None]
        if dropped and all(m.back_at is not None for m in dropped) and time.monotonic() - t0 > 1:
            back_s = max(m.back_at for m in dropped if m.back_at is not None) - t0
            break
        await asyncio.sleep(0.05)
    dropped_n = sum(1 for m in members if m.dropped_at is not None)
    cluster.release(victim)
    await asyncio.to_thread(wait_ready, cluster.nodes[victim], 60)
    await asyncio.sleep(3)  # the proxy's checks see it up (rise 2 x 1 s)
    return {"back_s": back_s, "exit_s": exit_s, "dropped": dropped_n, "victim": victim}


def _s(seconds: float | None) -> str:
    return "not within 60 s" if seconds is None else f"{seconds:.2f} s"


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


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
            f"{_s(fail.get('drain_s'))}, members back after {_s(fail.get('drain_back_s'))}; "
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
