"""Scoring against hand-worked examples, one per shipped instrument (reverse items, subscales,
bands). Each expected value is worked out by hand in the comment above it."""

from __future__ import annotations

import pytest

from server.questionnaires.registry import load_registry
from server.questionnaires.scoring import (
    AnswerError,
    check_answer,
    missing_required,
    safety_triggered,
    score_answers,
    total_only,
)

REG = load_registry(None)


def answers(instrument: str, values: list[int]) -> dict[str, int | str]:
    items = [i for i in REG.get(instrument).items if i.type.value == "scale"]
    assert len(items) == len(values)
    return {i.id: v for i, v in zip(items, values, strict=True)}


def test_phq9_sum_band_and_safety_rule():
    # 1+2+0+3+1+2+0+1+0 = 10 -> "moderate" (10-14, Kroenke 2001). Item 9 = 0: no safety alert.
    a = answers("phq9", [1, 2, 0, 3, 1, 2, 0, 1, 0])
    s = score_answers(REG.get("phq9"), a)
    assert (s.total, s.bands) == (10.0, {"total": "moderate"})
    assert not safety_triggered(REG.get("phq9"), a)
    # Item 9 = 1 fires the rule; 4 -> minimal, 27 -> severe, 19 -> moderately severe.
    a["item_9"] = 1
    assert safety_triggered(REG.get("phq9"), a)
    assert score_answers(REG.get("phq9"), answers("phq9", [0, 0, 1, 1, 1, 1, 0, 0, 0])).bands == {
        "total": "minimal"
    }
    assert score_answers(REG.get("phq9"), answers("phq9", [3] * 9)).total == 27.0
    s = score_answers(REG.get("phq9"), answers("phq9", [3, 3, 3, 3, 3, 3, 1, 0, 0]))
    assert (s.total, s.bands["total"]) == (19.0, "moderately severe")


def test_gad7_sum_and_bands():
    # 2+2+1+1+0+3+1 = 10 -> "moderate"; 3*7 = 21 -> "severe"; 4 -> "minimal"; 5 -> "mild".
    assert score_answers(REG.get("gad7"), answers("gad7", [2, 2, 1, 1, 0, 3, 1])).bands == {
        "total": "moderate"
    }
    assert score_answers(REG.get("gad7"), answers("gad7", [3] * 7)).bands == {"total": "severe"}
    assert score_answers(REG.get("gad7"), answers("gad7", [1, 1, 1, 1, 0, 0, 0])).bands == {
        "total": "minimal"
    }
    assert score_answers(REG.get("gad7"), answers("gad7", [1, 1, 1, 1, 1, 0, 0])).bands == {
        "total": "mild"
    }


def test_who5_raw_sum_times_four():
    # raw 3+2+4+1+3 = 13 -> 13 x 4 = 52 -> "adequate well-being" (> 50, Topp 2015);
    # raw 12 -> 48 -> "poor well-being"; raw 7 -> 28 -> "likely depression".
    s = score_answers(REG.get("who5"), answers("who5", [3, 2, 4, 1, 3]))
    assert (s.total, s.bands["total"]) == (52.0, "adequate well-being")
    assert score_answers(REG.get("who5"), answers("who5", [3, 2, 4, 1, 2])).total == 48.0
    assert score_answers(REG.get("who5"), answers("who5", [3, 2, 4, 1, 2])).bands["total"] == (
        "poor well-being (<= 50)"
    )
    assert score_answers(REG.get("who5"), answers("who5", [1, 1, 2, 1, 2])).bands["total"] == (
        "likely depression (<= 28)"
    )


def test_cbi_subscale_means_with_the_reversed_leisure_item():
    # Personal: 75, 50, 50, 25, 75, 25 -> 300/6 = 50.0
    # Work: 50, 25, 50, 75, 50, 25 and leisure energy answered "Often" (75), reversed to
    #   100 - 75 = 25 -> (50+25+50+75+50+25+25)/7 = 300/7 = 42.857...
    # Client: 0, 25, 25, 50, 0, 25 -> 125/6 = 20.833...
    a = answers("cbi", [75, 50, 50, 25, 75, 25, 50, 25, 50, 75, 50, 25, 75, 0, 25, 25, 50, 0, 25])
    s = score_answers(REG.get("cbi"), a)
    assert s.total is None
    assert s.subscales["personal"] == 50.0
    assert s.subscales["work"] == pytest.approx(300 / 7)
    assert s.subscales["client"] == pytest.approx(125 / 6)


def test_cdas_total_and_subscales():
    # Psychological items 1-9 all 3 = 27; physical items 10-18: 2,2,1,1,0,0,1,2,0 = 9; total 36.
    s = score_answers(REG.get("cdas"), answers("cdas", [3] * 9 + [2, 2, 1, 1, 0, 0, 1, 2, 0]))
    assert (s.total, s.subscales) == (36.0, {"psychological": 27.0, "physical": 9.0})


def test_cdrisc_total_and_five_factors():
    # Item n answered (n mod 5): items 1..25 -> 1,2,3,4,0,1,2,3,4,0,...; total = 5 x (1+2+3+4) = 50.
    values = [n % 5 for n in range(1, 26)]
    s = score_answers(REG.get("cdrisc"), answers("cdrisc", values))
    assert s.total == 50.0
    # competence items 10,11,12,16,17,23,24,25 -> 0+1+2+1+2+3+4+0 = 13
    # instincts 6,7,14,15,18,19,20 -> 1+2+4+0+3+4+0 = 14; acceptance 1,2,4,5,8 -> 1+2+4+0+3 = 10
    # control 13,21,22 -> 3+1+2 = 6; spiritual 3,9 -> 3+4 = 7   (13+14+10+6+7 = 50)
    assert s.subscales == {
        "competence": 13.0,
        "instincts": 14.0,
        "acceptance": 10.0,
        "control": 6.0,
        "spiritual": 7.0,
    }


def test_bat23_means():
    # Exhaustion items 1-8 all 4 -> 4.0; mental distance 9-13: 1,2,3,2,2 -> 2.0;
    # cognitive 14-18: 3,3,3,3,3 -> 3.0; emotional 19-23: 1,1,1,1,2 -> 1.2;
    # total = (32 + 10 + 15 + 6) / 23 = 63/23 = 2.7391...
    values = [4] * 8 + [1, 2, 3, 2, 2] + [3] * 5 + [1, 1, 1, 1, 2]
    s = score_answers(REG.get("bat"), answers("bat", values))
    assert s.total == pytest.approx(63 / 23)
    assert s.subscales == pytest.approx(
        {
            "exhaustion": 4.0,
            "mental_distance": 2.0,
            "cognitive_impairment": 3.0,
            "emotional_impairment": 1.2,
        }
    )


def test_checkin_and_evaluation_ignore_free_text():
    # Check-in 5, 4, 3 -> mean 4.0; satisfaction subscale 5.
    s = score_answers(REG.get("checkin"), {"satisfaction": 5, "safety": 4, "useful": 3})
    assert (s.total, s.subscales) == (4.0, {"satisfaction": 5.0})
    # Evaluation 4, 5, 5, 4 -> 18/4 = 4.5; the free-text answers are not scored.
    ev: dict[str, int | str] = {
        "overall": 4,
        "coping": 5,
        "confidential": 5,
        "recommend": 4,
        "most_helpful": "listening",
    }
    assert score_answers(REG.get("evaluation"), ev).total == 4.5
    assert missing_required(REG.get("evaluation"), ev) == []  # free text is optional
    assert missing_required(REG.get("checkin"), {"satisfaction": 5}) == ["safety", "useful"]


@pytest.mark.parametrize(
    ("instrument", "item", "value", "message"),
    [
        ("phq9", "item_1", 4, "item_1: 4 is not one of 0, 1, 2, 3"),
        ("phq9", "item_1", -1, "item_1: -1 is not one of"),
        ("phq9", "item_1", "2", "item_1: '2' is not one of"),
        ("phq9", "item_1", True, "item_1: True is not one of"),
        ("cbi", "pb_1", 30, "pb_1: 30 is not one of 0, 25, 50, 75, 100"),
        ("phq9", "item_10", 1, "item_10: no such item in phq9"),
        ("evaluation", "most_helpful", 3, "most_helpful: expected text"),
    ],
)
def test_bad_answers_name_the_item(instrument, item, value, message):
    with pytest.raises(AnswerError) as exc:
        check_answer(REG.get(instrument), item, value)
    assert message in exc.value.message and item in exc.value.details["fields"]


def test_incomplete_answers_and_import_totals():
    a = answers("gad7", [1] * 7)
    del a["item_4"]
    with pytest.raises(AnswerError, match="item_4: not answered"):
        score_answers(REG.get("gad7"), a)
    assert total_only(REG.get("phq9"), 12).bands == {"total": "moderate"}
    with pytest.raises(AnswerError, match=r"total: 28 is outside 0..27"):
        total_only(REG.get("phq9"), 28)
    with pytest.raises(AnswerError, match="cbi has no total"):
        total_only(REG.get("cbi"), 50)
