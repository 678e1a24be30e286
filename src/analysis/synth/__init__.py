"""Seeded, deterministic synthetic data: a local authority's year, audits and a rating exercise.

Real case data are confidential, so the demo round runs on a synthetic year calibrated on the
figures in the domain documents (``shared/domain/seeds``), every constant below citing its
source.  The same seed always gives byte-identical files (``numpy.random.default_rng`` with a
fixed stream per component; CSV through ``analysis.export.write_csv``; XLSX through
``analysis.export.deterministic_xlsx``).

What is generated
-----------------
* **Front-door contacts** (``service = front_door``): a financial year, 1 April 2025 to
  31 March 2026 (the demo round date; nothing is dated later), at about 800 contacts a month
  (Worcestershire Safeguarding Children Board (WSCB) annual report 2016/17, Appendix 6:
  "In an average month 800 contacts are received at the Family Front Door").  About 580 a month
  are police domestic-abuse (DA) notifications (WSCB 2016/17 App. 6: "monthly average of 580"
  DA incidents) graded standard, medium or high at triage, 80-100 a week medium or high
  (letter to head teachers, Worcestershire, 4 November 2016: "between 80 and 100 medium and
  high risk domestic abuse incidents a week in triage").  Because every DA incident involving a
  child is notified, police are by far the largest source of contacts; schools, health, the
  local authority and families follow.  Children recur (a child pool with gamma-distributed
  propensities), so re-referral measures work; ``referrals_last_12m`` is derived from the
  generated history (a preceding year is simulated and dropped).
* **Tier-2 cases** in the services of the Hackney audit (CHSCB QA sub-committee, "Audit of
  safeguarding practice within Tier 2 service provision in Hackney", July 2011): Partnership
  Triage, MAT panels, YPRRP, tier-2 social work, First Response Team, FiPs, school MAPs,
  health visiting, plus early help; with ``first_concern_date`` and, where escalated,
  ``tier3_referral_date`` (the delay measure).
* **The hidden truth** (``truth.parquet``, keyed by raw case id, never ingested or published):
  true level of need, true triage grade, whether the contact was truly appropriate, the true
  answer to each audit standard (met / not_met / not_applicable) and the true themes.
* **Audit returns** played by synthetic auditors from the truth, a **previous tier-2 round**
  with compliance lower by ``PREVIOUS_ROUND_SHIFT``, a **vignette rating exercise** and a messy
  **Ofsted Annex A list 1** workbook.
* **Scale mode** (``generate_population_parquet``): millions of contact rows to Parquet.

The generating model (the "truth")
----------------------------------
Front door.  A DA notification has a true triage grade drawn from ``TRUE_TRIAGE_MIX``; the
grade recorded at triage follows ``TRIAGE_GRADING_ERROR`` (mostly right, some medium-risk
incidents under-graded as standard).  Its true level of need follows
``LEVEL_GIVEN_TRUE_GRADE``.  Any other contact is truly appropriate with probability
``logistic(logit(FRONT_DOOR_APPROPRIATE[route]) + log(SOURCE_APPROPRIATE_ODDS[source]))``
(Hackney 2011: inappropriate referrals "particularly ... referred by a single agency and not
considered in a multi-agency forum"); its true level is 2B or 3 when appropriate, 1 or 2A when
not (``LEVEL_GIVEN_APPROPRIATE``).  So a contact is truly appropriate exactly when its true
level is 2B or 3.  The front door's decision (``level_of_need``) is the true level, or one
level lower or higher with the probabilities of ``FRONT_DOOR_DECISION`` (risks sometimes held
too low: the Hackney hypothesis); an under-graded DA incident is held at least one level low.
The referrer's suggested level follows the agency model of ``AGENCY_MODEL`` (exact with the
agency's probability, else one level up with probability ``p_up``, otherwise down).  The
outcome follows the decided level (``OUTCOME_GIVEN_LEVEL``); assessments and strategy
discussions are referrals to children's social care and carry assessment dates, completed
within 45 working days with probability ``ASSESSMENT_ON_TIME`` (WSCB 2016/17 App. 6: 68% year
to date, 80% the year before, 83.5% national).

Tier 2.  For each service and standard the probability that the standard is met is
``SERVICE_STANDARD_RATES`` (the Jeffreys posterior mean (x + 1/2)/(n + 1) of Hackney's "x of
n cases", so that "all of n" is not made a certainty; where Hackney is silent, the pooled
rate).  Answers within a case are correlated through a Gaussian copula with a case latent
(correlation ``CASE_CORRELATION``), which keeps each marginal rate exact while letting poor
practice cluster in the same cases, as in Hackney's one tier-2 social-work case that failed
most standards.  The true level follows whether the referral was appropriate
(``TIER2_LEVELS``): an inappropriate tier-2 case is either a tier-3 case held too low or one
that needed nothing more than universal services.

Auditor error model (``simulate_audit_returns``)
------------------------------------------------
Each auditor answers each standard independently:

* "insufficient_information" with probability ``AUDITOR_INSUFFICIENT``;
* otherwise the true category with probability ``1 - AUDITOR_ERROR`` (met -> "yes"; not met ->
  "no" with probability ``NOT_MET_NO_SHARE``, else "partly"; not applicable ->
  "not_applicable");
* otherwise the neighbouring category: met -> "partly", not met -> "yes", not applicable ->
  "yes".

So among answered standards the share in the true category is exactly ``1 - AUDITOR_ERROR``.
``tier_judged`` is the true level with probability ``1 - TIER_JUDGED_ERROR``, else one level
off (up or down with equal chance, inward at the ends); ``triage_grade_judged`` likewise with
``TRIAGE_JUDGED_ERROR``.  A true theme is flagged with probability ``THEME_SENSITIVITY``, an
absent one with ``THEME_FALSE_POSITIVE``.  The overall grade follows the auditor's own answers
(``overall_grade_from_answers``).

A board's own template and scale (``to_board``)
-----------------------------------------------
The truth is kept in the Hackney vocabulary (tiers 1, 2A, 2B, 3; the seven Hackney standards
answered yes/partly/no).  A round with its own template or scale gets the same synthetic
auditors speaking its words, by a fixed rule (``board_levels``, ``board_sources``,
``board_answers``): level ``i`` of the four Hackney tiers becomes level
``round(i * (m - 1) / 3)`` of an ``m``-level scale (so 1, 2A, 2B, 3 -> levels 1, 2, 3, 4 of
``four_level``); a template standard takes the truth of the Hackney standard with the same key,
else of the Hackney standards not taken by name, in order (cycling); a theme likewise; "yes"
becomes the template's first "met" answer, "partly" its first "not met" answer, "no" its last
"not met" answer, and not_applicable / insufficient_information stay themselves where the
template has them, else the answer is left blank (not answered).  Every random draw is the
same as in the Hackney round, so the demo round's outputs do not change.

Rater error model (``generate_ratings``)
----------------------------------------
Each vignette has a reference level (``REFERENCE_MIX``) and a difficulty ``d`` drawn from
``VIGNETTE_DIFFICULTY`` (mean 1).  A rater of agency ``a`` misgrades with probability
``(1 - accuracy_a) * d``, so the agency's expected accuracy is exactly ``accuracy_a``; a
misgrade is one level up with probability ``p_up_a`` and one level down otherwise (always
inward at the ends of the scale).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from .. import privacy, schemas
from ..export import write_csv
from ..ingest import InputError

if TYPE_CHECKING:
    from ..synth_annex import AnnexSheet

__all__ = ["AGENCY_MODEL", "AGE_BAND_CODES", "AGE_MIX", "AGE_RANGE",
           "ASSESSMENT_LIMIT_WORKING_DAYS",
           "ASSESSMENT_ON_TIME", "AUDITOR_ERROR", "AUDITOR_INSUFFICIENT", "AUDIT_DATES",
           "CASE_CORRELATION", "CHILD_POOL_RATIO", "CHILD_PROPENSITY_SHAPE", "CONTACTS_PER_MONTH",
           "DEFAULT_STANDARD_RATE", "DemoData", "ETHNICITY_MIX", "EXCEL_EPOCH",
           "FRONT_DOOR_APPROPRIATE", "FRONT_DOOR_DECISION", "FRONT_DOOR_RATES", "FRONT_DOOR_TEAMS",
           "FRONT_DOOR_THEME_RATES", "FRONT_DOOR_TIMING", "FY_END", "FY_START", "FrontDoor",
           "GENDER_MIX", "HACKNEY_FINDINGS", "HACKNEY_SAMPLE",
           "HISTORY_DA_FACTOR", "HISTORY_START", "KNOWN_BEFORE_SHARE", "LEVELS",
           "LEVEL_GIVEN_APPROPRIATE", "LEVEL_GIVEN_TRUE_GRADE", "MIN_DEMO_CONTACTS",
           "MULTI_AGENCY_SHARE", "NON_DA_SOURCE_MIX", "NOT_MET_NO_SHARE", "OUTCOMES",
           "OUTCOME_GIVEN_LEVEL", "PREVIOUS_ROUND_AUDIT_DATE", "PREVIOUS_ROUND_SHIFT",
           "RATERS_PER_AGENCY", "RATER_PREFIX", "REFERENCE_MIX", "REFERRAL_OUTCOMES",
           "REFERRAL_UNCLEAR", "SCALE_CHUNK_ROWS", "SCALE_START", "SERVICE_PROFILES",
           "SERVICE_STANDARD_RATES", "SOURCES", "SOURCE_AGENCY", "SOURCE_APPROPRIATE_ODDS",
           "STANDARD_KEYS", "STREAMS", "ServiceProfile", "SynthError",
           "THEME_FALSE_POSITIVE", "THEME_KEYS", "THEME_NOTES", "THEME_RATES", "THEME_SENSITIVITY",
           "THRESHOLD_AUDITORS", "THRESHOLD_SECOND_AUDITOR", "TIER2_AUDITORS", "TIER2_DYNAMICS",
           "TIER2_LEVELS", "TIER2_SERVICES", "TIER3_DELAY_MEAN_DAYS", "TIER3_DELAY_THEME_DAYS",
           "TIER3_ESCALATION", "TIER_JUDGED_ERROR", "TRIAGE", "TRIAGE_GRADING_ERROR",
           "TRIAGE_JUDGED_ERROR", "TRUE_TRIAGE_MIX", "VIGNETTE_DIFFICULTY", "board_answers",
           "board_levels", "board_sources", "demo_calendar", "demo_frames",
           "generate_population_parquet",
           "generate_ratings", "overall_grade_from_answers", "referrals_in_previous_year",
           "simulate_audit_returns", "tier2_truth", "to_board", "write_audit_returns",
           "write_demo"]


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

# Annex A list 1 workbook: how many contacts, and the planted bad rows (rules ingest applies).
# ======================================================================================
# Small vectorised helpers
# ======================================================================================


def _rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), STREAMS[stream], *more])


def _draw_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n x k) by the inverse CDF."""
    probs = np.atleast_2d(probs)
    cum = np.cumsum(probs, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(probs))
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _draw(rng: np.random.Generator, mix: Mapping[str, float] | np.ndarray, n: int) -> np.ndarray:
    """n draws (indices) from a probability vector or a {name: probability} mapping."""
    p = np.asarray(list(mix.values()) if isinstance(mix, Mapping) else mix, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _misgrade(rng: np.random.Generator, true_pos: np.ndarray, error: np.ndarray | float,
              p_up: np.ndarray | float, k: int) -> np.ndarray:
    """Ordinal misgrading: wrong with probability ``error``, then one step up with
    probability ``p_up`` (else down), always inward at the ends of a k-level scale."""
    true_pos = np.asarray(true_pos, dtype=np.int64)
    n = len(true_pos)
    wrong = rng.random(n) < np.broadcast_to(error, n)
    step = np.where(rng.random(n) < np.broadcast_to(p_up, n), 1, -1)
    step = np.where(true_pos == 0, 1, np.where(true_pos == k - 1, -1, step))
    return np.where(wrong, true_pos + step, true_pos)


def _copula_met(rng: np.random.Generator, z: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Met with probability ``rate`` exactly, correlated through the case latent ``z``."""
    e = rng.standard_normal(len(z))
    u = math.sqrt(CASE_CORRELATION) * z + math.sqrt(1 - CASE_CORRELATION) * e
    return stats.norm.cdf(u) < rate


def _holidays(first_year: int, last_year: int) -> np.ndarray:
    import holidays

    hol = holidays.country_holidays("GB", subdiv="ENG", years=list(range(first_year,
                                                                         last_year + 1)))
    return np.array(sorted(hol.keys()), dtype="datetime64[D]")


def _contact_days(rng: np.random.Generator, start: np.datetime64, end: np.datetime64,
                  per_month: float | None = None, total: int | None = None) -> np.ndarray:
    """Sorted contact days: Poisson counts per calendar month (``per_month`` a 30.4-day month),
    or exactly ``total`` spread by days; uniform days within the month."""
    months = np.arange(start.astype("datetime64[M]"), end.astype("datetime64[M]") + 1)
    first = np.maximum(months.astype("datetime64[D]"), start)
    last = np.minimum((months + 1).astype("datetime64[D]") - 1, end)
    ndays = (last - first).astype(np.int64) + 1
    if total is None:
        counts = rng.poisson((per_month or 0.0) * ndays / (365.25 / 12))
    else:
        counts = rng.multinomial(int(total), ndays / ndays.sum())
    offs = (rng.random(int(counts.sum())) * np.repeat(ndays, counts)).astype(np.int64)
    return np.sort(np.repeat(first, counts) + offs)


def _add_years(days: np.ndarray, years: int) -> np.ndarray:
    """Calendar-year offset of datetime64[D] values (as pandas.DateOffset(years=...))."""
    s = pd.to_datetime(pd.Series(days.astype("datetime64[ns]")))
    return (s + pd.DateOffset(years=years)).to_numpy().astype("datetime64[D]")


def demo_calendar(year_end: date | str | np.datetime64 | None = None
                  ) -> tuple[np.datetime64, np.datetime64, np.datetime64]:
    """(first day, last day, first day of the simulated history year) of the synthetic
    financial year ending on ``year_end`` (None: the demo year, ``FY_START``..``FY_END``).

    The year starts the day after ``year_end`` a year earlier (31 March 2024 -> 1 April 2023)
    and the history year (simulated for re-referral counts, then dropped) a year before that.
    """
    end = FY_END if year_end is None else np.datetime64(str(year_end)[:10], "D")
    start = _add_years(np.array([end]), -1)[0] + np.timedelta64(1, "D")
    return start, end, _add_years(np.array([start]), -1)[0]


def _year(day: np.datetime64) -> int:
    return int(str(np.datetime64(day, "D"))[:4])


def _dated(dates: Sequence[str], year_end: np.datetime64 | date | str | None,
           years_before: int = 0) -> tuple[str, ...]:
    """Audit dates of the demo year (``AUDIT_DATES``; ``PREVIOUS_ROUND_AUDIT_DATE`` with
    ``years_before=1``) moved to the synthetic year ending ``year_end``: the same number of
    days before the last day of the year (of the year before, with ``years_before=1``), so
    that a leap day in between does not move them."""
    end = FY_END if year_end is None else np.datetime64(str(year_end)[:10], "D")
    anchor = _add_years(np.array([FY_END]), -years_before)[0]
    target = _add_years(np.array([end]), -years_before)[0]
    return tuple(str(target - (anchor - np.datetime64(d, "D"))) for d in dates)


def referrals_in_previous_year(child: np.ndarray, referral_day: np.ndarray) -> np.ndarray:
    """For each referral, the number of the same child's referrals on an earlier date within
    the year before (the DfE re-referral definition; Annex A list 3 "Number of Referrals in
    Last 12 Months").  Vectorised: one sort and two binary searches."""
    child = np.asarray(child, dtype=np.int64)
    day = np.asarray(referral_day, dtype="datetime64[D]").astype(np.int64)
    lower = _add_years(referral_day.astype("datetime64[D]"), -1).astype(np.int64)
    offset = 1 << 20
    keys = child * offset + (day - day.min() + 400)
    lo_keys = child * offset + (lower - day.min() + 400)
    order = np.sort(keys)
    return np.searchsorted(order, keys, "left") - np.searchsorted(order, lo_keys, "left")


def _days_to_ts(days: np.ndarray, valid: np.ndarray | None = None) -> pd.Series:
    out = pd.Series(np.asarray(days, dtype="datetime64[D]").astype("datetime64[ns]"))
    if valid is not None:
        out = out.where(pd.Series(valid), pd.NaT)
    return out


# ======================================================================================
# Front door
# ======================================================================================


@dataclass
class FrontDoor:
    """Front-door contacts as integer-coded arrays (one element per contact)."""

    day: np.ndarray
    da: np.ndarray
    source: np.ndarray
    route: np.ndarray  # 0 single agency, 1 multi-agency forum
    true_grade: np.ndarray  # -1 not a DA notification
    grade: np.ndarray
    appropriate: np.ndarray
    true_level: np.ndarray
    level: np.ndarray
    referrer_level: np.ndarray  # -1 none suggested
    outcome: np.ndarray
    referral_day: np.ndarray
    referred: np.ndarray
    assess_start: np.ndarray
    assess_end: np.ndarray
    has_start: np.ndarray
    has_end: np.ndarray
    team: np.ndarray
    child: np.ndarray


def _front_door(rng: np.random.Generator, day: np.ndarray, da: np.ndarray, end: np.datetime64,
                holidays: np.ndarray, n_children: int, assessment_shift: float = 0.0
                ) -> FrontDoor:
    """Attributes of front-door contacts (see the module docstring for the model)."""
    n = len(day)
    src_names = list(NON_DA_SOURCE_MIX)
    source = np.where(da, SOURCES.index("police"),
                      np.array([SOURCES.index(s) for s in src_names])[
                          _draw(rng, NON_DA_SOURCE_MIX, n)])
    multi = np.array([MULTI_AGENCY_SHARE[s] for s in SOURCES])[source]
    route = np.where(da, 0, (rng.random(n) < multi).astype(np.int64))

    true_grade = np.where(da, _draw(rng, TRUE_TRIAGE_MIX, n), -1)
    grade = np.where(da, _draw_rows(rng, TRIAGE_GRADING_ERROR[np.maximum(true_grade, 0)]), -1)

    # Non-DA: appropriate by route and source, then the level; DA: level from the grade.
    base = np.array([FRONT_DOOR_APPROPRIATE["single_agency"],
                     FRONT_DOOR_APPROPRIATE["multi_agency_forum"]])[route]
    odds = np.array([SOURCE_APPROPRIATE_ODDS[s] for s in SOURCES])[source]
    logit = np.log(base / (1 - base)) + np.log(odds)
    p_app = 1 / (1 + np.exp(-logit))
    app_draw = rng.random(n) < p_app
    lvl_app = _draw_rows(rng, np.tile(LEVEL_GIVEN_APPROPRIATE[True], (n, 1)))
    lvl_not = _draw_rows(rng, np.tile(LEVEL_GIVEN_APPROPRIATE[False], (n, 1)))
    lvl_da = _draw_rows(rng, LEVEL_GIVEN_TRUE_GRADE[np.maximum(true_grade, 0)])
    true_level = np.where(da, lvl_da, np.where(app_draw, lvl_app, lvl_not))
    appropriate = true_level >= 2

    dec = FRONT_DOOR_DECISION
    shift = _draw(rng, np.array([dec["one_lower"], dec["exact"], dec["one_higher"]]), n) - 1
    level = np.clip(true_level + shift, 0, 3)
    under = da & (grade < true_grade)
    level = np.where(under, np.clip(np.minimum(level, true_level - 1), 0, 3), level)

    agency = [SOURCE_AGENCY.get(s) for s in SOURCES]
    acc = np.array([AGENCY_MODEL[a]["accuracy"] if a else 1.0 for a in agency])[source]
    up = np.array([AGENCY_MODEL[a]["p_up"] if a else 0.5 for a in agency])[source]
    referrer_level = _misgrade(rng, true_level, 1 - acc, up, len(LEVELS))
    no_suggestion = np.isin(source, [SOURCES.index("self_family"), SOURCES.index("anonymous")])
    referrer_level = np.where(no_suggestion, -1, referrer_level)

    outcome = _draw_rows(rng, OUTCOME_GIVEN_LEVEL[level])
    referred = np.isin(outcome, [OUTCOMES.index(o) for o in REFERRAL_OUTCOMES])
    lag = _draw(rng, np.array(FRONT_DOOR_TIMING["referral_lag"]), n).astype("timedelta64[D]")
    referral_day = np.minimum(day + lag, end)

    # Assessments (section 17 / 47): start within 0-3 days of referral; working days to
    # completion <= 45 with probability ASSESSMENT_ON_TIME.
    start = np.busday_offset(np.minimum(referral_day + _draw(
        rng, np.array(FRONT_DOOR_TIMING["assessment_lag"]), n).astype("timedelta64[D]"), end), 0,
        roll="forward", holidays=holidays)
    on_time = rng.random(n) < ASSESSMENT_ON_TIME - assessment_shift
    wd = np.where(on_time, rng.integers(5, ASSESSMENT_LIMIT_WORKING_DAYS + 1, n),
                  ASSESSMENT_LIMIT_WORKING_DAYS + 1 + np.minimum(
                      rng.exponential(FRONT_DOOR_TIMING["late_mean_overrun"], n).astype(
                          np.int64), FRONT_DOOR_TIMING["late_max_overrun"]))
    finish = np.busday_offset(start, wd, holidays=holidays)
    has_start = referred & (start <= end)
    has_end = has_start & (finish <= end)

    area = rng.integers(0, len(FRONT_DOOR_TEAMS["assessment"]), n)
    team = np.where(referred | (outcome == OUTCOMES.index("open_case")), area + 2,
                    np.where(outcome == OUTCOMES.index("early_help"), 1, 0))

    # Children: gamma propensities, so some children have many contacts.
    w = rng.gamma(CHILD_PROPENSITY_SHAPE, size=n_children)
    child = rng.choice(n_children, size=n, p=w / w.sum())
    return FrontDoor(day=day, da=da, source=source, route=route, true_grade=true_grade,
                     grade=grade, appropriate=appropriate, true_level=true_level, level=level,
                     referrer_level=referrer_level, outcome=outcome, referral_day=referral_day,
                     referred=referred, assess_start=start, assess_end=finish,
                     has_start=has_start, has_end=has_end, team=team, child=child)


def _team_names() -> list[str]:
    return [FRONT_DOOR_TEAMS["contact"], FRONT_DOOR_TEAMS["early_help"],
            *FRONT_DOOR_TEAMS["assessment"]]


def _children(rng: np.random.Generator, child: np.ndarray, day: np.ndarray,
              ages: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Per-child attributes for the children in ``child`` (any integer labels): date of birth
    consistent with every contact (unborn at most ~220 days before birth, under 18 at the last
    contact), gender and ethnicity codes.  Returns arrays indexed like ``child``."""
    uniq, inv = np.unique(child, return_inverse=True)
    m = len(uniq)
    d = day.astype(np.int64)
    first = np.full(m, np.iinfo(np.int64).max)
    last = np.full(m, np.iinfo(np.int64).min)
    np.minimum.at(first, inv, d)
    np.maximum.at(last, inv, d)
    span = (last - first) / 365.25
    if ages is None:
        band = _draw(rng, AGE_MIX, m)
        lo = np.array([AGE_RANGE[b][0] for b in AGE_MIX])[band]
        hi = np.array([AGE_RANGE[b][1] for b in AGE_MIX])[band]
    else:
        lo, hi = np.full(m, ages[0]), np.full(m, ages[1])
    age_first = lo + rng.random(m) * (hi - lo)
    age_first = np.clip(age_first, -0.6, np.maximum(17.95 - span, -0.6))
    dob = first - np.round(age_first * 365.25).astype(np.int64)
    gender = _draw(rng, GENDER_MIX, m)
    gender = np.where(age_first < 0, np.where(rng.random(m) < 0.6, 2, gender), gender)
    ethnicity = _draw(rng, ETHNICITY_MIX, m)
    return {"dob": dob[inv].astype("datetime64[D]"), "gender": gender[inv],
            "ethnicity": ethnicity[inv], "first": first[inv], "index": inv}


# ======================================================================================
# Truth: standards and themes
# ======================================================================================


def _std_frame(met: dict[str, np.ndarray], applicable: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in STANDARD_KEYS:
        out[f"std_{k}"] = np.where(~applicable[k], "not_applicable",
                                   np.where(met[k], "met", "not_met"))
    return out


def tier2_truth(services: Sequence[str], seed: int, shift: float = 0.0) -> pd.DataFrame:
    """True level and true answers to the standards for tier-2 cases of the given services.

    The model of the module docstring: P(met) = ``SERVICE_STANDARD_RATES[service][standard]
    - shift`` with a Gaussian-copula case latent; the true level follows the referral's
    appropriateness (``TIER2_LEVELS``); tier-3 consultation is not applicable below level 2B
    and for the First Response Team (already tier 3).  Columns: service, appropriate,
    true_level, std_<key> (met / not_met / not_applicable).
    """
    return _tier2_core(np.random.default_rng([int(seed), STREAMS["tier2"], 99]),
                       np.asarray(services, dtype=object), shift)


def _tier2_core(rng: np.random.Generator, services: np.ndarray, shift: float) -> pd.DataFrame:
    n = len(services)
    unknown = sorted(set(services) - set(SERVICE_STANDARD_RATES))
    if unknown:
        raise SynthError(f"no calibration for tier-2 service(s) {unknown}; known: "
                         f"{', '.join(SERVICE_STANDARD_RATES)}")
    z = rng.standard_normal(n)
    met: dict[str, np.ndarray] = {}
    for k in STANDARD_KEYS:
        rate = np.array([SERVICE_STANDARD_RATES[s][k] for s in services], dtype=float) - shift
        met[k] = _copula_met(rng, z, np.clip(rate, 0.01, 0.99))
    appropriate = met.get("referral_appropriate", np.ones(n, dtype=bool))
    frt = services == "first_response_team"
    mix = np.array([SERVICE_PROFILES[s].level_mix for s in services], dtype=float)
    lvl_app = np.where(rng.random(n) < mix[:, 0] / mix.sum(axis=1), 1, 2)
    lvl_not = _draw_rows(rng, np.tile(TIER2_LEVELS["inappropriate"], (n, 1)))
    lvl_frt_not = _draw_rows(rng, np.tile(TIER2_LEVELS["frt_inappropriate"], (n, 1)))
    true_level = np.where(frt, np.where(appropriate, 3, lvl_frt_not),
                          np.where(appropriate, lvl_app, lvl_not))
    applicable = {k: np.ones(n, dtype=bool) for k in STANDARD_KEYS}
    if "tier3_consultation" in applicable:
        applicable["tier3_consultation"] = (true_level >= 2) & ~frt
    out = pd.DataFrame({"service": services.astype(str), "appropriate": appropriate,
                        "true_level": np.array(LEVELS, dtype=object)[true_level]})
    for col, v in _std_frame(met, applicable).items():
        out[col] = v
    out["_z"] = z
    return out


def _tier2_themes(rng: np.random.Generator, t: pd.DataFrame, da: np.ndarray,
                  previous_csc: np.ndarray, delay_theme: np.ndarray) -> dict[str, np.ndarray]:
    n = len(t)
    s = t["service"].to_numpy()

    def not_met(k: str) -> np.ndarray:
        col = f"std_{k}"
        return (t[col] == "not_met").to_numpy() if col in t.columns else np.zeros(n, bool)

    forum = np.isin(s, ["partnership_triage", "mat_panel", "yprrp", "school_map"])
    r = THEME_RATES
    sib = np.array([r["siblings_not_considered"].get(x, r["siblings_not_considered"]["other"])
                    for x in s])
    themes = {
        "da_risk_not_recognised": da & (not_met("risk_assessed") | not_met(
            "safeguarding_acted_on") | not_met("threshold_applied") | not_met(
            "appropriate_tier") | (rng.random(n) < r["da_base"])),
        "adult_mh_input_missing": rng.random(n) < np.where(forum, r["adult_mh_input_missing"][
            "forum"], r["adult_mh_input_missing"]["other"]),
        "unaware_previous_csc": previous_csc & (rng.random(n) < r["unaware_previous_csc"]),
        "referral_unclear": rng.random(n) < np.where(t["appropriate"].to_numpy(),
                                                     r["referral_unclear"][True],
                                                     r["referral_unclear"][False]),
        "delay_referring_tier3": delay_theme,
        "siblings_not_considered": rng.random(n) < sib,
    }
    return {k: themes.get(k, np.zeros(n, dtype=bool)) for k in THEME_KEYS}


# ======================================================================================
# The demo year
# ======================================================================================


@dataclass
class DemoData:
    """Everything ``write_demo`` writes, as frames (raw ids)."""

    cases: pd.DataFrame
    truth: pd.DataFrame
    ratings: pd.DataFrame
    previous_returns: pd.DataFrame
    annex_a: list[AnnexSheet]  # the Annex A workbook's sheets (lists 1-8): synth_annex
    annex_a_bad: dict[str, dict[str, int]]  # table -> kind of bad row -> sheet row number


def demo_frames(seed: int = 20161, contacts: int | None = None, shift: float = 0.0,
                year_end: date | str | None = None, assessment_shift: float = 0.0
                ) -> DemoData:
    """Generate the demo year in memory (see the module docstring); ``write_demo`` writes it.

    Two stated, known changes make a series of demo rounds (issue 14: a baseline, a repeat and
    a re-repeat whose changes the trends page must recover):

    * ``shift``: every tier-2 service's P(met) of every standard is lower by ``shift``
      (absolute, clipped to [0.01, 0.99]: ``_tier2_core``); the synthetic previous round is
      lower by ``shift + PREVIOUS_ROUND_SHIFT``.
    * ``assessment_shift``: the front door's P(assessment completed within 45 working days)
      is ``ASSESSMENT_ON_TIME - assessment_shift`` (the same random draws, so 0 leaves the
      demo byte-identical): a change in a monthly measure that the XmR chart of the rounds'
      months should find.
    * ``year_end``: the last day of the synthetic financial year (``demo_calendar``): contacts,
      referrals, assessments, the Annex A workbook and the audit dates are dated in the year
      to it.  None is the demo round's year (1 April 2025 to 31 March 2026).

    With the defaults the output is the demo round's, byte for byte.
    """
    fy_start, fy_end, history_start = demo_calendar(year_end)
    hol = _holidays(_year(fy_end) - 2, _year(fy_end) + 1)
    rng = _rng(seed, "front_door")
    # History year then the current year; DA and other contacts as separate Poisson streams.
    if contacts is None:
        da_cur = _contact_days(rng, fy_start, fy_end, CONTACTS_PER_MONTH["domestic_abuse"])
        ot_cur = _contact_days(rng, fy_start, fy_end, CONTACTS_PER_MONTH["other"])
    else:
        if contacts < MIN_DEMO_CONTACTS:
            raise SynthError(f"--contacts {contacts}: the demo year needs at least "
                             f"{MIN_DEMO_CONTACTS:,} contacts (100 a month) so that the Annex A "
                             "list and the threshold-audit sample can be drawn; leave it out "
                             "for the default of about 800 a month.")
        share = CONTACTS_PER_MONTH["domestic_abuse"] / sum(CONTACTS_PER_MONTH.values())
        n_da = int(rng.binomial(contacts, share))
        da_cur = _contact_days(rng, fy_start, fy_end, total=n_da)
        ot_cur = _contact_days(rng, fy_start, fy_end, total=contacts - n_da)
    scale = (len(da_cur) + len(ot_cur)) / (12 * sum(CONTACTS_PER_MONTH.values()))
    da_hist = _contact_days(rng, history_start, fy_start - 1,
                            CONTACTS_PER_MONTH["domestic_abuse"] * HISTORY_DA_FACTOR * scale)
    ot_hist = _contact_days(rng, history_start, fy_start - 1, CONTACTS_PER_MONTH["other"] * scale)
    day = np.concatenate([da_hist, ot_hist, da_cur, ot_cur])
    da = np.concatenate([np.ones(len(da_hist), bool), np.zeros(len(ot_hist), bool),
                         np.ones(len(da_cur), bool), np.zeros(len(ot_cur), bool)])
    order = np.lexsort((rng.random(len(day)), day))
    day, da = day[order], da[order]
    n_children = max(int(len(day) * CHILD_POOL_RATIO), 1)
    fd = _front_door(rng, day, da, fy_end, hol, n_children, float(assessment_shift))

    # Tier-2 cases (current year only); some First Response Team and tier-2 social work
    # children are front-door children.
    trng = _rng(seed, "tier2")
    t_services = np.array([s for s in TIER2_SERVICES
                           for _ in range(SERVICE_PROFILES[s].population)], dtype=object)
    t = _tier2_core(trng, t_services, float(shift))
    nt = len(t)
    t_day = fy_start + (trng.random(nt) * ((fy_end - fy_start).astype(int) + 1)).astype(
        np.int64)
    shared = np.isin(t_services, ["first_response_team", "tier2_social_work"]) & (
        trng.random(nt) < TIER2_DYNAMICS["shared_child"])
    t_child = np.where(shared, fd.child[trng.integers(0, len(fd.child), nt)],
                       n_children + np.arange(nt))

    # Children: front-door pool and tier-2-only children together, ages by service.
    crng = _rng(seed, "children")
    all_child = np.concatenate([fd.child, t_child])
    all_day = np.concatenate([fd.day, t_day.astype("datetime64[D]")])
    kids = _children(crng, all_child, all_day)
    own = ~shared
    for s in TIER2_SERVICES:  # tier-2-only children get the service's age range
        sel = np.flatnonzero((t_services == s) & own)
        if len(sel):
            ages = SERVICE_PROFILES[s].ages
            k2 = _children(crng, t_child[sel], t_day[sel].astype("datetime64[D]"), ages)
            kids["dob"][len(fd.child) + sel] = k2["dob"]
            kids["gender"][len(fd.child) + sel] = k2["gender"]
            kids["ethnicity"][len(fd.child) + sel] = k2["ethnicity"]

    t_profile = [SERVICE_PROFILES[s] for s in t_services]
    t_source = np.array([SOURCES.index(list(p.sources)[_draw(trng, p.sources, 1)[0]])
                         for p in t_profile])
    t_route = (trng.random(nt) < np.array([p.multi_agency for p in t_profile])).astype(np.int64)
    t_da = trng.random(nt) < np.array([p.domestic_abuse for p in t_profile])
    t_team = np.array([p.teams[trng.integers(0, len(p.teams))] for p in t_profile],
                      dtype=object)
    true_pos = np.array([LEVELS.index(v) for v in t["true_level"]])
    frt = t_services == "first_response_team"
    # Level held: tier-2 services hold tier 2 (a tier-3 case held at 2B is held too low); the
    # First Response Team decides on the level with 90% accuracy (Hackney 2011: thresholds
    # "accurately applied" in all FRT cases).
    held_t2 = np.where(true_pos >= 2, 2, 1)
    held_t2 = np.where(trng.random(nt) < TIER2_DYNAMICS["held_sublevel_swap"], 3 - held_t2,
                       held_t2)
    held_frt = _misgrade(trng, true_pos, TIER2_DYNAMICS["frt_decision_error"], 0.5, len(LEVELS))
    t_level = np.where(frt, held_frt, held_t2)
    t_outcome = np.where(frt, _draw_rows(trng, OUTCOME_GIVEN_LEVEL[held_frt]),
                         np.where(t_services == "early_help", OUTCOMES.index("early_help"),
                                  OUTCOMES.index("tier2_service")))
    t_referred = frt & np.isin(t_outcome, [OUTCOMES.index(o) for o in REFERRAL_OUTCOMES])
    # First concern and escalation to tier 3.
    fc = TIER2_DYNAMICS["first_concern"]
    concern_p = np.select([true_pos >= 2, true_pos == 1], [fc["2B+"], fc["2A"]], fc["1"])
    has_concern = ~frt & (trng.random(nt) < concern_p)
    concern_day = np.minimum(t_day + trng.exponential(
        TIER2_DYNAMICS["first_concern_mean_days"], nt).astype(np.int64).astype(
        "timedelta64[D]"), fy_end)
    esc_p = np.select([true_pos == 3, true_pos == 2], [TIER3_ESCALATION["3"],
                                                       TIER3_ESCALATION["2B"]], 0.0)
    t_prev_known = trng.random(nt) < np.array([p.previous_csc for p in t_profile])
    mean_delay = np.where(t_prev_known, TIER3_DELAY_MEAN_DAYS[True],
                          TIER3_DELAY_MEAN_DAYS[False])
    delay = np.round(trng.gamma(2.0, mean_delay / 2.0)).astype(np.int64)
    escalate = has_concern & (trng.random(nt) < esc_p)
    tier3_day = concern_day + delay.astype("timedelta64[D]")
    has_tier3 = escalate & (tier3_day <= fy_end)
    delay_theme = (escalate & (delay > TIER3_DELAY_THEME_DAYS)) | (has_concern & (true_pos == 3)
                                                                   & ~escalate)

    # Referral history: front-door referrals (history + current) and FRT referrals.
    ref_child = np.concatenate([fd.child[fd.referred], t_child[t_referred]])
    ref_day = np.concatenate([fd.referral_day[fd.referred],
                              t_day[t_referred].astype("datetime64[D]")])
    counts = referrals_in_previous_year(ref_child, ref_day)
    n_fd_ref = int(fd.referred.sum())
    fd_count = np.full(len(fd.day), -1)
    fd_count[np.flatnonzero(fd.referred)] = counts[:n_fd_ref]
    t_count = np.full(nt, -1)
    t_count[np.flatnonzero(t_referred)] = counts[n_fd_ref:]
    # Previously known to CSC: an earlier referral of the child, or known before the history.
    known_before = crng.random(n_children + nt) < KNOWN_BEFORE_SHARE
    first_ref = np.full(n_children + nt, np.iinfo(np.int64).max)
    np.minimum.at(first_ref, ref_child, ref_day.astype(np.int64))
    fd_prev = known_before[fd.child] | (first_ref[fd.child] < fd.day.astype(np.int64))
    t_prev = (t_prev_known | known_before[t_child]
              | (first_ref[t_child] < t_day.astype(np.int64)))
    themes_t = _tier2_themes(trng, t, t_da, t_prev, delay_theme)

    # FRT assessments.
    t_start = np.busday_offset(np.minimum(t_day.astype("datetime64[D]") + trng.integers(
        0, 4, nt).astype("timedelta64[D]"), fy_end), 0, roll="forward", holidays=hol)
    t_wd = np.where(trng.random(nt) < ASSESSMENT_ON_TIME,
                    trng.integers(5, ASSESSMENT_LIMIT_WORKING_DAYS + 1, nt),
                    ASSESSMENT_LIMIT_WORKING_DAYS + 1 + trng.integers(
                        0, FRONT_DOOR_TIMING["frt_late_overrun_max"], nt))
    t_finish = np.busday_offset(t_start, t_wd, holidays=hol)
    t_has_start = t_referred & (t_start <= fy_end)
    t_has_end = t_has_start & (t_finish <= fy_end)

    # An unborn child's expected date of delivery is capped at the round date (nothing in the
    # demo data is dated after it).
    kids["dob"] = np.minimum(kids["dob"], fy_end)

    # ---- assemble the cases table (current year only) ----
    cur = fd.day >= fy_start
    idx = np.flatnonzero(cur)
    lv = np.array(LEVELS, dtype=object)
    fd_frame = pd.DataFrame({
        "_order": 0, "_day": fd.day[idx], "_child": fd.child[idx],
        "date_of_birth": _days_to_ts(kids["dob"][idx]),
        "gender": np.array(list(GENDER_MIX), dtype=object)[kids["gender"][idx]],
        "ethnicity": np.array(list(ETHNICITY_MIX), dtype=object)[kids["ethnicity"][idx]],
        "contact_date": _days_to_ts(fd.day[idx]),
        "referral_date": _days_to_ts(fd.referral_day[idx], fd.referred[idx]),
        "referral_source": np.array(SOURCES, dtype=object)[fd.source[idx]],
        "route": np.array(["single_agency", "multi_agency_forum"], dtype=object)[fd.route[idx]],
        "service": "front_door",
        "level_of_need": lv[fd.level[idx]],
        "referrer_level": np.where(fd.referrer_level[idx] >= 0,
                                   lv[np.maximum(fd.referrer_level[idx], 0)], None),
        "outcome": np.array(OUTCOMES, dtype=object)[fd.outcome[idx]],
        "domestic_abuse": fd.da[idx],
        "triage_grade": np.where(fd.da[idx], np.array(TRIAGE, dtype=object)[
            np.maximum(fd.grade[idx], 0)], None),
        "previous_csc": fd_prev[idx],
        "team": np.array(_team_names(), dtype=object)[fd.team[idx]],
        "referrals_last_12m": pd.array(np.where(fd_count[idx] >= 0, fd_count[idx], 0),
                                       dtype="Int64"),
        "first_concern_date": pd.NaT, "tier3_referral_date": pd.NaT,
        "assessment_start_date": _days_to_ts(fd.assess_start[idx], fd.has_start[idx]),
        "assessment_end_date": _days_to_ts(fd.assess_end[idx], fd.has_end[idx]),
    })
    fd_frame.loc[fd_count[idx] < 0, "referrals_last_12m"] = pd.NA
    off = len(fd.child)
    t_frame = pd.DataFrame({
        "_order": 1, "_day": t_day.astype("datetime64[D]"), "_child": t_child,
        "date_of_birth": _days_to_ts(kids["dob"][off:]),
        "gender": np.array(list(GENDER_MIX), dtype=object)[kids["gender"][off:]],
        "ethnicity": np.array(list(ETHNICITY_MIX), dtype=object)[kids["ethnicity"][off:]],
        "contact_date": _days_to_ts(t_day.astype("datetime64[D]")),
        "referral_date": _days_to_ts(t_day.astype("datetime64[D]"), t_referred),
        "referral_source": np.array(SOURCES, dtype=object)[t_source],
        "route": np.array(["single_agency", "multi_agency_forum"], dtype=object)[t_route],
        "service": t_services,
        "level_of_need": lv[t_level],
        "referrer_level": None,
        "outcome": np.array(OUTCOMES, dtype=object)[t_outcome],
        "domestic_abuse": t_da, "triage_grade": None, "previous_csc": t_prev, "team": t_team,
        "referrals_last_12m": pd.array(np.where(t_count >= 0, t_count, 0), dtype="Int64"),
        "first_concern_date": _days_to_ts(concern_day, has_concern),
        "tier3_referral_date": _days_to_ts(tier3_day, has_tier3),
        "assessment_start_date": _days_to_ts(t_start, t_has_start),
        "assessment_end_date": _days_to_ts(t_finish, t_has_end),
    })
    t_frame.loc[t_count < 0, "referrals_last_12m"] = pd.NA
    cases = pd.concat([fd_frame, t_frame], ignore_index=True)
    order = np.lexsort((np.arange(len(cases)), cases["_order"].to_numpy(),
                        cases["_day"].to_numpy()))
    cases = cases.iloc[order].reset_index(drop=True)
    cases.insert(0, "case_id", [f"CN{i:07d}" for i in range(1, len(cases) + 1)])
    cases.insert(1, "child_id", [f"{c + 10000:07d}" for c in cases["_child"]])

    # ---- truth ----
    frng = _rng(seed, "front_door_truth")
    fdt = _front_door_truth(frng, fd, idx)
    fdt["service"] = "front_door"
    tt = t.drop(columns=["_z"]).copy()
    tt["true_triage_grade"] = None
    for k, v in themes_t.items():
        tt[f"theme_{k}"] = v
    truth_rows = pd.concat([fdt, tt], ignore_index=True).iloc[order].reset_index(drop=True)
    truth_rows.insert(0, "case_id", cases["case_id"].to_numpy())
    truth_rows.insert(1, "round", "current")
    truth_rows = truth_rows.rename(columns={"appropriate": "truly_appropriate"})
    truth_rows = truth_rows[["case_id", "round", "service", "true_level", "true_triage_grade",
                             "truly_appropriate", *[f"std_{k}" for k in STANDARD_KEYS],
                             *[f"theme_{k}" for k in THEME_KEYS]]]

    prev_truth, prev_returns = _previous_round(seed, float(shift), fy_end)
    truth = pd.concat([truth_rows, prev_truth], ignore_index=True)
    truth["truly_appropriate"] = truth["truly_appropriate"].astype(bool)

    cases = cases.drop(columns=["_order", "_day", "_child"])
    ratings, _ = generate_ratings(seed=int(seed), n_subjects=40)
    ratings = ratings.copy()
    from ..synth_annex import annex_a_workbook  # the Annex A workbook's own module

    annex, bad = annex_a_workbook(_rng(seed, "annex_a_lists"), cases, fy_end)
    return DemoData(cases=cases, truth=truth, ratings=ratings, previous_returns=prev_returns,
                    annex_a=annex, annex_a_bad=bad)


def _front_door_truth(rng: np.random.Generator, fd: FrontDoor, idx: np.ndarray
                      ) -> pd.DataFrame:
    """True answers and themes for the front-door contacts ``idx``."""
    n = len(idx)
    true_level, level = fd.true_level[idx], fd.level[idx]
    da = fd.da[idx]
    under_grade = da & (fd.grade[idx] < fd.true_grade[idx])
    held_low = level < true_level
    z = rng.standard_normal(n)
    met: dict[str, np.ndarray] = {}
    for k in STANDARD_KEYS:
        met[k] = _copula_met(rng, z, np.full(n, FRONT_DOOR_RATES.get(k, DEFAULT_STANDARD_RATE)))
    met["referral_appropriate"] = fd.appropriate[idx]
    met["threshold_applied"] = level == true_level
    met["appropriate_tier"] = (level == true_level) | ((level >= 1) & (level <= 2) & (
        true_level >= 1) & (true_level <= 2))
    met["risk_assessed"] = met["risk_assessed"] & ~under_grade
    met["actions_proportionate"] = met["actions_proportionate"] & ~held_low
    met["safeguarding_acted_on"] = met["safeguarding_acted_on"] & ~((true_level == 3) & held_low)
    applicable = {k: np.ones(n, dtype=bool) for k in STANDARD_KEYS}
    applicable["tier3_consultation"] = np.zeros(n, dtype=bool)  # the front door is the door
    out = pd.DataFrame({"appropriate": fd.appropriate[idx],
                        "true_level": np.array(LEVELS, dtype=object)[true_level],
                        "true_triage_grade": np.where(da, np.array(TRIAGE, dtype=object)[
                            np.maximum(fd.true_grade[idx], 0)], None)})
    for col, v in _std_frame({k: met[k] for k in STANDARD_KEYS}, applicable).items():
        out[col] = v
    unclear = rng.random(n) < np.where(fd.appropriate[idx], REFERRAL_UNCLEAR[True],
                                       REFERRAL_UNCLEAR[False])
    themes = {"da_risk_not_recognised": da & (under_grade | held_low),
              "adult_mh_input_missing": rng.random(n) < FRONT_DOOR_THEME_RATES[
                  "adult_mh_input_missing"],
              "unaware_previous_csc": np.zeros(n, dtype=bool),
              "referral_unclear": unclear & ~da,  # a police DA notification is a set form
              "delay_referring_tier3": np.zeros(n, dtype=bool),
              "siblings_not_considered": rng.random(n) < FRONT_DOOR_THEME_RATES[
                  "siblings_not_considered"]}
    for k in THEME_KEYS:
        out[f"theme_{k}"] = themes.get(k, np.zeros(n, dtype=bool))
    return out


def _previous_round(seed: int, shift: float = 0.0, year_end: np.datetime64 = FY_END
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A previous tier-2 round: the Hackney sample composition, raw ids PRV0001..., compliance
    lower by ``shift + PREVIOUS_ROUND_SHIFT``, audited a year before the round's audit
    (``PREVIOUS_ROUND_AUDIT_DATE`` in the demo year); truth rows and the auditors' returns (raw
    ids)."""
    rng = _rng(seed, "previous")
    services = np.array([s for s, k in HACKNEY_SAMPLE.items() for _ in range(k)], dtype=object)
    t = _tier2_core(rng, services, shift + PREVIOUS_ROUND_SHIFT).drop(columns=["_z"])
    n = len(t)
    prof = [SERVICE_PROFILES[s] for s in services]
    da = rng.random(n) < np.array([p.domestic_abuse for p in prof])
    prev = rng.random(n) < np.array([p.previous_csc for p in prof])
    delay = (t["true_level"].to_numpy() == "3") & (
        rng.random(n) < TIER2_DYNAMICS["previous_round_delay_theme"])
    for k, v in _tier2_themes(rng, t, da, prev, delay).items():
        t[f"theme_{k}"] = v
    t.insert(0, "case_id", [f"PRV{i:04d}" for i in range(1, n + 1)])
    t.insert(1, "round", "previous")
    t["true_triage_grade"] = None
    t = t.rename(columns={"appropriate": "truly_appropriate"})
    returns = _returns(rng, t, t["case_id"].to_numpy(), "tier2",
                       dates=_dated((PREVIOUS_ROUND_AUDIT_DATE,), year_end, 1))
    return t, returns


# ======================================================================================
# Ofsted Annex A list 1 (messy)
# ======================================================================================

# ======================================================================================
# Audit returns
# ======================================================================================


def _answer_codes(rng: np.random.Generator, truth: np.ndarray) -> np.ndarray:
    """Auditor answers from true categories (met / not_met / not_applicable)."""
    n = len(truth)
    ins = rng.random(n) < AUDITOR_INSUFFICIENT
    err = rng.random(n) < AUDITOR_ERROR
    no = rng.random(n) < NOT_MET_NO_SHARE
    right = np.select([truth == "met", truth == "not_met"],
                      ["yes", np.where(no, "no", "partly")], "not_applicable")
    wrong = np.select([truth == "met", truth == "not_met"], ["partly", "yes"], "yes")
    return np.where(ins, "insufficient_information", np.where(err, wrong, right)).astype(object)


def overall_grade_from_answers(answers: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Overall grade from one auditor's answers: every answered standard met -> good
    (outstanding one time in six); at least 60% met -> requires improvement; else inadequate
    (the Ofsted scale the MACFAs use: WSCB 2016/17)."""
    vals = answers.to_numpy(dtype=object)
    yes = (vals == "yes").sum(axis=1)
    answered = np.isin(vals, ["yes", "partly", "no"]).sum(axis=1)
    share = np.divide(yes, answered, out=np.ones(len(vals)), where=answered > 0)
    star = rng.random(len(vals)) < 1 / 6
    return np.select([share >= 1.0, share >= 0.6],
                     [np.where(star, "outstanding", "good"), "requires_improvement"],
                     "inadequate").astype(object)


def _assign_auditors(rng: np.random.Generator, n_cases: int, kind: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(case index, auditor index) pairs: tier2 two auditors of different agencies per case;
    threshold one, or two with probability THRESHOLD_SECOND_AUDITOR."""
    panel = TIER2_AUDITORS if kind == "tier2" else THRESHOLD_AUDITORS
    agencies = np.array([a for _, a in panel])
    first = rng.integers(0, len(panel), n_cases)
    second_u = rng.random(n_cases)
    two = np.ones(n_cases, bool) if kind == "tier2" else (
        rng.random(n_cases) < THRESHOLD_SECOND_AUDITOR)
    cases_idx, aud_idx = [], []
    for i in range(n_cases):
        cases_idx.append(i)
        aud_idx.append(int(first[i]))
        if two[i]:
            others = np.flatnonzero(agencies != agencies[first[i]])
            cases_idx.append(i)
            aud_idx.append(int(others[int(second_u[i] * len(others))]))
    return np.array(cases_idx, dtype=np.int64), np.array(aud_idx, dtype=np.int64)


def _returns(rng: np.random.Generator, truth: pd.DataFrame, out_ids: np.ndarray, kind: str,
             dates: Sequence[str] | None = None) -> pd.DataFrame:
    """The auditors' rows for ``truth`` (one row per case, in order) with ids ``out_ids``."""
    if kind not in ("tier2", "threshold"):
        raise SynthError(f"kind must be 'tier2' or 'threshold', not {kind!r}")
    spec = schemas.audit_spec()
    panel = TIER2_AUDITORS if kind == "tier2" else THRESHOLD_AUDITORS
    ci, ai = _assign_auditors(rng, len(truth), kind)
    t = truth.iloc[ci].reset_index(drop=True)
    n = len(t)
    out = pd.DataFrame({"case_id": np.asarray(out_ids, dtype=object)[ci],
                        "auditor_id": np.array([panel[i][0] for i in ai], dtype=object),
                        "auditor_agency": np.array([panel[i][1] for i in ai], dtype=object)})
    dates = tuple(dates or AUDIT_DATES[kind])
    out["audit_date"] = np.array(dates, dtype=object)[rng.integers(0, len(dates), n)]
    for k in STANDARD_KEYS:
        out[f"std_{k}"] = _answer_codes(rng, t[f"std_{k}"].to_numpy(dtype=object))
    out["overall_grade"] = overall_grade_from_answers(out[[f"std_{k}" for k in STANDARD_KEYS]],
                                                      rng)
    pos = np.array([LEVELS.index(v) for v in t["true_level"]])
    out["tier_judged"] = np.array(LEVELS, dtype=object)[
        _misgrade(rng, pos, TIER_JUDGED_ERROR, 0.5, len(LEVELS))]
    tg = t["true_triage_grade"].to_numpy(dtype=object)
    has = np.array([v in TRIAGE for v in tg]) & (kind == "threshold")
    gpos = np.array([TRIAGE.index(v) if v in TRIAGE else 0 for v in tg])
    judged = np.array(TRIAGE, dtype=object)[_misgrade(rng, gpos, TRIAGE_JUDGED_ERROR, 0.5,
                                                      len(TRIAGE))]
    out["triage_grade_judged"] = np.where(has, judged, None)
    notes = []
    flags = {}
    for k in THEME_KEYS:
        true_k = t[f"theme_{k}"].to_numpy(dtype=bool)
        u = rng.random(n)
        flags[k] = np.where(true_k, u < THEME_SENSITIVITY, u < THEME_FALSE_POSITIVE)
        out[f"theme_{k}"] = flags[k]
    for i in range(n):
        said = [THEME_NOTES.get(k, k.replace("_", " ")) for k in THEME_KEYS if flags[k][i]]
        head = f"Auditor {out.at[i, 'auditor_id']}: "
        notes.append(head + ("; ".join(said) if said else "no further concerns noted"))
    out["notes"] = notes
    out = out[spec.names]
    return out.sort_values(["case_id", "auditor_id"], kind="stable").reset_index(drop=True)


def board_levels(scale: schemas.Scale | None) -> dict[str, str]:
    """Hackney tier -> the round's level: tier ``i`` of 4 -> level ``round(i*(m-1)/3)``."""
    if scale is None:
        return {lv: lv for lv in LEVELS}
    m, k = len(scale.levels), len(LEVELS)
    return {lv: scale.levels[int(round(i * (m - 1) / (k - 1)))] for i, lv in enumerate(LEVELS)}


def _sources(keys: Sequence[str], hackney: Sequence[str]) -> dict[str, str]:
    same = [k for k in keys if k in hackney]
    rest = [h for h in hackney if h not in same] or list(hackney)
    out, j = {}, 0
    for k in keys:
        if k in hackney:
            out[k] = k
        else:
            out[k] = rest[j % len(rest)]
            j += 1
    return out


def board_sources(standards: schemas.Standards) -> tuple[dict[str, str], dict[str, str]]:
    """(template standard -> Hackney standard, template theme -> Hackney theme) whose synthetic
    truth each takes: the same key, else the Hackney ones not taken by name, in order."""
    return (_sources(standards.standard_keys, STANDARD_KEYS),
            _sources(standards.theme_keys, THEME_KEYS))


def board_answers(standards: schemas.Standards) -> dict[str, str | None]:
    """Hackney answer -> the template's answer (None: left blank, not answered)."""
    met = standards.met[0] if standards.met else None
    nm = standards.not_met or ((met,) if met else (None,))
    return {"yes": met, "partly": nm[0], "no": nm[-1],
            **{a: a if a in standards.answers else None
               for a in ("not_applicable", "insufficient_information")}}


def _is_hackney(standards: schemas.Standards | None, scale: schemas.Scale | None) -> bool:
    return ((standards is None or (tuple(standards.standard_keys) == STANDARD_KEYS
                                   and tuple(standards.theme_keys) == THEME_KEYS
                                   and standards.met == ("yes",)
                                   and set(standards.answers) >= {"yes", "partly", "no"}))
            and (scale is None or tuple(scale.levels) == LEVELS))


def to_board(returns: pd.DataFrame, standards: schemas.Standards | None = None,
             scale: schemas.Scale | None = None) -> pd.DataFrame:
    """Audit returns in the Hackney vocabulary -> the round's template and scale (the rule is
    in the module docstring).  Unchanged for the Hackney template and scale."""
    if _is_hackney(standards, scale):
        return returns
    std = standards or _STANDARDS
    lv = board_levels(scale)
    out = returns[["case_id", "auditor_id", "auditor_agency", "audit_date"]].copy()
    src_std, src_theme = board_sources(std)
    amap = board_answers(std)
    for k, h in src_std.items():
        out[f"std_{k}"] = returns[f"std_{h}"].map(lambda a: amap.get(a, a)).astype(object)
    out["overall_grade"] = returns["overall_grade"]
    out["tier_judged"] = returns["tier_judged"].map(lambda v: lv.get(v, v) if isinstance(
        v, str) else v).astype(object)
    out["triage_grade_judged"] = returns["triage_grade_judged"]
    for k, h in src_theme.items():
        out[f"theme_{k}"] = returns[f"theme_{h}"].to_numpy(dtype=bool)
    notes = []
    for i in range(len(out)):
        said = [std.label(k) for k in std.theme_keys if out[f"theme_{k}"].iat[i]]
        notes.append(f"Auditor {out['auditor_id'].iat[i]}: "
                     + ("; ".join(said) if said else "no further concerns noted"))
    out["notes"] = notes
    return out[schemas.audit_spec(std, scale).names]


def simulate_audit_returns(manifest: Mapping[str, Any], truth: pd.DataFrame, seed: int,
                           kind: str = "tier2", standards: schemas.Standards | None = None,
                           scale: schemas.Scale | None = None,
                           year_end: date | str | None = None) -> pd.DataFrame:
    """Play the auditors for the cases of a sample manifest (in memory).

    ``manifest["cases"]`` lists ``{"case_id": <pseudonymised id>, ...}``; ``truth`` is the
    hidden truth keyed by raw ``case_id`` (``truth.parquet``), whose ids are pseudonymised with
    ``privacy.DEMO_KEY`` to join.  Returns one row per case per auditor in the audit contract
    (``schemas.audit_spec``), the case ids as in the manifest.  The error model is in the
    module docstring (``AUDITOR_ERROR``, ``AUDITOR_INSUFFICIENT``, ``TIER_JUDGED_ERROR``,
    ``TRIAGE_JUDGED_ERROR``, ``THEME_SENSITIVITY``, ``THEME_FALSE_POSITIVE``).  With a
    board's own ``standards`` and ``scale`` the answers follow ``to_board``.  The audit
    dates are ``AUDIT_DATES`` moved into the synthetic year ending ``year_end`` (``_dated``;
    None: the demo year).
    """
    if kind not in ("tier2", "threshold"):
        raise SynthError(f"kind must be 'tier2' or 'threshold', not {kind!r}")
    try:
        wanted = [str(c["case_id"]) for c in manifest["cases"]]
    except (KeyError, TypeError) as exc:
        raise SynthError("the sample manifest has no list of cases with case_id (expected "
                         "{'cases': [{'case_id': ...}, ...]}); draw the sample again with "
                         "`sqa sample`") from exc
    missing_cols = {"case_id", "true_level", *(f"std_{k}" for k in STANDARD_KEYS)} - set(
        truth.columns)
    if missing_cols:
        raise SynthError(f"the truth table lacks column(s) {sorted(missing_cols)}; regenerate "
                         "it with `sqa synth`")
    key = privacy.DEMO_KEY
    pseud = privacy.pseudonymise_series(truth["case_id"].astype("object"), key, "case")
    t = truth.assign(_pid=pseud.to_numpy(dtype=object)).drop_duplicates("_pid").set_index("_pid")
    missing = [c for c in wanted if c not in t.index]
    if missing:
        raise SynthError(f"{len(missing)} of {len(wanted)} sampled case(s) are not in the truth "
                         f"table (e.g. {missing[0]}): the sample was not drawn from the demo "
                         "data written with the same seed. Re-run `sqa synth` and the sample.")
    rows = t.loc[wanted].reset_index(drop=True)
    for col in ("true_triage_grade", *(f"theme_{k}" for k in THEME_KEYS)):
        if col not in rows.columns:
            rows[col] = None if col == "true_triage_grade" else False
    rng = np.random.default_rng([int(seed), STREAMS[f"audit_{kind}"]])
    dates = None if year_end is None else _dated(AUDIT_DATES[kind], year_end)
    return to_board(_returns(rng, rows, np.array(wanted, dtype=object), kind, dates),
                    standards, scale)


def write_audit_returns(manifest_path: str | Path, truth_path: str | Path,
                        out_path: str | Path, seed: int, kind: str = "tier2",
                        standards: schemas.Standards | None = None,
                        scale: schemas.Scale | None = None,
                        year_end: date | str | None = None) -> Path:
    """Read a sample manifest and the truth, play the auditors, write the returns CSV.

    See ``simulate_audit_returns`` (``year_end``: the synthetic year the audit is dated in).
    Raises ``FileNotFoundError`` for a missing file and
    ``SynthError`` for a manifest that does not match the truth.
    """
    manifest_path, truth_path, out_path = Path(manifest_path), Path(truth_path), Path(out_path)
    for p in (manifest_path, truth_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: not found. Run `sqa synth` (truth.parquet) and "
                                    "`sqa sample` (manifest.json) first.")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise SynthError(f"{manifest_path}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                         "draw the sample again with `sqa sample`") from None
    truth = pd.read_parquet(truth_path)
    returns = simulate_audit_returns(manifest, truth, seed, kind, standards, scale, year_end)
    return write_csv(returns, out_path)


# ======================================================================================
# Vignette ratings
# ======================================================================================


def generate_ratings(seed: int, n_subjects: int = 40,
                     agencies: Sequence[str] | Mapping[str, Mapping[str, float]] | None = None,
                     raters_per_agency: int | Mapping[str, int] | None = None
                     ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A threshold-consistency vignette exercise: every rater grades every vignette.

    Vignettes get a reference level (``REFERENCE_MIX``) and a difficulty; raters of agency
    ``a`` grade at the reference level with expected probability ``accuracy_a``, misgrades
    falling one level up with probability ``p_up_a`` (see the module docstring).  ``agencies``
    is a list of names from ``AGENCY_MODEL`` or a mapping name -> {"accuracy", "p_up"};
    ``raters_per_agency`` an int or a mapping (default ``RATERS_PER_AGENCY``).

    Returns (ratings, truth): ratings has subject_id ("V01"...), rater_id ("SCH03"...),
    rater_agency, level and reference_level (codes of the hackney scale); truth holds the
    levels, each agency's accuracy, p_up and rater count, the reference mix and difficulty.
    Vectorised: 1,000 vignettes by two dozen raters take milliseconds.
    """
    if isinstance(agencies, Mapping):
        model = {str(a): {"accuracy": float(v["accuracy"]), "p_up": float(v["p_up"])}
                 for a, v in agencies.items()}
    else:
        names = list(agencies) if agencies is not None else list(AGENCY_MODEL)
        unknown = [a for a in names if a not in AGENCY_MODEL]
        if unknown:
            raise SynthError(f"no rater model for agency {unknown}; give a mapping "
                             "{agency: {'accuracy': p, 'p_up': q}} or use "
                             f"{', '.join(AGENCY_MODEL)}")
        model = {a: dict(AGENCY_MODEL[a]) for a in names}
    if n_subjects < 1:
        raise SynthError(f"n_subjects must be at least 1, not {n_subjects}")
    counts = {a: (raters_per_agency if isinstance(raters_per_agency, int) else
                  (raters_per_agency or RATERS_PER_AGENCY).get(a, 4)) for a in model}
    rng = _rng(seed, "ratings")
    k = len(LEVELS)
    ref = _draw(rng, REFERENCE_MIX, n_subjects)
    dvals = np.asarray(VIGNETTE_DIFFICULTY["values"], dtype=float)
    diff = dvals[_draw(rng, np.asarray(VIGNETTE_DIFFICULTY["probs"]), n_subjects)]
    rater_agency = [a for a in model for _ in range(int(counts[a]))]
    rater_ids = [f"{RATER_PREFIX.get(a, a[:3].upper())}{j + 1:02d}" for a in model
                 for j in range(int(counts[a]))]
    r = len(rater_ids)
    acc = np.array([model[a]["accuracy"] for a in rater_agency])
    up = np.array([model[a]["p_up"] for a in rater_agency])
    error = np.clip((1 - acc)[None, :] * diff[:, None], 0.0, 1.0)  # subjects x raters
    true_pos = np.repeat(ref[:, None], r, axis=1)
    given = _misgrade(rng, true_pos.ravel(), error.ravel(), np.tile(up, n_subjects), k)
    width = max(2, len(str(n_subjects)))
    subj = np.array([f"V{i + 1:0{width}d}" for i in range(n_subjects)], dtype=object)
    lv = np.array(LEVELS, dtype=object)
    ratings = pd.DataFrame({"subject_id": np.repeat(subj, r),
                            "rater_id": np.tile(np.array(rater_ids, dtype=object), n_subjects),
                            "rater_agency": np.tile(np.array(rater_agency, dtype=object),
                                                    n_subjects),
                            "level": lv[given], "reference_level": lv[true_pos.ravel()]})
    truth = {"levels": list(LEVELS),
             "agencies": {a: {"accuracy": model[a]["accuracy"], "p_up": model[a]["p_up"],
                              "raters": int(counts[a])} for a in model},
             "reference_mix": dict(zip(LEVELS, REFERENCE_MIX.tolist(), strict=True)),
             "vignette_difficulty": {"values": list(VIGNETTE_DIFFICULTY["values"]),
                                     "probs": list(VIGNETTE_DIFFICULTY["probs"])},
             "n_subjects": int(n_subjects), "n_raters": r}
    return ratings, truth


# ======================================================================================
# Writing the demo data
# ======================================================================================


def write_demo(out: str | Path, seed: int = 20161, contacts: int | None = None,
               standards: schemas.Standards | None = None, scale: schemas.Scale | None = None,
               shift: float = 0.0, year_end: date | str | None = None,
               assessment_shift: float = 0.0) -> dict[str, Path]:
    """Write the demo data (raw files, raw ids) into ``out`` and return name -> path.

    Files: ``cases.csv`` (front-door contacts and tier-2 cases), ``ratings.csv`` (vignette
    exercise), ``annex_a.xlsx`` (a messy Ofsted Annex A workbook, lists 1-8, with planted bad
    rows per list: ``annex_a_workbook``),
    ``audit_returns_tier2_previous.csv`` (the previous tier-2 round), ``truth.parquet`` (hidden
    truth, never ingested or published).  Current audit returns are made after a sample is
    drawn, by ``write_audit_returns`` for its manifest (the demo round's ``simulate_audit``
    step), as auditors complete the workbook of a real sample.
    ``contacts=None`` means a year at about 800 contacts a month (WSCB 2016/17, App. 6).
    The same seed gives byte-identical files.  A board's own ``standards`` (audit template)
    and ``scale`` (levels of need) put the levels and the previous returns in its words by the
    rule of ``to_board`` (the hidden truth stays in the Hackney vocabulary).  ``shift`` and
    ``year_end`` are the known changes of a series of demo rounds (``demo_frames``).
    """
    from ..synth_annex import write_annex_a_workbook

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d = demo_frames(seed, contacts, shift=shift, year_end=year_end,
                    assessment_shift=assessment_shift)
    cases, ratings = d.cases, d.ratings
    if not _is_hackney(None, scale):
        lv = board_levels(scale)

        def relevel(col: pd.Series) -> pd.Series:
            return col.map(lambda v: lv.get(v, v) if isinstance(v, str) else v).astype(object)

        cases = cases.assign(**{c: relevel(cases[c]) for c in ("level_of_need",
                                                               "referrer_level")})
        ratings = ratings.assign(**{c: relevel(ratings[c]) for c in ("level",
                                                                     "reference_level")})
    paths = {"cases": write_csv(cases, out / "cases.csv"),
             "ratings": write_csv(ratings, out / "ratings.csv"),
             "annex_a": write_annex_a_workbook(d.annex_a, out / "annex_a.xlsx"),
             "audit_returns_tier2_previous": write_csv(
                 to_board(d.previous_returns, standards, scale),
                 out / "audit_returns_tier2_previous.csv")}
    truth_path = out / "truth.parquet"
    d.truth.to_parquet(truth_path, index=False)
    paths["truth"] = truth_path
    return paths


# ======================================================================================
# Scale mode
# ======================================================================================

AGE_BAND_CODES: tuple[str, ...] = schemas.AGE_BANDS
SCALE_CHUNK_ROWS = 1_000_000


def _scale_categories() -> dict[str, list[str]]:
    gender = sorted({"male", "female", "unknown"})
    eth = sorted({schemas.ETHNICITY_SYNONYMS.get(e.lower(), "not_obtained")
                  for e in ETHNICITY_MIX})
    return {"age_band": list(AGE_BAND_CODES), "gender": gender, "ethnicity": eth,
            "referral_source": list(SOURCES), "route": ["single_agency", "multi_agency_forum"],
            "service": ["front_door"], "level_of_need": list(LEVELS),
            "referrer_level": list(LEVELS), "outcome": list(OUTCOMES),
            "triage_grade": list(TRIAGE), "team": _team_names()}


def _scale_schema() -> Any:
    """The Parquet schema of scale mode, derived from an empty frame with the canonical pandas
    dtypes (so that the file reads back as str, category, datetime64[ns], bool and Int64)."""
    import pyarrow as pa

    cats = _scale_categories()
    cols: dict[str, Any] = {}
    for name in schemas.cases_spec().names:
        c = schemas.cases_spec().column(name)
        if name in cats:
            cols[name] = pd.Categorical([], categories=cats[name])
        elif c.type == "date":
            cols[name] = pd.Series([], dtype="datetime64[ns]")
        elif c.type == "bool":
            cols[name] = pd.Series([], dtype=bool)
        elif c.type == "int":
            cols[name] = pd.Series([], dtype="Int64")
        else:
            cols[name] = pd.Series([], dtype="str")
    return pa.Schema.from_pandas(pd.DataFrame(cols), preserve_index=False)


def _scale_chunk(seed: int, chunk: int, n: int, start: np.datetime64, end: np.datetime64,
                 first_row: int, holidays: np.ndarray) -> Any:
    """One chunk of scale-mode contacts as a pyarrow Table (canonical columns, raw ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng([int(seed), int(chunk)])
    share = CONTACTS_PER_MONTH["domestic_abuse"] / sum(CONTACTS_PER_MONTH.values())
    span = (end - start).astype(np.int64) + 1
    day = np.sort(start + (rng.random(n) * span).astype(np.int64))
    da = rng.random(n) < share
    fd = _front_door(rng, day, da, FY_END, holidays, max(int(n * CHILD_POOL_RATIO), 1))
    counts = referrals_in_previous_year(fd.child[fd.referred], fd.referral_day[fd.referred])
    ref_count = np.full(n, -1, dtype=np.int64)
    ref_count[np.flatnonzero(fd.referred)] = counts
    first_ref = np.full(max(int(n * CHILD_POOL_RATIO), 1), np.iinfo(np.int64).max)
    np.minimum.at(first_ref, fd.child[fd.referred], fd.referral_day[fd.referred].astype(
        np.int64))
    prev = (first_ref[fd.child] < day.astype(np.int64)) | (rng.random(n) < KNOWN_BEFORE_SHARE)
    # Ages: drawn per contact (children's DOBs are not needed in the canonical table).
    band = _draw(rng, AGE_MIX, n)
    gender = _draw(rng, GENDER_MIX, n)
    ethnicity = _draw(rng, ETHNICITY_MIX, n)

    def cat(codes: np.ndarray, values: Sequence[str], valid: np.ndarray | None = None) -> Any:
        idx = pa.array(np.asarray(codes, dtype=np.int8),
                       mask=None if valid is None else ~np.asarray(valid))
        return pa.DictionaryArray.from_arrays(idx, pa.array(list(values), pa.string()))

    def dates(days: np.ndarray, valid: np.ndarray | None = None) -> Any:
        v = np.asarray(days, dtype="datetime64[D]").astype(np.int64).astype(np.int32)
        return pa.array(v, type=pa.int32(), mask=None if valid is None else ~valid).cast(
            pa.date32())

    rows = np.arange(first_row, first_row + n, dtype=np.int64)
    case_id = pc.binary_join_element_wise(
        "CN", pc.utf8_lpad(pa.array(rows + 1).cast(pa.string()), 10, "0"), "")
    child_num = np.int64(chunk) * 10_000_000 + fd.child
    child_id = pc.utf8_lpad(pa.array(child_num).cast(pa.string()), 11, "0")
    cats = _scale_categories()
    gender_codes = [{"Male": "male", "Female": "female", "Not known": "unknown"}[g]
                    for g in GENDER_MIX]
    gender_idx = np.array([cats["gender"].index(g) for g in gender_codes])[gender]
    eth_codes = [schemas.ETHNICITY_SYNONYMS.get(e.lower(), "not_obtained") for e in ETHNICITY_MIX]
    eth_idx = np.array([cats["ethnicity"].index(c) for c in eth_codes])[ethnicity]
    cols = {
        "case_id": case_id, "child_id": child_id,
        "age_band": cat(band, AGE_BAND_CODES),
        "gender": cat(gender_idx, cats["gender"]),
        "ethnicity": cat(eth_idx, cats["ethnicity"]),
        "contact_date": dates(day),
        "referral_date": dates(fd.referral_day, fd.referred),
        "referral_source": cat(fd.source, SOURCES),
        "route": cat(fd.route, ("single_agency", "multi_agency_forum")),
        "service": cat(np.zeros(n), ("front_door",)),
        "level_of_need": cat(fd.level, LEVELS),
        "referrer_level": cat(np.maximum(fd.referrer_level, 0), LEVELS, fd.referrer_level >= 0),
        "outcome": cat(fd.outcome, OUTCOMES),
        "domestic_abuse": pa.array(fd.da),
        "triage_grade": cat(np.maximum(fd.grade, 0), TRIAGE, fd.grade >= 0),
        "previous_csc": pa.array(prev),
        "team": cat(fd.team, _team_names()),
        "referrals_last_12m": pa.array(np.maximum(ref_count, 0), mask=ref_count < 0),
        "first_concern_date": pa.nulls(n, pa.date32()),
        "tier3_referral_date": pa.nulls(n, pa.date32()),
        "assessment_start_date": dates(fd.assess_start, fd.has_start),
        "assessment_end_date": dates(fd.assess_end, fd.has_end),
    }
    schema = _scale_schema()
    return pa.Table.from_pydict({f.name: cols[f.name] for f in schema}).cast(schema)


def generate_population_parquet(path: str | Path, contacts: int, seed: int,
                                progress: bool = False, chunk_rows: int = SCALE_CHUNK_ROWS
                                ) -> Path:
    """Scale mode: write ``contacts`` front-door contact rows to Parquet, chunk by chunk.

    Four financial years (1 April 2022 to 31 March 2026), chunk ``k`` covering the k-th slice
    of that period in date order; each chunk is generated by the front-door model of the demo
    (same calibration) with ``numpy.random.default_rng([seed, k])`` and written as one row
    group (``pyarrow.parquet.ParquetWriter``), so memory stays bounded by one chunk and the
    file is deterministic per seed and chunk size.  Canonical cases columns with raw ids
    (``CN`` + 10 digits; child ids of 11 digits with leading zeros) and ``age_band`` in place
    of the date of birth; children recur within a chunk, and ``referrals_last_12m`` counts the
    child's earlier referrals within the chunk.  ``progress`` shows a tqdm bar.
    """
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    if int(contacts) < 1:
        raise SynthError(f"contacts must be a positive number, not {contacts}")
    if int(chunk_rows) < 1:
        raise SynthError(f"chunk_rows must be positive, not {chunk_rows}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    contacts, chunk_rows = int(contacts), int(chunk_rows)
    n_chunks = -(-contacts // chunk_rows)
    total_days = int((FY_END - SCALE_START).astype(np.int64)) + 1
    hol = _holidays(2022, 2027)
    bar = tqdm(total=contacts, unit="rows", unit_scale=True, disable=not progress,
               desc="synthetic contacts")
    written = 0
    with pq.ParquetWriter(path, _scale_schema(), compression="zstd") as writer:
        for k in range(n_chunks):
            n = min(chunk_rows, contacts - written)
            lo = SCALE_START + np.timedelta64(total_days * k // n_chunks, "D")
            hi = SCALE_START + np.timedelta64(total_days * (k + 1) // n_chunks - 1, "D")
            table = _scale_chunk(seed, k, n, lo, max(hi, lo), written, hol)
            writer.write_table(table, row_group_size=n)
            written += n
            bar.update(n)
    bar.close()
    return path
