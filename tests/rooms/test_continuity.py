"""Leader continuity in one room with fake ports (server/rooms/continuity.py): the takeover
time is the group's, a late leader is not a lost one, a stand-in survives a restart, and the
leader gets leading back on return."""

from __future__ import annotations

from server.domain import AuditOutcome, GroupRole
from server.rooms.commands import Disconnect, Verb

from .conftest import CO_LEADER, LEADER, MEMBERS, SESSION, Env

SEC = 1000


def lead_events(env: Env) -> list[dict[str, object]]:
    return [p for s, e, p in env.out.events if s == SESSION and e == "room.lead"]


async def drop(env: Env, person: int) -> None:
    room = await env.room()
    await room.submit(Disconnect(person_id=person, sid=f"sid-{person}"))


async def test_the_takeover_time_is_the_groups_setting(env: Env) -> None:
    env.store.add_session(SESSION, settings={"takeover_seconds": 10})
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(CO_LEADER, GroupRole.CO_LEADER)
    await env.join(MEMBERS[0])
    await drop(env, LEADER)
    env.clock.advance(10 * SEC - 1)
    await env.settle()
    assert env.out.last(SESSION)["stand_in"] is None and lead_events(env) == []
    env.clock.advance(1)
    await env.settle()
    assert env.out.last(SESSION)["stand_in"] == str(CO_LEADER)
    assert lead_events(env) == [{"stand_in": "2", "reason": "leader_lost", "by": None}]
    [entry] = [a for a in env.store.audits if a["action"] == "room.lead"]
    assert entry["outcome"] is AuditOutcome.ALLOWED and entry["actor_id"] is None
    # the leader comes back: leading is theirs again, announced
    await env.join(LEADER, GroupRole.LEADER, sid="sid-1b")
    snap = env.out.last(SESSION)
    assert snap["stand_in"] is None
    co = next(p for p in snap["participants"] if p["person_id"] == str(CO_LEADER))
    assert "lead" not in co["capabilities"]
    assert lead_events(env)[-1] == {"stand_in": None, "reason": None, "by": None}


async def test_a_late_leader_is_not_a_lost_one(env: Env) -> None:
    await env.join(CO_LEADER, GroupRole.CO_LEADER)
    await env.join(MEMBERS[0])
    env.clock.advance(120 * SEC)
    await env.settle()
    assert env.out.last(SESSION)["stand_in"] is None and lead_events(env) == []


async def test_a_stand_in_survives_a_restart_and_ends_when_the_leader_returns(
    env: Env,
) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(CO_LEADER, GroupRole.CO_LEADER)
    await env.act(LEADER, Verb.HAND_OVER, target=CO_LEADER)
    assert env.out.last(SESSION)["lead_reason"] == "handed_over"
    await env.restart()
    await env.join(CO_LEADER, GroupRole.CO_LEADER, sid="sid-2b")
    snap = env.out.last(SESSION)
    assert snap["stand_in"] == str(CO_LEADER) and snap["lead_reason"] == "handed_over"
    await env.join(LEADER, GroupRole.LEADER, sid="sid-1b")  # back after being away
    assert env.out.last(SESSION)["stand_in"] is None
