"""One receiver's link (:class:`ReceiverLink`): its RTCP feedback (loss in receiver reports,
REMB, the round trip) becomes a bitrate estimate (``server/media/layers.py``), and the
estimate a layer target for each of its layered video slots (:mod:`server.media.downtrack`),
pacing (:mod:`server.media.pacer`) while it is below what would be sent, and a resend
budget; audio is always counted first.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from server.media.layers import (
    MAX_TID,
    NO_VIDEO,
    LinkEstimate,
    pick_layer,
    share_out,
)
from server.media.pacer import PacedOut, PaceDriver

if TYPE_CHECKING:
    from server.media.downtrack import DownTrack

# Resends for one receiver, in wire bytes, at most this share of its link estimate (a token
# bucket holding RTX_BURST_S of it): repairs must not push a full link into more loss.
RTX_SHARE = 0.2
RTX_BURST_S = 0.5
REPORT_MIN_INTERVAL_S = 0.5  # receiver reports of several slots arrive together
WIRE_OVERHEAD = 50  # bytes per packet besides the payload: RTP 12, SRTP tag 10, UDP 8, IP 20
SENT_WINDOW_S = 2.0  # the sending rate a report is judged against: over about this long
AUDIO_SHARE = 1.0  # audio is taken out of the estimate first, in full
HEADROOM = 0.92  # video gets this share of what is left (its packet overhead, RTX)
AUDIO_START_BPS = 50_000  # per audio slot on the wire, until audio is measured (Opus ~32k)
KEEP_T0 = 0.75  # video already on stays at layer 0 down to this share of its cost (paced)
# ... and to this share while the estimate is not known: a new receiver's joining asks the
# publisher for key frames, which inflate layer 0's measured rate for a few seconds
KEEP_T0_STARTING = 0.5
UP_MARGIN = 1.15  # a layer up only when its share covers its cost times this (headroom)
PROBE_SETTLE_S = 3.0  # the layers must hold this long before the estimate probes further
PACE_ON = 1.1  # pace while the estimate is below what would be sent times this
PACE_OFF = 1.2  # stop pacing once it is this far above (and the queue is empty)
PACE_FACTOR = 1.25  # video is paced at the estimate minus audio, times this (bursts drain)


class ReceiverLink:
    """One receiver's link: feedback in, a layer target for each layered video slot out, and
    pacing (:mod:`server.media.pacer`) while the estimate is below what it would be sent.

    Rates are counted on the wire (payload plus WIRE_OVERHEAD per packet: RTP, SRTP, UDP,
    IP), which matters for audio: a 32 kbps Opus stream costs about 52 kbps."""

    def __init__(self) -> None:
        self.downs: list[DownTrack] = []
        self.estimate = LinkEstimate()
        self.target = MAX_TID
        self.remb_bps = 0  # the receiver's last REMB (not used: on_remb)
        # fractions lost reported per kind since the last evaluation (one per stream report)
        self._loss: dict[str, list[float]] = {"audio": [], "video": []}
        self._at = -1.0
        self.audio_bps = 0.0
        self.video_bps = 0.0
        self.measured = False  # audio_bps and video_bps measured at least once
        # (time, audio wire bytes, video wire bytes) at evaluations, about SENT_WINDOW_S
        self._samples: list[tuple[float, int, int]] = []
        # publisher id -> the highest temporal layer its tile needs (the page's view; absent:
        # no cap)
        self.tile_caps: dict[str, int] = {}
        self.pacer: PaceDriver | None = None
        self.paced_periods = 0  # how often pacing was switched on
        self.probe_bps = 0.0  # what the next layer up needs (see allocate)
        self._settled_at = -1e9  # when a layer target last changed
        self._rtx_tokens = 0.0  # the resend budget's bucket (bytes), see resend_allowed
        self._rtx_at = 0.0

    def on_loss(self, fraction: float, kind: str = "video") -> None:
        """A receiver report's fraction lost for one of this receiver's streams."""
        self._loss.setdefault(kind, []).append(fraction)
        self._evaluate()

    def on_rtt(self, rtt_s: float) -> None:
        """A round trip measured from a receiver report about one of our sender reports."""
        failed = self.estimate.failed_probes
        self.estimate.on_rtt(rtt_s, time.monotonic())
        if self.estimate.failed_probes != failed:
            self.allocate()  # a probe that does not fit: its layer goes at once

    def on_remb(self, bitrate: int) -> None:
        """Kept, not used: a browser's REMB for forwarded video is no capacity. We forward no
        abs-send-time, so it guesses from RTP timestamps, and it never says more than about
        1.5 times what it receives: as a cap it locked receivers out (less video, a lower
        REMB, less video; the lost video after a reload in test_e2e_balint.py)."""
        self.remb_bps = bitrate

    def set_tile_cap(self, publisher_id: str, max_tid: int | None) -> None:
        """The highest temporal layer this receiver needs of ``publisher_id`` (its tile is
        small), or None for no cap; :meth:`allocate` never picks above it."""
        if max_tid is None:
            self.tile_caps.pop(publisher_id, None)
        else:
            self.tile_caps[publisher_id] = max(NO_VIDEO, min(MAX_TID, max_tid))
        self.allocate()

    def tile_cap(self, publisher_id: str) -> int:
        return self.tile_caps.get(publisher_id, MAX_TID)

    def _wire(self, kind: str) -> int:
        return sum(d.octets + WIRE_OVERHEAD * d.packets for d in self.downs if d.kind == kind)

    def _evaluate(self) -> None:
        now = time.monotonic()
        if self._at >= 0 and now - self._at < REPORT_MIN_INTERVAL_S:
            return
        samples = self._samples
        samples.append((now, self._wire("audio"), self._wire("video")))
        while len(samples) > 2 and now - samples[1][0] >= SENT_WINDOW_S:
            samples.pop(0)
        first = self._at < 0
        self._at = now
        t0, a0, v0 = samples[0]
        span = now - t0
        if first or span < REPORT_MIN_INTERVAL_S:
            return
        audio_bps = (samples[-1][1] - a0) * 8 / span
        video_bps = (samples[-1][2] - v0) * 8 / span
        # Each stream's report counts alike within its kind: one stream's unlucky interval
        # (6 of 50 packets at 3 % random loss) is not an overload of the whole link.
        la, lv = (_mean(self._loss.get(k, [])) for k in ("audio", "video"))
        self._loss = {"audio": [], "video": []}
        self.audio_bps = audio_bps
        self.video_bps = video_bps
        self.measured = True
        sent = audio_bps + video_bps
        delivered = audio_bps * (1 - la) + video_bps * (1 - lv)
        loss = 1 - delivered / sent if sent > 0 else max(la, lv)
        video_off = self.target == NO_VIDEO
        self.estimate.on_report(
            loss, sent, now, delivered_bps=delivered, video_off=video_off, probe_bps=self.probe_bps
        )
        self.allocate()

    def allocate(self) -> None:
        """Audio first; what is left is shared among the layered video streams, a stream
        whose tile needs fewer layers leaving the rest to the others (``share_out``); pace
        while the estimate is below what would be sent, and always while it is not known
        yet (a new receiver)."""
        layered = [
            d
            for d in self.downs
            if d.kind == "video" and d.ready and d.source is not None
            and d.source.layer_rates is not None
        ]  # fmt: skip
        available = self.estimate.available_bps
        audio_bps = self.audio_bps
        if not self.measured:  # not measured yet: what the audio slots will cost
            audio_bps = AUDIO_START_BPS * sum(
                1 for d in self.downs if d.kind == "audio" and d.ready and d.source is not None
            )
        budget = (available - AUDIO_SHARE * audio_bps) * HEADROOM
        full = 0.0
        needs: list[float] = []
        up_needs: list[float] = []  # the share each stream's next layer up would need
        for d in layered:
            src = d.source
            assert src is not None and src.layer_rates is not None
            rates = src.layer_rates
            full += rates.cumulative(MAX_TID)
            cap = self.tile_cap(src.participant_id)
            # what its tile needs, with the headroom a layer up asks for
            needs.append(rates.cumulative(cap) * UP_MARGIN if any(rates.rates) else budget)
        # What the link carried in its last overload (remembered for a while), per stream: an
        # overload's margin must not take away video the link has just carried.
        carried = (self.estimate.capacity_bps - AUDIO_SHARE * audio_bps) * HEADROOM
        carried_share = carried / len(layered) if layered else 0.0
        changed = False
        for d, share in zip(layered, share_out(budget, needs), strict=True):
            src = d.source
            assert src is not None and src.layer_rates is not None
            rates = src.layer_rates
            layers = d.layers
            current = layers.target if layers is not None else self.target
            target = pick_layer(share, rates)
            if not any(rates.rates) and not self.estimate.known:
                target = 0  # a new receiver, a new publisher: nothing measured, start low
            if target > current:  # up only with headroom: the estimate must hold above it
                target = max(current, pick_layer(share / UP_MARGIN, rates))
            keep = KEEP_T0 if self.estimate.known else KEEP_T0_STARTING
            if (
                target == NO_VIDEO
                and current >= 0
                and (share >= rates.cumulative(0) * keep or carried_share >= rates.cumulative(0))
            ):
                target = 0  # paced, layer 0 still fits (or the link just carried it): keep it
            target = min(target, self.tile_cap(src.participant_id))
            if target < self.tile_cap(src.participant_id) and any(rates.rates):
                up_needs.append(rates.cumulative(target + 1) * UP_MARGIN)
            self.target = target
            if layers is None or layers.target == target:
                continue
            if layers.target == NO_VIDEO:
                src.request_keyframe()  # video back on: it starts with a key frame
            layers.target = target
            changed = True
        now = time.monotonic()
        if changed:
            self._settled_at = now
        # What a probe may grow the estimate to: the next layer up of the stream that needs
        # the largest share for it, every stream given that share (0: nothing to go up to).
        # No probe until the layers have held for PROBE_SETTLE_S (a layer just taken up has
        # not shown yet that the link carries it).
        settled = now - self._settled_at >= PROBE_SETTLE_S
        self.probe_bps = (
            audio_bps + max(up_needs) * len(layered) / HEADROOM if up_needs and settled else 0.0
        )
        self._pace(available, full / HEADROOM, layered)

    def resend_allowed(self, wire_bytes: int, now: float) -> bool:
        """Whether a resend of ``wire_bytes`` fits this receiver's resend budget (RTX_SHARE
        of the estimate, or of what the link was last measured carrying where that is more:
        unlayered video is sent whatever the estimate, and a low estimate must not leave its
        holes unrepaired; a bucket of RTX_BURST_S); takes it if so."""
        given = max(self.estimate.available_bps, self.audio_bps + self.video_bps)
        rate = given * RTX_SHARE / 8
        tokens = min(rate * RTX_BURST_S, self._rtx_tokens + (now - self._rtx_at) * rate)
        self._rtx_at = now
        if tokens < wire_bytes:
            self._rtx_tokens = tokens
            return False
        self._rtx_tokens = tokens - wire_bytes
        return True

    def _pace(self, available: float, layered_full_bps: float, layered: list[DownTrack]) -> None:
        """Pacing of the layered video slots (their layer follows the estimate) while the
        estimate is not known yet or below what would be sent (with a margin); off once it is
        known, well above, and nothing is queued."""
        want = self.audio_bps + max(self.video_bps, layered_full_bps)
        driver = self.pacer
        video_rate = (available - self.audio_bps) * PACE_FACTOR
        starting = not self.estimate.known
        if driver is None:
            if not layered or (not starting and (want <= 0 or available >= want * PACE_ON)):
                return
            driver = self.pacer = PaceDriver(video_rate)
            self.paced_periods += 1
        elif not starting and available >= want * PACE_OFF and driver.idle:
            for d in self.downs:
                if isinstance(d.out, PacedOut):
                    d.out = d.out.inner
            driver.close()
            self.pacer = None
            return
        driver.pacer.set_rate(video_rate)
        # Only layered video is paced: an unlayered stream cannot be thinned, and a pacer
        # below its rate would only delay it (a room of unlayered bots whose receivers' new
        # estimates are still growing would lose video in the pacer's queue).
        for d in layered:
            if not isinstance(d.out, PacedOut):
                d.out = PacedOut(d.out, d, driver)

    def close(self) -> None:
        if self.pacer is not None:
            self.pacer.close()


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
