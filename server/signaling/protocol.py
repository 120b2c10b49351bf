"""Leaders' events: protocol commands and private notes."""

from __future__ import annotations

from server.rooms.commands import Act, Note
from server.rooms.ports import JSON

from .context import Conn, Event, EventTable, Services
from .models import LeaderNote, ProtocolCommand
from .session import require_joined


async def command(svc: Services, conn: Conn, p: ProtocolCommand) -> JSON:
    await require_joined(svc, conn, f"protocol.{p.command}")
    room = await svc.room_of(conn)
    return await room.submit(
        Act(
            person_id=conn.person_id,
            sid=conn.sid,
            verb=p.command,
            target=None if p.person_id is None else int(p.person_id),
            seconds=p.seconds,
            floor=p.floor,
            clear=p.clear,
        )
    )


async def note(svc: Services, conn: Conn, p: LeaderNote) -> JSON:
    await require_joined(svc, conn, "leader.note")
    room = await svc.room_of(conn)
    return await room.submit(Note(person_id=conn.person_id, sid=conn.sid, text=p.text))


EVENTS: EventTable = {
    "protocol.command": Event(ProtocolCommand, command),
    "leader.note": Event(LeaderNote, note),
}
