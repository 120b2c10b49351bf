"""A publisher cannot make the SFU multiply a flood: each up-track has an ingress budget in
payload bytes per second; packets over it are dropped and counted, never forwarded."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from server.media.forwarding import POLICE_BURST, POLICE_RATE, DownTrack, UpTrack
from tests.media import fakes

KEY = bytes([0x10, 0x00])


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    fakes.install(monkeypatch)
    now = [1000.0]
    monkeypatch.setattr("server.media.forwarding.time.monotonic", lambda: now[0])
    return now


def room(kind: str) -> tuple[UpTrack, list[DownTrack]]:
    up = UpTrack("pub", kind, receiver=object(), payload_type=96)  # type: ignore[arg-type]
    downs = []
    for i in range(11):
        d = DownTrack(f"s{i}", kind, sender=object(), payload_type=96)  # type: ignore[arg-type]
        up.add_down(d)
        d.ready = True
        downs.append(d)
    return up, downs


def packet(seq: int, payload: bytes) -> RtpPacket:
    return RtpPacket(payload_type=96, sequence_number=seq, timestamp=seq, ssrc=5, payload=payload)


def sent(d: DownTrack) -> int:
    out: Any = d.out
    return len(out.sent)


@pytest.mark.parametrize("kind", ["audio", "video"])
async def test_a_flood_is_cut_at_the_budget(clock: list[float], kind: str) -> None:
    up, downs = room(kind)
    size = 1000
    body = KEY + bytes(size - len(KEY))
    flood = 2 * POLICE_BURST[kind] // size  # twice the burst, all at one instant
    for seq in range(flood):
        await up.on_packet(packet(seq, body))
    allowed = POLICE_BURST[kind] // size
    assert all(sent(d) == allowed for d in downs)
    assert up.policed == flood - allowed
    assert up.forwarded == 11 * allowed
    # One second later the budget has refilled by the rate (capped at the burst).
    clock[0] += 1.0
    for seq in range(flood, 2 * flood):
        await up.on_packet(packet(seq, body))
    refill = min(POLICE_RATE[kind], POLICE_BURST[kind]) // size
    assert all(sent(d) == allowed + refill for d in downs)


async def test_a_real_publisher_is_never_policed(clock: list[float]) -> None:
    """30 fps video at 1.5 Mbps with a 60 kB keyframe every 2 s, and 510 kbps Opus."""
    video, _ = room("video")
    audio, _ = room("audio")
    seq_v = seq_a = 0
    next_audio = clock[0]
    for frame in range(30 * 10):
        frame_bytes = 60_000 if frame % 60 == 0 else 1_500_000 // 8 // 30
        for _ in range(frame_bytes // 1200):
            await video.on_packet(packet(seq_v, KEY + bytes(1198)))
            seq_v += 1
        while next_audio <= clock[0]:  # a 20 ms Opus frame every 20 ms
            await audio.on_packet(packet(seq_a, bytes(510_000 // 8 // 50)))
            seq_a += 1
            next_audio += 0.02
        clock[0] += 1 / 30
    assert seq_a >= 495
    assert video.policed == 0 and audio.policed == 0
    assert video.forwarded == 11 * seq_v and audio.forwarded == 11 * seq_a
