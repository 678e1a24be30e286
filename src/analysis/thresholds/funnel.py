"""Threshold consistency, funnel plots: each group's rate against control limits that widen
for small groups (Spiegelhalter 2005, exact binomial limits with his interpolation).

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..reporting import (
    TOO_FEW,
    count,
    pct,
)
from .common import _isna

__all__ = ["NOT_RECORDED", "funnel_counts", "funnel_limit", "funnel_limits", "funnel_plot",
           "funnel_reading", "funnel_table", "funnel_target"]

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
        lim = np.empty_like(n_arr)
        for i, nn in enumerate(n_arr):
            if nn <= 0:
                lim[i] = np.nan
                continue
            nn_i = int(round(nn))
            rp = stats.binom.ppf(p, nn_i, target)
            f_r = stats.binom.cdf(rp, nn_i, target)
            f_r1 = stats.binom.cdf(rp - 1, nn_i, target)
            a = (f_r - p) / (f_r - f_r1) if f_r > f_r1 else 0.0
            lim[i] = (rp - a) / nn_i
    else:
        raise ValueError("method must be 'exact' or 'normal'")
    out = np.clip(lim, 0.0, 1.0)
    return out if np.ndim(n) else float(out[0])


def funnel_limits(target: float, n: int | Sequence[int] | np.ndarray,
                  coverages: Sequence[float] = (0.95, 0.998),
                  method: Literal["exact", "normal"] = "exact") -> pd.DataFrame:
    """Funnel control limits at each sample size ``n``: columns n, lower_95, upper_95,
    lower_99.8, upper_99.8 (names from the coverages)."""
    n_arr = np.atleast_1d(np.asarray(n, dtype=float))
    out = pd.DataFrame({"n": n_arr})
    for cov in coverages:
        tag = f"{100 * cov:g}"
        out[f"lower_{tag}"] = funnel_limit(target, n_arr, cov, "lower", method)
        out[f"upper_{tag}"] = funnel_limit(target, n_arr, cov, "upper", method)
    return out


NOT_RECORDED = "Not recorded"


def funnel_counts(df: pd.DataFrame, group: str, outcome: str,
                  labels: dict[str, str] | None = None,
                  columns: tuple[str, str] = ("yes", "no")) -> pd.DataFrame:
    """The counts behind a funnel plot of a whole population (counts of children, contacts
    or referrals) as a table for the disclosure ledger (``analysis.reporting.Ledger.table``):
    one row per group (its label; ``Not recorded`` for a missing group, so the table adds up
    to every row of ``df`` with an outcome), columns ``columns`` = outcome true, false."""
    d = df.dropna(subset=[outcome])
    d = d[~d[outcome].map(_isna)]
    keys = d[group].astype(object).where(d[group].notna(), None)
    lab = keys.map(lambda k: NOT_RECORDED if k is None or _isna(k)
                   else (labels or {}).get(k, str(k)))
    yes = d[outcome].astype(bool)
    out = pd.DataFrame({columns[0]: yes.groupby(lab).sum().astype(int),
                        columns[1]: (~yes).groupby(lab).sum().astype(int)})
    order = sorted(i for i in out.index if i != NOT_RECORDED)
    return out.reindex(order + ([NOT_RECORDED] if NOT_RECORDED in out.index else []))


def funnel_table(df: pd.DataFrame, group: str, outcome: str, target: float | None = None,
                 coverages: Sequence[float] = (0.95, 0.998),
                 method: Literal["exact", "normal"] = "exact",
                 labels: dict[str, str] | None = None, min_n: int = 1,
                 hide: Sequence[str] = ()) -> pd.DataFrame:
    """One row per group (agency or team): n, successes, rate, the funnel limits at its n and
    where it falls: ``within``, ``above_95``/``below_95`` (worth a look) or
    ``above_99.8``/``below_99.8`` (unlikely to be chance alone), judged against exactly the
    limits that ``funnel_plot`` draws (``funnel_limit``).

    ``target`` defaults to the overall rate (sum of successes / sum of n).  Rows with missing
    ``outcome`` are left out.  Counts are unweighted: a funnel plot compares the groups' own
    cases with what chance would give at that size.

    ``hide``: groups (keys or labels) whose counts the disclosure ledger suppressed
    (``Ledger.hidden`` of ``funnel_counts``): left out of the table, the chart and the overall
    rate, and named in ``attrs["suppressed"]`` so the reading says why.
    """
    d = df.dropna(subset=[outcome])
    d = d[~d[outcome].map(_isna)]
    g = d.groupby(group, sort=True, observed=True)[outcome].agg(
        successes=lambda s: int(s.astype(bool).sum()), n="size").reset_index()
    hidden = set(hide)
    lab = g[group].map(lambda k: (labels or {}).get(k, str(k)))
    masked = g[group].isin(hidden) | lab.isin(hidden)
    suppressed = sorted(lab[masked])
    g = g[~masked]
    small = g[g["n"] < min_n]
    g = g[g["n"] >= min_n]
    if target is None:
        target = float(g["successes"].sum() / g["n"].sum()) if g["n"].sum() else math.nan
    g["rate"] = g["successes"] / g["n"]
    lim = funnel_limits(target, g["n"].to_numpy(), coverages, method)
    for c in lim.columns[1:]:
        g[c] = lim[c].to_numpy()
    g["target"] = target
    lo_c, hi_c = sorted(coverages)[0], sorted(coverages)[-1]
    t_lo, t_hi = f"{100 * lo_c:g}", f"{100 * hi_c:g}"

    def where(r: pd.Series) -> str:
        # By exactly the limits drawn on the chart (a point outside the drawn 95% line is
        # never called "within").
        for tag in (t_hi, t_lo):
            if r["rate"] > r[f"upper_{tag}"] + 1e-12:
                return f"above_{tag}"
            if r["rate"] < r[f"lower_{tag}"] - 1e-12:
                return f"below_{tag}"
        return "within"

    g["position"] = g.apply(where, axis=1) if len(g) else pd.Series(dtype=str)
    g.insert(1, "label", g[group].map(lambda k: (labels or {}).get(k, str(k))))
    out = g.rename(columns={group: "group"}).reset_index(drop=True)
    out.attrs["too_few"] = [(labels or {}).get(k, str(k)) for k in small[group]]
    out.attrs["suppressed"] = suppressed
    out.attrs["min_n"] = min_n
    out.attrs["target"] = target
    return out


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
    99.8% control limits (Spiegelhalter 2005).  Points outside the limits are drawn with a
    different marker as well as a different colour (colour is never the only cue).  When one
    group is far larger than the typical one (more than 20 times the median size, as the
    police are among referrers) the size axis is logarithmic, so the small groups do not
    crowd into one corner."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    target = float(table["target"].iloc[0])
    n_max = max(int(table["n"].max()), 10)
    grid = np.unique(np.round(np.geomspace(1, n_max * 1.1, 300)).astype(int))
    lim = funnel_limits(target, grid, (0.95, 0.998), method)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(grid, lim["upper_95"], color=PALETTE["blue"], ls="--", lw=1.2,
            label="95% control limits")
    ax.plot(grid, lim["lower_95"], color=PALETTE["blue"], ls="--", lw=1.2)
    ax.plot(grid, lim["upper_99.8"], color=PALETTE["vermillion"], ls=":", lw=1.5,
            label="99.8% control limits")
    ax.plot(grid, lim["lower_99.8"], color=PALETTE["vermillion"], ls=":", lw=1.5)
    ax.axhline(target, color=PALETTE["black"], lw=1, label=f"Overall rate {pct(target)}")
    styles = {"within": ("o", PALETTE["grey"], "Within the 95% limits"),
              "95": ("s", PALETTE["orange"], "Outside 95%, inside 99.8%"),
              "99.8": ("D", PALETTE["vermillion"], "Outside the 99.8% limits")}
    for key, (marker, colour, lab) in styles.items():
        sel = table[table["position"] == "within"] if key == "within" else table[
            table["position"].str.endswith("_" + key)]
        if len(sel):
            ax.scatter(sel["n"], sel["rate"], marker=marker, s=46, color=colour,
                       edgecolor="black", linewidth=0.6, label=lab, zorder=3)
    log_x = n_max > 20 * max(float(table["n"].median()), 1.0)
    if label_points:
        placed: list[tuple[float, float]] = []

        def pos(n: float) -> float:  # where a point sits along the axis, 0 to 1
            return float(np.log(max(n, 1)) / np.log(n_max * 1.12)) if log_x else n / n_max

        for r in table.sort_values(["n", "rate"]).itertuples():
            dy = 4
            # nudge a label down when a neighbour's label is already close by
            while any(abs(pos(r.n) - px) < 0.08 and abs(r.rate + dy / 250 - py) < 0.04
                      for px, py in placed):
                dy -= 10
            placed.append((pos(r.n), r.rate + dy / 250))
            ax.annotate(str(r.label), (r.n, r.rate), textcoords="offset points", xytext=(5, dy),
                        fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(0.8, n_max * 1.5)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: count(v)))
        xlabel += " (logarithmic scale)"
    else:
        ax.set_xlim(0, n_max * 1.12)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: pct(v)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


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
    parts = [f"Overall rate {pct(target)} ({what}), across {len(table)} {unit} groups."]
    if out99.empty and out95.empty:
        parts.append(f"Every {unit} lies within the 95% control limits: the data cannot tell "
                     "the differences between them from chance at their sizes.")
    for frame, words in ((out99, "outside the 99.8% limits, so unlikely to be chance alone"),
                         (out95, "outside the 95% but inside the 99.8% limits: worth a look, "
                                 "but one in twenty groups would fall there by chance")):
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


