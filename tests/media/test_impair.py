"""The loopback impairment relay (bench/impair.py): the pure link model, then real datagrams
through the relay (in the private network namespace, like every media test)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import cast

import pytest

from bench.impair import CLEAR, CUT, Impairment, ImpairmentRelay, Link


def link(imp: Impairment, seed: int = 1) -> Link:
    return Link(imp, random.Random(seed))


def test_clear_link_delivers_everything_at_once() -> None:
    lk = link(CLEAR)
    assert [lk.admit(t * 0.01, 1000) for t in range(5)] == [t * 0.01 for t in range(5)]
    assert lk.counters.delivered == 5


def test_random_loss_rate() -> None:
    lk = link(Impairment(loss=0.03))
    n = 20_000
    lost = sum(lk.admit(i * 0.001, 100) is None for i in range(n))
    assert 0.025 < lost / n < 0.035
    assert lk.counters.lost_random == lost


def test_burst_loss_comes_in_runs() -> None:
    # mean burst 1/0.25 = 4 packets; enter the bad state 1 % of the time
    lk = link(Impairment(burst_p=0.01, burst_exit=0.25))
    outcomes = [lk.admit(i * 0.001, 100) is None for i in range(50_000)]
    runs: list[int] = []
    run = 0
    for lost in outcomes:
        if lost:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    mean = sum(runs) / len(runs)
    assert 3.0 < mean < 5.0, mean
    assert lk.counters.lost_burst == sum(outcomes)
    assert lk.counters.lost_random == 0


def test_delay_and_jitter_keep_order() -> None:
    lk = link(Impairment(delay_ms=75, jitter_ms=20))
    leaves = [lk.admit(i * 0.001, 100) for i in range(1000)]
    assert all(x is not None for x in leaves)
    got = [x for x in leaves if x is not None]
    assert got == sorted(got)
    delays = [leave - i * 0.001 for i, leave in enumerate(got)]
    assert min(delays) >= 0.075 and max(delays) <= 0.075 + 0.020 + 0.002


def test_reordering_jitter_reorders() -> None:
    lk = link(Impairment(delay_ms=10, jitter_ms=30, reorder=True))
    leaves = [lk.admit(i * 0.001, 100) for i in range(200)]
    got = [x for x in leaves if x is not None]
    assert got != sorted(got)


def test_rate_cap_paces_and_tail_drops() -> None:
    # 600 kbps: a 1500-byte packet takes 20 ms on the wire; 50 ms of queue
    lk = link(Impairment(rate_bps=600_000, queue_ms=50))
    leaves = [lk.admit(0.0, 1500) for _ in range(10)]
    sent = [x for x in leaves if x is not None]
    assert sent[:3] == pytest.approx([0.02, 0.04, 0.06])
    assert len(sent) == 3  # the 4th would have waited 60 ms > 50 ms
    assert lk.counters.lost_queue == 7
    # what the cap carries over a long run is the cap
    lk = link(Impairment(rate_bps=600_000, queue_ms=100))
    delivered = 0
    for i in range(10_000):  # 1.2 Mbps offered for 10 s
        if lk.admit(i * 0.001, 150) is not None:
            delivered += 150
    assert delivered * 8 / 10 == pytest.approx(600_000, rel=0.02)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="loss"):
        Impairment(loss=1.5)
    with pytest.raises(ValueError, match="delay_ms"):
        Impairment(delay_ms=-1)
    with pytest.raises(ValueError, match="loopback"):
        ImpairmentRelay(("10.0.0.1", 9))


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.got.put_nowait((data, time.monotonic()))


@pytest.mark.media
async def test_relay_delays_cuts_and_restores_real_datagrams() -> None:
    loop = asyncio.get_running_loop()
    echo_t, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    target = echo_t.get_extra_info("sockname")
    relay = ImpairmentRelay(
        ("127.0.0.1", target[1]),
        up=Impairment(delay_ms=40),
        down=Impairment(delay_ms=35),
        seed=3,
    )
    port = await relay.start()
    client_t, client = await loop.create_datagram_endpoint(
        Client, local_addr=("127.0.0.1", 0), remote_addr=("127.0.0.1", port)
    )
    try:
        sent_at = time.monotonic()
        client_t.sendto(b"ping-1")
        data, got_at = await asyncio.wait_for(client.got.get(), 2)
        assert data == b"ping-1"
        assert 0.070 <= got_at - sent_at < 0.5  # 75 ms round trip, plus a busy host

        relay.set(up=CUT, down=CUT)
        for i in range(5):
            client_t.sendto(b"cut-%d" % i)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.got.get(), 0.3)
        assert relay.up.counters.lost_random == 5

        relay.set(up=CLEAR, down=CLEAR)
        client_t.sendto(b"back")
        data, _ = await asyncio.wait_for(client.got.get(), 2)
        assert data == b"back"
    finally:
        client_t.close()
        await relay.stop()
        echo_t.close()
