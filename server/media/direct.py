"""The receive shortcut: SRTP media handled in the socket's ``datagram_received``.

aiortc receives every datagram through aioice's queue, the ICE transport's and the DTLS
transport's receive tasks, then SRTP unprotect, ``RtpPacket.parse`` and the RTP router: a
few futures and task steps per packet. Once DTLS is connected and aiortc's router knows a
stream (its SSRC and payload type route to a tapped receiver), its packets skip all that.
The private aiortc/aioice names used here are checked by ``passthrough.check_hooks``.
"""

from __future__ import annotations

from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import State

from server.media.passthrough import DIRECT, DirectHandler, connections
from server.media.sendpath import fast_unprotect

_UNKNOWN: Any = object()


def receive_directly(pc: RTCPeerConnection) -> None:
    """Handle SRTP media on ``pc``'s host sockets in ``datagram_received`` itself, once DTLS
    is connected: an RTP datagram whose SSRC and payload type aiortc's router already sends to
    a receiver tapped with ``direct`` is decrypted (replay-checked and authenticated by
    libsrtp as aiortc does) and handed to that handler at once. Everything else (STUN, DTLS,
    RTCP, a stream's first packets, other receivers) takes aiortc's path: aioice's queue, the
    ICE and DTLS receive tasks. Install before :func:`drop_datagrams_from` so the address
    filter stays in front."""
    for connection in connections(pc):
        for protocol in list(getattr(connection, "_protocols", [])):
            if type(protocol) is aioice.ice.StunProtocol and not getattr(
                protocol, "_hc_direct", False
            ):
                _direct_protocol(protocol, pc)


def _direct_protocol(protocol: Any, pc: RTCPeerConnection) -> None:
    original = protocol.datagram_received
    connection = protocol.receiver  # the aioice Connection
    dtls: Any = None
    table: dict[int, Any] = {}
    by_pt: dict[int, set[Any]] = {}
    handlers: dict[Any, DirectHandler | None] = {}
    unprotect: Any = None
    extensions: Any = None
    connected = State.CONNECTED

    def resolve() -> bool:
        nonlocal dtls, table, by_pt, unprotect, extensions
        for transceiver in pc.getTransceivers():
            t: Any = transceiver.receiver.transport
            if (
                t is not None
                and t._state is connected
                and t._rx_srtp is not None
                and t.transport._connection is connection
            ):
                dtls, table, by_pt = t, t._rtp_router.ssrc_table, t._rtp_router.payload_type_table
                unprotect = fast_unprotect(t._rx_srtp)
                extensions = t._rtp_header_extensions_map
                handlers.clear()
                return True
        dtls = None
        return False

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if (
            len(data) > 12
            and 127 < data[0] < 192
            and not 191 < data[1] < 209  # RTP, not RTCP
            and ((dtls is not None and dtls._state is connected) or resolve())
        ):
            receiver = table.get(int.from_bytes(data[8:12], "big"))
            if receiver is not None and receiver in by_pt.get(data[1] & 0x7F, ()):
                handler = handlers.get(receiver, _UNKNOWN)
                if handler is _UNKNOWN:
                    handler = handlers[receiver] = getattr(receiver, DIRECT, None)
                if handler is not None:
                    clear = unprotect(data)
                    if clear is not None:  # else: replayed or forged, dropped as aiortc does
                        handler(clear, extensions)
                    return
        original(data, addr)

    protocol.datagram_received = datagram_received
    protocol._hc_direct = True
