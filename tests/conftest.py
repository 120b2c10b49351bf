"""Shared fixtures: databases (SQLite and PostgreSQL), settings, a live app on loopback.

PostgreSQL and Redis tests skip with a reason when the service is unreachable, except
under CI=true, where their absence fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from server.settings import Settings

CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("CIRCLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CIRCLE_TEST_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


# Under pytest-xdist's ``--dist loadgroup`` (scripts/test.sh) one worker runs all the tests
# whose node id starts with one of these: the media tests' batch in one network namespace
# (tests/media/conftest.py), the cluster module's one cluster for its ordered tests.
# (xdist_group marks do not group with pytest 9: xdist 3.8 renames the node id in vain.)
XDIST_GROUPS = {"tests/media/": "media", "tests/cluster/test_cluster.py": "cluster"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class PathGroups(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            for prefix, group in XDIST_GROUPS.items():
                if nodeid.startswith(prefix):
                    return group
            return str(super()._split_scope(nodeid))

    return PathGroups(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist the tests marked ``slow`` (a minute or more on a loaded 2-core
    machine) are handed out first, so that the run does not end waiting for one of them.
    Every worker collects and sorts alike (the same order is xdist's condition)."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda it: it.get_closest_marker("slow") is None)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    if CI:
        pytest.fail(f"{name} on {host}:{port} is required under CI=true but is unreachable")
    pytest.skip(f"{name} is not reachable on {host}:{port}")


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require_service("Redis", "127.0.0.1", 6379)


async def _pg_exec(sql: str, url: str = PG_ADMIN_URL) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(dbname: str) -> str:
    return str(URL(PG_ADMIN_URL).with_path("/" + dbname))


async def _migrate(url: str) -> None:
    from server.db import migrate
    from server.db.engine import Database

    db = Database(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test gets a copy (CREATE DATABASE ... TEMPLATE)."""
    require_postgres()
    name = f"circle_tmpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_exec(f'CREATE DATABASE "{name}"'))
    asyncio.run(_migrate(_pg_url(name)))
    yield name
    asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class PgCopies:
    """Copies of the migrated template, a fresh one for each test. CREATE and DROP DATABASE
    wait mostly on PostgreSQL's disk writes, so one background thread makes the next copy and
    drops the used ones while the tests run; an error there fails the session's teardown."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="pg-copies")
        self.drops: list[Future[None]] = []
        self.next = self.pool.submit(self._create)

    def _create(self) -> str:
        name = f"circle_t_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def _drop(self, name: str) -> None:
        asyncio.run(_pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def take(self) -> str:
        name = self.next.result()
        self.next = self.pool.submit(self._create)
        return name

    def give_back(self, name: str) -> None:
        self.drops.append(self.pool.submit(self._drop, name))

    def close(self) -> None:
        try:
            self.give_back(self.next.result())
            for done in self.drops:
                done.result()
        finally:
            self.pool.shutdown()


@pytest.fixture(scope="session")
def pg_copies(pg_template: str) -> Iterator[PgCopies]:
    copies = PgCopies(pg_template)
    yield copies
    copies.close()


def fresh_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "circle.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    copies: PgCopies = request.getfixturevalue("pg_copies")
    name = copies.take()
    request.addfinalizer(lambda: copies.give_back(name))
    return _pg_url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated database, once on SQLite and once on PostgreSQL."""
    return fresh_db_url(request.param, request, tmp_path)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated SQLite database (for tests where the backend does not matter)."""
    return fresh_db_url("sqlite", request, tmp_path)


def make_settings(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": db_url,
        "secret_key": SECRET,
        "var_dir": tmp_path / "var",
        "scheduler_enabled": False,
        "media_enabled": False,
        "public_url": "http://127.0.0.1:8080",
        "login_max_failures": 3,
    }
    base.update(overrides)
    return Settings(**base)


@dataclass
class Live:
    """A running app on loopback and its base URL."""

    app: web.Application
    url: str


async def start_app(settings: Settings) -> tuple[web.AppRunner, Live]:
    from server.app import create_app

    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, Live(app=app, url=f"http://127.0.0.1:{port}")


@pytest.fixture
async def live(db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    runner, live = await start_app(make_settings(db_url, tmp_path))
    yield live
    await runner.cleanup()


@pytest.fixture
async def live_sqlite(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    runner, live = await start_app(make_settings(sqlite_url, tmp_path))
    yield live
    await runner.cleanup()


class Api:
    """A browser-like JSON client: keeps cookies and echoes the CSRF cookie in a header."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    def _csrf(self) -> dict[str, str]:
        for cookie in self.http.cookie_jar:
            if cookie.key == "circle_csrf":
                return {"X-CSRF-Token": cookie.value}
        return {}

    async def call(
        self, method: str, path: str, json: Any = None, *, csrf: bool = True, **kw: Any
    ) -> tuple[int, Any]:
        if not self._csrf():
            async with self.http.get(self.base + "/healthz"):
                pass
        headers = dict(kw.pop("headers", {}))
        if csrf:
            headers.update(self._csrf())
        async with self.http.request(
            method, self.base + path, json=json, headers=headers, allow_redirects=False, **kw
        ) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, json, **kw)


@pytest.fixture
async def api_factory(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    clients: list[Api] = []

    def make(live: Live) -> Api:
        c = Api(live.url)
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.close()
