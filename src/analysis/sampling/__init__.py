"""Audit samples: plan them, design them, draw them, verify them, hand them out.

A board audits a sample of case files several times a year.  This module makes that sample a
reproducible, verifiable, well-designed object:

* **Plan.** ``sample_size(margin, population)`` is the number of cases needed to estimate a
  proportion to +/- ``margin``, with the finite population correction when the population is
  given; ``margin_of_error(n, population)`` is what ``n`` cases achieve.  Both use Cochran's
  normal-approximation formulae: ``n0 = z^2 p (1 - p) / e^2`` and, with the correction,
  ``n = n0 / (1 + (n0 - 1) / N)`` (Cochran, W. G. (1977) *Sampling Techniques*, 3rd ed., Wiley,
  ch. 4, eqs. 4.1-4.2).  ``p = 0.5`` is the cautious planning value (largest ``n``).
* **Design.** A sample design (YAML; schema below) says which cases are eligible (filters, a
  date window, exclusion of cases audited recently), how they are stratified (any columns of
  the cases table), how many cases each stratum gets (proportional, equal, Neyman or fixed
  allocation; a total ``n`` or a target margin; a minimum per stratum) and which group is
  over-sampled (e.g. domestic-abuse cases).
* **Draw.** ``draw(cases, design, seed)`` selects the cases; ``write_sample`` writes the
  manifest (``manifest.json``), the public design table (``design_table.csv``) and the auditor
  workbook (``auditor_workbook.xlsx``).  ``sqa sample --cases FILE --design DESIGN --seed N
  --out DIR`` does both.
* **Verify.** ``verify(manifest, cases)`` re-draws from the cases file and confirms that the
  selection is identical, or says why not (input changed, design changed, selection changed);
  ``sqa sample --verify MANIFEST --cases FILE`` exits 0 or 1.
* **Weights.** Each sampled case carries its selection probability ``n_h / N_h`` and design
  weight ``N_h / n_h`` (the number of cases of the frame it stands for; Horvitz & Thompson
  1952); the weights of a stratum sum to its population, so an over-sampled group does not
  bias overall estimates.  ``attach_weights`` hands them to the analyses.

Determinism
-----------
The same cases and seed give a byte-identical manifest on any machine with the same package
versions (which the manifest records): rows are sorted by ``case_id`` before anything else, the
input hash is taken over a canonical serialisation (contract column order, ISO dates,
``true``/``false``), so neither the file's row order nor its format (Parquet or CSV) matters;
each stratum draws from its own ``numpy.random.default_rng`` stream seeded with
``SeedSequence([seed, sha256(stratum)])`` (never Python's salted ``hash()``), and selects the
``n_h`` cases with the smallest random keys; the timestamp follows ``SOURCE_DATE_EPOCH``
(``provenance.timestamp``) and JSON is written with sorted keys.  No thread pool is involved.

Allocation
----------
``allocate`` shares ``n`` between strata in proportion to a weight per stratum -- ``N_h``
(proportional), 1 (equal), ``N_h * sqrt(p_h (1 - p_h))`` (Neyman allocation for a proportion,
Neyman 1934; Cochran 1977 ch. 5) -- or takes fixed counts.  Every stratum gets at least
``min_per_stratum`` cases (at least one: a stratum with no sampled case cannot be weighted)
and never more than its population: strata whose share exceeds their population are taken
whole, strata below the minimum are raised to it, and the rest is re-shared among the others.
The shares are then rounded to whole cases by the largest-remainder (Hamilton) method, so the
strata always sum to ``n`` (Balinski, M. L. & Young, H. P. (1982) *Fair Representation*, Yale
University Press); ties go to the stratum whose name sorts first.

Design file (YAML)
------------------
::

    name: hackney_2011                 # default: the file name
    title: Hackney 2011 tier-2 audit composition
    source: "where the design comes from"
    seed: 2011                         # default seed (sqa sample --seed overrides it)
    scale: hackney                     # levels-of-need scale for the workbook (optional)
    filter:                            # keep rows whose column takes one of the values
      service: [mat_panel, yprrp, partnership_triage]
      domestic_abuse: true
    date_window: {column: contact_date, start: 2026-01-01, end: 2026-03-31}   # inclusive
    exclude_previous_months: 12        # drop cases sampled by a --previous manifest made in
                                       # the last 12 months (omit: drop all their cases)
    reference_date: 2026-03-31         # "now" for that rule (default: the draw's timestamp)
    strata: service                    # a column, a list of columns (label "a|b"), or
    #   strata: {columns: [service], groups: {mat_yprrp: [mat_panel, yprrp]}}
    labels: {mat_yprrp: "MAT and YPRRP panels"}   # display names of strata (optional)
    order: [mat_yprrp, partnership_triage]        # display order (default: as in counts)
    allocation: fixed                  # proportional | equal | neyman | fixed
    counts: {mat_yprrp: 5, partnership_triage: 9}  # fixed: cases per stratum
    n: 60                              # proportional/equal/neyman: total cases, or
    margin: 0.10                       #   a target margin (n = sample_size(margin, N, p))
    p: 0.5                             # planning proportion for margins (default 0.5)
    confidence: 0.95                   # default 0.95
    prior: {nfa: 0.2, assessment: 0.5} # neyman: expected proportion per stratum
    min_per_stratum: 2                 # default 1
    oversample: {column: domestic_abuse, value: true, factor: 2, label: domestic abuse}

Over-sampling splits each stratum into the flagged group and the rest, and shares the
stratum's cases so that a flagged case is ``factor`` times as likely to be chosen as another
case of the stratum (both groups get at least one case; a stratum given a single case is not
split).  The two groups are then strata in their own right, with their own weights.

Manifest (JSON, written with sorted keys)
-----------------------------------------
``design`` (the normalised design), ``design_name``, ``design_sha256``, ``seed``,
``input_sha256`` (canonical cases table), ``frame_sha256`` (the eligible rows),
``input_row_digests`` (sorted 10-hex-digit row digests, used only to count changed rows when
verifying), ``rows`` (input, after filter, after date window, excluded, frame, sampled),
``exclusions``, ``strata`` (stratum, label, parent, population, sampled, fraction,
selection_probability, design_weight, margin_of_error, too_small, note), ``cases``
(case_id, stratum, selection_probability, design_weight; sorted by case_id), ``versions``,
``git_commit`` and ``created``.  ``verify`` compares everything except ``versions``,
``git_commit`` and ``created``.

Modules
-------
One job each, in their order of dependence:

* ``design``: planning (sample size, margins), allocation, the design file, stratum labels;
* ``cases``: the cases table: reading it, its canonical text and hashes, opening it on the
  DuckDB engine and identifying it (canonically, or by its file's SHA-256);
* ``frame``: the sample frame (filters, date window, exclusions, strata) by DuckDB SQL;
* ``manifest``: the manifest's body, reading it, checking its shape, its fingerprint, weights;
* ``drawing``: allocation over the frame and the per-stratum random draw (``draw``);
* ``summary``: public summaries (no case-level data) and the margin plot;
* ``output``: writing the manifest, design table and auditor workbook; ``sqa sample``;
* ``verification``: re-drawing a sample and comparing it with its manifest (``verify``).

Every name is available here, as ``analysis.sampling.<name>`` (the modules are not named
for the functions ``draw`` and ``verify``, which would hide them).  A test that changes a
setting patches the module that reads it (``sampling.cases.CANONICAL_MAX_ROWS``).
"""

from __future__ import annotations

# ``name as name``: here as before the split but, as before, not in ``__all__``.
from .cases import (
    BATCH_ROWS,
    CANONICAL_MAX_ROWS,
    CANONICALISATION,
    DIGEST_CHARS,
    MAX_ROW_DIGESTS,
    canonical_text,
    input_digest,
    read_cases,
)
from .cases import FILE_IDENTITY as FILE_IDENTITY
from .cases import logged_sha256 as logged_sha256
from .design import (
    ALLOCATIONS,
    DESIGN_KEYS,
    WIDE_MARGIN,
    DateWindow,
    Design,
    DesignError,
    Oversample,
    allocate,
    canon_value,
    design_from_dict,
    in_sentence,
    largest_remainder,
    load_design,
    margin_of_error,
    sample_size,
    shipped_designs,
    stratified_margin,
    stratum_label,
    z_value,
)
from .drawing import Sample, draw, oversample_allocation
from .drawing import _smallest as _smallest
from .frame import MISSING, sample_columns
from .manifest import CASE_SHAPE as CASE_SHAPE
from .manifest import EXCLUSIONS_OPTIONAL as EXCLUSIONS_OPTIONAL
from .manifest import JSON_TYPE_NAMES as JSON_TYPE_NAMES
from .manifest import MANIFEST_OPTIONAL as MANIFEST_OPTIONAL
from .manifest import MANIFEST_SHAPE as MANIFEST_SHAPE
from .manifest import (
    MANIFEST_VERSION,
    attach_weights,
    check_manifest,
    manifest_body,
    read_manifest,
    sample_fingerprint,
)
from .manifest import PLANNING_SHAPE as PLANNING_SHAPE
from .manifest import ROWS_SHAPE as ROWS_SHAPE
from .manifest import STRATUM_SHAPE as STRATUM_SHAPE
from .output import (
    RETURNED_LABEL,
    SAMPLE_FINGERPRINT_LABEL,
    WORKBOOK_PREFILLED,
    cli_draw,
    design_table,
    load_or_draw,
    sample_folder,
    workbook_columns,
    write_sample,
    write_workbook,
)
from .summary import design_summary, margin_plot, population_counts, population_table_name
from .verification import GIT_COMMIT_RE as GIT_COMMIT_RE
from .verification import VerifyResult, cli_sample, cli_verify, verify

__all__ = ["ALLOCATIONS", "BATCH_ROWS", "CANONICAL_MAX_ROWS", "CANONICALISATION",
           "DESIGN_KEYS", "DIGEST_CHARS", "DateWindow",
           "Design", "DesignError", "MANIFEST_VERSION", "MAX_ROW_DIGESTS",
           "MISSING", "Oversample", "RETURNED_LABEL", "Sample", "VerifyResult", "WIDE_MARGIN",
           "WORKBOOK_PREFILLED",
           "allocate", "attach_weights", "canon_value", "canonical_text", "check_manifest",
           "cli_draw",
           "cli_sample", "cli_verify", "design_from_dict", "design_summary", "design_table",
           "draw", "in_sentence", "input_digest", "largest_remainder", "load_design",
           "SAMPLE_FINGERPRINT_LABEL", "sample_fingerprint", "load_or_draw", "manifest_body",
           "margin_of_error", "margin_plot",
           "oversample_allocation", "population_counts", "population_table_name", "read_cases",
           "read_manifest", "sample_columns", "sample_folder", "sample_size", "shipped_designs",
           "stratified_margin", "stratum_label", "verify", "workbook_columns", "write_sample",
           "write_workbook", "z_value"]
