"""The pure parts of issue 15: who leads (stand-in, hand-over), the unled sit-back's end, the
presenter's video setting, the booked length, and dynamic therapy's two formats."""

from __future__ import annotations

import pytest

from server.domain import GroupRole
from server.errors import PermissionDenied, ProtocolError, UserError
from server.protocols import apply, balint, dynamic
from server.protocols.base import (
    Advance,
    Back,
    Capability,
    Floor,
    HandOver,
    LeadChanged,
    LeaderBack,
    LeadReason,
    Pause,
    ProtocolState,
    ReleaseUnled,
    Role,
    SetPresenter,
    StandIn,
)
from server.protocols.codec import state_from_json, state_to_json
from server.rooms.capabilities import effective

from .helpers import CO_LEADER, LEADER, MEMBERS, MIN, T0, actor

B = balint.Phase
PRESENTER = MEMBERS[0]


def sit_back(**settings: object) -> ProtocolState:
    spec = balint.SPEC
    state = spec.initial(spec.config(settings), T0)
    state, _ = apply(state, SetPresenter(actor(spec, state, LEADER), PRESENTER, Role.MEMBER), T0)
    for _ in range(3):
        state, _ = apply(state, Advance(actor(spec, state, LEADER)), T0)
    assert state.phase is B.SIT_BACK
    return state


def caps(state: ProtocolState, person: int, role: GroupRole) -> frozenset[Capability]:
    return effective(balint.SPEC, state, person, role)


def test_a_stand_in_leads_and_the_leader_gets_it_back() -> None:
    state = sit_back()
    assert Capability.LEAD not in caps(state, CO_LEADER, GroupRole.CO_LEADER)
    assert Capability.STAND_IN in caps(state, CO_LEADER, GroupRole.CO_LEADER)
    state, effects = apply(state, StandIn(CO_LEADER), T0)
    assert (state.stand_in, state.lead_reason, state.lead_by) == (
        CO_LEADER,
        LeadReason.LEADER_LOST,
        None,
    )
    assert effects == [LeadChanged(CO_LEADER, LeadReason.LEADER_LOST)]
    assert Capability.LEAD in caps(state, CO_LEADER, GroupRole.CO_LEADER)
    # the stand-in moves the phases; a member still cannot
    moved, _ = apply(state, Advance(actor(balint.SPEC, state, CO_LEADER)), T0 + MIN)
    assert moved.phase is B.RETURN
    with pytest.raises(PermissionDenied):
        apply(state, Advance(actor(balint.SPEC, state, MEMBERS[1])), T0)
    # saved and restored with the room
    assert state_from_json(state_to_json(state)) == state
    state, effects = apply(state, LeaderBack(), T0)
    assert state.stand_in is None and effects == [LeadChanged(None, None)]
    assert Capability.LEAD not in caps(state, CO_LEADER, GroupRole.CO_LEADER)
    assert apply(state, LeaderBack(), T0) == (state, [])  # nothing to give back


def test_hand_over_needs_lead_and_someone_who_may_lead() -> None:
    state = sit_back()
    lead = actor(balint.SPEC, state, LEADER)
    with pytest.raises(ProtocolError, match="cannot lead"):
        apply(state, HandOver(lead, MEMBERS[1], back=False, eligible=False), T0)
    with pytest.raises(PermissionDenied):
        apply(state, HandOver(actor(balint.SPEC, state, CO_LEADER), CO_LEADER), T0)
    with pytest.raises(ProtocolError, match="leads already"):
        apply(state, HandOver(lead, LEADER, back=True), T0)
    state, _ = apply(state, HandOver(lead, CO_LEADER), T0)
    assert (state.stand_in, state.lead_reason, state.lead_by) == (
        CO_LEADER,
        LeadReason.HANDED_OVER,
        LEADER,
    )
    with pytest.raises(ProtocolError, match="leads already"):
        apply(state, HandOver(lead, CO_LEADER), T0)
    state, _ = apply(state, HandOver(actor(balint.SPEC, state, CO_LEADER), LEADER, back=True), T0)
    assert state.stand_in is None and state.lead_by == CO_LEADER


def test_unled_sit_back_ends_at_its_maximum_with_the_floor_open() -> None:
    state = sit_back(questions_floor="hands")
    assert apply(state, ReleaseUnled(state.epoch), T0 + 20 * MIN - 1) == (state, [])
    assert apply(state, ReleaseUnled(state.epoch - 1), T0 + 20 * MIN) == (state, [])
    released, _ = apply(state, ReleaseUnled(state.epoch), T0 + 20 * MIN)
    assert released.phase is B.RETURN and released.floor is Floor.OPEN
    assert Capability.SPEAK in caps(released, PRESENTER, GroupRole.MEMBER)
    assert Capability.SPEAK in caps(released, MEMBERS[1], GroupRole.MEMBER)
    # a pause nobody can lift counts as running time
    paused, _ = apply(state, Pause(actor(balint.SPEC, state, LEADER)), T0 + MIN)
    released, _ = apply(paused, ReleaseUnled(paused.epoch), T0 + 20 * MIN)
    assert released.phase is B.RETURN
    # only a phase that ends unled: the open processing does not
    back, _ = apply(released, Advance(actor(balint.SPEC, released, LEADER)), T0 + 20 * MIN)
    assert apply(back, ReleaseUnled(back.epoch), T0 + 99 * MIN) == (back, [])


def test_the_presenters_video_in_sit_back_is_the_groups_choice() -> None:
    assert Capability.SHOW_VIDEO in caps(sit_back(), PRESENTER, GroupRole.MEMBER)
    state = sit_back(sitback_presenter_video=False)
    assert Capability.SHOW_VIDEO not in caps(state, PRESENTER, GroupRole.MEMBER)
    assert Capability.SHOW_VIDEO in caps(state, MEMBERS[1], GroupRole.MEMBER)
    returned, _ = apply(state, Advance(actor(balint.SPEC, state, LEADER)), T0)
    assert Capability.SHOW_VIDEO in caps(returned, PRESENTER, GroupRole.MEMBER)


@pytest.mark.parametrize(
    ("length", "open_minutes", "fits"),
    [
        (60, 20, True),
        (50, 10, True),
        (45, 5, True),
        (70, 30, True),
        (90, 30, False),
        (40, 5, False),
    ],
)
def test_the_booked_length_stretches_or_shrinks_the_open_processing(
    length: int, open_minutes: int, fits: bool
) -> None:
    config = balint.SPEC.config({}, length)
    assert config.duration_ms(B.OPEN) == open_minutes * MIN
    assert config.duration_ms(B.SIT_BACK) == 15 * MIN
    plan = balint.SPEC.plan({}, length)
    assert plan.fits is fits
    assert (plan.problem() is None) is fits
    # a group's own phase lengths are kept; the open processing gives way
    config = balint.SPEC.config({"sitback_minutes": 20}, 60)
    assert config.duration_ms(B.OPEN) == 15 * MIN


def test_dynamic_default_is_the_free_discussion_and_rounds_are_a_variant() -> None:
    spec = dynamic.SPEC
    D = dynamic.Phase
    free = spec.initial(spec.config({}, 90), T0)
    assert free.config.skipped == ("check_in", "closing_round")
    state, _ = apply(free, Advance(actor(spec, free, LEADER)), T0)
    assert state.phase is D.OPEN_FLOOR and state.phase_duration_ms == 90 * MIN
    assert state.floor is Floor.OPEN
    back, _ = apply(state, Back(actor(spec, state, CO_LEADER)), T0)
    assert back.phase is D.WAITING  # the rounds are not this group's phases
    state, _ = apply(state, Advance(actor(spec, state, CO_LEADER)), T0)
    assert state.phase is D.CLOSED
    rounds = spec.initial(spec.config({"format": "rounds"}, 90), T0)
    seen = []
    state = rounds
    while not state.ended:
        state, _ = apply(state, Advance(actor(spec, state, LEADER)), T0)
        seen.append((state.phase.value, state.phase_duration_ms))
    assert seen == [
        ("check_in", 15 * MIN),
        ("open_floor", 60 * MIN),
        ("closing_round", 15 * MIN),
        ("closed", None),
    ]
    with pytest.raises(UserError, match=r"settings\.format"):
        spec.config({"format": "seminar"})


def test_the_room_ignores_settings_an_older_version_stored() -> None:
    # peer support's session_minutes (30-180) was accepted once; the room must still open
    from server.protocols import peer_support

    config = peer_support.SPEC.config({"session_minutes": 90, "auto_advance": True}, 45)
    assert config.duration_ms(peer_support.Phase.CONVERSATION) == 45 * MIN
    assert config.auto_advance
