"""Lost video packets are repaired by retransmission (generic NACK answered with RTX, RFC
4588, both ways), on real aiortc peers.

Loopback loses nothing, so the loss is made at the SFU: packets are dropped on their first
pass, either on the way out to one subscriber or on the way in from the publisher. The
subscriber really decodes with aiortc's own receiver, which NACKs what it misses; its
``inbound-rtp`` statistics must end up with nothing lost."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from server.bots.client import MediaClient
from tests.media.harness import ROOM, Harness, wait_until

pytestmark = pytest.mark.media

EVERY = 15  # drop one packet in EVERY, on its first pass only


class Loss:
    """Drops the first pass of one packet in EVERY while ``on``; remembers which came again."""

    def __init__(self) -> None:
        self.on = True
        self.dropped: set[int] = set()
        self.again: set[int] = set()

    def drop(self, seq: int) -> bool:
        if seq in self.dropped:
            self.again.add(seq)
            return False
        if not self.on or seq % EVERY:
            return False
        self.dropped.add(seq)
        return True

    def repaired(self) -> bool:
        return self.dropped <= self.again


class LossyOut:
    """Wraps a subscriber slot's sender: drops the first send of some sequence numbers; a
    resend on the RTX stream counts for the original sequence number it carries."""

    def __init__(self, inner: Any, loss: Loss, rtx_pt: int) -> None:
        self.inner = inner
        self.loss = loss
        self.rtx_pt = rtx_pt
        self.rtx = 0

    def send(self, data: bytes) -> bool | None:
        if data[1] & 0x7F == self.rtx_pt:
            self.rtx += 1
            self.loss.drop(struct.unpack_from("!H", data, 12)[0])  # records it as resent
        elif self.loss.drop(struct.unpack_from("!H", data, 2)[0]):
            return True  # "sent", and lost on the wire
        return self.inner.send(data)  # type: ignore[no-any-return]


def video_receiver(client: MediaClient, publisher: str) -> Any:
    for t in client.pc.getTransceivers():
        if client._mid_owner.get(t.mid or "") == (publisher, "video"):
            return t.receiver
    raise AssertionError(f"{client.id} has no video from {publisher}")


def resends_reaching(receiver: Any, rtx_ssrc: int) -> set[int]:
    """The original sequence numbers of the resends that reach ``receiver`` on ``rtx_ssrc``
    (filled as they come; aiortc's own handling goes on)."""
    got: set[int] = set()
    original = receiver._handle_rtp_packet

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        if packet.ssrc == rtx_ssrc and len(packet.payload) >= 2:
            got.add(struct.unpack_from("!H", packet.payload)[0])
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle
    return got


async def inbound_video_lost(h: Harness, me: str, publisher: str) -> int:
    """Of the stream aiortc reports last: it gives each SSRC's ``inbound-rtp`` the same id, so
    once a resend arrived this is the RTX stream's (see :func:`resends_reaching`)."""
    report = await video_receiver(h.clients[me], publisher).getStats()
    return sum(s.packetsLost for s in report.values() if s.type == "inbound-rtp")


async def assert_nothing_lost(h: Harness, me: str, publisher: str) -> None:
    """aiortc's receiver counts lost = expected - received, resent packets included."""
    for _ in range(50):  # stats have no event: poll for up to 5 s
        if await inbound_video_lost(h, me, publisher) == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{me} still counts lost packets from {publisher}")


async def publisher_and_decoding_subscriber(h: Harness) -> None:
    """``a`` publishes video; ``b`` decodes it with aiortc's own receiver (which NACKs)."""
    await h.join("a", audio=False)
    await h.join("b", video=False, decode_from=["a"])
    await h.wait_connected()
    await wait_until(lambda: h.clients["b"].frames_from("a", "video") >= 5, 15, "video up")


async def test_subscriber_nacks_are_answered_from_the_history(clips: Any) -> None:
    async with Harness(clips) as h:
        await publisher_and_decoding_subscriber(h)
        down = h.engine._rooms[ROOM].participants["b"].slots["a"].downs["video"]
        assert down.rtx_payload_type >= 0  # RTX negotiated with the subscriber
        loss = Loss()
        out = LossyOut(down.out, loss, down.rtx_payload_type)
        down.out = out  # type: ignore[assignment]  # a fake wrapping the slot's RtpOut
        got = resends_reaching(video_receiver(h.clients["b"], "a"), down.rtx_ssrc)
        await wait_until(lambda: len(loss.dropped) >= 8, 30, "8 packets lost on the way out")
        loss.on = False
        # Every lost packet was asked for and resent, and reached the subscriber's receiver.
        await wait_until(loss.repaired, 10, "every dropped packet resent")
        assert out.rtx >= 8  # on the RTX stream
        await wait_until(lambda: loss.dropped <= got, 5, "every resend at b")
        stats = h.engine.stats(ROOM)
        assert stats.retransmitted_packets >= 8
        decoded = h.clients["b"].received[("a", "video")].decoded
        await wait_until(
            lambda: h.clients["b"].received[("a", "video")].decoded >= decoded + 10,
            10,
            "decoding goes on",
        )


async def test_upstream_loss_is_nacked_to_the_publisher(clips: Any) -> None:
    async with Harness(clips) as h:
        await publisher_and_decoding_subscriber(h)
        # Lose packets before SRTP sees them, as the network would: the RTP header (and its
        # sequence number) travels in the clear.
        publisher = h.engine._rooms[ROOM].participants["a"]
        up = publisher.up["video"]
        video_pt = up.payload_type
        assert up.rtx_payload_type >= 0  # RTX negotiated with the publisher
        loss = Loss()
        for transceiver in publisher.pc.getTransceivers():
            # Any: the test replaces a method on aioice's private protocol objects.
            connection: Any = transceiver.receiver.transport.transport.iceGatherer._connection
            for protocol in connection._protocols:
                inner = protocol.datagram_received

                def lossy(data: bytes, addr: Any, inner: Any = inner) -> None:
                    rtp = len(data) > 12 and data[0] >> 6 == 2 and data[1] & 0x7F == video_pt
                    if rtp and loss.drop(struct.unpack_from("!H", data, 2)[0]):
                        return
                    inner(data, addr)

                protocol.datagram_received = lossy
        await wait_until(lambda: len(loss.dropped) >= 8, 30, "8 packets lost on the way in")
        loss.on = False
        # aiortc resends on its RTX stream (sequence numbers of its own, the original one
        # encrypted in the payload): count what the SFU unwrapped
        await wait_until(
            lambda: up.rtx_received + len(loss.again) >= len(loss.dropped),
            10,
            "the publisher resent them",
        )
        assert h.engine.stats(ROOM).nack_requests >= 8
        await assert_nothing_lost(h, "b", "a")


async def test_a_client_with_several_video_slots_gets_its_resends(clips: Any) -> None:
    """``b`` receives two people's video, one slot each with the same RTX payload type, so
    aiortc's router cannot route a resend by payload type: the bot routes it by the offer's
    FID group (server/media/clientside.py), for its first slot and for the one a
    renegotiation adds. Every packet lost on either slot reaches its receiver again."""
    async with Harness(clips) as h:
        await h.join("a", audio=False)
        b = await h.join("b", video=False, decode_from=["a", "c"])
        await h.wait_connected()
        await h.join("c", audio=False)  # b's slot for c comes with a renegotiation
        await h.wait_connected()
        for p in ("a", "c"):
            await wait_until(lambda p=p: b.frames_from(p, "video") >= 5, 15, f"{p}'s video up")
        slots = h.engine._rooms[ROOM].participants["b"].slots
        cases = []
        for p in ("a", "c"):
            receiver = video_receiver(b, p)
            down = slots[p].downs["video"]
            assert down.rtx_payload_type >= 0
            router = receiver.transport._rtp_router  # the premise: two slots, one RTX type
            assert len(router.payload_type_table[down.rtx_payload_type]) == 2
            loss = Loss()
            down.out = LossyOut(down.out, loss, down.rtx_payload_type)  # type: ignore[assignment]
            cases.append((p, receiver, loss, resends_reaching(receiver, down.rtx_ssrc)))
        for p, _, loss, _ in cases:
            await wait_until(lambda loss=loss: len(loss.dropped) >= 8, 30, f"8 lost from {p}")
            loss.on = False
        for p, receiver, loss, got in cases:
            # resent by the unit, and through aiortc's router to the slot's receiver
            await wait_until(lambda g=got, lo=loss: lo.dropped <= g, 10, f"{p}'s resends at b")
            gen = receiver._RTCRtpReceiver__nack_generator  # aiortc asks for none of them now
            assert not gen.missing & loss.dropped
