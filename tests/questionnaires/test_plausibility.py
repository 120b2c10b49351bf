"""GRIM and GRIMMER against worked examples (sources beside each)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from server.errors import UserError
from server.questionnaires.plausibility import check_summary, grim, grimmer, score_unit
from server.questionnaires.registry import load_registry

REG = load_registry(None)


def test_grim_worked_examples():
    # Brown & Heathers 2017, the paper's introductory example: a mean of 5.19 from 28 integer
    # scores is impossible (145/28 = 5.179 -> 5.18, 146/28 = 5.214 -> 5.21).
    assert not grim("5.19", 28)
    assert grim("5.18", 28) and grim("5.21", 28)
    # By hand: 3 integers can give 2.33 (7/3) but not 2.50.
    assert grim("2.33", 3) and not grim("2.50", 3)
    # With n large enough (>= 100 for two decimals), every mean is possible.
    assert grim("5.19", 100)


def test_grimmer_parity_by_hand():
    # Scores 1, 2, 3: mean 2.00, SD 1.00 - consistent.
    assert grimmer("2.00", "1.00", 3)
    # Mean 2.00 of n = 3 needs T = 6 (even) and Q = 2 x SD^2 + 12. SD 1.22 means
    # SD in [1.215, 1.225], Q in [14.952, 15.001]: only 15, odd while T is even -> impossible.
    assert not grimmer("2.00", "1.22", 3)
    # SD 1.41: Q in [15.948, 16.004] -> 16, even like T: the parity test passes (it is a
    # necessary condition only).
    assert grimmer("2.00", "1.41", 3)


def test_the_balint_seed_figures():
    # Seed 001 (n = 10). CDAS pre 35.80 +- 5.09: T = 358, Q in [13049.11, 13050.03] -> 13050,
    # even like T: consistent. CD-RISC post 75.60 +- 6.63: T = 756 (even), Q in
    # [57548.62, 57549.81] -> only 57549 (odd): a sum of squares of integers has the parity of
    # their sum, so no ten integer totals give this mean and SD (GRIMMER warning).
    assert check_summary(REG.get("cdas"), "total", 10, "35.80", "5.09").warnings("CDAS pre") == []
    assert check_summary(REG.get("cdas"), "total", 10, "9.7", "2.75").warnings("x") == []
    post = check_summary(REG.get("cdrisc"), "total", 10, "75.60", "6.63")
    assert post.grim_ok and post.grimmer_ok is False
    assert post.warnings("CD-RISC post") == [
        "CD-RISC post: GRIMMER: this mean and SD cannot come from n such scores"
    ]


def test_score_units_follow_the_instrument():
    assert score_unit(REG.get("phq9"), "total") == 1
    assert score_unit(REG.get("who5"), "total") == 4  # raw sum x 4
    assert score_unit(REG.get("cbi"), "personal") == Fraction(25, 6)  # mean of 6 items, step 25
    assert score_unit(REG.get("bat"), "total") == Fraction(1, 23)
    # WHO-5 percentage means of 3 people: 52 (raw 13) is possible, 51 not.
    assert grim("52", 1, Fraction(4)) and not grim("51", 1, Fraction(4))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mean": "abc"}, "mean: 'abc' is not a number"),
        ({"mean": "NaN"}, "mean: 'NaN' is not a number"),
        ({"n": 0}, "n: must be at least 1"),
        ({"score": "nosuch"}, "score: phq9 has no score 'nosuch'"),
        ({"n": 1, "sd": "1.0"}, "n: at least 2"),
    ],
)
def test_bad_input_names_the_field(kwargs, message):
    args = {"score": "total", "n": 10, "mean": "5.0", "sd": None} | kwargs
    with pytest.raises(UserError, match=message):
        check_summary(REG.get("phq9"), args["score"], args["n"], args["mean"], args["sd"])
