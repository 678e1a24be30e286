"""Tier-2 review: from several auditors' answers to one finding per case (the case rule).

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..schemas import Scale, Standards
from .common import GRADE_ORDER, RIGHT, TOO_HIGH, TOO_LOW, ReviewError, _isna, check_audit, group_of

__all__ = ["case_findings", "case_standard_votes", "review_frame", "tier_direction"]

# ======================================================================================
# Case findings from several auditors
# ======================================================================================


def _vote(values: pd.Series, met: Sequence[str], not_met: Sequence[str]) -> pd.DataFrame:
    ans = values.astype("object")
    return pd.DataFrame({"met_votes": ans.isin(list(met)).astype(int),
                         "not_met_votes": ans.isin(list(not_met)).astype(int)})


def case_standard_votes(audit: pd.DataFrame, standards: Standards) -> pd.DataFrame:
    """Long table, one row per case and standard: ``auditors``, ``met_votes``,
    ``not_met_votes``, ``answered`` and the case's finding ``met`` (boolean, NA when no
    auditor could judge), by ``CASE_RULE``: met when met votes outnumber not-met votes; a tie is
    not met; not-applicable / insufficient-information answers do not vote."""
    check_audit(audit, standards)
    parts = []
    auditors = audit.groupby("case_id")["auditor_id"].nunique()
    for k in standards.standard_keys:
        v = _vote(audit[f"std_{k}"], standards.met, standards.not_met)
        v["case_id"] = audit["case_id"].to_numpy()
        g = v.groupby("case_id")[["met_votes", "not_met_votes"]].sum()
        g["answered"] = g["met_votes"] + g["not_met_votes"]
        met = pd.Series(pd.NA, index=g.index, dtype="boolean")
        ok = g["answered"] > 0
        met[ok] = g.loc[ok, "met_votes"] > g.loc[ok, "not_met_votes"]
        g["met"] = met
        g["standard"] = k
        g["auditors"] = auditors.reindex(g.index).astype(int)
        parts.append(g.reset_index())
    out = pd.concat(parts, ignore_index=True)
    return out[["case_id", "standard", "auditors", "met_votes", "not_met_votes", "answered",
                "met"]].sort_values(["standard", "case_id"], kind="mergesort"
                                    ).reset_index(drop=True)


def _upper_median(positions: np.ndarray) -> float:
    p = np.sort(positions[~np.isnan(positions)])
    return float(p[len(p) // 2]) if p.size else math.nan


def _lower_median(positions: np.ndarray) -> float:
    p = np.sort(positions[~np.isnan(positions)])
    return float(p[(len(p) - 1) // 2]) if p.size else math.nan


def _positions(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    lookup = {str(lv): float(i) for i, lv in enumerate(levels)}
    return np.array([math.nan if _isna(v) else lookup.get(str(v), math.nan) for v in values],
                    dtype=float)


def case_findings(audit: pd.DataFrame, standards: Standards, scale: Scale | None = None
                  ) -> pd.DataFrame:
    """One row per audited case: the case's finding on each standard and its judged tier.

    Columns: ``case_id``, ``auditors``, ``std_<key>`` (boolean: met / not met / NA = no auditor
    could judge), ``split_<key>`` (True when the auditors who answered did not all agree),
    ``tier_judged`` (the higher of the middle judgements: for two auditors the higher tier),
    ``tier_split``, ``tier_judged_max`` (the highest tier any auditor judged right),
    ``theme_<key>`` (present when at least half the auditors who answered flagged it) and
    ``overall_grade`` (the lower of the middle grades).  Rules: ``CASE_RULE``.  Holds
    pseudonymised ids: for computing, never for display.
    """
    votes = case_standard_votes(audit, standards)
    out = pd.DataFrame(index=pd.Index(sorted(audit["case_id"].unique()), name="case_id"))
    out["auditors"] = audit.groupby("case_id")["auditor_id"].nunique()
    for k in standards.standard_keys:
        v = votes[votes["standard"] == k].set_index("case_id")
        out[f"std_{k}"] = v["met"].reindex(out.index).astype("boolean")
        out[f"split_{k}"] = ((v["met_votes"] > 0) & (v["not_met_votes"] > 0)).reindex(out.index)
    if scale is not None and "tier_judged" in audit.columns:
        lv = list(scale.levels)
        pos = pd.Series(_positions(audit["tier_judged"], lv), index=audit.index)
        grp = pos.groupby(audit["case_id"])
        up = grp.agg(lambda s: _upper_median(s.to_numpy()))
        hi = grp.max()
        lo = grp.min()
        out["tier_judged"] = up.reindex(out.index).map(
            lambda p: pd.NA if _isna(p) else lv[int(p)]).astype("object")
        out["tier_judged_max"] = hi.reindex(out.index).map(
            lambda p: pd.NA if _isna(p) else lv[int(p)]).astype("object")
        out["tier_split"] = (hi > lo).reindex(out.index).fillna(False).astype(bool)
    for t in standards.theme_keys:
        col = f"theme_{t}"
        if col not in audit.columns:
            continue
        flag = audit[col].astype("boolean")
        g = pd.DataFrame({"case_id": audit["case_id"].to_numpy(),
                          "yes": flag.fillna(False).astype(int).to_numpy(),
                          "answered": flag.notna().astype(int).to_numpy()}
                         ).groupby("case_id")[["yes", "answered"]].sum()
        present = pd.Series(pd.NA, index=g.index, dtype="boolean")
        ok = g["answered"] > 0
        present[ok] = 2 * g.loc[ok, "yes"] >= g.loc[ok, "answered"]
        out[col] = present.reindex(out.index)
    if "overall_grade" in audit.columns:
        gpos = pd.Series(_positions(audit["overall_grade"], GRADE_ORDER), index=audit.index)
        low = gpos.groupby(audit["case_id"]).agg(lambda s: _lower_median(s.to_numpy()))
        out["overall_grade"] = low.reindex(out.index).map(
            lambda p: pd.NA if _isna(p) else GRADE_ORDER[int(p)]).astype("object")
    return out.reset_index()


def review_frame(cases: pd.DataFrame, audit: pd.DataFrame, standards: Standards,
                 scale: Scale | None = None, weights: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """The audited cases: case findings joined to the case's service, level of need and dates,
    with its review ``group`` (the sampling stratum when the weights give one, else the
    service with MAT and YPRRP together), ``design_weight`` (1 when no weights are given: a
    self-weighting sample) and ``tier_direction`` (too_low / right / too_high / NA).

    Raises ``ReviewError`` when an audited case is not in the cases table.  Holds pseudonymised
    ids: for computing, never for display.
    """
    judged = case_findings(audit, standards, scale)
    keep = [c for c in ("case_id", "service", "level_of_need", "first_concern_date",
                        "tier3_referral_date", "domestic_abuse", "previous_csc", "route",
                        "age_band") if c in cases.columns]
    if "service" not in keep or "case_id" not in keep:
        raise ReviewError("cases table: needs case_id and service columns (the canonical cases "
                          "table made by `sqa ingest --kind cases`).")
    df = judged.merge(cases[keep], on="case_id", how="left", validate="one_to_one",
                      indicator=True)
    lost = int((df["_merge"] == "left_only").sum())
    if lost:
        raise ReviewError(f"{lost} audited case(s) are not in the cases table. Audit returns and "
                          "cases must be ingested with the same pseudonymisation key (and the "
                          "audit sample drawn from this cases table).")
    df = df.drop(columns="_merge")
    df["group"] = df["service"].map(group_of)
    df["design_weight"] = 1.0
    if weights is not None and len(weights):
        w = weights.drop_duplicates("case_id").set_index("case_id")
        mapped = df["case_id"].map(w["design_weight"]).astype(float)
        if mapped.isna().any():
            n = int(mapped.isna().sum())
            raise ReviewError(f"{n} audited case(s) have no design weight in the sample "
                              "manifest: were the returns made from this sample's workbook?")
        df["design_weight"] = mapped
        if "stratum" in w.columns:
            df["group"] = df["case_id"].map(w["stratum"]).astype(str)
    if scale is not None and "tier_judged" in df.columns:
        df["tier_direction"] = tier_direction(df["level_of_need"], df["tier_judged"], scale)
        df["judged_higher_by_any"] = pd.Series(
            _positions(df["tier_judged_max"], scale.levels)
            > _positions(df["level_of_need"], scale.levels), index=df.index)
    return df


def tier_direction(held: pd.Series, judged: pd.Series, scale: Scale) -> pd.Series:
    """'too_low' when the tier held is below the tier the auditors judged right, 'too_high'
    when above, 'right' when equal, NA when either is missing."""
    h = _positions(held, scale.levels)
    j = _positions(judged, scale.levels)
    out = np.where(np.isnan(h) | np.isnan(j), None,
                   np.where(h < j, TOO_LOW, np.where(h > j, TOO_HIGH, RIGHT)))
    return pd.Series(out, index=held.index, dtype="object")


