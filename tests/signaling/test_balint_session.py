"""A whole Balint session through a real server: a leader, a co-leader and ten members."""

from __future__ import annotations

from typing import Any

from server.db.models import (
    AgreementAcceptance,
    AttendanceEvent,
    AuditEntry,
    RoomState,
    ScheduledSession,
)
from server.domain import AttendanceKind, AuditOutcome, GroupRole, SessionStatus

from .conftest import Peer, Server

MIN = 60_000


def person(snap: dict[str, Any], pid: int) -> dict[str, Any]:
    return next(p for p in snap["participants"] if p["person_id"] == str(pid))


async def converge(peers: list[Peer], pred: Any) -> list[dict[str, Any]]:
    return [await p.until(pred) for p in peers]


async def test_full_balint_session(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    co = server.peer(w.co_leader, GroupRole.CO_LEADER)
    members = [server.peer(m) for m in w.members[:10]]
    everyone = [leader, co, *members]
    for p in everyone:
        await p.enter()
    snaps = await converge(everyone, lambda s: len(s["participants"]) == 12)
    assert {s["version"] for s in snaps} == {snaps[0]["version"]}
    assert snaps[0]["phase"] == "waiting"
    assert abs(snaps[0]["server_time_ms"] - server.clock.now_ms()) < 1000

    # every member accepted agreement version 2 at their first join
    accepted = await server.db_rows(AgreementAcceptance, series_id=w.series_id)
    assert len(accepted) == 12 and {a.version for a in accepted} == {"2"}

    presenter, asker, other = members[0], members[1], members[2]
    # a volunteer raises a hand; a member may not accept it
    assert (await presenter.call("hand.raise", {}))["ok"]
    refused = await other.call("protocol.command", {"command": "accept_hand"})
    assert refused == {"ok": False, "error": refused["error"]}
    assert refused["error"]["code"] == "forbidden"
    ok = await leader.call("protocol.command", {"command": "accept_hand"})
    assert ok["ok"], ok
    await converge(everyone, lambda s: s["presenter_id"] == str(presenter.person_id))

    # presentation: members may not interrupt
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await other.until(lambda s: s["phase"] == "presentation")
    assert person(snap, other.person_id)["muted_by_rule"]
    assert not person(snap, presenter.person_id)["muted_by_rule"]
    assert person(snap, presenter.person_id)["role"] == "presenter"
    assert snap["phase_ends_at_ms"] == snap["phase_started_at_ms"] + 10 * MIN
    unmute = await other.call("mic.set", {"muted": False})
    assert unmute["error"]["code"] == "protocol"

    # questions by raised hand: the floor is open by default (the seed's), the co-leader sets
    # it to hands and calls on the asker
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await asker.until(lambda s: s["phase"] == "questions")
    assert snap["floor"] == "open" and not person(snap, other.person_id)["muted_by_rule"]
    ok = await co.call("protocol.command", {"command": "set_floor", "floor": "hands"})
    assert ok["ok"], ok
    assert (await asker.call("hand.raise", {}))["ok"]
    await co.until(lambda s: s["hands"] == [str(asker.person_id)])
    ok = await co.call(
        "protocol.command", {"command": "call_on", "person_id": str(asker.person_id)}
    )
    assert ok["ok"], ok
    snap = await asker.until(lambda s: s["called_on"] == str(asker.person_id))
    assert not person(snap, asker.person_id)["muted_by_rule"]
    assert person(snap, other.person_id)["muted_by_rule"]
    # the co-leader may not move the Balint phases (the leader's)
    assert (await co.call("protocol.command", {"command": "advance"}))["error"][
        "code"
    ] == "forbidden"

    # sit-back: the presenter is cut and cannot undo it
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snaps = await converge(everyone, lambda s: s["phase"] == "sit_back")
    me = person(snaps[0], presenter.person_id)
    assert me["muted_by_rule"] and "speak" not in me["capabilities"]
    assert snaps[0]["phase_ends_at_ms"] - snaps[0]["phase_started_at_ms"] == 15 * MIN
    version = snaps[0]["version"]
    for event, payload in [
        ("mic.set", {"muted": False}),
        ("protocol.command", {"command": "advance"}),
        ("protocol.command", {"command": "set_floor", "floor": "open"}),
    ]:
        reply = await presenter.call(event, payload)
        assert not reply["ok"], (event, reply)
    # the leader extends the sit-back within its bounds, but not beyond 20 minutes
    assert (await leader.call("protocol.command", {"command": "adjust", "seconds": 300}))["ok"]
    too_long = await leader.call("protocol.command", {"command": "adjust", "seconds": 60})
    assert too_long["error"]["code"] == "protocol" and "15 to 20" in too_long["error"]["message"]
    snap = await presenter.until(lambda s: s["version"] > version)
    assert snap["phase_duration_ms"] == 20 * MIN

    # time runs out: the phase overruns and waits for the leader
    server.clock.advance(20 * MIN)
    snap = await leader.until(lambda s: s["overrun"])
    assert snap["phase"] == "sit_back"

    # return: the presenter comes back; members by the floor (open by default)
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await presenter.until(lambda s: s["phase"] == "return")
    assert not person(snap, presenter.person_id)["muted_by_rule"]
    assert snap["floor"] == "open" and not person(snap, other.person_id)["muted_by_rule"]
    assert (await presenter.call("mic.set", {"muted": False}))["ok"]

    # open processing, then the end
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    snap = await other.until(lambda s: s["phase"] == "open")
    assert not any(p["muted_by_rule"] for p in snap["participants"])
    assert (await leader.call("protocol.command", {"command": "end"}))["ok"]
    for p in everyone:
        assert await p.event("room.ended") == {"reason": "ended"}
    snap = await other.until(lambda s: s["ended"])
    assert snap["phase"] == "closed"

    # the server kept what the issue asks: status, attendance, refusals, state
    [session] = await server.db_rows(ScheduledSession, id=w.session_id)
    assert session.status is SessionStatus.ENDED
    joins = await server.db_rows(AttendanceEvent, session_id=w.session_id, kind=AttendanceKind.JOIN)
    assert len(joins) == 12
    refusals = await server.db_rows(AuditEntry, outcome=AuditOutcome.REFUSED)
    actors = [r.actor_id for r in refusals]
    assert actors.count(presenter.person_id) == 3
    assert other.person_id in actors and co.person_id in actors
    [state] = await server.db_rows(RoomState, session_id=w.session_id)
    assert state.version == snap["version"]


async def test_thirteenth_member_is_refused(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    await leader.enter()
    for m in w.members[:12]:
        await server.peer(m).enter()
    late = server.peer(w.members[12])
    await late.connect()
    await late.call("hello", {"v": 1})
    await late.call("agreement.accept", {"version": "2"})
    reply = await late.call("join", {})
    assert reply["ok"] is False
    assert reply["error"]["code"] == "capacity"
    assert "12 member places" in reply["error"]["message"]
    snap = await leader.until(lambda s: len(s["participants"]) == 13)
    assert str(late.person_id) not in {p["person_id"] for p in snap["participants"]}


async def test_disconnect_and_reconnect_within_grace(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    a, b = server.peer(w.members[0]), server.peer(w.members[1])
    for p in (leader, a, b):
        await p.enter()
    assert (await a.call("hand.raise", {}))["ok"]
    assert (await b.call("hand.raise", {}))["ok"]
    assert (await a.call("mic.set", {"muted": True}))["ok"]
    await a.sio.disconnect()
    snap = await leader.until(lambda s: person(s, a.person_id)["presence"] == "reconnecting")
    assert snap["hands"] == [str(a.person_id), str(b.person_id)]
    server.clock.advance(30_000)
    again = server.peer(a.person_id)
    snap = await again.enter()  # a fresh connection and token: no agreement asked again
    me = person(snap, a.person_id)
    assert me["presence"] == "present" and me["self_muted"] and me["hand_raised"]
    assert snap["hands"] == [str(a.person_id), str(b.person_id)]
    kinds = [e.kind for e in await server.db_rows(AttendanceEvent, person_id=a.person_id)]
    assert kinds == [AttendanceKind.JOIN, AttendanceKind.DISCONNECT, AttendanceKind.RECONNECT]
    # past the grace period a dropped member has left and loses their place in the queue
    await b.sio.disconnect()
    await leader.until(lambda s: person(s, b.person_id)["presence"] == "reconnecting")
    server.clock.advance(60_000)
    snap = await leader.until(lambda s: person(s, b.person_id)["presence"] == "left")
    assert snap["hands"] == [str(a.person_id)]
    kinds = [e.kind for e in await server.db_rows(AttendanceEvent, person_id=b.person_id)]
    assert kinds == [AttendanceKind.JOIN, AttendanceKind.DISCONNECT, AttendanceKind.LEAVE]


async def test_restart_in_sit_back_resumes(server: Server) -> None:
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    members = [server.peer(m) for m in w.members[:4]]
    for p in (leader, *members):
        await p.enter()
    presenter = members[0]
    ok = await leader.call(
        "protocol.command", {"command": "set_presenter", "person_id": str(presenter.person_id)}
    )
    assert ok["ok"], ok
    for _ in range(3):
        assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    before = await presenter.until(lambda s: s["phase"] == "sit_back")
    server.clock.advance(4 * MIN)

    await server.stop()  # every client drops with the server
    server.clock.advance(2_000)
    await server.start()

    leader2 = server.peer(w.leader, GroupRole.LEADER)
    presenter2 = server.peer(presenter.person_id)
    snap = await leader2.enter()
    assert snap["phase"] == "sit_back"
    assert snap["presenter_id"] == str(presenter.person_id)
    assert snap["phase_ends_at_ms"] == before["phase_ends_at_ms"]
    assert snap["remaining_ms"] == 15 * MIN - 4 * MIN - 2_000
    assert snap["version"] > before["version"]
    snap = await presenter2.enter()
    me = person(snap, presenter.person_id)
    assert me["presence"] == "present" and me["muted_by_rule"]
    reply = await presenter2.call("mic.set", {"muted": False})
    assert reply["error"]["code"] == "protocol"
    # the phase timer was re-armed: the sit-back still overruns at its planned end
    server.clock.advance(11 * MIN)
    snap = await leader2.until(lambda s: s["overrun"])
    assert snap["phase"] == "sit_back"
