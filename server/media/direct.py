"""The receive shortcut: SRTP media and SRTCP handled in the socket's ``datagram_received``.

aiortc receives every datagram through aioice's queue, the ICE transport's and the DTLS
transport's receive tasks, then SRTP unprotect, ``RtpPacket.parse`` and the RTP router: a
few futures and task steps per packet. Once DTLS is connected and aiortc's router knows a
stream (its SSRC and payload type route to a tapped receiver), its packets skip all that.

SRTCP is unprotected here too. A compound of receiver reports (RR, with SDES) is read here
and each block goes to its sender's feedback hooks (``passthrough.report_block``): no parse
into aiortc's objects and no task. Any other compound (a sender report, NACK, PLI, REMB,
BYE) goes to aiortc's RTCP handling (``_handle_rtcp_data``) in a task of its own.
The private aiortc/aioice names used here are checked by ``passthrough.check_hooks``.
"""

from __future__ import annotations

from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection
from aiortc.rtcdtlstransport import State

from server.media import passthrough
from server.media.passthrough import DIRECT, DirectHandler, connections
from server.media.sendpath import fast_unprotect, fast_unprotect_rtcp

_UNKNOWN: Any = object()
_RR = 201
_SDES = 202
_BLOCK = 24  # bytes of a report block (RFC 3550 6.4.1)


def receiver_reports(data: bytes, senders: dict[int, Any]) -> bool:
    """Handle a clear RTCP compound made only of receiver reports and SDES: each report
    block about one of ``senders`` (SSRC -> aiortc sender) goes to its feedback hooks.
    Returns False, having handled nothing, for anything else (another packet type, padding,
    a length that does not add up): aiortc's path takes the compound then."""
    n = len(data)
    pos = 0
    reports: list[int] = []  # offsets of RR packets
    while pos < n:
        if n - pos < 4 or data[pos] >> 6 != 2 or data[pos] & 0x20:
            return False  # not version 2, or padded
        end = pos + 4 * (int.from_bytes(data[pos + 2 : pos + 4], "big") + 1)
        if end > n:
            return False
        kind = data[pos + 1]
        if kind == _RR:
            if end - pos < 8 + _BLOCK * (data[pos] & 0x1F):
                return False
            reports.append(pos)
        elif kind != _SDES:
            return False
        pos = end
    for start in reports:
        block = start + 8
        for _ in range(data[start] & 0x1F):
            sender = senders.get(int.from_bytes(data[block : block + 4], "big"))
            if sender is not None:
                passthrough.report_block(
                    sender,
                    data[block + 4],
                    int.from_bytes(data[block + 16 : block + 20], "big"),
                    int.from_bytes(data[block + 20 : block + 24], "big"),
                )
            block += _BLOCK
    return True


def receive_directly(pc: RTCPeerConnection) -> None:
    """Handle SRTP media on ``pc``'s host sockets in ``datagram_received`` itself, once DTLS
    is connected: an RTP datagram whose SSRC and payload type aiortc's router already sends to
    a receiver tapped with ``direct`` is decrypted (replay-checked and authenticated by
    libsrtp as aiortc does) and handed to that handler at once; SRTCP is decrypted here too
    (receiver reports handled here, other RTCP by aiortc's handling in a task). Everything
    else (STUN, DTLS, a stream's first packets, other receivers) takes aiortc's path:
    aioice's queue, the ICE and DTLS receive tasks. Install before
    :func:`drop_datagrams_from` so the address filter stays in front."""
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
    senders: dict[int, Any] = {}
    unprotect: Any = None
    unprotect_rtcp: Any = None
    extensions: Any = None
    connected = State.CONNECTED

    def resolve() -> bool:
        nonlocal dtls, table, by_pt, senders, unprotect, unprotect_rtcp, extensions
        for transceiver in pc.getTransceivers():
            t: Any = transceiver.receiver.transport
            if (
                t is not None
                and t._state is connected
                and t._rx_srtp is not None
                and t.transport._connection is connection
            ):
                dtls, table, by_pt = t, t._rtp_router.ssrc_table, t._rtp_router.payload_type_table
                senders = t._rtp_router.senders
                unprotect = fast_unprotect(t._rx_srtp)
                unprotect_rtcp = fast_unprotect_rtcp(t._rx_srtp)
                extensions = t._rtp_header_extensions_map
                handlers.clear()
                return True
        dtls = None
        return False

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        if (
            len(data) > 12
            and 127 < data[0] < 192
            and ((dtls is not None and dtls._state is connected) or resolve())
        ):
            if 191 < data[1] < 209:  # SRTCP (RFC 5761 4)
                clear = unprotect_rtcp(data)
                if clear is not None and not receiver_reports(clear, senders):
                    passthrough.soon(dtls._handle_rtcp_data(clear))
                return  # else: replayed or forged, dropped as aiortc does
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
