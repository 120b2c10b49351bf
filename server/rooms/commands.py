"""The typed commands a room's owner task takes from its queue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from server.domain import GroupRole
from server.media.port import SignalSender
from server.protocols.base import CommandName, Floor

from .ports import JSON


@dataclass(kw_only=True)
class RoomCommand:
    """``reply`` resolves with the ack body, or fails with a :class:`CircleError`."""

    reply: asyncio.Future[JSON] | None = field(default=None, repr=False)


@dataclass(kw_only=True)
class ByPerson(RoomCommand):
    person_id: int
    sid: str


@dataclass(kw_only=True)
class Join(ByPerson):
    display_name: str
    group_role: GroupRole
    agreement_accepted: bool = False  # of the series' current agreement (checked at admission)
    sender: SignalSender | None = field(default=None, repr=False)


@dataclass(kw_only=True)
class MediaLost(RoomCommand):
    """The media engine removed this person's connection (it died without a goodbye)."""

    person_id: int


@dataclass(kw_only=True)
class Leave(ByPerson):
    pass


@dataclass(kw_only=True)
class Evict(RoomCommand):
    """Take this person out of the room at once (withdrawn from the group, deactivated, or
    their role changed): out of the roster and the media, attendance noted with ``reason``."""

    person_id: int
    reason: str


@dataclass(kw_only=True)
class Disconnect(ByPerson):
    pass


# What ``protocol.command`` (and the hand events) may ask of the protocol: the protocol
# package's command words, not a list of its own.
Verb = CommandName


@dataclass(kw_only=True)
class Act(ByPerson):
    verb: Verb
    target: int | None = None
    seconds: int | None = None
    floor: Floor | None = None
    clear: bool = False


@dataclass(kw_only=True)
class SetMic(ByPerson):
    muted: bool


@dataclass(kw_only=True)
class SetCam(ByPerson):
    off: bool


@dataclass(kw_only=True)
class Note(ByPerson):
    text: str


@dataclass(kw_only=True)
class Tick(RoomCommand):
    """The phase timer fired for ``epoch``."""

    epoch: int


@dataclass(kw_only=True)
class GraceOver(RoomCommand):
    person_id: int
    token: int


@dataclass(kw_only=True)
class Stop(RoomCommand):
    """Save and stop. ``handover``: another process takes the room over now, so its present
    members are disconnected (and reconnect there), not gone."""

    handover: bool = False


@dataclass(kw_only=True)
class Ping(RoomCommand):
    """Changes nothing; answers once every command queued before it has been applied."""


@dataclass(kw_only=True)
class WindowClosed(RoomCommand):
    """The session's join window closed (server.lifecycle): a room nobody is in retires."""


@dataclass(kw_only=True)
class Refresh(RoomCommand):
    """The scheduler changed the session (cancelled, moved, closed, started): the room reads
    it again and follows."""
