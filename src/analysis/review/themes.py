"""Tier-2 review: how often each theme was found, and with which cases.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math

import pandas as pd

from .. import proportions as pr
from ..findings import finding_id
from ..reporting import (
    cannot_tell,
    direction,
    few_children,
    min_audited,
    p_value,
    points,
    reportable,
)
from ..schemas import Standards
from .common import METHOD_NOTE, TOO_LOW, _lower1, _split, group_label, group_noun
from .standards import _estimate

__all__ = ["theme_cooccurrence", "theme_results"]

# ======================================================================================
# Themes
# ======================================================================================


def theme_results(frame: pd.DataFrame, standards: Standards, by: str | None = "group",
                  method: str = "wilson", confidence: float = 0.95) -> pd.DataFrame:
    """How often each theme was found, per service and overall, with intervals (weighting as
    ``standard_results``).  Ids: ``T2-THEME-<KEY>`` overall, ``T2-<SERVICE>-THEME-<KEY>`` per
    service."""
    from ..reporting.review import describe_share

    groups = _split(frame, by)
    rows = []
    for t in standards.theme_keys:
        col = f"theme_{t}"
        if col not in frame.columns:
            continue
        label = standards.label(t)
        for g, sub in groups:
            ci, weighted = _estimate(sub[col], sub["design_weight"], method, confidence)
            fid = (finding_id("T2", "THEME", t) if g == "all"
                   else finding_id("T2", g, "THEME", t))
            rows.append({"finding_id": fid, "group": g, "group_label": group_label(g),
                         "theme": t, "theme_label": label, "successes": ci.successes,
                         "n": ci.n, "estimate": ci.estimate, "ci_low": ci.ci_low,
                         "ci_high": ci.ci_high, "n_eff": ci.n_eff, "weighted": weighted,
                         "method": METHOD_NOTE.get(method, method) + (
                             ", design-weighted (Kish effective sample size)" if weighted
                             else ""),
                         "text": describe_share(ci, weighted, group_noun(g),
                                                f'showed the theme "{_lower1(label)}"',
                                                confidence, method)})
    return pd.DataFrame(rows)


def theme_cooccurrence(frame: pd.DataFrame, standards: Standards, confidence: float = 0.95
                       ) -> pd.DataFrame:
    """Does each theme go with "held too low"?  Among cases with a judged tier: the share with
    the theme among cases held too low and among the others, the difference (held too low
    minus others) with Newcombe's (1998) hybrid score interval and Fisher's exact p-value
    (``proportions.difference_ci``), and a sentence that claims an association only when the
    interval excludes zero.  Unweighted: a within-sample comparison.  Either group under the
    minimum audited (rule 1 of ``analysis.reporting``) is "too few to compare", with no
    counts."""
    df = frame.dropna(subset=["tier_direction"])
    low = df["tier_direction"] == TOO_LOW
    rows = []
    for t in standards.theme_keys:
        col = f"theme_{t}"
        if col not in df.columns:
            continue
        ok = df[col].notna()
        a = df[ok & ~low][col].astype(bool)
        b = df[ok & low][col].astype(bool)
        label = standards.label(t)
        base = {"theme": t, "theme_label": label, "with_theme_too_low": int(b.sum()),
                "too_low": len(b), "with_theme_others": int(a.sum()), "others": len(a)}
        if len(a) == 0 or len(b) == 0:
            rows.append({**base, "difference": math.nan, "ci_low": math.nan,
                         "ci_high": math.nan, "p_value": math.nan,
                         "text": f"{label}: no comparison possible (no cases "
                                 f"{'held below' if len(b) == 0 else 'held at or above'} "
                                 "the judged tier)."})
            continue
        if not (reportable(len(a)) and reportable(len(b))):
            # rule 1: a group under the minimum gets no count with the theme and no share
            few = ([few_children(len(b)) + " held too low"] if not reportable(len(b))
                   else []) + ([few_children(len(a), "other case")] if not reportable(len(a))
                               else [])
            rows.append({**base, "with_theme_too_low": math.nan, "with_theme_others": math.nan,
                         "difference": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                         "p_value": math.nan,
                         "text": f"{label}: too few to compare ({' and '.join(few)}; fewer "
                                 f"than {min_audited()} in a group is too few to report)."})
            continue
        d = pr.difference_ci(int(a.sum()), len(a), int(b.sum()), len(b), confidence=confidence)
        lvl = f"{confidence * 100:g}%"
        head = (f"{label}: found in {int(b.sum())} of {len(b)} cases held too low and "
                f"{int(a.sum())} of {len(a)} other cases")
        stats_txt = (f"difference {points(d.difference, signed=True)}, {lvl} CI "
                     f"{points(d.ci_low, signed=True, unit=False)} to "
                     f"{points(d.ci_high, signed=True)}; Fisher's exact test "
                     f"p = {p_value(d.p_value)}")
        way = direction(d.ci_low, d.ci_high, d.p_value, alpha=1 - confidence)
        if way != "unclear":
            more = "more" if way == "up" else "less"
            text = f"{head}. The theme was {more} common among cases held too low ({stats_txt})."
        else:
            text = (f"{head}: {cannot_tell('the theme is more or less common among them')} "
                    f"({stats_txt}).")
        rows.append({**base, "difference": d.difference, "ci_low": d.ci_low,
                     "ci_high": d.ci_high, "p_value": d.p_value, "text": text})
    return pd.DataFrame(rows)


