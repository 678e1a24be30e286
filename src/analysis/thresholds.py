"""Threshold consistency: do practitioners, the front door and auditors agree on a level?

Four analyses, each written so that a board can *measure* threshold consistency rather than
assert it (Ofsted told Worcestershire that "practitioners do not understand thresholds ...
and thresholds are not applied consistently"; Hackney's 2011 audit found thresholds well
applied in multi-agency forums, less so by single agencies, and many "inappropriate
referrals": shared/domain/seeds/003 and 004).

1. **Vignette exercise** (``ratings`` table): practitioners from several agencies grade the
   same case vignettes on the levels of need.  Overall and within-agency agreement (Fleiss'
   kappa, Krippendorff's alpha, Gwet's AC1/AC2 via ``analysis.agreement``); each agency's
   accuracy against the reference level (panel consensus) with a Wilson score interval whose
   sample size is the *effective* size after allowing for the clustering of ratings by vignette
   and by rater (two-way cluster-robust variance, Cameron, Gelbach & Miller 2011; Wilson 1927;
   Korn & Graubard 1998 for the effective-sample-size form); and the confusion matrix of
   reference level against the level given.
2. **Front-door decisions** (``cases`` + ``audit`` for the threshold-audit sample): weighted
   kappa (Cohen 1968) between the referrer's suggested level, the front door's decision and
   the auditor's regrading; the share of contacts judged appropriate by referral source and by
   route with design-weighted intervals; funnel plots with 95% and 99.8% control limits around
   the overall rate (Spiegelhalter 2005, "Funnel plots for comparing institutional
   performance", Statistics in Medicine 24:1185-1202; exact binomial limits with his
   interpolation, Appendix A.1.1); a logistic regression of an appropriate referral on source,
   route, domestic abuse and age band, reported as odds ratios with intervals, adjusted shares
   and a plain-words reading (design-weighted pseudo-likelihood with a sandwich variance when
   the sample over-samples a group: Binder 1983; Lumley & Scott 2017).
3. **Domestic-abuse triage grading**: weighted kappa between the triage grade (standard,
   medium, high) and the auditor's grade, and the share of incidents the auditor judged medium
   or high that triage graded standard ("under-grading"), with Wilson intervals, by source.
4. **Trends**: monthly contact-to-referral conversion, re-referrals within 12 months of a
   previous referral, and assessments completed within 45 working days (English bank
   holidays from the ``holidays`` package; ``numpy.busday_count``), for the XmR charts of
   ``analysis.spc`` (NHS England "Making Data Count").  The monthly series have a pandas path
   and a DuckDB path that gives identical numbers and reads Parquet directly, so they scale to
   tens of millions of rows.

Everything returns aggregate tables: no function here returns case-level rows for display.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from .proportions import effective_interval, newcombe_interval, weights_vary
from .reporting import (
    TOO_FEW,
    cannot_tell,
    count,
    direction,
    interval,
    number,
    pct,
    points,
    ratio,
    ratio_direction,
    reportable,
    too_few,
    too_few_reason,
)

Z95 = float(stats.norm.ppf(0.975))
TRIAGE_GRADES: tuple[str, ...] = ("standard", "medium", "high")
TRIAGE_LABELS = {"standard": "Standard", "medium": "Medium", "high": "High"}
MET: tuple[str, ...] = ("yes",)
NOT_MET: tuple[str, ...] = ("partly", "no")
LEVEL_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("referrer_level", "level_of_need", "Referrer's suggested level v the front door's decision"),
    ("level_of_need", "tier_judged", "Front door's decision v the auditor's regrading"),
    ("referrer_level", "tier_judged", "Referrer's suggested level v the auditor's regrading"),
)
SOURCE_LABELS = {
    "police": "Police", "school": "Schools and education", "health": "Health services",
    "la_services": "Local authority services", "self_family": "Individual (self, family, carer)",
    "housing": "Housing", "other_legal": "Other legal agency", "voluntary": "Voluntary sector",
    "anonymous": "Anonymous", "other": "Other", "unknown": "Unknown",
}
ROUTE_LABELS = {"single_agency": "Single agency", "multi_agency_forum": "Via a multi-agency forum"}
ROUTE_PHRASES = {"single_agency": "made by a single agency",
                 "multi_agency_forum": "made via a multi-agency forum", "all": ""}
AGE_LABELS = {"unborn": "Unborn", "under_1": "Under 1", "1_to_4": "1 to 4", "5_to_9": "5 to 9",
              "10_to_15": "10 to 15", "16_and_over": "16 and over"}

# ======================================================================================
# Small helpers
# ======================================================================================


def level_positions(values: pd.Series | Sequence[Any], levels: Sequence[str]) -> np.ndarray:
    """Ordinal positions (0, 1, ...) of level codes on the scale; NaN for missing or unknown."""
    lookup = {str(lv): float(i) for i, lv in enumerate(levels)}
    s = pd.Series(values, dtype="object")
    return s.map(lambda v: lookup.get(str(v), np.nan) if not _isna(v) else np.nan
                 ).to_numpy(dtype=float)


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _levels_of(levels: Sequence[str] | Any) -> list[str]:
    """Accept a ``schemas.Scale`` or a sequence of level codes."""
    return [str(x) for x in getattr(levels, "levels", levels)]


def _level_labels(levels: Sequence[str] | Any) -> dict[str, str]:
    labels = getattr(levels, "labels", None) or {}
    return {lv: labels.get(lv, lv) for lv in _levels_of(levels)}


AGENCY_LABELS = {"police": "Police", "school": "Schools", "education": "Education",
                 "health": "Health", "csc": "Children's social care",
                 "social_care": "Children's social care", "early_help": "Early help",
                 "voluntary": "Voluntary sector", "probation": "Probation",
                 "housing": "Housing", "la_services": "Local authority services"}
BROAD_AGE = {"unborn": "under_5", "under_1": "under_5", "1_to_4": "under_5",
             "5_to_9": "5_to_9", "10_to_15": "10_and_over", "16_and_over": "10_and_over"}
BROAD_AGE_LABELS = {"under_5": "Under 5 (incl. unborn)", "5_to_9": "5 to 9",
                    "10_and_over": "10 and over"}


def agency_label(code: object) -> str:
    """A readable agency name ('early_help' -> 'Early help')."""
    c = str(code)
    return AGENCY_LABELS.get(c, SOURCE_LABELS.get(c, c.replace("_", " ").capitalize()))


def broad_age_band(age_band: pd.Series) -> pd.Series:
    """DfE age bands pooled into under 5, 5 to 9, and 10 and over (an audit sample of a few
    dozen cases cannot support six bands)."""
    return age_band.astype("object").map(BROAD_AGE)


def share_sentence(successes: int, n: int, estimate: float, ci_low: float, ci_high: float,
                   what: str, weighted: bool | None = None, min_n: int | None = None) -> str:
    """'41 of 60 audited contacts were judged appropriate (68%; 95% interval 56% to 79%)'.

    ``weighted=None`` decides from the numbers: the estimate is called design-weighted when it
    differs from successes / n.
    """
    if not n:
        return f"No cases could be judged for: {what}."
    if not reportable(n, min_n):
        return f"{what[0].upper()}{what[1:]}: {too_few(n, min_n=min_n)}."
    if weighted is None:
        weighted = abs(estimate - successes / n) > 0.005
    est = (f"an estimated {pct(estimate)} once each case is weighted for how the sample "
           f"was drawn" if weighted else pct(estimate))
    return (f"{successes} of {n} {what} ({est}; 95% interval {pct(ci_low)} to "
            f"{pct(ci_high)}).")


def suppress_small(table: pd.DataFrame, columns: Sequence[str] | None = None,
                   threshold: tuple[int, int] = (1, 5)) -> tuple[pd.DataFrame, bool]:
    """Apply DfE disclosure control to the count ``columns`` of a table about children.

    Uses ``analysis.disclosure.suppress`` (counts 1-5 shown as ``c``, with secondary
    suppression) when that module is installed.  Returns (table, applied): ``applied`` is False
    when the module is missing, so the page can say the counts were not disclosure-controlled.
    """
    try:
        from . import disclosure
    except ImportError:
        return table, False
    cols = list(columns) if columns is not None else list(table.columns)
    counts = table[cols]
    try:
        done = disclosure.suppress(counts, threshold=threshold)
    except TypeError:
        done = disclosure.suppress(counts)
    out = table.copy()
    for c in cols:
        out[c] = done[c].astype("object")
    return out, True


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
    intervals and a plain-English ``reading`` column."""
    from . import agreement

    lv = _levels_of(levels)
    mat = ratings_matrix(ratings, lv)
    return agreement.agreement_summary(mat.to_numpy(dtype=float), level="ordinal",
                                       categories=list(range(len(lv))), seed=seed, n_boot=n_boot)


def agreement_by_agency(ratings: pd.DataFrame, levels: Sequence[str] | Any, seed: int = 0,
                        n_boot: int = 1000,
                        methods: Sequence[str] = ("fleiss_kappa", "gwet_ac1")) -> pd.DataFrame:
    """Agreement *within* each agency (its own raters only) on the same vignettes.

    One row per agency and statistic: estimate and bootstrap interval from
    ``analysis.agreement.agreement_summary``.  Agencies with fewer than two raters are skipped
    (agreement needs at least two people).
    """
    from . import agreement

    lv = _levels_of(levels)
    rows = []
    for ag in sorted(ratings["rater_agency"].dropna().unique()):
        mat = ratings_matrix(ratings, lv, agency=ag)
        if mat.shape[1] < 2:
            continue
        summ = agreement.agreement_summary(mat.to_numpy(dtype=float), level="ordinal",
                                           categories=list(range(len(lv))), seed=seed,
                                           n_boot=n_boot)
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

    from .figures import SEQUENTIAL

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
                       columns: str = "the level given") -> str:
    """Alt text for the heat map: the diagonal shares and the largest confusions, in words."""
    lab = labels or {}
    shares = confusion_shares(cm)
    diag = [f"{lab.get(lv, lv)} {pct(shares.loc[lv, lv])}" for lv in cm.index
            if cm.loc[lv].sum() > 0]
    conf = most_confused(cm, top=2, labels=lab)
    worst = "; ".join(f"{pct(r.share_of_reference)} of {r.reference} {what} were given "
                      f"{r.given}" for r in conf.itertuples())
    return (f"Heat map of {int(cm.to_numpy().sum())} {what}: rows are {rows}, columns "
            f"{columns}; darker cells hold smaller shares. Share on the diagonal (the same "
            f"level): {', '.join(diag)}. Largest differences: {worst or 'none'}.")


# ======================================================================================
# 2. Front-door decisions
# ======================================================================================


def case_judgements(audit: pd.DataFrame, levels: Sequence[str] | Any,
                    met: Sequence[str] = MET, not_met: Sequence[str] = NOT_MET,
                    standard: str = "std_referral_appropriate") -> pd.DataFrame:
    """One row per audited case from the audit returns (one row per case per auditor).

    * ``appropriate``: True if most auditors who answered the standard said it was met, False
      if most said partly/no (a tie counts as not met: a referral is appropriate only when the
      auditors are agreed it is); NA when nobody could answer (not applicable, insufficient
      information), so such cases leave the denominator as the Hackney audit did.
    * ``tier_judged``: the auditors' regrading (the lower median if they differ).
    * ``triage_grade_judged``: the auditors' triage grade (the lower median if they differ).
    """
    lv = _levels_of(levels)
    a = audit.copy()
    out = pd.DataFrame(index=pd.Index(sorted(a["case_id"].unique()), name="case_id"))
    out["auditors"] = a.groupby("case_id")["auditor_id"].nunique()
    if standard in a.columns:
        ans = a[standard].astype("object")
        a["_met"] = np.where(ans.isin(list(met)), 1.0, np.where(ans.isin(list(not_met)), 0.0,
                                                                 np.nan))
        g = a.groupby("case_id")["_met"]
        share = g.mean()
        answered = g.count()
        app = pd.Series(pd.NA, index=share.index, dtype="boolean")
        ok = answered > 0
        app[ok] = share[ok] > 0.5
        out["appropriate"] = app
    for col, scale in (("tier_judged", lv), ("triage_grade_judged", list(TRIAGE_GRADES))):
        if col in a.columns:
            a["_pos"] = level_positions(a[col], scale)
            med = a.groupby("case_id")["_pos"].agg(
                lambda s: np.nan if s.dropna().empty else float(np.sort(s.dropna())[
                    (len(s.dropna()) - 1) // 2]))
            out[col] = med.map(lambda p, sc=scale: sc[int(p)] if not np.isnan(p) else pd.NA)
    return out.reset_index()


def front_door_frame(cases: pd.DataFrame, audit: pd.DataFrame, levels: Sequence[str] | Any,
                     weights: pd.DataFrame | pd.Series | None = None,
                     met: Sequence[str] = MET, not_met: Sequence[str] = NOT_MET) -> pd.DataFrame:
    """The audited front-door contacts: case attributes joined to the auditors' judgements and
    to the design weight of each case.

    ``weights`` is a frame with ``case_id`` and ``design_weight`` (e.g. the sample manifest's
    cases, or ``analysis.sampling.attach_weights`` output) or a Series indexed by case_id; when
    absent every case weighs 1 (a simple random sample).  The frame is for computing; it holds
    pseudonymised ids and must never be displayed.
    """
    judged = case_judgements(audit, levels, met, not_met)
    keep = [c for c in ("case_id", "referral_source", "route", "service", "team", "age_band",
                        "domestic_abuse", "triage_grade", "referrer_level", "level_of_need",
                        "outcome", "contact_date", "referral_date") if c in cases.columns]
    df = judged.merge(cases[keep], on="case_id", how="left", validate="one_to_one")
    df["design_weight"] = 1.0
    if weights is not None:
        w = (weights.set_index("case_id")["design_weight"] if isinstance(weights, pd.DataFrame)
             else weights)
        if isinstance(weights, pd.DataFrame) and "stratum" in weights.columns:
            df["stratum"] = df["case_id"].map(weights.set_index("case_id")["stratum"])
        df["design_weight"] = df["case_id"].map(w).astype(float)
        if df["design_weight"].isna().any():
            missing = int(df["design_weight"].isna().sum())
            raise ValueError(f"{missing} audited case(s) have no design weight: the audit returns "
                             "and the sample manifest do not match (were the returns made for "
                             "another sample?)")
    return df


def weights_from_manifest(manifest: str | Path | dict[str, Any]) -> pd.DataFrame:
    """``case_id`` and ``design_weight`` from a sample manifest (JSON path or parsed dict).

    Uses ``analysis.sampling`` when it offers a reader; otherwise reads the manifest's list of
    selected cases (``cases``/``selected``/``sample`` entries with ``case_id`` and
    ``design_weight``).  If a manifest gives only strata (population N_h, sample n_h), the
    weight of a case in stratum h is N_h / n_h.
    """
    import json

    if isinstance(manifest, (str, Path)):
        data = json.loads(Path(manifest).read_text("utf-8"))
    else:
        data = manifest
    for key in ("cases", "selected", "sample", "units"):
        items = data.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            df = pd.DataFrame(items)
            if "design_weight" in df.columns:
                keep = ["case_id", "design_weight"] + (["stratum"] if "stratum" in df.columns
                                                       else [])
                return df[keep].astype({"design_weight": float})
            if {"stratum"} <= set(df.columns) and "strata" in data:
                strata = pd.DataFrame(data["strata"])
                pop = next(c for c in ("population", "N", "N_h") if c in strata.columns)
                smp = next(c for c in ("sampled", "n", "n_h", "sample") if c in strata.columns)
                strata["design_weight"] = strata[pop] / strata[smp]
                df = df.merge(strata[["stratum", "design_weight"]], on="stratum")
                return df[["case_id", "design_weight", "stratum"]]
    raise ValueError("the sample manifest lists no cases with design weights")


def weighted_kappa_table(table: np.ndarray, weights: Literal["linear", "quadratic"] | None = None
                         ) -> float:
    """Cohen's kappa (weights=None) or weighted kappa (Cohen 1968) from a square table of
    counts or of summed design weights: kappa = 1 - sum(w_d * p_o) / sum(w_d * p_e) with
    disagreement weights w_d = |i-j|/(k-1) (linear) or (|i-j|/(k-1))^2 (quadratic)."""
    t = np.asarray(table, dtype=float)
    k = t.shape[0]
    tot = t.sum()
    if tot <= 0:
        return math.nan
    po = t / tot
    pe = np.outer(po.sum(axis=1), po.sum(axis=0))
    i, j = np.indices((k, k))
    if weights is None:
        wd = (i != j).astype(float)
    elif weights == "linear":
        wd = np.abs(i - j) / max(k - 1, 1)
    elif weights == "quadratic":
        wd = ((i - j) / max(k - 1, 1)) ** 2
    else:
        raise ValueError("weights must be None, 'linear' or 'quadratic'")
    de = float(np.sum(wd * pe))
    if de == 0:
        return math.nan
    return 1.0 - float(np.sum(wd * po)) / de


def _pair_table(a: np.ndarray, b: np.ndarray, k: int, w: np.ndarray) -> np.ndarray:
    idx = a.astype(int) * k + b.astype(int)
    return np.bincount(idx, weights=w, minlength=k * k).reshape(k, k)


def paired_kappa(a: Sequence[Any], b: Sequence[Any], categories: Sequence[str],
                 weights: Literal["linear", "quadratic"] | None = "linear",
                 case_weights: Sequence[float] | None = None, strata: Sequence[Any] | None = None,
                 seed: int = 0, n_boot: int = 2000, confidence: float = 0.95) -> dict[str, Any]:
    """(Weighted) kappa between two sets of ordinal judgements of the same cases.

    With equal case weights this is Cohen's weighted kappa on the table of counts; with design
    weights the table holds summed weights, so each case counts for the number of cases it
    represents.  The interval is a percentile bootstrap resampling cases (within strata when
    given: the sample design).  Also returns exact agreement and agreement within one level
    (weighted the same way).
    """
    cat = [str(c) for c in categories]
    pa = level_positions(pd.Series(list(a), dtype="object"), cat)
    pb = level_positions(pd.Series(list(b), dtype="object"), cat)
    w = np.ones(len(pa)) if case_weights is None else np.asarray(case_weights, dtype=float)
    ok = ~np.isnan(pa) & ~np.isnan(pb) & ~np.isnan(w)
    pa, pb, w = pa[ok], pb[ok], w[ok]
    st = (np.zeros(len(pa), dtype=int) if strata is None
          else pd.factorize(pd.Series(list(strata))[ok].to_numpy())[0])
    k = len(cat)
    n = len(pa)
    res: dict[str, Any] = {"n": n, "kappa": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                           "exact_agreement": math.nan, "within_one": math.nan,
                           "weights": weights or "unweighted",
                           "design_weighted": weights_vary(w)}
    if n < 2:
        return res
    res["kappa"] = weighted_kappa_table(_pair_table(pa, pb, k, w), weights)
    res["exact_agreement"] = float(np.sum(w * (pa == pb)) / w.sum())
    res["within_one"] = float(np.sum(w * (np.abs(pa - pb) <= 1)) / w.sum())
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(st == s) for s in np.unique(st)]
    boots = np.empty(n_boot)
    for r in range(n_boot):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        boots[r] = weighted_kappa_table(_pair_table(pa[idx], pb[idx], k, w[idx]), weights)
    boots = boots[~np.isnan(boots)]
    if boots.size:
        alpha = (1 - confidence) / 2
        res["ci_low"], res["ci_high"] = (float(np.quantile(boots, alpha)),
                                         float(np.quantile(boots, 1 - alpha)))
    return res


def kappa_words(kappa: float, ci_low: float | None = None, ci_high: float | None = None
                ) -> str:
    """Landis & Koch (1977) descriptive band, in words a QA sub-committee uses; with an
    interval, "between fair and moderate" when the interval spans bands
    (``analysis.agreement.band_words``)."""
    from .agreement import band_words

    if kappa is None or _isna(kappa):
        return "cannot be measured"
    return band_words(float(kappa), ci_low, ci_high)


def level_agreement(df: pd.DataFrame, levels: Sequence[str] | Any,
                    pairs: Iterable[tuple[str, str, str]] = LEVEL_PAIRS,
                    weights: Literal["linear", "quadratic"] | None = "linear",
                    weight_col: str | None = "design_weight", strata_col: str | None = "stratum",
                    seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Weighted kappa for each pair of level judgements (referrer, front door, auditor).

    Design weights are used when they vary (an over-sampled group does not dominate); the
    ``reading`` says in plain words how often the two judgements agree.
    """
    lv = _levels_of(levels)
    rows = []
    for a, b, label in pairs:
        if a not in df.columns or b not in df.columns:
            continue
        w = df[weight_col] if weight_col and weight_col in df.columns else None
        s = df[strata_col] if strata_col and strata_col in df.columns else None
        r = paired_kappa(df[a], df[b], lv, weights=weights, case_weights=w, strata=s, seed=seed,
                         n_boot=n_boot)
        reading = (f"{label}: the same level in {pct(r['exact_agreement'])} of cases and "
                   f"no more than one level apart in {pct(r['within_one'])}; beyond chance "
                   f"the agreement is {kappa_words(r['kappa'], r['ci_low'], r['ci_high'])} "
                   f"(weighted kappa "
                   f"{number(r['kappa'])}, 95% interval {number(r['ci_low'])} to "
                   f"{number(r['ci_high'])}, "
                   f"{r['n']} cases).") if r["n"] >= 2 else f"{label}: too few cases."
        rows.append({"comparison": label, "first": a, "second": b, **r, "reading": reading})
    return pd.DataFrame(rows)


def weighted_share(values: Sequence[Any], weights: Sequence[float] | None = None,
                   confidence: float = 0.95) -> dict[str, Any]:
    """Share of True among non-missing ``values`` with its interval.

    Equal weights: Wilson score interval (``analysis.proportions.proportion_ci``).  Varying
    design weights: ``analysis.proportions.weighted_proportion_ci`` (weighted estimate with an
    effective-sample-size interval).  Returns successes, n, estimate, ci_low, ci_high, method.
    """
    v = pd.Series(list(values), dtype="object")
    w = pd.Series(np.ones(len(v)) if weights is None else np.asarray(weights, dtype=float))
    ok = v.notna().to_numpy() & ~v.map(_isna).to_numpy()
    vv = v[ok].astype(bool).to_numpy()
    ww = w[ok].to_numpy()
    n = int(vv.size)
    x = int(vv.sum())
    out: dict[str, Any] = {"successes": x, "n": n, "estimate": math.nan, "ci_low": math.nan,
                           "ci_high": math.nan, "method": ""}
    if n == 0:
        return out
    if weights_vary(ww):
        est, lo, hi, method = _weighted_ci(vv, ww, confidence)
    else:
        est, lo, hi, method = _plain_ci(x, n, confidence)
    out.update(estimate=est, ci_low=lo, ci_high=hi, method=method)
    return out


def _plain_ci(x: int, n: int, confidence: float) -> tuple[float, float, float, str]:
    try:
        from . import proportions

        r = proportions.proportion_ci(x, n, confidence=confidence)
        est, lo, hi = _unpack_ci(r, x / n)
        return est, lo, hi, "Wilson score interval"
    except ImportError:
        lo, hi = effective_interval(x, n, confidence)
        return x / n, lo, hi, "Wilson score interval"


def _weighted_ci(v: np.ndarray, w: np.ndarray, confidence: float
                 ) -> tuple[float, float, float, str]:
    try:
        from . import proportions

        r = proportions.weighted_proportion_ci(v.astype(float), w, confidence=confidence)
        est, lo, hi = _unpack_ci(r, float(np.sum(w * v) / np.sum(w)))
        method = getattr(r, "method", "") or "design-weighted, Wilson interval on the effective " \
                                              "sample size (Kish)"
        return est, lo, hi, str(method)
    except ImportError:
        p = float(np.sum(w * v) / np.sum(w))
        n_eff = float(np.sum(w) ** 2 / np.sum(w * w))
        lo, hi = effective_interval(p * n_eff, n_eff, confidence)
        return p, lo, hi, "design-weighted, Wilson interval on Kish's effective sample size"


def _unpack_ci(r: Any, default: float) -> tuple[float, float, float]:
    """Estimate and interval from whatever ``analysis.proportions`` returns."""
    if isinstance(r, dict):
        return (float(r.get("estimate", r.get("p", default))), float(r["ci_low"]),
                float(r["ci_high"]))
    if hasattr(r, "ci_low"):
        est = getattr(r, "estimate", getattr(r, "p", default))
        return float(est), float(r.ci_low), float(r.ci_high)
    t = tuple(r)
    if len(t) == 2:
        return default, float(t[0]), float(t[1])
    return float(t[0]), float(t[1]), float(t[2])


def appropriateness_by(df: pd.DataFrame, by: str | None, outcome: str = "appropriate",
                       weight_col: str | None = "design_weight",
                       labels: dict[str, str] | None = None, confidence: float = 0.95
                       ) -> pd.DataFrame:
    """Share of audited contacts judged appropriate, overall (``by=None``) or per group.

    Design-weighted where the weights vary; ``n`` is the number of audited cases with an
    answer and ``successes`` the unweighted count judged appropriate.
    """
    parts = [("All contacts", df)] if by is None else [
        ((labels or {}).get(k, k), g) for k, g in df.groupby(by, sort=True, observed=True)]
    code_of = {} if by is None else {(labels or {}).get(k, k): k for k in df[by].dropna().unique()}
    rows = []
    for name, g in parts:
        w = g[weight_col] if weight_col and weight_col in g.columns else None
        r = weighted_share(g[outcome], w, confidence)
        rows.append({"group": name, "code": "all" if by is None else code_of[name], **r})
    return pd.DataFrame(rows, columns=["group", "code", "successes", "n", "estimate", "ci_low",
                                       "ci_high", "method"])


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


def funnel_table(df: pd.DataFrame, group: str, outcome: str, target: float | None = None,
                 coverages: Sequence[float] = (0.95, 0.998),
                 method: Literal["exact", "normal"] = "exact",
                 labels: dict[str, str] | None = None, min_n: int = 1) -> pd.DataFrame:
    """One row per group (agency or team): n, successes, rate, the funnel limits at its n and
    where it falls: ``within``, ``above_95``/``below_95`` (worth a look) or
    ``above_99.8``/``below_99.8`` (unlikely to be chance alone), judged against exactly the
    limits that ``funnel_plot`` draws (``funnel_limit``).

    ``target`` defaults to the overall rate (sum of successes / sum of n).  Rows with missing
    ``outcome`` are left out.  Counts are unweighted: a funnel plot compares the groups' own
    cases with what chance would give at that size.
    """
    d = df.dropna(subset=[outcome])
    d = d[~d[outcome].map(_isna)]
    g = d.groupby(group, sort=True, observed=True)[outcome].agg(
        successes=lambda s: int(s.astype(bool).sum()), n="size").reset_index()
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
    out.attrs["min_n"] = min_n
    return out


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

    from .figures import PALETTE

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
    """Plain-words reading of a funnel table (and the figure's alt text)."""
    target = float(table["target"].iloc[0]) if len(table) else math.nan
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
    left = table.attrs.get("too_few") or []
    if left:
        parts.append(f"Not shown, with fewer than {table.attrs.get('min_n')} each ({TOO_FEW}): "
                     f"{', '.join(sorted(left))}.")
    return " ".join(parts)


# --------------------------------------------------------------------------------------
# Logistic regression
# --------------------------------------------------------------------------------------


@dataclass
class LogisticResult:
    """Odds ratios of a logistic regression, with intervals, adjusted shares and readings."""

    table: pd.DataFrame
    n: int
    events: int
    outcome: str
    predictors: list[str]
    weighted: bool
    method: str
    readings: list[str] = field(default_factory=list)
    model: Any = None
    excluded: int = 0


def _collapse_rare(s: pd.Series, min_count: int, other: str = "other") -> pd.Series:
    counts = s.value_counts()
    rare = counts[counts < min_count].index
    if len(rare) == 0:
        return s
    return s.astype("object").where(~s.isin(rare), other)


def logistic_odds_ratios(df: pd.DataFrame, outcome: str, predictors: Sequence[str],
                         weight_col: str | None = None,
                         reference: dict[str, Any] | None = None,
                         labels: dict[str, dict[Any, str]] | None = None,
                         variable_labels: dict[str, str] | None = None,
                         min_count: int = 5, confidence: float = 0.95) -> LogisticResult:
    """Logistic regression of a yes/no ``outcome`` on categorical ``predictors`` (statsmodels).

    * Categories with fewer than ``min_count`` cases are pooled into "other" (a category with a
      handful of cases gives an odds ratio nobody can read); the reference category of each
      predictor is ``reference[p]`` or else its most common category.
    * Unweighted: maximum likelihood with model-based standard errors.  With design weights that
      vary: the weighted pseudo-likelihood (Binder 1983) with the robust sandwich variance
      (statsmodels GLM ``var_weights`` with ``cov_type="HC0"``), the usual way of fitting a
      logistic model to an unequal-probability sample (Lumley & Scott 2017).
    * Odds ratios and Wald intervals are exp(beta) and exp(beta +/- z se).  ``adjusted_share``
      is the model's average predicted share if every case had that category (marginal
      standardisation), which reads more easily than odds.
    """
    import statsmodels.api as sm

    cols = [outcome, *predictors] + ([weight_col] if weight_col else [])
    d = df[cols].copy()
    d = d[~d[outcome].map(_isna)].dropna(subset=list(predictors))
    # categorical codes; rare categories pooled into "other"; a pooled "other" still below
    # min_count is left out of the model (reported in ``excluded``)
    n_before = len(d)
    for p in predictors:
        s = d[p]
        if s.dtype == bool or str(s.dtype) == "boolean":
            d[p] = s.astype(bool).map({True: "yes", False: "no"})
        else:
            s = _collapse_rare(s.astype("object"), min_count)
            if (s == "other").sum() < min_count:
                s = s.where(s != "other", None)
            d[p] = s
    d = d.dropna(subset=list(predictors))
    excluded = n_before - len(d)
    y = d[outcome].astype(bool).astype(float).to_numpy()
    w = d[weight_col].astype(float).to_numpy() if weight_col else np.ones(len(d))
    weighted = weights_vary(w)
    refs: dict[str, Any] = {}
    design_parts = []
    for p in predictors:
        s = d[p]
        ref = (reference or {}).get(p)
        if isinstance(ref, bool):
            ref = "yes" if ref else "no"
        if ref is None or ref not in set(s):
            ref = "no" if set(s) <= {"yes", "no"} and "no" in set(s) else (
                s.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0])
        refs[p] = ref
        cats = [c for c in sorted(s.unique(), key=str) if c != ref]
        for c in cats:
            design_parts.append(pd.Series((s == c).astype(float).to_numpy(), name=f"{p}={c}"))
    X = pd.concat(design_parts, axis=1) if design_parts else pd.DataFrame(index=range(len(d)))
    X = sm.add_constant(X, has_constant="add")
    # drop columns with no cases (all zeros) to keep the design full rank
    X = X.loc[:, (X != 0).any(axis=0)]
    names = list(X.columns)
    xmat = X.to_numpy()
    wn = w / w.mean()
    separated = _separated(xmat, y)
    fit: Any
    if not separated:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sm.GLM(y, xmat, family=sm.families.Binomial(),
                           var_weights=wn if weighted else None)
            fit = model.fit(cov_type="HC0") if weighted else model.fit()
        beta = np.asarray(fit.params)
        se = np.asarray(fit.bse)
        separated = bool(np.max(np.abs(beta[1:]), initial=0) > 10 or not np.all(np.isfinite(se)))
    if separated:
        beta, cov = firth_logistic(xmat, y, wn if weighted else None, robust=weighted)
        se = np.sqrt(np.diag(cov))
        fit = {"params": beta, "cov": cov}
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    pvalues = 2 * stats.norm.sf(np.abs(beta / se))
    rows = []
    for p in predictors:
        vlab = (variable_labels or {}).get(p, p)
        plab = (labels or {}).get(p, {})
        order = list((labels or {}).get(p, {}))
        cats = sorted(d[p].unique(), key=lambda c, o=order: (o.index(c) if c in o else len(o),
                                                              str(c)))
        for c in [refs[p], *[c for c in cats if c != refs[p]]]:
            col = f"{p}={c}"
            # adjusted share: everyone set to category c
            xc = xmat.copy()
            for j, nm in enumerate(names):
                if nm.startswith(f"{p}="):
                    xc[:, j] = 1.0 if nm == col else 0.0
            adj = float(np.average(1 / (1 + np.exp(-(xc @ beta))), weights=w))
            sel = (d[p] == c).to_numpy()
            row = {"variable": vlab, "predictor": p, "category": plab.get(c, str(c)), "code": c,
                   "n": int(sel.sum()), "observed_share": float(np.average(y[sel], weights=w[sel]))
                   if sel.any() else math.nan, "adjusted_share": adj,
                   "reference": c == refs[p]}
            if c == refs[p] or col not in names:
                row.update(odds_ratio=1.0, ci_low=math.nan, ci_high=math.nan, p_value=math.nan)
            else:
                j = names.index(col)
                with np.errstate(over="ignore"):
                    row.update(odds_ratio=float(np.exp(beta[j])),
                               ci_low=float(np.exp(beta[j] - z * se[j])),
                               ci_high=float(np.exp(beta[j] + z * se[j])),
                               p_value=float(pvalues[j]))
            rows.append(row)
    table = pd.DataFrame(rows)
    method = ("design-weighted logistic regression (pseudo-likelihood, robust sandwich "
              "variance)" if weighted else "logistic regression (maximum likelihood)")
    if separated:
        method += ("; Firth's penalised likelihood because some groups were all one outcome "
                   "(Firth 1993; Heinze & Schemper 2002)")
    if excluded:
        method += (f"; {excluded} case(s) in categories too small to estimate (fewer than "
                   f"{min_count}, even pooled) left out")
    res = LogisticResult(table=table, n=len(d), events=int(y.sum()), outcome=outcome,
                         predictors=list(predictors), weighted=weighted, method=method,
                         model=fit, excluded=excluded)
    res.readings = odds_ratio_readings(res)
    return res


def _separated(x: np.ndarray, y: np.ndarray) -> bool:
    """Quasi-complete separation by a single indicator column: every case with (or without)
    the indicator has the same outcome, so its maximum-likelihood odds ratio is infinite."""
    for j in range(x.shape[1]):
        for sel in (x[:, j] == 1, x[:, j] == 0):
            if sel.any() and (x[:, j] != 1).any() and np.ptp(y[sel]) == 0:
                return True
    return False


def firth_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                   robust: bool = False, max_iter: int = 200, tol: float = 1e-9
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Firth's (1993) bias-reduced logistic regression: maximise l(b) + 0.5 log|I(b)|.

    Newton steps on the modified score X'(w(y - p) + h(1/2 - p)), h the diagonal of the
    weighted hat matrix, with step halving (Heinze & Schemper 2002).  Estimates stay finite
    under separation.  Returns (coefficients, covariance): the inverse information, or with
    ``robust`` the sandwich inv(I) (sum w^2 (y - p)^2 x x') inv(I) for design weights.
    """
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    beta = np.zeros(x.shape[1])

    def parts(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        p = 1 / (1 + np.exp(-(x @ b)))
        wt = w * p * (1 - p)
        info = x.T @ (x * wt[:, None])
        sign, logdet = np.linalg.slogdet(info)
        with np.errstate(divide="ignore"):
            ll = float(np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))))
        return ll + 0.5 * logdet, p, wt, info

    pen, p, wt, info = parts(beta)
    for _ in range(max_iter):
        inv = np.linalg.inv(info)
        h = wt * np.einsum("ij,jk,ik->i", x, inv, x)
        score = x.T @ (w * (y - p) + h * (0.5 - p))
        step = inv @ score
        t = 1.0
        while True:
            new = beta + t * step
            pen_new, p_new, wt_new, info_new = parts(new)
            if pen_new >= pen - 1e-12 or t < 1e-6:
                break
            t /= 2
        beta, pen, p, wt, info = new, pen_new, p_new, wt_new, info_new
        if np.max(np.abs(t * step)) < tol:
            break
    inv = np.linalg.inv(info)
    if robust:
        s = x * (w * (y - p))[:, None]
        return beta, inv @ (s.T @ s) @ inv
    return beta, inv


def odds_ratio_readings(res: LogisticResult, outcome_words: str = "judged appropriate"
                        ) -> list[str]:
    """One plain-words sentence per non-reference category.

    The interval decides the words (``analysis.reporting.ratio_direction``): when it includes
    1 the sentence says the data cannot tell; otherwise it gives the odds ratio as "about N
    times the odds" (or "about N% lower odds") and the adjusted shares, naming the other
    factors taken into account.
    """
    out = []
    t = res.table
    for p in res.predictors:
        sub = t[t["predictor"] == p]
        if sub.empty:
            continue
        ref = sub[sub["reference"]].iloc[0]
        others = [_lower_first(t[t["predictor"] == q]["variable"].iloc[0]) for q in
                  res.predictors if q != p and not t[t["predictor"] == q].empty]
        held = f", taking {_and_join(others)} into account" if others else ""
        ref_cat = _lower_first(str(ref.category))
        for r in sub[~sub["reference"]].itertuples():
            if _isna(r.ci_low):
                continue
            head = _or_head(r.variable, r.category)
            shares = (f" (adjusted shares {pct(r.adjusted_share)} against "
                      f"{pct(ref.adjusted_share)})")
            way = ratio_direction(r.ci_low, r.ci_high)
            if way == "unclear":
                what = f"the chance of being {outcome_words} differs from {ref_cat}"
                text = (f"{head}: {cannot_tell(what)}{held}{shares}; the 95% interval of the "
                        f"odds ratio ({ratio(r.ci_low)} to {ratio(r.ci_high)}) includes 1.")
            elif way == "up":
                text = (f"{head}: about {ratio(r.odds_ratio)} times the odds of being "
                        f"{outcome_words} compared with {ref_cat}{held}{shares}; 95% interval "
                        f"{ratio(r.ci_low)} to {ratio(r.ci_high)} times.")
            else:
                text = (f"{head}: about {pct(1 - r.odds_ratio)} lower odds of being "
                        f"{outcome_words} than {ref_cat}{held}{shares}; odds ratio "
                        f"{ratio(r.odds_ratio)}, 95% interval {ratio(r.ci_low)} to "
                        f"{ratio(r.ci_high)}.")
            out.append(text)
    return out


def _lower_first(text: str) -> str:
    """'Via a forum' -> 'via a forum'; keeps acronyms and proper names ('CSC', 'Police')."""
    if not text or text[:2].isupper() or text.split(" ")[0] in {"Police", "Housing"}:
        return text
    return text[0].lower() + text[1:]


def _and_join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or_head(variable: str, category: str) -> str:
    return f"{variable}, {_lower_first(str(category))}"


def odds_ratio_plot(res: LogisticResult, title: str):
    """Forest plot of odds ratios (log scale) with 95% intervals; reference categories are
    marked at 1 with an open marker."""
    import matplotlib.pyplot as plt

    from .figures import PALETTE

    t = res.table.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.32 * len(t)))
    ypos = np.arange(len(t))
    for i, r in t.iterrows():
        if r["reference"]:
            ax.plot(1, i, marker="o", mfc="white", mec=PALETTE["black"], ms=6)
        else:
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=PALETTE["blue"], lw=2)
            ax.plot(r["odds_ratio"], i, marker="s", color=PALETTE["blue"], ms=6)
    ax.axvline(1, color=PALETTE["grey"], ls="--", lw=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(ypos, [f"{r.variable}: {r.category}" + (" (comparison)" if r.reference else "")
                         for r in t.itertuples()], fontsize=8)
    ax.set_xlabel("Odds ratio (log scale; 1 = no difference from the comparison group)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ======================================================================================
# 3. Domestic-abuse triage grading
# ======================================================================================


def triage_frame(cases: pd.DataFrame, judged: pd.DataFrame,
                 weights: pd.DataFrame | pd.Series | None = None) -> pd.DataFrame:
    """Audited domestic-abuse incidents with the triage grade and the auditor's grade.

    ``judged`` is ``case_judgements`` output (or any frame with case_id and
    triage_grade_judged).  Keeps cases with both grades.
    """
    keep = [c for c in ("case_id", "triage_grade", "referral_source", "route", "team",
                        "domestic_abuse") if c in cases.columns]
    df = judged[["case_id", "triage_grade_judged"]].merge(cases[keep], on="case_id", how="left")
    df = df.dropna(subset=["triage_grade", "triage_grade_judged"])
    df["design_weight"] = 1.0
    if weights is not None:
        w = (weights.set_index("case_id")["design_weight"] if isinstance(weights, pd.DataFrame)
             else weights)
        df["design_weight"] = df["case_id"].map(w).astype(float)
    return df.reset_index(drop=True)


def triage_table(df: pd.DataFrame, given: str = "triage_grade",
                 judged: str = "triage_grade_judged") -> pd.DataFrame:
    """Counts: rows = auditor's grade, columns = triage grade (standard, medium, high)."""
    return confusion_matrix(df, TRIAGE_GRADES, reference=judged, given=given)


def triage_agreement(df: pd.DataFrame, given: str = "triage_grade",
                     judged: str = "triage_grade_judged",
                     weights: Literal["linear", "quadratic"] | None = "linear",
                     weight_col: str | None = "design_weight", seed: int = 0,
                     n_boot: int = 2000) -> dict[str, Any]:
    """Weighted kappa between the triage grade and the auditor's grade (see ``paired_kappa``)."""
    w = df[weight_col] if weight_col and weight_col in df.columns else None
    return paired_kappa(df[given], df[judged], TRIAGE_GRADES, weights=weights, case_weights=w,
                        seed=seed, n_boot=n_boot)


def undergrading(df: pd.DataFrame, by: str | None = None, given: str = "triage_grade",
                 judged: str = "triage_grade_judged", weight_col: str | None = "design_weight",
                 labels: dict[str, str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Under-grading: of the incidents the auditor judged medium or high risk, the share that
    triage graded standard (recorded for information only, so not discussed at the daily
    multi-agency triage meeting: shared/domain/seeds/000).

    Wilson score interval (design-weighted where weights vary); overall (``by=None``) or per
    group.  Also reports over-grading (auditor standard, triage medium/high) for balance.
    """
    d = df.dropna(subset=[given, judged])
    risky = d[d[judged].isin(["medium", "high"])]
    parts = [("All incidents", risky, d)] if by is None else [
        ((labels or {}).get(k, k), g, d[d[by] == k]) for k, g in risky.groupby(by, sort=True)]
    rows = []
    for name, g, all_g in parts:
        w = g[weight_col] if weight_col and weight_col in g.columns else None
        r = weighted_share(g[given] == "standard", w, confidence)
        std = all_g[all_g[judged] == "standard"]
        over = int((std[given] != "standard").sum())
        rows.append({"group": name, "undergraded": r["successes"], "n_medium_high": r["n"],
                     "estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "n_standard": len(std), "overgraded": over, "method": r["method"]})
    return pd.DataFrame(rows)


# ======================================================================================
# 4. Trends: monthly series for the XmR charts
# ======================================================================================


def english_bank_holidays(start_year: int, end_year: int) -> np.ndarray:
    """Bank holidays in England (``holidays`` package, GB subdivision ENG), as datetime64[D]."""
    import holidays

    years = range(int(start_year), int(end_year) + 1)
    hol = holidays.country_holidays("GB", subdiv="ENG", years=list(years))
    return np.array(sorted(hol.keys()), dtype="datetime64[D]")


def working_days(start: pd.Series | Sequence[Any] | Any, end: pd.Series | Sequence[Any] | Any,
                 holidays: np.ndarray | None = None) -> np.ndarray:
    """Working days from ``start`` to ``end``: weekdays in [start, end) that are not English bank
    holidays (``numpy.busday_count``).  The day of referral is day 0, so an assessment started
    on a Monday and finished on the Tuesday took 1 working day.  NaN where either date is
    missing; negative if ``end`` precedes ``start``.  Vectorised.
    """
    s = pd.to_datetime(pd.Series(np.atleast_1d(start)))
    e = pd.to_datetime(pd.Series(np.atleast_1d(end)))
    ok = (s.notna() & e.notna()).to_numpy()
    out = np.full(len(s), np.nan)
    if not ok.any():
        return out
    sd = s[ok].to_numpy().astype("datetime64[D]")
    ed = e[ok].to_numpy().astype("datetime64[D]")
    if holidays is None:
        lo = min(sd.min(), ed.min()).astype(object).year
        hi = max(sd.max(), ed.max()).astype(object).year
        holidays = english_bank_holidays(lo, hi)
    out[ok] = np.busday_count(sd, ed, holidays=holidays)
    return out


MEASURES = {
    "conversion": {
        "title": "Contacts that became referrals",
        "numerator": "contacts that became a referral to children's social care",
        "denominator": "contacts received", "improvement": None,
        "ylabel": "Share of the month's contacts"},
    "rereferral": {
        "title": "Re-referrals within 12 months",
        "numerator": "referrals of a child referred in the previous 12 months",
        "denominator": "referrals", "improvement": "down",
        "ylabel": "Share of the month's referrals"},
    "assessment_45": {
        "title": "Assessments completed within 45 working days",
        "numerator": "assessments completed within 45 working days",
        "denominator": "assessments completed", "improvement": "up",
        "ylabel": "Share of the month's completed assessments"},
}


def _month_start(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


def _contacts(cases: pd.DataFrame, services: Sequence[str] | None) -> pd.DataFrame:
    if services and "service" in cases.columns:
        return cases[cases["service"].isin(list(services))]
    return cases


def monthly_conversion_pandas(cases: pd.DataFrame,
                              services: Sequence[str] | None = ("front_door",)) -> pd.DataFrame:
    """Contacts per month (by contact date) and how many became referrals (referral_date set)."""
    c = _contacts(cases, services)
    c = c[c["contact_date"].notna()]
    g = c.assign(month=_month_start(c["contact_date"]),
                 _ref=c["referral_date"].notna()).groupby("month")["_ref"]
    out = pd.DataFrame({"numerator": g.sum().astype(int), "denominator": g.size()})
    return out.reset_index()


def _rereferral_flags(r: pd.DataFrame) -> pd.Series:
    """True where the child had an earlier referral (strictly earlier date) within 12 months."""
    pairs = r[["child_id", "referral_date"]].drop_duplicates().sort_values(
        ["child_id", "referral_date"])
    pairs["_prev"] = pairs.groupby("child_id")["referral_date"].shift(1)
    m = r[["child_id", "referral_date"]].merge(pairs, on=["child_id", "referral_date"],
                                               how="left")
    cutoff = m["referral_date"] - pd.DateOffset(years=1)
    flag = m["_prev"].notna() & (m["_prev"] >= cutoff)
    return pd.Series(flag.to_numpy(), index=r.index)


def monthly_rereferral_pandas(cases: pd.DataFrame, method: Literal["auto", "history", "column"]
                              = "auto", includes_current: bool = False) -> pd.DataFrame:
    """Referrals per month (by referral date) and how many were re-referrals within 12 months of
    a previous referral (the DfE children-in-need measure).

    ``history``: from the referrals in the table (same pseudonymised child, an earlier referral
    in the 12 months before); months within 12 months of the first referral in the table have an
    incomplete look-back and are flagged in ``lookback_complete``.  ``column``: from the case
    system's count (Annex A list 3 "Number of Referrals in Last 12 Months"), a re-referral when
    the count is at least 1 (at least 2 when ``includes_current``).  ``auto``: the column when
    every referral has it, else the history.
    """
    r = cases[cases["referral_date"].notna()]
    use_col = method == "column" or (
        method == "auto" and "referrals_last_12m" in r.columns and len(r)
        and r["referrals_last_12m"].notna().all())
    if use_col:
        flag = r["referrals_last_12m"].astype(float) >= (2 if includes_current else 1)
        source = "column"
    else:
        flag = _rereferral_flags(r)
        source = "history"
    g = r.assign(month=_month_start(r["referral_date"]), _f=flag.to_numpy()).groupby("month")["_f"]
    out = pd.DataFrame({"numerator": g.sum().astype(int), "denominator": g.size()}).reset_index()
    first = r["referral_date"].min()
    out["lookback_complete"] = True if use_col else (
        out["month"] >= (first + pd.DateOffset(years=1)) if len(r) else True)
    out.attrs["source"] = source
    return out


ASSESSMENT_LOOKBACK_DAYS = 91


def monthly_assessments_pandas(cases: pd.DataFrame, limit: int = 45,
                               holidays: np.ndarray | None = None) -> pd.DataFrame:
    """Assessments completed per month (by completion date) and how many within ``limit``
    working days of their start (English bank holidays excluded).

    An extract that starts on a date holds no assessment started before it, so in its first
    months only the quick assessments can have been completed: months starting less than
    ``ASSESSMENT_LOOKBACK_DAYS`` (about three months, well beyond 45 working days) after the
    first assessment start are flagged ``lookback_complete = False`` and left off the charts.
    """
    a = cases[cases["assessment_end_date"].notna() & cases["assessment_start_date"].notna()]
    wd = working_days(a["assessment_start_date"], a["assessment_end_date"], holidays)
    g = a.assign(month=_month_start(a["assessment_end_date"]), _ok=wd <= limit
                 ).groupby("month")["_ok"]
    out = pd.DataFrame({"numerator": g.sum().astype(int), "denominator": g.size()}).reset_index()
    first = a["assessment_start_date"].min()
    out["lookback_complete"] = (out["month"] >= first + pd.Timedelta(days=ASSESSMENT_LOOKBACK_DAYS)
                                if len(a) else True)
    return out


def monthly_series(cases: pd.DataFrame | str | Path, engine: Literal["pandas", "duckdb"] = "pandas",
                   services: Sequence[str] | None = ("front_door",),
                   rereferral_method: Literal["auto", "history", "column"] = "auto",
                   limit: int = 45) -> pd.DataFrame:
    """The three monthly measures in one long frame: measure, month, numerator, denominator,
    rate, lookback_complete.

    ``cases`` is the canonical cases table or (DuckDB engine) the path of its Parquet file, which
    DuckDB scans without loading it into pandas.  Both engines give identical numbers.
    """
    if engine == "duckdb":
        parts = _monthly_duckdb(cases, services, rereferral_method, limit)
    elif engine == "pandas":
        if not isinstance(cases, pd.DataFrame):
            cases = pd.read_parquet(cases)
        parts = {"conversion": monthly_conversion_pandas(cases, services),
                 "rereferral": monthly_rereferral_pandas(cases, rereferral_method),
                 "assessment_45": monthly_assessments_pandas(cases, limit)}
    else:
        raise ValueError("engine must be 'pandas' or 'duckdb'")
    return combine_monthly(parts)


def combine_monthly(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One tidy frame of monthly series (measure, month, numerator, denominator, rate,
    lookback_complete) from one frame per measure, in measure and month order."""
    frames = []
    for name, f in parts.items():
        f = f.copy()
        if "lookback_complete" not in f.columns:
            f["lookback_complete"] = True
        f.insert(0, "measure", name)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["month"] = pd.to_datetime(out["month"]).astype("datetime64[ns]")
    out["numerator"] = out["numerator"].astype(int)
    out["denominator"] = out["denominator"].astype(int)
    out["rate"] = out["numerator"] / out["denominator"]
    out["lookback_complete"] = out["lookback_complete"].astype(bool)
    return out.sort_values(["measure", "month"]).reset_index(drop=True)[
        ["measure", "month", "numerator", "denominator", "rate", "lookback_complete"]]


def _monthly_duckdb(cases: pd.DataFrame | str | Path, services: Sequence[str] | None,
                    rereferral_method: str, limit: int) -> dict[str, pd.DataFrame]:
    """DuckDB SQL for the monthly series (window function for re-referrals, a working-day
    calendar table joined twice for the 45-day measure)."""
    import duckdb

    con = duckdb.connect()
    try:
        if isinstance(cases, pd.DataFrame):
            con.register("cases_src", cases)
            src = "cases_src"
        else:
            src = f"read_parquet('{str(cases).replace(chr(39), chr(39) * 2)}')"
        con.execute(f"CREATE TEMP VIEW cases AS SELECT * FROM {src}")
        cols = {r[0] for r in con.execute("DESCRIBE cases").fetchall()}
        where = ""
        if services and "service" in cols:
            svc = ", ".join("'" + s.replace("'", "''") + "'" for s in services)
            where = f"AND service IN ({svc})"
        conv = con.execute(f"""
            SELECT date_trunc('month', contact_date)::DATE AS month,
                   count(referral_date) AS numerator, count(*) AS denominator
            FROM cases WHERE contact_date IS NOT NULL {where}
            GROUP BY 1 ORDER BY 1""").df()

        has_col = "referrals_last_12m" in cols
        n_ref, n_col = con.execute(
            "SELECT count(*), " + ("count(referrals_last_12m)" if has_col else "0")
            + " FROM cases WHERE referral_date IS NOT NULL").fetchall()[0]
        use_col = rereferral_method == "column" or (
            rereferral_method == "auto" and has_col and n_ref > 0 and n_col == n_ref)
        if use_col:
            rer = con.execute("""
                SELECT date_trunc('month', referral_date)::DATE AS month,
                       sum(CASE WHEN referrals_last_12m >= 1 THEN 1 ELSE 0 END) AS numerator,
                       count(*) AS denominator, TRUE AS lookback_complete
                FROM cases WHERE referral_date IS NOT NULL GROUP BY 1 ORDER BY 1""").df()
        else:
            rer = con.execute("""
                WITH d AS (SELECT DISTINCT child_id, referral_date FROM cases
                           WHERE referral_date IS NOT NULL),
                p AS (SELECT child_id, referral_date,
                             lag(referral_date) OVER (PARTITION BY child_id
                                                      ORDER BY referral_date) AS prev
                      FROM d),
                r AS (SELECT c.referral_date,
                             (p.prev IS NOT NULL AND p.prev >= c.referral_date - INTERVAL 1 YEAR)
                                 AS flag
                      FROM cases c JOIN p USING (child_id, referral_date)),
                f AS (SELECT min(referral_date) AS first FROM cases)
                SELECT date_trunc('month', referral_date)::DATE AS month,
                       sum(CASE WHEN flag THEN 1 ELSE 0 END) AS numerator, count(*) AS denominator,
                       date_trunc('month', referral_date) >= (SELECT first FROM f) + INTERVAL 1 YEAR
                           AS lookback_complete
                FROM r GROUP BY 1, 4 ORDER BY 1""").df()

        lo_hi = con.execute("""SELECT min(assessment_start_date), max(assessment_end_date)
                               FROM cases WHERE assessment_start_date IS NOT NULL
                               AND assessment_end_date IS NOT NULL""").fetchall()[0]
        if lo_hi[0] is None:
            ass = pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"),
                                "numerator": pd.Series(dtype=int),
                                "denominator": pd.Series(dtype=int)})
        else:
            lo = pd.Timestamp(min(lo_hi[0], lo_hi[1])).normalize()
            hi = pd.Timestamp(max(lo_hi[0], lo_hi[1])).normalize()
            days = np.arange(np.datetime64(lo.date(), "D"), np.datetime64(hi.date(), "D") + 2)
            hol = english_bank_holidays(lo.year, hi.year + 1)
            is_wd = np.is_busday(days, holidays=hol)
            before = np.concatenate([[0], np.cumsum(is_wd)[:-1]])  # working days before d
            cal = pd.DataFrame({"d": days.astype("datetime64[ns]"), "wd_before": before})
            con.register("calendar", cal)
            ass = con.execute(f"""
                SELECT date_trunc('month', c.assessment_end_date)::DATE AS month,
                       sum(CASE WHEN e.wd_before - s.wd_before <= {int(limit)} THEN 1 ELSE 0 END)
                           AS numerator,
                       count(*) AS denominator,
                       date_trunc('month', c.assessment_end_date)::DATE
                           >= (SELECT min(assessment_start_date) FROM cases
                               WHERE assessment_end_date IS NOT NULL)
                              + INTERVAL {ASSESSMENT_LOOKBACK_DAYS} DAY AS lookback_complete
                FROM cases c
                JOIN calendar s ON s.d = c.assessment_start_date::DATE
                JOIN calendar e ON e.d = c.assessment_end_date::DATE
                GROUP BY 1, 4 ORDER BY 1""").df()
    finally:
        con.close()
    for f in (conv, rer, ass):
        f["month"] = pd.to_datetime(f["month"])
    rer.attrs["source"] = "column" if use_col else "history"
    return {"conversion": conv, "rereferral": rer, "assessment_45": ass}


def load_benchmarks(path: str | Path) -> pd.DataFrame:
    """Published benchmarks (``data/published/*.csv``) as a frame (columns as published)."""
    return pd.read_csv(path)


def find_benchmark(benchmarks: pd.DataFrame, *keywords: str) -> dict[str, Any] | None:
    """The first benchmark row whose text mentions every keyword (case-insensitive), as a dict
    with ``value`` as a proportion (a value above 1 is read as a percentage)."""
    if benchmarks is None or benchmarks.empty:
        return None
    text = benchmarks.astype(str).agg(" ".join, axis=1).str.lower()
    mask = pd.Series(True, index=benchmarks.index)
    for k in keywords:
        mask &= text.str.contains(k.lower(), regex=False)
    if not mask.any():
        return None
    row = benchmarks[mask].iloc[0].to_dict()
    val_col = next((c for c in ("value", "percent", "percentage", "rate", "estimate")
                    if c in row), None)
    if val_col is None:
        return None
    v = float(row[val_col])
    row["value"] = v / 100 if v > 1 else v
    return row


def chart_months(series: pd.DataFrame, measure: str, edge_share: float = 0.5) -> pd.DataFrame:
    """The months of one measure that go on its chart: complete look-back only, and a first or
    last month dropped when its denominator is under ``edge_share`` of the median (a month the
    extract only partly covers would look like a special cause)."""
    s = series[(series["measure"] == measure) & series["lookback_complete"]].sort_values("month")
    if len(s) >= 3:
        med = float(s["denominator"].median())
        while len(s) >= 3 and s["denominator"].iloc[0] < edge_share * med:
            s = s.iloc[1:]
        while len(s) >= 3 and s["denominator"].iloc[-1] < edge_share * med:
            s = s.iloc[:-1]
    return s


def trend_chart(series: pd.DataFrame, measure: str, benchmark: float | None = None,
                benchmark_label: str | None = None, complete_only: bool = True):
    """XmR (individuals) chart of one monthly measure: ``analysis.spc.xmr`` with the measure's
    improvement direction (NHS England "Making Data Count"), then ``spc.xmr_plot`` with an
    optional benchmark line.  Returns (xmr result frame, figure)."""
    from . import spc

    info = MEASURES[measure]
    s = chart_months(series, measure) if complete_only else series[series["measure"] == measure]
    values = pd.Series(s["rate"].to_numpy(), index=pd.DatetimeIndex(s["month"]))
    res = spc.xmr(values, screen_outliers=False, improvement=info["improvement"])
    fig = spc.xmr_plot(res, title=info["title"], ylabel=info["ylabel"], benchmark=benchmark,
                       benchmark_label=benchmark_label)
    return res, fig


# ======================================================================================
# Presentation: aggregate display tables, sentences and findings for the notebook
# ======================================================================================

STAT_NAMES = {
    "percent_agreement": "Exact agreement (pairs choosing the same level)",
    "fleiss_kappa": "Fleiss' kappa", "krippendorff_alpha": "Krippendorff's alpha (ordinal)",
    "gwet_ac1": "Gwet's AC1", "gwet_ac2": "Gwet's AC2 (ordinal weights)",
}


def _stat_key(row: pd.Series) -> str:
    """The statistic's key from an agreement_summary row (whatever that module calls it)."""
    for c in ("key", "method", "statistic", "measure", "name"):
        if c in row.index and isinstance(row[c], str):
            v = row[c].lower().replace("'", "").replace(" ", "_").replace("-", "_")
            for k in STAT_NAMES:
                if k in v:
                    return k
            if "percent" in v or "observed" in v or "raw" in v:
                return "percent_agreement"
            if "krippendorff" in v or "alpha" in v:
                return "krippendorff_alpha"
            if "fleiss" in v:
                return "fleiss_kappa"
            if "ac2" in v:
                return "gwet_ac2"
            if "ac1" in v:
                return "gwet_ac1"
    return ""


def _stat_row(summary: pd.DataFrame, key: str) -> pd.Series | None:
    if summary is None or summary.empty:
        return None
    keys = summary.apply(_stat_key, axis=1)
    sel = summary[keys == key]
    return None if sel.empty else sel.iloc[0]


def vignette_agreement_table(summary: pd.DataFrame, by_agency: bool = False
                             ) -> pd.DataFrame:
    """Readable agreement table: statistic, estimate, 95% interval and the plain reading."""
    if summary is None or summary.empty:
        return pd.DataFrame({"Note": ["Not enough raters to measure agreement."]})
    rows = []
    for _, r in summary.iterrows():
        key = _stat_key(r)
        is_pct = key == "percent_agreement"
        est = pct(r["estimate"]) if is_pct else number(r["estimate"])
        ci = (f"{pct(r['ci_low'])} to {pct(r['ci_high'])}" if is_pct else
              f"{number(r['ci_low'])} to {number(r['ci_high'])}")
        row = {"Statistic": STAT_NAMES.get(key, str(key)), "Estimate": est,
               "95% interval": ci}
        if by_agency:
            row = {"Agency": agency_label(r["agency"]), **row}
        if "reading" in r.index and not by_agency:
            row["What it means"] = str(r["reading"])
        rows.append(row)
    return pd.DataFrame(rows)


def vignette_agreement_finding(summary: pd.DataFrame, ratings: pd.DataFrame) -> dict[str, Any]:
    """The headline vignette finding: exact agreement, Fleiss' kappa and AC1 in one sentence."""
    pa, fk, ac1 = (_stat_row(summary, k) for k in ("percent_agreement", "fleiss_kappa",
                                                   "gwet_ac1"))
    n_sub = int(ratings["subject_id"].nunique())
    n_rat = int(ratings["rater_id"].nunique())
    n_ag = int(ratings["rater_agency"].nunique())
    parts = [f"{n_rat} practitioners from {n_ag} agencies graded the same {n_sub} vignettes."]
    if pa is not None:
        parts.append(f"Two practitioners chose the same level {pct(pa['estimate'])} of the "
                     f"time (95% interval {pct(pa['ci_low'])} to {pct(pa['ci_high'])}).")
    if fk is not None:
        parts.append("Allowing for agreement by chance, agreement was "
                     f"{kappa_words(fk['estimate'], fk['ci_low'], fk['ci_high'])} "
                     f"(Fleiss' kappa {number(fk['estimate'])}, "
                     f"95% interval {number(fk['ci_low'])} to {number(fk['ci_high'])}")
        if ac1 is not None:
            parts[-1] += (f"; Gwet's AC1 {number(ac1['estimate'])}, {number(ac1['ci_low'])} to "
                          f"{number(ac1['ci_high'])}")
        parts[-1] += ")."
        if ac1 is not None and ac1["estimate"] - fk["estimate"] > 0.1:
            parts.append("AC1 is clearly higher than kappa: some levels were used much more "
                         "than others, which pulls kappa down (the prevalence paradox).")
    head = fk if fk is not None else pa
    return {"measure": "Fleiss' kappa" if fk is not None else "exact agreement",
            "n": n_sub, "estimate": None if head is None else float(head["estimate"]),
            "ci_low": None if head is None else float(head["ci_low"]),
            "ci_high": None if head is None else float(head["ci_high"]),
            "method": "Fleiss (1971) kappa and Gwet (2008) AC1, bootstrap intervals over "
                      "vignettes", "text": " ".join(parts)}


def accuracy_display(acc: pd.DataFrame) -> pd.DataFrame:
    """Readable accuracy table (no rater ids: agencies only)."""
    return pd.DataFrame({
        "Agency": [agency_label(a) if a != "All agencies" else a for a in acc["agency"]],
        "Practitioners": acc["raters"].astype(int), "Gradings": acc["ratings"].astype(int),
        "Matched the reference": [f"{c} ({pct(p)})" for c, p in
                                  zip(acc["correct"], acc["accuracy"], strict=True)],
        "95% interval": [f"{pct(lo)} to {pct(hi)}" for lo, hi in
                         zip(acc["ci_low"], acc["ci_high"], strict=True)],
        "Graded higher": [pct(x) for x in acc["above_reference"]],
        "Graded lower": [pct(x) for x in acc["below_reference"]],
    })


def accuracy_plot(acc: pd.DataFrame, title: str = "Gradings matching the reference level"):
    """Dot-and-interval chart of accuracy by agency, with the all-agency figure as a line."""
    import matplotlib.pyplot as plt

    from .figures import PALETTE

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


def accuracy_alt_text(acc: pd.DataFrame) -> str:
    by = acc[acc["agency"] != "All agencies"].sort_values("accuracy", ascending=False)
    items = "; ".join(f"{agency_label(r.agency)} {pct(r.accuracy)} ({pct(r.ci_low)} to "
                      f"{pct(r.ci_high)})" for r in by.itertuples())
    allrow = acc[acc["agency"] == "All agencies"]
    tail = (f" All agencies together: {pct(float(allrow['accuracy'].iloc[0]))}."
            if len(allrow) else "")
    return (f"Dot chart of the share of gradings that matched the reference level, by agency, "
            f"with 95% intervals, highest first: {items}.{tail}")


def accuracy_findings(acc: pd.DataFrame) -> list[dict[str, Any]]:
    """One finding per agency: accuracy with interval, and its lean (higher or lower)."""
    out = []
    for r in acc[acc["agency"] != "All agencies"].itertuples():
        lean = ""
        if r.above_reference > r.below_reference + 0.05:
            lean = (f" When they differed from the panel they more often graded higher "
                    f"({pct(r.above_reference)} of gradings) than lower "
                    f"({pct(r.below_reference)}).")
        elif r.below_reference > r.above_reference + 0.05:
            lean = (f" When they differed from the panel they more often graded lower "
                    f"({pct(r.below_reference)} of gradings) than higher "
                    f"({pct(r.above_reference)}).")
        text = (f"{agency_label(r.agency)} practitioners ({r.raters}) put {pct(r.accuracy)} "
                f"of their {r.ratings} vignette gradings at the panel's reference level (95% "
                f"interval {pct(r.ci_low)} to {pct(r.ci_high)}).{lean}")
        out.append({"agency_code": str(r.agency), "group": agency_label(r.agency),
                    "measure": "share of gradings at the reference level",
                    "successes": int(r.correct), "n": int(r.ratings),
                    "estimate": float(r.accuracy), "ci_low": float(r.ci_low),
                    "ci_high": float(r.ci_high), "method": str(r.method), "text": text})
    return out


def confusion_finding(cm: pd.DataFrame, labels: dict[str, str] | None = None
                      ) -> dict[str, Any]:
    """Finding: overall share at the reference level and the most frequent confusion."""
    total = int(cm.to_numpy().sum())
    diag = int(np.trace(cm.to_numpy()))
    top = most_confused(cm, top=1, labels=labels)
    share = diag / total if total else math.nan
    text = f"{pct(share)} of {total} gradings matched the reference level."
    if len(top):
        t = top.iloc[0]
        text += (f" The commonest confusion: {pct(t['share_of_reference'])} of gradings of "
                 f"{t['reference']} vignettes were given {t['given']}.")
    return {"measure": "share of gradings at the reference level", "successes": diag,
            "n": total, "estimate": diag / total if total else None,
            "method": "confusion matrix of reference level against level given", "text": text}


def kappa_method(r: Any) -> str:
    """Method note for a paired-kappa result (row or dict)."""
    get = r.get if isinstance(r, dict) else lambda k, d=None: getattr(r, k, d)
    w = get("weights", "linear")
    dw = get("design_weighted", False)
    return (f"Cohen's weighted kappa ({w} weights){', design-weighted' if dw else ''}; "
            "percentile bootstrap interval over cases")


def level_agreement_display(agree: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Comparison": agree["comparison"], "Cases": agree["n"].astype(int),
        "Same level": [pct(x) for x in agree["exact_agreement"]],
        "Within one level": [pct(x) for x in agree["within_one"]],
        "Weighted kappa": [number(x) for x in agree["kappa"]],
        "95% interval": [f"{number(lo)} to {number(hi)}" for lo, hi in
                         zip(agree["ci_low"], agree["ci_high"], strict=True)],
        "Agreement beyond chance": [kappa_words(k, lo, hi) for k, lo, hi in zip(
            agree["kappa"], agree["ci_low"], agree["ci_high"], strict=True)],
    })


def _audited_cells(x: float, n: float, est: float, lo: float, hi: float,
                   min_n: int | None = None) -> tuple[str, str, str]:
    """(count, estimate, interval) cells of an audited share; below the minimum the count
    cell says "n cases audited: too few to report" and the others are blank."""
    if not reportable(n, min_n):
        return too_few(n, min_n=min_n), "", ""
    return (f"{int(x)} of {int(n)}", pct(est),
            "" if _isna(lo) else interval(lo, hi))


def share_display(df: pd.DataFrame, what: str = "Judged appropriate",
                  min_n: int | None = None) -> pd.DataFrame:
    """Readable table of shares from ``appropriateness_by`` ("x of n", %, interval); groups
    under ``min_n`` audited cases are "too few to report" (``analysis.reporting.rules``)."""
    cells = [_audited_cells(*r, min_n=min_n) for r in zip(
        df["successes"], df["n"], df["estimate"], df["ci_low"], df["ci_high"], strict=True)]
    return pd.DataFrame({
        "Group": df["group"],
        what: [c[0] for c in cells], "Estimate": [c[1] for c in cells],
        "95% interval": [c[2] for c in cells], "Method": df["method"],
    })


ROUTE_WORDS = {"multi_agency_forum": "via a multi-agency forum",
               "single_agency": "from a single agency"}


def route_difference_finding(fd: pd.DataFrame, weight_col: str = "design_weight",
                             first: str = "multi_agency_forum", second: str = "single_agency",
                             min_n: int | None = None) -> dict[str, Any] | None:
    """Forum minus single-agency share judged appropriate, with Newcombe's interval on
    effective sample sizes (Kish) when weights vary within a route; the words follow the
    interval ("the data cannot tell" when it includes zero)."""
    parts = {}
    for route in (first, second):
        g = fd[(fd["route"] == route) & ~fd["appropriate"].map(_isna)]
        if g.empty:
            return None
        v = g["appropriate"].astype(bool).to_numpy()
        w = g[weight_col].astype(float).to_numpy() if weight_col in g.columns else np.ones(len(g))
        parts[route] = (float(np.sum(w * v) / np.sum(w)), float(np.sum(w) ** 2 / np.sum(w * w)),
                        len(g))
    (p1, n1, c1), (p2, n2, c2) = parts[first], parts[second]
    small = [(ROUTE_WORDS.get(r, r), c) for r, c in ((first, c1), (second, c2))
             if not reportable(c, min_n)]
    if small:
        return {"measure": "difference in share judged appropriate (forum minus single agency)",
                "n": c1 + c2, "estimate": None, "ci_low": None, "ci_high": None,
                "method": "Newcombe (1998) hybrid score interval, design-weighted shares",
                "reason": too_few_reason(min_n),
                "text": "The two routes cannot be compared: " + "; ".join(
                    f"{w}, {too_few(c, 'contacts', min_n)}" for w, c in small) + "."}
    d, lo, hi = newcombe_interval(p1, n1, p2, n2)
    way = direction(lo, hi)  # the interval alone is stated: no test beside it
    if way == "up":
        words = (f"Contacts made via a multi-agency forum were more often judged appropriate "
                 f"than single-agency contacts ({pct(p1)} against {pct(p2)}): a "
                 f"difference of {points(d, unit=False)} percentage points, 95% interval "
                 f"{points(lo, unit=False)} to {points(hi)}, as Hackney found in 2011.")
    elif way == "down":
        words = (f"Single-agency contacts were more often judged appropriate than contacts via a "
                 f"multi-agency forum ({pct(p2)} against {pct(p1)}): a difference of "
                 f"{points(-d, unit=False)} percentage points, 95% interval "
                 f"{points(-hi, unit=False)} to {points(-lo)}.")
    else:
        what = ("contacts via a multi-agency forum and single-agency contacts differ in how "
                "often they are judged appropriate")
        words = (f"{cannot_tell(what)[0].upper()}{cannot_tell(what)[1:]} "
                 f"({pct(p1)} appropriate of {c1} audited via a forum, {pct(p2)} of {c2} "
                 f"single-agency): the 95% interval of the difference, "
                 f"{points(lo, signed=True, unit=False)} to {points(hi, signed=True)}, "
                 "includes no difference.")
    return {"measure": "difference in share judged appropriate (forum minus single agency)",
            "n": c1 + c2, "estimate": d, "ci_low": lo, "ci_high": hi,
            "method": "Newcombe (1998) hybrid score interval, design-weighted shares",
            "text": words}


def front_door_contacts(cases: pd.DataFrame, services: Sequence[str] = ("front_door",)
                        ) -> pd.DataFrame:
    """Front-door contacts with ``became_referral`` (the contact became a referral to CSC):
    the front door's own judgement of every contact, for the population funnel plot."""
    c = _contacts(cases, services)
    return c.assign(became_referral=c["referral_date"].notna())


def odds_ratio_display(res: LogisticResult) -> pd.DataFrame:
    t = res.table
    return pd.DataFrame({
        "Factor": t["variable"],
        "Group": [f"{c} (comparison)" if ref else str(c) for c, ref in
                  zip(t["category"], t["reference"], strict=True)],
        "Contacts": t["n"].astype(int),
        "Observed share appropriate": [pct(x) for x in t["observed_share"]],
        "Adjusted share": [pct(x) for x in t["adjusted_share"]],
        "Odds ratio": ["1 (comparison)" if ref else number(o) for o, ref in
                       zip(t["odds_ratio"], t["reference"], strict=True)],
        "95% interval": ["" if ref else f"{number(lo)} to {number(hi)}" for lo, hi, ref in
                         zip(t["ci_low"], t["ci_high"], t["reference"], strict=True)],
    })


def odds_ratio_alt_text(res: LogisticResult) -> str:
    t = res.table[~res.table["reference"]]
    clear = t[(t["ci_low"] > 1) | (t["ci_high"] < 1)]
    items = "; ".join(f"{r.variable} {r.category}: {number(r.odds_ratio)} ({number(r.ci_low)} to "
                      f"{number(r.ci_high)})" for r in t.itertuples())
    head = (f"{len(clear)} of {len(t)} odds ratios have intervals that exclude 1."
            if len(t) else "No odds ratios could be estimated.")
    return f"Forest plot of odds ratios on a log scale with 95% intervals. {head} {items}."


def model_route_finding(res: LogisticResult) -> dict[str, Any] | None:
    t = res.table[(res.table["predictor"] == "route") & ~res.table["reference"]]
    if t.empty or _isna(t["ci_low"].iloc[0]):
        return None
    r = t.iloc[0]
    head = _or_head(r["variable"], r["category"])
    text = next((s for s in res.readings if s.startswith(head)), "")
    return {"measure": "odds ratio", "n": res.n, "estimate": float(r["odds_ratio"]),
            "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]), "method": res.method,
            "text": text}


def triage_display(tab: Any) -> pd.DataFrame:
    """The grading table for the page: counts (a Total row and column added), or a
    disclosure-controlled ``SuppressedTable`` from ``analysis.reporting.Ledger.table``."""
    if hasattr(tab, "mask"):
        out = tab.table.rename(index=TRIAGE_LABELS, columns=TRIAGE_LABELS).copy()
        out.columns = [c if str(c).lower() == "total" else f"Triage: {c}" for c in out.columns]
    else:
        out = tab.rename(index=TRIAGE_LABELS, columns=TRIAGE_LABELS).copy()
        out.columns = [f"Triage: {c}" for c in out.columns]
        out["Total"] = out.sum(axis=1)
    out.index.name = "Auditor's grade"
    out.columns.name = None
    return out


RISKY = ("medium", "high")


def undergraded_cells(table: str = "da_grading") -> list[tuple[str, str, str]]:
    """The cells of the grading table (auditor's grade, triage grade) that are under-graded
    incidents: judged medium or high, graded standard (for ``Ledger.count``)."""
    return [(table, g, "standard") for g in RISKY]


def undergrading_counts(df: pd.DataFrame, by: str, given: str = "triage_grade",
                        judged: str = "triage_grade_judged",
                        labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Counts of the incidents judged medium or high risk, by ``by`` (rows): graded standard
    by triage (under-graded) or not; unweighted, for the disclosure ledger."""
    d = df.dropna(subset=[given, judged])
    risky = d[d[judged].isin(RISKY)]
    out = pd.DataFrame({
        "graded standard": risky.groupby(by, sort=True)[given].apply(
            lambda s: int((s == "standard").sum())),
        "graded medium or high": risky.groupby(by, sort=True)[given].apply(
            lambda s: int((s != "standard").sum()))}).fillna(0).astype(int)
    out.index = [(labels or {}).get(k, k) for k in out.index]
    return out


def triage_agreement_sentence(ta: dict[str, Any]) -> str:
    share = pct(ta["exact_agreement"])
    if ta.get("design_weighted"):
        share = f"an estimated {share} (weighted for how the sample was drawn)"
    return (f"Triage and the auditors gave the same grade to {share} of the "
            f"{ta['n']} audited domestic-abuse incidents; beyond chance the agreement is "
            f"{kappa_words(ta['kappa'], ta['ci_low'], ta['ci_high'])} "
            f"(weighted kappa {number(ta['kappa'])}, 95% interval "
            f"{number(ta['ci_low'])} to {number(ta['ci_high'])}).")


def undergrading_sentence(u: Any, min_n: int | None = None, shown: int | str | None = None,
                          n_shown: int | str | None = None) -> str:
    """The under-grading finding. ``shown`` is the count as the disclosure ledger allows it
    (``Ledger.count``): ``"c"`` when it is 1 to 5 or would give away a suppressed cell, and
    then no count, share or interval is stated (any of them would give the count back)."""
    if not u.n_medium_high:
        return "No audited incident was judged medium or high risk by the auditors."
    if not reportable(u.n_medium_high, min_n):
        return ("Audited incidents the auditors judged medium or high risk: "
                f"{too_few(u.n_medium_high, 'incidents', min_n)}.")
    if n_shown == "c":
        return ("The number of audited incidents the auditors judged medium or high risk, and "
                "how many of them triage had graded standard, are not published: they would "
                "give away counts from 1 to 5 shown as c in the table above, so that no child "
                "can be identified.")
    if shown == "c":
        return (f"Of {u.n_medium_high} audited incidents the auditors judged medium or high "
                "risk, the number triage had graded standard is shown as c: a count from 1 to "
                "5, not published (nor its share) so that no child can be identified. An "
                "incident graded standard is recorded for information only and is not "
                "discussed at the multi-agency triage meeting.")
    share = pct(u.estimate)
    if abs(u.estimate - u.undergraded / u.n_medium_high) > 0.005:
        share = f"an estimated {share} once weighted for how the sample was drawn"
    return (f"Of {u.n_medium_high} audited incidents the auditors judged medium or high risk, "
            f"triage had graded {u.undergraded} as standard ({share}; 95% interval "
            f"{pct(u.ci_low)} to {pct(u.ci_high)}). An incident graded standard is "
            f"recorded for information only and is not discussed at the multi-agency triage "
            f"meeting.")


def undergrading_finding(u: Any, shown: int | str, n_shown: int | str | None = None
                         ) -> dict[str, Any]:
    """The under-grading finding's numbers and words, with count, estimate and interval left
    out when the disclosure ledger suppressed the count (and the number judged medium or
    high too when it suppressed that)."""
    hide = shown == "c" or n_shown == "c"
    return {"successes": None if hide else u.undergraded,
            "n": None if n_shown == "c" else int(u.n_medium_high),
            "estimate": None if hide else u.estimate, "ci_low": None if hide else u.ci_low,
            "ci_high": None if hide else u.ci_high, "method": u.method,
            "reason": "count of 1 to 5 incidents, or one that would reveal one: suppressed "
                      "(DfE disclosure control)" if hide else "",
            "text": undergrading_sentence(u, shown=shown, n_shown=n_shown)}


def undergrading_display(df: pd.DataFrame, min_n: int | None = None,
                         counts: Any = None) -> pd.DataFrame:
    """Under-grading by group. ``counts``: the disclosure-controlled counts of the same
    groups (``Ledger.table`` of ``undergrading_counts``); where a group's count is ``c`` its
    share and interval are left out too."""
    cells = [list(_audited_cells(*r, min_n=min_n)) for r in zip(
        df["undergraded"], df["n_medium_high"], df["estimate"], df["ci_low"], df["ci_high"],
        strict=True)]
    if counts is not None:
        tab = counts.table
        for cell, g, n in zip(cells, df["group"], df["n_medium_high"], strict=True):
            if not reportable(n, min_n) or g not in tab.index:
                continue
            total = next((c for c in tab.columns if str(c).lower() == "total"), None)
            if total is not None and tab.loc[g, total] == "c":
                cell[:] = ["c", "", ""]
            elif tab.loc[g, "graded standard"] == "c":
                cell[:] = [f"c of {int(n)}", "", ""]
    return pd.DataFrame({
        "Source": df["group"],
        "Graded standard, auditor medium/high": [c[0] for c in cells],
        "Share under-graded": [c[1] for c in cells], "95% interval": [c[2] for c in cells],
    })


def series_display(series: pd.DataFrame) -> pd.DataFrame:
    """Wide monthly table: one row per month, 'numerator / denominator (rate)' per measure."""
    s = series.copy()
    s["cell"] = [f"{n:,} of {d:,} ({pct(r)})" + ("" if ok else " *")
                 for n, d, r, ok in zip(s["numerator"], s["denominator"], s["rate"],
                                        s["lookback_complete"], strict=True)]
    wide = s.pivot(index="month", columns="measure", values="cell").reset_index()
    wide["month"] = pd.to_datetime(wide["month"]).dt.strftime("%b %Y")
    names = {"month": "Month", **{k: v["title"] for k, v in MEASURES.items()}}
    cols = ["month", *[k for k in MEASURES if k in wide.columns]]
    return wide[cols].rename(columns=names).fillna("")


BENCHMARK_KEYWORDS = {
    "assessment_45": (("45",), ("assessment",)),
    "rereferral": (("re-referral",), ("rereferral",), ("re_referral",), ("re-referrals",)),
    "conversion": (("conversion",), ("contacts", "referral")),
}


def benchmark_for(benchmarks: pd.DataFrame | None, measure: str) -> dict[str, Any] | None:
    """The published national figure for a measure, with a label naming its source and year."""
    if benchmarks is None:
        return None
    for kw in BENCHMARK_KEYWORDS.get(measure, ()):
        row = find_benchmark(benchmarks, *kw)
        if row:
            src = next((str(row[c]) for c in ("source", "publication", "publisher")
                        if c in row and not _isna(row[c])), "")
            year = next((str(row[c]) for c in ("year", "period", "as_at") if c in row
                         and not _isna(row[c])), "")
            label = f"National {pct(row['value'], 1)}" + (f" ({year})" if year else "") + (
                f", {src}" if src else "")
            return {"value": row["value"], "label": label, "source": src, "year": year}
    return None


def _special_causes(res: pd.DataFrame) -> pd.DataFrame:
    """Rows of an xmr result flagged as special cause (any column naming variation)."""
    for c in ("variation", "special_cause", "signal"):
        if c in res.columns:
            col = res[c]
            if col.dtype == bool:
                return res[col]
            txt = col.astype(str).str.lower()
            return res[txt.str.contains("special|improv|concern") & ~txt.str.contains("common")]
    return res.iloc[0:0]


def trend_sentence(series: pd.DataFrame, res: pd.DataFrame, measure: str,
                   benchmark: dict[str, Any] | None = None) -> str:
    """Plain reading of one XmR chart: average, latest month, special causes, benchmark."""
    info = MEASURES[measure]
    s = chart_months(series, measure)
    if s.empty:
        return f"{info['title']}: no complete months to chart."
    mean = float(s["numerator"].sum() / s["denominator"].sum())
    last = s.iloc[-1]
    month = pd.Timestamp(last["month"]).strftime("%B %Y")
    text = (f"{info['title']}: {pct(mean)} over {len(s)} months "
            f"({int(s['numerator'].sum()):,} of {int(s['denominator'].sum()):,}); "
            f"{pct(last['rate'])} in {month}.")
    sc = _special_causes(res)
    if len(sc):
        imp = [c for c in ("variation", "special_cause") if c in sc.columns]
        kinds = set(sc[imp[0]].astype(str).str.lower()) if imp else set()
        if any("improv" in k for k in kinds):
            text += " The chart shows special-cause variation in the improving direction."
        elif any("concern" in k for k in kinds):
            text += " The chart shows special-cause variation that is a concern."
        else:
            text += " The chart shows special-cause variation: something has probably changed."
    else:
        text += (" Only common-cause variation: the month-to-month changes are the ordinary "
                 "ups and downs of the process.")
    if benchmark:
        rel = "above" if mean > benchmark["value"] else "below"
        text += f" That is {rel} the national figure of {pct(benchmark['value'], 1)}"
        text += f" ({benchmark['year']}, {benchmark['source']})." if benchmark.get("source") \
            else "."
    return text


def trend_alt_text(series: pd.DataFrame, res: pd.DataFrame, measure: str,
                   benchmark: dict[str, Any] | None = None) -> str:
    s = chart_months(series, measure)
    if s.empty:
        return f"XmR chart of {MEASURES[measure]['title'].lower()}: no data."
    lo, hi = s["rate"].min(), s["rate"].max()
    first = pd.Timestamp(s["month"].iloc[0]).strftime("%B %Y")
    last = pd.Timestamp(s["month"].iloc[-1]).strftime("%B %Y")
    return (f"XmR chart of {MEASURES[measure]['title'].lower()}, monthly from {first} to {last}, "
            f"ranging from {pct(lo)} to {pct(hi)}. "
            + trend_sentence(series, res, measure, benchmark))


def load_design_weights(manifest: str | Path, cases: pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """case_id and design_weight for the threshold-audit sample, via ``analysis.sampling``
    (``attach_weights``) when available, else read from the manifest directly."""
    try:
        from . import sampling
    except ImportError:
        return weights_from_manifest(manifest)
    if hasattr(sampling, "attach_weights") and cases is not None:
        try:
            w = sampling.attach_weights(cases[["case_id"]], manifest)
            w = w.dropna(subset=["design_weight"])
            return w[["case_id", "design_weight", *(["stratum"] if "stratum" in w.columns
                                                     else [])]]
        except (TypeError, KeyError, ValueError):
            pass
    return weights_from_manifest(manifest)


def data_summary(cases: pd.DataFrame, ratings: pd.DataFrame, audit: pd.DataFrame,
                 weights: pd.DataFrame | None) -> str:
    """Markdown paragraph saying what data the page rests on (aggregate counts only)."""
    fd = _contacts(cases, ("front_door",))
    first, last = fd["contact_date"].min(), fd["contact_date"].max()
    period = (f"from {first:%d %B %Y} to {last:%d %B %Y}" if pd.notna(first) else "")
    n_aud = audit["case_id"].nunique()
    w_note = ""
    if weights is not None and weights_vary(weights["design_weight"]):
        w_note = (" Some kinds of contact were deliberately over-sampled, so audited contacts "
                  "are weighted back to the make-up of all contacts.")
    return (f"**Data.** {len(fd):,} front-door contacts {period}; {n_aud} contacts audited for "
            f"the threshold audit ({audit['auditor_id'].nunique()} auditors); "
            f"{ratings['rater_id'].nunique()} practitioners from "
            f"{ratings['rater_agency'].nunique()} agencies graded "
            f"{ratings['subject_id'].nunique()} vignettes.{w_note}")
