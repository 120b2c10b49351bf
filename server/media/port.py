"""The port between rooms and the media engine.

Rooms call a :class:`MediaEngine`; they never touch aiortc objects. The engine talks back to a
participant's client only through the :data:`SignalSender` it was given on join, so signaling
(Socket.IO) and media stay apart and a second engine can be dropped in later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

# SignalSender(event, payload): deliver one server->client event (``media.offer``,
# ``media.speaker``) to the participant it belongs to.
SignalSender = Callable[[str, dict[str, Any]], Awaitable[None]]
# MediaLostHandler(room_id, participant_id): the engine removed a participant whose
# connection failed or closed without a goodbye (ICE consent lost, DTLS closed).
MediaLostHandler = Callable[[str, str], Awaitable[None]]

MAX_SDP_BYTES = 64_000
MAX_CANDIDATE_BYTES = 1_000


class TileSize(StrEnum):
    """How big a receiver's page shows one remote person's tile (the ``media.view`` word)."""

    LARGE = "large"
    SMALL = "small"
    HIDDEN = "hidden"


# The highest VP8 temporal layer a tile of each size needs (L1T3: layer 0 is a quarter of the
# frame rate, layers 0-1 half, 0-2 all; docs/media.md, "Tile sizes"). A hidden tile keeps
# layer 0 so that showing it again needs no key frame.
TILE_MAX_LAYER: Mapping[TileSize, int] = {
    TileSize.LARGE: 2,
    TileSize.SMALL: 1,
    TileSize.HIDDEN: 0,
}


@dataclass(frozen=True, slots=True)
class IceCandidate:
    """One trickled ICE candidate as the browser's ``RTCIceCandidate.toJSON()`` gives it.

    An empty ``candidate`` string means end-of-candidates.
    """

    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


@dataclass(frozen=True, slots=True)
class ParticipantMediaStats:
    participant_id: str
    connection_state: str
    may_speak: bool
    may_show_video: bool
    received_packets: int
    forwarded_packets: int
    dropped_packets: int


@dataclass(frozen=True, slots=True)
class RoomMediaStats:
    """Counters since the room's media was opened.

    ``forwarded_packets`` counts packets sent to subscribers (one per subscriber);
    ``dropped_packets`` counts packets a capability gate kept from a subscriber;
    ``retransmitted_packets`` counts packets resent to subscribers on their NACKs and
    ``nack_requests`` the packets asked of publishers again after a gap;
    ``policed_packets`` counts packets over a publisher's ingress budget (not forwarded);
    ``rtx_received`` counts publishers' RTX resends unwrapped and forwarded as media;
    ``layer_dropped_packets`` counts video packets a receiver did not get because its link
    carries fewer temporal layers, and ``layer_switches`` the changes of those layers.
    """

    room_id: str
    participants: int
    received_packets: int
    forwarded_packets: int
    forwarded_bytes: int
    dropped_packets: int
    keyframe_requests: int
    active_speaker: str | None
    per_participant: tuple[ParticipantMediaStats, ...] = field(default=())
    retransmitted_packets: int = 0
    nack_requests: int = 0
    policed_packets: int = 0
    rtx_received: int = 0
    layer_dropped_packets: int = 0
    layer_switches: int = 0


@dataclass(frozen=True, slots=True)
class MediaSocketStats:
    """Counters of one media worker's shared UDP socket (``udpmux.py``; every host address
    of the worker summed) since the worker's engine started; not per room: every room of the
    worker shares the socket.

    Of the datagrams that arrived, ``received`` went to a connection, ``unknown`` were
    claimed by none and ``filtered`` came from outside the allowed networks (both dropped,
    never answered); ``send_dropped`` counts datagrams the socket failed to send (a full
    send buffer, or the destination unreachable). ``worker`` is the worker's index (0 for
    the in-process engine).
    """

    worker: int
    received: int
    unknown: int
    filtered: int
    send_dropped: int


class MediaEngine(Protocol):
    """What a room needs from media. Errors are those of ``server/errors.py``."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def open_room(self, room_id: str, credentials_until: float | None = None) -> None:
        """Open a media room. ``credentials_until`` (epoch seconds, the end of the session's
        join window) bounds the TURN credentials handed to its participants."""
        ...

    async def close_room(self, room_id: str) -> None: ...

    async def add_participant(
        self, room_id: str, participant_id: str, send: SignalSender
    ) -> None: ...

    async def remove_participant(self, room_id: str, participant_id: str) -> None: ...

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None: ...

    async def handle_candidate(
        self, room_id: str, participant_id: str, candidate: IceCandidate
    ) -> None: ...

    def set_capabilities(
        self,
        room_id: str,
        participant_id: str,
        *,
        may_speak: bool,
        may_show_video: bool,
        audience: frozenset[str] | None = None,
    ) -> None:
        """What the participant may send, and to whom: ``audience`` names the participants
        who may receive their audio and video (``None``: everyone in the room; breakout
        groups narrow it, server/rooms/breakouts.py). Enforced at the forwarding point."""
        ...

    def set_view(self, room_id: str, participant_id: str, tiles: Mapping[str, TileSize]) -> None:
        """How big ``participant_id``'s page shows each publisher's tile (publisher id ->
        size; a publisher not named has no cap). Replaces the previous view; the receiver
        gets at most :data:`TILE_MAX_LAYER` of each layered video (ids of people who send
        none change nothing)."""
        ...

    def stats(self, room_id: str) -> RoomMediaStats: ...

    def socket_stats(self) -> tuple[MediaSocketStats, ...]:
        """One entry per media worker that has a shared UDP socket; none when connections
        have sockets of their own (``SfuSettings.udp_port`` None, or no host address)."""
        ...

    def set_media_lost_handler(self, handler: MediaLostHandler | None) -> None:
        """Who hears about participants whose media died without a goodbye (the rooms)."""
        ...
