"""One live room: a single owner task applies typed commands from a queue.

Nothing else mutates a room. Every change is committed in this order: the media gate (who may
speak, who may show video), the save (room state, attendance, session status in one fenced
transaction), the broadcast of a versioned snapshot, the acknowledgement. A save that finds the
lease lost, or the session cancelled or ended under the room, stops the room before anyone is
told anything it may not write; a room empty past its join window ends the session and retires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.domain import AttendanceKind, GroupRole
from server.errors import CircleError, Gone, NotFound, PermissionDenied, ProtocolError, UserError
from server.lifecycle import Change, Window
from server.media.port import MediaEngine
from server.protocols import base as pb
from server.protocols.engine import apply
from server.protocols.registry import spec_for

from . import own_devices as own
from .admission import check_open, check_place, window_of
from .agreement import check_agreement
from .audits import audit_end, audit_refusal
from .breakouts import BreakoutCommand, BreakoutOver, Breakouts
from .capabilities import effective, session_role
from .commands import (
    Act,
    ByPerson,
    Disconnect,
    Evict,
    GraceOver,
    Join,
    Leave,
    MediaLost,
    Note,
    Ping,
    Refresh,
    RoomCommand,
    SetCam,
    SetMic,
    Stop,
    Tick,
    WindowClosed,
)
from .continuity import Continuity
from .life import SessionLife, tell_closed
from .media_link import MediaLink
from .outages import Outages
from .participants import Participant, Presence, persisted, snapshot
from .participants import restored as restore
from .ports import (
    JSON,
    AttendanceRecord,
    Clock,
    LeaseLost,
    RoomBroadcaster,
    RoomStore,
    SessionClosed,
    SessionInfo,
)
from .timers import RoomTimers
from .verbs import to_command

log = logging.getLogger(__name__)


class Room:
    def __init__(
        self,
        info: SessionInfo,
        *,
        store: RoomStore,
        broadcaster: RoomBroadcaster,
        media: MediaEngine | None,
        clock: Clock,
        grace_s: float,
        restored: tuple[int, JSON] | None = None,
    ) -> None:
        self.info = info
        self.spec = spec_for(info.protocol)
        self._store = store
        self._out = broadcaster
        # TURN credentials last no longer than the session's join window (issue 14, item 19).
        window = Window(info.starts_at, info.lobby_minutes, info.duration_minutes)
        self._media = MediaLink(media, str(info.session_id), window.closes_at.timestamp())
        self._clock = clock
        self._grace_ms = int(grace_s * 1000)
        self._queue: asyncio.Queue[RoomCommand] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._timers = RoomTimers(clock, self.post, f"room-{info.session_id}")
        self.life = SessionLife(info.session_id, info.status)
        self._note_version = 0
        # The leaders' private note lives with the live room only: it is handed to leaders who
        # (re)join, never written to the database, and gone when the room closes.
        self._current_note: JSON | None = None
        self._last_snapshot: JSON = {}
        # changes pending in the current command
        self._dirty = False
        self.lease_lost = False  # a fenced save found another process running the room (it stops)
        self._attendance: list[AttendanceRecord] = []
        self.participants: dict[int, Participant] = {}
        self.outages = Outages(clock, restored)  # docs/attendance.md
        if restored is None:
            self.version = 0
            config = self.spec.config(info.settings, info.duration_minutes)
            self.state = self.spec.initial(config, clock.now_ms())
            self._restored = False
        else:
            self.version, data = restored
            self.state, self.participants, self._note_version = restore(data)
            self._restored = True
        self.continuity = Continuity(self.spec, self.state, info, self._timers, store, broadcaster)
        self.breakouts = Breakouts(info, self.participants, self._timers, store, restored)

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def room_id(self) -> str:
        return str(self.info.session_id)

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def start(self) -> None:
        await self._media.open()
        if self._restored:
            self._resume_after_restart()
        else:
            self._dirty = True
        await self._commit()
        self._arm_window()
        self._task = asyncio.create_task(self._run(), name=f"room-{self.room_id}")

    async def stop(self, *, handover: bool = False) -> None:
        if self._task is not None and not self._task.done():
            await self._queue.put(Stop(handover=handover))
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._timers.stop()
        await self._media.close()

    async def wait_closed(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    async def submit(self, command: RoomCommand) -> JSON:
        """Queue ``command`` and wait for its outcome (raises the refusal, if any)."""
        if self.done:
            raise Gone("this room has closed")
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        command.reply = future
        await self._queue.put(command)
        return await future

    def post(self, command: RoomCommand) -> None:
        """Queue a command without waiting (timers)."""
        self._queue.put_nowait(command)

    def is_present(self, person_id: int, sid: str) -> bool:
        p = self.participants.get(person_id)
        return p is not None and p.presence is Presence.PRESENT and p.sid == sid

    # --- the owner loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while True:
                command = await self._queue.get()
                if isinstance(command, Stop):
                    if not self.state.ended:  # a graceful stop, or a handover to another node
                        stopped = self.outages.stop(self.participants, handover=command.handover)
                        self._attendance += stopped
                        self._dirty = True
                        await self.outages.record(self._store, self.info.session_id, self._commit())
                    break
                await self._one(command)
                if self.lease_lost:
                    log.error("room %s: another process runs it now; this copy stops", self.room_id)
                    break
                if self.life.closing is not None:
                    log.info("room %s closes: %s", self.room_id, self.life.closing)
                    break
                over = self.state.ended or self.life.final  # (or ended by the scheduler)
                if over and not any(p.in_room for p in self.participants.values()):
                    log.info("room %s closes: ended and empty", self.room_id)
                    break
        finally:
            while not self._queue.empty():
                left = self._queue.get_nowait()
                if left.reply is not None and not left.reply.done():
                    left.reply.set_exception(Gone("this room has closed"))

    async def _one(self, command: RoomCommand) -> None:
        reply = command.reply
        try:
            result = await self._handle(command)
            for c in self.continuity.review(self.state, self.participants, self._clock.now_ms()):
                self._apply(c)  # leader continuity (continuity.py)
            self._check_abandoned()
            await self._commit()
        except CircleError as exc:
            self._discard_pending()
            if isinstance(exc, LeaseLost):
                self.lease_lost = True
            elif isinstance(exc, SessionClosed):
                self.life.closed_under(exc)  # cancelled or ended by someone else: tell, stop
                await tell_closed(self._out, self.info.session_id, exc.code)
            if isinstance(exc, PermissionDenied | ProtocolError) and isinstance(command, ByPerson):
                await audit_refusal(
                    self._store, self.info.session_id, command, exc, self.state.phase.value
                )
            if reply is not None and not reply.done():
                reply.set_exception(exc)
            return
        except Exception as exc:  # a bug: keep the room alive, answer "internal"
            log.exception("room %s: %r failed", self.room_id, command)
            self._discard_pending()
            if reply is not None and not reply.done():
                reply.set_exception(exc)
            return
        if isinstance(command, Join) and "snapshot" not in result:
            result["snapshot"] = self._last_snapshot
        if reply is not None and not reply.done():
            reply.set_result(result)

    async def _handle(self, command: RoomCommand) -> JSON:
        match command:
            case Join():
                return await self._join(command)
            case Leave() | Evict():
                return await self._leave(command)
            case Disconnect():
                return await self._disconnect(command)
            case Act():
                return self._act(command)
            case SetMic():
                return self._set_mic(command)
            case SetCam():
                return self._set_cam(command)
            case Note():
                return await self._note(command)
            case Tick(epoch=epoch):
                self._apply(pb.TimerFired(epoch))
                return {}
            case GraceOver(person_id=person_id, token=token):
                return await self._grace_over(person_id, token)
            case Ping():
                return {"version": self.version}
            case MediaLost(person_id=person_id) if person_id in self.participants:
                p = self.participants[person_id]  # its media died: a fresh connection
                await self._media.restart(self.spec, self.state, p, self._clock.now_ms())
                return {}
            case MediaLost() | WindowClosed():
                return {}  # someone already gone; or _check_abandoned decides
            case Refresh():
                return await self._refresh()
            case BreakoutCommand() | BreakoutOver():  # server/rooms/breakouts.py
                self._dirty |= await self.breakouts.on(command, self.state, self._clock.now_ms())
                return {}
        raise UserError(f"unknown room command {type(command).__name__}")

    # --- handlers ---------------------------------------------------------------------------

    async def _join(self, c: Join) -> JSON:
        now = self._clock.now_ms()
        check_open(self.info, self.life.status, self.state.ended, c.group_role, now)
        check_agreement(self.info, c.agreement_accepted)
        p = self.participants.get(c.person_id)
        if p is not None and p.presence is Presence.PRESENT and p.sid == c.sid:
            return {"snapshot": self._snapshot(now)}  # the same connection asked twice
        if p is None or p.presence is Presence.LEFT:
            check_place(self.info, c.group_role, self.participants.values())
            kind = AttendanceKind.JOIN
            if p is None:
                p = Participant(c.person_id, c.display_name, c.group_role)
                self.participants[c.person_id] = p
            p.group_role = c.group_role
            p.display_name = c.display_name
        else:
            kind = AttendanceKind.RECONNECT
            if p.sid is not None and p.sid != c.sid:
                await self._out.detach(self.info.session_id, p.sid)
                await self._out.drop(p.sid, "replaced by a newer connection")
            self._timers.cancel_grace(p)
            await self._media.remove(p)
        p.presence = Presence.PRESENT
        p.sid = c.sid
        p.media_sent = None
        p.hosting = self.info.host_id == c.person_id  # leads this session only (self-help)
        await self._out.attach(
            self.info.session_id, c.sid, leader=c.group_role is not GroupRole.MEMBER
        )
        if c.sender is not None:
            await self._media.connect(self.spec, self.state, p, c.sender)
        self._record(p.person_id, kind, now)
        self.life.make(Change.FIRST_JOIN)
        self._dirty = True
        if self._current_note is not None and c.group_role is not GroupRole.MEMBER:
            return {"note": self._current_note}  # the snapshot is added once committed
        return {}  # the snapshot is added once committed

    async def _leave(self, c: Leave | Evict) -> JSON:
        """Out of the room: by the person's own leave, or evicted (withdrawn, deactivated)."""
        p = self._actor(c) if isinstance(c, Leave) else self.participants.get(c.person_id)
        if p is None or not p.in_room:
            return {}
        if p.sid is not None:
            await self._out.detach(self.info.session_id, p.sid)
        await self._gone(p, AttendanceKind.LEAVE, c.reason if isinstance(c, Evict) else None)
        return {}

    async def _disconnect(self, c: Disconnect) -> JSON:
        p = self.participants.get(c.person_id)
        if p is None or p.sid != c.sid or p.presence is not Presence.PRESENT:
            return {}  # a replaced or already-left connection
        now = self._clock.now_ms()
        p.presence = Presence.RECONNECTING
        p.sid = None
        p.sender = None
        p.grace_token += 1
        await self._media.remove(p)
        self._record(p.person_id, AttendanceKind.DISCONNECT, now)
        self._timers.grace(p, now + self._grace_ms)
        self._dirty = True
        return {}

    async def _grace_over(self, person_id: int, token: int) -> JSON:
        p = self.participants.get(person_id)
        if p is None or p.presence is not Presence.RECONNECTING or p.grace_token != token:
            return {}
        await self._gone(p, AttendanceKind.LEAVE, "did not reconnect within the grace period")
        return {}

    async def _gone(self, p: Participant, kind: AttendanceKind, reason: str | None) -> None:
        if p.presence is Presence.PRESENT:
            await self._media.remove(p)
        self._timers.cancel_grace(p)
        p.presence = Presence.LEFT
        p.sid = None
        p.sender = None
        self.state, _ = apply(self.spec, self.state, pb.Forget(p.person_id), self._clock.now_ms())
        self._record(p.person_id, kind, self._clock.now_ms(), reason)
        self._dirty = True

    def _act(self, c: Act) -> JSON:
        p = self._actor(c)
        actor = pb.Actor(p.person_id, self._caps(p))
        self._apply(to_command(c, actor, self._resolve, self._first_hand_role()))
        return {}

    def _set_mic(self, c: SetMic) -> JSON:
        p = self._actor(c)
        self._dirty |= own.set_mic(p, c.muted, self._caps(p), self.state.phase.value)
        return {}

    def _set_cam(self, c: SetCam) -> JSON:
        p = self._actor(c)
        self._dirty |= own.set_cam(p, c.off, self._caps(p), self.state.phase.value)
        return {}

    def _caps(self, p: Participant) -> frozenset[pb.Capability]:
        return effective(self.spec, self.state, p.person_id, p.group_role, hosting=p.hosting)

    async def _note(self, c: Note) -> JSON:
        p = self._actor(c)
        if pb.Capability.NOTE not in self._caps(p):
            raise PermissionDenied("Only the group's leaders keep notes.", command="leader.note")
        self._note_version += 1
        self._current_note = {
            "text": c.text,
            "version": self._note_version,
            "by": str(p.person_id),
        }
        await self._out.to_leaders(self.info.session_id, "room.note", self._current_note)
        return {"version": self._note_version}

    # --- helpers ----------------------------------------------------------------------------

    def _actor(self, c: ByPerson) -> Participant:
        p = self.participants.get(c.person_id)
        if p is None or p.presence is not Presence.PRESENT or p.sid != c.sid:
            raise PermissionDenied("You are not in this room.", code="not_in_room")
        return p

    def _resolve(self, person_id: int | None) -> tuple[int, pb.Role] | None:
        if person_id is None:
            return None
        p = self.participants.get(person_id)
        if p is None or not p.in_room:
            raise NotFound(f"person {person_id} is not in this room")
        return p.person_id, session_role(self.state, p.person_id, p.group_role)

    def _first_hand_role(self) -> pb.Role:
        if self.state.hands and (p := self.participants.get(self.state.hands[0])) is not None:
            return session_role(self.state, p.person_id, p.group_role)
        return pb.Role.MEMBER

    def _apply(self, command: pb.Command) -> None:
        now = self._clock.now_ms()
        new, effects = apply(self.spec, self.state, command, now)
        if new == self.state:
            return
        self.state = new
        self._dirty = True
        for effect in effects:
            if isinstance(effect, pb.PhaseChanged) and effect.old == self.spec.waiting:
                self.life.make(Change.START)
            if isinstance(effect, pb.Ended):
                self.life.make(Change.END)

    def _check_abandoned(self) -> None:
        occupied = any(p.in_room for p in self.participants.values())
        if not self.state.ended and self.life.abandon_if_due(
            window_of(self.info), self._clock.now_ms(), occupied=occupied
        ):
            self._dirty = True

    async def _refresh(self) -> JSON:
        info = await self._store.load_session(self.info.session_id)
        old, self.info = self.info, info
        if self.life.refreshed(old, info, ended=self.state.ended):
            self._arm_window()
        if self.life.closing is not None:
            self._dirty = True
        return {}

    def _record(self, person: int, kind: AttendanceKind, at: int, why: str | None = None) -> None:
        self._attendance.append(AttendanceRecord(person, kind, at, why))

    def _discard_pending(self) -> None:
        # Handlers validate before they mutate: what was recorded so far belongs to no change.
        self._attendance.clear()
        self.life.change = None
        self._dirty = False

    def _resume_after_restart(self) -> None:
        now = self._clock.now_ms()
        self._attendance += self.outages.resume(self.participants)
        for p in self.participants.values():
            if p.presence is Presence.RECONNECTING:
                p.grace_token += 1
                self._timers.grace(p, now + self._grace_ms)
        self._dirty = True
        log.info("room %s restored: version %d, %s", self.room_id, self.version, self.state.phase)

    def _snapshot(self, now_ms: int) -> JSON:
        return snapshot(
            version=self.version,
            now_ms=now_ms,
            info=self.info,
            spec=self.spec,
            state=self.state,
            participants=self.participants,
        ) | self.breakouts.view(self.state, now_ms)

    async def _commit(self) -> None:
        """Gate, save, broadcast (the acknowledgement follows): for whatever the last command
        changed. Media rights are cut before anyone is told; nothing is told that could not be
        written (a save that fails raises, and the clients hear nothing of it)."""
        if not self._dirty:
            return
        self._dirty = False
        self._media.audiences = self.breakouts.follow(self.state)
        self._media.gate(self.spec, self.state, self.participants.values())
        self.version += 1
        attendance, self._attendance = self._attendance, []
        change = self.life.take_change()
        found = await self._store.save(
            self.info.session_id,
            version=self.version,
            state=self.breakouts.stamp(
                self.outages.stamp(persisted(self.state, self.participants, self._note_version))
            ),
            attendance=attendance,
            change=change,
            final=self.life.final,
        )
        self.life.saved(found)
        now = self._clock.now_ms()
        snap = self._snapshot(now)
        self._last_snapshot = snap
        await self._out.snapshot(self.info.session_id, snap)
        await self.continuity.announce(self.state)
        if self.state.ended and change is Change.END:
            await self._out.to_room(self.info.session_id, "room.ended", {"reason": "ended"})
        if self.life.closing is not None:
            await tell_closed(self._out, self.info.session_id, self.life.closing)
            if change is Change.ABANDON:
                await audit_end(self._store, self.info.session_id, self.life.closing)
        self._timers.phase(self.state)

    def _arm_window(self) -> None:
        self._timers.window(int(window_of(self.info).closes_at.timestamp() * 1000))
