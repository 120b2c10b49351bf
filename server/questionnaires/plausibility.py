"""Plausibility of published summary figures for scores on a grid (integer item values):
the GRIM test for a mean (Brown & Heathers 2017) and the GRIMMER test for a mean with its SD
(Anaya 2016; the parity condition of Allard 2018). Both give warnings, never errors: a reported
figure may be rounded differently, or the sample size may differ from the one entered.

Scores are mapped onto integers first: a sum of items whose values step by g (CBI: 25) is an
integer multiple of g; a mean of k items is a multiple of g/k; a sum x f (WHO-5: x 4) is a
multiple of f x g. A reported value ``35.80`` stands for the interval [35.795, 35.805]
(either rounding of the last digit is accepted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import reduce

from server.errors import UserError
from server.questionnaires.instrument import Instrument, Method

EPS = Fraction(1, 10**12)


def _interval(text: str, name: str) -> tuple[Fraction, Fraction]:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UserError(f"{name}: {text!r} is not a number", field=name) from None
    if not value.is_finite():
        raise UserError(f"{name}: {text!r} is not a number", field=name)
    exponent = value.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    half = Fraction(1, 2 * 10**decimals)
    centre = Fraction(value)
    return centre - half, centre + half


def _integers(lo: Fraction, hi: Fraction) -> range:
    return range(math.ceil(lo - EPS), math.floor(hi + EPS) + 1)


def grim(mean: str, n: int, unit: Fraction = Fraction(1)) -> bool:
    """Can ``n`` scores, each a multiple of ``unit``, have a mean that rounds to ``mean``?"""
    lo, hi = _interval(mean, "mean")
    return len(_integers(lo * n / unit, hi * n / unit)) > 0


def grimmer(mean: str, sd: str, n: int, unit: Fraction = Fraction(1)) -> bool:
    """Can ``n`` scores on the grid have this mean and this sample SD (n - 1)? For integers x,
    the sum of squares Q and the sum T satisfy Q = (n - 1) SD^2 + T^2 / n and Q = T (mod 2)."""
    if n < 2:
        raise UserError("n: at least 2 for an SD", field="n")
    m_lo, m_hi = _interval(mean, "mean")
    s_lo, s_hi = _interval(sd, "sd")
    s_lo, s_hi = max(s_lo, Fraction(0)) / unit, s_hi / unit
    for total in _integers(m_lo * n / unit, m_hi * n / unit):
        q_lo = (n - 1) * s_lo * s_lo + Fraction(total * total, n)
        q_hi = (n - 1) * s_hi * s_hi + Fraction(total * total, n)
        if any(q % 2 == total % 2 for q in _integers(q_lo, q_hi)):
            return True
    return False


def score_unit(inst: Instrument, score_name: str) -> Fraction:
    """The grid step of a score of this instrument (see the module docstring)."""
    score = dict(inst.scores()).get(score_name)
    if score is None:
        raise UserError(f"score: {inst.id} has no score {score_name!r}", field="score")
    items = inst.score_items(score)
    values = [v for item in items for v in inst.scale_of(item).values]
    step = reduce(math.gcd, [abs(v) for v in values if v] or [1])
    unit = Fraction(step)
    if score.method is Method.MEAN:
        unit /= len(items)
    elif score.method is Method.SUM_TIMES:
        unit *= Fraction(score.factor).limit_denominator(1000)
    return unit


@dataclass(frozen=True)
class SummaryCheck:
    grim_ok: bool
    grimmer_ok: bool | None  # None when no SD was given

    def warnings(self, label: str) -> list[str]:
        out = []
        if not self.grim_ok:
            out.append(f"{label}: GRIM: no set of n scores on this instrument has this mean")
        if self.grimmer_ok is False:
            out.append(f"{label}: GRIMMER: this mean and SD cannot come from n such scores")
        return out


def check_summary(
    inst: Instrument, score_name: str, n: int, mean: str, sd: str | None = None
) -> SummaryCheck:
    if n < 1:
        raise UserError("n: must be at least 1", field="n")
    unit = score_unit(inst, score_name)
    ok = grim(mean, n, unit)
    return SummaryCheck(grim_ok=ok, grimmer_ok=None if sd is None else grimmer(mean, sd, n, unit))
