"""Pacing towards a narrow receiver (no network): video leaves at the set rate with
retransmissions first, the backlog sheds the top temporal layer first and never layer 0, audio
is never queued, nothing queued leaves after its publisher is gated, and pacing is switched on
for a new receiver (until its estimate is known) and for a receiver whose estimate is below
what it would be sent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.media.forwarding import DownTrack, ReceiverLink, UpTrack
from server.media.layers import (
    KNOWN_REPORTS,
    START_BPS,
    STARTUP_GROWTH,
    LayerFilter,
    LayerRates,
    parse_vp8,
)
from server.media.pacer import BUDGET_S, HARD_LIMIT_S, WIRE_EXTRA, PacedOut, PaceDriver, Pacer
from server.media.receiverlink import PACE_FACTOR
from tests.media import fakes as fake_objects
from tests.media.test_layers import PATTERN, descriptor, frame_packets


@pytest.fixture(autouse=True)
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_objects.install(monkeypatch)


def _always(_: Any) -> bool:
    return True


def test_video_leaves_at_the_rate() -> None:
    p = Pacer(800_000)  # 100 kB/s: a 962-byte packet (1000 on the wire) every 10 ms
    for i in range(10):
        assert p.push(1000 - WIRE_EXTRA, i, now=0.0)
    assert p.backlog_s(0.0) == pytest.approx(0.1)
    assert p.due(0.0, _always) == [0]  # the first at once, then one per 10 ms
    assert p.due(0.005, _always) == []
    assert p.due(0.0105, _always) == [1]
    assert p.due(0.05, _always) == [2, 3, 4, 5]  # a late timer catches up
    for i in range(10, 25):
        p.push(962, i, now=0.05)
    got = p.due(0.5, _always)  # by BURST_S at most (250 ms: 25 packets, and the one due)
    assert got == list(range(6, 25)) and p.next_at() is None and p.queued_bytes == 0
    for i in range(3):  # after 10 s idle: no credit, a burst is paced
        p.push(962, i, now=10.0)
    assert p.due(10.0, _always) == [0] and p.due(10.01, _always) == [1]


def test_retransmissions_go_first_and_a_gated_item_costs_nothing() -> None:
    p = Pacer(800_000)
    p.push(962, "media", now=0.0)
    p.push(962, "gated", now=0.0, rtx=True)
    p.push(962, "repair", now=0.0, rtx=True)
    assert p.due(0.0, lambda item: item != "gated") == ["repair"]
    assert p.due(0.0105, _always) == ["media"]  # "gated" took none of the link's time


def test_backlog_sheds_the_top_layer_first_and_refuses_past_the_limit() -> None:
    p = Pacer(80_000)  # 10 kB/s
    assert p.layer_limit(0.0) == 2
    per_100ms = 1000 - WIRE_EXTRA
    for _ in range(int(BUDGET_S * 10) + 1):
        p.push(per_100ms, None, now=0.0)
    assert p.layer_limit(0.0) == 1  # over the budget: no layer-2 frames
    for _ in range(int(BUDGET_S * 10)):
        p.push(per_100ms, None, now=0.0)
    assert p.layer_limit(0.0) == 0  # over twice the budget: layer 0 only, never less
    while p.backlog_s(0.0) <= HARD_LIMIT_S:
        assert p.push(per_100ms, None, now=0.0)
    assert not p.push(per_100ms, None, now=0.0) and p.refused == 1
    while p.push(per_100ms, "repair", now=0.0, rtx=True):  # retransmissions: up to twice
        pass
    assert p.backlog_s(0.0) > 2 * HARD_LIMIT_S and p.refused == 2
    assert p.drop(lambda _: False) > 0 and p.layer_limit(0.0) == 2  # emptied


def test_a_frame_limit_drops_whole_frames_and_comes_back_at_a_sync_frame() -> None:
    f = LayerFilter()
    frames = [
        [
            parse_vp8(descriptor(i, PATTERN[i % 4], sync=PATTERN[i % 4] > 0 and i % 4 != 3)),
            parse_vp8(descriptor(i, PATTERN[i % 4], sync=False, start=False)),
        ]
        for i in range(12)
    ]
    got = []
    for i, frame in enumerate(frames):
        limit = 0 if 4 <= i < 6 else 2  # a backlog while frames 4 and 5 start
        got.append([f.forward(x, limit) for x in frame if x is not None])
    # frames 5 (T2), 6 (T1 sync: back to 1), 7 (T2, not sync: still dropped) ... 9 (T2 sync)
    assert got[4] == [True, True] and got[5] == [False, False]
    assert got[6] == [True, True] and got[7] == [False, False]
    assert all(g == [True, True] for g in got[8:])
    assert f.shed == 1 and f.target == 2 and f.current == 2


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _paced_pair() -> tuple[UpTrack, DownTrack, PaceDriver, Clock]:
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    down = DownTrack("weak", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    up.add_down(down)
    down.ready = True
    clock = Clock()
    driver = PaceDriver(80_000, clock=clock)
    down.out = PacedOut(down.out, down, driver)  # type: ignore[arg-type]
    return up, down, driver, clock


def _direct(down: DownTrack) -> list[bytes]:
    out = down.out
    assert isinstance(out, PacedOut)
    return out.inner.sent  # type: ignore[attr-defined,no-any-return]


async def test_nothing_queued_leaves_after_its_publisher_is_gated() -> None:
    up, down, driver, clock = _paced_pair()
    seq = 0
    for i in range(8):
        for p in frame_packets(i, seq, key=i == 0):
            await up.on_packet(p)
        seq += 2
    queued = len(driver.pacer)
    assert queued > 2 and driver.run_due() >= 1
    up.enabled = False  # the capability gate closes while video is queued
    clock.t = 10.0
    assert driver.run_due() == 0
    assert driver.gated == queued - len(_direct(down)) and len(driver.pacer) == 0
    before = len(_direct(down))
    up.enabled = True  # open again: a new packet goes, the old ones never do
    await up.on_packet(frame_packets(8, seq, key=True)[0])
    clock.t = 20.0
    driver.run_due()
    assert len(_direct(down)) == before + 1
    driver.close()


async def test_a_rebound_slot_drops_the_old_publishers_queue() -> None:
    up, down, driver, _clock = _paced_pair()
    for p in frame_packets(0, 0, key=True):
        await up.on_packet(p)
    other = UpTrack("other", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    other.add_down(down)
    assert driver.flush_gated() == 2 and len(driver.pacer) == 0
    driver.close()


async def test_the_backlog_sheds_frames_at_the_forwarder_with_continuous_numbers() -> None:
    up, down, driver, clock = _paced_pair()
    driver.pacer.rate_bps = 10_000  # cannot carry 3 packets of 61 bytes 30 times a second
    seq = 0
    for i in range(16):  # the backlog sheds T2, then T1
        for p in frame_packets(i, seq, per_frame=3, key=i == 0):
            await up.on_packet(p)
        seq += 3
        clock.t += 1 / 30
        driver.run_due()
    layers = down.layers
    assert layers is not None and layers.shed >= 1 and layers.dropped > 0
    clock.t += 10
    driver.run_due()
    out = _direct(down)
    numbers = [int.from_bytes(d[2:4], "big") for d in out]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    driver.close()


def _receiver() -> tuple[UpTrack, ReceiverLink, DownTrack, DownTrack]:
    """A publisher with layered video, and one receiver's link with a video and an audio
    slot (nothing forwarded yet)."""
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    link = ReceiverLink()
    video = DownTrack("w", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    audio = DownTrack("w", "audio", sender=object(), payload_type=111)  # type: ignore[arg-type]
    up.add_down(video)
    audio.source = up
    for d in (video, audio):
        d.link = link
        link.downs.append(d)
        d.ready = True
    return up, link, video, audio


async def test_pacing_only_for_a_receiver_below_what_it_would_be_sent() -> None:
    up, link, video, audio = _receiver()
    link.estimate.reports = KNOWN_REPORTS  # past the start (see the next test)
    link.estimate.estimate_bps = 10_000_000
    for p in frame_packets(0, 0, key=True):
        await up.on_packet(p)
    assert up.layer_rates is not None
    up.layer_rates.rates = [300_000.0, 150_000.0, 150_000.0]
    link.audio_bps = 100_000
    link.allocate()  # a known 10 Mbps estimate: the direct path
    assert link.pacer is None and not isinstance(video.out, PacedOut)
    link.estimate.estimate_bps = 500_000
    link.allocate()
    assert link.pacer is not None and isinstance(video.out, PacedOut)
    assert not isinstance(audio.out, PacedOut)  # audio is never queued
    assert link.pacer.pacer.rate_bps == pytest.approx(400_000 * PACE_FACTOR)
    link.estimate.estimate_bps = 2_000_000
    link.allocate()
    assert link.pacer is None and not isinstance(video.out, PacedOut)


async def test_a_new_receiver_starts_modest_and_paced_from_its_first_packet() -> None:
    """A new receiver's link is unknown: its estimate starts at START_BPS, not at what a LAN
    carries, and its layered video is paced from the first packet (the start used to go out
    unpaced at a 10 Mbps estimate and overflowed a 600 kbps link's queue); the layer is the
    one the start estimate affords. Pacing ends once the estimate is known and well above
    what the receiver is sent."""
    up, link, video, audio = _receiver()
    up.layer_rates = LayerRates()
    up.layer_rates.rates = [250_000.0, 120_000.0, 230_000.0]  # known from earlier receivers
    assert link.estimate.available_bps == START_BPS
    for p in frame_packets(0, 0, key=True):
        await up.on_packet(p)
    assert link.pacer is not None and isinstance(video.out, PacedOut)
    assert not isinstance(audio.out, PacedOut)
    assert video.layers is not None and video.layers.target == 1  # 600k * 0.92 = 552k
    assert _direct(video) == [] and len(link.pacer.pacer) == 2  # queued, not sent at once
    # clean reports: a slow start, faster than steady growth, then the estimate is known
    for k in range(KNOWN_REPORTS):
        link.audio_bps = 100_000
        link.estimate.on_report(0.0, 700_000, now=float(k))
        link.allocate()
    assert link.estimate.available_bps == pytest.approx(START_BPS * STARTUP_GROWTH**KNOWN_REPORTS)
    assert link.estimate.known
    link.pacer.run_due()
    link.estimate.on_report(0.0, 700_000, now=5.0)
    link.allocate()  # 1.46 Mbps, well above the 700 kbps it would be sent
    assert link.pacer is None and not isinstance(video.out, PacedOut)
    assert video.layers.target == 2


async def test_an_unlayered_stream_is_not_paced_while_the_estimate_is_unknown() -> None:
    """An unlayered publisher cannot be thinned: a start-up pacer below its rate would only
    delay it, so it keeps the direct path."""
    up, link, video, _ = _receiver()
    for p in frame_packets(0, 0, key=True):
        p.payload = b"\x10" + p.payload[6:]  # a plain VP8 descriptor: no temporal layers
        await up.on_packet(p)
    assert up.layer_rates is None and video.packets == 2
    link.allocate()
    assert link.pacer is None and not isinstance(video.out, PacedOut)


async def test_the_driver_sends_on_its_own_timer() -> None:
    up, down, driver, _ = _paced_pair()
    driver.close()
    inner: Any = down.out.inner  # type: ignore[union-attr]
    both = asyncio.Event()
    send = inner.send

    def counting(data: bytes) -> bool:
        ok: bool = send(data)
        if len(inner.sent) == 2:
            both.set()
        return ok

    inner.send = counting
    real = PaceDriver(80_000)  # the second packet leaves about 5 ms after the first
    down.out = PacedOut(inner, down, real)
    for p in frame_packets(0, 0, key=True):
        await up.on_packet(p)
    assert len(inner.sent) == 0  # queued, not sent by the forwarder itself
    await asyncio.wait_for(both.wait(), 2.0)
    assert real.idle
    real.close()
