"""A frame-level video receiver for the quality bench: when would a browser show each frame?

aiortc's own receiver keeps a 512-packet jitter buffer that waits for every missing packet in
order, so one hole the sender never repairs (or one packet of a frame nothing depends on)
stalls its video for seconds; a browser does not. libwebrtc (Chromium) assembles frames,
decodes a frame as soon as it is complete and every frame it refers to has been decoded,
skips incomplete frames nothing decodable depends on, and asks for a key frame (PLI) when no
frame was decodable for ``MAX_WAIT_FOR_FRAME_S`` (3 s), then again every
``MAX_WAIT_FOR_KEYFRAME_S`` (200 ms) until one comes (``kMaxWaitForFrame``,
``kMaxWaitForKeyFrame`` in its ``video_receive_stream2``). :class:`FrameBuffer` models that
for VP8 with temporal layers (RFC 7741 payload descriptor), conservatively:

* a key frame depends on nothing;
* a layer-0 frame depends on the previous layer-0 frame (``TL0PICIDX`` one lower);
* a frame of a higher layer depends on the layer-0 frame of its ``TL0PICIDX``, and unless it
  has the layer-sync bit, on every frame between that one and itself (a lost frame's layer
  is not known, so it counts as needed).

It stands in for aiortc's jitter buffer (``add(packet) -> (pli, frame)``, always no frame: it
records when frames would be shown, ``shown``, instead of decoding them); aiortc's receiver
around it still keeps the statistics for receiver reports, unwraps RTX and sends NACKs.
Pure apart from the clock, which is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_WAIT_FOR_FRAME_S = 3.0
MAX_WAIT_FOR_KEYFRAME_S = 0.2
KEEP_FRAMES = 256  # frames remembered (decoded, or pending); older ones are forgotten


@dataclass(frozen=True, slots=True)
class Descriptor:
    """What a VP8 packet's payload descriptor says about its frame."""

    picture_id: int  # 15 bits
    tl0: int  # TL0PICIDX, 8 bits
    tid: int
    sync: bool
    start: bool  # first packet of the frame
    keyframe: bool


def parse_descriptor(payload: bytes) -> Descriptor | None:
    """The descriptor of a packet with picture id, TL0PICIDX and TID (as L1T3 senders write
    it); None for anything else."""
    if len(payload) < 6 or not payload[0] & 0x80:
        return None
    x = payload[1]
    if (x & 0xE0) != 0xE0 or not payload[2] & 0x80:
        return None  # needs I, L, T and a 15-bit picture id
    pid = ((payload[2] & 0x7F) << 8) | payload[3]
    tl0 = payload[4]
    tid = payload[5] >> 6
    sync = bool(payload[5] & 0x20)
    start = bool(payload[0] & 0x10) and (payload[0] & 0x07) == 0
    keyframe = start and len(payload) > 6 and (payload[6] & 0x01) == 0
    return Descriptor(pid, tl0, tid, sync, start, keyframe)


@dataclass(slots=True)
class _Frame:
    pid: int  # unwrapped picture id
    info: Descriptor | None = None  # from the frame's first packet
    tid: int | None = None  # from any of its packets
    first: int | None = None  # sequence number of its first packet (unwrapped)
    last: int | None = None  # of its marker packet
    seqs: set[int] = field(default_factory=set)

    def complete(self) -> bool:
        return (
            self.first is not None
            and self.last is not None
            and len(self.seqs) == self.last - self.first + 1
        )


class FrameBuffer:
    """Frames in, the times frames would be shown out (``shown``), and when to ask for a key
    frame (the ``pli`` half of ``add``'s answer)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.shown: list[float] = []
        self.plis = 0
        self.skipped = 0  # frames passed over (incomplete, or not decodable) for a later one
        self.late = 0  # packets that arrived after a later one (repairs, reordering)
        self._seen_seqs: set[int] = set()
        self._frames: dict[int, _Frame] = {}
        self._decoded: set[int] = set()
        self._tl0: dict[int, int] = {}  # TL0PICIDX -> unwrapped picture id of its decoded frame
        self._last: int | None = None  # unwrapped picture id of the last decoded frame
        self._seq_top: int | None = None
        self._pid_top: int | None = None
        self._keyframe_required = True
        self._last_progress: float | None = None  # last decode, or last PLI
        self._pli_at = -1e9

    @staticmethod
    def _unwrap(value: int, top: int | None, bits: int) -> int:
        if top is None:
            return value
        span = 1 << bits
        delta = (value - top) & (span - 1)
        if delta >= span // 2:
            delta -= span
        return top + delta

    def add(self, packet: Any) -> tuple[bool, None]:
        """One (RTX-unwrapped) RTP packet: ``sequence_number``, ``marker``, ``payload``."""
        now = self._clock()
        if self._last_progress is None:
            self._last_progress = now
        desc = parse_descriptor(bytes(packet.payload))
        if desc is not None:
            seq = self._unwrap(packet.sequence_number, self._seq_top, 16)
            if self._seq_top is not None and seq < self._seq_top:
                self.late += 1  # a repair (or reordered)
            self._seen_seqs.add(seq)
            self._seq_top = max(seq, self._seq_top if self._seq_top is not None else seq)
            pid = self._unwrap(desc.picture_id, self._pid_top, 15)
            self._pid_top = max(pid, self._pid_top if self._pid_top is not None else pid)
            if self._last is None or pid > self._last:
                frame = self._frames.setdefault(pid, _Frame(pid))
                frame.seqs.add(seq)
                frame.tid = desc.tid
                if desc.start:
                    frame.info, frame.first = desc, seq
                if packet.marker:
                    frame.last = seq
                self._decode(now)
        return self._want_keyframe(now), None

    def _decodable(self, frame: _Frame) -> bool:
        info = frame.info
        assert info is not None
        if info.keyframe:
            return True
        if self._keyframe_required:
            return False
        if info.tid == 0:
            return (info.tl0 - 1) & 0xFF in self._tl0
        base = self._tl0.get(info.tl0)
        if base is None or base > frame.pid:
            return False
        if info.sync:
            return True
        return all(
            p in self._decoded or self._above(p, info.tid) for p in range(base + 1, frame.pid)
        )

    def _above(self, pid: int, tid: int) -> bool:
        """Whether frame ``pid`` is known to be of a layer above ``tid`` (nothing refers to it)."""
        other = self._frames.get(pid)
        return other is not None and other.tid is not None and other.tid > tid

    def _decode(self, now: float) -> None:
        """Decode every complete frame whose references are decoded, oldest first; frames
        older than a decoded one are dropped (as libwebrtc's frame buffer does)."""
        progress = True
        while progress:
            progress = False
            for pid in sorted(self._frames):
                frame = self._frames[pid]
                if not frame.complete() or not self._decodable(frame):
                    continue
                info = frame.info
                assert info is not None
                if info.keyframe:
                    self._keyframe_required = False
                    self._tl0.clear()
                    self._decoded.clear()
                self._decoded.add(pid)
                if info.tid == 0:
                    self._tl0[info.tl0] = pid
                self.skipped += sum(1 for p in self._frames if p < pid)
                self._frames = {p: f for p, f in self._frames.items() if p > pid}
                self._last = pid
                self.shown.append(now)
                self._last_progress = now
                progress = True
                break
        if len(self._frames) > KEEP_FRAMES:
            for pid in sorted(self._frames)[: len(self._frames) - KEEP_FRAMES]:
                del self._frames[pid]
        if self._last is not None:
            floor = self._last - KEEP_FRAMES
            self._decoded = {p for p in self._decoded if p > floor}
            self._tl0 = {k: p for k, p in self._tl0.items() if p > floor}

    def _want_keyframe(self, now: float) -> bool:
        """libwebrtc's rule: no decodable frame for 3 s, a key frame is required; while one
        is, ask every 200 ms."""
        assert self._last_progress is not None
        if not self._keyframe_required and now - self._last_progress >= MAX_WAIT_FOR_FRAME_S:
            self._keyframe_required = True
        if self._keyframe_required and now - self._pli_at >= MAX_WAIT_FOR_KEYFRAME_S:
            self._pli_at = now
            self.plis += 1
            return True
        return False

    def holes(self) -> int:
        """Sequence numbers never received (between the first and the last seen)."""
        if not self._seen_seqs:
            return 0
        return max(self._seen_seqs) - min(self._seen_seqs) + 1 - len(self._seen_seqs)
