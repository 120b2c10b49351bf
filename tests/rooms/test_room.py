"""A room driven through its queue with fake ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.domain import AttendanceKind, AuditOutcome, GroupRole, SessionStatus
from server.errors import CapacityReached, Conflict, Gone, NotFound, PermissionDenied, ProtocolError
from server.protocols.base import Floor
from server.rooms.commands import Disconnect, Leave, Note, SetCam, SetMic, Verb

from .conftest import CO_LEADER, LEADER, MEMBERS, SESSION, Env

PRESENTER = MEMBERS[0]
MIN = 60_000


async def full_room(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(CO_LEADER, GroupRole.CO_LEADER)
    for m in MEMBERS[:12]:
        await env.join(m)


def attendance(env: Env, person: int) -> list[AttendanceKind]:
    return [a.kind for s, a in env.store.attendance if a.person_id == person]


async def test_capacity_counts_members_not_leaders(env: Env) -> None:
    await full_room(env)
    with pytest.raises(CapacityReached, match="full: all 12 member places"):
        await env.join(MEMBERS[12])
    snap = env.out.last(SESSION)
    assert len(snap["participants"]) == 14
    assert attendance(env, MEMBERS[12]) == []
    # a member who leaves frees a place
    room = await env.room()
    await room.submit(Leave(person_id=MEMBERS[0], sid=f"sid-{MEMBERS[0]}"))
    await env.join(MEMBERS[12])


async def test_join_acks_with_a_snapshot_and_attaches(env: Env) -> None:
    ack = await env.join(LEADER, GroupRole.LEADER)
    snap = ack["snapshot"]
    assert snap["phase"] == "waiting" and snap["version"] >= 1
    assert snap["server_time_ms"] == env.clock.now_ms()
    assert env.out.attached["sid-1"] == (SESSION, True)
    assert [p["person_id"] for p in snap["participants"]] == ["1"]
    assert "lead" in snap["participants"][0]["capabilities"]
    assert attendance(env, LEADER) == [AttendanceKind.JOIN]
    # joining again from the same connection changes nothing
    again = await env.join(LEADER, GroupRole.LEADER)
    assert again["snapshot"]["version"] == snap["version"]


async def test_balint_sit_back_cuts_the_presenter(env: Env) -> None:
    env.store.add_session(SESSION, settings={"questions_floor": "hands"})
    await full_room(env)
    await env.act(PRESENTER, Verb.RAISE_HAND)
    await env.act(LEADER, Verb.ACCEPT_HAND)
    assert env.out.last(SESSION)["presenter_id"] == str(PRESENTER)
    for _ in range(3):
        await env.act(LEADER, Verb.ADVANCE)
    snap = env.out.last(SESSION)
    assert snap["phase"] == "sit_back"
    assert snap["phase_ends_at_ms"] == env.clock.now_ms() + 15 * MIN
    me = next(p for p in snap["participants"] if p["person_id"] == str(PRESENTER))
    assert me["role"] == "presenter" and me["muted_by_rule"] and "speak" not in me["capabilities"]
    assert env.media.may_speak(str(SESSION), str(PRESENTER)) is False
    assert env.media.may_speak(str(SESSION), str(MEMBERS[1])) is True
    room = await env.room()
    version = room.version
    with pytest.raises(ProtocolError, match="sit_back"):
        await room.submit(SetMic(person_id=PRESENTER, sid=f"sid-{PRESENTER}", muted=False))
    with pytest.raises(PermissionDenied):
        await env.act(PRESENTER, Verb.ADVANCE)
    assert room.version == version
    refused = [a for a in env.store.audits if a["outcome"] is AuditOutcome.REFUSED]
    assert [a["actor_id"] for a in refused] == [PRESENTER, PRESENTER]
    assert refused[0]["details"]["phase"] == "sit_back"
    # return: the presenter speaks again, members wait to be called on
    await env.act(LEADER, Verb.ADVANCE)
    assert env.media.may_speak(str(SESSION), str(PRESENTER)) is True
    assert env.media.may_speak(str(SESSION), str(MEMBERS[1])) is False
    await env.act(LEADER, Verb.CALL_ON, target=MEMBERS[1])
    assert env.media.may_speak(str(SESSION), str(MEMBERS[1])) is True


async def test_members_cannot_lead_and_nothing_changes(env: Env) -> None:
    await full_room(env)
    room = await env.room()
    version = room.version
    for verb in (Verb.ADVANCE, Verb.END, Verb.PAUSE, Verb.SET_FLOOR):
        with pytest.raises(PermissionDenied):
            await env.act(MEMBERS[3], verb, floor=Floor.OPEN)
    with pytest.raises(PermissionDenied):
        await room.submit(Note(person_id=MEMBERS[3], sid=f"sid-{MEMBERS[3]}", text="x"))
    assert room.version == version
    assert len(env.store.audits) == 5


async def test_acting_in_a_room_one_is_not_in(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    with pytest.raises(PermissionDenied, match="not in this room"):
        await env.act(MEMBERS[0], Verb.RAISE_HAND)
    with pytest.raises(PermissionDenied, match="not in this room"):
        await env.act(LEADER, Verb.ADVANCE, sid="someone-elses-socket")
    assert len(env.store.audits) == 2


async def test_bad_targets_are_refused(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(MEMBERS[0])
    with pytest.raises(NotFound):
        await env.act(LEADER, Verb.SET_PRESENTER, target=999)
    with pytest.raises(ProtocolError, match="must be a member"):
        await env.act(LEADER, Verb.SET_PRESENTER, target=LEADER)


async def test_overrun_without_auto_advance(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(PRESENTER)
    await env.act(LEADER, Verb.SET_PRESENTER, target=PRESENTER)
    await env.act(LEADER, Verb.ADVANCE)
    env.clock.advance(10 * MIN - 1)
    await env.settle()
    assert not env.out.last(SESSION)["overrun"]
    env.clock.advance(1)
    await env.settle()
    snap = env.out.last(SESSION)
    assert snap["overrun"] and snap["phase"] == "presentation"


async def test_auto_advance_moves_on(env: Env) -> None:
    env.store.add_session(SESSION, settings={"auto_advance": True})
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(PRESENTER)
    await env.act(LEADER, Verb.SET_PRESENTER, target=PRESENTER)
    await env.act(LEADER, Verb.ADVANCE)
    env.clock.advance(10 * MIN)
    await env.settle()
    assert env.out.last(SESSION)["phase"] == "questions"


async def test_pause_keeps_the_remaining_time(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(PRESENTER)
    await env.act(LEADER, Verb.SET_PRESENTER, target=PRESENTER)
    await env.act(LEADER, Verb.ADVANCE)
    env.clock.advance(2 * MIN)
    await env.act(LEADER, Verb.PAUSE)
    env.clock.advance(30 * MIN)
    await env.settle()
    snap = env.out.last(SESSION)
    assert snap["paused"] and not snap["overrun"] and snap["phase_ends_at_ms"] is None
    await env.act(LEADER, Verb.RESUME)
    snap = env.out.last(SESSION)
    assert snap["remaining_ms"] == 8 * MIN
    assert snap["phase_ends_at_ms"] == env.clock.now_ms() + 8 * MIN


async def test_disconnect_and_reconnect_keep_place_and_mute(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    for m in MEMBERS[:3]:
        await env.join(m)
        await env.act(m, Verb.RAISE_HAND)
    room = await env.room()
    await room.submit(SetMic(person_id=MEMBERS[1], sid=f"sid-{MEMBERS[1]}", muted=True))
    await room.submit(Disconnect(person_id=MEMBERS[1], sid=f"sid-{MEMBERS[1]}"))
    snap = env.out.last(SESSION)
    me = next(p for p in snap["participants"] if p["person_id"] == str(MEMBERS[1]))
    assert me["presence"] == "reconnecting" and snap["hands"] == [str(m) for m in MEMBERS[:3]]
    env.clock.advance(59_000)
    await env.settle()
    await env.join(MEMBERS[1], sid="new-socket")
    snap = env.out.last(SESSION)
    me = next(p for p in snap["participants"] if p["person_id"] == str(MEMBERS[1]))
    assert me["presence"] == "present" and me["self_muted"]
    assert snap["hands"] == [str(m) for m in MEMBERS[:3]]
    env.clock.advance(10 * MIN)  # the old grace timer must not fire now
    await env.settle()
    assert attendance(env, MEMBERS[1]) == [
        AttendanceKind.JOIN,
        AttendanceKind.DISCONNECT,
        AttendanceKind.RECONNECT,
    ]


async def test_grace_expiry_is_a_leave(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(MEMBERS[0])
    await env.act(MEMBERS[0], Verb.RAISE_HAND)
    room = await env.room()
    await room.submit(Disconnect(person_id=MEMBERS[0], sid=f"sid-{MEMBERS[0]}"))
    env.clock.advance(60_000)
    await env.settle()
    snap = env.out.last(SESSION)
    assert snap["hands"] == []
    assert attendance(env, MEMBERS[0])[-1] is AttendanceKind.LEAVE
    reasons = [a.reason for s, a in env.store.attendance if a.kind is AttendanceKind.LEAVE]
    assert reasons == ["did not reconnect within the grace period"]


async def test_a_second_connection_replaces_the_first(env: Env) -> None:
    await env.join(MEMBERS[0])
    await env.join(MEMBERS[0], sid="tab-2")
    assert env.out.dropped == [f"sid-{MEMBERS[0]}"]
    room = await env.room()
    # the old socket's disconnect arrives late and must not count
    await room.submit(Disconnect(person_id=MEMBERS[0], sid=f"sid-{MEMBERS[0]}"))
    assert room.is_present(MEMBERS[0], "tab-2")


async def test_restart_in_sit_back_resumes(env: Env) -> None:
    await full_room(env)
    await env.act(LEADER, Verb.SET_PRESENTER, target=PRESENTER)
    for _ in range(3):
        await env.act(LEADER, Verb.ADVANCE)
    env.clock.advance(5 * MIN)
    before = env.out.last(SESSION)
    assert before["phase"] == "sit_back"
    await env.restart()
    env.clock.advance(3_000)  # the server was down for 3 seconds
    room = await env.room()
    snap = env.out.last(SESSION)
    assert snap["version"] > before["version"]
    assert snap["phase"] == "sit_back" and snap["presenter_id"] == str(PRESENTER)
    assert snap["phase_ends_at_ms"] == before["phase_ends_at_ms"]
    assert snap["remaining_ms"] == 10 * MIN - 3_000
    assert {p["presence"] for p in snap["participants"]} == {"reconnecting"}
    # clients reconnect into it; the presenter is still cut
    await env.join(PRESENTER, sid="after-restart")
    assert env.media.may_speak(str(SESSION), str(PRESENTER)) is False
    with pytest.raises(ProtocolError):
        await room.submit(SetMic(person_id=PRESENTER, sid="after-restart", muted=False))
    # the graceful stop wrote the leave at its own time, not at the member's return
    assert attendance(env, PRESENTER)[-2:] == [AttendanceKind.LEAVE, AttendanceKind.RECONNECT]
    leave = [a for s, a in env.store.attendance if a.person_id == PRESENTER][-2]
    assert (leave.reason, leave.at_ms) == ("server stopped", env.clock.now_ms() - 3_000)
    # and the phase timer still fires at the same planned end
    env.clock.advance(10 * MIN - 3_000)
    await env.settle()
    assert env.out.last(SESSION)["overrun"]


async def test_not_open_yet_and_ended(env: Env) -> None:
    start = datetime.fromtimestamp(env.clock.now_ms() / 1000, tz=UTC) + timedelta(hours=1)
    env.store.add_session(8, status=SessionStatus.SCHEDULED, starts_at=start)
    room = await env.manager.get(8)
    from server.rooms.commands import Join

    with pytest.raises(Conflict, match="opens 10 minutes before") as info:
        await room.submit(
            Join(
                person_id=5,
                sid="s",
                display_name="x",
                group_role=GroupRole.MEMBER,
                agreement_accepted=True,
            )
        )
    assert info.value.code == "not_open"
    # leaders may open the room early; the status becomes open
    await room.submit(
        Join(
            person_id=1,
            sid="l",
            display_name="L",
            group_role=GroupRole.LEADER,
            agreement_accepted=True,
        )
    )
    assert (8, SessionStatus.OPEN) in env.store.statuses
    from server.rooms.commands import Act

    await room.submit(Act(person_id=1, sid="l", verb=Verb.END))
    assert (8, SessionStatus.ENDED) in env.store.statuses
    assert any(e[1] == "room.ended" for e in env.out.events)
    with pytest.raises(Gone):
        await room.submit(
            Join(
                person_id=6,
                sid="t",
                display_name="y",
                group_role=GroupRole.MEMBER,
                agreement_accepted=True,
            )
        )


async def test_status_goes_live_when_the_session_starts(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(PRESENTER)
    await env.act(LEADER, Verb.SET_PRESENTER, target=PRESENTER)
    await env.act(LEADER, Verb.ADVANCE)
    assert (SESSION, SessionStatus.LIVE) in env.store.statuses


async def test_camera_and_notes(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    await env.join(MEMBERS[0])
    room = await env.room()
    await room.submit(SetCam(person_id=MEMBERS[0], sid=f"sid-{MEMBERS[0]}", off=True))
    assert env.media.rights[(str(SESSION), str(MEMBERS[0]))] == (True, False)
    ack = await room.submit(Note(person_id=LEADER, sid="sid-1", text="watch P101"))
    assert ack == {"version": 1}
    assert env.out.events[-1] == (
        SESSION,
        "room.note",
        {"text": "watch P101", "version": 1, "by": "1"},
    )


async def test_room_closes_when_ended_and_empty(env: Env) -> None:
    await env.join(LEADER, GroupRole.LEADER)
    room = await env.room()
    await env.act(LEADER, Verb.END)
    await room.submit(Leave(person_id=LEADER, sid="sid-1"))
    await room.wait_closed()
    assert room.done
    with pytest.raises(Gone):
        await room.submit(Leave(person_id=LEADER, sid="sid-1"))
    # a new get restores the ended room, which refuses joins
    with pytest.raises(Gone):
        await env.join(LEADER, GroupRole.LEADER)


async def test_the_media_room_is_opened_with_credentials_ending_with_the_join_window(
    env: Env,
) -> None:
    """Issue 14, item 19: TURN credentials no longer than the session. The room opens its media
    room with the end of the join window (planned end + the late-join half hour)."""
    await env.join(1, GroupRole.LEADER)
    info = (await env.room()).info
    closes = info.starts_at + timedelta(minutes=info.duration_minutes + 30)
    assert env.media.credentials_until[str(SESSION)] == closes.timestamp()
