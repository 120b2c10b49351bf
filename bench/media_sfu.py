"""Our SFU under bench/media.py's load: the SFU process (``server.media.sfu.AiortcMediaEngine``,
or the baseline engine) pinned to CPU 0, the load generator processes with their bots, and one
measured run (warm-up, then a window of server CPU time and forwarded packets)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from bench._host import cpu_seconds, cpu_split, host_cpu, host_figures, pin, udp_rcvbuf_errors
from bench.media_baseline import BaselineEngine
from bench.media_receivers import StreamCounter, count_only, stream_figures
from server.bots.client import MediaClient
from server.bots.synthetic import EncodedClip
from server.media.ice import IceSettings
from server.media.sfu import AiortcMediaEngine, SfuSettings
from server.media.shard import PipeWriter


# --- the server process ----------------------------------------------------------------------
def server_main(conns: list[Connection], sockets: dict[str, Any] | None, cpu: int) -> None:
    """The server process; ``sockets``: the SFU's socket settings (one entry of bench/media.py's
    SOCKETS), None for the baseline engine."""
    pin(cpu)
    asyncio.run(_serve(conns, sockets))


def _forward(conn: Connection, q: asyncio.Queue[Any]) -> None:
    q.put_nowait(conn.recv())


async def _serve(conns: list[Connection], sockets: dict[str, Any] | None) -> None:
    loop = asyncio.get_running_loop()
    engine: Any
    if sockets is not None:
        engine = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback(), **sockets))
    else:
        engine = BaselineEngine()
    await engine.start()
    done = asyncio.Event()
    queues: list[asyncio.Queue[Any]] = []

    def counters() -> dict[str, int]:
        if sockets is None:
            return engine.counters()  # type: ignore[no-any-return]
        total = {"forwarded": 0, "received": 0, "dropped": 0}
        if engine.host_sockets is not None:
            for key, value in engine.host_sockets.counters().items():
                total[f"socket_{key}"] = value
        for room_id in engine.room_ids():
            s = engine.stats(room_id)
            total["forwarded"] += s.forwarded_packets
            total["received"] += s.received_packets
            total["dropped"] += s.dropped_packets
        return total

    async def worker(conn: Connection, q: asyncio.Queue[Any], out: PipeWriter) -> None:
        while True:
            msg = await q.get()
            op = msg[0]
            if op == "open":
                await engine.open_room(msg[1])
            elif op == "join":
                room, pid = msg[1], msg[2]

                async def send(
                    event: str, payload: dict[str, Any], _r: str = room, _p: str = pid
                ) -> None:
                    if event == "media.offer":
                        out.send(("offer", _r, _p, payload))

                await engine.add_participant(room, pid, send)
            elif op == "answer":
                await engine.handle_answer(msg[1], msg[2], msg[3])
            elif op == "counters":
                out.send(("counters", counters()))
            elif op == "quit":
                done.set()

    tasks = []
    writers = []
    for conn in conns:
        q: asyncio.Queue[Any] = asyncio.Queue()
        queues.append(q)
        out = PipeWriter(conn)
        out.start()
        writers.append(out)
        loop.add_reader(conn.fileno(), _forward, conn, q)
        tasks.append(asyncio.create_task(worker(conn, q, out)))
    await done.wait()
    for conn in conns:
        loop.remove_reader(conn.fileno())
    for t in tasks:
        t.cancel()
    await engine.stop()
    for w in writers:
        await w.stop()


# --- the load generator processes -------------------------------------------------------------
async def _generate(
    inbox: asyncio.Queue[Any],
    to_server: PipeWriter,
    to_main: PipeWriter,
    bots: list[tuple[str, str, bool]],
    clips: tuple[EncodedClip, EncodedClip],
) -> None:
    """One load generator: its bots, fed by ``inbox`` (offers from the SFU, requests from
    main), answering the SFU on ``to_server`` and main on ``to_main``."""
    video, audio = clips
    clients: dict[tuple[str, str], MediaClient] = {}
    counters: dict[tuple[str, str], dict[int, StreamCounter]] = {}
    verifier_of: dict[tuple[str, str], str] = {}
    for i, (room, pid, verifier) in enumerate(bots):
        decode = [f"{room}-b01"] if verifier else []
        client = MediaClient(pid, audio=audio, video=video, decode_from=decode, start_index=i * 7)
        clients[(room, pid)] = client
        counters[(room, pid)] = {}
        if verifier:
            verifier_of[(room, pid)] = decode[0]

        async def deliver(sdp: str, _r: str = room, _p: str = pid) -> None:
            to_server.send(("answer", _r, _p, sdp))

        client.start(deliver)
    for room, pid, _ in bots:
        to_server.send(("join", room, pid))
    while True:
        msg = await inbox.get()
        op = msg[0]
        if op == "offer":
            key = (msg[1], msg[2])
            client = clients[key]
            await client.inbox.put(("media.offer", msg[3]))
        elif op == "status":
            for key, client in clients.items():
                if key not in verifier_of:
                    count_only(client, counters[key], {97, 98, 99, 100})
            connected = sum(c.pc.connectionState == "connected" for c in clients.values())
            to_main.send(("status", connected))
        elif op == "counters":
            streams = {
                f"{key[0]}/{key[1]}/{ssrc}": (c.kind, c.packets, c.frames, c.expected())
                for key, per in counters.items()
                for ssrc, c in per.items()
            }
            decoded = [
                clients[key].received.get((src, "video")) for key, src in verifier_of.items()
            ]
            to_main.send(("counters", streams, [d.decoded if d else 0 for d in decoded]))
        elif op == "quit":
            break
    for client in clients.values():
        await client.stop()


# --- orchestration ----------------------------------------------------------------------------
def ask(conn: Connection, msg: tuple[Any, ...], timeout: float = 30) -> Any:
    conn.send(msg)
    if not conn.poll(timeout):
        raise TimeoutError(f"no reply to {msg[0]}")
    return conn.recv()


def run(mode: str, sockets: dict[str, Any] | None, rooms: int, participants: int,
        clips: tuple[EncodedClip, EncodedClip], warmup: float, seconds: float, generators: int,
        profile: str | None = None, gen_cpu: int | None = 1) -> dict[str, Any]:  # fmt: skip
    """One measured run of ``mode`` (a SOCKETS name with its ``sockets`` settings, or
    "baseline" with None): ``rooms`` x ``participants`` bots, a warm-up, then the window."""
    ctx = mp.get_context("fork")
    control_server, control_main = ctx.Pipe()
    gen_pipes = [ctx.Pipe() for _ in range(generators)]
    gen_controls = [ctx.Pipe() for _ in range(generators)]
    server = ctx.Process(
        target=server_main, args=([control_server] + [p[0] for p in gen_pipes], sockets, 0)
    )
    server.start()
    server_pid = server.pid
    assert server_pid is not None  # started
    for r in range(rooms):
        control_main.send(("open", f"room{r}"))
    bots: list[list[tuple[str, str, bool]]] = [[] for _ in range(generators)]
    n = 0
    for r in range(rooms):
        for i in range(participants):
            verifier = r == 0 and i == 0
            bots[n % generators].append((f"room{r}", f"room{r}-b{i:02d}", verifier))
            n += 1
    gens = []
    for g in range(generators):
        proc = ctx.Process(
            target=_gen_entry, args=(gen_pipes[g][1], gen_controls[g][0], bots[g], clips, gen_cpu)
        )
        proc.start()
        gens.append(proc)
    ctl = [c[1] for c in gen_controls]
    total = rooms * participants
    try:
        deadline = time.monotonic() + 60
        while True:
            connected = sum(ask(c, ("status",))[1] for c in ctl)
            if connected == total:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {connected}/{total} bots connected")
            time.sleep(0.5)
        for c in ctl:  # install counters on late connections too
            ask(c, ("status",))
        time.sleep(warmup)

        def snapshot() -> tuple[
            float, float, dict[str, int], dict[str, Any], list[int], list[float]
        ]:
            t = time.monotonic()
            cpu = cpu_seconds(server_pid)
            srv = ask(control_main, ("counters",))[1]
            streams: dict[str, Any] = {}
            decoded: list[int] = []
            for c in ctl:
                _, s, d = ask(c, ("counters",))
                streams.update(s)
                decoded.extend(d)
            gcpu = [cpu_seconds(p.pid) for p in gens if p.pid is not None]  # all started
            return t, cpu, srv, streams, decoded, gcpu

        spy = None
        if profile:
            spy = subprocess.Popen(
                [shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy"),
                 "record", "--pid", str(server_pid), "--duration", str(int(seconds)),
                 "--format", "raw", "--nonblocking", "--rate", "1000", "-o", profile],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        drops0 = udp_rcvbuf_errors()
        host0 = host_cpu()
        split0 = cpu_split(server_pid)
        t0, cpu0, srv0, st0, dec0, g0 = snapshot()
        time.sleep(seconds)
        t1, cpu1, srv1, st1, dec1, g1 = snapshot()
        drops = udp_rcvbuf_errors() - drops0
        host1 = host_cpu()
        split1 = cpu_split(server_pid)
        if spy is not None:
            spy.wait(30)
    finally:
        for c in ctl:
            with contextlib.suppress(Exception):
                c.send(("quit",))
        with contextlib.suppress(Exception):
            control_main.send(("quit",))
        for p in [*gens, server]:
            p.join(15)
            if p.is_alive():
                p.kill()
    window = t1 - t0
    fwd = srv1["forwarded"] - srv0["forwarded"]
    cpu = cpu1 - cpu0
    verifier_fps = [(b - a) / window for a, b in zip(dec0, dec1, strict=False)]
    return {
        "mode": mode,
        "rooms": rooms,
        "participants": total,
        "window_s": window,
        "forwarded_pps": fwd / window,
        "server_cpu_pct": 100 * cpu / window,
        "us_per_packet": 1e6 * cpu / fwd if fwd else float("inf"),
        "received_pps": (srv1["received"] - srv0["received"]) / window,
        **stream_figures(st0, st1, window),
        "verifier_decoded_fps": verifier_fps,
        "udp_rcvbuf_drops": drops,
        "server_system_share": (split1[1] - split0[1])
        / max(1e-9, (split1[0] - split0[0]) + (split1[1] - split0[1])),
        "generator_cpu_pct": [100 * (b - a) / window for a, b in zip(g0, g1, strict=False)],
        **host_figures(host0, host1),
        # the shared socket's counters over the window (0 without one)
        **{k: srv1[k] - srv0.get(k, 0) for k in srv1 if k.startswith("socket_")},
        **{k: 0 for k in SOCKET_KEYS if k not in srv1},
    }


SOCKET_KEYS = ("socket_sent", "socket_calls", "socket_dropped", "socket_unknown", "socket_filtered")


def _gen_entry(conn: Connection, control: Connection, bots: list[tuple[str, str, bool]],
               clips: tuple[EncodedClip, EncodedClip], cpu: int | None) -> None:  # fmt: skip
    """Generator process: signaling goes to the server on ``conn``; ``control`` to main."""
    pin(cpu)
    asyncio.run(_gen_with_control(conn, control, bots, clips))


async def _gen_with_control(conn: Connection, control: Connection, bots: list[tuple[str, str, bool]],
                            clips: tuple[EncodedClip, EncodedClip]) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    to_server, to_main = PipeWriter(conn), PipeWriter(control)
    to_server.start()
    to_main.start()
    loop.add_reader(control.fileno(), lambda: inbox.put_nowait(control.recv()))
    loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()))
    try:
        await _generate(inbox, to_server, to_main, bots, clips)
    finally:
        loop.remove_reader(control.fileno())
        loop.remove_reader(conn.fileno())
        await to_server.stop()
        await to_main.stop()
