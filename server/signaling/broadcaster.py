"""The rooms' :class:`~server.rooms.ports.RoomBroadcaster`, on Socket.IO rooms.

Each live session is one Socket.IO room (``s<id>``), its leaders a second (``s<id>:leaders``).
A snapshot is the same payload for everyone, so python-socketio encodes it once per fan-out,
and with the Redis manager it reaches connections held by other processes as well.
"""

from __future__ import annotations

import socketio

from server.metrics import METRICS
from server.rooms.ports import JSON


def room_name(session_id: int) -> str:
    return f"s{session_id}"


def leaders_name(session_id: int) -> str:
    return f"s{session_id}:leaders"


class SioBroadcaster:
    def __init__(self, sio: socketio.AsyncServer, namespace: str) -> None:
        self._sio = sio
        self._ns = namespace

    async def attach(self, session_id: int, sid: str, *, leader: bool) -> None:
        await self._sio.enter_room(sid, room_name(session_id), namespace=self._ns)
        if leader:
            await self._sio.enter_room(sid, leaders_name(session_id), namespace=self._ns)

    async def detach(self, session_id: int, sid: str) -> None:
        await self._sio.leave_room(sid, room_name(session_id), namespace=self._ns)
        await self._sio.leave_room(sid, leaders_name(session_id), namespace=self._ns)

    async def snapshot(self, session_id: int, payload: JSON) -> None:
        room = room_name(session_id)
        await METRICS.timed_fanout(
            self._sio.emit("room.snapshot", payload, room=room, namespace=self._ns)
        )

    async def to_leaders(self, session_id: int, event: str, payload: JSON) -> None:
        await self._sio.emit(event, payload, room=leaders_name(session_id), namespace=self._ns)

    async def to_room(self, session_id: int, event: str, payload: JSON) -> None:
        await self._sio.emit(event, payload, room=room_name(session_id), namespace=self._ns)

    async def drop(self, sid: str, reason: str) -> None:
        await self._sio.emit("room.replaced", {"reason": reason}, to=sid, namespace=self._ns)
        await self._sio.disconnect(sid, namespace=self._ns)
