"""Malformed SDP and ICE candidates are refused with an error; nothing reaches the agent."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import NotFound, UserError
from server.media.ice import IceSettings
from server.media.port import IceCandidate
from server.media.sfu import AiortcMediaEngine, SfuSettings

pytestmark = pytest.mark.media

ROOM = "r"


class Outbox:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, event: str, payload: dict[str, Any]) -> None:
        self.events.append((event, payload))


@pytest.fixture
async def engine() -> Any:
    e = AiortcMediaEngine(SfuSettings(ice=IceSettings.loopback()))
    await e.start()
    await e.open_room(ROOM)
    yield e
    await e.stop()


async def test_offer_lists_tracks_and_only_loopback_candidates(engine: AiortcMediaEngine) -> None:
    out = Outbox()
    await engine.add_participant(ROOM, "p", out)
    event, payload = out.events[-1]
    assert event == "media.offer" and payload["type"] == "offer"
    assert [t["kind"] for t in payload["tracks"]] == ["audio", "video"]
    candidates = [ln for ln in payload["sdp"].splitlines() if ln.startswith("a=candidate:")]
    assert candidates and all(" 127.0.0.1 " in c for c in candidates)
    assert payload["ice"]["iceServers"] == []


@pytest.mark.parametrize(
    "sdp",
    [
        "",
        "not an sdp at all",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",  # no media sections
        "v=0\r\n" + "a=x\r\n" * 20_000,  # too large
    ],
    ids=["empty", "garbage", "no-media", "too-large"],
)
async def test_malformed_answers_are_refused(engine: AiortcMediaEngine, sdp: str) -> None:
    await engine.add_participant(ROOM, "p", Outbox())
    with pytest.raises(UserError):
        await engine.handle_answer(ROOM, "p", sdp)


async def test_answer_without_pending_offer_is_refused(engine: AiortcMediaEngine) -> None:
    out = Outbox()
    await engine.add_participant(ROOM, "p", out)
    offer_sdp = out.events[-1][1]["sdp"]
    with pytest.raises(UserError):  # our own offer is not an acceptable answer
        await engine.handle_answer(ROOM, "p", offer_sdp)


@pytest.mark.parametrize(
    "text",
    [
        "garbage",
        "candidate:1 1 udp notanumber 127.0.0.1 5000 typ host",
        "candidate:1 1 udp 2122260223 127.0.0.1 99999 typ host",
        "candidate:1 1 sctp 2122260223 127.0.0.1 5000 typ host",
        "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ bogus",
        "candidate:" + "1" * 2000,
    ],
    ids=["garbage", "priority", "port", "protocol", "type", "too-long"],
)
async def test_malformed_candidates_are_refused(engine: AiortcMediaEngine, text: str) -> None:
    await engine.add_participant(ROOM, "p", Outbox())
    with pytest.raises(UserError):
        await engine.handle_candidate(ROOM, "p", IceCandidate(text, "0", 0))


async def test_candidates_outside_allowed_networks_never_reach_ice(
    engine: AiortcMediaEngine,
) -> None:
    await engine.add_participant(ROOM, "p", Outbox())
    p = engine._rooms[ROOM].participants["p"]
    for host in ("abcd-1234.local", "192.0.2.7", "8.8.8.8"):
        await engine.handle_candidate(
            ROOM, "p", IceCandidate(f"candidate:1 1 udp 2122260223 {host} 5000 typ host", "0", 0)
        )
    await engine.handle_candidate(
        ROOM, "p", IceCandidate("candidate:2 1 udp 2122260223 127.0.0.1 5000 typ host", "0", 0)
    )
    assert p.refused_candidates == 3
    remote = p.pc.getTransceivers()[0].receiver.transport.transport.getRemoteCandidates()
    assert [c.ip for c in remote] == ["127.0.0.1"]


async def test_unknown_participant_and_room(engine: AiortcMediaEngine) -> None:
    with pytest.raises(NotFound):
        await engine.handle_answer(ROOM, "nobody", "v=0")
    with pytest.raises(NotFound):
        engine.stats("no-such-room")


async def test_failed_first_offer_leaves_nothing_behind(engine: AiortcMediaEngine) -> None:
    async def broken(event: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("signaling gone")

    with pytest.raises(ConnectionError):
        await engine.add_participant(ROOM, "p", broken)
    assert engine.stats(ROOM).participants == 0
