"""A Balint session command by command, and the refusals that protect it."""

from __future__ import annotations

import pytest

from server.domain import GroupRole
from server.errors import PermissionDenied, ProtocolError
from server.protocols import apply, balint
from server.protocols.base import (
    AcceptHand,
    Actor,
    Adjust,
    Advance,
    Back,
    CallOn,
    Capability,
    Command,
    End,
    Ended,
    Floor,
    Forget,
    LowerHand,
    Overran,
    Pause,
    PhaseChanged,
    PresenterChanged,
    ProtocolState,
    RaiseHand,
    Resume,
    Role,
    SetFloor,
    SetPresenter,
    TimerFired,
)
from server.rooms.capabilities import effective

from .helpers import CO_LEADER, LEADER, MEMBERS, MIN, T0, actor

P = balint.Phase
SPEC = balint.SPEC
PRESENTER = MEMBERS[0]
OTHER = MEMBERS[1]


def start(**settings: object) -> ProtocolState:
    return SPEC.initial(SPEC.config(settings), T0)


def lead(state: ProtocolState) -> Actor:
    return actor(SPEC, state, LEADER)


def run(state: ProtocolState, *commands: Command, at: int = T0) -> ProtocolState:
    for command in commands:
        state, _ = apply(state, command, at)
    return state


def at_phase(phase: balint.Phase, **settings: object) -> ProtocolState:
    state = start(**settings)
    state = run(state, SetPresenter(lead(state), PRESENTER, Role.MEMBER))
    while state.phase != phase:
        state = run(state, Advance(lead(state)))
    return state


def speaks(state: ProtocolState, person: int, role: GroupRole = GroupRole.MEMBER) -> bool:
    return Capability.SPEAK in effective(SPEC, state, person, role)


def test_a_whole_session_in_order() -> None:
    state = start()
    state = run(state, RaiseHand(actor(SPEC, state, PRESENTER)))
    assert state.hands == (PRESENTER,)
    state, effects = apply(state, AcceptHand(lead(state), None, Role.MEMBER), T0)
    assert state.presenter_id == PRESENTER and state.hands == ()
    assert effects == [PresenterChanged(None, PRESENTER)]
    seen = [state.phase]
    now = T0
    while not state.ended:
        now += MIN
        state, effects = apply(state, Advance(lead(state)), now)
        assert isinstance(effects[0], PhaseChanged)
        seen.append(state.phase)
        assert state.phase_started_at_ms == now
    assert seen == list(P)
    assert effects[-1] == Ended()


def test_presentation_needs_a_presenter() -> None:
    state = start()
    with pytest.raises(ProtocolError, match=r"phase waiting.*choose a presenter"):
        run(state, Advance(lead(state)))


@pytest.mark.parametrize(
    ("phase", "presenter", "member", "leader"),
    [
        (P.WAITING, True, True, True),
        (P.PRESENTATION, True, False, True),
        (P.QUESTIONS, True, True, True),  # the seed's free floor (default)
        (P.SIT_BACK, False, True, True),
        (P.RETURN, True, True, True),
        (P.OPEN, True, True, True),
        (P.CLOSED, False, False, False),
    ],
)
def test_who_speaks_in_each_phase(
    phase: balint.Phase, presenter: bool, member: bool, leader: bool
) -> None:
    state = at_phase(phase)
    assert speaks(state, PRESENTER) is presenter
    assert speaks(state, OTHER) is member
    assert speaks(state, LEADER, GroupRole.LEADER) is leader
    assert speaks(state, CO_LEADER, GroupRole.CO_LEADER) is leader


@pytest.mark.parametrize("phase", [P.QUESTIONS, P.RETURN])
def test_raised_hands_floor_is_the_groups_choice(phase: balint.Phase) -> None:
    assert at_phase(phase).floor is Floor.OPEN  # 001: others are welcome to ask
    state = at_phase(phase, questions_floor="hands")
    assert state.floor is Floor.HANDS
    assert not speaks(state, OTHER) and speaks(state, PRESENTER)


def test_questions_by_hand_or_open_floor() -> None:
    state = at_phase(P.QUESTIONS, questions_floor="hands")
    assert state.floor is Floor.HANDS
    state = run(state, RaiseHand(actor(SPEC, state, OTHER)))
    assert not speaks(state, OTHER)
    state = run(state, CallOn(lead(state)))
    assert state.called_on == OTHER and state.hands == () and speaks(state, OTHER)
    assert not speaks(state, MEMBERS[2])
    state = run(state, CallOn(lead(state), clear=True))
    assert not speaks(state, OTHER)
    state = run(state, SetFloor(actor(SPEC, state, CO_LEADER), Floor.OPEN))
    assert speaks(state, OTHER) and speaks(state, MEMBERS[2])
    state = run(state, Advance(lead(state)))  # sit-back resets the floor and the call
    assert state.floor is Floor.OPEN and state.called_on is None
    state = run(state, Advance(lead(state)))  # return: hands again, presenter first
    assert state.floor is Floor.HANDS and not speaks(state, OTHER) and speaks(state, PRESENTER)


def test_sit_back_cuts_the_presenter_and_they_cannot_undo_it() -> None:
    state = at_phase(P.SIT_BACK)
    assert not speaks(state, PRESENTER)
    presenter = actor(SPEC, state, PRESENTER)
    for command in (
        Advance(presenter),
        Back(presenter),
        Resume(presenter),
        End(presenter),
        SetFloor(presenter, Floor.OPEN),
        CallOn(presenter, PRESENTER),
    ):
        with pytest.raises(PermissionDenied):
            run(state, command)
    # a raised hand called on does not give a sit-back presenter the floor
    state = run(state, RaiseHand(presenter), CallOn(lead(state), PRESENTER))
    assert not speaks(state, PRESENTER)


def test_sit_back_length_comes_from_the_group() -> None:
    state = at_phase(P.SIT_BACK, sitback_minutes=20)
    assert state.phase_duration_ms == 20 * MIN
    assert state.deadline_ms() == state.phase_started_at_ms + 20 * MIN


@pytest.mark.parametrize(("seconds", "ok"), [(300, True), (301, False), (-1, False), (0, True)])
def test_adjust_within_bounds(seconds: int, ok: bool) -> None:
    state = at_phase(P.SIT_BACK)  # 15 min, bounds 15-20
    if ok:
        state = run(state, Adjust(lead(state), seconds))
        assert state.phase_duration_ms == 15 * MIN + seconds * 1000
    else:
        with pytest.raises(ProtocolError, match=r"phase sit_back.*15 to 20 minutes"):
            run(state, Adjust(lead(state), seconds))


def test_adjust_needs_a_timed_phase() -> None:
    state = start()
    with pytest.raises(ProtocolError, match="no timer"):
        run(state, Adjust(lead(state), 60))


def test_pause_and_resume_move_the_deadline() -> None:
    state = at_phase(P.PRESENTATION)
    end = state.deadline_ms()
    assert end == T0 + 10 * MIN
    state, _ = apply(state, Pause(lead(state)), T0 + MIN)
    assert state.paused and state.deadline_ms() is None
    assert state.remaining_ms(T0 + 5 * MIN) == 9 * MIN
    with pytest.raises(ProtocolError, match="already paused"):
        run(state, Pause(lead(state)))
    state, _ = apply(state, Resume(lead(state)), T0 + 3 * MIN)
    assert state.deadline_ms() == end + 2 * MIN
    assert state.remaining_ms(T0 + 3 * MIN) == 9 * MIN
    with pytest.raises(ProtocolError, match="not paused"):
        run(state, Resume(lead(state)))


def test_time_running_out_overruns_without_auto_advance() -> None:
    state = at_phase(P.PRESENTATION)
    deadline = state.deadline_ms()
    assert deadline is not None
    early, effects = apply(state, TimerFired(state.epoch), deadline - 1)
    assert early == state and effects == []
    stale, effects = apply(state, TimerFired(state.epoch - 1), deadline + 1)
    assert stale == state and effects == []
    late, effects = apply(state, TimerFired(state.epoch), deadline)
    assert late.overrun and late.phase == P.PRESENTATION and effects == [Overran(P.PRESENTATION)]
    extended = run(late, Adjust(lead(late), 60), at=deadline)
    assert not extended.overrun


def test_auto_advance_when_the_group_chose_it() -> None:
    state = at_phase(P.SIT_BACK, auto_advance=True)
    deadline = state.deadline_ms()
    assert deadline is not None
    state, effects = apply(state, TimerFired(state.epoch), deadline)
    assert state.phase == P.RETURN and effects == [PhaseChanged(P.SIT_BACK, P.RETURN)]


def test_back_goes_one_phase_and_restarts_it() -> None:
    state = at_phase(P.SIT_BACK)
    state, effects = apply(state, Back(lead(state)), T0 + 5 * MIN)
    assert state.phase == P.QUESTIONS and state.phase_started_at_ms == T0 + 5 * MIN
    assert effects == [PhaseChanged(P.SIT_BACK, P.QUESTIONS)]
    state = start()
    with pytest.raises(ProtocolError, match="first phase"):
        run(state, Back(lead(state)))


def test_presenter_is_a_member_and_fixed_after_the_presentation() -> None:
    state = start()
    with pytest.raises(ProtocolError, match="must be a member"):
        run(state, SetPresenter(lead(state), LEADER, Role.LEADER))
    state = at_phase(P.QUESTIONS)
    with pytest.raises(ProtocolError, match="phase questions"):
        run(state, SetPresenter(lead(state), OTHER, Role.MEMBER))
    state = start()
    with pytest.raises(ProtocolError, match="no hand"):
        run(state, AcceptHand(lead(state), None, Role.MEMBER))
    with pytest.raises(ProtocolError, match="not raised"):
        run(state, AcceptHand(lead(state), OTHER, Role.MEMBER))


def test_end_from_any_phase_and_nothing_after() -> None:
    for phase in list(P)[:-1]:
        state = at_phase(phase)
        state = run(state, End(lead(state)))
        assert state.ended and state.phase == P.CLOSED
        with pytest.raises(ProtocolError, match="ended"):
            run(state, Advance(Actor(LEADER, frozenset(Capability))))


def test_hands_in_order_and_lowering() -> None:
    state = start()
    for m in MEMBERS[:3]:
        state = run(state, RaiseHand(actor(SPEC, state, m)))
    assert state.hands == MEMBERS[:3]
    with pytest.raises(ProtocolError, match="already raised"):
        run(state, RaiseHand(actor(SPEC, state, MEMBERS[0])))
    with pytest.raises(PermissionDenied):
        run(state, LowerHand(actor(SPEC, state, MEMBERS[0]), MEMBERS[1]))
    state = run(state, LowerHand(actor(SPEC, state, MEMBERS[0])))
    state = run(state, LowerHand(lead(state), MEMBERS[2]))
    assert state.hands == (MEMBERS[1],)
    state = run(state, Forget(MEMBERS[1]))
    assert state.hands == ()


@pytest.mark.parametrize(
    "make",
    [
        lambda a: Advance(a),
        lambda a: Back(a),
        lambda a: Pause(a),
        lambda a: Resume(a),
        lambda a: End(a),
        lambda a: Adjust(a, 60),
        lambda a: SetPresenter(a, OTHER, Role.MEMBER),
        lambda a: AcceptHand(a, None, Role.MEMBER),
        lambda a: CallOn(a),
        lambda a: SetFloor(a, Floor.OPEN),
    ],
)
@pytest.mark.parametrize("person", [PRESENTER, OTHER])
def test_members_and_presenter_cannot_lead(make, person: int) -> None:
    for phase in P:
        state = at_phase(phase)
        command = make(actor(SPEC, state, person))
        with pytest.raises((PermissionDenied, ProtocolError)) as info:
            run(state, command)
        if not state.ended:
            assert isinstance(info.value, PermissionDenied)
