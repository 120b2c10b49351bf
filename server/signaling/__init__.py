"""Socket.IO signaling: the ``/room`` namespace, one module per event family.

``setup(app)`` registers the namespace and a cleanup context that owns the
:class:`~server.rooms.manager.RoomManager` (and so every live room of this process).
"""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import DB_KEY, MEDIA_KEY, SETTINGS_KEY, SIO_KEY
from server.attendance.derive import Rules
from server.attendance.records import rebuild_after_end
from server.rooms.commands import MediaLost
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
    settings = app[SETTINGS_KEY]
    node_id = settings.node_id or f"{socket.gethostname()[:150]}:{settings.port}"
    svc.store = SqlRoomStore(app[DB_KEY], owner=node_id)
    svc.media = app.get(MEDIA_KEY)
    svc.manager = RoomManager(
        svc.store,
        SioBroadcaster(svc.sio, NAMESPACE),
        media=svc.media,
        clock=svc.clock,
        grace_s=settings.reconnect_grace_s,
        node_id=node_id,
        lease_ms=settings.room_lease_s * 1000,
        on_ended=functools.partial(rebuild_after_end, app[DB_KEY], Rules.from_settings(settings)),
    )
    await svc.manager.start()
    if svc.media is not None:
        svc.media.set_media_lost_handler(functools.partial(_media_lost, svc))
    try:
        yield
    finally:
        if svc.media is not None:
            svc.media.set_media_lost_handler(None)
        await svc.manager.stop()
        svc.conns.clear()


async def _media_lost(svc: Services, room_id: str, participant_id: str) -> None:
    """The engine dropped someone's media without a goodbye: their room decides (a present
    person gets a fresh connection; someone already gone, nothing)."""
    if svc.manager is None or not room_id.isdigit() or not participant_id.isdigit():
        return
    room = svc.manager.peek(int(room_id))
    if room is not None:
        room.post(MediaLost(person_id=int(participant_id)))


__all__ = ["CLOCK_KEY", "EVENTS", "NAMESPACE", "SIGNALING_KEY", "setup"]
