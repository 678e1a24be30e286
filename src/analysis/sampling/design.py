"""Planning, allocation and sample designs: how many cases, shared how, drawn from what.

* **Planning.** ``sample_size`` and ``margin_of_error`` by Cochran's normal-approximation
  formulae, with the finite population correction (Cochran, W. G. (1977) *Sampling
  Techniques*, 3rd ed., Wiley, ch. 4, eqs. 4.1-4.2); ``stratified_margin``, the margin of a
  stratified proportion (ch. 5).
* **Allocation.** ``allocate`` shares ``n`` between strata (proportional, equal, Neyman
  (Neyman, J. (1934) JRSS 97:558-625) or fixed counts) within each stratum's population and
  the minimum per stratum, rounded to whole cases by the largest-remainder method
  (``largest_remainder``; Balinski, M. L. & Young, H. P. (1982) *Fair Representation*, Yale
  University Press).
* **Designs.** ``load_design`` and ``design_from_dict`` parse and check a design (the YAML
  schema is in the docstring of ``analysis.sampling``) into a ``Design``; ``canon_value`` is
  the canonical text of one value, which the cases table's canonical form shares;
  ``stratum_label`` names a stratum for display.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from .. import schemas, yamlfile

ALLOCATIONS = ("proportional", "equal", "neyman", "fixed")
DESIGN_KEYS = ("name", "title", "source", "notes", "seed", "scale", "filter", "date_window",
               "exclude_previous_months", "reference_date", "strata", "labels", "allocation",
               "counts", "n", "margin", "p", "confidence", "prior", "min_per_stratum",
               "oversample", "order")
#: A stratum whose margin of error is wider than this is "indicative only" in the wording
#: (an interval wider than 30 points: ``proportions.WIDE``).
WIDE_MARGIN = 0.15


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
        data = yamlfile.load(text)
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
# Stratum labels
# ======================================================================================


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


def in_sentence(label: str) -> str:
    """A stratum label for use inside a sentence: "School multi-agency panel (MAP)" becomes
    "school multi-agency panel (MAP)"; names ("Partnership Triage", "MAT panels") are kept."""
    words = label.split()
    if not words or not words[0][:1].isupper() or words[0][1:2].isupper():
        return label
    if len(words) > 1 and words[1][:1].isupper():
        return label
    return label[:1].lower() + label[1:]
