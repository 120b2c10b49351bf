"""A stand-in for the server's REST side, for page tests that need no room: serves the built
client under /app/ and answers /api/me, /api/me/sessions and join-token from test data.
Runs its own event loop in a thread (the Playwright tests are synchronous)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from server.api import headers
from server.appkeys import SETTINGS_KEY
from server.settings import Settings


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def session_at(
    start: datetime, *, status: str = "scheduled", lobby_minutes: int = 10
) -> dict[str, Any]:
    return {
        "id": "41",
        "group_id": "5",
        "group_name": "Balint group: Tuesday",
        "protocol": "balint",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=1)),
        "timezone": "Europe/Amsterdam",
        "status": status,
        "lobby_opens_at": iso(start - timedelta(minutes=lobby_minutes)),
        "role": "member",
    }


@dataclass
class StubState:
    me: dict[str, Any] = field(
        default_factory=lambda: {
            "id": "3",
            "display_name": "Sara Member",
            "email": "sara@example.org",
            "locale": "en",
            "timezone": "Europe/Amsterdam",
            "roles": [],
            "groups": [{"id": "5", "name": "Balint group: Tuesday", "role": "member"}],
        }
    )
    sessions: list[dict[str, Any]] = field(default_factory=list)
    token_requests: int = 0
    # When set, join tokens are issued and /room answers hello/join with this snapshot
    # (a scripted room: no protocol, no media; for states a real session reaches slowly).
    room_snapshot: dict[str, Any] | None = None
    room_events: list[str] = field(default_factory=list)


class StubServer:
    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.state = StubState()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="stub-server", daemon=True
        )

    def _app(self) -> web.Application:
        app = web.Application()
        # The real server's security headers (CSP, Permissions-Policy, ...), so the page tests
        # run the built client under the policy it is served with.
        app[SETTINGS_KEY] = Settings(public_url="http://127.0.0.1")
        headers.setup(app)

        async def index(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(self.dist / "index.html")

        async def me(request: web.Request) -> web.Response:
            return web.json_response(self.state.me)

        async def sessions(request: web.Request) -> web.Response:
            return web.json_response(self.state.sessions)

        async def join_token(request: web.Request) -> web.Response:
            self.state.token_requests += 1
            if self.state.room_snapshot is not None:
                return web.json_response({"token": "stub-token", "expires_at": iso(now())})
            return web.json_response(
                {"error": {"code": "not_open", "message": "The lobby is not open yet."}}, status=409
            )

        sio = socketio.AsyncServer(async_mode="aiohttp")
        sio.attach(app)
        state = self.state

        @sio.on("*", namespace="/room")  # type: ignore[untyped-decorator]
        async def any_event(event: str, sid: str, data: Any) -> dict[str, Any]:
            state.room_events.append(event)
            snap = state.room_snapshot or {}
            if event == "hello":
                return {
                    "ok": True,
                    "server_time_ms": snap.get("server_time_ms", 0),
                    "you": {"person_id": "3", "role": "member", "display_name": "Sara Member"},
                    "agreement": {"required": False, "version": "1", "text": ""},
                }
            if event == "join":
                return {"ok": True, "snapshot": snap}
            return {"ok": False, "error": {"code": "protocol", "message": "scripted room"}}

        @sio.on("connect", namespace="/room")  # type: ignore[untyped-decorator]
        async def connect(sid: str, environ: Any, auth: Any) -> bool:
            return isinstance(auth, dict) and auth.get("token") == "stub-token"

        app.router.add_get("/app/", index)
        app.router.add_static("/app/assets/", self.dist / "assets")
        app.router.add_get("/api/me", me)
        app.router.add_get("/api/me/sessions", sessions)
        app.router.add_post("/api/sessions/{id}/join-token", join_token)
        return app

    async def _start(self) -> str:
        self._runner = web.AppRunner(self._app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Socket.IO's ping tasks outlive closed pages: end them before the loop closes.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._runner is not None:
            # A page left open (a failed test) keeps a socket: do not turn that into a
            # teardown error that hides the test's own failure.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def now() -> datetime:
    return datetime.now(UTC)
