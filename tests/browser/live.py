"""The real server for end-to-end browser tests: create_app on a migrated SQLite file, with the
aiortc forwarding unit limited to loopback, running its own event loop in a thread (the
Playwright tests are synchronous). Seeds one open Balint session."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from server.appkeys import MEDIA_KEY
from server.db import migrate
from server.db.engine import Database
from server.db.models import Group, Membership, Organisation, Person, ScheduledSession, Series
from server.domain import GroupRole, ProtocolKind, SessionStatus
from tests.conftest import make_settings
from tests.foundation.seed import invitation


@dataclass
class Cast:
    leader: int = 0
    co_leader: int = 0
    members: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    session_id: int = 0


async def seed(
    url: str,
    *,
    members: int,
    locales: dict[int, str] | None = None,
    settings: dict[str, object] | None = None,
) -> Cast:
    await migrate.upgrade(Database(url))
    db = Database(url)
    cast = Cast()
    try:
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="St. Browser", slug="st-browser")
            s.add(org)
            await s.flush()

            def person(key: str, name: str, locale: str | None = None) -> Person:
                p = Person(
                    organisation_id=org.id,
                    email=f"{key}@browser.example",
                    display_name=name,
                    locale=locale,
                    timezone="Europe/Amsterdam",
                )
                s.add(p)
                return p

            leader = person("leader", "Dr. Hanna Leader")
            co_leader = person("co", "Omid Co-leader")
            names = ["Amir Rahimi", "Bea de Vries", "Chen Li", "Dana Cohen", "Eli Ortega"]
            mem = [
                person(f"m{i}", names[i % len(names)], (locales or {}).get(i))
                for i in range(members)
            ]
            await s.flush()
            group = Group(
                organisation_id=org.id,
                name="Balint group (browser test)",
                protocol=ProtocolKind.BALINT,
                capacity=12,
                min_members=1,
                settings={"sitback_minutes": 15, "auto_advance": False, **(settings or {})},
            )
            s.add(group)
            await s.flush()
            s.add(Membership(group_id=group.id, person_id=leader.id, role=GroupRole.LEADER))
            s.add(Membership(group_id=group.id, person_id=co_leader.id, role=GroupRole.CO_LEADER))
            for m in mem:
                s.add(Membership(group_id=group.id, person_id=m.id, role=GroupRole.MEMBER))
            series = Series(
                group_id=group.id, title="Autumn", timezone="Europe/Amsterdam", planned_sessions=6
            )
            s.add(series)
            await s.flush()
            sess = ScheduledSession(
                series_id=series.id,
                group_id=group.id,
                starts_at=datetime.now(UTC),
                timezone="Europe/Amsterdam",
                duration_minutes=60,
                status=SessionStatus.OPEN,
            )
            s.add(sess)
            await s.flush()
            cast.leader = leader.id
            cast.co_leader = co_leader.id
            cast.members = [m.id for m in mem]
            cast.names = {p.id: p.display_name for p in [leader, co_leader, *mem]}
            cast.session_id = sess.id
    finally:
        await db.dispose()
    return cast


class LiveServer:
    def __init__(self, tmp_path: Path, dist: Path) -> None:
        self.db_url = f"sqlite:///{tmp_path / 'circle.db'}"
        self.tmp_path = tmp_path
        self.dist = dist
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="live-server", daemon=True
        )
        self._runner: web.AppRunner | None = None
        self.engine: Any = None

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> str:
        from server.app import create_app

        # Socket.IO accepts only the public origin: bind first, then name it.
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        url = f"http://127.0.0.1:{port}"
        settings = make_settings(
            self.db_url,
            self.tmp_path,
            public_url=url,
            web_root=self.dist,
            media_allowed_networks=["127.0.0.0/8"],
            reconnect_grace_s=60,
        )
        # The real wiring (server.media.wiring): the aiortc engine, candidates on loopback.
        app = create_app(settings.model_copy(update={"media_enabled": True}))
        self.engine = app[MEDIA_KEY]
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        return url

    def start(
        self,
        *,
        members: int,
        locales: dict[int, str] | None = None,
        settings: dict[str, object] | None = None,
    ) -> Cast:
        """Seed a Balint group (``settings`` added to its group settings) and serve it."""
        self._thread.start()
        cast: Cast = self.run(
            seed(self.db_url, members=members, locales=locales, settings=settings)
        )
        self.url = self.run(self._start())
        return cast

    def media_stats(self, session_id: int) -> Any:
        """The forwarding unit's counters for one room (for failure messages)."""

        async def read() -> Any:
            return self.engine.stats(str(session_id))

        return self.run(read())

    def link(self, person_id: int) -> str:
        token = self.run(invitation(self.db_url, person_id))
        return f"{self.url}/app/#signin={token}"

    def stop(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(Exception):
                self.run(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
