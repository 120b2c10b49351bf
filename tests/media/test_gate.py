"""The room's rules in the media path: sit-back cuts the presenter's microphone at the SFU."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from server.bots.client import MediaClient
from server.bots.synthetic import ReplayTrack
from server.errors import UserError
from tests.media.harness import ROOM, Clips, Harness, wait_until

pytestmark = pytest.mark.media

LISTENERS = ("l1", "l2", "l3")
# Packets forwarded before the gate closed may still be on their way (on a loaded host they
# wait in the listeners' own receive queues): the listeners' counts must settle, that is stay
# unchanged for SETTLED_S, within SETTLE_LIMIT_S. A leak (a packet every 20 ms) never settles.
SETTLED_S = 0.3
SETTLE_LIMIT_S = 5.0
# How long "nothing arrives" is watched for. There is no event for an absence.
QUIET_WINDOW_S = 1.0


def audio_from_presenter(h: Harness) -> dict[str, int]:
    return {pid: h.clients[pid].frames_from("presenter", "audio") for pid in LISTENERS}


async def setup_room(h: Harness, presenter: MediaClient | None = None) -> None:
    await h.join("presenter", presenter)
    for pid in LISTENERS:
        await h.join(pid, video=False)
    await h.wait_connected()
    await wait_until(
        lambda: all(n >= 10 for n in audio_from_presenter(h).values()), 10, "presenter audible"
    )


async def settle(h: Harness) -> None:
    loop = asyncio.get_running_loop()
    last = audio_from_presenter(h)
    start = since = loop.time()
    while loop.time() - since < SETTLED_S:
        if loop.time() - start > SETTLE_LIMIT_S:
            raise AssertionError(f"presenter audio kept reaching listeners: {last}")
        await asyncio.sleep(0.05)
        now = audio_from_presenter(h)
        if now != last:
            last, since = now, loop.time()


async def assert_presenter_silent(h: Harness) -> None:
    await settle(h)
    before = audio_from_presenter(h)
    video_before = h.clients["l1"].frames_from("presenter", "video")
    await asyncio.sleep(QUIET_WINDOW_S)
    assert audio_from_presenter(h) == before, "presenter audio reached a listener"
    # the sit-back presenter stays visible
    assert h.clients["l1"].frames_from("presenter", "video") > video_before


async def test_sitback_stops_presenter_audio_at_every_receiver_and_return_resumes(
    clips: Clips,
) -> None:
    async with Harness(clips) as h:
        await setup_room(h)
        presenter = h.engine._rooms[ROOM].participants["presenter"]  # white-box: counters
        up_audio = presenter.up["audio"]
        dropped_before = h.engine.stats(ROOM).dropped_packets

        h.engine.set_capabilities(ROOM, "presenter", may_speak=False, may_show_video=True)
        forwarded_at_cut = up_audio.forwarded  # synchronous: nothing more may be forwarded
        await wait_until(
            lambda: h.engine.stats(ROOM).dropped_packets >= dropped_before + len(LISTENERS),
            0.5,
            "the next presenter packet counted as dropped for every listener",
        )
        assert up_audio.forwarded == forwarded_at_cut
        await assert_presenter_silent(h)
        assert up_audio.forwarded == forwarded_at_cut
        stats = h.engine.stats(ROOM)
        me = next(p for p in stats.per_participant if p.participant_id == "presenter")
        assert me.may_speak is False and me.dropped_packets > 0

        h.engine.set_capabilities(ROOM, "presenter", may_speak=True, may_show_video=True)
        resumed_from = audio_from_presenter(h)
        await wait_until(
            lambda: all(n >= resumed_from[pid] + 10 for pid, n in audio_from_presenter(h).items()),
            3,
            "presenter audible again at every listener",
        )


class TamperingClient(MediaClient):
    """A modified client: once ``tamper`` is set it answers every offer with all m-lines
    sendrecv (the answer text is rewritten)."""

    tamper = False

    async def handle_offer(self, payload: dict[str, Any]) -> str:
        sdp = await super().handle_offer(payload)
        if self.tamper:
            sdp = sdp.replace("a=recvonly", "a=sendrecv").replace("a=inactive", "a=sendrecv")
        return sdp


async def inject_audio(client: MediaClient, clips: Clips, count: int) -> None:
    """Send Opus packets on SSRCs the server never negotiated (what a client sending on
    another transceiver looks like on the wire), with the mid of a downstream m-line."""
    transport = client.pc.getTransceivers()[0].sender.transport
    ext = HeaderExtensionsMap()
    mids = [t.mid for t in client.pc.getTransceivers() if t.kind == "audio"]
    ext.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid")
            ]
        )
    )
    for i in range(count):
        for n, mid in enumerate(mids):
            packet = RtpPacket(payload_type=96, sequence_number=i, timestamp=i * 960)
            packet.ssrc = 0x1000 + n
            packet.payload = clips.audio.frames[i % len(clips.audio.frames)]
            packet.extensions.mid = mid
            await transport._send_rtp(packet.serialize(ext))
        await asyncio.sleep(0.02)


async def test_presenter_cannot_restore_audio(clips: Clips) -> None:
    async with Harness(clips) as h:
        presenter = TamperingClient("presenter", audio=clips.audio, video=clips.video)
        await setup_room(h, presenter)
        h.engine.set_capabilities(ROOM, "presenter", may_speak=False, may_show_video=True)
        await assert_presenter_silent(h)

        # 1. renegotiating on its own: an answer nobody asked for is refused
        with pytest.raises(UserError):
            await h.engine.handle_answer(ROOM, "presenter", presenter.pc.localDescription.sdp)
        # ... and so is an offer passed off as an answer
        offer = await presenter.pc.createOffer()
        with pytest.raises(UserError):
            await h.engine.handle_answer(ROOM, "presenter", offer.sdp)

        # 2. replacing the microphone track
        audio_sender = next(
            t.sender
            for t in presenter.pc.getTransceivers()
            if t.sender.track is not None and t.sender.track.kind == "audio"
        )
        audio_sender.replaceTrack(ReplayTrack(clips.audio, start_index=7))
        await assert_presenter_silent(h)

        # 3. a tampered answer claiming every m-line sendrecv, then audio on SSRCs that were
        # never negotiated, labelled with the mids of downstream m-lines
        presenter.tamper = True
        offers_before = presenter.offers
        await h.join("l4", video=False)
        await wait_until(lambda: presenter.errors, 5, "the tampered answer refused")
        assert presenter.offers > offers_before
        assert all(isinstance(e, UserError) for e in presenter.errors)
        up_audio = h.engine._rooms[ROOM].participants["presenter"].up["audio"]
        foreign_before = up_audio.foreign
        injection = asyncio.create_task(inject_audio(presenter, clips, 75))
        try:
            await assert_presenter_silent(h)
        finally:
            await injection
        assert up_audio.foreign > foreign_before  # the attack reached the forwarding point
        assert h.clients["l4"].frames_from("presenter", "audio") == 0
        assert h.clients["l4"].frames_from("presenter", "audio") == 0

        # only the room can give the floor back
        h.engine.set_capabilities(ROOM, "presenter", may_speak=True, may_show_video=True)
        back = audio_from_presenter(h)
        await wait_until(
            lambda: all(n >= back[pid] + 5 for pid, n in audio_from_presenter(h).items()),
            5,
            "presenter audible after return",
        )
