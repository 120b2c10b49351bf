"""In-memory fakes of the room ports (server.rooms.ports, server.media.port), for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from server.domain import AuditOutcome, ProtocolKind, SessionStatus
from server.errors import NotFound
from server.lifecycle import FINAL, Change, may, settled, target
from server.media.port import (
    IceCandidate,
    MediaLostHandler,
    MediaSocketStats,
    RoomMediaStats,
    SignalSender,
    TileSize,
)
from server.rooms.models import OutageCause
from server.rooms.ports import JSON, AttendanceRecord, SessionClosed, SessionInfo

CLOCK_START_MS = 1_700_000_000_000


class ManualClock:
    """A clock that moves only when told to; sleepers wake in deadline order."""

    def __init__(self, start_ms: int = CLOCK_START_MS) -> None:
        self._now = start_ms
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now_ms(self) -> int:
        return self._now

    async def sleep_until(self, at_ms: int) -> None:
        if at_ms <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (at_ms, next(self._seq), future))
        await future

    def advance(self, ms: int) -> None:
        """Move time on by ``ms`` and wake every sleeper whose time has come."""
        self._now += ms
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


@dataclass
class MemoryRoomStore:
    sessions: dict[int, SessionInfo] = field(default_factory=dict)
    states: dict[int, tuple[int, JSON]] = field(default_factory=dict)
    attendance: list[tuple[int, AttendanceRecord]] = field(default_factory=list)
    statuses: list[tuple[int, SessionStatus]] = field(default_factory=list)
    accepted: dict[tuple[int, int, str], int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    audits: list[JSON] = field(default_factory=list)
    saves: int = 0
    leases: dict[int, str] = field(default_factory=dict)  # session -> owner (no expiry here)
    outages: dict[tuple[int, int], tuple[int | None, OutageCause]] = field(default_factory=dict)
    current: dict[int, SessionStatus] = field(default_factory=dict)  # the status column

    def add_session(
        self,
        session_id: int,
        protocol: ProtocolKind = ProtocolKind.BALINT,
        *,
        capacity: int = 12,
        settings: JSON | None = None,
        status: SessionStatus = SessionStatus.OPEN,
        starts_at: datetime | None = None,
    ) -> SessionInfo:
        info = SessionInfo(
            session_id=session_id,
            group_id=1,
            series_id=1,
            protocol=protocol,
            capacity=capacity,
            settings=settings or {},
            status=status,
            starts_at=starts_at or datetime.fromtimestamp(CLOCK_START_MS / 1000, tz=UTC),
            lobby_minutes=10,
            duration_minutes=60,
            agreement_version="1",
            planned_sessions=8,
        )
        self.sessions[session_id] = info
        self.current[session_id] = status
        return info

    def set_status(self, session_id: int, status: SessionStatus) -> None:
        """Another writer (a coordinator, the scheduler) changed the session's status."""
        self.current[session_id] = status

    async def load_session(self, session_id: int) -> SessionInfo:
        try:
            info = self.sessions[session_id]
        except KeyError:
            raise NotFound(f"session {session_id} does not exist") from None
        return replace(info, status=self.current.get(session_id, info.status))

    async def load_state(self, session_id: int) -> tuple[int, JSON] | None:
        return self.states.get(session_id)

    async def save(
        self,
        session_id: int,
        *,
        version: int | None,
        state: JSON | None,
        attendance: list[AttendanceRecord],
        change: Change | None = None,
        final: bool = False,
    ) -> SessionStatus | None:
        """Like the SQL store: the status change is a compare-and-set; a save into a session
        cancelled or ended by someone else writes nothing."""
        self.saves += 1
        status = self.current.get(session_id, SessionStatus.OPEN)
        found: SessionStatus | None = None
        if change is not None:
            if may(change, status):
                found = target(change)
            elif settled(change, status) or status not in FINAL:
                found = status
            else:
                raise SessionClosed(session_id, status)
        elif not final and status in FINAL:
            raise SessionClosed(session_id, status)
        if found is not None and found is not status:
            self.current[session_id] = found
            self.statuses.append((session_id, found))
        if version is not None and state is not None:
            self.states[session_id] = (version, state)
        self.attendance.extend((session_id, a) for a in attendance)
        return found

    async def lease_holder(self, session_id: int) -> str | None:
        return self.leases.get(session_id)

    async def claim(
        self, session_id: int, owner: str, ttl_ms: int, *, dead: str | None = None
    ) -> str | None:
        holder = self.leases.get(session_id)
        if holder is None or holder in (owner, dead):
            self.leases[session_id] = owner
            return None
        return holder

    async def release(self, session_id: int, owner: str) -> None:
        if self.leases.get(session_id) == owner:
            del self.leases[session_id]

    async def recover(self, owner: str, lease_ms: int, now_ms: int) -> dict[int, int]:
        found: dict[int, int] = {}
        for session_id, holder in list(self.leases.items()):
            if holder != owner:
                continue
            del self.leases[session_id]
            state = self.states.get(session_id)
            if state is None or state[1]["protocol"].get("ended"):
                continue
            saved = state[1].get("saved_at_ms")
            found[session_id] = saved if isinstance(saved, int) else now_ms
            self.outages[(session_id, found[session_id])] = (now_ms, OutageCause.CRASH)
        return found

    async def record_outage(
        self, session_id: int, start_ms: int, end_ms: int | None, cause: OutageCause
    ) -> None:
        self.outages[(session_id, start_ms)] = (end_ms, cause)

    async def has_accepted(self, person_id: int, series_id: int, version: str) -> bool:
        return (person_id, series_id, version) in self.accepted

    async def accept_agreement(
        self, person_id: int, series_id: int, version: str, at_ms: int
    ) -> None:
        self.accepted.setdefault((person_id, series_id, version), at_ms)

    async def display_name(self, person_id: int) -> str:
        return self.names.get(person_id, f"Person {person_id}")

    async def audit(
        self,
        *,
        actor_id: int | None,
        action: str,
        target: str,
        outcome: AuditOutcome,
        details: JSON | None = None,
    ) -> None:
        self.audits.append(
            {
                "actor_id": actor_id,
                "action": action,
                "target": target,
                "outcome": outcome,
                "details": details or {},
            }
        )


@dataclass
class RecordingBroadcaster:
    """Keeps what a room sends, per session."""

    snapshots: list[tuple[int, JSON]] = field(default_factory=list)
    events: list[tuple[int, str, JSON]] = field(default_factory=list)
    attached: dict[str, tuple[int, bool]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)

    async def attach(self, session_id: int, sid: str, *, leader: bool) -> None:
        self.attached[sid] = (session_id, leader)

    async def detach(self, session_id: int, sid: str) -> None:
        self.attached.pop(sid, None)

    async def snapshot(self, session_id: int, payload: JSON) -> None:
        self.snapshots.append((session_id, payload))

    async def to_leaders(self, session_id: int, event: str, payload: JSON) -> None:
        self.events.append((session_id, event, payload))

    async def to_room(self, session_id: int, event: str, payload: JSON) -> None:
        self.events.append((session_id, event, payload))

    async def drop(self, sid: str, reason: str) -> None:
        self.dropped.append(sid)

    def last(self, session_id: int) -> JSON:
        return [s for k, s in self.snapshots if k == session_id][-1]


@dataclass
class FakeMediaEngine:
    """Records what rooms ask of media; implements server.media.port.MediaEngine."""

    rights: dict[tuple[str, str], tuple[bool, bool]] = field(default_factory=dict)
    # who receives each participant (None: everyone), as the room last said
    audiences: dict[tuple[str, str], frozenset[str] | None] = field(default_factory=dict)
    participants: dict[str, set[str]] = field(default_factory=dict)
    senders: dict[tuple[str, str], SignalSender] = field(default_factory=dict)
    answers: list[tuple[str, str, str]] = field(default_factory=list)
    candidates: list[tuple[str, str, IceCandidate]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    credentials_until: dict[str, float | None] = field(default_factory=dict)
    # each receiver's last reported view: publisher id -> tile size
    views: dict[tuple[str, str], dict[str, TileSize]] = field(default_factory=dict)
    lost_handler: MediaLostHandler | None = None

    def set_media_lost_handler(self, handler: MediaLostHandler | None) -> None:
        self.lost_handler = handler

    async def lose(self, room_id: str, participant_id: str) -> None:
        """What the real engine does when a connection dies without a goodbye."""
        self.calls.append(f"lost {participant_id}")
        # The engine's reaper keeps the rights it was given (remove_participant forgets them).
        self.participants.get(room_id, set()).discard(participant_id)
        self.senders.pop((room_id, participant_id), None)
        if self.lost_handler is not None:
            await self.lost_handler(room_id, participant_id)

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def open_room(self, room_id: str, credentials_until: float | None = None) -> None:
        self.participants.setdefault(room_id, set())
        self.credentials_until[room_id] = credentials_until

    async def close_room(self, room_id: str) -> None:
        self.participants.pop(room_id, None)

    async def add_participant(self, room_id: str, participant_id: str, send: SignalSender) -> None:
        self.calls.append(f"add {participant_id} {self.rights.get((room_id, participant_id))}")
        self.participants.setdefault(room_id, set()).add(participant_id)
        self.senders[(room_id, participant_id)] = send
        await send("media.offer", {"sdp": "v=0 fake", "type": "offer", "tracks": []})

    async def remove_participant(self, room_id: str, participant_id: str) -> None:
        # Like the real engine: a removed participant's rights are forgotten.
        self.participants.get(room_id, set()).discard(participant_id)
        self.senders.pop((room_id, participant_id), None)
        self.rights.pop((room_id, participant_id), None)
        self.audiences.pop((room_id, participant_id), None)

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None:
        self.answers.append((room_id, participant_id, sdp))

    async def handle_candidate(
        self, room_id: str, participant_id: str, candidate: IceCandidate
    ) -> None:
        self.candidates.append((room_id, participant_id, candidate))

    def set_capabilities(
        self,
        room_id: str,
        participant_id: str,
        *,
        may_speak: bool,
        may_show_video: bool,
        audience: frozenset[str] | None = None,
    ) -> None:
        self.rights[(room_id, participant_id)] = (may_speak, may_show_video)
        self.audiences[(room_id, participant_id)] = audience

    def set_view(self, room_id: str, participant_id: str, tiles: Mapping[str, TileSize]) -> None:
        self.views[(room_id, participant_id)] = dict(tiles)

    def stats(self, room_id: str) -> RoomMediaStats:
        return RoomMediaStats(room_id, len(self.participants.get(room_id, ())), 0, 0, 0, 0, 0, None)

    def socket_stats(self) -> tuple[MediaSocketStats, ...]:
        return ()  # connections with sockets of their own: nothing shared to count

    def may_speak(self, room_id: str, participant_id: str) -> bool:
        return self.rights.get((room_id, participant_id), (False, False))[0]
