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

The package is split by topic: ``common``, ``cases``, ``standards``, ``auditors``,
``tiers``, ``themes``, ``delay``, ``change``, ``charts`` and ``reproduction``; every public
name is available here, as ``analysis.review.<name>``.
"""

from __future__ import annotations

from .auditors import (
    ANSWER_CATEGORIES,
    answer_category,
    auditor_agreement,
)
from .cases import (
    case_findings,
    case_standard_votes,
    review_frame,
    tier_direction,
)
from .change import (
    compare_rounds,
)
from .charts import (
    standards_alt_text,
    standards_dotplot,
    themes_alt_text,
    themes_chart,
    tier_alt_text,
    tier_heatmap,
)
from .common import (
    CASE_RULE,
    DIRECTION_LABELS,
    GRADE_ORDER,
    GROUP_LABELS,
    GROUP_NOUNS,
    GROUP_ORDER,
    METHOD_NOTE,
    OUTCOMES,
    RIGHT,
    SERVICE_GROUPS,
    TOO_HIGH,
    TOO_LOW,
    ReviewError,
    case_rule,
    check_audit,
    group_label,
    group_noun,
    group_of,
    outcome_phrase,
)
from .delay import (
    DELAY_COLUMNS,
    DelayResult,
    delay_alt_text,
    delay_by_service,
    delay_plot,
    delay_times,
    delay_to_tier3,
    tier2_cases,
)
from .reproduction import (
    load_published,
    pooled_published,
    report_word,
    reproduce_published,
)
from .standards import (
    standard_results,
)
from .themes import (
    theme_cooccurrence,
    theme_results,
)
from .tiers import (
    escalation_list,
    tier_matrix,
    tier_results,
    write_escalation_list,
)

__all__ = ["ANSWER_CATEGORIES", "CASE_RULE", "DELAY_COLUMNS", "DIRECTION_LABELS", "DelayResult",
           "GRADE_ORDER",
           "GROUP_LABELS", "GROUP_NOUNS", "GROUP_ORDER", "METHOD_NOTE", "OUTCOMES", "RIGHT",
           "ReviewError", "SERVICE_GROUPS", "TOO_HIGH", "TOO_LOW", "answer_category",
           "auditor_agreement", "case_findings", "case_rule", "case_standard_votes", "check_audit",
           "compare_rounds", "delay_alt_text", "delay_by_service", "delay_plot", "delay_times",
           "delay_to_tier3", "escalation_list", "group_label", "group_noun", "group_of",
           "load_published", "outcome_phrase", "pooled_published", "report_word",
           "reproduce_published", "review_frame", "standard_results", "standards_alt_text",
           "standards_dotplot", "theme_cooccurrence", "theme_results", "themes_alt_text",
           "themes_chart", "tier_alt_text", "tier_direction", "tier_heatmap", "tier_matrix",
           "tier2_cases", "tier_results", "write_escalation_list"]
