"""Micro benchmark of the forwarding point alone, in one process: CPU time per forwarded packet.

    .venv/bin/python bench/media_micro.py [--packets 20000] [--no-send]

One publisher's pre-protected SRTP packets (VP8-sized 1,100 bytes, Opus-sized 120 bytes) go
through the ingress and the fan-out to 11 subscribers: header rewrite, SRTP protect (libsrtp,
AES-CM + HMAC-SHA1), ``sendto`` on real UDP sockets to a sink on loopback (``--no-send``
leaves the system call out, to see the Python and libsrtp part alone). Two ingresses, side by
side in the same run (and with sends, three ways out for the direct path: a socket per
subscriber with one ``sendto`` each; one shared socket with a loop of ``sendto``; one shared
socket with one ``sendmmsg`` per incoming packet, ``sendmany.Batch``):

* aiortc's path (the baseline): one event-loop step per datagram, an asyncio queue read by a
  task, ``Session.unprotect``, ``RtpPacket.parse``, ``await UpTrack.on_packet`` (aiortc's real
  path has two more tasks, aioice's and the ICE transport's, so this understates it);
* the direct path: ``UpTrack.on_datagram`` on what libsrtp unprotected, as
  ``server/media/direct.py`` calls it from the socket's ``datagram_received``.

aiortc's sender/receiver objects are replaced by stand-ins (no peer connection): this measures
the forwarding code, not the network. The full benchmark is bench/media.py. The last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pylibsrtp
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.media import passthrough, sendpath
from server.media.forwarding import DownTrack, UpTrack
from server.media.sendmany import Batch

KEY = bytes(range(30))
SUBSCRIBERS = 11


def _session(outbound: bool) -> pylibsrtp.Session:
    kind = pylibsrtp.Policy.SSRC_ANY_OUTBOUND if outbound else pylibsrtp.Policy.SSRC_ANY_INBOUND
    policy = pylibsrtp.Policy(
        key=KEY, ssrc_type=kind, srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    )
    return pylibsrtp.Session(policy=policy)


class _Sink:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        self.sock.setblocking(False)
        self.addr = self.sock.getsockname()

    def drain(self) -> None:
        while True:
            try:
                self.sock.recv(2048)
            except BlockingIOError:
                return


class _Out:
    """``sendpath.RtpOut`` without a peer connection: protect, then one ``sendto`` on a
    socket of its own, or (``batch`` set) on the one shared socket: a ``sendto`` each, or
    queued on its ``sendmany.Batch`` and flushed once per incoming packet with ``sendmmsg``."""

    sink: _Sink
    send_enabled = True
    batch: Batch | None = None

    def __init__(self, sender: Any) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self._sock = sock
        self._protect = sendpath.fast_protect(_session(True))

    def send(self, data: bytes) -> bool | None:
        protected = self._protect(data)
        if protected is None:
            return False
        if self.send_enabled:
            batch = self.batch
            if batch is not None:
                if batch.available:  # as udpmux.MuxSocket.send while a datagram is handled
                    batch.pending.append((protected, self.sink.addr))
                else:
                    batch.send_now(protected, self.sink.addr)
                return True
            try:
                self._sock.sendto(protected, self.sink.addr)
            except BlockingIOError:
                return False
        return True


async def _ignore(*_: Any) -> None:
    return None


def _stand_ins(sink: _Sink, send: bool) -> None:
    _Out.sink = sink
    _Out.send_enabled = send
    passthrough.tap_receiver = lambda *a, **k: None  # type: ignore[assignment]
    passthrough.send_pli = _ignore  # type: ignore[assignment]
    passthrough.send_nack = _ignore  # type: ignore[assignment]
    passthrough.send_remb = _ignore  # type: ignore[assignment]
    passthrough.sender_ssrc = lambda sender: 4242
    passthrough.sender_rtx_ssrc = lambda sender: 4343
    sendpath.RtpOut = _Out  # type: ignore[assignment,misc]
    passthrough.on_keyframe_request = lambda sender, callback: None
    passthrough.on_nack = lambda sender, cb: None  # type: ignore[assignment]
    sendpath.count_sent = lambda *a: None


def _shared_batch(mode: str) -> Batch | None:
    if mode == "own_sockets":
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    sock.setblocking(False)
    return Batch(sock, use_sendmmsg=mode == "sendmmsg")


async def _run(
    kind: str, size: int, packets: int, direct: bool, sink: _Sink, mode: str = "own_sockets"
) -> float:
    level = (lambda pid, lvl: None) if kind == "audio" else None
    up = UpTrack("pub", kind, receiver=object(), payload_type=96, on_level=level)  # type: ignore[arg-type]
    up._police_rate = up._police_burst = up._budget = 1e12  # measure forwarding, not policing
    for i in range(SUBSCRIBERS):
        d = DownTrack(f"s{i}", kind, sender=object(), payload_type=96)  # type: ignore[arg-type]
        up.add_down(d)
        d.ready = True
        d.waiting_keyframe = False
    tx, rx = _session(True), _session(False)
    payload = bytes([0x10, 0x00]) + bytes(size - 2)  # a VP8 key frame start
    wire = [
        tx.protect(
            RtpPacket(payload_type=96, sequence_number=i & 0xFFFF, timestamp=i * 3000, ssrc=7,
                      payload=payload).serialize()
        )
        for i in range(packets)
    ]  # fmt: skip
    extensions = HeaderExtensionsMap()
    batch = _Out.batch = _shared_batch(mode)
    t0 = time.process_time()
    if direct:
        unprotect = sendpath.fast_unprotect(rx)
        for i, data in enumerate(wire):
            clear = unprotect(data)
            if clear is not None:
                up.on_datagram(clear, extensions)
            if batch is not None:
                batch.flush()
            if not i & 63:
                sink.drain()
    else:
        queue: asyncio.Queue[bytes] = asyncio.Queue()

        async def consume() -> None:
            for _ in range(packets):
                data = await queue.get()
                await up.on_packet(RtpPacket.parse(rx.unprotect(data), extensions))

        task = asyncio.create_task(consume())
        for i, data in enumerate(wire):
            queue.put_nowait(data)
            await asyncio.sleep(0)  # one loop step per datagram, as datagram_received has
            if not i & 63:
                sink.drain()
        await task
    cpu = time.process_time() - t0
    sink.drain()
    if batch is not None:
        assert batch.dropped == 0, f"{batch.dropped} datagrams dropped"
    _Out.batch = None
    return 1e6 * cpu / max(1, up.forwarded)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-send", action="store_true", help="leave out the sendto call")
    args = parser.parse_args()
    sink = _Sink()
    _stand_ins(sink, not args.no_send)
    result: dict[str, Any] = {"send": not args.no_send}
    variants = [(False, "own_sockets"), (True, "own_sockets")]
    if not args.no_send:  # the shared socket: a loop of sendto, and one sendmmsg per packet
        variants += [(True, "shared_sendto"), (True, "sendmmsg")]
    for kind, size in (("video", 1100), ("audio", 120)):
        for direct, mode in variants:
            runs = [
                asyncio.run(_run(kind, size, args.packets, direct, sink, mode))
                for _ in range(args.rounds)
            ]
            name = ("direct" if direct else "aiortc_path") + (
                "" if mode == "own_sockets" else f"_{mode}"
            )
            best = min(runs)
            print(f"{kind} {size} B, {name}: {best:.2f} us per forwarded packet "
                  f"(best of {[round(r, 2) for r in runs]})")  # fmt: skip
            result[f"{kind}_{name}_us"] = round(best, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
