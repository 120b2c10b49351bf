"""Paired pre/post statistics: one tidy row per instrument score and pair of timepoints, in the
manner of pingouin (named keys, each figure's method and source stated). scipy computes every
distribution; nothing here hand-writes one. docs/questionnaires.md lists the same methods.

Differences are always ``post - pre`` (a positive ``mean_change`` is an increase).

- Descriptives: sample mean and SD (n - 1 denominator) of the paired scores.
- ``ci95_low/high``: mean difference +- t(0.975, n-1) x SD_d / sqrt(n) (Student's t).
- ``t, p_t``: paired t-test, two-sided (``scipy.stats.ttest_rel``).
- ``d_z``: Cohen's d for paired data, mean difference / SD of the differences (Cohen 1988;
  Lakens 2013, eq. 3).
- Wilcoxon signed-rank as SPSS reports it: zero differences are dropped (Wilcoxon's original
  method, ``zero_method="wilcox"``), tied |differences| share their average rank, and the normal
  approximation uses the tie-corrected variance n(n+1)(2n+1)/24 - sum(t^3 - t)/48 without a
  continuity correction. ``wilcoxon_w`` is the smaller of the two rank sums (scipy's and
  pingouin's W); ``wilcoxon_z`` = (W - n(n+1)/4) / sqrt(variance), so it is <= 0 as in SPSS's
  "based on positive/negative ranks"; ``p_asymptotic`` = 2 x (1 - Phi(|z|)).
- ``p_exact``: without ties, scipy's exact null distribution of W (n <= 50 non-zero
  differences); with ties, the exact conditional distribution by enumerating all 2^n sign
  assignments of the tied ranks (n <= 12, scipy.stats.permutation_test); otherwise None. ``p_exact_method`` says which.
- ``rank_biserial``: Kerby's (2014) simple difference formula for matched pairs,
  (R+ - R-) / (R+ + R-) over the non-zero differences; positive when scores rose.
- Reliable change (Jacobson & Truax 1991): RCI = (post - pre) / S_diff with
  S_diff = sqrt(2) x SD_pre x sqrt(1 - r_xx), r_xx the instrument's Cronbach alpha and SD_pre the
  sample's pre SD; |RCI| > 1.96 is reliable, and improved or deteriorated follows the
  instrument's direction (higher is better or worse).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

RCI_CRITICAL = 1.96
EXACT_MAX_N = 50  # scipy's exact distribution of W, no ties
EXACT_TIES_MAX_N = 12  # 2^12 sign assignments enumerated (about 0.05 s)


@dataclass(frozen=True)
class PairedRow:
    n_pairs: int
    pre_mean: float | None
    pre_sd: float | None
    post_mean: float | None
    post_sd: float | None
    mean_change: float | None
    ci95_low: float | None
    ci95_high: float | None
    wilcoxon_w: float | None
    wilcoxon_z: float | None
    p_asymptotic: float | None
    p_exact: float | None
    p_exact_method: str | None  # "exact", "exact_conditional" (ties), or None
    n_zero_differences: int
    n_tied_groups: int
    t: float | None
    p_t: float | None
    d_z: float | None
    rank_biserial: float | None
    rci_improved: int | None
    rci_unchanged: int | None
    rci_deteriorated: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _f(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def reliable_change(
    pre: Sequence[float], post: Sequence[float], *, reliability: float
) -> list[float] | None:
    """Each pair's Jacobson-Truax RCI (None if the pre SD is 0 or there are < 2 pairs)."""
    if len(pre) < 2:
        return None
    sd_pre = float(np.std(np.asarray(pre, dtype=float), ddof=1))
    s_diff = math.sqrt(2.0) * sd_pre * math.sqrt(1.0 - reliability)
    if s_diff == 0:
        return None
    return [(b - a) / s_diff for a, b in zip(pre, post, strict=True)]


def _rci_counts(
    pre: Sequence[float], post: Sequence[float], reliability: float | None, higher_is_better: bool
) -> tuple[int | None, int | None, int | None]:
    if reliability is None:
        return None, None, None
    rcis = reliable_change(pre, post, reliability=reliability)
    if rcis is None:
        return None, None, None
    up = sum(1 for r in rcis if r > RCI_CRITICAL)
    down = sum(1 for r in rcis if r < -RCI_CRITICAL)
    improved, deteriorated = (up, down) if higher_is_better else (down, up)
    return improved, len(rcis) - up - down, deteriorated


def _exact_conditional(nz: np.ndarray, ranks: np.ndarray) -> float:
    """Two-sided p of R+ over all 2^n sign assignments of the observed (tied) ranks, enumerated
    by scipy.stats.permutation_test (sign flips of one sample, vectorised)."""

    def r_plus(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.sum(np.where(x > 0, ranks, 0.0), axis=axis))

    res = stats.permutation_test(
        (nz,),
        r_plus,
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf,
        alternative="two-sided",
    )
    return float(res.pvalue)


def _wilcoxon(d: np.ndarray) -> dict[str, Any]:
    nz = d[d != 0]
    out: dict[str, Any] = {
        "wilcoxon_w": None,
        "wilcoxon_z": None,
        "p_asymptotic": None,
        "p_exact": None,
        "p_exact_method": None,
        "n_zero_differences": int(d.size - nz.size),
        "n_tied_groups": 0,
        "rank_biserial": None,
    }
    if nz.size == 0:
        return out
    ranks = stats.rankdata(np.abs(nz))
    r_plus, r_minus = float(ranks[nz > 0].sum()), float(ranks[nz < 0].sum())
    _, counts = np.unique(np.abs(nz), return_counts=True)
    ties = bool((counts > 1).any())
    out["n_tied_groups"] = int((counts > 1).sum())
    out["rank_biserial"] = (r_plus - r_minus) / (r_plus + r_minus)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on small n for the normal approximation
        approx = stats.wilcoxon(nz, zero_method="wilcox", correction=False, method="approx")
        out["wilcoxon_w"] = float(approx.statistic)
        out["wilcoxon_z"] = _f(approx.zstatistic)
        out["p_asymptotic"] = _f(approx.pvalue)
        if not ties and nz.size <= EXACT_MAX_N:
            out["p_exact"] = _f(stats.wilcoxon(nz, method="exact").pvalue)
            out["p_exact_method"] = "exact"
        elif ties and nz.size <= EXACT_TIES_MAX_N:
            out["p_exact"] = _f(_exact_conditional(nz, ranks))
            out["p_exact_method"] = "exact_conditional"
    return out


def paired(
    pre: Sequence[float],
    post: Sequence[float],
    *,
    reliability: float | None = None,
    higher_is_better: bool = True,
) -> PairedRow:
    """The tidy row for paired scores (``pre[i]`` and ``post[i]`` belong to one person)."""
    if len(pre) != len(post):
        raise ValueError("pre and post must pair up")
    n = len(pre)
    a = np.asarray(pre, dtype=float)
    b = np.asarray(post, dtype=float)
    d = b - a
    row: dict[str, Any] = {
        "n_pairs": n,
        "pre_mean": _f(a.mean()) if n else None,
        "post_mean": _f(b.mean()) if n else None,
        "mean_change": _f(d.mean()) if n else None,
        "pre_sd": None,
        "post_sd": None,
        "ci95_low": None,
        "ci95_high": None,
        "t": None,
        "p_t": None,
        "d_z": None,
    }
    row.update(_wilcoxon(d))
    improved, unchanged, deteriorated = _rci_counts(pre, post, reliability, higher_is_better)
    row.update(rci_improved=improved, rci_unchanged=unchanged, rci_deteriorated=deteriorated)
    if n >= 2:
        row["pre_sd"] = _f(a.std(ddof=1))
        row["post_sd"] = _f(b.std(ddof=1))
        sd_d = float(d.std(ddof=1))
        if sd_d > 0:
            half = float(stats.t.ppf(0.975, n - 1)) * sd_d / math.sqrt(n)
            row["ci95_low"], row["ci95_high"] = float(d.mean()) - half, float(d.mean()) + half
            res = stats.ttest_rel(b, a)
            row["t"], row["p_t"] = _f(res.statistic), _f(res.pvalue)
            row["d_z"] = float(d.mean()) / sd_d
    return PairedRow(**row)
