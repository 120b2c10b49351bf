"""RTX (RFC 4588) at the forwarding point, and the enforcement rule on every repair path:
with aiortc's objects replaced by fakes (no network)."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from server.media import forwarding
from server.media.forwarding import MAX_NACK_GAP, DownTrack, UpTrack
from tests.media import fakes as fake_objects

KEY = bytes([0x10, 0x00]) + b"key"
INTER = bytes([0x10, 0x01]) + b"inter"
VP8, RTX = 96, 97


class Seen:
    def __init__(self) -> None:
        self.plis = 0


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    s = Seen()

    async def send_pli(receiver: Any, ssrc: int) -> None:
        s.plis += 1

    fake_objects.install(monkeypatch, send_pli=send_pli)
    return s


def media(seq: int, payload: bytes = INTER, ssrc: int = 7) -> RtpPacket:
    return RtpPacket(
        payload_type=VP8, sequence_number=seq & 0xFFFF, timestamp=seq * 3000, ssrc=ssrc,
        payload=payload,
    )  # fmt: skip


def rtx(osn: int, payload: bytes = INTER, seq: int = 500, ssrc: int = 8) -> RtpPacket:
    """The publisher's resend of packet ``osn`` on its RTX stream."""
    return RtpPacket(
        payload_type=RTX, sequence_number=seq, timestamp=osn * 3000, ssrc=ssrc,
        payload=struct.pack("!H", osn & 0xFFFF) + payload,
    )  # fmt: skip


def pair(kind: str = "video", *, rtx_down: bool = False) -> tuple[UpTrack, DownTrack]:
    up = UpTrack("pub", kind, receiver=object(), payload_type=VP8)  # type: ignore[arg-type]
    up.rtx_payload_type = RTX if kind == "video" else -1
    down = DownTrack("sub", kind, sender=object(), payload_type=VP8)  # type: ignore[arg-type]
    if rtx_down:
        down.rtx_payload_type = RTX
    up.add_down(down)
    down.ready = True
    return up, down


def sent(down: DownTrack) -> list[bytes]:
    out: Any = down.out
    return out.sent  # type: ignore[no-any-return]


def seqs(down: DownTrack) -> list[int]:
    return [struct.unpack("!H", d[2:4])[0] for d in sent(down)]


async def test_publisher_rtx_fills_its_hole(seen: Seen) -> None:
    up, down = pair()
    await up.on_packet(media(100, KEY))
    await up.on_packet(media(102))  # 101 lost on the way in
    await up.on_packet(rtx(101, b"\x10\x01late"))
    assert len(sent(down)) == 3 and up.rtx_received == 1
    first = seqs(down)[0]
    assert seqs(down) == [first, first + 2, first + 1]  # the resend went into its hole
    assert sent(down)[-1][12:] == b"\x10\x01late"
    assert struct.unpack("!I", sent(down)[-1][8:12])[0] == down.ssrc


async def test_rtx_of_a_gated_packet_never_reaches_receivers(seen: Seen) -> None:
    """The enforcement rule: a cut publisher's resends are dropped like its media, whatever
    sequence number they claim (a packet from before the cut, one from during it)."""
    up, down = pair()
    await up.on_packet(media(200, KEY))
    await up.on_packet(media(202))
    before = list(sent(down))
    up.enabled = False  # sit-back: the camera (or the microphone) is cut at the server
    await up.on_packet(media(203, KEY))
    for osn in (201, 203, 204, 205):
        await up.on_packet(rtx(osn, KEY))
    assert sent(down) == before
    assert up.rtx_received == 0 and up.dropped == 5
    # a subscriber's NACK cannot fetch the history of a gated publisher either
    await down.retransmit(seqs(down)[0])
    assert sent(down) == before and down.retransmitted == 0


async def test_rtx_for_audio_or_unknown_payload_types_is_ignored(seen: Seen) -> None:
    up, down = pair("audio")
    await up.on_packet(media(1, b"opus"))
    n = len(sent(down))
    await up.on_packet(rtx(1, b"opus"))  # no RTX negotiated for audio
    stray = media(2)
    stray.payload_type = 111
    await up.on_packet(stray)
    assert len(sent(down)) == n and up.rtx_received == 0


async def test_subscriber_nack_is_answered_on_its_rtx_stream(seen: Seen) -> None:
    up, down = pair(rtx_down=True)
    await up.on_packet(media(300, KEY))
    for seq in range(301, 306):
        await up.on_packet(media(seq))
    lost = sent(down)[2]
    out_seq = struct.unpack("!H", lost[2:4])[0]
    await down.retransmit(out_seq)
    resent = sent(down)[-1]
    b1, seq, ts, ssrc = struct.unpack("!xBHII", resent[:12])
    assert b1 & 0x7F == RTX and ssrc == down.rtx_ssrc != down.ssrc
    assert ts == struct.unpack("!I", lost[4:8])[0]
    assert resent[12:14] == struct.pack("!H", out_seq)  # the original sequence number
    assert resent[14:] == lost[12:]
    await down.retransmit((out_seq + 1) & 0xFFFF)  # another hole (a repeat would wait)
    again = sent(down)[-1]
    assert struct.unpack("!H", again[2:4])[0] == (seq + 1) & 0xFFFF  # RTX has its own numbering


async def test_a_long_upstream_gap_asks_for_a_keyframe(
    seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forwarding, "KEYFRAME_MIN_INTERVAL_S", 0.0)  # the limit: elsewhere
    up, _down = pair()
    await up.on_packet(media(1000, KEY))
    plis = seen.plis
    await up.on_packet(media(1001 + MAX_NACK_GAP + 5))  # a burst too long to NACK
    await up.on_packet(media(1002 + MAX_NACK_GAP + 5))
    assert seen.plis == plis + 1
