"""Loss repair at the forwarding point (generic NACK without RTX), with aiortc's objects
replaced by fakes: no network."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from server.media.downtrack import RESEND_GUARD_S
from server.media.forwarding import (
    HISTORY_SIZE,
    MAX_NACK_GAP,
    RETRANSMIT_PER_S,
    DownTrack,
    ReceiverLink,
    UpTrack,
)
from server.media.receiverlink import RTX_BURST_S, RTX_SHARE, WIRE_OVERHEAD
from tests.media import fakes as fake_objects

KEY = bytes([0x10, 0x00]) + b"key"
INTER = bytes([0x10, 0x01]) + b"inter"


class Nacks:
    def __init__(self) -> None:
        self.nacks: list[tuple[int, list[int]]] = []


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Nacks:
    """Replace aiortc's objects by fakes; collect the NACKs sent upstream."""
    f = Nacks()

    async def send_nack(receiver: Any, ssrc: int, lost: list[int]) -> None:
        f.nacks.append((ssrc, list(lost)))

    fake_objects.install(monkeypatch, send_nack=send_nack)
    return f


def packet(seq: int, payload: bytes = INTER, ssrc: int = 7) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        sequence_number=seq & 0xFFFF,
        timestamp=(seq * 3000) & 0xFFFFFFFF,
        ssrc=ssrc,
        payload=payload,
    )


def header(data: bytes) -> tuple[int, int, int]:
    """(sequence number, timestamp, ssrc) of an RTP packet we sent."""
    _, _, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    return seq, ts, ssrc


def pair(kind: str = "video") -> tuple[UpTrack, DownTrack]:
    up = UpTrack("pub", kind, receiver=object(), payload_type=96)  # type: ignore[arg-type]
    down = DownTrack("sub", kind, sender=object(), payload_type=96)  # type: ignore[arg-type]
    up.add_down(down)
    down.ready = True
    return up, down


def sent(down: DownTrack) -> list[bytes]:
    out: Any = down.out
    return out.sent  # type: ignore[no-any-return]


async def test_a_nacked_packet_is_resent_byte_for_byte(fakes: Nacks) -> None:
    up, down = pair()
    await up.on_packet(packet(1000, KEY))
    for seq in range(1001, 1010):
        await up.on_packet(packet(seq))
    first = list(sent(down))
    assert len(first) == 10
    lost = first[4]
    out_seq = header(lost)[0]
    await down.retransmit(out_seq)
    assert sent(down)[-1] == lost  # same sequence number, timestamp, SSRC and payload
    assert down.retransmitted == up.retransmitted == 1


async def test_nacks_outside_what_was_sent_are_ignored(fakes: Nacks) -> None:
    up, down = pair()
    await up.on_packet(packet(50, KEY))
    for seq in range(51, 60):
        await up.on_packet(packet(seq))
    first_out = header(sent(down)[0])[0]
    last_out = header(sent(down)[-1])[0]
    n = len(sent(down))
    await down.retransmit((last_out + 1) & 0xFFFF)  # not sent yet
    await down.retransmit((first_out - 1) & 0xFFFF)  # before this stream's start
    await down.retransmit((first_out + 30000) & 0xFFFF)  # nonsense
    assert len(sent(down)) == n and up.retransmitted == 0


async def test_nacks_after_a_resync_do_not_map_to_the_old_stream(fakes: Nacks) -> None:
    up, down = pair()
    await up.on_packet(packet(10, KEY))
    for seq in range(11, 20):
        await up.on_packet(packet(seq))
    old_out = header(sent(down)[3])[0]
    # The gate closes and reopens: the next packet starts a new epoch of our numbering.
    up.enabled = False
    await up.on_packet(packet(20))
    up.enabled = True
    await up.on_packet(packet(21, KEY))
    n = len(sent(down))
    await down.retransmit(old_out)
    assert len(sent(down)) == n
    new_out = header(sent(down)[-1])[0]
    await down.retransmit(new_out)
    assert len(sent(down)) == n + 1


async def test_history_is_bounded(fakes: Nacks) -> None:
    up, down = pair()
    await up.on_packet(packet(0, KEY))
    for seq in range(1, HISTORY_SIZE + 10):
        await up.on_packet(packet(seq))
    oldest_out = header(sent(down)[0])[0]
    n = len(sent(down))
    await down.retransmit(oldest_out)  # overwritten in the ring
    assert len(sent(down)) == n
    assert up.history is not None and len(up.history) == HISTORY_SIZE


async def streamed(monkeypatch: Any, count: int) -> tuple[list[float], DownTrack, list[int]]:
    """A key frame and ``count - 1`` packets forwarded on a clock the test moves; the clock,
    the slot and the sequence numbers it sent."""
    now = [500.0]
    monkeypatch.setattr("server.media.forwarding.time.monotonic", lambda: now[0])
    up, down = pair()
    await up.on_packet(packet(0, KEY))
    for seq in range(1, count):
        await up.on_packet(packet(seq))
    return now, down, [header(d)[0] for d in sent(down)]


async def test_retransmissions_are_rate_limited(fakes: Nacks, monkeypatch) -> None:
    now, down, outs = await streamed(monkeypatch, 200)
    n = len(sent(down))
    for out_seq in outs:  # a storm of NACKs within one second
        await down.retransmit(out_seq)
    assert len(sent(down)) - n == RETRANSMIT_PER_S
    now[0] += 1.0
    await down.retransmit(outs[-1])
    assert len(sent(down)) - n == RETRANSMIT_PER_S + 1


async def test_a_repeated_nack_is_not_resent_while_the_resend_is_on_its_way(
    fakes: Nacks, monkeypatch
) -> None:
    """aiortc repeats every missing packet with each new gap: the repeats within
    RESEND_GUARD_S neither resend nor use the budget, so a later hole is still repaired."""
    now, down, outs = await streamed(monkeypatch, 100)
    n = len(sent(down))
    for _ in range(RETRANSMIT_PER_S * 2):
        await down.retransmit(outs[10])
    assert len(sent(down)) - n == 1
    await down.retransmit(outs[20])  # a new hole in the same second: still answered
    assert len(sent(down)) - n == 2 and down.unanswered == 0
    now[0] += RESEND_GUARD_S
    await down.retransmit(outs[10])  # its resend was lost too: asked again, resent again
    assert len(sent(down)) - n == 3


async def test_resends_stay_within_a_share_of_the_receivers_estimate(
    fakes: Nacks, monkeypatch
) -> None:
    """Resends for one receiver cost at most RTX_SHARE of its link estimate in wire bytes (a
    bucket of RTX_BURST_S): on a narrow link a burst of NACKs cannot push it into more loss;
    the budget refills with time, and a guard of 1.2 x the round trip keeps repeats out."""
    now, down, outs = await streamed(monkeypatch, 100)
    link = ReceiverLink()
    down.link = link
    link.downs.append(down)
    link.estimate.estimate_bps = 200_000  # 5 kB/s for resends, 2.5 kB at once
    wire = len(INTER) + WIRE_OVERHEAD
    fits = int(200_000 * RTX_SHARE / 8 * RTX_BURST_S // wire)
    n = len(sent(down))
    for out_seq in outs[1:]:
        await down.retransmit(out_seq)
    assert len(sent(down)) - n == fits < RETRANSMIT_PER_S
    assert down.rtx_refused == len(outs) - 1 - fits
    now[0] += 0.1  # 500 bytes more
    await down.retransmit(outs[-1])
    await down.retransmit(outs[-2])
    assert len(sent(down)) - n == fits + min(2, 500 // wire)
    link.estimate.rtt_s = 0.5  # a long round trip: a repeat within 0.6 s is not resent
    resent = len(sent(down))
    now[0] += RESEND_GUARD_S + 0.1
    await down.retransmit(outs[1])
    assert len(sent(down)) == resent


async def test_the_resend_budget_follows_what_the_link_carries_above_a_low_estimate(
    fakes: Nacks, monkeypatch
) -> None:
    """Unlayered video is sent whatever the estimate says: the resend budget is then a share
    of what the link was measured carrying, so a low estimate does not leave its holes
    unrepaired (an aiortc receiver asks for a packet once)."""
    _now, down, outs = await streamed(monkeypatch, 100)
    link = ReceiverLink()
    down.link = link
    link.downs.append(down)
    link.estimate.estimate_bps = 50_000
    link.video_bps = 200_000  # measured from the receiver's reports
    wire = len(INTER) + WIRE_OVERHEAD
    fits = int(200_000 * RTX_SHARE / 8 * RTX_BURST_S // wire)
    assert int(50_000 * RTX_SHARE / 8 * RTX_BURST_S // wire) < fits < RETRANSMIT_PER_S
    n = len(sent(down))
    for out_seq in outs[1 : fits + 1]:
        await down.retransmit(out_seq)
    assert len(sent(down)) - n == fits and down.rtx_refused == 0
    await down.retransmit(outs[fits + 1])  # the bucket is empty now
    assert down.rtx_refused == 1


async def test_upstream_gap_is_nacked_and_the_late_packet_fills_it(fakes: Nacks) -> None:
    up, down = pair()
    await up.on_packet(packet(0xFFFD, KEY))  # across the 16-bit wrap
    await up.on_packet(packet(0xFFFE))
    await up.on_packet(packet(0x0001))  # 0xFFFF and 0x0000 went missing
    assert fakes.nacks == [(7, [0xFFFF, 0x0000])]
    assert up.nacks_sent == 2
    outs = [header(d)[0] for d in sent(down)]
    assert (outs[2] - outs[1]) & 0xFFFF == 3  # the hole is kept in our numbering
    last_seq = down.last_seq
    await up.on_packet(packet(0xFFFF))  # the publisher resends
    late = header(sent(down)[-1])[0]
    assert late == (outs[1] + 1) & 0xFFFF  # forwarded into its hole...
    assert down.last_seq == last_seq  # ...without moving our numbering back
    await up.on_packet(packet(0x0002))
    assert header(sent(down)[-1])[0] == (outs[2] + 1) & 0xFFFF
    assert len(fakes.nacks) == 1


async def test_long_gaps_and_audio_are_not_nacked(fakes: Nacks) -> None:
    up, _down = pair()
    await up.on_packet(packet(100, KEY))
    await up.on_packet(packet(100 + MAX_NACK_GAP + 2))
    assert fakes.nacks == []
    audio_up, audio_down = pair("audio")
    await audio_up.on_packet(packet(1, b"opus"))
    await audio_up.on_packet(packet(5, b"opus"))
    assert fakes.nacks == [] and audio_up.history is None
    await audio_down.retransmit(header(sent(audio_down)[0])[0])
    assert len(sent(audio_down)) == 2


async def test_a_new_publisher_ssrc_clears_the_history(fakes: Nacks, monkeypatch) -> None:
    now = [10.0]
    monkeypatch.setattr("server.media.forwarding.time.monotonic", lambda: now[0])
    up, _down = pair()
    await up.on_packet(packet(300, KEY))
    await up.on_packet(packet(301))
    now[0] += 5.0  # the first stream went silent: a restarted sender takes over
    await up.on_packet(packet(301, KEY, ssrc=99))
    assert up.history is not None
    assert sum(e is not None for e in up.history) == 1
    assert fakes.nacks == []
