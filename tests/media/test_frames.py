"""The quality bench's frame-level receiver (bench/frames.py, pure): a frame is shown once it
is complete and what it refers to was shown; a hole in a frame nothing needs does not stall
the stream; a hole in the layer-0 chain does until it is repaired, and a key frame is asked
for after 3 s without a decodable frame, then every 200 ms."""

from __future__ import annotations

from dataclasses import dataclass

from bench.frames import MAX_WAIT_FOR_FRAME_S, MAX_WAIT_FOR_KEYFRAME_S, FrameBuffer

PATTERN = (0, 2, 1, 2)  # L1T3: the temporal layer of frame i


@dataclass
class Packet:
    sequence_number: int
    marker: bool
    payload: bytes


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def frame(i: int, seq: int, *, key: bool = False, per_frame: int = 2) -> list[Packet]:
    """Frame ``i`` of an L1T3 stream (picture id i, TL0PICIDX counting layer-0 frames) as
    ``per_frame`` packets from ``seq`` on."""
    tid = PATTERN[i % 4]
    sync = tid > 0 and i % 4 != 3
    tl0 = (i // 4) & 0xFF
    out = []
    for k in range(per_frame):
        start = k == 0
        b0 = 0x80 | (0x10 if start else 0)
        head = bytes([b0, 0xE0, 0x80 | (i >> 8) & 0x7F, i & 0xFF, tl0])
        head += bytes([(tid << 6) | (0x20 if sync else 0)])
        body = bytes([0x00 if key else 0x01]) if start else b"\x55"
        out.append(Packet((seq + k) & 0xFFFF, k == per_frame - 1, head + body + b"data"))
    return out


def stream(frames: int, *, drop: frozenset[int] = frozenset()) -> list[tuple[int, list[Packet]]]:
    """Frames 0.. (0 a key frame), two packets each; sequence numbers in ``drop`` are lost."""
    out = []
    for i in range(frames):
        pkts = [p for p in frame(i, 2 * i, key=i == 0) if p.sequence_number not in drop]
        out.append((i, pkts))
    return out


def play(buf: FrameBuffer, clock: Clock, frames: list[tuple[int, list[Packet]]]) -> int:
    """Feed frames at 30 fps; returns how many key frame requests were made."""
    plis = 0
    for i, pkts in frames:
        clock.t = i / 30
        for p in pkts:
            pli, none = buf.add(p)
            assert none is None
            plis += pli
    return plis


def test_every_frame_of_a_clean_stream_is_shown_and_one_keyframe_asked_for_at_the_start() -> None:
    clock = Clock()
    buf = FrameBuffer(clock)
    plis = play(buf, clock, stream(40))
    assert len(buf.shown) == 40
    assert plis == 1  # the first packet: a key frame is required until one is shown


def test_a_hole_in_a_top_layer_frame_skips_that_frame_only() -> None:
    clock = Clock()
    buf = FrameBuffer(clock)
    play(buf, clock, stream(40, drop=frozenset({2 * 5})))  # frame 5 (layer 2, sync) loses a packet
    # frame 5 and frame 7 (layer 2, not sync: may refer to 5) are not shown; everything else
    assert len(buf.shown) == 38
    assert buf.skipped == 2


def test_a_hole_in_the_layer_0_chain_stalls_until_repaired() -> None:
    clock = Clock()
    buf = FrameBuffer(clock)
    lost = frame(8, 16)[1]  # frame 8 (layer 0) loses its second packet
    play(buf, clock, stream(20, drop=frozenset({lost.sequence_number})))
    assert len(buf.shown) == 8  # 0-7: every later frame refers to frame 8, directly or not
    buf.add(lost)  # the repair arrives: frame 8 and every complete frame after it
    assert len(buf.shown) == 20


def test_no_decodable_frame_for_3_s_asks_for_a_key_frame_every_200_ms() -> None:
    clock = Clock()
    buf = FrameBuffer(clock)
    play(buf, clock, stream(9))
    assert len(buf.shown) == 9
    lost_seq = 2 * 12  # frame 12 (layer 0) never arrives whole
    plis = 0
    i = 9
    while clock.t < 11 / 30 + MAX_WAIT_FOR_FRAME_S + 2.5 * MAX_WAIT_FOR_KEYFRAME_S:
        clock.t = i / 30
        for p in frame(i, 2 * i):
            if p.sequence_number != lost_seq:
                plis += buf.add(p)[0]
        i += 1
    shown = len(buf.shown)
    assert shown == 12  # 0-11; nothing after the hole
    assert plis == 3  # at 3 s without a decodable frame (frame 11 was), then every 200 ms
    for p in frame(i, 2 * i, key=True):  # the key frame
        buf.add(p)
    assert len(buf.shown) == shown + 1
