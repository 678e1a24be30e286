"""Shared constants, labels and small helpers of the threshold analyses.

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..reporting import (
    pct,
    reportable,
    too_few,
)

__all__ = ["AGENCY_LABELS", "AGE_LABELS", "BROAD_AGE", "BROAD_AGE_LABELS", "LEVEL_PAIRS", "MET",
           "NOT_MET", "ROUTE_LABELS", "ROUTE_PHRASES", "SOURCE_LABELS", "TRIAGE_GRADES",
           "TRIAGE_LABELS", "Z95", "agency_label", "broad_age_band", "level_positions",
           "share_sentence"]


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
