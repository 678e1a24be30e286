"""Tier-2 review: the charts (accessible: colour and marker, alt text).

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..reporting import (
    min_audited,
    pct,
    reportable,
)
from ..schemas import Scale
from .common import _isna, group_label

__all__ = ["standards_alt_text", "standards_dotplot", "themes_alt_text", "themes_chart",
           "tier_alt_text", "tier_heatmap"]

# ======================================================================================
# Figures
# ======================================================================================

_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def standards_dotplot(results: pd.DataFrame, min_n: int | None = None,
                      title: str = "Cases meeting each standard, by service"):
    """Dot plot: one row per standard, one marker per service (Okabe-Ito colour *and* marker
    shape), 95% interval as a line; services with fewer than ``min_n`` judged cases are not
    plotted (no percentages for them), "All services" in black."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    r = results[results["n"] >= min_audited(min_n)]
    groups = list(dict.fromkeys(r["group"]))
    stds = list(dict.fromkeys(results["standard"]))
    labels = dict(zip(results["standard"], results["standard_label"], strict=False))
    colours = [PALETTE[c] for c in ("orange", "sky", "green", "blue", "vermillion", "purple",
                                    "yellow")]
    fig, ax = plt.subplots(figsize=(9, 2.2 + 0.22 * len(stds) * max(1, len(groups))))
    step = 0.8 / max(len(groups), 1)
    for i, g in enumerate(groups):
        sub = r[r["group"] == g].set_index("standard")
        colour = PALETTE["black"] if g == "all" else colours[i % len(colours)]
        ys, xs, lo, hi = [], [], [], []
        for j, s in enumerate(stds):
            if s in sub.index and not _isna(sub.loc[s, "estimate"]):
                ys.append(j - 0.4 + step * (i + 0.5))
                xs.append(sub.loc[s, "estimate"])
                lo.append(sub.loc[s, "ci_low"])
                hi.append(sub.loc[s, "ci_high"])
        if not ys:
            continue
        xs_a = np.array(xs)
        ax.errorbar(xs_a, ys, xerr=[xs_a - np.array(lo), np.array(hi) - xs_a], fmt=_MARKERS[
            i % len(_MARKERS)], color=colour, ecolor=colour, capsize=2, ms=6, lw=1.2,
            label=group_label(g))
    ax.set_yticks(range(len(stds)), [labels[s] for s in stds])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: pct(v))
    ax.set_xlabel("Share of judged cases meeting the standard (95% interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False, fontsize=9,
              ncol=2)
    fig.tight_layout()
    return fig


def standards_alt_text(results: pd.DataFrame, min_n: int | None = None,
                       where: str = "in the table above") -> str:
    """Alt text of ``standards_dotplot`` in one or two sentences (at most ``figures.ALT_MAX``
    characters): how many standards and services it shows; every figure is in the table
    ``where`` (the page's standards by service), and the caption names the services too
    small to plot."""
    from ..reporting import chart_figures_where

    min_n = min_audited(min_n)
    r = results[results["n"] >= min_n]
    n_std = r["standard"].nunique() if "standard" in r else 0
    groups = r.loc[r["group"] != "all", "group"].nunique()
    left = results.loc[results["n"] < min_n, "group"].nunique()
    tail = (f"; {left} with fewer than {min_n} judged cases not plotted" if left else "")
    return (f"Dot plot of the share of judged cases meeting each of {n_std} standards, for "
            f"{groups} services and all services, with 95% intervals{tail}. "
            f"{chart_figures_where(where)}")


def tier_heatmap(matrix: pd.DataFrame, scale: Scale, title: str):
    """Heat map of tier held (rows) against tier judged right (columns): counts in every
    cell (colour is never the only cue), cells above the diagonal (held too low) outlined."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    from ..figures import PALETTE, SEQUENTIAL

    lab = {lv: scale.labels.get(lv, lv) for lv in scale.levels}
    m = matrix.to_numpy()
    fig, ax = plt.subplots(figsize=(1.8 + 1.5 * m.shape[1], 1.4 + 0.9 * m.shape[0]))
    cmap = colormaps[SEQUENTIAL]
    vmax = max(int(m.max()), 1)
    ax.imshow(m, cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            r, g, b, _ = cmap(m[i, j] / vmax)
            lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=10,
                    color="black" if lum > 0.5 else "white",
                    fontweight="bold" if i == j else "normal")
            if j > i and m[i, j] > 0:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5,
                                       ec=PALETTE["vermillion"], ls="--"))
    ax.set_xticks(range(m.shape[1]), [lab[c] for c in matrix.columns], rotation=20, ha="right")
    ax.set_yticks(range(m.shape[0]), [lab[c] for c in matrix.index])
    ax.set_xlabel("Tier the auditors judged right")
    ax.set_ylabel("Tier held")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def tier_alt_text(matrix: pd.DataFrame, scale: Scale) -> str:
    """Alt text of ``tier_heatmap`` (at most ``figures.ALT_MAX`` characters): the totals on,
    above and below the diagonal; each cell's count is written in the chart."""
    m = matrix.to_numpy()
    n = int(m.sum())
    low = int(np.triu(m, 1).sum())
    high = int(np.tril(m, -1).sum())
    t = scale.noun
    return (f"Heat map of {n} audited cases, {t} held (rows) against {t} judged right "
            f"(columns): {n - low - high} on the diagonal, {low} above it (held too low, "
            f"outlined), {high} below it (held too high).")


def themes_chart(themes: pd.DataFrame, title: str = "Themes found in the audited cases"):
    """Horizontal dot-and-interval chart of each theme's overall frequency."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    r = themes[(themes["group"] == "all") & themes["n"].map(reportable)].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(r) + 1.5))
    y = np.arange(len(r))
    est = r["estimate"].to_numpy(dtype=float)
    ax.barh(y, est, color=PALETTE["sky"], edgecolor=PALETTE["black"], height=0.55)
    ax.errorbar(est, y, xerr=[est - r["ci_low"].to_numpy(float),
                              r["ci_high"].to_numpy(float) - est], fmt="none",
                ecolor=PALETTE["black"], capsize=3)
    for i, row in r.iterrows():
        ax.text(min(float(row["ci_high"]) + 0.02, 0.9), i,
                f"{int(row['successes'])} of {int(row['n'])}", va="center", fontsize=9)
    ax.set_yticks(y, r["theme_label"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: pct(v))
    ax.set_xlabel("Share of audited cases (95% interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def themes_alt_text(themes: pd.DataFrame, where: str = "in the table below") -> str:
    """Alt text of ``themes_chart`` (at most ``figures.ALT_MAX`` characters): how many themes
    and the most frequent; every theme's figures are in the table ``where``."""
    from ..reporting import chart_figures_where

    r = themes[(themes["group"] == "all") & themes["n"].map(reportable)]
    top = (f"; most often {r.sort_values('estimate').iloc[-1]['theme_label']}" if len(r)
           else "")
    return (f"Bar chart of how often each of {len(r)} themes was found across the audited "
            f"cases, with 95% intervals{top}. {chart_figures_where(where)}")


