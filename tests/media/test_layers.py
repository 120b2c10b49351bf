"""Per-receiver VP8 temporal layers at the forwarding point (no network): the descriptor is
read, one receiver gets fewer layers while another gets all, each sees continuous sequence
numbers and picture ids, NACKs map back through the layer drops, and switching waits for a
frame it can decode from."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from server.media.downtrack import KEYFRAME_PER_RECEIVER_S
from server.media.forwarding import DownTrack, ReceiverLink, UpTrack
from server.media.layers import (
    AFTER_CUT_S,
    CAPACITY_MARGIN,
    DECREASE_MARGIN,
    DELAY_BACKOFF,
    GROWTH,
    KNOWN_REPORTS,
    MAX_TID,
    NO_VIDEO,
    PROBE_AFTER_S,
    PROBE_BACKOFF,
    REPORT_GAP_S,
    SENT_GROWTH_CAP,
    START_BPS,
    STARTUP_GROWTH,
    LayerFilter,
    LayerRates,
    LinkEstimate,
    parse_vp8,
    pick_layer,
    rewrite_picture_id,
)
from tests.media import fakes as fake_objects

PATTERN = (0, 2, 1, 2)  # L1T3: the temporal layer of frame i is PATTERN[i % 4]


def descriptor(pid: int, tid: int, *, sync: bool, start: bool = True, key: bool = False) -> bytes:
    """X=1, I (15-bit picture id), L (TL0PICIDX), T (TID, Y), then a VP8 payload header."""
    b0 = 0x80 | (0x10 if start else 0)
    x = 0x80 | 0x40 | 0x20
    tidy = (tid << 6) | (0x20 if sync else 0)
    vp8 = bytes([0x00 if key else 0x01]) if start else b"\x55"
    return bytes([b0, x, 0x80 | (pid >> 8) & 0x7F, pid & 0xFF, 7, tidy]) + vp8 + b"data"


def frame_packets(i: int, seq: int, per_frame: int = 2, key: bool = False) -> list[RtpPacket]:
    tid = PATTERN[i % 4]
    sync = tid > 0 and i % 4 != 3  # the last T2 frame of a period refers to the T1 frame
    return [
        RtpPacket(
            payload_type=96,
            sequence_number=(seq + k) & 0xFFFF,
            timestamp=i * 3000,
            ssrc=7,
            marker=k == per_frame - 1,
            payload=descriptor(1000 + i, tid, sync=sync, start=k == 0, key=key and k == 0),
        )
        for k in range(per_frame)
    ]


@pytest.fixture(autouse=True)
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_objects.install(monkeypatch)


def sent(down: DownTrack) -> list[bytes]:
    out: Any = down.out
    return out.sent  # type: ignore[no-any-return]


def seqs(down: DownTrack) -> list[int]:
    return [struct.unpack("!H", d[2:4])[0] for d in sent(down)]


def pids(down: DownTrack) -> list[int]:
    out = []
    for d in sent(down):
        info = parse_vp8(d[12:])
        if info is not None and info.frame_start:
            out.append(((d[12 + info.pid_at] & 0x7F) << 8) | d[13 + info.pid_at])
    return out


def test_descriptor_is_read() -> None:
    info = parse_vp8(descriptor(300, 2, sync=True, key=False))
    assert info is not None
    assert (info.tid, info.sync, info.frame_start, info.keyframe) == (2, True, True, False)
    assert info.pid_long and info.pid_at == 2
    key = parse_vp8(descriptor(5, 0, sync=False, key=True))
    assert key is not None and key.keyframe
    assert parse_vp8(b"\x90") is None  # truncated
    plain = parse_vp8(bytes([0x10, 0x00]))  # no extension: no layers
    assert plain is not None and plain.tid is None
    moved = rewrite_picture_id(descriptor(1, 0, sync=False), info, 3)
    assert ((moved[2] & 0x7F) << 8 | moved[3]) == 0x7FFE  # wraps in 15 bits


async def test_a_weak_receiver_gets_fewer_layers_and_a_continuous_stream() -> None:
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    full = DownTrack("full", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    weak = DownTrack("weak", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    for d in (full, weak):
        up.add_down(d)
        d.ready = True
    seq = 100
    for i in range(4):  # the first period at full rate for both
        for p in frame_packets(i, seq, key=i == 0):
            await up.on_packet(p)
        seq += 2
    assert weak.layers is not None
    weak.layers.target = 0  # 7.5 fps for this receiver only
    for i in range(4, 16):
        for p in frame_packets(i, seq):
            await up.on_packet(p)
        seq += 2
    assert len(sent(full)) == 32
    assert len(sent(weak)) == 8 + 3 * 2  # 4 frames, then only the T0 frames (4, 8, 12)
    for d in (full, weak):  # no gap in either receiver's numbering or picture ids
        s = seqs(d)
        assert s == [(s[0] + k) & 0xFFFF for k in range(len(s))]
        ids = pids(d)
        assert ids == list(range(ids[0], ids[0] + len(ids)))
    # a NACK from the weak receiver maps back through the drops to the right packet
    lost = sent(weak)[-2]
    await weak.retransmit(seqs(weak)[-2])
    assert sent(weak)[-1] == lost
    assert weak.layers.switches == 1 and full.layers is not None and full.layers.switches == 0
    assert weak.layers.dropped == 3 * 2 * 3  # frames 5-7, 9-11, 13-15: two packets each
    weak.rebind(up)  # a new stream on the slot: the counts are kept
    assert (weak.layer_dropped_before, weak.layer_switches_before) == (18, 1)


def test_switching_up_waits_for_a_sync_frame_or_a_keyframe() -> None:
    f = LayerFilter()
    f.target = f.current = 0
    info = [
        parse_vp8(descriptor(i, PATTERN[i % 4], sync=PATTERN[i % 4] > 0 and i % 4 != 3))
        for i in range(8)
    ]
    assert all(x is not None for x in info)
    f.target = 2
    got = [f.forward(x) for x in info if x is not None]
    # frame 0 (T0) yes; frame 1 (T2, sync) needs T1 first: no; frame 2 (T1, sync): up to 1;
    # frame 3 (T2, not sync): no; frame 5 (T2, sync): up to 2; then everything
    assert got == [True, False, True, False, True, True, True, True]
    assert f.current == 2 and f.switches == 2
    f.target = NO_VIDEO  # no video at all; back only on a key frame
    assert not f.forward(info[0])  # type: ignore[arg-type]
    f.target = 2
    assert not f.forward(info[2])  # type: ignore[arg-type]
    key = parse_vp8(descriptor(9, 0, sync=False, key=True))
    assert key is not None and f.forward(key) and f.current == 2


def test_link_estimate_and_layer_choice() -> None:
    rates = LayerRates()
    rates.rates = [300_000.0, 150_000.0, 150_000.0]  # T0 7.5 fps, +T1 15 fps, +T2 30 fps
    assert pick_layer(700_000, rates) == 2
    assert pick_layer(500_000, rates) == 1
    assert pick_layer(320_000, rates) == 0
    assert pick_layer(100_000, rates) == NO_VIDEO
    assert pick_layer(0, LayerRates()) == MAX_TID  # nothing measured yet
    est = LinkEstimate()
    est.on_report(0.15, 700_000, now=10.0)  # a queue overflowing: down to what got through
    after = 700_000 * 0.85 * DECREASE_MARGIN
    assert est.available_bps == pytest.approx(after)
    est.on_report(0.30, 300_000, now=12.0)  # a late report of the same overload: held
    assert est.available_bps == pytest.approx(after)
    for k in range(20):  # 3 % random loss, round trip unknown: creep, not past the capacity
        est.on_report(0.03, 500_000, now=12.5 + 0.1 * k)
    capacity = 700_000 * 0.85
    assert est.capacity_bps == pytest.approx(capacity)
    assert est.available_bps == pytest.approx(capacity * CAPACITY_MARGIN)
    est.on_report(0.0, 400_000, now=40.0)  # capacity forgotten; clean: grow
    assert est.available_bps == pytest.approx(capacity * CAPACITY_MARGIN * 1.08)
    est.on_remb(200_000)
    assert est.available_bps == 200_000


def test_a_cut_path_is_not_a_narrow_one() -> None:
    """The first report after a cut (Wi-Fi gone for 10 s) says nearly everything was lost:
    the estimate holds, so video is back at once when the path is (test_e2e_media_cut)."""
    est = LinkEstimate()
    est.on_report(0.0, 800_000, now=1.0)
    before = est.available_bps
    est.on_report(0.99, 800_000, now=12.0)
    assert est.available_bps == before and est.capacity_bps == 0.0
    # The next reports still count the cut's tail in their interval (a receiver's report
    # covers about a second): they hold too, for AFTER_CUT_S after the gap in reports.
    est.on_report(0.5, 800_000, now=12.0 + AFTER_CUT_S - 0.1)
    assert est.available_bps == before and est.capacity_bps == 0.0
    est.on_report(0.5, 800_000, now=12.0 + AFTER_CUT_S + 0.5)  # half lost: an overload
    assert est.available_bps == pytest.approx(800_000 * 0.5 * DECREASE_MARGIN)


def test_a_report_after_a_silence_holds_even_below_the_cut_threshold() -> None:
    """A 10 s cut whose first report back counts 60 % lost (half its interval was the cut):
    not an overload. Without the gap rule the estimate fell to what got through and the
    member's video stayed off for about 20 s after a 10 s cut (test_e2e_media_cut)."""
    est = LinkEstimate()
    est.on_report(0.0, 800_000, now=1.0)
    before = est.available_bps
    est.on_report(0.6, 800_000, now=1.0 + REPORT_GAP_S + 8.0)
    assert est.available_bps == before and est.overloads == 0
    # reports at the usual pace are judged as before
    est.on_report(0.6, 800_000, now=1.0 + REPORT_GAP_S + 8.0 + AFTER_CUT_S + 0.5)
    assert est.overloads == 1


async def test_receiver_link_puts_audio_first(monkeypatch: pytest.MonkeyPatch) -> None:
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    link = ReceiverLink()
    link.estimate.reports = KNOWN_REPORTS  # past the start: the estimate is known
    video = DownTrack("w", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    audio = DownTrack("w", "audio", sender=object(), payload_type=111)  # type: ignore[arg-type]
    up.add_down(video)
    audio.source = up  # any source: only its octets count
    for d in (video, audio):
        d.link = link
        link.downs.append(d)
        d.ready = True
    seq = 0
    for i in range(4):
        for p in frame_packets(i, seq, key=i == 0):
            await up.on_packet(p)
        seq += 2
    assert up.layer_rates is not None
    up.layer_rates.rates = [300_000.0, 150_000.0, 150_000.0]
    link.estimate.estimate_bps = 600_000
    link.audio_bps = 0
    link.measured = True  # no audio measured
    link.allocate()
    assert video.layers is not None and video.layers.target == 1  # 600k * 0.92 = 552k
    link.audio_bps = 150_000  # audio is taken out first: (600k - 150k) * 0.92 = 414k
    link.allocate()
    assert video.layers.target == 0
    link.audio_bps = 400_000  # not even layer 0 fits: no video, audio keeps going
    link.allocate()
    assert video.layers.target == NO_VIDEO


def test_random_loss_with_no_queue_is_not_congestion() -> None:
    """3 % random loss on a link whose round trip stays at its base: the estimate grows as on
    a clean link; a queue building (the round trip up by more than DELAY_HIGH_S) is an
    overload before anything is lost, and a queue of DELAY_HOLD_S stops the growth."""
    est = LinkEstimate(estimate_bps=400_000, overloads=1)  # past the slow start
    for k in range(5):
        est.on_rtt(0.150 + 0.002 * (k % 2), now=float(k))
        est.on_report(0.03, 500_000, now=float(k))
    assert est.available_bps == pytest.approx(400_000 * GROWTH**5)
    assert est.overloads == 1
    for k in range(5, 8):
        est.on_rtt(0.200, now=float(k))  # about 45 ms of queue (smoothed): hold
    held = est.available_bps
    est.on_report(0.0, 500_000, now=8.0)
    assert est.available_bps == held
    for k in range(8, 12):
        est.on_rtt(0.400, now=float(k))  # 250 ms of queue, no loss yet
    est.on_report(0.0, 500_000, now=12.0)  # nothing lost: a share of the estimate
    assert est.overloads == 2 and est.available_bps == pytest.approx(held * DELAY_BACKOFF)
    est.on_report(0.0, 300_000, now=30.0)  # the last round trip is stale: no queue known
    grown = held * DELAY_BACKOFF * GROWTH
    assert est.available_bps == pytest.approx(grown)
    est.on_rtt(0.600, now=31.0)
    est.on_report(0.0, 100_000, now=31.0)  # a queue, but we send far less: not ours, no
    assert est.available_bps == pytest.approx(grown) and est.overloads == 2  # decrease, no probe


def test_growth_waits_for_what_is_sent_after_an_overload() -> None:
    """Held at layer 0 after an overload, the receiver has not shown its link carries more
    than what got through then, or 1.25 x what it is sent now: the estimate grows to that,
    not past it, until PROBE_AFTER_S."""
    est = LinkEstimate()
    est.on_report(0.2, 600_000, now=0.0)
    assert est.available_bps == pytest.approx(480_000 * DECREASE_MARGIN)
    for k in range(15):  # after the capacity memory (6 s), before PROBE_AFTER_S
        est.on_report(0.0, 300_000, now=6.5 + 0.5 * k)
    assert est.available_bps == pytest.approx(480_000)  # what got through; > 1.25 x 300k
    est.on_report(0.0, 450_000, now=14.0)
    assert est.available_bps == pytest.approx(480_000 * GROWTH)  # < 1.25 x 450k
    est.on_report(0.0, 300_000, now=16.0)  # 15 s after the overload: probe again
    assert est.available_bps == pytest.approx(480_000 * GROWTH**2)
    off = LinkEstimate()
    off.on_report(0.5, 400_000, now=0.0)
    off.on_report(0.5, 100_000, now=4.0, video_off=True)  # audio alone: nothing to take away
    assert off.overloads == 1  # no video fits now: audio alone tests nothing,
    for k in range(3):  # so the estimate grows to bring layer 0 back
        off.on_report(0.0, 100_000, now=7.0 + k, video_off=True)
    assert off.available_bps == pytest.approx(400_000 * 0.5 * DECREASE_MARGIN * GROWTH**3)


def test_a_probe_is_one_step_and_goes_back_at_the_first_queue() -> None:
    """Past what was sent x 1.25 the estimate grows only as a probe, as far as the next layer
    needs; a round-trip sample showing a queue soon after takes it back at once, below where
    it started (before the link's queue overflows), and no probe follows for PROBE_AFTER_S."""
    est = LinkEstimate()
    est.on_rtt(0.150, now=0.0)
    est.on_report(0.0, 400_000, now=0.5, probe_bps=900_000)  # slow start: 600k x 1.25
    assert est.available_bps == pytest.approx(START_BPS * STARTUP_GROWTH)
    est.on_report(0.0, 400_000, now=1.0, probe_bps=800_000)  # no further than the probe
    assert est.available_bps == pytest.approx(800_000)
    est.on_rtt(0.150 + 0.25, now=1.5)  # 125 ms of queue (smoothed): the layer does not fit
    assert est.available_bps == START_BPS * PROBE_BACKOFF and est.failed_probes == 1
    for k in range(10):  # clean reports: back to what is sent x 1.25 at most, no probe
        est.on_report(0.0, 560_000, now=2.0 + k, probe_bps=800_000)
    assert est.available_bps == pytest.approx(560_000 * SENT_GROWTH_CAP)
    est.on_report(0.0, 560_000, now=1.5 + PROBE_AFTER_S, probe_bps=800_000)
    assert est.available_bps == pytest.approx(560_000 * SENT_GROWTH_CAP * GROWTH)


def test_video_stays_on_at_layer_0_and_tile_caps_are_honoured() -> None:
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    link = ReceiverLink()
    link.estimate.reports = KNOWN_REPORTS  # past the start: the estimate is known
    video = DownTrack("w", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    up.add_down(video)
    video.link = link
    link.downs.append(video)
    video.ready = True
    video.layers = LayerFilter()
    up.layer_rates = LayerRates()
    up.layer_rates.rates = [300_000.0, 150_000.0, 150_000.0]
    link.estimate.estimate_bps = 300_000  # 276k for video: layer 0 (300k) just short
    link.allocate()
    assert video.layers.target == 0  # video on: kept at layer 0 (paced), not switched off
    link.estimate.estimate_bps = 200_000  # far below layer 0: no video
    link.allocate()
    assert video.layers.target == NO_VIDEO
    link.estimate.estimate_bps = 300_000  # back on only once layer 0 fits
    link.allocate()
    assert video.layers.target == NO_VIDEO
    link.estimate.estimate_bps = 1_000_000
    link.allocate()
    assert video.layers.target == 2
    link.set_tile_cap("pub", 0)  # a small tile: layer 0 is enough
    assert video.layers.target == 0
    link.set_tile_cap("other", 1)  # another publisher's cap changes nothing here
    assert video.layers.target == 0
    link.set_tile_cap("pub", None)
    assert video.layers.target == 2
    link.close()


def test_one_receiver_cannot_storm_its_publisher_with_keyframe_requests() -> None:
    up = UpTrack("pub", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    down = DownTrack("w", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    up.add_down(down)
    up._pli_pending = False
    down.request_keyframe()
    assert up._pli_pending
    up._pli_pending = False
    for _ in range(20):  # a PLI flood within a second: none passed on
        down.request_keyframe()
    assert not up._pli_pending
    down.keyframe_at -= KEYFRAME_PER_RECEIVER_S
    down.request_keyframe()
    assert up._pli_pending
