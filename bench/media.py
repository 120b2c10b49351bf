"""Media benchmark: R rooms x 12 bot participants through the SFU, then through Janus, on
loopback.

    .venv/bin/python bench/media.py [--rooms 2] [--seconds 15] [--baseline-participants 3]
        [--sockets shared,unconnected,own,shared-sendmmsg] [--repeat 3] [--no-janus]

``--sockets`` runs the SFU once per variant (``SOCKETS``: the worker's one port with a socket
connected to each remote for the copies, the default; the one shared socket with a ``sendto``
per copy, ``unconnected``; a socket per connection, as before ``server/media/udpmux.py``; the shared socket with
``sendmmsg``); the first variant is the one compared with Janus. ``--repeat N`` runs N rounds;
each round runs every variant and Janus (Debian's Janus VideoRoom, ``bench/media_janus.py``)
once, Janus right after the first variant, and every other round in reverse order (A J B, then
B J A), so a drift of the shared host's speed weighs alike on both engines.

What runs where (see shared/BENCHMARKS.md):
* the SFU (``bench/media_sfu.py``: ``server.media.sfu.AiortcMediaEngine``) alone in one process
  pinned to CPU 0; Janus, in its turn, the same;
* the bots in ``--generators`` other processes, on any CPU (pinned to CPU 1 with
  ``--pin-generators``), for both engines alike. Every bot publishes the same
  pre-encoded clip (640x360@30 VP8 at 600 kbps + Opus, encoded once in the parent) and counts
  what it receives from the clear RTP header after SRTP (frames = marker bits, loss = sequence
  gaps) without decoding; one verifier bot per run of ours decodes one publisher's video;
* signaling between them over local pipes (the SFU is always the offerer).

The server's CPU time comes from /proc/<pid>/stat (utime+stime) over a measurement window
after a warm-up, divided by the packets the server forwarded in that window. Per run:
    forwarded_pps_per_core = 1e6 / (us of server CPU per forwarded packet)
    rooms_per_core         = forwarded_pps_per_core / (forwarded pps of one full room)
where a full room forwards 12 x 11 x (the clip's video pps + 50 audio pps). Over the rounds
(``bench/media_report.py``): each engine's us per packet is the median over rounds and its
rooms per core follows from that median; the ratio to Janus is taken in each round
(Janus's us per packet / the first variant's, both of that round) and
``vs_janus_packets_per_core`` is the median of those per-round ratios, ``vs_janus_min`` the
lowest, ``vs_janus_rounds`` all of them (``vs_janus_full_rate``: whether both engines'
receivers ran at full frame rate in that round); every round's figures are printed. The
receivers' figures are the worst over rounds. A run that fails is printed and left out of the
medians. The baseline (aiortc's default decode + MediaRelay + one encoder per subscriber) runs once,
after the rounds, on a smaller room, and its per-packet ratio to the first variant's median is
printed.

The whole run happens in a private network namespace (``unshare -rn``) unless --no-netns.
The last line is one JSON object. ``bash bench/setup.sh`` (as root) installs Debian's ``janus``
where it is missing; without it the Janus column is skipped and the reason printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiortc.codecs.vpx import Vp8Encoder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._host import reexec_in_namespace
from bench.media_janus import run_janus
from bench.media_janus import unavailable as janus_unavailable
from bench.media_report import JANUS, janus_report, round_order, sfu_report, summarize
from bench.media_sfu import run
from server.bots.synthetic import EncodedClip, encode_tone, encode_video

NETNS_ENV = "HC_BENCH_NETNS"
# --sockets: how the SFU's connections send and receive (server/media/udpmux.py)
SOCKETS: dict[str, dict[str, Any]] = {
    "shared": {"udp_port": 0, "sendmmsg": False},  # one port, a connected socket per remote
    "unconnected": {"udp_port": 0, "sendmmsg": False, "connected_sends": False},  # sendto
    "shared-sendmmsg": {"udp_port": 0, "sendmmsg": True},  # one sendmmsg per incoming packet
    "own": {"udp_port": None},  # a socket per connection (aioice's own, before udpmux)
}


def _measure(name: str, args: argparse.Namespace, clips: tuple[EncodedClip, EncodedClip],
             room_pps_nominal: float, video_pps: float) -> dict[str, Any] | None:  # fmt: skip
    """One run of ``name`` (a SOCKETS variant or Janus), printed; its figures, or None if it
    failed (printed too: the bots did not all connect, a process did not answer)."""
    gen_cpu = 1 if args.pin_generators else None
    try:
        if name == JANUS:
            jan = run_janus(args.rooms, args.participants, clips, args.warmup, args.seconds,
                            args.generators, gen_cpu)  # fmt: skip
            return janus_report(jan, args, room_pps_nominal)
        sfu = run(name, SOCKETS[name], args.rooms, args.participants, clips, args.warmup,
                  args.seconds, args.generators, args.profile, gen_cpu)  # fmt: skip
    except (TimeoutError, RuntimeError, OSError, EOFError) as exc:
        print(f"{name}: run FAILED ({type(exc).__name__}: {exc}); left out of the medians")
        return None
    return sfu_report(name, sfu, args, room_pps_nominal, video_pps)


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
        help="rounds: each runs the --sockets variants and Janus once, in alternating order",
    )
    parser.add_argument(
        "--sockets",
        default="shared",
        help=f"comma-separated SFU variants run one after the other ({', '.join(SOCKETS)}); "
        "the first one is compared with Janus",
    )
    parser.add_argument("--no-netns", action="store_true", help="run on the host's loopback")
    args = parser.parse_args()
    variants = [v for v in args.sockets.split(",") if v]
    for v in variants:
        if v not in SOCKETS:
            parser.error(f"--sockets: {v!r} is not one of {', '.join(SOCKETS)}")
    if not variants or len(set(variants)) < len(variants):
        parser.error("--sockets: name each variant once")
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
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

    why_not = "--no-janus" if args.no_janus else janus_unavailable()
    if why_not is not None:
        print(f"Janus column skipped: {why_not}")
    orders = [round_order(variants, why_not is None, k) for k in range(args.repeat)]
    runs: dict[str, list[dict[str, Any] | None]] = {name: [] for name in orders[0]}
    for k, order in enumerate(orders):
        for name in order:
            print(f"--- round {k + 1}/{args.repeat}: {name}")
            runs[name].append(_measure(name, args, clips, room_pps_nominal, video_pps))
    result = summarize(orders, runs, room_pps_nominal, args.fps)
    if why_not is not None:
        result.update(janus_us_per_forwarded_packet=None, janus_rooms_per_core=None,
                      vs_janus_packets_per_core=None, vs_janus_rounds=[], vs_janus_min=None,
                      vs_janus_full_rate=[])  # fmt: skip
    ours_us = result["us_per_forwarded_packet"]
    if args.baseline_participants:
        base = run("baseline", None, 1, args.baseline_participants, clips, args.warmup,
                   args.seconds / 2, 1)  # fmt: skip
        print(
            f"baseline (aiortc decode + MediaRelay + re-encode), 1 room x {args.baseline_participants}:"
        )
        print(f"  server CPU {base['server_cpu_pct']:.1f}% -> {base['us_per_packet']:.1f} us per forwarded "
              f"packet; min receiver {base['min_receiver_fps']:.1f} fps (saturated if below {args.fps})")  # fmt: skip
        base_rooms = 1e6 / base["us_per_packet"] / room_pps_nominal
        result["baseline_us_per_packet"] = round(base["us_per_packet"], 1)
        if ours_us:
            ratio = base["us_per_packet"] / ours_us
            print(f"  passthrough ({variants[0]}, median) is {ratio:.1f}x cheaper per forwarded "
                  f"packet (baseline: {base_rooms:.3f} full rooms per core)")  # fmt: skip
            result["baseline_ratio"] = round(ratio, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
