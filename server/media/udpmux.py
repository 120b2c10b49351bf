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
the same demultiplexer. :func:`connected_sends_work` checks once that this kernel delivers to
the connected socket only its own remote's datagrams (and everyone else's to the unconnected
one); where it does not, or with ``sendmmsg``, everything stays on the one socket.

The private aioice names used here are checked by ``passthrough.check_hooks``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import aioice.ice
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.utils import random_string

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


_CONNECTED_OK: bool | None = None


def connected_sends_work() -> bool:
    """Whether this kernel lets connected ``SO_REUSEPORT`` sockets share a bound UDP port the
    way :class:`MuxSocket` needs: each remote's datagrams reach its connected socket, every
    other source's the unconnected one, and sends leave from the shared port. Checked once on
    127.0.0.1 with throwaway sockets; False where any step fails."""
    global _CONNECTED_OK
    if _CONNECTED_OK is None:
        _CONNECTED_OK = _check_connected_sends()
    return _CONNECTED_OK


def _check_connected_sends() -> bool:
    if not hasattr(socket, "SO_REUSEPORT"):
        return False
    made: list[socket.socket] = []

    def udp() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        made.append(sock)
        return sock

    try:
        main = udp()
        main.bind(("127.0.0.1", 0))
        main.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as MuxSocket: after bind
        port = main.getsockname()[1]
        peers = [udp() for _ in range(3)]
        conns = []
        for peer in peers:
            peer.bind(("127.0.0.1", 0))
            conn = udp()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            conn.bind(("127.0.0.1", port))
            conn.connect(peer.getsockname())
            conns.append(conn)
        strangers = [udp() for _ in range(8)]
        for sock in strangers:
            sock.sendto(b"s", ("127.0.0.1", port))
        for i, peer in enumerate(peers):
            peer.sendto(b"%d" % i, ("127.0.0.1", port))
        for i, conn in enumerate(conns):
            conn.send(b"r")
            if peers[i].recvfrom(8, socket.MSG_DONTWAIT) != (b"r", ("127.0.0.1", port)):
                return False
            if conn.recv(8, socket.MSG_DONTWAIT) != b"%d" % i:
                return False
        return all(main.recv(8, socket.MSG_DONTWAIT) == b"s" for _ in strangers)
    except OSError:
        return False
    finally:
        for sock in made:
            sock.close()


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


class HostSockets:
    """A media worker's shared sockets: one per host address, all on one port (``port`` 0:
    the first is ephemeral and the others try to share its number)."""

    def __init__(
        self,
        addresses: Sequence[str],
        port: int,
        allowed: Callable[[str], bool] | None,
        *,
        use_sendmmsg: bool = True,
        connect_peers: bool = False,
    ) -> None:
        self._addresses = list(addresses)
        self._port = port
        self._allowed = allowed
        self._use_sendmmsg = use_sendmmsg
        self._connect_peers = connect_peers and connected_sends_work()
        self.sockets: list[MuxSocket] = []
        # ufrag -> a connection that reserved it and has not gathered yet (or has)
        self._reserved: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        port = self._port
        for address in self._addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
                sock.bind((address, port))
                sock.setblocking(False)
                if self._connect_peers:
                    # after the bind, which stays exclusive: a port another socket holds (a
                    # second server, even one of ours) is still refused
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            except BaseException:
                sock.close()
                self.stop()
                raise
            mux = MuxSocket(
                sock,
                self._allowed,
                use_sendmmsg=self._use_sendmmsg,
                connect_peers=self._connect_peers,
            )
            mux.start_reading(loop)
            if port == 0:
                port = mux.sockname[1]
            self.sockets.append(mux)
            logger.info(
                "media: shared UDP socket on %s port %d%s",
                address,
                mux.sockname[1],
                " (a connected socket per remote)" if mux.connects_peers else "",
            )

    def stop(self) -> None:
        for mux in self.sockets:
            mux.close()
        self.sockets.clear()

    @property
    def port(self) -> int:
        return int(self.sockets[0].sockname[1]) if self.sockets else 0

    def reserve_ufrag(self, connection: Any) -> None:
        """Give ``connection`` a local ufrag no other connection on these sockets has or has
        reserved, and reserve it (call before any offer carries it: it may change it)."""

        def taken(ufrag: str) -> bool:
            holder = self._reserved.get(ufrag)
            return (holder is not None and holder is not connection) or any(
                m.ufrag_taken(ufrag, connection) for m in self.sockets
            )

        while taken(connection.local_username):
            connection._local_username = random_string(4)
        self._reserved[connection.local_username] = connection

    def host_protocols(self, connection: Any, component: int) -> list[Any]:
        """The connection's host protocols, one per shared socket (its ufrag reserved)."""
        return [mux.attach(connection, component) for mux in self.sockets]

    def counters(self) -> dict[str, int]:
        out = {
            "filtered": 0,
            "unknown": 0,
            "received": 0,
            "calls": 0,
            "sent": 0,
            "dropped": 0,
            "peers": 0,
        }
        for mux in self.sockets:
            out["peers"] += mux.peers
            out["filtered"] += mux.filtered
            out["unknown"] += mux.unknown
            out["received"] += mux.received
            out["calls"] += mux.batch.calls
            out["sent"] += mux.batch.sent
            out["dropped"] += mux.batch.dropped + mux.peer_dropped
        return out


def share_host_sockets(pc_connections: Sequence[Any], sockets: HostSockets) -> None:
    """Make each aioice connection's host candidates the shared sockets instead of its own
    (relay policy: none, as aioice; TURN and STUN still take aioice's path)."""
    for connection in pc_connections:
        if getattr(connection, "_hc_shared", None) is None:
            _wrap_gathering(connection, sockets)


def _wrap_gathering(connection: Any, sockets: HostSockets) -> None:
    original = connection.get_component_candidates
    sockets.reserve_ufrag(connection)

    async def get_component_candidates(
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109
    ) -> list[Candidate]:
        if connection._transport_policy == aioice.TransportPolicy.RELAY:
            return await original(component=component, addresses=[], timeout=timeout)  # type: ignore[no-any-return]
        host = sockets.host_protocols(connection, component)
        connection._protocols += host
        candidates = [p.local_candidate for p in host]
        tasks = []
        if connection.stun_server:  # server-reflexive candidates through the shared socket
            tasks = [
                asyncio.create_task(
                    aioice.ice.server_reflexive_candidate(p, connection.stun_server)
                )
                for p in host
                if ":" not in p.local_candidate.host
            ]
        # TURN (and nothing else: no host addresses) by aioice's own path
        relayed = await original(component=component, addresses=[], timeout=timeout)
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            candidates += [t.result()[0] for t in done if t.exception() is None]
        return candidates + list(relayed)

    connection.get_component_candidates = get_component_candidates
    connection._hc_shared = sockets
