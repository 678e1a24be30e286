"""The sample frame: the cases a design makes eligible, found by DuckDB SQL.

``_sample_frame`` applies a design's filters, date window and exclusion of previously
audited cases, and codes each eligible row's stratum (with groups) and over-sampling flag,
reading only ``case_id`` and the design's columns (``sample_columns``).  Values are compared
in their canonical text (``canon_value``), as the canonical serialisation of the whole table
compares them.  ``_selected_rows`` fetches the sampled cases' rows for the auditor workbook.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import engine, schemas
from ..ingest import InputError
from .cases import _arrow_reader, _check_frame_ids, _Input, _isna
from .design import Design, DesignError, canon_value, load_design

MISSING = "missing"
#: DuckDB types of a date-window column that ``_sample_frame`` selects as a range of days.
_DATE_TYPES = ("DATE",)
_TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")


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
