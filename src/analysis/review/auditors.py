"""Tier-2 review: agreement between the auditors of each case, standard by standard.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math

import pandas as pd

from ..reporting import (
    number,
    pct,
)
from ..schemas import Standards
from .cases import case_standard_votes
from .common import _isna, check_audit

__all__ = ["ANSWER_CATEGORIES", "answer_category", "auditor_agreement"]

# ======================================================================================
# Agreement between auditors
# ======================================================================================


ANSWER_CATEGORIES = ("met", "not_met", "cannot_judge")


def answer_category(answer: object, standards: Standards) -> object:
    """An auditor's answer as the category that decides the case's finding: ``met`` (the
    template's met answers), ``not_met`` (its not-met answers), ``cannot_judge`` (not
    applicable, insufficient information); NaN for a blank."""
    if _isna(answer):
        return math.nan
    a = str(answer)
    if a in standards.met:
        return "met"
    if a in standards.not_met:
        return "not_met"
    return "cannot_judge"


def auditor_agreement(audit: pd.DataFrame, standards: Standards, seed: int = 20161,
                      n_boot: int = 1000, confidence: float = 0.95) -> pd.DataFrame:
    """Agreement between the auditors of each case, standard by standard.

    Each auditor's answer is read as met / not met / could not judge (the categories that
    decide the case's finding, ``CASE_RULE``).  Per standard, over the cases judged by two or
    more auditors (``analysis.agreement``, cases x auditors matrix):

    * percent agreement: the share of agreeing pairs of answers on a case (with two auditors,
      the share of cases on which they gave the same answer), bootstrap interval;
    * Fleiss' (1971) kappa, chance-corrected, for raters who differ from case to case (the
      auditors of one case are not those of the next), with Gwet's (2014) variance;
    * Gwet's (2008) AC1 beside it, because when nearly every answer is "yes" kappa is pulled
      down although the auditors nearly always agree (the prevalence paradox: Feinstein &
      Cicchetti 1990);
    * the number of cases on which the auditors split between met and not met: the cases the
      tie rule (or the majority) decided.
    """
    from .. import agreement as ag

    check_audit(audit, standards)
    votes = case_standard_votes(audit, standards)
    rows = []
    for k in standards.standard_keys:
        long = pd.DataFrame({"case_id": audit["case_id"].to_numpy(),
                             "auditor_id": audit["auditor_id"].astype(str).to_numpy(),
                             "answer": [answer_category(a, standards) for a in audit[f"std_{k}"]]})
        mat = ag.ratings_matrix_from_long(long, subject="case_id", rater="auditor_id",
                                          level="answer", categories=list(ANSWER_CATEGORIES))
        rated = mat.notna().sum(axis=1)
        mat = mat[rated >= 2]
        n = len(mat)
        v = votes[(votes["standard"] == k) & votes["case_id"].isin(mat.index)]
        split = int(((v["met_votes"] > 0) & (v["not_met_votes"] > 0)).sum())
        unanimous = int(mat.apply(lambda r: r.dropna().nunique() == 1, axis=1).sum()) if n else 0
        pa = kap = ac1 = None
        if n:
            cats = list(ANSWER_CATEGORIES)
            pa = ag.percent_agreement(mat, cats, n_boot=n_boot, seed=seed,
                                      confidence=confidence)
            kap = ag.fleiss_kappa(mat, cats, confidence=confidence)
            ac1 = ag.gwet_ac1(mat, cats, confidence=confidence)
        label = standards.label(k)
        if not n:
            text = f"{label}: no case had answers from two auditors."
        else:
            text = (f"{label}: the auditors gave the same answer on {unanimous} of {n} cases "
                    f"({pct(pa.estimate)} of pairs of answers agreed); on {split} "
                    f"case{'s' if split != 1 else ''} they split between met and not met, and "
                    f"the case rule decided {'them' if split != 1 else 'it'}.")
            if math.isfinite(kap.estimate):
                text += (" Beyond chance, agreement was "
                         f"{ag.band_words(kap.estimate, kap.ci_low, kap.ci_high)} "
                         f"(Fleiss' kappa {number(kap.estimate)}, {confidence * 100:g}% interval "
                         f"{number(kap.ci_low)} to {number(kap.ci_high)}; Gwet's AC1 "
                         f"{number(ac1.estimate)}).")
                note = ag.prevalence_paradox_note(pa.estimate, kap.estimate, ac1.estimate)
                if note:
                    text += " " + note
            else:
                text += (" Agreement beyond chance cannot be measured: every answer fell in one "
                         "category.")
        nan = math.nan
        rows.append({
            "standard": k, "standard_label": label, "cases": n, "same_answer": unanimous,
            "percent_agreement": pa.estimate if pa else nan,
            "pa_ci_low": pa.ci_low if pa else nan, "pa_ci_high": pa.ci_high if pa else nan,
            "split_met_not_met": split,
            "kappa": kap.estimate if kap else nan, "ci_low": kap.ci_low if kap else nan,
            "ci_high": kap.ci_high if kap else nan, "ac1": ac1.estimate if ac1 else nan,
            "method": ("Fleiss (1971) kappa with Gwet (2014) variance; Gwet (2008) AC1; "
                       "percent agreement with bootstrap interval (analysis.agreement)"),
            "text": text})
    return pd.DataFrame(rows)


