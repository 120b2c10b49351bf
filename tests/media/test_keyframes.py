"""A subscriber that missed the keyframe asked for it on joining keeps asking until it gets one.

Unit test of the forwarding point with aiortc's objects replaced by fakes (no network)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from server.media.forwarding import KEYFRAME_MIN_INTERVAL_S, DownTrack, UpTrack
from tests.media import fakes

INTER = bytes([0x10, 0x01])  # VP8 partition start, inter frame
KEY = bytes([0x10, 0x00])


@pytest.fixture
def plis(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace aiortc's objects by fakes; return the list of keyframe requests sent."""
    asked: list[float] = []

    async def send_pli(receiver: Any, ssrc: int) -> None:
        asked.append(time.monotonic())  # forwarding reads this clock; the tests set it

    fakes.install(monkeypatch, send_pli=send_pli)
    return asked


def packet(seq: int, payload: bytes) -> RtpPacket:
    return RtpPacket(
        payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=7, payload=payload
    )


async def test_waiting_subscriber_keeps_asking_for_a_keyframe(monkeypatch, plis) -> None:
    now = [100.0]
    monkeypatch.setattr("server.media.forwarding.time.monotonic", lambda: now[0])
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    down = DownTrack("sub", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    up.add_down(down)
    await up.on_packet(packet(1, KEY))  # the join's keyframe request goes out...
    assert len(plis) == 1
    # ...but the subscriber only becomes ready after that keyframe has passed.
    down.ready = True
    seq = 2
    for _ in range(10):  # one second of inter frames
        now[0] += 0.1
        await up.on_packet(packet(seq, INTER))
        seq += 1
    assert down.packets == 0 and down.skipped == 10
    # It asked again, rate-limited, instead of waiting forever.
    assert 2 <= len(plis) <= 1 + int(1.0 / KEYFRAME_MIN_INTERVAL_S) + 1
    now[0] += 0.1
    await up.on_packet(packet(seq, KEY))
    assert down.packets == 1 and not down.waiting_keyframe
    asked = len(plis)
    for _ in range(10):  # once it has a keyframe, no more requests
        now[0] += 0.5
        seq += 1
        await up.on_packet(packet(seq, INTER))
    assert len(plis) == asked and down.packets == 11
