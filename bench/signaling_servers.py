"""The two servers of bench/signaling.py, each run in its own process: ours (the app, with a
database seeded with N Balint rooms) and the baseline, a bare python-socketio relay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench._host import raise_fd_limit

SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz"
NS = "/room"
CLIENTS_PER_ROOM = 12


async def seed(db_url: str, rooms: int) -> list[dict[str, Any]]:
    """N Balint groups, each with a leader and 11 members, a series and an open session."""
    from datetime import UTC, datetime

    from server.db import migrate
    from server.db.engine import Database
    from server.db.models import (
        AgreementAcceptance,
        Group,
        Membership,
        Organisation,
        Person,
        ScheduledSession,
        Series,
    )
    from server.domain import GroupRole, ProtocolKind, SessionStatus

    db = Database(db_url)
    out: list[dict[str, Any]] = []
    try:
        await migrate.upgrade(db)
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="Bench", slug="bench")
            s.add(org)
            await s.flush()
            for r in range(rooms):
                people = [
                    Person(
                        organisation_id=org.id,
                        email=f"r{r}p{i}@bench.example",
                        display_name=f"Room {r} person {i}",
                    )
                    for i in range(CLIENTS_PER_ROOM)
                ]
                s.add_all(people)
                group = Group(
                    organisation_id=org.id,
                    name=f"B{r}",
                    protocol=ProtocolKind.BALINT,
                    capacity=12,
                    min_members=8,
                    settings={},
                )
                s.add(group)
                await s.flush()
                series = Series(group_id=group.id, title="S", timezone="UTC", planned_sessions=8)
                s.add(series)
                await s.flush()
                session = ScheduledSession(
                    series_id=series.id,
                    group_id=group.id,
                    starts_at=datetime.now(UTC),
                    timezone="UTC",
                    duration_minutes=60,
                    status=SessionStatus.OPEN,
                )
                s.add(session)
                await s.flush()
                for i, p in enumerate(people):
                    role = GroupRole.LEADER if i == 0 else GroupRole.MEMBER
                    s.add(Membership(group_id=group.id, person_id=p.id, role=role))
                    # accepted earlier: a join here is connect + hello + join
                    s.add(AgreementAcceptance(person_id=p.id, series_id=series.id, version="1"))
                out.append({"session_id": session.id, "people": [p.id for p in people]})
    finally:
        await db.dispose()
    return out


def serve_app(db_url: str, port: int, var_dir: str) -> None:
    from aiohttp import web

    from server.app import create_app
    from server.settings import Settings

    raise_fd_limit()
    settings = Settings(
        database_url=db_url,
        secret_key=SECRET,
        var_dir=Path(var_dir),
        scheduler_enabled=False,
        media_enabled=False,
        log_level="WARNING",
        public_url=f"http://127.0.0.1:{port}",
    )
    import logging

    logging.basicConfig(level=logging.WARNING)
    profile = os.environ.get("CIRCLE_BENCH_PROFILE")  # a file: profile the server process
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        web.run_app(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            print=None,
            access_log=None,
            handle_signals=True,
        )
    finally:
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(profile)


def serve_relay(port: int) -> None:
    """The baseline: a bare python-socketio relay (join a room; relay a payload to it)."""
    import socketio
    from aiohttp import web

    raise_fd_limit()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        ping_interval=10,
        ping_timeout=10,
        max_http_buffer_size=256 * 1024,
        cors_allowed_origins=[],
    )
    app = web.Application()
    sio.attach(app)
    versions: dict[str, int] = {}

    @sio.on("connect", namespace=NS)  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        return None

    @sio.on("join", namespace=NS)  # type: ignore[untyped-decorator]
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True}

    @sio.on("relay", namespace=NS)  # type: ignore[untyped-decorator]
    async def relay(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = data["room"]
        versions[room] = versions.get(room, 0) + 1
        await sio.emit(
            "room.snapshot",
            {"version": versions[room], "blob": data["blob"]},
            room=room,
            namespace=NS,
        )
        return {"ok": True}

    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
