"""Threshold consistency, funnel plots: each group's rate against control limits that widen
for small groups (Spiegelhalter 2005, exact binomial limits with his interpolation), with his
adjustment for overdispersion when many large groups are compared (Spiegelhalter 2005,
"Handling over-dispersion of performance indicators", Qual Saf Health Care 14:347-351).

The counts behind every funnel are one DuckDB ``GROUP BY`` through :mod:`analysis.engine`,
at every size: a frame of audited contacts, one council's cases Parquet file or a regional
pool's partitioned directory (``sqa pool``) go through the same SQL, and no whole table is
loaded into pandas.

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .. import engine
from ..reporting import (
    TOO_FEW,
    count,
    pct,
)
from .common import SOURCE_LABELS, _isna

__all__ = ["BECAME_REFERRAL", "NOT_RECORDED", "OVERDISPERSION", "conversion_by",
           "funnel_counts", "funnel_limit", "funnel_limits", "funnel_plot", "funnel_reading",
           "funnel_table", "funnel_target", "group_counts", "overdispersion"]

#: Ways ``funnel_table`` may allow for overdispersion (Spiegelhalter 2005, QSHC).
OVERDISPERSION = ("none", "multiplicative", "additive")
Overdispersion = Literal["none", "multiplicative", "additive"]

# --------------------------------------------------------------------------------------
# Funnel plots (Spiegelhalter 2005)
# --------------------------------------------------------------------------------------


def funnel_limit(target: float, n: int | np.ndarray, coverage: float,
                 side: Literal["lower", "upper"], method: Literal["exact", "normal"] = "exact"
                 ) -> np.ndarray | float:
    """One control limit of a funnel plot for a proportion with target ``target``.

    ``exact`` (Spiegelhalter 2005, Appendix A.1.1): for the tail probability p (0.025 / 0.975
    for 95% limits, 0.001 / 0.999 for 99.8%), r_p is the smallest r with P(R <= r) >= p for R
    ~ Binomial(n, target); the limit is (r_p - a) / n with the interpolation
    a = (P(R <= r_p) - p) / (P(R <= r_p) - P(R <= r_p - 1)), which gives a smooth funnel.
    ``normal``: target +/- z_p sqrt(target (1 - target) / n).  Limits are clipped to [0, 1].
    """
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    p = (1 - coverage) / 2 if side == "lower" else 1 - (1 - coverage) / 2
    if method == "normal":
        z = stats.norm.ppf(p)
        with np.errstate(divide="ignore", invalid="ignore"):
            lim = target + z * np.sqrt(target * (1 - target) / n_arr)
    elif method == "exact":
        # every n at once (scipy's distributions are elementwise: the same values as one n
        # at a time); n <= 0 has no limit
        lim = np.full_like(n_arr, np.nan)
        ok = n_arr > 0
        nn = np.round(n_arr[ok])
        rp = stats.binom.ppf(p, nn, target)
        f_r = stats.binom.cdf(rp, nn, target)
        f_r1 = stats.binom.cdf(rp - 1, nn, target)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(f_r > f_r1, (f_r - p) / (f_r - f_r1), 0.0)
            lim[ok] = (rp - a) / nn
    else:
        raise ValueError("method must be 'exact' or 'normal'")
    out = np.clip(lim, 0.0, 1.0)
    return out if np.ndim(n) else float(out[0])


def funnel_limits(target: float, n: int | Sequence[int] | np.ndarray,
                  coverages: Sequence[float] = (0.95, 0.998),
                  method: Literal["exact", "normal"] = "exact", *, phi: float = 1.0,
                  tau2: float = 0.0) -> pd.DataFrame:
    """Funnel control limits at each sample size ``n``: columns n, lower_95, upper_95,
    lower_99.8, upper_99.8 (names from the coverages).

    With an overdispersion adjustment (``overdispersion``; Spiegelhalter 2005, QSHC 14:347)
    the limits are normal ones, target +/- z_p sqrt(phi s^2 + tau^2) with
    s^2 = target (1 - target) / n: ``phi`` > 1 gives the multiplicative limits
    target +/- z_p sqrt(phi) s, ``tau2`` > 0 the additive (random-effects) limits
    target +/- z_p sqrt(s^2 + tau^2); ``method`` is then ignored.  Clipped to [0, 1].
    """
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    cols: dict[str, np.ndarray] = {"n": n_arr}  # one frame made at the end, not grown
    adjusted = phi != 1.0 or tau2 != 0.0
    for cov in coverages:
        tag = f"{100 * cov:g}"
        if adjusted:
            z = stats.norm.ppf(1 - (1 - cov) / 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                half = z * np.sqrt(phi * target * (1 - target) / n_arr + tau2)
            cols[f"lower_{tag}"] = np.clip(target - half, 0.0, 1.0)
            cols[f"upper_{tag}"] = np.clip(target + half, 0.0, 1.0)
        else:
            cols[f"lower_{tag}"] = funnel_limit(target, n_arr, cov, "lower", method)
            cols[f"upper_{tag}"] = funnel_limit(target, n_arr, cov, "upper", method)
    return pd.DataFrame(cols)


def overdispersion(successes: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray,
                   target: float, winsor: float = 0.1) -> dict[str, Any]:
    """Spiegelhalter's estimate of overdispersion among groups' proportions (Spiegelhalter
    2005, "Handling over-dispersion of performance indicators", Qual Saf Health Care
    14:347-351; "Funnel plots for comparing institutional performance", Stat Med
    24:1185-1202, section 6).

    * z-scores z_i = (y_i - p0) / s_i, y_i = successes_i / n_i, s_i^2 = p0 (1 - p0) / n_i;
    * winsorised: the k = floor(``winsor`` I) smallest z-scores are set to the (k+1)-th
      smallest, the k largest to the (k+1)-th largest (10% each tail by default), so that the
      outliers being looked for do not inflate the estimate;
    * phi = (1/I) sum z_i^2 (winsorised), and the test of I phi against chi-squared on I - 1
      degrees of freedom (no overdispersion: I phi ~ chi^2_{I-1});
    * tau^2 = max(0, (I phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i)), w_i = 1 / s_i^2,
      the between-group variance of the additive random-effects model.

    Returns groups (I), phi, statistic (I phi), df, p_value, tau2, winsor, z (the raw
    z-scores) and z_winsorised.  With fewer than two groups or a target of 0 or 1 nothing can
    be estimated: phi and tau2 are NaN.
    """
    x = np.asarray(successes, dtype=float)
    nn = np.asarray(n, dtype=float)
    ok = nn > 0
    x, nn = x[ok], nn[ok]
    k_groups = int(len(nn))
    out: dict[str, Any] = {"groups": k_groups, "phi": math.nan, "statistic": math.nan,
                           "df": max(k_groups - 1, 0), "p_value": math.nan, "tau2": math.nan,
                           "winsor": winsor, "z": np.array([]), "z_winsorised": np.array([])}
    if k_groups < 2 or not 0.0 < target < 1.0:
        return out
    s2 = target * (1 - target) / nn
    z = (x / nn - target) / np.sqrt(s2)
    zs = np.sort(z)
    k = int(math.floor(winsor * k_groups + 1e-9))
    zw = z.copy()
    if k > 0 and 2 * k < k_groups:
        zw = np.clip(z, zs[k], zs[k_groups - 1 - k])
    phi = float(np.mean(zw ** 2))
    stat = k_groups * phi
    w = 1.0 / s2
    denom = float(w.sum() - (w ** 2).sum() / w.sum())
    tau2 = max(0.0, (stat - (k_groups - 1)) / denom) if denom > 0 else 0.0
    out.update(phi=phi, statistic=stat, p_value=float(stats.chi2.sf(stat, k_groups - 1)),
               tau2=float(tau2), z=z, z_winsorised=zw)
    return out


NOT_RECORDED = "Not recorded"


#: The outcome "the contact became a referral to children's social care": a column of that
#: name when the table has one, else ``referral_date IS NOT NULL``.
BECAME_REFERRAL = "became_referral"


def _outcome_sql(cols: set[str], outcome: str) -> str:
    if outcome in cols:
        return f"CAST({engine.quote(outcome)} AS BOOLEAN)"
    if outcome == BECAME_REFERRAL and "referral_date" in cols:
        return "(referral_date IS NOT NULL)"
    raise ValueError(f"the cases table has no {outcome!r} column"
                     + (" (nor a referral_date to derive it from)"
                        if outcome == BECAME_REFERRAL else ""))


def _as_flags(s: pd.Series) -> pd.Series:
    """An outcome column of a frame as nullable booleans (missing stays missing), so that
    DuckDB reads it as pandas' ``astype(bool)`` would."""
    if pd.api.types.is_bool_dtype(s):
        return s
    return pd.Series(pd.array([pd.NA if _isna(v) else bool(v) for v in s], dtype="boolean"),
                     index=s.index)


def group_counts(cases: engine.Source, by: str, outcome: str = BECAME_REFERRAL, *,
                 services: Sequence[str] | None = None, con: Any = None) -> pd.DataFrame:
    """The counts behind a funnel plot: one DuckDB ``GROUP BY`` of ``cases`` (a frame, a
    Parquet file or a pool directory: :func:`analysis.engine.source`), one row per value of
    ``by`` (``group``, None where not recorded, in key order with None last), ``successes``
    (rows whose ``outcome`` is true) and ``n`` (rows with an outcome).

    ``outcome`` is a boolean column, or ``BECAME_REFERRAL``, derived from ``referral_date``
    where the table has no such column.  ``services``: only rows of these services, when the
    table has a ``service`` column.  Rows without an outcome
    are left out.  The same SQL serves the ~84 audited contacts of one round and a regional
    pool of millions of contacts; only the aggregates come back.
    """
    src: engine.Source = cases
    if isinstance(cases, pd.DataFrame):
        keep = [c for c in (by, outcome, "referral_date", "service") if c in cases.columns]
        src = cases[list(dict.fromkeys(keep))].copy()
        if outcome in src.columns:
            src[outcome] = _as_flags(src[outcome])
    with engine.table(src, con, name="funnel_src") as t:
        cols = set(t.columns)
        if by not in cols:
            raise ValueError(f"the cases table has no {by!r} column to group by")
        where = []
        if outcome not in cols and outcome == BECAME_REFERRAL and "referral_date" in cols:
            # every contact has the outcome: counting the referral dates is the numerator
            successes = "count(referral_date)"
        else:
            flag = _outcome_sql(cols, outcome)
            successes = f"count(*) FILTER (WHERE {flag})"
            where.append(f"{flag} IS NOT NULL")
        if services and "service" in cols and (svc := t.where_in("service", services)):
            where.append(svc)
        g = t.select(expressions=(f"{engine.quote(by)} AS grp", f"{successes} AS successes",
                                  "count(*) AS n"), where=where, group_by="1")
    keys = [None if _isna(k) else k for k in g["grp"]]
    order = sorted(range(len(keys)), key=lambda i: (keys[i] is None, _sort_key(keys[i])))
    return pd.DataFrame({"group": pd.Series([keys[i] for i in order], dtype=object),
                         "successes": g["successes"].to_numpy(np.int64)[order],
                         "n": g["n"].to_numpy(np.int64)[order]})


def _sort_key(k: Any) -> tuple[int, Any]:
    """Groups in key order, as pandas' ``groupby(sort=True)`` gives them (numbers and
    booleans before text)."""
    if isinstance(k, (bool, int, float, np.integer, np.floating)):
        return (0, k)
    return (1, str(k))


def funnel_counts(df: engine.Source, group: str, outcome: str,
                  labels: dict[str, str] | None = None,
                  columns: tuple[str, str] = ("yes", "no"), *,
                  services: Sequence[str] | None = None) -> pd.DataFrame:
    """The counts behind a funnel plot of a whole population (counts of children, contacts
    or referrals) as a table for the disclosure ledger (``analysis.reporting.Ledger.table``):
    one row per group (its label; ``Not recorded`` for a missing group, so the table adds up
    to every row of ``df`` with an outcome), columns ``columns`` = outcome true, false.

    ``df`` is a frame, a cases Parquet file or a pool directory; the counts are
    ``group_counts`` (one DuckDB ``GROUP BY``), ``services`` as there."""
    g = group_counts(df, group, outcome, services=services)
    lab = [NOT_RECORDED if k is None else (labels or {}).get(k, str(k)) for k in g["group"]]
    out = pd.DataFrame({columns[0]: g["successes"].to_numpy(), columns[1]:
                        (g["n"] - g["successes"]).to_numpy()}, index=pd.Index(lab, name=group))
    out = out.groupby(level=0, sort=False).sum().astype(int)
    order = sorted(i for i in out.index if i != NOT_RECORDED)
    return out.reindex(order + ([NOT_RECORDED] if NOT_RECORDED in out.index else []))


def funnel_table(df: engine.Source, group: str, outcome: str, target: float | None = None,
                 coverages: Sequence[float] = (0.95, 0.998),
                 method: Literal["exact", "normal"] = "exact",
                 labels: dict[str, str] | None = None, min_n: int = 1,
                 hide: Sequence[str] = (), *, services: Sequence[str] | None = None,
                 overdispersion: Overdispersion = "none", winsor: float = 0.1,
                 significance: float = 0.05) -> pd.DataFrame:
    """One row per group (agency, team or council): n, successes, rate, the funnel limits at
    its n and where it falls: ``within``, ``above_95``/``below_95`` (worth a look) or
    ``above_99.8``/``below_99.8`` (unlikely to be chance alone), judged against exactly the
    limits that ``funnel_plot`` draws (``funnel_limit``).

    ``df`` is a frame, a cases Parquet file or a pool directory: the counts are
    ``group_counts`` (one DuckDB ``GROUP BY``; ``services`` as there).  ``target`` defaults
    to the overall rate (sum of successes / sum of n).  Rows with missing ``outcome`` or
    ``group`` are left out.  Counts are unweighted: a funnel plot compares the groups' own
    cases with what chance would give at that size.

    ``hide``: groups (keys or labels) whose counts the disclosure ledger suppressed
    (``Ledger.hidden`` of ``funnel_counts``): left out of the table, the chart and the overall
    rate, and named in ``attrs["suppressed"]`` so the reading says why.

    ``overdispersion`` (Spiegelhalter 2005, QSHC 14:347-351): with many groups of large n,
    real differences between groups (case mix, recording) make exact binomial limits flag
    almost everyone.  ``"none"`` (the default) keeps the exact limits; ``"multiplicative"``
    widens them to target +/- z sqrt(phi) s and ``"additive"`` to target +/- z
    sqrt(s^2 + tau^2) (random effects), phi and tau^2 estimated by ``overdispersion`` from
    the plotted groups (z-scores winsorised at ``winsor`` each tail).  The adjustment is made
    only when I phi is significantly above chi-squared on I - 1 degrees of freedom (p below
    ``significance``; None: whenever phi > 1 or tau^2 > 0), as Spiegelhalter advises; else
    the exact limits stay.  ``attrs["overdispersion"]`` records the method, phi, tau2, the
    test's statistic, df and p-value, whether overdispersion was found and whether the limits
    were adjusted; ``attrs["limits"]`` the limits ``funnel_plot`` draws.
    """
    counts = group_counts(df, group, outcome, services=services)
    g = counts[counts["group"].notna()].reset_index(drop=True)
    hidden = set(hide)
    lab = g["group"].map(lambda k: (labels or {}).get(k, str(k)))
    masked = (g["group"].isin(hidden) | lab.isin(hidden)).to_numpy(bool)
    suppressed = sorted(lab[masked])
    n_all = g["n"].to_numpy(np.int64)
    big = ~masked & (n_all >= min_n)
    small = ~masked & (n_all < min_n)
    keys = g["group"][big].reset_index(drop=True)
    x, n = g["successes"].to_numpy(np.int64)[big], n_all[big]
    if target is None:
        target = float(x.sum() / n.sum()) if n.sum() else math.nan
    rate = x / n
    if overdispersion not in OVERDISPERSION:
        raise ValueError(f"overdispersion must be one of {', '.join(OVERDISPERSION)}")
    od = _overdispersion_record(x, n, target, overdispersion, winsor, significance)
    lim = funnel_limits(target, n, coverages, method, phi=od["phi_used"], tau2=od["tau2_used"])
    # Where each group falls, by exactly the limits drawn on the chart (a point outside the
    # drawn 95% line is never called "within"): the widest limits first.
    lo_c, hi_c = sorted(coverages)[0], sorted(coverages)[-1]
    tags = (f"{100 * hi_c:g}", f"{100 * lo_c:g}")
    conditions, choices = [], []
    for tag in tags:
        conditions += [rate > lim[f"upper_{tag}"].to_numpy() + 1e-12,
                       rate < lim[f"lower_{tag}"].to_numpy() - 1e-12]
        choices += [f"above_{tag}", f"below_{tag}"]
    position = pd.Series(np.select(conditions, choices, "within").tolist(), dtype=str)
    out = pd.DataFrame({"group": keys.astype(object),
                        # from a list: its dtype inferred from the kept labels alone
                        "label": pd.Series(lab[big].tolist()),
                        "successes": x, "n": n, "rate": rate,
                        **{c: lim[c].to_numpy() for c in lim.columns[1:]},
                        "target": np.full(len(n), target, dtype=float), "position": position})
    out.attrs["too_few"] = lab[small].tolist()
    out.attrs["suppressed"] = suppressed
    out.attrs["min_n"] = min_n
    out.attrs["target"] = target
    out.attrs["overdispersion"] = {k: v for k, v in od.items() if not k.endswith("_used")}
    out.attrs["limits"] = {"method": "normal" if od["adjusted"] else method,
                           "phi": od["phi_used"], "tau2": od["tau2_used"]}
    return out


def _overdispersion_record(successes: np.ndarray, n: np.ndarray, target: float, how: str,
                           winsor: float, significance: float | None) -> dict[str, Any]:
    """What ``funnel_table`` records of the overdispersion estimate from the plotted groups'
    ``successes`` and ``n``, and the phi and tau^2 its limits use (1 and 0: no
    adjustment)."""
    rec: dict[str, Any] = {"method": how, "phi": math.nan, "tau2": math.nan,
                           "statistic": math.nan, "df": 0, "p_value": math.nan,
                           "groups": int(len(n)), "winsor": winsor,
                           "significance": significance, "found": False, "adjusted": False,
                           "phi_used": 1.0, "tau2_used": 0.0}
    if how == "none" or len(n) < 2:
        return rec
    est = overdispersion(successes, n, target, winsor)
    rec.update(phi=est["phi"], tau2=est["tau2"], statistic=est["statistic"], df=est["df"],
               p_value=est["p_value"])
    if math.isnan(est["phi"]):
        return rec
    found = (est["p_value"] < significance) if significance is not None else est["phi"] > 1
    rec["found"] = bool(found)
    if how == "multiplicative" and found and est["phi"] > 1:
        rec.update(adjusted=True, phi_used=est["phi"])
    elif how == "additive" and found and est["tau2"] > 0:
        rec.update(adjusted=True, tau2_used=est["tau2"])
    return rec


def conversion_by(cases: engine.Source, by: str = "referral_source",
                  services: Sequence[str] | None = ("front_door",),
                  labels: dict[str, str] | None = None, *, hide: Sequence[str] = (),
                  min_n: int = 1, target: float | None = None,
                  coverages: Sequence[float] = (0.95, 0.998),
                  method: Literal["exact", "normal"] = "exact",
                  overdispersion: Overdispersion = "none", winsor: float = 0.1,
                  significance: float = 0.05, confidence: float = 0.95) -> pd.DataFrame:
    """Contacts that became a referral to children's social care, by ``by`` (the referring
    agency by default; ``council`` for a regional pool): the whole-table funnel of the
    threshold page and the benchmarks, from one DuckDB ``GROUP BY`` over ``cases`` (a frame,
    a cases Parquet file or a pool directory; ``services``: front-door contacts by default,
    None for every row).

    ``funnel_table`` (the limits, positions and overdispersion adjustment: its docstring)
    with the outcome ``BECAME_REFERRAL`` (a referral date is set), plus each group's Wilson
    (1927) score interval (``estimate``, ``ci_low``, ``ci_high``, ``method``;
    ``analysis.proportions.proportion_cis``).  Rows without a value of ``by`` are left out
    (``funnel_counts`` counts them as ``Not recorded``).  ``labels`` default to the
    referring agencies' names when ``by`` is ``referral_source``.
    """
    from .. import proportions

    if labels is None and by == "referral_source":
        labels = SOURCE_LABELS
    tab = funnel_table(cases, by, BECAME_REFERRAL, target=target, coverages=coverages,
                       method=method, labels=labels, min_n=min_n, hide=hide,
                       services=services, overdispersion=overdispersion, winsor=winsor,
                       significance=significance)
    # the intervals go in before ``rate``, in the table funnel_table made for this call; its
    # attrs are set aside meanwhile (pandas deep-copies a frame's attrs into every column
    # taken from it)
    attrs, tab.attrs = tab.attrs, {}
    est, lo, hi = proportions.proportion_cis(tab["successes"].to_numpy(), tab["n"].to_numpy(),
                                             confidence=confidence)
    at = tab.columns.get_loc("rate")
    for i, (name, values) in enumerate((
            ("estimate", est), ("ci_low", lo), ("ci_high", hi),
            ("method", pd.Series(["Wilson score interval"] * len(tab), dtype=str)))):
        tab.insert(at + i, name, values)
    tab.attrs = attrs
    return tab


def funnel_target(table: pd.DataFrame) -> float | None:
    """The funnel's overall rate (its centre line) for the findings log, or None when no
    group was large enough to plot (a table with no rows has no rate to report)."""
    if not len(table):
        return None
    return float(table["target"].iloc[0])


def funnel_plot(table: pd.DataFrame, title: str, ylabel: str,
                xlabel: str = "Number of contacts audited or received",
                method: Literal["exact", "normal"] = "exact", label_points: bool = True):
    """Funnel plot: each group's rate against its size, with the overall rate and 95% and
    99.8% control limits (Spiegelhalter 2005): the limits the table was judged against
    (``attrs["limits"]``: exact, or widened for overdispersion).  Points outside the limits
    are drawn with a different marker as well as a different colour (colour is never the only
    cue).  When one group is far larger than the typical one (more than 20 times the median
    size, as the police are among referrers) the size axis is logarithmic, so the small
    groups do not crowd into one corner.

    Charts that read at any size (issue 15, item 5):

    * the axes cover the groups' sizes and the limits there (not the funnel down to one
      case), the rate axis in percentages;
    * every point is visible: markers with black edges above every line and label, and a
      point that would sit on another is moved sideways by one marker width
      (:func:`_dodge`; its true size and rate are in the table beside the chart);
    * labels never collide: each group's name is placed by a repel (``adjustText``, Phlya
      2024) away from the other names and the points, joined to its point by a thin line; a
      name the repel cannot clear of every other name and point is left off (groups outside
      the limits first keep theirs), the table beside the chart names every group;
    * the legend sits below the plotting area, never over the data.

    The names left off, if any, are in the figure's ``sqa_unlabelled`` attribute, and where
    each group's point is drawn (data coordinates, in the table's order) in ``sqa_points``."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE
    from ..spc import legend_below

    target = float(table["target"].iloc[0])
    drawn = table.attrs.get("limits") or {}
    phi, tau2 = float(drawn.get("phi", 1.0)), float(drawn.get("tau2", 0.0))
    adjusted = phi != 1.0 or tau2 != 0.0
    n_max = max(int(table["n"].max()), 10)
    n_min = max(int(table["n"].min()), 1)
    log_x = n_max > 20 * max(float(table["n"].median()), 1.0)
    x_lo = max(1.0, 0.7 * n_min) if log_x else 0.0
    grid = np.unique(np.round(np.geomspace(max(x_lo, 1.0), n_max * 1.5, 300)).astype(int))
    lim = funnel_limits(target, grid, (0.95, 0.998), drawn.get("method", method), phi=phi,
                        tau2=tau2)
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    ax.plot(grid, lim["upper_95"], color=PALETTE["blue"], ls="--", lw=1.2, zorder=2,
            label="95% control limits" + (" (allowing for overdispersion)" if adjusted
                                          else ""))
    ax.plot(grid, lim["lower_95"], color=PALETTE["blue"], ls="--", lw=1.2, zorder=2)
    ax.plot(grid, lim["upper_99.8"], color=PALETTE["vermillion"], ls=":", lw=1.5, zorder=2,
            label="99.8% control limits")
    ax.plot(grid, lim["lower_99.8"], color=PALETTE["vermillion"], ls=":", lw=1.5, zorder=2)
    ax.axhline(target, color=PALETTE["black"], lw=1, zorder=2,
               label=f"Overall rate {pct(target)}")
    # The rate axis: the points and the limits at the groups' sizes, padded; never past 0-1.
    first = lim.iloc[int(np.searchsorted(grid, max(n_min, 1)))] if len(grid) else None
    lows = [float(table["rate"].min()), target]
    highs = [float(table["rate"].max()), target]
    if first is not None:
        lows.append(float(first["lower_99.8"]))
        highs.append(float(first["upper_99.8"]))
    lo, hi = min(lows), max(highs)
    pad = max(0.04, 0.08 * (hi - lo))
    ax.set_ylim(max(-0.02, lo - pad), min(1.02, hi + pad))
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(x_lo, n_max * 1.5)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: count(v)))
        xlabel += " (logarithmic scale)"
    else:
        ax.set_xlim(0, n_max * 1.12)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: pct(v)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    styles = {"within": ("o", PALETTE["grey"], "Within the 95% limits"),
              "95": ("s", PALETTE["orange"], "Outside 95%, inside 99.8%"),
              "99.8": ("D", PALETTE["vermillion"], "Outside the 99.8% limits")}
    kinds = table["position"].map(lambda p: "within" if p == "within" else p.split("_")[-1])
    # Lay the figure out first, so that distances on the page are final.
    for key, (marker, colour, lab) in styles.items():
        if (kinds == key).any():  # an empty entry, so the legend has its final size
            ax.scatter([], [], marker=marker, s=50, color=colour, edgecolor="black",
                       linewidth=0.8, label=lab)
    legend_below(ax, ncol=3)
    fig.canvas.draw()
    xy = _dodge(ax, table["n"].to_numpy(float), table["rate"].to_numpy(float),
                diameter_pt=math.sqrt(50) + 1.0)
    for key, (marker, colour, _lab) in styles.items():
        sel = (kinds == key).to_numpy()
        if sel.any():
            ax.scatter(xy[sel, 0], xy[sel, 1], marker=marker, s=50,
                       color=colour, edgecolor="black", linewidth=0.8, zorder=5)
    fig.sqa_points = xy  # type: ignore[attr-defined]  # where each group is drawn, in order
    fig.sqa_unlabelled = []  # type: ignore[attr-defined]
    if label_points and len(table):
        fig.sqa_unlabelled = _label_points(ax, table, xy, kinds)  # type: ignore
    return fig


def _dodge(ax, x: np.ndarray, y: np.ndarray, diameter_pt: float) -> np.ndarray:
    """Data positions for points so that no marker covers another: a point closer than one
    marker width (``diameter_pt`` points) to one placed before it moves sideways, right then
    left, a marker width at a time, until it is clear (a beeswarm-style dodge; Wilkinson, L.
    (1999) "Dot plots", The American Statistician 53(3)). Points are placed in order of
    size."""
    if not len(x):
        return np.empty((0, 2))
    scale = ax.figure.dpi / 72.0
    d = diameter_pt * scale
    disp = ax.transData.transform(np.column_stack([x, y]))
    order = np.lexsort((y, x))
    placed: list[np.ndarray] = []
    out = disp.copy()
    for i in order:
        p = disp[i].copy()
        for k in range(0, 12):
            step = ((k + 1) // 2) * (1 if k % 2 else -1) * d if k else 0.0
            q = p + np.array([step, 0.0])
            if all(np.hypot(*(q - o)) >= d for o in placed):
                p = q
                break
        placed.append(p)
        out[i] = p
    return ax.transData.inverted().transform(out)


def _boxes_clear(boxes: list, markers: list) -> list[bool]:
    """For each label box (None: a label taken off), whether it overlaps no other label and
    no marker but its own point's (markers are drawn above labels, so a label touching its
    own point never hides it)."""
    ok = []
    for i, b in enumerate(boxes):
        if b is None:
            ok.append(True)
            continue
        hit = any(b.overlaps(c) for j, c in enumerate(boxes) if j != i and c is not None)
        hit = hit or any(b.overlaps(m) for j, m in enumerate(markers) if j != i)
        ok.append(not hit)
    return ok


def _label_points(ax, table: pd.DataFrame, xy: np.ndarray, kinds: pd.Series) -> list[str]:
    """Name each point, placed by ``adjustText`` clear of the other names and every marker;
    names still touching one are taken off, within-limit groups first. Returns the names
    left off."""
    from adjustText import adjust_text
    from matplotlib.transforms import Bbox

    fig = ax.figure
    texts = [ax.text(px, py, str(lab), fontsize=8, zorder=4,
                     bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none",
                           "alpha": 0.8})
             for (px, py), lab in zip(xy, table["label"], strict=True)]
    adjust_text(texts, x=xy[:, 0], y=xy[:, 1], ax=ax, ensure_inside_axes=True, iter_lim=400,
                arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.6})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    r = 0.5 * math.sqrt(50) * fig.dpi / 72.0 - 1.0  # a marker's half width, less a pixel
    disp = ax.transData.transform(xy)
    markers = [Bbox.from_extents(px - r, py - r, px + r, py + r) for px, py in disp]
    inside = ax.get_window_extent(renderer)
    left: list[str] = []
    rank = np.where(kinds.to_numpy() == "within", 0, 1)
    while True:
        boxes = [t.get_window_extent(renderer) if t.get_visible() else None for t in texts]
        ok = _boxes_clear(boxes, markers)
        bad = [i for i, t in enumerate(texts) if t.get_visible() and (
            not ok[i] or not (inside.contains(boxes[i].x0, boxes[i].y0)
                              and inside.contains(boxes[i].x1, boxes[i].y1)))]
        if not bad:
            break
        worst = min(bad, key=lambda i: (rank[i], -i))
        texts[worst].set_visible(False)
        left.append(str(table["label"].iloc[worst]))
    # the connecting lines of names taken off go too
    for t in texts:
        arrow = getattr(t, "arrow_patch", None)
        if arrow is not None and not t.get_visible():
            arrow.set_visible(False)
    return left


def funnel_reading(table: pd.DataFrame, what: str = "contacts judged appropriate",
                   unit: str = "agency") -> str:
    """Plain-words reading of a funnel table (and the figure's alt text).  With no group
    large enough to plot it says so, and names the groups left out."""
    left = table.attrs.get("too_few") or []
    hidden = table.attrs.get("suppressed") or []
    why_hidden = (f"Not shown: {', '.join(hidden)}, whose counts include a count from 1 to 5 "
                  "or one that would give such a count away (c in the table)." if hidden else "")
    if not len(table):
        why = (f", with fewer than {table.attrs.get('min_n')} each ({TOO_FEW}): "
               f"{', '.join(sorted(left))}" if left else "")
        return " ".join(x for x in (
            f"No funnel plot this round: no {unit} group has enough cases to place on it "
            f"({what}){why}.", why_hidden) if x)
    target = float(table["target"].iloc[0])
    out99 = table[table["position"].str.endswith("99.8")]
    out95 = table[table["position"].str.endswith("_95")]
    # With limits widened for overdispersion, "chance" includes the ordinary spread between
    # groups (Spiegelhalter 2005, QSHC): the words say so.
    spread = (f" and the ordinary spread between {unit} groups"
              if (table.attrs.get("overdispersion") or {}).get("adjusted") else "")
    parts = [f"Overall rate {pct(target)} ({what}), across {len(table)} {unit} groups."]
    if out99.empty and out95.empty:
        parts.append(f"Every {unit} lies within the 95% control limits: the data cannot tell "
                     f"the differences between them from chance{spread} at their sizes.")
    for frame, words in ((out99, "outside the 99.8% limits, so unlikely to be chance"
                                 f"{spread} alone"),
                         (out95, "outside the 95% but inside the 99.8% limits: worth a look, "
                                 f"but one in twenty groups would fall there by chance{spread}")):
        if len(frame):
            names = ", ".join(f"{r.label} ({pct(r.rate)} of {r.n})" for r in
                              frame.itertuples())
            parts.append(f"{names} {'is' if len(frame) == 1 else 'are'} {words}.")
    if left:
        parts.append(f"Not shown, with fewer than {table.attrs.get('min_n')} each ({TOO_FEW}): "
                     f"{', '.join(sorted(left))}.")
    if why_hidden:
        parts.append(why_hidden)
    return " ".join(parts)


