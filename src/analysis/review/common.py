"""Tier-2 review: constants, labels, the review frame's checks and small helpers.

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..schemas import Scale, Standards

__all__ = ["CASE_RULE", "DIRECTION_LABELS", "GRADE_ORDER", "GROUP_LABELS", "GROUP_NOUNS",
           "GROUP_ORDER", "METHOD_NOTE", "OUTCOMES", "ReviewError", "SERVICE_GROUPS", "case_rule",
           "check_audit", "group_label", "group_noun", "group_of", "outcome_phrase"]

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

#: Words that go before "cases" in a sentence ("All 9 triage cases ...", "2 of 6 triage cases ...").
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

def case_rule(standards: Standards | None = None, scale: Scale | None = None) -> str:
    """``CASE_RULE`` in the round's template's answer words and its scale's noun for a level
    (the Hackney template and tiers give ``CASE_RULE`` itself)."""
    from ..schemas import answer_label

    if scale is not None and scale.noun != "tier":
        return case_rule(standards).replace(
            "where auditors judged different tiers", f"where auditors judged different "
            f"{scale.noun}s").replace("the higher tier)", f"the higher {scale.noun})")
    if standards is None or (standards.met == ("yes",) and standards.not_met == ("partly", "no")
                             and "insufficient_information" in standards.answers):
        return CASE_RULE

    def words(answers: tuple[str, ...], joiner: str = "or") -> str:
        w = [f"*{answer_label(a).lower()}*" for a in answers]
        return w[0] if len(w) == 1 else ", ".join(w[:-1]) + f" {joiner} " + w[-1]

    left = standards.not_counted
    tie = (f"one auditor *{answer_label(standards.met[0]).lower()}*, the other "
           f"*{answer_label(standards.not_met[0]).lower()}*") if (
        standards.met and standards.not_met) else "one auditor met, the other not met"
    text = CASE_RULE.replace(
        "(default: *yes*) and as **not met** if it is one of its \"not met\" answers (default: "
        "*partly*\n   or *no*: partly meeting a safeguarding standard is not meeting it).",
        f"(here: {words(standards.met)}) and as **not met** if it is one of its \"not met\" "
        f"answers\n   (here: {words(standards.not_met)}).")
    text = text.replace("Auditors who answered *not applicable* or *insufficient information*",
                        f"Auditors who answered {words(left)}" if left else
                        "Auditors who left the answer blank")
    return text.replace("(for example one auditor *yes*, the other *partly*)",
                        f"(for example {tie})")


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


