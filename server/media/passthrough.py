"""Every private aiortc/aioice name the SFU relies on, in one module.

aiortc decodes every incoming frame and its senders encode; an SFU wants neither. The hooks:

* receiver tap: ``RTCRtpReceiver._handle_rtp_packet`` is wrapped per instance so each parsed
  RTP packet reaches the forwarder first; the receiver's private decoder queue
  (``_RTCRtpReceiver__decoder_queue``) is replaced before ``receive()`` starts the decoder
  thread, so no frame is ever decoded (complete frames are only counted);
* keyframe requests: ``RTCRtpSender._send_keyframe`` (called on PLI/FIR from a subscriber) is
  replaced per instance; the publisher is asked with ``RTCRtpReceiver._send_rtcp_pli``;
* retransmissions: ``RTCRtpSender._retransmit`` (called per sequence number a subscriber's
  NACK lists) is replaced per instance, so the SFU answers from its own packet history; lost
  packets are asked of the publisher with ``RTCRtpReceiver._send_rtcp_nack``;
* raw send, SRTP without pylibsrtp's wrapper, sender report counters and the compound sender
  reports' hooks are in ``sendpath.py`` (checked here too);
* host candidates: aioice skips loopback; ``Connection.get_component_candidates`` is wrapped
  per instance to gather on exactly the allowed addresses (or, by ``udpmux.py``, to put them on
  the worker's one shared socket: ``StunProtocol`` on a transport of ours, the connection's
  ``_protocols`` and ``_local_username``, ``server_reflexive_candidate``);
* the fast send path uses the shared socket's ``batch_sendto`` when the nominated pair is on it.

aiortc and aioice are pinned exactly in pyproject.toml; :func:`check_hooks` (run by
tests/media/test_passthrough.py) fails loudly when any of these names moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import queue
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import aioice
import aioice.ice
import aiortc
import pylibsrtp
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtp import (
    RTCP_PSFB_APP,
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from server.media.sendpath import SENDER_LSR, SENDER_LSR_TIME

AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"

DIRECT = "_hc_direct_handler"  # a tapped receiver's handler for direct.receive_directly
_FEEDBACK = "_hc_feedback"  # a sender's (on_loss, on_rtt) from on_feedback, for report_block
_SENDING: set[asyncio.Task[Any]] = set()  # tasks started by soon() (a strong reference)
logger = logging.getLogger(__name__)

PacketHandler = Callable[[RtpPacket], Awaitable[None]]
# a decrypted RTP packet and the transport's header extension map (for the audio level)
DirectHandler = Callable[[bytes, HeaderExtensionsMap], None]


class HookMissing(RuntimeError):
    """aiortc/aioice changed under us: a private name the SFU depends on has moved."""


class FrameSink(queue.Queue[Any]):
    """Stands in for a receiver's decoder queue: counts complete encoded frames, decodes
    nothing. Only the stop sentinel (``None``) is queued, so the decoder thread idles on
    ``get()`` and exits when the receiver stops."""

    def __init__(self, on_frame: Callable[[Any], None] | None = None) -> None:
        super().__init__()
        self.frames = 0
        self._on_frame = on_frame

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None, block, timeout)
            return
        self.frames += 1
        if self._on_frame is not None:
            self._on_frame(item)


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_packet: PacketHandler | None,
    *,
    replace: bool = False,
    direct: DirectHandler | None = None,
) -> FrameSink:
    """Install the forwarding tap on a receiver that has not started receiving yet.

    With ``replace`` the receiver's own per-packet work (statistics for receiver reports,
    NACK generation, bandwidth estimation, depacketizing, jitter buffer) is skipped entirely:
    the SFU sends its own REMB cap and keyframe requests instead. ``direct`` is called by
    ``direct.receive_directly`` with each decrypted packet of this receiver's SSRCs, ahead of
    aiortc's receive tasks.
    """
    sink = FrameSink()
    setattr(receiver, _DECODER_QUEUE, sink)
    if direct is not None:
        setattr(receiver, DIRECT, direct)
    if on_packet is not None:
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            await on_packet(packet)
            await original(packet, arrival_time_ms)

        async def handle_only(packet: RtpPacket, arrival_time_ms: int) -> None:
            await on_packet(packet)

        receiver._handle_rtp_packet = handle_only if replace else handle  # type: ignore[method-assign]
    return sink


def soon(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a send (RTCP upstream, a TURN-relayed packet) as its own task, for a synchronous
    caller; a failure is logged."""
    task = asyncio.ensure_future(coro)
    _SENDING.add(task)
    task.add_done_callback(_sent)


def _sent(task: asyncio.Task[Any]) -> None:
    _SENDING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.info("send failed: %r", task.exception())


def send_rtp_soon(sender: RTCRtpSender, data: bytes) -> bool:
    """:func:`send_rtp` as a task (a TURN-relayed subscriber); counted as sent."""
    soon(send_rtp(sender, data))
    return True


def decoder_queue(receiver: RTCRtpReceiver) -> Any:
    return getattr(receiver, _DECODER_QUEUE)


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await receiver._send_rtcp_pli(media_ssrc)


async def send_remb(receiver: RTCRtpReceiver, rtcp_ssrc: int, bitrate: int, ssrc: int) -> None:
    """Receiver Estimated Maximum Bitrate: how the SFU caps a publisher's video bitrate."""
    packet = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, [ssrc])
    )
    await receiver._send_rtcp(packet)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` instead of flagging the (never running) encoder on PLI/FIR."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def on_nack(sender: RTCRtpSender, callback: Callable[[int], Awaitable[None]]) -> None:
    """Call ``callback(sequence_number)`` for each packet a subscriber's NACK reports lost,
    instead of looking in the sender's own history (empty: the SFU never sends through it)."""
    sender._retransmit = callback  # type: ignore[method-assign,assignment]


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    """Ask the publisher to resend ``lost`` (RTCP generic NACK, RFC 4585)."""
    await receiver._send_rtcp_nack(media_ssrc, lost)


def sender_ssrc(sender: RTCRtpSender) -> int:
    return int(sender._ssrc)


def on_feedback(
    sender: RTCRtpSender,
    on_loss: Callable[[float], None],
    on_remb: Callable[[int], None],
    on_rtt: Callable[[float], None] | None = None,
) -> None:
    """Hear a subscriber's congestion feedback for this sender: the fraction lost of each
    receiver report block about its SSRC (and the round trip from its LSR/DLSR), and REMB;
    aiortc's own handling still runs."""
    original = sender._handle_rtcp_packet
    ssrc = int(sender._ssrc)
    setattr(sender, _FEEDBACK, (on_loss, on_rtt))

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            for report in packet.reports:
                if report.ssrc == ssrc:
                    report_block(sender, report.fraction_lost, report.lsr, report.dlsr)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            with contextlib.suppress(ValueError):
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if ssrc in ssrcs:
                    on_remb(int(bitrate))
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def report_block(sender: RTCRtpSender, fraction_lost: int, lsr: int, dlsr: int) -> None:
    """One receiver report block about ``sender``'s SSRC, to the hooks ``on_feedback``
    installed: the fraction lost (in 256ths), and the round trip when the block is about our
    last sender report (its LSR; DLSR in 65536ths of a second). Called from aiortc's RTCP
    path (the hook above) and from ``direct.py``'s, which skips aiortc's for plain reports."""
    hooks = getattr(sender, _FEEDBACK, None)
    if hooks is None:
        return
    on_loss, on_rtt = hooks
    on_loss(fraction_lost / 256)
    d = sender.__dict__  # about our last sender report: the round trip
    if on_rtt is not None and lsr and lsr == d.get(SENDER_LSR):
        on_rtt(time.time() - d[SENDER_LSR_TIME] - dlsr / 65536)


def sender_rtx_ssrc(sender: RTCRtpSender) -> int:
    """The SSRC aiortc announces for the sender's RTX stream (``a=ssrc-group:FID``)."""
    return int(sender._rtx_ssrc)


async def send_rtp(sender: RTCRtpSender, data: bytes) -> bool:
    """SRTP-protect and send one RTP packet on the sender's transport.

    Returns False when the transport is not connected (the packet is dropped).
    """
    dtls: RTCDtlsTransport = sender.transport
    if dtls._state is not State.CONNECTED:
        return False
    protected = dtls._tx_srtp.protect(data)
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return False
    protocol = pair.protocol
    if type(protocol) is aioice.ice.StunProtocol:
        protocol.transport.sendto(protected, pair.remote_addr)
    else:  # TURN relay: may wait for a channel binding
        await protocol.send_data(protected, pair.remote_addr)
    return True


def connections(pc: RTCPeerConnection) -> list[Any]:
    """The aioice connections under ``pc``'s transceivers, each once."""
    found: dict[int, Any] = {}
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport.iceGatherer._connection
        found.setdefault(id(connection), connection)
    return list(found.values())


def gather_on(pc: RTCPeerConnection, addresses: Sequence[str]) -> None:
    """Make every ICE gatherer of ``pc`` gather host candidates on exactly ``addresses``
    (under the relay policy aioice passes none, and that is kept)."""
    for connection in connections(pc):
        if getattr(connection, "_hc_gather_on", None) is None:
            _wrap_gathering(connection, list(addresses))


def _wrap_gathering(connection: Any, chosen: list[str]) -> None:
    original = connection.get_component_candidates

    async def get_component_candidates(
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109
    ) -> Any:
        relay = connection._transport_policy == aioice.TransportPolicy.RELAY
        return await original(
            component=component, addresses=[] if relay else chosen, timeout=timeout
        )

    connection.get_component_candidates = get_component_candidates
    connection._hc_gather_on = chosen


def drop_datagrams_from(pc: RTCPeerConnection, allowed: Callable[[str], bool]) -> None:
    """Silently drop every datagram (STUN or media) reaching ``pc``'s host sockets from an
    address ``allowed`` refuses: such a source is never answered, never paired. Verdicts are
    cached per source address (bounded)."""
    for connection in connections(pc):
        for protocol in list(getattr(connection, "_protocols", [])):
            if (
                type(protocol) is aioice.ice.StunProtocol
                and not getattr(protocol, "_hc_filtered", False)
                and not hasattr(protocol.transport, "batch_sendto")  # udpmux filters first
            ):
                _filter_protocol(protocol, allowed)


def _filter_protocol(protocol: Any, allowed: Callable[[str], bool]) -> None:
    original = protocol.datagram_received
    verdicts: dict[str, bool] = {}

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        host = addr[0]
        ok = verdicts.get(host)
        if ok is None:
            if len(verdicts) > 256:
                verdicts.clear()
            ok = verdicts[host] = allowed(host)
        if ok:
            original(data, addr)

    protocol.datagram_received = datagram_received
    protocol._hc_filtered = True


def enlarge_socket_buffers(pc: RTCPeerConnection, size: int) -> None:
    """Give the connection's UDP sockets room for bursts (a video frame to many subscribers
    leaves in one go); the kernel caps the request at net.core.[rw]mem_max."""
    for connection in connections(pc):
        for protocol in list(getattr(connection, "_protocols", [])):
            transport = getattr(protocol, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None:
                continue
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, size)


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise HookMissing(f"aiortc/aioice private hook moved: {what}")


def _params(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


def check_hooks() -> None:
    """Raise :class:`HookMissing` if any private name used above (and in ``sendpath.py``,
    ``direct.py``, ``udpmux.py``, ``hostsockets.py`` and ``clientside.py``) is gone or
    changed role."""
    _require(aiortc.__version__ == AIORTC_VERSION, f"aiortc {aiortc.__version__} != pinned")
    _require(aioice.__version__ == AIOICE_VERSION, f"aioice {aioice.__version__} != pinned")
    conn = aioice.Connection
    ice = aiortc.rtcicetransport
    src = inspect.getsource
    # (where, the text that must be there)
    sources: list[tuple[Any, str]] = [
        (RTCRtpReceiver.__init__, "self.__decoder_queue: queue.Queue"),
        (RTCRtpReceiver, "self.__decoder_queue.put((codec, encoded_frame))"),
        (RTCRtpReceiver, "self.__decoder_queue,\n"),
        (RTCDtlsTransport._handle_rtp_data, "receiver._handle_rtp_packet("),
        (RTCDtlsTransport._handle_rtp_data, "self._rtp_header_extensions_map"),
        (RTCDtlsTransport._handle_rtp_data, "self._rtp_router.route_rtp(packet)"),
        (RTCDtlsTransport._recv_next, "self._rx_srtp.unprotect(data)"),
        (RTCDtlsTransport._recv_next, "first_byte > 127 and first_byte < 192"),
        # direct.py: SRTCP unprotected there, receiver reports read, the rest handed over
        (RTCDtlsTransport._recv_next, "data = self._rx_srtp.unprotect_rtcp(data)"),
        (RTCDtlsTransport._recv_next, "await self._handle_rtcp_data(data)"),
        (RTCDtlsTransport._handle_rtcp_data, "self._rtp_router.route_rtcp(packet)"),
        (aiortc.rtcdtlstransport.RtpRouter.__init__, "self.senders: dict[int, RtpSender]"),
        (aiortc.rtcdtlstransport.RtpRouter.route_rtcp, "self.senders.get(report.ssrc)"),
        (aiortc.rtcdtlstransport.RtpRouter.route_rtp, "self.ssrc_table.get(packet.ssrc)"),
        (aiortc.rtcdtlstransport.RtpRouter.route_rtp, "self.payload_type_table.get("),
        (RTCDtlsTransport._send_rtp, "self._tx_srtp.protect(data)"),
        (RTCDtlsTransport._send_rtp, "self.transport._send("),
        (RTCRtpSender, "self._send_keyframe()"),
        (RTCRtpSender, "await self._retransmit(seq)"),
        (RTCRtpSender, "self._rtx_ssrc = random32()"),
        (conn.sendto, "_nominated"),
        (conn.sendto, "pair.remote_addr"),
        (conn.data_received, "self._queue.put_nowait((data, component))"),
        (aioice.ice.StunProtocol.send_data, "self.transport.sendto(data, addr)"),
        (aioice.ice.StunProtocol.datagram_received, "self.receiver.data_received(data"),
        (conn.gather_candidates, "self.get_component_candidates("),
        (conn.gather_candidates, "self._transport_policy"),
        (conn, "self._protocols"),
        (ice.RTCIceGatherer.__init__, "self._connection = Connection("),
        (ice.RTCIceTransport.__init__, "self._connection = gatherer._connection"),
        # server/media/udpmux.py: connections' host candidates on the worker's one socket
        (aioice.ice.StunProtocol.__init__, "self.transactions: dict[bytes, stun.Transaction]"),
        (aioice.ice.StunProtocol.connection_made, "self.transport = "),
        (aioice.ice.StunProtocol.connection_lost, "self.receiver.protocol_lost(self)"),
        (aioice.ice.StunProtocol.close, "await self.__closed"),
        (conn.__init__, "self._local_username = local_username"),
        (conn.get_component_candidates, "self._protocols += host_protocols"),
        (conn.get_component_candidates, "for address in addresses:"),
        (conn.close, "await protocol.close()"),
        (conn.request_received, 'message.attributes["USERNAME"]'),
        (conn, "self.stun_server"),
        # server/media/clientside.py: RTX routed by the offer's FID group
        (RTCRtpReceiver.receive, "self.__rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc"),
        (RTCRtpReceiver.receive, "self.__transport._register_rtp_receiver(self, parameters)"),
        (RTCRtpReceiver._handle_rtp_packet, "self.__rtx_ssrc.get(packet.ssrc)"),
        (RTCRtpReceiver._handle_rtp_packet, "codec = self.__codecs.get(packet.payload_type)"),
        (RTCRtpReceiver._handle_rtp_packet, "self.__remote_streams[packet.ssrc].add(packet)"),
        (RTCRtpReceiver.__init__, "self.__remote_streams: dict[int, StreamStatistics]"),
        (RTCRtpReceiver.receive, "self.__codecs[codec.payloadType] = codec"),  # same dict
        (RTCDtlsTransport.__init__, "self._rtp_router = RtpRouter()"),
        (aiortc.rtcdtlstransport.RtpRouter.__init__, "self.ssrc_table: dict[int, RtpReceiver]"),
        (RTCPeerConnection, "await transceiver.receiver.receive("),  # in __connect
    ]
    for name in (
        "__packet_count",
        "__octet_count",
        "__rtp_timestamp",
        "__ntp_timestamp",
        "__lsr",
        "__lsr_time",
    ):
        sources.append((RTCRtpSender, f"self.{name} = "))
    for needle in (
        "self._cdata = ffi.new(",
        "self._buffer = ffi.buffer(self._cdata)",
        "self._srtp = ffi.gc(",
        "func(self._srtp[0], self._cdata, len_p)",
        "SRTP_MAX_TRAILER_LEN",
        "lib.srtp_protect",
        "lib.srtp_unprotect",
        "lib.srtp_unprotect_rtcp",
    ):
        sources.append((pylibsrtp.Session, needle))
    for where, needle in sources:
        _require(needle in src(where), f"{getattr(where, '__qualname__', where)}: {needle}")
    signatures = [
        (RTCRtpReceiver._handle_rtp_packet, ["self", "packet", "arrival_time_ms"]),
        (RTCRtpSender._handle_rtcp_packet, ["self", "packet"]),
        (RTCDtlsTransport._handle_rtcp_data, ["self", "data"]),
        (RTCRtpReceiver._send_rtcp_nack, ["self", "media_ssrc", "lost"]),
    ]
    for func, params in signatures:
        _require(_params(func) == params, f"{func.__qualname__}({', '.join(params[1:])})")
    _require(hasattr(RTCRtpReceiver, "_send_rtcp_pli"), "RTCRtpReceiver._send_rtcp_pli")
    _require(hasattr(RTCRtpReceiver, "_send_rtcp"), "RTCRtpReceiver._send_rtcp")
    _require(hasattr(State, "CONNECTED"), "rtcdtlstransport.State.CONNECTED")
    _require("addresses" in _params(conn.get_component_candidates), "get_component_candidates")
    _require(
        _params(aioice.ice.server_reflexive_candidate) == ["protocol", "stun_server"],
        "aioice.ice.server_reflexive_candidate(protocol, stun_server)",
    )
