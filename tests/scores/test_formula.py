"""The published formulas, by hand, term by term (docs/scores.md has the same examples)."""

from __future__ import annotations

import pytest

from server.scores.formula import (
    Input,
    Kind,
    Source,
    change_value,
    compute,
    count_value,
    scale_value,
)
from server.settings import ConfigError, ScoreConfig, load_settings

M, H = Source.MEASURED, Source.BY_HAND
PERIOD = {"from": "2026-01-05", "to": "2026-03-02"}
CFG = ScoreConfig()


def individual_inputs() -> dict[str, Input]:
    return {
        "A": Input(scale_value(4.0, 1, 5), 4.0, M, "check-in satisfaction, mean 4.0 of 1-5"),
        "B": Input(6 / 8, 0.75, M, "attended 6 of 8"),
        "C": Input(count_value(7, 7), 7, H, "7 steps"),
        "D": Input(count_value(2, 5), 2, H, "2 courses"),
        "E": Input(14 / 28, 14, Source.GROUP_SCORE, "group 14 of 28"),
        "F": Input(count_value(2, 8), 2, M, "led 2"),
        "G": Input(count_value(1, 3), 1, H, "1 article"),
        "H": Input(count_value(10, 20), 10, H, "10 posts"),
        "I": Input(change_value(10, 40, 0.5), 10, M, "improved 10 on a 0-40 range"),
    }


def test_individual_by_hand() -> None:
    score = compute(Kind.INDIVIDUAL, individual_inputs(), CFG, PERIOD)
    points = {t["term"]: t["points"] for t in score["terms"]}
    # 4*0.75 + 5*0.75 + 5*1 + 4*0.4 + 5*0.5 + 4*0.25 + 5*(1/3) + 3*0.5 + 5*0.5
    assert points == {
        "A": 3.0,
        "B": 3.75,
        "C": 5.0,
        "D": 1.6,
        "E": 2.5,
        "F": 1.0,
        "G": 1.6667,
        "H": 1.5,
        "I": 2.5,
    }
    assert score["total"] == 22.5167
    assert score["max_total"] == 40
    assert score["level"] == "facilitator"  # 20 <= 22.52 < 30
    assert score["formula"] == "4A + 5B + 5C + 4D + 5E + 4F + 5G + 3H + 5I"
    assert score["period"] == PERIOD and score["complete"] and score["missing"] == []
    sources = {t["term"]: t["source"] for t in score["terms"]}
    assert sources["C"] == "entered by hand" and sources["B"] == "measured"


def test_group_by_hand() -> None:
    inputs = {
        "X": Input(count_value(3, 5), 3, H, "3 years"),
        "A": Input(scale_value(3.5, 1, 5), 3.5, M, "members' mean 3.5"),
        "B": Input(0.5 * 0.75 + 0.5 * 0.85, 0.8, M, "regularity 0.75, attendance 0.85"),
        "C": Input(count_value(1, 4), 1, H, "1 activity"),
        "D": Input(count_value(25, 50), 25, H, "25 posts"),
        "E": Input(0.3, 0.3, M, "members' mean change"),
        "F": Input(count_value(2, 2), 2, H, "2 programs"),
    }
    score = compute(Kind.GROUP, inputs, CFG, PERIOD)
    points = {t["term"]: t["points"] for t in score["terms"]}
    # 1*0.6 + 5*0.625 + 5*0.8 + 3*0.25 + 4*0.5 + 5*0.3 + 5*1
    assert points == {"X": 0.6, "A": 3.125, "B": 4.0, "C": 0.75, "D": 2.0, "E": 1.5, "F": 5.0}
    assert score["total"] == 16.975
    assert score["max_total"] == 28
    assert score["level"] == "platinum"  # 14 <= 16.975 < 21
    assert score["formula"] == "X + 5A + 5B + 3C + 4D + 5E + 5F"


def test_a_changed_weight_changes_the_score() -> None:
    heavier = ScoreConfig(
        individual_weights={**CFG.individual_weights, "B": 10},
        individual_levels={"traveler": 0, "wayfarer": 5, "facilitator": 15, "leader": 25},
    )
    score = compute(Kind.INDIVIDUAL, individual_inputs(), heavier, PERIOD)
    assert score["total"] == 22.5167 + 5 * 0.75  # B's 0.75 now weighs 10 instead of 5
    assert score["level"] == "leader"
    assert score["max_total"] == 45


def test_weights_come_from_the_settings() -> None:
    settings = load_settings(
        env={
            "CIRCLE_SCORES": '{"group_weights": {"X": 2, "A": 5, "B": 5, "C": 3, '
            '"D": 4, "E": 5, "F": 5}}'
        }
    )
    assert settings.scores.group_weights["X"] == 2
    with pytest.raises(ConfigError, match="scores"):
        load_settings(env={"CIRCLE_SCORES": '{"group_weights": {"X": 1}}'})
    with pytest.raises(ConfigError, match="scores"):
        load_settings(env={"CIRCLE_SCORES": '{"group_levels": {"a": 0, "b": 9, "c": 5, "d": 20}}'})


def test_missing_inputs_are_reported_not_zero() -> None:
    inputs = individual_inputs()
    inputs["A"] = Input(None, None, M, "missing: no check-in answered in this period")
    del inputs["G"]
    score = compute(Kind.INDIVIDUAL, inputs, CFG, PERIOD)
    assert score["missing"] == ["A", "G"] and not score["complete"]
    a = next(t for t in score["terms"] if t["term"] == "A")
    assert (a["points"], a["value"], a["missing"]) == (None, None, True)
    assert a["detail"] == "missing: no check-in answered in this period"
    g = next(t for t in score["terms"] if t["term"] == "G")
    assert (g["source"], g["detail"]) == ("entered by hand", "not entered")
    assert score["total"] == round(22.5167 - 3.0 - 1.6667, 4)


def test_normalisations() -> None:
    assert count_value(14, 7) == 1.0 and count_value(0, 7) == 0.0
    assert scale_value(1, 1, 5) == 0.0 and scale_value(5, 1, 5) == 1.0
    assert change_value(-5, 40, 0.5) == 0.0 and change_value(30, 40, 0.5) == 1.0
