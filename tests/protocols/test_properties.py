"""Property-based: random command sequences from random people never break the protocol rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import GroupRole
from server.errors import PermissionDenied, ProtocolError
from server.protocols import balint
from server.protocols.base import (
    AcceptHand,
    ActorCommand,
    Adjust,
    Advance,
    Back,
    CallOn,
    Capability,
    Command,
    End,
    Floor,
    HandOver,
    LeaderBack,
    LowerHand,
    Pause,
    PhaseChanged,
    ProtocolSpec,
    RaiseHand,
    ReleaseUnled,
    Resume,
    SetFloor,
    SetPresenter,
    StandIn,
    TimerFired,
)
from server.protocols.engine import apply
from server.protocols.registry import PROTOCOLS
from server.rooms.capabilities import effective, session_role

from .helpers import CO_LEADER, LEADER, MEMBERS, MIN, ROLES, T0, actor

PEOPLE = (LEADER, CO_LEADER, *MEMBERS[:5])
KINDS = (
    "advance",
    "back",
    "pause",
    "resume",
    "end",
    "adjust",
    "set_presenter",
    "accept_hand",
    "call_on",
    "clear",
    "floor",
    "raise",
    "lower",
    "lower_other",
    "timer",
    "hand_over",
    "stand_in",
    "leader_back",
    "release_unled",
)

step = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from(KINDS),
    st.sampled_from(PEOPLE),
    st.integers(min_value=-20 * 60, max_value=20 * 60),
    st.integers(min_value=0, max_value=25 * MIN),
)


def build(
    spec: ProtocolSpec, state: object, who: int, kind: str, target: int, seconds: int
) -> Command:
    from server.protocols.base import ProtocolState

    assert isinstance(state, ProtocolState)
    a = actor(spec, state, who)
    role = session_role(state, target, ROLES[target])
    match kind:
        case "advance":
            return Advance(a)
        case "back":
            return Back(a)
        case "pause":
            return Pause(a)
        case "resume":
            return Resume(a)
        case "end":
            return End(a) if seconds % 7 == 0 else Advance(a)  # ending is rarer
        case "adjust":
            return Adjust(a, seconds)
        case "set_presenter":
            return SetPresenter(a, target, role)
        case "accept_hand":
            return AcceptHand(a, None, role)
        case "call_on":
            return CallOn(a, target if seconds % 2 else None)
        case "clear":
            return CallOn(a, clear=True)
        case "floor":
            return SetFloor(a, Floor.OPEN if seconds % 2 else Floor.HANDS)
        case "raise":
            return RaiseHand(a)
        case "lower":
            return LowerHand(a)
        case "lower_other":
            return LowerHand(a, target)
        case "hand_over":
            lead_role = ROLES[target] is not GroupRole.MEMBER
            return HandOver(a, target, ROLES[target] is GroupRole.LEADER, lead_role)
        case "stand_in":
            return StandIn(CO_LEADER)
        case "leader_back":
            return LeaderBack()
        case "release_unled":
            return ReleaseUnled(state.epoch)
    return TimerFired(state.epoch)


def check_protocol(
    spec: ProtocolSpec, steps: list[tuple[int, str, int, int, int]], fmt: int = 0
) -> None:
    now = T0
    formats = spec.formats
    chosen = {"format": formats[fmt % len(formats)]} if "format" in spec.settings else {}
    state = spec.initial(spec.config(chosen), now)
    for who, kind, target, seconds, dt in steps:
        now += dt
        command = build(spec, state, who, kind, target, seconds)
        try:
            new, effects = apply(spec, state, command, now)
        except PermissionDenied:
            assert isinstance(command, ActorCommand)
            assert command.required not in command.actor.capabilities or (
                isinstance(command, LowerHand)
                and Capability.MODERATE not in command.actor.capabilities
            )
            continue
        except ProtocolError:
            continue
        # every command that went through was given by someone holding its capability
        if isinstance(command, ActorCommand) and command.required is not None:
            assert command.required in command.actor.capabilities
        # phases move only to the next, the previous, or the closed room
        for effect in effects:
            if isinstance(effect, PhaseChanged):
                skipped = state.config.skipped
                assert effect.new in (
                    spec.next(effect.old, skipped),
                    spec.previous(effect.old, skipped),
                    spec.closed,
                )
                assert effect.new.value not in skipped
                if spec.row(effect.new).requires_presenter:
                    assert new.presenter_id is not None
        # planned durations stay within the table's bounds
        row = spec.row(new.phase)
        if row.timed:
            assert new.phase_duration_ms is not None
            assert row.min_min is not None and row.max_min is not None
            assert row.min_min * MIN <= new.phase_duration_ms <= row.max_min * MIN
        else:
            assert new.phase_duration_ms is None
        assert len(set(new.hands)) == len(new.hands)
        assert new.ended == (new.phase == spec.closed)
        if new.ended:
            assert not any(Capability.SPEAK in effective(spec, new, p, ROLES[p]) for p in PEOPLE)
        state = new
        check_balint_rules(spec, state)


def check_balint_rules(spec: ProtocolSpec, state: object) -> None:
    from server.protocols.base import ProtocolState

    assert isinstance(state, ProtocolState)
    if spec is not balint.SPEC:
        return
    speaking = {p for p in PEOPLE if Capability.SPEAK in effective(spec, state, p, ROLES[p])}
    if state.phase == balint.Phase.SIT_BACK:
        assert state.presenter_id is not None and state.presenter_id not in speaking
    if state.phase == balint.Phase.PRESENTATION:
        members = {p for p in PEOPLE if ROLES[p] is GroupRole.MEMBER}
        assert speaking & members <= {state.presenter_id}


@settings(max_examples=400, deadline=None)
@given(st.lists(step, min_size=1, max_size=60))
def test_balint_random_sessions(steps: list[tuple[int, str, int, int, int]]) -> None:
    check_protocol(balint.SPEC, steps)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(PROTOCOLS.values())),
    st.lists(step, min_size=1, max_size=40),
    st.integers(min_value=0, max_value=5),
)
def test_every_protocol_random_sessions(
    spec: ProtocolSpec, steps: list[tuple[int, str, int, int, int]], fmt: int
) -> None:
    check_protocol(spec, steps, fmt)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, min_size=1, max_size=80))
def test_balint_leader_driven_sessions_reach_sit_back(
    steps: list[tuple[int, str, int, int, int]],
) -> None:
    """Bias towards progress: a presenter is set first, so sit-back is reached often."""
    spec = balint.SPEC
    state = spec.initial(spec.config(), T0)
    state, _ = apply(
        spec,
        state,
        SetPresenter(
            actor(spec, state, LEADER),
            MEMBERS[0],
            session_role(state, MEMBERS[0], GroupRole.MEMBER),
        ),
        T0,
    )
    for _ in range(3):
        state, _ = apply(spec, state, Advance(actor(spec, state, LEADER)), T0)
    assert state.phase == balint.Phase.SIT_BACK
    check_balint_rules(spec, state)
    # continue randomly from sit-back
    now = T0
    for who, kind, target, seconds, dt in steps:
        now += dt
        command = build(spec, state, who, kind, target, seconds)
        try:
            state, _ = apply(spec, state, command, now)
        except (PermissionDenied, ProtocolError):
            continue
        check_balint_rules(spec, state)
