"""The aiortc selective forwarding unit: the :class:`~server.media.port.MediaEngine` rooms use.

One peer connection per participant carries their upstream and all downstreams. Incoming
RTP is forwarded without decoding (``forwarding.py``); the capability gate sits at that
forwarding point. Engine operations on one room are serialised by the room's lock; the
``SignalSender`` given on join must not call back into the engine synchronously (it queues
or emits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection

from server.errors import NotFound
from server.media.forwarding import video_bitrate_cap
from server.media.hostsockets import HostSockets
from server.media.ice import (
    IceSettings,
    client_ice_config,
    credential_ttl,
    ice_servers_for,
    local_host_addresses,
    rtc_configuration,
)
from server.media.participant import MediaParticipant, address_filter
from server.media.port import (
    TILE_MAX_LAYER,
    IceCandidate,
    MediaLostHandler,
    MediaSocketStats,
    ParticipantMediaStats,
    RoomMediaStats,
    SignalSender,
    TileSize,
)
from server.media.speaker import SpeakerDetector, SpeakerTask

logger = logging.getLogger(__name__)

MediaLost = MediaLostHandler


@dataclass(frozen=True, slots=True)
class SfuSettings:
    ice: IceSettings = field(default_factory=IceSettings)
    speaker_interval_s: float = 0.25
    # Every connection's host candidates on one shared UDP socket per host address
    # (``udpmux.py``) on this port; 0: one the OS picks. None: a socket per connection
    # (aioice's own, as before the shared socket).
    udp_port: int | None = 0
    # The shared socket sends one read burst's copies with one sendmmsg (through ctypes)
    # instead of a sendto each: no faster here (docs/media.md, "One socket per worker").
    sendmmsg: bool = False
    # Copies to a learnt remote leave through a socket connected to it on the same port
    # (SO_REUSEPORT; udpmux.py), where the kernel allows it: a cheaper system call per copy.
    connected_sends: bool = True


@dataclass(slots=True)
class Capabilities:
    may_speak: bool = True
    may_show_video: bool = True
    audience: frozenset[str] | None = None  # who receives this participant (None: everyone)


class MediaRoom:
    def __init__(
        self, room_id: str, speaker_interval_s: float, credentials_until: float | None = None
    ) -> None:
        self.id = room_id
        self.credentials_until = credentials_until  # epoch seconds; TURN credentials end
        self.lock = asyncio.Lock()
        self.participants: dict[str, MediaParticipant] = {}
        self.capabilities: dict[str, Capabilities] = {}
        self.detector = SpeakerDetector()
        self.speaker = SpeakerTask(self.detector, self._publish_speaker, speaker_interval_s)
        # counters of participants who already left
        self.gone_received = 0
        self.gone_forwarded = 0
        self.gone_bytes = 0
        self.gone_dropped = 0
        self.gone_keyframes = 0
        self.gone_retransmitted = 0
        self.gone_nacks = 0
        self.gone_policed = 0
        self.gone_rtx_received = 0
        self.gone_layer_dropped = 0
        self.gone_layer_switches = 0

    async def _publish_speaker(self, speaker: str | None) -> None:
        caps = self.capabilities.get(speaker) if speaker is not None else None
        audience = caps.audience if caps is not None else None
        for p in list(self.participants.values()):
            # Not heard there (another breakout group): not named there either.
            heard = audience is None or p.id in audience or p.id == speaker
            with contextlib.suppress(Exception):
                await p.send("media.speaker", {"person_id": speaker if heard else None})

    def account_gone(self, p: MediaParticipant) -> None:
        for up in p.up.values():
            self.gone_received += up.received
            self.gone_forwarded += up.forwarded
            self.gone_bytes += up.forwarded_bytes
            self.gone_dropped += up.dropped
            self.gone_keyframes += up.keyframe_requests
            self.gone_retransmitted += up.retransmitted
            self.gone_nacks += up.nacks_sent
            self.gone_policed += up.policed
            self.gone_rtx_received += up.rtx_received
        dropped, switches = p.layer_counts()
        self.gone_layer_dropped += dropped
        self.gone_layer_switches += switches


class AiortcMediaEngine:
    """``MediaEngine`` on aiortc with encoded passthrough. ``on_media_lost(room, person)`` is
    called (from the engine's reaper task) when a participant's connection failed or closed
    without a goodbye; the participant is already removed from the media by then."""

    def __init__(
        self,
        settings: SfuSettings | None = None,
        *,
        on_media_lost: MediaLost | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or SfuSettings()
        self._rooms: dict[str, MediaRoom] = {}
        self._on_media_lost = on_media_lost
        self._now = now
        self._lost: asyncio.Queue[tuple[str, str, MediaParticipant]] | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._gather_addresses: list[str] = []
        self.host_sockets: HostSockets | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._reaper is not None:
            return
        ice = self.settings.ice
        self._gather_addresses = local_host_addresses(ice.allowed_networks, ice.host_addresses)
        if not self._gather_addresses and not ice.server_uses_turn:
            logger.warning(
                "media: no interface address is allowed for ICE (public addresses only unless "
                "media_allowed_networks or media_host_addresses say otherwise): media "
                "connections fail unless the server uses TURN"
            )
        if self.settings.udp_port is not None and self._gather_addresses:
            sockets = HostSockets(
                self._gather_addresses,
                self.settings.udp_port,
                address_filter(ice.allowed_networks),
                use_sendmmsg=self.settings.sendmmsg,
                connect_peers=self.settings.connected_sends,
            )
            await sockets.start()  # an OSError (port taken) stops the start: say so early
            self.host_sockets = sockets
        self._lost = asyncio.Queue()
        self._reaper = asyncio.create_task(self._reap(), name="media-reaper")

    async def stop(self) -> None:
        for room_id in list(self._rooms):
            await self.close_room(room_id)
        task, self._reaper = self._reaper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        sockets, self.host_sockets = self.host_sockets, None
        if sockets is not None:
            sockets.stop()

    async def open_room(self, room_id: str, credentials_until: float | None = None) -> None:
        if room_id in self._rooms:
            return
        room = MediaRoom(room_id, self.settings.speaker_interval_s, credentials_until)
        self._rooms[room_id] = room
        room.speaker.start()

    async def close_room(self, room_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        async with room.lock:
            for pid in list(room.participants):
                await self._remove(room, pid, renegotiate=False)
            await room.speaker.stop()
            self._rooms.pop(room_id, None)

    # --- participants --------------------------------------------------------------------
    async def add_participant(self, room_id: str, participant_id: str, send: SignalSender) -> None:
        room = self._room(room_id)
        async with room.lock:
            if participant_id in room.participants:  # a reconnect replaces the old connection
                await self._remove(room, participant_id, renegotiate=False)
            ice = self.settings.ice

            def ttl() -> int:
                return credential_ttl(ice.turn_ttl_s, room.credentials_until, self._now())

            servers = (
                ice_servers_for(ice, participant_id, self._now(), ttl())
                if ice.server_uses_turn
                else []
            )
            pc = RTCPeerConnection(rtc_configuration(servers, relay_only=ice.relay_only))
            newcomer = MediaParticipant(
                room_id=room_id,
                participant_id=participant_id,
                send=send,
                pc=pc,
                gather_addresses=self._gather_addresses,
                host_sockets=self.host_sockets,
                allowed_networks=ice.allowed_networks,
                offer_extras=lambda: {
                    "ice": client_ice_config(ice, participant_id, self._now(), ttl())
                },
                on_level=room.detector.observe,
                on_lost=self._lost_hook,
            )
            caps = room.capabilities.setdefault(participant_id, Capabilities())
            newcomer.set_capabilities(
                may_speak=caps.may_speak, may_show_video=caps.may_show_video, audience=caps.audience
            )
            others = list(room.participants.values())
            room.participants[participant_id] = newcomer
            for other in others:
                other.attach_publisher(newcomer)
                newcomer.attach_publisher(other)
            try:
                await newcomer.negotiate()
            except Exception:
                await self._remove(room, participant_id, renegotiate=False)
                raise
            self._cap_bitrates(room)
            for other in others:
                await self._negotiate(other)

    async def remove_participant(self, room_id: str, participant_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        async with room.lock:
            await self._remove(room, participant_id, renegotiate=True)
            room.capabilities.pop(participant_id, None)

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None:
        room = self._room(room_id)
        async with room.lock:
            await self._participant(room, participant_id).apply_answer(sdp)

    async def handle_candidate(
        self, room_id: str, participant_id: str, candidate: IceCandidate
    ) -> None:
        room = self._room(room_id)
        await self._participant(room, participant_id).add_candidate(candidate)

    def set_capabilities(
        self,
        room_id: str,
        participant_id: str,
        *,
        may_speak: bool,
        may_show_video: bool,
        audience: frozenset[str] | None = None,
    ) -> None:
        room = self._room(room_id)
        room.capabilities[participant_id] = Capabilities(may_speak, may_show_video, audience)
        p = room.participants.get(participant_id)
        if p is not None:
            p.set_capabilities(
                may_speak=may_speak, may_show_video=may_show_video, audience=audience
            )
        if not may_speak or audience is not None:  # (a split: speakers are found afresh)
            room.detector.forget(participant_id)

    def set_view(self, room_id: str, participant_id: str, tiles: Mapping[str, TileSize]) -> None:
        p = self._room(room_id).participants.get(participant_id)
        if p is None:
            return  # not connected (yet): the page reports its view again on every offer
        link = p.link
        for publisher_id in set(link.tile_caps) - set(tiles):
            link.set_tile_cap(publisher_id, None)
        for publisher_id, size in tiles.items():
            link.set_tile_cap(publisher_id, TILE_MAX_LAYER[size])

    def stats(self, room_id: str) -> RoomMediaStats:
        room = self._room(room_id)
        per: list[ParticipantMediaStats] = []
        received, forwarded, fbytes, dropped, kf = (
            room.gone_received,
            room.gone_forwarded,
            room.gone_bytes,
            room.gone_dropped,
            room.gone_keyframes,
        )
        rtx, nacks, policed = room.gone_retransmitted, room.gone_nacks, room.gone_policed
        rtx_in = room.gone_rtx_received
        layer_dropped, layer_switches = room.gone_layer_dropped, room.gone_layer_switches
        for p in room.participants.values():
            caps = room.capabilities.get(p.id, Capabilities())
            ups = p.up.values()
            p_recv = sum(u.received for u in ups)
            p_fwd = sum(u.forwarded for u in ups)
            p_drop = sum(u.dropped for u in ups)
            received += p_recv
            forwarded += p_fwd
            dropped += p_drop
            fbytes += sum(u.forwarded_bytes for u in ups)
            kf += sum(u.keyframe_requests for u in ups)
            rtx += sum(u.retransmitted for u in ups)
            nacks += sum(u.nacks_sent for u in ups)
            policed += sum(u.policed for u in ups)
            rtx_in += sum(u.rtx_received for u in ups)
            dropped_l, switches_l = p.layer_counts()
            layer_dropped += dropped_l
            layer_switches += switches_l
            per.append(
                ParticipantMediaStats(
                    participant_id=p.id,
                    connection_state=p.pc.connectionState,
                    may_speak=caps.may_speak,
                    may_show_video=caps.may_show_video,
                    received_packets=p_recv,
                    forwarded_packets=p_fwd,
                    dropped_packets=p_drop,
                )
            )
        return RoomMediaStats(
            room_id=room_id,
            participants=len(room.participants),
            received_packets=received,
            forwarded_packets=forwarded,
            forwarded_bytes=fbytes,
            dropped_packets=dropped,
            keyframe_requests=kf,
            active_speaker=room.detector.current,
            per_participant=tuple(per),
            retransmitted_packets=rtx,
            nack_requests=nacks,
            policed_packets=policed,
            rtx_received=rtx_in,
            layer_dropped_packets=layer_dropped,
            layer_switches=layer_switches,
        )

    def socket_stats(self) -> tuple[MediaSocketStats, ...]:
        """The shared socket's counters as worker 0 (a sharded worker's parent renumbers)."""
        if self.host_sockets is None:
            return ()
        c = self.host_sockets.counters()
        return (
            MediaSocketStats(
                worker=0,
                received=c["received"],
                unknown=c["unknown"],
                filtered=c["filtered"],
                send_dropped=c["dropped"],
            ),
        )

    def set_media_lost_handler(self, handler: MediaLost | None) -> None:
        self._on_media_lost = handler

    def room_ids(self) -> list[str]:
        return list(self._rooms)

    # --- internals -----------------------------------------------------------------------
    def _room(self, room_id: str) -> MediaRoom:
        room = self._rooms.get(room_id)
        if room is None:
            raise NotFound(f"no media for room {room_id}")
        return room

    @staticmethod
    def _participant(room: MediaRoom, participant_id: str) -> MediaParticipant:
        p = room.participants.get(participant_id)
        if p is None:
            raise NotFound(f"{participant_id} has no media in room {room.id}")
        return p

    async def _negotiate(self, p: MediaParticipant) -> None:
        try:
            await p.negotiate()
        except Exception:
            logger.exception("renegotiation with %s failed", p.id)

    async def _remove(self, room: MediaRoom, participant_id: str, *, renegotiate: bool) -> None:
        leaver = room.participants.pop(participant_id, None)
        if leaver is None:
            return
        leaver.closed = True
        room.detector.forget(participant_id)
        for other in room.participants.values():
            other.detach_publisher(leaver)
            leaver.detach_publisher(other)
        room.account_gone(leaver)
        self._cap_bitrates(room)
        await leaver.close()
        if renegotiate:
            for other in list(room.participants.values()):
                await self._negotiate(other)

    @staticmethod
    def _cap_bitrates(room: MediaRoom) -> None:
        cap = video_bitrate_cap(len(room.participants))
        for p in room.participants.values():
            p.up["video"].max_bitrate = cap

    async def _lost_hook(self, p: MediaParticipant) -> None:
        if self._lost is not None:
            self._lost.put_nowait((p.room_id, p.id, p))

    async def _reap(self) -> None:
        assert self._lost is not None
        while True:
            room_id, pid, p = await self._lost.get()
            room = self._rooms.get(room_id)
            if room is None or room.participants.get(pid) is not p:
                continue
            logger.info("media of %s in %s lost; removing", pid, room_id)
            async with room.lock:
                await self._remove(room, pid, renegotiate=True)
            if self._on_media_lost is not None:
                try:
                    await self._on_media_lost(room_id, pid)
                except Exception:
                    logger.exception("on_media_lost failed")
