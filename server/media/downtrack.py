"""A subscriber's sendonly slot (:class:`DownTrack`): its own SSRC, payload type and offsets,
NACK answers (with RTX when negotiated) and, for layered video, the temporal layers this one
receiver gets (``server/media/layers.py``) with its numbering kept continuous.

:class:`server.media.receiverlink.ReceiverLink` is one receiver's link: the estimate, the
layer targets it gives these slots, pacing and the resend budget.
"""

from __future__ import annotations

import random
import struct
import time
from typing import TYPE_CHECKING

from aiortc import RTCRtpSender

from server.media import passthrough, sendpath
from server.media.layers import (
    MAX_TID,
    LayerFilter,
    Vp8Info,
    rewrite_picture_id,
)
from server.media.pacer import PacedOut
from server.media.receiverlink import WIRE_OVERHEAD

if TYPE_CHECKING:
    from server.media.forwarding import UpTrack
    from server.media.receiverlink import ReceiverLink

_HEADER = struct.Struct("!BBHII")
_OSN = struct.Struct("!H")  # RTX: the original sequence number before the payload
HISTORY_SIZE = 256  # video packets kept per publisher for retransmission (~3 s at 600 kbps)
_HISTORY_MASK = HISTORY_SIZE - 1
RETRANSMIT_PER_S = 64  # per subscriber slot: a NACK storm cannot turn into a flood
RESEND_GUARD_S = 0.25  # a packet resent this recently is not resent again (about an RTT) ...
RESEND_GUARD_RTT = 1.2  # ... or within this many of the receiver's last round trip
KEYFRAME_PER_RECEIVER_S = 1.0  # a receiver's PLI/FIR reach its publisher at most this often


class DownTrack:
    """A subscriber's sendonly slot for one kind. ``ready`` once the subscriber's answer
    covering it has been applied; ``source`` is the up-track currently bound to it."""

    __slots__ = (
        "dropped",
        "epoch_seq",
        "keyframe_at",
        "kind",
        "last_seq",
        "last_ts",
        "layer_dropped_before",
        "layer_switches_before",
        "layers",
        "link",
        "mid",
        "octets",
        "off_hist",
        "out",
        "out_map",
        "packets",
        "payload_type",
        "ready",
        "resent_at",
        "resync_seq",
        "resync_ts",
        "retransmitted",
        "rtx_count",
        "rtx_payload_type",
        "rtx_refused",
        "rtx_seq",
        "rtx_ssrc",
        "rtx_window",
        "sender",
        "seq_off",
        "skipped",
        "source",
        "ssrc",
        "subscriber_id",
        "ts_off",
        "unanswered",
        "waiting_keyframe",
    )

    def __init__(
        self, subscriber_id: str, kind: str, sender: RTCRtpSender, payload_type: int
    ) -> None:
        self.subscriber_id = subscriber_id
        self.kind = kind
        self.sender = sender
        self.ssrc = passthrough.sender_ssrc(sender)
        self.out: sendpath.RtpOut | PacedOut = sendpath.RtpOut(sender)
        self.payload_type = payload_type
        # RTX (RFC 4588) when the subscriber negotiated it: resends go on their own SSRC
        # and sequence numbers, the original sequence number in front of the payload.
        self.rtx_payload_type = -1
        self.rtx_ssrc = passthrough.sender_rtx_ssrc(sender)
        self.rtx_seq = random.randrange(0, 65536)
        self.mid: str | None = None
        self.ready = False
        self.source: UpTrack | None = None
        self.last_seq = random.randrange(0, 32768)
        self.last_ts = random.randrange(0, 2**32)
        self.resync_seq = True
        self.resync_ts = True
        self.seq_off = 0
        self.ts_off = 0
        self.waiting_keyframe = kind == "video"
        self.packets = 0
        self.octets = 0
        self.dropped = 0
        self.skipped = 0
        self.epoch_seq = 0  # our first sequence number since the last resync
        self.retransmitted = 0
        self.unanswered = 0  # NACKed packets not resent (too old, never had, over the limit)
        self.rtx_refused = 0  # of those, refused for the limit or the link's resend budget
        self.resent_at: list[tuple[int, float]] | None = None  # per out_seq slot, when
        self.rtx_window = 0.0
        self.rtx_count = 0
        self.keyframe_at = -1e9  # when this receiver's last PLI/FIR was passed on
        # Layered video (VP8 temporal layers): which layers this receiver gets, and the maps
        # that keep its numbering continuous while layers are dropped (created on first use).
        self.layers: LayerFilter | None = None
        self.layer_dropped_before = 0  # counts of earlier streams on this slot
        self.layer_switches_before = 0
        self.link: ReceiverLink | None = None
        self.out_map: list[tuple[int, int, int, bytes] | None] | None = None
        self.off_hist: list[tuple[int, int] | None] | None = None
        passthrough.on_keyframe_request(sender, self.request_keyframe)
        passthrough.on_nack(sender, self.retransmit)

    def rebind(self, source: UpTrack | None) -> None:
        """Attach to another publisher (or none): the next packet restarts the stream."""
        self.source = source
        self.ready = False
        self.resync_seq = True
        self.resync_ts = True
        self.waiting_keyframe = self.kind == "video"
        if self.layers is not None:
            self.layer_dropped_before += self.layers.dropped
            self.layer_switches_before += self.layers.switches
        self.layers = None
        self.out_map = None
        self.off_hist = None

    def seq_offset_resync(self, seq: int) -> None:
        """Continue our sequence numbers without a gap from incoming ``seq`` on."""
        self.seq_off = (self.last_seq + 1 - seq) & 0xFFFF
        self.epoch_seq = (self.last_seq + 1) & 0xFFFF
        self.resync_seq = False

    def ts_offset_resync(self, ts: int, step: int) -> None:
        self.ts_off = (self.last_ts + step - ts) & 0xFFFFFFFF
        self.resync_ts = False

    def request_keyframe(self) -> None:
        """Called on a PLI/FIR from the subscriber: ask the publisher, at most once per
        KEYFRAME_PER_RECEIVER_S for this receiver (the publisher's own limit, for all its
        receivers together, is in ``UpTrack``): one receiver cannot storm a sender."""
        if self.source is None:
            return
        now = time.monotonic()
        if now - self.keyframe_at < KEYFRAME_PER_RECEIVER_S:
            return
        self.keyframe_at = now
        self.source.request_keyframe()

    async def retransmit(self, out_seq: int) -> None:
        """Called per sequence number of a NACK from the subscriber: resend that packet from
        the publisher's history if it is one we sent under the current offsets."""
        src = self.source
        if src is None or src.history is None or self.resync_seq or not self.ready:
            return
        if not src.enabled:
            return  # the gate holds for resends too
        if src.audience is not None and self.subscriber_id not in src.audience:
            return  # not in the publisher's audience (another breakout group)
        last = self.last_seq
        if (last - out_seq) & 0xFFFF > (last - self.epoch_seq) & 0xFFFF:
            return  # before the current stream epoch, or not sent yet
        if self.out_map is not None:  # layers dropped: look up what went out under out_seq
            entry = self.out_map[out_seq & _HISTORY_MASK]
        else:
            in_seq = (out_seq - self.seq_off) & 0xFFFF
            entry = src.history[in_seq & _HISTORY_MASK]
            if entry is not None and entry[0] != in_seq:
                entry = None
        if entry is None or (self.out_map is not None and entry[0] != out_seq):
            self.unanswered += 1
            return  # too old, or never received: the publisher was asked when it went missing
        now = time.monotonic()
        resent = self.resent_at
        if resent is None:
            resent = self.resent_at = [(-1, 0.0)] * HISTORY_SIZE
        slot = out_seq & _HISTORY_MASK
        link = self.link
        guard = RESEND_GUARD_S
        if link is not None:
            guard = max(guard, link.estimate.rtt_s * RESEND_GUARD_RTT)
        if resent[slot][0] == out_seq and now - resent[slot][1] < guard:
            return  # resent a moment ago and still on its way: a repeated NACK (aiortc
            # repeats every missing packet with each new gap) costs no budget
        if now - self.rtx_window >= 1.0:
            self.rtx_window = now
            self.rtx_count = 0
        _, ts, b1_marker, payload = entry
        if self.rtx_count >= RETRANSMIT_PER_S or (
            link is not None and not link.resend_allowed(len(payload) + WIRE_OVERHEAD, now)
        ):
            self.unanswered += 1
            self.rtx_refused += 1
            return
        self.rtx_count += 1
        resent[slot] = (out_seq, now)
        out_ts = (ts + self.ts_off) & 0xFFFFFFFF
        if self.rtx_payload_type >= 0:
            rtx_seq = self.rtx_seq
            self.rtx_seq = (rtx_seq + 1) & 0xFFFF
            data = _HEADER.pack(
                0x80, b1_marker | self.rtx_payload_type, rtx_seq, out_ts, self.rtx_ssrc
            )
            data += _OSN.pack(out_seq) + payload
        else:
            data = _HEADER.pack(0x80, b1_marker | self.payload_type, out_seq, out_ts, self.ssrc)
            data += payload
        sent = self.out.send(data)
        if sent is None:
            sent = await passthrough.send_rtp(self.sender, data)
        if sent:
            self.retransmitted += 1
            src.retransmitted += 1

    def send_layered(
        self, seq: int, ts: int, b1_marker: int, payload: bytes, info: Vp8Info, in_order: bool
    ) -> bool:
        """Forward one packet of a layered stream, or drop it if its layer is above what
        this receiver gets; the receiver's sequence numbers and picture ids stay continuous.
        Returns whether it was sent."""
        layers = self.layers
        if layers is None:
            layers = self.layers = LayerFilter()
            self.out_map = [None] * HISTORY_SIZE
            self.off_hist = [None] * HISTORY_SIZE
            if self.link is not None:  # its layer (and pacing) from the first packet on
                self.link.allocate()
        off_hist = self.off_hist
        assert off_hist is not None
        if in_order:
            top = (self.last_seq - self.seq_off) & 0xFFFF  # the last incoming seq we mapped
            gap = (seq - top) & 0xFFFF
            if 1 < gap <= 32:  # holes: remember the offset their late packets will use
                for i in range(1, gap):
                    h = (top + i) & 0xFFFF
                    off_hist[h & _HISTORY_MASK] = (h, self.seq_off)
            limit = MAX_TID
            out = self.out
            if info.frame_start and type(out) is PacedOut:  # its backlog may shed this frame
                limit = out.driver.pacer.layer_limit(out.driver.now())
            if not layers.forward(info, limit):
                self.seq_off = (self.seq_off - 1) & 0xFFFF  # no hole where the packet was
                return False
            off = self.seq_off
        else:
            known = off_hist[seq & _HISTORY_MASK]
            tid = info.tid if info.tid is not None else 0
            if known is None or known[0] != seq or tid > layers.current:
                return False  # a late packet of a frame this receiver does not get
            off = known[1]
        if layers.pid_offset:
            payload = rewrite_picture_id(payload, info, layers.pid_offset)
        out_seq = (seq + off) & 0xFFFF
        out_ts = (ts + self.ts_off) & 0xFFFFFFFF
        data = _HEADER.pack(0x80, b1_marker | self.payload_type, out_seq, out_ts, self.ssrc)
        # Kept even if it cannot go now (a full pacer, a full socket buffer): the receiver's
        # NACK for the hole can still be answered.
        out_map = self.out_map
        assert out_map is not None
        out_map[out_seq & _HISTORY_MASK] = (out_seq, ts, b1_marker, payload)
        sent = self.out.send(data + payload)
        if sent is None:
            sent = passthrough.send_rtp_soon(self.sender, data + payload)
        if not sent:
            return False
        if in_order:
            self.last_seq = out_seq
            self.last_ts = out_ts
        self.packets += 1
        self.octets += len(payload)
        if not self.packets & 15:
            sendpath.count_sent(self.sender, self.packets, self.octets, out_ts, sendpath.ntp_now())
        return True
