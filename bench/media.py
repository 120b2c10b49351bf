"""Media benchmark: R rooms x 12 bot participants through the SFU, on loopback.

    .venv/bin/python bench/media.py [--rooms 2] [--seconds 15] [--baseline-participants 3]
        [--sockets shared,own,shared-sendmmsg] [--repeat 3]

``--sockets`` runs the SFU once per variant (the worker's one shared socket, the default; a
socket per connection, as before ``server/media/udpmux.py``; the shared socket with
``sendmmsg``), ``--repeat`` interleaves them, and each variant's median run is reported; the
first variant is the one compared with Janus.

What runs where (see shared/BENCHMARKS.md):
* the SFU (``server.media.sfu.AiortcMediaEngine``) alone in one process pinned to CPU 0;
* the bots in ``--generators`` other processes pinned to CPU 1. Every bot publishes the same
  pre-encoded clip (640x360@30 VP8 at 600 kbps + Opus, encoded once in the parent) and counts
  what it receives from the clear RTP header after SRTP (frames = marker bits, loss = sequence
  gaps) without decoding; one verifier bot per run decodes one publisher's video for real;
* signaling between them over local pipes (the SFU is always the offerer).

The server's CPU time comes from /proc/<pid>/stat (utime+stime) over a measurement window
after a warm-up, divided by the packets the SFU forwarded in that window. Capacity follows:
    forwarded_pps_per_core = 1e6 / (us of server CPU per forwarded packet)
    rooms_per_core         = forwarded_pps_per_core / (forwarded pps of one full room)
where one full room's rate is measured (forwarded pps / rooms) in the same run.
The baseline (aiortc's default decode + MediaRelay + one encoder per subscriber) runs in the
same run on a smaller room, and the per-packet ratio is printed.

The whole run happens in a private network namespace (``unshare -rn``) unless --no-netns.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiortc.codecs.vpx import Vp8Encoder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._host import (
    cpu_seconds,
    cpu_split,
    cpus,
    host_cpu,
    loadavg,
    pin,
    reexec_in_namespace,
    udp_rcvbuf_errors,
)
from bench.media_baseline import BaselineEngine
from bench.media_janus import report as janus_report
from bench.media_janus import run_janus
from bench.media_janus import unavailable as janus_unavailable
from bench.media_receivers import StreamCounter, count_only, stream_figures
from server.bots.client import MediaClient
from server.bots.synthetic import EncodedClip, encode_tone, encode_video
from server.media.ice import IceSettings
from server.media.sfu import AiortcMediaEngine, SfuSettings
from server.media.shard import PipeWriter

NETNS_ENV = "HC_BENCH_NETNS"
# --sockets: how the SFU's connections send and receive (server/media/udpmux.py)
SOCKETS: dict[str, dict[str, Any]] = {
    "shared": {"udp_port": 0, "sendmmsg": False},  # one port, a connected socket per remote
    "unconnected": {"udp_port": 0, "sendmmsg": False, "connected_sends": False},  # sendto
    "shared-sendmmsg": {"udp_port": 0, "sendmmsg": True},  # one sendmmsg per incoming packet
    "own": {"udp_port": None},  # a socket per connection (aioice's own, before udpmux)
}


# --- the server process ----------------------------------------------------------------------
def server_main(conns: list[Connection], mode: str, cpu: int) -> None:
    pin(cpu)
    asyncio.run(_serve(conns, mode))


async def _serve(conns: list[Connection], mode: str) -> None:
    loop = asyncio.get_running_loop()
    engine: Any
    if mode in SOCKETS:
        engine = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback(), **SOCKETS[mode]))
    else:
        engine = BaselineEngine()
    await engine.start()
    done = asyncio.Event()
    queues: list[asyncio.Queue[Any]] = []

    def counters() -> dict[str, int]:
        if mode not in SOCKETS:
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
        loop.add_reader(conn.fileno(), lambda c=conn, qq=q: qq.put_nowait(c.recv()))
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


def run(mode: str, rooms: int, participants: int, clips: tuple[EncodedClip, EncodedClip],
        warmup: float, seconds: float, generators: int,
        profile: str | None = None, gen_cpu: int | None = 1) -> dict[str, Any]:  # fmt: skip
    ctx = mp.get_context("fork")
    control_server, control_main = ctx.Pipe()
    gen_pipes = [ctx.Pipe() for _ in range(generators)]
    gen_controls = [ctx.Pipe() for _ in range(generators)]
    server = ctx.Process(
        target=server_main, args=([control_server] + [p[0] for p in gen_pipes], mode, 0)
    )
    server.start()
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
            target=_gen_entry, args=(gen_pipes[g][1], gen_controls[g][0], bots[g], clips, 1)
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
            cpu = cpu_seconds(server.pid)
            srv = ask(control_main, ("counters",))[1]
            streams: dict[str, Any] = {}
            decoded: list[int] = []
            for c in ctl:
                _, s, d = ask(c, ("counters",))
                streams.update(s)
                decoded.extend(d)
            gcpu = [cpu_seconds(p.pid) for p in gens]
            return t, cpu, srv, streams, decoded, gcpu

        spy = None
        if profile:
            spy = subprocess.Popen(
                [shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy"),
                 "record", "--pid", str(server.pid), "--duration", str(int(seconds)),
                 "--format", "raw", "--nonblocking", "--rate", "1000", "-o", profile],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        drops0 = udp_rcvbuf_errors()
        host0 = host_cpu()
        split0 = cpu_split(server.pid)
        t0, cpu0, srv0, st0, dec0, g0 = snapshot()
        time.sleep(seconds)
        t1, cpu1, srv1, st1, dec1, g1 = snapshot()
        drops = udp_rcvbuf_errors() - drops0
        host1 = host_cpu()
        split1 = cpu_split(server.pid)
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
        # the whole machine (2 cores = 200%), our processes included; and time stolen by the VM host
        "host_busy_pct": 100 * cpus() * (host1[0] - host0[0]) / max(1, host1[2] - host0[2]),
        "host_steal_pct": 100 * (host1[1] - host0[1]) / max(1, host1[2] - host0[2]),
        "loadavg_1m": loadavg(),
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


def _report(
    variant: str,
    sfu: dict[str, Any],
    args: argparse.Namespace,
    room_pps_nominal: float,
    video_pps: float,
) -> dict[str, Any]:
    room_pps = sfu["forwarded_pps"] / args.rooms
    pps_per_core = 1e6 / sfu["us_per_packet"]
    # a full room at full rate: 12 publishers x (video pps + 50 audio pps) x 11 subscribers
    rooms_per_core = pps_per_core / room_pps_nominal
    full_rate = sfu["min_receiver_fps"] >= 0.9 * args.fps
    streams = args.rooms * args.participants * (args.participants - 1) * 2
    print(f"SFU ({variant} sockets): {args.rooms} rooms x {args.participants} bots, "
          f"window {sfu['window_s']:.1f}s")  # fmt: skip
    print(f"  forwarded {sfu['forwarded_pps']:.0f} pps ({room_pps:.0f} per room), "
          f"received {sfu['received_pps']:.0f} pps")  # fmt: skip
    print(f"  server CPU {sfu['server_cpu_pct']:.1f}% of one core -> {sfu['us_per_packet']:.1f} us "
          f"per forwarded packet ({100 * sfu['server_system_share']:.0f}% of it in the kernel), "
          f"{sfu['server_cpu_pct'] / streams:.3f}% per forwarded stream")  # fmt: skip
    print(f"  capacity: {pps_per_core:.0f} forwarded pps per core = {rooms_per_core:.2f} full rooms "
          f"per core (a full room forwards {room_pps_nominal:.0f} pps: 12 x 11 x ({video_pps:.0f} "
          f"video + 50 audio pps))")  # fmt: skip
    if not full_rate:
        print("  WARNING: receivers below full frame rate: the load generators or the shared host "
              "saturated; the per-packet figure is the SFU's own cost at the load reached")  # fmt: skip
    print(f"  receivers: {sfu['video_streams']} video streams, min {sfu['min_receiver_fps']:.1f} fps, "
          f"median {sfu['median_receiver_fps']:.1f} fps, min audio {sfu['min_audio_pps']:.1f} pps, "
          f"loss {sfu['loss_pct']:.3f}%; verifier decoded {sfu['verifier_decoded_fps']} fps")  # fmt: skip
    print(f"  load generators CPU: {[round(x, 1) for x in sfu['generator_cpu_pct']]}%; "
          f"kernel UDP receive-buffer drops in the window: {sfu['udp_rcvbuf_drops']}")  # fmt: skip
    others = sfu["host_busy_pct"] - sfu["server_cpu_pct"] - sum(sfu["generator_cpu_pct"])
    print(f"  machine during the window: {sfu['host_busy_pct']:.0f}% busy of {100 * cpus()}% "
          f"({max(0.0, others):.0f}% outside this benchmark's processes), steal {sfu['host_steal_pct']:.1f}%, "
          f"load average {sfu['loadavg_1m']:.2f}")  # fmt: skip
    sent, calls = sfu["socket_sent"], sfu["socket_calls"]
    if calls:
        print(f"  shared socket: {sent / calls:.2f} datagrams per send system call, "
              f"{sfu['socket_dropped']} dropped at send, {sfu['socket_unknown']} from unknown "
              f"sources, {sfu['socket_filtered']} filtered")  # fmt: skip
    return {
        "rooms": args.rooms,
        "participants": args.rooms * args.participants,
        "forwarded_pps": round(sfu["forwarded_pps"]),
        "forwarded_pps_per_core": round(pps_per_core),
        "rooms_per_core": round(rooms_per_core, 2),
        "sfu_cpu_pct": round(sfu["server_cpu_pct"], 1),
        "us_per_forwarded_packet": round(sfu["us_per_packet"], 2),
        "min_receiver_fps": round(sfu["min_receiver_fps"], 1),
        "loss_pct": round(sfu["loss_pct"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=2)
    parser.add_argument("--participants", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument("--baseline-participants", type=int, default=3, help="0 skips the baseline")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--bitrate", type=int, default=600_000)
    parser.add_argument(
        "--pin-generators",
        action="store_true",
        help="pin load generators to CPU 1 (default: any CPU; the SFU is on CPU 0)",
    )
    parser.add_argument("--profile", help="py-spy raw (collapsed) stacks of the SFU to this file")
    parser.add_argument("--no-janus", action="store_true", help="skip the Janus column")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the --sockets variants this many times, interleaved",
    )
    parser.add_argument(
        "--sockets",
        default="shared",
        help=f"comma-separated SFU variants run one after the other ({', '.join(SOCKETS)}); "
        "the first one is compared with Janus",
    )
    parser.add_argument("--no-netns", action="store_true", help="run on the host's loopback")
    args = parser.parse_args()
    if not args.no_netns and os.environ.get(NETNS_ENV) != "1":
        reexec_in_namespace(NETNS_ENV, "bench/media.py")

    t = time.monotonic()
    video = encode_video("bot", width=args.width, height=args.height, fps=args.fps,
                         bitrate=args.bitrate, seconds=4, gop=args.fps)  # fmt: skip
    audio = encode_tone()
    kbps = sum(map(len, video.frames)) * 8 / (len(video.frames) / args.fps) / 1000
    print(f"clip: {len(video.frames)} VP8 frames {args.width}x{args.height}@{args.fps}, "
          f"{kbps:.0f} kbps; Opus {len(audio.frames)} frames; encoded once in {time.monotonic() - t:.1f}s")  # fmt: skip
    clips = (video, audio)
    video_pps = (
        args.fps * sum(len(Vp8Encoder._packetize(f, 0)) for f in video.frames) / len(video.frames)
    )
    room_pps_nominal = args.participants * (args.participants - 1) * (video_pps + 50)

    variants = [v for v in args.sockets.split(",") if v]
    for v in variants:
        if v not in SOCKETS:
            parser.error(f"--sockets: {v!r} is not one of {', '.join(SOCKETS)}")
    gen_cpu = 1 if args.pin_generators else None
    runs: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # interleaved when repeated
    for _ in range(args.repeat):
        for v in variants:
            r = run(v, args.rooms, args.participants, clips, args.warmup, args.seconds,
                    args.generators, args.profile, gen_cpu)  # fmt: skip
            runs.append((v, r, _report(v, r, args, room_pps_nominal, video_pps)))
    summary: dict[str, dict[str, Any]] = {}
    medians: dict[str, dict[str, Any]] = {}  # variant -> the run with its median cost
    for v in variants:
        mine = sorted((rep["us_per_forwarded_packet"], i) for i, (w, _, rep) in enumerate(runs)
                      if w == v)  # fmt: skip
        _, r, rep = runs[mine[len(mine) // 2][1]]
        medians[v] = r
        summary[v] = dict(rep, runs_us=[us for us, _ in mine])
        if len(variants) > 1 or args.repeat > 1:
            print(f"{v}: median {rep['us_per_forwarded_packet']:.2f} us per forwarded packet "
                  f"of {[us for us, _ in mine]}")  # fmt: skip
    sfu = medians[variants[0]]  # compared with Janus
    result: dict[str, Any] = {k: v for k, v in summary[variants[0]].items() if k != "runs_us"}
    result["sockets"] = variants[0]
    if len(variants) > 1 or args.repeat > 1:
        result["variants"] = summary
    if args.baseline_participants:
        base = run(
            "baseline", 1, args.baseline_participants, clips, args.warmup, args.seconds / 2, 1
        )
        print(
            f"baseline (aiortc decode + MediaRelay + re-encode), 1 room x {args.baseline_participants}:"
        )
        print(f"  server CPU {base['server_cpu_pct']:.1f}% -> {base['us_per_packet']:.1f} us per forwarded "
              f"packet; min receiver {base['min_receiver_fps']:.1f} fps (saturated if below {args.fps})")  # fmt: skip
        ratio = base["us_per_packet"] / sfu["us_per_packet"]
        base_rooms = 1e6 / base["us_per_packet"] / room_pps_nominal
        print(f"  passthrough is {ratio:.1f}x cheaper per forwarded packet "
              f"(baseline: {base_rooms:.3f} full rooms per core)")  # fmt: skip
        result["baseline_us_per_packet"] = round(base["us_per_packet"], 1)
        result["baseline_ratio"] = round(ratio, 1)
    why_not = "--no-janus" if args.no_janus else janus_unavailable()
    if why_not is None:
        jan = run_janus(args.rooms, args.participants, clips, args.warmup, args.seconds,
                        args.generators, 1 if args.pin_generators else None)  # fmt: skip
        result.update(janus_report(jan, sfu, room_pps_nominal, args.fps))
    else:
        print(f"Janus column skipped: {why_not}")
        result.update(janus_us_per_forwarded_packet=None, janus_rooms_per_core=None)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
