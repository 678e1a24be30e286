"""Tier-2 review: the share of cases meeting each standard, per service and overall, with
intervals (design-weighted where services were sampled at different rates) and its words.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import proportions as pr
from ..findings import finding_id
from ..proportions import weights_vary
from ..reporting import (
    TOO_FEW,
    min_audited,
    number,
    pct,
    reportable,
    too_few,
)
from ..schemas import Standards
from .common import (
    METHOD_NOTE,
    _isna,
    _ordered_groups,
    _split,
    group_label,
    group_noun,
    outcome_phrase,
)

__all__ = ["describe_share", "results_display", "sample_display", "service_summary",
           "standard_results", "standards_matrix", "weighted_sentence"]

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


def weighted_sentence(ci: pr.ProportionCI, noun: str, outcome: str, confidence: float) -> str:
    """Wording for a design-weighted proportion: the unweighted count first (what the auditors
    saw), then the weighted estimate with its interval and effective sample size."""
    lvl = f"{confidence * 100:g}%"
    if ci.n == 0:
        return f"No {noun} cases could be judged."
    if not reportable(ci.n):
        return _sentence(too_few(ci.n, f"{noun} cases"))
    head = f"{ci.successes} of {ci.n} {noun} cases {outcome}."
    text = (f"{head} Weighting each case by the number of cases it stands for (the services "
            f"were sampled at different rates), an estimated {pct(ci.estimate)} of all the "
            f"cases of these services ({lvl} CI {pct(ci.ci_low)} to {pct(ci.ci_high)}; "
            f"effective sample size {number(ci.n_eff, 0)}).")
    if ci.width > pr.WIDE:
        need = pr.n_for_interval_width(0.10, p=0.5, confidence=confidence)
        text += (f" A sample of about {need} cases would be needed to estimate this to within "
                 "±10 percentage points.")
    return text


def describe_share(ci: pr.ProportionCI, weighted: bool, noun: str, outcome: str,
                   confidence: float, method: str, audited: int | None = None) -> str:
    """The sentence of a finding: ``proportions.describe_proportion`` (small-n and wide-interval
    rules) for an unweighted count, ``weighted_sentence`` for a design-weighted one.  When only
    one of several audited cases could be judged, the sentence says so (rather than that one
    case was audited)."""
    if not reportable(ci.n):
        if audited is not None and audited > ci.n:
            return _sentence(too_few(ci.n, f"{noun} cases",
                                     verb="judged on this standard"))
        return _sentence(too_few(ci.n, f"{noun} cases"))
    if weighted:
        return weighted_sentence(ci, noun, outcome, confidence)
    return pr.describe_proportion(ci.successes, ci.n, noun="cases", service=noun,
                                  confidence=confidence, method=method,  # type: ignore[arg-type]
                                  outcome=outcome)


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def _word(ci: pr.ProportionCI, weighted: bool, confidence: float, method: str) -> str:
    """all / most / some / fewer than half / none, as the interval allows
    (``proportions.quantifier``; for a design-weighted share the same rules on its interval);
    blank below five cases, which get case observations only."""
    if not reportable(ci.n):
        return ""
    if not weighted:
        return pr.quantifier(ci.successes, ci.n, confidence=confidence,
                             method=method)  # type: ignore[arg-type]
    return pr.quantifier_for(ci)


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
                "word": _word(ci, weighted, confidence, method),
                "text": describe_share(ci, weighted, noun, outcome_phrase(standards, k),
                                       confidence, method, audited=len(sub)),
            })
    return pd.DataFrame(rows)


def results_display(results: pd.DataFrame) -> pd.DataFrame:
    """A readable table of ``standard_results``: 'x of n', the percentage and interval only
    where there are at least five cases."""
    def share(r: Any) -> str:
        if not reportable(r.n):
            return too_few(r.n, verb="judged")
        est = pct(r.estimate) + (" (weighted)" if r.weighted else "")
        return f"{est}, {pct(r.ci_low)} to {pct(r.ci_high)}"

    return pd.DataFrame({
        "Service": results["group_label"], "Standard": results["standard_label"],
        "Cases meeting the standard": [_count_cell(s, n) for s, n in
                                       zip(results["successes"], results["n"], strict=True)],
        "Share and 95% interval": [share(r) for r in results.itertuples()],
        "Finding": results["finding_id"],
    })


def sample_display(frame: pd.DataFrame, manifest: dict[str, Any] | None = None,
                   ledger: Any = None) -> pd.DataFrame:
    """The sample by service: cases audited and, from the sample manifest, the cases the
    service held (the population sampled) and how many cases each audited case stands for.

    Cases held are counts of children: with the page's disclosure ``ledger``
    (``analysis.reporting.Ledger``) they are recorded as table ``cases_held``, suppressed
    exactly as the sample page suppresses the same populations (``sampling.design_summary``:
    the same counts in the same order give the same pattern) and linked to that page's table,
    so the release-wide audit sees they are one count. The weight (population / audited) is
    hidden wherever the population is, since it would reveal it. Every stratum of the design
    is listed, including a service with no case audited. Counts of audited cases are counts
    of audit judgements and are published as they are.
    """
    from ..disclosure import suppress
    from ..sampling import population_counts, population_table_name

    audited = frame.groupby("group").size()
    strata = {str(s["stratum"]): s for s in (manifest or {}).get("strata", [])
              if isinstance(s, dict) and "stratum" in s}
    groups = _ordered_groups(audited.index.tolist())
    if not (strata and all(g in strata for g in groups)):
        out = pd.DataFrame({"Service": [group_label(g) for g in groups],
                            "Cases audited": [int(audited[g]) for g in groups]})
        total = {"Service": "All services", "Cases audited": int(audited.sum())}
        return pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    pop = population_counts(manifest or {})
    order = list(pop.index)
    if ledger is not None:
        sup = ledger.table("cases_held", pop)
        ledger.same("cases held = the sample page's populations", ledger.parts("cases_held"),
                    [(f"audit_sample/{population_table_name(manifest or {})}", r, "cases")
                     for r in order])
    else:
        sup = suppress(pop, totals=True)
    held = sup.table["cases"]
    order = _ordered_groups(order)  # shown in the review's order of services
    out = pd.DataFrame({
        "Service": [group_label(g) for g in order],
        "Cases audited": [int(audited.get(g, 0)) for g in order],
        "Cases held by the service": [held.loc[g] for g in order],
        "Each audited case stands for": [
            "c" if isinstance(held.loc[g], str) else
            ("" if not audited.get(g, 0) else
             f"{number(int(pop.loc[g, 'cases']) / int(audited[g]), 1)} cases")
            for g in order]})
    total = {"Service": "All services", "Cases audited": int(audited.sum()),
             "Cases held by the service": held.iloc[-1], "Each audited case stands for": ""}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def _count_cell(successes: float, n: float) -> str:
    """'x of n' for a group that may be reported; "n judged: too few to report" (no count
    met) below the minimum; "–" for none."""
    if not n or _isna(n):
        return "–"
    if not reportable(n):
        return too_few(n, verb="judged")
    return f"{int(successes)} of {int(n)}"


def standards_matrix(results: pd.DataFrame) -> pd.DataFrame:
    """Services (rows) by standards (columns), each cell 'x of n': the overview table."""
    r = results.assign(cell=[_count_cell(s, n) for s, n in
                             zip(results["successes"], results["n"], strict=True)])
    wide = r.pivot(index="group_label", columns="standard_label", values="cell")
    order = list(dict.fromkeys(results["group_label"]))
    cols = list(dict.fromkeys(results["standard_label"]))
    wide = wide.reindex(index=order, columns=cols)
    wide.index.name = "Service"
    wide.columns.name = None
    return wide


def service_summary(results: pd.DataFrame, group: str) -> str:
    """Markdown: the service's findings as Hackney wrote them, one bullet per standard."""
    sub = results[results["group"] == group]
    if sub.empty:
        return ""
    n = int(sub["cases_audited"].iloc[0])
    head = (f"A total of {n} {group_noun(group)} case{'s' if n != 1 else ''} "
            f"{'were' if n != 1 else 'was'} audited.")
    if not reportable(n):
        head += (f" With fewer than {min_audited()} cases audited, results for the service are "
                 f"{TOO_FEW}.")
    bullets = [f"* {t}" for t in sub["text"]]
    return "\n".join([head, "", *bullets])


