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

from typing import Any

from aiortc import RTCRtpReceiver

_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"  # RTX SSRC -> media SSRC, set by receive()
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
