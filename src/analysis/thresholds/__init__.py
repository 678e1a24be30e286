"""Threshold consistency: do practitioners, the front door and auditors agree on a level?

Four analyses, each written so that a board can *measure* threshold consistency rather than
assert it (Ofsted told Worcestershire that "practitioners do not understand thresholds ...
and thresholds are not applied consistently"; Hackney's 2011 audit found thresholds well
applied in multi-agency forums, less so by single agencies, and many "inappropriate
referrals": shared/domain/seeds/003 and 004).

1. **Vignette exercise** (``ratings`` table): practitioners from several agencies grade the
   same case vignettes on the levels of need.  Overall and within-agency agreement (Fleiss'
   kappa, Krippendorff's alpha, Gwet's AC1/AC2 via ``analysis.agreement``); each agency's
   accuracy against the reference level (panel consensus) with a Wilson score interval whose
   sample size is the *effective* size after allowing for the clustering of ratings by vignette
   and by rater (two-way cluster-robust variance, Cameron, Gelbach & Miller 2011; Wilson 1927;
   Korn & Graubard 1998 for the effective-sample-size form); and the confusion matrix of
   reference level against the level given.
2. **Front-door decisions** (``cases`` + ``audit`` for the threshold-audit sample): weighted
   kappa (Cohen 1968) between the referrer's suggested level, the front door's decision and
   the auditor's regrading; the share of contacts judged appropriate by referral source and by
   route with design-weighted intervals; funnel plots with 95% and 99.8% control limits around
   the overall rate (Spiegelhalter 2005, "Funnel plots for comparing institutional
   performance", Statistics in Medicine 24:1185-1202; exact binomial limits with his
   interpolation, Appendix A.1.1; for many large groups, as the councils of a regional pool,
   his multiplicative or additive overdispersion adjustment: Spiegelhalter 2005, "Handling
   over-dispersion of performance indicators", Qual Saf Health Care 14:347-351), counted by
   one DuckDB ``GROUP BY`` (``analysis.engine``) from a frame, a Parquet file or a pool
   directory alike; a logistic regression of an appropriate referral on source,
   route, domestic abuse and age band, reported as odds ratios with intervals, adjusted shares
   and a plain-words reading (design-weighted pseudo-likelihood with a sandwich variance when
   the sample over-samples a group: Binder 1983; Lumley & Scott 2017).
3. **Domestic-abuse triage grading**: weighted kappa between the triage grade (standard,
   medium, high) and the auditor's grade, and the share of incidents the auditor judged medium
   or high that triage graded standard ("under-grading"), with Wilson intervals, by source.
4. **Trends**: monthly contact-to-referral conversion, re-referrals within 12 months of a
   previous referral, and assessments completed within 45 working days (English bank
   holidays from the ``holidays`` package; ``numpy.busday_count``), for the XmR charts of
   ``analysis.spc`` (NHS England "Making Data Count"), by DfE's children-in-need definitions.
   One implementation, DuckDB SQL, counts the series from a frame or straight from the
   Parquet file, so they scale to tens of millions of rows.

Everything returns aggregate tables: no function here returns case-level rows for display.

The package is split by topic: ``common``, ``vignettes``, ``front_door``, ``funnel``,
``logistic``, ``triage`` and ``trends``; every public name is available here, as
``analysis.thresholds.<name>``. The page's tables and sentences are in
:mod:`analysis.reporting.thresholds`.
"""

from __future__ import annotations

from .common import (
    AGE_LABELS,
    AGENCY_LABELS,
    BROAD_AGE,
    BROAD_AGE_LABELS,
    LEVEL_PAIRS,
    MET,
    NOT_MET,
    ROUTE_LABELS,
    ROUTE_PHRASES,
    SOURCE_LABELS,
    TRIAGE_GRADES,
    TRIAGE_LABELS,
    Z95,
    agency_label,
    broad_age_band,
    level_positions,
    share_sentence,
)
from .front_door import (
    AUDITED_COLUMNS,
    appropriateness_by,
    audited_cases,
    case_judgements,
    cases_summary,
    front_door_frame,
    kappa_words,
    level_agreement,
    load_design_weights,
    paired_kappa,
    weighted_kappa_table,
    weighted_share,
    weights_from_manifest,
)
from .funnel import (
    BECAME_REFERRAL,
    NOT_RECORDED,
    OVERDISPERSION,
    conversion_by,
    funnel_counts,
    funnel_limit,
    funnel_limits,
    funnel_plot,
    funnel_reading,
    funnel_table,
    funnel_target,
    group_counts,
    overdispersion,
)
from .logistic import (
    LogisticResult,
    firth_logistic,
    logistic_odds_ratios,
    odds_ratio_plot,
    odds_ratio_readings,
)
from .trends import (
    ASSESSMENT_LOOKBACK_DAYS,
    MEASURES,
    chart_months,
    combine_monthly,
    english_bank_holidays,
    find_benchmark,
    load_benchmarks,
    monthly_series,
    trend_chart,
    working_days,
    write_chart_series,
)
from .triage import (
    RISKY,
    triage_agreement,
    triage_frame,
    triage_table,
    undergrading,
    undergrading_counts,
)
from .vignettes import (
    AGREEMENT_METHODS_SHOWN,
    accuracy_plot,
    agency_accuracy,
    agreement_by_agency,
    clustered_mean_variance,
    confusion_alt_text,
    confusion_heatmap,
    confusion_matrix,
    confusion_shares,
    most_confused,
    ratings_matrix,
    reference_by_subject,
    vignette_agreement,
)

__all__ = ["AUDITED_COLUMNS", "BECAME_REFERRAL", "OVERDISPERSION", "audited_cases",
           "cases_summary", "conversion_by", "group_counts", "overdispersion",
           "AGENCY_LABELS", "AGE_LABELS", "AGREEMENT_METHODS_SHOWN", "ASSESSMENT_LOOKBACK_DAYS",
           "BROAD_AGE", "BROAD_AGE_LABELS", "LEVEL_PAIRS", "MEASURES", "MET", "NOT_MET",
           "NOT_RECORDED", "RISKY", "ROUTE_LABELS", "ROUTE_PHRASES", "SOURCE_LABELS",
           "TRIAGE_GRADES", "TRIAGE_LABELS", "Z95", "LogisticResult", "accuracy_plot",
           "agency_accuracy", "agency_label", "agreement_by_agency", "appropriateness_by",
           "broad_age_band", "case_judgements", "chart_months", "clustered_mean_variance",
           "combine_monthly", "confusion_alt_text", "confusion_heatmap", "confusion_matrix",
           "confusion_shares", "english_bank_holidays", "find_benchmark", "firth_logistic",
           "front_door_frame", "funnel_counts", "funnel_limit",
           "funnel_limits", "funnel_plot", "funnel_reading", "funnel_table", "funnel_target",
           "kappa_words", "level_agreement", "level_positions", "load_benchmarks",
           "load_design_weights", "logistic_odds_ratios", "monthly_series",
           "most_confused", "odds_ratio_plot", "odds_ratio_readings", "paired_kappa",
           "ratings_matrix", "reference_by_subject", "share_sentence", "trend_chart",
           "triage_agreement", "triage_frame", "triage_table", "undergrading",
           "undergrading_counts", "vignette_agreement", "weighted_kappa_table", "weighted_share",
           "weights_from_manifest", "working_days", "write_chart_series"]
