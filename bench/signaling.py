"""Signaling benchmark: N live Balint rooms of 12 python-socketio clients driving phase changes.

    python bench/signaling.py [--rooms 100] [--rounds 20] [--interval 1.0] [--workers 4]

For each server (ours, then a bare python-socketio relay on the same load):
  1. a server process on 127.0.0.1 (pinned to CPU 0 when there are two or more);
  2. client worker processes (pinned to the other CPUs), each owning whole rooms, so a room's
     leader and its 11 members share one clock;
  3. every client connects and joins (ours: websocket + join token, ``hello``, ``join``;
     relay: websocket + ``join``), all workers starting together: joins per second;
  4. each room's leader then gives ``--rounds`` phase changes (``advance``/``back`` between
     presentation and questions; relay: an equally large payload relayed to the room), one
     every ``--interval`` seconds with a random offset; the fan-out latency of a change is the
     time from the leader's emit until the last of the 12 clients has the new snapshot.
Server CPU is read from /proc/<pid>/stat over the phase-change window and divided by the
deliveries made (rooms x rounds x 12). The last line is one JSON object.
Only loopback traffic; every loop is bounded by a count and a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._host import cpu_seconds, free_port, pct, pin, raise_fd_limit
from bench.signaling_servers import CLIENTS_PER_ROOM, NS, SECRET, seed, serve_app, serve_relay

# --- the servers (bench/signaling_servers.py) and starting them -------------------------------


def start_server(args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen([sys.executable, __file__, *args], env=env)


def wait_listening(port: int, proc: subprocess.Popen[bytes], limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("server did not start")


# --- the load ---------------------------------------------------------------------------------


class Client:
    def __init__(self, kind: str, url: str, room_key: str, token: str | None) -> None:
        import socketio

        self.kind, self.url, self.room_key, self.token = kind, url, room_key, token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.version = -1
        self.waiters: list[tuple[int, asyncio.Future[float]]] = []
        self.sio.on("room.snapshot", self._on_snapshot, namespace=NS)

    async def _on_snapshot(self, data: dict[str, Any]) -> None:
        now = time.perf_counter()
        self.version = max(self.version, int(data["version"]))
        keep = []
        for version, fut in self.waiters:
            if self.version >= version and not fut.done():
                fut.set_result(now)
            elif not fut.done():
                keep.append((version, fut))
        self.waiters = keep

    def until(self, version: int) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if self.version >= version:
            fut.set_result(time.perf_counter())
        else:
            self.waiters.append((version, fut))
        return fut

    async def enter(self) -> None:
        auth = {"token": self.token} if self.token else None
        await self.sio.connect(
            self.url, namespaces=[NS], transports=["websocket"], auth=auth, wait_timeout=30
        )
        if self.kind == "app":
            hello = await self.sio.call("hello", {"v": 1}, namespace=NS, timeout=30)
            assert hello["ok"], hello
            joined = await self.sio.call("join", {}, namespace=NS, timeout=30)
            assert joined["ok"], joined
            self.version = max(self.version, int(joined["snapshot"]["version"]))
        else:
            joined = await self.sio.call("join", {"room": self.room_key}, namespace=NS, timeout=30)
            assert joined["ok"], joined


async def drive_room(
    kind: str, clients: list[Client], rounds: int, interval: float, blob: str, stop_at: float
) -> list[float]:
    leader = clients[0]
    latencies: list[float] = []
    rng = random.Random(hash(leader.room_key))
    await asyncio.sleep(rng.uniform(0, interval))
    for i in range(rounds):
        if time.monotonic() > stop_at:
            break
        target = leader.version + 1
        waits = [c.until(target) for c in clients]
        sent = time.perf_counter()
        if kind == "app":
            reply = await leader.sio.call(
                "protocol.command",
                {"command": "advance" if i % 2 == 0 else "back"},
                namespace=NS,
                timeout=30,
            )
        else:
            reply = await leader.sio.call(
                "relay", {"room": leader.room_key, "blob": blob}, namespace=NS, timeout=30
            )
        assert reply["ok"], reply
        try:
            done = await asyncio.wait_for(asyncio.gather(*waits), timeout=30)
        except TimeoutError:
            continue
        latencies.append((max(done) - sent) * 1000)
        await asyncio.sleep(interval * rng.uniform(0.8, 1.2))
    return latencies


async def worker_main(
    url: dict[str, str],
    rooms: dict[str, list[dict[str, Any]]],
    opts: dict[str, Any],
    blob: str,
    start_at: float,
    events: dict[str, Any],
    results: Any,
) -> None:
    """Join the rooms of each server in turn (when told), then drive them all at once."""
    clients = {
        kind: [
            [
                Client(kind, url[kind], f"s{r['session_id']}", tok if kind == "app" else None)
                for tok in r["tokens"]
            ]
            for r in rooms[kind]
        ]
        for kind in rooms
    }
    sem = asyncio.Semaphore(opts["concurrency"])

    async def enter(c: Client) -> float:
        async with sem:
            await c.enter()
            return time.time()

    while time.time() < start_at:  # noqa: ASYNC110 (a shared start time)
        await asyncio.sleep(min(0.05, start_at - time.time()))
    for kind in rooms:
        if kind != next(iter(rooms)):
            while not events["second_join"].is_set():  # noqa: ASYNC110 (a multiprocessing event)
                await asyncio.sleep(0.05)
        t0 = time.time()
        finished = await asyncio.gather(*(enter(c) for room in clients[kind] for c in room))
        results.put(("joined", kind, len(finished), t0, max(finished, default=t0)))
    while not events["go"].is_set():  # noqa: ASYNC110 (a multiprocessing event)
        await asyncio.sleep(0.05)
    for room, r in zip(clients.get("app", []), rooms.get("app", []), strict=True):
        # a presenter, so the presentation can start (not measured)
        await room[0].sio.call(
            "protocol.command",
            {"command": "set_presenter", "person_id": str(r["people"][1])},
            namespace=NS,
            timeout=30,
        )
    stop_at = time.monotonic() + opts["rounds"] * opts["interval"] * 1.5 + 60
    tasks = {
        kind: [
            asyncio.create_task(
                drive_room(kind, room, opts["rounds"], opts["interval"], blob, stop_at)
            )
            for room in clients[kind]
        ]
        for kind in rooms
    }
    lat: dict[str, list[float]] = {}
    for kind, ts in tasks.items():
        lat[kind] = [x for room_lat in await asyncio.gather(*ts) for x in room_lat]
    held = {k: sum(1 for room in v for c in room if c.sio.connected) for k, v in clients.items()}
    results.put(("done", lat, held))
    for v in clients.values():
        for room in v:
            for c in room:
                with contextlib.suppress(Exception):
                    await c.sio.disconnect()


def worker(*args: Any, cpus: set[int]) -> None:
    pin(cpus)
    raise_fd_limit()
    asyncio.run(worker_main(*args))


def run_load(
    urls: dict[str, str],
    pids: dict[str, int],
    rooms: list[dict[str, Any]],
    opts: Any,
    blob: str,
    load_cpus: set[int],
) -> dict[str, dict[str, Any]]:
    ctx = mp.get_context("spawn")
    events = {"second_join": ctx.Event(), "go": ctx.Event()}
    kinds = list(urls)
    results = ctx.Queue()
    n = opts.workers
    parts = [{kind: rooms[i::n] for kind in kinds} for i in range(n) if rooms[i::n]]
    start_at = time.time() + 3.0  # time to import and build clients
    cfg = {"concurrency": opts.concurrency, "rounds": opts.rounds, "interval": opts.interval}
    procs = [
        ctx.Process(
            target=worker,
            args=(urls, part, cfg, blob, start_at, events, results),
            kwargs={"cpus": load_cpus},
        )
        for part in parts
    ]
    for p in procs:
        p.start()
    out: dict[str, dict[str, Any]] = {kind: {} for kind in kinds}
    for kind in kinds:
        joined = [results.get(timeout=600) for _ in procs]
        clients = sum(j[2] for j in joined)
        join_s = max(j[4] for j in joined) - min(j[3] for j in joined)
        out[kind].update(clients=clients, joins_per_s=clients / join_s if join_s > 0 else 0.0)
        events["second_join"].set()
    cpu0 = {k: cpu_seconds(pid) for k, pid in pids.items()}
    t0 = time.monotonic()
    events["go"].set()
    done = [results.get(timeout=opts.rounds * opts.interval * 2 + 300) for _ in procs]
    cpu1 = {k: cpu_seconds(pid) for k, pid in pids.items()}
    window = time.monotonic() - t0
    for p in procs:
        p.join(timeout=60)
        if p.is_alive():
            p.terminate()
    for kind in kinds:
        latencies = [x for d in done for x in d[1][kind]]
        deliveries = len(latencies) * CLIENTS_PER_ROOM
        cpu = cpu1[kind] - cpu0[kind]
        out[kind].update(
            held=sum(d[2][kind] for d in done),
            p50=pct(latencies, 0.50),
            p99=pct(latencies, 0.99),
            changes=len(latencies),
            server_cpu_s=cpu,
            window_s=window,
            cpu_us_per_delivery=cpu * 1e6 / deliveries if deliveries else float("nan"),
        )
    return out


def run_servers(
    kinds: list[str],
    db_url: str,
    tmp: Path,
    rooms: list[dict[str, Any]],
    opts: Any,
    blob: str,
    server_cpus: set[int],
    load_cpus: set[int],
) -> dict[str, dict[str, Any]]:
    ports = {kind: free_port() for kind in kinds}
    args = {
        "app": lambda port: ["--serve-app", db_url, str(port), str(tmp / "var")],
        "relay": lambda port: ["--serve-relay", str(port)],
    }
    procs = {kind: start_server(args[kind](ports[kind])) for kind in kinds}
    try:
        for kind, proc in procs.items():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(proc.pid, server_cpus)
            wait_listening(ports[kind], proc)
        return run_load(
            {k: f"http://127.0.0.1:{p}" for k, p in ports.items()},
            {k: p.pid for k, p in procs.items()},
            rooms,
            opts,
            blob,
            load_cpus,
        )
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20, help="phase changes per room")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between changes")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument(
        "--mode",
        choices=("sequential", "concurrent"),
        default="sequential",
        help="servers one after the other (default) or both driven in the same window",
    )
    parser.add_argument("--concurrency", type=int, default=25, help="joins in flight per worker")
    parser.add_argument(
        "--serve-app", nargs=3, metavar=("DB_URL", "PORT", "VAR"), help=argparse.SUPPRESS
    )
    parser.add_argument("--serve-relay", type=int, metavar="PORT", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_app:
        db_url, port, var_dir = opts.serve_app
        serve_app(db_url, int(port), var_dir)
        return
    if opts.serve_relay:
        serve_relay(opts.serve_relay)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from server.auth.tokens import mint_join_token
    from server.domain import GroupRole

    ncpu = len(os.sched_getaffinity(0))
    server_cpus, load_cpus = ({0}, set(range(1, ncpu))) if ncpu >= 2 else ({0}, {0})
    tmp = Path(tempfile.mkdtemp(prefix="circle-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    rooms = asyncio.run(seed(db_url, opts.rooms))
    for r in rooms:
        r["tokens"] = [
            mint_join_token(
                SECRET,
                person_id=pid,
                session_id=r["session_id"],
                role=GroupRole.LEADER if i == 0 else GroupRole.MEMBER,
                ttl_s=3600,
            )
            for i, pid in enumerate(r["people"])
        ]
    print(
        f"{opts.rooms} rooms x {CLIENTS_PER_ROOM} clients, {opts.rounds} phase changes per room "
        f"every ~{opts.interval}s, {opts.workers} client processes on CPUs {sorted(load_cpus)}, "
        f"server on CPU {sorted(server_cpus)}",
        flush=True,
    )

    blob = "x" * 3200  # the relay carries a payload as large as a 12-person snapshot
    groups = [["app", "relay"]] if opts.mode == "concurrent" else [["app"], ["relay"]]
    figures: dict[str, dict[str, Any]] = {}
    for kinds in groups:
        figures.update(run_servers(kinds, db_url, tmp, rooms, opts, blob, server_cpus, load_cpus))
    for kind, f in figures.items():
        name = "healers-circle" if kind == "app" else "bare relay    "
        print(
            f"{name}: {f['clients']} clients joined at {f['joins_per_s']:.0f}/s, "
            f"{f['held']} held; {f['changes']} phase changes; fan-out to 12: "
            f"p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms; server CPU "
            f"{f['server_cpu_s']:.2f} s in {f['window_s']:.1f} s = "
            f"{f['cpu_us_per_delivery']:.0f} us per delivery",
            flush=True,
        )
    app, relay = figures["app"], figures["relay"]
    per_core = 1e6 / app["cpu_us_per_delivery"] if app["cpu_us_per_delivery"] else 0
    print(
        f"server capacity at that cost: ~{per_core:.0f} deliveries per second per core "
        f"(= {per_core / CLIENTS_PER_ROOM:.0f} phase changes/s to full rooms)"
    )
    result = {
        "rooms": opts.rooms,
        "clients": app["clients"],
        "connections_held": app["held"],
        "fanout_p50_ms": round(app["p50"], 2),
        "fanout_p99_ms": round(app["p99"], 2),
        "baseline_fanout_p50_ms": round(relay["p50"], 2),
        "baseline_fanout_p99_ms": round(relay["p99"], 2),
        "ratio_p99": round(app["p99"] / relay["p99"], 2) if relay["p99"] else None,
        "joins_per_s": round(app["joins_per_s"], 1),
        "baseline_joins_per_s": round(relay["joins_per_s"], 1),
        "server_cpu_us_per_delivery": round(app["cpu_us_per_delivery"], 1),
        "baseline_cpu_us_per_delivery": round(relay["cpu_us_per_delivery"], 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
