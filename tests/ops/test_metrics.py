"""``GET /metrics`` (server/metrics_http.py): who may read it, and that every metric the
deployment guide lists is there and moves when the thing it counts happens."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families

from server.appkeys import DB_KEY
from server.db.models import AuditEntry
from server.domain import AuditOutcome, GroupRole
from server.media.port import RoomMediaStats
from server.notify.models import OutboxMessage, OutboxStatus
from server.scheduling.models import Dispatch, DispatchStatus, Purpose
from server.signaling import SIGNALING_KEY
from tests.conftest import Live, make_settings, require_redis, start_app
from tests.fakes_rooms import ManualClock
from tests.signaling.conftest import NS, Server, make_server, seed

TOKEN = "m" * 40

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: Server | Live, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.url + "/metrics", headers=headers or {}) as resp,
    ):
        return resp.status, await resp.text()


async def samples(server: Server | Live, headers: dict[str, str] | None = None) -> Samples:
    status, text = await scrape(server, headers)
    assert status == 200, text
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name, tuple(sorted(s.labels.items()))] = s.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def media_server(sqlite_url: str, tmp_path: Path) -> Any:
    s = await make_server(sqlite_url, tmp_path, media=True, members=2)
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def test_loopback_only_without_a_token_and_refusals_are_audited(server: Server) -> None:
    assert (await scrape(server))[0] == 200
    status, body = await scrape(server, {"X-Forwarded-For": "203.0.113.9"})
    assert status == 403 and "proxy" in body
    status, _ = await scrape(server, {"X-Forwarded-For": "203.0.113.9"})  # counted, not audited
    assert status == 403
    found = await samples(server)
    assert value(found, "circle_metrics_refusals_total") == 2
    rows = await server.db_rows(AuditEntry, action="metrics.scrape")
    assert len(rows) == 1 and rows[0].outcome is AuditOutcome.REFUSED
    assert "proxy" in rows[0].details["reason"]


async def test_a_configured_token_is_required(sqlite_url: str, tmp_path: Path) -> None:
    s = await make_server(sqlite_url, tmp_path, settings={"metrics_token": TOKEN}, members=1)
    try:
        assert (await scrape(s))[0] == 401
        assert (await scrape(s, {"Authorization": "Bearer " + "x" * 40}))[0] == 401
        assert (await scrape(s, {"Authorization": TOKEN}))[0] == 401  # no scheme
        status, text = await scrape(s, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "circle_rooms_live" in text
        rows = await s.db_rows(AuditEntry, action="metrics.scrape")
        assert [r.details["reason"] for r in rows] == ["no bearer token"]  # one per minute
    finally:
        await s.stop()


EVERY_METRIC = [
    "circle_rooms_live",
    "circle_participants",
    "circle_connections",
    "circle_presence_events_total",
    "circle_events_total",
    "circle_refusals_total",
    "circle_event_seconds_count",
    "circle_fanout_seconds_count",
    "circle_event_loop_lag_seconds",
    "circle_event_loop_lag_sample_seconds_count",
    "circle_media_forwarded_packets_total",
    "circle_media_dropped_packets_total",
    "circle_media_policed_packets_total",
    "circle_dispatches_due",
    "circle_dispatch_lag_seconds",
    "circle_outbox_backlog",
    "circle_outbox_oldest_seconds",
    "circle_db_pool_in_use",
    "circle_lease_takeovers_total",
    "circle_draining",
    "circle_node_info",
]


async def test_every_metric_appears_and_moves(media_server: Server) -> None:
    server = media_server
    w = server.world
    before = await samples(server)
    _, text = await scrape(server)
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    names |= {f"{f.name}_total" for f in text_string_to_metric_families(text)}  # no sample yet
    assert not [n for n in EVERY_METRIC if n not in names], names

    # People come in: rooms live, participants, connections, joins, events, fan-outs.
    leader = server.peer(w.leader, GroupRole.LEADER)
    member = server.peer(w.members[0])
    await leader.enter()
    await member.enter()
    now = await samples(server)
    assert value(now, "circle_rooms_live") == 1
    assert value(now, "circle_participants", presence="present") == 2
    assert value(now, "circle_connections") == 2
    joins = value(now, "circle_presence_events_total", kind="join")
    assert joins - value(before, "circle_presence_events_total", kind="join") == 2
    ok_joins = value(now, "circle_events_total", event="join", outcome="ok")
    assert ok_joins - value(before, "circle_events_total", event="join", outcome="ok") == 2
    assert value(now, "circle_event_seconds_count") > value(before, "circle_event_seconds_count")
    assert value(now, "circle_fanout_seconds_count") > value(before, "circle_fanout_seconds_count")

    # A refused command is counted by its code; so is a refused connection.
    refused = await member.call("protocol.command", {"command": "advance"})
    assert refused["ok"] is False
    code = refused["error"]["code"]
    bad = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bad.connect(server.url, namespaces=[NS], transports=["websocket"], auth={})
    await bad.disconnect()
    after = await samples(server)
    for name, labels in (
        ("circle_refusals_total", {"code": code, "where": "event"}),
        ("circle_events_total", {"event": "protocol.command", "outcome": "refused"}),
        ("circle_refusals_total", {"code": "unauthenticated", "where": "connect"}),
    ):
        assert value(after, name, **labels) - value(now, name, **labels) == 1, (name, labels)

    # The fake engine shares no socket: no socket series at all.
    assert not any(n.startswith("circle_media_socket") for n in names), names

    # Media: the totals follow the engine's per-room counters.
    assert server.media is not None
    server.media.stats = lambda room_id: RoomMediaStats(  # type: ignore[method-assign]
        room_id, 2, 100, 90, 9000, 7, 0, None, policed_packets=3
    )
    media = await samples(server)
    for name, n in (("forwarded", 90), ("dropped", 7), ("policed", 3)):
        key = f"circle_media_{name}_packets_total"
        assert value(media, key) - value(after, key) == n, key

    # Someone drops: a disconnect, one person reconnecting.
    await member.close()
    await leader.until(lambda s: any(p["presence"] == "reconnecting" for p in s["participants"]))
    gone = await samples(server)
    assert value(gone, "circle_participants", presence="reconnecting") == 1
    assert value(gone, "circle_connections") == 1
    kind = "disconnect"
    assert (
        value(gone, "circle_presence_events_total", kind=kind)
        - value(now, "circle_presence_events_total", kind=kind)
        == 1
    )

    # The backlog: a dispatch due a minute ago and a queued message.
    app = server.runner.app  # type: ignore[union-attr]
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with app[DB_KEY].sessionmaker() as s, s.begin():
        s.add(
            Dispatch(
                key="metrics-test",
                session_id=w.session_id,
                purpose=Purpose.REMINDER,
                due_at=past,
                expires_at=past + timedelta(hours=1),
                status=DispatchStatus.PENDING,
            )
        )
        s.add(
            OutboxMessage(
                to_address="x@test.example",
                kind="test",
                subject="s",
                body="b",
                status=OutboxStatus.QUEUED,
                created_at=past,
            )
        )
    # The pool: a connection held while the page is read; the loop: blocked for 0.6 s.
    async with app[DB_KEY].engine.connect():
        time.sleep(0.6)  # noqa: ASYNC251 (the event-loop lag under test: >= 0.6 - 0.25 s)
        await leader.call("hello", {"v": 1})  # the sampler runs again after the stall
        busy = await samples(server)
    assert value(busy, "circle_dispatches_due") == 1
    assert value(busy, "circle_dispatch_lag_seconds") >= 59
    assert value(busy, "circle_outbox_backlog") == 1
    assert value(busy, "circle_outbox_oldest_seconds") >= 59
    assert value(busy, "circle_db_pool_in_use") >= 1
    assert value(busy, "circle_event_loop_lag_seconds") >= 0.3
    assert value(busy, "circle_event_loop_lag_sample_seconds_bucket", le="0.1") < value(
        busy, "circle_event_loop_lag_sample_seconds_count"
    )

    # Drain state follows what SIGTERM sets first (server/signaling/drain.py).
    app[SIGNALING_KEY].draining = True
    assert value(await samples(server), "circle_draining") == 1


async def test_lease_takeovers_are_counted_by_how(sqlite_url: str, tmp_path: Path) -> None:
    """A room handed over by a live node (the proxy sent a member elsewhere), then taken from
    a node whose heartbeat is gone: each counted once on the node that took it."""
    require_redis()
    world = await seed(sqlite_url, members=2)
    clock = ManualClock(time.time_ns() // 1_000_000)
    channel = f"test-metrics-{uuid.uuid4().hex[:8]}"
    redis = "redis://127.0.0.1:6379/0"
    common = {"redis_channel": channel}
    a = Server(
        world, tmp_path / "a", clock, None, redis_url=redis, settings={**common, "node_id": "a"}
    )
    b = Server(
        world, tmp_path / "b", clock, None, redis_url=redis, settings={**common, "node_id": "b"}
    )
    await a.start()
    await b.start()
    try:
        before = await samples(a)
        await a.peer(world.leader, GroupRole.LEADER).enter()
        await b.peer(world.members[0]).enter()  # a hands the room over to b
        moved = await samples(b)
        key = "circle_lease_takeovers_total"
        assert value(moved, key, how="handover") - value(before, key, how="handover") == 1
        b_link = b.runner.app[SIGNALING_KEY].cluster  # type: ignore[union-attr]
        assert b_link is not None
        await b_link.stop()  # b's heartbeat is gone (as after kill -9): a takes the room
        await enter_retrying(a, world.members[1])  # (a gave it away just now: room_moving)
        taken = await samples(a)
        assert value(taken, key, how="dead") - value(before, key, how="dead") == 1
        assert value(taken, key, how="handover") - value(moved, key, how="handover") == 0
    finally:
        for p in [*a.peers, *b.peers]:
            await p.close()
        await a.stop()
        await b.stop()


async def enter_retrying(server: Server, person_id: int, wait_s: float = 10) -> None:
    """Join as the web client does: a transient refusal is retried with a fresh token."""
    deadline = time.monotonic() + wait_s
    while True:
        peer = server.peer(person_id)
        await peer.connect()
        hello = await peer.call("hello", {"v": 1})
        assert hello["ok"], hello
        if hello["agreement"]["required"]:
            version = hello["agreement"]["version"]
            assert (await peer.call("agreement.accept", {"version": version}))["ok"]
        joined = await peer.call("join", {})
        if joined["ok"]:
            return
        assert joined["error"]["code"] == "room_moving", joined
        assert time.monotonic() < deadline, "still moving"
        await peer.close()
        await asyncio.sleep(0.5)


SOCKET_IN = "circle_media_socket_datagrams_total"
SOCKET_SEND_DROPPED = "circle_media_socket_send_dropped_datagrams_total"


def free_udp_ports(n: int) -> int:
    """A port p such that p .. p+n-1 were free on 127.0.0.1 (UDP) a moment ago."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            first = int(probe.getsockname()[1])
        taken = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
        try:
            for i, s in enumerate(taken):
                s.bind(("127.0.0.1", first + i))
            return first
        except OSError:
            continue
        finally:
            for s in taken:
                s.close()
    raise AssertionError("no free UDP ports")


async def scraped_until(live: Live, ok: Any, what: str, timeout_s: float = 15) -> Samples:
    """Scrape until ``ok(samples)`` (a sharded worker pushes its counters once a second)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await samples(live)
        if ok(found):
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {found}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "sharded"])
async def test_media_socket_datagrams_by_worker(
    sqlite_url: str, tmp_path: Path, workers: int
) -> None:
    """A datagram from a source no connection claims and two from outside the allowed
    networks, sent to the last worker's shared socket: counted there, by worker."""
    port = free_udp_ports(workers)
    settings = make_settings(
        sqlite_url,
        tmp_path,
        media_enabled=True,
        media_workers=workers,
        media_udp_port=port,
        media_allowed_networks=["127.0.0.1/32"],
        media_host_addresses=["127.0.0.1"],
    )
    runner, live = await start_app(settings)
    last = str(workers - 1)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    outsider = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        before = await scraped_until(  # each worker pushes its counters once a second
            live,
            lambda f: all(
                (SOCKET_IN, (("outcome", "unknown"), ("worker", str(w)))) in f
                for w in range(workers)
            ),
            "every worker's series",
        )
        assert {labels for name, labels in before if name == SOCKET_SEND_DROPPED} == {
            (("worker", str(w)),) for w in range(workers)
        }
        stranger.bind(("127.0.0.1", 0))
        stranger.sendto(b"\x80\x60 not from a connection", ("127.0.0.1", port + workers - 1))
        outsider.bind(("127.0.0.2", 0))  # loopback, but outside 127.0.0.1/32
        for _ in range(2):  # (two: not to be mistaken for the one unknown)
            outsider.sendto(b"\x80\x60 from outside", ("127.0.0.1", port + workers - 1))

        def moved(found: Samples, outcome: str, worker: str = last) -> float:
            return value(found, SOCKET_IN, worker=worker, outcome=outcome) - value(
                before, SOCKET_IN, worker=worker, outcome=outcome
            )

        after = await scraped_until(
            live,
            lambda f: moved(f, "unknown") >= 1 and moved(f, "filtered") >= 2,
            "unknown and filtered counted",
        )
        counted = [moved(after, o) for o in ("received", "unknown", "filtered")]
        assert counted == [0, 1, 2]
        for w in range(workers - 1):  # the other workers saw nothing
            assert [moved(after, o, str(w)) for o in ("received", "unknown", "filtered")] == [0] * 3
    finally:
        stranger.close()
        outsider.close()
        await runner.cleanup()


async def test_no_socket_series_without_a_shared_socket(sqlite_url: str, tmp_path: Path) -> None:
    """No allowed host address (none of this host's is 192.0.2.1): no shared socket, no series."""
    settings = make_settings(
        sqlite_url, tmp_path, media_enabled=True, media_host_addresses=["192.0.2.1"]
    )
    runner, live = await start_app(settings)
    try:
        _, text = await scrape(live)
        assert "circle_media_forwarded_packets" in text  # the media engine is there
        assert "circle_media_socket" not in text
    finally:
        await runner.cleanup()
