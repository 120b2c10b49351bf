"""Per-receiver adaptation with VP8 temporal layers (pure: no I/O, time passed in).

A browser that sends VP8 with ``scalabilityMode: 'L1T3'`` marks every packet with its temporal
layer (the T bit and TID of the payload descriptor, RFC 7741): layer 0 alone is 7.5 fps,
layers 0-1 are 15 fps, all three 30 fps, and a layer never depends on a higher one. The unit
can therefore drop layers for one receiver without touching anyone else's stream, and without
decoding: :func:`parse_vp8` reads the descriptor, :class:`LayerFilter` (one per video slot)
decides per packet and rewrites the picture id so the receiver sees a continuous stream (the
sequence numbers are made continuous by the forwarder), and :class:`LinkEstimate` (one per
receiver) turns the receiver's RTCP feedback into the bitrate its link carries.

Switching: down at the start of any frame; up only at the start of a frame with the layer-sync
bit (it references layer 0 only) or a key frame, so nothing forwarded refers to a frame the
receiver never got.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_TID = 2  # L1T3
NO_VIDEO = -1  # a layer target below layer 0: no video at all (audio first)


@dataclass(frozen=True, slots=True)
class Vp8Info:
    """What the forwarder needs from one packet's VP8 payload descriptor."""

    tid: int | None  # temporal layer, None when the descriptor has no T bit
    sync: bool  # Y: the frame depends on layer 0 only
    frame_start: bool  # S bit with partition 0: the first packet of a frame
    keyframe: bool
    pid_at: int  # offset of the picture id in the payload, -1 if none
    pid_long: bool  # 15-bit picture id (M bit), else 7-bit


def parse_vp8(payload: bytes) -> Vp8Info | None:
    """Read the VP8 payload descriptor (RFC 7741 section 4.2); None if it is malformed."""
    n = len(payload)
    if n < 1:
        return None
    b0 = payload[0]
    frame_start = bool(b0 & 0x10) and (b0 & 0x07) == 0
    i = 1
    tid: int | None = None
    sync = False
    pid_at = -1
    pid_long = False
    if b0 & 0x80:
        if n < 2:
            return None
        x = payload[1]
        i = 2
        if x & 0x80:  # I: picture id
            if n <= i:
                return None
            pid_at = i
            pid_long = bool(payload[i] & 0x80)
            i += 2 if pid_long else 1
        if x & 0x40:  # L: TL0PICIDX
            i += 1
        if x & 0x30:  # T or K: TID/Y/KEYIDX byte
            if n <= i:
                return None
            if x & 0x20:
                tid = payload[i] >> 6
                sync = bool(payload[i] & 0x20)
            i += 1
    if n <= i:
        return None
    keyframe = frame_start and (payload[i] & 0x01) == 0
    return Vp8Info(tid, sync, frame_start, keyframe, pid_at, pid_long)


def rewrite_picture_id(payload: bytes, info: Vp8Info, offset: int) -> bytes:
    """The payload with its picture id lowered by ``offset`` (modulo its width)."""
    if info.pid_at < 0 or offset == 0:
        return payload
    out = bytearray(payload)
    at = info.pid_at
    if info.pid_long:
        pid = ((out[at] & 0x7F) << 8) | out[at + 1]
        pid = (pid - offset) & 0x7FFF
        out[at] = 0x80 | (pid >> 8)
        out[at + 1] = pid & 0xFF
    else:
        out[at] = (out[at] - offset) & 0x7F
    return bytes(out)


class LayerFilter:
    """One receiver's view of one layered video stream: which packets it gets.

    ``target`` is the highest temporal layer this receiver should get (NO_VIDEO for none);
    ``current`` the one it gets now. ``forward(info)`` says whether a packet goes out, and
    keeps ``pid_offset`` (frames dropped so far) for :func:`rewrite_picture_id`."""

    __slots__ = ("_dropping", "current", "dropped", "pid_offset", "shed", "switches", "target")

    def __init__(self) -> None:
        self.target = MAX_TID
        self.current = MAX_TID
        self.pid_offset = 0
        self.dropped = 0
        self.switches = 0
        self.shed = 0  # of the switches down, those made for a pacer's backlog
        self._dropping = False  # the frame in progress is being dropped

    def forward(self, info: Vp8Info, limit: int = MAX_TID) -> bool:
        """Whether this packet goes out. ``limit`` caps the layer for a frame starting now
        (a pacer's backlog, :mod:`server.media.pacer`); back up only as for ``target``."""
        tid = info.tid if info.tid is not None else 0
        if info.frame_start:
            self._switch(info, tid, limit)
            self._dropping = tid > self.current
            if self._dropping:
                self.pid_offset += 1  # one frame fewer for this receiver
        if self._dropping:
            self.dropped += 1
            return False
        return True

    def _switch(self, info: Vp8Info, tid: int, limit: int) -> None:
        target = self.target
        if limit < target:
            target = max(limit, 0) if target >= 0 else target
        if target == self.current:
            return
        if target < self.current:
            self.current = target  # down: at any frame start
            self.switches += 1
            if target < self.target:
                self.shed += 1
        elif info.keyframe:
            self.current = target  # a key frame depends on nothing
            self.switches += 1
        elif info.sync and self.current >= 0 and tid == self.current + 1 <= target:
            self.current = tid  # up one layer at a frame that needs only layer 0
            self.switches += 1


RATE_SMOOTHING = 0.3  # weight of the newest window in a layer's rate


@dataclass(slots=True)
class LayerRates:
    """A publisher's measured bitrate per temporal layer (bits per second, over windows of
    ``window_s``), to know what each layer costs a receiver."""

    window_s: float = 1.0
    rates: list[float] = field(default_factory=lambda: [0.0] * (MAX_TID + 1))
    _bytes: list[int] = field(default_factory=lambda: [0] * (MAX_TID + 1))
    _since: float = -1.0

    def add(self, tid: int, size: int, now: float) -> None:
        if self._since < 0:
            self._since = now
        self._bytes[min(tid, MAX_TID)] += size
        elapsed = now - self._since
        if elapsed >= self.window_s:
            fresh = [b * 8 / elapsed for b in self._bytes]
            if any(self.rates):  # smoothed: a key frame in one window is not the rate
                a = RATE_SMOOTHING
                fresh = [a * f + (1 - a) * r for f, r in zip(fresh, self.rates, strict=True)]
            self.rates = fresh
            self._bytes = [0] * (MAX_TID + 1)
            self._since = now

    def cumulative(self, tid: int) -> float:
        """Bits per second of layers 0..tid."""
        return sum(self.rates[: tid + 1]) if tid >= 0 else 0.0


# Loss-based estimation, as in the loss half of Google's congestion control: above 10 % loss
# the link is overloaded (a queue overflows), under 2 % it may carry more, in between hold.
# The loss is the receiver's whole downlink (every stream's report weighted alike, see
# ReceiverLink), so 3 % random loss on a path never reads as an overload.
LOSS_HIGH = 0.10
LOSS_LOW = 0.02
GROWTH = 1.08
MAX_ESTIMATE_BPS = 10_000_000
# A new receiver's link is unknown: it starts at a modest estimate (mediasoup's default
# initialAvailableOutgoingBitrate; Chrome's GCC starts at 300 kbps), paced from its first
# packet (ReceiverLink), and grows faster until its first overload (a slow start: each clean
# report tests the rate just sent). The estimate is known after KNOWN_REPORTS reports.
START_BPS = 600_000
STARTUP_GROWTH = 1.25
KNOWN_REPORTS = 3
MIN_ESTIMATE_BPS = 50_000
DECREASE_HOLD_S = 3.0  # reports lag a queue drain: after a decrease, let its effect show
DECREASE_MARGIN = 0.85  # below what got through, so the queue that overflowed drains
PROBE_GROWTH = 1.02  # with some random loss (2-10 %), creep up ...
CAPACITY_MEMORY_S = 6.0  # ... but not past the capacity an overload showed, for this long
CAPACITY_MARGIN = 0.95  # (that capacity times this)
# Nearly everything lost is a cut path (Wi-Fi gone for a while), not a narrow one: the first
# report after it comes back says so. Not a capacity: the estimate holds (the page's media
# recovery handles cuts; docs/media.md).
CUT_LOSS = 0.9
# No report for this long: the path was cut (reports are lost with everything else). The
# reports in the first AFTER_CUT_S after it returns still count the cut's losses in their
# interval: a cut is not a narrow link, so their loss holds the estimate too.
REPORT_GAP_S = 3.0
AFTER_CUT_S = 2.5
# The delay half: the round trip from our sender reports and the receiver's answer to them
# (RTCP RR LSR/DLSR) grows with the queue at the narrow link before it overflows. Its
# excess over the smallest round trip of the last RTT_BASE_WINDOW_S is that queue.
RTT_BASE_WINDOW_S = 30.0
DELAY_HOLD_S = 0.04  # a queue this long: do not grow
DELAY_HIGH_S = 0.2  # this long: an overload, down to what got through (one RR round trip a
# second per stream, taken in a loaded event loop, jitters by about 100 ms: 0.1 s cut video)
PROBE_QUEUE_S = 0.1  # this long, soon after a probe: the probe did not fit
DELAY_SMOOTHING = 0.5
DELAY_FRESH_S = 2.0  # a round trip older than this says nothing about the queue now
DELAY_BACKOFF = 0.85  # a queue: down to this share of the estimate (or what got through)
# A queue is ours only while we fill the estimate: sending less, a longer round trip is
# someone else's traffic or a slow receiver, and only stops the growth.
FILLED_SHARE = 0.8
# Growth is capped at this multiple of what was sent (a receiver held at layer 0 has not
# shown that its link carries layer 1); until PROBE_AFTER_S after the last overload at most to
# what got through then, after it to what the next layer needs (one layer per probe).
SENT_GROWTH_CAP = 1.25
PROBE_AFTER_S = 15.0
PROBE_WINDOW_S = 3.0  # a queue or loss this soon after a probe: back to before it ...
# ... and a little below: a layer stays while its share covers its cost, but was taken up only
# with 15 % headroom (ReceiverLink's UP_MARGIN), so the estimate the probe started from may
# still hold the probed layer
PROBE_BACKOFF = 0.87


@dataclass(slots=True)
class LinkEstimate:
    """What one receiver's link carries, from its RTCP receiver reports (fraction lost per
    stream, round trip) and REMB when the receiver sends it. ``sent_bps`` is what the unit
    sent it over the last report interval (measured by the caller)."""

    estimate_bps: float = START_BPS
    remb_bps: float = MAX_ESTIMATE_BPS
    last_loss: float = 0.0
    capacity_bps: float = 0.0  # what got through in the last overload (0: none seen)
    tested_bps: float = 0.0  # the same, not forgotten: the link has carried it
    queue_delay_s: float = 0.0  # smoothed round trip above the base
    overloads: int = 0  # decreases so far (loss or delay)
    reports: int = 0  # reports judged so far (``known`` after KNOWN_REPORTS)
    rtt_s: float = 0.0  # the last round trip (0: none yet)
    _decreased_at: float = -1e9
    _rtt_at: float = -1e9
    _rtts: list[tuple[float, float]] = field(default_factory=list)  # (time, rtt), minima
    _report_at: float | None = None
    _holding_until: float = -1e9
    _queue_before: float = 0.0  # the queue at the last report
    _probe_at: float = -1e9  # when the estimate last grew past what was tested (a probe)
    _probe_from: float = 0.0  # the estimate before that probe
    failed_probes: int = 0

    def on_rtt(self, rtt_s: float, now: float) -> None:
        """One round-trip sample; keeps the base (the window's minimum) and the queue."""
        if not 0.0 <= rtt_s < 10.0:
            return  # a report about a sender report we never sent, or a wrapped clock
        rtts = self._rtts
        while rtts and rtts[-1][1] >= rtt_s:
            rtts.pop()  # a newer, smaller sample makes it irrelevant for the minimum
        rtts.append((now, rtt_s))
        while now - rtts[0][0] > RTT_BASE_WINDOW_S:
            rtts.pop(0)
        self.rtt_s = rtt_s
        excess = rtt_s - rtts[0][1]
        self.queue_delay_s += DELAY_SMOOTHING * (excess - self.queue_delay_s)
        self._rtt_at = now
        if self.queue_delay_s > PROBE_QUEUE_S:
            self.probe_failed(now)

    def on_report(
        self,
        loss_fraction: float,
        sent_bps: float,
        now: float = 0.0,
        *,
        delivered_bps: float | None = None,
        video_off: bool = False,
        probe_bps: float | None = None,
    ) -> None:
        """Overloaded (loss above LOSS_HIGH, or a queue above DELAY_HIGH_S): down to what got
        through (sent minus lost, with a margin), at most once per DECREASE_HOLD_S, and
        remember that as the link's capacity for a while; otherwise up (fast when clean,
        slowly with random loss, not at all while a queue builds), never past that capacity
        while it is remembered. Growth is also capped at SENT_GROWTH_CAP x what is sent
        (untested otherwise): until PROBE_AFTER_S after an overload, at most to what got
        through then; after it, to ``probe_bps`` when given (what the next layer up needs,
        so a probe is one layer, not a jump from layer 0 to 2 on an untested guess)."""
        self.last_loss = loss_fraction
        self.reports += 1
        if self._report_at is not None and now - self._report_at > REPORT_GAP_S:
            self._holding_until = now + AFTER_CUT_S  # a cut path has just come back
        self._report_at = now
        if loss_fraction >= CUT_LOSS or (now < self._holding_until and loss_fraction > LOSS_HIGH):
            return
        if now - self._decreased_at > CAPACITY_MEMORY_S:
            self.capacity_bps = 0.0
        fresh = now - self._rtt_at <= DELAY_FRESH_S
        queue_s = self.queue_delay_s if fresh else 0.0
        lossy = loss_fraction > LOSS_HIGH
        filled = sent_bps >= FILLED_SHARE * self.estimate_bps
        if not filled:
            queue_s = 0.0  # not ours (see FILLED_SHARE)
        if lossy and self.probe_failed(now):
            return
        # a queue that is draining (smaller than at the last report) needs no decrease
        queued = queue_s > DELAY_HIGH_S and queue_s >= self._queue_before
        self._queue_before = queue_s
        if (lossy or queued) and sent_bps > 0:
            # With video off only audio is sent, and audio is never taken away: a decrease
            # would change nothing now and keep video off longer afterwards.
            if now - self._decreased_at >= DECREASE_HOLD_S and not video_off:
                if delivered_bps is None:
                    delivered_bps = sent_bps * (1 - loss_fraction)
                delivered = max(MIN_ESTIMATE_BPS, delivered_bps)
                target = delivered * DECREASE_MARGIN
                if not lossy:  # a queue, nothing lost: what is sent may be paced below it
                    target = max(target, self.estimate_bps * DELAY_BACKOFF)
                self.capacity_bps = self.tested_bps = max(delivered, target)
                self.estimate_bps = min(self.estimate_bps, target)
                self._decreased_at = now
                self.overloads += 1
            return
        if queue_s > DELAY_HOLD_S:
            return
        # Some loss but no queue (when the round trip is known): random loss, not a full
        # link, so it grows as on a clean one.
        calm = fresh and queue_s < DELAY_HOLD_S / 2
        growth = GROWTH if loss_fraction < LOSS_LOW or calm else PROBE_GROWTH
        if growth == GROWTH and not self.overloads:
            growth = STARTUP_GROWTH  # nothing has overflowed yet: a slow start
        grown = min(MAX_ESTIMATE_BPS, max(self.estimate_bps, MIN_ESTIMATE_BPS) * growth)
        if self.capacity_bps:
            grown = min(grown, max(self.capacity_bps * CAPACITY_MARGIN, self.estimate_bps))
        tested = max(self.estimate_bps, sent_bps * SENT_GROWTH_CAP)
        if video_off:  # audio alone tests nothing: grow to bring layer 0 back, no further
            if probe_bps is not None:
                grown = min(grown, max(tested, probe_bps))
        elif now - self._decreased_at < PROBE_AFTER_S:
            grown = min(grown, max(tested, self.tested_bps))
        elif fresh and self.queue_delay_s > DELAY_HOLD_S:
            grown = min(grown, tested)  # a queue (ours or not): no probe now
        elif probe_bps is not None:  # a probe: as far as the next layer up needs
            grown = min(grown, max(tested, probe_bps))
            if grown > tested and now - self._probe_at > PROBE_WINDOW_S:
                self._probe_from, self._probe_at = self.estimate_bps, now
        self.estimate_bps = grown

    def probe_failed(self, now: float) -> bool:
        """Whether a probe is on and has failed (a queue of PROBE_QUEUE_S in the round trip,
        checked at each sample, or an overload): then the estimate goes back to a little below
        where the probe started (PROBE_BACKOFF), at the first sign, before the link's queue overflows, and no probe is
        made for PROBE_AFTER_S."""
        if now - self._probe_at > PROBE_WINDOW_S:
            return False
        self.estimate_bps = min(self.estimate_bps, self._probe_from * PROBE_BACKOFF)
        self._probe_at = -1e9
        self._decreased_at = now
        self.failed_probes += 1
        self.overloads += 1  # a decrease too: the slow start is over
        return True

    def on_remb(self, bitrate_bps: float) -> None:
        self.remb_bps = max(0.0, bitrate_bps)

    @property
    def known(self) -> bool:
        """Enough reports to trust the estimate (a new receiver is paced until then)."""
        return self.reports >= KNOWN_REPORTS

    @property
    def available_bps(self) -> float:
        return min(self.estimate_bps, self.remb_bps)


def share_out(budget_bps: float, needs: list[float]) -> list[float]:
    """Equal shares of ``budget_bps`` for streams that need ``needs`` each at most (a stream
    capped by a small tile), where what one does not need goes to the others (water
    filling): a stream never gets more than it needs unless every stream has all it needs."""
    shares = [0.0] * len(needs)
    open_ = sorted(range(len(needs)), key=lambda i: needs[i])
    left = max(0.0, budget_bps)
    while open_:
        share = left / len(open_)
        i = open_[0]
        if needs[i] > share:
            for j in open_:
                shares[j] = share
            return shares
        shares[i] = needs[i]
        left -= needs[i]
        open_.pop(0)
    if shares:  # everyone has what they need: the rest is headroom, shared alike
        extra = left / len(shares)
        shares = [s + extra for s in shares]
    return shares


def pick_layer(budget_bps: float, rates: LayerRates) -> int:
    """The highest temporal layer whose cumulative bitrate fits ``budget_bps`` (NO_VIDEO if
    not even layer 0 does). Before any rate is known, everything."""
    if not any(rates.rates):
        return MAX_TID
    best = NO_VIDEO
    for tid in range(MAX_TID + 1):
        if rates.cumulative(tid) <= budget_bps:
            best = tid
    return best
