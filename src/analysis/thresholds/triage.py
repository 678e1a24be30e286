"""Threshold consistency, 3: domestic-abuse triage grading (weighted kappa against the
auditors' grade; under-grading of incidents judged medium or high).

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd

from .common import TRIAGE_GRADES
from .front_door import paired_kappa, weighted_share
from .vignettes import confusion_matrix

#: The auditor's grades of an incident that should have been discussed at triage.
RISKY = ("medium", "high")

__all__ = ["RISKY", "triage_agreement", "triage_frame", "triage_table", "undergrading",
           "undergrading_counts"]

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
    # by group with no incident judged medium or high: no rows, but the same columns
    return pd.DataFrame(rows, columns=["group", "undergraded", "n_medium_high", "estimate",
                                       "ci_low", "ci_high", "n_standard", "overgraded",
                                       "method"])




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


