"""The application factory: aiohttp + python-socketio + database, wired by typed AppKeys."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import socketio
from aiohttp import web
from sqlalchemy import text

from server import api, questionnaires, scheduling, signaling
from server.api.http import csrf_cookie_middleware, error_middleware, security_headers_middleware
from server.appkeys import (
    API_ROUTERS_KEY,
    DB_KEY,
    LIMITER_KEY,
    MEDIA_KEY,
    SETTINGS_KEY,
    SIO_KEY,
)
from server.auth.ratelimit import LoginLimiter
from server.db import migrate
from server.db.engine import Database
from server.media import wiring as media_wiring
from server.pages import session_page
from server.questionnaires import wiring as questionnaire_forms
from server.settings import Settings

log = logging.getLogger("circle.app")
# Layers that wire themselves in with ``setup(app)``, in this order: the media engine's cleanup
# context must start before the rooms' (signaling) and stop after them.
PLUGINS: tuple[Callable[[web.Application], None], ...] = (
    media_wiring.setup,
    signaling.setup,
    scheduling.setup,
    questionnaires.setup,
    questionnaire_forms.setup,  # the answering side: after scheduling and the instruments
)


def app_version() -> str:
    try:
        return version("healers-circle")
    except PackageNotFoundError:
        return "0.0.0"


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    db = Database(app[SETTINGS_KEY].effective_database_url)
    app[DB_KEY] = db
    yield
    await db.dispose()


def _make_sio(settings: Settings) -> socketio.AsyncServer:
    manager = (
        socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel)
        if settings.redis_url
        else None
    )
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=[settings.public_url],
        max_http_buffer_size=256 * 1024,
        ping_interval=10,
        ping_timeout=10,
        logger=False,
        engineio_logger=False,
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    db = request.app[DB_KEY]
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        current = await migrate.current_revision(db)
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", exc)
        return web.json_response({"status": "unavailable", "database": False}, status=503)
    head = migrate.head_revision()
    ok = current == head
    body = {"status": "ok" if ok else "unavailable", "database": True, "migrations": current}
    if not ok:
        body["expected"] = head
    return web.json_response(body, status=200 if ok else 503)


def _static_routes(app: web.Application, root: Path | None) -> None:
    async def index(request: web.Request) -> web.StreamResponse:
        if root is None or not (root / "index.html").exists():
            return web.Response(
                text="The web client is not built. Run: npm --prefix web_client ci && "
                "npm --prefix web_client run build",
                status=503,
            )
        page = request.match_info.get("page") or "index.html"
        target = root / page
        return web.FileResponse(target if target.is_file() else root / "index.html")

    async def to_app(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/app/")

    async def to_session(request: web.Request) -> web.StreamResponse:
        # Links written before pages.session_page existed pointed here.
        sid = int(request.match_info["sid"])
        raise web.HTTPFound(session_page("", sid))

    app.router.add_get("/", to_app)
    app.router.add_get("/sessions/{sid:[0-9]{1,18}}", to_session)
    app.router.add_get("/app", to_app)
    app.router.add_get("/app/", index)
    app.router.add_get("/app/{page:[A-Za-z0-9_-]+\\.html}", index)
    if root is not None and (root / "assets").is_dir():
        app.router.add_static("/app/assets/", root / "assets", append_version=False)


def create_app(settings: Settings) -> web.Application:
    """Build the application. Nothing global: everything hangs off the app."""
    if not settings.secret_key:
        raise ValueError("settings.secret_key is required (see server.settings.ensure_secret)")
    app = web.Application(
        middlewares=[security_headers_middleware, csrf_cookie_middleware, error_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS_KEY] = settings
    app[LIMITER_KEY] = LoginLimiter(
        max_failures=settings.login_max_failures, window_s=settings.login_window_s
    )
    app[MEDIA_KEY] = None
    app[API_ROUTERS_KEY] = list(api.CORE_ROUTERS)
    app.cleanup_ctx.append(_database_ctx)
    sio = _make_sio(settings)
    sio.attach(app)
    app[SIO_KEY] = sio
    for setup in PLUGINS:
        setup(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    api.mount(app, app[API_ROUTERS_KEY], version=app_version(), server_url=settings.public_url)
    _static_routes(app, settings.effective_web_root)
    return app
