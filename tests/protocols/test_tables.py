"""The protocol tables say what the studies say."""

from __future__ import annotations

import pytest

from server.domain import ProtocolKind
from server.errors import UserError
from server.protocols import balint, dynamic, peer_support
from server.protocols.base import LEADERS, Floor, ProtocolSpec, Role
from server.protocols.registry import PROTOCOLS

from .helpers import T0


@pytest.mark.parametrize("spec", PROTOCOLS.values(), ids=lambda s: s.kind.value)
def test_defaults_add_up_to_the_session_and_sit_within_bounds(spec: ProtocolSpec) -> None:
    total = 0
    for row in spec.active_rows(spec.formats[0]):
        if row.timed:
            assert row.min_min is not None and row.max_min is not None
            assert row.default_min is not None
            assert row.min_min <= row.default_min <= row.max_min
            total += row.default_min
    assert total == spec.default_total_min
    assert not spec.row(spec.waiting).timed and not spec.row(spec.closed).timed
    assert spec.row(spec.closed).speakers == frozenset()


def test_registry_covers_every_protocol_kind() -> None:
    assert set(PROTOCOLS) == set(ProtocolKind)


def test_balint_table() -> None:
    P = balint.Phase
    spec = balint.SPEC
    assert [r.phase for r in spec.phases] == list(P)
    assert spec.default_total_min == 60
    sit = spec.row(P.SIT_BACK)
    assert (sit.default_min, sit.min_min, sit.max_min) == (15, 15, 20)
    assert Role.PRESENTER not in sit.speakers | sit.floor_roles
    assert Role.MEMBER in sit.speakers
    pres = spec.row(P.PRESENTATION)
    assert pres.speakers == LEADERS | {Role.PRESENTER}
    assert Role.MEMBER not in pres.floor_roles
    questions = spec.row(P.QUESTIONS)
    assert questions.floor_roles == {Role.MEMBER} and questions.default_floor is Floor.OPEN
    ret = spec.row(P.RETURN)
    assert Role.PRESENTER in ret.speakers and Role.MEMBER not in ret.speakers
    assert spec.row(P.OPEN).speakers == frozenset(Role)


def test_dynamic_and_peer_support_tables() -> None:
    assert dynamic.SPEC.default_total_min == 90
    assert dynamic.SPEC.co_leaders_lead and not dynamic.SPEC.uses_presenter
    assert [r.phase.value for r in dynamic.SPEC.active_rows("free")] == [
        "waiting",
        "open_floor",
        "closed",
    ]
    assert [r.phase.value for r in dynamic.SPEC.active_rows("rounds")] == [
        "waiting",
        "check_in",
        "open_floor",
        "closing_round",
        "closed",
    ]
    conv = peer_support.SPEC.row(peer_support.Phase.CONVERSATION)
    assert (conv.min_min, conv.max_min) == (45, 60)
    assert [r.phase.value for r in peer_support.SPEC.phases] == [
        "waiting",
        "conversation",
        "closed",
    ]


@pytest.mark.parametrize(
    ("settings", "sit_back_s", "auto"),
    [
        ({}, 15 * 60, False),
        ({"sitback_minutes": 20}, 20 * 60, False),
        ({"sitback_minutes": 17, "auto_advance": True}, 17 * 60, True),
        ({"sitback_minutes": None}, 15 * 60, False),
    ],
)
def test_balint_config_from_group_settings(
    settings: dict[str, object], sit_back_s: int, auto: bool
) -> None:
    config = balint.SPEC.config(settings)
    assert config.duration_ms(balint.Phase.SIT_BACK) == sit_back_s * 1000
    assert config.auto_advance is auto
    assert config.duration_ms(balint.Phase.WAITING) is None


@pytest.mark.parametrize(
    "settings",
    [
        {"sitback_minutes": 14},
        {"sitback_minutes": 21},
        {"sitback_minutes": "15"},
        {"sitback_minutes": True},
        {"sitback_minutes": 15.5},
        {"auto_advance": "yes"},
    ],
)
def test_balint_config_refuses_out_of_bounds_settings(settings: dict[str, object]) -> None:
    with pytest.raises(UserError):
        balint.SPEC.config(settings)


def test_peer_support_length_from_the_booked_length() -> None:
    config = peer_support.SPEC.config({}, 45)
    assert config.duration_ms(peer_support.Phase.CONVERSATION) == 45 * 60_000
    plan = peer_support.SPEC.plan({}, 90)  # held to its 60 minutes; the preview warns
    assert plan.minutes == ((peer_support.Phase.CONVERSATION, 60),) and not plan.fits
    with pytest.raises(UserError, match="session_minutes is not a setting"):
        peer_support.SPEC.check_settings({"session_minutes": 50})


def test_initial_state_is_the_waiting_room() -> None:
    for spec in PROTOCOLS.values():
        state = spec.initial(spec.config(), T0)
        assert state.phase == spec.waiting and not state.ended and state.deadline_ms() is None
