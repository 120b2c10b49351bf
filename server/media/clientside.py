"""aiortc as a receiving client (the bots, the tests' and benchmarks' participants): what it
needs to receive as a browser does. The private aiortc names used here are checked by
``passthrough.check_hooks``.

RTX routing: aiortc 1.16 registers only a receiver's media SSRC with its transport's RTP
router, and routes a packet on an unknown SSRC by payload type only when exactly one receiver
has that payload type. A client receiving several people's video (one slot each, all with the
same RTX payload type) therefore dropped every resend the SFU sent it, unread, and never
repaired a hole. A browser routes RTX by the offer's ``a=ssrc-group:FID``; so does
:func:`route_rtx`, from the RTX SSRCs aiortc's ``receive()`` reads out of that group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket

_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"  # RTX SSRC -> media SSRC, set by receive()
_CODECS = "_RTCRtpReceiver__codecs"  # payload type -> codec, set by receive()
_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"  # SSRC -> StreamStatistics
_RTX_ROUTED = "_hc_rtx_routed"


def route_rtx(receiver: RTCRtpReceiver) -> None:
    """Send the receiver's RTX SSRCs to it in its transport's RTP router (once aiortc has
    started it: ``receive()`` reads the SSRCs and registers the media SSRC)."""
    router = receiver.transport._rtp_router
    for ssrc in getattr(receiver, _RTX_SSRC):
        router.ssrc_table[ssrc] = receiver


def route_rtx_when_started(receiver: RTCRtpReceiver) -> None:
    """:func:`route_rtx` right after aiortc starts ``receiver`` (it does so once the transport
    is connected, and for a slot a renegotiation adds, in a task of its own). Idempotent."""
    if getattr(receiver, _RTX_ROUTED, False):
        return
    original = receiver.receive

    async def receive(parameters: Any) -> None:
        await original(parameters)
        route_rtx(receiver)

    receiver.receive = receive  # type: ignore[method-assign]
    setattr(receiver, _RTX_ROUTED, True)


def report_statistics(receiver: RTCRtpReceiver) -> Callable[[RtpPacket], None]:
    """What a receiver that skips aiortc's receive work (a counting bot) calls with each
    packet so that its receiver reports still carry a report block per stream (loss, jitter,
    and the LSR/DLSR the sender measures its round trip from), as a browser's do: aiortc builds
    them from the statistics its own ``_handle_rtp_packet`` keeps, and sends none without."""
    codecs: dict[int, Any] = getattr(receiver, _CODECS)
    streams: dict[int, StreamStatistics] = getattr(receiver, _REMOTE_STREAMS)

    def add(packet: RtpPacket) -> None:
        stream = streams.get(packet.ssrc)
        if stream is None:
            codec = codecs.get(packet.payload_type)
            if codec is None:
                return
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)

    return add
