"""Intervals: the bootstrap over subjects as a multinomial draw over the distinct count
vectors, with BCa (Efron 1987, JASA 82:171-185; Efron & Tibshirani 1993, ch. 14, the
acceleration from the jackknife over subjects) or percentile intervals (ch. 13); Gwet's (2014)
linearised variance with a t interval on n - 1 degrees of freedom (irrCAC's formula); and the
standard error of Fleiss' kappa under kappa = 0 of Fleiss, Nee & Landis (1979).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy import stats

from .patterns import _Moments, _moments, _Patterns
from .results import AgreementError, Chance, CiMethod


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
