"""A real server on loopback (create_app + SQLite), python-socketio clients, a manual clock."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web
from sqlalchemy import select

from server.appkeys import MEDIA_KEY
from server.auth.tokens import mint_join_token
from server.db.engine import Database
from server.db.models import Group, Membership, Organisation, Person, ScheduledSession, Series
from server.domain import GroupRole, ProtocolKind, SessionStatus
from server.signaling import CLOCK_KEY
from tests.conftest import SECRET, make_settings
from tests.fakes_rooms import FakeMediaEngine, ManualClock

NS = "/room"


@dataclass
class World:
    db_url: str
    leader: int = 0
    co_leader: int = 0
    members: list[int] = field(default_factory=list)
    outsider: int = 0
    session_id: int = 0
    series_id: int = 0
    group_id: int = 0


async def seed(
    db_url: str,
    *,
    members: int = 13,
    settings: dict[str, Any] | None = None,
    status: SessionStatus = SessionStatus.OPEN,
) -> World:
    db = Database(db_url)
    w = World(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="St. Test", slug="st-test")
            s.add(org)
            await s.flush()

            def person(i: str, name: str) -> Person:
                p = Person(organisation_id=org.id, email=f"{i}@test.example", display_name=name)
                s.add(p)
                return p

            leader, co = person("leader", "Leader"), person("co", "Co-leader")
            mem = [person(f"m{i}", f"Member {i}") for i in range(members)]
            out = person("out", "Outsider")
            await s.flush()
            group = Group(
                organisation_id=org.id,
                name="Balint A",
                protocol=ProtocolKind.BALINT,
                capacity=12,
                min_members=8,
                settings=settings or {"sitback_minutes": 15},
            )
            s.add(group)
            await s.flush()
            s.add(Membership(group_id=group.id, person_id=leader.id, role=GroupRole.LEADER))
            s.add(Membership(group_id=group.id, person_id=co.id, role=GroupRole.CO_LEADER))
            for m in mem:
                s.add(Membership(group_id=group.id, person_id=m.id, role=GroupRole.MEMBER))
            series = Series(
                group_id=group.id,
                title="S",
                timezone="UTC",
                planned_sessions=6,
                agreement_version="2",
            )
            s.add(series)
            await s.flush()
            sess = ScheduledSession(
                series_id=series.id,
                group_id=group.id,
                starts_at=datetime.now(UTC),
                timezone="UTC",
                duration_minutes=60,
                status=status,
            )
            s.add(sess)
            await s.flush()
            w.leader, w.co_leader, w.outsider = leader.id, co.id, out.id
            w.members = [m.id for m in mem]
            w.session_id, w.series_id, w.group_id = sess.id, series.id, group.id
    finally:
        await db.dispose()
    return w


class Peer:
    """One python-socketio client that keeps every snapshot and event it receives."""

    def __init__(self, url: str, person_id: int, session_id: int, role: GroupRole) -> None:
        self.url = url
        self.person_id = person_id
        self.session_id = session_id
        self.role = role
        self.sio = socketio.AsyncClient(reconnection=False)
        self.snapshots: list[dict[str, Any]] = []
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

        async def on_snapshot(data: dict[str, Any]) -> None:
            self.snapshots.append(data)
            self._poke()

        self.sio.on("room.snapshot", on_snapshot, namespace=NS)
        for name in ("room.ended", "room.note", "media.offer", "room.replaced"):
            self.sio.on(name, self._recorder(name), namespace=NS)

    def _recorder(self, name: str) -> Callable[[Any], Any]:
        async def record(data: Any) -> None:
            self.events.append((name, data))
            self._poke()

        return record

    def _poke(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def token(self, **kw: Any) -> str:
        return mint_join_token(
            SECRET, person_id=self.person_id, session_id=self.session_id, role=self.role, **kw
        )

    async def connect(self, token: str | None = None) -> None:
        await self.sio.connect(
            self.url,
            namespaces=[NS],
            transports=["websocket"],
            auth={"token": token or self.token()},
            wait_timeout=10,
        )

    async def call(self, event: str, payload: Any = None, *more: Any) -> dict[str, Any]:
        data = payload if not more else (payload, *more)
        reply: dict[str, Any] = await self.sio.call(event, data, namespace=NS, timeout=10)
        return reply

    async def enter(self) -> dict[str, Any]:
        """connect, hello, accept the agreement if asked, join: the snapshot from the ack."""
        if not self.sio.connected:
            await self.connect()
        hello = await self.call("hello", {"v": 1})
        assert hello["ok"], hello
        if hello["agreement"]["required"]:
            ok = await self.call("agreement.accept", {"version": hello["agreement"]["version"]})
            assert ok["ok"], ok
        joined = await self.call("join", {})
        assert joined["ok"], joined
        return joined["snapshot"]  # type: ignore[no-any-return]

    @property
    def last(self) -> dict[str, Any]:
        return self.snapshots[-1]

    async def until(
        self, pred: Callable[[dict[str, Any]], bool], wait_s: float = 10
    ) -> dict[str, Any]:
        """Wait for a snapshot (the latest, by version) that satisfies ``pred``."""
        deadline = time.monotonic() + wait_s
        while True:
            if self.snapshots:
                best = max(self.snapshots, key=lambda s: s["version"])
                if pred(best):
                    return best
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"person {self.person_id}: no such snapshot; last "
                    f"{self.snapshots[-1] if self.snapshots else None}"
                )
            waiter = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), left)

    async def event(self, name: str, wait_s: float = 10) -> Any:
        deadline = time.monotonic() + wait_s
        while True:
            for n, data in self.events:
                if n == name:
                    return data
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} event for {self.person_id}")
            waiter = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), left)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@dataclass
class Server:
    """A running app; ``restart`` stops it and starts another on the same database."""

    world: World
    tmp_path: Path
    clock: ManualClock
    media: FakeMediaEngine | None
    runner: web.AppRunner | None = None
    url: str = ""
    peers: list[Peer] = field(default_factory=list)
    grace_s: int = 60
    redis_url: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    async def start(self) -> None:
        from server.app import create_app

        settings = make_settings(
            self.world.db_url,
            self.tmp_path,
            reconnect_grace_s=self.grace_s,
            redis_url=self.redis_url,
            **self.settings,
        )
        app = create_app(settings)
        app[CLOCK_KEY] = self.clock
        if self.media is not None:
            app[MEDIA_KEY] = self.media
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def peer(self, person_id: int, role: GroupRole = GroupRole.MEMBER) -> Peer:
        p = Peer(self.url, person_id, self.world.session_id, role)
        self.peers.append(p)
        return p

    async def db_rows(self, model: Any, **where: Any) -> list[Any]:
        db = Database(self.world.db_url)
        try:
            async with db.sessionmaker() as s:
                stmt = select(model)
                for k, v in where.items():
                    stmt = stmt.where(getattr(model, k) == v)
                return list((await s.scalars(stmt)).all())
        finally:
            await db.dispose()


async def make_server(
    sqlite_url: str,
    tmp_path: Path,
    *,
    media: bool = False,
    grace_s: int = 60,
    settings: dict[str, Any] | None = None,
    **seed_kw: Any,
) -> Server:
    world = await seed(sqlite_url, **seed_kw)
    server = Server(
        world,
        tmp_path,
        ManualClock(time.time_ns() // 1_000_000),
        FakeMediaEngine() if media else None,
        grace_s=grace_s,
        settings=settings or {},
    )
    await server.start()
    return server


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(sqlite_url, tmp_path)
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


@pytest.fixture
async def media_server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(sqlite_url, tmp_path, media=True)
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


# re-exported for the tests
__all__ = ["NS", "Peer", "Server", "World", "make_server", "seed"]
