"""Leader continuity through the real signaling server (python-socketio clients, manual clock):
a co-leader takes over when the leader drops in sit-back, the leader gets it back on return,
an explicit hand-over, and the safety rule when nobody who can lead is present."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.db.models import AuditEntry
from server.domain import AuditOutcome, GroupRole
from tests.signaling.conftest import NS, Peer, Server, make_server

MIN = 60_000


def person(snap: dict[str, Any], pid: int) -> dict[str, Any]:
    return next(p for p in snap["participants"] if p["person_id"] == str(pid))


def hears_lead(peer: Peer) -> Peer:
    peer.sio.on("room.lead", peer._recorder("room.lead"), namespace=NS)
    return peer


def leads(snap: dict[str, Any], pid: int) -> bool:
    return "lead" in person(snap, pid)["capabilities"]


@pytest.fixture
async def live(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(
        sqlite_url,
        tmp_path,
        media=True,
        members=4,
        settings=None,
        grace_s=600,
    )
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def to_sit_back(server: Server) -> tuple[Peer, Peer, Peer, Peer]:
    w = server.world
    leader = hears_lead(server.peer(w.leader, GroupRole.LEADER))
    co = hears_lead(server.peer(w.co_leader, GroupRole.CO_LEADER))
    presenter, member = hears_lead(server.peer(w.members[0])), hears_lead(server.peer(w.members[1]))
    for p in (leader, co, presenter, member):
        await p.enter()
    ok = await leader.call(
        "protocol.command", {"command": "set_presenter", "person_id": str(presenter.person_id)}
    )
    assert ok["ok"], ok
    for _ in range(3):
        assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await member.until(lambda s: s["phase"] == "sit_back")
    assert person(snap, presenter.person_id)["muted_by_rule"]
    assert not leads(snap, co.person_id)  # Balint: the co-leader moderates, the leader leads
    return leader, co, presenter, member


def room_id(server: Server) -> str:
    return str(server.world.session_id)


async def test_co_leader_takes_over_when_the_leader_drops_in_sit_back(live: Server) -> None:
    server = live
    leader, co, presenter, member = await to_sit_back(server)
    assert server.media is not None
    assert not server.media.may_speak(room_id(server), str(presenter.person_id))

    await leader.sio.disconnect()  # the leader's device dies
    await member.until(lambda s: person(s, leader.person_id)["presence"] == "reconnecting")
    server.clock.advance(29_000)  # not yet: the takeover time is 30 s
    assert (await member.call("hand.raise", {}))["ok"]  # any change: the room reviews
    snap = await member.until(lambda s: s["hands"] == [str(member.person_id)])
    assert snap["stand_in"] is None and not leads(snap, co.person_id)
    server.clock.advance(1_000)
    snap = await member.until(lambda s: s["stand_in"] == str(co.person_id))
    assert snap["lead_reason"] == "leader_lost" and leads(snap, co.person_id)
    for p in (co, presenter, member):  # announced to everyone in the room
        told = await p.event("room.lead")
        assert told == {"stand_in": str(co.person_id), "reason": "leader_lost", "by": None}
    audits = await server.db_rows(AuditEntry, action="room.lead")
    assert [(a.outcome, a.details["stand_in"]) for a in audits] == [
        (AuditOutcome.ALLOWED, str(co.person_id))
    ]

    # the co-leader leads: at the phase's end they bring the presenter back
    server.clock.advance(15 * MIN - 30_000)  # the planned end of sit-back
    snap = await member.until(lambda s: s["overrun"])
    assert person(snap, presenter.person_id)["muted_by_rule"]
    assert (await co.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await presenter.until(lambda s: s["phase"] == "return")
    assert not person(snap, presenter.person_id)["muted_by_rule"]
    assert server.media.may_speak(room_id(server), str(presenter.person_id))
    assert (await presenter.call("mic.set", {"muted": False}))["ok"]

    # the leader comes back and leads again; the co-leader's stand-in ends, announced
    back = hears_lead(server.peer(leader.person_id, GroupRole.LEADER))
    snap = await back.enter()
    snap = await member.until(lambda s: s["stand_in"] is None and leads(s, leader.person_id))
    assert not leads(snap, co.person_id)
    audits = await server.db_rows(AuditEntry, action="room.lead")
    assert [a.details["stand_in"] for a in audits] == [str(co.person_id), None]
    refused = await co.call("protocol.command", {"command": "advance"})
    assert refused["error"]["code"] == "forbidden"


async def test_nobody_left_who_can_lead_sit_back_still_ends_at_its_maximum(live: Server) -> None:
    server = live
    leader, co, presenter, member = await to_sit_back(server)
    assert server.media is not None
    await leader.sio.disconnect()
    await co.sio.disconnect()
    await member.until(
        lambda s: {person(s, x.person_id)["presence"] for x in (leader, co)} == {"reconnecting"}
    )
    server.clock.advance(15 * MIN)  # the planned end: overrun, still sitting back
    snap = await member.until(lambda s: s["overrun"])
    assert s_phase(snap) == "sit_back" and person(snap, presenter.person_id)["muted_by_rule"]
    server.clock.advance(5 * MIN)  # the maximum (20 min): the presenter comes back
    snap = await presenter.until(lambda s: s["phase"] == "return")
    assert not person(snap, presenter.person_id)["muted_by_rule"]
    assert snap["floor"] == "open"  # nobody is there to call on members
    assert not person(snap, member.person_id)["muted_by_rule"]
    assert server.media.may_speak(room_id(server), str(presenter.person_id))


def s_phase(snap: dict[str, Any]) -> str:
    return str(snap["phase"])


async def test_explicit_hand_over_and_back(live: Server) -> None:
    server = live
    leader, co, _presenter, member = await to_sit_back(server)
    # a member cannot stand in; only a leader hands over
    bad = await leader.call(
        "protocol.command", {"command": "hand_over", "person_id": str(member.person_id)}
    )
    assert bad["error"]["code"] == "protocol"
    bad = await co.call(
        "protocol.command", {"command": "hand_over", "person_id": str(co.person_id)}
    )
    assert bad["error"]["code"] == "forbidden"
    ok = await leader.call(
        "protocol.command", {"command": "hand_over", "person_id": str(co.person_id)}
    )
    assert ok["ok"], ok
    snap = await member.until(lambda s: s["stand_in"] == str(co.person_id))
    assert snap["lead_reason"] == "handed_over" and leads(snap, co.person_id)
    told = await member.event("room.lead")
    assert told == {
        "stand_in": str(co.person_id),
        "reason": "handed_over",
        "by": str(leader.person_id),
    }
    # the stand-in hands back to the leader
    ok = await co.call(
        "protocol.command", {"command": "hand_over", "person_id": str(leader.person_id)}
    )
    assert ok["ok"], ok
    snap = await member.until(lambda s: s["stand_in"] is None)
    assert not leads(snap, co.person_id)
    audits = await server.db_rows(AuditEntry, action="room.lead")
    assert [(a.actor_id, a.details["stand_in"]) for a in audits] == [
        (leader.person_id, str(co.person_id)),
        (co.person_id, None),
    ]
    refusals = await server.db_rows(AuditEntry, action="room.hand_over")
    assert {a.outcome for a in refusals} == {AuditOutcome.REFUSED} and len(refusals) == 2
