"""The engine: per-subject count vectors ("patterns") and their integer-valued sums, and every
coefficient as a vectorised function of those sums.

Every statistic here depends on a subject only through its count vector, so the distinct
vectors and their frequencies are enough; the sums over subjects are integer-valued and so
exact in floating point (independent of summation order and thread count), for many
weightings at once (the data, or bootstrap resamples).  Pairwise agreement and the chance
proportions of Fleiss (1971); Gwet's (2008) AC1 and weighted AC2 with linear, quadratic or
ordinal weights (Gwet 2014, *Handbook of Inter-Rater Reliability*, 4th ed.); Krippendorff's
alpha from the coincidence matrix with the nominal, ordinal, interval or ratio difference
function (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .results import AgreementError, Chance, Level


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
