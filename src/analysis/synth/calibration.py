"""The calendar, vocabulary and calibration of the synthetic year, every constant citing
its source.

Front door: the Worcestershire Safeguarding Children Board (WSCB) annual report 2016/17
(Appendix 6) and the letter to head teachers of 4 November 2016; tier-2 services: CHSCB QA
sub-committee, "Audit of safeguarding practice within Tier 2 service provision in Hackney"
(July 2011), each service's "x of n cases" made a rate by the Jeffreys posterior mean
(x + 1/2)/(n + 1); then the auditor and rater error models stated in ``analysis.synth``.
Also ``SynthError``, the error every part of the generator raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .. import schemas
from ..ingest import InputError


class SynthError(InputError, ValueError):
    """The synthetic generator was given inputs it cannot use (named in the message).

    A kind of ``ingest.InputError``, so the command line reports it as a message, not a
    traceback."""


# ======================================================================================
# Calendar
# ======================================================================================

FY_START = np.datetime64("2025-04-01", "D")
FY_END = np.datetime64("2026-03-31", "D")  # the demo round date: nothing is dated later
HISTORY_START = np.datetime64("2024-04-01", "D")  # simulated, then dropped (re-referrals)
SCALE_START = np.datetime64("2022-04-01", "D")  # scale mode: four financial years
EXCEL_EPOCH = date(1899, 12, 30)

# Independent random streams (np.random.default_rng([seed, stream])), so that changing one
# component never changes another.
STREAMS = {"front_door": 1, "tier2": 2, "ratings": 3, "annex_a": 4, "previous": 5,
           "audit_tier2": 6, "audit_threshold": 7, "children": 8, "front_door_truth": 9,
           "annex_a_lists": 10}

LEVELS: tuple[str, ...] = tuple(schemas.load_scale("hackney").levels)  # "1", "2A", "2B", "3"
TRIAGE: tuple[str, ...] = ("standard", "medium", "high")
_STANDARDS = schemas.load_standards()
STANDARD_KEYS: tuple[str, ...] = tuple(_STANDARDS.standard_keys)
THEME_KEYS: tuple[str, ...] = tuple(_STANDARDS.theme_keys)

# ======================================================================================
# Calibration: front door
# ======================================================================================

# Contacts a month. WSCB annual report 2016/17, Appendix 6: "In an average month 800 contacts
# are received at the Family Front Door"; "monthly average of 580" domestic-abuse incidents.
# DA notifications are counted among the contacts, so the other contacts make up the rest.
CONTACTS_PER_MONTH = {"domestic_abuse": 580.0, "other": 225.0}
# WSCB 2016/17 App. 6: DA incidents "decreased by 5% year on year": the simulated history year
# (used only for re-referral counts) has 5% more.
HISTORY_DA_FACTOR = 1.05

# True triage grade of DA incidents, and the grade recorded at triage given the true grade
# (rows true standard/medium/high; columns recorded).  Calibrated so that the recorded medium
# or high incidents are about 88 a week: letter to head teachers (Worcestershire, November
# 2016): "between 80 and 100 medium and high risk domestic abuse incidents a week"; the letter
# invites schools to challenge "an inappropriate grading", i.e. under-grading happens.
TRUE_TRIAGE_MIX = np.array([0.30, 0.50, 0.20])
TRIAGE_GRADING_ERROR = np.array([[0.95, 0.05, 0.00],
                                 [0.10, 0.85, 0.05],
                                 [0.00, 0.10, 0.90]])
# True level of need of a DA incident given its true grade (columns 1, 2A, 2B, 3).
LEVEL_GIVEN_TRUE_GRADE = np.array([[0.50, 0.40, 0.10, 0.00],
                                   [0.00, 0.20, 0.55, 0.25],
                                   [0.00, 0.00, 0.15, 0.85]])

SOURCES: tuple[str, ...] = ("police", "school", "health", "la_services", "self_family",
                            "voluntary", "housing", "other_legal", "anonymous", "other")
# Source of the non-DA contacts (police here are non-DA notifications: missing, CSE...).
# Order as in DfE children in need statistics (police, schools, health, LA, individuals);
# the DA notifications make police the largest source overall (WSCB 2016/17 App. 6).
NON_DA_SOURCE_MIX = {"police": 0.14, "school": 0.26, "health": 0.20, "la_services": 0.12,
                     "self_family": 0.10, "voluntary": 0.05, "housing": 0.04,
                     "other_legal": 0.03, "anonymous": 0.03, "other": 0.03}
# Share of non-DA contacts that come via a multi-agency forum (school MAP, MAT panel,
# partnership triage), by source.  Illustrative; Hackney 2011 describes the forums.
MULTI_AGENCY_SHARE = {"police": 0.10, "school": 0.25, "health": 0.15, "la_services": 0.30,
                      "self_family": 0.00, "voluntary": 0.20, "housing": 0.10,
                      "other_legal": 0.05, "anonymous": 0.00, "other": 0.05}
# P(contact truly appropriate) by route. Hackney 2011 ("Overall findings"): "a high number of
# inappropriate referrals ... particularly ... cases referred by a single agency and not
# considered in a multi-agency forum"; First Response Team referrals from single agencies:
# "In two thirds of the cases ... not felt to be appropriate" (2 of 6); Partnership Triage
# (multi-agency): appropriate in 8 of 9 (Jeffreys mean 0.85).  WSCB 2016/17 Referral and
# Thresholds audit: "most contacts were considered to be appropriate".
FRONT_DOOR_APPROPRIATE = {"single_agency": 0.55, "multi_agency_forum": 0.85}
# Odds ratios by source on top of the route (Hackney 2011: training needed "particularly with
# GPs, some hospital-based services, schools and voluntary organisations"; midwifery and
# pre-natal staff named for the First Response Team).  Illustrative.
SOURCE_APPROPRIATE_ODDS = {"police": 1.0, "school": 0.8, "health": 0.7, "la_services": 1.6,
                           "self_family": 0.6, "voluntary": 0.8, "housing": 0.7,
                           "other_legal": 1.0, "anonymous": 0.5, "other": 0.7}
# True level given appropriateness (columns 1, 2A, 2B, 3): appropriate <=> level 2B or 3.
LEVEL_GIVEN_APPROPRIATE = {True: np.array([0.0, 0.0, 0.40, 0.60]),
                           False: np.array([0.55, 0.45, 0.0, 0.0])}
# The front door's decision relative to the true level (Ofsted on Worcestershire, WSCB
# 2016/17 s.2.2.2: "thresholds were not always applied consistently"; Hackney 2011's
# hypothesis that risks are held too low: more decisions one level low than one high).
FRONT_DOOR_DECISION = {"one_lower": 0.10, "exact": 0.83, "one_higher": 0.07}

OUTCOMES: tuple[str, ...] = ("nfa", "advice_signposting", "early_help", "tier2_service",
                             "assessment", "strategy_discussion", "open_case")
REFERRAL_OUTCOMES = ("assessment", "strategy_discussion")
# Outcome given the decided level (rows 1, 2A, 2B, 3).  Gives about 27% of contacts becoming
# referrals to CSC (WSCB 2016/17: many contacts are judged not to need CSC).
OUTCOME_GIVEN_LEVEL = np.array([
    [0.70, 0.30, 0.00, 0.00, 0.00, 0.00, 0.00],
    [0.10, 0.25, 0.65, 0.00, 0.00, 0.00, 0.00],
    [0.00, 0.10, 0.55, 0.35, 0.00, 0.00, 0.00],
    [0.00, 0.00, 0.00, 0.00, 0.78, 0.17, 0.05],
])
# Assessments completed within 45 working days. WSCB 2016/17 App. 6: "The rate of Section 17
# assessments completed in 45 days is 68% year to date compared to 80% in the previous year
# and to the national benchmark of 83.5% in 2015/16".
ASSESSMENT_ON_TIME = 0.70
ASSESSMENT_LIMIT_WORKING_DAYS = 45
# Timing at the front door (illustrative): days from contact to referral (0, 1, 2, 3), from
# referral to the start of the assessment (0-3), and the mean overrun in working days of a late
# assessment (exponential, capped at 90), for tier-2 (First Response Team) assessments a
# uniform overrun of 0-39 working days.
FRONT_DOOR_TIMING = {"referral_lag": (0.6, 0.3, 0.07, 0.03),
                     "assessment_lag": (0.5, 0.3, 0.1, 0.1),
                     "late_mean_overrun": 18.0, "late_max_overrun": 90,
                     "frt_late_overrun_max": 40}
# Children recur: pool size per contact and gamma shape of the children's propensities,
# tuned so that about a fifth of referrals follow another within 12 months (DfE,
# Characteristics of children in need: the national re-referral rate is about 22%).
CHILD_POOL_RATIO = 1.4
CHILD_PROPENSITY_SHAPE = 0.5
# Share of children already known to CSC before the simulated history starts.
KNOWN_BEFORE_SHARE = 0.15
# Age of a child at first contact (DfE age bands; a few unborn). Illustrative, close to the
# age profile of children in need nationally.
AGE_MIX = {"unborn": 0.02, "under_1": 0.09, "1_to_4": 0.20, "5_to_9": 0.25, "10_to_15": 0.32,
           "16_and_over": 0.12}
AGE_RANGE = {"unborn": (-0.6, 0.0), "under_1": (0.0, 1.0), "1_to_4": (1.0, 5.0),
             "5_to_9": (5.0, 10.0), "10_to_15": (10.0, 16.0), "16_and_over": (16.0, 18.0)}
GENDER_MIX = {"Male": 0.505, "Female": 0.48, "Not known": 0.015}
# Ethnicity as DfE CIN census codes (Worcestershire is mostly White British: WSCB 2016/17
# App. 1 describes a largely rural county of 583,000).
ETHNICITY_MIX = {"WBRI": 0.78, "WOTH": 0.04, "WIRI": 0.01, "MWBC": 0.03, "MWBA": 0.01,
                 "MOTH": 0.02, "APKN": 0.02, "AIND": 0.01, "ABAN": 0.01, "AOTH": 0.01,
                 "BAFR": 0.01, "BCRB": 0.01, "CHNE": 0.005, "OOTH": 0.005, "NOBT": 0.03}
FRONT_DOOR_TEAMS = {"contact": "Family Front Door", "early_help": "Early Help Hub",
                    "assessment": ("Assessment Team North", "Assessment Team South",
                                   "Assessment Team Wyre Forest", "Assessment Team Redditch")}
# True answers to the standards for front-door contacts where they are not fixed by the
# decision itself (referral appropriate = truly appropriate; threshold applied / appropriate
# tier = decided level right).  WSCB 2016/17 Referral and Thresholds audit: 70% of Cause for
# Concern notifications of good quality (n = 53).
FRONT_DOOR_RATES = {"risk_assessed": 0.80, "actions_proportionate": 0.82,
                    "safeguarding_acted_on": 0.90}
# Share of contacts whose referral did not state the concern or the response expected
# (WSCB 2016/17: 70% of notifications good, "some professionals need to be clearer about the
# nature of their concerns and what they expect to happen"; Hackney 2011 says the same).
REFERRAL_UNCLEAR = {True: 0.20, False: 0.45}
# Other themes of front-door contacts (illustrative base rates).
FRONT_DOOR_THEME_RATES = {"adult_mh_input_missing": 0.04, "siblings_not_considered": 0.04}

# ======================================================================================
# Calibration: tier-2 services (Hackney 2011)
# ======================================================================================

# Hackney 2011's findings per service: (cases audited, {standard: cases met}); None where the
# report is silent (the pooled rate is used).  "Partly" counts as half.  Source: CHSCB 2011,
# "Key findings in relation to specific processes and services".
HACKNEY_FINDINGS: dict[str, tuple[int, dict[str, float | None]]] = {
    # "In all case but one case the referral to Triage was felt to be appropriate"; all else met.
    "partnership_triage": (9, {"referral_appropriate": 8, "risk_assessed": 9,
                               "threshold_applied": 9, "actions_proportionate": 9,
                               "appropriate_tier": 9, "safeguarding_acted_on": 9,
                               "tier3_consultation": None}),
    # MAT and YPRRP, 5 cases: all met, with "appropriate consultation with tier 3".
    "mat_panel": (5, {"referral_appropriate": 5, "risk_assessed": 5, "threshold_applied": 5,
                      "actions_proportionate": 5, "appropriate_tier": 5,
                      "safeguarding_acted_on": None, "tier3_consultation": 5}),
    "yprrp": (5, {"referral_appropriate": 5, "risk_assessed": 5, "threshold_applied": 5,
                  "actions_proportionate": 5, "appropriate_tier": 5,
                  "safeguarding_acted_on": None, "tier3_consultation": 5}),
    # Tier-2 social work, 4 cases: "most cases" (3 of 4); consultation with tier 3 in all.
    "tier2_social_work": (4, {"referral_appropriate": 3, "risk_assessed": 3,
                              "threshold_applied": 3, "actions_proportionate": 3,
                              "appropriate_tier": 3, "safeguarding_acted_on": 3,
                              "tier3_consultation": 4}),
    # First Response Team, 6 cases: referral appropriate in a third (2 of 6); all else met.
    "first_response_team": (6, {"referral_appropriate": 2, "risk_assessed": 6,
                                "threshold_applied": 6, "actions_proportionate": 6,
                                "appropriate_tier": 6, "safeguarding_acted_on": 6,
                                "tier3_consultation": None}),
    # YOT-based FiPs, 3 cases: all met, interface with tier 3 appropriate in all.
    "family_intervention_project": (3, {"referral_appropriate": 3, "risk_assessed": 3,
                                        "threshold_applied": 3, "actions_proportionate": 3,
                                        "appropriate_tier": 3, "safeguarding_acted_on": 3,
                                        "tier3_consultation": 3}),
    # School MAP, 1 case: discussion "focussed on the child's behaviour ... it would have been
    # helpful to consider wider contextual information" (risk assessed: partly).
    "school_map": (1, {"referral_appropriate": None, "risk_assessed": 0.5,
                       "threshold_applied": None, "actions_proportionate": None,
                       "appropriate_tier": None, "safeguarding_acted_on": None,
                       "tier3_consultation": None}),
    # Health visiting, 1 case: "appropriately supported ... proportionate to the needs".
    "health_visiting": (1, {"referral_appropriate": None, "risk_assessed": None,
                            "threshold_applied": None, "actions_proportionate": 1,
                            "appropriate_tier": 1, "safeguarding_acted_on": None,
                            "tier3_consultation": None}),
}
TIER2_SERVICES: tuple[str, ...] = ("partnership_triage", "mat_panel", "yprrp",
                                   "tier2_social_work", "first_response_team",
                                   "family_intervention_project", "school_map",
                                   "health_visiting", "early_help")
DEFAULT_STANDARD_RATE = 0.80  # a standard of a custom template that Hackney does not cover


def _jeffreys_mean(x: float, n: float) -> float:
    return (x + 0.5) / (n + 1.0)


def _service_standard_rates() -> dict[str, dict[str, float]]:
    pooled: dict[str, float] = {}
    for key in STANDARD_KEYS:
        xs = [(f[1].get(key), f[0]) for s, f in HACKNEY_FINDINGS.items() if s != "yprrp"]
        xs = [(x, n) for x, n in xs if x is not None]
        pooled[key] = (_jeffreys_mean(sum(x for x, _ in xs), sum(n for _, n in xs)) if xs
                       else DEFAULT_STANDARD_RATE)
    rates: dict[str, dict[str, float]] = {}
    for service in TIER2_SERVICES:
        n, found = HACKNEY_FINDINGS.get(service, (0, {}))
        rates[service] = {k: (_jeffreys_mean(found[k], n) if found.get(k) is not None
                              else pooled[k]) for k in STANDARD_KEYS}
    return rates


# P(standard met) per tier-2 service: Jeffreys posterior means of Hackney 2011's x of n
# (e.g. triage referral appropriate 8 of 9 -> 0.85; First Response Team 2 of 6 -> 0.36;
# tier-2 social work 3 of 4 -> 0.70; FiP 3 of 3 -> 0.875); early help and silent cells use the
# pooled Hackney rate.  Computed from HACKNEY_FINDINGS.
SERVICE_STANDARD_RATES: dict[str, dict[str, float]] = _service_standard_rates()
# Correlation of the standards' latent scores within a case (Gaussian copula).
CASE_CORRELATION = 0.6
# The previous tier-2 audit round: P(met) lower by this amount (absolute) for every service and
# standard.  Worcestershire's repeat MACFAs "noted improvements in some areas of practice
# (where the audit had been repeated)" (WSCB 2016/17, Executive summary 4).
PREVIOUS_ROUND_SHIFT = 0.10
PREVIOUS_ROUND_AUDIT_DATE = "2025-03-13"
# The Hackney 2011 sample composition (29 cases), used for the previous round and the default
# returns written with the demo data.
HACKNEY_SAMPLE = {"mat_panel": 3, "yprrp": 2, "partnership_triage": 9, "tier2_social_work": 4,
                  "first_response_team": 6, "family_intervention_project": 3, "school_map": 1,
                  "health_visiting": 1}


@dataclass(frozen=True)
class ServiceProfile:
    """How a tier-2 service's cases look (population in the year, ages, sources, route)."""

    population: int
    ages: tuple[float, float]
    sources: dict[str, float]
    multi_agency: float  # share of cases that came via a multi-agency forum
    domestic_abuse: float
    teams: tuple[str, ...]
    level_mix: tuple[float, float]  # P(2A), P(2B) for an appropriate tier-2 case
    previous_csc: float


# Tier-2 populations over the year.  Hackney 2011 ("Local arrangements", "Process"): six MAT
# panels meeting monthly (ages 0-4), a borough-wide YPRRP meeting fortnightly (11-18), termly
# school MAPs, Partnership Triage processing police reports on all incidents involving
# children, tier-2 social work (complex cases "close to the threshold for tier 3"), YOT-based
# FiPs; "the high volume of cases being processed ... at tier 2".  Sizes are illustrative
# (tens to a few hundred), large enough for the Hackney sample of 29.
SERVICE_PROFILES: dict[str, ServiceProfile] = {
    "partnership_triage": ServiceProfile(420, (0, 18), {"police": 0.80, "school": 0.08,
                                         "health": 0.07, "la_services": 0.05}, 1.0, 0.60,
                                         ("Partnership Triage",), (0.5, 0.5), 0.30),
    "mat_panel": ServiceProfile(180, (-0.5, 5), {"health": 0.50, "la_services": 0.20,
                                "school": 0.10, "voluntary": 0.20}, 1.0, 0.30,
                                tuple(f"MAT Cluster {i}" for i in range(1, 7)), (0.6, 0.4),
                                0.15),
    "yprrp": ServiceProfile(70, (11, 18), {"school": 0.40, "police": 0.20, "la_services": 0.20,
                            "voluntary": 0.20}, 1.0, 0.25, ("YPRRP",), (0.3, 0.7), 0.35),
    "tier2_social_work": ServiceProfile(90, (0, 18), {"la_services": 0.70, "school": 0.10,
                                        "health": 0.10, "other": 0.10}, 0.4, 0.40,
                                        ("Tier 2 Social Work",), (0.2, 0.8), 0.75),
    "first_response_team": ServiceProfile(220, (-0.5, 18), {"health": 0.35, "school": 0.35,
                                          "voluntary": 0.10, "housing": 0.10,
                                          "la_services": 0.10}, 0.2, 0.25,
                                          ("First Response Team",), (0.5, 0.5), 0.30),
    "family_intervention_project": ServiceProfile(45, (10, 18), {"other_legal": 0.50,
                                                  "la_services": 0.30, "police": 0.20}, 0.5,
                                                  0.35, ("YOT Family Intervention Project",),
                                                  (0.2, 0.8), 0.50),
    "school_map": ServiceProfile(60, (5, 16), {"school": 1.0}, 1.0, 0.15, ("School MAP",),
                                 (0.7, 0.3), 0.20),
    "health_visiting": ServiceProfile(150, (-0.5, 5), {"health": 1.0}, 0.0, 0.20,
                                      ("Health Visiting North", "Health Visiting South"),
                                      (0.7, 0.3), 0.10),
    "early_help": ServiceProfile(300, (0, 18), {"school": 0.35, "health": 0.25,
                                 "self_family": 0.20, "la_services": 0.10, "voluntary": 0.10},
                                 0.4, 0.25, ("Early Help Hub",), (0.6, 0.4), 0.20),
}
# True level of an inappropriate tier-2 case (columns 1, 2A, 2B, 3): mostly a tier-3 case held
# too low (Hackney 2011 hypothesis; tier-2 social work: "should have remained open at tier 3"),
# else one needing only universal services.  First Response Team (a referral to CSC): an
# inappropriate referral needed tier 1 or 2 ("a referral to tier 2 services would have been
# more appropriate, but in other cases there was no indication of a need for any additional
# support").
TIER2_LEVELS = {"inappropriate": np.array([0.40, 0.0, 0.0, 0.60]),
                "frt_inappropriate": np.array([0.45, 0.35, 0.20, 0.0])}
# Escalation to tier 3 (tier3_referral_date): share escalated by true level, and the delay
# from first concern (gamma, mean in days), longer where the child was known to CSC before
# (Hackney 2011: "delay in services making referrals to Tier 3, particularly where the case
# had previously been held at tier 3").
TIER3_ESCALATION = {"3": 0.70, "2B": 0.12}
# Tier-2 case dynamics (illustrative, in the direction Hackney 2011 reports):
# * shared_child: share of First Response Team and tier-2 social-work children who also had
#   front-door contacts ("tier 2 services did not always have full information about the
#   history of past concerns ... previous involvement with Children's Social Care");
# * held_sublevel_swap: an appropriate tier-2 case held at the other tier-2 sub-level (2A/2B);
# * frt_decision_error: First Response Team level one off ("threshold criteria ... accurately
#   applied" in all 6 FRT cases audited, so small);
# * first_concern: P(a concern is recorded) by true level 2B-3, 2A, 1; mean days from referral
#   to the service to the first recorded concern.
TIER2_DYNAMICS = {"shared_child": 0.40, "held_sublevel_swap": 0.15, "frt_decision_error": 0.10,
                  "first_concern": {"2B+": 0.90, "2A": 0.30, "1": 0.05},
                  "first_concern_mean_days": 14.0, "previous_round_delay_theme": 0.40}
TIER3_DELAY_MEAN_DAYS = {False: 14.0, True: 35.0}
TIER3_DELAY_THEME_DAYS = 28
# Themes (CHSCB 2011): domestic-abuse risk not fully recognised is the main one ("These mostly
# related to domestic violence cases ... workers felt unsure about how concerned they should
# be"; the Barnardo's DV risk tool not "widely applied and understood").  A DA case has the
# theme when a risk, threshold or tier standard is not met, or else with probability da_base.
THEME_RATES = {"adult_mh_input_missing": {"forum": 0.15, "other": 0.05},
               "unaware_previous_csc": 0.20,  # of children known to CSC before
               "referral_unclear": {True: 0.03, False: 0.35},  # by referral appropriate
               "siblings_not_considered": {"family_intervention_project": 0.25, "yprrp": 0.20,
                                           "other": 0.05},
               "da_base": 0.20}

# ======================================================================================
# Auditor and rater error models
# ======================================================================================

AUDITOR_ERROR = 0.08
AUDITOR_INSUFFICIENT = 0.02
NOT_MET_NO_SHARE = 0.6
TIER_JUDGED_ERROR = 0.15
TRIAGE_JUDGED_ERROR = 0.10
THEME_SENSITIVITY = 0.85
THEME_FALSE_POSITIVE = 0.02
THRESHOLD_SECOND_AUDITOR = 0.30
# Auditor panels: initials and agency (a multi-agency QA sub-committee: Hackney 2011
# "Process"; WSCB 2016/17 MACFAs).
TIER2_AUDITORS: tuple[tuple[str, str], ...] = (
    ("AB", "police"), ("CD", "health"), ("EF", "social_care"), ("GH", "education"),
    ("JK", "early_help"), ("LM", "probation"), ("NP", "health"), ("QR", "social_care"),
    ("ST", "police"), ("UV", "education"))
THRESHOLD_AUDITORS: tuple[tuple[str, str], ...] = (
    ("WX", "social_care"), ("YZ", "police"), ("BC", "health"), ("DF", "education"),
    ("HJ", "early_help"))
AUDIT_DATES = {"tier2": ("2026-03-12",),
               "threshold": ("2026-03-19", "2026-03-20", "2026-03-26")}
THEME_NOTES = {
    "da_risk_not_recognised": "risk from domestic abuse under-estimated",
    "adult_mh_input_missing": "no input from adult mental health services",
    "unaware_previous_csc": "history of CSC involvement not known to the service",
    "referral_unclear": "referral did not say what the concern was or what was expected",
    "delay_referring_tier3": "delay before referral to tier 3",
    "siblings_not_considered": "siblings not considered",
}

# Vignette exercise: agency accuracy (exact agreement with the reference level) and the
# probability that a misgrade is one level up.  Illustrative, in the direction the documents
# report: schools grade higher (WSCB 2016/17: schools' concerns about front-door decisions;
# Ofsted: "practitioners do not understand thresholds"), police lower, social care closest to
# the panel (Hackney 2011: thresholds well applied in multi-agency and social-work settings).
AGENCY_MODEL: dict[str, dict[str, float]] = {
    "police": {"accuracy": 0.62, "p_up": 0.30},
    "school": {"accuracy": 0.55, "p_up": 0.78},
    "health": {"accuracy": 0.64, "p_up": 0.60},
    "social_care": {"accuracy": 0.80, "p_up": 0.45},
    "early_help": {"accuracy": 0.70, "p_up": 0.55},
}
RATERS_PER_AGENCY = {"police": 4, "school": 6, "health": 5, "social_care": 5, "early_help": 4}
RATER_PREFIX = {"police": "POL", "school": "SCH", "health": "HEA", "social_care": "CSC",
                "early_help": "EH", "voluntary": "VOL", "probation": "PRB", "housing": "HOU"}
REFERENCE_MIX = np.array([0.20, 0.30, 0.30, 0.20])
VIGNETTE_DIFFICULTY = {"values": (0.5, 1.0, 1.5), "probs": (1 / 3, 1 / 3, 1 / 3)}
# The referrer's suggested level uses the agency model of the referring source.
SOURCE_AGENCY = {"police": "police", "school": "school", "health": "health",
                 "la_services": "social_care", "voluntary": "early_help",
                 "housing": "early_help", "other_legal": "police", "other": "health"}

MIN_DEMO_CONTACTS = 1200
