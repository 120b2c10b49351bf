"""Media negotiation events, forwarded to the media engine (``server/media/port.py``).

The room adds a participant to the engine when they join (handing it a sender for
``media.offer``), removes them when they leave or drop, and tells it who may speak and show
video on every change. Here only the client's answers and ICE candidates pass through, and
its request for a fresh connection when its own failed (``media.restart``), and how big it
shows each remote tile (``media.view``).
"""

from __future__ import annotations

from server.errors import Conflict, ErrorCode, PermissionDenied
from server.media.port import IceCandidate, MediaEngine, TileSize
from server.rooms.commands import MediaLost
from server.rooms.ports import JSON

from .context import Conn, Event, EventTable, Services
from .models import Empty, MediaAnswer, MediaCandidate, MediaView
from .session import require_joined


async def _engine(svc: Services, conn: Conn, event: str) -> MediaEngine:
    await require_joined(svc, conn, event)
    if svc.media is None:
        raise Conflict("Media is not enabled on this server.", code=ErrorCode.MEDIA_UNAVAILABLE)
    room = await svc.room_of(conn)
    if not room.is_present(conn.person_id, conn.sid):
        raise await svc.refuse(
            conn, event, PermissionDenied("You are not in this room.", code=ErrorCode.NOT_IN_ROOM)
        )
    return svc.media


async def answer(svc: Services, conn: Conn, p: MediaAnswer) -> JSON:
    engine = await _engine(svc, conn, "media.answer")
    await engine.handle_answer(str(conn.session_id), str(conn.person_id), p.sdp)
    return {}


async def candidate(svc: Services, conn: Conn, p: MediaCandidate) -> JSON:
    engine = await _engine(svc, conn, "media.candidate")
    await engine.handle_candidate(
        str(conn.session_id),
        str(conn.person_id),
        IceCandidate(p.candidate, p.sdpMid, p.sdpMLineIndex),
    )
    return {}


async def view(svc: Services, conn: Conn, p: MediaView) -> JSON:
    """How big the page shows each remote tile: the engine sends a small or hidden tile
    fewer temporal layers of that person's video (docs/media.md, "Tile sizes")."""
    engine = await _engine(svc, conn, "media.view")
    tiles: dict[str, TileSize] = {t.person_id: t.size for t in p.tiles}
    engine.set_view(str(conn.session_id), str(conn.person_id), tiles)
    return {}


async def restart(svc: Services, conn: Conn, p: Empty) -> JSON:
    """The client's media connection failed (ICE or DTLS) and did not heal: the room gives
    it a fresh one, as when the engine notices a lost connection itself (rights first, at
    most MEDIA_RESTARTS_MAX in MEDIA_RESTART_WINDOW_MS per person)."""
    await _engine(svc, conn, "media.restart")
    room = await svc.room_of(conn)
    return await room.submit(MediaLost(person_id=conn.person_id))


EVENTS: EventTable = {
    "media.answer": Event(MediaAnswer, answer),
    "media.candidate": Event(MediaCandidate, candidate),
    "media.restart": Event(Empty, restart),
    "media.view": Event(MediaView, view),
}
