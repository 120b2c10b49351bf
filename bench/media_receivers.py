"""What the benchmark's bots count of what they receive: clear SRTP headers, no decryption
(frames = marker bits, loss = sequence gaps), and the receiver-side figures between two
snapshots. Shared by bench/media.py (our SFU) and bench/media_janus.py (Janus)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, cast

from aiortc import RTCRtpReceiver
from aiortc.rtp import RtpPacket

from server.bots.client import MediaClient
from server.media.clientside import report_statistics

_RTP = struct.Struct("!BBHII")


class StreamCounter:
    __slots__ = ("first", "frames", "high", "kind", "packets")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.packets = 0
        self.frames = 0
        self.first: int | None = None
        self.high = 0  # extended highest sequence number

    def add(self, seq: int, marker: bool) -> None:
        self.packets += 1
        if marker:
            self.frames += 1
        if self.first is None:
            self.first = self.high = seq
            return
        low = self.high & 0xFFFF
        delta = (seq - low) & 0xFFFF
        if delta < 0x8000:
            self.high += delta

    def expected(self) -> int:
        return 0 if self.first is None else self.high - self.first + 1


class _Header:
    """The clear RTP header fields ``StreamStatistics.add`` reads (one reused per client)."""

    __slots__ = ("payload_type", "sequence_number", "ssrc", "timestamp")

    def __init__(self) -> None:
        self.payload_type = self.sequence_number = self.ssrc = self.timestamp = 0


def count_only(
    client: MediaClient | Any, counters: dict[int, StreamCounter], video_pt: set[int]
) -> None:
    """Count the client's incoming RTP from the SRTP packet's clear header, in the socket's
    ``datagram_received``: no decryption, parse or decode, and none of aiortc's receive tasks
    (so one load generator process keeps up with more bots). RTCP, STUN and DTLS still take
    aiortc's path. The header also feeds the receiving slot's aiortc statistics
    (``clientside.report_statistics``), so the bot's receiver reports carry a block per
    stream (loss, jitter, LSR/DLSR) and the server under test handles them, as it would a
    browser's."""
    transceivers = client.pc.getTransceivers()
    if not transceivers:
        return
    dtls = transceivers[0].receiver.transport
    router = dtls._rtp_router
    reporters: dict[int, Callable[[RtpPacket], None]] = {}  # SSRC -> its receiver's statistics feed
    header = _Header()
    connection = dtls.transport._connection
    for protocol in list(connection._protocols):
        if getattr(protocol, "_bench_counting", False) or not hasattr(protocol, "transport"):
            continue
        original = protocol.datagram_received

        def datagram_received(data: bytes, addr: Any, _original: Any = original) -> None:
            if len(data) >= 12 and 127 < data[0] < 192 and not 191 < data[1] < 209:
                _b0, b1, seq, ts, ssrc = _RTP.unpack_from(data)
                c = counters.get(ssrc)
                if c is None:
                    kind = "video" if (b1 & 0x7F) in video_pt else "audio"
                    c = counters[ssrc] = StreamCounter(kind)
                c.add(seq, bool(b1 & 0x80))
                report = reporters.get(ssrc)
                if report is None:  # an SSRC not registered yet is asked again next time
                    receiver = router.ssrc_table.get(ssrc)
                    if isinstance(receiver, RTCRtpReceiver):
                        report = reporters[ssrc] = report_statistics(receiver)
                if report is not None:
                    header.payload_type = b1 & 0x7F
                    header.sequence_number = seq
                    header.timestamp = ts
                    header.ssrc = ssrc
                    report(cast(RtpPacket, header))  # the fields add() reads
                return
            _original(data, addr)

        protocol.datagram_received = datagram_received
        protocol._bench_counting = True


def stream_figures(st0: dict[str, Any], st1: dict[str, Any], window: float) -> dict[str, Any]:
    """Receiver-side figures between two snapshots of the bots' stream counters."""
    fps: list[float] = []
    audio_pps: list[float] = []
    lost = expected = received = 0
    for key, b in st1.items():
        a = st0.get(key, (b[0], 0, 0, 0))
        if b[0] == "video":
            fps.append((b[2] - a[2]) / window)
        else:
            audio_pps.append((b[1] - a[1]) / window)
        expected += b[3] - a[3]
        received += b[1] - a[1]
        lost += (b[3] - a[3]) - (b[1] - a[1])
    return {
        "video_streams": len(fps),
        "min_receiver_fps": min(fps) if fps else 0.0,
        "median_receiver_fps": sorted(fps)[len(fps) // 2] if fps else 0.0,
        "min_audio_pps": min(audio_pps) if audio_pps else 0.0,
        "delivered_pps": received / window,
        "expected_pps": expected / window,  # what the sender numbered: sent, lost or not
        "loss_pct": 100 * max(0, lost) / expected if expected else 0.0,
    }
