"""Breakout audiences at the forwarding point, with aiortc's objects replaced by fakes (no
network): a subscriber outside a publisher's audience gets nothing, not even a retransmission;
let in again, its stream restarts cleanly (continuous sequence numbers, a keyframe first); the
active-speaker notice about someone goes only to those who may hear them."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from aiortc.rtp import RtpPacket

from server.media.forwarding import DownTrack, UpTrack
from server.media.sfu import Capabilities, MediaRoom
from tests.media import fakes as fake_objects

KEY = bytes([0x10, 0x00]) + b"key"
INTER = bytes([0x10, 0x01]) + b"inter"


@pytest.fixture(autouse=True)
def _fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_objects.install(monkeypatch)


def packet(seq: int, payload: bytes = INTER) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        sequence_number=seq & 0xFFFF,
        timestamp=(seq * 3000) & 0xFFFFFFFF,
        ssrc=7,
        payload=payload,
    )


def sent(down: DownTrack) -> list[bytes]:
    out: Any = down.out
    return out.sent  # type: ignore[no-any-return]


def seqs(down: DownTrack) -> list[int]:
    return [struct.unpack("!H", p[2:4])[0] for p in sent(down)]


def room_of_three() -> tuple[UpTrack, DownTrack, DownTrack]:
    up = UpTrack("a", "video", receiver=object(), payload_type=96)  # type: ignore[arg-type]
    b = DownTrack("b", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    c = DownTrack("c", "video", sender=object(), payload_type=96)  # type: ignore[arg-type]
    for d in (b, c):
        up.add_down(d)
        d.ready = True
    return up, b, c


async def test_outside_the_audience_nothing_arrives_and_back_it_restarts_cleanly() -> None:
    up, b, c = room_of_three()
    await up.on_packet(packet(100, KEY))
    await up.on_packet(packet(101))
    assert len(sent(b)) == len(sent(c)) == 2

    up.set_audience(frozenset({"b"}))  # a and b in one group, c elsewhere
    dropped = up.dropped
    for seq in range(102, 110):
        await up.on_packet(packet(seq))
    assert len(sent(b)) == 10 and len(sent(c)) == 2
    assert up.dropped == dropped + 8
    await c.retransmit(seqs(c)[-1])  # no retransmission to c while it is outside
    assert len(sent(c)) == 2

    up.set_audience(None)  # everyone back
    await up.on_packet(packet(110))  # not a keyframe: c waits for one
    assert len(sent(c)) == 2 and len(sent(b)) == 11
    await up.on_packet(packet(111, KEY))
    assert len(sent(c)) == 3
    assert seqs(c)[-1] == (seqs(c)[-2] + 1) & 0xFFFF  # no gap in what c sees


class Listener:
    def __init__(self, pid: str) -> None:
        self.id = pid
        self.heard: list[Any] = []

    async def send(self, event: str, payload: dict[str, Any]) -> None:
        self.heard.append(payload["person_id"])


async def test_the_speaker_notice_follows_the_audience() -> None:
    room = MediaRoom("r", 0.25)
    people = {pid: Listener(pid) for pid in ("a", "b", "c")}
    room.participants.update(people)  # type: ignore[arg-type]
    room.capabilities["a"] = Capabilities(True, True, frozenset({"b"}))
    await room._publish_speaker("a")
    assert people["a"].heard == ["a"] and people["b"].heard == ["a"]
    assert people["c"].heard == [None]  # c cannot hear a: "nobody you hear is speaking"
    await room._publish_speaker("c")  # c's audience is everyone
    assert all(p.heard[-1] == "c" for p in people.values())
    await room._publish_speaker(None)
    assert all(p.heard[-1] is None for p in people.values())
