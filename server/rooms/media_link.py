"""A room's link to the media engine: opening and closing its media room, connecting people,
telling the engine who may send what (the gate at the forwarding point), and restarting a
person's media when the engine lost it. Used by the room's owner task only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from typing import Any

from server.media.port import MediaEngine, SignalSender
from server.protocols.base import ProtocolSpec, ProtocolState

from .participants import Participant, Presence, media_rights

log = logging.getLogger("server.rooms.room")

MEDIA_RESTARTS_MAX = 5  # fresh media connections for one person ...
MEDIA_RESTART_WINDOW_MS = 5 * 60_000  # ... within this window, then the client must rejoin


class MediaLink:
    """``media`` None: a room without media (tests, signaling-only deployments)."""

    def __init__(
        self, media: MediaEngine | None, room_id: str, credentials_until: float | None = None
    ) -> None:
        self._media = media
        self._room_id = room_id
        self._credentials_until = credentials_until
        # Who receives whom while the room is split into breakout groups (person id -> the
        # participant ids who may receive them); empty: everyone receives everyone. Set by the
        # room's owner task before it gates (server/rooms/breakouts.py).
        self.audiences: dict[int, frozenset[str]] = {}

    @property
    def enabled(self) -> bool:
        return self._media is not None

    async def open(self) -> None:
        if self._media is not None:
            await self._call(self._media.open_room(self._room_id, self._credentials_until))

    async def close(self) -> None:
        if self._media is not None:
            await self._call(self._media.close_room(self._room_id))

    async def remove(self, p: Participant) -> None:
        if self._media is not None:
            await self._call(self._media.remove_participant(self._room_id, str(p.person_id)))

    def gate(self, spec: ProtocolSpec, state: ProtocolState, people: Iterable[Participant]) -> None:
        """Tell media what every present person may send now (before anyone is told)."""
        if self._media is None:
            return
        for p in people:
            if p.presence is Presence.PRESENT:
                self._tell_rights(spec, state, p)

    def _tell_rights(self, spec: ProtocolSpec, state: ProtocolState, p: Participant) -> None:
        """Tell media what this person may send now, if that changed since last told."""
        if self._media is None:
            return
        speak, video = media_rights(spec, state, p)
        rights = (speak, video, self.audiences.get(p.person_id))
        if rights == p.media_sent:
            return
        try:
            self._media.set_capabilities(
                self._room_id,
                str(p.person_id),
                may_speak=speak,
                may_show_video=video,
                audience=rights[2],
            )
        except Exception:
            log.exception("room %s: media set_capabilities failed", self._room_id)
            return
        p.media_sent = rights

    async def connect(
        self, spec: ProtocolSpec, state: ProtocolState, p: Participant, sender: SignalSender
    ) -> None:
        """A fresh media connection for ``p``. Rights first: the new connection never
        forwards a packet it should not."""
        if self._media is None:
            return
        p.sender = sender
        p.media_sent = None
        self._tell_rights(spec, state, p)
        await self._call(self._media.add_participant(self._room_id, str(p.person_id), sender))

    async def restart(
        self, spec: ProtocolSpec, state: ProtocolState, p: Participant, now_ms: int
    ) -> None:
        """The engine dropped a present person's media (ICE consent lost, a network change):
        give them a fresh connection (their client follows the new offer), at most
        MEDIA_RESTARTS_MAX times in MEDIA_RESTART_WINDOW_MS."""
        if self._media is None or p.presence is not Presence.PRESENT or p.sender is None:
            return
        p.media_restarts = [t for t in p.media_restarts if now_ms - t < MEDIA_RESTART_WINDOW_MS]
        if len(p.media_restarts) >= MEDIA_RESTARTS_MAX:
            log.warning(
                "room %s: media of %s keeps failing; not restarting it again for now",
                self._room_id,
                p.person_id,
            )
            return
        p.media_restarts.append(now_ms)
        await self.connect(spec, state, p, p.sender)

    async def _call(self, call: Awaitable[Any]) -> None:
        try:
            await call
        except Exception:
            log.exception("room %s: media call failed", self._room_id)
