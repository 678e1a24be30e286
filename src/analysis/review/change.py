"""Tier-2 review: change since the last audit, standard by standard.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math

import pandas as pd

from .. import proportions as pr
from ..findings import finding_id
from ..reporting import (
    TOO_FEW,
    direction,
    reportable,
)
from ..schemas import Standards
from .common import _lower1, outcome_phrase

__all__ = ["compare_rounds"]

# ======================================================================================
# Change since the last audit
# ======================================================================================


def compare_rounds(current: pd.DataFrame, previous: pd.DataFrame, standards: Standards,
                   confidence: float = 0.95, previous_label: str = "the previous audit"
                   ) -> pd.DataFrame:
    """Per standard, the change from the previous round to this one.

    ``current`` and ``previous`` are ``case_findings`` frames (one row per case).  For each
    standard: x1 of n1 (previous) and x2 of n2 (current), the difference p2 - p1 with Newcombe's
    (1998) hybrid score interval and Fisher's exact p-value (``proportions.difference_ci``), and
    the sentence of ``proportions.describe_change``: "the data cannot tell whether it changed"
    unless the interval excludes zero and Fisher's test agrees, with the cases per round
    needed to detect a change (80% power).
    Unweighted shares: the comparison is like with like when both rounds drew their samples
    with the same design.  Ids: ``T2-CHANGE-<STANDARD>``.
    """
    rows = []
    for k in standards.standard_keys:
        col = f"std_{k}"
        a = previous[col].dropna().astype(bool) if col in previous.columns else pd.Series([])
        b = current[col].dropna().astype(bool) if col in current.columns else pd.Series([])
        base = {"finding_id": finding_id("T2", "CHANGE", k), "standard": k,
                "standard_label": standards.label(k), "x1": int(a.sum()), "n1": len(a),
                "x2": int(b.sum()), "n2": len(b)}
        if len(a) == 0 or len(b) == 0:
            rows.append({**base, "p1": math.nan, "p2": math.nan, "difference": math.nan,
                         "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan,
                         "excludes_zero": False, "change": "no comparison",
                         "text": f"{standards.label(k)}: not judged in "
                                 f"{'this round' if len(b) == 0 else previous_label}, so no "
                                 "comparison can be made."})
            continue
        small = [w for w, m in (("this round", len(b)), (previous_label, len(a)))
                 if not reportable(m)]
        if small:
            rows.append({**base, "x1": math.nan, "x2": math.nan, "p1": math.nan,
                         "p2": math.nan, "difference": math.nan, "ci_low": math.nan,
                         "ci_high": math.nan, "p_value": math.nan, "excludes_zero": False,
                         "change": "too few to compare",
                         "text": f"{standards.label(k)}: too few cases judged in "
                                 f"{' and '.join(small)} to compare ({TOO_FEW})."})
            continue
        d = pr.difference_ci(int(a.sum()), len(a), int(b.sum()), len(b), confidence=confidence)
        text = pr.describe_change(d, noun="cases", outcome=outcome_phrase(standards, k))
        text = text.replace("at the previous audit", f"at {previous_label}")
        text = _lower1(text)
        rows.append({**base, "p1": d.p1, "p2": d.p2, "difference": d.difference,
                     "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value,
                     "excludes_zero": d.excludes_zero,
                     "change": {"up": "rose", "down": "fell", "unclear": "cannot tell"}[
                         direction(d.ci_low, d.ci_high, d.p_value, alpha=1 - confidence)],
                     "text": f"{standards.label(k)}: {text}"})
    return pd.DataFrame(rows)


