"""The fast way out: what a forwarded copy costs after the header rewrite, and the sender's
reports that describe it. Private aiortc/pylibsrtp names, all checked by
``passthrough.check_hooks`` (tests/media/test_passthrough.py) like passthrough's own:

* SRTP protect/unprotect on the session's own libsrtp buffer, without pylibsrtp's per-call
  wrapper (``Session._cdata``, ``_buffer``, ``_srtp``);
* :class:`RtpOut`: protect, then one system call on the nominated ICE pair's socket (or its
  remote's connected socket on the worker's port, ``udpmux.py``);
* sender report counters (``_RTCRtpSender__packet_count`` ...) so RTCP SRs stay truthful, and
  the hooks ``reports.py`` uses to send one compound of SRs per connection
  (``_RTCRtpSender__rtcp_started``, ``__rtcp_exited``, ``__cname``, ``_run_rtcp``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import RTCRtpSender
from aiortc.rtcdtlstransport import State
from aiortc.rtp import RtcpByePacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket

_SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
_SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
_SENDER_RTP_TS = "_RTCRtpSender__rtp_timestamp"
_SENDER_NTP_TS = "_RTCRtpSender__ntp_timestamp"
SENDER_LSR = "_RTCRtpSender__lsr"  # our last sender report, and when (time.time())
SENDER_LSR_TIME = "_RTCRtpSender__lsr_time"
_SENDER_CNAME = "_RTCRtpSender__cname"
_SENDER_RTCP_STARTED = "_RTCRtpSender__rtcp_started"
_SENDER_RTCP_EXITED = "_RTCRtpSender__rtcp_exited"
_NTP_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01


def fast_protect(session: Any) -> Callable[[bytes], bytes | None]:
    """SRTP protect without pylibsrtp's per-call wrapper work (about 1 us of 2.5): the same
    libsrtp call on the session's own buffer. Falls back to ``session.protect`` if
    pylibsrtp's internals are not where we expect them. Returns None on an SRTP error."""
    return _fast_srtp(session, "srtp_protect", session.protect)


def fast_unprotect(session: Any) -> Callable[[bytes], bytes | None]:
    """SRTP unprotect the same way (None: replayed, forged or malformed)."""
    return _fast_srtp(session, "srtp_unprotect", _none_on_error(session.unprotect))


def fast_unprotect_rtcp(session: Any) -> Callable[[bytes], bytes | None]:
    """SRTCP unprotect the same way (None: replayed, forged or malformed)."""
    return _fast_srtp(session, "srtp_unprotect_rtcp", _none_on_error(session.unprotect_rtcp))


def _none_on_error(process: Callable[[bytes], bytes]) -> Callable[[bytes], bytes | None]:
    def slow(data: bytes) -> bytes | None:
        try:
            return process(data)
        except pylibsrtp.Error:
            return None

    return slow


def _fast_srtp(session: Any, name: str, fallback: Any) -> Callable[[bytes], bytes | None]:
    cdata = getattr(session, "_cdata", None)
    buffer = getattr(session, "_buffer", None)
    srtp = getattr(session, "_srtp", None)
    if cdata is None or buffer is None or srtp is None:
        return fallback  # type: ignore[no-any-return]
    from pylibsrtp._binding import ffi, lib  # type: ignore[import-not-found]

    handle = srtp[0]
    length = ffi.new("int *")
    process = getattr(lib, name)
    capacity = len(cdata) - int(pylibsrtp.SRTP_MAX_TRAILER_LEN)  # room for the trailer

    def run(data: bytes, _keep_alive: Any = session) -> bytes | None:
        # _keep_alive: the session owns the libsrtp context ``handle`` points into
        n = len(data)
        if n > capacity:
            return None
        buffer[0:n] = data
        length[0] = n
        if process(handle, cdata, length) != 0:
            return None
        return buffer[0 : length[0]]  # type: ignore[no-any-return]

    return run


class RtpOut:
    """The fast path to one subscriber: SRTP-protect, then one system call: ``send`` on a
    socket connected to the nominated pair's remote where the shared socket offers one
    (``udpmux``), else ``sendto`` on the pair's socket. Resolved lazily and re-resolved when
    the nominated pair changes; ``send`` returns None when only the slow path can send (TURN
    relay, not connected)."""

    __slots__ = ("_addr", "_conn", "_dtls", "_failed", "_pair", "_protect", "_sender", "_sendto")

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._dtls: Any = None
        self._conn: Any = None
        self._pair: Any = None
        self._protect: Any = None
        self._sendto: Any = None
        self._addr: Any = None  # None: ``_sendto`` is a connected socket's ``send``
        self._failed: Any = None

    def send(self, data: bytes) -> bool | None:
        dtls = self._dtls
        if dtls is None or dtls._state is not State.CONNECTED:
            return self._resolve() and self.send(data)
        pair = self._conn._nominated.get(1)
        if pair is not self._pair:
            return self._resolve() and self.send(data)
        protected = self._protect(data)
        if protected is None:
            return False
        addr = self._addr
        try:
            if addr is None:
                self._sendto(protected)
            else:
                self._sendto(protected, addr)
        except (BlockingIOError, InterruptedError, ConnectionRefusedError):
            # socket buffer full: drop, like a congested link (a connected socket also
            # reports the remote's ICMP port unreachable here, once)
            if self._failed is not None:
                self._failed()
            return False
        except OSError:
            return None
        return True

    def _resolve(self) -> bool | None:
        dtls: Any = self._sender.transport
        if dtls._state is not State.CONNECTED:
            self._dtls = None
            return False
        conn = dtls.transport._connection
        pair = conn._nominated.get(1)
        if pair is None or type(pair.protocol) is not aioice.ice.StunProtocol:
            self._dtls = None
            return None
        transport = pair.protocol.transport
        connect = getattr(transport, "connected_send", None)  # udpmux: a socket per remote
        send = connect(pair.remote_addr) if connect is not None else None
        shared = getattr(transport, "batch_sendto", None)  # udpmux: the worker's one socket
        sock = getattr(transport, "_sock", None)  # asyncio's datagram transport socket
        self._failed = None
        if send is not None:
            self._sendto = send
            self._failed = getattr(transport, "send_failed", None)
        elif shared is not None:
            self._sendto = shared
        else:
            self._sendto = sock.sendto if sock is not None else transport.sendto
        self._addr = None if send is not None else pair.remote_addr
        self._protect = fast_protect(dtls._tx_srtp)
        self._conn = conn
        self._pair = pair
        self._dtls = dtls
        return True


def count_sent(sender: RTCRtpSender, packets: int, octets: int, rtp_ts: int, ntp: int) -> None:
    """Set the sender's RTCP sender-report counters (absolute values) for forwarded packets."""
    d = sender.__dict__
    d[_SENDER_PACKET_COUNT] = packets
    d[_SENDER_OCTET_COUNT] = octets
    d[_SENDER_RTP_TS] = rtp_ts
    d[_SENDER_NTP_TS] = ntp


def ntp_now() -> int:
    """The 64-bit NTP time now, as ``aiortc.clock.current_ntp_time`` gives it, without its
    datetime arithmetic (this runs every 16 forwarded packets per slot)."""
    return int((time.time() + _NTP_OFFSET_S) * 4294967296.0)


def share_rtcp_loop(
    sender: RTCRtpSender,
    join: Callable[[RTCRtpSender], None],
    leave: Callable[[RTCRtpSender], None],
) -> None:
    """Replace ``sender``'s own RTCP task (an SR + SDES every 0.5-1.5 s) with membership of a
    shared report clock (``server/media/reports.py``): ``join`` when aiortc starts it, ``leave``
    when ``stop()`` cancels it; the sender's BYE and the events ``stop()`` waits for are kept."""
    d = sender.__dict__

    async def run_rtcp() -> None:
        d[_SENDER_RTCP_STARTED].set()
        join(sender)
        try:
            await asyncio.Event().wait()  # until stop() cancels this task
        except asyncio.CancelledError:
            pass
        finally:
            leave(sender)
        await sender._send_rtcp([RtcpByePacket(sources=[sender._ssrc])])
        d[_SENDER_RTCP_EXITED].set()

    sender._run_rtcp = run_rtcp  # type: ignore[method-assign]


def sender_report(sender: RTCRtpSender) -> tuple[RtcpSrPacket, RtcpSourceInfo | None]:
    """``sender``'s SR (what aiortc's own loop would send now, and its LSR kept for the round
    trip) and its SDES CNAME chunk (None before it has one)."""
    d = sender.__dict__
    ntp = d[_SENDER_NTP_TS]
    report = RtcpSrPacket(
        ssrc=sender._ssrc,
        sender_info=RtcpSenderInfo(
            ntp_timestamp=ntp,
            rtp_timestamp=d[_SENDER_RTP_TS],
            packet_count=d[_SENDER_PACKET_COUNT] & 0xFFFFFFFF,
            octet_count=d[_SENDER_OCTET_COUNT] & 0xFFFFFFFF,
        ),
    )
    d[SENDER_LSR] = (ntp >> 16) & 0xFFFFFFFF
    d[SENDER_LSR_TIME] = time.time()
    cname = d.get(_SENDER_CNAME)
    chunk = (
        None if cname is None else RtcpSourceInfo(ssrc=sender._ssrc, items=[(1, cname.encode())])
    )
    return report, chunk
