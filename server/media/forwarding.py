"""The forwarding point: one publisher's incoming RTP packet goes out to its subscribers.

This is where the room's rules are enforced. An :class:`UpTrack` (a publisher's audio or
video) carries an ``enabled`` flag that ``set_capabilities`` flips synchronously; every packet
reads it, so a change takes effect on the very next packet. A disabled track's packets are not
put on any subscriber's stream (counted as dropped), whatever the publisher's client does:
everything a participant's connection receives on any SSRC or transceiver enters through that
participant's up-tracks.

Packets are forwarded without depacketizing: each subscriber slot (:class:`DownTrack`) owns
its SSRC, payload type, sequence-number and timestamp offsets; only the 12-byte RTP header is
rewritten. Header extensions are not forwarded (the SSRCs are signalled in the SDP).

Loss is repaired with NACK (RFC 4585) and RTX (RFC 4588) where negotiated: a video up-track
keeps its last :data:`HISTORY_SIZE` packets; a subscriber's NACK for one of its sequence
numbers is mapped back through that subscriber's offsets and answered from the history (at
most :data:`RETRANSMIT_PER_S` per subscriber and second), on the slot's RTX SSRC with the
original sequence number in front (or on the media SSRC without RTX); a gap in what a
publisher sends is NACKed upstream at once, and the late packet (or its RTX, unwrapped), when
it comes, is forwarded in its place. A longer gap asks the publisher for a keyframe.

The gate comes first on every path: a publisher's RTX is dropped like its media while the
track is disabled, and a disabled track's history is never resent.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Coroutine
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.media import passthrough, sendpath
from server.media.downtrack import (
    _HISTORY_MASK,
    HISTORY_SIZE,
    RETRANSMIT_PER_S,
    DownTrack,
)
from server.media.layers import LayerRates, Vp8Info, parse_vp8
from server.media.receiverlink import ReceiverLink

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!BBHII")
_OSN = struct.Struct("!H")  # RTX: the original sequence number before the payload
_SEQ_TS_SSRC = struct.Struct("!HII")
_EXT = struct.Struct("!HH")  # header extension: profile, length in 32-bit words

__all__ = [
    "HISTORY_SIZE",
    "RETRANSMIT_PER_S",
    "DownTrack",
    "ReceiverLink",
    "UpTrack",
    "is_vp8_keyframe_start",
    "video_bitrate_cap",
]
_TS_STEP = {"audio": 960, "video": 3000}  # one 20 ms Opus frame / one 30 fps video frame
KEYFRAME_MIN_INTERVAL_S = 0.3
SSRC_TAKEOVER_S = 1.0
REMB_INTERVAL_S = 1.0
MAX_NACK_GAP = 32  # a longer upstream gap is a restart or a burst that a keyframe repairs
# Ingress policing per publisher track (payload bytes per second, burst): far above what a
# browser sends under our REMB caps (Opus tops out at 510 kbps; video is capped at 1.5 Mbps
# and a keyframe burst fits), but a modified client cannot make the SFU multiply a flood by
# the room's size. Excess packets are dropped and counted as ``policed``.
POLICE_RATE = {"audio": 64_000, "video": 1_000_000}
POLICE_BURST = {"audio": 16_000, "video": 300_000}


def video_bitrate_cap(participants: int) -> int:
    """The publisher's video bitrate cap for a room of this size (no simulcast: every
    subscriber gets the one stream, so bigger rooms ask for less)."""
    if participants <= 2:
        return 1_500_000
    if participants <= 4:
        return 1_000_000
    if participants <= 8:
        return 800_000
    return 600_000


_OPUS_SPEECH_BYTES = 20  # fallback VAD without the audio-level extension


def is_vp8_keyframe_start(payload: bytes) -> bool:
    """True if ``payload`` (an RTP VP8 payload, RFC 7741) starts a key frame."""
    n = len(payload)
    if n < 1:
        return False
    b0 = payload[0]
    if not (b0 & 0x10) or (b0 & 0x07):  # S bit and partition index 0
        return False
    i = 1
    if b0 & 0x80:  # X: extension byte
        if n < 2:
            return False
        x = payload[1]
        i = 2
        if x & 0x80:  # I: picture id
            if n <= i:
                return False
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            i += 1
        if x & 0x30:  # T or K
            i += 1
    if n <= i:
        return False
    return (payload[i] & 0x01) == 0  # VP8 payload header: P bit clear on key frames


def estimate_audio_level(level: int | None, payload: bytes) -> int:
    """Audio level in -dBov (0 loudest, 127 silence): the RFC 6464 header extension's
    ``level`` if the sender set it, else a crude guess from the Opus packet size (DTX/comfort
    noise is tiny)."""
    if level is not None:
        return level
    return 30 if len(payload) > _OPUS_SPEECH_BYTES else 127


class UpTrack:
    """A publisher's incoming audio or video, fanned out to :class:`DownTrack` s."""

    def __init__(
        self,
        participant_id: str,
        kind: str,
        receiver: RTCRtpReceiver,
        payload_type: int,
        on_level: Callable[[str, int], None] | None = None,
        *,
        rtcp_ssrc: int = 0,
    ) -> None:
        self.participant_id = participant_id
        self.kind = kind
        self.receiver = receiver
        self.payload_type = payload_type
        self.rtx_payload_type = -1  # video: the publisher's RTX payload type, if negotiated
        self.rtx_received = 0  # resends from the publisher, unwrapped and forwarded as media
        self.enabled = True
        # Who may receive this track (subscriber ids); None: every subscriber. Breakout groups
        # narrow it; like ``enabled`` it is read by every packet.
        self.audience: frozenset[str] | None = None
        self.downs: list[DownTrack] = []
        self.ssrc: int | None = None
        self._last_packet_at = 0.0
        self.foreign = 0  # packets on a second SSRC while the first one is live
        self._gated = False
        self._pli_pending = False
        self._last_pli = 0.0
        self._on_level = on_level
        self._ts_step = _TS_STEP[kind]
        self.received = 0
        self.received_direct = 0  # datagrams that came by direct.receive_directly
        self.forwarded = 0
        self.forwarded_bytes = 0
        self.dropped = 0
        self.keyframe_requests = 0
        self.max_bitrate = 0  # video: REMB cap sent to the publisher (0: none)
        # video: the last packets by sequence number, (seq, ts, marker bit, payload)
        self.history: list[tuple[int, int, int, bytes] | None] | None = (
            [None] * HISTORY_SIZE if kind == "video" else None
        )
        self._top_seq: int | None = None  # highest sequence number seen (video)
        self.nacks_sent = 0  # sequence numbers asked of the publisher again
        self.policed = 0  # packets over the ingress budget, not forwarded
        self._police_rate = float(POLICE_RATE[kind])
        self._police_burst = float(POLICE_BURST[kind])
        self._budget = self._police_burst
        self._budget_at = 0.0
        self.retransmitted = 0  # packets resent to subscribers from the history
        # video with VP8 temporal layers (L1T3): what each layer costs, once one is seen
        self.layer_rates: LayerRates | None = None
        self._rtcp_ssrc = rtcp_ssrc
        self._last_remb = 0.0
        self._later: list[Coroutine[Any, Any, Any]] = []  # sends receive() asked for
        self.sink = passthrough.tap_receiver(
            receiver, self.on_packet, replace=True, direct=self.on_datagram
        )

    def request_keyframe(self) -> None:
        if self.kind == "video":
            self._pli_pending = True

    def set_audience(self, audience: frozenset[str] | None) -> None:
        """Narrow (or widen) who receives this track. A subscriber let in again restarts its
        stream like a newly bound one (sequence resync, a keyframe for video)."""
        old, self.audience = self.audience, audience
        if old == audience:
            return
        for d in self.downs:
            was_in = old is None or d.subscriber_id in old
            if not was_in and (audience is None or d.subscriber_id in audience):
                d.resync_seq = d.resync_ts = True
                d.waiting_keyframe = self.kind == "video"
                self.request_keyframe()

    def add_down(self, down: DownTrack) -> None:
        down.rebind(self)
        self.downs.append(down)
        self.request_keyframe()

    def remove_down(self, down: DownTrack) -> None:
        if down in self.downs:
            self.downs.remove(down)

    async def on_packet(self, packet: RtpPacket) -> None:
        """One packet as aiortc parsed it (its own receive path, and tests): the same
        :meth:`receive`, then the rare sends it asked for (PLI, NACK, REMB) are awaited."""
        level = packet.extensions.audio_level
        self.receive(
            packet.payload_type,
            packet.marker,
            packet.sequence_number,
            packet.timestamp,
            packet.ssrc,
            packet.payload,
            None if level is None else int(level[1]),
        )
        while self._later:
            await self._later.pop(0)

    def on_datagram(self, data: bytes, extensions: HeaderExtensionsMap) -> None:
        """One decrypted RTP packet straight from the socket (``passthrough.receive_directly``):
        a minimal parse (RFC 3550 header, CSRCs, extension block, padding), then
        :meth:`receive`; the rare sends it asked for run as tasks."""
        n = len(data)
        if n < 12:
            return
        b0 = data[0]
        b1 = data[1]
        seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(data, 2)
        pos = 12 + 4 * (b0 & 0x0F)
        level = None
        if b0 & 0x10:  # header extension
            if n < pos + 4:
                return
            profile, words = _EXT.unpack_from(data, pos)
            end = pos + 4 + 4 * words
            if self._on_level is not None and self.kind == "audio" and end <= n:
                value = extensions.get(profile, data[pos + 4 : end]).audio_level
                level = None if value is None else int(value[1])
            pos = end
        if b0 & 0x20:  # padding
            pad = data[-1]
            if not pad or pad > n - pos:
                return
            n -= pad
        if pos > n:
            return
        self.received_direct += 1
        self.receive(b1 & 0x7F, b1 >> 7, seq, ts, ssrc, data[pos:n], level)
        if self._later:
            later, self._later = self._later, []
            for coro in later:
                passthrough.soon(coro)

    def receive(
        self, pt: int, marker: int, seq: int, ts: int, ssrc: int, payload: bytes, level: int | None
    ) -> None:
        """The forwarding point, synchronous: no coroutine per packet. Sends that must wait
        (PLI, NACK, REMB upstream; TURN-relayed packets) are queued on ``_later``."""
        if pt != self.payload_type:
            if pt == self.rtx_payload_type >= 0:
                # A resend (RFC 4588) from the publisher: the gate comes first, as for every
                # packet, then the original packet goes through here again (which checks the
                # gate again, polices and fills its hole).
                if not self.enabled:
                    self.dropped += len(self.downs)
                    self._gated = True
                    return
                if self.ssrc is None or len(payload) <= 2:
                    return  # nothing to repair yet, or padding
                self.rtx_received += 1
                osn = _OSN.unpack_from(payload)[0]
                self.receive(self.payload_type, marker, osn, ts, self.ssrc, payload[2:], None)
            return  # or a codec we did not negotiate
        if not payload:
            return  # padding
        video = self.kind == "video"
        now = time.monotonic()
        if ssrc != self.ssrc:
            # One stream per kind and publisher: a second SSRC (another transceiver, a
            # tampered answer) is ignored while the first is live; it takes over only after
            # the first has been silent for SSRC_TAKEOVER_S (a restarted sender).
            if self.ssrc is not None and now - self._last_packet_at < SSRC_TAKEOVER_S:
                self.foreign += 1
                return
            if self.ssrc is not None:
                for d in self.downs:
                    d.resync_seq = d.resync_ts = True
                    d.waiting_keyframe = video
            if self.history is not None:
                self.history = [None] * HISTORY_SIZE
            self._top_seq = None
            self.ssrc = ssrc
            self.request_keyframe()
        self._last_packet_at = now
        self.received += 1
        budget = self._budget + (now - self._budget_at) * self._police_rate
        if budget > self._police_burst:
            budget = self._police_burst
        self._budget_at = now
        if budget < len(payload):
            self._budget = budget
            self.policed += 1
            return
        self._budget = budget - len(payload)
        if self._pli_pending and now - self._last_pli >= KEYFRAME_MIN_INTERVAL_S:
            self._pli_pending = False
            self._last_pli = now
            self.keyframe_requests += 1
            self._later.append(passthrough.send_pli(self.receiver, ssrc))

        if self.max_bitrate and now - self._last_remb >= REMB_INTERVAL_S:
            self._last_remb = now
            self._later.append(
                passthrough.send_remb(self.receiver, self._rtcp_ssrc, self.max_bitrate, ssrc)
            )

        if not self.enabled:  # the capability gate
            self.dropped += len(self.downs)
            self._gated = True
            return
        if self._gated:
            self._gated = False
            for d in self.downs:
                d.resync_seq = True
                d.waiting_keyframe = video
            self.request_keyframe()
        if not video and self._on_level is not None:
            self._on_level(self.participant_id, estimate_audio_level(level, payload))

        b1_marker = 0x80 if marker else 0
        in_order = True
        keyframe = False
        info: Vp8Info | None = None
        if video:
            keyframe = is_vp8_keyframe_start(payload)
            if len(payload) > 1 and payload[0] & 0x80 and payload[1] & 0x20:  # X, T: layers
                info = parse_vp8(payload)
                if info is not None and info.tid is not None:
                    rates = self.layer_rates
                    if rates is None:
                        rates = self.layer_rates = LayerRates()
                    rates.add(info.tid, len(payload), now)
                else:
                    info = None
            history = self.history
            if history is not None:
                history[seq & _HISTORY_MASK] = (seq, ts, b1_marker, payload)
            top = self._top_seq
            if top is None:
                self._top_seq = seq
            else:
                gap = (seq - top) & 0xFFFF
                if gap >= 0x8000:
                    in_order = False  # a late or resent packet: forwarded into its hole
                else:
                    self._top_seq = seq
                    if 1 < gap <= MAX_NACK_GAP:
                        lost = [(top + i) & 0xFFFF for i in range(1, gap)]
                        self.nacks_sent += len(lost)
                        self._later.append(passthrough.send_nack(self.receiver, ssrc, lost))
                    elif gap > MAX_NACK_GAP:
                        # Too much lost to repair packet by packet (a cut path, a burst):
                        # ask for a keyframe now rather than wait for every subscriber's PLI.
                        self._pli_pending = True
        size = len(payload)
        forwarded = 0
        starving = False
        pack = _HEADER.pack
        audience = self.audience
        for d in self.downs:
            if audience is not None and d.subscriber_id not in audience:
                self.dropped += 1  # the gate: another breakout group
                continue
            if not d.ready:
                continue
            if d.waiting_keyframe:
                if not keyframe:
                    d.skipped += 1
                    starving = True
                    continue
                d.waiting_keyframe = False
            if d.resync_seq:
                d.seq_offset_resync(seq)
            if d.resync_ts:
                d.ts_offset_resync(ts, self._ts_step)
            if info is not None:  # temporal layers: this receiver may get fewer of them
                if d.send_layered(seq, ts, b1_marker, payload, info, in_order):
                    forwarded += 1
                continue
            out_seq = (seq + d.seq_off) & 0xFFFF
            out_ts = (ts + d.ts_off) & 0xFFFFFFFF
            data = pack(0x80, b1_marker | d.payload_type, out_seq, out_ts, d.ssrc) + payload
            sent = d.out.send(data)
            if sent is None:
                sent = passthrough.send_rtp_soon(d.sender, data)
            if sent:
                if in_order:
                    d.last_seq = out_seq
                    d.last_ts = out_ts
                d.packets += 1
                d.octets += size
                forwarded += 1
                if not d.packets & 15:  # sender reports stay true without per-packet cost
                    sendpath.count_sent(d.sender, d.packets, d.octets, out_ts, sendpath.ntp_now())
        if starving:
            # A subscriber still waits for its first keyframe (the one asked for when it was
            # added may have passed before it was ready, and a browser that receives nothing
            # sends no PLI): keep asking, at most every KEYFRAME_MIN_INTERVAL_S.
            self._pli_pending = True
        elif keyframe:
            self._pli_pending = False  # a keyframe answers every outstanding request
        self.forwarded += forwarded
        self.forwarded_bytes += forwarded * size
