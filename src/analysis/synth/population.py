"""Scale mode: millions of synthetic front-door contacts written to Parquet, chunk by chunk.

Each chunk runs the demo's front-door model (the same calibration) with its own
``numpy.random.default_rng([seed, chunk])`` stream and is written as one row group by
``pyarrow.parquet.ParquetWriter``, so memory stays bounded by one chunk and the file is
deterministic per seed and chunk size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schemas
from .calibration import (
    AGE_MIX,
    CHILD_POOL_RATIO,
    CONTACTS_PER_MONTH,
    ETHNICITY_MIX,
    FY_END,
    GENDER_MIX,
    KNOWN_BEFORE_SHARE,
    LEVELS,
    OUTCOMES,
    SCALE_START,
    SOURCES,
    TRIAGE,
    SynthError,
)
from .draws import _draw, _holidays, referrals_in_previous_year
from .model import _front_door, _team_names

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
