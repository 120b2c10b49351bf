"""The application factory: aiohttp + python-socketio + database, wired by typed AppKeys."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from aiohttp import web
from sqlalchemy import text

from server import (
    api,
    attendance,
    coaching,
    metrics_http,
    notify,
    pathways,
    privacy,
    questionnaires,
    scheduling,
    scores,
    signaling,
)
from server.api import headers
from server.api.http import csrf_cookie_middleware, error_middleware
from server.appkeys import (
    API_ROUTERS_KEY,
    DB_KEY,
    LIMITER_KEY,
    MEDIA_KEY,
    SETTINGS_KEY,
    SIO_KEY,
)
from server.attendance.derive import Rules
from server.attendance.records import rebuild_after_end
from server.auth.ratelimit import LoginLimiter
from server.coaching.service import offer_after_workshop
from server.db import migrate
from server.db.engine import Database
from server.logs import request_id_middleware
from server.media import wiring as media_wiring
from server.notify import NOTIFIER_KEY
from server.notify.mailer import Notifier
from server.pages import session_page
from server.questionnaires import wiring as questionnaire_forms
from server.rooms.commands import MediaLost, Refresh
from server.rooms.manager import RoomManager
from server.rooms.store import SqlRoomStore
from server.scheduling.api import SERVICE_KEY
from server.scheduling.dispatcher import Fired
from server.settings import Settings
from server.signaling import CLOCK_KEY, SIGNALING_KEY
from server.signaling.broadcaster import SioBroadcaster
from server.signaling.cluster import ClusterLink, let_go
from server.signaling.context import NAMESPACE, Services
from server.signaling.edge import make_sio
from server.signaling.removal import RemovalFanout

log = logging.getLogger("circle.app")


async def _after_end(
    db: Database, rules: Rules, notifier: Notifier, public_url: str, session_id: int
) -> None:
    """An ended room has closed: its attendance is final; then a workshop's coaching offers
    (each mailed to its person)."""
    await rebuild_after_end(db, rules, session_id)
    await offer_after_workshop(db, session_id, notifier, public_url)


def _rooms_setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_rooms_ctx)


def _rooms_hear_scheduler_setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_rooms_hear_scheduler_ctx)


# Layers wired in with ``setup(app)``, in this order: the media engine's cleanup context starts
# before the rooms' and stops after them; the rooms start before the scheduler, which they hear.
PLUGINS: tuple[Callable[[web.Application], None], ...] = (
    notify.setup,
    media_wiring.setup,
    signaling.setup,
    _rooms_setup,
    scheduling.setup,
    _rooms_hear_scheduler_setup,
    privacy.setup,
    attendance.setup,
    scores.setup,
    questionnaires.setup,
    questionnaire_forms.setup,  # the answering side: after scheduling and the instruments
    coaching.setup,  # coaching calls after workshops: books through scheduling
    pathways.setup,  # listens to submitted questionnaires: after the answering side
    metrics_http.setup,  # GET /metrics (reads the rooms, the pool and the backlogs)
)


async def _rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    """The live rooms of this process: their store (fenced by this node's leases), their
    manager, the media engine's "media lost" reports, and the signaling services that serve
    them."""
    settings = app[SETTINGS_KEY]
    svc = app[SIGNALING_KEY]
    svc.clock = app.get(CLOCK_KEY) or svc.clock
    node_id = settings.node_id or f"{socket.gethostname()[:150]}:{settings.port}"
    svc.sessionmaker = app[DB_KEY].sessionmaker
    svc.store = SqlRoomStore(app[DB_KEY], owner=node_id)
    svc.media = app.get(MEDIA_KEY)
    if settings.redis_url is not None:  # a cluster: heartbeats, handovers, refreshes
        svc.cluster = ClusterLink(
            svc,
            settings.redis_url,
            settings.redis_channel,
            node_id,
            ttl_s=settings.heartbeat_ttl_s,
        )
        await svc.cluster.start()
    manager = RoomManager(
        svc.store,
        SioBroadcaster(svc.sio, NAMESPACE),
        media=svc.media,
        clock=svc.clock,
        grace_s=settings.reconnect_grace_s,
        node_id=node_id,
        lease_ms=settings.room_lease_s * 1000,
        on_ended=functools.partial(
            _after_end,
            app[DB_KEY],
            Rules.from_settings(settings),
            app[NOTIFIER_KEY],
            settings.public_url,
        ),
        peers=svc.cluster,
        handover_wait_ms=int(settings.handover_wait_s * 1000),
    )
    manager.on_handed_over = functools.partial(_let_go, svc)
    svc.manager = manager
    await manager.start()
    if svc.media is not None:
        svc.media.set_media_lost_handler(functools.partial(_media_lost, manager))
    if settings.redis_url is not None:  # removals from and to the other processes
        channel = f"{settings.redis_channel}:removals"
        svc.fanout = RemovalFanout(svc, settings.redis_url, channel, node_id)
        await svc.fanout.start()
    try:
        yield
    finally:
        if svc.fanout is not None:
            await svc.fanout.stop()
            svc.fanout = None
        if svc.media is not None:
            svc.media.set_media_lost_handler(None)
        await manager.stop()
        svc.conns.clear()
        if svc.cluster is not None:
            await svc.cluster.stop()
            svc.cluster = None


async def _let_go(svc: Services, session_id: int) -> None:
    await let_go(svc, session_id)


async def _media_lost(manager: RoomManager, room_id: str, participant_id: str) -> None:
    """The engine dropped someone's media without a goodbye: their room decides (a present
    person gets a fresh connection; someone already gone, nothing)."""
    if not room_id.isdigit() or not participant_id.isdigit():
        return
    room = manager.peek(int(room_id))
    if room is not None:
        room.post(MediaLost(person_id=int(participant_id)))


async def _rooms_hear_scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """A session's start, close, move or cancel reaches its room at once: here, or through
    Redis on the node that runs it (without Redis, a room elsewhere learns at its next save)."""
    svc = app[SIGNALING_KEY]
    service = app.get(SERVICE_KEY)
    if svc.manager is not None and service is not None:
        service.add_listener(functools.partial(_tell_room, svc))
    yield


async def _tell_room(svc: Services, fired: Fired) -> None:
    """Here, or (a cluster) on whichever process runs the room."""
    if fired.person_id is not None or svc.manager is None:
        return
    room = svc.manager.peek(fired.session_id)
    if room is not None:
        room.post(Refresh())
    elif svc.cluster is not None:
        await svc.cluster.refresh(fired.session_id)


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


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


class Readiness:
    """The last database probe behind ``/readyz``, so that the proxy's check (every second or
    faster from each proxy) costs a dictionary read, not two queries: a node whose event loop
    is busy still answers at once instead of timing the check out and being taken out of the
    ring with its rooms (deploy/haproxy.cfg). The database (reachable, migrated to this code's
    revision) is probed again at most every ``MAX_AGE_S`` (``FAILED_MAX_AGE_S`` after a failed
    probe), by one request at a time, bounded by ``PROBE_TIMEOUT_S``."""

    MAX_AGE_S = 5.0
    FAILED_MAX_AGE_S = 1.0  # a failed probe is tried again sooner: back in the ring sooner
    PROBE_TIMEOUT_S = 2.0

    def __init__(self) -> None:
        self.at = -1e9
        self.status = 503
        self.body: dict[str, object] = {"status": "unavailable", "database": False}
        self.lock = asyncio.Lock()

    def _fresh(self) -> bool:
        age = self.MAX_AGE_S if self.status == 200 else self.FAILED_MAX_AGE_S
        return time.monotonic() - self.at < age

    async def answer(self, db: Database) -> tuple[int, dict[str, object]]:
        if self._fresh():
            return self.status, self.body
        async with self.lock:
            if not self._fresh():  # not probed while we waited
                self.status, self.body = await self._probe(db)
                self.at = time.monotonic()
        return self.status, self.body

    async def _probe(self, db: Database) -> tuple[int, dict[str, object]]:
        async def query() -> str | None:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return await migrate.current_revision(db)

        try:
            current = await asyncio.wait_for(query(), self.PROBE_TIMEOUT_S)
        except Exception as exc:
            log.warning("readiness: database unreachable: %s", exc or type(exc).__name__)
            return 503, {"status": "unavailable", "database": False}
        head = migrate.head_revision()
        ok = current == head
        body: dict[str, object] = {
            "status": "ok" if ok else "unavailable",
            "database": True,
            "migrations": current,
        }
        if not ok:
            body["expected"] = head
        return (200 if ok else 503), body


READINESS_KEY = web.AppKey("readiness", Readiness)


async def readyz(request: web.Request) -> web.Response:
    if request.app[SIGNALING_KEY].draining:  # first thing on SIGTERM: out of the proxy's ring
        return web.json_response({"status": "draining"}, status=503)
    status, body = await request.app[READINESS_KEY].answer(request.app[DB_KEY])
    return web.json_response(body, status=status)


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
        middlewares=[request_id_middleware, csrf_cookie_middleware, error_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS_KEY] = settings
    headers.setup(app)
    app[LIMITER_KEY] = LoginLimiter(
        max_failures=settings.login_max_failures,
        window_s=settings.login_window_s,
        delay_max_s=settings.login_delay_max_s,
    )
    app[MEDIA_KEY] = None
    app[API_ROUTERS_KEY] = list(api.CORE_ROUTERS)
    app.cleanup_ctx.append(_database_ctx)
    sio = make_sio(settings)
    sio.attach(app)
    app[SIO_KEY] = sio
    for setup in PLUGINS:
        setup(app)
    app.router.add_get("/healthz", healthz)
    app[READINESS_KEY] = Readiness()
    app.router.add_get("/readyz", readyz)
    api.mount(app, app[API_ROUTERS_KEY], version=app_version(), server_url=settings.public_url)
    _static_routes(app, settings.effective_web_root)
    return app
