"""A loopback UDP impairment relay: what netem would do, for a kernel without it.

Put it between one participant and the server (or the participant and its TURN server) and
it adds, per direction: a fixed delay, jitter, random loss, burst loss (a Gilbert-Elliott
two-state model) and a bandwidth cap with a bounded queue (tail drop). Everything stays on
127.0.0.0/8 (shared/WEBRTC-TESTING.md): the relay listens on 127.0.0.1 and forwards to one
target address; each client address gets its own upstream socket, so replies find their way
back.

:class:`Link` is the pure part (time and randomness passed in, unit-tested without sockets);
:class:`ImpairmentRelay` moves datagrams with asyncio and asks a ``Link`` per direction when
each one leaves, or whether it is lost. Settings can be changed while it runs (``set``),
e.g. 100 % loss for ten seconds to cut a path and back to nothing.

    relay = ImpairmentRelay(("127.0.0.1", 3478), down=Impairment(loss=0.03, delay_ms=75))
    port = await relay.start()   # clients send to 127.0.0.1:port
    relay.set(up=CUT, down=CUT)  # cut the path
    await relay.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Impairment:
    """One direction of a link. ``loss`` is the random loss probability per packet; burst
    loss follows a Gilbert-Elliott model: from the good state a packet moves to the bad
    state with ``burst_p`` and everything is lost there; the bad state ends with
    ``burst_exit`` per packet (mean burst length 1/burst_exit). ``rate_bps`` caps the link
    (0: unlimited); a packet that would wait longer than ``queue_ms`` behind the cap is
    dropped. ``jitter_ms`` adds a uniform delay in [0, jitter_ms]; packets keep their order
    unless ``reorder``."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    burst_p: float = 0.0
    burst_exit: float = 0.5
    rate_bps: int = 0
    queue_ms: float = 200.0
    reorder: bool = False

    def __post_init__(self) -> None:
        for name in ("loss", "burst_p", "burst_exit"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        for name in ("delay_ms", "jitter_ms", "queue_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.rate_bps < 0:
            raise ValueError("rate_bps must not be negative")


CLEAR = Impairment()
CUT = Impairment(loss=1.0)


@dataclass(slots=True)
class LinkCounters:
    packets: int = 0
    delivered: int = 0
    lost_random: int = 0
    lost_burst: int = 0
    lost_queue: int = 0
    bytes_delivered: int = 0


@dataclass(slots=True)
class Link:
    """Decides, for each packet entering one direction, when it leaves (or that it is lost).
    ``now`` in seconds on any monotonic clock; ``rng`` makes runs repeatable."""

    impairment: Impairment = CLEAR
    rng: random.Random = field(default_factory=random.Random)
    counters: LinkCounters = field(default_factory=LinkCounters)
    _bad: bool = False
    _link_free_at: float = 0.0  # when the cap has sent everything queued so far
    _last_departure: float = 0.0

    def admit(self, now: float, size: int) -> float | None:
        """The departure time of a ``size``-byte datagram arriving at ``now``, or None."""
        imp = self.impairment
        c = self.counters
        c.packets += 1
        if imp.burst_p > 0.0 or self._bad:
            if self._bad:
                if self.rng.random() < imp.burst_exit:
                    self._bad = False
            elif self.rng.random() < imp.burst_p:
                self._bad = True
            if self._bad:
                c.lost_burst += 1
                return None
        if imp.loss > 0.0 and self.rng.random() < imp.loss:
            c.lost_random += 1
            return None
        leave = now
        if imp.rate_bps > 0:
            start = max(now, self._link_free_at)
            if start - now > imp.queue_ms / 1000.0:
                c.lost_queue += 1
                return None
            self._link_free_at = start + size * 8 / imp.rate_bps
            leave = self._link_free_at
        leave += imp.delay_ms / 1000.0
        if imp.jitter_ms > 0.0:
            leave += self.rng.random() * imp.jitter_ms / 1000.0
        if not imp.reorder:
            leave = max(leave, self._last_departure)
        self._last_departure = max(self._last_departure, leave)
        c.delivered += 1
        c.bytes_delivered += size
        return leave


class _Front(asyncio.DatagramProtocol):
    def __init__(self, relay: ImpairmentRelay) -> None:
        self.relay = relay
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        client = (str(addr[0]), int(str(addr[1])))
        self.relay._from_client(data, client)


class _Back(asyncio.DatagramProtocol):
    """The upstream socket of one client: what the target sends back goes to that client."""

    def __init__(self, relay: ImpairmentRelay, client: Address) -> None:
        self.relay = relay
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        t = self.transport = cast(asyncio.DatagramTransport, transport)
        for data in self.pending:
            t.sendto(data)
        self.pending.clear()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.relay._from_target(data, self.client)


class ImpairmentRelay:
    """UDP relay 127.0.0.1:<port> -> ``target`` with an impairment per direction: ``up``
    (client to target) and ``down`` (target to client)."""

    def __init__(
        self,
        target: Address,
        *,
        up: Impairment = CLEAR,
        down: Impairment = CLEAR,
        seed: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if not target[0].startswith("127."):
            raise ValueError("the relay forwards to loopback addresses only")
        self.target = target
        self.host = host
        rng = random.Random(seed)
        self.up = Link(up, random.Random(rng.random()))
        self.down = Link(down, random.Random(rng.random()))
        self._front: _Front | None = None
        self._backs: dict[Address, _Back] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    async def start(self) -> int:
        """Bind on an ephemeral port of 127.0.0.1; returns the port clients send to."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        transport, front = await loop.create_datagram_endpoint(
            lambda: _Front(self), local_addr=(self.host, 0)
        )
        self._front = front
        self.port = int(transport.get_extra_info("sockname")[1])
        return self.port

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def set(self, *, up: Impairment | None = None, down: Impairment | None = None) -> None:
        """Change the impairments now (queued packets keep their departure times)."""
        if up is not None:
            self.up.impairment = up
        if down is not None:
            self.down.impairment = down

    async def stop(self) -> None:
        for back in self._backs.values():
            if back.transport is not None:
                back.transport.close()
        self._backs.clear()
        if self._front is not None and self._front.transport is not None:
            self._front.transport.close()
        self._front = None

    # --- datagrams --------------------------------------------------------------------
    def _from_client(self, data: bytes, client: Address) -> None:
        loop = self._loop
        if loop is None:
            return
        back = self._backs.get(client)
        if back is None:
            back = self._backs[client] = _Back(self, client)
            loop.create_task(self._open_back(back))
        leave = self.up.admit(loop.time(), len(data))
        if leave is not None:
            self._schedule(leave, self._send_up, back, data)

    async def _open_back(self, back: _Back) -> None:
        assert self._loop is not None
        with contextlib.suppress(OSError):
            await self._loop.create_datagram_endpoint(
                lambda: back, local_addr=(self.host, 0), remote_addr=self.target
            )

    def _from_target(self, data: bytes, client: Address) -> None:
        loop = self._loop
        if loop is None:
            return
        leave = self.down.admit(loop.time(), len(data))
        if leave is not None:
            self._schedule(leave, self._send_down, client, data)

    def _schedule(self, leave: float, send: Callable[..., None], *args: object) -> None:
        assert self._loop is not None
        if leave <= self._loop.time():
            send(*args)
        else:
            self._loop.call_at(leave, send, *args)

    @staticmethod
    def _send_up(back: _Back, data: bytes) -> None:
        if back.transport is None:
            back.pending.append(data)
        elif not back.transport.is_closing():
            back.transport.sendto(data)

    def _send_down(self, client: Address, data: bytes) -> None:
        front = self._front
        if front is not None and front.transport is not None and not front.transport.is_closing():
            front.transport.sendto(data, client)
