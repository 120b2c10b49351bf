"""An aiortc participant for bots, tests and the benchmark: answers the server's offers,
publishes pre-encoded media, counts (or decodes) what it receives.

Counting needs no decoding: each received track's decoder queue is replaced by a frame
counter (``passthrough.FrameSink``). Tracks from people listed in ``decode_from`` are really
decoded, to prove the media is real: aiortc's receiver then NACKs what it misses, and the
resends reach it on the slot's RTX SSRC (``clientside.route_rtx``, as a browser routes them;
counted tracks skip aiortc's receive work, so they never ask for any). Counted tracks still
keep aiortc's receive statistics (``clientside.report_statistics``), so their receiver
reports carry loss, jitter and the LSR/DLSR the server measures the round trip from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from server.bots.synthetic import EncodedClip, ReplayTrack
from server.media import clientside, passthrough
from server.media.ice import (
    LOOPBACK,
    IceServer,
    IpNetwork,
    filter_sdp_candidates,
    rtc_configuration,
)

logger = logging.getLogger(__name__)

AnswerSink = Callable[[str], Awaitable[None]]


@dataclass(slots=True)
class Received:
    """What one client got from one publisher's track."""

    frames: int = 0  # complete encoded frames (counted or decoded)
    decoded: int = 0
    first_decoded_at: float | None = None
    sizes: list[tuple[int, int]] = field(default_factory=list)

    def total_frames(self) -> int:
        return self.frames


class MediaClient:
    def __init__(
        self,
        participant_id: str,
        *,
        audio: EncodedClip | None,
        video: EncodedClip | None,
        gather_addresses: Sequence[str] = ("127.0.0.1",),
        networks: Sequence[IpNetwork] = LOOPBACK,
        ice_servers: Sequence[IceServer] = (),
        relay_only: bool = False,
        decode_from: Sequence[str] = (),
        start_index: int = 0,
    ) -> None:
        self.id = participant_id
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers, relay_only=relay_only))
        self._gather = list(gather_addresses)
        self._networks = tuple(networks)
        self._decode_from = set(decode_from)
        self.tracks: dict[str, MediaStreamTrack] = {}
        if audio is not None:
            self.tracks["audio"] = ReplayTrack(audio, start_index=start_index)
        if video is not None:
            self.tracks["video"] = ReplayTrack(video, start_index=start_index)
        self.received: dict[tuple[str, str], Received] = {}
        self._mid_owner: dict[str, tuple[str, str]] = {}
        # receiver -> (publisher, record): slots are reused for other publishers
        self._watched: dict[int, tuple[str, Received]] = {}
        self.inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.speakers: list[str | None] = []
        self.offers = 0
        self.speaker_changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: asyncio.Task[None] | None = None
        self.errors: list[BaseException] = []

    # --- wiring ------------------------------------------------------------------------
    async def signal(self, event: str, payload: dict[str, Any]) -> None:
        """A ``SignalSender``: queue the server's event for this client's runner."""
        self.inbox.put_nowait((event, payload))

    def start(self, deliver_answer: AnswerSink) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(deliver_answer), name=f"client-{self.id}")

    async def stop(self) -> None:
        tasks = [t for t in [self._runner, *self._tasks] if t is not None]
        self._runner = None
        self._tasks = []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, MediaStreamError):
                await t
        for track in self.tracks.values():
            track.stop()
        await self.pc.close()

    async def _run(self, deliver_answer: AnswerSink) -> None:
        while True:
            event, payload = await self.inbox.get()
            try:
                if event == "media.offer":
                    answer = await self.handle_offer(payload)
                    await deliver_answer(answer)
                elif event == "media.speaker":
                    self.speakers.append(payload.get("person_id"))
                    self.speaker_changed.set()
            except Exception as exc:  # recorded for the test to assert on
                logger.exception("client %s failed on %s", self.id, event)
                self.errors.append(exc)

    # --- negotiation -------------------------------------------------------------------
    async def handle_offer(self, payload: dict[str, Any]) -> str:
        self.offers += 1
        sdp, _ = filter_sdp_candidates(payload["sdp"], self._networks)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        passthrough.gather_on(self.pc, self._gather)
        owners = {t["mid"]: (t["person_id"], t["kind"]) for t in payload.get("tracks", [])}
        self._mid_owner.update(owners)
        for transceiver in self.pc.getTransceivers():
            # before any await: aiortc starts receivers later, in a task of its own
            clientside.route_rtx_when_started(transceiver.receiver)
            owner = owners.get(transceiver.mid)
            if owner is None:
                continue
            person, kind = owner
            if person == self.id:
                track = self.tracks.get(kind)
                if track is not None and transceiver.sender.track is None:
                    transceiver.sender.replaceTrack(track)
                    if isinstance(track, ReplayTrack):
                        passthrough.on_keyframe_request(transceiver.sender, track.request_keyframe)
                transceiver.direction = "sendonly" if track is not None else "inactive"
            else:
                self._watch(transceiver.receiver, person, kind)
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        if self.offers == 1:
            passthrough.enlarge_socket_buffers(self.pc, 1 << 20)
        return str(self.pc.localDescription.sdp)

    def _watch(self, receiver: Any, person: str, kind: str) -> None:
        """Count (or decode) what arrives on ``receiver``, attributed to ``person``; a
        receiver whose slot the server gave to someone else is re-attributed.

        Counting skips aiortc's receive work entirely: a complete frame is a packet with the
        RTP marker bit (the last packet of a video frame; every Opus packet)."""
        known = self._watched.get(id(receiver))
        if known is not None and known[0] == person:
            return
        rec = Received()
        self.received[(person, kind)] = rec
        key = id(receiver)
        self._watched[key] = (person, rec)
        if known is not None:
            return  # already tapped or decoding; the new record takes over
        if person in self._decode_from:
            self._tasks.append(asyncio.create_task(self._consume(receiver.track, key)))
            return
        watched = self._watched
        reports = clientside.report_statistics(receiver)

        async def count(packet: Any) -> None:
            reports(packet)  # receiver reports with report blocks, as a browser sends
            if packet.marker:
                watched[key][1].frames += 1

        passthrough.tap_receiver(receiver, count, replace=True)

    async def _consume(self, track: MediaStreamTrack, key: int) -> None:
        while True:
            frame = await track.recv()
            rec = self._watched[key][1]
            rec.decoded += 1
            rec.frames += 1
            if rec.first_decoded_at is None:
                rec.first_decoded_at = time.monotonic()
            width: Any = getattr(frame, "width", None)
            height: Any = getattr(frame, "height", None)
            if width is not None and len(rec.sizes) < 4:
                rec.sizes.append((int(width), int(height)))

    def frames_from(self, person: str, kind: str) -> int:
        rec = self.received.get((person, kind))
        return rec.total_frames() if rec is not None else 0
