"""One batch of rows: parsed, pseudonymised and checked, as Arrow arrays.

The body every file goes through, whatever its format and size (CSV and XLSX frames are
cut into Arrow record batches, Parquet files are read with ``ParquetFile.iter_batches``):
the batch's columns under their canonical names (``_batch_columns``: the mapping's
constants and composed columns added), the reader's whole-row and cell problems, columns
that share a header compared, every column parsed once per distinct value
(``parse.parse_column``), identifiers pseudonymised (``pseudonyms.pseudonymise_column``),
the plausibility rules across columns (``_row_rules``, written once for every table kind),
the age band derived from the date of birth, and, where affordable, the pandera contract
(``schemas.pandera_schema``, uniqueness aside: the duplicate rule of ``core`` covers it
across batches).  What comes out is the batch as the staging table (every row, with its
file row number ``_row`` and whether it is quarantined ``_bad``) and its quarantine entries.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import privacy, schemas
from .common import PSEUDONYM_KIND
from .mapping import Mapping
from .parse import _as_codes, _code_type, _coded, _dates_text, _to_text, parse_column
from .pseudonyms import _Hasher, pseudonym_sort_keys, pseudonymise_column

QUARANTINE_COLUMNS = ["file", "row", "column", "value", "rule"]
#: The staging table's own columns: the file row number and whether the row is quarantined.
ROW, BAD = "_row", "_bad"
#: ... and, when the first column of the unique key is a pseudonym, that pseudonym as two
#: integers that sort as it does (``pseudonyms.pseudonym_sort_keys``).
KEY_PREFIX, KEY_NUMBER = "_kp", "_kn"
_EMPTY_DTYPE = {"date": "datetime64[ns]", "bool": "boolean", "int": "Int64"}

Values = Callable[[np.ndarray], list[str]] | Sequence[str] | None


class _Problems:
    """Quarantine entries of one batch (file, row, column, value, rule; ``_index`` is the
    position in the batch)."""

    def __init__(self, source: str, first: int) -> None:
        self.source = source
        self.first = first  # the file row number of the batch's first row
        self.items: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str, values: Values,
            rule: str | Callable[[np.ndarray], list[str]]) -> None:
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        if values is None:
            vals: Any = ""
        elif callable(values):
            vals = values(rows)
        else:
            vals = [values[i] for i in rows]
        self.items.append(pd.DataFrame({
            "file": self.source, "row": rows + self.first, "column": column, "value": vals,
            "rule": rule(rows) if callable(rule) else rule, "_index": rows}))

    def frame(self) -> pd.DataFrame:
        if not self.items:
            return pd.DataFrame(columns=[*QUARANTINE_COLUMNS, "_index"])
        return pd.concat(self.items, ignore_index=True).sort_values(
            ["row", "column", "rule"], kind="stable").reset_index(drop=True)


def sort_key_column(spec: schemas.TableSpec) -> str | None:
    """The first column of the unique key when it is a pseudonym (every kind's is): the rows
    are sorted by its integer form (``KEY_PREFIX``, ``KEY_NUMBER``)."""
    keys = list(spec.unique)
    return keys[0] if keys and spec.column(keys[0]).type == "pseudonym" else None


def staging_schema(spec: schemas.TableSpec) -> pa.Schema:
    """The canonical columns as Arrow types (codes as their position among the contract's
    allowed codes, ``int8``), then ``_row`` and ``_bad`` (and the sort key's integers): the
    table the batches are written to before the sort.  DuckDB turns the positions back into
    the codes as ``ENUM`` values (``core._sort_and_write``): one byte to sort, and a column
    its Parquet writer stores as a dictionary without hashing every value."""
    final = canonical_schema(spec)
    fields = [pa.field(f.name, _code_type(spec.column(f.name)).index_type)
              if _coded(spec.column(f.name)) else f.remove_metadata() for f in final]
    own = [pa.field(ROW, pa.int64()), pa.field(BAD, pa.bool_())]
    if sort_key_column(spec):
        own += [pa.field(KEY_PREFIX, pa.uint16()), pa.field(KEY_NUMBER, pa.uint64())]
    return pa.schema([*fields, *own])


def canonical_schema(spec: schemas.TableSpec) -> pa.Schema:
    """The Arrow schema (with its pandas metadata) of the canonical table: read back with
    ``pandas.read_parquet`` it gives ``string``, ``datetime64[ns]``, ``boolean`` and
    ``Int64`` columns."""
    empty = pd.DataFrame({c.name: pd.Series(dtype=_EMPTY_DTYPE.get(c.type, "string"))
                          for c in spec.columns})
    return pa.Schema.from_pandas(empty, preserve_index=False)


@dataclass
class Context:
    """What every batch of one file shares."""

    spec: schemas.TableSpec
    mapping: Mapping | None
    key: bytes
    hasher: _Hasher
    today: date
    source: str
    first_row: int  # the file row number of the first data row
    columns: dict[str, str]  # canonical name -> the file's column
    canon_of: dict[str, str]  # the file's column -> canonical name
    # (canonical, its label, the later column with the same header, its label)
    dup_columns: list[tuple[str, str, str, str]] = field(default_factory=list)
    field_problems: dict[int, tuple[int, int]] = field(default_factory=dict)
    cell_problems: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)
    contract: Any = None  # pandera schema checked per batch, or None
    distinct: dict[str, bool] = field(default_factory=dict)  # hash distinct ids, per column
    # False once a value of the sort key column is not in pseudonym form: sort by the text
    sort_keys: bool = True
    seconds: Counter = field(default_factory=Counter)


def _batch_columns(batch: pa.RecordBatch, ctx: Context) -> dict[str, pa.Array]:
    """The batch's columns under canonical names, with the mapping's constants and
    compositions ("a|b" of the parts' texts, missing when a part is)."""
    n = batch.num_rows
    cols = {canon: batch.column(src) for canon, src in ctx.columns.items()}
    mp = ctx.mapping
    for canon, value in (mp.constants if mp else {}).items():
        if canon not in cols:
            cols[canon] = (pa.nulls(n, pa.large_string()) if value is None else
                           pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                                          pa.array([str(value)])))
    for canon, parts in (mp.compose if mp else {}).items():
        if canon not in cols and all(p in cols for p in parts):
            pieces = [_to_text(pd.Series(cols[p].to_pylist(), dtype=object)) for p in parts]
            joined = pieces[0].astype("object")
            for piece in pieces[1:]:
                joined = joined.where(piece.isna() | joined.isna(),
                                      joined.astype(str) + "|" + piece.astype("object").astype(str))
            joined = joined.where(pd.concat(pieces, axis=1).notna().all(axis=1), None)
            cols[canon] = pa.array(joined.astype(object).where(joined.notna(), None).tolist(),
                                   pa.large_string())
    return cols


def _in_batch(problems: dict[int, Any], offset: int, n: int) -> list[tuple[int, Any]]:
    return sorted((p - offset, v) for p, v in problems.items() if offset <= p < offset + n)


Finished = Callable[[], tuple[pa.Table, pd.DataFrame, pd.DataFrame]]


def ingest_batch(batch: pa.RecordBatch, offset: int, ctx: Context, schema: pa.Schema
                 ) -> tuple[pa.Table, pd.DataFrame, pd.DataFrame]:
    """One batch (its first row is row ``offset`` of the data): the staging table (every
    row), the quarantine entries of the value and row rules, and those of the contract."""
    return begin_batch(batch, offset, ctx, schema)()


def begin_batch(batch: pa.RecordBatch, offset: int, ctx: Context, schema: pa.Schema
                ) -> Finished:
    """The first half of ``ingest_batch``: the identifiers sent to the hashing pool and
    every other column parsed; the returned function waits for the pseudonyms and gives what
    ``ingest_batch`` gives.  The caller begins the next batch before finishing this one, so
    that the pool always has work queued while the main process parses (a two-stage
    pipeline)."""
    n = batch.num_rows
    spec = ctx.spec
    clock = time.perf_counter
    t = clock()
    cols = _batch_columns(batch, ctx)
    problems = _Problems(ctx.source, offset + ctx.first_row)
    for pos, (got, width) in _in_batch(ctx.field_problems, offset, n):
        problems.add(np.arange(n) == pos, "(whole row)", None,
                     f"has {got} fields but the header has {width}: a comma or quote out of "
                     "place; its values would land in the wrong columns. Fix the row in the "
                     "export")
    # Cells named by the workbook reader: their own rule, not "required value is missing".
    flagged: dict[str, np.ndarray] = {}
    for pos, cells in _in_batch(ctx.cell_problems, offset, n):
        for raw_col, value, rule in cells:
            if raw_col in ctx.canon_of:  # a column the table does not use cannot spoil a row
                canon = ctx.canon_of[raw_col]
                problems.add(np.arange(n) == pos, canon, [""] * pos + [
                    "" if value is None else str(value)], rule)
                flagged.setdefault(canon, np.zeros(n, dtype=bool))[pos] = True
    for canon, label1, col2, label2 in ctx.dup_columns:
        one = _to_text(pd.Series(cols[canon].to_pylist(), dtype=object))
        two = _to_text(pd.Series(batch.column(col2).to_pylist(), dtype=object))
        differ = ~((one == two).fillna(False) | (one.isna() & two.isna()))
        both = one.fillna("(blank)").astype(str) + " | " + two.fillna("(blank)").astype(str)
        problems.add(differ.to_numpy(dtype=bool), canon, both.tolist(),
                     f"columns {label1} and {label2} have the same header but different "
                     "values; delete one or make them agree")

    mvalues = ctx.mapping.values if ctx.mapping else {}
    ordered = [c for c in (*spec.columns, *spec.inputs) if c.name in cols]
    # Identifiers first, so that their hashing runs in the pool while the rest is parsed.
    jobs = {}
    for c in ordered:
        if c.type == "pseudonym":
            jobs[c.name] = pseudonymise_column(cols[c.name], ctx.key, PSEUDONYM_KIND[c.name],
                                               ctx.hasher, ctx.distinct.get(c.name, True))
    out: dict[str, pa.Array] = {}
    for col in ordered:
        if col.type == "pseudonym":
            continue
        p = parse_column(cols[col.name], col, mvalues.get(col.name))
        if p.rule:
            problems.add(p.bad, col.name, p.text, p.rule)
        if col.type == "int":
            problems.add(p.negative, col.name, p.text, "negative count")
        if not col.nullable:
            missing = p.values.is_null().to_numpy(zero_copy_only=False) & p.text_na
            if col.name in flagged:
                missing &= ~flagged[col.name]
            problems.add(missing, col.name, p.text, "required value is missing")
        out[col.name] = p.values
    ctx.seconds["parse values"] += clock() - t

    def finish() -> tuple[pa.Table, pd.DataFrame, pd.DataFrame]:
        t = clock()
        for name, done in jobs.items():
            values = done()
            out[name] = values
            if not spec.column(name).nullable:
                missing = values.is_null().to_numpy(zero_copy_only=False)
                if name in flagged:
                    missing &= ~flagged[name]
                problems.add(missing, name, None, "required value is missing")
        ctx.seconds["pseudonymise"] += clock() - t
        t = clock()

        dates = {name: pd.Series(out[name].to_numpy(zero_copy_only=False))
                 for name in out if spec.column(name).type == "date"}
        _row_rules(dates, problems, spec.kind, ctx.today, spec.age_at)
        if "age_band" in spec.names and ("date_of_birth" in out or "age_years" in out):
            at = (dates[spec.age_at] if spec.age_at in dates
                  else pd.Series(pd.Timestamp(ctx.today), index=pd.RangeIndex(n)))
            yrs = out.get("age_years")
            bands = privacy.age_bands(dates.get("date_of_birth"), at,
                                      None if yrs is None else yrs.to_pandas())
            out["age_band"] = _as_codes(pa.Array.from_pandas(bands), spec.column("age_band"))
        ctx.seconds["row rules"] += clock() - t
        t = clock()

        keyed = sort_key_column(spec)
        keys = None
        if keyed and ctx.sort_keys and keyed in out:
            # From the hash output when every id was hashed, else read from the text.
            keys = jobs[keyed].sort_keys if keyed in jobs else None
            if keys is None:
                keys = pseudonym_sort_keys(out[keyed])
            ctx.sort_keys = keys is not None
        qframe = problems.frame()
        bad = np.zeros(n, dtype=bool)
        if len(qframe):
            bad[qframe["_index"].to_numpy(dtype=np.int64)] = True
        arrays = []
        for f in schema:
            if f.name == ROW:
                arrays.append(pa.array(np.arange(n, dtype=np.int64) + offset + ctx.first_row))
                continue
            if f.name == BAD:
                arrays.append(pa.array(bad))
                continue
            if f.name in (KEY_PREFIX, KEY_NUMBER):
                arrays.append(keys[f.name == KEY_NUMBER] if keys else pa.nulls(n, f.type))
                continue
            v = out.get(f.name)
            if v is None:
                arrays.append(pa.nulls(n, f.type))
            elif f.name in spec.names and _coded(spec.column(f.name)):
                typ = _code_type(spec.column(f.name))
                arrays.append((v if v.type.equals(typ) else _as_codes(v, spec.column(f.name))
                               ).indices)
            else:
                arrays.append(v.cast(f.type))
        table = pa.Table.from_arrays(arrays, schema=schema)
        extra = pd.DataFrame(columns=QUARANTINE_COLUMNS)
        if ctx.contract is not None and not bad.all():
            table, extra = _contract_check(table, ctx, bad, offset)
        ctx.seconds["quarantine and table"] += clock() - t
        return table, qframe.drop(columns="_index"), extra

    return finish


def _row_rules(dates: dict[str, pd.Series], problems: _Problems, kind: str, today: date,
               age_at: str | None) -> None:
    """Plausibility rules across columns, for every table kind: dates in the future or
    before 1990 (a date of birth aside), a birth more than 40 weeks after or a child over 25
    at ``age_at`` (the contact for cases, a list's own date for Annex A), an assessment
    ending before it starts; for cases, a referral before its contact."""
    # Compared as numpy datetime64 (NaT compares false, as in pandas), without pandas'
    # comparison machinery on every column of every batch.
    now = pd.Timestamp(today).to_datetime64()
    floor = pd.Timestamp("1990-01-01").to_datetime64()
    for name, v in dates.items():
        if name == "date_of_birth":
            continue
        values = v.to_numpy()
        text = _dates_text(values)
        problems.add(values > now, name, text, "date is in the future")
        problems.add(values < floor, name, text, "date before 1990")
    if "date_of_birth" in dates and age_at in dates:
        dob, at = dates["date_of_birth"], dates[age_at]
        what = "the contact" if age_at == "contact_date" else age_at.replace("_", " ")
        problems.add((dob > at + pd.Timedelta(days=280)).to_numpy(), "date_of_birth",
                     _dates_text(dob.to_numpy()), f"birth more than 40 weeks after {what}")
        problems.add((dob < at - pd.DateOffset(years=25)).to_numpy(), "date_of_birth",
                     _dates_text(dob.to_numpy()), f"child over 25 at {what}")
    if "assessment_end_date" in dates and "assessment_start_date" in dates:
        end = dates["assessment_end_date"].to_numpy()
        problems.add(end < dates["assessment_start_date"].to_numpy(), "assessment_end_date",
                     _dates_text(end), "assessment ends before it starts")
    if kind == "cases" and "referral_date" in dates and "contact_date" in dates:
        ref = dates["referral_date"].to_numpy()
        problems.add(ref < dates["contact_date"].to_numpy(), "referral_date",
                     _dates_text(ref), "referral before contact")


def staged_values(values: pa.Array | pa.ChunkedArray, col: schemas.Column
                  ) -> pa.Array | pa.ChunkedArray:
    """A staged column as its values: a coded column's positions as its codes."""
    if not _coded(col):
        return values
    allowed = pa.array(list(col.allowed or ()), pa.large_string())
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([pc.take(allowed, c) for c in values.chunks],
                                pa.large_string())
    return pc.take(allowed, values)


def contract_schema(spec: schemas.TableSpec) -> Any:
    """The pandera schema of ``spec`` without its uniqueness (checked per batch: the duplicate
    rule finds copies of the unique key across batches)."""
    schema = schemas.pandera_schema(spec)
    schema.unique = None
    return schema


def _contract_check(table: pa.Table, ctx: Context, bad: np.ndarray, offset: int
                    ) -> tuple[pa.Table, pd.DataFrame]:
    """The pandera contract on the batch's accepted rows, as the canonical frame: anything
    it rejects is quarantined too (rule ``contract: <check>``)."""
    import pandera.errors

    final = canonical_schema(ctx.spec)
    frame = pa.Table.from_arrays([staged_values(table.column(f.name), ctx.spec.column(f.name)
                                                ).cast(f.type) for f in final],
                                 schema=final).to_pandas()
    frame = frame[~bad]
    try:
        ctx.contract.validate(frame, lazy=True)
        return table, pd.DataFrame(columns=QUARANTINE_COLUMNS)
    except pandera.errors.SchemaErrors as err:
        fc = err.failure_cases
        rows = fc[fc["index"].notna()]
        if len(rows) != len(fc):  # a column-level failure is a bug in ingest, not user input
            raise
        idx = rows["index"].astype(int).to_numpy()
        extra = pd.DataFrame({"file": ctx.source, "row": idx + offset + ctx.first_row,
                              "column": rows["column"].astype(str).values,
                              "value": rows["failure_case"].astype(str).values,
                              "rule": "contract: " + rows["check"].astype(str).values})
        now_bad = bad.copy()
        now_bad[idx] = True
        i = table.schema.get_field_index(BAD)
        return table.set_column(i, BAD, pa.array(now_bad)), extra
