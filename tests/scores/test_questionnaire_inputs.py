"""The questionnaire inputs of the scores, by hand: check-in satisfaction per person, and the
change on the series' outcome instrument signed by its direction."""

from __future__ import annotations

from server.scores.formula import change_value, scale_value
from server.scores.questionnaire_reader import change_from, satisfaction_from

SAT = {"subscales": {"satisfaction": 4.0}}


def test_satisfaction_is_each_persons_mean() -> None:
    rows = [
        (1, "checkin", "checkin", {"total": 4, "subscales": {"satisfaction": 4.0}}),
        (1, "checkin", "checkin", {"total": 3, "subscales": {"satisfaction": 5.0}}),
        (2, "checkin", "checkin", {"total": 2, "subscales": {"satisfaction": 2.0}}),
        (3, "checkin", "checkin", {"total": None, "subscales": {}}),  # nothing usable
    ]
    got = satisfaction_from(rows, 1, 5)
    assert sorted(got) == [1, 2]
    assert (got[1].mean, got[1].answers) == (4.5, 2)
    assert scale_value(got[1].mean, got[1].low, got[1].high) == 0.875  # (4.5 - 1) / 4
    assert scale_value(got[2].mean, 1, 5) == 0.25


def test_change_is_signed_by_the_instruments_direction() -> None:
    info = {"cdrisc": (0.0, 100.0, True), "cdas": (0.0, 72.0, False)}
    rows = [
        (1, "cdas", "pre", {"total": 36.0}),
        (1, "cdas", "post", {"total": 18.0}),  # anxiety down 18: better
        (2, "cdas", "pre", {"total": 30.0}),
        (2, "cdas", "post", {"total": 33.0}),  # up 3: worse
        (3, "cdas", "pre", {"total": 20.0}),  # no post: no change
        (1, "cdrisc", "pre", {"total": 40.0}),
        (1, "cdrisc", "post", {"total": 70.0}),
    ]
    got = change_from(rows, info, None)  # cdas: two members answered both times
    assert {p: (c.instrument, c.improvement, c.width) for p, c in got.items()} == {
        1: ("cdas", 18.0, 72.0),
        2: ("cdas", -3.0, 72.0),
    }
    assert change_value(18.0, 72.0, 0.5) == 0.5  # 18 of half the range (36)
    assert change_value(-3.0, 72.0, 0.5) == 0.0
    chosen = change_from(rows, info, "cdrisc")  # the group's chosen instrument wins
    assert {p: c.improvement for p, c in chosen.items()} == {1: 30.0}
    assert change_from([], info, None) == {}
