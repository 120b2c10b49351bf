"""One UDP socket per media worker, shared by every peer connection's host candidates.

aioice binds a socket per connection, so one incoming packet's copies to 11 subscribers leave
through 11 sockets with 11 ``sendto`` calls. Here every connection of the worker announces the
same host address and port (like mediasoup's WebRtcServer, LiveKit's UDP mux, Janus's single
port), and :class:`MuxSocket` demultiplexes what arrives:

1. the allowed-networks filter sees every datagram first (a refused source is dropped and
   counted, never answered);
2. a STUN request goes to the connection whose local ufrag is the first half of its USERNAME
   (RFC 8445 7.2.2: ``<receiver's ufrag>:<sender's ufrag>``), and its source address is learnt
   for that connection (aioice still checks MESSAGE-INTEGRITY: a request with a forged
   username learns nothing more than a datagram to aioice's own per-connection socket could);
3. a STUN response goes by its transaction id to the connection that sent the request;
4. everything else (DTLS, SRTP, SRTCP) by its source address; an unknown source is dropped
   and counted.

Each connection gets an ordinary ``aioice.ice.StunProtocol`` whose transport is a
:class:`MuxTransport` on the shared socket, so aioice's checks, consent freshness, pairing and
``close()`` work unchanged, and ``direct.receive_directly`` and the address filter wrap its
``datagram_received`` as they wrap a socket's own. TURN relayed candidates keep aioice's path.

Sends made while one incoming datagram is handled (the forwarding point is synchronous, so
that is every copy of a forwarded packet) are queued and leave together with one
``sendmmsg`` when the datagram's handling returns (``sendmany.Batch``, ctypes on libc; a loop
of ``sendto`` where libc has no ``sendmmsg``). Sends at any other time (pacer timers, RTCP, STUN
from aioice's tasks) go out at once.

Copies to a remote whose address the socket has learnt leave through a *connected* socket on
the same port (``SO_REUSEPORT``, one per remote address, made when the forwarding path first
asks for it): the kernel keeps that socket's route, so a ``send`` costs about 1 us less than a
``sendto`` on the unconnected socket (docs/media.md), and the remote sees the same source
address and port. What that remote sends then arrives on its connected socket and goes through
the same demultiplexer. ``hostsockets.connected_sends_work`` checks once that this kernel delivers
to the connected socket only its own remote's datagrams (and everyone else's to the
unconnected one); where it does not, or with ``sendmmsg``, everything stays on the one socket.
The worker's sockets (one per host address, on one port) and the wrapping of each connection's
gathering are in ``server/media/hostsockets.py``.

The private aioice names used here are checked by ``passthrough.check_hooks``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

import aioice.ice
from aioice.candidate import Candidate, candidate_foundation, candidate_priority

from server.media.sendmany import Batch

logger = logging.getLogger(__name__)

STUN_COOKIE = b"\x21\x12\xa4\x42"
STUN_USERNAME = 0x0006
# STUN message classes (RFC 5389 6: bits C1 C0 of the message type)
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3
SOCKET_BUFFER_BYTES = 4 << 20  # every connection's bursts share this one socket
_VERDICTS_MAX = 256
READS_PER_WAKEUP = 64  # datagrams read per readiness callback before other callbacks run
RECV_BYTES = 65536
PEER_BUFFER_BYTES = 1 << 20  # one remote's connected socket: a burst of one receiver's copies


# --- pure helpers ------------------------------------------------------------------------------
def stun_class(data: bytes) -> int | None:
    """The STUN message class of ``data`` (REQUEST, INDICATION, SUCCESS, ERROR), or None if it
    is not STUN (RFC 7983: STUN's first byte is 0-3; the magic cookie follows the length)."""
    if len(data) < 20 or data[0] > 3 or data[4:8] != STUN_COOKIE:
        return None
    return ((data[0] & 0x01) << 1) | ((data[1] & 0x10) >> 4)


def stun_local_ufrag(data: bytes) -> str | None:
    """The receiver's ufrag from a STUN message's USERNAME (``"<ours>:<theirs>"``), or None."""
    end = min(len(data), 20 + int.from_bytes(data[2:4], "big"))
    pos = 20
    while pos + 4 <= end:
        kind = int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if kind == STUN_USERNAME:
            value = data[pos + 4 : pos + 4 + length]
            ours, colon, _ = value.partition(b":")
            if not colon or not ours:
                return None
            try:
                return ours.decode()
            except UnicodeDecodeError:
                return None
        pos += 4 + length + (-length % 4)
    return None


# --- the shared socket -------------------------------------------------------------------------
class MuxTransport(asyncio.DatagramTransport):
    """One connection's view of the shared socket: what aioice's ``StunProtocol`` sends on."""

    def __init__(self, mux: MuxSocket, protocol: Any) -> None:
        super().__init__()
        self._mux = mux
        self._protocol = protocol
        self._closing = False
        self.batch_sendto = mux.send  # for sendpath.RtpOut's fast path

    def sendto(self, data: Any, addr: Any = None) -> None:
        if not self._closing:
            self._mux.send(bytes(data), addr)

    def connected_send(self, addr: tuple[Any, ...]) -> Callable[[bytes], int] | None:
        """``send`` of a connected socket to ``addr`` on the shared port, for
        ``sendpath.RtpOut``'s fast path (None: use :meth:`sendto`); a failed send is
        reported to :meth:`send_failed`."""
        return None if self._closing else self._mux.connected_send(addr)

    def send_failed(self) -> None:
        self._mux.peer_send_failed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return self._mux.sockname
        return default  # no "socket": the shared socket's options are the worker's, not ours

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._mux.detach(self._protocol)
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


class MuxSocket:
    """One bound UDP socket and its demultiplexer (see the module docstring)."""

    def __init__(
        self,
        sock: socket.socket,
        allowed: Callable[[str], bool] | None,
        *,
        use_sendmmsg: bool = True,
        connect_peers: bool = False,
    ) -> None:
        self.sock = sock
        self.sockname: tuple[Any, ...] = sock.getsockname()
        self.batch = Batch(sock, use_sendmmsg=use_sendmmsg)
        self._queueing = self.batch.available  # without sendmmsg nothing waits for a batch
        # connected sockets per learnt remote (not with sendmmsg: its batches need one socket)
        self._connect_peers = connect_peers and not self._queueing
        self._peers: dict[tuple[Any, ...], socket.socket] = {}
        self._allowed = allowed
        self._verdicts: dict[str, bool] = {}
        self._by_ufrag: dict[str, Any] = {}  # local ufrag -> StunProtocol
        self._routes: dict[tuple[Any, ...], Any] = {}  # remote (host, port) -> StunProtocol
        self._learnt: dict[Any, set[tuple[Any, ...]]] = {}  # protocol -> its routes
        self._dispatching = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # counters
        self.filtered = 0  # from outside the allowed networks
        self.unknown = 0  # no connection claims it (unknown ufrag, source or transaction)
        self.received = 0
        self.peer_dropped = 0  # sends on connected sockets that failed (full buffer, refused)

    # reading: every datagram waiting, not one per event-loop wake-up as asyncio's datagram
    # transport reads (with one socket for every connection, that would be a select() call
    # per datagram)
    def start_reading(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._read_ready)

    def _read_ready(self) -> None:
        # With sendmmsg, what the whole burst of waiting datagrams sends leaves in one go.
        outer = self._queueing and not self._dispatching
        if outer:
            self._dispatching = True
        recvfrom = self.sock.recvfrom
        try:
            for _ in range(READS_PER_WAKEUP):
                try:
                    data, addr = recvfrom(RECV_BYTES)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:  # e.g. an ICMP error queued on the socket
                    self.error_received(exc)
                    continue
                self.datagram_received(data, addr)
        finally:
            if outer:
                self._dispatching = False
                if self.batch.pending:
                    self.batch.flush()

    def _read_peer(self, sock: socket.socket, key: tuple[Any, ...]) -> None:
        recv = sock.recv
        for _ in range(READS_PER_WAKEUP):
            try:
                data = recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. the remote's ICMP port unreachable
                self.error_received(exc)
                continue
            self.datagram_received(data, key)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if not data:
            return
        host = addr[0]
        if self._allowed is not None:
            ok = self._verdicts.get(host)
            if ok is None:
                if len(self._verdicts) > _VERDICTS_MAX:
                    self._verdicts.clear()
                ok = self._verdicts[host] = self._allowed(host)
            if not ok:
                self.filtered += 1
                return
        key = (host, addr[1])
        protocol = self._routes.get(key)
        if data[0] < 4:  # perhaps STUN (RFC 7983)
            kind = stun_class(data)
            if kind == REQUEST:
                ufrag = stun_local_ufrag(data)
                protocol = self._by_ufrag.get(ufrag) if ufrag is not None else None
                if protocol is not None:
                    self._learn(key, protocol)
            elif kind in (SUCCESS, ERROR) and (
                protocol is None or data[8:20] not in protocol.transactions
            ):
                found = self._by_transaction(data[8:20])
                if found is not None:
                    protocol = found
                    self._learn(key, protocol)
        if protocol is None:
            self.unknown += 1
            return
        self.received += 1
        if self._dispatching or not self._queueing:
            protocol.datagram_received(data, key)
            return
        self._dispatching = True
        try:
            protocol.datagram_received(data, key)
        finally:
            self._dispatching = False
            if self.batch.pending:
                self.batch.flush()

    def error_received(self, exc: Exception) -> None:
        logger.debug("shared media socket %s: %r", self.sockname, exc)

    # sending
    def send(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """With sendmmsg: queue ``data`` while datagrams are being handled (flushed when they
        are), else send it now. Never raises: a full buffer drops the datagram (counted in
        ``batch.dropped``)."""
        if self._dispatching:
            self.batch.pending.append((data, addr))
        else:
            self.batch.send_now(data, addr)

    def connected_send(self, addr: tuple[Any, ...]) -> Callable[[bytes], int] | None:
        """The ``send`` of a socket on this port connected to ``addr``, made on first use, for
        a remote this socket has learnt (None: not learnt, connected sends off, or the
        socket could not be made: the caller uses the unconnected socket)."""
        if not self._connect_peers or self._loop is None:
            return None
        key = (addr[0], addr[1])
        sock = self._peers.get(key)
        if sock is None:
            if key not in self._routes:
                return None
            sock = socket.socket(self.sock.family, socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    sock.setsockopt(socket.SOL_SOCKET, option, PEER_BUFFER_BYTES)
                sock.bind(self.sockname)
                sock.connect(key)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                logger.debug("no connected socket to %s: %r", key, exc)
                return None
            self._peers[key] = sock
            self._loop.add_reader(sock.fileno(), self._read_peer, sock, key)
        return sock.send

    def _drop_peer(self, key: tuple[Any, ...]) -> None:
        sock = self._peers.pop(key, None)
        if sock is not None:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()

    def peer_send_failed(self) -> None:
        """Count a send on a connected socket that failed (``sendpath.RtpOut`` calls it)."""
        self.peer_dropped += 1

    @property
    def peers(self) -> int:
        return len(self._peers)

    @property
    def connects_peers(self) -> bool:
        return self._connect_peers

    # connections
    def attach(self, connection: Any, component: int) -> Any:
        """A ``StunProtocol`` for ``connection`` on this socket, with its host candidate."""
        ufrag = connection.local_username
        other = self._by_ufrag.get(ufrag)
        if other is not None and other.receiver is not connection:
            raise ValueError(f"ufrag {ufrag!r} is taken on {self.sockname}")
        protocol = aioice.ice.StunProtocol(connection)
        protocol.connection_made(MuxTransport(self, protocol))
        host, port = self.sockname[0], self.sockname[1]
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", host),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=host,
            port=port,
            type="host",
        )
        self._by_ufrag[ufrag] = protocol
        return protocol

    def ufrag_taken(self, ufrag: str, connection: Any) -> bool:
        other = self._by_ufrag.get(ufrag)
        return other is not None and other.receiver is not connection

    def detach(self, protocol: Any) -> None:
        for key in self._learnt.pop(protocol, ()):
            if self._routes.get(key) is protocol:
                del self._routes[key]
                self._drop_peer(key)
        ufrag = protocol.receiver.local_username
        if self._by_ufrag.get(ufrag) is protocol:
            del self._by_ufrag[ufrag]

    @property
    def connections(self) -> int:
        return len(self._by_ufrag)

    def _learn(self, key: tuple[Any, ...], protocol: Any) -> None:
        old = self._routes.get(key)
        if old is protocol:
            return
        if old is not None:
            self._learnt.get(old, set()).discard(key)
        self._routes[key] = protocol
        self._learnt.setdefault(protocol, set()).add(key)

    def _by_transaction(self, transaction_id: bytes) -> Any:
        for protocol in self._by_ufrag.values():
            if transaction_id in protocol.transactions:
                return protocol
        return None

    def close(self) -> None:
        for key in list(self._peers):
            self._drop_peer(key)
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            self._loop = None
        self.sock.close()
