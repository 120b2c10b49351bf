"""A media worker's shared sockets (``udpmux.MuxSocket``): one per host address, all on one
port, made at the engine's start (:class:`HostSockets`); each aioice connection's host
candidates put on them instead of a socket of its own (:func:`share_host_sockets`); and the
kernel check that decides whether copies may leave through a socket connected to each remote
(:func:`connected_sends_work`; see udpmux.py).

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
from aioice.candidate import Candidate
from aioice.utils import random_string

from server.media.udpmux import SOCKET_BUFFER_BYTES, MuxSocket

logger = logging.getLogger(__name__)

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
