"""Agreement among raters: percent agreement, Cohen's, Fleiss', Krippendorff's and Gwet's.

Every multi-rater function takes a *subjects x raters* table (rows are the subjects, e.g. the
case vignettes; columns are the raters; an empty cell - NaN, None or a blank string - means the
rater did not rate that subject).  Ratings may be numbers or strings; ``categories`` gives the
full list of levels *in order*, which matters for ordinal statistics and for levels nobody used.
A long table (subject, rater, level) is turned into that matrix by ``ratings_matrix_from_long``.
Every function returns an ``AgreementResult`` with the estimate, its standard error where one is
defined, an interval, the number of subjects and raters, and a note of how the interval was made.

Statistics and their sources
----------------------------
* ``percent_agreement``: the share of agreeing pairs of ratings on a subject, averaged over the
  subjects rated at least twice (Fleiss 1971's P-bar).  No allowance for chance.
* ``cohen_kappa`` / ``cohen_kappa_table``: two raters, Cohen (1960); weighted kappa with linear
  (Cicchetti-Allison) or quadratic (Fleiss-Cohen) weights, Cohen (1968).  Computed by
  ``statsmodels.stats.inter_rater.cohens_kappa`` with its large-sample standard error (Fleiss,
  Cohen & Everitt 1969), the one SAS PROC FREQ prints.
* ``fleiss_kappa``: many raters, Fleiss (1971), with the chance proportions pooled over the
  ratings of the subjects rated at least twice, so an incomplete design (not every rater
  rated every subject) is handled.  ``statsmodels``' ``fleiss_kappa`` is not used for the
  estimate because it assumes every subject has the same number of ratings and gives no
  standard error; the tests check that the two agree on complete designs.
* ``krippendorff_alpha``: Krippendorff's alpha for nominal, ordinal, interval and ratio data
  with missing ratings, from the coincidence matrix (Krippendorff 2011, "Computing
  Krippendorff's alpha-reliability"; 2004, *Content Analysis*, ch. 11).
* ``gwet_ac1`` / ``gwet_ac2``: Gwet's (2008) AC1 and its weighted form AC2 (Gwet 2014,
  *Handbook of Inter-Rater Reliability*, 4th ed.), with linear, quadratic or Gwet's ordinal
  weights; table forms ``gwet_ac1_table`` / ``gwet_ac2_table`` for two raters.

The Fleiss, Krippendorff and Gwet statistics are hand-written here (checked in the tests against
the published worked examples of Fleiss 1971, Krippendorff 2011, Gwet's irrCAC outputs and R's
irr package) because the bootstrap below needs them as vectorised functions of per-subject
counts; the PyPI packages ``krippendorff`` and ``irrCAC`` compute one estimate per call and
would make two thousand resamples of ten thousand subjects take minutes, not milliseconds.

Intervals
---------
* Analytic, where one is standard: Cohen's kappa (Fleiss, Cohen & Everitt 1969 SE; by
  default on Fisher's z scale with a t quantile, which held 90-94% at n = 20 and 92-94% at
  n = 30 where the normal (Wald) interval held 86-89% and 90-91%: ``cohen_kappa_table``
  and ``benchmarks/kappa_coverage.py``); Fleiss' kappa, AC1 and AC2 (Gwet 2014's
  linearised variance of the coefficient, with a t interval on n - 1 degrees of freedom, as
  Gwet's irrCAC does).  For Fleiss' kappa
  on a complete design the result also carries the standard error under "no agreement beyond
  chance" of Fleiss, Nee & Landis (1979), which is for testing kappa = 0, not for intervals.
* Bootstrap over subjects everywhere else (percent agreement, Krippendorff's alpha) and on
  request for every statistic (``interval="bootstrap"``); ``agreement_summary`` uses it for all
  rows so they are comparable.  Every statistic here depends on a subject only through its
  *count vector* (how many raters chose each level), so subjects with the same counts are
  interchangeable.  Resampling n subjects with replacement and counting how many of each
  distinct count vector were drawn is a multinomial draw over those vectors; the bootstrap
  draws that directly (``numpy.random.default_rng(seed).multinomial``) and computes every
  resample's statistic from integer-valued sums by matrix products.  The cost does not grow
  with the number of subjects (10,000 subjects x 5 raters, 2,000 resamples: well under a
  second), the sums are exact (so results do not depend on thread count), and the order of the
  rows and columns of the input makes no difference to the result.  Intervals are BCa
  (bias-corrected and accelerated) by default (Efron 1987, JASA 82:171-185; Efron & Tibshirani
  1993, ch. 14), with the acceleration from the jackknife over subjects, computed the same way;
  ``ci_method="percentile"`` gives the plain percentile interval (ch. 13).  BCa is the default
  because kappa is biased downwards in small samples (its chance agreement is estimated) and
  the percentile interval inherits the bias: in 1,000 simulated exercises of 20 subjects x 5
  raters, 4 levels, the 95% percentile interval held the true Fleiss' kappa 89% of the time and
  BCa 94%.  Resamples where the statistic is undefined (all ratings one level) are dropped and
  counted in ``extra["boot_undefined"]``.

Missing ratings: subjects rated by fewer than two raters carry no information on agreement
and are left out ("pairable" subjects only, as Krippendorff's alpha does).  Gwet (2014) instead
estimates the chance proportions from every subject rated at least once; ``chance="all_rated"``
reproduces his figures (and irrCAC's).  On a complete design the two are the same.

The prevalence paradox
----------------------
When one level dominates (most referrals graded level 2, say), two raters agree often just by
both choosing the common level, so kappa's chance agreement is high and kappa can be low - "fair"
or worse - even when the raters agree on 85% or 90% of subjects (Feinstein & Cicchetti 1990,
"High agreement but low kappa: I. The problems of two paradoxes", J Clin Epidemiol 43:543-549;
Cicchetti & Feinstein 1990, part II).  Kappa is not wrong - it answers "how much better than
raters who share these marginal rates but rate at random?" - but read alone it can suggest that
practitioners disagree when they mostly agree on an unbalanced caseload.  Gwet's AC1 uses a
chance agreement that shrinks when one level dominates, so it stays close to the raw agreement
in that situation (Gwet 2008; Wongpakaran et al. 2013, BMC Med Res Methodol 13:61).  This package
therefore reports AC1 beside kappa (``agreement_summary``), and ``prevalence_paradox_note``
says in plain words when the two diverge.

Readings use the Landis & Koch (1977) bands (slight, fair, moderate, substantial, almost
perfect), say when the interval spans more than one band, and call a small sample small.

Modules
-------
One job each, in their order of dependence:

* ``results``: ``AgreementResult``, ``AgreementError``, the statistics' names and
  ``not_measurable_reason``;
* ``ratings``: ratings in (subjects x raters tables, long tables, tables of counts) as codes;
* ``patterns``: the engine: count vectors, their exact sums and the coefficients from them;
* ``intervals``: bootstrap (BCa, percentile), jackknife and analytic variances;
* ``many_raters``: percent agreement, Fleiss' kappa, Gwet's AC1 and AC2, Krippendorff's alpha;
* ``two_raters``: Cohen's (weighted) kappa and the two-rater table forms;
* ``summary``: Landis & Koch bands, readings in words and ``agreement_summary``.

Every name is available here, as ``analysis.agreement.<name>``.
"""

from __future__ import annotations

# ``name as name``: here as before the split but, as before, not in ``__all__``.
from .many_raters import fleiss_kappa, gwet_ac1, gwet_ac2, krippendorff_alpha, percent_agreement
from .ratings import encode_ratings, ratings_from_counts, ratings_matrix_from_long
from .results import STATISTIC_NAMES, AgreementError, AgreementResult, not_measurable_reason
from .results import Chance as Chance
from .results import CiMethod as CiMethod
from .results import IntervalMethod as IntervalMethod
from .results import KappaInterval as KappaInterval
from .results import Level as Level
from .results import WeightName as WeightName
from .summary import LANDIS_KOCH as LANDIS_KOCH
from .summary import SMALL_SUBJECTS as SMALL_SUBJECTS
from .summary import (
    agreement_summary,
    describe_agreement,
    landis_koch_band,
    prevalence_paradox_note,
)
from .summary import band_words as band_words
from .two_raters import (
    cohen_kappa,
    cohen_kappa_table,
    gwet_ac1_table,
    gwet_ac2_table,
    krippendorff_alpha_table,
)

__all__ = [
    "AgreementError", "AgreementResult", "STATISTIC_NAMES", "agreement_summary",
    "cohen_kappa", "cohen_kappa_table", "describe_agreement", "encode_ratings", "fleiss_kappa",
    "gwet_ac1", "gwet_ac1_table", "gwet_ac2", "gwet_ac2_table", "krippendorff_alpha",
    "krippendorff_alpha_table", "landis_koch_band", "not_measurable_reason",
    "percent_agreement",
    "prevalence_paradox_note", "ratings_from_counts", "ratings_matrix_from_long",
]
