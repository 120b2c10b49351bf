"""Statistics against values computed independently. The source of every expected value is
written beside it: R's documented outputs for its own example data sets, or hand computation
(shown), with the normal tail from the standard library's erfc, not from scipy."""

from __future__ import annotations

import math

import pytest

from server.questionnaires.stats import paired, reliable_change


def phi_two_sided(z: float) -> float:
    """2 x (1 - Phi(|z|)) from math.erfc (independent of scipy)."""
    return math.erfc(abs(z) / math.sqrt(2))


# Student's sleep data (R: datasets::sleep): extra hours of sleep, 10 patients, two drugs.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_paired_t_and_ci_match_r_on_the_sleep_data():
    row = paired(SLEEP_1, SLEEP_2)
    # R: t.test(sleep$extra[11:20], sleep$extra[1:10], paired = TRUE) prints
    #   t = 4.0621, df = 9, p-value = 0.002833
    #   95 percent confidence interval: 0.7001142 2.4598858; mean difference 1.58
    assert row.n_pairs == 10
    assert row.mean_change == pytest.approx(1.58)
    assert row.t == pytest.approx(4.0621, abs=5e-5)
    assert row.p_t == pytest.approx(0.002833, abs=5e-7)
    assert row.ci95_low == pytest.approx(0.7001142, abs=5e-8)
    assert row.ci95_high == pytest.approx(2.4598858, abs=5e-8)
    # By hand: mean(group 1) = 7.5 / 10 = 0.75; mean(group 2) = 23.3 / 10 = 2.33.
    assert (row.pre_mean, row.post_mean) == pytest.approx((0.75, 2.33))
    # d_z = mean difference / SD of differences = 1.58 / 1.229995 (the SD R's sd() gives) = 1.2845
    assert row.d_z == pytest.approx(1.58 / 1.229995, abs=1e-5)


def test_wilcoxon_drops_zeros_and_corrects_ties_as_spss_on_the_sleep_data():
    row = paired(SLEEP_1, SLEEP_2)
    # Differences 1.2 2.4 1.3 1.3 0.0 1.0 1.8 0.8 4.6 1.4: the zero is dropped (n = 9), all
    # others are positive: R+ = 45, R- = 0, W = min = 0. One tie (1.3, 1.3 share rank 4.5).
    assert (row.n_zero_differences, row.n_tied_groups) == (1, 1)
    assert row.wilcoxon_w == 0
    # Variance by hand: 9*10*19/24 - (2^3 - 2)/48 = 71.25 - 0.125 = 71.125;
    # z = (0 - 9*10/4) / sqrt(71.125) = -22.5 / 8.433564 = -2.667911 (SPSS prints Z = -2.668).
    assert row.wilcoxon_z == pytest.approx(-22.5 / math.sqrt(71.125), abs=1e-9)
    assert row.p_asymptotic == pytest.approx(phi_two_sided(-22.5 / math.sqrt(71.125)), abs=1e-12)
    assert row.p_asymptotic == pytest.approx(0.00763, abs=5e-6)
    # The same variance with R's continuity correction reproduces R's documented
    # wilcox.test(..., paired = TRUE) output for this data, p-value = 0.009091:
    assert row.wilcoxon_z is not None
    sigma = (row.wilcoxon_w - 22.5) / row.wilcoxon_z
    assert phi_two_sided((row.wilcoxon_w - 22.5 + 0.5) / sigma) == pytest.approx(0.009091, abs=5e-7)
    # Kerby's rank-biserial: (45 - 0) / 45 = 1.
    assert row.rank_biserial == 1.0
    # With ties, the exact p is the conditional one: only 1 of the 2^9 sign patterns gives
    # R+ = 45 and one gives R+ = 0, so p = 2/512.
    assert (row.p_exact, row.p_exact_method) == pytest.approx((2 / 512, "exact_conditional"))


def test_wilcoxon_exact_p_matches_rs_example_without_ties():
    # Hollander & Wolfe (1973, p. 29), Hamilton depression scale, the example of R's
    # ?wilcox.test: wilcox.test(x, y, paired = TRUE, alternative = "greater") gives V = 40,
    # p-value = 0.01953; the two-sided exact p is twice that, 20/512 = 0.0390625.
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]  # first visit
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]  # second visit
    row = paired(y, x)  # pre = y, post = x, so post - pre = x - y as in R
    assert (row.wilcoxon_w, row.p_exact_method) == (5.0, "exact")  # R- = 5, R+ = 40
    assert row.p_exact == pytest.approx(0.0390625, abs=1e-12)
    # Normal approximation by hand: (5 - 22.5) / sqrt(9*10*19/24) = -17.5 / 8.441 = -2.0732
    z = -17.5 / math.sqrt(71.25)
    assert row.wilcoxon_z == pytest.approx(z, abs=1e-9)
    assert row.p_asymptotic == pytest.approx(phi_two_sided(z), abs=1e-12)  # 0.03815
    assert row.rank_biserial == pytest.approx((40 - 5) / 45)


def test_zeros_and_ties_together_by_hand():
    pre = [10, 12, 9, 15, 11, 14, 13, 10]
    post = [8, 12, 6, 11, 11, 10, 14, 7]
    row = paired(pre, post)
    # d = -2 0 -3 -4 0 -4 1 -3: two zeros dropped, n = 6; |d| 2 3 4 4 1 3 ranked
    # 1 -> 1, 2 -> 2, 3 3 -> 3.5 3.5, 4 4 -> 5.5 5.5; R+ = 1 (the +1), R- = 20, W = 1.
    assert (row.n_zero_differences, row.n_tied_groups, row.wilcoxon_w) == (2, 2, 1.0)
    # variance = 6*7*13/24 - (6 + 6)/48 = 22.75 - 0.25 = 22.5; z = (1 - 10.5)/sqrt(22.5)
    z = -9.5 / math.sqrt(22.5)  # -2.00278
    assert row.wilcoxon_z == pytest.approx(z, abs=1e-9)
    assert row.p_asymptotic == pytest.approx(phi_two_sided(z), abs=1e-12)  # 0.0452
    # Exact conditional: of the 2^6 = 64 sign patterns, R+ <= 1 for {} and {1}, and by symmetry
    # R+ >= 20 for two more: p = 4/64 = 0.0625.
    assert row.p_exact == pytest.approx(0.0625)
    assert row.rank_biserial == pytest.approx((1 - 20) / 21)
    # Means by hand: pre 94/8 = 11.75, post 79/8 = 9.875, change -15/8 = -1.875.
    assert (row.pre_mean, row.post_mean, row.mean_change) == (11.75, 9.875, -1.875)


def test_the_balint_study_p_is_what_spss_reports_for_ten_same_direction_pairs():
    # Seed 001 reports Wilcoxon p = 0.005 for n = 10. With all ten differences in one direction
    # and no ties: W = 0, z = -27.5 / sqrt(10*11*21/24) = -27.5 / 9.8107 = -2.803,
    # p = 0.00506, printed by SPSS as .005; the exact p would be 2/1024 = 0.00195.
    pre = [30, 31, 33, 34, 35, 36, 37, 39, 40, 43]
    post = [p - k for p, k in zip(pre, [20, 21, 22, 24, 25, 26, 27, 28, 29, 30], strict=True)]
    row = paired(pre, post, reliability=0.91, higher_is_better=False)
    assert row.p_asymptotic is not None
    assert round(row.p_asymptotic, 3) == 0.005
    assert row.p_exact == pytest.approx(2 / 1024)
    assert row.rci_improved == 10 and row.rci_deteriorated == 0


def test_reliable_change_by_hand():
    # Jacobson & Truax: SD_pre of 10, 14, 18, 22 = sqrt(((-6)^2 + (-2)^2 + 2^2 + 6^2) / 3)
    # = sqrt(80/3) = 5.1640; r_xx = 0.89; S_diff = sqrt(2) x 5.1640 x sqrt(0.11) = 2.4221.
    # Changes (post - pre) +8, -1, -6, 0 -> RCI 3.303, -0.413, -2.477, 0.
    pre, post = [10, 14, 18, 22], [18, 13, 12, 22]
    s_diff = math.sqrt(2) * math.sqrt(80 / 3) * math.sqrt(0.11)
    assert reliable_change(pre, post, reliability=0.89) == pytest.approx(
        [8 / s_diff, -1 / s_diff, -6 / s_diff, 0.0]
    )
    worse = paired(pre, post, reliability=0.89, higher_is_better=False)  # e.g. PHQ-9
    assert (worse.rci_improved, worse.rci_unchanged, worse.rci_deteriorated) == (1, 2, 1)
    better = paired(pre, post, reliability=0.89, higher_is_better=True)  # e.g. WHO-5
    assert (better.rci_improved, better.rci_unchanged, better.rci_deteriorated) == (1, 2, 1)
    # +8 is the improvement when higher is better, the deterioration when higher is worse:
    pre2, post2 = [10, 14, 18, 22], [18, 14, 18, 22]
    assert paired(pre2, post2, reliability=0.89, higher_is_better=True).rci_improved == 1
    assert paired(pre2, post2, reliability=0.89, higher_is_better=False).rci_deteriorated == 1
    # No reliability in the file: no RCI counts.
    assert paired(pre, post).rci_improved is None


def test_degenerate_inputs_give_none_not_errors():
    assert paired([], []).as_dict()["pre_mean"] is None
    one = paired([5], [7])
    assert (one.n_pairs, one.mean_change, one.pre_sd, one.t) == (1, 2.0, None, None)
    same = paired([3, 4, 5], [3, 4, 5])
    assert (same.wilcoxon_w, same.t, same.d_z, same.n_zero_differences) == (None, None, None, 3)
    shift = paired([3, 4, 5], [4, 5, 6])  # constant difference: no SD of differences
    assert (shift.t, shift.d_z, shift.mean_change) == (None, None, 1.0)
    with pytest.raises(ValueError, match="pair up"):
        paired([1, 2], [1])


def test_no_exact_p_for_many_tied_differences():
    # 13 non-zero differences with ties: past the enumeration limit (2^12), p_exact is left
    # empty and says so; the asymptotic p is still given.
    pre = [10] * 13
    post = [11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 9]
    row = paired(pre, post)
    assert (row.p_exact, row.p_exact_method) == (None, None)
    assert row.p_asymptotic is not None and row.n_tied_groups == 6
