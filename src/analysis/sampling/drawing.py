"""Drawing a sample: allocation over the sample frame and the per-stratum random draw.

``draw(cases, design, seed)`` finds the eligible frame (module ``frame``), allocates the cases
between strata (``allocate``; ``oversample_allocation`` splits a stratum for over-sampling)
and in each stratum takes the ``n_h`` cases with the smallest random keys of the stratum's
own ``numpy.random.default_rng(SeedSequence([seed, sha256(stratum)]))`` stream, so that the
same cases and seed give the same sample on any machine.  Each sampled case carries its
selection probability ``n_h / N_h`` and design weight ``N_h / n_h`` (Horvitz & Thompson
1952); the manifest records how the input was identified (module ``cases``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import engine, schemas
from ..ingest import InputError
from ..proportions import SMALL_N
from ..provenance import timestamp
from .cases import (
    _canonical_identity,
    _check_ids_sql,
    _file_identity,
    _file_inputs,
    _identify_as,
    _Identity,
    _Input,
    _open_input,
)
from .design import (
    WIDE_MARGIN,
    Design,
    DesignError,
    _constrained,
    allocate,
    canon_value,
    load_design,
    margin_of_error,
    sample_size,
    stratum_label,
)
from .frame import _check_columns, _Frame, _sample_frame, _selected_rows
from .manifest import manifest_body, read_manifest


@dataclass
class Sample:
    """A drawn sample: the manifest (plain data) and the sampled rows (for the workbook)."""

    design: Design
    manifest: dict[str, Any]
    selected: pd.DataFrame  # typed rows of the sampled cases, with a 'stratum' column

    @property
    def n(self) -> int:
        return len(self.manifest["cases"])


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


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


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
