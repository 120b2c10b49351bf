"""What bench/media.py prints and reports: each run's figures (our SFU, Janus), the run order of
the rounds, and the medians over rounds, with the ratio to Janus taken round by round.

The formulas (``median`` is the usual one: the middle value, the mean of the middle two for an
even count; runs that failed are left out and shown as null):
    us_per_forwarded_packet = median over rounds of the engine's us of CPU per forwarded packet
    forwarded_pps_per_core  = 1e6 / us_per_forwarded_packet
    rooms_per_core          = forwarded_pps_per_core / (forwarded pps of one full room)
    vs_janus (round k)      = Janus's us per packet in round k / ours in round k
                              (= our packets per core / Janus's, measured next to each other)
    vs_janus_packets_per_core = median over rounds of vs_janus (round k); vs_janus_min its minimum
The receivers' figures are the worst over rounds (lowest frame rate, highest loss);
``vs_janus_full_rate`` says per round whether both engines' receivers ran at full frame rate
(a round where either did not is flagged as not like for like, and still counted).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import Any

from bench._host import cpus
from bench.media_janus import JANUS_VERSION

JANUS = "janus"  # Janus's name in a round's run order, beside our --sockets variants


def round_order(variants: list[str], janus: bool, index: int) -> list[str]:
    """The run order of round ``index`` (from 0): the first variant (the one compared with
    Janus), Janus, the other variants; reversed in every other round (A J B, B J A, ...), so
    that a steady drift of the host's speed weighs the same on each over two rounds."""
    order = [variants[0], *([JANUS] if janus else []), *variants[1:]]
    return order[::-1] if index % 2 else order


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values measured (None: a run that failed); None if there are none."""
    measured = [v for v in values if v is not None]
    return statistics.median(measured) if measured else None


def round_ratios(ours: Sequence[float | None], janus: Sequence[float | None]) -> list[float | None]:
    """Per round: Janus's us per forwarded packet over ours, measured in the same round (how
    many times Janus's packets per core we forward); None where either run failed."""
    return [
        j / o if o is not None and j is not None and o > 0 else None
        for o, j in zip(ours, janus, strict=True)
    ]


def combine(runs: Sequence[dict[str, Any] | None], room_pps_nominal: float) -> dict[str, Any]:
    """One engine's figures over the rounds (``runs`` in round order, None for a failed run):
    the median cost and the capacity that follows from it, the worst receivers."""
    done = [r for r in runs if r is not None]
    us = median([r["us_per_forwarded_packet"] for r in done])
    if us is None:
        return {
            "us_per_forwarded_packet": None,
            "rooms_per_core": None,
            "runs_us": [None] * len(runs),
        }
    return {
        "rooms": done[0]["rooms"],
        "participants": done[0]["participants"],
        "forwarded_pps": round(statistics.median(r["forwarded_pps"] for r in done)),
        "forwarded_pps_per_core": round(1e6 / us),
        "rooms_per_core": round(1e6 / us / room_pps_nominal, 2),
        "sfu_cpu_pct": round(statistics.median(r["sfu_cpu_pct"] for r in done), 1),
        "us_per_forwarded_packet": round(us, 2),
        "min_receiver_fps": min(r["min_receiver_fps"] for r in done),
        "loss_pct": max(r["loss_pct"] for r in done),
        "runs_us": [r["us_per_forwarded_packet"] if r is not None else None for r in runs],
    }


def _figures(
    run: dict[str, Any], args: argparse.Namespace, room_pps_nominal: float
) -> dict[str, Any]:
    """The JSON figures of one run (ours or Janus's)."""
    pps_per_core = 1e6 / run["us_per_packet"]
    return {
        "rooms": args.rooms,
        "participants": args.rooms * args.participants,
        "forwarded_pps": round(run["forwarded_pps"]),
        "forwarded_pps_per_core": round(pps_per_core),
        # a full room at full rate: 12 publishers x (video pps + 50 audio pps) x 11 subscribers
        "rooms_per_core": round(pps_per_core / room_pps_nominal, 2),
        "sfu_cpu_pct": round(run["server_cpu_pct"], 1),
        "us_per_forwarded_packet": round(run["us_per_packet"], 2),
        "min_receiver_fps": round(run["min_receiver_fps"], 1),
        "loss_pct": round(run["loss_pct"], 3),
        "loadavg_1m": round(run["loadavg_1m"], 2),
        "host_steal_pct": round(run["host_steal_pct"], 1),
    }


def sfu_report(variant: str, sfu: dict[str, Any], args: argparse.Namespace,
               room_pps_nominal: float, video_pps: float) -> dict[str, Any]:  # fmt: skip
    """Print one run of our SFU; its figures."""
    room_pps = sfu["forwarded_pps"] / args.rooms
    out = _figures(sfu, args, room_pps_nominal)
    full_rate = sfu["min_receiver_fps"] >= 0.9 * args.fps
    streams = args.rooms * args.participants * (args.participants - 1) * 2
    print(f"SFU ({variant} sockets): {args.rooms} rooms x {args.participants} bots, "
          f"window {sfu['window_s']:.1f}s")  # fmt: skip
    print(f"  forwarded {sfu['forwarded_pps']:.0f} pps ({room_pps:.0f} per room), "
          f"received {sfu['received_pps']:.0f} pps")  # fmt: skip
    print(f"  server CPU {sfu['server_cpu_pct']:.1f}% of one core -> {sfu['us_per_packet']:.1f} us "
          f"per forwarded packet ({100 * sfu['server_system_share']:.0f}% of it in the kernel), "
          f"{sfu['server_cpu_pct'] / streams:.3f}% per forwarded stream")  # fmt: skip
    print(f"  capacity: {out['forwarded_pps_per_core']} forwarded pps per core = {out['rooms_per_core']:.2f} "
          f"full rooms per core (a full room forwards {room_pps_nominal:.0f} pps: 12 x 11 x "
          f"({video_pps:.0f} video + 50 audio pps))")  # fmt: skip
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
    return out


def janus_report(jan: dict[str, Any], args: argparse.Namespace,
                 room_pps_nominal: float) -> dict[str, Any]:  # fmt: skip
    """Print one run of Janus; its figures (the same keys as ours)."""
    out = _figures(jan, args, room_pps_nominal)
    print(f"Janus {JANUS_VERSION} VideoRoom, same bots, clip and pinning (CPU 0), "
          f"window {jan['window_s']:.1f}s:")  # fmt: skip
    print(f"  forwarded {jan['forwarded_pps']:.0f} pps (delivered {jan['delivered_pps']:.0f}); "
          f"janus CPU {jan['server_cpu_pct']:.1f}% of one core -> {jan['us_per_packet']:.1f} us "
          f"per forwarded packet, {out['rooms_per_core']:.2f} full rooms per core")  # fmt: skip
    print(f"  receivers: {jan['video_streams']} video streams, min {jan['min_receiver_fps']:.1f} fps, "
          f"median {jan['median_receiver_fps']:.1f} fps, loss {jan['loss_pct']:.3f}%")  # fmt: skip
    if jan["min_receiver_fps"] < 0.9 * args.fps:
        print("  WARNING: Janus's receivers below full frame rate (saturated or lossy)")
    print(f"  machine during the window: {jan['host_busy_pct']:.0f}% busy of {100 * cpus()}%, "
          f"steal {jan['host_steal_pct']:.1f}%, load average {jan['loadavg_1m']:.2f}")  # fmt: skip
    return out


def _run_line(name: str, run: dict[str, Any] | None) -> str:
    if run is None:
        return f"{name} failed"
    return (f"{name} {run['us_per_forwarded_packet']:.2f} (load {run['loadavg_1m']:.1f}, "
            f"steal {run['host_steal_pct']:.0f}%)")  # fmt: skip


def full_rate(runs: Sequence[dict[str, Any] | None], fps: int) -> bool:
    """Whether every run measured its receivers at full frame rate (90 % of ``fps`` at least):
    only then are the two engines' costs like for like (a starved host or load generator
    changes the per-packet cost)."""
    return all(r is not None and r["min_receiver_fps"] >= 0.9 * fps for r in runs)


def summarize(orders: list[list[str]], runs: dict[str, list[dict[str, Any] | None]],
              room_pps_nominal: float, fps: int) -> dict[str, Any]:  # fmt: skip
    """Print every round and the medians; the JSON figures. ``orders``: each round's run
    order; ``runs``: each engine's figures in round order. The first name of the first round
    is the variant compared with Janus."""
    ours = orders[0][0]
    like = [
        full_rate([runs[ours][k], runs.get(JANUS, runs[ours])[k]], fps) for k in range(len(orders))
    ]
    summary = {name: combine(per, room_pps_nominal) for name, per in runs.items()}
    ratios = {
        name: round_ratios(summary[name]["runs_us"], summary[JANUS]["runs_us"])
        for name in runs
        if JANUS in runs and name != JANUS
    }
    print(f"rounds (run order: us of CPU per forwarded packet; ours / Janus = Janus's us / "
          f"{ours}'s us in the same round):")  # fmt: skip
    for k, order in enumerate(orders):
        line = ", ".join(_run_line(name, runs[name][k]) for name in order)
        if JANUS in runs:
            r = ratios[ours][k]
            line += f"; ours / Janus {'-' if r is None else f'{r:.2f}x'}"
            if r is not None and not like[k]:
                line += " (receivers below full rate in this round: not like for like)"
        print(f"  round {k + 1}: {line}")
    for name, s in summary.items():
        if s["us_per_forwarded_packet"] is not None:
            print(f"{name}: median {s['us_per_forwarded_packet']:.2f} us per forwarded packet "
                  f"({s['rooms_per_core']:.2f} full rooms per core) of {s['runs_us']}")  # fmt: skip
    result: dict[str, Any] = {k: v for k, v in summary[ours].items() if k != "runs_us"}
    result["sockets"] = ours
    variants = [name for name in runs if name != JANUS]
    for name in variants:
        if JANUS in runs:
            summary[name]["vs_janus_rounds"] = [_round2(r) for r in ratios[name]]
            summary[name]["vs_janus_packets_per_core"] = _round2(median(ratios[name]))
    if len(variants) > 1 or len(orders) > 1:
        result["variants"] = {name: summary[name] for name in variants}
        result["round_order"] = orders
    if JANUS not in runs:
        return result
    jan = summary[JANUS]
    mid, low = median(ratios[ours]), min((r for r in ratios[ours] if r is not None), default=None)
    result.update(
        janus_us_per_forwarded_packet=jan["us_per_forwarded_packet"],
        janus_rooms_per_core=jan["rooms_per_core"],
        janus_min_receiver_fps=jan.get("min_receiver_fps"),
        janus_runs_us=jan["runs_us"],
        vs_janus_packets_per_core=_round2(mid),
        vs_janus_rounds=[_round2(r) for r in ratios[ours]],
        vs_janus_min=_round2(low),
        vs_janus_full_rate=like,
    )
    if mid is not None and low is not None:
        print(f"ours ({ours}) vs Janus: {mid:.2f}x Janus's packets per core (median of the "
              f"per-round ratios {result['vs_janus_rounds']}; lowest {low:.2f}x)")  # fmt: skip
    for name in variants[1:]:
        m = summary[name]["vs_janus_packets_per_core"]
        if m is not None:
            print(f"  {name} vs Janus: {m:.2f}x (median of {summary[name]['vs_janus_rounds']})")
    return result


def _round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
