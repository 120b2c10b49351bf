"""Socket.IO signaling: the ``/room`` namespace, one module per event family.

``setup(app)`` registers the namespace and a cleanup context that owns the
:class:`~server.rooms.manager.RoomManager` (and so every live room of this process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import DB_KEY, MEDIA_KEY, SETTINGS_KEY, SIO_KEY
from server.rooms.manager import RoomManager
from server.rooms.ports import Clock, SystemClock
from server.rooms.store import SqlRoomStore

from . import media, participant, protocol, session
from .broadcaster import SioBroadcaster
from .context import NAMESPACE, EventTable, Services
from .namespace import RoomNamespace

# Tests may put a clock here before the app starts (see tests/signaling).
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("circle.signaling.clock")
SIGNALING_KEY = web.AppKey("circle.signaling", Services)

EVENTS: EventTable = {
    **session.EVENTS,
    **participant.EVENTS,
    **protocol.EVENTS,
    **media.EVENTS,
}


def setup(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    sio = app[SIO_KEY]
    services = Services(
        sio=sio,
        secret=settings.secret_key,
        clock=SystemClock(),
        event_rate=settings.room_event_rate,
        event_burst=float(settings.room_event_burst),
    )
    sio.register_namespace(RoomNamespace(services, EVENTS))
    app[SIGNALING_KEY] = services
    app.cleanup_ctx.append(_rooms_ctx)
    app.on_shutdown.append(_close_connections)


async def _close_connections(app: web.Application) -> None:
    """On shutdown, first stop the rooms (their state is persisted as it stands), then close
    every connection at the Engine.IO level, so clients see a transport close and reconnect
    (a Socket.IO disconnect would tell them not to). Without this aiohttp would wait for the
    open websockets until its shutdown timeout."""
    svc = app[SIGNALING_KEY]
    if svc.manager is not None:
        await svc.manager.stop()
    svc.conns.clear()
    if svc.sio.eio.sockets:  # (python-engineio fails on an empty set)
        await svc.sio.eio.disconnect()


async def _rooms_ctx(app: web.Application) -> AsyncIterator[None]:
    svc = app[SIGNALING_KEY]
    svc.clock = app.get(CLOCK_KEY) or svc.clock
    svc.store = SqlRoomStore(app[DB_KEY])
    svc.media = app.get(MEDIA_KEY)
    svc.manager = RoomManager(
        svc.store,
        SioBroadcaster(svc.sio, NAMESPACE),
        media=svc.media,
        clock=svc.clock,
        grace_s=app[SETTINGS_KEY].reconnect_grace_s,
    )
    await svc.manager.start()
    try:
        yield
    finally:
        await svc.manager.stop()
        svc.conns.clear()


__all__ = ["CLOCK_KEY", "EVENTS", "NAMESPACE", "SIGNALING_KEY", "setup"]
