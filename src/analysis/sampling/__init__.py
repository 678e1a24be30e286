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
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from .. import engine, privacy, schemas
from ..ingest import InputError
from ..proportions import SMALL_N
from ..provenance import git_commit, package_versions, timestamp, write_json
from ..reporting import margin

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

MANIFEST_VERSION = 1
ALLOCATIONS = ("proportional", "equal", "neyman", "fixed")
DESIGN_KEYS = ("name", "title", "source", "notes", "seed", "scale", "filter", "date_window",
               "exclude_previous_months", "reference_date", "strata", "labels", "allocation",
               "counts", "n", "margin", "p", "confidence", "prior", "min_per_stratum",
               "oversample", "order")
#: A stratum whose margin of error is wider than this is "indicative only" in the wording
#: (an interval wider than 30 points: ``proportions.WIDE``).
WIDE_MARGIN = 0.15
#: Row digests are kept in the manifest (to count changed rows on verify) up to this size.
MAX_ROW_DIGESTS = 250_000
DIGEST_CHARS = 10
MISSING = "missing"
CANONICALISATION = ("rows sorted by case_id; columns in contract order then other columns "
                    "by name; one JSON array of text per row; dates yyyy-mm-dd; booleans "
                    "true/false; missing values empty")


class DesignError(Exception):
    """A sample design that cannot be used (reported as one message, no traceback)."""


# ======================================================================================
# Planning: sample size and margin of error
# ======================================================================================


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile for ``confidence`` (1.959964 for 95%)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def _check_p(p: float) -> None:
    if not 0 < p < 1:
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")


def sample_size(margin: float, population: int | None = None, p: float = 0.5,
                confidence: float = 0.95) -> int:
    """Cases needed to estimate a proportion to within +/- ``margin`` (simple random sample).

    Cochran (1977), *Sampling Techniques*, 3rd ed., ch. 4: ``n0 = z^2 p (1 - p) / margin^2``
    (eq. 4.1); with a finite population of ``N`` cases, ``n = n0 / (1 + (n0 - 1) / N)``
    (eq. 4.2, the finite population correction).  Rounded up to a whole case.  Textbook
    values at 95% and p = 0.5: margin 0.05 needs 385 cases from an unlimited population,
    278 from 1,000 and 334 from 2,500.
    """
    if not 0 < margin < 1:
        raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
    _check_p(p)
    z = z_value(confidence)
    n0 = z * z * p * (1 - p) / (margin * margin)
    if population is None:
        return max(1, math.ceil(n0 - 1e-9))
    if population < 1 or int(population) != population:
        raise ValueError(f"population must be a whole number of cases >= 1, got {population!r}")
    n = n0 / (1 + (n0 - 1) / population)
    return int(min(population, max(1, math.ceil(n - 1e-9))))


def margin_of_error(n: int, population: int | None = None, p: float = 0.5,
                    confidence: float = 0.95) -> float:
    """Half-width of the normal-approximation interval that ``n`` cases give for a proportion.

    ``z * sqrt(p (1 - p) / n)``, times ``sqrt((N - n) / (N - 1))`` when the population ``N``
    is given (Cochran 1977, ch. 4; the inverse of ``sample_size``).  A census (``n == N``)
    has no sampling error: 0.  ``n == 0`` gives NaN (nothing was sampled).
    """
    _check_p(p)
    z = z_value(confidence)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if n == 0:
        return math.nan
    fpc = 1.0
    if population is not None:
        if n > population:
            raise ValueError(f"n ({n}) cannot exceed the population ({population})")
        fpc = (population - n) / (population - 1) if population > 1 else 0.0
    return float(z * math.sqrt(p * (1 - p) / n * fpc))


def stratified_margin(populations: Sequence[int], sampled: Sequence[int], p: float = 0.5,
                      confidence: float = 0.95) -> float:
    """Margin of error of a stratified estimate of a proportion (same ``p`` in every stratum).

    ``z * sqrt(sum_h W_h^2 (N_h - n_h)/(N_h - 1) p (1 - p) / n_h)`` with ``W_h = N_h / N``:
    the variance of the stratified (design-weighted) proportion, Cochran (1977) ch. 5
    (stratified random sampling, proportions).  It allows for unequal sampling fractions, so
    over-sampling shows as a wider margin than a proportional sample of the same size.
    """
    _check_p(p)
    N = float(sum(populations))
    if N <= 0 or any(n <= 0 for n in sampled):
        return math.nan
    var = 0.0
    for Nh, nh in zip(populations, sampled, strict=True):
        fpc = (Nh - nh) / (Nh - 1) if Nh > 1 else 0.0
        var += (Nh / N) ** 2 * fpc * p * (1 - p) / nh
    return float(z_value(confidence) * math.sqrt(var))


# ======================================================================================
# Allocation
# ======================================================================================


def largest_remainder(quotas: Mapping[str, float], total: int) -> dict[str, int]:
    """Round real quotas to whole numbers summing to ``total`` (Hamilton's method).

    Each stratum gets the whole part of its quota; the cases left over go one each to the
    strata with the largest fractional parts (ties: the name that sorts first).  Balinski &
    Young (1982), *Fair Representation*.
    """
    floors = {h: math.floor(q) for h, q in quotas.items()}
    short = total - sum(floors.values())
    if short < 0 or short > len(quotas):
        raise ValueError(f"quotas sum to {sum(quotas.values())}, which cannot round to {total}")
    order = sorted(quotas, key=lambda h: (-round(quotas[h] - floors[h], 12), h))
    for h in order[:short]:
        floors[h] += 1
    return {h: floors[h] for h in sorted(floors)}


def _constrained(populations: Mapping[str, int], weights: Mapping[str, float], n: int,
                 minimum: int, where: str) -> dict[str, int]:
    """Share ``n`` in proportion to ``weights``, within [min(minimum, N_h), N_h] per stratum."""
    labels = sorted(populations)
    total = sum(populations.values())
    if n > total:
        raise DesignError(f"{where}: the design asks for {n} cases but only {total} are eligible "
                          "after filters and exclusions. Fix: lower n (or the margin), or widen "
                          "the filter or date window.")
    lower = {h: min(max(minimum, 1), populations[h]) for h in labels}
    if sum(lower.values()) > n:
        raise DesignError(
            f"{where}: {len(labels)} strata need at least {sum(lower.values())} cases "
            f"(min_per_stratum {max(minimum, 1)}, and every stratum needs one case to be "
            f"weighted), more than n = {n}. Fix: raise n, lower min_per_stratum, or merge small "
            "strata with strata.groups.")
    fixed: dict[str, int] = {}
    quota: dict[str, float] = {}
    while True:
        free = [h for h in labels if h not in fixed]
        remaining = n - sum(fixed.values())
        if not free:
            break
        wsum = sum(float(weights[h]) for h in free)
        quota = ({h: remaining * float(weights[h]) / wsum for h in free} if wsum > 0
                 else {h: remaining / len(free) for h in free})
        over = [h for h in free if quota[h] > populations[h]]
        if over:
            fixed.update({h: populations[h] for h in over})
            continue
        under = [h for h in free if quota[h] < lower[h]]
        if under:
            fixed.update({h: lower[h] for h in under})
            continue
        break
    free = [h for h in labels if h not in fixed]
    out = dict(fixed)
    if free:
        out.update(largest_remainder({h: quota[h] for h in free}, n - sum(fixed.values())))
    return {h: out[h] for h in labels}


def allocate(populations: Mapping[str, int], n: int | None = None, rule: str = "proportional",
             *, counts: Mapping[str, int] | None = None, prior: Mapping[str, float] | None = None,
             minimum: int = 1, where: str = "design") -> dict[str, int]:
    """Cases per stratum under an allocation rule; always sums to ``n`` (or ``sum(counts)``).

    * ``proportional``: ``n_h`` proportional to the stratum population ``N_h``;
    * ``equal``: the same number in every stratum;
    * ``neyman``: ``n_h`` proportional to ``N_h * sqrt(p_h (1 - p_h))``, the allocation that
      minimises the variance of the stratified proportion for a given ``n`` (Neyman, J. (1934)
      JRSS 97:558-625; Cochran 1977 ch. 5), with ``prior`` giving the expected ``p_h``;
    * ``fixed``: ``counts`` per stratum, checked against the populations.

    Strata are raised to ``minimum`` (at least 1) and capped at their population, the rest
    re-shared; quotas are rounded by the largest-remainder method (``largest_remainder``).
    Raises ``DesignError`` (naming ``where``) when the design cannot be met.
    """
    pops = {str(h): int(v) for h, v in populations.items() if int(v) > 0}
    if not pops:
        raise DesignError(f"{where}: no cases are eligible. Fix: check the filter, date window "
                          "and exclusions against the cases table.")
    if rule == "fixed":
        counts = {str(k): int(v) for k, v in (counts or {}).items()}
        unknown = sorted(set(counts) - set(pops))
        if unknown:
            raise DesignError(f"{where}: counts: no eligible cases fall in stratum "
                              f"{', '.join(repr(u) for u in unknown)}. Strata with cases: "
                              f"{', '.join(sorted(pops))}. Fix: correct the stratum name, or "
                              "remove it from counts.")
        missing = sorted(set(pops) - set(counts))
        if missing:
            raise DesignError(f"{where}: counts: stratum {', '.join(repr(m) for m in missing)} "
                              "has eligible cases but no count. Fix: give it a count, or leave "
                              "its cases out with filter.")
        too_big = [(h, c, pops[h]) for h, c in sorted(counts.items()) if c > pops[h]]
        if too_big:
            h, c, N = too_big[0]
            raise DesignError(f"{where}: counts.{h} = {c} but stratum {h!r} has only {N} "
                              f"eligible case{'s' if N != 1 else ''}. Fix: lower counts.{h} to "
                              f"at most {N}, or widen the filter or date window.")
        small = [h for h, c in counts.items() if c < 1]
        if small:
            raise DesignError(f"{where}: counts.{small[0]} must be at least 1 (a stratum with "
                              "no sampled case cannot be weighted). Fix: give it 1 or more, or "
                              "filter its cases out.")
        return {h: counts[h] for h in sorted(counts)}
    if n is None or n < 1:
        raise DesignError(f"{where}: allocation {rule!r} needs a total n (or a margin). Fix: add "
                          "'n: 60' or 'margin: 0.1'.")
    if rule == "proportional":
        weights = {h: float(v) for h, v in pops.items()}
    elif rule == "equal":
        weights = dict.fromkeys(pops, 1.0)
    elif rule == "neyman":
        prior = {str(k): float(v) for k, v in (prior or {}).items()}
        missing = sorted(set(pops) - set(prior))
        if missing:
            raise DesignError(f"{where}: prior: no expected proportion for stratum "
                              f"{', '.join(repr(m) for m in missing)}. Fix: add it under prior "
                              "(Neyman allocation needs one per stratum), or use proportional.")
        weights = {h: pops[h] * math.sqrt(prior[h] * (1 - prior[h])) for h in pops}
    else:
        raise DesignError(f"{where}: allocation must be one of {', '.join(ALLOCATIONS)}, not "
                          f"{rule!r}.")
    return _constrained(pops, weights, int(n), minimum, where)


# ======================================================================================
# Designs
# ======================================================================================


@dataclass(frozen=True)
class Oversample:
    column: str
    value: str
    factor: float
    label: str


@dataclass(frozen=True)
class DateWindow:
    column: str
    start: str | None
    end: str | None


@dataclass(frozen=True)
class Design:
    """A parsed, normalised sample design (see the module docstring for the YAML)."""

    name: str
    title: str
    source: str
    notes: str
    seed: int | None
    scale: str | None
    filter: dict[str, tuple[str, ...]]
    date_window: DateWindow | None
    exclude_previous_months: int | None
    reference_date: str | None
    strata: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    labels: dict[str, str]
    allocation: str
    counts: dict[str, int]
    n: int | None
    margin: float | None
    p: float
    confidence: float
    prior: dict[str, float]
    min_per_stratum: int
    oversample: Oversample | None
    order: tuple[str, ...] = ()
    origin: str = field(default="design", compare=False)

    def rank(self, stratum: str) -> tuple[int, str]:
        """Sort key of a stratum: the design's order (counts, labels), then by name."""
        head = stratum.split("|")[0]
        pos = self.order.index(head) if head in self.order else len(self.order)
        return (pos, stratum)

    def to_dict(self) -> dict[str, Any]:
        """The normalised design as plain data (stored in the manifest; hashed)."""
        return {
            "name": self.name, "title": self.title, "source": self.source, "notes": self.notes,
            "seed": self.seed, "scale": self.scale,
            "filter": {k: list(v) for k, v in sorted(self.filter.items())},
            "date_window": None if self.date_window is None else {
                "column": self.date_window.column, "start": self.date_window.start,
                "end": self.date_window.end},
            "exclude_previous_months": self.exclude_previous_months,
            "reference_date": self.reference_date,
            "strata": {"columns": list(self.strata),
                       "groups": {g: list(v) for g, v in sorted(self.groups.items())}},
            "labels": dict(sorted(self.labels.items())),
            "allocation": self.allocation, "counts": dict(sorted(self.counts.items())),
            "n": self.n, "margin": self.margin, "p": self.p, "confidence": self.confidence,
            "prior": dict(sorted(self.prior.items())), "min_per_stratum": self.min_per_stratum,
            "oversample": None if self.oversample is None else {
                "column": self.oversample.column, "value": self.oversample.value,
                "factor": self.oversample.factor, "label": self.oversample.label},
            "order": list(self.order),
        }

    @property
    def sha256(self) -> str:
        return _json_sha(self.to_dict())


def _json_sha(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canon_value(v: object) -> str:
    """The canonical text of one value: ``true``/``false``, ISO dates, whole numbers, text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, pd.Timestamp | datetime):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def shipped_designs() -> list[str]:
    """Names of the designs shipped with the package (``designs/*.yml``)."""
    folder = resources.files("analysis").joinpath("designs")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".yml"))


def load_design(name_or_path: str | Path | Design | Mapping[str, Any]) -> Design:
    """Load a design: a shipped name (``hackney_2011``), a YAML path, or a mapping.

    A path of the form ``designs/<name>.yml`` that does not exist falls back to the shipped
    design of that name, so round files can name ``designs/hackney_2011.yml``.
    """
    if isinstance(name_or_path, Design):
        return name_or_path
    if isinstance(name_or_path, Mapping):
        return design_from_dict(name_or_path, origin="design")
    p = Path(name_or_path)
    shipped = shipped_designs()
    if p.is_file():
        text, origin, stem = p.read_text("utf-8"), str(p), p.stem
    elif p.suffix.lower() in {".yml", ".yaml"} or len(p.parts) > 1:
        if p.parent.name == "designs" and p.stem in shipped:
            return load_design(p.stem)
        raise DesignError(f"{p}: design file not found. Shipped designs: {', '.join(shipped)} "
                          "(give the name), or give the path of a design YAML file.")
    else:
        res = resources.files("analysis").joinpath("designs", f"{p.name}.yml")
        if not res.is_file():
            raise DesignError(f"no design named {str(name_or_path)!r}. Shipped designs: "
                              f"{', '.join(shipped)}; or give the path of a design YAML file.")
        text, origin, stem = res.read_text("utf-8"), f"design {p.name!r} (shipped)", p.name
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DesignError(f"{origin}: not valid YAML ({exc}).") from None
    except ValueError as exc:  # PyYAML's date parsing, e.g. 2026-13-01
        raise DesignError(f"{origin}: a value is not a date ({exc}). Fix: write dates as "
                          "yyyy-mm-dd, e.g. 2026-01-01.") from None
    if not isinstance(data, dict):
        raise DesignError(f"{origin}: a design is a YAML mapping with name:, strata:, "
                          "allocation: ... (see designs/hackney_2011.yml).")
    data.setdefault("name", stem)
    return design_from_dict(data, origin=origin)


def _values(v: object) -> tuple[str, ...]:
    items = list(v) if isinstance(v, list | tuple | set) else [v]
    return tuple(canon_value(x) for x in items)


def _iso_date(v: object, where: str, key: str) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    try:
        return date.fromisoformat(str(v).strip()).isoformat()
    except ValueError:
        raise DesignError(f"{where}: {key}: {v!r} is not a date. Fix: write it as yyyy-mm-dd, "
                          "e.g. 2026-01-01.") from None


def _number(v: object, where: str, key: str, kind: type, low: float | None = None,
            high: float | None = None, open_interval: bool = False) -> Any:
    if isinstance(v, bool) or v is None:
        raise DesignError(f"{where}: {key}: expected a number, got {v!r}.")
    try:
        x = kind(v)
    except (TypeError, ValueError):
        raise DesignError(f"{where}: {key}: expected a number, got {v!r}.") from None
    if kind is int and float(v) != x:
        raise DesignError(f"{where}: {key}: expected a whole number, got {v!r}.")
    bad = ((low is not None and (x <= low if open_interval else x < low))
           or (high is not None and (x >= high if open_interval else x > high)))
    if bad:
        rng = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise DesignError(f"{where}: {key}: {v!r} is out of range (it must be {rng}"
                          f"{', exclusive' if open_interval else ''}).")
    return x


def _str_map(v: object, where: str, key: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise DesignError(f"{where}: {key}: expected a mapping such as {{name: value}}, got "
                          f"{v!r}.")
    return {canon_value(k): val for k, val in v.items()}


def design_from_dict(d: Mapping[str, Any], origin: str = "design") -> Design:
    """Parse and check a design mapping (YAML shorthand or the normalised ``to_dict`` form)."""
    unknown = sorted(set(map(str, d)) - set(DESIGN_KEYS))
    if unknown:
        raise DesignError(f"{origin}: unknown key {', '.join(repr(u) for u in unknown)}. Allowed "
                          f"keys: {', '.join(DESIGN_KEYS)}.")
    name = str(d.get("name") or "").strip()
    if not name or any(ch in name for ch in "/\\ "):
        raise DesignError(f"{origin}: name: give the design a short name without spaces or "
                          "slashes (it names the sample folder).")
    where = origin
    seed = d.get("seed")
    if seed is not None:
        seed = _number(seed, where, "seed", int, low=0)

    filt: dict[str, tuple[str, ...]] = {}
    for col, vals in _str_map(d.get("filter"), where, "filter").items():
        filt[col] = _values(vals)
        if not filt[col]:
            raise DesignError(f"{where}: filter.{col}: give at least one value.")

    dw = d.get("date_window")
    window = None
    if dw is not None:
        if not isinstance(dw, Mapping):
            raise DesignError(f"{where}: date_window: expected {{column: contact_date, start: "
                              "2026-01-01, end: 2026-03-31}.")
        extra = sorted(set(map(str, dw)) - {"column", "start", "end"})
        if extra:
            raise DesignError(f"{where}: date_window: unknown key {extra[0]!r} (use column, "
                              "start, end).")
        window = DateWindow(str(dw.get("column") or "contact_date"),
                            _iso_date(dw.get("start"), where, "date_window.start"),
                            _iso_date(dw.get("end"), where, "date_window.end"))
        if window.start and window.end and window.start > window.end:
            raise DesignError(f"{where}: date_window: start {window.start} is after end "
                              f"{window.end}. Fix: swap them.")

    months = d.get("exclude_previous_months")
    if months is not None:
        months = _number(months, where, "exclude_previous_months", int, low=0)
    ref = _iso_date(d.get("reference_date"), where, "reference_date")

    strata_raw = d.get("strata")
    groups: dict[str, tuple[str, ...]] = {}
    labels = {k: str(v) for k, v in _str_map(d.get("labels"), where, "labels").items()}
    if strata_raw is None:
        columns: tuple[str, ...] = ()
    elif isinstance(strata_raw, str):
        columns = (strata_raw,)
    elif isinstance(strata_raw, list | tuple):
        columns = tuple(str(c) for c in strata_raw)
    elif isinstance(strata_raw, Mapping):
        extra = sorted(set(map(str, strata_raw)) - {"column", "columns", "groups", "labels"})
        if extra:
            raise DesignError(f"{where}: strata: unknown key {extra[0]!r} (use columns, groups, "
                              "labels).")
        cols = strata_raw.get("columns", strata_raw.get("column"))
        if cols is None:
            raise DesignError(f"{where}: strata: name the column(s), e.g. strata: {{columns: "
                              "[service]}.")
        columns = (cols,) if isinstance(cols, str) else tuple(str(c) for c in cols)
        seen: dict[str, str] = {}
        for g, vals in _str_map(strata_raw.get("groups"), where, "strata.groups").items():
            groups[g] = _values(vals)
            for v in groups[g]:
                if v in seen:
                    raise DesignError(f"{where}: strata.groups: value {v!r} is in both {seen[v]!r} "
                                      f"and {g!r}. Fix: put it in one group only.")
                seen[v] = g
        labels.update({k: str(v) for k, v in _str_map(strata_raw.get("labels"), where,
                                                       "strata.labels").items()})
    else:
        raise DesignError(f"{where}: strata: give a column name, a list of columns, or "
                          "{columns: [...], groups: {...}}.")
    if len(set(columns)) != len(columns):
        raise DesignError(f"{where}: strata: a column is listed twice.")

    counts = {k: _number(v, where, f"counts.{k}", int, low=1)
              for k, v in _str_map(d.get("counts"), where, "counts").items()}
    allocation = str(d.get("allocation") or ("fixed" if counts else "proportional")).lower()
    if allocation not in ALLOCATIONS:
        raise DesignError(f"{where}: allocation: {allocation!r} is not one of "
                          f"{', '.join(ALLOCATIONS)}.")
    n = d.get("n")
    n = None if n is None else _number(n, where, "n", int, low=1)
    margin = d.get("margin")
    margin = None if margin is None else _number(margin, where, "margin", float, 0, 1, True)
    p = _number(d.get("p", 0.5), where, "p", float, 0, 1, True)
    confidence = _number(d.get("confidence", 0.95), where, "confidence", float, 0, 1, True)
    prior = {k: _number(v, where, f"prior.{k}", float, 0, 1, True)
             for k, v in _str_map(d.get("prior"), where, "prior").items()}
    minimum = _number(d.get("min_per_stratum", 1), where, "min_per_stratum", int, low=1)

    if allocation == "fixed":
        if not counts:
            raise DesignError(f"{where}: allocation fixed needs counts: {{stratum: cases, ...}}.")
        if margin is not None:
            raise DesignError(f"{where}: margin is not used with allocation fixed (the counts "
                              "set the size). Fix: remove margin.")
        if n is not None and n != sum(counts.values()):
            raise DesignError(f"{where}: n = {n} but the counts add up to "
                              f"{sum(counts.values())}. Fix: correct n or remove it.")
        n = sum(counts.values())
    else:
        if counts:
            raise DesignError(f"{where}: counts are only used with allocation: fixed. Fix: "
                              "remove counts, or set allocation: fixed.")
        if (n is None) == (margin is None):
            raise DesignError(f"{where}: allocation {allocation} needs exactly one of n (total "
                              "cases) or margin (target margin of error), e.g. 'n: 60'.")
        if allocation == "neyman" and not prior:
            raise DesignError(f"{where}: allocation neyman needs prior: {{stratum: expected "
                              "proportion}, e.g. prior: {nfa: 0.2, assessment: 0.5}.")
    if prior and allocation != "neyman":
        raise DesignError(f"{where}: prior is only used with allocation: neyman. Fix: remove "
                          "it, or set allocation: neyman.")

    over = d.get("oversample")
    oversample = None
    if over is not None:
        if not isinstance(over, Mapping) or "column" not in over:
            raise DesignError(f"{where}: oversample: expected {{column: domestic_abuse, value: "
                              "true, factor: 2}.")
        extra = sorted(set(map(str, over)) - {"column", "value", "factor", "label"})
        if extra:
            raise DesignError(f"{where}: oversample: unknown key {extra[0]!r} (use column, "
                              "value, factor, label).")
        col = str(over["column"])
        value = canon_value(over.get("value", True))
        factor = _number(over.get("factor", 2), where, "oversample.factor", float, low=1)
        default_label = col.replace("_", " ") if value == "true" else f"{col} {value}"
        oversample = Oversample(col, value, factor, str(over.get("label") or default_label))

    scale = d.get("scale")
    order_raw = d.get("order")
    if order_raw is None:
        order = tuple(dict.fromkeys([*counts, *prior, *labels]))
    elif isinstance(order_raw, list | tuple):
        order = tuple(canon_value(x) for x in order_raw)
    else:
        raise DesignError(f"{where}: order: give a list of strata, in the order to show them.")
    return Design(
        name=name, title=str(d.get("title") or name), source=str(d.get("source") or ""),
        notes=str(d.get("notes") or ""), seed=seed, scale=None if scale is None else str(scale),
        filter=filt, date_window=window, exclude_previous_months=months, reference_date=ref,
        strata=columns, groups=groups, labels=labels, allocation=allocation, counts=counts,
        n=n, margin=margin, p=p, confidence=confidence, prior=prior, min_per_stratum=minimum,
        oversample=oversample, order=order, origin=origin)


# ======================================================================================
# The cases table: reading, canonical text, hashes
# ======================================================================================


def read_cases(path: str | Path) -> pd.DataFrame:
    """Read the canonical cases table (Parquet from ``sqa ingest``, or a CSV of it).

    A CSV is typed from the contract (dates, booleans, whole numbers) so that it gives the
    same canonical text, hash and sample as the Parquet it was exported from.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: cases file not found. Give the canonical cases table written "
                         "by `sqa ingest --kind cases` (cases.parquet) or a CSV of it.")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                             "Write it again with `sqa ingest`.") from None
    if suffix not in {".csv", ".txt"}:
        raise InputError(f"{path}: cannot read {suffix or 'extension-less'} files as a cases "
                         "table. Use the Parquet file from `sqa ingest`, or CSV.")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable UTF-8 CSV ({exc.__class__.__name__}). Export "
                         "the canonical table again (UTF-8, with its header row).") from None
    spec = schemas.cases_spec()
    types = {c.name: c.type for c in spec.columns}
    out = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        text = raw[col].str.strip().replace("", pd.NA)
        kind = types.get(col)
        if kind == "date":
            parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            bad = text.notna() & parsed.isna()
        elif kind == "bool":
            low = text.str.lower()
            parsed = low.map({"true": True, "false": False, "1": True, "0": False,
                              "yes": True, "no": False}).astype("boolean")
            bad = text.notna() & parsed.isna()
        elif kind == "int":
            nums = pd.to_numeric(text, errors="coerce")
            bad = text.notna() & (nums.isna() | (nums != nums.round()))
            parsed = nums.where(~bad).round().astype("Int64")
        else:
            parsed, bad = text.astype("string"), pd.Series(False, index=raw.index)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{path}: row {i + 2}, column {col!r}: {raw[col].iloc[i]!r} is not "
                             f"a valid {kind} for the canonical cases table. Fix: export the "
                             "table again from `sqa ingest` (dates yyyy-mm-dd, true/false).")
        out[col] = parsed
    return out


def _check_cases(df: pd.DataFrame, label: str) -> None:
    if "case_id" not in df.columns:
        raise InputError(f"{label}: has no case_id column. Give the canonical cases table "
                         "written by `sqa ingest --kind cases`.")
    ids = df["case_id"]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputError(f"{label}: data row {i + 1} has no case_id. Fix: ingest the file with "
                         "`sqa ingest`, which quarantines such rows.")
    bad = ~ids.astype(str).str.match(privacy.POOLED_RE.pattern)
    if bad.any():
        raise InputError(f"{label}: {int(bad.sum())} case_id value(s) are not pseudonymised "
                         "(expected cs_ and 16 hex digits). Audit samples are drawn only from "
                         "the pseudonymised table. Fix: run `sqa ingest --kind cases` first.")
    dup = ids.duplicated()
    if dup.any():
        raise InputError(f"{label}: case_id {ids[dup].iloc[0]!r} appears more than once "
                         f"({int(dup.sum())} duplicates). Fix: ingest the file with `sqa "
                         "ingest`, which keeps the first copy and quarantines the others.")


def canonical_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as canonical text, rows sorted by case_id, columns in contract order.

    Contract columns missing from ``df`` are added empty; other columns follow by name.
    Missing values are ``""``; dates ``yyyy-mm-dd``; booleans ``true``/``false``.
    """
    spec_names = schemas.cases_spec().names
    extras = sorted(str(c) for c in df.columns if c not in spec_names)
    order = df["case_id"].astype(str).sort_values(kind="stable").index
    src = df.loc[order]
    out: dict[str, pd.Series] = {}
    for col in [*spec_names, *extras]:
        if col not in src.columns:
            out[col] = pd.Series("", index=src.index, dtype=object)
            continue
        s = src[col].astype(object)
        mapping = {u: canon_value(u) for u in pd.unique(s) if not _isna(u)}
        na = s.map(_isna).astype(bool)
        out[col] = s.map(mapping).where(~na, "")
    return pd.DataFrame(out).reset_index(drop=True)


def _isna(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _row_json(text: pd.DataFrame) -> list[str]:
    return [json.dumps(list(r), ensure_ascii=False, separators=(",", ":"))
            for r in text.itertuples(index=False, name=None)]


def input_digest(text: pd.DataFrame) -> tuple[str, list[str]]:
    """SHA-256 of the canonical serialisation, and each row's SHA-256 (same row order)."""
    rows = _row_json(text)
    header = json.dumps(list(text.columns), separators=(",", ":"))
    h = hashlib.sha256(header.encode("utf-8"))
    for r in rows:
        h.update(b"\n")
        h.update(r.encode("utf-8"))
    return h.hexdigest(), [hashlib.sha256(r.encode("utf-8")).hexdigest() for r in rows]


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


# ======================================================================================
# Drawing
# ======================================================================================


@dataclass
class Sample:
    """A drawn sample: the manifest (plain data) and the sampled rows (for the workbook)."""

    design: Design
    manifest: dict[str, Any]
    selected: pd.DataFrame  # typed rows of the sampled cases, with a 'stratum' column

    @property
    def n(self) -> int:
        return len(self.manifest["cases"])


def _code_label(column: str, value: str) -> str:
    try:
        col = schemas.cases_spec().column(column)
    except KeyError:
        return value
    if col.type == "bool" and value in {"true", "false"}:
        words = column.replace("_", " ")
        return words if value == "true" else f"not {words}"
    return col.labels.get(value, value)


def stratum_label(stratum: str, design: Design) -> str:
    """Display name of a stratum: the design's label, else the contract's code labels."""
    if stratum in design.labels:
        return design.labels[stratum]
    if stratum == "all":
        return "All eligible cases"
    parts = stratum.split("|")
    words: list[str] = []
    cols = list(design.strata)
    for i, part in enumerate(parts):
        if part in design.labels:
            words.append(design.labels[part])
        elif i < len(cols):
            words.append(_code_label(cols[i], part))
        else:
            words.append(part)
    words = [w[:1].upper() + w[1:] if i == 0 else in_sentence(w) for i, w in enumerate(words)]
    return ", ".join(words)


def _previous_ids(previous: Iterable[str | Path | Mapping[str, Any]], design: Design,
                  reference: str) -> tuple[list[str], list[dict[str, Any]]]:
    ids: set[str] = set()
    record: list[dict[str, Any]] = []
    cutoff = None
    if design.exclude_previous_months is not None:
        cutoff = (pd.Timestamp(reference) - pd.DateOffset(months=design.exclude_previous_months)
                  ).date().isoformat()
    for item in previous:
        m = read_manifest(item)
        created = str(m.get("created", ""))[:10]
        applies = cutoff is None or created >= cutoff
        cases = [str(c["case_id"]) for c in m.get("cases", [])]
        if applies:
            ids.update(cases)
        record.append({"design_name": m.get("design_name"), "seed": m.get("seed"),
                       "created": m.get("created"), "input_sha256": m.get("input_sha256"),
                       "cases": len(cases), "applied": applies})
    record.sort(key=lambda r: (str(r["created"]), str(r["design_name"]), str(r["seed"])))
    return sorted(ids), record


def _check_columns(text: pd.DataFrame, design: Design) -> None:
    cols = set(text.columns)
    wanted = [("filter", c) for c in design.filter] + [("strata", c) for c in design.strata]
    if design.date_window:
        wanted.append(("date_window.column", design.date_window.column))
    if design.oversample:
        wanted.append(("oversample.column", design.oversample.column))
    for key, col in wanted:
        if col not in cols:
            raise DesignError(f"{design.origin}: {key}: {col!r} is not a column of the cases "
                              f"table. Columns: {', '.join(sorted(cols))}. Fix: correct the "
                              "column name.")
    spec = schemas.cases_spec()
    if design.date_window and design.date_window.column in spec.names \
            and spec.column(design.date_window.column).type != "date":
        raise DesignError(f"{design.origin}: date_window.column: {design.date_window.column!r} "
                          "is not a date column. Fix: use contact_date, referral_date or another "
                          "date column.")
    for col, values in design.filter.items():
        try:
            c = spec.column(col)
        except KeyError:
            continue
        allowed = ({"true", "false"} if c.type == "bool"
                   else set(c.allowed) if c.type == "category" and c.allowed else None)
        if allowed is not None:
            bad = [v for v in values if v not in allowed]
            if bad:
                raise DesignError(f"{design.origin}: filter.{col}: {bad[0]!r} is not a value of "
                                  f"{col}. Allowed: {', '.join(sorted(allowed))}.")


def oversample_allocation(alloc: dict[str, int], counts: dict[str, tuple[int, int]],
                          d: Design) -> tuple[dict[str, int], dict[str, str], dict[str, str],
                                              dict[str, tuple[str, str]]]:
    """Split each stratum's allocation between its flagged group and the rest.

    ``counts[h]`` is (flagged, other) cases of stratum ``h`` (empty when the design does not
    over-sample).  The flagged group gets ``factor`` times its proportional share
    (``_constrained``: never more than its cases, at least one case each); a stratum with no
    case on one side, or only one case allocated, is not split.  Returns the final strata's
    allocations (design order, flagged group first), each final stratum's parent, notes on
    strata left whole, and the labels (flagged, other) of every split stratum.
    """
    final_alloc: dict[str, int] = {}
    parent_of: dict[str, str] = {}
    notes: dict[str, str] = {}
    splits: dict[str, tuple[str, str]] = {}
    ov = d.oversample
    for h in sorted(alloc, key=d.rank):
        if ov is None or h not in counts:
            final_alloc[h], parent_of[h] = alloc[h], h
            continue
        n_f, n_o = counts[h]
        if n_f == 0 or n_o == 0 or alloc[h] < 2:
            final_alloc[h], parent_of[h] = alloc[h], h
            if n_f and n_o:
                notes[h] = f"not split by {ov.label}: only one case allocated"
            continue
        lab_f, lab_o = f"{h}|{ov.label}", f"{h}|other"
        sub = _constrained({lab_f: n_f, lab_o: n_o}, {lab_f: ov.factor * n_f, lab_o: float(n_o)},
                           alloc[h], 1, d.origin)
        splits[h] = (lab_f, lab_o)
        for lab in (lab_f, lab_o):
            final_alloc[lab], parent_of[lab] = sub[lab], h
    return final_alloc, parent_of, notes, splits


def manifest_body(d: Design, seed: int, rows: dict[str, int], ref: str,
                  prev_record: list[dict[str, Any]], excluded: list[str],
                  strata_rows: list[dict[str, Any]], case_rows: list[dict[str, Any]],
                  inputs: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a drawn sample (``draw``, ``verify``); ``inputs`` holds how the input
    was identified (hashes)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "design_name": d.name, "design": d.to_dict(), "design_sha256": d.sha256,
        "seed": seed, **inputs, "rows": rows,
        "exclusions": {"previous_months": d.exclude_previous_months,
                       "reference_date": ref if (prev_record or excluded) else None,
                       "previous_manifests": prev_record, "excluded_case_ids": excluded},
        "planning": {"p": d.p, "confidence": d.confidence,
                     "n_from_margin": d.margin is not None and d.allocation != "fixed",
                     "overall_margin_of_error": stratified_margin(
                         [r["population"] for r in strata_rows],
                         [r["sampled"] for r in strata_rows], d.p, d.confidence)},
        "method": ("stratified random sampling without replacement; allocation "
                   f"{d.allocation}, largest-remainder rounding; per-stratum numpy "
                   "default_rng(SeedSequence([seed, sha256(stratum)])), smallest random keys"),
        "strata": strata_rows, "cases": case_rows,
        "versions": package_versions(), "git_commit": git_commit(Path(__file__).parent.parent),
        "created": timestamp(),
    }


#: Up to this many rows the input is identified by its canonical SHA-256 (``input_sha256``,
#: ``frame_sha256``, and row digests up to ``MAX_ROW_DIGESTS``), which serialises every column
#: of every row; above it, by the SHA-256 of its file (``input_file_sha256``; for a directory
#: of Parquet files, of the list of its files with their SHA-256).  A frame has no file: it is
#: always identified canonically.
CANONICAL_MAX_ROWS = 1_000_000
#: Rows per Arrow batch when the canonical text is computed from DuckDB.
BATCH_ROWS = 65_536
#: Python's ``str.strip()`` whitespace (``canon_value`` strips text).
_DATE_TYPES = ("DATE",)
_TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
FILE_IDENTITY = ("not computed: the table has more rows than CANONICAL_MAX_ROWS ({limit:,}); "
                 "input_file_sha256 is the SHA-256 of {what}")


def sample_columns(design: Design | str | Path | Mapping[str, Any]) -> list[str]:
    """The columns of the cases table that ``draw`` reads to build the sample frame:
    ``case_id`` and the design's filter, strata, date-window and over-sampling columns (the
    scan floor of the benchmark reads the same columns)."""
    d = load_design(design)
    cols = ["case_id", *d.filter, *d.strata]
    if d.date_window:
        cols.append(d.date_window.column)
    if d.oversample:
        cols.append(d.oversample.column)
    return list(dict.fromkeys(cols))


@dataclass
class _Input:
    """A cases table opened on a DuckDB connection (``engine.source``)."""

    con: Any
    src: str
    label: str
    kind: str  # frame | csv | parquet | dataset
    path: Path | None
    frame: pd.DataFrame | None
    types: dict[str, str]
    n_rows: int
    trust_log: bool = True  # take the file's SHA-256 from its ingest log when unchanged

    @property
    def columns(self) -> list[str]:
        return list(self.types)


def _open_input(cases: pd.DataFrame | str | Path, con: Any) -> _Input:
    """Open ``cases`` (a frame, a Parquet file, a CSV of it, or a directory of Parquet files)
    on ``con``; unreadable input raises ``InputError`` naming the file and the fix."""
    import duckdb

    path: Path | None = None
    frame: pd.DataFrame | None = None
    if isinstance(cases, pd.DataFrame):
        kind, label, frame = "frame", "cases table", cases
    else:
        path = Path(cases)
        label = str(cases)
        if path.is_dir():
            if not any(path.rglob("*.parquet")):
                raise InputError(f"{path}: no Parquet files in this folder. Give the canonical "
                                 "cases table (cases.parquet) or a pool folder of them "
                                 "(council=<code>/*.parquet).")
            kind = "dataset"
        elif path.suffix.lower() in {".parquet", ".pq"} and path.is_file():
            kind = "parquet"
        else:
            kind, frame = "csv", read_cases(path)  # not found / not CSV: read_cases says so
    src = engine.source(con, frame if frame is not None else path)  # type: ignore[arg-type]
    try:
        desc = engine.run(con, f"DESCRIBE SELECT * FROM {src}").fetchall()
        n_rows = int(engine.run(con, f"SELECT count(*) FROM {src}").fetchone()[0])
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                         "Write it again with `sqa ingest`.") from None
    return _Input(con, src, label, kind, path, frame, {str(r[0]): str(r[1]) for r in desc},
                  n_rows)


def logged_sha256(path: Path) -> str | None:
    """The SHA-256 that ``sqa ingest`` recorded for the table it wrote (``table`` in
    ``<name>_ingest.json`` beside it), when the file is unchanged since: the same name, size
    and modification time to the nanosecond (the stat check git's index makes before it
    trusts a stored object hash).  None otherwise: the file is hashed."""
    log = path.with_name(f"{path.stem}_ingest.json")
    try:
        rec = json.loads(log.read_text("utf-8")).get("table") or {}
        st = path.stat()
    except (OSError, ValueError, AttributeError):
        return None
    same = (rec.get("file") == path.name and rec.get("bytes") == st.st_size
            and rec.get("mtime_ns") == st.st_mtime_ns)
    return str(rec["sha256"]) if same and rec.get("sha256") else None


def _file_identity(inp: _Input) -> str:
    """SHA-256 of the input file (the one its ingest log records while the file is unchanged
    since, ``logged_sha256``; ``verify`` always hashes); for a directory, of its files'
    relative paths and SHA-256 (one ``path<TAB>sha256`` line each, sorted by path)."""
    from ..provenance import sha256_file

    assert inp.path is not None
    if inp.kind != "dataset":
        return (inp.trust_log and logged_sha256(inp.path)) or sha256_file(inp.path)
    lines = [f"{p.relative_to(inp.path).as_posix()}\t{sha256_file(p)}\n"
             for p in sorted(inp.path.rglob("*.parquet"))]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _check_ids_sql(inp: _Input) -> None:
    """``_check_cases`` in SQL over the whole table: every row has a pseudonymised, unique
    ``case_id`` (used when the whole table is read anyway, for its canonical digests)."""
    pattern = privacy.POOLED_RE.pattern.strip("^$")
    missing, bad, dup = engine.run(inp.con, (
        "SELECT count(*) - count(case_id), "
        f"count(*) FILTER (NOT regexp_matches(case_id, '^{pattern}$')), "
        f"count(case_id) - count(DISTINCT case_id) FROM {inp.src}")).fetchone()
    if missing:
        raise InputError(f"{inp.label}: {missing} row(s) have no case_id. Fix: ingest the file "
                         "with `sqa ingest`, which quarantines such rows.")
    if bad:
        raise InputError(f"{inp.label}: {bad} case_id value(s) are not pseudonymised "
                         "(expected cs_ and 16 hex digits). Audit samples are drawn only from "
                         "the pseudonymised table. Fix: run `sqa ingest --kind cases` first.")
    if dup:
        first = engine.run(inp.con, f"SELECT case_id FROM {inp.src} GROUP BY case_id "
                                    "HAVING count(*) > 1 ORDER BY case_id LIMIT 1").fetchone()[0]
        raise InputError(f"{inp.label}: case_id {first!r} appears more than once ({dup} "
                         "duplicates). Fix: ingest the file with `sqa ingest`, which keeps the "
                         "first copy and quarantines the others.")


def _check_frame_ids(ids: Any, label: str) -> None:
    """The eligible rows' ids: present and pseudonymised (a table above
    ``CANONICAL_MAX_ROWS`` is checked where it is drawn from; uniqueness once sorted)."""
    import pyarrow.compute as pc

    if ids.null_count:
        raise InputError(f"{label}: {ids.null_count} eligible row(s) have no case_id. Fix: "
                         "ingest the file with `sqa ingest`, which quarantines such rows.")
    ok = pc.match_substring_regex(ids, privacy.POOLED_RE.pattern)
    bad = len(ids) - (pc.sum(ok).as_py() or 0) if len(ids) else 0
    if bad:
        raise InputError(f"{label}: {bad} case_id value(s) are not pseudonymised (expected cs_ "
                         "and 16 hex digits). Audit samples are drawn only from the "
                         "pseudonymised table. Fix: run `sqa ingest --kind cases` first.")


def _literal(v: Any, params: list[Any]) -> str:
    """A raw value as a SQL literal (so that DuckDB pushes the comparison into the Parquet
    scan), or a ``?`` parameter (appended to ``params``) for a type without a literal here."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, datetime) and v.tzinfo is None:
        return f"TIMESTAMP '{v.isoformat(sep=' ')}'"
    if isinstance(v, date) and not isinstance(v, datetime):
        return f"DATE '{v.isoformat()}'"
    params.append(v)
    return "?"


def _in_sql(col: str, raw: Sequence[Any], params: list[Any]) -> str:
    """``col`` takes one of the raw values (``None`` stands for SQL NULL)."""
    vals = [v for v in raw if v is not None]
    parts = []
    if vals:
        parts.append(f"{engine.quote(col)} IN ({', '.join(_literal(v, params) for v in vals)})")
    if len(vals) < len(raw):
        parts.append(f"{engine.quote(col)} IS NULL")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


@dataclass
class _Frame:
    """The eligible frame as DuckDB returns it: ids in case_id order and each row's stratum."""

    rows: dict[str, int]
    ids: Any  # pyarrow Array of case_id, in case_id order, previously audited cases removed
    codes: np.ndarray  # each row's code: parent combination * 2 + over-sampling flag
    parent_of_code: dict[int, str]  # parent combination code -> parent stratum
    excluded: list[str]
    rownum: np.ndarray | None = None  # each row's position in the Parquet file


def _sample_frame(inp: _Input, d: Design, excluded: Sequence[str]) -> _Frame:
    """The sample frame by DuckDB SQL: filters, date window, strata (with groups) and the
    over-sampling flag, reading only ``case_id`` and the design's columns.

    Values are compared in their canonical text (``canon_value``), exactly as the whole-table
    canonical form compares them: one ``GROUP BY`` over the design's columns (the census: few
    distinct values) gives every distinct raw value, which Python canonicalises with
    ``canon_value`` itself; the frame query then selects by raw values (and a date range on a
    date or timestamp window column, whose canonical ``yyyy-mm-dd`` prefix is its day).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    present = set(inp.types)
    wcol = d.date_window.column if d.date_window else None
    others = [*d.filter, *d.strata] + ([d.oversample.column] if d.oversample else [])
    wtype = inp.types.get(wcol or "", "")
    by_range = bool(wcol and wcol in present and wcol not in others
                    and (wtype in _DATE_TYPES or wtype in _TIMESTAMP_TYPES))
    keys = [c for c in dict.fromkeys([*others] + ([wcol] if wcol and not by_range else []))
            if c in present]
    range_sql = "TRUE"
    if by_range and d.date_window:
        conds = []
        cast = "DATE" if wtype in _DATE_TYPES else "TIMESTAMP"
        q = engine.quote(wcol)  # type: ignore[arg-type]
        if d.date_window.start:  # ISO dates checked by the design parser: safe literals
            conds.append(f"{q} >= {cast} '{d.date_window.start}'")
        if d.date_window.end:
            end = (date.fromisoformat(d.date_window.end) + pd.Timedelta(days=1)).isoformat()
            conds.append(f"{q} < {cast} '{end}'")
        conds.append(f"{q} IS NOT NULL")
        range_sql = " AND ".join(conds)
    # The distinct raw values of each design column (one small DISTINCT each: cheaper than
    # grouping by every combination), canonicalised by ``canon_value`` itself.
    canon: dict[str, dict[Any, str]] = {c: {} for c in keys}
    for c in keys:
        for (v,) in engine.run(inp.con, f"SELECT DISTINCT {engine.quote(c)} "
                                        f"FROM {inp.src}").fetchall():
            if v not in canon[c]:
                canon[c][v] = "" if _isna(v) else canon_value(v)

    def in_window(day: str) -> bool:
        dw = d.date_window
        assert dw is not None
        day = day[:10]
        return day != "" and (not dw.start or day >= dw.start) and (not dw.end or day <= dw.end)

    rows = {"input": inp.n_rows, "after_filter": inp.n_rows}
    # The frame predicate: each filter (and a non-date window) as the raw values that pass.
    params: list[Any] = []
    where: list[str] = []
    for c, allowed in d.filter.items():
        if c in canon:
            where.append(_in_sql(c, [v for v, t in canon[c].items() if t in allowed], params))
        elif "" not in allowed:
            where.append("FALSE")
    if where:  # rows passing the filter, counted where DuckDB pushes it into the scan
        rows["after_filter"] = int(engine.run(
            inp.con, f"SELECT count(*) FROM {inp.src} WHERE {' AND '.join(where)}",
            list(params)).fetchall()[0][0])
    if wcol and not by_range:
        if wcol in canon:
            where.append(_in_sql(wcol, [v for v, t in canon[wcol].items() if in_window(t)],
                                 params))
        else:
            where.append("FALSE")
    # The stratum: each strata column's raw values as the index of their part of the label.
    value_group = {v: g for g, vs in d.groups.items() for v in vs}
    code_sql: list[str] = []
    code_params: list[Any] = []
    parts_per_col: list[list[str]] = []
    mult = 1
    radix: list[int] = []
    for c in d.strata:
        part_of = {v: (value_group.get(t, t) if t else MISSING)
                   for v, t in (canon[c].items() if c in canon else [(None, "")])
                   if c not in d.filter or t in d.filter[c]}
        parts = sorted(set(part_of.values()))
        parts_per_col.append(parts)
        index = {p: i for i, p in enumerate(parts)}
        if c in canon and len(parts) > 1:
            whens = []
            for v, p in part_of.items():
                if v is None:
                    whens.append(f"WHEN {engine.quote(c)} IS NULL THEN {index[p]}")
                else:
                    whens.append(f"WHEN {engine.quote(c)} = {_literal(v, code_params)} "
                                 f"THEN {index[p]}")
            code_sql.append(f"(CASE {' '.join(whens)} END) * {mult}")
        radix.append(len(parts))
        mult *= len(parts)
    parent_of_code: dict[int, str] = {}
    for code in range(mult if d.strata else 1):
        if not d.strata:
            parent_of_code[0] = "all"
            break
        cv, labels = code, []
        for parts, r in zip(parts_per_col, radix, strict=True):
            labels.append(parts[cv % r])
            cv //= r
        parent_of_code[code] = "|".join(labels)
    ov = d.oversample
    flag_sql, flag_params = "0", []
    if ov is not None and ov.column in canon:
        flag_raw = [v for v, t in canon[ov.column].items() if t == ov.value]
        flag_sql = f"CASE WHEN {_in_sql(ov.column, flag_raw, flag_params)} THEN 1 ELSE 0 END"
    elif ov is not None and ov.value == "":
        flag_sql = "1"
    code_expr = (" + ".join(code_sql) if code_sql else "0")
    positions = inp.kind == "parquet"  # the file's row numbers: the sampled rows by position
    src = (f"read_parquet('{engine.sql_path(inp.path)}', file_row_number = true)" if positions
           else inp.src)
    sql = (f"SELECT case_id, CAST(({code_expr}) * 2 + {flag_sql} AS INTEGER) AS stratum_code"
           + (", file_row_number" if positions else "") + f" FROM {src}"
           + (f" WHERE {' AND '.join(where + ([range_sql] if by_range else []))}"
              if where or by_range else ""))
    reader = engine.run(inp.con, sql, code_params + flag_params + params)
    table = _arrow_reader(reader, 1 << 20).read_all()
    ids = table.column("case_id").combine_chunks()
    codes = table.column("stratum_code").to_numpy()
    rownum = (table.column("file_row_number").to_numpy() if positions
              else np.arange(len(ids), dtype=np.int64))
    rows["after_date_window"] = len(ids)
    if ids.type != pa.string():
        ids = ids.cast(pa.string())
    if len(ids):
        _check_frame_ids(ids, inp.label)
    # In case_id order: a canonical file is written sorted, so this is usually a check.
    if len(ids) > 1 and not pc.all(pc.greater(ids[1:], ids[:-1])).as_py():
        order = pc.sort_indices(ids)
        ids, codes, rownum = ids.take(order), codes[order.to_numpy()], rownum[order.to_numpy()]
        same = pc.equal(ids[1:], ids[:-1])
        if pc.any(same).as_py():
            first = ids[int(np.flatnonzero(same.to_numpy(zero_copy_only=False))[0])].as_py()
            raise InputError(f"{inp.label}: case_id {first!r} appears more than once. Fix: "
                             "ingest the file with `sqa ingest`, which keeps the first copy and "
                             "quarantines the others.")
    if excluded:
        is_ex = pc.is_in(ids, value_set=pa.array(list(excluded), pa.string())).to_numpy(
            zero_copy_only=False)
        rows["excluded_previous"] = int(is_ex.sum())
        ids, codes, rownum = ids.filter(pa.array(~is_ex)), codes[~is_ex], rownum[~is_ex]
    else:
        rows["excluded_previous"] = 0
    rows["frame"] = len(ids)
    return _Frame(rows, ids, np.asarray(codes, dtype=np.int64), parent_of_code, list(excluded),
                  rownum if positions else None)


def _arrow_reader(result: Any, batch_rows: int) -> Any:
    """A DuckDB result as a stream of Arrow record batches."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "makes an extra copy": a small one
        return result.to_arrow_reader(batch_rows)


def _smallest(keys: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` smallest keys, ascending: the set
    ``np.argsort(keys, kind="stable")[:n]`` (ties to the earlier position), found with
    ``np.argpartition`` in linear time."""
    N = len(keys)
    if n >= N:
        return np.arange(N)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    kth = keys[np.argpartition(keys, n - 1)[:n]].max()
    less = np.flatnonzero(keys < kth)
    equal = np.flatnonzero(keys == kth)[: n - len(less)]
    return np.sort(np.concatenate([less, equal]))


def _canon_json(arr: Any) -> np.ndarray:
    """Each value of an Arrow array as the JSON text of its canonical text (``canon_value``),
    computed once per distinct value (as ``canonical_text`` maps ``pd.unique``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_null(arr.type):
        return np.full(len(arr), '""', dtype=object)
    try:
        enc = pc.dictionary_encode(arr)
        values = enc.dictionary.to_pandas().astype(object).tolist()
        idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        series = arr.to_pandas().astype(object)
        values = list(pd.unique(series))
        pos = {id(v): i for i, v in enumerate(values)}
        idx = np.array([pos.get(id(v), len(values)) for v in series])
    texts = [json.dumps("" if _isna(v) else canon_value(v), ensure_ascii=False)
             for v in values]
    return np.array([*texts, '""'], dtype=object)[idx]


@dataclass
class _Identity:
    """How the input is identified in the manifest (and, canonically, its row hashes)."""

    inputs: dict[str, Any]
    row_hashes: list[str] | None = None


def _canonical_identity(inp: _Input, frame_ids: Any | None) -> _Identity:
    """The canonical SHA-256 of the whole table (``input_digest`` of ``canonical_text``), of
    the frame's rows and each row's digest, computed in Arrow batches from DuckDB (rows in
    case_id order, columns in contract order then the others by name)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spec_names = schemas.cases_spec().names
    extras = sorted(str(c) for c in inp.types if c not in spec_names)
    header = [*spec_names, *extras]
    cols = ", ".join(engine.quote(c) if c in inp.types else f"NULL AS {engine.quote(c)}"
                     for c in header)
    reader = _arrow_reader(engine.run(inp.con, f"SELECT {cols} FROM {inp.src} ORDER BY case_id"),
                           BATCH_ROWS)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    whole, frame = hashlib.sha256(head), hashlib.sha256(head)
    row_hashes: list[str] = []
    value_set = frame_ids if frame_ids is not None else pa.array([], pa.string())
    for batch in reader:
        texts = [_canon_json(batch.column(i)) for i in range(batch.num_columns)]
        rows = ["[" + ",".join(r) + "]" for r in zip(*texts, strict=True)]
        ids = batch.column(0)
        in_frame = pc.fill_null(pc.is_in(ids.cast(pa.string()), value_set=value_set),
                                False).to_numpy(zero_copy_only=False)
        for r, f in zip(rows, in_frame, strict=True):
            b = r.encode("utf-8")
            whole.update(b"\n")
            whole.update(b)
            if f:
                frame.update(b"\n")
                frame.update(b)
            row_hashes.append(hashlib.sha256(b).hexdigest())
    digests = ("".join(sorted(h[:DIGEST_CHARS] for h in row_hashes))
               if len(row_hashes) <= MAX_ROW_DIGESTS else None)
    return _Identity({"input_sha256": whole.hexdigest(),
                      "frame_sha256": frame.hexdigest() if frame_ids is not None else None,
                      "input_canonicalisation": CANONICALISATION,
                      "input_row_digests": digests}, row_hashes)


def _file_inputs(inp: _Input, file_sha: str) -> dict[str, Any]:
    what = ("the Parquet file" if inp.kind == "parquet" else "the CSV file" if inp.kind == "csv"
            else "the folder's Parquet files (one 'relative path<TAB>SHA-256' line each, "
                 "sorted)")
    return {"input_sha256": None, "frame_sha256": None, "input_file_sha256": file_sha,
            "input_canonicalisation": FILE_IDENTITY.format(limit=CANONICAL_MAX_ROWS,
                                                           what=what),
            "input_row_digests": None}


def _identify_as(inp: _Input, identify: str | None) -> str:
    if identify not in (None, "canonical", "file"):
        raise ValueError(f"identify must be 'canonical', 'file' or None, not {identify!r}")
    if inp.path is None:
        return "canonical"  # a frame has no file
    return identify or ("canonical" if inp.n_rows <= CANONICAL_MAX_ROWS else "file")


def _selected_rows(inp: _Input, ids: list[str], positions: list[int]) -> pd.DataFrame:
    """The sampled cases' rows, fetched by id from the source (sorted by case_id), typed as
    ``pd.read_parquet`` (or ``read_cases``) types them.  From a Parquet file they are fetched
    by their row numbers (``positions``, returned with the frame), which lets DuckDB skip the
    other rows' values."""
    if inp.frame is not None:
        df = inp.frame
        sel = df[df["case_id"].astype(object).isin(set(ids)).to_numpy()]
        return sel.iloc[np.argsort(sel["case_id"].astype(str).to_numpy(), kind="stable")]
    con = inp.con
    table = "sampled_ids"
    import pyarrow as pa

    con.register(table, pa.table({"case_id": pa.array(ids, pa.string())}))
    src, drop = inp.src, ""
    params: list[Any] = []
    if inp.kind == "parquet" and len(positions) <= 10_000:
        src = f"read_parquet('{engine.sql_path(inp.path)}', file_row_number = true)"
        where = f"file_row_number IN ({', '.join(str(int(p)) for p in positions)})"
        drop = " EXCLUDE (file_row_number)"
    elif len(ids) <= 2_000:
        where = f"case_id IN ({', '.join(_literal(i, params) for i in ids)})"
    else:
        where, params = f"case_id IN (SELECT case_id FROM {table})", []
    arrow = _arrow_reader(engine.run(con, f"SELECT *{drop} FROM {src} WHERE {where} "
                                     "ORDER BY case_id", params), 1 << 20).read_all()
    con.unregister(table)
    if inp.kind == "parquet":
        import pyarrow.parquet as pq

        schema = pq.read_schema(inp.path)
        return arrow.select(schema.names).cast(schema).to_pandas()
    return arrow.to_pandas()


def draw(cases: pd.DataFrame | str | Path, design: Design | str | Path, seed: int | None = None,
         previous: Iterable[str | Path | Mapping[str, Any]] = (),
         excluded_ids: Iterable[str] | None = None,
         reference_date: str | date | None = None, *, with_rows: bool = True,
         identify: str | None = None, memory_limit: str | None = None) -> Sample:
    """Draw the sample of ``design`` from the canonical cases table, at any size.

    ``cases`` is a frame, the canonical cases Parquet file (or a CSV of it), or a directory
    of Parquet files (a regional pool, hive-partitioned ``council=<code>/``).  The eligible
    frame (filters, date window, exclusion of previously audited cases, strata with groups,
    the over-sampling flag) is computed by DuckDB through ``analysis.engine``, reading only
    ``case_id`` and the design's columns (``sample_columns``), with values compared in their
    canonical text (``canon_value``); the draw itself is numpy over the ids DuckDB returns,
    in case_id order: per stratum its own ``default_rng(SeedSequence([seed,
    sha256(stratum)]))`` stream and the ``n_h`` smallest random keys.

    ``seed`` overrides the design's seed.  ``previous`` manifests exclude their cases
    (within ``exclude_previous_months`` of the reference date when the design sets it);
    ``excluded_ids`` gives the excluded case ids directly (``verify`` uses the manifest's).
    ``with_rows`` fetches the sampled cases' rows by id (``Sample.selected``, for the
    auditor workbook); without it ``selected`` holds ``case_id`` and ``stratum`` only.
    ``identify`` chooses how the input is identified: ``"canonical"`` (SHA-256 of the
    canonical serialisation, of the frame and row digests), ``"file"`` (SHA-256 of the file),
    or by size (``CANONICAL_MAX_ROWS``) when ``None``.
    """
    return _draw(cases, design, seed, previous, excluded_ids, reference_date,
                 with_rows=with_rows, identify=identify, memory_limit=memory_limit)[0]


def _draw(cases: pd.DataFrame | str | Path | _Input, design: Design | str | Path,
          seed: int | None = None, previous: Iterable[str | Path | Mapping[str, Any]] = (),
          excluded_ids: Iterable[str] | None = None, reference_date: str | date | None = None,
          *, with_rows: bool = True, identify: str | None = None,
          memory_limit: str | None = None) -> tuple[Sample, _Identity]:
    d = load_design(design)
    if isinstance(cases, _Input):
        return _draw_from(cases, d, seed, previous, excluded_ids, reference_date,
                          with_rows=with_rows, identify=identify)
    con = engine.connect(memory_limit=memory_limit)
    try:
        inp = _open_input(cases, con)
        return _draw_from(inp, d, seed, previous, excluded_ids, reference_date,
                          with_rows=with_rows, identify=identify)
    finally:
        con.close()


def _check_seed(d: Design, seed: int | None) -> int:
    seed = d.seed if seed is None else seed
    if seed is None:
        raise DesignError(f"{d.origin}: no seed. Fix: add 'seed: <number>' to the design or "
                          "pass --seed.")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise DesignError(f"seed must be a whole number >= 0, got {seed!r}.")
    return int(seed)


def _draw_from(inp: _Input, d: Design, seed: int | None,
               previous: Iterable[str | Path | Mapping[str, Any]],
               excluded_ids: Iterable[str] | None, reference_date: str | date | None, *,
               with_rows: bool, identify: str | None) -> tuple[Sample, _Identity]:
    from concurrent.futures import ThreadPoolExecutor

    if "case_id" not in inp.types:
        raise InputError(f"{inp.label}: has no case_id column. Give the canonical cases table "
                         "written by `sqa ingest --kind cases`.")
    how = _identify_as(inp, identify)
    if how == "canonical":
        _check_ids_sql(inp)
    seed = _check_seed(d, seed)
    _check_columns(pd.DataFrame(columns=sorted(set(inp.types)
                                               | set(schemas.cases_spec().names))), d)
    hashing = ThreadPoolExecutor(max_workers=1) if how == "file" else None
    file_sha = hashing.submit(_file_identity, inp) if hashing else None  # GIL released
    try:
        ref = (canon_value(pd.Timestamp(reference_date)) if reference_date is not None
               else d.reference_date or timestamp()[:10])
        prev_record: list[dict[str, Any]] = []
        if excluded_ids is None:
            excluded, prev_record = _previous_ids(list(previous), d, ref)
        else:
            excluded = sorted(set(map(str, excluded_ids)))
        fr = _sample_frame(inp, d, excluded)
        rows = fr.rows
        rows = {k: rows[k] for k in ("input", "after_filter", "after_date_window",
                                     "excluded_previous", "frame")}
        if not rows["frame"]:
            raise DesignError(
                f"{d.origin}: no cases are eligible ({rows['input']} rows read, "
                f"{rows['after_filter']} after the filter, {rows['after_date_window']} in the "
                f"date window, {rows['excluded_previous']} excluded as audited recently). Fix: "
                "check the filter and date window against the table.")
        sample = _select(d, seed, fr, rows, ref, prev_record, excluded)
        if how == "canonical":
            ident = _canonical_identity(inp, fr.ids)
        else:
            assert file_sha is not None
            ident = _Identity(_file_inputs(inp, file_sha.result()))
    finally:
        if hashing:
            hashing.shutdown()
    case_rows, strata_rows, picked = sample
    manifest = manifest_body(d, seed, rows, ref, prev_record, excluded, strata_rows,
                             case_rows, ident.inputs)
    stratum_of = {cid: h for cid, h, _ in picked}
    ids = sorted(stratum_of)
    if with_rows:
        selected = _selected_rows(inp, ids, sorted(pos for _, _, pos in picked)).copy()
    else:
        selected = pd.DataFrame({"case_id": pd.Series(ids, dtype="string")})
    selected["stratum"] = [stratum_of[str(c)] for c in selected["case_id"]]
    return Sample(d, manifest, selected.reset_index(drop=True)), ident


def _select(d: Design, seed: int, fr: _Frame, rows: dict[str, int], ref: str,
            prev_record: list[dict[str, Any]], excluded: list[str]
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str, int]]]:
    """Allocation, over-sampling and the per-stratum draw over the frame (numpy)."""
    n_codes = max(fr.parent_of_code) + 1
    counts2 = np.bincount(fr.codes, minlength=2 * n_codes)
    pops: dict[str, int] = {}
    split_counts: dict[str, list[int]] = {}
    for code, h in fr.parent_of_code.items():
        f, o = int(counts2[2 * code + 1]), int(counts2[2 * code])
        if f + o:
            pops[h] = pops.get(h, 0) + f + o
            c = split_counts.setdefault(h, [0, 0])
            c[0] += f
            c[1] += o
    N = rows["frame"]
    if d.allocation == "fixed":
        n_total = sum(d.counts.values())
    elif d.n is not None:
        n_total = d.n
    else:
        n_total = sample_size(float(d.margin), population=N, p=d.p,  # type: ignore[arg-type]
                              confidence=d.confidence)
    alloc = allocate(pops, n_total, d.allocation, counts=d.counts, prior=d.prior,
                     minimum=d.min_per_stratum, where=d.origin)
    counts = ({h: (split_counts[h][0], split_counts[h][1]) for h in alloc}
              if d.oversample else {})
    final_alloc, parent_of, notes, splits = oversample_allocation(alloc, counts, d)
    # Each row's final stratum, as an index into ``names``.
    names = list(final_alloc)
    index = {h: i for i, h in enumerate(names)}
    lookup = np.full(2 * n_codes, -1, dtype=np.int64)
    for code, h in fr.parent_of_code.items():
        if h not in alloc:
            continue
        lab_f, lab_o = splits.get(h, (h, h))
        lookup[2 * code + 1], lookup[2 * code] = index[lab_f], index[lab_o]
    final = lookup[fr.codes]
    order = np.argsort(final, kind="stable")  # each stratum's rows, in case_id order
    bounds = np.concatenate([[0], np.cumsum(np.bincount(final, minlength=len(names)))])
    strata_rows: list[dict[str, Any]] = []
    case_rows: list[dict[str, Any]] = []
    picked: list[tuple[str, str, int]] = []
    for i, h in enumerate(names):  # design order; flagged group before the rest
        idx = order[bounds[i]:bounds[i + 1]]
        Nh, nh = len(idx), final_alloc[h]
        rng = np.random.default_rng(np.random.SeedSequence([seed, _stable_int(h)]))
        pick = idx[_smallest(rng.random(Nh), nh)]
        prob = nh / Nh
        weight = Nh / nh
        moe = margin_of_error(nh, Nh, p=d.p, confidence=d.confidence)
        strata_rows.append({
            "stratum": h, "label": stratum_label(h, d), "parent": parent_of[h],
            "population": Nh, "sampled": nh, "fraction": prob, "selection_probability": prob,
            "design_weight": weight, "margin_of_error": moe, "too_small": nh < SMALL_N,
            "note": _stratum_note(nh, Nh, moe, notes.get(h, ""))})
        ids = fr.ids.take(pick).to_pylist()
        case_rows += [{"case_id": cid, "stratum": h, "selection_probability": prob,
                       "design_weight": weight} for cid in ids]
        picked += [(cid, h, -1 if fr.rownum is None else int(fr.rownum[k]))
                   for cid, k in zip(ids, pick, strict=True)]
    case_rows.sort(key=lambda r: r["case_id"])
    rows["sampled"] = len(case_rows)
    return case_rows, strata_rows, picked


def _stratum_note(n: int, N: int, moe: float, extra: str = "") -> str:
    if n >= N:
        note = "every case audited: no sampling error"
    elif n < SMALL_N:
        note = "too small for a general finding"
    elif moe > WIDE_MARGIN:
        note = "indicative only: wide margin"
    else:
        note = ""
    return "; ".join(x for x in (note, extra) if x)


# ======================================================================================
# Writing: manifest, public design table, auditor workbook
# ======================================================================================


def write_sample(sample: Sample, out_dir: str | Path, standards: str | Path | None = None,
                 scale: str | None = None) -> dict[str, Path]:
    """Write ``manifest.json``, ``design_table.csv`` and ``auditor_workbook.xlsx``."""
    from ..export import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"manifest": out / "manifest.json", "design_table": out / "design_table.csv",
             "workbook": out / "auditor_workbook.xlsx"}
    write_json(sample.manifest, paths["manifest"])
    write_csv(design_table(sample.manifest), paths["design_table"])
    std = schemas.load_standards(standards) if standards else None
    sc = schemas.load_scale(scale or sample.design.scale) if (scale or sample.design.scale) \
        else None
    # The sample's fingerprint goes on the workbook's Instructions sheet (the manifest records
    # nothing of the workbook).
    write_workbook(sample.selected, sample.manifest, paths["workbook"], standards=std, scale=sc)
    return paths


def design_table(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The public design table (no case-level data): one row per stratum and a total row."""
    s = design_summary(manifest)
    return pd.DataFrame({
        "stratum": s["stratum"], "label": s["label"], "population": s["population"],
        "sampled": s["sampled"], "sampling_fraction": s["fraction"].round(6),
        "margin_of_error_95": s["margin_of_error"].round(6), "too_small": s["too_small"],
        "note": s["note"]})


WORKBOOK_PREFILLED = ("case_id", "stratum", "service", "contact_date", "team")


def workbook_columns(standards: schemas.Standards, scale: schemas.Scale
                     ) -> list[tuple[str, str, list[str] | None]]:
    """(column, instruction, allowed values or None) for each auditor-completed column."""
    answers = list(standards.answers)
    cols: list[tuple[str, str, list[str] | None]] = [
        ("auditor_id", "Your initials or staff code (one row per case per auditor).", None),
        ("auditor_agency", "Your agency (police, health, CSC, education ...).", None),
        ("audit_date", "Date of the audit (dd/mm/yyyy).", None),
    ]
    for s in standards.standards:
        cols.append((f"std_{s['key']}", f"{s['label']}. {s.get('question', '')}".strip(),
                     answers))
    cols += [
        ("overall_grade", "Overall grade of practice (Ofsted scale).", list(schemas.GRADE)),
        ("tier_judged", f"Level of need you judge right for the case ({scale.label}).",
         list(scale.levels)),
        ("triage_grade_judged", "Domestic-abuse triage grade you judge right (if it applies).",
         list(schemas.TRIAGE_GRADE)),
    ]
    for t in standards.themes:
        cols.append((f"theme_{t['key']}", f"Theme: {t['label']} (yes if it applies).",
                     ["yes", "no"]))
    cols.append(("notes", "Your notes. They stay internal and are never published.", None))
    return cols


#: The label of the Instructions row that records the sample's fingerprint
#: (``sample_fingerprint``): ``analysis.returns`` finds it in a returned workbook and refuses
#: one from another sample.
SAMPLE_FINGERPRINT_LABEL = "Sample fingerprint"
#: The label of the Instructions row where the auditor may write the date the workbook was
#: returned (``analysis.returns`` marks the return late when it is after the due date).
RETURNED_LABEL = "Date returned"


def sample_fingerprint(manifest: str | Path | Mapping[str, Any]) -> str:
    """SHA-256 of what makes a drawn sample the sample it is: the design's name, the seed and
    the sampled cases with their strata (canonical JSON, cases sorted).

    Not the SHA-256 of ``manifest.json``: the manifest also records when and by which commit
    and package versions it was drawn, so the same sample drawn again after an upgrade (a
    round's sample step re-runs when the package changes) has another file hash, and every
    workbook already sent to the auditors would be refused as "another sample" on return.
    """
    m = read_manifest(manifest)
    ident = {"design_name": str(m.get("design_name", "")), "seed": m.get("seed"),
             "cases": sorted([str(c["case_id"]), str(c.get("stratum", ""))]
                             for c in m.get("cases", []))}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode("utf-8")).hexdigest()


def write_workbook(selected: pd.DataFrame, manifest: Mapping[str, Any], path: str | Path,
                   standards: schemas.Standards | None = None,
                   scale: schemas.Scale | None = None) -> Path:
    """The auditor workbook: sheet "Audit" (one row per sampled case) and "Instructions".

    The Instructions sheet records the sample's fingerprint (``sample_fingerprint``) in the
    row ``SAMPLE_FINGERPRINT_LABEL``, so that a returned workbook can be matched to its sample
    (``analysis.returns``), and has a row ``RETURNED_LABEL`` for the date it is returned.

    Column headers are the audit-returns contract names (``schemas.audit_spec``), so a
    completed workbook reads back with ``ingest(path, "audit", sheet="Audit")``.  Answer
    columns carry drop-down lists (Excel data validation).  Every cell goes through
    ``export.cell_value`` (formula injection neutralised) and the file is made byte-stable
    with ``export.deterministic_xlsx``.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..export import cell_value, deterministic_xlsx

    standards = standards or schemas.load_standards()
    scale = scale or schemas.load_scale()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = selected.sort_values(["stratum", "case_id"], kind="stable")
    pre = [c for c in WORKBOOK_PREFILLED if c in rows.columns]
    completed = workbook_columns(standards, scale)
    headers = pre + [c for c, _, _ in completed]

    wb = Workbook()
    ws = wb.active
    ws.title = "Audit"
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    ws.append([cell_value(h) for h in headers])
    for cell in ws[1]:
        cell.font = bold
    for rec in rows[pre].itertuples(index=False, name=None):
        ws.append([cell_value(v) for v in rec] + [None] * len(completed))
    last = max(len(rows) * 5, 200) + 1  # room to copy rows for further auditors
    for j, c in enumerate(pre, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = 22 if c != "contact_date" else 13
        for i in range(2, len(rows) + 2):
            ws.cell(i, j).fill = grey
            if c == "contact_date":
                ws.cell(i, j).number_format = "yyyy-mm-dd"
    for j, (c, _, allowed) in enumerate(completed, start=len(pre) + 1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = 40 if c == "notes" else max(14, len(c) + 2)
        if allowed:
            dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"',
                                allow_blank=True, showErrorMessage=True,
                                errorTitle="Not an allowed value",
                                error="Choose a value from the list: " + ", ".join(allowed))
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
        elif c == "audit_date":
            dv = DataValidation(type="date", operator="greaterThan", formula1="DATE(1990,1,1)",
                                allow_blank=True, showErrorMessage=True,
                                errorTitle="Not a date", error="Enter a date, e.g. 31/03/2026")
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
            for i in range(2, len(rows) + 2):
                ws.cell(i, j).number_format = "dd/mm/yyyy"
    ws.freeze_panes = "B2"

    info = wb.create_sheet("Instructions")
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 80
    info.column_dimensions["C"].width = 50
    d = manifest.get("design", {})
    lines: list[list[object]] = [
        ["Auditor workbook", str(d.get("title") or manifest.get("design_name", ""))],
        ["Design", f"{manifest.get('design_name', '')} (seed {manifest.get('seed')})"],
        ["Cases", f"{len(rows)} sampled cases, one row each on the sheet 'Audit'"],
        ["Input SHA-256", str(manifest.get("input_sha256") or "")
         or f"{manifest.get('input_file_sha256', '')} (of the file)"],
        [SAMPLE_FINGERPRINT_LABEL, sample_fingerprint(manifest)],
        [RETURNED_LABEL, None, "The date you return this workbook (dd/mm/yyyy)."],
        [],
        ["How to complete", "Grey columns identify the case: do not change them. The case_id "
         "is pseudonymised; the data owner, who holds the key, finds the case file for you."],
        ["", "Fill in one row per case per auditor. If several auditors audit the same case, "
         "copy the case's row and fill in one copy each, with your own auditor_id."],
        ["", "Pick answers from the drop-down lists. Leave a cell empty if it does not apply "
         "or you cannot tell" + (f" (or choose {' / '.join(standards.not_counted)})"
                                 if standards.not_counted else "") + "."],
        ["", "Return the completed workbook to the board's analyst, who reads every "
         "agency's returns with: sqa ingest --kind audit <files or folder> --manifest "
         "manifest.json --out <folder>. Rows with problems are listed in a quarantine file, "
         "never silently dropped. Keep this sheet: it tells which sample the workbook is for."],
        [],
        ["Column", "What to enter", "Allowed values"],
        ["case_id", "Pseudonymised case identifier (pre-filled).", ""],
        ["stratum", "The group the case was sampled from (pre-filled).", ""],
        ["service", "Service holding the case (pre-filled).", ""],
        ["contact_date", "Date of contact or referral (pre-filled).", ""],
        ["team", "Team holding the case, if known (pre-filled).", ""],
    ]
    lines += [[c, text, ", ".join(allowed) if allowed else ""] for c, text, allowed in completed]
    lines += [[], ["Answer codes", ", ".join(f"{a} = {schemas.answer_label(a)}"
                                             for a in standards.answers)],
              ["Grades", ", ".join(f"{k} = {v}" for k, v in schemas.GRADE.items())],
              ["Levels of need", ", ".join(f"{lv} = {scale.labels.get(lv, lv)}"
                                           for lv in scale.levels)],
              ["Template", f"{standards.name}. {standards.source}".strip()]]
    for line in lines:
        info.append([cell_value(v) for v in line])
    for r in (1, 13):
        for cell in info[r]:
            cell.font = bold
    for row in info.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)
    return deterministic_xlsx(path)


# ======================================================================================
# Reading manifests, weights, verification
# ======================================================================================


def sample_folder(processed_dir: str | Path, design: str | Path | Design) -> Path:
    """Where a round keeps a design's sample: ``<processed_dir>/samples/<design name>/``."""
    return Path(processed_dir) / "samples" / load_design(design).name


def load_or_draw(design: str | Path | Design, processed_dir: str | Path,
                 seed: int | None = None, redraw: bool = False) -> tuple[dict[str, Any], Path]:
    """The round's manifest for ``design`` (and its path), drawing the sample first from
    ``<processed_dir>/cases.parquet`` when it is missing or ``redraw`` is set (as
    ``sqa sample`` would, into ``sample_folder``)."""
    d = load_design(design)
    folder = sample_folder(processed_dir, d)
    path = folder / "manifest.json"
    if redraw or not path.exists():
        write_sample(draw(Path(processed_dir) / "cases.parquet", d, seed=seed), folder)
    return read_manifest(path), path


def read_manifest(manifest: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A sample manifest as a dict (from a JSON path, or passed through)."""
    if isinstance(manifest, Mapping):
        return dict(manifest)
    p = Path(manifest)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: sample manifest not found (it is written by `sqa sample` "
                                "as <out>/manifest.json).")
    try:
        data = json.loads(p.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DesignError(f"{p}: not a sample manifest (invalid JSON, truncated or edited: "
                          f"{exc}). Give the manifest.json written by `sqa sample`.") from None
    except OSError as exc:
        raise DesignError(f"{p}: the sample manifest cannot be read ({exc.strerror}).") from None
    if not isinstance(data, dict) or "cases" not in data or "seed" not in data:
        raise DesignError(f"{p}: not a sample manifest (no 'cases' or 'seed'). Give the "
                          "manifest.json written by `sqa sample`.")
    return data


def attach_weights(frame: pd.DataFrame, manifest: str | Path | Mapping[str, Any]
                   ) -> pd.DataFrame:
    """``case_id``, ``stratum`` and ``design_weight`` for each row of ``frame``.

    Rows whose case is not in the sample get missing stratum and weight.  The frame's index
    and row order are kept (an audit table with several auditors per case gets the case's
    weight on each row).  Design weight = ``N_h / n_h`` (Horvitz & Thompson 1952).
    """
    if "case_id" not in frame.columns:
        raise ValueError("attach_weights needs a frame with a case_id column")
    m = read_manifest(manifest)
    w = pd.DataFrame(m["cases"], columns=["case_id", "stratum", "selection_probability",
                                          "design_weight"])
    w = w.astype({"case_id": str, "stratum": str, "design_weight": float})
    left = pd.DataFrame({"case_id": frame["case_id"].astype(object).to_numpy()})
    out = left.merge(w[["case_id", "stratum", "design_weight"]], on="case_id", how="left",
                     validate="many_to_one")
    out.index = frame.index
    return out


@dataclass
class VerifyResult:
    """Outcome of ``verify``: ``ok`` and, when not, the reasons in plain words."""

    ok: bool
    reasons: list[str]
    checks: list[str]
    notes: list[str]
    manifest: dict[str, Any]

    def report(self) -> str:
        m = self.manifest
        head = "VERIFIED" if self.ok else "NOT VERIFIED"
        lines = [f"{head}: sample {m.get('design_name')!r}, seed {m.get('seed')}, "
                 f"{len(m.get('cases', []))} cases in {len(m.get('strata', []))} strata",
                 f"  drawn   {m.get('created')} by code at git commit {m.get('git_commit')}"]
        lines += [f"  ok      {c}" for c in self.checks]
        lines += [f"  FAILED  {r}" for r in self.reasons]
        lines += [f"  note    {n}" for n in self.notes]
        return "\n".join(lines)


def _row_difference(old: str | None, new_hashes: list[str], old_rows: int) -> str:
    if not old:
        return f"{old_rows:,} rows then, {len(new_hashes):,} now"
    k = DIGEST_CHARS
    before = Counter(old[i:i + k] for i in range(0, len(old), k))
    after = Counter(h[:k] for h in new_hashes)
    removed = sum((before - after).values())
    added = sum((after - before).values())
    changed = min(removed, added)
    differ = changed + (added - changed) + (removed - changed)
    return (f"{differ:,} row{'s' if differ != 1 else ''} differ{'s' if differ == 1 else ''}: "
            f"{changed:,} changed, {added - changed:,} added, {removed - changed:,} removed; "
            f"{old_rows:,} rows then, {len(new_hashes):,} now")


#: What ``verify`` reads from a manifest, with the JSON type each must have (``int`` excludes
#: booleans, ``float`` takes any number).  Keys in ``*_OPTIONAL`` may be absent.
MANIFEST_SHAPE: dict[str, tuple[type, ...]] = {
    "design": (dict,), "design_sha256": (str,), "seed": (int,),
    "input_sha256": (str, type(None)),
    "rows": (dict,), "exclusions": (dict,), "planning": (dict,), "strata": (list,),
    "cases": (list,), "versions": (dict,), "created": (str,), "git_commit": (str,)}
MANIFEST_OPTIONAL: dict[str, tuple[type, ...]] = {
    "frame_sha256": (str, type(None)), "input_row_digests": (str, type(None)),
    "design_name": (str,), "input_file_sha256": (str,)}
ROWS_SHAPE = {"input": (int,), "frame": (int,), "sampled": (int,)}
EXCLUSIONS_OPTIONAL = {"excluded_case_ids": (list,), "reference_date": (str, type(None))}
PLANNING_SHAPE = {"p": (float,), "confidence": (float,), "n_from_margin": (bool,),
                  "overall_margin_of_error": (float,)}
STRATUM_SHAPE = {"stratum": (str,), "population": (int,), "sampled": (int,)}
CASE_SHAPE = {"case_id": (str,), "stratum": (str,), "selection_probability": (float,),
              "design_weight": (float,)}
#: ``provenance.git_commit``'s forms: a SHA-1 (or SHA-256) commit, ``+dirty`` when the tree
#: had uncommitted changes, or ``unknown`` outside a git checkout.
GIT_COMMIT_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})(?:\+dirty)?$")


JSON_TYPE_NAMES: dict[type, str] = {bool: "true/false", int: "a whole number",
                                     float: "a number", str: "text", list: "a list",
                                     dict: "a mapping", type(None): "null"}


def _json_type(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _has_type(value: object, types: tuple[type, ...]) -> bool:
    """JSON typing: a bool is not a number; an int is a float."""
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _check_fields(label: str, where: str, d: Mapping[str, Any],
                  shape: Mapping[str, tuple[type, ...]], required: bool = True) -> None:
    for key, types in shape.items():
        name = f"{where}{key}"
        if key not in d:
            if required:
                raise DesignError(f"{label}: not a complete sample manifest: no {name!r}. Give "
                                  "the manifest.json written by `sqa sample` (draw the sample "
                                  "again if the file was damaged).")
            continue
        if not _has_type(d[key], types):
            want = " or ".join(JSON_TYPE_NAMES[t] for t in types)
            raise DesignError(f"{label}: not a valid sample manifest: {name!r} must be {want}, "
                              f"not {_json_type(d[key])}. Give the manifest.json written by "
                              "`sqa sample` (draw the sample again if the file was damaged).")


def check_manifest(m: Mapping[str, Any], label: str) -> None:
    """Refuse a manifest whose shape is not what ``draw`` writes: every key ``verify`` reads
    present, with its JSON type, down to each stratum and case.

    A damaged or hand-edited manifest then gives one message naming the file and the key
    (a ``DesignError``: exit 2) instead of a traceback half-way through the re-draw.  Whether
    the values are *right* is the re-draw's business (``verify``).
    """
    _check_fields(label, "", m, MANIFEST_SHAPE)
    _check_fields(label, "", m, MANIFEST_OPTIONAL, required=False)
    if m["input_sha256"] is None and not isinstance(m.get("input_file_sha256"), str):
        raise DesignError(f"{label}: not a complete sample manifest: 'input_sha256' is null and "
                          "there is no 'input_file_sha256', so nothing identifies the cases "
                          "table it was drawn from. Give the manifest.json written by `sqa "
                          "sample` (draw the sample again if the file was damaged).")
    _check_fields(label, "rows.", m["rows"], ROWS_SHAPE)
    for key, value in m["rows"].items():
        _check_fields(label, "rows.", {key: value}, {key: (int,)})
    _check_fields(label, "exclusions.", m["exclusions"], EXCLUSIONS_OPTIONAL, required=False)
    for i, cid in enumerate(m["exclusions"].get("excluded_case_ids") or []):
        _check_fields(label, f"exclusions.excluded_case_ids[{i}]", {"": cid}, {"": (str,)})
    _check_fields(label, "planning.", m["planning"], PLANNING_SHAPE)
    for part, shape in (("strata", STRATUM_SHAPE), ("cases", CASE_SHAPE)):
        for i, item in enumerate(m[part]):
            if not isinstance(item, dict):
                raise DesignError(f"{label}: not a valid sample manifest: '{part}[{i}]' must be "
                                  f"a mapping, not {_json_type(item)}. Give the manifest.json "
                                  "written by `sqa sample`.")
            _check_fields(label, f"{part}[{i}].", item, shape)


def _provenance_checks(m: Mapping[str, Any], reasons: list[str], checks: list[str],
                       notes: list[str]) -> None:
    """``created`` and ``git_commit`` cannot be reproduced by a re-draw, but a manifest
    written by ``draw`` has both, in the forms ``provenance`` writes: an ISO 8601 date-time
    with its time zone, and a commit (or ``unknown``).  A value of another form means the
    manifest was edited or made by something else, so it fails verification."""
    created, commit = m["created"], m["git_commit"]
    try:
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError
    except ValueError:
        reasons.append(f"created {created!r} is not an ISO 8601 date-time with a time zone "
                       "(sqa writes e.g. 2026-03-31T00:00:00Z): the manifest has been edited")
    else:
        if when > datetime.now(when.tzinfo):
            notes.append(f"created {created} lies in the future: a sample drawn by `sqa run` "
                         "is stamped with its round's date (SOURCE_DATE_EPOCH)")
        checks.append(f"created: {created} is a valid timestamp (it is recorded, not "
                      "reproduced)")
    if commit == "unknown":
        notes.append("the code version was not recorded (the sample was not drawn from a git "
                      "checkout)")
    elif GIT_COMMIT_RE.match(commit):
        checks.append(f"git_commit: {commit} is a commit id (recorded, not reproduced)")
        if commit.endswith("+dirty"):
            notes.append("drawn from code with uncommitted changes: the commit alone does not "
                         "say which code drew it")
    else:
        reasons.append(f"git_commit {commit!r} is neither a git commit id (40 hex digits, "
                       "optionally +dirty) nor 'unknown': the manifest has been edited")


def verify(manifest: str | Path | Mapping[str, Any], cases: str | Path | pd.DataFrame,
           design: str | Path | None = None) -> VerifyResult:
    """Re-draw the sample of ``manifest`` from ``cases`` and compare.

    Passes only when the canonical input hash, the design and the selection (cases, strata,
    selection probabilities, weights) are all identical.  ``design`` optionally names the
    design file to compare with the one recorded in the manifest.  The git commit, package
    versions and timestamp are reported when they differ but do not fail the check.

    Also checked (issue 12, case 16): no case listed twice; the row counts (``rows``: read,
    filtered, in the frame, sampled) and the planned margin (``planning``, computed from the
    strata as ``draw`` computes it) equal the re-draw's; ``created`` is an ISO 8601
    date-time and ``git_commit`` a commit id or ``unknown`` (they cannot be reproduced, so
    they are checked for form and shown).  A manifest of the wrong shape (a key missing or of
    the wrong type) raises ``DesignError`` naming the file and the key (``check_manifest``).
    """
    m = read_manifest(manifest)
    label = str(manifest) if not isinstance(manifest, Mapping) else "manifest"
    reasons: list[str] = []
    checks: list[str] = []
    notes: list[str] = []
    check_manifest(m, label)
    _provenance_checks(m, reasons, checks, notes)
    twice = {c: k for c, k in Counter(c["case_id"] for c in m["cases"]).items() if k > 1}
    if twice:
        named = ", ".join(f"{c} ({k} times)" for c, k in sorted(twice.items())[:3])
        more = f" and {len(twice) - 3} more" if len(twice) > 3 else ""
        reasons.append(f"the manifest lists {len(twice)} case(s) more than once: {named}{more}; "
                       "a sample is drawn without replacement, so the manifest has been edited")
    design_edited = _json_sha(m["design"]) != m["design_sha256"]
    if design_edited:
        reasons.append("design differs: the design recorded in the manifest has been edited "
                       "since the sample was drawn (its SHA-256 no longer matches)")
    try:
        d = design_from_dict(m["design"], origin=f"{label} (design)")
    except DesignError as exc:
        reasons.append(f"design differs: the design recorded in the manifest is no longer valid "
                       f"({exc})")
        return VerifyResult(False, reasons, checks, notes, m)
    if not design_edited:
        checks.append(f"design: {d.name!r} unchanged (SHA-256 {d.sha256[:12]}...)")
    if design is not None:
        other = load_design(design)
        a, b = d.to_dict(), other.to_dict()
        diff = sorted(k for k in a if a[k] != b.get(k))
        if diff:
            reasons.append(f"design differs: {', '.join(diff)} differ between the manifest and "
                           f"{other.origin}")
        else:
            checks.append(f"design: same as {other.origin}")

    by_file = m.get("input_sha256") is None and isinstance(m.get("input_file_sha256"), str)
    con = engine.connect()
    try:
        inp = _open_input(cases, con)
        inp.trust_log = False  # verification hashes the file itself
        if by_file and inp.path is None:
            reasons.append("the manifest identifies its input by the SHA-256 of a file "
                           "(input_file_sha256); verify it against that file, not a table in "
                           "memory")
            return VerifyResult(False, reasons, checks, notes, m)
        draw_error: DesignError | None = None
        try:
            again, ident = _draw(inp, d, seed=int(m["seed"]),
                                 excluded_ids=m["exclusions"].get("excluded_case_ids", []),
                                 reference_date=m["exclusions"].get("reference_date"),
                                 with_rows=False, identify="file" if by_file else "canonical")
        except DesignError as exc:
            draw_error = exc
            ident = (_Identity(_file_inputs(inp, _file_identity(inp))) if by_file
                     else _canonical_identity(inp, None))
    finally:
        con.close()
    rows_then = int(m.get("rows", {}).get("input", 0))
    if by_file:
        new_sha = ident.inputs["input_file_sha256"]
        changed = new_sha != m["input_file_sha256"]
        if changed:
            reasons.append(f"input file differs: the SHA-256 of {cases} has changed since the "
                           f"sample was drawn ({rows_then:,} rows then, {inp.n_rows:,} now; "
                           "the manifest records the file's hash, not row digests, so the rows "
                           "that changed cannot be named)")
        else:
            checks.append(f"input: file SHA-256 matches ({new_sha[:12]}...; "
                          f"{inp.n_rows:,} rows)")
    else:
        new_sha = ident.inputs["input_sha256"]
        changed = new_sha != m["input_sha256"]
        if changed:
            reasons.append("input hash differs: the cases file has changed since the sample "
                           "was drawn (" + _row_difference(m.get("input_row_digests"),
                                                           ident.row_hashes or [], rows_then)
                           + ")")
        else:
            checks.append(f"input: canonical SHA-256 matches ({new_sha[:12]}...; "
                          f"{inp.n_rows:,} rows)")
    if draw_error is not None:
        reasons.append(f"the design can no longer be drawn from this file: {draw_error}")
        return VerifyResult(False, reasons, checks, notes, m)
    a2 = again.manifest
    if changed and not by_file and a2["frame_sha256"] == m.get("frame_sha256"):
        notes.append("the rows eligible for this design are unchanged: the change lies outside "
                     "the sample frame")
    old_cases = {c["case_id"]: c for c in m["cases"]}
    new_cases = {c["case_id"]: c for c in a2["cases"]}
    if old_cases == new_cases and _strata_key(m["strata"]) == _strata_key(a2["strata"]):
        if not twice:  # else the same cases, but not the same list: said above
            checks.append(f"selection: the same {len(new_cases)} cases, strata, selection "
                          "probabilities and design weights")
    else:
        gone = sorted(set(old_cases) - set(new_cases))
        came = sorted(set(new_cases) - set(old_cases))
        moved = sum(1 for c in set(old_cases) & set(new_cases) if old_cases[c] != new_cases[c])
        reasons.append(f"selection differs: {len(gone)} case(s) of the manifest are no longer "
                       f"selected, {len(came)} other case(s) are, and {moved} case(s) have a "
                       "different stratum or weight")
    rows_old, rows_new = m["rows"], a2["rows"]
    differ = [k for k in rows_new if rows_old.get(k) != rows_new[k]]
    if differ:
        reasons.append("row counts differ: " + "; ".join(
            f"rows.{k} is {rows_old.get(k)} in the manifest, {rows_new[k]} on re-drawing"
            for k in differ))
    else:
        checks.append(f"rows: the same counts ({rows_new['input']:,} read, "
                      f"{rows_new['frame']:,} in the frame, {rows_new['sampled']} sampled)")
    plan_old, plan_new = m["planning"], a2["planning"]
    moe_old, moe_new = plan_old["overall_margin_of_error"], plan_new["overall_margin_of_error"]
    same_moe = math.isclose(moe_old, moe_new, rel_tol=1e-9, abs_tol=1e-12)
    if not same_moe or any(plan_old[k] != plan_new[k] for k in ("p", "confidence",
                                                                  "n_from_margin")):
        reasons.append(f"planned margin differs: the manifest records +/-{moe_old:.6f} (p "
                       f"{plan_old['p']}, confidence {plan_old['confidence']}); the design "
                       f"and strata give +/-{moe_new:.6f} (p {plan_new['p']}, confidence "
                       f"{plan_new['confidence']})")
    else:
        checks.append(f"planned margin: +/-{moe_new:.4f} overall, as recorded")
    if a2["versions"] != m.get("versions"):
        changed = sorted(k for k in set(a2["versions"]) | set(m.get("versions", {}))
                         if a2["versions"].get(k) != m.get("versions", {}).get(k))
        notes.append(f"package versions differ from the draw ({', '.join(changed)})")
    if a2["git_commit"] != m.get("git_commit"):
        notes.append(f"code version differs: drawn at {m.get('git_commit')}, verified at "
                     f"{a2['git_commit']}")
    return VerifyResult(not reasons, reasons, checks, notes, m)


def _strata_key(strata: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((s["stratum"], s["population"], s["sampled"]) for s in strata)


# ======================================================================================
# Public summaries (no case-level data): for the notebook and the site
# ======================================================================================


def population_counts(manifest: str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """The cases in each stratum's population (counts of children), one column ``cases``
    indexed by stratum code, in the manifest's order: the table the disclosure ledger records
    (``analysis.reporting.Ledger.table``) wherever a page publishes them."""
    m = read_manifest(manifest)
    st = [s for s in m.get("strata", []) if isinstance(s, Mapping) and "stratum" in s]
    return pd.DataFrame({"cases": [int(s.get("population", 0)) for s in st]},
                        index=[str(s["stratum"]) for s in st])


def population_table_name(manifest: str | Path | Mapping[str, Any]) -> str:
    """The disclosure ledger's name for a design's population table (one per design, on the
    sample page; other pages link to it as ``audit_sample/<name>``)."""
    return f"{read_manifest(manifest).get('design_name', 'design')}_population"


def design_summary(manifest: str | Path | Mapping[str, Any], ledger: Any = None
                   ) -> pd.DataFrame:
    """Per-stratum population, sampled, fraction, margin and notes, plus a total row.

    Aggregate only: never a case id.  ``attrs`` carries the design's title, the unit of its
    strata ("service" when stratified by service) and the planning p and confidence.

    The populations are counts of children: with a disclosure ``ledger``
    (``analysis.reporting.Ledger``) they are recorded there and the column
    ``population_shown`` holds what may be published (the number, or ``"c"`` for 1 to 5 and
    the counts that would give one away); every display of the summary then hides a
    suppressed population and whatever would reveal it (the sampling fraction, the margin of
    error with its finite population correction, the cases needed, "every case audited").
    """
    m = read_manifest(manifest)
    st = pd.DataFrame(m["strata"])
    cols = ["stratum", "label", "population", "sampled", "fraction", "margin_of_error",
            "too_small", "note"]
    st = st[cols].copy()
    planning = m.get("planning", {})
    N, n = int(st["population"].sum()), int(st["sampled"].sum())
    total_moe = planning.get("overall_margin_of_error")
    if total_moe is None:
        total_moe = stratified_margin(st["population"].tolist(), st["sampled"].tolist(),
                                      planning.get("p", 0.5), planning.get("confidence", 0.95))
    total = pd.DataFrame([{"stratum": "all", "label": "All strata", "population": N,
                           "sampled": n, "fraction": n / N if N else math.nan,
                           "margin_of_error": float(total_moe), "too_small": n < SMALL_N,
                           "note": "stratified estimate"}])
    out = pd.concat([st, total], ignore_index=True)
    out = out.astype({"population": int, "sampled": int, "fraction": float,
                      "margin_of_error": float, "too_small": bool})
    design = m.get("design", {})
    columns = (design.get("strata") or {}).get("columns") or []
    if ledger is not None:
        sup = ledger.table(population_table_name(m), population_counts(m))
        shown = sup.table["cases"]
        out["population_shown"] = [*(shown.loc[str(k)] for k in st["stratum"]),
                                   shown.iloc[-1] if len(shown) > len(st) else N]
    else:
        out["population_shown"] = out["population"].astype(object)
    out.attrs = {"title": design.get("title") or m.get("design_name", ""),
                 "design_name": m.get("design_name", ""),
                 "unit": "service" if columns == ["service"] else "group",
                 "p": planning.get("p", 0.5), "confidence": planning.get("confidence", 0.95)}
    return out


def in_sentence(label: str) -> str:
    """A stratum label for use inside a sentence: "School multi-agency panel (MAP)" becomes
    "school multi-agency panel (MAP)"; names ("Partnership Triage", "MAT panels") are kept."""
    words = label.split()
    if not words or not words[0][:1].isupper() or words[0][1:2].isupper():
        return label
    if len(words) > 1 and words[1][:1].isupper():
        return label
    return label[:1].lower() + label[1:]


def margin_plot(summary: pd.DataFrame, title: str | None = None):
    """Horizontal bars: expected margin of error per stratum; too-small strata hatched."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    st = summary[summary["stratum"] != "all"].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * len(st)))
    y = np.arange(len(st))
    from ..reporting.sampling import population_hidden, population_text

    hidden = np.array([population_hidden(r) for r in st.itertuples()], dtype=bool)
    moe = np.where(hidden, 0.0, st["margin_of_error"].fillna(0).to_numpy() * 100)
    small = st["too_small"].to_numpy()
    colours = [PALETTE["vermillion"] if s else PALETTE["sky"] for s in small]
    bars = ax.barh(y, moe, color=colours, edgecolor="black", linewidth=0.6)
    for bar, s in zip(bars, small, strict=True):
        if s:
            bar.set_hatch("//")
    for yi, r in zip(y, st.itertuples(), strict=True):
        tag = (f"n = {r.sampled} of {population_text(r)}"
               + ("  (margin not shown: population c)" if population_hidden(r) else "")
               + ("  (too few to generalise)" if r.too_small else "")
               + ("  (census)" if r.sampled >= r.population and not population_hidden(r) else ""))
        ax.annotate(tag, (moe[yi], yi), textcoords="offset points", xytext=(5, -3), fontsize=8)
    tot = float(summary.loc[summary["stratum"] == "all", "margin_of_error"].iloc[0])
    if not math.isnan(tot):
        ax.axvline(100 * tot, color=PALETTE["black"], ls="--", lw=1,
                   label=f"All strata together {margin(tot)}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_yticks(y, st["label"].tolist())
    ax.set_xlim(0, max(110.0, float(moe.max()) * 2.0 if len(moe) else 110.0))
    conf = summary.attrs.get("confidence", 0.95)
    ax.set_xlabel(f"Expected margin of error (± percentage points, {conf * 100:g}% confidence)")
    ax.set_title(title or "Expected margin of error by stratum")
    fig.tight_layout()
    return fig


# ======================================================================================
# Command line
# ======================================================================================


def cli_draw(cases: str | Path, design: str | Path, seed: int | None, out: str | Path,
             previous: Sequence[str | Path] | None = None,
             standards: str | Path | None = None, scale: str | None = None) -> int:
    """``sqa sample --cases FILE --design DESIGN [--seed N] --out DIR [--previous M ...]``;
    ``standards`` and ``scale`` (a round's template and levels of need) shape the workbook."""
    d = load_design(design)
    sample = draw(cases, d, seed=seed, previous=previous or ())
    paths = write_sample(sample, out, standards=standards, scale=scale)
    m = sample.manifest
    rows = m["rows"]
    print(f"{d.name}: drew {rows['sampled']} cases from {rows['frame']:,} eligible "
          f"({rows['input']:,} rows in {cases}) in {len(m['strata'])} strata, seed {m['seed']}")
    for s in m["strata"]:
        flag = "  too small for a general finding" if s["too_small"] else ""
        print(f"  {s['stratum']:<40} {s['sampled']:>4} of {s['population']:>6,}{flag}")
    if d.exclude_previous_months is not None and not previous:
        print("  note: the design excludes recently audited cases, but no --previous "
              "manifests were given")
    if rows["excluded_previous"]:
        print(f"  excluded {rows['excluded_previous']} case(s) audited recently")
    if m.get("input_sha256"):
        print(f"  input SHA-256 (canonical): {m['input_sha256']}")
    else:
        print(f"  input SHA-256 (of the file): {m['input_file_sha256']}")
    for name, p in paths.items():
        print(f"  wrote {name}: {p}")
    return 0


def cli_verify(manifest: str | Path, cases: str | Path) -> int:
    """``sqa sample --verify MANIFEST --cases FILE``: 0 when verified, 1 when not."""
    res = verify(manifest, cases)
    print(f"manifest: {manifest}\ncases:    {cases}")
    print(res.report())
    return 0 if res.ok else 1


def cli_sample(args: Any) -> int:
    """Dispatch an argparse namespace (cases, design, seed, out, verify[, previous,
    standards]) to ``cli_verify`` or ``cli_draw``."""
    if getattr(args, "verify", None):
        return cli_verify(args.verify, args.cases)
    if not getattr(args, "design", None) or not getattr(args, "out", None):
        raise DesignError("sample needs --design and --out (or --verify MANIFEST)")
    return cli_draw(args.cases, args.design, getattr(args, "seed", None), args.out,
                    getattr(args, "previous", None) or [], getattr(args, "standards", None),
                    getattr(args, "scale", None))
