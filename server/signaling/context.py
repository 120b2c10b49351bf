"""What every handler gets: the connection it serves and the services of this process."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import socketio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.domain import AuditOutcome, GroupRole
from server.errors import CircleError
from server.media.port import MediaEngine
from server.rooms.manager import RoomManager
from server.rooms.ports import JSON, Clock, RoomStore
from server.rooms.room import Room

from .models import Payload
from .ratelimit import EVENT_BURST, EVENT_RATE, EventBudget

if TYPE_CHECKING:
    from .cluster import ClusterLink
    from .removal import RemovalFanout

log = logging.getLogger(__name__)

NAMESPACE = "/room"


@dataclass(slots=True)
class Conn:
    """One Socket.IO connection, bound by its join token to a person, a session and a role."""

    sid: str
    person_id: int
    session_id: int
    role: GroupRole
    display_name: str = ""
    said_hello: bool = False
    agreement_ok: bool = False
    joined: bool = False
    budget: EventBudget = field(default_factory=EventBudget)


@dataclass
class Services:
    """Set when the app starts (the database and media exist only then)."""

    sio: socketio.AsyncServer
    secret: str
    clock: Clock
    manager: RoomManager | None = None
    store: RoomStore | None = None
    media: MediaEngine | None = None
    conns: dict[str, Conn] = field(default_factory=dict)
    event_rate: float = EVENT_RATE
    event_burst: float = EVENT_BURST
    sessionmaker: async_sessionmaker[AsyncSession] | None = None  # the shared database
    fanout: RemovalFanout | None = None  # removals to and from other processes (Redis)
    cluster: ClusterLink | None = None  # heartbeats, handovers, refreshes (Redis)
    draining: bool = False  # SIGTERM: not ready, no new connections, rooms handed over
    sockets_per_person: int = 2
    # One event budget per person in a room, shared by their connections.
    budgets: dict[tuple[int, int], EventBudget] = field(default_factory=dict)

    def budget_for(self, session_id: int, person_id: int) -> EventBudget:
        key = (session_id, person_id)
        budget = self.budgets.get(key)
        if budget is None:
            budget = EventBudget(
                rate=self.event_rate, burst=self.event_burst, tokens=self.event_burst
            )
            self.budgets[key] = budget
        return budget

    def conns_of(self, person_id: int, session_id: int | None = None) -> list[Conn]:
        """This process's connections of a person (in one session, or in any)."""
        return [
            c
            for c in self.conns.values()
            if c.person_id == person_id and (session_id is None or c.session_id == session_id)
        ]

    def forget(self, sid: str) -> Conn | None:
        """Drop a connection; its person's budget goes when their last connection does."""
        conn = self.conns.pop(sid, None)
        if conn is not None and not self.conns_of(conn.person_id, conn.session_id):
            self.budgets.pop((conn.session_id, conn.person_id), None)
        return conn

    def rooms(self) -> RoomManager:
        assert self.manager is not None, "signaling is not started"
        return self.manager

    def db(self) -> RoomStore:
        assert self.store is not None, "signaling is not started"
        return self.store

    async def room_of(self, conn: Conn) -> Room:
        return await self.rooms().get(conn.session_id)

    async def refuse(self, conn: Conn, event: str, exc: CircleError) -> CircleError:
        """Audit a refusal decided here (rooms audit their own) and hand it back to raise."""
        try:
            await self.db().audit(
                actor_id=conn.person_id,
                action=f"signal.{event}"[:80],
                target=f"session:{conn.session_id}",
                outcome=AuditOutcome.REFUSED,
                details={"code": exc.code, "message": exc.message},
            )
        except Exception:
            log.exception("audit write failed")
        return exc

    def sender(self, sid: str) -> Callable[[str, JSON], Awaitable[None]]:
        async def send(event: str, payload: JSON) -> None:
            await self.sio.emit(event, payload, to=sid, namespace=NAMESPACE)

        return send


Handler = Callable[[Services, Conn, Any], Awaitable[JSON]]


@dataclass(frozen=True, slots=True)
class Event:
    model: type[Payload]
    handler: Handler
    needs_hello: bool = True


EventTable = Mapping[str, Event]
