"""Socket.IO signaling: the ``/room`` namespace, one module per event family.

``setup(app)`` registers the namespace. The rooms it serves are wired by the app
(``server.app``), which hands their manager and store to :class:`Services` when it starts.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import REMOVER_KEY, SETTINGS_KEY, SIO_KEY
from server.domain import RemovalReason
from server.rooms.ports import Clock, SystemClock

from . import media, participant, protocol, session
from .cluster import let_go
from .context import NAMESPACE, EventTable, Services
from .edge import PACKET_MAX_CHARS, EdgeServer
from .namespace import RoomNamespace
from .removal import remove_from_rooms

# Tests may put a clock here before the app starts (see tests/signaling).
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("circle.signaling.clock")
SIGNALING_KEY = web.AppKey("circle.signaling", Services)

EVENTS: EventTable = {
    **session.EVENTS,
    **participant.EVENTS,
    **protocol.EVENTS,
    **media.EVENTS,
}

# The edge answers bigger packets too_large without decoding them: every event fits below it.
assert all(e.model.max_bytes + 1024 < PACKET_MAX_CHARS for e in EVENTS.values())


def setup(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    sio = app[SIO_KEY]
    services = Services(
        sio=sio,
        secret=settings.secret_key,
        clock=SystemClock(),
        event_rate=settings.room_event_rate,
        event_burst=float(settings.room_event_burst),
        sockets_per_person=settings.room_sockets_per_person,
    )
    namespace = RoomNamespace(services, EVENTS)
    sio.register_namespace(namespace)
    if isinstance(sio, EdgeServer):
        sio.packet_guard = namespace
    app[SIGNALING_KEY] = services

    async def remove(person_id: int, session_ids: list[int] | None, reason: RemovalReason) -> None:
        await remove_from_rooms(services, person_id, session_ids, reason)

    app[REMOVER_KEY] = remove
    app.on_shutdown.append(_close_connections)


async def _close_connections(app: web.Application) -> None:
    """On shutdown, first stop the rooms (their state is persisted as it stands), then close
    every connection at the Engine.IO level, so clients see a transport close and reconnect
    (a Socket.IO disconnect would tell them not to). Without this aiohttp would wait for the
    open websockets until its shutdown timeout."""
    svc = app[SIGNALING_KEY]
    if svc.manager is not None and svc.cluster is not None:
        # A cluster: the rooms go on elsewhere (a drain did this already, see drain.py).
        await svc.manager.hand_over_all()
        await let_go(svc)
    if svc.manager is not None:
        await svc.manager.stop()
    svc.conns.clear()
    if svc.sio.eio.sockets:  # (python-engineio fails on an empty set)
        await svc.sio.eio.disconnect()


__all__ = ["CLOCK_KEY", "EVENTS", "NAMESPACE", "SIGNALING_KEY", "setup"]
