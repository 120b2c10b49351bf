"""The room's side of the session's life (issue 11): commit order, and retiring by itself."""

from __future__ import annotations

import asyncio
from typing import Any

from server.domain import AuditOutcome, GroupRole, SessionStatus
from server.lifecycle import LATE_JOIN, NO_ONE_ENDED_IT
from server.rooms.commands import Leave, Verb

from .conftest import LEADER, MEMBERS, SESSION, Env
from .test_room import full_room

PRESENTER = MEMBERS[0]
MIN = 60_000


async def test_the_media_gate_comes_before_the_broadcast(env: Env) -> None:
    """Defect 6: a revoked right to speak is cut before anyone is told (gate, save, broadcast)."""
    await full_room(env)
    await env.act(PRESENTER, Verb.RAISE_HAND)
    await env.act(LEADER, Verb.ACCEPT_HAND)
    order: list[str] = []
    set_caps, snapshot, save = env.media.set_capabilities, env.out.snapshot, env.store.save

    def gate(room_id: str, participant_id: str, **kw: Any) -> None:
        if participant_id == str(PRESENTER) and not kw["may_speak"]:
            order.append("gate")
        set_caps(room_id, participant_id, **kw)

    async def told(session_id: int, payload: Any) -> None:
        if payload["phase"] == "sit_back":
            order.append("broadcast")
        await snapshot(session_id, payload)

    async def saved(session_id: int, **kw: Any) -> Any:
        if kw["state"]["protocol"]["phase"] == "sit_back":
            order.append("save")
        return await save(session_id, **kw)

    env.media.set_capabilities = gate  # type: ignore[method-assign]
    env.out.snapshot = told  # type: ignore[method-assign]
    env.store.save = saved  # type: ignore[method-assign]
    for _ in range(3):
        await env.act(LEADER, Verb.ADVANCE)
    assert env.out.last(SESSION)["phase"] == "sit_back"
    assert order == ["gate", "save", "broadcast"]


async def test_an_empty_room_past_its_window_ends_the_session_and_retires(env: Env) -> None:
    """Defect 2: the leader never pressed End and everyone left; at the end of the join window
    the room ends the session (no one ended it, audited), stops, and gives everything up."""
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(PRESENTER)
    await env.act(LEADER, Verb.SET_PRESENTER, target=PRESENTER)
    await env.act(LEADER, Verb.ADVANCE)
    room = await env.room()
    for person in (LEADER, PRESENTER):
        await room.submit(Leave(person_id=person, sid=f"sid-{person}"))
    assert env.store.current[SESSION] is SessionStatus.LIVE
    assert str(SESSION) in env.media.participants  # the media room is still open
    env.clock.advance(60 * MIN + int(LATE_JOIN.total_seconds() * 1000))
    await asyncio.wait_for(room.wait_closed(), 5)
    assert env.store.current[SESSION] is SessionStatus.ENDED
    assert "room.ended" in {e for _, e, _ in env.out.events}
    ends = [a for a in env.store.audits if a["action"] == "session.end"]
    assert [(a["outcome"], a["details"]["reason"]) for a in ends] == [
        (AuditOutcome.ALLOWED, NO_ONE_ENDED_IT)
    ]
    await env.settle_retired()
    assert SESSION not in env.manager.rooms
    assert SESSION not in env.store.leases  # no more lease renewal
    assert str(SESSION) not in env.media.participants  # media room (and its speaker task) closed


async def test_a_cancel_reaches_the_lobby_and_nothing_overwrites_it(env: Env) -> None:
    """Defect 1: cancelled by another writer while people wait in the lobby. The room hears it
    (Refresh, from the scheduler's hook), tells them, closes; a later save writes nothing."""
    from server.rooms.commands import Refresh

    await env.join(LEADER, GroupRole.LEADER)
    await env.join(PRESENTER)
    room = await env.room()
    env.store.set_status(SESSION, SessionStatus.CANCELLED)
    room.post(Refresh())
    await asyncio.wait_for(room.wait_closed(), 5)
    assert ("room.ended", {"reason": "cancelled"}) in [(e, p) for _, e, p in env.out.events]
    assert env.store.current[SESSION] is SessionStatus.CANCELLED
    assert (SESSION, SessionStatus.OPEN) not in env.store.statuses[-1:]


async def test_a_move_closes_the_lobby(env: Env) -> None:
    """Rooms hear the scheduler: a session moved while people wait in its lobby (back to
    ``scheduled``, later) tells them and closes the room."""
    from dataclasses import replace
    from datetime import timedelta

    from server.rooms.commands import Refresh

    await env.join(LEADER, GroupRole.LEADER)
    room = await env.room()
    info = env.store.sessions[SESSION]
    env.store.sessions[SESSION] = replace(info, starts_at=info.starts_at + timedelta(days=7))
    env.store.set_status(SESSION, SessionStatus.SCHEDULED)
    room.post(Refresh())
    await asyncio.wait_for(room.wait_closed(), 5)
    assert ("room.ended", {"reason": "moved"}) in [(e, p) for _, e, p in env.out.events]
    assert env.store.current[SESSION] is SessionStatus.SCHEDULED
