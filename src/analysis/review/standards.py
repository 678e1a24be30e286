"""Tier-2 review: the share of cases meeting each standard, per service and overall, with
intervals (design-weighted where services were sampled at different rates) and its words.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import pandas as pd

from .. import proportions as pr
from ..findings import finding_id
from ..proportions import weights_vary
from ..reporting import (
    reportable,
)
from ..schemas import Standards
from .common import (
    METHOD_NOTE,
    _split,
    group_label,
    group_noun,
    outcome_phrase,
)

__all__ = ["standard_results"]

# ======================================================================================
# Proportions per standard
# ======================================================================================


def _estimate(values: pd.Series, weights: pd.Series, method: str, confidence: float
              ) -> tuple[pr.ProportionCI, bool]:
    """Proportion of True among non-missing ``values``, design-weighted when weights vary."""
    keep = values.notna().to_numpy()
    v = values[keep].astype(bool).to_numpy()
    w = weights[keep].astype(float).to_numpy()
    if v.size and weights_vary(w):
        return pr.weighted_proportion_ci(v, w, method=method, confidence=confidence), True
    return pr.proportion_ci(int(v.sum()), int(v.size), method=method, confidence=confidence), \
        False


def standard_results(frame: pd.DataFrame, standards: Standards, by: str | None = "group",
                     method: str = "wilson", confidence: float = 0.95,
                     include_overall: bool = True, prefix: str = "T2") -> pd.DataFrame:
    """Per standard, per service and overall: cases judged, cases meeting the standard, the
    proportion and its interval, and the finding's wording and id.

    Interval: ``proportions.proportion_ci`` (Wilson 1927 by default) where the cases in the
    group carry equal design weights; ``proportions.weighted_proportion_ci`` (Kish effective
    sample size; Korn & Graubard 1998) where they do not, which is the case for "all services"
    when services were sampled at different rates.  Wording: ``describe_share`` (fewer than
    five cases: the count only, "no general finding can be drawn"; a wide interval: the sample
    size needed for ±10 points).  Ids: ``finding_id(prefix, group, standard)``, e.g.
    ``T2-FRT-REFERRAL-APPROPRIATE`` and ``T2-ALL-REFERRAL-APPROPRIATE``.
    """
    from ..reporting.review import describe_share, share_word

    groups = _split(frame, by, overall=include_overall)
    weights = frame["design_weight"] if "design_weight" in frame.columns else \
        pd.Series(1.0, index=frame.index)
    rows = []
    for g, sub in groups:
        for k in standards.standard_keys:
            ci, weighted = _estimate(sub[f"std_{k}"], weights.loc[sub.index], method,
                                     confidence)
            noun = group_noun(g)
            rows.append({
                "finding_id": finding_id(prefix, g, k), "group": g,
                "group_label": group_label(g), "standard": k,
                "standard_label": standards.label(k), "cases_audited": len(sub),
                "successes": ci.successes, "n": ci.n, "estimate": ci.estimate,
                "ci_low": ci.ci_low, "ci_high": ci.ci_high, "n_eff": ci.n_eff,
                "weighted": weighted, "small": not reportable(ci.n),
                "method": METHOD_NOTE.get(method, method) + (
                    ", design-weighted (Kish effective sample size)" if weighted else ""),
                "word": share_word(ci, weighted, confidence, method),
                "text": describe_share(ci, weighted, noun, outcome_phrase(standards, k),
                                       confidence, method, audited=len(sub)),
            })
    return pd.DataFrame(rows)


