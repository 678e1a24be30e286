"""Agreement among any number of raters, missing ratings allowed: percent agreement (Fleiss
1971's P-bar), Fleiss' (1971) kappa, Gwet's AC1 (2008) and AC2 (2014) and Krippendorff's
(2011) alpha, each an ``AgreementResult`` with an analytic (Gwet 2014) or bootstrap interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats

from .intervals import _boot_stat, _check_settings, _fnl_null_se, _gwet_variance, _t_interval
from .patterns import (
    _agreement_weights,
    _alpha_from,
    _fleiss_from,
    _gwet_from,
    _moments,
    _pa,
    _Patterns,
    _patterns_from_counts,
    _subject_counts,
)
from .ratings import _is_number, encode_ratings
from .results import (
    _LEVELS,
    STATISTIC_NAMES,
    AgreementError,
    AgreementResult,
    Chance,
    CiMethod,
    IntervalMethod,
    Level,
    WeightName,
    not_measurable_reason,
)


def _prepare(ratings: Any, categories: Sequence[Any] | None, min_ratings: int = 2
             ) -> tuple[_Patterns, list[Any]]:
    codes, cats, _labels = encode_ratings(ratings, categories)
    n_raters = int(np.sum((codes >= 0).any(axis=0))) if codes.size else 0
    if len(cats) == 0:
        raise AgreementError("there are no ratings at all: every cell is empty")
    counts = _subject_counts(codes, len(cats))
    return _patterns_from_counts(counts, n_raters, min_ratings), cats


def _pairable_subjects(pat: _Patterns) -> int:
    return int(pat.freq[pat.m >= 2].sum()) if pat.n_subjects else 0


def _result(key: str, statistic: str, est: float, se: float | None, lo: float, hi: float,
            pat: _Patterns, method: str, noun: str = "subject", **extra: Any
            ) -> AgreementResult:
    n2 = _pairable_subjects(pat)
    obs = float(_pa(_moments(pat, pat.freq[None].astype(float)))[0]) if n2 else None
    used = int(np.sum((pat.counts.T @ pat.freq) > 0)) if n2 else 0
    reason = not_measurable_reason(pat.n_raters, n2, float(est), float(lo), float(hi), obs,
                                   noun, chance_corrected=key != "percent_agreement",
                                   levels_used=used)
    if reason:
        extra = {**extra, "estimate_if_defined": float(est)}
        est = se = lo = hi = math.nan
    return AgreementResult(statistic=statistic, estimate=float(est),
                           se=None if se is None or not math.isfinite(se) else float(se),
                           ci_low=float(lo), ci_high=float(hi), n_subjects=pat.n_subjects,
                           n_raters=pat.n_raters, method=method, extra={"key": key, **extra},
                           reason=reason)


def percent_agreement(ratings: Any, categories: Sequence[Any] | None = None, *,
                      n_boot: int = 2000, seed: int = 0, confidence: float = 0.95,
                      ci_method: CiMethod = "bca") -> AgreementResult:
    """Share of agreeing pairs of ratings, averaged over subjects rated at least twice.

    For a subject with m ratings, of which c_k chose category k, the agreement is
    sum_k c_k (c_k - 1) / (m (m - 1)) (Fleiss 1971's P_i); with two raters it is simply the
    share of subjects on which they agree.  Bootstrap interval over subjects (BCa by default).
    """
    _check_settings(confidence, n_boot)
    pat, _cats = _prepare(ratings, categories)
    est, lo, hi, se, method, notes = _boot_stat(pat, _pa, n_boot, seed, confidence, ci_method)
    return _result("percent_agreement", STATISTIC_NAMES["percent_agreement"], est, se, lo, hi,
                   pat, method, **notes)


def _analytic_or_boot(key: str, name: str, pat: _Patterns, kind: Literal["fleiss", "gwet"],
                      chance: Chance, wmat: np.ndarray | None, interval: IntervalMethod,
                      n_boot: int, seed: int, confidence: float, table_form: bool = False,
                      ci_method: CiMethod = "bca", **extra: Any) -> AgreementResult:
    fn = _fleiss_from if kind == "fleiss" else _gwet_from
    k, pa, pe = (float(x[0]) for x in fn(_moments(pat, pat.freq[None].astype(float)), chance,
                                         wmat))
    var, n_used = _gwet_variance(pat, kind, chance, wmat, k, pe)
    if table_form and math.isfinite(var) and n_used > 0:
        var *= (n_used - 1) / n_used  # Gwet (2008) two-rater table form divides by n, not n - 1
    se_an = math.sqrt(var) if math.isfinite(var) and var >= 0 else math.nan
    extra = {"observed_agreement": pa, "chance_agreement": pe, "chance": chance,
             "se_analytic": se_an, "confidence": confidence, **extra}
    if interval == "analytic":
        lo, hi = _t_interval(k, se_an, n_used - 1, confidence)
        method = ("Gwet (2014) linearised variance, t interval on "
                  f"{max(n_used - 1, 0)} degrees of freedom")
        return _result(key, name, k, se_an, lo, hi, pat, method, **extra)
    if interval != "bootstrap":
        raise AgreementError(f"interval must be 'analytic' or 'bootstrap'; got {interval!r}")
    _check_settings(confidence, n_boot)
    est, lo, hi, se_b, method, notes = _boot_stat(
        pat, lambda mo: fn(mo, chance, wmat)[0], n_boot, seed, confidence, ci_method)
    return _result(key, name, est, se_b, lo, hi, pat, method, **{**extra, **notes})


def fleiss_kappa(ratings: Any, categories: Sequence[Any] | None = None, *,
                 chance: Chance = "pairable", interval: IntervalMethod = "analytic",
                 n_boot: int = 2000, seed: int = 0, confidence: float = 0.95,
                 ci_method: CiMethod = "bca") -> AgreementResult:
    """Fleiss' (1971) kappa for any number of raters, allowing for missing ratings.

    kappa = (P_a - P_e) / (1 - P_e): P_a the mean pairwise agreement of the subjects rated at
    least twice, P_e = sum_k pi_k^2 with pi_k the share of their ratings in category k
    (``chance="pairable"``, the default) or Gwet's (2014) mean of per-subject shares over every
    subject rated at least once (``chance="all_rated"``, irrCAC's ``fleiss.kappa.raw``).

    Interval: Gwet's (2014) linearised variance with a t interval (default), or a bootstrap
    over subjects.  On a complete design ``extra`` also holds ``se_null``, the standard error
    under kappa = 0 of Fleiss, Nee & Landis (1979), and ``z`` = kappa / se_null, the test R's
    ``irr::kappam.fleiss`` prints.  Hand-written: ``statsmodels``' ``fleiss_kappa`` assumes the
    same number of ratings per subject and has no standard error.
    """
    pat, cats = _prepare(ratings, categories, 1 if chance == "all_rated" else 2)
    res = _analytic_or_boot("fleiss_kappa", STATISTIC_NAMES["fleiss_kappa"], pat, "fleiss",
                            chance, None, interval, n_boot, seed, confidence,
                            ci_method=ci_method)
    se0 = _fnl_null_se(pat)
    if se0 is not None:
        z = res.estimate / se0
        res.extra.update(se_null=se0, z=z, p_value=float(2 * stats.norm.sf(abs(z))))
    res.extra["categories"] = cats
    return res


def gwet_ac1(ratings: Any, categories: Sequence[Any] | None = None, *,
             chance: Chance = "pairable", interval: IntervalMethod = "analytic",
             n_boot: int = 2000, seed: int = 0, confidence: float = 0.95,
             ci_method: CiMethod = "bca") -> AgreementResult:
    """Gwet's (2008) AC1 for any number of raters, allowing for missing ratings.

    AC1 = (P_a - P_e) / (1 - P_e) with P_e = sum_k pi_k (1 - pi_k) / (q - 1), pi_k the mean over
    subjects of the share of a subject's ratings in category k (subjects rated at least twice,
    or every rated subject with ``chance="all_rated"`` as in Gwet 2014 and irrCAC).  Less pulled
    down than kappa when one category dominates (the prevalence paradox: package docstring).
    Interval: Gwet's linearised variance with a t interval (default) or a bootstrap.
    """
    pat, cats = _prepare(ratings, categories, 1 if chance == "all_rated" else 2)
    res = _analytic_or_boot("gwet_ac1", STATISTIC_NAMES["gwet_ac1"], pat, "gwet", chance,
                            None, interval, n_boot, seed, confidence, ci_method=ci_method)
    res.extra["categories"] = cats
    return res


def gwet_ac2(ratings: Any, weights: WeightName | np.ndarray = "ordinal",
             categories: Sequence[Any] | None = None, *, chance: Chance = "pairable",
             interval: IntervalMethod = "analytic", n_boot: int = 2000, seed: int = 0,
             confidence: float = 0.95, ci_method: CiMethod = "bca") -> AgreementResult:
    """Gwet's AC2: AC1 with partial credit for near-misses on an ordered scale (Gwet 2014).

    Weights are agreement weights on the positions 0..q-1 of ``categories`` (give them in
    order): ``"linear"`` 1 - |k-l|/(q-1); ``"quadratic"`` 1 - (k-l)^2/(q-1)^2; ``"ordinal"``
    Gwet's ordinal weights 1 - M_kl / max M with M_kl = C(|k-l| + 1, 2), which depend only on
    the ranks; or a q x q matrix.  P_a = mean over subjects of
    sum_k c_k (sum_l w_kl c_l - 1) / (m (m - 1)), P_e = (sum w / (q (q - 1))) sum_k pi_k (1 - pi_k).
    """
    pat, cats = _prepare(ratings, categories, 1 if chance == "all_rated" else 2)
    wmat = _agreement_weights(weights, pat.q)
    wname = weights if isinstance(weights, str) else "custom"
    res = _analytic_or_boot("gwet_ac2", f"{STATISTIC_NAMES['gwet_ac2']} ({wname} weights)",
                            pat, "gwet", chance, wmat, interval, n_boot, seed, confidence,
                            ci_method=ci_method, weights=wname)
    res.extra["categories"] = cats
    return res


def _numeric_values(cats: Sequence[Any], level: Level) -> np.ndarray:
    if level in ("interval", "ratio"):
        if not all(_is_number(c) for c in cats):
            raise AgreementError(f"{level} alpha needs numeric levels; the categories are "
                                 f"{list(cats)!r}. Use level='ordinal' for ordered labels")
        return np.array([float(c) for c in cats])
    return np.arange(len(cats), dtype=float)


def krippendorff_alpha(ratings: Any, level: Level = "nominal",
                       categories: Sequence[Any] | None = None, *, n_boot: int = 2000,
                       seed: int = 0, confidence: float = 0.95, ci_method: CiMethod = "bca"
                       ) -> AgreementResult:
    """Krippendorff's alpha = 1 - D_o / D_e, any number of raters, missing ratings allowed.

    From the coincidence matrix o_ck = sum_u sum_(pairs of ratings in unit u) / (m_u - 1) over
    the units rated at least twice (Krippendorff 2011, "Computing Krippendorff's
    alpha-reliability", section C), with the difference function of the ``level``: nominal
    (0/1), ordinal (by the marginal frequencies of the levels between c and k, in the order of
    ``categories``), interval ((c - k)^2, on the numeric values) or ratio (((c - k)/(c + k))^2).
    No standard analytic interval exists; the interval is a bootstrap over subjects (BCa by
    default).
    """
    if level not in _LEVELS:
        raise AgreementError(f"level must be one of {_LEVELS}; got {level!r}")
    _check_settings(confidence, n_boot)
    pat, cats = _prepare(ratings, categories)
    return _alpha_result(pat, cats, level, n_boot, seed, confidence, ci_method)


def _alpha_result(pat: _Patterns, cats: Sequence[Any], level: Level, n_boot: int, seed: int,
                  confidence: float, ci_method: CiMethod) -> AgreementResult:
    values = _numeric_values(cats, level)
    do, de = (float(x[0]) for x in _alpha_from(_moments(pat, pat.freq[None].astype(float)),
                                               level, values)[1:])
    est, lo, hi, se, method, notes = _boot_stat(
        pat, lambda mo: _alpha_from(mo, level, values)[0], n_boot, seed, confidence, ci_method)
    return _result("krippendorff_alpha", f"{STATISTIC_NAMES['krippendorff_alpha']} ({level})",
                   est, se, lo, hi, pat, method, level=level, observed_disagreement=do,
                   expected_disagreement=de, categories=list(cats), **notes)
