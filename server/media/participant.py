"""One participant's peer connection: their upstream and every downstream, one transport.

The server is always the offerer. The connection starts with two recvonly transceivers (the
participant's microphone and camera); for every other publisher it holds a sendonly pair of
slots. A slot whose publisher left goes inactive and is reused by the next joiner, so the
SDP does not grow with churn. Offers are serialised: while an offer is outstanding, further
changes only mark the connection for one more round once the answer is in.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import SessionDescription, candidate_from_sdp

from server.errors import UserError
from server.media import direct, passthrough
from server.media.forwarding import DownTrack, ReceiverLink, UpTrack
from server.media.hostsockets import HostSockets, share_host_sockets
from server.media.ice import IpNetwork, filter_sdp_candidates, is_allowed_address, parse_candidate
from server.media.passthrough import gather_on
from server.media.port import MAX_CANDIDATE_BYTES, MAX_SDP_BYTES, IceCandidate, SignalSender
from server.media.reports import ReportClock

logger = logging.getLogger(__name__)

KINDS = ("audio", "video")
SOCKET_BUFFER_BYTES = 1 << 20
# What an answer may say for each direction we offered.
_ANSWER_DIRECTIONS = {
    "sendonly": ("recvonly", "inactive"),
    "recvonly": ("sendonly", "inactive"),
    "inactive": ("inactive",),
}
CODEC_MIME = {"audio": "audio/opus", "video": "video/VP8"}


def _allows_everything(networks: Sequence[IpNetwork]) -> bool:
    return all(any(n.prefixlen == 0 and n.version == v for n in networks) for v in (4, 6))


def address_filter(networks: Sequence[IpNetwork]) -> Callable[[str], bool] | None:
    """Whether a datagram's source host may reach the unit (None: every source may)."""
    if _allows_everything(networks):
        return None
    chosen = tuple(networks)
    return lambda host: is_allowed_address(host, chosen)


class IdleTrack(MediaStreamTrack):
    """The track behind a forwarding slot: the sender's own loop waits on it forever while
    the forwarder writes packets directly (aiortc would poll every 20 ms with no track)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._never = asyncio.Event()

    async def recv(self) -> Any:
        await self._never.wait()
        raise RuntimeError("unreachable")


def prefer_codec(transceiver: RTCRtpTransceiver) -> None:
    """One codec on every leg (no transcoding): Opus for audio, VP8 with RTX (RFC 4588)
    for video."""
    wanted = {CODEC_MIME[transceiver.kind].lower()}
    if transceiver.kind == "video":
        wanted.add("video/rtx")
    codecs = [
        c
        for c in RTCRtpSender.getCapabilities(transceiver.kind).codecs
        if c.mimeType.lower() in wanted
    ]
    transceiver.setCodecPreferences(codecs)


def negotiated_payload_type(transceiver: RTCRtpTransceiver) -> int:
    codecs = transceiver._codecs
    if not codecs or codecs[0].payloadType is None:
        return -1
    return int(codecs[0].payloadType)


def negotiated_rtx_payload_type(transceiver: RTCRtpTransceiver) -> int:
    """The RTX payload type whose ``apt`` is the negotiated media codec, or -1 if none."""
    media = negotiated_payload_type(transceiver)
    for c in transceiver._codecs or []:
        if c.mimeType.lower() == "video/rtx" and str(c.parameters.get("apt")) == str(media):
            return int(c.payloadType) if c.payloadType is not None else -1
    return -1


# What the server, as the receiver of every microphone, asks of the browsers' Opus encoders
# (RFC 7587): in-band FEC (a lost 20 ms frame is rebuilt from the next packet) and DTX
# (silence costs a packet every 400 ms instead of 50 a second). aiortc offers Opus without
# an fmtp line, and never encodes or decodes it here, so the line is added to the offer.
OPUS_FMTP = "minptime=10;useinbandfec=1;usedtx=1"


def with_opus_fmtp(sdp: str) -> str:
    """Add ``a=fmtp:<pt> OPUS_FMTP`` after each Opus rtpmap that has no fmtp of its own."""
    lines = sdp.split("\r\n")
    out: list[str] = []
    for line in lines:
        out.append(line)
        if line.startswith("a=rtpmap:") and line.lower().endswith(" opus/48000/2"):
            pt = line[len("a=rtpmap:") :].split(" ", 1)[0]
            if f"a=fmtp:{pt} " not in sdp:
                out.append(f"a=fmtp:{pt} {OPUS_FMTP}")
    return "\r\n".join(out)


class Slot:
    """A sendonly audio+video pair in this participant's connection."""

    def __init__(self, transceivers: dict[str, RTCRtpTransceiver], downs: dict[str, DownTrack]):
        self.transceivers = transceivers
        self.downs = downs
        self.publisher_id: str | None = None


class MediaParticipant:
    def __init__(
        self,
        *,
        room_id: str,
        participant_id: str,
        send: SignalSender,
        pc: RTCPeerConnection,
        gather_addresses: Sequence[str],
        allowed_networks: Sequence[IpNetwork],
        offer_extras: Callable[[], dict[str, Any]],
        on_level: Callable[[str, int], None],
        on_lost: Callable[[MediaParticipant], Awaitable[None]],
        host_sockets: HostSockets | None = None,
    ) -> None:
        self.room_id = room_id
        self.id = participant_id
        self.send = send
        self.pc = pc
        self._networks = tuple(allowed_networks)
        self._offer_extras = offer_extras
        self._renegotiate = False
        self._buffers_set = False
        self._offered: list[Slot] = []
        self.closed = False
        self.slots: dict[str, Slot] = {}  # publisher id -> slot
        self._free: list[Slot] = []
        self.refused_candidates = 0
        self._candidates_ended = False
        self.link = ReceiverLink()  # this participant's downlink: feedback -> video layers
        self.reports = ReportClock()  # the slots' sender reports, one compound per interval
        self.up: dict[str, UpTrack] = {}
        self._up_transceivers: dict[str, RTCRtpTransceiver] = {}
        for kind in KINDS:
            t = pc.addTransceiver(kind, direction="recvonly")
            prefer_codec(t)
            self._up_transceivers[kind] = t
            self.up[kind] = UpTrack(
                participant_id,
                kind,
                t.receiver,
                -1,
                on_level,
                rtcp_ssrc=passthrough.sender_ssrc(t.sender),
            )
        if host_sockets is not None:  # the worker's shared socket (udpmux.py)
            share_host_sockets(passthrough.connections(pc), host_sockets)
        else:
            gather_on(pc, gather_addresses)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and not self.closed:
                await on_lost(self)

    # --- slots -------------------------------------------------------------------------
    def attach_publisher(self, publisher: MediaParticipant) -> None:
        """Add (or reuse) a slot that carries ``publisher``'s media to this participant."""
        slot = self._free.pop() if self._free else self._new_slot()
        slot.publisher_id = publisher.id
        for kind in KINDS:
            slot.transceivers[kind].direction = "sendonly"
            publisher.up[kind].add_down(slot.downs[kind])
        self.slots[publisher.id] = slot

    def detach_publisher(self, publisher: MediaParticipant) -> None:
        slot = self.slots.pop(publisher.id, None)
        if slot is None:
            return
        for kind in KINDS:
            publisher.up[kind].remove_down(slot.downs[kind])
            slot.downs[kind].rebind(None)
            slot.transceivers[kind].direction = "inactive"
        slot.publisher_id = None
        self._free.append(slot)

    def _new_slot(self) -> Slot:
        transceivers: dict[str, RTCRtpTransceiver] = {}
        downs: dict[str, DownTrack] = {}
        for kind in KINDS:
            t = self.pc.addTransceiver(IdleTrack(kind), direction="sendonly")
            prefer_codec(t)
            passthrough.tap_receiver(t.receiver, None)  # never decode on a downstream slot
            transceivers[kind] = t
            down = downs[kind] = DownTrack(self.id, kind, t.sender, -1)
            down.link = self.link
            self.link.downs.append(down)
            self.reports.adopt(t.sender)
            passthrough.on_feedback(
                t.sender,
                functools.partial(self.link.on_loss, kind=kind),
                self.link.on_remb,
                self.link.on_rtt,
            )
        return Slot(transceivers, downs)

    def track_list(self) -> list[dict[str, Any]]:
        tracks: list[dict[str, Any]] = [
            {"mid": t.mid, "person_id": self.id, "kind": kind}
            for kind, t in self._up_transceivers.items()
        ]
        for publisher_id, slot in self.slots.items():
            for kind in KINDS:
                tracks.append(
                    {"mid": slot.transceivers[kind].mid, "person_id": publisher_id, "kind": kind}
                )
        return tracks

    # --- negotiation -------------------------------------------------------------------
    async def negotiate(self) -> None:
        """Send a fresh offer, or remember to once the outstanding one is answered."""
        if self.closed:
            return
        if self.pc.signalingState != "stable":
            self._renegotiate = True
            return
        self._renegotiate = False
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        if not self._buffers_set:
            passthrough.enlarge_socket_buffers(self.pc, SOCKET_BUFFER_BYTES)
            direct.receive_directly(self.pc)  # before the address filter: it stays in front
            allowed = address_filter(self._networks)
            if allowed is not None:  # sockets of its own (TURN; no shared socket)
                passthrough.drop_datagrams_from(self.pc, allowed)
            self._buffers_set = True
        self._offered = [s for s in self.slots.values()]
        payload: dict[str, Any] = {
            "sdp": with_opus_fmtp(self.pc.localDescription.sdp),
            "type": "offer",
            "tracks": self.track_list(),
        }
        payload.update(self._offer_extras())
        await self.send("media.offer", payload)

    async def apply_answer(self, sdp: str) -> None:
        if not isinstance(sdp, str) or not sdp.strip():
            raise UserError("empty SDP answer")
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise UserError("SDP answer too large")
        if self.pc.signalingState != "have-local-offer":
            raise UserError(f"no offer is waiting for an answer (state {self.pc.signalingState})")
        filtered, dropped = filter_sdp_candidates(sdp, self._networks)
        self.refused_candidates += dropped
        self._check_directions(filtered)
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=filtered, type="answer"))
        except Exception as exc:  # aiortc raises ValueError, AssertionError, KeyError, ...
            logger.info("refused SDP answer from %s: %r", self.id, exc)
            raise UserError("malformed SDP answer") from exc
        for kind, t in self._up_transceivers.items():
            self.up[kind].payload_type = negotiated_payload_type(t)
            self.up[kind].rtx_payload_type = negotiated_rtx_payload_type(t)
        for slot in self._offered:
            if slot.publisher_id is None:
                continue
            for kind in KINDS:
                t = slot.transceivers[kind]
                down = slot.downs[kind]
                down.payload_type = negotiated_payload_type(t)
                down.rtx_payload_type = negotiated_rtx_payload_type(t)
                down.mid = t.mid
                down.ready = down.payload_type >= 0
                down.request_keyframe()
        self._offered = []
        if self._renegotiate:
            await self.negotiate()

    def _check_directions(self, sdp: str) -> None:
        """An answer may only narrow what we offered (RFC 3264 section 6.1): a client may not
        claim to send on a downstream m-line, nor to receive on its own upstream."""
        try:
            parsed = SessionDescription.parse(sdp)
        except Exception as exc:
            raise UserError("malformed SDP answer") from exc
        offered = {t.mid: t.direction for t in self.pc.getTransceivers()}
        for media in parsed.media:
            if media.kind not in KINDS:
                raise UserError(f"unexpected m-line kind {media.kind!r} in answer")
            ours = offered.get(media.rtp.muxId)
            answer = media.direction or "sendrecv"
            allowed = _ANSWER_DIRECTIONS.get(ours or "", ())
            if answer not in allowed:
                raise UserError(
                    f"answer direction {answer} not allowed for m-line {media.rtp.muxId!r}"
                )

    async def add_candidate(self, candidate: IceCandidate) -> None:
        text = candidate.candidate
        if not isinstance(text, str) or len(text) > MAX_CANDIDATE_BYTES:
            raise UserError("malformed ICE candidate")
        if not text.strip():  # end-of-candidates: lets ICE declare failure (then a restart)
            if not self._candidates_ended:
                self._candidates_ended = True
                await self.pc.addIceCandidate(None)
            return  # said twice: nothing more to do
        if self._candidates_ended:
            raise UserError("ICE candidate after end-of-candidates")
        parsed = parse_candidate(text)
        if not is_allowed_address(parsed.host, self._networks):
            self.refused_candidates += 1
            logger.debug("refused candidate outside allowed networks from %s", self.id)
            return
        if candidate.sdp_mid is None and candidate.sdp_mline_index is None:
            raise UserError("ICE candidate needs sdpMid or sdpMLineIndex")
        body = text.strip()
        body = body[2:] if body.startswith("a=") else body
        body = body[len("candidate:") :] if body.startswith("candidate:") else body
        rtc = candidate_from_sdp(body)
        rtc.sdpMid = candidate.sdp_mid
        rtc.sdpMLineIndex = candidate.sdp_mline_index
        await self.pc.addIceCandidate(rtc)

    def layer_counts(self) -> tuple[int, int]:
        """(video packets this receiver did not get for its link, layer switches) so far."""
        dropped = switches = 0
        for slot in [*self.slots.values(), *self._free]:
            down = slot.downs["video"]
            dropped += down.layer_dropped_before
            switches += down.layer_switches_before
            if down.layers is not None:
                dropped += down.layers.dropped
                switches += down.layers.switches
        return dropped, switches

    def set_capabilities(
        self, *, may_speak: bool, may_show_video: bool, audience: frozenset[str] | None = None
    ) -> None:
        self.up["audio"].enabled = may_speak
        self.up["video"].enabled = may_show_video
        for up in self.up.values():
            up.set_audience(audience)

    async def close(self) -> None:
        self.closed = True
        self.link.close()
        await self.pc.close()
