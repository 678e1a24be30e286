"""Threshold consistency, 1: the vignette exercise (agreement between practitioners and with
the reference level; each agency's accuracy; the confusion matrix).

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..proportions import effective_interval
from ..reporting import (
    pct,
)
from .common import _levels_of, agency_label, level_positions

__all__ = ["AGREEMENT_METHODS_SHOWN", "accuracy_plot", "agency_accuracy", "agreement_by_agency",
           "clustered_mean_variance", "confusion_alt_text", "confusion_heatmap",
           "confusion_matrix", "confusion_shares", "most_confused", "ratings_matrix",
           "reference_by_subject", "vignette_agreement"]

# ======================================================================================
# 1. Vignette exercise
# ======================================================================================


def ratings_matrix(ratings: pd.DataFrame, levels: Sequence[str] | Any,
                   agency: str | None = None) -> pd.DataFrame:
    """Subjects x raters matrix of ordinal positions (0 = lowest level), NaN where not rated.

    Rows are vignettes, columns raters (ordered by agency then rater); ``agency`` restricts the
    columns to that agency's raters.  Used as the input of the ``analysis.agreement`` statistics.
    """
    lv = _levels_of(levels)
    df = ratings if agency is None else ratings[ratings["rater_agency"] == agency]
    df = df.assign(_pos=level_positions(df["level"], lv))
    order = (df[["rater_agency", "rater_id"]].drop_duplicates()
             .sort_values(["rater_agency", "rater_id"])["rater_id"].tolist())
    mat = df.pivot_table(index="subject_id", columns="rater_id", values="_pos", aggfunc="first",
                         dropna=False)
    return mat.reindex(columns=order).sort_index()


def reference_by_subject(ratings: pd.DataFrame, levels: Sequence[str] | Any) -> pd.Series:
    """The reference level (panel consensus) of each vignette, as an ordinal position."""
    rated = ratings.dropna(subset=["reference_level"])
    ref = rated.groupby("subject_id")["reference_level"].first()
    return pd.Series(level_positions(ref, _levels_of(levels)), index=ref.index)


AGREEMENT_METHODS_SHOWN = ("percent_agreement", "fleiss_kappa", "krippendorff_alpha",
                           "gwet_ac1", "gwet_ac2")


def vignette_agreement(ratings: pd.DataFrame, levels: Sequence[str] | Any, seed: int = 0,
                       n_boot: int = 2000) -> pd.DataFrame:
    """Overall agreement on the vignettes: ``analysis.agreement.agreement_summary`` on the
    subjects x raters matrix (ordinal scale: Krippendorff's alpha ordinal, Gwet's AC2 with
    ordinal weights, Fleiss' kappa and Gwet's AC1 on exact agreement), with bootstrap
    intervals and a plain-English ``reading`` column.  One vignette, one level used or a
    zero-width interval gives NaN and a ``reason`` ("one vignette: agreement cannot be
    measured"), never a number with a zero-width interval."""
    from .. import agreement

    lv = _levels_of(levels)
    mat = ratings_matrix(ratings, lv)
    return agreement.agreement_summary(mat.to_numpy(dtype=float), level="ordinal",
                                       categories=list(range(len(lv))), seed=seed, n_boot=n_boot,
                                       noun="vignette")


def agreement_by_agency(ratings: pd.DataFrame, levels: Sequence[str] | Any, seed: int = 0,
                        n_boot: int = 1000,
                        methods: Sequence[str] = ("fleiss_kappa", "gwet_ac1")) -> pd.DataFrame:
    """Agreement *within* each agency (its own raters only) on the same vignettes.

    One row per agency and statistic: estimate and bootstrap interval from
    ``analysis.agreement.agreement_summary``.  Agencies with fewer than two raters are skipped
    (agreement needs at least two people).
    """
    from .. import agreement

    lv = _levels_of(levels)
    rows = []
    for ag in sorted(ratings["rater_agency"].dropna().unique()):
        mat = ratings_matrix(ratings, lv, agency=ag)
        if mat.shape[1] < 2:
            continue
        summ = agreement.agreement_summary(mat.to_numpy(dtype=float), level="ordinal",
                                           categories=list(range(len(lv))), seed=seed,
                                           n_boot=n_boot, noun="vignette")
        summ = summ[summ[_method_col(summ)].isin(methods)] if methods else summ
        summ.insert(0, "agency", ag)
        rows.append(summ)
    if not rows:
        return pd.DataFrame()
    return pd.concat(rows, ignore_index=True)


def _method_col(df: pd.DataFrame) -> str:
    for c in ("key", "method", "statistic"):
        if c in df.columns:
            return c
    return df.columns[0]


def clustered_mean_variance(y: np.ndarray, raters: np.ndarray, subjects: np.ndarray) -> float:
    """Variance of the mean of ``y`` when observations are crossed-clustered by rater and subject.

    Two-way cluster-robust estimator (Cameron, Gelbach & Miller 2011): V = c_R V_R + c_S V_S -
    V_0, where V_R and V_S are the one-way cluster-robust variances of the mean (clusters:
    raters, subjects), V_0 the independent-observations variance and c_G = G/(G - 1) the usual
    small-sample factors.  For a complete design this equals the random-effects ANOVA
    estimate (MS_raters + MS_subjects - MS_residual) / (R S) up to the small-sample factors.
    Never smaller than V_0 (no credit is taken for negative clustering).
    """
    y = np.asarray(y, dtype=float)
    n = y.size
    if n == 0:
        return math.nan
    e = y - y.mean()
    v0 = float(np.sum(e * e)) / n**2

    def one_way(groups: np.ndarray) -> tuple[float, int]:
        codes, uniq = pd.factorize(pd.Series(groups), sort=False)
        sums = np.bincount(codes, weights=e, minlength=len(uniq))
        g = len(uniq)
        return float(np.sum(sums * sums)) / n**2, g

    vr, gr = one_way(raters)
    vs, gs = one_way(subjects)
    cr = gr / (gr - 1) if gr > 1 else 1.0
    cs = gs / (gs - 1) if gs > 1 else 1.0
    return max(cr * vr + cs * vs - v0, v0)


def agency_accuracy(ratings: pd.DataFrame, levels: Sequence[str] | Any,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Each agency's accuracy against the reference level (panel consensus).

    Accuracy = share of that agency's ratings that equal the reference level; also the shares
    placed above (over-grading) and below (under-grading) it.  The interval is a Wilson score
    interval computed on the *effective* number of ratings, n / deff, where the design effect
    deff comes from the two-way cluster-robust variance (ratings of the same vignette, and by
    the same rater, are not independent: ``clustered_mean_variance``).  With one rater and one
    vignette per rating it reduces to the ordinary Wilson interval.  Rows: each agency, then
    "All agencies".
    """
    lv = _levels_of(levels)
    df = ratings.assign(_given=level_positions(ratings["level"], lv),
                        _ref=level_positions(ratings["reference_level"], lv))
    df = df.dropna(subset=["_given", "_ref"])
    groups = [(ag, g) for ag, g in df.groupby("rater_agency", sort=True)]
    groups.append(("All agencies", df))
    rows = []
    for ag, g in groups:
        correct = (g["_given"] == g["_ref"]).to_numpy(dtype=float)
        n = correct.size
        if n == 0:
            continue
        p = float(correct.mean())
        var = clustered_mean_variance(correct, g["rater_id"].to_numpy(),
                                      g["subject_id"].to_numpy())
        binom = p * (1 - p) / n
        deff = var / binom if binom > 0 else 1.0
        n_eff = n / max(deff, 1.0)
        lo, hi = effective_interval(p * n_eff, n_eff, confidence)
        rows.append({
            "agency": ag, "raters": int(g["rater_id"].nunique()),
            "vignettes": int(g["subject_id"].nunique()), "ratings": n,
            "correct": int(correct.sum()), "accuracy": p, "ci_low": lo, "ci_high": hi,
            "above_reference": float((g["_given"] > g["_ref"]).mean()),
            "below_reference": float((g["_given"] < g["_ref"]).mean()),
            "design_effect": max(deff, 1.0), "effective_n": n_eff,
            "method": "Wilson score interval on the effective sample size (two-way "
                      "cluster-robust design effect: vignettes and raters)",
        })
    return pd.DataFrame(rows)


def confusion_matrix(ratings: pd.DataFrame, levels: Sequence[str] | Any,
                     reference: str = "reference_level", given: str = "level") -> pd.DataFrame:
    """Counts of (reference level, level given): rows = reference, columns = level given.

    Works for any pair of level columns (e.g. ``tier_judged`` against ``level_of_need``).
    """
    lv = _levels_of(levels)
    df = ratings.dropna(subset=[reference, given])
    cat = pd.CategoricalDtype(lv, ordered=True)
    tab = pd.crosstab(df[reference].astype(str).astype(cat), df[given].astype(str).astype(cat),
                      dropna=False)
    tab = tab.reindex(index=lv, columns=lv, fill_value=0)
    tab.index.name, tab.columns.name = "reference", "given"
    return tab.astype(int)


def confusion_shares(cm: pd.DataFrame) -> pd.DataFrame:
    """Row percentages of a confusion matrix: of the vignettes at each reference level, the
    share given each level (rows sum to 1)."""
    totals = cm.sum(axis=1).replace(0, np.nan)
    return cm.div(totals, axis=0)


def most_confused(cm: pd.DataFrame, top: int = 3,
                  labels: dict[str, str] | None = None) -> pd.DataFrame:
    """The off-diagonal cells with the largest row shares: which levels are confused."""
    shares = confusion_shares(cm)
    rows = []
    for ref in cm.index:
        for giv in cm.columns:
            if ref == giv or cm.loc[ref, giv] == 0:
                continue
            rows.append({"reference": (labels or {}).get(ref, ref),
                         "given": (labels or {}).get(giv, giv), "count": int(cm.loc[ref, giv]),
                         "share_of_reference": shares.loc[ref, giv]})
    out = pd.DataFrame(rows, columns=["reference", "given", "count", "share_of_reference"])
    return out.sort_values(["share_of_reference", "count"], ascending=False).head(top
                                                                                ).reset_index(drop=True)


def confusion_heatmap(cm: pd.DataFrame, labels: dict[str, str] | None = None,
                      title: str = "Level given against the reference level",
                      xlabel: str = "Level given by the practitioner",
                      ylabel: str = "Reference level (panel consensus)"):
    """Heat map of row percentages (cividis: colour-blind safe and readable in grey scale).

    Every cell is labelled with its percentage and count, so colour is never the only cue
    (WCAG 2.2 SC 1.4.1); text is black or white by the cell's luminance for contrast.
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    from ..figures import SEQUENTIAL

    shares = confusion_shares(cm).fillna(0.0)
    lab = labels or {}
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cm.columns), 1.2 + 1.0 * len(cm.index)))
    cmap = colormaps[SEQUENTIAL]
    im = ax.imshow(shares.to_numpy(), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            v = shares.iat[i, j]
            r, g, b, _ = cmap(v)
            lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
            weight = "bold" if i == j else "normal"
            ax.text(j, i, f"{pct(v)}\n(n={cm.iat[i, j]})", ha="center", va="center",
                    color="black" if lum > 0.5 else "white", fontsize=9, fontweight=weight)
    ax.set_xticks(range(len(cm.columns)), [lab.get(c, c) for c in cm.columns], rotation=20,
                  ha="right")
    ax.set_yticks(range(len(cm.index)), [lab.get(c, c) for c in cm.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label("Share of the row")
    fig.tight_layout()
    return fig


def confusion_alt_text(cm: pd.DataFrame, labels: dict[str, str] | None = None,
                       what: str = "ratings", rows: str = "the reference level",
                       columns: str = "the level given",
                       where: str = "each cell is labelled with its share and count") -> str:
    """Alt text for the heat map, at most ``figures.ALT_MAX`` characters: what it shows and
    the share on the diagonal (the same level); ``where`` says where its numbers are."""
    from ..reporting import chart_figures_where

    n = int(cm.to_numpy().sum())
    same = int(sum(cm.loc[lv, lv] for lv in cm.index if lv in cm.columns))
    diag = f": {pct(same / n)} on the diagonal (the same level)" if n else ""
    tail = (chart_figures_where(where) if where.startswith("in ")
            else where[:1].upper() + where[1:] + ".")
    return (f"Heat map of {n} {what}, {rows} (rows) against {columns} (columns){diag}. "
            f"{tail}")


def accuracy_plot(acc: pd.DataFrame, title: str = "Gradings matching the reference level"):
    """Dot-and-interval chart of accuracy by agency, with the all-agency figure as a line."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    by = acc[acc["agency"] != "All agencies"].sort_values("accuracy")
    allrow = acc[acc["agency"] == "All agencies"]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(by)))
    y = np.arange(len(by))
    ax.hlines(y, by["ci_low"], by["ci_high"], color=PALETTE["blue"], lw=2.5)
    ax.plot(by["accuracy"], y, "o", color=PALETTE["blue"], mec="black", ms=8)
    for yi, (p, hi) in enumerate(zip(by["accuracy"], by["ci_high"], strict=True)):
        ax.annotate(f"{pct(p)}", (hi, yi), textcoords="offset points", xytext=(6, -3),
                    fontsize=8)
    if len(allrow):
        ax.axvline(float(allrow["accuracy"].iloc[0]), color=PALETTE["black"], ls="--", lw=1,
                   label=f"All agencies {pct(float(allrow['accuracy'].iloc[0]))}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [agency_label(a) for a in by["agency"]])
    ax.set_xlim(0, 1.05)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: pct(v)))
    ax.set_xlabel("Share of gradings at the reference level (95% interval)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


