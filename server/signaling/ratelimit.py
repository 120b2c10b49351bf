"""The event budget of one person in one room: a token bucket, so one client cannot flood its
room. It is shared by all of the person's connections to the room (``Services.budget_for``), so
a second socket adds no budget.

A browser's burst (joining: hello, agreement, join, a dozen trickled ICE candidates) fits
in :data:`EVENT_BURST`; steady use is far below :data:`EVENT_RATE`. Past the budget an event
is refused with ``rate_limited`` and changes nothing; a connection that keeps going past
:data:`FLOOD_REFUSALS` refusals within :data:`WINDOW_S` is disconnected.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENT_RATE = 20.0  # events per second, sustained
EVENT_BURST = 60.0
WINDOW_S = 10.0  # refusals are audited at most once per window, and counted per window
FLOOD_REFUSALS = 300


@dataclass(slots=True)
class EventBudget:
    rate: float = EVENT_RATE
    burst: float = EVENT_BURST
    tokens: float = EVENT_BURST
    stamp: float | None = None
    window_start: float = 0.0
    refused_in_window: int = 0

    def take(self, now: float) -> bool:
        """Spend one event; False when the budget is exhausted (a refusal is counted)."""
        if self.stamp is not None:
            elapsed = max(0.0, now - self.stamp)  # a wall clock stepped back refills nothing
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        if now - self.window_start >= WINDOW_S:
            self.window_start = now
            self.refused_in_window = 0
        self.refused_in_window += 1
        return False

    @property
    def first_refusal_in_window(self) -> bool:
        return self.refused_in_window == 1

    @property
    def flooding(self) -> bool:
        return self.refused_in_window > FLOOD_REFUSALS
