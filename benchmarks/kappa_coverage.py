"""Coverage of 95% intervals for Cohen's weighted kappa at small samples (not a test).

Two raters grade n cases on a 4-level ordinal scale.  Each case has a latent severity
T ~ N(0, 1); rater r sees T + e_r with (e_1, e_2) bivariate normal (sd ``sigma``, correlation
``rho`` between the two raters' errors: a shared misreading of the case) and rater 2 may read
everything ``shift`` higher; the readings are cut into 4 levels at ``cuts``.  The "true" kappa
of a setting is the kappa of its population table, estimated from 4,000,000 simulated cases.
For each setting and n, ``--reps`` data sets are drawn and every method's interval is computed;
coverage is the share of intervals holding the true kappa (an interval that cannot be computed
counts as a miss), with the share missing low / high and the median width.

Methods (all vectorised here, independently of ``analysis.agreement``, so the study also
checks the package; ``--package`` re-runs the package's own ``cohen_kappa`` for each of its
``interval=`` methods on fewer data sets):

* ``wald``: kappa +- z SE, SE the large-sample non-null formula of Fleiss, Cohen & Everitt
  (1969) (as statsmodels and SAS PROC FREQ); the package's ``interval="analytic"``.
* ``wald_t``: the same SE with the t quantile on n - 1 degrees of freedom.
* ``fisher_z``: the same SE carried to Fisher's z = atanh(kappa) by the delta method
  (SE / (1 - kappa^2)), a normal interval there, back-transformed with tanh.  Quadratic-weighted
  kappa is asymptotically an intraclass correlation (Fleiss & Cohen 1973, Educ Psychol Meas
  33:613-619), for which the z transform is the classical normalising transform.
* ``percentile`` / ``bca``: bootstrap over cases (``--boot`` resamples), percentile and
  bias-corrected and accelerated (Efron 1987; acceleration from the jackknife); the package's
  ``interval="bootstrap"`` with ``ci_method="percentile"`` / ``"bca"``.
* ``boot_t``: studentized bootstrap (bootstrap-t; Efron & Tibshirani 1993, ch. 12.5), each
  resample studentized by its own Fleiss-Cohen-Everitt SE.

Usage (about two minutes on two cores with the defaults):

    .venv/bin/python benchmarks/kappa_coverage.py
    .venv/bin/python benchmarks/kappa_coverage.py --reps 500 --ns 20 30 --weights linear
    .venv/bin/python benchmarks/kappa_coverage.py --package --reps 300
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy import stats

Q = 4
#: name -> (cuts, sigma, rho, shift)
SETTINGS: dict[str, tuple[tuple[float, float, float], float, float, float]] = {
    "A: balanced levels, correlated errors": ((-0.8, 0.0, 0.8), 0.55, 0.2, 0.0),
    "B: skewed levels, rater 2 reads higher": ((0.0, 0.9, 1.7), 0.9, 0.0, 0.25),
    "C: mildly skewed levels": ((-0.5, 0.5, 1.3), 0.75, 0.1, 0.0),
}
METHODS = ("wald", "wald_t", "fisher_z", "fisher_z_t", "percentile", "bca", "boot_t",
           "boot_t_z")
PACKAGE_METHODS = ("analytic", "fisher_z", "bootstrap-percentile", "bootstrap-bca",
                   "bootstrap_t")


def agreement_weights(kind: str | None, q: int = Q) -> np.ndarray:
    i, j = np.indices((q, q))
    if kind == "quadratic":
        return 1 - ((i - j) / (q - 1)) ** 2
    if kind == "linear":
        return 1 - np.abs(i - j) / (q - 1)
    return (i == j).astype(float)


def simulate(setting: tuple, n: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """reps x Q x Q tables of counts."""
    cuts, sigma, rho, shift = setting
    t = rng.standard_normal((reps, n))
    z1 = rng.standard_normal((reps, n))
    z2 = rho * z1 + np.sqrt(1 - rho**2) * rng.standard_normal((reps, n))
    a = np.searchsorted(cuts, t + sigma * z1)
    b = np.searchsorted(cuts, t + sigma * z2 + shift)
    cells = a * Q + b + (np.arange(reps) * Q * Q)[:, None]
    return np.bincount(cells.ravel(), minlength=reps * Q * Q).reshape(reps, Q, Q)


def kappa(tables: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted kappa of a stack of tables (..., Q, Q); agreement weights ``w``."""
    tot = tables.sum(axis=(-2, -1))[..., None, None]
    p = tables / tot
    r, c = p.sum(axis=-1), p.sum(axis=-2)
    po = (p * w).sum(axis=(-2, -1))
    pe = np.einsum("...i,ij,...j->...", r, w, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (po - pe) / (1 - pe)


def fce_se(tables: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Fleiss, Cohen & Everitt (1969) large-sample SE of weighted kappa (statsmodels' form)."""
    n = tables.sum(axis=(-2, -1))
    p = tables / n[..., None, None]
    r, c = p.sum(axis=-1), p.sum(axis=-2)
    pe = np.einsum("...i,ij,...j->...", r, w, c)
    po = (p * w).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = (po - pe) / (1 - pe)
        wr = np.einsum("ij,...j->...i", w, c)      # sum_j p_.j w_ij
        wc = np.einsum("...i,ij->...j", r, w)      # sum_i p_i. w_ij
        dev = w - (wr[..., :, None] + wc[..., None, :]) * (1 - k)[..., None, None]
        var = ((p * dev**2).sum(axis=(-2, -1)) - (k - pe * (1 - k)) ** 2) / (
            (1 - pe) ** 2 * n)
        return np.sqrt(np.where(var > 0, var, np.nan))


def _row_quantile(sorted_vals: np.ndarray, m: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantile (numpy's default) of each row's first m finite values."""
    pos = level * (m - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, m - 1)
    rows = np.arange(sorted_vals.shape[0])
    frac = pos - lo
    return sorted_vals[rows, lo] * (1 - frac) + sorted_vals[rows, hi] * frac


def intervals(tables: np.ndarray, w: np.ndarray, n_boot: int, rng: np.random.Generator,
              conf: float = 0.95, batch: int = 100) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    reps, n = tables.shape[0], int(tables[0].sum())
    k = kappa(tables, w)
    se = fce_se(tables, w)
    z = stats.norm.ppf(0.5 + conf / 2)
    t = stats.t.ppf(0.5 + conf / 2, n - 1)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "wald": (k - z * se, k + z * se),
        "wald_t": (k - t * se, k + t * se),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        zk = np.arctanh(np.clip(k, -1, 1))
        zse = se / (1 - k**2)
        out["fisher_z"] = (np.tanh(zk - z * zse), np.tanh(zk + z * zse))
        out["fisher_z_t"] = (np.tanh(zk - t * zse), np.tanh(zk + t * zse))
    alpha = (1 - conf) / 2
    lv = np.array([alpha, 1 - alpha])
    res = {m: (np.full(reps, np.nan), np.full(reps, np.nan))
           for m in ("percentile", "bca", "boot_t", "boot_t_z")}
    flat = tables.reshape(reps, Q * Q).astype(float)
    idx = np.arange(Q * Q)
    for s in range(0, reps if n_boot else 0, batch):
        e = min(reps, s + batch)
        nb = e - s
        p = flat[s:e] / n
        draws = rng.multinomial(n, p[:, None, :], size=(nb, n_boot, Q * Q)[:2])
        bt = draws.reshape(nb, n_boot, Q, Q).astype(float)
        kb = kappa(bt, w)
        seb = fce_se(bt, w)
        finite = np.isfinite(kb)
        m = finite.sum(axis=1)
        srt = np.sort(np.where(finite, kb, np.inf), axis=1)
        for j, a in enumerate(lv):
            res["percentile"][j][s:e] = _row_quantile(srt, m, np.full(nb, a))
        # BCa: z0 from the share below the estimate, acceleration from the jackknife
        est = k[s:e]
        share = ((kb < est[:, None]) & finite).sum(1) + 0.5 * (kb == est[:, None]).sum(1)
        share = share / np.maximum(m, 1)
        jt = np.repeat(flat[s:e, None, :], Q * Q, axis=1)
        jt[:, idx, idx] -= 1
        jk = kappa(jt.reshape(nb, Q * Q, Q, Q), w)
        f = flat[s:e]
        jk = np.where(f > 0, jk, 0.0)
        jbar = (f * jk).sum(1) / f.sum(1)
        d = jbar[:, None] - jk
        den = (f * d * d).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            acc = np.where(den > 0, (f * d**3).sum(1) / (6 * den**1.5), 0.0)
            z0 = stats.norm.ppf(share)
            for j, a in enumerate(lv):
                za = stats.norm.ppf(a)
                lev = stats.norm.cdf(z0 + (z0 + za) / (1 - acc * (z0 + za)))
                bad = ~np.isfinite(lev)
                lev = np.where(bad, a, lev)  # the package falls back to percentile
                res["bca"][j][s:e] = _row_quantile(srt, m, lev)
            # bootstrap-t
            tb = (kb - est[:, None]) / seb
            # bootstrap-t on Fisher's z scale
            tbz = (np.arctanh(np.clip(kb, -1, 1)) - zk[s:e, None]) / (seb / (1 - kb**2))
        for key, tt, centre, scale, back in (
                ("boot_t", tb, est, se[s:e], lambda x: x),
                ("boot_t_z", tbz, zk[s:e], zse[s:e], np.tanh)):
            okt = np.isfinite(tt)
            mt = np.maximum(okt.sum(1), 1)
            srt_t = np.sort(np.where(okt, tt, np.inf), axis=1)
            t_lo = _row_quantile(srt_t, mt, np.full(nb, alpha))
            t_hi = _row_quantile(srt_t, mt, np.full(nb, 1 - alpha))
            res[key][0][s:e] = back(centre - t_hi * scale)
            res[key][1][s:e] = back(centre - t_lo * scale)
    if n_boot:
        out.update(res)
    return {key: (np.maximum(lo, -1), np.minimum(hi, 1)) for key, (lo, hi) in out.items()}


def package_intervals(tables: np.ndarray, weights: str | None, n_boot: int
                      ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The package's own ``cohen_kappa`` on each table, for each of its interval methods."""
    from analysis.agreement import cohen_kappa

    out = {m: (np.full(len(tables), np.nan), np.full(len(tables), np.nan))
           for m in PACKAGE_METHODS}
    a, b = np.indices((Q, Q))
    for r, tab in enumerate(tables):
        rows = np.repeat(np.column_stack([a.ravel(), b.ravel()]), tab.ravel(), axis=0)
        for meth in PACKAGE_METHODS:
            interval, _, ci = meth.partition("-")
            kw = {"ci_method": ci} if ci else {}
            res = cohen_kappa(rows, weights=weights, categories=list(range(Q)),
                              interval=interval, n_boot=n_boot, seed=r, **kw)
            out[meth][0][r], out[meth][1][r] = res.ci_low, res.ci_high
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=1500)
    ap.add_argument("--boot", type=int, default=2000, help="0: analytic intervals only")
    ap.add_argument("--ns", type=int, nargs="+", default=[20, 30, 50, 100])
    ap.add_argument("--weights", choices=["quadratic", "linear", "none"], default="quadratic")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--package", action="store_true",
                    help="use the package's cohen_kappa for its interval methods (slower)")
    a = ap.parse_args(argv)
    weights = None if a.weights == "none" else a.weights
    w = agreement_weights(weights)
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    methods = PACKAGE_METHODS if a.package else METHODS
    print(f"{a.weights} weights; {a.reps} data sets per cell; {a.boot} bootstrap resamples; "
          f"seed {a.seed}")
    print("coverage % of the 95% interval (% of intervals wholly below / wholly above the true "
          "kappa), median / 90th percentile of the width")
    for name, setting in SETTINGS.items():
        big = simulate(setting, 4_000_000, 1, rng)
        true = float(kappa(big, w)[0])
        print(f"\n{name}: true kappa {true:.3f}")
        print(f"{'method':<22}" + "".join(f"{'n = ' + str(n):>31}" for n in a.ns))
        cols: dict[str, list[str]] = {m: [] for m in methods}
        for n in a.ns:
            tabs = simulate(setting, n, a.reps, rng)
            ivs = (package_intervals(tabs, weights, a.boot) if a.package
                   else intervals(tabs, w, a.boot, rng))
            for m in methods:
                if m not in ivs:
                    cols[m].append("")
                    continue
                lo, hi = ivs[m]
                ok = np.isfinite(lo) & np.isfinite(hi)
                cov = np.mean(ok & (lo <= true) & (true <= hi))
                miss_lo = np.mean(ok & (hi < true))   # interval wholly below the truth
                miss_hi = np.mean(ok & (lo > true))
                wq = np.quantile((hi - lo)[ok], [0.5, 0.9]) if ok.any() else [np.nan] * 2
                cols[m].append(f"{100 * cov:5.1f} ({100 * miss_lo:4.1f}/{100 * miss_hi:4.1f})"
                               f" {wq[0]:4.2f}/{wq[1]:4.2f}")
        for m in methods:
            print(f"{m:<22}" + "".join(f"{c:>31}" for c in cols[m]))
    se_mc = 100 * np.sqrt(0.95 * 0.05 / a.reps)
    print(f"\nMonte Carlo SE of a coverage near 95%: {se_mc:.1f} points; "
          f"{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
