"""Agreement between two raters: Cohen's (1960) kappa and weighted kappa (Cohen 1968) by
``statsmodels.stats.inter_rater.cohens_kappa`` with the Fleiss, Cohen & Everitt (1969)
standard error and a Fisher z, normal (Wald) or bootstrap interval; Gwet's AC1 and AC2
(Gwet 2008, 2014) and Krippendorff's alpha from a square table of counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats

from .intervals import _boot_interval, _boot_method, _check_settings
from .many_raters import _alpha_result, _analytic_or_boot
from .patterns import _agreement_weights, _Patterns, _patterns_from_counts, _safe_div
from .ratings import encode_ratings
from .results import (
    _LEVELS,
    STATISTIC_NAMES,
    AgreementError,
    AgreementResult,
    CiMethod,
    KappaInterval,
    Level,
    WeightName,
    not_measurable_reason,
)


def _check_table(table: Any) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise AgreementError(f"a contingency table must be square (one row and column per "
                             f"category, first rater in rows); got shape {t.shape}")
    if t.shape[0] < 2:
        raise AgreementError("a contingency table needs at least two categories")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise AgreementError("a contingency table must hold non-negative counts")
    if t.sum() <= 0:
        raise AgreementError("the contingency table is empty (all counts are zero)")
    return t


def _kappa_tables(tables: np.ndarray, wdis: np.ndarray) -> np.ndarray:
    """Cohen's (weighted) kappa for a stack of tables (B x q x q), disagreement weights."""
    tot = tables.sum(axis=(1, 2))
    po = tables / tot[:, None, None]
    pe = po.sum(axis=2)[:, :, None] * po.sum(axis=1)[:, None, :]
    return 1 - _safe_div(np.einsum("bkl,kl->b", po, wdis), np.einsum("bkl,kl->b", pe, wdis))


def _fisher_z_interval(k: float, se: float, n: int, confidence: float
                      ) -> tuple[float, float]:
    """Interval for kappa on Fisher's z = atanh(kappa) scale: SE / (1 - kappa^2) by the delta
    method, t quantile on n - 1 degrees of freedom, back-transformed with tanh."""
    if not (math.isfinite(k) and math.isfinite(se)) or abs(k) >= 1 or n < 2:
        return math.nan, math.nan
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    z, zse = math.atanh(k), se / (1 - k * k)
    return math.tanh(z - t * zse), math.tanh(z + t * zse)


#: How ``cohen_kappa_table`` words its analytic intervals (``AgreementResult.method``).
_KAPPA_METHODS = {
    "fisher_z": "Fleiss, Cohen & Everitt (1969) large-sample SE (statsmodels), interval on "
                "Fisher's z scale (t on n - 1 degrees of freedom)",
    "analytic": "Fleiss, Cohen & Everitt (1969) large-sample SE (statsmodels), normal interval",
}


def cohen_kappa_table(table: Any, weights: Literal["linear", "quadratic"] | None = None,
                      confidence: float = 0.95,
                      interval: Literal["fisher_z", "analytic"] = "fisher_z",
                      noun: str = "subject") -> AgreementResult:
    """Cohen's kappa (1960) or weighted kappa (1968) from a square table of counts (first
    rater in rows), via ``statsmodels.stats.inter_rater.cohens_kappa``.

    Weights are on the category positions: linear (Cicchetti-Allison) or quadratic
    (Fleiss-Cohen).  Standard error: the large-sample non-null formula of Fleiss, Cohen &
    Everitt (1969), the one SAS PROC FREQ prints.  ``extra`` has the standard error under
    kappa = 0 (``se_null``), ``z`` and ``p_value`` (as R's ``irr::kappa2``).

    Interval (``interval=``):

    * ``"fisher_z"`` (default): the same SE carried to Fisher's (1921) z = atanh(kappa) by the
      delta method (SE / (1 - kappa^2)), a t interval on n - 1 degrees of freedom there (as
      the package's Gwet intervals), back-transformed with tanh, so it stays inside (-1, 1)
      and is asymmetric where kappa's sampling distribution is (skewed towards 0 when kappa
      is high).  Quadratic-weighted kappa is asymptotically an intraclass correlation (Fleiss
      & Cohen 1973, Educ Psychol Meas 33:613-619), for which z is Fisher's normalising
      transform.
    * ``"analytic"``: kappa +- z SE, the normal (Wald) interval of SAS PROC FREQ.

    Coverage of the nominal 95% interval measured by ``benchmarks/kappa_coverage.py`` (two
    raters, 4 ordered levels cut from a latent normal; three settings with quadratic-weighted
    kappa 0.46, 0.60 and 0.74; 2,000 data sets per cell; Monte Carlo SE 0.5 points), quadratic
    weights, lowest to highest of the three settings:

    ==========  ===========  ===========  ===========  ===========
    method      n = 20       n = 30       n = 50       n = 100
    ==========  ===========  ===========  ===========  ===========
    fisher_z    90.4 - 93.8  92.4 - 93.7  94.0 - 94.5  94.1 - 94.5
    analytic    85.5 - 88.6  90.0 - 90.9  91.5 - 92.0  92.8 - 94.0
    BCa boot.   89.6 - 91.6  92.0 - 93.5  93.5 - 94.2  94.0 - 94.5
    ==========  ===========  ===========  ===========  ===========

    The Wald interval misses mostly on one side (it sits too low when kappa is high); the z
    interval's misses are balanced, and it is no wider than the Wald interval with a t
    quantile (median width at n = 30: 0.35 to 0.59 against the Wald's 0.32 to 0.58).  A
    studentized bootstrap (bootstrap-t) came nearer 95% (94 to 96%) but its intervals were
    erratic at n = 20 (a tenth wider than 1.2 on kappa's scale), so it is not offered.  With
    linear weights and unweighted the z interval covered 93.0 to 95.6% at every n.

    Not measurable (NaN estimate and interval, ``reason`` says why: ``not_measurable_reason``):
    fewer than two subjects, both raters using one category, or a zero-width interval (every
    subject on the diagonal: complete agreement, SE 0).
    """
    from statsmodels.stats.inter_rater import cohens_kappa

    _check_settings(confidence, 1)
    t = _check_table(table)
    if weights not in (None, "linear", "quadratic"):
        raise AgreementError(f"weights must be None, 'linear' or 'quadratic'; got {weights!r}")
    if interval not in _KAPPA_METHODS:
        raise AgreementError(f"interval must be one of {tuple(_KAPPA_METHODS)} for a table; "
                             f"got {interval!r}")
    n = int(round(t.sum()))
    q = t.shape[0]
    po = float(np.trace(t) / t.sum())
    pe = float((t.sum(axis=1) @ t.sum(axis=0)) / t.sum() ** 2)
    name = STATISTIC_NAMES["cohen_kappa"] if weights is None else f"Weighted kappa ({weights})"
    if pe >= 1 or n < 2:
        reason = not_measurable_reason(2, n, math.nan, math.nan, math.nan, po, noun)
        return AgreementResult(name, math.nan, None, math.nan, math.nan, n, 2,
                               "undefined: both raters used a single category" if pe >= 1
                               else "undefined: fewer than two subjects",
                               {"key": "cohen_kappa", "observed_agreement": po}, reason)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = cohens_kappa(t, wt=weights) if weights else cohens_kappa(t)
    k, se, se0 = float(res.kappa), float(res.std_kappa), float(res.std_kappa0)
    if not math.isfinite(se):
        lo, hi = math.nan, math.nan
    elif interval == "fisher_z":
        lo, hi = (k, k) if se == 0 else _fisher_z_interval(k, se, n, confidence)
    else:
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        lo, hi = max(-1.0, k - z * se), min(1.0, k + z * se)
    zval = k / se0 if se0 > 0 else math.nan
    extra = {"key": "cohen_kappa", "weights": weights, "observed_agreement": po,
             "chance_agreement": pe, "se_null": se0, "z": zval,
             "p_value": float(2 * stats.norm.sf(abs(zval))) if math.isfinite(zval) else
             math.nan, "kappa_max": float(res.kappa_max), "n_categories": q,
             "confidence": confidence, "interval": interval}
    reason = not_measurable_reason(2, n, k, lo, hi, po, noun)
    if reason:
        extra["estimate_if_defined"] = k
        k, se, lo, hi = math.nan, math.nan, math.nan, math.nan
    return AgreementResult(name, k, se if math.isfinite(se) else None, lo, hi, n, 2,
                           _KAPPA_METHODS[interval], extra, reason)


def cohen_kappa(ratings: Any, weights: Literal["linear", "quadratic"] | None = None,
                categories: Sequence[Any] | None = None, *,
                interval: KappaInterval = "fisher_z", n_boot: int = 2000, seed: int = 0,
                confidence: float = 0.95, ci_method: CiMethod = "bca") -> AgreementResult:
    """Cohen's (weighted) kappa for two raters: ``ratings`` has two columns (first rater,
    second rater); subjects missing either rating are left out (as R's ``irr::kappa2`` and SAS
    do).  Give ``categories`` in order for weighted kappa and to include unused levels.

    Interval (``interval=``): ``"fisher_z"`` (default) or ``"analytic"`` (Wald), both from
    ``cohen_kappa_table`` (see there for the coverage each achieved at n = 20 to 100);
    ``"bootstrap"`` resamples subjects (multinomial over the cells of the table; BCa or, with
    ``ci_method="percentile"``, percentile).  A result that cannot be measured (one subject,
    one category, complete agreement) has NaN estimate and interval and a ``reason``.
    """
    codes, cats, _ = encode_ratings(ratings, categories)
    if codes.shape[1] != 2:
        raise AgreementError(f"Cohen's kappa compares exactly two raters; the table has "
                             f"{codes.shape[1]} columns (use fleiss_kappa or gwet_ac1 for more)")
    q = len(cats)
    if q < 2:
        raise AgreementError("Cohen's kappa needs at least two categories; give categories= "
                             "when only one level was used")
    both = (codes >= 0).all(axis=1)
    if not both.any():
        raise AgreementError("no subject was rated by both raters")
    cells = codes[both, 0] * q + codes[both, 1]
    table = np.bincount(cells, minlength=q * q).reshape(q, q)
    if interval not in ("fisher_z", "analytic", "bootstrap"):
        raise AgreementError(f"interval must be 'fisher_z', 'analytic' or 'bootstrap'; got "
                             f"{interval!r}")
    res = cohen_kappa_table(table, weights, confidence,
                            "analytic" if interval == "bootstrap" else interval)
    extra = {**res.extra, "categories": cats, "n_excluded": int((~both).sum())}
    if interval != "bootstrap" or res.reason:
        return AgreementResult(res.statistic, res.estimate, res.se, res.ci_low, res.ci_high,
                               res.n_subjects, 2, res.method, extra, res.reason)
    _check_settings(confidence, n_boot)
    if ci_method not in ("bca", "percentile"):
        raise AgreementError(f"ci_method must be 'bca' or 'percentile'; got {ci_method!r}")
    flat = table.ravel()
    nz = np.nonzero(flat)[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(int(flat.sum()), flat[nz] / flat.sum(), size=n_boot)
    tables = np.zeros((n_boot, q * q))
    tables[:, nz] = draws
    i, j = np.indices((q, q))
    wdis = 1.0 - _agreement_weights(weights, q) if weights else (i != j).astype(float)
    boot = _kappa_tables(tables.reshape(n_boot, q, q), wdis)
    jack_tables = np.repeat(flat[None].astype(float), nz.size, axis=0)
    jack_tables[np.arange(nz.size), nz] -= 1  # leave out one subject of each occupied cell
    jack = _kappa_tables(jack_tables.reshape(-1, q, q), wdis)
    lo, hi, se_b, notes = _boot_interval(res.estimate, boot, confidence, ci_method, jack,
                                         flat[nz])
    notes.update(n_boot=n_boot, seed=seed, interval="bootstrap")
    est = res.estimate
    reason = not_measurable_reason(2, res.n_subjects, est, lo, hi,
                                   res.extra.get("observed_agreement"))
    if reason:
        est, se_b, lo, hi = math.nan, math.nan, math.nan, math.nan
    return AgreementResult(res.statistic, est, se_b, lo, hi, res.n_subjects, 2,
                           _boot_method(n_boot, notes["ci_method"]),
                           {**extra, **notes, "se_analytic": res.se}, reason)


def _table_patterns(table: Any) -> _Patterns:
    t = _check_table(table)
    if np.any(t != np.round(t)):
        raise AgreementError("the contingency table must hold whole-number counts")
    q = t.shape[0]
    a, b = np.indices((q, q))
    counts = np.zeros((q * q, q), dtype=np.int64)
    np.add.at(counts, (np.arange(q * q), a.ravel()), 1)
    np.add.at(counts, (np.arange(q * q), b.ravel()), 1)
    return _patterns_from_counts(counts, 2, 2, freq=t.ravel().astype(np.int64))


def gwet_ac1_table(table: Any, confidence: float = 0.95) -> AgreementResult:
    """Gwet's AC1 for two raters from a square table of counts (Gwet 2008; irrCAC's
    ``gwet.ac1.table``): pi_k is the mean of the two raters' marginal shares.  The variance is
    Gwet's two-rater table form, which divides by n where the raw-data form divides by n - 1."""
    pat = _table_patterns(table)
    return _analytic_or_boot("gwet_ac1", STATISTIC_NAMES["gwet_ac1"], pat, "gwet", "pairable",
                             None, "analytic", 1, 0, confidence, table_form=True)


def gwet_ac2_table(table: Any, weights: WeightName | np.ndarray = "quadratic",
                   confidence: float = 0.95) -> AgreementResult:
    """Gwet's AC2 for two raters from a square table (rows and columns in category order);
    weights as in ``gwet_ac2``."""
    pat = _table_patterns(table)
    wmat = _agreement_weights(weights, pat.q)
    wname = weights if isinstance(weights, str) else "custom"
    return _analytic_or_boot("gwet_ac2", f"{STATISTIC_NAMES['gwet_ac2']} ({wname} weights)",
                             pat, "gwet", "pairable", wmat, "analytic", 1, 0, confidence,
                             table_form=True, weights=wname)


def krippendorff_alpha_table(table: Any, level: Level = "nominal",
                             values: Sequence[float] | None = None, *, n_boot: int = 2000,
                             seed: int = 0, confidence: float = 0.95,
                             ci_method: CiMethod = "bca") -> AgreementResult:
    """Krippendorff's alpha for two coders from a square table of counts (rows and columns in
    category order; ``values`` are the numeric levels for interval or ratio alpha)."""
    if level not in _LEVELS:
        raise AgreementError(f"level must be one of {_LEVELS}; got {level!r}")
    _check_settings(confidence, n_boot)
    pat = _table_patterns(table)
    cats = list(values) if values is not None else list(range(pat.q))
    if len(cats) != pat.q:
        raise AgreementError(f"values must give one number per category ({pat.q})")
    return _alpha_result(pat, cats, level, n_boot, seed, confidence, ci_method)
