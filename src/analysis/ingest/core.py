"""The ingest engine: every kind of table, every format, every size, in Arrow batches.

``ingest(path, kind)`` reads the file (``read``: a CSV or workbook sheet whole, with its
whole-file and cell checks; a Parquet file in batches of ``batch_rows`` rows, never
whole), sends every batch through the one per-batch body (``batch.begin_batch`` and the
function it returns: batch k+1 is parsed while the pool hashes the identifiers of batch k)
and writes the batches, every row with its file row number, to a staging Parquet file.
Then DuckDB (through ``analysis.engine``) does the whole-table work out of core: copies of
the unique key (``GROUP BY`` the key: the first copy is kept, later copies are quarantined
as "duplicate of row N") and the sort of the accepted rows by the unique key (``ORDER BY``,
ties in file order), written by DuckDB's own parallel Parquet writer (``COPY ... TO``) with
the pandas schema of the contract in the footer.

A table whose unique key is one pseudonym (cases) is staged instead in ranges of the key's
integer form (``_Buckets``, Arrow IPC files); at the end each range is sorted in turn (a
copy of a key shows as two equal neighbours) and handed to the same DuckDB writer already
in order (``_write_sorted``): the same table, byte for byte, without DuckDB's sort of
every column and its separate pass for copies.  A copy of the key, or keys not all of one
pseudonym kind, fall back to the staging Parquet file and the queries above.

The accepted table stays on disk and is loaded only when asked for
(``IngestResult.accepted``); so are the file row numbers of its rows
(``IngestResult.source_rows``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import weakref
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import __version__, engine, privacy, schemas
from ..provenance import sha256_file, timestamp, write_json
from .batch import (
    BAD,
    KEY_NUMBER,
    KEY_PREFIX,
    QUARANTINE_COLUMNS,
    ROW,
    Context,
    Finished,
    begin_batch,
    canonical_schema,
    contract_schema,
    sort_key_column,
    staging_schema,
)
from .common import InputError, short_list
from .mapping import SOURCES, Mapping, _duplicate_columns, _headers, _rename, load_mapping
from .parse import _coded, _large, cell_text
from .pseudonyms import MIN_PARALLEL_IDS, _Hasher
from .read import (
    CELL_PROBLEMS,
    FIELD_PROBLEMS,
    NESTED,
    SHEETS,
    check_file,
    is_parquet,
    nested_columns,
    nested_message,
    open_parquet,
    read_raw,
)

#: Rows of the input in memory at a time.
DEFAULT_BATCH_ROWS = 1_000_000
#: Up to this many rows read, the pandera contract checks every batch (``contract=None``).
CONTRACT_MAX_ROWS = 1_000_000
#: DuckDB's memory for the duplicate check and the sort; beyond it, it spills to disk.
DUCKDB_MEMORY = "1GB"
#: The rows of a row group DuckDB's Parquet writer closes (its ``ROW_GROUP_SIZE``): rows
#: handed to it already sorted go in batches of exactly this many, so that it writes the
#: row groups, and the bytes, that it writes from its own sort (``_write_sorted``).
DUCKDB_ROW_GROUP = 122_880


class IngestResult:
    """What ingest produced: the canonical table (on disk, loaded when first asked for), the
    quarantine and the accounting."""

    def __init__(self, kind: str, source: Path, rows_read: int, quarantine: pd.DataFrame,
                 ignored_columns: list[str], mapping: str | None, input_sha256: str,
                 key_fingerprint: str, *, table_path: Path, rows_accepted: int,
                 source_rows: np.ndarray | str | Path, stage: Path | None = None, batches: int = 0,
                 largest_batch: int = 0, seconds_by_step: dict[str, float] | None = None,
                 warnings: list[str] | None = None) -> None:
        self.kind = kind
        self.source = source
        self.rows_read = rows_read
        self.quarantine = quarantine
        self.ignored_columns = ignored_columns
        self.mapping = mapping
        self.input_sha256 = input_sha256
        self.key_fingerprint = key_fingerprint
        self.warnings = warnings or []
        self.table_path = table_path
        self.batches = batches
        self.largest_batch = largest_batch
        self.seconds_by_step = seconds_by_step or {}
        self._rows_accepted = rows_accepted
        self._source_rows = source_rows
        self._accepted: pd.DataFrame | None = None
        self._stage = stage
        if stage is not None:  # the staging folder goes with the result
            weakref.finalize(self, shutil.rmtree, str(stage), True)

    @property
    def accepted(self) -> pd.DataFrame:
        """The canonical table, sorted by its unique key (read from disk the first time)."""
        if self._accepted is None:
            self._accepted = pd.read_parquet(self.table_path)
        return self._accepted

    @accepted.setter
    def accepted(self, frame: pd.DataFrame) -> None:
        self._accepted = frame

    @property
    def source_rows(self) -> list[int]:
        """The file row number (as the spreadsheet shows it) of each accepted row, in the
        order of ``accepted``: what a later check of the rows (``analysis.returns``) names
        them by.  Read from the staged batches the first time it is asked for (DuckDB, the
        query of ``_sort_and_write``), so that a large table that never needs them does not
        pay for them."""
        if isinstance(self._source_rows, Path):  # written in table order (``_write_sorted``)
            self._source_rows = np.fromfile(self._source_rows, dtype=np.int64)
        elif isinstance(self._source_rows, str):
            self._source_rows = _query_rows(self._source_rows)
        return self._source_rows.tolist()

    @property
    def rows_accepted(self) -> int:
        return len(self._accepted) if self._accepted is not None else self._rows_accepted

    @property
    def rows_quarantined(self) -> int:
        return int(self.quarantine["row"].nunique()) if len(self.quarantine) else 0


# --------------------------------------------------------------------------------------
# Sources: the file as Arrow record batches
# --------------------------------------------------------------------------------------


def _frame_column(s: pd.Series) -> pa.Array:
    """A column of a frame read by ``read_raw`` as an Arrow text column."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        return pa.array(s, from_pandas=True).cast(pa.large_string())
    obj = s.astype(object)
    values = {u: cell_text(u) for u in pd.unique(obj)
              if not (u is None or (isinstance(u, float) and np.isnan(u)))}
    return pa.array([values.get(v) if v is not None and not (
        isinstance(v, float) and np.isnan(v)) else None for v in obj], pa.large_string())


class _Source:
    """A file as header names and Arrow record batches."""

    def __init__(self, path: Path, sheet: str | None, encoding: str | None,
                 expected: list[str]) -> None:
        self.path = path
        suffix = check_file(path)
        self.frame: pd.DataFrame | None = None
        self.parquet: Any = None
        if is_parquet(path) and suffix:
            self.parquet = open_parquet(path)
            names = list(self.parquet.schema_arrow.names)
            self.header = pd.DataFrame(columns=names)
            self.nested = nested_columns(self.parquet.schema_arrow)
            self.first_row = 1
            self.rows = self.parquet.metadata.num_rows
            self.attrs: dict[str, Any] = {}
        else:
            raw, self.first_row = read_raw(path, sheet=sheet, encoding=encoding,
                                           expected=expected)
            self.frame = raw
            self.header = raw.iloc[:0].copy()
            self.header.attrs = dict(raw.attrs)
            self.nested = raw.attrs.get(NESTED) or {}
            self.rows = len(raw)
            self.attrs = raw.attrs

    def batches(self, columns: list[str], batch_rows: int) -> Any:
        """The ``columns`` of the file, ``batch_rows`` rows at a time."""
        if self.parquet is not None:
            yield from self.parquet.iter_batches(batch_size=batch_rows, columns=columns)
            return
        assert self.frame is not None
        table = pa.table({c: _frame_column(self.frame[c]) for c in columns}
                         if columns else {"_": pa.nulls(len(self.frame))})
        yield from table.to_batches(max_chunksize=batch_rows)


# --------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------


def ingest(path: str | Path, kind: str, mapping: str | Path | Mapping | None = None, *,
           key: bytes | None = None, demo_key: bool = False, sheet: str | None = None,
           encoding: str | None = None, standards: schemas.Standards | None = None,
           scale: schemas.Scale | None = None, today: date | None = None,
           batch_rows: int = DEFAULT_BATCH_ROWS, workers: int | None = None,
           workdir: str | Path | None = None, contract: bool | None = None,
           progress: bool = False) -> IngestResult:
    """Read ``path`` and return the canonical ``kind`` table with its quarantine.

    Every file goes through the same batches of at most ``batch_rows`` rows (a Parquet file
    is never read whole); ``workers`` processes compute the pseudonyms of large batches
    (default: every core); the staging files go to a new folder under ``workdir`` (default:
    the system's temporary folder; give the output folder to let ``write_outputs`` move the
    table instead of copying it).  ``contract`` checks every batch with the pandera contract
    (default: when the file has at most ``CONTRACT_MAX_ROWS`` rows; the value rules enforce
    the same checks, so larger files skip the cost).

    Raises ``InputError`` for whole-file problems and ``privacy.KeyError_`` when no key is set.
    """
    t0 = time.perf_counter()
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    path = Path(path)
    spec = schemas.spec_for(kind, standards, scale)
    mp = load_mapping(mapping)
    if mp and mp.kind and mp.kind != kind:
        raise InputError(f"{mp.source}: this mapping is for {mp.kind!r} tables, not {kind!r}. "
                         f"Use --kind {mp.kind} or another mapping.")
    key = key if key is not None else privacy.load_key(demo=demo_key)
    expected = [c.name for c in (*spec.columns, *spec.inputs)]
    if mp:
        expected += [v for vs in mp.columns.values() for v in vs]
    src = _Source(path, sheet or (mp.sheet if mp else None), encoding, expected)
    renamed, ignored = _rename(src.header, spec, mp)
    canon_of: dict[str, str] = renamed.attrs.get(SOURCES, {})
    for name, typ in src.nested.items():
        if name in canon_of:
            raise InputError(nested_message(path, name, typ))
    columns = {canon: raw for raw, canon in canon_of.items()}
    dups = [(canon, label1, str(col2), label2)
            for canon, _, label1, col2, label2 in _duplicate_columns(src.header, spec, mp)]
    present = set(columns) | {c for c in (mp.constants if mp else {})} | {
        c for c, parts in (mp.compose if mp else {}).items() if all(p in columns for p in parts)}
    derivable = {"age_band"} if {"date_of_birth", "age_years"} & present else set()
    missing = [c for c in spec.required if c not in present and c not in derivable]
    if missing:
        found = short_list(_headers(src.header))
        hint = ("pass --mapping annex_a for an Ofsted Annex A export, or write a mapping file "
                "(see README, 'Data contracts')") if kind == "cases" else (
                "rename the columns to the contract names listed by `sqa dictionary`")
        read, sheets = src.attrs.get(SHEETS) or ("", [])
        if not (sheet or (mp.sheet if mp else None)) and len(sheets) > 1:  # the first was read
            hint = (f"pass --sheet with the sheet that holds the table (the first, {read!r}, "
                    f"was read; the workbook has {short_list(sheets)}), or " + hint)
        raise InputError(
            f"{path}: missing required column(s) {', '.join(repr(m) for m in missing)} for the "
            f"{kind} table. Columns found: {found}. Fix: {hint}.")
    for name in [d[2] for d in dups]:
        if name in src.nested:
            raise InputError(nested_message(path, name, src.nested[name]))

    rows_read = src.rows
    if contract is None:
        contract = rows_read <= CONTRACT_MAX_ROWS
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".sqa-ingest-", dir=workdir))
    hasher = _Hasher(key, workers or os.cpu_count() or 1)
    ctx = Context(spec=spec, mapping=mp, key=key, hasher=hasher,
                  today=today or privacy.today(), source=str(path), first_row=src.first_row,
                  columns=columns, canon_of=canon_of, dup_columns=dups,
                  field_problems=src.attrs.get(FIELD_PROBLEMS) or {},
                  cell_problems=src.attrs.get(CELL_PROBLEMS) or {},
                  contract=contract_schema(spec) if contract else None)
    staged = staging_schema(spec)
    read_cols = list(dict.fromkeys([*columns.values(), *(d[2] for d in dups)]))
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    bar = tqdm(total=rows_read, unit="rows", unit_scale=True, disable=not progress,
               desc=f"ingest {path.name}")
    problems: list[pd.DataFrame] = []
    contract_failures: list[pd.DataFrame] = []
    offset = batches = largest = 0
    try:
        if rows_read >= MIN_PARALLEL_IDS:
            hasher.start()
        clock = time.perf_counter
        # A table whose unique key is one pseudonym (cases) is staged in ranges of the key
        # (``_Buckets``: Arrow IPC files, sorted one at a time at the end); any other is
        # staged as one Parquet file, uncompressed (read once, by DuckDB, from a local
        # disk), the identifiers without dictionaries (each is all but unique).
        keyed = _bucketed(spec, present)
        with contextlib.ExitStack() as stack:
            if keyed:
                # Ranges of half a batch: two of them (one written by DuckDB, the next
                # sorted) in memory at the end (``_write_sorted``).
                buckets = _Buckets(stage, staged, 2 * -(-rows_read // batch_rows))
                stack.callback(buckets.close)
                write_table = buckets.write
            else:
                writer = stack.enter_context(pq.ParquetWriter(
                    stage / "staged.parquet", staged, compression="none",
                    use_dictionary=_dictionary_columns(staged), write_statistics=False))

                def write_table(table: pa.Table) -> None:
                    writer.write_table(table, row_group_size=max(table.num_rows, 1))

            # Each batch is read ahead and written by threads (Arrow's Parquet reader and
            # writer release the GIL) while the main thread works on the one between; one
            # read and one write in flight at a time.
            from concurrent.futures import Future, ThreadPoolExecutor

            writing: list[Future] = []
            io = stack.enter_context(ThreadPoolExecutor(2, thread_name_prefix="sqa-io"))

            def wait_written() -> None:
                if writing:
                    t = clock()
                    writing.pop().result()
                    ctx.seconds["write staging"] += clock() - t

            def write(finish: Finished) -> None:
                table, qframe, extra = finish()
                wait_written()
                writing.append(io.submit(write_table, table))
                if len(qframe):
                    problems.append(qframe)
                if len(extra):
                    contract_failures.append(extra)

            # A two-stage pipeline: batch k+1 is read, parsed and its identifiers queued in
            # the hashing pool before batch k waits for its pseudonyms and is written.
            pending: Finished | None = None
            started: Finished | None = None
            batch: pa.RecordBatch | None = None
            t = clock()
            for batch in _prefetched(src.batches(read_cols, batch_rows), io):
                ctx.seconds["read batches"] += clock() - t
                if offset == 0 and batch.num_rows:
                    _choose_distinct(batch, ctx)
                started = begin_batch(batch, offset, ctx, staged)
                if pending is not None:
                    write(pending)
                pending = started
                offset += batch.num_rows
                batches += 1
                largest = max(largest, batch.num_rows)
                bar.update(batch.num_rows)
                t = clock()
            if pending is not None:
                write(pending)
            wait_written()
        hasher.close()
        # The last batches (and their parsed columns, held by the finish functions) go before
        # DuckDB's step, and their memory is given back to the system.
        pending = started = batch = None
        _release_memory()
        if offset != rows_read:
            raise InputError(f"{path}: read {offset} rows but the file says {rows_read}; "
                             "the file may be damaged. Re-export it.")
        t = clock()
        table_path = stage / "table.parquet"
        done = None
        if keyed:
            if ctx.sort_keys:
                done = _write_sorted(buckets, spec, table_path)
            if done is None:  # copies of the key, or keys not all pseudonyms of one kind
                buckets.to_parquet(stage / "staged.parquet")
        if done is not None:
            dup_rows, accepted, source_rows = done
        else:
            dup_rows, accepted, source_rows = _sort_and_write(
                stage, spec, present, table_path, str(path), ctx.sort_keys)
        ctx.seconds["duplicates, sort and write (DuckDB)"] += clock() - t
    except BaseException:
        hasher.close(stop=True)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        hasher.close()
        bar.close()
    if len(dup_rows):
        problems.append(dup_rows)
    qframe = (pd.concat(problems, ignore_index=True).sort_values(
        ["row", "column", "rule"], kind="stable") if problems
        else pd.DataFrame(columns=QUARANTINE_COLUMNS))
    if contract_failures:
        qframe = pd.concat([qframe, *contract_failures], ignore_index=True)
    quarantine = qframe.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    t = time.perf_counter()
    input_sha = sha256_file(path)
    ctx.seconds["SHA-256 of the input"] += time.perf_counter() - t
    ctx.seconds["total"] = time.perf_counter() - t0
    result = IngestResult(kind=kind, source=path, rows_read=rows_read, quarantine=quarantine,
                          ignored_columns=ignored, mapping=mp.source if mp else None,
                          input_sha256=input_sha, key_fingerprint=privacy.key_fingerprint(key),
                          table_path=table_path, rows_accepted=accepted,
                          source_rows=source_rows, stage=stage, batches=batches,
                          largest_batch=largest,
                          seconds_by_step={k: round(v, 3) for k, v in ctx.seconds.items()})
    assert result.rows_accepted + result.rows_quarantined == rows_read, "row accounting broken"
    return result


def _prefetched(batches: Any, pool: Any) -> Any:
    """The items of ``batches``, the next one read by ``pool`` (a thread: Arrow's Parquet
    reader releases the GIL) while the caller works on the current one."""
    it = iter(batches)
    done = object()
    ahead = pool.submit(next, it, done)
    while True:
        item = ahead.result()
        if item is done:
            return
        ahead = pool.submit(next, it, done)
        yield item


def _release_memory() -> None:
    """Give freed memory back to the system: Arrow's pool and the C heap (glibc's
    ``malloc_trim``, where there is one), after a garbage collection."""
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The staged columns worth a Parquet dictionary: all but the identifiers' text and
    numbers and the file row number (all but unique)."""
    return [f.name for f in schema if f.name not in (ROW, KEY_NUMBER)
            and not pa.types.is_string(f.type) and not pa.types.is_large_string(f.type)]


def _bucketed(spec: schemas.TableSpec, present: set[str]) -> bool:
    """Whether the table is staged in ranges of its key (``_Buckets``): its unique key is one
    column, a pseudonym (sorted by its integer form, ``KEY_PREFIX`` and ``KEY_NUMBER``)."""
    keys = list(spec.unique)
    return len(keys) == 1 and keys[0] == sort_key_column(spec) and keys[0] in present


def _uint64(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
    """A ``uint64`` column's values (anything where missing) and where it is not missing
    (``None``: nowhere missing), without the float conversion of ``to_numpy``."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if not n:
        return np.zeros(0, np.uint64), None
    values = np.frombuffer(arr.buffers()[1], dtype=np.uint64, count=n, offset=arr.offset * 8)
    return values, (arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None)


class _Buckets:
    """The staged batches in ``n`` ranges of the sort key (``KEY_NUMBER``, the pseudonym's
    16 hex digits as an integer, is uniform: HMAC output), one Arrow IPC file each, plus one
    for the rows without a key; each batch's rows go to their ranges in file order.

    Sorting one range at a time by the key (``_write_sorted``) then gives the table's
    order, so that DuckDB writes rows already sorted instead of sorting every column of
    every row (several times the work, most of the ingest's DuckDB step).
    """

    def __init__(self, stage: Path, schema: pa.Schema, n: int) -> None:
        self.n = max(1, n)
        self.schema = schema
        self.paths = [stage / f"bucket-{i}.arrow" for i in range(self.n + 1)]
        self.writers: list[Any] = [None] * (self.n + 1)
        self.prefix: int | None = None  # the one KEY_PREFIX of the keys, -1 when several
        self.accepted = 0  # rows not quarantined so far

    def write(self, table: pa.Table) -> None:
        number, valid = _uint64(table.column(KEY_NUMBER))
        n = self.n
        # ((number >> 32) * n) >> 32: a range in [0, n), in the order of the numbers.
        bucket = ((number >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)
        if valid is not None:
            bucket = np.where(valid, bucket, np.uint64(n))
        bucket = bucket.astype(np.uint16 if n < 65_535 else np.uint32)
        if valid is None or valid.any():
            prefix, _ = _uint64(table.column(KEY_PREFIX).cast(pa.uint64()))
            if valid is not None:
                prefix = prefix[valid]
            lo, hi = int(prefix.min()), int(prefix.max())
            if self.prefix is None:
                self.prefix = lo if lo == hi else -1
            elif lo != hi or lo != self.prefix:
                self.prefix = -1
        self.accepted += table.num_rows - (pc.sum(table.column(BAD)).as_py() or 0)
        counts = np.bincount(bucket, minlength=n + 1)
        if (counts == table.num_rows).any():  # one range: no reordering
            self._append(int(np.argmax(counts)), table)
            return
        order = np.argsort(bucket, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)])
        for i in np.flatnonzero(counts):  # one range at a time: one part in memory at once
            self._append(int(i), table.take(pa.array(order[starts[i]:starts[i + 1]])))

    def _append(self, i: int, part: pa.Table) -> None:
        if self.writers[i] is None:
            self.writers[i] = pa.ipc.new_file(str(self.paths[i]), self.schema)
        self.writers[i].write_table(part)

    def close(self) -> None:
        for i, w in enumerate(self.writers):
            if w is not None:
                w.close()
                self.writers[i] = False  # written and closed

    def tables(self) -> Any:
        """Each range's rows (in file order), the rows without a key last."""
        for i, w in enumerate(self.writers):
            if w is not None:
                yield i, pa.ipc.open_file(pa.memory_map(str(self.paths[i]))).read_all()

    def to_parquet(self, path: Path) -> None:
        """Every row as one staging Parquet file (``_sort_and_write``: DuckDB finds the
        copies of the key and sorts; the order of the rows in the file does not matter)."""
        import pyarrow.parquet as pq

        with pq.ParquetWriter(path, self.schema, compression="none",
                              use_dictionary=_dictionary_columns(self.schema),
                              write_statistics=False) as writer:
            for _, table in self.tables():
                writer.write_table(table, row_group_size=max(table.num_rows, 1))
            if all(w is None for w in self.writers):  # no rows: an empty file
                writer.write_table(self.schema.empty_table())


def _one_batch(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """Record batches as one (copied only when there are several)."""
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches, schema).combine_chunks().to_batches()[0]


class _Copies(Exception):
    """A range of the key holds copies: the duplicate rule of ``_sort_and_write`` applies."""


def _write_sorted(buckets: _Buckets, spec: schemas.TableSpec, table_path: Path
                  ) -> tuple[pd.DataFrame, int, Path] | None:
    """The accepted rows sorted by the key (then file row), written by DuckDB's own Parquet
    writer as ``_sort_and_write`` writes them (the same query but for the ``ORDER BY``, the
    same row groups: the same bytes), when the staged ranges (``_Buckets``) allow it: every
    key of one prefix, no copy of a key, some row accepted.  Returns what
    ``_sort_and_write`` returns (no duplicates; the file row numbers in table order as a
    file of ``int64``), or ``None`` when the ranges do not allow it (nothing written).

    Each range is sorted in turn by its key numbers, which sees any copy of a key (adjacent
    once sorted; rows quarantined for another reason count, as in ``_sort_and_write``): a
    range written here has no two equal keys, so its order is the one order of its keys
    whatever the sort (numpy's default, faster than a stable sort), and a range with a copy
    goes to the fallback.  The sorted rows are handed to DuckDB as Arrow batches of
    ``DUCKDB_ROW_GROUP`` rows, its insertion order kept.
    """
    if buckets.prefix is None or buckets.prefix < 0 or not buckets.accepted:
        return None
    final = canonical_schema(spec)
    names = [f.name for f in final]
    schema = pa.schema([buckets.schema.field(n) for n in names])
    rows_path = table_path.parent / "source_rows.int64"
    # (with at most two ranges in memory: the one DuckDB writes and the next, sorted)
    state = {"copies": False, "rows": 0}

    def sorted_parts() -> Any:
        with open(rows_path, "wb") as rows_out:
            for i, table in buckets.tables():
                if i < buckets.n:  # every key present (missing keys: the last range)
                    number, _ = _uint64(table.column(KEY_NUMBER))
                    # Any sort: the keys of a range are all different, or there is a copy
                    # and the fallback sorts (so no tie's order can matter).
                    order = np.argsort(number)
                    keys = number[order]
                    if len(keys) > 1 and bool((keys[1:] == keys[:-1]).any()):
                        state["copies"] = True
                        raise _Copies
                else:
                    order = np.arange(table.num_rows)
                bad = table.column(BAD).to_numpy(zero_copy_only=False)[order]
                keep = order[~bad] if bad.any() else order
                # (the columns written and the row numbers only: the other staged
                # columns are not gathered)
                part = table.select([*names, ROW]).take(pa.array(keep))
                part.column(ROW).to_numpy().astype(np.int64).tofile(rows_out)
                state["rows"] += part.num_rows
                yield part.select(names)
                del table, part

    def batches() -> Any:  # batches of exactly DUCKDB_ROW_GROUP rows, the last one shorter
        pending: list[pa.RecordBatch] = []
        count = 0
        # The next range is sorted by a thread (numpy's sort and Arrow's take release the
        # GIL) while DuckDB encodes this one.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="sqa-sort") as pool:
            for part in _prefetched(sorted_parts(), pool):
                for b in part.to_batches():
                    pos = 0
                    while pos < b.num_rows:
                        size = min(DUCKDB_ROW_GROUP - count, b.num_rows - pos)
                        pending.append(b.slice(pos, size))
                        count += size
                        pos += size
                        if count == DUCKDB_ROW_GROUP:
                            yield _one_batch(pending, schema)
                            pending, count = [], 0
        if count:
            yield _one_batch(pending, schema)

    q = engine.quote
    con = engine.connect(memory_limit=DUCKDB_MEMORY, temp_dir=table_path.parent)
    engine.run(con, "SET enable_progress_bar = false")  # stdout is the command's report
    engine.run(con, "SET preserve_insertion_order = true")  # the rows come sorted
    try:
        con.register("sqa_sorted", pa.RecordBatchReader.from_batches(schema, batches()))
        cols = ", ".join(_staged_sql(spec.column(f.name)) for f in final)
        try:
            written = engine.run(con, f"""
                COPY (SELECT {cols} FROM {q('sqa_sorted')}) TO '{engine.sql_path(table_path)}'
                (FORMAT parquet, KV_METADATA {{pandas: $pandas}})""",
                {"pandas": final.metadata[b"pandas"].decode()}).fetchone()[0]
        except Exception:
            if not state["copies"]:
                raise
            written = None
    finally:
        con.close()
    if state["copies"] or written is None:
        table_path.unlink(missing_ok=True)
        rows_path.unlink(missing_ok=True)
        return None
    if int(written) != state["rows"] or state["rows"] != buckets.accepted:
        raise RuntimeError(f"ingest wrote {written} rows of {buckets.accepted} accepted")
    return pd.DataFrame(columns=QUARANTINE_COLUMNS), int(written), rows_path


def _choose_distinct(batch: pa.RecordBatch, ctx: Context) -> None:
    """Whether to hash each identifier column's distinct values (a child appears in many
    rows) or every row (a case id is unique: the dictionary would be as long as the
    column): decided on the first batch, from the share of distinct values."""
    types = {c.name: c.type for c in (*ctx.spec.columns, *ctx.spec.inputs)}
    for canon, raw in ctx.columns.items():
        if types.get(canon) != "pseudonym":
            continue
        arr = batch.column(raw)
        sample = arr.slice(0, min(len(arr), 100_000))
        if pa.types.is_dictionary(sample.type):
            ctx.distinct[canon] = True
            continue
        distinct = pc.count_distinct(_large(sample)).as_py()
        ctx.distinct[canon] = distinct < 0.8 * len(sample)


def _sort_and_write(stage: Path, spec: schemas.TableSpec, present: set[str], table_path: Path,
                    source: str, by_number: bool = True) -> tuple[pd.DataFrame, int, str]:
    """DuckDB over the staged batches: the duplicates of the unique key (quarantine entries),
    then the accepted rows sorted by the key written as the canonical table.  Returns the
    duplicates, the number of rows written and the query of their file row numbers in table
    order (run only when asked for: ``IngestResult.source_rows``).

    The table is written by DuckDB's own parallel Parquet writer (``COPY (SELECT ... ORDER
    BY ...) TO ... (FORMAT parquet)``; DuckDB documentation, "Parquet Export"), with the
    contract's pandas schema as the footer's ``pandas`` key (``KV_METADATA``): read back
    with ``pandas.read_parquet`` it gives the dtypes of ``canonical_schema`` (``string``,
    ``datetime64[ns]``, ``boolean``, ``Int64``).  The order is total (the key, then the file
    row), so insertion order need not be kept.  A pseudonym key is sorted and grouped by its
    integer form (``KEY_PREFIX``, ``KEY_NUMBER``: the same order, ``by_number``), unless a
    value was not in pseudonym form.
    """
    q = engine.quote
    con = engine.connect(memory_limit=DUCKDB_MEMORY, temp_dir=stage)
    engine.run(con, "SET enable_progress_bar = false")  # stdout is the command's report
    engine.run(con, "SET preserve_insertion_order = false")
    try:
        src = f"read_parquet('{engine.sql_path(stage / 'staged.parquet')}')"
        keys = list(spec.unique)
        # The key as sorted and grouped: a pseudonym as its two integers.
        terms = [q(k) for k in keys]
        if by_number and keys and keys[0] == sort_key_column(spec):
            terms[:1] = [KEY_PREFIX, KEY_NUMBER]
        dups = pd.DataFrame(columns=QUARANTINE_COLUMNS)
        anti = ""
        if keys and all(k in present for k in keys):
            on = ", ".join(terms)
            notnull = " AND ".join(f"{t} IS NOT NULL" for t in terms)
            engine.run(con, f"""
                CREATE TEMP TABLE copies AS
                SELECT {on}, min({ROW}) AS first_row FROM {src} WHERE {notnull}
                GROUP BY {on} HAVING count(*) > 1""")
            found = pd.DataFrame()
            if engine.run(con, "SELECT count(*) FROM copies").fetchone()[0]:  # usually none
                dup_path = engine.sql_path(stage / "duplicates.parquet")
                engine.run(con, f"""
                    COPY (SELECT s.{ROW} AS dup_row, c.first_row
                          FROM {src} AS s JOIN copies AS c USING ({on})
                          WHERE s.{ROW} <> c.first_row) TO '{dup_path}' (FORMAT parquet)""")
                found = engine.run(con, f"SELECT dup_row, first_row FROM read_parquet("
                                        f"'{dup_path}') ORDER BY dup_row").df()
                anti = (f" AND {ROW} NOT IN (SELECT dup_row FROM read_parquet('{dup_path}'))")
            if len(found):
                dups = pd.DataFrame({
                    "file": source, "row": found["dup_row"].to_numpy(dtype=np.int64),
                    "column": "+".join(keys), "value": "",
                    "rule": [f"duplicate of row {int(f)}" for f in found["first_row"]]})
        final = canonical_schema(spec)
        order = ", ".join([*(f"{t} ASC NULLS LAST" for t in terms), ROW])
        cols = ", ".join(_staged_sql(spec.column(f.name)) for f in final)
        accepted = f"FROM {src} WHERE NOT {BAD}{anti} ORDER BY {order}"
        written = engine.run(con, f"""
            COPY (SELECT {cols} {accepted}) TO '{engine.sql_path(table_path)}'
            (FORMAT parquet, KV_METADATA {{pandas: $pandas}})""",
            {"pandas": final.metadata[b"pandas"].decode()}).fetchone()[0]
    finally:
        con.close()
    return dups, int(written), f"SELECT {ROW} {accepted}"


def _staged_sql(col: schemas.Column) -> str:
    """A staged column as the canonical column, in SQL: a coded column's position (0-based,
    ``batch.staging_schema``) as its code, an ``ENUM`` of the contract's allowed codes
    (DuckDB's list of ``ENUM`` values, indexed from 1)."""
    name = engine.quote(col.name)
    if not _coded(col):
        return name
    if not col.allowed:
        return f"CAST(NULL AS VARCHAR) AS {name}"
    codes = ", ".join("'" + str(c).replace("'", "''") + "'" for c in col.allowed)
    return f"([{codes}]::ENUM({codes})[])[{name} + 1] AS {name}"


def _query_rows(sql: str) -> np.ndarray:
    """The file row numbers of the accepted rows, in table order (``_sort_and_write``)."""
    con = engine.connect()
    try:
        engine.run(con, "SET enable_progress_bar = false")
        return engine.run(con, sql).df()[ROW].to_numpy(dtype=np.int64)
    finally:
        con.close()


def write_outputs(result: IngestResult, out_dir: str | Path, name: str | None = None
                  ) -> dict[str, Path]:
    """Write ``<name>.parquet``, ``<name>_quarantine.csv`` and ``<name>_ingest.json``.

    ``name`` defaults to the table kind (``cases``, ``audit``, ``ratings``).  The table is
    moved from the staging folder (or copied, when written before); a table changed or
    loaded in memory is written from the frame.
    """
    from ..export import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or result.kind
    paths = {"table": out / f"{name}.parquet",
             "quarantine": out / f"{name}_quarantine.csv",
             "log": out / f"{name}_ingest.json"}
    if result._accepted is not None:
        result._accepted.to_parquet(paths["table"], index=False)
    elif result.table_path.resolve() != paths["table"].resolve():
        if result._stage is not None and result.table_path.parent == result._stage:
            shutil.move(str(result.table_path), paths["table"])
            result.table_path = paths["table"]
        else:
            shutil.copyfile(result.table_path, paths["table"])
    write_csv(result.quarantine, paths["quarantine"])
    st = paths["table"].stat()
    write_json({
        "kind": result.kind, "source": str(result.source), "input_sha256": result.input_sha256,
        "mapping": result.mapping, "rows_read": result.rows_read,
        "rows_accepted": result.rows_accepted, "rows_quarantined": result.rows_quarantined,
        "ignored_columns": result.ignored_columns, "key_fingerprint": result.key_fingerprint,
        "package_version": __version__, "written_at": timestamp(),
        "quarantine_rules": result.quarantine["rule"].value_counts().sort_index().to_dict()
        if len(result.quarantine) else {},
        # The table written, identified (its SHA-256) for whoever reads it next: a sample's
        # manifest names it without hashing the file again while size and time still match.
        "table": {"file": paths["table"].name, "sha256": sha256_file(paths["table"]),
                  "bytes": st.st_size, "mtime_ns": st.st_mtime_ns},
    }, paths["log"])
    return paths


def read_table(path: str | Path, kind: str | None = None) -> pd.DataFrame:
    """Load a canonical table written by ingest (Parquet), validating it when ``kind`` is given."""
    df = pd.read_parquet(path)
    if kind:
        schemas.validate(df, kind)
    return df
