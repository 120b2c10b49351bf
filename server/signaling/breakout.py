"""Leaders' breakout events: split the room into small groups, move someone, bring everyone
back (server/rooms/breakouts.py validates and applies them in the room's task)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from server.rooms.breakouts import BreakoutCommand, BreakoutVerb
from server.rooms.ports import JSON

from .context import Conn, Event, EventTable, Services
from .models import Payload, PersonId
from .session import require_joined

# Shapes only (bounded so a payload costs little); sizes and who is in the room are the
# room's to check, so that a refusal names the field and is audited.
GROUPS_MAX = 12
GROUP_IDS_MAX = 12


class BreakoutOpen(Payload):
    max_bytes: ClassVar[int] = 4096
    groups: (
        Annotated[
            list[Annotated[list[PersonId], Field(max_length=GROUP_IDS_MAX)]],
            Field(min_length=1, max_length=GROUPS_MAX),
        ]
        | None
    ) = None
    size: Annotated[int, Field(ge=-100, le=100)] | None = None
    minutes: Annotated[int, Field(ge=-1000, le=1000)] | None = None


class BreakoutMove(Payload):
    person_id: PersonId
    group: Annotated[int, Field(ge=-100, le=100)] | None = None


class BreakoutClose(Payload):
    pass


async def _submit(svc: Services, conn: Conn, command: BreakoutCommand) -> JSON:
    await require_joined(svc, conn, command.verb.value)
    room = await svc.room_of(conn)
    return await room.submit(command)


async def open_(svc: Services, conn: Conn, p: BreakoutOpen) -> JSON:
    groups = None if p.groups is None else [[int(x) for x in g] for g in p.groups]
    command = BreakoutCommand(
        person_id=conn.person_id,
        sid=conn.sid,
        verb=BreakoutVerb.OPEN,
        groups=groups,
        size=p.size,
        minutes=p.minutes,
    )
    return await _submit(svc, conn, command)


async def move(svc: Services, conn: Conn, p: BreakoutMove) -> JSON:
    command = BreakoutCommand(
        person_id=conn.person_id,
        sid=conn.sid,
        verb=BreakoutVerb.MOVE,
        target=int(p.person_id),
        group=p.group,
    )
    return await _submit(svc, conn, command)


async def close(svc: Services, conn: Conn, p: BreakoutClose) -> JSON:
    command = BreakoutCommand(person_id=conn.person_id, sid=conn.sid, verb=BreakoutVerb.CLOSE)
    return await _submit(svc, conn, command)


EVENTS: EventTable = {
    BreakoutVerb.OPEN.value: Event(BreakoutOpen, open_),
    BreakoutVerb.MOVE.value: Event(BreakoutMove, move),
    BreakoutVerb.CLOSE.value: Event(BreakoutClose, close),
}
