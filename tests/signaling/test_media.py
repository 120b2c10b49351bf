"""Signaling and the media port: offers out, answers and candidates in, rights on change."""

from __future__ import annotations

import asyncio

from server.domain import GroupRole
from server.media.port import IceCandidate

from .conftest import Server


async def test_media_events_pass_through_to_the_engine(media_server: Server) -> None:
    server = media_server
    media = server.media
    assert media is not None
    w = server.world
    sid = str(w.session_id)
    leader = server.peer(w.leader, GroupRole.LEADER)
    presenter = server.peer(w.members[0])
    await leader.enter()
    await presenter.enter()
    offer = await presenter.event("media.offer")
    assert offer["type"] == "offer"
    assert media.participants[sid] == {str(w.leader), str(presenter.person_id)}
    ok = await presenter.call("media.answer", {"sdp": "v=0 answer"})
    assert ok == {"ok": True}
    assert media.answers == [(sid, str(presenter.person_id), "v=0 answer")]
    ok = await presenter.call(
        "media.candidate",
        {
            "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    )
    assert ok["ok"]
    assert media.candidates[-1][2] == IceCandidate(
        "candidate:1 1 udp 1 127.0.0.1 9 typ host", "0", 0
    )
    bad = await presenter.call("media.candidate", {"candidate": "x", "sdpMLineIndex": -1})
    assert bad["error"]["code"] == "invalid"
    big = await presenter.call("media.answer", {"sdp": "x" * 80_000})
    assert big["error"]["code"] == "too_large"

    # the server, not the browser, cuts the presenter in sit-back
    await leader.call(
        "protocol.command", {"command": "set_presenter", "person_id": str(presenter.person_id)}
    )
    for _ in range(3):
        await leader.call("protocol.command", {"command": "advance"})
    await presenter.until(lambda s: s["phase"] == "sit_back")
    assert media.may_speak(sid, str(presenter.person_id)) is False
    assert media.may_speak(sid, str(w.leader)) is True
    await leader.call("protocol.command", {"command": "advance"})
    await presenter.until(lambda s: s["phase"] == "return")
    assert media.may_speak(sid, str(presenter.person_id)) is True
    # self-mute also stops forwarding; the camera likewise
    await presenter.call("mic.set", {"muted": True})
    await presenter.call("cam.set", {"off": True})
    await presenter.until(lambda s: any(p["camera_off"] for p in s["participants"]))
    assert media.rights[(sid, str(presenter.person_id))] == (False, False)
    # leaving removes the participant from media
    assert (await presenter.call("leave", {}))["ok"]
    assert media.participants[sid] == {str(w.leader)}


async def test_media_events_without_an_engine(server: Server) -> None:
    m = server.peer(server.world.members[0])
    await m.enter()
    reply = await m.call("media.answer", {"sdp": "v=0"})
    assert reply["error"]["code"] == "media_unavailable"


async def test_an_answer_sent_before_the_join_ack_is_accepted(media_server: Server) -> None:
    """The room offers media while it admits the joiner; a fast client answers before its
    ``join`` ack arrives. The answer belongs to a joined connection and must be accepted."""
    server = media_server
    w = server.world
    member = server.peer(w.members[0])
    acks: list[dict[str, object]] = []
    answered = asyncio.Event()

    async def answer_at_once(offer: dict[str, object]) -> None:
        acks.append(await member.sio.call("media.answer", {"sdp": "v=0 quick"}, namespace="/room"))
        answered.set()

    member.sio.on("media.offer", answer_at_once, namespace="/room")
    await member.enter()
    await asyncio.wait_for(answered.wait(), 10)
    assert acks == [{"ok": True}]
