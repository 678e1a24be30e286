"""Tier-2 case review: are preventative services working, or are high risks held at tier 2?

The model is the Hackney 2011 tier-2 audit (CHSCB QA sub-committee, "Report on Audit of
Safeguarding practice within Tier 2 service provision in Hackney", July 2011;
``shared/domain/seeds/003``): a sample of cases from several tier-2 services, each judged by a
multi-agency group against the same standards, findings written per service, and two
hypotheses - preventative services are working, or risks are being held too low.  This module
does the computations behind ``notebooks/tier2_case_review.ipynb`` and
``notebooks/hackney_2011_reproduction.ipynb``:

* **Case findings from several auditors** (``case_findings``): the documented rule ``CASE_RULE``
  turns each auditor's answer into the case's finding per standard, the auditors' tier into
  the case's judged tier, and theme flags into the case's themes.  Splits are resolved towards
  the concern (a tie is "not met", the higher tier, the theme present).
* **Agreement between auditors** (``auditor_agreement``): percent agreement, Fleiss' kappa and
  Gwet's AC1 per standard (``analysis.agreement``), and how many cases the tie rule decided.
* **Per standard, per service and overall** (``standard_results``): cases judged, cases meeting
  the standard, the proportion and its interval (Wilson 1927 by default; Clopper-Pearson or
  Jeffreys on request: ``analysis.proportions.proportion_ci``), design-weighted with Kish's
  effective sample size where the sample is not self-weighting
  (``analysis.proportions.weighted_proportion_ci``), and wording from
  ``analysis.proportions.describe_proportion`` that never claims more than the data.
* **Tier held against tier judged** (``tier_matrix``, ``tier_results``): the matrix per service
  and the share held too low and too high, with intervals; ``escalation_list`` is the internal
  list of cases for the board's officers (never published).
* **Themes** (``theme_results``, ``theme_cooccurrence``): how often each theme was found, and
  whether it goes with "held too low" (Newcombe 1998 interval of the difference; Fisher's exact
  test).
* **Delay to tier 3** (``delay_to_tier3``): Kaplan & Meier (1958) estimate of the time from
  first concern to referral to tier 3, censored at the round date, with the median and its
  Brookmeyer & Crowley (1982) interval (``statsmodels.duration.survfunc.SurvfuncRight``).
* **Change since the last audit** (``compare_rounds``): per standard, the difference in
  proportions with Newcombe's (1998) hybrid score interval and Fisher's exact test
  (``analysis.proportions.difference_ci``), "the data cannot tell whether it changed" unless
  the interval excludes zero and the test agrees (``analysis.reporting.CHANGE_RULE``), and
  the sample that would detect a change.
* **Reproducing the published audit** (``reproduce_published``): re-derives the Hackney 2011
  per-service findings from ``data/published/hackney_2011_findings.csv`` and sets beside each
  sentence of the report what its numbers support.

Every function returns aggregate tables, except ``case_findings``/``review_frame`` (inputs to
the others; pseudonymised ids, never displayed) and ``escalation_list`` (internal only).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import proportions as pr
from .findings import finding_id
from .proportions import weights_vary
from .reporting import (
    CENSORED_NOTE,
    TOO_FEW,
    cannot_tell,
    direction,
    min_audited,
    number,
    p_value,
    pct,
    points,
    reportable,
    too_few,
)
from .schemas import Scale, Standards

# ======================================================================================
# Constants and labels
# ======================================================================================


class ReviewError(Exception):
    """Bad input to the tier-2 review (reported without a traceback, naming the fix)."""


#: Services reported together, as Hackney did ("MAT meetings and YPRRP"); the sampling
#: design uses the same grouping as a stratum.
SERVICE_GROUPS = {"mat_panel": "mat_yprrp", "yprrp": "mat_yprrp"}

#: Plain labels of the review groups (strata) for headings and tables.
GROUP_LABELS = {
    "mat_yprrp": "MAT panels and YPRRP",
    "partnership_triage": "Partnership Triage",
    "tier2_social_work": "Tier-2 social work",
    "first_response_team": "First Response Team (referrals to children's social care)",
    "family_intervention_project": "Family intervention projects (FiP)",
    "school_map": "School multi-agency panels (MAP)",
    "health_visiting": "Health visiting",
    "front_door": "Front door", "early_help": "Early help",
    "mat_panel": "MAT panels", "yprrp": "YPRRP",
    "all": "All services",
}

#: Words that go before "cases" in a sentence ("All 9 of 9 triage cases ...").
GROUP_NOUNS = {
    "mat_yprrp": "MAT and YPRRP panel", "partnership_triage": "triage",
    "tier2_social_work": "tier-2 social work", "first_response_team": "First Response Team",
    "family_intervention_project": "FiP", "school_map": "school MAP",
    "health_visiting": "health visiting", "front_door": "front-door", "early_help": "early help",
    "all": "audited",
}

#: Hackney's order of presentation.
GROUP_ORDER = ("mat_yprrp", "partnership_triage", "tier2_social_work", "first_response_team",
               "family_intervention_project", "school_map", "health_visiting")

#: How each default standard reads after "N of M cases ..." (other templates get a generic
#: 'met the standard "<label>"').
OUTCOMES = {
    "referral_appropriate": "had a referral judged appropriate",
    "risk_assessed": "had risk factors appropriately identified and assessed",
    "threshold_applied": "had the threshold criteria accurately applied",
    "actions_proportionate": "had actions and plans judged appropriate and proportionate "
                             "to need",
    "appropriate_tier": "were held or handed off at the appropriate tier",
    "safeguarding_acted_on": "had safeguarding issues appropriately identified and acted on",
    "tier3_consultation": "had appropriate consultation with tier 3 where it was needed",
}

#: Worse first: the Ofsted grades, used to resolve split overall grades towards the concern.
GRADE_ORDER = ("inadequate", "requires_improvement", "good", "outstanding")

TOO_LOW, RIGHT, TOO_HIGH = "too_low", "right", "too_high"
DIRECTION_LABELS = {TOO_LOW: "Held too low", RIGHT: "Held at the tier judged right",
                    TOO_HIGH: "Held too high"}

#: The documented rule that turns several auditors' answers into the case's finding.
CASE_RULE = """\
**How several auditors' answers become the case's finding.** Each case was judged by more than
one auditor. For each standard:

1. An auditor's answer counts as **met** if it is one of the template's "met" answers
   (default: *yes*) and as **not met** if it is one of its "not met" answers (default: *partly*
   or *no*: partly meeting a safeguarding standard is not meeting it).
2. Auditors who answered *not applicable* or *insufficient information* are left out of the
   vote. If **no** auditor could judge the standard, the case is left out of that standard's
   count altogether (as the Hackney audit did with incomplete files).
3. The standard is **met for the case when more auditors said met than not met**.
4. A **tie** (for example one auditor *yes*, the other *partly*) counts as **not met**.

Why a tie counts as not met: a finding that practice met a standard should rest on the
auditors' agreement, and an audit whose purpose is to find risks held too low should not let a
split decision read as reassurance. The same principle resolves the other split judgements:
where auditors judged different tiers, the case takes the **higher** of the middle judgements
(for two auditors, the higher tier); a theme counts as present when **at least half** of the
auditors who answered flagged it; and a split overall grade takes the **lower** of the middle
grades. How often auditors split is reported below, standard by standard.
"""

METHOD_NOTE = {
    "wilson": "Wilson (1927) score interval",
    "clopper-pearson": "Clopper-Pearson (1934) exact interval",
    "jeffreys": "Jeffreys interval (Brown, Cai & DasGupta 2001)",
}


def group_of(service: object) -> str:
    """The review group (stratum) of a service code: MAT and YPRRP together, as Hackney did."""
    s = str(service)
    return SERVICE_GROUPS.get(s, s)


def group_label(group: str) -> str:
    return GROUP_LABELS.get(group, str(group).replace("_", " ").capitalize())


def group_noun(group: str) -> str:
    return GROUP_NOUNS.get(group, group_label(group))


def outcome_phrase(standards: Standards, key: str) -> str:
    """'had a referral judged appropriate' for the default standards, else 'met the standard
    "<label>"'."""
    return OUTCOMES.get(key, f'met the standard "{standards.label(key)}"')


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _lower1(text: str) -> str:
    return text[:1].lower() + text[1:]


def _ordered_groups(groups: Sequence[str]) -> list[str]:
    known = [g for g in GROUP_ORDER if g in groups]
    return known + sorted(g for g in set(groups) if g not in GROUP_ORDER)


def _split(rows: pd.DataFrame, by: str | None, frame: pd.DataFrame | None = None,
           overall: bool = True) -> list[tuple[str, pd.DataFrame]]:
    """``rows`` split by column ``by`` (groups in display order, taken from ``frame``, default
    ``rows``), then ``("all", rows)`` when ``overall``."""
    groups: list[tuple[str, pd.DataFrame]] = []
    if by is not None:
        labels = (rows if frame is None else frame)[by].dropna().astype(str).unique().tolist()
        for g in _ordered_groups(labels):
            groups.append((g, rows[rows[by].astype(str) == g]))
    if overall:
        groups.append(("all", rows))
    return groups


# ======================================================================================
# Checking the inputs
# ======================================================================================


def check_audit(audit: pd.DataFrame, standards: Standards, source: str = "the audit returns"
                ) -> None:
    """Raise ``ReviewError`` naming the file, column and fix when the audit returns do not fit
    the template (missing standard columns, a case judged twice by the same auditor, unknown
    answers)."""
    need = ["case_id", "auditor_id"] + [f"std_{k}" for k in standards.standard_keys]
    missing = [c for c in need if c not in audit.columns]
    if missing:
        raise ReviewError(
            f"{source}: column(s) {', '.join(missing)} missing. The audit template "
            f"'{standards.name}' expects one column std_<key> per standard; ingest the returns "
            "with the same standards file (--standards) as the review, or pass the matching "
            "standards_file to the notebook.")
    dup = audit.duplicated(["case_id", "auditor_id"])
    if dup.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(dup.to_numpy())[:5])
        raise ReviewError(f"{source}: the same auditor judged the same case twice (data rows "
                          f"{rows}); keep one return per case per auditor.")
    allowed = set(standards.answers)
    for k in standards.standard_keys:
        col = audit[f"std_{k}"]
        bad = ~col.isna() & ~col.astype("object").isin(allowed)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ReviewError(f"{source}: column std_{k}, data row {i + 2}: answer "
                              f"{col.iloc[i]!r} is not one of {sorted(allowed)}.")


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


def sample_display(frame: pd.DataFrame, manifest: dict[str, Any] | None = None
                   ) -> pd.DataFrame:
    """The sample by service: cases audited and, from the sample manifest, the cases the
    service held (the population sampled) and how many cases each audited case stands for.

    Cases held are counts of children, so they go through ``analysis.disclosure.suppress``
    (DfE: 1 to 5 shown as ``c``, with secondary suppression against the total); the weight
    (population / audited) is hidden wherever the population is, since it would reveal it.
    Counts of audited cases are counts of audit judgements and are published as they are.
    """
    from .disclosure import suppress

    audited = frame.groupby("group").size()
    groups = _ordered_groups(audited.index.tolist())
    out = pd.DataFrame({"Service": [group_label(g) for g in groups],
                        "Cases audited": [int(audited[g]) for g in groups]})
    strata = {str(s["stratum"]): s for s in (manifest or {}).get("strata", [])
              if isinstance(s, dict) and "stratum" in s}
    if strata and all(g in strata for g in groups):
        pop = pd.DataFrame({"held": [int(strata[g].get("population", 0)) for g in groups]},
                           index=[group_label(g) for g in groups])
        sup = suppress(pop, totals=True)
        out["Cases held by the service"] = sup.table["held"].iloc[:len(groups)].to_list()
        out["Each audited case stands for"] = [
            "c" if bool(sup.mask["held"].iloc[i]) else
            f"{number(int(strata[g]['population']) / max(int(audited[g]), 1), 1)} cases"
            for i, g in enumerate(groups)]
        total_held = sup.table["held"].iloc[-1]
    else:
        total_held = None
    total = {"Service": "All services", "Cases audited": int(audited.sum())}
    if total_held is not None:
        total.update({"Cases held by the service": total_held,
                      "Each audited case stands for": ""})
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
    from . import agreement as ag

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


def auditor_agreement_table(agree: pd.DataFrame) -> pd.DataFrame:
    """The auditors' agreement per standard as a readable table (``auditor_agreement``)."""
    def kap(r: Any) -> str:
        return "not measurable" if _isna(r.kappa) else \
            f"{number(r.kappa)} ({number(r.ci_low)} to {number(r.ci_high)})"

    return pd.DataFrame({
        "Standard": agree["standard_label"],
        "Cases with two or more auditors": agree["cases"].astype(int),
        "All auditors gave the same answer": [
            f"{int(s)} of {int(n)}" for s, n in zip(agree["same_answer"], agree["cases"],
                                                    strict=True)],
        "Pairs of answers agreeing": [pct(p) for p in agree["percent_agreement"]],
        "Split between met and not met": agree["split_met_not_met"].astype(int),
        "Fleiss' kappa (95% interval)": [kap(r) for r in agree.itertuples()],
        "Gwet's AC1": [number(a, missing="–") for a in agree["ac1"]],
    })


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
                 confidence: float = 0.95) -> pd.DataFrame:
    """Share of cases held too low and too high, per service and overall, with intervals.

    Denominator: audited cases with both a tier held and a judged tier.  Intervals and
    weighting as ``standard_results``.  Ids: ``T2-TIER-HELD-TOO-LOW`` / ``...-TOO-HIGH``
    overall and ``T2-<SERVICE>-TIER-HELD-TOO-LOW`` per service.
    """
    df = frame.dropna(subset=["tier_direction"])
    groups = _split(df, by, frame)
    rows = []
    for g, sub in groups:
        for d, word in ((TOO_LOW, "were held at a lower tier than the auditors judged right"),
                        (TOO_HIGH, "were held at a higher tier than the auditors judged "
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


def tier_display(tr: pd.DataFrame) -> pd.DataFrame:
    wide = []
    for g, sub in tr.groupby("group", sort=False):
        row: dict[str, Any] = {"Service": group_label(str(g)), "Cases": int(sub["n"].iloc[0])}
        for d in (TOO_LOW, TOO_HIGH):
            r = sub[sub["direction"] == d].iloc[0]
            if r.n == 0:
                cell = "–"
            elif not reportable(r.n):
                cell = too_few(r.n, verb="judged")
            else:
                cell = (f"{int(r.successes)} of {int(r.n)}: {pct(r.estimate)}"
                        f"{' (weighted)' if r.weighted else ''}, {pct(r.ci_low)} to "
                        f"{pct(r.ci_high)}")
            row[DIRECTION_LABELS[d]] = cell
        wide.append(row)
    return pd.DataFrame(wide)


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
    from .export import write_csv

    lst = escalation_list(frame, standards)
    path = Path(internal_dir) / f"tier2_escalation_list_{round_name}.csv"
    write_csv(lst, path)
    return path, len(lst)


# ======================================================================================
# Themes
# ======================================================================================


def theme_results(frame: pd.DataFrame, standards: Standards, by: str | None = "group",
                  method: str = "wilson", confidence: float = 0.95) -> pd.DataFrame:
    """How often each theme was found, per service and overall, with intervals (weighting as
    ``standard_results``).  Ids: ``T2-THEME-<KEY>`` overall, ``T2-<SERVICE>-THEME-<KEY>`` per
    service."""
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
    interval excludes zero.  Unweighted: a within-sample comparison."""
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
                                 f"{'held too low' if len(b) == 0 else 'held at or above'} "
                                 "the judged tier)."})
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


def themes_display(tr: pd.DataFrame) -> pd.DataFrame:
    """Services (rows) by themes (columns), each cell 'x of n'."""
    r = tr.assign(cell=[_count_cell(s, n) for s, n in
                        zip(tr["successes"], tr["n"], strict=True)])
    wide = r.pivot(index="group_label", columns="theme_label", values="cell")
    wide = wide.reindex(index=list(dict.fromkeys(tr["group_label"])),
                        columns=list(dict.fromkeys(tr["theme_label"])))
    wide.index.name = "Service"
    wide.columns.name = None
    return wide


# ======================================================================================
# Delay from first concern to tier 3
# ======================================================================================


@dataclass
class DelayResult:
    """Kaplan-Meier summary of days from first concern to referral to tier 3."""

    n: int
    referred: int
    censored: int
    excluded: int
    median: float
    ci_low: float
    ci_high: float
    by_day: pd.DataFrame
    curve: pd.DataFrame
    text: str
    method: str = ("Kaplan & Meier (1958) estimator, censored at the round date; median "
                   "interval by Brookmeyer & Crowley (1982), complementary log-log "
                   "(statsmodels SurvfuncRight)")
    extra: dict = field(default_factory=dict)


def delay_times(cases: pd.DataFrame, round_date: date | str | pd.Timestamp
                ) -> tuple[pd.DataFrame, int]:
    """Days from ``first_concern_date`` to ``tier3_referral_date`` (event) or to the round date
    (censored, not yet referred).  Cases without a first-concern date, with a first concern
    after the round date, or with a referral dated before the first concern are excluded and
    counted.  Returns (frame with ``days``, ``referred``, ``service``; number excluded)."""
    for c in ("first_concern_date", "tier3_referral_date"):
        if c not in cases.columns:
            raise ReviewError(f"cases table: column {c} is missing; the delay analysis needs "
                              "first_concern_date and tier3_referral_date (may be blank).")
    end = pd.Timestamp(round_date)
    d = cases[cases["first_concern_date"].notna()]
    start = pd.to_datetime(d["first_concern_date"])
    ref = pd.to_datetime(d["tier3_referral_date"])
    referred = ref.notna() & (ref <= end)
    stop = ref.where(referred, end)
    days = (stop - start).dt.days.astype(float)
    ok = (start <= end) & (days >= 0)
    excluded = int(len(cases) - ok.sum())
    out = pd.DataFrame({"days": days[ok], "referred": referred[ok].astype(int),
                        "service": d.loc[ok, "service"] if "service" in d.columns else ""})
    return out.reset_index(drop=True), excluded


def _km_prob_ci(sf: Any, t: float, confidence: float) -> tuple[float, float, float]:
    """Cumulative share referred by day ``t`` (1 - S(t)) with a pointwise interval from
    Greenwood's variance on the complementary log-log scale (Kalbfleisch & Prentice 2002)."""
    times = np.asarray(sf.surv_times)
    i = np.searchsorted(times, t, side="right") - 1
    if i < 0:
        return 0.0, 0.0, 0.0
    s = float(sf.surv_prob[i])
    se = float(sf.surv_prob_se[i])
    if s <= 0 or s >= 1 or se == 0:
        return 1 - s, 1 - s, 1 - s
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    theta = math.log(-math.log(s))
    sd = se / (s * abs(math.log(s)))
    s_lo = math.exp(-math.exp(theta + z * sd))
    s_hi = math.exp(-math.exp(theta - z * sd))
    return 1 - s, 1 - s_hi, 1 - s_lo


def delay_to_tier3(cases: pd.DataFrame, round_date: date | str | pd.Timestamp,
                   days: Sequence[int] = (30, 90, 180), confidence: float = 0.95
                   ) -> DelayResult:
    """Time from first concern to referral to tier 3, for tier-2 cases with dates.

    Method: the Kaplan & Meier (1958) product-limit estimator
    (``statsmodels.duration.survfunc.SurvfuncRight``), with cases not referred by the round date
    censored there.  The median time and its interval come from ``SurvfuncRight.quantile`` and
    ``quantile_ci`` (the test-inversion interval of Brookmeyer, R. & Crowley, J. (1982) "A
    confidence interval for the median survival time", Biometrics 38:29-41, on the
    complementary log-log scale).  When fewer than half of the cases are referred the median
    cannot be estimated yet and is reported as such; the cumulative share referred by 30, 90 and 180
    days is given with pointwise intervals (Greenwood variance, log-log scale).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    t, excluded = delay_times(cases, round_date)
    n, referred = len(t), int(t["referred"].sum()) if len(t) else 0
    empty = pd.DataFrame(columns=["day", "share_referred", "ci_low", "ci_high"])
    if n == 0 or referred == 0:
        text = ("No tier-2 case has both a first-concern date and a referral to tier 3, so the "
                "time to referral cannot be estimated." if n else
                "No tier-2 case records a first-concern date: the delay cannot be measured.")
        return DelayResult(n, referred, n - referred, excluded, math.nan, math.nan, math.nan,
                           empty, pd.DataFrame(columns=["day", "not_yet_referred"]), text)
    sf = SurvfuncRight(t["days"].to_numpy(), t["referred"].to_numpy())
    alpha = 1 - confidence
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        med = float(sf.quantile(0.5))
        lo, hi = (float(x) for x in sf.quantile_ci(0.5, alpha=alpha, method="cloglog"))
        by_day = pd.DataFrame([{"day": d, **dict(zip(("share_referred", "ci_low", "ci_high"),
                                                     _km_prob_ci(sf, d, confidence),
                                                     strict=True))} for d in days])
    surv_min = float(np.min(sf.surv_prob))
    reached = surv_min <= 0.5 and not _isna(med)
    curve = pd.DataFrame({"day": np.concatenate([[0.0], np.asarray(sf.surv_times, float)]),
                          "not_yet_referred": np.concatenate([[1.0],
                                                              np.asarray(sf.surv_prob)])})
    lvl = f"{confidence * 100:g}%"
    head = (f"Of {n:,} tier-2 cases with a first-concern date, {referred:,} were referred to "
            f"tier 3 by the round date; the other {n - referred:,} are counted up to that date "
            "as not yet referred (censored).")
    if reached:
        ci_txt = (f"{lvl} CI {number(lo, 0)} to {number(hi, 0)} days" if not (_isna(lo) or _isna(hi)
                                                                 or math.isinf(hi))
                  else f"the upper limit of its {lvl} CI cannot be estimated yet")
        text = (f"{head} Half of the cases had been referred within {number(med, 0)} days of the "
                f"first concern ({ci_txt}).")
    else:
        text = (f"{head} Fewer than half of the cases had been referred to tier 3 by the round "
                "date, so the median time to referral cannot be estimated yet. "
                + CENSORED_NOTE)
    parts = [f"{pct(r.share_referred)} within {int(r.day)} days ({pct(r.ci_low)} to "
             f"{pct(r.ci_high)})" for r in by_day.itertuples()]
    text += f" Estimated share referred to tier 3: {'; '.join(parts)}."
    return DelayResult(n, referred, n - referred, excluded, med if reached else math.nan,
                       lo if reached else math.nan, hi if reached else math.nan, by_day, curve,
                       text)


def delay_by_service(cases: pd.DataFrame, round_date: date | str | pd.Timestamp,
                     min_cases: int = 10, confidence: float = 0.95) -> pd.DataFrame:
    """Per service: cases with dates, referred, and the Kaplan-Meier share referred within 90
    days (``delay_to_tier3``).  Services with fewer than ``min_cases`` cases get no estimate.
    Counts here are counts of children: pass the table through ``analysis.disclosure`` before
    publishing (``delay_service_display`` does)."""
    t, _ = delay_times(cases, round_date)
    rows = []
    for s in _ordered_groups(t["service"].map(group_of).unique().tolist()):
        sub = cases[cases["service"].map(group_of) == s]
        res = delay_to_tier3(sub, round_date, days=(90,), confidence=confidence)
        est = res.by_day.iloc[0] if len(res.by_day) and res.n >= min_cases else None
        rows.append({"group": s, "group_label": group_label(s), "cases": res.n,
                     "referred": res.referred,
                     "share_90": math.nan if est is None else est["share_referred"],
                     "ci_low": math.nan if est is None else est["ci_low"],
                     "ci_high": math.nan if est is None else est["ci_high"]})
    return pd.DataFrame(rows)


def delay_service_display(table: pd.DataFrame) -> pd.DataFrame:
    """Disclosure-controlled display of ``delay_by_service``: counts of children of 1 to 5 are
    suppressed (with secondary suppression across the column and its total) by
    ``analysis.disclosure.suppress`` (DfE convention), and so are shares whose count is."""
    from .disclosure import suppress

    counts = table.set_index("group_label")[["cases", "referred"]]
    counts = counts.assign(not_referred=counts["cases"] - counts["referred"])
    sup = suppress(counts[["referred", "not_referred"]], totals=True)
    shown = sup.table
    out = pd.DataFrame({"Service": shown.index,
                        "Cases with dates": shown["Total"].to_numpy(),
                        "Referred to tier 3": shown["referred"].to_numpy()})
    shares = []
    for label in shown.index:
        if label == "Total" or label not in table["group_label"].to_numpy():
            shares.append("")
            continue
        r = table[table["group_label"] == label].iloc[0]
        hidden = bool(sup.mask.loc[label].any())
        shares.append("c" if hidden else ("too few cases" if _isna(r.share_90) else
                                          f"{pct(r.share_90)} ({pct(r.ci_low)} to "
                                          f"{pct(r.ci_high)})"))
    out["Referred within 90 days (95% interval)"] = shares
    return out


def delay_plot(res: DelayResult, title: str = "Time from first concern to referral to tier 3"):
    """Kaplan-Meier step curve of the share not yet referred, with the 50% line."""
    import matplotlib.pyplot as plt

    from .figures import PALETTE

    fig, ax = plt.subplots(figsize=(7, 3.8))
    if len(res.curve):
        ax.step(res.curve["day"], res.curve["not_yet_referred"], where="post",
                color=PALETTE["blue"], lw=2, label="Share not yet referred")
    ax.axhline(0.5, color=PALETTE["grey"], ls="--", lw=1, label="Half of the cases")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Days since the first concern")
    ax.set_ylabel("Share not yet referred to tier 3")
    ax.yaxis.set_major_formatter(lambda v, _: pct(v))
    ax.set_title(title)
    ax.legend(loc="lower left", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def delay_alt_text(res: DelayResult) -> str:
    return ("Step chart (Kaplan-Meier curve) of the share of tier-2 cases not yet referred to "
            f"tier 3 against days since the first concern, falling from 100%. {res.text}")


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


def change_display(ch: pd.DataFrame) -> pd.DataFrame:
    def cell(x: int, n: int) -> str:
        if not n:
            return "–"
        if not reportable(n):
            return too_few(n, verb="judged")
        return f"{int(x)} of {int(n)} ({pct(x / n)})"

    return pd.DataFrame({
        "Standard": ch["standard_label"],
        "Previous round": [cell(x, n) for x, n in zip(ch["x1"], ch["n1"], strict=True)],
        "This round": [cell(x, n) for x, n in zip(ch["x2"], ch["n2"], strict=True)],
        "Change (points, 95% interval)": [
            "–" if _isna(r.difference) else
            f"{points(r.difference, signed=True, unit=False)} "
            f"({points(r.ci_low, signed=True, unit=False)} to "
            f"{points(r.ci_high, signed=True, unit=False)})"
            for r in ch.itertuples()],
        "Fisher's exact p": [p_value(p, missing="–") for p in ch["p_value"]],
        "Change": list(ch["change"]),
    })


# ======================================================================================
# Figures
# ======================================================================================

_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def standards_dotplot(results: pd.DataFrame, min_n: int | None = None,
                      title: str = "Cases meeting each standard, by service"):
    """Dot plot: one row per standard, one marker per service (Okabe-Ito colour *and* marker
    shape), 95% interval as a line; services with fewer than ``min_n`` judged cases are not
    plotted (no percentages for them), "All services" in black."""
    import matplotlib.pyplot as plt

    from .figures import PALETTE

    r = results[results["n"] >= min_audited(min_n)]
    groups = list(dict.fromkeys(r["group"]))
    stds = list(dict.fromkeys(results["standard"]))
    labels = dict(zip(results["standard"], results["standard_label"], strict=False))
    colours = [PALETTE[c] for c in ("orange", "sky", "green", "blue", "vermillion", "purple",
                                    "yellow")]
    fig, ax = plt.subplots(figsize=(9, 2.2 + 0.22 * len(stds) * max(1, len(groups))))
    step = 0.8 / max(len(groups), 1)
    for i, g in enumerate(groups):
        sub = r[r["group"] == g].set_index("standard")
        colour = PALETTE["black"] if g == "all" else colours[i % len(colours)]
        ys, xs, lo, hi = [], [], [], []
        for j, s in enumerate(stds):
            if s in sub.index and not _isna(sub.loc[s, "estimate"]):
                ys.append(j - 0.4 + step * (i + 0.5))
                xs.append(sub.loc[s, "estimate"])
                lo.append(sub.loc[s, "ci_low"])
                hi.append(sub.loc[s, "ci_high"])
        if not ys:
            continue
        xs_a = np.array(xs)
        ax.errorbar(xs_a, ys, xerr=[xs_a - np.array(lo), np.array(hi) - xs_a], fmt=_MARKERS[
            i % len(_MARKERS)], color=colour, ecolor=colour, capsize=2, ms=6, lw=1.2,
            label=group_label(g))
    ax.set_yticks(range(len(stds)), [labels[s] for s in stds])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: pct(v))
    ax.set_xlabel("Share of judged cases meeting the standard (95% interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False, fontsize=9,
              ncol=2)
    fig.tight_layout()
    return fig


def standards_alt_text(results: pd.DataFrame, min_n: int | None = None) -> str:
    min_n = min_audited(min_n)
    r = results[results["n"] >= min_n]
    left_out = sorted({group_label(g) for g in results.loc[results["n"] < min_n, "group"]})
    lines = [f"{x.group_label}, {x.standard_label}: {pct(x.estimate)} ({pct(x.ci_low)} to "
             f"{pct(x.ci_high)})" for x in r.itertuples()]
    tail = (f" Not plotted (fewer than {min_n} judged cases): {', '.join(left_out)}."
            if left_out else "")
    return ("Dot plot of the share of judged cases meeting each standard, by service, with 95% "
            "intervals. " + "; ".join(lines) + "." + tail)


def tier_heatmap(matrix: pd.DataFrame, scale: Scale, title: str):
    """Heat map of tier held (rows) against tier judged right (columns): counts in every
    cell (colour is never the only cue), cells above the diagonal (held too low) outlined."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    from .figures import PALETTE, SEQUENTIAL

    lab = {lv: scale.labels.get(lv, lv) for lv in scale.levels}
    m = matrix.to_numpy()
    fig, ax = plt.subplots(figsize=(1.8 + 1.5 * m.shape[1], 1.4 + 0.9 * m.shape[0]))
    cmap = colormaps[SEQUENTIAL]
    vmax = max(int(m.max()), 1)
    ax.imshow(m, cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            r, g, b, _ = cmap(m[i, j] / vmax)
            lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=10,
                    color="black" if lum > 0.5 else "white",
                    fontweight="bold" if i == j else "normal")
            if j > i and m[i, j] > 0:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.5,
                                       ec=PALETTE["vermillion"], ls="--"))
    ax.set_xticks(range(m.shape[1]), [lab[c] for c in matrix.columns], rotation=20, ha="right")
    ax.set_yticks(range(m.shape[0]), [lab[c] for c in matrix.index])
    ax.set_xlabel("Tier the auditors judged right")
    ax.set_ylabel("Tier held")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def tier_alt_text(matrix: pd.DataFrame, scale: Scale) -> str:
    m = matrix.to_numpy()
    n = int(m.sum())
    low = int(np.triu(m, 1).sum())
    high = int(np.tril(m, -1).sum())
    cells = [f"held {scale.labels.get(r, r)}, judged {scale.labels.get(c, c)}: "
             f"{int(matrix.loc[r, c])}" for r in matrix.index for c in matrix.columns
             if matrix.loc[r, c] > 0]
    return (f"Heat map of {n} audited cases, tier held (rows) against the tier the auditors "
            f"judged right (columns). {n - low - high} on the diagonal (held at the right "
            f"tier), {low} above it (held too low, outlined), {high} below it (held too high). "
            + "; ".join(cells) + ".")


def themes_chart(themes: pd.DataFrame, title: str = "Themes found in the audited cases"):
    """Horizontal dot-and-interval chart of each theme's overall frequency."""
    import matplotlib.pyplot as plt

    from .figures import PALETTE

    r = themes[(themes["group"] == "all") & themes["n"].map(reportable)].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(r) + 1.5))
    y = np.arange(len(r))
    est = r["estimate"].to_numpy(dtype=float)
    ax.barh(y, est, color=PALETTE["sky"], edgecolor=PALETTE["black"], height=0.55)
    ax.errorbar(est, y, xerr=[est - r["ci_low"].to_numpy(float),
                              r["ci_high"].to_numpy(float) - est], fmt="none",
                ecolor=PALETTE["black"], capsize=3)
    for i, row in r.iterrows():
        ax.text(min(float(row["ci_high"]) + 0.02, 0.9), i,
                f"{int(row['successes'])} of {int(row['n'])}", va="center", fontsize=9)
    ax.set_yticks(y, r["theme_label"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: pct(v))
    ax.set_xlabel("Share of audited cases (95% interval)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def themes_alt_text(themes: pd.DataFrame) -> str:
    r = themes[(themes["group"] == "all") & themes["n"].map(reportable)]
    return ("Bar chart of how often each theme was found across the audited cases, with 95% "
            "intervals. " + "; ".join(f"{x.theme_label}: {int(x.successes)} of {int(x.n)} "
                                      f"({pct(x.estimate)}, {pct(x.ci_low)} to "
                                      f"{pct(x.ci_high)})" for x in r.itertuples()) + ".")


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
                                           outcome=outcome, small="count")
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


def reproduction_display(rep: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Finding": rep["finding_id"], "Standard": rep["standard_label"],
        "The report says (page)": [f"“{q}” (p. {p})" for q, p in
                                   zip(rep["quote"], rep["page"], strict=True)],
        "Count": ["–" if _isna(x) else f"{int(x)} of {int(n)}" for x, n in
                  zip(rep["cases_met"], rep["cases_judged"], strict=True)],
        "What the numbers support": rep["supported"],
        "Verdict": rep["verdict"],
    })


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
                                 outcome=outcome_phrase(standards, k), small="count"))})
    return pd.DataFrame(rows)
