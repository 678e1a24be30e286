"""The threshold-consistency page's words and tables: what ``analysis.thresholds`` computes,
as the page and the findings say it (aggregate tables, sentences and findings; every number
through the one formatter, every count of children through the page's disclosure ledger).

The computations, with their methods and sources, are in :mod:`analysis.thresholds`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..proportions import newcombe_interval, weights_vary
from ..thresholds.common import TRIAGE_LABELS, _isna, agency_label
from ..thresholds.front_door import kappa_words
from ..thresholds.logistic import LogisticResult, _or_head
from ..thresholds.triage import RISKY
from ..thresholds.vignettes import most_confused
from .numbers import counted, interval, number, pct, points
from .rules import reportable, too_few, too_few_reason
from .trends import (  # re-exported: the page's monthly series
    BENCHMARK_KEYWORDS,
    benchmark_for,
    chartable,
    monthly_counts,
    series_display,
    trend_alt_text,
    trend_counts,
    trend_sentence,
    trend_source_sentence,
    trend_suppressed_sentence,
)
from .words import answer_words, cannot_tell, chart_figures_where, direction

__all__ = ["BENCHMARK_KEYWORDS", "FUNNEL_POSITIONS", "RISKY", "ROUTE_WORDS", "STAT_NAMES",
           "accuracy_alt_text", "confusion_display", "funnel_alt_text", "funnel_display",
           "accuracy_display", "accuracy_findings", "appropriate_rule", "benchmark_for",
           "confusion_finding", "data_summary", "kappa_method", "level_agreement_display",
           "level_agreement_gaps",
           "levels_sentence", "model_route_finding",
           "odds_ratio_alt_text", "odds_ratio_display", "route_difference_finding", "chartable",
           "missing_input", "monthly_counts", "overdispersion_sentence",
           "series_display", "share_display", "trend_alt_text", "trend_counts",
           "trend_sentence", "trend_source_sentence", "trend_suppressed_sentence",
           "triage_agreement_sentence",
           "triage_display", "undergraded_cells", "undergrading_display", "undergrading_finding",
           "undergrading_sentence", "vignette_agreement_finding", "vignette_agreement_table"]

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
        reason = str(r.get("reason", "") or "")
        est = pct(r["estimate"]) if is_pct else number(r["estimate"])
        ci = (f"{pct(r['ci_low'])} to {pct(r['ci_high'])}" if is_pct else
              f"{number(r['ci_low'])} to {number(r['ci_high'])}")
        if reason:  # not measurable: no number, and the reason instead of an interval
            est, ci = "not measurable", reason
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
    what = "one vignette" if n_sub == 1 else f"the same {n_sub} vignettes"
    parts = [f"{counted(n_rat, 'practitioner')} from {counted(n_ag, 'agency', 'agencies')} "
             f"graded {what}."]
    if pa is not None and not str(pa.get("reason", "") or ""):
        parts.append(f"Two practitioners chose the same level {pct(pa['estimate'])} of the "
                     f"time (95% interval {pct(pa['ci_low'])} to {pct(pa['ci_high'])}).")
    reason = next((str(r["reason"]) for r in (fk, pa) if r is not None
                   and str(r.get("reason", "") or "")), "")
    if reason:  # one vignette, one level, fewer than two raters, a zero-width interval
        parts.append(reason[0].upper() + reason[1:] + ".")
        return {"measure": "Fleiss' kappa", "n": n_sub, "estimate": None, "ci_low": None,
                "ci_high": None, "method": "Fleiss (1971) kappa and Gwet (2008) AC1, bootstrap "
                "intervals over vignettes", "reason": reason, "text": " ".join(parts)}
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


def accuracy_alt_text(acc: pd.DataFrame, where: str = "in the table above") -> str:
    """Alt text of ``accuracy_plot``: what it shows, in one or two sentences (at most
    ``figures.ALT_MAX`` characters); every agency's figure is in the table ``where``."""
    by = acc[acc["agency"] != "All agencies"]
    allrow = acc[acc["agency"] == "All agencies"]
    whole = (f"; all agencies together {pct(float(allrow['accuracy'].iloc[0]))}"
             if len(allrow) else "")
    return (f"Dot chart of the share of gradings matching the reference level for "
            f"{counted(len(by), 'agency', 'agencies')}, with 95% intervals{whole}. "
            f"{chart_figures_where(where)}")


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


def level_agreement_gaps(agree: pd.DataFrame) -> str:
    """One plain line naming the level comparisons no audited contact can inform (one of the
    two levels is never recorded, as in the Ofsted Annex A lists, which hold no level of need),
    or "" when every comparison has cases. The page shows the others and goes on."""
    empty = agree.loc[agree["n"] == 0, "comparison"].tolist()
    if not empty:
        return ""
    which = "; ".join(str(c) for c in empty)
    return (f"No audited contact has both levels recorded for {which}, so "
            f"{'this comparison' if len(empty) == 1 else 'these comparisons'} cannot be made "
            "this round (the council's records, such as the Ofsted Annex A lists, may not hold "
            "the level the referrer suggested or the front door decided).")


def level_agreement_display(agree: pd.DataFrame) -> pd.DataFrame:
    """Readable table of ``level_agreement`` for the comparisons that have cases."""
    agree = agree[agree["n"] > 0]
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
                 "includes zero.")
    return {"measure": "difference in share judged appropriate (forum minus single agency)",
            "n": c1 + c2, "estimate": d, "ci_low": lo, "ci_high": hi,
            "method": "Newcombe (1998) hybrid score interval, design-weighted shares",
            "text": words}


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


def odds_ratio_alt_text(res: LogisticResult, where: str = "in the table above") -> str:
    """Alt text of ``odds_ratio_plot``: what it shows and whether any interval excludes 1
    (at most ``figures.ALT_MAX`` characters; no "k of n", which rule 1 would read as a share
    of a small group); every odds ratio is in the table ``where``."""
    t = res.table[~res.table["reference"]]
    clear = t[(t["ci_low"] > 1) | (t["ci_high"] < 1)]
    head = ("no odds ratio could be estimated" if not len(t) else
            "some intervals exclude 1" if len(clear) else "every interval includes 1")
    return (f"Forest plot of odds ratios on a log scale with 95% intervals: {head}. "
            f"{chart_figures_where(where)}")


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



def undergraded_cells(table: str = "da_grading") -> list[tuple[str, str, str]]:
    """The cells of the grading table (auditor's grade, triage grade) that are under-graded
    incidents: judged medium or high, graded standard (for ``Ledger.count``)."""
    return [(table, g, "standard") for g in RISKY]


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



def data_summary(cases: Any, ratings: pd.DataFrame | None, audit: pd.DataFrame | None,
                 weights: pd.DataFrame | None, contacts: int | str | None = None) -> str:
    """Markdown paragraph saying what data the page rests on (aggregate counts only).

    ``cases``: the cases table as a frame, a Parquet file or a pool directory, counted in
    DuckDB (``thresholds.cases_summary``), or that function's result.  ``contacts``: the
    number of front-door contacts as the disclosure ledger publishes it (``Ledger.count`` of
    ``funnel_counts``); by default counted here.  ``ratings`` or ``audit`` None: the page says
    the vignette exercise or the threshold audit is not part of this dataset (a regional
    pool holds cases tables only)."""
    from ..thresholds.front_door import cases_summary

    summary = cases if isinstance(cases, dict) else cases_summary(cases)
    first, last = summary["first"], summary["last"]
    period = (f"from {first:%d %B %Y} to {last:%d %B %Y}" if pd.notna(first) else "")
    w_note = ""
    if weights is not None and weights_vary(weights["design_weight"]):
        w_note = (" Some kinds of contact were deliberately over-sampled, so audited contacts "
                  "are weighted back to the make-up of all contacts.")
    n_fd = summary["contacts"] if contacts is None else contacts
    n_fd = n_fd if isinstance(n_fd, str) else f"{int(n_fd):,}"
    councils = summary.get("councils") or []
    where = (f" in {counted(len(councils), 'council')} ({', '.join(councils)})"
             if len(councils) > 1 else "")
    parts = [f"**Data.** {n_fd} front-door contacts{where} {period}".rstrip()]
    if audit is not None:
        parts.append(f"{audit['case_id'].nunique()} contacts audited for the threshold audit "
                     f"({counted(audit['auditor_id'].nunique(), 'auditor')})")
    if ratings is not None:
        parts.append(f"{counted(ratings['rater_id'].nunique(), 'practitioner')} from "
                     f"{counted(ratings['rater_agency'].nunique(), 'agency', 'agencies')} "
                     f"graded {counted(ratings['subject_id'].nunique(), 'vignette')}")
    text = "; ".join(parts) + "." + w_note
    absent = [what for what, t in (("no threshold audit", audit),
                                   ("no vignette exercise", ratings)) if t is None]
    if absent:
        text += (f" This dataset has {' and '.join(absent)}: the parts of the page that rest "
                 "on them say so and are left out.")
    return text


def missing_input(what: str, file: Any) -> str:
    """The sentence a page shows where a part rests on a table the dataset does not have
    (a regional pool holds only cases): what is left out and the file it would read."""
    return (f"*{what[:1].upper() + what[1:]}: not in this dataset* (no {Path(str(file)).name} "
            "beside the cases table, as for a regional pool of cases tables). This part of the "
            "page is left out.")


def overdispersion_sentence(table: pd.DataFrame, unit: str = "council",
                            units: str | None = None) -> str:
    """What the overdispersion test of a funnel table found and what its limits allow, in
    plain words (``funnel_table(..., overdispersion=...)``; Spiegelhalter 2005, "Handling
    over-dispersion of performance indicators", Qual Saf Health Care 14:347-351).  Empty
    when the table was made without an adjustment method."""
    od = table.attrs.get("overdispersion") or {}
    units = units or f"{unit}s"
    if od.get("method", "none") == "none":
        return ""
    if od.get("groups", 0) < 2 or _isna(od.get("phi")):
        return (f"Overdispersion cannot be checked with fewer than two {units} (or an "
                "overall rate of 0% or 100%): the limits are the exact binomial ones.")
    p = od["p_value"]
    p_words = "p < 0.001" if p < 0.001 else f"p = {number(p, 3)}"
    test = (f"overdispersion factor {number(od['phi'], 2)} on {od['groups']} {units}; "
            f"chi-squared test on {counted(od['df'], 'degree')} of freedom, {p_words}; z-scores "
            f"winsorised at {pct(od['winsor'])} each tail")
    if not od.get("found"):
        return (f"The {units}' rates vary no more than chance alone would give at their sizes "
                f"({test}), so the limits are the exact binomial ones (Spiegelhalter 2005).")
    if od["method"] == "additive":
        how = (f"The limits allow for that spread: each {unit} is compared with the range "
               f"expected if {units} really differ, with a spread (standard deviation) of "
               f"about {points(math.sqrt(od['tau2']), unit=False)} percentage points around "
               "the overall rate (additive random-effects limits, Spiegelhalter 2005; between-"
               f"{unit} variance tau-squared {number(od['tau2'], 5)})")
    else:
        how = (f"The limits are widened by the factor sqrt({number(od['phi'], 2)}) "
               "(multiplicative limits, Spiegelhalter 2005)")
    return (f"The {units}' rates vary more than chance alone would give ({test}): real "
            f"differences of case mix, recording or practice between {units} are expected. "
            f"{how}, so only a {unit} outside these wider limits is "
            "unusual beyond that ordinary spread; one inside them may still differ from the "
            "overall rate.")


def appropriate_rule(standards: Any, standard: str = "referral_appropriate") -> str:
    """How an audited contact counts as appropriate, in the round's template's answer words:
    the standard ``standard`` (by default "referral appropriate"; a round names another with
    the threshold notebook's ``appropriate_standard``) met by most of its auditors
    (``case_judgements``)."""
    not_counted = [a for a in standards.answers
                   if a not in standards.met and a not in standards.not_met]
    left_out = (f" ({answer_words(not_counted)})" if not_counted else "")
    return (f'A contact is counted as appropriate when the auditors judged the standard '
            f'"{standards.label(standard).lower()}" met '
            f"({answer_words(standards.met)}); {answer_words(standards.not_met)} count as not "
            f"met, and contacts where the auditors could not tell{left_out} are left out of the "
            "percentage (as in the Hackney audit). Hackney found single-agency referrals less "
            "often appropriate than those considered first in a multi-agency forum: the route "
            "comparison tests that here.")


def levels_sentence(scale: Any) -> str:
    """The round's levels of need in words, least need first (``Scale.labels``)."""
    levels = "; ".join(f"{scale.labels.get(lv, lv)} ({lv})" for lv in scale.levels)
    return (f"This round grades on the scale **{scale.label}**, from least to most need: "
            f"{levels}.")


def funnel_alt_text(table: pd.DataFrame, what: str, unit: str = "referring agency",
                    where: str = "in the table below") -> str:
    """Alt text of ``funnel_plot``: what it shows and how many groups lie outside the limits
    (at most ``figures.ALT_MAX`` characters); the reading is the page's text
    (``funnel_reading``) and every group's figures are in the table ``where``
    (``funnel_display``)."""
    out95 = int((table["position"] != "within").sum()) if len(table) else 0
    out99 = int(table["position"].str.endswith("99.8").sum()) if len(table) else 0
    adjusted = (table.attrs.get("overdispersion") or {}).get("adjusted")
    return (f"Funnel plot of {what} for {len(table)} {unit} groups against 95% and 99.8% "
            f"control limits{' allowing for overdispersion' if adjusted else ''}: {out95} "
            f"outside the 95% limits, {out99} of them outside the 99.8% limits. "
            f"{chart_figures_where(where)}")


FUNNEL_POSITIONS = {"within": "within the 95% limits",
                    "above_95": "above the 95% limit (inside 99.8%)",
                    "below_95": "below the 95% limit (inside 99.8%)",
                    "above_99.8": "above the 99.8% limit",
                    "below_99.8": "below the 99.8% limit"}


def funnel_display(table: pd.DataFrame, size: str, rate: str, unit: str = "Agency"
                   ) -> pd.DataFrame:
    """The funnel plot's data as a page table, one row per group in the chart (every point,
    named, whether or not the chart could label it): its size (``size``: the column name),
    its rate (``rate``) and where it falls against the limits drawn. Only groups already
    large enough to plot (and not suppressed by the disclosure ledger: ``funnel_table``'s
    ``hide``) are here, so the table says no more than the chart."""
    t = table.sort_values(["n", "label"])
    return pd.DataFrame({unit: t["label"].astype(str).to_numpy(),
                         size: [f"{int(n):,}" for n in t["n"]],
                         rate: [pct(r) for r in t["rate"]],
                         "Where it falls": [FUNNEL_POSITIONS.get(p, p)
                                            for p in t["position"]]})


def confusion_display(cm: pd.DataFrame, labels: dict[str, str] | None = None,
                      rows: str = "Reference level") -> pd.DataFrame:
    """A heat map's data as a page table: each row's share given each level, with the count
    in brackets (the same numbers the chart's cells carry)."""
    lab = labels or {}
    tot = cm.sum(axis=1)
    out = pd.DataFrame(index=pd.Index([lab.get(r, r) for r in cm.index], name=rows))
    for c in cm.columns:
        out[lab.get(c, c)] = [f"{pct(cm.loc[r, c] / tot[r]) if tot[r] else '-'} "
                              f"({int(cm.loc[r, c])})" for r in cm.index]
    return out
