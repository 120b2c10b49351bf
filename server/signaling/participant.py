"""A participant's own controls: hands, microphone, camera."""

from __future__ import annotations

from server.rooms.commands import Act, SetCam, SetMic, Verb
from server.rooms.ports import JSON

from .context import Conn, Event, EventTable, Services
from .models import CamSet, Empty, HandLower, MicSet
from .session import require_joined


async def raise_hand(svc: Services, conn: Conn, p: Empty) -> JSON:
    await require_joined(svc, conn, "hand.raise")
    room = await svc.room_of(conn)
    return await room.submit(Act(person_id=conn.person_id, sid=conn.sid, verb=Verb.RAISE_HAND))


async def lower_hand(svc: Services, conn: Conn, p: HandLower) -> JSON:
    await require_joined(svc, conn, "hand.lower")
    room = await svc.room_of(conn)
    target = None if p.person_id is None else int(p.person_id)
    return await room.submit(
        Act(person_id=conn.person_id, sid=conn.sid, verb=Verb.LOWER_HAND, target=target)
    )


async def set_mic(svc: Services, conn: Conn, p: MicSet) -> JSON:
    await require_joined(svc, conn, "mic.set")
    room = await svc.room_of(conn)
    return await room.submit(SetMic(person_id=conn.person_id, sid=conn.sid, muted=p.muted))


async def set_cam(svc: Services, conn: Conn, p: CamSet) -> JSON:
    await require_joined(svc, conn, "cam.set")
    room = await svc.room_of(conn)
    return await room.submit(SetCam(person_id=conn.person_id, sid=conn.sid, off=p.off))


EVENTS: EventTable = {
    "hand.raise": Event(Empty, raise_hand),
    "hand.lower": Event(HandLower, lower_hand),
    "mic.set": Event(MicSet, set_mic),
    "cam.set": Event(CamSet, set_cam),
}
