"""Tier-2 review: reproducing the published Hackney 2011 audit from its own counts.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .. import proportions as pr
from ..findings import finding_id
from ..reporting import (
    pct,
    reportable,
)
from ..schemas import Standards
from .common import OUTCOMES, ReviewError, _isna, _lower1, group_noun, outcome_phrase

__all__ = ["load_published", "pooled_published", "report_word", "reproduce_published"]

# ======================================================================================
# Reproducing the published Hackney 2011 audit
# ======================================================================================


def load_published(path: str | Path) -> pd.DataFrame:
    """A ``data/published`` table, with a clear message if it is missing."""
    p = Path(path)
    if not p.exists():
        raise ReviewError(f"{p}: published figures not found; they ship with the project in "
                          "data/published/ (see its README).")
    return pd.read_csv(p, dtype={"standard": "string"}, keep_default_na=True)


def report_word(quote: str) -> str:
    """The quantifier the report's sentence uses: 'all but one', 'two thirds not', 'most',
    'all' (with or without a named exception) or '' when it gives none."""
    q = " ".join(str(quote).lower().split())
    if "all case but one" in q or "all cases but one" in q:
        return "all but one"
    if "two thirds" in q:
        return "two thirds ... not"
    if q.startswith("most") or " most " in f" {q} ":
        return "most"
    if "other than in the one case" in q or "with the exception" in q:
        return "all, except one"
    if "all case" in q or "all cases" in q:
        return "all"
    return ""


def reproduce_published(findings: pd.DataFrame, standards: Standards | None = None,
                        method: str = "wilson", confidence: float = 0.95) -> pd.DataFrame:
    """Re-derive each published Hackney 2011 finding and say what its numbers support.

    For every row of ``hackney_2011_findings.csv``: the id ``HK2011-<SERVICE>-<STANDARD>``,
    the report's sentence and quantifier, the count, the interval
    (``proportions.proportion_ci``), the sentence this project would write
    (``proportions.describe_proportion``: fewer than five cases get the count only) and a
    verdict comparing the two: whether the report's word is true of the cases audited, and
    whether the interval lets it stand for the service's cases in general.
    """
    rows = []
    for r in findings.itertuples():
        std = "" if _isna(r.standard) else str(r.standard)
        fid = finding_id("HK2011", str(r.service), std)
        label = (standards.label(std) if standards is not None and std in
                 standards.standard_keys else std.replace("_", " "))
        base = {"finding_id": fid, "service": r.service, "service_label": r.service_label,
                "standard": std, "standard_label": label or "(no standard)",
                "quote": r.quote, "report_word": report_word(r.quote), "page": r.page,
                "judgement": r.judgement}
        if r.judgement in ("no_count", "not_generalisable") or _isna(r.cases_met):
            n = 0 if _isna(r.cases_judged) else int(r.cases_judged)
            if r.judgement == "not_generalisable":
                supported = pr.describe_proportion(0, 0) if n == 0 else (
                    "One case was audited; no general finding can be drawn.")
                verdict = ("Agrees: the report itself draws no general finding from a single "
                           "case.")
            else:
                supported = "No count is given, so there is nothing to re-derive."
                verdict = ("Cannot be checked: the report does not say in how many cases the "
                           "standard applied.")
            rows.append({**base, "cases_met": math.nan, "cases_judged": n or math.nan,
                         "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                         "supported": supported, "supported_word": "", "verdict": verdict})
            continue
        x, n = int(r.cases_met), int(r.cases_judged)
        ci = pr.proportion_ci(x, n, method=method, confidence=confidence)  # type: ignore
        outcome = (outcome_phrase(standards, std) if standards is not None
                   and std in standards.standard_keys else OUTCOMES.get(std, "met the standard"))
        supported = pr.describe_proportion(x, n, noun="cases", service=group_noun(str(r.service)),
                                           confidence=confidence,
                                           method=method,  # type: ignore[arg-type]
                                           outcome=outcome, small="count", wide=math.inf)
        word = pr.quantifier(x, n, confidence=confidence,
                             method=method) if reportable(n) else ""  # type: ignore
        interval = f"{pct(ci.ci_low)} to {pct(ci.ci_high)}"
        if r.judgement == "single_case_observation":
            verdict = ("Agrees: the report offers this as an observation about one case, not "
                       "a finding.")
        elif not reportable(n):
            verdict = (f"True of the {n} cases audited, but too few to stand for the service: "
                       f"the {confidence * 100:g}% interval runs from {interval}.")
        elif word == "some":
            verdict = (f"True of the {n} cases audited; for the service's cases in general the "
                       f"interval ({interval}) cannot say whether more or fewer than half met "
                       "the standard.")
        elif word == "most" and x < n:
            verdict = (f"True of the {n} cases audited, and the interval ({interval}) lies "
                       "above one half: 'most' holds for the service in general; 'all' would "
                       "not.")
        elif word in ("all", "none"):
            bound = (f"as low as {pct(ci.ci_low)}" if word == "all"
                     else f"as high as {pct(ci.ci_high)}")
            verdict = (f"True of the {n} cases audited ('{word}'); for the service in general "
                       f"the interval ({interval}) allows a share {bound}.")
        else:
            verdict = f"True of the {n} cases audited; interval {interval}."
        rows.append({**base, "cases_met": x, "cases_judged": n, "estimate": ci.estimate,
                     "ci_low": ci.ci_low, "ci_high": ci.ci_high, "supported": supported,
                     "supported_word": word, "verdict": verdict})
    return pd.DataFrame(rows)


def pooled_published(findings: pd.DataFrame, standards: Standards, method: str = "wilson",
                     confidence: float = 0.95) -> pd.DataFrame:
    """Per standard, the published counts pooled over services (unweighted: the report does
    not give how many cases each service held, so the pooled share describes the audited
    cases only, not all tier-2 cases).  Ids ``HK2011-ALL-<STANDARD>``."""
    c = findings[(findings["judgement"] == "count") & findings["standard"].notna()]
    rows = []
    for k in standards.standard_keys:
        sub = c[c["standard"] == k]
        if sub.empty:
            continue
        x, n = int(sub["cases_met"].astype(float).sum()), int(sub["cases_judged"].astype(
            float).sum())
        ci = pr.proportion_ci(x, n, method=method, confidence=confidence)  # type: ignore
        rows.append({"finding_id": finding_id("HK2011", "all", k), "standard": k,
                     "standard_label": standards.label(k), "services": len(sub),
                     "successes": x, "n": n, "estimate": ci.estimate, "ci_low": ci.ci_low,
                     "ci_high": ci.ci_high,
                     "text": f"Pooled over {len(sub)} service{'s' if len(sub) != 1 else ''} "
                             "(unweighted): " + _lower1(pr.describe_proportion(
                                 x, n, noun="cases", service="audited", confidence=confidence,
                                 method=method,  # type: ignore[arg-type]
                                 outcome=outcome_phrase(standards, k), small="count",
                                 wide=math.inf))})
    return pd.DataFrame(rows)
