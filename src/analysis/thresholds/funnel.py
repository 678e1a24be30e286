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
    crowd into one corner.

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
    n_max = max(int(table["n"].max()), 10)
    n_min = max(int(table["n"].min()), 1)
    log_x = n_max > 20 * max(float(table["n"].median()), 1.0)
    x_lo = max(1.0, 0.7 * n_min) if log_x else 0.0
    grid = np.unique(np.round(np.geomspace(max(x_lo, 1.0), n_max * 1.5, 300)).astype(int))
    lim = funnel_limits(target, grid, (0.95, 0.998), method)
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    ax.plot(grid, lim["upper_95"], color=PALETTE["blue"], ls="--", lw=1.2, zorder=2,
            label="95% control limits")
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


