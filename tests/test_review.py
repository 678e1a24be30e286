"""Tests of analysis.review: the tier-2 case review (Hackney 2011 model).

Hand-made audit returns (two auditors per case, pseudonymised ids) check the case rule, the
per-service proportions and their intervals against published values, the wording rules,
design weighting, the tier matrix, themes, the Kaplan-Meier delay, the repeat-audit
comparison and the reproduction of the published Hackney 2011 counts.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import review as rv
from analysis.privacy import DEMO_KEY, pseudonymise
from analysis.reporting import review as rr
from analysis.schemas import load_scale, load_standards

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "data" / "published"
STD = load_standards()
SCALE = load_scale("hackney")
KEYS = STD.standard_keys


def cid(raw: str) -> str:
    return pseudonymise(raw, DEMO_KEY, "case")


def returns(cases: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cases table, audit returns) from a compact description.

    Each case: {"id", "service", "held", "auditors": [ {standard: answer, "tier": level,
    "themes": {key: bool}} ...]}; standards not given are answered "yes"; the auditors' tier
    defaults to the tier held.
    """
    crows, arows = [], []
    for c in cases:
        case_id = cid(c["id"])
        crows.append({"case_id": case_id, "service": c["service"],
                      "level_of_need": c.get("held", "2A"),
                      "first_concern_date": pd.Timestamp(c.get("first", "2025-01-01")),
                      "tier3_referral_date": pd.Timestamp(c["tier3"]) if c.get("tier3")
                      else pd.NaT})
        for i, a in enumerate(c.get("auditors", [{}, {}])):
            row = {"case_id": case_id, "auditor_id": f"A{i + 1}"}
            for k in KEYS:
                row[f"std_{k}"] = a.get(k, "yes")
            row["tier_judged"] = a.get("tier", c.get("held", "2A"))
            for t in STD.theme_keys:
                row[f"theme_{t}"] = a.get("themes", {}).get(t, False)
            row["overall_grade"] = a.get("grade", "good")
            row["notes"] = "free text that must never appear in outputs"
            arows.append(row)
    cases_df = pd.DataFrame(crows)
    audit = pd.DataFrame(arows)
    for t in STD.theme_keys:
        audit[f"theme_{t}"] = audit[f"theme_{t}"].astype("boolean")
    return cases_df, audit


def hackney_like(frt_appropriate: int = 2, triage_appropriate: int = 8) -> list[dict]:
    """The Hackney 2011 composition with its referral-appropriate counts (both auditors agree)."""
    out: list[dict] = []
    spec = [("partnership_triage", 9, triage_appropriate), ("first_response_team", 6,
                                                             frt_appropriate),
            ("tier2_social_work", 4, 3), ("mat_panel", 3, 3), ("yprrp", 2, 2),
            ("family_intervention_project", 3, 3), ("school_map", 1, 1),
            ("health_visiting", 1, 1)]
    for service, n, met in spec:
        for i in range(n):
            ans = "yes" if i < met else "no"
            out.append({"id": f"{service}-{i}", "service": service,
                        "auditors": [{"referral_appropriate": ans},
                                     {"referral_appropriate": ans}]})
    return out


def frame_of(cases: list[dict], weights: pd.DataFrame | None = None) -> pd.DataFrame:
    c, a = returns(cases)
    return rv.review_frame(c, a, STD, SCALE, weights=weights)


# --------------------------------------------------------------------------------------
# The case rule (several auditors -> the case's finding)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("answers", "expected"), [
    (("yes", "yes"), True),
    (("no", "no"), False),
    (("yes", "no"), False),                    # a tie is not met
    (("yes", "partly"), False),                # partly counts as not met, then a tie
    (("partly", "partly"), False),
    (("yes", "not_applicable"), True),         # an auditor who cannot judge does not vote
    (("no", "insufficient_information"), False),
    (("not_applicable", "insufficient_information"), None),  # nobody could judge: left out
    (("yes", "yes", "no"), True),              # majority of three
    (("yes", "no", "partly"), False),
])
def test_case_rule_majority_met_tie_not_met_and_unjudgeable_left_out(answers, expected) -> None:
    c, a = returns([{"id": "c1", "service": "partnership_triage",
                     "auditors": [{"referral_appropriate": x} for x in answers]}])
    got = rv.case_findings(a, STD, SCALE)["std_referral_appropriate"].iloc[0]
    assert (got is pd.NA) if expected is None else bool(got) is expected


def test_case_left_out_of_the_denominator_when_no_auditor_could_judge() -> None:
    cases = [{"id": f"c{i}", "service": "partnership_triage"} for i in range(5)]
    cases.append({"id": "c9", "service": "partnership_triage",
                  "auditors": [{"referral_appropriate": "not_applicable"},
                               {"referral_appropriate": "insufficient_information"}]})
    res = rv.standard_results(frame_of(cases), STD)
    r = res[(res.group == "partnership_triage") & (res.standard == "referral_appropriate")]
    assert (int(r.successes.iloc[0]), int(r.n.iloc[0]), int(r.cases_audited.iloc[0])) == (5, 5, 6)


def test_split_tier_takes_the_higher_tier_and_is_flagged() -> None:
    c, a = returns([{"id": "c1", "service": "tier2_social_work", "held": "2B",
                     "auditors": [{"tier": "2B"}, {"tier": "3"}]},
                    {"id": "c2", "service": "tier2_social_work", "held": "2B",
                     "auditors": [{"tier": "2A"}, {"tier": "2A"}]}])
    cf = rv.case_findings(a, STD, SCALE).set_index("case_id")
    assert cf.loc[cid("c1"), "tier_judged"] == "3" and bool(cf.loc[cid("c1"), "tier_split"])
    assert cf.loc[cid("c2"), "tier_judged"] == "2A" and not bool(cf.loc[cid("c2"),
                                                                        "tier_split"])
    fr = rv.review_frame(c, a, STD, SCALE).set_index("case_id")
    assert fr.loc[cid("c1"), "tier_direction"] == rv.TOO_LOW
    assert fr.loc[cid("c2"), "tier_direction"] == rv.TOO_HIGH


def test_theme_present_when_at_least_half_the_auditors_flag_it() -> None:
    t = STD.theme_keys[0]
    c, a = returns([{"id": "c1", "service": "first_response_team",
                     "auditors": [{"themes": {t: True}}, {"themes": {t: False}}]},
                    {"id": "c2", "service": "first_response_team",
                     "auditors": [{"themes": {t: True}}, {}, {}]}])
    cf = rv.case_findings(a, STD, SCALE).set_index("case_id")
    assert bool(cf.loc[cid("c1"), f"theme_{t}"]) is True
    assert bool(cf.loc[cid("c2"), f"theme_{t}"]) is False


def test_split_overall_grade_takes_the_lower_grade() -> None:
    _, a = returns([{"id": "c1", "service": "partnership_triage",
                     "auditors": [{"grade": "good"}, {"grade": "requires_improvement"}]}])
    assert rv.case_findings(a, STD, SCALE)["overall_grade"].iloc[0] == "requires_improvement"


def test_case_rule_text_documents_the_tie_rule_and_why() -> None:
    text = rv.CASE_RULE.lower()
    assert "tie" in text and "not met" in text and "why" in text
    assert "not applicable" in text and "left out" in text


# --------------------------------------------------------------------------------------
# Proportions, intervals and wording
# --------------------------------------------------------------------------------------


def test_proportions_and_wilson_intervals_match_published_values() -> None:
    """Hackney 2011: triage 8 of 9, FRT 2 of 6; Wilson intervals as in Newcombe (1998a)."""
    res = rv.standard_results(frame_of(hackney_like()), STD).set_index(["group", "standard"])
    frt = res.loc[("first_response_team", "referral_appropriate")]
    assert (frt.successes, frt.n) == (2, 6)
    assert (round(frt.ci_low, 4), round(frt.ci_high, 4)) == (0.0968, 0.7000)
    assert "2 of 6 First Response Team cases had a referral judged appropriate (33%, 95% CI " \
           "10% to 70%)." in frt.text
    tri = res.loc[("partnership_triage", "risk_assessed")]
    assert "All 9 triage cases " in tri.text and "(95% CI 70% to 100%)" in tri.text
    assert tri.word == "all"
    assert res.loc[("partnership_triage", "referral_appropriate")].word == "most"
    assert frt.word == "some"


def test_clopper_pearson_on_request() -> None:
    res = rv.standard_results(frame_of(hackney_like()), STD, method="clopper-pearson")
    frt = res[(res.group == "first_response_team") & (res.standard == "referral_appropriate")]
    # Clopper-Pearson 2/6: 0.0433 to 0.7772 (exact beta quantiles)
    assert round(float(frt.ci_low.iloc[0]), 4) == 0.0433
    assert round(float(frt.ci_high.iloc[0]), 4) == 0.7772
    assert "Clopper-Pearson" in frt.method.iloc[0]


@pytest.mark.parametrize(("met", "n", "word", "fragment"), [
    (0, 6, "none", "None of the 6 First Response Team cases had a referral judged appropriate "
                   "(95% CI 0% to 39%)."),
    (6, 6, "all", "All 6 First Response Team cases had a referral judged appropriate "
                  "(95% CI 61% to 100%)."),
    (5, 6, "some", "5 of 6 First Response Team cases had a referral judged appropriate (83%, "),
    (1, 6, "some", "1 of 6 First Response Team cases"),
])
def test_wording_rules_on_edge_cases(met: int, n: int, word: str, fragment: str) -> None:
    cases = [{"id": f"f{i}", "service": "first_response_team",
              "auditors": [{"referral_appropriate": "yes" if i < met else "no"}] * 2}
             for i in range(n)]
    res = rv.standard_results(frame_of(cases), STD, include_overall=False)
    r = res[res.standard == "referral_appropriate"].iloc[0]
    assert r.word == word
    assert fragment in r.text
    assert "would be needed" not in r.text  # said once per section, not per finding
    assert "about 97 cases would be needed" in rr.sample_size_note(res)  # every n=6 is wide


def test_wording_fewer_than_most_needs_the_interval_above_one_half() -> None:
    cases = [{"id": f"t{i}", "service": "partnership_triage",
              "auditors": [{"referral_appropriate": "yes" if i < 40 else "no"}] * 2}
             for i in range(50)]
    r = rv.standard_results(frame_of(cases), STD, include_overall=False)
    r = r[r.standard == "referral_appropriate"].iloc[0]
    assert r.word == "most" and "40 of 50" in r.text and "(80%, 95% CI 67% to 89%)" in r.text
    assert "would be needed" not in r.text  # interval narrower than 30 points
    few = [{"id": f"t{i}", "service": "partnership_triage",
            "auditors": [{"referral_appropriate": "yes" if i < 10 else "no"}] * 2}
           for i in range(50)]
    r = rv.standard_results(frame_of(few), STD, include_overall=False)
    assert r[r.standard == "referral_appropriate"].iloc[0].word == "fewer than half"


@pytest.mark.parametrize(("n", "met"), [(4, 3), (4, 0), (4, 4), (2, 1)])
def test_fewer_than_five_cases_are_too_few_to_report_with_no_count_met(n: int,
                                                                       met: int) -> None:
    cases = [{"id": f"s{i}", "service": "tier2_social_work",
              "auditors": [{"referral_appropriate": "yes" if i < met else "no"}] * 2}
             for i in range(n)]
    res = rv.standard_results(frame_of(cases), STD, include_overall=False)
    r = res[res.standard == "referral_appropriate"].iloc[0]
    assert r.text == f"{n} tier-2 social work cases audited: too few to report."
    assert f"{met} of" not in r.text and "%" not in r.text and "CI" not in r.text
    assert r.word == "" and bool(r.small)
    shown = rr.results_display(res).iloc[0]
    assert shown["Share and 95% interval"] == f"{n} cases judged: too few to report"
    assert shown["Cases meeting the standard"] == f"{n} cases judged: too few to report"
    assert "of" not in rr.standards_matrix(res).iloc[0, 0].split(":")[0]


def test_one_case_gets_no_result_only_that_it_is_too_few_to_report() -> None:
    res = rv.standard_results(frame_of([{"id": "h1", "service": "health_visiting"}]), STD,
                              include_overall=False)
    assert all(t == "1 health visiting case audited: too few to report." for t in res.text)
    summary = rr.service_summary(res, "health_visiting")
    assert "A total of 1 health visiting case was audited." in summary
    assert "too few to report" in summary


def test_one_judged_case_of_several_audited_says_so() -> None:
    cases = [{"id": f"m{i}", "service": "mat_panel",
              "auditors": [{"tier3_consultation": "yes" if i == 0 else "not_applicable"}] * 2}
             for i in range(5)]
    res = rv.standard_results(frame_of(cases), STD, include_overall=False)
    r = res[res.standard == "tier3_consultation"].iloc[0]
    assert r.text == ("1 MAT and YPRRP panel case judged on this standard: too few to "
                      "report.")


def test_finding_ids_are_stable_codes() -> None:
    res = rv.standard_results(frame_of(hackney_like()), STD)
    ids = set(res.finding_id)
    assert {"T2-FRT-REFERRAL-APPROPRIATE", "T2-ALL-REFERRAL-APPROPRIATE",
            "T2-TRIAGE-RISK-ASSESSED", "T2-MAT-YPRRP-TIER3-CONSULTATION",
            "T2-HV-SAFEGUARDING-ACTED-ON"} <= ids
    assert res.finding_id.is_unique
    # MAT and YPRRP are reported together, as Hackney did
    assert "mat_yprrp" in set(res.group) and "mat_panel" not in set(res.group)


# --------------------------------------------------------------------------------------
# Design weights
# --------------------------------------------------------------------------------------


def weights_for(frame: pd.DataFrame, per_group: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"case_id": frame["case_id"], "stratum": frame["group"],
                         "design_weight": frame["group"].map(per_group).astype(float)})


def test_overall_share_is_design_weighted_when_the_sample_is_not_self_weighting() -> None:
    cases = hackney_like()
    fr = frame_of(cases)
    w = weights_for(fr, {"partnership_triage": 100.0, "first_response_team": 10.0,
                         "tier2_social_work": 5.0, "mat_yprrp": 8.0,
                         "family_intervention_project": 4.0, "school_map": 50.0,
                         "health_visiting": 70.0})
    fr = frame_of(cases, weights=w)
    res = rv.standard_results(fr, STD).set_index(["group", "standard"])
    overall = res.loc[("all", "referral_appropriate")]
    y = fr["std_referral_appropriate"].astype(bool).to_numpy()
    wt = fr["design_weight"].to_numpy()
    assert overall.weighted and overall.estimate == pytest.approx(np.sum(wt * y) / np.sum(wt))
    assert overall.n_eff < overall.n == 29
    assert "Weighted to all the cases of these services" in overall.text
    assert overall.text.startswith("23 of 29 audited cases had a referral judged appropriate.")
    # within a service every case has the same weight: plain counts and Wilson intervals
    frt = res.loc[("first_response_team", "referral_appropriate")]
    assert not frt.weighted and frt.estimate == pytest.approx(2 / 6)


def test_self_weighting_sample_gives_unweighted_overall_figures() -> None:
    res = rv.standard_results(frame_of(hackney_like()), STD).set_index(["group", "standard"])
    overall = res.loc[("all", "referral_appropriate")]
    assert not overall.weighted and (overall.successes, overall.n) == (23, 29)


def test_sample_table_suppresses_small_service_populations_and_their_weights() -> None:
    fr = frame_of(hackney_like())
    manifest = {"strata": [{"stratum": g, "population": pop} for g, pop in (
        ("partnership_triage", 420), ("first_response_team", 220), ("tier2_social_work", 90),
        ("mat_yprrp", 250), ("family_intervention_project", 45), ("school_map", 60),
        ("health_visiting", 4))]}
    shown = rr.sample_display(fr, manifest).set_index("Service")
    assert shown.loc["Health visiting", "Cases held by the service"] == "c"
    assert shown.loc["Health visiting", "Each audited case stands for"] == "c"
    assert shown.loc["All services", "Cases audited"] == 29
    # a second cell is suppressed so the small one cannot be worked back from the total
    assert (shown["Cases held by the service"] == "c").sum() >= 2
    assert shown.loc["Partnership Triage", "Each audited case stands for"] == "46.7 cases"


def test_missing_design_weight_is_a_clear_error() -> None:
    c, a = returns(hackney_like())
    w = pd.DataFrame({"case_id": c["case_id"].iloc[:-1], "design_weight": 1.0})
    with pytest.raises(rv.ReviewError, match="no design weight"):
        rv.review_frame(c, a, STD, SCALE, weights=w)


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------


def test_audited_case_missing_from_the_cases_table_is_a_clear_error() -> None:
    c, a = returns(hackney_like())
    with pytest.raises(rv.ReviewError, match="not in the cases table"):
        rv.review_frame(c.iloc[1:], a, STD, SCALE)


def test_audit_without_a_standard_column_names_the_column_and_the_fix() -> None:
    _, a = returns(hackney_like())
    with pytest.raises(rv.ReviewError, match="std_risk_assessed.*standards"):
        rv.case_findings(a.drop(columns="std_risk_assessed"), STD, SCALE)


def test_same_auditor_twice_on_a_case_is_a_clear_error() -> None:
    _, a = returns(hackney_like())
    with pytest.raises(rv.ReviewError, match="same auditor judged the same case twice"):
        rv.case_findings(pd.concat([a, a.iloc[:1]], ignore_index=True), STD, SCALE)


def test_unknown_answer_is_named_with_its_column() -> None:
    _, a = returns(hackney_like())
    a.loc[3, "std_threshold_applied"] = "maybe"
    with pytest.raises(rv.ReviewError, match="std_threshold_applied.*'maybe'"):
        rv.case_findings(a, STD, SCALE)


def test_results_do_not_depend_on_row_order() -> None:
    c, a = returns(hackney_like())
    one = rv.standard_results(rv.review_frame(c, a, STD, SCALE), STD)
    shuffled = a.sample(frac=1.0, random_state=3).reset_index(drop=True)
    two = rv.standard_results(rv.review_frame(c.iloc[::-1], shuffled, STD, SCALE), STD)
    pd.testing.assert_frame_equal(one, two)


# --------------------------------------------------------------------------------------
# Agreement between auditors
# --------------------------------------------------------------------------------------


def test_agreement_counts_same_answers_and_splits_decided_by_the_tie_rule() -> None:
    cases = [{"id": f"a{i}", "service": "partnership_triage",
              "auditors": [{"referral_appropriate": "yes"}, {"referral_appropriate": "yes"}]}
             for i in range(6)]
    cases += [{"id": f"b{i}", "service": "partnership_triage",
               "auditors": [{"referral_appropriate": "no"}, {"referral_appropriate": "no"}]}
              for i in range(3)]
    cases += [{"id": "s1", "service": "partnership_triage",
               "auditors": [{"referral_appropriate": "yes"}, {"referral_appropriate": "partly"}]}]
    _, a = returns(cases)
    ag = rv.auditor_agreement(a, STD, n_boot=200).set_index("standard")
    r = ag.loc["referral_appropriate"]
    assert (r.cases, r.same_answer, r.split_met_not_met) == (10, 9, 1)
    assert r.percent_agreement == pytest.approx(0.9)
    assert 0.5 < r.kappa <= 1 and r.ci_low <= r.kappa <= r.ci_high
    assert "split between met and not met, and the case rule decided it" in r.text
    # every auditor said yes to risk_assessed: perfect agreement, kappa not measurable
    k = ag.loc["risk_assessed"]
    assert k.percent_agreement == 1 and math.isnan(k.kappa)
    assert "cannot be measured" in k.text
    shown = rr.auditor_agreement_table(ag.reset_index())
    assert "case_id" not in shown.columns and len(shown) == len(STD.standard_keys)


# --------------------------------------------------------------------------------------
# Tier held against tier judged; escalation list
# --------------------------------------------------------------------------------------


def tier_cases() -> list[dict]:
    out = [{"id": f"r{i}", "service": "tier2_social_work", "held": "2B"} for i in range(6)]
    out += [{"id": f"l{i}", "service": "tier2_social_work", "held": "2B",
             "auditors": [{"tier": "3"}, {"tier": "3"}]} for i in range(2)]
    out += [{"id": "h1", "service": "tier2_social_work", "held": "2B",
             "auditors": [{"tier": "2A"}, {"tier": "2A"}]}]
    out += [{"id": "sp", "service": "tier2_social_work", "held": "2A",
             "auditors": [{"tier": "2A"}, {"tier": "2B"}, {"tier": "2A"}]}]
    return out


def test_tier_matrix_and_shares_held_too_low_and_too_high() -> None:
    fr = frame_of(tier_cases())
    m = rv.tier_matrix(fr, SCALE)
    assert m.loc["2B", "2B"] == 6 and m.loc["2B", "3"] == 2 and m.loc["2B", "2A"] == 1
    assert m.loc["2A", "2A"] == 1 and int(m.to_numpy().sum()) == 10
    tr = rv.tier_results(fr).set_index(["group", "direction"])
    low = tr.loc[("all", rv.TOO_LOW)]
    assert (low.successes, low.n) == (2, 10) and low.finding_id == "T2-TIER-HELD-TOO-LOW"
    high = tr.loc[("tier2_social_work", rv.TOO_HIGH)]
    assert (high.successes, high.n) == (1, 10)
    assert high.finding_id == "T2-T2SW-TIER-HELD-TOO-HIGH"
    assert "2 of 10 tier-2 social work cases were held at a lower tier than the auditors " \
           "judged right (20%, 95% CI 6% to 51%)." in tr.loc[("tier2_social_work",
                                                             rv.TOO_LOW)].text


def test_escalation_list_holds_cases_held_too_low_and_splits_upwards_without_notes(
        tmp_path: Path) -> None:
    fr = frame_of(tier_cases())
    lst = rv.escalation_list(fr, STD)
    # two held too low, plus the split case where one of three auditors judged higher
    assert sorted(lst["case_id"]) == sorted([cid("l0"), cid("l1"), cid("sp")])
    assert "notes" not in lst.columns
    path, n = rv.write_escalation_list(fr, STD, tmp_path / "internal", "demo")
    assert n == 3 and path.parent == tmp_path / "internal"
    assert "free text" not in path.read_text()


# --------------------------------------------------------------------------------------
# Themes
# --------------------------------------------------------------------------------------


def test_theme_frequency_and_co_occurrence_with_held_too_low() -> None:
    t = "da_risk_not_recognised"
    cases = [{"id": f"l{i}", "service": "tier2_social_work", "held": "2B",
              "auditors": [{"tier": "3", "themes": {t: True}}] * 2} for i in range(8)]
    cases += [{"id": f"r{i}", "service": "tier2_social_work", "held": "2B",
               "auditors": [{"themes": {t: i < 2}}] * 2} for i in range(30)]
    fr = frame_of(cases)
    th = rv.theme_results(fr, STD).set_index(["group", "theme"])
    r = th.loc[("all", t)]
    assert (r.successes, r.n, r.finding_id) == (10, 38, "T2-THEME-DA-RISK-NOT-RECOGNISED")
    co = rv.theme_cooccurrence(fr, STD).set_index("theme").loc[t]
    assert (co.with_theme_too_low, co.too_low, co.with_theme_others, co.others) == (8, 8, 2, 30)
    assert co.ci_low > 0 and co.p_value < 0.001
    assert "more common among cases held too low" in co.text
    none = rv.theme_cooccurrence(fr, STD).set_index("theme").loc["siblings_not_considered"]
    assert "the data cannot tell whether the theme is more or less common" in none.text


def test_a_theme_comparison_with_fewer_than_five_cases_held_too_low_gives_no_counts() -> None:
    """Rule 1 (found by the whole-site test on the one-auditor round): "found in 0 of 4 cases
    held too low" is a count for a group of four."""
    t = "da_risk_not_recognised"
    cases = [{"id": f"l{i}", "service": "tier2_social_work", "held": "2B",
              "auditors": [{"tier": "3", "themes": {t: i < 1}}]} for i in range(4)]
    cases += [{"id": f"r{i}", "service": "tier2_social_work", "held": "2B",
               "auditors": [{"themes": {t: i < 2}}]} for i in range(25)]
    co = rv.theme_cooccurrence(frame_of(cases), STD).set_index("theme").loc[t]
    assert "too few to compare (fewer than 5 cases held too low;" in co.text
    assert "4 cases" not in co.text  # rule 1: a small count of children is never stated
    assert " of 4" not in co.text and " of 25" not in co.text
    assert math.isnan(co.with_theme_too_low) and math.isnan(co.ci_low)


# --------------------------------------------------------------------------------------
# Delay: Kaplan-Meier
# --------------------------------------------------------------------------------------


def test_kaplan_meier_median_delay_with_censoring_at_the_round_date() -> None:
    start = pd.Timestamp("2025-01-01")
    referred_after = [10, 20, 30, 45, 60, 75]
    cases = pd.DataFrame({
        "case_id": [cid(f"d{i}") for i in range(9)],
        "service": "tier2_social_work",
        "first_concern_date": [start] * 9,
        "tier3_referral_date": [start + pd.Timedelta(days=d) for d in referred_after]
        + [pd.NaT, pd.NaT, start + pd.Timedelta(days=400)],  # the last is after the round date
    })
    res = rv.delay_to_tier3(cases, "2025-04-01")  # 90 days after the first concern
    assert (res.n, res.referred, res.censored, res.excluded) == (9, 6, 3, 0)
    # KM: S drops by 1/9 at each of 10..75 days; S(30)=6/9, S(45)=5/9, S(60)=4/9 < 0.5
    assert res.median == 60
    assert res.ci_low <= 60 <= res.ci_high
    by = res.by_day.set_index("day")
    assert by.loc[30, "share_referred"] == pytest.approx(3 / 9)
    assert "Half of the cases had been referred within 60 days" in res.text


def test_the_delay_reads_only_the_tier2_cases_dates_from_the_cases_file(tmp_path: Path
                                                                       ) -> None:
    start = pd.Timestamp("2025-01-01")
    cases = pd.DataFrame({
        "case_id": [cid(f"t{i}") for i in range(6)],
        "service": ["front_door", "mat_panel", "front_door", None, "yprrp", "front_door"],
        "first_concern_date": [start] * 6, "tier3_referral_date": [pd.NaT] * 6,
        "level_of_need": "2A", "contact_date": start})
    cases.to_parquet(tmp_path / "cases.parquet")
    got = rv.tier2_cases(tmp_path / "cases.parquet")
    assert list(got.columns) == list(rv.DELAY_COLUMNS)  # no other column reaches pandas
    want = cases[cases["service"] != "front_door"].sort_values("case_id")
    assert list(got["case_id"]) == list(want["case_id"])  # a missing service is tier 2 too
    assert rv.delay_to_tier3(got, "2025-04-01").n == 3


def test_kaplan_meier_median_not_reached_is_said_in_plain_words() -> None:
    start = pd.Timestamp("2025-01-01")
    cases = pd.DataFrame({"case_id": [cid(f"e{i}") for i in range(10)],
                          "service": "mat_panel",
                          "first_concern_date": [start] * 10,
                          "tier3_referral_date": [start + pd.Timedelta(days=20)]
                          + [pd.NaT] * 8 + [start - pd.Timedelta(days=3)]})
    res = rv.delay_to_tier3(cases, "2025-06-30")
    assert res.excluded == 1 and res.referred == 1 and math.isnan(res.median)
    assert "median time to referral cannot be estimated yet" in res.text
    assert "never" not in res.text and "always" not in res.text


def test_delay_by_service_table_suppresses_small_counts_of_children() -> None:
    start = pd.Timestamp("2025-01-01")
    n1, n2 = 40, 3
    cases = pd.DataFrame({
        "case_id": [cid(f"g{i}") for i in range(n1 + n2)],
        "service": ["tier2_social_work"] * n1 + ["health_visiting"] * n2,
        "first_concern_date": [start] * (n1 + n2),
        "tier3_referral_date": [start + pd.Timedelta(days=5 * i) if i < 12 else pd.NaT
                                for i in range(n1)] + [pd.NaT] * n2})
    tab = rv.delay_by_service(cases, "2025-12-31")
    shown = rr.delay_service_display(tab).set_index("Service")
    assert shown.loc["Health visiting", "Cases with dates"] == "c"
    assert shown.loc["Health visiting", "Referred within 90 days (95% interval)"] == "c"


def test_the_delay_sentence_states_its_counts_only_where_the_table_publishes_them() -> None:
    """Two services of 2 referred cases each: the referred column's total (4) is c in the
    table, so the sentence does not state it either; the grand total, published in the
    table, is stated."""
    from analysis import disclosure
    from analysis.reporting import Ledger

    start = pd.Timestamp("2025-01-01")
    sizes = {"tier2_social_work": (2, 40), "health_visiting": (2, 30)}
    rows = []
    for svc, (ref, n) in sizes.items():
        rows += [{"case_id": cid(f"{svc}{i}"), "service": svc, "first_concern_date": start,
                  "tier3_referral_date": start + pd.Timedelta(days=10 + i) if i < ref
                  else pd.NaT} for i in range(n)]
    cases = pd.DataFrame(rows)
    res = rv.delay_to_tier3(cases, "2025-12-31")
    led = Ledger("tier2_case_review")
    shown = rr.delay_service_display(rv.delay_by_service(cases, "2025-12-31"), led)
    assert (shown["Referred to tier 3"].iloc[:2] == "c").all()
    text = rr.delay_reading(res, led)
    assert "Of 70 tier-2 cases" in text  # the grand total is published in the table
    assert " 4 were referred" not in text and "c were referred" in text
    assert disclosure.audit_release([led]) == []


def test_cases_held_are_suppressed_exactly_as_the_sample_page_suppresses_them() -> None:
    from analysis import disclosure
    from analysis import sampling as sp
    from analysis.reporting import Ledger

    fr = frame_of(hackney_like())
    pops = (("partnership_triage", 420), ("first_response_team", 220),
            ("tier2_social_work", 90), ("mat_yprrp", 250), ("family_intervention_project", 45),
            ("school_map", 60), ("health_visiting", 4), ("mat_panel", 30))
    manifest = {"design_name": "hackney_2011", "strata": [
        {"stratum": g, "label": g, "population": p, "sampled": 1, "fraction": 1 / p,
         "margin_of_error": 0.5, "too_small": True, "note": ""} for g, p in pops],
        "planning": {}, "design": {}}
    sample, review = Ledger("audit_sample"), Ledger("tier2_case_review")
    summary = sp.design_summary(manifest, sample)
    shown = rr.sample_display(fr, manifest, review).set_index("Service")
    by_code = dict(zip(summary["stratum"], summary["population_shown"], strict=True))
    for g, _ in pops:
        assert shown.loc[rv.group_label(g), "Cases held by the service"] == by_code[g]
    assert shown.loc[rv.group_label("mat_panel"), "Cases audited"] == 0  # listed, none audited
    assert disclosure.audit_release([sample, review]) == []


# --------------------------------------------------------------------------------------
# Change since the last audit
# --------------------------------------------------------------------------------------


def round_of(prefix: str, met: int, n: int) -> pd.DataFrame:
    cases = [{"id": f"{prefix}{i}", "service": "partnership_triage",
              "auditors": [{"referral_appropriate": "yes" if i < met else "no"}] * 2}
             for i in range(n)]
    _, a = returns(cases)
    return rv.case_findings(a, STD, SCALE)


def test_repeat_audit_detects_a_known_change_with_newcombe_and_fisher() -> None:
    prev, cur = round_of("p", 12, 40), round_of("c", 32, 40)
    ch = rv.compare_rounds(cur, prev, STD, previous_label="the 2024 audit").set_index("standard")
    r = ch.loc["referral_appropriate"]
    assert (r.x1, r.n1, r.x2, r.n2) == (12, 40, 32, 40)
    assert r.difference == pytest.approx(0.5) and r.excludes_zero and r.ci_low > 0.25
    assert r.p_value < 0.001 and r.finding_id == "T2-CHANGE-REFERRAL-APPROPRIATE"
    assert "rose from 30% (12 of 40) at the 2024 audit to 80% (32 of 40)" in r.text
    same = ch.loc["risk_assessed"]  # 40 of 40 in both rounds
    assert not same.excludes_zero and "the data cannot tell whether it changed" in same.text
    assert "would need about" in same.text


def test_repeat_audit_small_change_cannot_be_told_and_says_the_sample_needed() -> None:
    ch = rv.compare_rounds(round_of("c", 16, 20), round_of("p", 14, 20), STD)
    r = ch.set_index("standard").loc["referral_appropriate"]
    assert not r.excludes_zero and r.ci_low < 0 < r.ci_high
    assert "the data cannot tell whether it changed" in r.text
    assert "in each audit round" in r.text


# --------------------------------------------------------------------------------------
# Reproducing the published Hackney 2011 audit
# --------------------------------------------------------------------------------------


def test_hackney_page_reproduces_the_reports_counts() -> None:
    f = rv.load_published(PUBLISHED / "hackney_2011_findings.csv")
    rep = rv.reproduce_published(f, STD).set_index("finding_id")
    tri = rep.loc["HK2011-TRIAGE-REFERRAL-APPROPRIATE"]
    assert (tri.cases_met, tri.cases_judged, tri.report_word) == (8, 9, "all but one")
    assert tri.supported_word == "most" and "8 of 9 triage cases" in tri.supported
    frt = rep.loc["HK2011-FRT-REFERRAL-APPROPRIATE"]
    assert (frt.cases_met, frt.cases_judged) == (2, 6)
    assert "(33%, 95% CI 10% to 70%)" in frt.supported
    assert "cannot say whether more or fewer than half" in frt.verdict
    t2 = rep[rep.service == "tier2_social_work"].dropna(subset=["cases_met"])
    assert len(t2) == 6 and set(zip(t2.cases_met, t2.cases_judged, strict=True)) == {(3, 4)}
    assert all("no general finding" in s for s in t2.supported)
    for svc in ("MAP", "HV"):
        assert "no general finding" in rep.loc[f"HK2011-{svc}"].supported
    assert rep.index.is_unique


def test_hackney_pooled_counts_are_the_sum_of_the_services() -> None:
    f = rv.load_published(PUBLISHED / "hackney_2011_findings.csv")
    pooled = rv.pooled_published(f, STD).set_index("standard")
    r = pooled.loc["referral_appropriate"]
    assert (r.successes, r.n) == (5 + 8 + 3 + 2 + 3, 5 + 9 + 4 + 6 + 3)
    assert r.finding_id == "HK2011-ALL-REFERRAL-APPROPRIATE"


def test_report_word_reads_the_reports_quantifiers() -> None:
    assert rv.report_word("In all case but one case the referral ...") == "all but one"
    assert rv.report_word("In two thirds of the cases considered, ...") == "two thirds ... not"
    assert rv.report_word("Most cases were judged ...") == "most"
    assert rv.report_word("In all cases risk factors ...") == "all"
    assert rv.report_word("Actions taken were judged ...") == ""


def test_missing_published_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(rv.ReviewError, match="data/published"):
        rv.load_published(tmp_path / "nope.csv")


# --------------------------------------------------------------------------------------
# Figures (accessible: alt text says what the chart shows)
# --------------------------------------------------------------------------------------


def test_figures_draw_and_alt_texts_say_what_they_show_in_at_most_250_characters() -> None:
    """Issue 15: alt text is one or two sentences; the numbers are in the page's tables."""
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.figures import ALT_MAX

    fr = frame_of(hackney_like() + tier_cases())
    res = rv.standard_results(fr, STD)
    fig = rv.standards_dotplot(res)
    alt = rv.standards_alt_text(res)
    assert re.search(r"\d+ with fewer than 5 judged cases not plotted", alt), alt
    assert alt.endswith("The figures are in the table above.") and len(alt) <= ALT_MAX
    plt.close(fig)
    m = rv.tier_matrix(fr, SCALE)
    fig = rv.tier_heatmap(m, SCALE, "Tier held against tier judged")
    alt = rv.tier_alt_text(m, SCALE)
    assert "2 above it (held too low" in alt and len(alt) <= ALT_MAX
    plt.close(fig)
    th = rv.theme_results(fr, STD)
    fig = rv.themes_chart(th)
    alt = rv.themes_alt_text(th)
    assert "themes" in alt and "table below" in alt and len(alt) <= ALT_MAX
    plt.close(fig)


# --------------------------------------------------------------------------------------
# Synthetic audit returns recover the error rates they were generated with
# --------------------------------------------------------------------------------------


def test_simulated_returns_recover_the_rates_they_were_generated_with() -> None:
    """Returns simulated here (true met rate 0.7 per case, each auditor misreading with
    probability 0.1): the case findings' share lies within its interval of the expected share
    (truth blurred by the tie rule) and auditor agreement matches 1 - 2e(1 - e)."""
    rng = np.random.default_rng(20161)
    n, p, e = 400, 0.7, 0.1
    truth = rng.random(n) < p
    cases = []
    for i in range(n):
        ans = []
        for _ in range(2):
            ok = truth[i] != (rng.random() < e)
            ans.append({"referral_appropriate": "yes" if ok else "no"})
        cases.append({"id": f"sim{i}", "service": "partnership_triage", "auditors": ans})
    fr = frame_of(cases)
    r = rv.standard_results(fr, STD, include_overall=False).set_index("standard")
    r = r.loc["referral_appropriate"]
    expected = p * (1 - e) ** 2 + (1 - p) * e**2  # met only when both auditors say yes
    assert r.ci_low <= expected <= r.ci_high
    ag = rv.auditor_agreement(fr.pipe(lambda _: returns(cases)[1]), STD, n_boot=100)
    pa = ag.set_index("standard").loc["referral_appropriate", "percent_agreement"]
    assert abs(pa - (1 - 2 * e * (1 - e))) < 0.06


def test_synth_audit_returns_recover_the_generators_error_rates() -> None:
    """analysis.synth plays the auditors with stated error rates (AUDITOR_ERROR,
    AUDITOR_INSUFFICIENT, TIER_JUDGED_ERROR, THEME_FALSE_POSITIVE); read through the review's
    answer categories and case rule, the returns give those rates back within their 95%
    Wilson intervals, and the case finding's met rate matches what the rule implies."""
    synth = pytest.importorskip("analysis.synth")
    from analysis.proportions import proportion_ci

    services = ["partnership_triage", "tier2_social_work", "first_response_team",
                "mat_panel"] * 300
    truth = synth.tier2_truth(services, seed=11)
    truth["case_id"] = [f"SIM-{i:05d}" for i in range(len(truth))]
    manifest = {"cases": [{"case_id": cid(r)} for r in sorted(truth["case_id"])]}
    ret = synth.simulate_audit_returns(manifest, truth, seed=11, kind="tier2")
    assert ret.groupby("case_id")["auditor_id"].nunique().eq(2).all()
    t = truth.assign(case_id=[cid(r) for r in truth["case_id"]]).set_index("case_id")
    true_cat = {"met": "met", "not_met": "not_met", "not_applicable": "cannot_judge"}

    def covers(x: int, n: int, rate: float) -> bool:
        ci = proportion_ci(x, n)
        return ci.ci_low <= rate <= ci.ci_high

    errors = answered = insufficient = total = 0
    for k in KEYS:
        ans = ret[f"std_{k}"]
        truth_k = ret["case_id"].map(t[f"std_{k}"]).map(true_cat)
        ins = ans == "insufficient_information"
        cat = ans.map(lambda a: rv.answer_category(a, STD))
        errors += int((cat[~ins] != truth_k[~ins]).sum())
        answered += int((~ins).sum())
        insufficient += int(ins.sum())
        total += len(ans)
    assert covers(errors, answered, synth.AUDITOR_ERROR)
    assert covers(insufficient, total, synth.AUDITOR_INSUFFICIENT)
    wrong_tier = int((ret["tier_judged"] != ret["case_id"].map(t["true_level"])).sum())
    assert covers(wrong_tier, len(ret), synth.TIER_JUDGED_ERROR)
    flags = sum(int(ret[f"theme_{k}"].astype(bool).sum()) for k in STD.theme_keys)
    assert covers(flags, len(ret) * len(STD.theme_keys), synth.THEME_FALSE_POSITIVE)
    # the case rule: met when met votes outnumber not-met votes (two auditors)
    cf = rv.case_findings(ret, STD, SCALE).set_index("case_id")
    i, e = synth.AUDITOR_INSUFFICIENT, synth.AUDITOR_ERROR
    for truth_value, p_met in (("met", (1 - i) * (1 - e)), ("not_met", (1 - i) * e)):
        expected = p_met**2 + 2 * p_met * i
        x = n = 0
        for k in KEYS:
            sel = t[f"std_{k}"] == truth_value
            got = cf.loc[sel[sel].index, f"std_{k}"]
            x += int(got.fillna(False).astype(bool).sum())
            n += len(got)
        assert covers(x, n, expected), (truth_value, x, n, expected)


# --------------------------------------------------------------------------------------
# A board's own template; the reproduction page end to end
# --------------------------------------------------------------------------------------


def test_a_boards_own_template_runs_without_code_changes(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text(
        "name: Board template\nanswers: [yes, no, not_applicable]\n"
        "standards:\n  - {key: voice_of_child, label: Voice of the child heard}\n"
        "themes:\n  - {key: drift, label: Drift and delay}\n")
    std = load_standards(tmp_path / "t.yml")
    rows = []
    for i in range(6):
        for aud in ("A1", "A2"):
            rows.append({"case_id": cid(f"v{i}"), "auditor_id": aud,
                         "std_voice_of_child": "yes" if i < 4 else "no",
                         "theme_drift": i == 5, "tier_judged": "2A"})
    audit = pd.DataFrame(rows)
    cases = pd.DataFrame({"case_id": [cid(f"v{i}") for i in range(6)],
                          "service": "early_help", "level_of_need": "2A"})
    fr = rv.review_frame(cases, audit, std, SCALE)
    res = rv.standard_results(fr, std, include_overall=False)
    r = res.iloc[0]
    assert r.finding_id == "T2-EH-VOICE-OF-CHILD" and (r.successes, r.n) == (4, 6)
    assert 'met the standard "Voice of the child heard"' in r.text
    th = rv.theme_results(fr, std)
    assert set(th.finding_id) == {"T2-EH-THEME-DRIFT", "T2-THEME-DRIFT"}


def test_the_hackney_reproduction_page_runs_from_the_published_tables(tmp_path: Path) -> None:
    pm = pytest.importorskip("papermill")
    out = tmp_path / "outputs"
    pm.execute_notebook(str(ROOT / "notebooks" / "hackney_2011_reproduction.ipynb"),
                        str(tmp_path / "hk.ipynb"), parameters={"output_dir": str(out)},
                        cwd=str(ROOT), progress_bar=False, kernel_name="python3")
    f = pd.read_csv(out / "hackney_2011_reproduction_findings.csv").set_index("finding_id")
    assert (f.loc["HK2011-TRIAGE-REFERRAL-APPROPRIATE", ["successes", "n"]] == [8, 9]).all()
    assert (f.loc["HK2011-FRT-REFERRAL-APPROPRIATE", ["successes", "n"]] == [2, 6]).all()
    assert (f.loc["HK2011-T2SW-APPROPRIATE-TIER", ["successes", "n"]] == [3, 4]).all()
    assert f.loc["HK2011-FRT-REFERRAL-APPROPRIATE", "ci_low"] == pytest.approx(0.0968, abs=1e-4)
    assert "HK2011-ALL-REFERRAL-APPROPRIATE" in f.index and f.index.is_unique


# --------------------------------------------------------------------------------------
# Rule 5: every analysis runs on any valid round, and says in words what it cannot measure
# --------------------------------------------------------------------------------------


def _every_answer(cases: list[dict], answer: str | None = None, auditors: int | None = None
                  ) -> list[dict]:
    out = []
    for c in cases:
        auds = [dict(a, **({k: answer for k in KEYS} if answer else {}))
                for a in (c["auditors"] * 3)[:auditors or len(c["auditors"])]]
        out.append(dict(c, auditors=auds))
    return out


def test_one_auditor_per_case_says_agreement_cannot_be_measured_and_the_review_runs() -> None:
    cases, audit = returns(_every_answer(hackney_like(), auditors=1))
    agree = rv.auditor_agreement(audit, STD)
    assert (agree["cases"] == 0).all() and agree["kappa"].isna().all()
    assert all("no case had answers from two auditors" in t for t in agree["text"])
    assert (rr.auditor_agreement_table(agree).iloc[:, -2] == "not measurable").all()
    res = rv.standard_results(frame_of(_every_answer(hackney_like(), auditors=1)), STD)
    assert len(res) and res["text"].str.len().gt(0).all()


@pytest.mark.parametrize(("answer", "words"),
                         [("yes", "All 29 audited cases"), ("no", "None of the 29")])
def test_all_met_and_none_met_rounds_give_words_and_a_measurable_interval(answer: str,
                                                                          words: str) -> None:
    fr = frame_of(_every_answer(hackney_like(), answer))
    res = rv.standard_results(fr, STD)
    overall = res[res["group"] == "all"]
    assert overall["text"].str.contains(words).all(), overall["text"].iloc[0]
    assert overall["ci_low"].notna().all() and overall["ci_high"].notna().all()
    _, audit = returns(_every_answer(hackney_like(), answer))
    agree = rv.auditor_agreement(audit, STD)
    assert agree["kappa"].isna().all()
    assert all("cannot be measured: every answer fell in one category" in t
               for t in agree["text"])
    ch = rv.compare_rounds(rv.case_findings(audit, STD, SCALE),
                           rv.case_findings(audit, STD, SCALE), STD)
    assert ch["text"].str.contains("the data cannot tell").all()


def test_a_standard_no_auditor_could_judge_is_said_and_given_no_share() -> None:
    fr = frame_of(_every_answer(hackney_like(), "not_applicable"))
    res = rv.standard_results(fr, STD)
    assert (res["n"] == 0).all() and res["estimate"].isna().all()
    assert rr.standards_matrix(res).size and rv.standards_alt_text(res)


def test_a_service_with_no_cases_is_absent_not_an_error() -> None:
    only = [c for c in hackney_like() if c["service"] == "partnership_triage"]
    fr = frame_of(only)
    res = rv.standard_results(fr, STD)
    assert set(res["group"]) == {"all", "partnership_triage"}
    tiers = rv.tier_results(fr)
    assert set(tiers["group"]) <= {"all", "partnership_triage"}
    assert len(rr.tier_display(tiers))


def test_no_case_held_too_low_and_no_referral_to_tier_3_are_said_in_words() -> None:
    cases, audit = returns(hackney_like())
    fr = rv.review_frame(cases, audit, STD, SCALE)
    co = rv.theme_cooccurrence(fr, STD)
    assert co["text"].str.contains("no comparison possible").all()
    delay = rv.delay_to_tier3(cases, pd.Timestamp("2026-03-31"))
    assert not delay.referred and "cannot be estimated" in delay.text


def test_the_sample_size_sentence_is_said_once_for_a_section_only_when_an_interval_is_wide(
        ) -> None:
    wide = pd.DataFrame({"n": [6, 6, 2], "ci_low": [0.2, 0.4, 0.0], "ci_high": [0.8, 0.95, 1.0]})
    note = rr.sample_size_note(wide)
    assert note.count("would be needed") == 1 and "2 of these intervals" in note  # n=2 not counted
    narrow = pd.DataFrame({"n": [50], "ci_low": [0.67], "ci_high": [0.89]})
    assert rr.sample_size_note(narrow) == ""


def test_one_line_says_why_a_weighted_and_an_unweighted_figure_differ_and_which_is_headline(
        ) -> None:
    line = rr.weighted_note("15 of 29")
    assert '"15 of 29"' in line and "headline" in line and "weighted" in line
    assert "as sampled" in line and "unweighted" in line


def test_findings_with_the_same_words_share_one_sentence_and_keep_every_anchor() -> None:
    from analysis.findings import Finding

    few = [Finding(f"T2-FIP-{k}", text="3 FiP cases audited: too few to report.")
           for k in ("A", "B", "C")]
    html = rr.findings_html([Finding("T2-ALL-A", text="15 of 29 met it."), *few])
    assert html.count("too few to report") == 1
    for fid in ("T2-ALL-A", "T2-FIP-A", "T2-FIP-B", "T2-FIP-C"):
        assert f'id="{fid}"' in html and f'href="#{fid}"' in html


def test_the_previous_round_is_named_and_dated_and_change_summarised_by_the_change_rule(
        ) -> None:
    words = rr.previous_round_words("the repeat round", "Repeat round, 2024/25", "2025-03-31")
    assert words == "Repeat round, 2024/25, 31 March 2025"
    assert rr.previous_round_words("the repeat round") == "the repeat round"
    change = pd.DataFrame({"standard_label": ["A", "B", "C"],
                           "change": ["rose", "cannot tell", "too few to compare"]})
    text = rr.change_summary(change, words)
    assert text.startswith("**Since Repeat round, 2024/25, 31 March 2025:**")
    assert "1 rose (A)" in text and "for 1 the data cannot tell" in text
    assert "1 could not be compared" in text


def test_themes_and_cases_held_too_low_are_one_table_with_the_reading_said_per_row() -> None:
    co = pd.DataFrame({"theme_label": ["Siblings", "Rare"], "with_theme_too_low": [2, math.nan],
                       "too_low": [6, 6], "with_theme_others": [4, math.nan],
                       "others": [23, 3], "difference": [0.16, math.nan],
                       "ci_low": [-0.2, math.nan], "ci_high": [0.5, math.nan],
                       "p_value": [0.3, math.nan]})
    t = rr.cooccurrence_display(co)
    assert list(t["Reading"]) == ["the data cannot tell", "too few to compare"]
    assert t["Cases held too low"].iloc[0] == "2 of 6"
    assert "too few to report" in t["Other cases"].iloc[1]  # 3 others: no count (rule 1)
