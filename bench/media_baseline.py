"""The baseline engine of bench/media.py: aiortc's default path, decoding every publisher once
(MediaRelay) and encoding once per subscriber, behind the same calls as the SFU engine."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from server.media.ice import rtc_configuration
from server.media.participant import prefer_codec


# --- the baseline engine: aiortc's default decode + relay + encode path ------------------------
class LazyRelayTrack(MediaStreamTrack):
    """Subscribes (MediaRelay) to a publisher's decoded track once it exists."""

    def __init__(self, kind: str, receiver: RTCRtpReceiver, relay: MediaRelay) -> None:
        super().__init__()
        self.kind = kind
        self._receiver = receiver
        self._relay = relay
        self._proxy: MediaStreamTrack | None = None

    async def recv(self) -> Any:
        while self._proxy is None:
            if self._receiver.track is not None:
                self._proxy = self._relay.subscribe(self._receiver.track)
            else:
                await asyncio.sleep(0.05)
        return await self._proxy.recv()


class BaselinePeer:
    def __init__(self, pid: str, send: Any) -> None:
        self.id = pid
        self.send = send
        self.pc = RTCPeerConnection(rtc_configuration([], relay_only=False))
        self.up = {}
        for kind in ("audio", "video"):
            t = self.pc.addTransceiver(kind, direction="recvonly")
            prefer_codec(t)
            self.up[kind] = t
        from server.media.passthrough import gather_on

        gather_on(self.pc, ["127.0.0.1"])
        self.tracks: list[dict[str, Any]] = [
            {"mid": None, "person_id": pid, "kind": k, "t": t} for k, t in self.up.items()
        ]
        self.renegotiate = False

    def subscribe(self, other: BaselinePeer, relay: MediaRelay) -> None:
        for kind in ("audio", "video"):
            track = LazyRelayTrack(kind, other.up[kind].receiver, relay)
            t = self.pc.addTransceiver(track, direction="sendonly")
            prefer_codec(t)
            self.tracks.append({"person_id": other.id, "kind": kind, "t": t})

    async def negotiate(self) -> None:
        if self.pc.signalingState != "stable":
            self.renegotiate = True
            return
        self.renegotiate = False
        await self.pc.setLocalDescription(await self.pc.createOffer())
        tracks = [
            {"mid": x["t"].mid, "person_id": x["person_id"], "kind": x["kind"]} for x in self.tracks
        ]
        await self.send(
            "media.offer", {"sdp": self.pc.localDescription.sdp, "type": "offer", "tracks": tracks}
        )

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        if self.renegotiate:
            await self.negotiate()

    def sent_packets(self) -> int:
        return sum(
            x["t"].sender.__dict__["_RTCRtpSender__packet_count"]
            for x in self.tracks
            if x["person_id"] != self.id
        )


class BaselineEngine:
    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, BaselinePeer]] = {}
        self.relays: dict[str, MediaRelay] = {}
        self.lock = asyncio.Lock()

    async def start(self) -> None: ...

    async def stop(self) -> None:
        for peers in self.rooms.values():
            for p in peers.values():
                await p.pc.close()

    async def open_room(self, room: str) -> None:
        self.rooms.setdefault(room, {})
        self.relays.setdefault(room, MediaRelay())

    async def add_participant(self, room: str, pid: str, send: Any) -> None:
        async with self.lock:
            peers = self.rooms[room]
            me = BaselinePeer(pid, send)
            for other in peers.values():
                me.subscribe(other, self.relays[room])
                other.subscribe(me, self.relays[room])
            peers[pid] = me
            await me.negotiate()
            for other in list(peers.values()):
                if other is not me:
                    await other.negotiate()

    async def handle_answer(self, room: str, pid: str, sdp: str) -> None:
        async with self.lock:
            await self.rooms[room][pid].answer(sdp)

    def counters(self) -> dict[str, int]:
        fwd = sum(p.sent_packets() for peers in self.rooms.values() for p in peers.values())
        return {"forwarded": fwd, "received": 0, "dropped": 0}
