"""Pacing towards one receiver whose link carries less than it would be sent.

Only a receiver whose estimate (``ReceiverLink``) is below what the unit would send it is
paced; everyone else keeps the direct path (``DownTrack.out`` untouched, no cost per packet).
For a paced receiver each video slot's ``out`` is wrapped by a :class:`PacedOut` (the same
``send(data) -> bool | None`` contract as ``sendpath.RtpOut``): video goes into that
receiver's :class:`Pacer` and leaves at the estimate, audio is never wrapped and goes out at
once (ahead of any queued video), so a key frame no longer arrives at a narrow link as one
burst that overflows its queue, and audio never waits behind it.

The queue is bounded in time: above :data:`BUDGET_S` of backlog the layered forwarder drops
whole frames of the highest temporal layer first (:meth:`Pacer.layer_limit`, read at each
frame start before the frame is numbered, so the receiver's stream stays continuous), above
twice that every frame above layer 0; layer 0 (and key frames) are never dropped for pacing,
only refused past :data:`HARD_LIMIT_S` (the receiver NACKs them; the forwarder keeps them
for that).
Audio is never queued, so never dropped here.

:class:`Pacer` is pure (time passed in); :class:`PaceDriver` runs it on the event loop with one
timer. Every queued packet remembers the publisher track it came from: it is sent only while
that track is still bound to the slot, enabled (the capability gate) and the receiver is in its
audience, so nothing queued goes out after its publisher was gated.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.media import passthrough, sendpath

if TYPE_CHECKING:
    from server.media.downtrack import DownTrack

MAX_TID = 2  # as server.media.layers (no import: layers must not depend on the pacer)
WIRE_EXTRA = 38  # bytes on the wire beyond an RTP packet: SRTP tag 10, UDP 8, IP 20
BUDGET_S = 0.3  # backlog above which frames of the top temporal layer are dropped
HARD_LIMIT_S = 2.0  # backlog above which nothing more is queued (refused: NACK repairs)
BURST_S = 0.25  # a late timer (a busy loop) may catch up this much while busy
MIN_RATE_BPS = 50_000
TIMER_SLACK_S = 0.001  # a timer may fire this much early


class Pacer:
    """A leaky bucket with a bounded queue, for one receiver's video (time passed in).

    Retransmissions are queued ahead of media: a lost packet's repair is worth more than the
    next frame. ``push`` returns False when the queue is past :data:`HARD_LIMIT_S`."""

    __slots__ = ("_next", "_queue", "_rtx", "queued_bytes", "rate_bps", "refused", "sent")

    def __init__(self, rate_bps: float) -> None:
        self.rate_bps = max(MIN_RATE_BPS, rate_bps)
        self._queue: deque[tuple[int, Any]] = deque()
        self._rtx: deque[tuple[int, Any]] = deque()
        self.queued_bytes = 0
        self._next = 0.0  # when the bucket lets the next packet go
        self.refused = 0
        self.sent = 0

    def set_rate(self, rate_bps: float) -> None:
        self.rate_bps = max(MIN_RATE_BPS, rate_bps)

    def __len__(self) -> int:
        return len(self._queue) + len(self._rtx)

    def backlog_s(self, now: float) -> float:
        """How long until everything queued now has left."""
        return max(0.0, self._next - now) + self.queued_bytes * 8 / self.rate_bps

    def layer_limit(self, now: float) -> int:
        """The highest temporal layer a frame starting now may have: all within the budget,
        layers 0-1 up to twice the budget, layer 0 beyond."""
        backlog = self.backlog_s(now)
        if backlog <= BUDGET_S:
            return MAX_TID
        if backlog <= 2 * BUDGET_S:
            return MAX_TID - 1
        return 0

    def push(self, size: int, item: Any, now: float, *, rtx: bool = False) -> bool:
        """Queue an item (retransmissions ahead; they repair holes, so they are refused only
        past twice the limit, a NACK storm)."""
        if self.backlog_s(now) > (2 * HARD_LIMIT_S if rtx else HARD_LIMIT_S):
            self.refused += 1
            return False
        if not len(self) and self._next < now:
            self._next = now  # an idle link earns no credit: a key frame is paced too
        wire = size + WIRE_EXTRA
        (self._rtx if rtx else self._queue).append((wire, item))
        self.queued_bytes += wire
        return True

    def due(self, now: float, alive: Callable[[Any], bool]) -> list[Any]:
        """The items that may leave by ``now``, in order. An item ``alive`` refuses is dropped
        without using any of the link's time."""
        out: list[Any] = []
        nxt = max(self._next, now - BURST_S)
        while nxt <= now + TIMER_SLACK_S:
            queue = self._rtx or self._queue
            if not queue:
                break
            wire, item = queue.popleft()
            self.queued_bytes -= wire
            if not alive(item):
                continue
            out.append(item)
            nxt += wire * 8 / self.rate_bps
        self._next = nxt
        self.sent += len(out)
        return out

    def next_at(self) -> float | None:
        """When the next queued item may leave (None: nothing queued)."""
        return self._next if len(self) else None

    def drop(self, alive: Callable[[Any], bool]) -> int:
        """Remove every queued item ``alive`` refuses; returns how many."""
        removed = 0
        for queue in (self._rtx, self._queue):
            kept = deque(e for e in queue if alive(e[1]))
            removed += len(queue) - len(kept)
            self.queued_bytes -= sum(e[0] for e in queue) - sum(e[0] for e in kept)
            queue.clear()
            queue.extend(kept)
        return removed


class PacedOut:
    """A paced video slot's ``out``: same contract as ``sendpath.RtpOut``. ``send`` queues
    (True) or refuses (False) and never sends itself; ``inner`` is the direct path."""

    __slots__ = ("down", "driver", "inner")

    def __init__(self, inner: sendpath.RtpOut, down: DownTrack, driver: PaceDriver) -> None:
        self.inner = inner
        self.down = down
        self.driver = driver

    def send(self, data: bytes) -> bool | None:
        return self.driver.push(self, data)


def _may_send(down: DownTrack, source: object) -> bool:
    """The gate, again at the moment a queued packet leaves."""
    src = down.source
    if src is None or src is not source or not src.enabled:
        return False
    audience = src.audience
    return audience is None or down.subscriber_id in audience


async def _send_slow(down: DownTrack, data: bytes) -> None:
    with contextlib.suppress(OSError, ConnectionError):
        await passthrough.send_rtp(down.sender, data)


class PaceDriver:
    """Runs one receiver's :class:`Pacer` on the event loop: one timer, armed while anything
    is queued. ``clock`` is the loop's time unless given."""

    def __init__(self, rate_bps: float, clock: Callable[[], float] | None = None) -> None:
        self.pacer = Pacer(rate_bps)
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.gated = 0  # queued packets not sent because their publisher was gated
        self._slow: set[asyncio.Future[None]] = set()

    def now(self) -> float:
        if self._clock is not None:
            return self._clock()
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop.time()

    def push(self, out: PacedOut, data: bytes) -> bool:
        down = out.down
        rtx = down.rtx_payload_type >= 0 and (data[1] & 0x7F) == down.rtx_payload_type
        if not self.pacer.push(len(data), (out, down.source, data), self.now(), rtx=rtx):
            return False
        self._arm()
        return True

    def _alive(self, item: tuple[PacedOut, object, bytes]) -> bool:
        if _may_send(item[0].down, item[1]):
            return True
        self.gated += 1
        return False

    def flush_gated(self) -> int:
        """Drop every queued packet whose publisher may no longer reach this receiver."""
        removed = self.pacer.drop(self._alive)
        return removed

    def _arm(self) -> None:
        if self._timer is not None:
            return
        at = self.pacer.next_at()
        if at is None:
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._timer = self._loop.call_at(max(at, self._loop.time()), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.run_due()
        self._arm()

    def run_due(self) -> int:
        """Send what is due now; returns how many went out."""
        sent = 0
        for out, _, data in self.pacer.due(self.now(), self._alive):
            ok = out.inner.send(data)
            if ok is None:  # only the slow path can send (TURN): hand it over
                task = asyncio.ensure_future(_send_slow(out.down, data))
                self._slow.add(task)
                task.add_done_callback(self._slow.discard)
            sent += 1
        return sent

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def idle(self) -> bool:
        return not len(self.pacer)
