"""The worker's shared UDP socket (server/media/udpmux.py): demultiplexing and batched sends.

The demultiplexer is driven with hand-made datagrams through ``datagram_received`` and fake
aioice connections (real ``StunProtocol`` objects on top); the batch sends on real sockets on
127.0.0.1 and checks every copy arrives.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aioice import stun

from server.media import hostsockets, sendmany, udpmux
from server.media.hostsockets import HostSockets
from server.media.sendmany import Batch
from server.media.sfu import SfuSettings
from server.media.shard import worker_settings
from server.media.udpmux import MuxSocket, stun_class, stun_local_ufrag
from tests.media.harness import wait_until

RTP = bytes([0x80, 96]) + bytes(10) + b"media"
DTLS = bytes([22, 0xFE, 0xFD]) + bytes(20)
BROWSER = ("127.0.0.9", 40000)


def _request(ufrag: str) -> bytes:
    message = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    message.attributes["USERNAME"] = f"{ufrag}:browser"
    message.attributes["PRIORITY"] = 1
    return bytes(message)


def _response(transaction_id: bytes) -> bytes:
    message = stun.Message(
        message_method=stun.Method.BINDING,
        message_class=stun.Class.RESPONSE,
        transaction_id=transaction_id,
    )
    message.attributes["XOR-MAPPED-ADDRESS"] = BROWSER
    return bytes(message)


class FakeConnection:
    """What ``StunProtocol`` calls on its aioice connection, recorded."""

    def __init__(self, ufrag: str) -> None:
        self._local_username = ufrag
        self.data: list[bytes] = []
        self.requests: list[tuple[Any, tuple[Any, ...]]] = []
        self.lost = 0

    @property
    def local_username(self) -> str:
        return self._local_username

    def data_received(self, data: bytes, component: int) -> None:
        self.data.append(data)

    def request_received(self, message: Any, addr: tuple[Any, ...], protocol: Any) -> None:
        self.requests.append((message, addr))

    def protocol_lost(self, protocol: Any) -> None:
        self.lost += 1


class FakeTransaction:
    def __init__(self) -> None:
        self.responses: list[tuple[Any, tuple[Any, ...]]] = []

    def response_received(self, message: Any, addr: tuple[Any, ...]) -> None:
        self.responses.append((message, addr))


@pytest.fixture
def mux() -> Any:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    m = MuxSocket(sock, lambda host: host.startswith("127."))
    yield m
    sock.close()


def test_stun_is_told_from_media_and_the_local_ufrag_read() -> None:
    assert stun_class(_request("abcd")) == udpmux.REQUEST
    assert stun_class(_response(bytes(12))) == udpmux.SUCCESS
    assert stun_local_ufrag(_request("abcd")) == "abcd"
    for other in (RTP, DTLS, b"\x00\x01"):
        assert stun_class(other) is None
    assert stun_local_ufrag(_response(bytes(12))) is None  # no USERNAME


async def test_stun_request_goes_by_ufrag_and_the_source_is_learnt(mux: MuxSocket) -> None:
    a, b = FakeConnection("aaaa"), FakeConnection("bbbb")
    mux.attach(a, 1)
    mux.attach(b, 1)
    mux.datagram_received(_request("bbbb"), BROWSER)
    assert len(b.requests) == 1 and not a.requests
    assert b.requests[0][1] == BROWSER
    mux.datagram_received(RTP, BROWSER)  # media from the learnt address
    mux.datagram_received(DTLS, BROWSER)
    assert b.data == [RTP, DTLS] and not a.data


async def test_unknown_source_and_unknown_ufrag_are_dropped_and_counted(mux: MuxSocket) -> None:
    a = FakeConnection("aaaa")
    mux.attach(a, 1)
    mux.datagram_received(RTP, BROWSER)  # nobody learnt this source
    mux.datagram_received(_request("zzzz"), BROWSER)  # nobody has this ufrag
    mux.datagram_received(_response(b"x" * 12), BROWSER)  # nobody asked
    assert mux.unknown == 3
    assert not a.data and not a.requests


async def test_the_address_filter_sees_every_datagram_first(mux: MuxSocket) -> None:
    a = FakeConnection("aaaa")
    mux.attach(a, 1)
    outside = ("10.1.2.3", 5000)
    mux.datagram_received(_request("aaaa"), outside)  # right ufrag, wrong network
    mux.datagram_received(RTP, outside)
    assert mux.filtered == 2 and mux.unknown == 0
    assert not a.requests and not a.data
    mux.datagram_received(_request("aaaa"), BROWSER)
    assert len(a.requests) == 1


async def test_a_stun_response_goes_to_the_connection_that_asked(mux: MuxSocket) -> None:
    a, b = FakeConnection("aaaa"), FakeConnection("bbbb")
    mux.attach(a, 1)
    pb = mux.attach(b, 1)
    transaction = FakeTransaction()
    tid = b"t" * 12
    pb.transactions[tid] = transaction
    mux.datagram_received(_response(tid), BROWSER)
    assert len(transaction.responses) == 1
    mux.datagram_received(RTP, BROWSER)  # the responder's address is now b's
    assert b.data == [RTP]


async def test_a_closed_connection_loses_its_ufrag_and_routes(mux: MuxSocket) -> None:
    a = FakeConnection("aaaa")
    protocol = mux.attach(a, 1)
    mux.datagram_received(_request("aaaa"), BROWSER)
    await protocol.close()  # as aioice's Connection.close() does
    assert a.lost == 1
    mux.datagram_received(RTP, BROWSER)
    mux.datagram_received(_request("aaaa"), BROWSER)
    assert a.data == [] and len(a.requests) == 1
    assert mux.unknown == 2 and mux.connections == 0


async def test_a_taken_ufrag_is_refused_and_reserve_picks_another(mux: MuxSocket) -> None:
    mux.attach(FakeConnection("same"), 1)
    with pytest.raises(ValueError, match="taken"):
        mux.attach(FakeConnection("same"), 1)
    sockets = HostSockets([], 0, None)
    sockets.sockets.append(mux)
    late = FakeConnection("same")
    sockets.reserve_ufrag(late)
    assert late.local_username != "same"
    mux.attach(late, 1)
    # two connections made before either gathers: the second does not get the first's ufrag
    first, second = FakeConnection("next"), FakeConnection("next")
    sockets.reserve_ufrag(first)
    sockets.reserve_ufrag(second)
    assert first.local_username == "next" and second.local_username != "next"
    sockets.reserve_ufrag(first)  # again: kept
    assert first.local_username == "next"


def _sinks(n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        out.append(s)
    return out


@pytest.mark.parametrize("use_sendmmsg", [True, False])
def test_a_batch_reaches_every_receiver(use_sendmmsg: bool) -> None:
    if use_sendmmsg and sendmany._SENDMMSG is None:
        pytest.skip("libc has no sendmmsg")
    sinks = _sinks(3)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setblocking(False)
    try:
        batch = Batch(sender, use_sendmmsg=use_sendmmsg)
        copies = 11
        for i in range(copies):
            batch.pending.append((f"copy {i}".encode() * 50, sinks[i % 3].getsockname()))
        batch.flush()
        assert batch.sent == copies and batch.dropped == 0
        assert batch.calls == (1 if use_sendmmsg else copies)
        got = {s.recv(2048) for i, s in enumerate(sinks) for _ in range(len(range(i, copies, 3)))}
        assert got == {f"copy {i}".encode() * 50 for i in range(copies)}
    finally:
        sender.close()
        for s in sinks:
            s.close()


def test_more_than_one_call_full_of_datagrams_all_arrive() -> None:
    if sendmany._SENDMMSG is None:
        pytest.skip("libc has no sendmmsg")
    (sink,) = _sinks(1)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setblocking(False)
    try:
        batch = Batch(sender)
        n = sendmany.MAX_BATCH + 5
        for i in range(n):
            batch.pending.append((i.to_bytes(2, "big"), sink.getsockname()))
        batch.pending.append((b"big" * 1000, sink.getsockname()))  # past a slot: alone
        batch.flush()
        assert batch.sent == n + 1 and batch.calls == 3
        got = {sink.recv(4096) for _ in range(n + 1)}
        assert got == {i.to_bytes(2, "big") for i in range(n)} | {b"big" * 1000}
    finally:
        sender.close()
        sink.close()


async def test_sends_while_a_datagram_is_handled_leave_in_one_batch() -> None:
    """The forwarding point runs inside ``datagram_received``: every copy it sends is queued
    and leaves with one system call when the handling returns; sends at other times go at once."""
    if sendmany._SENDMMSG is None:
        pytest.skip("libc has no sendmmsg")
    sinks = _sinks(4)
    sockets = HostSockets(["127.0.0.1"], 0, None, use_sendmmsg=True)
    await sockets.start()
    try:
        (mux,) = sockets.sockets
        publisher = FakeConnection("pubr")
        protocol = mux.attach(publisher, 1)
        receivers = [s.getsockname() for s in sinks]

        def fan_out(data: bytes, component: int) -> None:  # the synchronous forwarding point
            for addr in receivers:
                protocol.transport.sendto(data + b"!", addr)

        publisher.data_received = fan_out  # type: ignore[method-assign]
        mux.datagram_received(_request("pubr"), BROWSER)
        calls = mux.batch.calls
        mux.datagram_received(RTP, BROWSER)
        assert mux.batch.calls == calls + 1 and mux.batch.sent >= len(receivers)
        assert all(s.recv(2048) == RTP + b"!" for s in sinks)
        protocol.transport.sendto(b"now", receivers[0])  # outside a datagram: at once
        assert sinks[0].recv(2048) == b"now"
        assert mux.batch.pending == []
    finally:
        sockets.stop()
        await asyncio.sleep(0)
        for s in sinks:
            s.close()


async def test_host_sockets_share_one_port_per_address_and_stop() -> None:
    sockets = HostSockets(["127.0.0.1"], 0, None)
    await sockets.start()
    port = sockets.port
    assert port != 0
    taken = HostSockets(["127.0.0.1"], port, None)
    with pytest.raises(OSError):
        await taken.start()  # a fixed port in use: the start fails, saying so
    sockets.stop()
    await asyncio.sleep(0)
    again = HostSockets(["127.0.0.1"], port, None)
    await again.start()  # freed by stop()
    assert again.port == port
    again.stop()
    await asyncio.sleep(0)


def test_sharded_workers_get_consecutive_ports() -> None:
    fixed = SfuSettings(udp_port=40000)
    assert [worker_settings(fixed, i).udp_port for i in range(3)] == [40000, 40001, 40002]
    ephemeral = SfuSettings(udp_port=0)
    assert worker_settings(ephemeral, 2).udp_port == 0
    own = SfuSettings(udp_port=None)
    assert worker_settings(own, 1).udp_port is None


@pytest.mark.parametrize("use_sendmmsg", [True, False])
async def test_every_waiting_datagram_is_read_in_one_wakeup(use_sendmmsg: bool) -> None:
    """One socket carries every connection: reading one datagram per event-loop wake-up (as
    asyncio's datagram transport does) would cost a select() call per datagram. With sendmmsg,
    what the burst sends leaves in one system call."""
    if use_sendmmsg and sendmany._SENDMMSG is None:
        pytest.skip("libc has no sendmmsg")
    sink = _sinks(1)[0]
    sockets = HostSockets(["127.0.0.1"], 0, None, use_sendmmsg=use_sendmmsg)
    await sockets.start()
    browser = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    browser.bind(("127.0.0.1", 0))
    try:
        (mux,) = sockets.sockets
        publisher = FakeConnection("pubr")
        protocol = mux.attach(publisher, 1)
        received = publisher.data_received

        def forward(data: bytes, component: int) -> None:
            received(data, component)
            protocol.transport.sendto(data, sink.getsockname())

        publisher.data_received = forward  # type: ignore[method-assign]
        loop = asyncio.get_running_loop()
        wakeups = 0
        arrived = asyncio.Event()

        def counting() -> None:
            nonlocal wakeups
            wakeups += 1
            mux._read_ready()
            if len(publisher.data) == 10:
                arrived.set()

        loop.remove_reader(mux.sock.fileno())
        loop.add_reader(mux.sock.fileno(), counting)
        browser.sendto(_request("pubr"), mux.sockname)
        for i in range(10):
            browser.sendto(RTP + bytes([i]), mux.sockname)
        await asyncio.wait_for(arrived.wait(), 5)
        assert wakeups == 1
        assert publisher.data == [RTP + bytes([i]) for i in range(10)]
        assert [sink.recv(2048) for _ in range(10)] == publisher.data
        assert mux.batch.calls == (1 if use_sendmmsg else 10)
    finally:
        browser.close()
        sink.close()
        sockets.stop()


def test_this_kernel_gives_connected_sockets_on_the_shared_port_their_remote_only() -> None:
    """The check HostSockets relies on before it connects a socket per remote (if this fails
    on a kernel, the server falls back to sendto on the one socket; here we expect Linux)."""
    assert hostsockets._check_connected_sends() is True
    assert hostsockets.connected_sends_work() is True


async def test_a_learnt_remote_gets_a_connected_socket_on_the_shared_port() -> None:
    sockets = HostSockets(["127.0.0.1"], 0, None, use_sendmmsg=False, connect_peers=True)
    await sockets.start()
    browser = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    browser.bind(("127.0.0.1", 0))
    browser.settimeout(5)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.1", 0))
    try:
        (mux,) = sockets.sockets
        assert mux.connects_peers
        a = FakeConnection("aaaa")
        protocol = mux.attach(a, 1)
        remote = browser.getsockname()
        assert protocol.transport.connected_send(remote) is None  # not learnt: no socket
        assert mux.peers == 0
        browser.sendto(_request("aaaa"), mux.sockname)
        await wait_until(lambda: len(a.requests) == 1, 5, "the check")
        send = protocol.transport.connected_send(remote)
        assert send is not None and mux.peers == 1
        assert protocol.transport.connected_send(remote) == send  # one socket per remote
        send(RTP)
        data, source = browser.recvfrom(2048)
        assert (data, source) == (RTP, mux.sockname)  # from the shared port, as ICE needs
        # the remote's media now arrives on its connected socket, through the demultiplexer
        browser.sendto(RTP + b"1", mux.sockname)
        await wait_until(lambda: a.data == [RTP + b"1"], 5, "the media")
        # everyone else still reaches the unconnected socket (and is dropped, counted)
        stranger.sendto(RTP, mux.sockname)
        await wait_until(lambda: mux.unknown == 1, 5, "the stranger")
        assert sockets.counters()["peers"] == 1
        # a closed connection closes its remote's socket
        protocol.transport.close()
        await asyncio.sleep(0)
        assert mux.peers == 0
        with pytest.raises(OSError):
            send(RTP)
    finally:
        sockets.stop()
        await asyncio.sleep(0)
        browser.close()
        stranger.close()


async def test_connected_sends_keep_a_fixed_port_exclusive() -> None:
    """SO_REUSEPORT is set after the bind: a second server on the same port still fails."""
    sockets = HostSockets(["127.0.0.1"], 0, None, use_sendmmsg=False, connect_peers=True)
    await sockets.start()
    try:
        for connect_peers in (True, False):
            taken = HostSockets(
                ["127.0.0.1"], sockets.port, None, use_sendmmsg=False, connect_peers=connect_peers
            )
            with pytest.raises(OSError):
                await taken.start()
    finally:
        sockets.stop()
        await asyncio.sleep(0)


def test_sendmmsg_keeps_every_copy_on_the_one_socket() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        assert not MuxSocket(sock, None, use_sendmmsg=True, connect_peers=True).connects_peers or (
            sendmany._SENDMMSG is None
        )
    finally:
        sock.close()
