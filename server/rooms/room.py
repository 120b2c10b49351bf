"""One live room: a single owner task applies typed commands from a queue.

Nothing else mutates a room. Every change is fanned out as a versioned snapshot, told to the
media engine (who may speak, who may show video), and persisted (room state, attendance,
session status in one transaction) before the command is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.domain import AttendanceKind, AuditOutcome, GroupRole, SessionStatus
from server.errors import (
    CircleError,
    Gone,
    NotFound,
    PermissionDenied,
    ProtocolError,
    UserError,
)
from server.media.port import MediaEngine, SignalSender
from server.protocols import base as pb
from server.protocols.codec import state_from_json, state_to_json
from server.protocols.engine import apply
from server.protocols.registry import spec_for

from .admission import check_open, check_place
from .capabilities import effective, session_role
from .commands import (
    Act,
    ByPerson,
    Disconnect,
    GraceOver,
    Join,
    Leave,
    MediaLost,
    Note,
    Ping,
    RoomCommand,
    SetCam,
    SetMic,
    Stop,
    Tick,
)
from .participants import Participant, Presence, media_rights, snapshot
from .ports import (
    JSON,
    OUTAGE_CRASH,
    OUTAGE_STOP,
    SERVER_OUTAGE,
    SERVER_STOPPED,
    AttendanceRecord,
    Clock,
    LeaseLost,
    RoomBroadcaster,
    RoomStore,
    SessionInfo,
)
from .timers import Timers
from .verbs import to_command

log = logging.getLogger(__name__)

MEDIA_RESTARTS_MAX = 5  # fresh media connections for one person ...
MEDIA_RESTART_WINDOW_MS = 5 * 60_000  # ... within this window, then the client must rejoin

ROOM_CODEC = 1


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
        down_since_ms: int | None = None,
    ) -> None:
        self.info = info
        self.spec = spec_for(info.protocol)
        self._store = store
        self._out = broadcaster
        self._media = media
        self._clock = clock
        self._grace_ms = int(grace_s * 1000)
        self._queue: asyncio.Queue[RoomCommand] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._timers = Timers(clock, self.post, f"room-{info.session_id}")
        self._armed: tuple[int, int | None] = (-1, None)
        self._status = info.status
        self._note_version = 0
        # The leaders' private note lives with the live room only: it is handed to leaders who
        # (re)join, never written to the database, and gone when the room closes.
        self._current_note: JSON | None = None
        self._last_snapshot: JSON = {}
        # changes pending in the current command
        self._dirty = False
        self._lease_lost = False  # a fenced save found another process running the room
        self._attendance: list[AttendanceRecord] = []
        self._new_status: SessionStatus | None = None
        self.participants: dict[int, Participant] = {}
        # Server outages (docs/attendance.md): when this process stopped the room gracefully,
        # and, restored after a crash, when its previous run was last alive.
        self._stopped_at: int | None = None
        self._down_since = down_since_ms
        self._saved_at: int | None = None
        self._outage: tuple[int, int | None, str] | None = None
        if restored is None:
            self.version = 0
            self.state = self.spec.initial(self.spec.config(info.settings), clock.now_ms())
            self._restored = False
        else:
            self.version, data = restored
            if data.get("room_codec") != ROOM_CODEC:
                raise ValueError(f"unknown room state codec {data.get('room_codec')!r}")
            self.state = state_from_json(data["protocol"])
            for item in data["participants"]:
                p = Participant.from_json(item)
                self.participants[p.person_id] = p
            self._note_version = int(data.get("note_version", 0))
            self._stopped_at = data.get("stopped_at_ms")
            self._saved_at = data.get("saved_at_ms")
            self._restored = True

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def room_id(self) -> str:
        return str(self.info.session_id)

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def start(self) -> None:
        if self._media is not None:
            await self._media_call(self._media.open_room(self.room_id))
        if self._restored:
            self._resume_after_restart()
        else:
            self._dirty = True
        await self._commit()
        if self._outage is not None:
            await self._store.record_outage(self.info.session_id, *self._outage)
            self._outage = None
        self._task = asyncio.create_task(self._run(), name=f"room-{self.room_id}")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            await self._queue.put(Stop())
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._timers.stop()
        if self._media is not None:
            await self._media_call(self._media.close_room(self.room_id))

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
                    await self._stopping()
                    break
                await self._one(command)
                if self._lease_lost:
                    log.error("room %s: another process runs it now; this copy stops", self.room_id)
                    break
                if self.state.ended and not any(p.in_room for p in self.participants.values()):
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
            await self._commit()
        except CircleError as exc:
            self._discard_pending()
            if isinstance(exc, LeaseLost):
                self._lease_lost = True
            if isinstance(exc, PermissionDenied | ProtocolError) and isinstance(command, ByPerson):
                await self._audit_refusal(command, exc)
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
            case Leave():
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
            case MediaLost(person_id=person_id):
                return await self._media_lost(person_id)
        raise UserError(f"unknown room command {type(command).__name__}")

    # --- handlers ---------------------------------------------------------------------------

    async def _join(self, c: Join) -> JSON:
        now = self._clock.now_ms()
        check_open(self.info, self._status, self.state.ended, c.group_role, now)
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
            self._timers.cancel(("grace", p.person_id))
            if self._media is not None:
                await self._media_call(
                    self._media.remove_participant(self.room_id, str(p.person_id))
                )
        p.presence = Presence.PRESENT
        p.sid = c.sid
        p.media_sent = None
        await self._out.attach(
            self.info.session_id, c.sid, leader=c.group_role is not GroupRole.MEMBER
        )
        if c.sender is not None:
            await self._connect_media(p, c.sender)
        self._record(p.person_id, kind, now)
        if self._status is SessionStatus.SCHEDULED:
            self._set_status(SessionStatus.OPEN)
        self._dirty = True
        if self._current_note is not None and c.group_role is not GroupRole.MEMBER:
            return {"note": self._current_note}  # the snapshot is added once committed
        return {}  # the snapshot is added once committed

    async def _leave(self, c: Leave) -> JSON:
        p = self._actor(c)
        await self._out.detach(self.info.session_id, c.sid)
        await self._gone(p, AttendanceKind.LEAVE, None)
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
        if self._media is not None:
            await self._media_call(self._media.remove_participant(self.room_id, str(p.person_id)))
        self._record(p.person_id, AttendanceKind.DISCONNECT, now)
        self._arm_grace(p, now)
        self._dirty = True
        return {}

    async def _grace_over(self, person_id: int, token: int) -> JSON:
        p = self.participants.get(person_id)
        if p is None or p.presence is not Presence.RECONNECTING or p.grace_token != token:
            return {}
        await self._gone(p, AttendanceKind.LEAVE, "did not reconnect within the grace period")
        return {}

    async def _gone(self, p: Participant, kind: AttendanceKind, reason: str | None) -> None:
        if self._media is not None and p.presence is Presence.PRESENT:
            await self._media_call(self._media.remove_participant(self.room_id, str(p.person_id)))
        self._timers.cancel(("grace", p.person_id))
        p.presence = Presence.LEFT
        p.sid = None
        p.sender = None
        self.state, _ = apply(self.spec, self.state, pb.Forget(p.person_id), self._clock.now_ms())
        self._record(p.person_id, kind, self._clock.now_ms(), reason)
        self._dirty = True

    def _act(self, c: Act) -> JSON:
        p = self._actor(c)
        actor = pb.Actor(p.person_id, effective(self.spec, self.state, p.person_id, p.group_role))
        self._apply(to_command(c, actor, self._resolve, self._first_hand_role()))
        return {}

    def _set_mic(self, c: SetMic) -> JSON:
        p = self._actor(c)
        if not c.muted:
            caps = effective(self.spec, self.state, p.person_id, p.group_role)
            if pb.Capability.SPEAK not in caps:
                raise ProtocolError(
                    f"Your microphone is off by the group's rule in phase {self.state.phase.value}.",
                    phase=self.state.phase.value,
                    command="mic.set",
                )
        if p.self_muted != c.muted:
            p.self_muted = c.muted
            self._dirty = True
        return {}

    def _set_cam(self, c: SetCam) -> JSON:
        p = self._actor(c)
        if not c.off:
            caps = effective(self.spec, self.state, p.person_id, p.group_role)
            if pb.Capability.SHOW_VIDEO not in caps:
                raise ProtocolError(
                    f"Video is off by the group's rule in phase {self.state.phase.value}.",
                    phase=self.state.phase.value,
                    command="cam.set",
                )
        if p.camera_off != c.off:
            p.camera_off = c.off
            self._dirty = True
        return {}

    async def _note(self, c: Note) -> JSON:
        p = self._actor(c)
        if pb.Capability.NOTE not in effective(self.spec, self.state, p.person_id, p.group_role):
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
            if (
                isinstance(effect, pb.PhaseChanged)
                and effect.old == self.spec.waiting
                and self._status in (SessionStatus.SCHEDULED, SessionStatus.OPEN)
            ):
                self._set_status(SessionStatus.LIVE)
            if isinstance(effect, pb.Ended):
                self._set_status(SessionStatus.ENDED)

    def _set_status(self, status: SessionStatus) -> None:
        if status is not self._status:
            log.info("session %s status %s -> %s", self.room_id, self._status, status)
            self._status = status
            self._new_status = status

    def _record(
        self, person_id: int, kind: AttendanceKind, at_ms: int, reason: str | None = None
    ) -> None:
        self._attendance.append(AttendanceRecord(person_id, kind, at_ms, reason))

    def _discard_pending(self) -> None:
        # Handlers validate before they mutate, so a refusal leaves nothing half-done; anything
        # recorded so far belongs to no change.
        self._attendance.clear()
        self._new_status = None
        self._dirty = False

    async def _stopping(self) -> None:
        """A graceful stop: whoever is here leaves at the stop time (reason ``server stopped``),
        keeping their place and roles for when the room is back, and the outage starts."""
        if self.state.ended:
            return
        now = self._clock.now_ms()
        for p in self.participants.values():
            if p.presence is Presence.PRESENT:
                p.presence = Presence.RECONNECTING
                p.sid = None
                p.sender = None
                self._record(p.person_id, AttendanceKind.LEAVE, now, SERVER_STOPPED)
        self._stopped_at = now
        self._dirty = True
        try:
            await self._commit()
            await self._store.record_outage(self.info.session_id, now, None, OUTAGE_STOP)
        except LeaseLost:
            log.warning("room %s: another process runs it now; its stop is not ours", self.room_id)
        except Exception:
            log.exception("room %s: recording the stop failed", self.room_id)

    def _resume_after_restart(self) -> None:
        now = self._clock.now_ms()
        if self._stopped_at is not None:  # stopped gracefully: the members' leave rows exist
            down = self._stopped_at
            self._outage = (down, now, OUTAGE_STOP)
        elif self._down_since is not None:  # a crash this process's start-up recorded
            down = self._down_since
        else:  # a crash, taken over by another process: from the last saved change
            down = self._saved_at if self._saved_at is not None else now
            self._outage = (down, now, OUTAGE_CRASH)
        self._stopped_at = None
        for p in self.participants.values():
            if p.presence is Presence.PRESENT:
                p.presence = Presence.RECONNECTING
                self._record(p.person_id, AttendanceKind.DISCONNECT, down, SERVER_OUTAGE)
            if p.presence is Presence.RECONNECTING:
                p.grace_token += 1
                self._arm_grace(p, now)
        self._dirty = True
        log.info(
            "room %s restored at version %d in phase %s",
            self.room_id,
            self.version,
            self.state.phase.value,
        )

    def _snapshot(self, now_ms: int) -> JSON:
        return snapshot(
            version=self.version,
            now_ms=now_ms,
            info=self.info,
            spec=self.spec,
            state=self.state,
            participants=self.participants,
        )

    def _persisted(self) -> JSON:
        data: JSON = {
            "room_codec": ROOM_CODEC,
            "protocol": state_to_json(self.state),
            "participants": [p.to_json() for p in self.participants.values()],
            "note_version": self._note_version,
            "saved_at_ms": self._clock.now_ms(),
        }
        if self._stopped_at is not None:
            data["stopped_at_ms"] = self._stopped_at
        return data

    async def _commit(self) -> None:
        """Fan out, tell media, persist: for whatever the last command changed."""
        if not self._dirty:
            return
        self._dirty = False
        self.version += 1
        now = self._clock.now_ms()
        snap = self._snapshot(now)
        self._last_snapshot = snap
        await self._out.snapshot(self.info.session_id, snap)
        if self.state.ended and self._new_status is SessionStatus.ENDED:
            await self._out.to_room(self.info.session_id, "room.ended", {"reason": "ended"})
        self._sync_media()
        self._rearm_phase_timer()
        attendance, self._attendance = self._attendance, []
        status, self._new_status = self._new_status, None
        await self._store.save(
            self.info.session_id,
            version=self.version,
            state=self._persisted(),
            attendance=attendance,
            status=status,
        )

    async def _audit_refusal(self, c: ByPerson, exc: CircleError) -> None:
        try:
            await self._store.audit(
                actor_id=c.person_id,
                action=f"room.{getattr(c, 'verb', type(c).__name__.lower())}",
                target=f"session:{self.info.session_id}",
                outcome=AuditOutcome.REFUSED,
                details={"code": exc.code, "message": exc.message, "phase": self.state.phase.value},
            )
        except Exception:
            log.exception("room %s: audit write failed", self.room_id)

    # --- media ------------------------------------------------------------------------------

    def _sync_media(self) -> None:
        if self._media is None:
            return
        for p in self.participants.values():
            if p.presence is Presence.PRESENT:
                self._tell_rights(p)

    def _tell_rights(self, p: Participant) -> None:
        """Tell media what this person may send now, if that changed since last told."""
        if self._media is None:
            return
        rights = media_rights(self.spec, self.state, p)
        if rights == p.media_sent:
            return
        try:
            self._media.set_capabilities(
                self.room_id, str(p.person_id), may_speak=rights[0], may_show_video=rights[1]
            )
        except Exception:
            log.exception("room %s: media set_capabilities failed", self.room_id)
            return
        p.media_sent = rights

    async def _media_lost(self, person_id: int) -> JSON:
        """The engine dropped a present person's media (ICE consent lost, a network change):
        give them a fresh connection (their client follows the new offer), at most
        MEDIA_RESTARTS_MAX times in MEDIA_RESTART_WINDOW_MS."""
        p = self.participants.get(person_id)
        if self._media is None or p is None or p.presence is not Presence.PRESENT:
            return {}
        if p.sender is None:
            return {}
        now = self._clock.now_ms()
        p.media_restarts = [t for t in p.media_restarts if now - t < MEDIA_RESTART_WINDOW_MS]
        if len(p.media_restarts) >= MEDIA_RESTARTS_MAX:
            log.warning(
                "room %s: media of %s keeps failing; not restarting it again for now",
                self.room_id,
                person_id,
            )
            return {}
        p.media_restarts.append(now)
        await self._connect_media(p, p.sender)
        return {}

    async def _connect_media(self, p: Participant, sender: SignalSender) -> None:
        """A fresh media connection for ``p``. Rights first: the new connection never
        forwards a packet it should not."""
        if self._media is None:
            return
        p.sender = sender
        p.media_sent = None
        self._tell_rights(p)
        await self._media_call(self._media.add_participant(self.room_id, str(p.person_id), sender))

    async def _media_call(self, call: Any) -> None:
        try:
            await call
        except Exception:
            log.exception("room %s: media call failed", self.room_id)

    # --- timers -----------------------------------------------------------------------------

    def _rearm_phase_timer(self) -> None:
        armed = (self.state.epoch, self.state.deadline_ms())
        if armed == self._armed:
            return
        self._armed = armed
        self._timers.cancel("phase")
        epoch, deadline = armed
        if deadline is not None and not self.state.overrun:
            self._timers.start("phase", deadline, Tick(epoch=epoch))

    def _arm_grace(self, p: Participant, now_ms: int) -> None:
        self._timers.cancel(("grace", p.person_id))
        self._timers.start(
            ("grace", p.person_id),
            now_ms + self._grace_ms,
            GraceOver(person_id=p.person_id, token=p.grace_token),
        )
