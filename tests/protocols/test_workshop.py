"""The workshop's one table: every number the study gives, labelled, and the phases built from
it; the breakout planning rules (pure)."""

from __future__ import annotations

import pytest

from server.domain import ProtocolKind
from server.errors import UserError
from server.protocols import coaching, workshop
from server.protocols.base import EVERYONE
from server.protocols.registry import PROTOCOLS
from server.protocols.table import Basis
from server.questionnaires.form_plan import FORM_TIMEPOINTS, default_plan
from server.rooms import breakouts as bo

W = workshop.TABLE


def test_the_extra_numbers_say_where_they_come_from() -> None:
    assert (W["breakout_group"].low, W["breakout_group"].high) == (2, 4)
    assert W["breakout_group"].basis is Basis.PRODUCT
    assert (W["follow_up_weeks"].low, W["follow_up_weeks"].high) == (4, 6)
    assert W["follow_up_weeks"].basis is Basis.STUDY and "004" in W["follow_up_weeks"].source
    assert all(b.source for b in W.values())


def test_phases_add_up_to_three_and_a_half_hours_and_case_work_splits() -> None:
    spec = PROTOCOLS[ProtocolKind.WORKSHOP]
    assert spec is workshop.SPEC and spec.co_leaders_lead and not spec.uses_presenter
    timed = [r for r in spec.phases if r.timed]
    assert sum(r.default_min or 0 for r in timed) == spec.rules.length.default == 210
    assert (spec.rules.members.low, spec.rules.members.high) == (4, 12)
    assert spec.rules.sessions.high == 1
    assert all(r.speakers == EVERYONE for r in timed)
    P = workshop.Phase
    assert {P.CASE_WORK_1, P.CASE_WORK_2} == workshop.BREAKOUT_PHASES


def test_the_follow_up_falls_four_to_six_weeks_after_the_workshop() -> None:
    plan = default_plan(ProtocolKind.WORKSHOP)
    assert plan.followup.enabled
    assert plan.followup_weeks == W["follow_up_weeks"].low
    assert plan.followup.close_days is not None
    assert plan.followup_weeks * 7 + plan.followup.close_days == W["follow_up_weeks"].high * 7
    assert default_plan(ProtocolKind.BALINT).followup_weeks == 6  # others unchanged


def test_a_setting_outside_a_phase_bound_is_refused_naming_it() -> None:
    with pytest.raises(UserError) as err:
        workshop.SPEC.check_settings({"break_1_minutes": 30})
    assert "settings.break_1_minutes" in err.value.details["fields"]


@pytest.mark.parametrize(
    ("members", "size", "sizes"),
    [
        (2, 4, [2]),
        (3, 2, [3]),  # three cannot make two groups of at least two
        (5, 2, [3, 2]),
        (6, 3, [3, 3]),
        (7, 2, [3, 2, 2]),
        (12, 4, [4, 4, 4]),
        (12, 2, [2] * 6),
        (9, 4, [3, 3, 3]),
    ],
)
def test_automatic_groups_leave_nobody_alone(members: int, size: int, sizes: list[int]) -> None:
    groups = bo.auto_groups(list(range(1, members + 1)), size)
    assert sorted((len(g) for g in groups), reverse=True) == sizes
    assert sorted(p for g in groups for p in g) == list(range(1, members + 1))


def test_groups_by_hand_are_checked() -> None:
    assert bo.check_groups([[1, 2], [3, 4, 5]], [1, 2, 3, 4, 5]) == ((1, 2), (3, 4, 5))
    for bad, field in [
        ([[1]], "groups[0]"),
        ([[1, 2, 3, 4, 5]], "groups[0]"),
        ([[1, 9]], "groups[0][1]"),
        ([[1, 2], [2, 3]], "groups[1][0]"),
        ([], "groups"),
    ]:
        with pytest.raises(UserError) as err:
            bo.check_groups(bad, [1, 2, 3, 4, 5])
        assert field in err.value.details["fields"]


def test_a_coaching_series_sends_no_questionnaires() -> None:
    plan = default_plan(ProtocolKind.COACHING)
    assert not any(plan.rule(tp).enabled for tp in FORM_TIMEPOINTS)
    call = PROTOCOLS[ProtocolKind.COACHING].row(coaching.Phase.CALL)
    assert (call.default_min, call.min_min, call.max_min) == (60, 30, 60)
    assert call.default_min == PROTOCOLS[ProtocolKind.COACHING].rules.length.default


def test_moves_keep_groups_within_two_to_four() -> None:
    split = bo.Split(((1, 2), (3, 4, 5, 6)), 0, 60_000, 1)
    with pytest.raises(UserError) as err:
        bo.moved(split, 1, 1)  # group 1 is full
    assert "group" in err.value.details["fields"]
    with pytest.raises(UserError) as err:
        bo.moved(split, 1, None)  # would leave 2 alone
    assert "person_id" in err.value.details["fields"]
    with pytest.raises(UserError) as err:
        bo.moved(split, 3, 5)
    assert "group" in err.value.details["fields"]
    assert bo.moved(split, 3, 0).groups == ((1, 2, 3), (4, 5, 6))
    assert bo.moved(split, 9, 0).groups == ((1, 2, 9), (3, 4, 5, 6))  # from the main room
    back = bo.moved(bo.moved(split, 9, 0), 9, None)
    assert back.groups == split.groups


def test_audiences_while_split_and_after() -> None:
    split = bo.Split(((1, 2), (3, 4)), 0, 60_000, 1)
    heard = bo.audiences(split, [1, 2, 3, 4, 7, 8])
    assert heard[1] == {"2"} and heard[4] == {"3"}
    assert heard[7] == {"8"} and heard[8] == {"7"}  # the main room
    assert bo.audiences(None, [1, 2]) == {}
