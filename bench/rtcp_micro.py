"""Micro benchmark of receiver reports at the unit: CPU time per SRTCP receiver report, through
aiortc's path (the baseline) and through the receive shortcut, in one process.

    .venv/bin/python bench/rtcp_micro.py [--reports 3000] [--rounds 3]

A real room on loopback (``AiortcMediaEngine``, four aiortc participants, each receiving the
others' audio and video: six streams each). Receiver reports for the server's senders to one participant are
SRTCP-protected with that participant's own keys, as its receivers would send them, and fed
to the server's socket handler for that participant:

* ``shortcut``: the protocol's ``datagram_received`` (``server/media/direct.py``: unprotect,
  read the report blocks, each to its sender's feedback hooks);
* ``aiortc_path`` (the baseline): aioice's ``data_received``, as ``datagram_received`` did
  before the shortcut: its queue, the ICE and DTLS transports' receive tasks, SRTCP unprotect,
  ``RtcpPacket.parse``, the RTP router, each sender's ``_handle_rtcp_packet`` (our hook, then
  aiortc's own statistics).

Two shapes of report: one block per packet (what an aiortc receiver sends, one per received
stream), and one compound with a block for each of the participant's streams plus SDES (what
a browser sends). Each report is fed on its own and the event loop turns until it has been
handled (both paths end in ``passthrough.report_block``), as reports arrive one by one. The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket, RtcpSdesPacket, RtcpSourceInfo

from server.bots.client import MediaClient
from server.bots.synthetic import encode_tone, encode_video
from server.media import passthrough
from server.media.ice import IceSettings
from server.media.passthrough import connections
from server.media.sfu import AiortcMediaEngine, SfuSettings

ROOM = "bench-room"


def _reports(ssrcs: list[int], per_packet: bool) -> list[bytes]:
    def block(ssrc: int) -> RtcpReceiverInfo:
        return RtcpReceiverInfo(
            ssrc=ssrc, fraction_lost=0, packets_lost=0, highest_sequence=1000, jitter=10,
            lsr=0x12345678, dlsr=0x100,
        )  # fmt: skip

    if per_packet:
        return [bytes(RtcpRrPacket(ssrc=7, reports=[block(s)])) for s in ssrcs]
    sdes = RtcpSdesPacket(chunks=[RtcpSourceInfo(ssrc=7, items=[(1, b"receiver")])])
    return [bytes(RtcpRrPacket(ssrc=7, reports=[block(s) for s in ssrcs])) + bytes(sdes)]


async def _until(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def main(reports: int, rounds: int) -> dict[str, Any]:
    video = encode_video("bot", width=160, height=90, fps=15, bitrate=100_000, gop=5)
    audio = encode_tone()
    engine = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback()))
    await engine.start()
    await engine.open_room(ROOM)
    clients = [MediaClient(p, audio=audio, video=video) for p in ("a", "b", "c", "d")]
    try:
        for client in clients:

            async def deliver(answer: str, _pid: str = client.id) -> None:
                await engine.handle_answer(ROOM, _pid, answer)

            client.start(deliver)
            await engine.add_participant(ROOM, client.id, client.signal)
        await _until(
            lambda: all(c.frames_from(o.id, k) >= 5 for c in clients for o in clients
                        if o is not c for k in ("audio", "video")),
            45, "media both ways",
        )  # fmt: skip
        server_pc = engine._rooms[ROOM].participants["b"].pc
        ssrcs = [int(t.sender._ssrc) for t in server_pc.getTransceivers() if t.sender.track]
        dtls: Any = clients[1].pc.getTransceivers()[0].receiver.transport
        protect = dtls._tx_srtp.protect_rtcp
        (connection,) = connections(server_pc)
        protocol = next(p for p in connection._protocols if getattr(p, "_hc_direct", False))
        pair = connection._nominated[1]
        addr = pair.remote_addr
        heard = [0]
        original = passthrough.report_block

        def counting(sender: Any, fraction_lost: int, lsr: int, dlsr: int) -> None:
            heard[0] += 1
            original(sender, fraction_lost, lsr, dlsr)

        passthrough.report_block = counting

        async def run(path: str, per_packet: bool) -> float:
            packets = _reports(ssrcs, per_packet)
            n = max(1, reports // len(packets))
            data = [protect(p) for _ in range(n) for p in packets]
            heard[0] = 0
            want = len(ssrcs) * n  # a block per stream in each set of packets
            per_set = len(packets)
            t0 = time.process_time()
            for i, d in enumerate(data):
                if path == "shortcut":
                    protocol.datagram_received(d, addr)
                else:
                    connection.data_received(d, 1)
                # each report arrives on its own: one event-loop turn (or more) until handled
                done = len(ssrcs) * ((i + 1) // per_set) if (i + 1) % per_set == 0 else -1
                await asyncio.sleep(0)
                while heard[0] < done:  # noqa: ASYNC110 (CPU is measured: no timer, no Event)
                    await asyncio.sleep(0)
            while heard[0] < want:  # noqa: ASYNC110
                await asyncio.sleep(0)
            return (time.process_time() - t0) / len(data) * 1e6

        results: dict[str, list[float]] = {}
        for r in range(rounds):
            for shape in ("one_block", "compound"):
                order = ("shortcut", "aiortc_path") if r % 2 == 0 else ("aiortc_path", "shortcut")
                for path in order:
                    us = await run(path, shape == "one_block")
                    results.setdefault(f"{shape}_{path}", []).append(us)
                    print(f"round {r + 1}: {shape} via {path}: {us:.1f} us per report packet")
        passthrough.report_block = original
        out: dict[str, Any] = {"streams": len(ssrcs)}
        for key, values in results.items():
            out[f"{key}_us"] = round(statistics.median(values), 2)
        for shape in ("one_block", "compound"):
            out[f"{shape}_ratio"] = round(
                out[f"{shape}_aiortc_path_us"] / out[f"{shape}_shortcut_us"], 1
            )
        return out
    finally:
        for client in clients:
            await client.stop()
        await engine.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=3000, help="report packets per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(main(args.reports, args.rounds))
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))
