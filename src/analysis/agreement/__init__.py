"""Agreement among raters: percent agreement, Cohen's, Fleiss', Krippendorff's and Gwet's.

Every multi-rater function takes a *subjects x raters* table (rows are the subjects, e.g. the
case vignettes; columns are the raters; an empty cell - NaN, None or a blank string - means the
rater did not rate that subject).  Ratings may be numbers or strings; ``categories`` gives the
full list of levels *in order*, which matters for ordinal statistics and for levels nobody used.
A long table (subject, rater, level) is turned into that matrix by ``ratings_matrix_from_long``.
Every function returns an ``AgreementResult`` with the estimate, its standard error where one is
defined, an interval, the number of subjects and raters, and a note of how the interval was made.

Statistics and their sources
----------------------------
* ``percent_agreement``: the share of agreeing pairs of ratings on a subject, averaged over the
  subjects rated at least twice (Fleiss 1971's P-bar).  No allowance for chance.
* ``cohen_kappa`` / ``cohen_kappa_table``: two raters, Cohen (1960); weighted kappa with linear
  (Cicchetti-Allison) or quadratic (Fleiss-Cohen) weights, Cohen (1968).  Computed by
  ``statsmodels.stats.inter_rater.cohens_kappa`` with its large-sample standard error (Fleiss,
  Cohen & Everitt 1969), the one SAS PROC FREQ prints.
* ``fleiss_kappa``: many raters, Fleiss (1971), with the chance proportions pooled over the
  ratings of the subjects rated at least twice, so an incomplete design (not every rater
  rated every subject) is handled.  ``statsmodels``' ``fleiss_kappa`` is not used for the
  estimate because it assumes every subject has the same number of ratings and gives no
  standard error; the tests check that the two agree on complete designs.
* ``krippendorff_alpha``: Krippendorff's alpha for nominal, ordinal, interval and ratio data
  with missing ratings, from the coincidence matrix (Krippendorff 2011, "Computing
  Krippendorff's alpha-reliability"; 2004, *Content Analysis*, ch. 11).
* ``gwet_ac1`` / ``gwet_ac2``: Gwet's (2008) AC1 and its weighted form AC2 (Gwet 2014,
  *Handbook of Inter-Rater Reliability*, 4th ed.), with linear, quadratic or Gwet's ordinal
  weights; table forms ``gwet_ac1_table`` / ``gwet_ac2_table`` for two raters.

The Fleiss, Krippendorff and Gwet statistics are hand-written here (checked in the tests against
the published worked examples of Fleiss 1971, Krippendorff 2011, Gwet's irrCAC outputs and R's
irr package) because the bootstrap below needs them as vectorised functions of per-subject
counts; the PyPI packages ``krippendorff`` and ``irrCAC`` compute one estimate per call and
would make two thousand resamples of ten thousand subjects take minutes, not milliseconds.

Intervals
---------
* Analytic, where one is standard: Cohen's kappa (Fleiss, Cohen & Everitt 1969 SE; by
  default on Fisher's z scale with a t quantile, which held 90-94% at n = 20 and 92-94% at
  n = 30 where the normal (Wald) interval held 86-89% and 90-91%: ``cohen_kappa_table``
  and ``benchmarks/kappa_coverage.py``); Fleiss' kappa, AC1 and AC2 (Gwet 2014's
  linearised variance of the coefficient, with a t interval on n - 1 degrees of freedom, as
  Gwet's irrCAC does).  For Fleiss' kappa
  on a complete design the result also carries the standard error under "no agreement beyond
  chance" of Fleiss, Nee & Landis (1979), which is for testing kappa = 0, not for intervals.
* Bootstrap over subjects everywhere else (percent agreement, Krippendorff's alpha) and on
  request for every statistic (``interval="bootstrap"``); ``agreement_summary`` uses it for all
  rows so they are comparable.  Every statistic here depends on a subject only through its
  *count vector* (how many raters chose each level), so subjects with the same counts are
  interchangeable.  Resampling n subjects with replacement and counting how many of each
  distinct count vector were drawn is a multinomial draw over those vectors; the bootstrap
  draws that directly (``numpy.random.default_rng(seed).multinomial``) and computes every
  resample's statistic from integer-valued sums by matrix products.  The cost does not grow
  with the number of subjects (10,000 subjects x 5 raters, 2,000 resamples: well under a
  second), the sums are exact (so results do not depend on thread count), and the order of the
  rows and columns of the input makes no difference to the result.  Intervals are BCa
  (bias-corrected and accelerated) by default (Efron 1987, JASA 82:171-185; Efron & Tibshirani
  1993, ch. 14), with the acceleration from the jackknife over subjects, computed the same way;
  ``ci_method="percentile"`` gives the plain percentile interval (ch. 13).  BCa is the default
  because kappa is biased downwards in small samples (its chance agreement is estimated) and
  the percentile interval inherits the bias: in 1,000 simulated exercises of 20 subjects x 5
  raters, 4 levels, the 95% percentile interval held the true Fleiss' kappa 89% of the time and
  BCa 94%.  Resamples where the statistic is undefined (all ratings one level) are dropped and
  counted in ``extra["boot_undefined"]``.

Missing ratings: subjects rated by fewer than two raters carry no information on agreement
and are left out ("pairable" subjects only, as Krippendorff's alpha does).  Gwet (2014) instead
estimates the chance proportions from every subject rated at least once; ``chance="all_rated"``
reproduces his figures (and irrCAC's).  On a complete design the two are the same.

The prevalence paradox
----------------------
When one level dominates (most referrals graded level 2, say), two raters agree often just by
both choosing the common level, so kappa's chance agreement is high and kappa can be low - "fair"
or worse - even when the raters agree on 85% or 90% of subjects (Feinstein & Cicchetti 1990,
"High agreement but low kappa: I. The problems of two paradoxes", J Clin Epidemiol 43:543-549;
Cicchetti & Feinstein 1990, part II).  Kappa is not wrong - it answers "how much better than
raters who share these marginal rates but rate at random?" - but read alone it can suggest that
practitioners disagree when they mostly agree on an unbalanced caseload.  Gwet's AC1 uses a
chance agreement that shrinks when one level dominates, so it stays close to the raw agreement
in that situation (Gwet 2008; Wongpakaran et al. 2013, BMC Med Res Methodol 13:61).  This module
therefore reports AC1 beside kappa (``agreement_summary``), and ``prevalence_paradox_note``
says in plain words when the two diverge.

Readings use the Landis & Koch (1977) bands (slight, fair, moderate, substantial, almost
perfect), say when the interval spans more than one band, and call a small sample small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..reporting import number, pct

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Chance = Literal["pairable", "all_rated"]
IntervalMethod = Literal["analytic", "bootstrap"]
KappaInterval = Literal["fisher_z", "analytic", "bootstrap"]
CiMethod = Literal["bca", "percentile"]
WeightName = Literal["linear", "quadratic", "ordinal"]

#: Display names of the statistics (the ``statistic`` column of ``agreement_summary``).
STATISTIC_NAMES: dict[str, str] = {
    "percent_agreement": "Percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "gwet_ac1": "Gwet's AC1",
    "gwet_ac2": "Gwet's AC2",
}

#: Landis & Koch (1977) bands: upper limit (inclusive) and word.
LANDIS_KOCH: tuple[tuple[float, str], ...] = (
    (0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"),
    (1.00, "almost perfect"))

#: Fewer subjects than this (rated by at least two raters) are called a small sample.
SMALL_SUBJECTS = 30

_LEVELS = ("nominal", "ordinal", "interval", "ratio")


class AgreementError(ValueError):
    """Ratings that cannot be analysed; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class AgreementResult:
    """One agreement statistic with its uncertainty.

    ``se`` is None where no standard error is defined for the method used; ``method`` says how
    the interval was obtained; ``extra`` holds statistic-specific detail (observed and chance
    agreement, the standard error under the null, the bootstrap settings, ...).
    ``reason`` is empty when the statistic was measured; otherwise the estimate and interval
    are NaN and ``reason`` says why in words a report can print ("one vignette: agreement
    cannot be measured"): see ``not_measurable_reason``.
    """

    statistic: str
    estimate: float
    se: float | None
    ci_low: float
    ci_high: float
    n_subjects: int
    n_raters: int
    method: str
    extra: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def key(self) -> str:
        """Short identifier (``fleiss_kappa``, ``gwet_ac1``, ...)."""
        return str(self.extra.get("key", ""))

    def as_row(self) -> dict[str, Any]:
        """The result as a flat dict (without ``extra``), for a table."""
        return {"key": self.key, "statistic": self.statistic, "estimate": self.estimate,
                "se": math.nan if self.se is None else self.se, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n_subjects": self.n_subjects,
                "n_raters": self.n_raters, "method": self.method, "reason": self.reason}


# ======================================================================================
# Input: matrices, long tables, count tables
# ======================================================================================


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _clean_category(v: Any) -> Any:
    """Numbers as int when whole, else float; strings stripped."""
    if _is_number(v):
        f = float(v)
        return int(f) if f.is_integer() else f
    return str(v).strip() if isinstance(v, str) else v


def _as_array(ratings: Any) -> tuple[np.ndarray, list[str]]:
    """The ratings as a 2-D numpy array and the rater (column) labels."""
    if isinstance(ratings, pd.DataFrame):
        labels = [str(c) for c in ratings.columns]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in ratings.dtypes):
            arr = ratings.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = ratings.astype(object).to_numpy(dtype=object)
        return arr, labels
    try:
        arr = np.asarray(ratings)
    except ValueError as exc:
        raise AgreementError("ratings must be a rectangular table (one row per subject, one "
                             "column per rater); rows of different lengths were given") from exc
    if arr.ndim != 2:
        raise AgreementError(f"ratings must be a table with one row per subject and one column "
                             f"per rater; got an array with {arr.ndim} dimension(s)")
    if arr.dtype.kind not in "fiu":
        arr = np.asarray(ratings, dtype=object)
    return arr, [str(j) for j in range(arr.shape[1])]


def encode_ratings(ratings: Any, categories: Sequence[Any] | None = None
                   ) -> tuple[np.ndarray, list[Any], list[str]]:
    """Integer codes (0 .. q-1 in the order of ``categories``; -1 = not rated) for a subjects x
    raters table, with the category list and the rater labels.

    Without ``categories`` the observed values are used, sorted (numerically when all are
    numbers).  A value not in ``categories`` raises ``AgreementError`` naming its row and
    column.
    """
    arr, labels = _as_array(ratings)
    n, r = arr.shape
    if categories is not None:
        cats = [_clean_category(c) for c in categories]
        if len(set(map(repr, cats))) != len(cats):
            raise AgreementError(f"categories contain duplicates: {list(categories)!r}; list "
                                 "each level once, in order")
    else:
        cats = None
    if arr.dtype.kind in "fiu":
        vals = arr.astype(float)
        valid = ~np.isnan(vals)
        if cats is None:
            cats = [_clean_category(v) for v in np.unique(vals[valid])]
        if not cats:
            return np.full((n, r), -1, dtype=np.int64), cats, labels
        if all(_is_number(c) for c in cats):
            cat_vals = np.array([float(c) for c in cats])
            order = np.argsort(cat_vals, kind="stable")
            sv = cat_vals[order]
            pos = np.clip(np.searchsorted(sv, np.where(valid, vals, sv[0])), 0, sv.size - 1)
            ok = ~valid | (sv[pos] == vals)
            if not np.all(ok):
                i, j = map(int, np.argwhere(~ok)[0])
                raise AgreementError(_unknown_value_message(arr[i, j], i, labels[j], cats))
            return np.where(valid, order[pos], -1).astype(np.int64), cats, labels
        arr = arr.astype(object)
    # general path: objects (strings, numbers, None)
    flat = arr.ravel()
    missing = np.fromiter((_is_missing(v) for v in flat), dtype=bool, count=flat.size)
    numeric_cats = cats is not None and all(_is_number(c) for c in cats)
    string_cats = cats is not None and all(isinstance(c, str) for c in cats)

    def norm(v: Any) -> Any:
        if _is_number(v):
            # a number rated on a scale whose levels are written as text ("1", "2", ...)
            return ("s", str(_clean_category(v))) if string_cats else ("n", float(v))
        s = str(v).strip()
        if numeric_cats:
            try:
                return ("n", float(s))
            except ValueError:
                pass
        return ("s", s)

    keys = [None if m else norm(v) for v, m in zip(flat, missing, strict=True)]
    if cats is None:
        seen = {k: _clean_category(v) for k, v, m in zip(keys, flat, missing, strict=True)
                if not m}
        if all(k[0] == "n" for k in seen):
            cats = [seen[k] for k in sorted(seen, key=lambda k: k[1])]
        else:
            cats = [seen[k] for k in sorted(seen, key=lambda k: str(k[1]))]
    lookup = {norm(c): i for i, c in enumerate(cats)}
    codes = np.full(flat.size, -1, dtype=np.int64)
    for idx, k in enumerate(keys):
        if k is None:
            continue
        code = lookup.get(k)
        if code is None:
            i, j = divmod(idx, r)
            raise AgreementError(_unknown_value_message(flat[idx], i, labels[j], cats))
        codes[idx] = code
    return codes.reshape(n, r), cats, labels


def _unknown_value_message(value: Any, row: int, column: str, cats: Sequence[Any]) -> str:
    return (f"rating {value!r} (row {row + 1}, rater column {column!r}) is not one of the "
            f"categories {list(cats)!r}; correct the rating or add the level to categories")


def ratings_matrix_from_long(df: pd.DataFrame, subject: str = "subject_id",
                             rater: str = "rater_id", level: str = "level",
                             categories: Sequence[Any] | None = None) -> pd.DataFrame:
    """Subjects x raters matrix from a long table with one row per (subject, rater) rating.

    Rows and columns are sorted by subject and rater id; cells are the levels as given (NaN
    where a rater did not rate a subject).  A rater rating the same subject twice, or a level
    not in ``categories``, raises ``AgreementError`` naming the subject and rater.
    """
    missing_cols = [c for c in (subject, rater, level) if c not in df.columns]
    if missing_cols:
        raise AgreementError(f"the ratings table has no column(s) {missing_cols}; expected "
                             f"{subject!r}, {rater!r} and {level!r} (pass subject=, rater=, "
                             "level= to name yours)")
    d = df[[subject, rater, level]]
    d = d[~d[level].map(_is_missing)]
    dup = d.duplicated([subject, rater], keep=False)
    if dup.any():
        first = d[dup].iloc[0]
        raise AgreementError(f"rater {first[rater]!r} rated subject {first[subject]!r} more "
                             f"than once ({int(dup.sum())} duplicated rows); keep one rating per "
                             "rater and subject")
    if categories is not None:
        allowed = {repr(_clean_category(c)) for c in categories}
        bad = d[~d[level].map(lambda v: repr(_clean_category(v)) in allowed)]
        if len(bad):
            b = bad.iloc[0]
            raise AgreementError(f"level {b[level]!r} (subject {b[subject]!r}, rater "
                                 f"{b[rater]!r}) is not one of the categories "
                                 f"{list(categories)!r}")
    wide = d.pivot(index=subject, columns=rater, values=level)
    return wide.sort_index(axis=0).sort_index(axis=1)


def ratings_from_counts(counts: Any) -> np.ndarray:
    """A subjects x raters matrix (category positions 0..q-1, NaN padding) from a subjects x
    categories table of counts (how many raters chose each category), the form in which
    Fleiss (1971) and many textbooks print their data.  Rater identity is not needed by the
    Fleiss, Krippendorff or Gwet statistics, so the column a rating lands in is arbitrary."""
    c = np.asarray(counts)
    if c.ndim != 2 or (c.size and (np.any(c < 0) or np.any(c != np.round(c)))):
        raise AgreementError("counts must be a subjects x categories table of non-negative "
                             "whole numbers")
    c = c.astype(np.int64)
    width = int(c.sum(axis=1).max()) if c.size else 0
    out = np.full((c.shape[0], width), np.nan)
    for i, row in enumerate(c):
        vals = np.repeat(np.arange(c.shape[1]), row)
        out[i, : vals.size] = vals
    return out


# ======================================================================================
# The engine: count vectors ("patterns") and their integer-valued sums
# ======================================================================================


@dataclass(frozen=True)
class _Patterns:
    """Distinct per-subject count vectors (sorted) and how many subjects have each."""

    counts: np.ndarray  # P x q, int64
    freq: np.ndarray  # P, int64
    n_raters: int

    @property
    def q(self) -> int:
        return int(self.counts.shape[1])

    @property
    def m(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    @property
    def n_subjects(self) -> int:
        return int(self.freq.sum())


def _subject_counts(codes: np.ndarray, q: int) -> np.ndarray:
    n = codes.shape[0]
    valid = codes >= 0
    rows = np.nonzero(valid)[0]
    flat = rows * q + codes[valid]
    return np.bincount(flat, minlength=n * q).reshape(n, q).astype(np.int64)


def _patterns_from_counts(counts: np.ndarray, n_raters: int, min_ratings: int,
                          freq: np.ndarray | None = None) -> _Patterns:
    counts = np.asarray(counts, dtype=np.int64)
    f = np.ones(counts.shape[0], dtype=np.int64) if freq is None else np.asarray(freq, np.int64)
    keep = (counts.sum(axis=1) >= min_ratings) & (f > 0)
    counts, f = counts[keep], f[keep]
    if counts.shape[0] == 0:
        return _Patterns(np.zeros((0, counts.shape[1]), np.int64), np.zeros(0, np.int64),
                         n_raters)
    uniq, inverse = np.unique(counts, axis=0, return_inverse=True)
    tot = np.bincount(inverse.ravel(), weights=f, minlength=uniq.shape[0]).astype(np.int64)
    return _Patterns(uniq, tot, n_raters)


@dataclass(frozen=True)
class _Moments:
    """Sums over subjects, grouped by the number of ratings m of a subject, for B weightings
    of the patterns (the data itself, or bootstrap resamples): N[b, j] subjects, C[b, j, k]
    ratings of category k, Q[b, j, k, l] sum of c_k * c_l."""

    m_vals: np.ndarray  # J, float
    N: np.ndarray  # B x J
    C: np.ndarray  # B x J x q
    Q: np.ndarray  # B x J x q x q


def _moments(pat: _Patterns, w: np.ndarray) -> _Moments:
    """Integer-valued sums (exact in floating point, so independent of summation order)."""
    w = np.atleast_2d(np.asarray(w, dtype=float))
    b, q = w.shape[0], pat.q
    m = pat.m
    m_vals = np.unique(m)
    counts = pat.counts.astype(float)
    outer = (counts[:, :, None] * counts[:, None, :]).reshape(-1, q * q)
    nn = np.empty((b, m_vals.size))
    cc = np.empty((b, m_vals.size, q))
    qq = np.empty((b, m_vals.size, q, q))
    for j, v in enumerate(m_vals):
        sel = m == v
        wv = w[:, sel]
        nn[:, j] = wv.sum(axis=1)
        cc[:, j] = wv @ counts[sel]
        qq[:, j] = (wv @ outer[sel]).reshape(b, q, q)
    return _Moments(m_vals.astype(float), nn, cc, qq)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(num, float) / np.asarray(den, float)
    return np.where(np.isfinite(out), out, np.nan)


def _agreement_weights(weights: str | np.ndarray | None, q: int) -> np.ndarray:
    """Agreement weights (1 on the diagonal) on category positions 0..q-1."""
    if weights is None or (isinstance(weights, str) and weights in ("identity", "unweighted")):
        return np.eye(q)
    if not isinstance(weights, str):
        w = np.asarray(weights, dtype=float)
        if w.shape != (q, q):
            raise AgreementError(f"a weight matrix must be {q} x {q} (one row and column per "
                                 f"category); got {w.shape}")
        return w
    if q < 2:
        return np.ones((q, q))
    i, j = np.indices((q, q))
    d = np.abs(i - j).astype(float)
    if weights == "linear":
        return 1 - d / (q - 1)
    if weights == "quadratic":
        return 1 - (d / (q - 1)) ** 2
    if weights == "ordinal":
        mm = (d + 1) * d / 2
        return 1 - mm / mm.max()
    raise AgreementError(f"weights must be None, 'linear', 'quadratic' or 'ordinal'; got "
                         f"{weights!r}")


def _pairable(mo: _Moments) -> np.ndarray:
    return mo.m_vals >= 2


def _pa(mo: _Moments, wmat: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) pairwise agreement averaged over subjects with >= 2 ratings."""
    sel = _pairable(mo)
    m = mo.m_vals[sel]
    if wmat is None:
        agree = np.einsum("bjkk->bj", mo.Q[:, sel])
    else:
        agree = np.einsum("bjkl,kl->bj", mo.Q[:, sel], wmat)
    num = ((agree - m * mo.N[:, sel]) / (m * (m - 1))).sum(axis=1)
    return _safe_div(num, mo.N[:, sel].sum(axis=1))


def _pi(mo: _Moments, how: Literal["pooled", "mean", "mean_all"]) -> np.ndarray:
    """Chance proportions of the categories (B x q)."""
    sel = _pairable(mo) if how != "mean_all" else mo.m_vals >= 1
    m = mo.m_vals[sel]
    if how == "pooled":
        return _safe_div(mo.C[:, sel].sum(axis=1),
                         (m * mo.N[:, sel]).sum(axis=1)[:, None])
    return _safe_div((mo.C[:, sel] / m[None, :, None]).sum(axis=1),
                     mo.N[:, sel].sum(axis=1)[:, None])


def _chance_pi(mo: _Moments, kind: Literal["fleiss", "gwet"], chance: Chance) -> np.ndarray:
    if chance == "all_rated":
        return _pi(mo, "mean_all")
    return _pi(mo, "pooled" if kind == "fleiss" else "mean")


def _kappa_like(pa: np.ndarray, pe: np.ndarray) -> np.ndarray:
    return _safe_div(pa - pe, 1 - pe)


def _fleiss_from(mo: _Moments, chance: Chance, wmat: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pa = _pa(mo, wmat)
    pi = _chance_pi(mo, "fleiss", chance)
    w = np.eye(pi.shape[1]) if wmat is None else wmat
    pe = np.einsum("bk,kl,bl->b", pi, w, pi)
    return _kappa_like(pa, pe), pa, pe


def _gwet_from(mo: _Moments, chance: Chance, wmat: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pa = _pa(mo, wmat)
    pi = _chance_pi(mo, "gwet", chance)
    q = pi.shape[1]
    w = np.eye(q) if wmat is None else wmat
    pe = (w.sum() / (q * (q - 1))) * (pi * (1 - pi)).sum(axis=1) if q > 1 else np.ones(len(pa))
    return _kappa_like(pa, pe), pa, pe


def _delta2(level: Level, values: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """Krippendorff's squared difference function; (B x q x q) for ordinal, else (q x q)."""
    q = values.size
    if level == "nominal":
        return 1.0 - np.eye(q)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ratio":
        s = values[:, None] + values[None, :]
        d = values[:, None] - values[None, :]
        return np.where(s != 0, _safe_div(d, np.where(s != 0, s, 1.0)), 0.0) ** 2
    # ordinal: (sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2
    cum = np.cumsum(n_c, axis=-1)
    lo = np.minimum.outer(np.arange(q), np.arange(q))
    hi = np.maximum.outer(np.arange(q), np.arange(q))
    between = cum[..., hi] - cum[..., lo] + n_c[..., lo]
    return (between - (n_c[..., :, None] + n_c[..., None, :]) / 2) ** 2


def _alpha_from(mo: _Moments, level: Level, values: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Krippendorff's alpha with observed and expected disagreement (B,)."""
    sel = _pairable(mo)
    m = mo.m_vals[sel]
    diag_c = np.einsum("bjk,kl->bjkl", mo.C[:, sel], np.eye(mo.C.shape[2]))
    o = ((mo.Q[:, sel] - diag_c) / (m - 1)[None, :, None, None]).sum(axis=1)
    n_c = o.sum(axis=2)
    n_tot = n_c.sum(axis=1)
    d2 = _delta2(level, values, n_c)
    d2b = d2 if d2.ndim == 3 else d2[None]
    do = _safe_div(np.einsum("bkl,bkl->b", o, np.broadcast_to(d2b, o.shape)), n_tot)
    de = _safe_div(np.einsum("bk,bl,bkl->b", n_c, n_c, np.broadcast_to(d2b, o.shape)),
                   n_tot * (n_tot - 1))
    alpha = 1 - _safe_div(do, de)
    return alpha, do, de


# ======================================================================================
# Intervals
# ======================================================================================


def _check_settings(confidence: float, n_boot: int) -> None:
    if not 0 < confidence < 1:
        raise AgreementError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence}")
    if int(n_boot) < 1:
        raise AgreementError(f"n_boot must be a positive number of resamples; got {n_boot}")


def _boot_weights(pat: _Patterns, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap over subjects as multinomial counts of the distinct count vectors."""
    rng = np.random.default_rng(seed)
    n = pat.n_subjects
    if n == 0:
        return np.zeros((n_boot, 0))
    return rng.multinomial(n, pat.freq / n, size=n_boot).astype(float)


def _jackknife(pat: _Patterns, fn: Any, chunk: int = 1024) -> np.ndarray:
    """Leave-one-subject-out values of a statistic, one per pattern (leaving out any one of
    the subjects sharing a count vector gives the same value).  Moments are linear in the
    subject weights, so each is the full sum less one subject's contribution."""
    full = _moments(pat, pat.freq[None].astype(float))
    n_pat = pat.counts.shape[0]
    jidx = np.searchsorted(full.m_vals, pat.m)
    counts = pat.counts.astype(float)
    out = np.empty(n_pat)
    for start in range(0, n_pat, chunk):
        stop = min(n_pat, start + chunk)
        rows = np.arange(stop - start)
        cols = jidx[start:stop]
        nn = np.repeat(full.N, stop - start, axis=0)
        cc = np.repeat(full.C, stop - start, axis=0)
        qq = np.repeat(full.Q, stop - start, axis=0)
        nn[rows, cols] -= 1
        cc[rows, cols] -= counts[start:stop]
        qq[rows, cols] -= counts[start:stop, :, None] * counts[start:stop, None, :]
        out[start:stop] = fn(_Moments(full.m_vals, nn, cc, qq))
    return out


def _bca_levels(est: float, boot: np.ndarray, jack: np.ndarray, jack_freq: np.ndarray,
                confidence: float) -> tuple[float, float] | None:
    """Efron's (1987) bias-corrected and accelerated quantile levels: bias correction z0 from
    the share of resamples below the estimate, acceleration from the (frequency-weighted)
    jackknife skewness (Efron & Tibshirani 1993, eq. 14.15).  None when undefined."""
    ok = np.isfinite(jack)
    f, j = jack_freq[ok].astype(float), jack[ok]
    if f.sum() < 2:
        return None
    d = (f * j).sum() / f.sum() - j
    den = float((f * d * d).sum())
    acc = float((f * d**3).sum()) / (6 * den**1.5) if den > 0 else 0.0
    share = (np.sum(boot < est) + 0.5 * np.sum(boot == est)) / boot.size
    if not 0 < share < 1:
        return None
    z0 = float(stats.norm.ppf(share))
    z = stats.norm.ppf([(1 - confidence) / 2, (1 + confidence) / 2])
    levels = stats.norm.cdf(z0 + (z0 + z) / (1 - acc * (z0 + z)))
    if not np.all(np.isfinite(levels)):
        return None
    return float(levels[0]), float(levels[1])


def _boot_interval(est: float, boot: np.ndarray, confidence: float, ci_method: CiMethod,
                   jack: np.ndarray | None = None, jack_freq: np.ndarray | None = None
                   ) -> tuple[float, float, float, dict[str, Any]]:
    """Bootstrap interval (BCa or percentile) and bootstrap SE, with notes for ``extra``."""
    ok = boot[np.isfinite(boot)]
    notes: dict[str, Any] = {"boot_undefined": int(boot.size - ok.size), "ci_method": ci_method}
    if ok.size < 2 or not math.isfinite(est):
        return math.nan, math.nan, math.nan, notes
    a = (1 - confidence) / 2
    levels: tuple[float, float] | None = (a, 1 - a)
    if ci_method == "bca":
        levels = None
        if jack is not None and jack_freq is not None:
            levels = _bca_levels(est, ok, jack, jack_freq, confidence)
        if levels is None:
            levels = (a, 1 - a)
            notes["ci_method"] = "percentile"
            notes["bca_fallback"] = "BCa undefined (estimate outside the resamples); percentile"
    lo, hi = np.quantile(ok, levels)
    return float(lo), float(hi), float(np.std(ok, ddof=1)), notes


def _boot_method(n_boot: int, ci_method: str) -> str:
    kind = "BCa interval" if ci_method == "bca" else "percentile interval"
    return (f"bootstrap over subjects, {n_boot} resamples, {kind}; SE = standard deviation of "
            "the resamples")


def _boot_stat(pat: _Patterns, fn: Any, n_boot: int, seed: int, confidence: float,
               ci_method: CiMethod, boot_mo: _Moments | None = None
               ) -> tuple[float, float, float, float, str, dict[str, Any]]:
    """Estimate, interval, SE, method text and notes of a pattern statistic."""
    if ci_method not in ("bca", "percentile"):
        raise AgreementError(f"ci_method must be 'bca' or 'percentile'; got {ci_method!r}")
    if pat.n_subjects == 0:
        return (math.nan, math.nan, math.nan, math.nan, _boot_method(n_boot, ci_method),
                {"boot_undefined": n_boot, "ci_method": ci_method})
    est = float(fn(_moments(pat, pat.freq[None].astype(float)))[0])
    if boot_mo is None:
        boot_mo = _moments(pat, _boot_weights(pat, n_boot, seed))
    boot = fn(boot_mo)
    jack = _jackknife(pat, fn) if ci_method == "bca" else None
    lo, hi, se, notes = _boot_interval(est, boot, confidence, ci_method, jack, pat.freq)
    notes.update(n_boot=n_boot, seed=seed, confidence=confidence)
    return est, lo, hi, se, _boot_method(n_boot, notes["ci_method"]), notes


def _t_interval(est: float, se: float, df: int, confidence: float) -> tuple[float, float]:
    if not (math.isfinite(est) and math.isfinite(se)) or df < 1:
        return math.nan, math.nan
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return max(-1.0, est - t * se), min(1.0, est + t * se)


def _gwet_variance(pat: _Patterns, kind: Literal["fleiss", "gwet"], chance: Chance,
                   wmat: np.ndarray | None, est: float, pe: float) -> tuple[float, int]:
    """Gwet (2014) linearised variance of Fleiss' kappa / AC1 / AC2 (irrCAC's formula), and
    the number of subjects it rests on.

    kappa*_i = (n/n2)(pa_i - pe [m_i >= 2])/(1 - pe) - 2 (1 - kappa) s_i (pe_i - pe)/(1 - pe),
    var = sum_i (kappa*_i - kappa)^2 / (n (n - 1)), where s_i = 1 when the chance proportions
    are means of per-subject proportions (Gwet) and m_i / mean(m) when they are pooled over
    ratings (Fleiss' pooled form: the same influence-function derivation, exact for complete
    designs).
    """
    q = pat.q
    w = np.eye(q) if wmat is None else wmat
    counts = pat.counts.astype(float)
    m = counts.sum(axis=1)
    freq = pat.freq.astype(float)
    n = float(freq.sum())
    pair = m >= 2
    n2 = float(freq[pair].sum())
    if n < 2 or n2 < 1 or not math.isfinite(est) or pe >= 1:
        return math.nan, int(n)
    cw = counts @ w.T
    pa_i = np.where(pair, (counts * (cw - 1)).sum(axis=1) / np.where(pair, m * (m - 1), 1), 0)
    if kind == "fleiss" and chance == "pairable":
        pi = counts.T @ freq / float((m * freq).sum())
        scale = m / (float((m * freq).sum()) / n)
    else:
        pi = (counts / m[:, None]).T @ freq / n
        scale = np.ones_like(m)
    if kind == "fleiss":
        pit = (w @ pi + w.T @ pi) / 2
        pe_i = counts @ pit / m
    else:
        pe_i = (w.sum() / (q * (q - 1))) * (counts @ (1 - pi)) / m
    k_i = (n / n2) * (pa_i - pe * pair) / (1 - pe)
    k_x = k_i - 2 * (1 - est) * scale * (pe_i - pe) / (1 - pe)
    var = float((freq * (k_x - est) ** 2).sum()) / (n * (n - 1))
    return var, int(n)


def _fnl_null_se(pat: _Patterns) -> float | None:
    """Fleiss, Nee & Landis (1979) standard error of Fleiss' kappa under kappa = 0 (complete
    designs: every subject rated by the same number of raters)."""
    m = pat.m
    if pat.n_subjects == 0 or np.unique(m).size != 1 or m[0] < 2:
        return None
    k = float(m[0])
    n = float(pat.n_subjects)
    p = (pat.counts.T @ pat.freq) / (n * k)
    pq = p * (1 - p)
    s = float(pq.sum())
    if s <= 0:
        return None
    var0 = 2 / (n * k * (k - 1)) * (s**2 - float((pq * ((1 - p) - p)).sum())) / s**2
    return math.sqrt(var0) if var0 > 0 else None


# ======================================================================================
# Public statistics
# ======================================================================================


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


def not_measurable_reason(n_raters: int, n_subjects: int, estimate: float, ci_low: float,
                          ci_high: float, observed_agreement: float | None = None,
                          noun: str = "subject", chance_corrected: bool = True,
                          levels_used: int | None = None) -> str:
    """Why an agreement result cannot be reported as a number with an interval ("" if it can).

    The rules, in order: fewer than two raters; no subject, or only one, rated by two or more
    raters (one vignette rated by several practitioners: a bootstrap over one subject repeats
    it and gives a zero-width interval, and the analytic variance has no degrees of freedom);
    for a chance-corrected coefficient, every rating the same level (``levels_used`` < 2:
    kappa's chance agreement is 1, and AC1's "1" would only say that nobody used another
    level) or an estimate that is otherwise undefined; and an interval of zero width (every
    rater gave every subject the same level, or every subject drew the same mix of levels, so
    nothing varies from subject to subject).  Percent agreement is a plain share, so only the
    first two rules apply to it.  Phrased for a report: "<why>: agreement cannot be measured".
    """
    if n_raters < 2:
        return "fewer than two raters: agreement cannot be measured"
    if n_subjects == 0:
        return f"no {noun} was rated by two or more raters: agreement cannot be measured"
    if n_subjects == 1:
        return f"one {noun}: agreement cannot be measured"
    if not chance_corrected:
        return ""
    if not math.isfinite(estimate) or (levels_used is not None and levels_used < 2):
        return ("every rating was the same level: agreement beyond chance cannot be "
                "measured")
    if math.isfinite(ci_low) and math.isfinite(ci_high) and ci_high - ci_low <= 1e-12:
        if observed_agreement is not None and observed_agreement >= 1 - 1e-12:
            return (f"every rater gave each {noun} the same level: agreement was complete, "
                    "but with no disagreement at all its uncertainty cannot be measured")
        return (f"every {noun} drew the same mix of levels, so the interval has no width: "
                "agreement cannot be measured")
    return ""


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
    down than kappa when one category dominates (the prevalence paradox: module docstring).
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


# ---------------------------------------------------------------------------------- two raters


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


# ======================================================================================
# Words
# ======================================================================================


def landis_koch_band(value: float) -> str:
    """Landis & Koch (1977) band of a chance-corrected coefficient, in words."""
    if value is None or not math.isfinite(value):
        return "cannot be measured"
    if value < 0:
        return "worse than chance"
    for cut, word in LANDIS_KOCH:
        if value <= cut:
            return word
    return LANDIS_KOCH[-1][1]


def band_words(estimate: float, ci_low: float | None = None, ci_high: float | None = None
               ) -> str:
    """The Landis & Koch (1977) band of an estimate, in words that never claim more than its
    interval allows: "moderate" when the whole interval lies in that band, "between fair and
    moderate" when it spans two or more (naming the bands at the two ends)."""
    word = landis_koch_band(estimate)
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low)
                                                 and math.isfinite(ci_high)):
        return word
    lo, hi = landis_koch_band(ci_low), landis_koch_band(ci_high)
    return word if lo == hi else f"between {lo} and {hi}"


def _band_clause(res: AgreementResult) -> str:
    lo, hi = res.ci_low, res.ci_high
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    b_lo, b_hi = landis_koch_band(lo), landis_koch_band(hi)
    if b_lo == b_hi:
        return ""
    return (f" The interval runs from {b_lo} to {b_hi}, so the data cannot say which of those "
            "bands applies.")


def describe_agreement(res: AgreementResult) -> str:
    """One or two plain-English sentences for a non-statistician reading a result.

    Chance-corrected coefficients are put in Landis & Koch (1977) bands ("Agreement beyond
    chance is moderate (0.52, 95% interval 0.41 to 0.63)"), saying when the interval spans more
    than one band; percent agreement is read as a percentage; a small sample is called small.
    """
    key = res.key
    if res.reason:
        return res.reason[0].upper() + res.reason[1:] + "."
    if not math.isfinite(res.estimate):
        return ("Agreement cannot be measured: fewer than two ratings per subject, or every "
                "rating was the same level.")
    conf = int(round(100 * float(res.extra.get("confidence", 0.95))))
    if key == "percent_agreement":
        text = (f"Two raters gave a subject the same rating {pct(res.estimate)} of the time "
                f"({conf}% interval {pct(res.ci_low)} to {pct(res.ci_high)}); this makes no "
                "allowance for agreement by chance.")
    else:
        what = {"fleiss_kappa": "Agreement beyond chance",
                "cohen_kappa": "Agreement beyond chance",
                "gwet_ac1": "Agreement beyond chance by Gwet's AC1 (less affected when one "
                            "level dominates)",
                "gwet_ac2": "Agreement beyond chance counting near-misses as partial agreement",
                "krippendorff_alpha": "Reliability beyond chance" if res.extra.get(
                    "level", "nominal") == "nominal" else "Reliability beyond chance, counting "
                    "near-misses as partial agreement,"}.get(key, "Agreement beyond chance")
        text = (f"{what} is {landis_koch_band(res.estimate)} ({number(res.estimate)}, {conf}% "
                f"interval {number(res.ci_low)} to {number(res.ci_high)}).")
        text += _band_clause(res)
        if key == "krippendorff_alpha":
            text += (" Krippendorff (2004) advises relying on ratings only when alpha is at "
                     "least 0.80, and drawing tentative conclusions from 0.67.")
    if res.n_subjects < SMALL_SUBJECTS:
        subjects = "one subject was" if res.n_subjects == 1 else f"{res.n_subjects} subjects were"
        text += (f" Only {subjects} rated by two or more raters: a small sample, so the "
                 "interval is wide.")
    return text


def prevalence_paradox_note(percent: float, kappa: float, ac1: float,
                            largest_share: float | None = None, gap: float = 0.1
                            ) -> str | None:
    """A plain-words note when kappa is well below AC1 (by ``gap`` or more) although the raw
    agreement is high: the prevalence paradox (Feinstein & Cicchetti 1990).  None otherwise."""
    vals = (percent, kappa, ac1)
    if not all(v is not None and math.isfinite(v) for v in vals) or ac1 - kappa < gap:
        return None
    dom = ("" if largest_share is None or not math.isfinite(largest_share) else
           f" ({pct(largest_share)} of all ratings were one level)")
    return (f"Raters agreed {pct(percent)} of the time, yet kappa is only {number(kappa)}: most "
            f"ratings fell in one or two levels{dom}, so agreement by chance is high and kappa "
            f"is pulled down (the prevalence paradox, Feinstein & Cicchetti 1990). Gwet's AC1 "
            f"({number(ac1)}) is less affected by this.")


# ======================================================================================
# Summary table
# ======================================================================================


def agreement_summary(matrix: Any, level: Level = "ordinal",
                      categories: Sequence[Any] | None = None, seed: int = 0,
                      n_boot: int = 2000, confidence: float = 0.95, ci_method: CiMethod = "bca",
                      noun: str = "subject") -> pd.DataFrame:
    """All the multi-rater statistics for one subjects x raters table, one row each.

    Rows (``key``): percent_agreement, fleiss_kappa, krippendorff_alpha (at ``level``),
    gwet_ac1, and for ordered levels gwet_ac2 (Gwet's ordinal weights for ``"ordinal"``,
    quadratic weights for ``"interval"``/``"ratio"``).  Columns: key, statistic, estimate, se,
    ci_low, ci_high, n_subjects, n_raters, method, reason, reading.  A row that cannot be
    measured (one subject, fewer than two raters, one level used, a zero-width interval: see
    ``not_measurable_reason``) has NaN estimate and interval and says why in ``reason`` and
    ``reading``, with ``noun`` (e.g. "vignette") for the subjects.

    Every row uses the *same* bootstrap resamples of the subjects rated at least twice
    (``numpy.random.default_rng(seed)``; BCa intervals, or percentile with
    ``ci_method="percentile"``), so the intervals are comparable and the table is reproducible;
    ``se`` is the standard deviation of the resamples.  Fleiss'
    kappa and AC1 are reported side by side because of the prevalence paradox; when they diverge
    the kappa row's reading says why (``prevalence_paradox_note``).
    """
    if level not in _LEVELS:
        raise AgreementError(f"level must be one of {_LEVELS}; got {level!r}")
    _check_settings(confidence, n_boot)
    pat, cats = _prepare(matrix, categories)
    values = _numeric_values(cats, level)
    point = _moments(pat, pat.freq[None].astype(float))
    boot = _moments(pat, _boot_weights(pat, n_boot, seed)) if pat.n_subjects else None
    wname = "ordinal" if level == "ordinal" else "quadratic"
    wmat = _agreement_weights(wname, pat.q)
    specs: list[tuple[str, str, Any]] = [
        ("percent_agreement", STATISTIC_NAMES["percent_agreement"], lambda mo: _pa(mo)),
        ("fleiss_kappa", STATISTIC_NAMES["fleiss_kappa"],
         lambda mo: _fleiss_from(mo, "pairable")[0]),
        ("krippendorff_alpha", f"{STATISTIC_NAMES['krippendorff_alpha']} ({level})",
         lambda mo: _alpha_from(mo, level, values)[0]),
        ("gwet_ac1", STATISTIC_NAMES["gwet_ac1"], lambda mo: _gwet_from(mo, "pairable")[0]),
    ]
    if level != "nominal":
        specs.append(("gwet_ac2", f"{STATISTIC_NAMES['gwet_ac2']} ({wname} weights)",
                      lambda mo: _gwet_from(mo, "pairable", wmat)[0]))
    results: dict[str, AgreementResult] = {}
    for key, name, fn in specs:
        est, lo, hi, se, method, notes = _boot_stat(pat, fn, n_boot, seed, confidence,
                                                    ci_method, boot)
        if key == "krippendorff_alpha":
            notes["level"] = level
        results[key] = _result(key, name, est, se, lo, hi, pat, method, noun=noun, **notes)
    rows = []
    for key, res in results.items():
        reading = describe_agreement(res)
        if key == "fleiss_kappa":
            shares = _pi(point, "pooled")[0] if pat.n_subjects else np.array([math.nan])
            note = prevalence_paradox_note(results["percent_agreement"].estimate,
                                           res.estimate, results["gwet_ac1"].estimate,
                                           float(np.nanmax(shares)) if np.isfinite(
                                               shares).any() else None)
            if note:
                reading += " " + note
        rows.append({**res.as_row(), "reading": reading})
    cols = ["key", "statistic", "estimate", "se", "ci_low", "ci_high", "n_subjects", "n_raters",
            "method", "reason", "reading"]
    return pd.DataFrame(rows, columns=cols)


__all__ = [
    "AgreementError", "AgreementResult", "STATISTIC_NAMES", "agreement_summary",
    "cohen_kappa", "cohen_kappa_table", "describe_agreement", "encode_ratings", "fleiss_kappa",
    "gwet_ac1", "gwet_ac1_table", "gwet_ac2", "gwet_ac2_table", "krippendorff_alpha",
    "krippendorff_alpha_table", "landis_koch_band", "not_measurable_reason",
    "percent_agreement",
    "prevalence_paradox_note", "ratings_from_counts", "ratings_matrix_from_long",
]
