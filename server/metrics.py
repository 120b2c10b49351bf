"""The process's Prometheus counters: a narrow port that other packages call in one line.

Counters and histograms of things that *happen* (an event handled or refused, a presence
change saved, a snapshot fanned out, a lease taken over) live here, in one private
``CollectorRegistry`` per process: a process is what Prometheus scrapes, and a counter only
ever grows, so two apps in one test process simply add up (tests read differences). Levels
(rooms live, participants, pool use, backlog, drain state) are not kept here: the ``/metrics``
endpoint (``server/metrics_http.py``) reads them from the running app when it is scraped.

Label values are bounded: event names only from the namespace's event table (anything else is
``other``), error codes from ``ErrorCode``, presence kinds from ``AttendanceKind``. No label
ever holds a person, a session or an address.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Collection, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from server.domain import AttendanceKind

# Latency buckets in seconds: from a quarter millisecond (an in-process fan-out) to 10 s.
LATENCY_BUCKETS = (
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class Metrics:
    """Every counter of the process, registered in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "circle_events",
            "Socket.IO room events handled, by event and outcome (ok or refused)",
            ["event", "outcome"],
            registry=r,
        )
        self.refusals = Counter(
            "circle_refusals",
            "Refusals sent to clients, by error code and where (event, connect)",
            ["code", "where"],
            registry=r,
        )
        self.event_seconds = Histogram(
            "circle_event_seconds",
            "Time from an event's arrival to its acknowledgement (validation, the room's "
            "save and the fan-out of its snapshot included)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.presence = Counter(
            "circle_presence_events",
            "Presence changes saved by rooms: join, reconnect, disconnect, leave",
            ["kind"],
            registry=r,
        )
        for kind in AttendanceKind:  # every series from the start, for dashboards' rates
            self.presence.labels(kind.value)
        self.fanout_seconds = Histogram(
            "circle_fanout_seconds",
            "Time to fan one room snapshot out to every connection of the room (encode once, "
            "queue per connection, publish to Redis when scaled out)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.takeovers = Counter(
            "circle_lease_takeovers",
            "Rooms this process took over from another: from a dead node (no heartbeat) or "
            "handed over by a live one (the proxy sent the members here, or it drained)",
            ["how"],
            registry=r,
        )
        for how in ("dead", "handover"):
            self.takeovers.labels(how)
        self.loop_lag = Gauge(
            "circle_event_loop_lag_seconds",
            "How late the event loop ran a timer in the last sampling period (max)",
            registry=r,
        )
        self.loop_lag_seconds = Histogram(
            "circle_event_loop_lag_sample_seconds",
            "Event-loop lag samples (every 0.25 s)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.scrape_refusals = Counter(
            "circle_metrics_refusals",
            "Requests for /metrics refused (no or a wrong token, or not from loopback)",
            registry=r,
        )

    # --- the one-line hooks ---------------------------------------------------------------

    async def observe_event(
        self, event: Any, known: Collection[str], handling: Awaitable[dict[str, Any]]
    ) -> dict[str, Any]:
        """Await a namespace event's handling and count it by its acknowledgement."""
        start = time.perf_counter()
        ack = await handling
        self.event_seconds.observe(time.perf_counter() - start)
        name = event if isinstance(event, str) and event in known else "other"
        if ack.get("ok"):
            self.events.labels(name, "ok").inc()
        else:
            self.events.labels(name, "refused").inc()
            error = ack.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            self.refused(code if isinstance(code, str) else "internal", "event")
        return ack

    def refused(self, code: str, where: str) -> None:
        self.refusals.labels(code[:40], where).inc()

    def presence_saved(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.presence.labels(str(kind)).inc()

    async def timed_fanout(self, emitting: Awaitable[None]) -> None:
        start = time.perf_counter()
        await emitting
        self.fanout_seconds.observe(time.perf_counter() - start)

    def lease_taken_over(self, how: str) -> None:
        self.takeovers.labels(how).inc()


# The process's one set (see the module docstring: a process is what Prometheus scrapes).
METRICS = Metrics()
