"""Seeded, deterministic synthetic data: a local authority's year, audits and a rating exercise.

Real case data are confidential, so the demo round runs on a synthetic year calibrated on the
figures in the domain documents (``shared/domain/seeds``), each constant citing its
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

Modules
-------
One job each, in their order of dependence:

* ``calibration``: the calendar, the vocabulary and every calibration constant with its
  source; ``SynthError``;
* ``draws``: the seeded random streams, vectorised draws and the synthetic calendar;
* ``model``: the generating model: front-door contacts, their children, tier-2 truth and
  themes;
* ``auditors``: the synthetic auditors (audit returns; ``to_board``) and vignette raters;
* ``annex``: the messy Ofsted Annex A workbook (lists 1-8) drawn from the synthetic year
  (formerly ``analysis.synth_annex``);
* ``demo``: the demo year in memory (``demo_frames``) and on disk (``write_demo``);
* ``population``: scale mode (``generate_population_parquet``).

Every name is available here, as ``analysis.synth.<name>``; the Annex A workbook's names are
in ``analysis.synth.annex``.  A test that changes a setting patches the module that reads it.
"""

from __future__ import annotations

from .auditors import (
    board_answers,
    board_levels,
    board_sources,
    generate_ratings,
    overall_grade_from_answers,
    simulate_audit_returns,
    to_board,
    write_audit_returns,
)
from .calibration import (
    AGE_MIX,
    AGE_RANGE,
    AGENCY_MODEL,
    ASSESSMENT_LIMIT_WORKING_DAYS,
    ASSESSMENT_ON_TIME,
    AUDIT_DATES,
    AUDITOR_ERROR,
    AUDITOR_INSUFFICIENT,
    CASE_CORRELATION,
    CHILD_POOL_RATIO,
    CHILD_PROPENSITY_SHAPE,
    CONTACTS_PER_MONTH,
    DEFAULT_STANDARD_RATE,
    ETHNICITY_MIX,
    EXCEL_EPOCH,
    FRONT_DOOR_APPROPRIATE,
    FRONT_DOOR_DECISION,
    FRONT_DOOR_RATES,
    FRONT_DOOR_TEAMS,
    FRONT_DOOR_THEME_RATES,
    FRONT_DOOR_TIMING,
    FY_END,
    FY_START,
    GENDER_MIX,
    HACKNEY_FINDINGS,
    HACKNEY_SAMPLE,
    HISTORY_DA_FACTOR,
    HISTORY_START,
    KNOWN_BEFORE_SHARE,
    LEVEL_GIVEN_APPROPRIATE,
    LEVEL_GIVEN_TRUE_GRADE,
    LEVELS,
    MIN_DEMO_CONTACTS,
    MULTI_AGENCY_SHARE,
    NON_DA_SOURCE_MIX,
    NOT_MET_NO_SHARE,
    OUTCOME_GIVEN_LEVEL,
    OUTCOMES,
    PREVIOUS_ROUND_AUDIT_DATE,
    PREVIOUS_ROUND_SHIFT,
    RATER_PREFIX,
    RATERS_PER_AGENCY,
    REFERENCE_MIX,
    REFERRAL_OUTCOMES,
    REFERRAL_UNCLEAR,
    SCALE_START,
    SERVICE_PROFILES,
    SERVICE_STANDARD_RATES,
    SOURCE_AGENCY,
    SOURCE_APPROPRIATE_ODDS,
    SOURCES,
    STANDARD_KEYS,
    STREAMS,
    THEME_FALSE_POSITIVE,
    THEME_KEYS,
    THEME_NOTES,
    THEME_RATES,
    THEME_SENSITIVITY,
    THRESHOLD_AUDITORS,
    THRESHOLD_SECOND_AUDITOR,
    TIER2_AUDITORS,
    TIER2_DYNAMICS,
    TIER2_LEVELS,
    TIER2_SERVICES,
    TIER3_DELAY_MEAN_DAYS,
    TIER3_DELAY_THEME_DAYS,
    TIER3_ESCALATION,
    TIER_JUDGED_ERROR,
    TRIAGE,
    TRIAGE_GRADING_ERROR,
    TRIAGE_JUDGED_ERROR,
    TRUE_TRIAGE_MIX,
    VIGNETTE_DIFFICULTY,
    ServiceProfile,
    SynthError,
)
from .demo import DemoData, demo_frames, write_demo
from .draws import demo_calendar, referrals_in_previous_year
from .model import FrontDoor, tier2_truth
from .population import AGE_BAND_CODES, SCALE_CHUNK_ROWS, generate_population_parquet

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
