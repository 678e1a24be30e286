"""Proportions from audits of children's case files: intervals, changes, sample sizes, words.

Every number an audit publishes about case files is a count of the form "x of n cases met the
standard".  This module turns those counts into

* an interval for the single proportion (``proportion_ci``; ``proportion_cis`` for many at
  once): Wilson's score interval by default (Wilson 1927), Clopper-Pearson or Jeffreys on
  request, via ``statsmodels.stats.proportion.proportion_confint``;
* an interval for a design-weighted proportion (``weighted_proportion_ci``), using Kish's
  effective sample size in place of the number of cases (Kish 1965; Korn & Graubard 1998);
* the change between two audit rounds (``difference_ci``) with Newcombe's hybrid score
  interval (Newcombe 1998b, method 10) and Fisher's exact test;
* planning numbers: cases needed for a given interval half-width (``n_for_interval_width``)
  and cases per round needed to detect a change (``n_to_detect_change``);
* plain-English wording generated from the numbers (``describe_proportion``,
  ``proportion_phrase``, ``quantifier``, ``describe_change``), which never claims more than the
  interval allows: "most" only when the whole interval lies above one half, no percentage at
  all for fewer than five cases, and a note of the sample size needed when the interval is
  wide.

Conventions: a proportion is a float in [0, 1]; percentages appear only in the wording.  A
change is always *second minus first*: ``p1`` is the previous audit round and ``p2`` the
current one, so a positive difference is an increase since the last audit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportion_effectsize,
)

from .reporting import (
    MIN_AUDITED,
    cannot_tell,
    direction,
    p_value,
    pct,
    points,
    reportable,
    share,
    too_few,
)

__all__ = ["DifferenceResult", "METHOD_LABELS", "Method", "ProportionCI", "SMALL_N", "WIDE",
           "describe_change", "describe_proportion", "difference_ci", "effective_interval",
           "mover_difference", "n_for_interval_width", "n_to_detect_change",
           "newcombe_interval", "proportion_ci", "proportion_cis",
           "proportion_phrase", "quantifier", "quantifier_for", "weighted_proportion_ci",
           "weights_vary"]

Method = Literal["wilson", "clopper-pearson", "jeffreys"]

#: statsmodels' name for each method.
_STATSMODELS_METHOD = {"wilson": "wilson", "clopper-pearson": "beta", "jeffreys": "jeffreys"}

#: Human-readable name of each method (for method notes on the published pages).
METHOD_LABELS = {
    "wilson": "Wilson score interval",
    "clopper-pearson": "Clopper-Pearson exact interval",
    "jeffreys": "Jeffreys interval",
}

#: Below this many cases no percentage is published, only the count (``describe_proportion``).
SMALL_N = MIN_AUDITED  # the minimum audited group of analysis.reporting.rules
#: An interval wider than this (ci_high - ci_low) is called wide in the wording.
WIDE = 0.3


@dataclass(frozen=True)
class ProportionCI:
    """A proportion with its confidence interval.

    ``successes`` and ``n`` are unweighted counts of cases.  ``estimate`` is ``successes / n``
    (or the design-weighted share for ``weighted_proportion_ci``).  For ``n == 0`` the
    estimate and both limits are NaN: with no cases there is nothing to estimate, and an
    interval of 0 to 1 could be mistaken for a computed result.  ``n_eff`` is Kish's effective
    sample size when the proportion is design-weighted, otherwise None.
    """

    successes: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    method: str
    confidence: float
    n_eff: float | None = None

    @property
    def width(self) -> float:
        """Width of the interval, ``ci_high - ci_low`` (NaN when ``n == 0``)."""
        return self.ci_high - self.ci_low


@dataclass(frozen=True)
class DifferenceResult:
    """Change in a proportion between two audit rounds: ``difference = p2 - p1``.

    ``x1/n1`` is the first (previous) round and ``x2/n2`` the second (current) round, so a
    positive difference is an increase since the last audit.  ``ci_low``/``ci_high`` are
    Newcombe's hybrid score limits for ``p2 - p1``; ``p_value`` is Fisher's exact two-sided
    p-value for the 2x2 table.
    """

    x1: int
    n1: int
    x2: int
    n2: int
    p1: float
    p2: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    method: str = "newcombe-hybrid-score"

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or wholly below zero."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


# ======================================================================================
# Intervals
# ======================================================================================


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def _check_method(method: str) -> None:
    if method not in _STATSMODELS_METHOD:
        raise ValueError(f"method must be one of {sorted(_STATSMODELS_METHOD)}, got {method!r}")


def _as_count(value: float, name: str) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or value < 0:
        raise ValueError(f"{name} must be a non-negative whole number, got {value!r}")
    return int(value)


def _intervals(x: np.ndarray, n: np.ndarray, method: str, confidence: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ``method`` for each ``x[i]`` successes out of ``n[i]`` (arrays of the
    same length; whole or effective, non-integer counts): the lower and upper limits as
    float arrays, from one call of statsmodels' ``proportion_confint`` on the arrays.  The
    one place of the package's boundary rules for a single proportion:

    * NaN where ``n`` is not positive and finite (nothing was audited: an interval of 0 to 1
      could be mistaken for a computed result);
    * a lower limit of exactly 0 where ``x <= 0`` and an upper limit of exactly 1 where
      ``x >= n``, for every method: Clopper-Pearson's by definition (Clopper & Pearson 1934);
      for Jeffreys the boundary modification of Brown, Cai & DasGupta (2001) s. 4.1.2; for
      Wilson (1927) it removes floating-point dust such as -1e-17;
    * limits clamped to [0, 1] (a limit statsmodels gives as NaN becomes 0 or 1).
    """
    x = np.asarray(x)
    n = np.asarray(n)
    lo, hi = np.full(x.shape, math.nan), np.full(x.shape, math.nan)
    ok = (n > 0) & np.isfinite(n)
    if ok.any():
        xo, no = x[ok], n[ok]
        low, high = proportion_confint(xo, no, alpha=1 - confidence,
                                       method=_STATSMODELS_METHOD[method])
        low = np.where(xo <= 0, 0.0, np.asarray(low, dtype=float))
        high = np.where(xo >= no, 1.0, np.asarray(high, dtype=float))
        lo[ok] = np.where(low > 0.0, low, 0.0)
        hi[ok] = np.where(high < 1.0, high, 1.0)
    return lo, hi


def _interval(x: float, n: float, method: str, confidence: float) -> tuple[float, float]:
    """:func:`_intervals` for one ``x`` of ``n`` (whole or effective counts), as floats."""
    lo, hi = _intervals(np.array([x]), np.array([n]), method, confidence)
    return float(lo[0]), float(hi[0])


def weights_vary(w: Iterable[float] | np.ndarray) -> bool:
    """True when design weights are not all equal (then weighted estimates are used);
    missing weights are ignored."""
    a = np.asarray(list(w) if not isinstance(w, np.ndarray) else w, dtype=float)
    a = a[~np.isnan(a)]
    return a.size > 0 and float(np.ptp(a)) > 1e-9 * float(np.max(np.abs(a)))


def effective_interval(x: float, n: float, confidence: float = 0.95,
                       method: Method = "wilson") -> tuple[float, float]:
    """The interval of ``method`` for ``x`` of ``n`` where both may be effective (non-integer)
    counts, e.g. a design-weighted share times Kish's effective sample size; (nan, nan) when
    ``n`` is not positive.  The one interval of the package for such counts (the same
    statsmodels call as :func:`proportion_ci` and :func:`weighted_proportion_ci`)."""
    _check_method(method)
    _check_confidence(confidence)
    nn = float(n) if n else 0.0  # not positive and finite: NaN (_intervals)
    return _interval(min(max(float(x), 0.0), nn), nn, method, confidence)


def newcombe_interval(p1: float, n1: float, p2: float, n2: float, confidence: float = 0.95
                      ) -> tuple[float, float, float]:
    """``p1 - p2`` with the hybrid score interval of Newcombe (1998b, method 10) built from the
    two Wilson intervals, for shares on effective sample sizes (non-integer ``n``):
    (difference, low, high).  With whole counts it equals :func:`difference_ci`'s interval
    (statsmodels ``confint_proportions_2indep(method="newcomb")``)."""
    l1, u1 = effective_interval(p1 * n1, n1, confidence)
    l2, u2 = effective_interval(p2 * n2, n2, confidence)
    return mover_difference(p1, l1, u1, p2, l2, u2)


def mover_difference(p1: float, l1: float, u1: float, p2: float, l2: float, u2: float
                     ) -> tuple[float, float, float]:
    """``p1 - p2`` with the MOVER interval ("method of variance estimates recovery") built
    from each estimate's own interval: (difference, low, high), where low is
    ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and high ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``
    (Zou, G. Y. & Donner, A. (2008) "Construction of confidence limits about effect
    measures: a general approach", Statistics in Medicine 27:1693-1702; with Wilson
    intervals it is Newcombe's (1998) method 10).  Used to compare two published findings
    (for example one standard in two rounds), each with its own method's interval."""
    d = p1 - p2
    return (d, max(-1.0, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            min(1.0, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def proportion_ci(successes: int, n: int, method: Method = "wilson",
                  confidence: float = 0.95) -> ProportionCI:
    """Confidence interval for a single proportion ``successes / n``.

    Methods (via ``statsmodels.stats.proportion.proportion_confint``):

    * ``"wilson"`` (default): the score interval of Wilson, E. B. (1927) "Probable inference,
      the law of succession, and statistical inference", JASA 22:209-212; method 3 of
      Newcombe, R. G. (1998a) "Two-sided confidence intervals for the single proportion:
      comparison of seven methods", Statistics in Medicine 17:857-872, who recommends it.
    * ``"clopper-pearson"``: the exact tail-area interval (statsmodels ``"beta"``) of Clopper,
      C. J. & Pearson, E. S. (1934) "The use of confidence or fiducial limits illustrated in
      the case of the binomial", Biometrika 26:404-413; Newcombe's method 5.  Conservative.
    * ``"jeffreys"``: the equal-tailed Jeffreys-prior interval with the boundary modification
      (lower limit 0 when ``successes == 0``, upper limit 1 when ``successes == n``) of Brown,
      L. D., Cai, T. T. & DasGupta, A. (2001) "Interval estimation for a binomial proportion",
      Statistical Science 16:101-133.

    ``n == 0`` gives an estimate and interval of NaN (nothing was audited).
    """
    _check_method(method)
    _check_confidence(confidence)
    x = _as_count(successes, "successes")
    n_ = _as_count(n, "n")
    if x > n_:
        raise ValueError(f"successes ({x}) cannot exceed n ({n_})")
    lo, hi = _interval(x, n_, method, confidence)
    return ProportionCI(x, n_, x / n_ if n_ else math.nan, lo, hi, method, confidence)


def proportion_cis(successes: Iterable[int] | np.ndarray, n: Iterable[int] | np.ndarray,
                   method: Method = "wilson", confidence: float = 0.95
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`proportion_ci` for many proportions at once (a funnel's groups): the
    estimates, lower and upper limits as arrays, from one call of statsmodels'
    ``proportion_confint`` on the arrays (the same interval, method and boundary rules, value
    for value, as one proportion at a time; one quantile of the normal or beta distribution
    computed for all rather than for each: :func:`_intervals`).  ``n == 0`` gives NaN."""
    _check_method(method)
    _check_confidence(confidence)
    xs = [_as_count(v, "successes") for v in np.asarray(successes, dtype=object).ravel()]
    ns = [_as_count(v, "n") for v in np.asarray(n, dtype=object).ravel()]
    if len(xs) != len(ns):
        raise ValueError(f"{len(xs)} successes but {len(ns)} n")
    x, nn = np.array(xs, dtype=np.int64), np.array(ns, dtype=np.int64)
    if (x > nn).any():
        i = int(np.flatnonzero(x > nn)[0])
        raise ValueError(f"successes ({x[i]}) cannot exceed n ({nn[i]})")
    est = np.full(len(x), math.nan)
    np.divide(x, nn, out=est, where=nn > 0)
    lo, hi = _intervals(x, nn, method, confidence)
    return est, lo, hi


def _is_missing(v: object) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, pd.NA and NaT are not equal to themselves
    except TypeError:  # pd.NA raises on bool()
        return True


def weighted_proportion_ci(values: Iterable[object], weights: Iterable[float],
                           method: Method = "wilson", confidence: float = 0.95) -> ProportionCI:
    """Design-weighted proportion with an interval on Kish's effective sample size.

    ``values`` are 0/1 or booleans (missing values - None, NaN, ``pd.NA`` - are excluded with
    their weights); ``weights`` are positive design weights (for example the inverse of each
    case's probability of being sampled).  The estimate is the weighted share
    ``sum(w * y) / sum(w)``.  The interval applies ``method`` to that share with the number of
    cases replaced by the effective sample size ``n_eff = (sum w)^2 / sum(w^2)`` of Kish, L.
    (1965) "Survey Sampling" (Wiley), s. 11.7, as Korn, E. L. & Graubard, B. I. (1998)
    "Confidence intervals for proportions with small expected number of positive counts
    estimated from survey data", Survey Methodology 24:193-201, do for the survey-weighted
    proportion.  The effective sample size allows only for unequal weighting, not for
    clustering or stratification.

    Returns a ``ProportionCI`` whose ``successes`` and ``n`` are the *unweighted* counts of
    cases, ``estimate`` the weighted share and ``n_eff`` the effective sample size.  With
    equal weights it equals ``proportion_ci`` (apart from ``n_eff`` and ``method``).
    """
    _check_method(method)
    _check_confidence(confidence)
    vals = list(values)
    w = np.asarray(list(weights), dtype=float)
    if len(vals) != w.size:
        raise ValueError(f"values ({len(vals)}) and weights ({w.size}) differ in length")
    keep = np.array([not _is_missing(v) for v in vals], dtype=bool)
    y = np.array([float(v) for v, k in zip(vals, keep, strict=True) if k], dtype=float)
    w = w[keep]
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("values must be 0/1 or booleans (or missing)")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be positive and finite for every non-missing value")
    label = f"{method}, design-weighted (Kish effective sample size)"
    n = int(y.size)
    x = int(y.sum())
    if n == 0:
        return ProportionCI(0, 0, math.nan, math.nan, math.nan, label, confidence, n_eff=0.0)
    p = float(np.sum(w * y) / np.sum(w))
    n_eff = float(np.sum(w) ** 2 / np.sum(w**2))
    lo, hi = _interval(p * n_eff, n_eff, method, confidence)
    return ProportionCI(x, n, p, lo, hi, label, confidence, n_eff=n_eff)


def difference_ci(x1: int, n1: int, x2: int, n2: int,
                  confidence: float = 0.95) -> DifferenceResult:
    """Change ``p2 - p1`` between two independent audit rounds, with interval and p-value.

    ``x1`` of ``n1`` is the *first* (previous) round and ``x2`` of ``n2`` the *second*
    (current) round; the difference is second minus first, "change since the last audit".

    Interval: the hybrid score interval, method 10 of Newcombe, R. G. (1998b) "Interval
    estimation for the difference between independent proportions: comparison of eleven
    methods", Statistics in Medicine 17:873-890, which combines the two Wilson intervals
    (``statsmodels.stats.proportion.confint_proportions_2indep``, ``method="newcomb"``).
    P-value: Fisher's exact test, two-sided (``scipy.stats.fisher_exact``).
    """
    _check_confidence(confidence)
    a, m = _as_count(x1, "x1"), _as_count(n1, "n1")
    b, k = _as_count(x2, "x2"), _as_count(n2, "n2")
    if m == 0 or k == 0:
        raise ValueError("both rounds need at least one case (n1 > 0 and n2 > 0)")
    if a > m or b > k:
        raise ValueError("successes cannot exceed the number of cases in a round")
    # statsmodels gives the interval for count1/nobs1 - count2/nobs2: put the second round first.
    lo, hi = confint_proportions_2indep(b, k, a, m, method="newcomb", compare="diff",
                                        alpha=1 - confidence)
    p_value = float(stats.fisher_exact([[b, k - b], [a, m - a]], alternative="two-sided")[1])
    p1, p2 = a / m, b / k
    return DifferenceResult(a, m, b, k, p1, p2, p2 - p1, max(-1.0, float(lo)),
                            min(1.0, float(hi)), p_value, confidence)


# ======================================================================================
# Planning
# ======================================================================================


def n_for_interval_width(margin: float, p: float = 0.5, confidence: float = 0.95) -> int:
    """Cases needed for a confidence interval of about ``p`` plus or minus ``margin``.

    Uses the normal-approximation formula ``n = z^2 p (1 - p) / margin^2`` rounded up
    (Cochran, W. G. (1977) "Sampling Techniques", 3rd ed., Wiley, eq. 4.2, without the finite
    population correction).  ``p = 0.5`` (the default) is the conservative choice: it gives
    the largest ``n`` for any true proportion.  The Wilson interval at this ``n`` is, if
    anything, slightly narrower than ``margin`` near one half; near 0 or 1 the normal
    approximation is poor, so plan with ``p = 0.5`` unless there is a good reason not to.
    """
    _check_confidence(confidence)
    if not 0 < margin < 1:
        raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"p must be between 0 and 1, got {p!r}")
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    n = z * z * p * (1 - p) / (margin * margin)
    return max(1, math.ceil(n - 1e-9))


def n_to_detect_change(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Cases needed in *each* round to detect a change from ``p1`` to ``p2``.

    Two-sided test of two independent proportions with equal group sizes, using Cohen's
    effect size ``h = 2 arcsin(sqrt(p2)) - 2 arcsin(sqrt(p1))`` (Cohen, J. (1988)
    "Statistical Power Analysis for the Behavioral Sciences", 2nd ed., ch. 6) and the normal
    power calculation of ``statsmodels.stats.power.NormalIndPower`` (with
    ``statsmodels.stats.proportion.proportion_effectsize``), rounded up to a whole case.
    """
    for name, v in (("p1", p1), ("p2", p2)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be between 0 and 1, got {v!r}")
    if p1 == p2:
        raise ValueError("p1 and p2 are equal: no sample size detects a change of zero")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError("alpha and power must be between 0 and 1")
    h = abs(float(proportion_effectsize(p2, p1)))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0,
                                     alternative="two-sided")
    return math.ceil(float(np.asarray(n).item()) - 1e-9)


# ======================================================================================
# Wording
# ======================================================================================


def _level(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _singular(noun: str) -> str:
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


def _noun_phrase(noun: str, service: str | None) -> str:
    return f"{service} {noun}" if service else noun


def quantifier(successes: int, n: int, confidence: float = 0.95,
               method: Method = "wilson") -> str:
    """The word for "how many" that the confidence interval supports.

    * ``"all"`` when ``successes == n`` and ``"none"`` when ``successes == 0`` (facts about
      the cases audited);
    * ``"most"`` only when the interval's lower limit is above one half;
    * ``"fewer than half"`` only when the interval's upper limit is below one half;
    * otherwise ``"some"``: the data cannot say whether more or fewer than half.

    Interval: ``proportion_ci`` (Wilson 1927 by default).  Raises ``ValueError`` for ``n == 0``.
    """
    ci = proportion_ci(successes, n, method=method, confidence=confidence)
    if ci.n == 0:
        raise ValueError("no cases: there is nothing to quantify")
    return quantifier_for(ci)


def quantifier_for(ci: ProportionCI) -> str:
    """The quantifier an interval allows (the rules of ``quantifier``), for any interval,
    design-weighted ones included: all / none for n of n and 0 of n, "most" only when the
    lower limit is above one half, "fewer than half" only when the upper limit is below it."""
    if ci.successes == ci.n:
        return "all"
    if ci.successes == 0:
        return "none"
    if ci.ci_low > 0.5:
        return "most"
    if ci.ci_high < 0.5:
        return "fewer than half"
    return "some"


def proportion_phrase(successes: int, n: int, noun: str = "cases", service: str | None = None,
                      confidence: float = 0.95, method: Method = "wilson") -> str:
    """The count-and-interval phrase used in findings, for ``n >= 1``.

    ``"all 9 of 9 triage cases (95% CI 70% to 100%)"``, ``"none of the 6 cases (95% CI 0% to
    39%)"``, ``"2 of 6 cases (33%, 95% CI 10% to 70%)"``.  Percentages are whole numbers;
    the interval (``proportion_ci``, Wilson 1927 by default) is rounded to the nearest whole
    percent.  It makes no small-number check: ``describe_proportion`` does that.
    """
    ci = proportion_ci(successes, n, method=method, confidence=confidence)
    if ci.n == 0:
        raise ValueError("no cases: use describe_proportion, which says so")
    what = _noun_phrase(noun, service)
    interval = f"{_level(confidence)} CI {pct(ci.ci_low)} to {pct(ci.ci_high)}"
    if ci.successes == ci.n:
        return f"all {ci.n} of {ci.n} {what} ({interval})"
    if ci.successes == 0:
        return f"none of the {ci.n} {what} ({interval})"
    return f"{ci.successes} of {ci.n} {what} ({share(ci.successes, ci.n)}, {interval})"


def _wide_note(ci: ProportionCI, noun: str, wide: float, confidence: float) -> str:
    if not ci.width > wide:
        return ""
    need = n_for_interval_width(0.10, p=0.5, confidence=confidence)
    return (f" A sample of about {need} {noun} would be needed to estimate this to within "
            f"±10 percentage points.")


def describe_proportion(successes: int, n: int, noun: str = "cases", service: str | None = None,
                        confidence: float = 0.95, method: Method = "wilson",
                        small_n: int | None = None, wide: float = WIDE,
                        outcome: str = "met the standard",
                        small: Literal["suppress", "count"] = "suppress") -> str:
    """One or two plain-English sentences for "``successes`` of ``n`` cases met the standard".

    Rules (``noun`` is plural, e.g. "cases"; ``service`` prefixes it, e.g. "triage cases"):

    * ``n == 0``: "No cases were audited."
    * ``0 < n < small_n`` (default: ``analysis.reporting.min_audited()``, 5): "3 cases audited:
      too few to report." No count met, no percentage, no interval (rule 1 of
      ``analysis.reporting.rules``: a "1 of 1" would be one child's result).  With
      ``small="count"`` (only for a published report's own figures, quoted on a reproduction
      page) the count is given: "2 of 3 cases met the standard; with so few cases no general
      finding can be drawn."
    * ``n >= small_n``: the count, the whole-number percentage (only when some but not all met
      it) and the interval rounded to whole percents: "All 9 triage cases met the
      standard (95% CI 70% to 100%).", "None of the 6 cases met the standard (95% CI 0% to
      39%).", "2 of 6 cases met the standard (33%, 95% CI 10% to 70%)."  A share that would
      round to 0% or 100% without being none or all is written "less than 1%" or "more than
      99%".
    * Whenever ``n >= 1`` and the interval is wider than ``wide`` (``ci_high - ci_low``,
      default 0.3), a sentence is added: "A sample of about 97 cases would be needed to
      estimate this to within ±10 percentage points."  The number is
      ``n_for_interval_width(0.10, p=0.5)``: the conservative planning value p = 0.5, which is
      enough whatever the true proportion.

    Interval: ``proportion_ci`` with ``method`` (Wilson 1927 by default; Newcombe 1998a).
    """
    ci = proportion_ci(successes, n, method=method, confidence=confidence)
    what = _noun_phrase(noun, service)
    if ci.n == 0:
        return f"No {what} were audited."
    note = _wide_note(ci, noun, wide, confidence)
    if not reportable(ci.n, small_n):
        if small == "count" and ci.n > 1:
            return (f"{ci.successes} of {ci.n} {what} {outcome}; with so few {noun} no "
                    f"general finding can be drawn.")
        if small == "count":
            return (f"One {_noun_phrase(_singular(noun), service)} was audited; no general "
                    "finding can be drawn.")
        text = too_few(ci.n, what, small_n)
        return text[0].upper() + text[1:] + "."
    interval = f"{_level(confidence)} CI {pct(ci.ci_low)} to {pct(ci.ci_high)}"
    if ci.successes == ci.n:
        text = f"All {ci.n} {what} {outcome} ({interval})."
    elif ci.successes == 0:
        text = f"None of the {ci.n} {what} {outcome} ({interval})."
    else:
        text = (f"{ci.successes} of {ci.n} {what} {outcome} "
                f"({share(ci.successes, ci.n)}, {interval}).")
    return text + note


def describe_change(diff: DifferenceResult, noun: str = "cases",
                    outcome: str = "met the standard", negligible: float = 0.05,
                    reference_change: float = 0.20, power: float = 0.8) -> str:
    """Plain-English sentence for the change between two audit rounds.

    The words follow :data:`analysis.reporting.CHANGE_RULE`: "rose" or "fell" only when the
    Newcombe (1998b) hybrid score interval in ``diff`` (see ``difference_ci``) excludes zero
    **and** Fisher's exact test, stated beside it, agrees (p below 1 - confidence):

    * "The share of cases that met the standard rose from 60% (48 of 80) at the previous audit
      to 80% (56 of 70): an increase of 20 percentage points (95% CI 5 to 33; Fisher's exact
      test p = 0.008)."
    * "... fell from ...: a decrease of 20 percentage points (95% CI 5 to 33; ...)" (the
      decrease and its interval as sizes);
    * otherwise "the data cannot tell whether it changed", with the difference, its interval
      and the test, then the cases needed in *each* round to detect a change of the observed
      size with 80% power at the two-sided 5% level (``n_to_detect_change``, Cohen's h).  When
      the observed change is smaller than ``negligible`` (default 5 points) the planning size
      is for a change of ``reference_change`` (default 20 points) instead.

    Percentages and points follow the one formatter (``analysis.reporting``).
    """
    lvl = _level(diff.confidence)
    share = f"The share of {noun} that {outcome}"
    was = f"{pct(diff.p1)} ({diff.x1} of {diff.n1}) at the previous audit"
    now = f"{pct(diff.p2)} ({diff.x2} of {diff.n2})"
    test = f"Fisher's exact test p = {p_value(diff.p_value)}"
    way = direction(diff.ci_low, diff.ci_high, diff.p_value, alpha=1 - diff.confidence)
    if way == "up":
        return (f"{share} rose from {was} to {now}: an increase of "
                f"{points(diff.difference, unit=False)} percentage points ({lvl} CI "
                f"{points(diff.ci_low, unit=False)} to {points(diff.ci_high, unit=False)}; "
                f"{test}).")
    if way == "down":
        return (f"{share} fell from {was} to {now}: a decrease of "
                f"{points(-diff.difference, unit=False)} percentage points ({lvl} CI "
                f"{points(-diff.ci_high, unit=False)} to {points(-diff.ci_low, unit=False)}; "
                f"{test}).")
    text = (f"{share} was {was} and is {now} now: {cannot_tell('it changed')} "
            f"(difference {points(diff.difference, signed=True)}, {lvl} CI "
            f"{points(diff.ci_low, signed=True, unit=False)} to "
            f"{points(diff.ci_high, signed=True)}; "
            f"{test}).")
    if abs(diff.difference) >= negligible:
        target, size = diff.p2, "a change of this size"
    else:
        up = diff.p1 + reference_change
        target = up if up <= 1 else diff.p1 - reference_change
        size = f"a change of {points(reference_change, unit=False)} percentage points"
    alpha = 1 - diff.confidence
    need = n_to_detect_change(diff.p1, target, alpha=alpha, power=power)
    return (text + f" To detect {size} reliably ({power * 100:g}% power, {alpha * 100:g}% "
            f"significance) would need about {need} {noun} in each audit round.")
