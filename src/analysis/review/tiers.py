"""Tier-2 review: the tier held against the tier the auditors judged right.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..findings import finding_id
from ..schemas import Scale, Standards
from .common import (
    METHOD_NOTE,
    TOO_HIGH,
    TOO_LOW,
    _isna,
    _split,
    group_label,
    group_noun,
)
from .standards import _estimate

__all__ = ["escalation_list", "tier_matrix", "tier_results", "write_escalation_list"]

# ======================================================================================
# Tier held against tier judged
# ======================================================================================


def tier_matrix(frame: pd.DataFrame, scale: Scale, group: str | None = None) -> pd.DataFrame:
    """Counts of audited cases by tier held (rows) and tier the auditors judged right
    (columns), all levels of the scale, for one group or all cases."""
    df = frame if group is None else frame[frame["group"] == group]
    df = df.dropna(subset=["level_of_need", "tier_judged"])
    lv = list(scale.levels)
    cat = pd.CategoricalDtype(lv, ordered=True)
    tab = pd.crosstab(df["level_of_need"].astype(str).astype(cat),
                      df["tier_judged"].astype(str).astype(cat), dropna=False)
    tab = tab.reindex(index=lv, columns=lv, fill_value=0).astype(int)
    tab.index.name, tab.columns.name = "tier_held", "tier_judged"
    return tab


def tier_results(frame: pd.DataFrame, by: str | None = "group", method: str = "wilson",
                 confidence: float = 0.95, noun: str = "tier") -> pd.DataFrame:
    """Share of cases held too low and too high, per service and overall, with intervals.

    Denominator: audited cases with both a tier held and a judged tier.  Intervals and
    weighting as ``standard_results``.  Ids: ``T2-TIER-HELD-TOO-LOW`` / ``...-TOO-HIGH``
    overall and ``T2-<SERVICE>-TIER-HELD-TOO-LOW`` per service.  ``noun`` is what the
    round's scale calls a level (``Scale.noun``: "tier", "level").
    """
    from ..reporting.review import describe_share

    df = frame.dropna(subset=["tier_direction"])
    groups = _split(df, by, frame)
    rows = []
    for g, sub in groups:
        for d, word in ((TOO_LOW, f"were held at a lower {noun} than the auditors judged "
                                  "right"),
                        (TOO_HIGH, f"were held at a higher {noun} than the auditors judged "
                                   "right")):
            ci, weighted = _estimate((sub["tier_direction"] == d).astype("boolean"),
                                     sub["design_weight"], method, confidence)
            fid = (finding_id("T2", "TIER", f"HELD-{d}") if g == "all"
                   else finding_id("T2", g, "TIER", f"HELD-{d}"))
            rows.append({"finding_id": fid, "group": g, "group_label": group_label(g),
                         "direction": d, "successes": ci.successes, "n": ci.n,
                         "estimate": ci.estimate, "ci_low": ci.ci_low, "ci_high": ci.ci_high,
                         "n_eff": ci.n_eff, "weighted": weighted,
                         "method": METHOD_NOTE.get(method, method) + (
                             ", design-weighted (Kish effective sample size)" if weighted
                             else ""),
                         "text": describe_share(ci, weighted, group_noun(g), word, confidence,
                                                method)})
    return pd.DataFrame(rows)


def escalation_list(frame: pd.DataFrame, standards: Standards) -> pd.DataFrame:
    """INTERNAL ONLY: audited cases the board's officers should look at again.

    A case is listed when the case finding is "held too low" or when any auditor judged a
    higher tier than the one held (a split the officers should resolve).  Columns: the
    pseudonymised ``case_id``, service, tier held, tier judged, the highest tier any auditor
    judged, the reason, and the themes found.  No free text.  Never displayed by a notebook and
    never written under the published outputs: ``write_escalation_list`` writes it to the
    round's internal folder.
    """
    if "tier_direction" not in frame.columns:
        return pd.DataFrame(columns=["case_id", "service", "tier_held", "tier_judged",
                                     "highest_tier_judged", "reason", "themes"])
    too_low = frame["tier_direction"] == TOO_LOW
    any_higher = frame.get("judged_higher_by_any", pd.Series(False, index=frame.index)
                           ).fillna(False).astype(bool)
    sel = frame[too_low | any_higher].copy()
    theme_cols = [f"theme_{t}" for t in standards.theme_keys if f"theme_{t}" in frame.columns]

    def themes(r: pd.Series) -> str:
        return "; ".join(standards.label(c[len("theme_"):]) for c in theme_cols
                         if not _isna(r[c]) and bool(r[c]))

    out = pd.DataFrame({
        "case_id": sel["case_id"], "service": sel["service"],
        "tier_held": sel["level_of_need"], "tier_judged": sel["tier_judged"],
        "highest_tier_judged": sel["tier_judged_max"],
        "reason": np.where(sel["tier_direction"] == TOO_LOW,
                           "held below the tier the auditors judged right",
                           "auditors split: at least one judged a higher tier"),
        "themes": [themes(r) for _, r in sel.iterrows()],
    })
    return out.sort_values("case_id", kind="mergesort").reset_index(drop=True)


def write_escalation_list(frame: pd.DataFrame, standards: Standards, internal_dir: str | Path,
                          round_name: str) -> tuple[Path, int]:
    """Write the internal escalation list to ``internal_dir`` (never the published outputs);
    return the path and the number of cases listed."""
    from ..export import write_csv

    lst = escalation_list(frame, standards)
    path = Path(internal_dir) / f"tier2_escalation_list_{round_name}.csv"
    write_csv(lst, path)
    return path, len(lst)


