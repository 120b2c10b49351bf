"""``GET /metrics``: Prometheus text format, protected (a composition root, like ``app.py``).

Who may read it: with ``metrics_token`` set, a request carrying ``Authorization: Bearer
<token>`` (from anywhere); without it, only a request from loopback that did not come through
a proxy (no ``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP`` header), so a reverse proxy on
the same host cannot expose it by accident. Anything else is refused (401 without or with a
wrong token, 403 not from loopback), counted, and audited (``metrics.scrape``, refused; the
first refusal of each minute, with the number refused since the last entry).

What it shows: the process's counters (``server/metrics.py``) and levels read from the app at
scrape time: rooms live, participants by presence, connections, media packets forwarded,
dropped at the capability gate and policed (summed over the rooms' engine stats), each media
worker's shared UDP socket's datagrams (the engine's ``socket_stats``, by worker), database
pool use, the outbox backlog and the dispatch lag (two indexed queries), drain state, the
event-loop lag (a sampling task owned here).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from server import audit
from server.appkeys import DB_KEY, MEDIA_KEY, SETTINGS_KEY
from server.domain import AuditOutcome
from server.errors import PermissionDenied, Unauthenticated
from server.media.port import MediaSocketStats
from server.metrics import METRICS, Metrics
from server.notify.models import OutboxMessage, OutboxStatus
from server.rooms.participants import Presence
from server.scheduling.models import Dispatch, DispatchStatus
from server.signaling import SIGNALING_KEY

log = logging.getLogger("circle.metrics")

LOOP_SAMPLE_S = 0.25
LOOP_WINDOW = 20  # the lag gauge is the largest of the last 20 samples (5 s)
AUDIT_EVERY_S = 60.0
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
OUTBOX_WAITING = (OutboxStatus.QUEUED, OutboxStatus.RETRY, OutboxStatus.SENDING)


@dataclass
class Scraper:
    """What /metrics keeps between scrapes: media totals per room (so the process totals only
    grow), the event-loop samples and the audit throttle."""

    metrics: Metrics
    media_seen: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    media_totals: list[int] = field(default_factory=lambda: [0, 0, 0])
    lag_samples: deque[float] = field(default_factory=lambda: deque(maxlen=LOOP_WINDOW))
    last_audit_at: float = float("-inf")
    refused_since_audit: int = 0


SCRAPER_KEY = web.AppKey("circle.metrics.scraper", Scraper)


def setup(app: web.Application) -> None:
    app[SCRAPER_KEY] = Scraper(METRICS)
    app.router.add_get("/metrics", metrics_page)
    app.cleanup_ctx.append(_loop_lag_ctx)


# --- access ---------------------------------------------------------------------------------


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


def refusal(request: web.Request, token: str | None) -> str | None:
    """Why this request may not read the metrics, or None if it may."""
    if token:
        given = _bearer(request)
        if given is None:
            return "no bearer token"
        if not hmac.compare_digest(given.encode(), token.encode()):
            return "wrong bearer token"
        return None
    if not _loopback(request.remote):
        return "not from loopback (set metrics_token to scrape from elsewhere)"
    if any(h in request.headers for h in PROXY_HEADERS):
        return "came through a proxy (set metrics_token to scrape through one)"
    return None


async def _refuse(request: web.Request, scraper: Scraper, why: str) -> None:
    scraper.metrics.scrape_refusals.inc()
    scraper.refused_since_audit += 1
    now = time.monotonic()
    if now - scraper.last_audit_at >= AUDIT_EVERY_S:
        count, scraper.refused_since_audit = scraper.refused_since_audit, 0
        scraper.last_audit_at = now
        try:
            await audit.record_now(
                request.app[DB_KEY].sessionmaker,
                actor_id=None,
                action="metrics.scrape",
                target="metrics",
                outcome=AuditOutcome.REFUSED,
                details={"reason": why, "refused_since_last_entry": count},
            )
        except Exception:
            log.exception("audit write failed")
    if why.endswith("token"):
        raise Unauthenticated(f"/metrics: {why}; send Authorization: Bearer <metrics_token>.")
    raise PermissionDenied(f"/metrics: {why}.")


# --- the page -------------------------------------------------------------------------------


class _Page:
    """One scrape: the process's registry, then the levels read for this scrape."""

    def __init__(self, metrics: Metrics, levels: list[Metric]) -> None:
        self._metrics = metrics
        self._levels = levels

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics.registry.collect()
        yield from self._levels


async def metrics_page(request: web.Request) -> web.Response:
    app = request.app
    scraper = app[SCRAPER_KEY]
    why = refusal(request, app[SETTINGS_KEY].metrics_token)
    if why is not None:
        await _refuse(request, scraper, why)
    levels = [*_room_levels(app, scraper), *_pool_levels(app)]
    levels += await _backlog_levels(app)
    body = generate_latest(_Page(scraper.metrics, levels))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=list(labels))
    g.add_metric(list(labels.values()), value)
    return g


def _room_levels(app: web.Application, scraper: Scraper) -> Iterator[Metric]:
    svc = app[SIGNALING_KEY]
    rooms = svc.manager.rooms if svc.manager is not None else {}
    settings = app[SETTINGS_KEY]
    node = svc.manager.node_id if svc.manager is not None else (settings.node_id or "")
    yield _gauge("circle_node_info", "This process's node id (value 1)", 1, node=node)
    yield _gauge("circle_rooms_live", "Live rooms owned by this process", len(rooms))
    people = GaugeMetricFamily(
        "circle_participants",
        "People in this process's live rooms, by presence",
        labels=["presence"],
    )
    for presence in (Presence.PRESENT, Presence.RECONNECTING):
        n = sum(
            1 for r in rooms.values() for p in r.participants.values() if p.presence is presence
        )
        people.add_metric([presence.value], n)
    yield people
    yield _gauge("circle_connections", "Room connections held by this process", len(svc.conns))
    yield _gauge(
        "circle_draining", "1 while this process drains before it stops", int(svc.draining)
    )
    lag = max(scraper.lag_samples, default=0.0)
    scraper.metrics.loop_lag.set(lag)
    yield from _media_totals(app, scraper, [r.room_id for r in rooms.values()])
    yield from _socket_counters(app)


def _media_totals(app: web.Application, scraper: Scraper, room_ids: list[str]) -> Iterator[Metric]:
    engine = app.get(MEDIA_KEY)
    seen: dict[str, tuple[int, int, int]] = {}
    if engine is not None:
        for room_id in room_ids:
            try:
                s = engine.stats(room_id)
            except Exception:  # a room whose media is not open (yet, or any more)
                continue
            now = (s.forwarded_packets, s.dropped_packets, s.policed_packets)
            before = scraper.media_seen.get(room_id, (0, 0, 0))
            for i in range(3):  # a room's counters restart with its media: count from zero
                scraper.media_totals[i] += now[i] - before[i] if now[i] >= before[i] else now[i]
            seen[room_id] = now
    scraper.media_seen = seen
    names = (
        ("circle_media_forwarded_packets", "RTP packets forwarded to subscribers"),
        ("circle_media_dropped_packets", "RTP packets the capability gate kept from subscribers"),
        ("circle_media_policed_packets", "RTP packets over a publisher's ingress budget"),
    )
    for (name, doc), total in zip(names, scraper.media_totals, strict=True):
        c = CounterMetricFamily(name, doc + " (as of the last scrape)")
        c.add_metric([], total)
        yield c


def _socket_counters(app: web.Application) -> Iterator[Metric]:
    """Each media worker's shared UDP socket, as the engine counts it (nothing without one)."""
    engine = app.get(MEDIA_KEY)
    sockets: tuple[MediaSocketStats, ...] = engine.socket_stats() if engine is not None else ()
    if not sockets:
        return
    arrived = CounterMetricFamily(
        "circle_media_socket_datagrams",
        "Datagrams that arrived on a media worker's shared UDP socket, by outcome: received "
        "(a connection took it), unknown (no connection claimed it) or filtered (from outside "
        "the allowed networks); the last two are dropped",
        labels=["worker", "outcome"],
    )
    send_dropped = CounterMetricFamily(
        "circle_media_socket_send_dropped_datagrams",
        "Datagrams a media worker's shared UDP socket failed to send (send buffer full, or "
        "the destination unreachable)",
        labels=["worker"],
    )
    for s in sockets:
        worker = str(s.worker)
        for outcome, n in (
            ("received", s.received),
            ("unknown", s.unknown),
            ("filtered", s.filtered),
        ):
            arrived.add_metric([worker, outcome], n)
        send_dropped.add_metric([worker], s.send_dropped)
    yield arrived
    yield send_dropped


def _pool_levels(app: web.Application) -> Iterator[Metric]:
    pool = app[DB_KEY].engine.pool
    for name, doc, attr in (
        ("circle_db_pool_in_use", "Database connections checked out of the pool", "checkedout"),
        ("circle_db_pool_size", "Database connections the pool keeps open", "size"),
        ("circle_db_pool_overflow", "Connections open beyond the pool size", "overflow"),
    ):
        reader = getattr(pool, attr, None)
        if callable(reader):
            with contextlib.suppress(Exception):
                yield _gauge(name, doc, float(reader()))


async def _backlog_levels(app: web.Application) -> list[Metric]:
    now = datetime.now(UTC)
    try:
        async with app[DB_KEY].sessionmaker() as s:
            due, oldest = (
                await s.execute(
                    select(func.count(), func.min(Dispatch.due_at)).where(
                        Dispatch.status == DispatchStatus.PENDING, Dispatch.due_at <= now
                    )
                )
            ).one()
            waiting, oldest_mail = (
                await s.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.status.in_(OUTBOX_WAITING)
                    )
                )
            ).one()
    except Exception:
        log.exception("metrics: reading the dispatch and outbox backlog failed")
        return []
    return [
        _gauge("circle_dispatches_due", "Pending dispatches whose time has come", due),
        _gauge(
            "circle_dispatch_lag_seconds",
            "How long the oldest due pending dispatch has waited (0: none waits)",
            _age(now, oldest),
        ),
        _gauge("circle_outbox_backlog", "Messages queued, retrying or being sent", waiting),
        _gauge(
            "circle_outbox_oldest_seconds",
            "Age of the oldest message still waiting to be sent (0: none)",
            _age(now, oldest_mail),
        ),
    ]


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands naive UTC back
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


# --- the event-loop lag sampler ---------------------------------------------------------------


async def _sample_loop_lag(scraper: Scraper) -> None:
    loop = asyncio.get_running_loop()
    while True:
        expected = loop.time() + LOOP_SAMPLE_S
        await asyncio.sleep(LOOP_SAMPLE_S)
        lag = max(0.0, loop.time() - expected)
        scraper.lag_samples.append(lag)
        scraper.metrics.loop_lag_seconds.observe(lag)


async def _loop_lag_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_sample_loop_lag(app[SCRAPER_KEY]), name="metrics-loop-lag")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
