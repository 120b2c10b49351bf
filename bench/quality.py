"""Quality on a bad network: one receiver behind a lossy, slow, capped link; everyone else fine.

    .venv/bin/python bench/quality.py [--seconds 20] [--loss 0.03] [--rtt-ms 150] [--cap-kbps 600]

One room on the in-process SFU (``AiortcMediaEngine``), all on loopback in a private network
namespace (``unshare -rn``, unless --no-netns):
* ``pub`` publishes 640x360@30 VP8 with temporal layers (L1T3: layer 0 at 7.5 fps, layers 0-1
  at 15, all at 30; encoded once with libvpx, packetized with the layer fields a browser sets)
  and Opus;
* ``weak`` receives through the impairment relay (bench/impair.py), in both directions:
  ``--loss`` random loss, half of ``--rtt-ms`` delay each way plus 5 ms jitter, and a
  ``--cap-kbps`` cap with a ``--queue-ms`` queue. It receives ``pub``'s video as a browser
  would (bench/frames.py: a frame is shown once it is complete and every frame it refers to
  was shown; incomplete frames nothing needs are skipped; a key frame is asked for after 3 s
  without a decodable frame, as libwebrtc does), with aiortc's receiver around it for the
  receiver reports, RTX (routed by the offer's FID group, as a browser does:
  ``MediaClient`` with server/media/clientside.py) and NACKs (again every round trip while
  missing, as libwebrtc does: ``Probe.renack``), and records when each frame is shown and
  when each audio packet arrives;
* ``ok1`` and ``ok2`` receive directly, the same way (their frame rate is frames shown).

Reported after a warm-up: the longest time without a shown frame at ``weak``
(``receiver_freeze_max_s``), the longest gap between audio packets at ``weak``
(``audio_gap_max_ms``; one lost 20 ms packet makes a 40 ms gap), the lowest frame rate of
``pub``'s video at the other receivers (``others_min_fps``), the layer switches made for
``weak`` (``layer_switches``; ``layer_shed`` of them for the pacer's backlog) and the layer
it ended on, the link estimate's overloads, whether ``weak`` is paced, NACKed packets the SFU
did not resend (``weak_unanswered``; ``weak_rtx_refused`` of them for the resend budget), the
longest freezes with their start (seconds since all connected, as in ``--trace``), key frame
requests, repaired packets and packets never received. ``--trace`` prints the estimate every
second on stderr.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fractions
import itertools
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import av
from aiortc import rtcrtpsender
from aiortc.codecs import get_encoder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._host import reexec_in_namespace
from bench.frames import FrameBuffer
from bench.impair import Impairment, ImpairmentRelay
from server.bots.client import MediaClient
from server.bots.synthetic import VIDEO_CLOCK, EncodedClip, encode_tone, render_pattern
from server.media import passthrough
from server.media.ice import IceSettings
from server.media.sfu import AiortcMediaEngine, SfuSettings

NETNS_ENV = "HC_QUALITY_NETNS"
ROOM = "quality"
PATTERN = (0, 2, 1, 2)  # libvpx ts_layering_mode 3: the temporal layer of frame i
PACKET_MAX = 1200
NACK_RETRIES = 10  # libwebrtc's kMaxNackRetries


def encode_layered(
    width: int = 640, height: int = 360, fps: int = 30, frames: int = 120, kbps: int = 600
) -> tuple[EncodedClip, dict[bytes, tuple[int, bool]]]:
    """VP8 with three temporal layers (cumulative targets 40/60/100 % of ``kbps``, the split
    libwebrtc uses for L1T3), a key
    frame every ``frames`` (the clip loops on it); returns the clip and each frame's
    (layer, sync) for the packetizer."""
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = fractions.Fraction(1, fps)
    ctx.framerate = fractions.Fraction(fps, 1)
    ctx.bit_rate = kbps * 1000
    ctx.gop_size = frames
    rates = f"{kbps * 4 // 10},{kbps * 6 // 10},{kbps}"
    ctx.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "minrate": f"{kbps}k",  # constant bitrate, as a browser's encoder under a target
        "maxrate": f"{kbps}k",
        "ts-parameters": (
            f"ts_number_layers=3:ts_target_bitrate={rates}:ts_rate_decimator=4,2,1:"
            "ts_periodicity=4:ts_layer_id=0,2,1,2:ts_layering_mode=3"
        ),
    }
    out: list[bytes] = []
    keys: list[bool] = []
    layers: dict[bytes, tuple[int, bool]] = {}
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(render_pattern("pub", width, height, i, fps), "rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = i
        for pkt in ctx.encode(frame):
            data = bytes(pkt)
            n = len(out)
            tid = PATTERN[n % 4]
            out.append(data)
            keys.append(bool(pkt.is_keyframe))
            # layer 1 and the first layer-2 frame of a period refer to layer 0 only
            layers[data] = (tid, tid > 0 and n % 4 != 3)
    return EncodedClip("video", tuple(out), VIDEO_CLOCK // fps, VIDEO_CLOCK, tuple(keys)), layers


class LayeredPacker:
    """Stands in for aiortc's VP8 packetizer on the publisher: the payload descriptor gets a
    15-bit picture id, TL0PICIDX and TID/Y, as a browser sending L1T3 writes them."""

    def __init__(self, layers: dict[bytes, tuple[int, bool]]) -> None:
        self.layers = layers
        self.picture_id = 0
        self.tl0 = 0

    def pack(self, packet: Any) -> tuple[list[bytes], int]:
        data = bytes(packet)
        tid, sync = self.layers.get(data, (0, False))
        if tid == 0:
            self.tl0 = (self.tl0 + 1) & 0xFF
        pid = self.picture_id
        self.picture_id = (pid + 1) & 0x7FFF
        tail = bytes([0x80 | (pid >> 8), pid & 0xFF, self.tl0, (tid << 6) | (0x20 if sync else 0)])
        payloads = []
        for pos in range(0, len(data), PACKET_MAX):
            b0 = 0x90 if pos == 0 else 0x80  # X, and S on the first packet
            payloads.append(bytes([b0, 0xE0]) + tail + data[pos : pos + PACKET_MAX])
        ts = int(packet.pts * packet.time_base * VIDEO_CLOCK)
        return payloads, ts & 0xFFFFFFFF


class Probe(MediaClient):
    """A receiver that records when things arrive: with ``frames``, when each frame of
    ``pub``'s video would be shown (bench/frames.py stands in for aiortc's jitter buffer:
    aiortc still keeps the report statistics, unwraps RTX and NACKs), and audio packets, in
    monotonic seconds."""

    def __init__(self, pid: str, **kw: Any) -> None:
        super().__init__(pid, audio=kw.pop("audio"), video=None)
        self.buffers: dict[str, FrameBuffer] = {}  # publisher -> its video, frame by frame
        self.audio_times: list[float] = []
        self._seen: set[int] = set()

    async def renack(self, every_s: float) -> None:
        """NACK what is still missing every ``every_s`` (about a round trip), at most
        NACK_RETRIES times per packet, as libwebrtc's NackRequester does; aiortc alone asks
        again only when a new gap appears (about once a second at 3 % loss and 7.5 fps)."""
        asked: dict[tuple[int, int], int] = {}
        while True:
            await asyncio.sleep(every_s)
            for t in self.pc.getTransceivers():
                receiver = t.receiver
                gen = getattr(receiver, "_RTCRtpReceiver__nack_generator", None)
                rtx = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})
                if t.kind != "video" or gen is None or not gen.missing or not rtx:
                    continue
                ssrc = next(iter(rtx.values()))
                lost = [q for q in sorted(gen.missing) if asked.get((ssrc, q), 0) < NACK_RETRIES]
                for q in lost:
                    asked[(ssrc, q)] = asked.get((ssrc, q), 0) + 1
                if lost:
                    await receiver._send_rtcp_nack(ssrc, lost)
            if len(asked) > 4096:
                asked.clear()

    @property
    def buffer(self) -> FrameBuffer | None:
        return self.buffers.get("pub")

    @property
    def frame_times(self) -> list[float]:
        return self.buffer.shown if self.buffer is not None else []

    def _watch(self, receiver: Any, person: str, kind: str) -> None:
        """aiortc's receiver keeps its own per-packet work (report statistics, RTX, NACKs),
        as a browser sends receiver reports for every stream; nothing is decoded."""
        if id(receiver) in self._seen:
            return
        self._seen.add(id(receiver))
        if kind == "video":
            buffer = FrameBuffer(time.monotonic)
            self.buffers[person] = buffer
            setattr(receiver, "_RTCRtpReceiver__jitter_buffer", buffer)  # noqa: B010
            passthrough.tap_receiver(receiver, None)  # no decoding
            return
        times = self.audio_times if person == "pub" else []

        async def tap(packet: Any) -> None:
            times.append(time.monotonic())

        passthrough.tap_receiver(receiver, tap)


def strip_candidates(sdp: str) -> str:
    """The weak client's answer without its own candidates: the server learns its address
    only from checks that come through the relay (peer-reflexive)."""
    lines = [
        ln for ln in sdp.split("\r\n") if not ln.startswith(("a=candidate:", "a=end-of-candidates"))
    ]
    return "\r\n".join(lines)


async def trace(engine: AiortcMediaEngine, t0: float) -> None:
    """Every second on stderr (seconds since ``t0``): the weak receiver's estimate, rates,
    queue and layer."""
    while True:
        await asyncio.sleep(1.0)
        room = engine._rooms.get(ROOM)
        if room is None or "weak" not in room.participants:
            continue
        link = room.participants["weak"].link
        slot = room.participants["weak"].slots.get("pub")
        down = slot.downs["video"] if slot else None
        layers = down.layers if down else None
        pub = room.participants.get("pub")
        rates = pub.up["video"].layer_rates if pub and "video" in pub.up else None
        pacer = link.pacer
        print(
            f"{time.monotonic() - t0:5.1f}s est {link.estimate.available_bps / 1000:5.0f}k"
            f" audio {link.audio_bps / 1000:4.0f}k video {link.video_bps / 1000:4.0f}k"
            f" loss {link.estimate.last_loss:.2f} qd {link.estimate.queue_delay_s * 1000:4.0f}ms"
            f" layer {layers.target if layers else None}/{layers.current if layers else None}"
            f" backlog {pacer.pacer.backlog_s(pacer.now()) * 1000 if pacer else 0:4.0f}ms"
            f" rates {[round(r / 1000) for r in rates.rates] if rates else None}"
            f" rtx {down.retransmitted if down else 0}/{getattr(down, 'rtx_refused', 0)}"
            f"/{down.unanswered if down else 0}",
            file=sys.stderr,
        )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    clip, layers = encode_layered(kbps=args.video_kbps)
    audio = encode_tone(seconds=2.0)
    original = get_encoder

    def encoder_for(codec: Any) -> Any:
        if codec.mimeType.lower() == "video/vp8":
            return LayeredPacker(layers)
        return original(codec)

    rtcrtpsender.get_encoder = encoder_for  # type: ignore[attr-defined]
    engine = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback()))
    await engine.start()
    await engine.open_room(ROOM)
    half = args.rtt_ms / 2
    link = Impairment(
        delay_ms=half,
        jitter_ms=5,
        loss=args.loss,
        rate_bps=args.cap_kbps * 1000,
        queue_ms=args.queue_ms,
    )
    relay: ImpairmentRelay | None = None
    clients: dict[str, MediaClient] = {}

    async def join(pid: str, client: MediaClient, weak: bool = False) -> None:
        clients[pid] = client

        async def deliver(answer: str) -> None:
            await engine.handle_answer(ROOM, pid, strip_candidates(answer) if weak else answer)

        if weak:
            inner = client.handle_offer

            async def via_relay(payload: dict[str, Any]) -> str:
                nonlocal relay
                m = re.search(
                    r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", payload["sdp"]
                )
                assert m, "no loopback candidate in the offer"
                if relay is None:
                    relay = ImpairmentRelay(
                        ("127.0.0.1", int(m.group(1))), up=link, down=link, seed=1
                    )
                    await relay.start()
                sdp = payload["sdp"].replace(f" {m.group(1)} typ host", f" {relay.port} typ host")
                return await inner({**payload, "sdp": sdp})

            client.handle_offer = via_relay  # type: ignore[method-assign]
        client.start(deliver)
        await engine.add_participant(ROOM, pid, client.signal)

    pub = MediaClient("pub", audio=audio, video=clip)
    weak = Probe("weak", audio=audio)
    oks = [Probe(f"ok{i}", audio=audio) for i in (1, 2)]
    await join("pub", pub)
    await join("weak", weak, weak=True)
    for c in oks:
        await join(c.id, c)
    deadline = time.monotonic() + 30
    while any(c.pc.connectionState != "connected" for c in clients.values()):
        if time.monotonic() > deadline:
            raise SystemExit(f"not connected: {[c.pc.connectionState for c in clients.values()]}")
        await asyncio.sleep(0.1)
    renacks = []
    for c in (weak, *oks):
        renacks.append(asyncio.get_running_loop().create_task(c.renack(args.rtt_ms / 1000)))
    t0 = time.monotonic()  # the origin of --trace's times and of weak_longest_freezes
    if args.trace:
        asyncio.get_running_loop().create_task(trace(engine, t0))
    await asyncio.sleep(args.warmup)
    start = time.monotonic()
    ok_frames0 = [len(c.frame_times) for c in oks]
    await asyncio.sleep(args.seconds)
    end = time.monotonic()
    ok_fps = [
        (len(c.frame_times) - f0) / (end - start) for c, f0 in zip(oks, ok_frames0, strict=True)
    ]

    def max_gap(times: list[float]) -> float:
        inside = [t for t in times if start <= t <= end]
        points = [start, *inside, end]
        return max(b - a for a, b in itertools.pairwise(points))

    def longest(times: list[float], n: int = 4) -> list[tuple[float, float]]:
        inside = [t for t in times if start <= t <= end]
        points = [start, *inside, end]
        gaps = sorted(((b - a, a) for a, b in itertools.pairwise(points)), reverse=True)[:n]
        return [(round(a - t0, 1), round(g, 2)) for g, a in gaps]

    part = engine._rooms[ROOM].participants["weak"]
    down = part.slots["pub"].downs["video"]
    rates = engine._rooms[ROOM].participants["pub"].up["video"].layer_rates
    result = {
        "receiver_freeze_max_s": round(max_gap(weak.frame_times), 3),
        "audio_gap_max_ms": round(max_gap(weak.audio_times) * 1000, 1),
        "weak_longest_freezes": longest(weak.frame_times),
        "weak_longest_audio_gaps": longest(weak.audio_times, 3),
        "others_min_fps": round(min(ok_fps), 1),
        "layer_switches": down.layers.switches if down.layers else 0,
        "weak_layer": down.layers.current if down.layers else None,
        "weak_fps": round(
            len([t for t in weak.frame_times if start <= t <= end]) / (end - start), 1
        ),
        "layer_shed": down.layers.shed if down.layers else 0,
        "weak_retransmitted": down.retransmitted,
        "weak_unanswered": down.unanswered,
        "weak_rtx_refused": getattr(down, "rtx_refused", 0),  # (absent before the budget)
        "weak_plis": weak.buffer.plis if weak.buffer else 0,
        "weak_skipped_frames": weak.buffer.skipped if weak.buffer else 0,
        "weak_late_packets": weak.buffer.late if weak.buffer else 0,
        "weak_holes": weak.buffer.holes() if weak.buffer else 0,
        "keyframe_requests": engine._rooms[ROOM].participants["pub"].up["video"].keyframe_requests,
        "overloads": part.link.estimate.overloads,
        "queue_delay_ms": round(part.link.estimate.queue_delay_s * 1000),
        "paced": part.link.pacer is not None,
        "pacer_refused": part.link.pacer.pacer.refused if part.link.pacer else 0,
        "weak_estimate_kbps": round(part.link.estimate.available_bps / 1000),
        "weak_audio_kbps": round(part.link.audio_bps / 1000),
        "layer_kbps": [round(r / 1000) for r in rates.rates] if rates else None,
        "relay_down": dataclasses.asdict(relay.down.counters) if relay else None,
    }
    for task in renacks:
        task.cancel()
    for client in clients.values():
        await client.stop()
    await engine.stop()
    if relay is not None:
        await relay.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--loss", type=float, default=0.03)
    parser.add_argument("--rtt-ms", type=float, default=150.0)
    parser.add_argument("--cap-kbps", type=int, default=600)
    parser.add_argument("--video-kbps", type=int, default=600)
    parser.add_argument("--queue-ms", type=float, default=500.0)
    parser.add_argument("--trace", action="store_true", help="the estimate every second")
    parser.add_argument("--no-netns", action="store_true", help="run on the host's loopback")
    args = parser.parse_args()
    if not args.no_netns and os.environ.get(NETNS_ENV) != "1":
        reexec_in_namespace(NETNS_ENV, "bench/quality.py")
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
