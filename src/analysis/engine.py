"""Engine: the one DuckDB/Arrow engine every whole-table stage runs on, at every size.

One council's cases table (about 10,000 rows) and a regional pool of tens of millions of rows
go through the same SQL: DuckDB (Raasveldt & Muehleisen 2019, "DuckDB: an Embeddable
Analytical Database", SIGMOD) scans a pandas frame, a Parquet file or a hive-partitioned
directory of Parquet files in place, out of core, and returns aggregates.  This module holds
what every stage shares:

* ``connect``: a connection with the project's settings (memory limit, threads, spill
  directory when given; insertion order kept so that results are deterministic);
* ``source``: the SQL table expression of a cases table given as a frame (registered on the
  connection), a Parquet file, or a directory of Parquet files (a pool: ``council=<code>/``
  partitions, read with ``hive_partitioning``);
* ``footer``: a single Parquet file's column names and the range of its date columns, from
  one read of its footer (the statistics of its row groups);
* ``table``: a cases table opened for one stage (connection, source, column names and a
  single file's footer), whose ``select`` runs the stage's one ``SELECT``, ``where_in`` writes
  a filter the footer does not prove needless and ``span`` gives date columns' range;
* ``run``: execute one statement of the project's SQL, recording it while ``recording()`` is
  active, so that tests can check that every statement the project emits parses in another
  engine's dialect (``sqlglot``; README, "Beyond one machine");
* ``to_dialect``: one of those statements in another engine's SQL (Spark SQL by default),
  each scan of a file, folder or registered frame replaced by a table name (``sqlglot``);
* ``scan_seconds``: the floor of the benchmarks: DuckDB scanning the same columns of the
  same file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Footer", "Source", "Table", "columns_of", "connect", "footer", "quote", "recording",
           "run", "scan_seconds", "source", "sql_path", "table", "to_dialect"]

_RECORDED: list[list[str]] = []
_SHARED: Any = None

#: Keep each Parquet file's footer between statements (some 2 ms a statement on a file of
#: 10 million rows).  Safe when a file is rewritten: DuckDB checks the file's modification
#: time and does not trust a file modified in the last 10 seconds
#: (``ExternalFileCache::IsValid``), so a table rewritten at the same path is read afresh.
_METADATA_CACHE = "SET parquet_metadata_cache = true"


def connect(memory_limit: str | None = None, temp_dir: str | Path | None = None,
            threads: int | None = None) -> Any:
    """A DuckDB connection with the project's settings.

    Without settings, a new connection (``cursor``) to one in-memory database the process
    shares: opening a database costs some 15 ms, a connection to it well under one, and
    each connection keeps its own registered frames and temporary views.  ``memory_limit``
    (e.g. ``"1GB"``) bounds DuckDB's own memory, spilling to ``temp_dir`` beyond it;
    ``threads`` defaults to every core; a connection with any of them has a database of its
    own, so that its settings reach no other stage.
    """
    import duckdb

    global _SHARED
    if memory_limit is None and temp_dir is None and threads is None:
        if _SHARED is None:
            _SHARED = duckdb.connect()
            _SHARED.execute(_METADATA_CACHE)
        return _SHARED.cursor()
    con = duckdb.connect()
    con.execute(_METADATA_CACHE)
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = '{sql_path(temp_dir)}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def sql_path(p: str | Path) -> str:
    """A path as the inside of a SQL string literal (quotes doubled)."""
    return str(p).replace("'", "''")


def quote(name: str) -> str:
    """A column or table name as a quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


Source = pd.DataFrame | str | Path


def source(con: Any, cases: Source, name: str = "cases_src",
           columns: Sequence[str] | None = None) -> str:
    """The SQL table expression of ``cases`` on ``con``.

    A frame is registered on ``con`` as ``name`` (only ``columns`` when given and present,
    so that DuckDB does not convert the rest); a Parquet file is scanned in place; a
    directory is a dataset of Parquet files (``**/*.parquet``), hive-partitioned (a pool's
    ``council=<code>/`` folders give a ``council`` column).  A URL (``s3://bucket/pool``,
    ``https://...``) is a partitioned dataset on object storage, read by DuckDB's ``httpfs``
    extension (``INSTALL httpfs; LOAD httpfs`` and the store's credentials on ``con``).
    """
    if isinstance(cases, pd.DataFrame):
        frame = cases if columns is None else cases[[c for c in columns if c in cases.columns]]
        con.register(name, frame)
        return name
    if isinstance(cases, str) and "://" in cases:
        url = cases.rstrip("/")
        glob = url if url.endswith(".parquet") else f"{url}/**/*.parquet"
        return (f"read_parquet('{sql_path(glob)}', hive_partitioning = true, "
                "union_by_name = true)")
    p = Path(cases)
    if p.is_dir():
        return (f"read_parquet('{sql_path(p)}/**/*.parquet', hive_partitioning = true, "
                "union_by_name = true)")
    return f"read_parquet('{sql_path(p)}')"


def _one_file(cases: Source | None) -> Path | None:
    """``cases`` as the path of a single local Parquet file whose footer names every column
    DuckDB reads (not one in a ``key=value`` folder, which DuckDB reads as a hive partition:
    a column the footer does not name); else None."""
    if isinstance(cases, (str, Path)) and "://" not in str(cases) \
            and str(cases).endswith(".parquet") and Path(cases).is_file() \
            and not any("=" in part for part in Path(cases).parent.parts):
        return Path(cases)
    return None


@dataclass(frozen=True)
class Footer:
    """What one read of a Parquet file's footer gives (:func:`footer`): the column
    ``names``, and ``ranges``: for each date or timestamp column asked for whose range the
    row groups' statistics give, its smallest and largest value as ``datetime.date``
    (each value's day, as DuckDB's ``::DATE``)."""

    names: list[str]
    ranges: dict[str, tuple[date, date]]
    metadata: Any = field(default=None, repr=False, compare=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # answers

    def only(self, column: str) -> Any:
        """The one value every row of ``column`` holds, when the row groups' statistics prove
        it (each has ``min == max``, the same value, and no nulls); else None.  A filter that
        keeps that value keeps every row, so a stage can leave it out (DuckDB still tests
        each row against it): a front-door extract holds front-door contacts only."""
        if column not in self._memo:
            self._memo[column] = self._one_value(column)
        return self._memo[column]

    def _one_value(self, column: str) -> Any:
        md = self.metadata
        j = _leaf(md, column)
        if j is None or md.num_row_groups == 0:
            return None
        value = None
        for i in range(md.num_row_groups):
            st = md.row_group(i).column(j).statistics
            if st is None or not st.has_min_max or not st.has_null_count \
                    or st.null_count != 0 or st.min != st.max \
                    or (value is not None and st.min != value):
                return None
            value = st.min
        return value

    def complete(self, column: str) -> bool:
        """True when the row groups' statistics prove ``column`` has a value in every row
        (each row group records a null count, and it is 0); False when they do not (a
        column they do not describe, or one with a null)."""
        key = f"complete:{column}"
        if key not in self._memo:
            md = self.metadata
            j = _leaf(md, column)
            ok = j is not None and md.num_row_groups > 0
            for i in range(md.num_row_groups if ok else 0):
                st = md.row_group(i).column(j).statistics
                if st is None or not st.has_null_count or st.null_count != 0:
                    ok = False
                    break
            self._memo[key] = ok
        return bool(self._memo[key])

    def sql_type(self, column: str) -> str | None:
        """DuckDB's type of a date or timestamp (without time zone) column, from its
        Parquet logical type: ``DATE``, ``TIMESTAMP_NS`` (nanoseconds) or ``TIMESTAMP``
        (micro- and milliseconds, which DuckDB reads as microseconds); None for any other
        column or type."""
        kind = _logical(self.metadata, column)
        if kind is None:
            return None
        if kind.get("Type") == "Date":
            return "DATE"
        if kind.get("Type") == "Timestamp" and not kind.get("isAdjustedToUTC"):
            return {"nanoseconds": "TIMESTAMP_NS", "microseconds": "TIMESTAMP",
                    "milliseconds": "TIMESTAMP"}.get(str(kind.get("timeUnit")))
        return None


def _leaf(md: Any, column: str) -> int | None:
    """The index of ``column`` among the leaf columns of file metadata ``md``, or None."""
    if md is None:
        return None
    return next((j for j in range(md.num_columns) if md.schema.column(j).path == column), None)


def _logical(md: Any, column: str) -> dict[str, Any] | None:
    """The Parquet logical type of a top-level ``column`` in file metadata ``md`` (its JSON
    form, e.g. ``{"Type": "Date"}``), or None."""
    j = _leaf(md, column)
    if j is None:
        return None
    import json

    return json.loads(md.schema.column(j).logical_type.to_json() or "{}")


#: Parquet timestamp units (the footer's logical type) as numpy's.
_UNITS = {"milliseconds": "ms", "microseconds": "us", "nanoseconds": "ns"}


def footer(cases: Source | None, ranges: Sequence[str] = ()) -> Footer | None:
    """The column names of a single Parquet file and the range of its date columns
    ``ranges``, from one read of its footer (pyarrow's ``ParquetFile.metadata``); None when
    ``cases`` is not one local file (a frame, a pool directory, a URL, or a file in a
    ``key=value`` folder: DuckDB describes those).  A file unchanged since it was last read
    (same inode, size and modification time, written over ``SETTLED_SECONDS`` ago) is not
    read again in the same process.

    A column's range is the smallest ``min`` and largest ``max`` of its row groups'
    statistics (the Parquet format's ``Statistics``, written by pyarrow, DuckDB and Spark):
    exactly the ``min``/``max`` a scan would give, without reading the data.  It is left
    out of ``ranges`` (ask DuckDB) unless the column is a date (``INT32``) or a timestamp
    without time zone (``INT64``; not the legacy ``INT96``) and every row group with a value
    in it has ``min``/``max`` (a row group with only nulls bounds nothing), and one has."""
    path = _one_file(cases)
    if path is None:
        return None
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, tuple(ranges))
    # kept only for a file last written over SETTLED_SECONDS ago: a file system's clock for
    # modification times is coarse (DuckDB's own rule, ExternalFileCache::IsValid), so a
    # file rewritten in place within one tick, at the same size, is read afresh
    settled = time.time() - st.st_mtime > SETTLED_SECONDS
    if not (settled and key in _FOOTERS):
        got = _read_footer(path, ranges)
        if not settled:
            return got
        if len(_FOOTERS) >= 32:
            _FOOTERS.pop(next(iter(_FOOTERS)))
        _FOOTERS[key] = got
    kept = _FOOTERS[key]  # each caller its own names and ranges (the file's metadata shared)
    return dataclasses.replace(kept, names=list(kept.names), ranges=dict(kept.ranges))


#: Seconds after its last write from which a file's footer is kept between calls (``footer``).
SETTLED_SECONDS = 10.0
_FOOTERS: dict[tuple[Any, ...], Footer] = {}


def _read_footer(path: Path, ranges: Sequence[str]) -> Footer:
    """:func:`footer` of one local Parquet file, read now."""
    import json

    import numpy as np
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = list(pf.schema_arrow.names)
    spans: dict[str, tuple[date, date]] = {}
    md = pf.metadata
    if not ranges:
        return Footer(names, spans, md)
    leaf = {md.schema.column(j).path: j for j in range(md.num_columns)}
    for name in ranges:
        j = leaf.get(name)
        if j is None:
            continue
        col = md.schema.column(j)
        kind = json.loads(col.logical_type.to_json() or "{}")
        if col.physical_type == "INT32" and kind.get("Type") == "Date":
            unit = "D"
        elif (col.physical_type == "INT64" and kind.get("Type") == "Timestamp"
              and not kind.get("isAdjustedToUTC") and kind.get("timeUnit") in _UNITS):
            unit = _UNITS[kind["timeUnit"]]
        else:
            continue
        lo = hi = None
        for i in range(md.num_row_groups):
            st = md.row_group(i).column(j).statistics
            if st is not None and st.has_null_count and st.num_values == 0:
                continue  # only nulls: nothing to bound
            if st is None or not st.has_min_max:
                lo = hi = None
                break
            a, b = st.min_raw, st.max_raw
            lo = a if lo is None or a < lo else lo
            hi = b if hi is None or b > hi else hi
        if lo is not None and hi is not None:
            day = [np.datetime64(int(v), unit).astype("datetime64[D]").astype(object)
                   for v in (lo, hi)]
            spans[name] = (day[0], day[1])
    return Footer(names, spans, md)


def columns_of(con: Any, table_sql: str, cases: Source | None = None) -> list[str]:
    """The column names of a table expression (DuckDB's ``DESCRIBE``).

    Given ``cases``, the source the expression was made from, a single Parquet file's names
    are read from its footer by pyarrow (:func:`footer`: about a third of the time DuckDB
    takes to bind the scan, which counts when a whole-table stage takes a few hundredths of
    a second); the same names, in the same order.  A file in a ``key=value`` folder is
    described by DuckDB, which reads such folders as hive partitions (a column the footer
    does not name).
    """
    found = footer(cases)
    if found is not None:
        return list(found.names)  # a copy: the footer may be kept (``footer``)
    return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {table_sql}").fetchall()]


@dataclass
class Table:
    """A cases table opened for one stage (made by :func:`table`): the connection ``con``,
    the table expression ``sql`` (:func:`source`) and its column names ``columns``."""

    con: Any
    sql: str
    columns: list[str]
    footer: Footer | None = None

    def only(self, column: str) -> Any:
        """The one value every row of ``column`` holds, when a single file's footer proves
        it (:meth:`Footer.only`); else None."""
        return self.footer.only(column) if self.footer is not None else None

    def complete(self, column: str) -> bool:
        """True when a single file's footer proves every row has a value in ``column``
        (:meth:`Footer.complete`); False when it does not, or there is no footer."""
        return self.footer is not None and self.footer.complete(column)

    def where_in(self, column: str, values: Sequence[Any]) -> str:
        """The condition "``column`` is one of ``values``" (compared as text), or ``""`` (no
        condition) when the footer proves every row already holds one of them
        (:meth:`only`): a filter that keeps every row is left out, as DuckDB would still
        test each row against it (a front-door extract holds front-door contacts only).
        Else ``"column"::VARCHAR IN ('a', 'b')``, each value a quoted SQL string (quotes
        doubled); DuckDB drops the cast of a ``VARCHAR`` column and still filters in the
        scan.  ``values`` must not be empty (no filter at all is the caller's choice)."""
        wanted = [str(v) for v in values]
        if not wanted:
            raise ValueError(f"where_in: no values for {column!r}")
        if self.only(column) in set(wanted):
            return ""
        listed = ", ".join("'" + v.replace("'", "''") + "'" for v in wanted)
        return f"{quote(column)}::VARCHAR IN ({listed})"

    def sql_type(self, column: str) -> str:
        """The DuckDB type of ``column`` as a scan gives it: from the footer's Parquet type
        for a date or a timestamp without time zone (a date ``DATE``; a timestamp in
        nanoseconds ``TIMESTAMP_NS``, in micro- or milliseconds ``TIMESTAMP``: DuckDB's
        mapping), else DuckDB's ``DESCRIBE`` (a frame, a pool, any other type)."""
        got = self.footer.sql_type(column) if self.footer is not None else None
        if got is not None:
            return got
        return str(run(self.con, f"DESCRIBE SELECT {quote(column)} FROM {self.sql}"
                       ).fetchall()[0][1])

    def span(self, columns: Sequence[str]) -> tuple[date, date] | None:
        """The first and last day of ``columns`` taken together, from the footer's ranges
        (:func:`footer`'s ``ranges``, asked for when the table was opened: ``table(...,
        ranges=columns)``); None when the footer does not give every one of them (ask
        DuckDB)."""
        got = self.footer.ranges if self.footer is not None else {}
        if not columns or not all(c in got for c in columns):
            return None
        return (min(got[c][0] for c in columns), max(got[c][1] for c in columns))

    def present(self, wanted: Sequence[str] | None) -> list[str]:
        """The names of ``wanted`` the table has, in ``wanted``'s order (None: every
        column, in the table's order)."""
        if wanted is None:
            return list(self.columns)
        have = set(self.columns)
        return [c for c in wanted if c in have]

    def select(self, columns: Sequence[str] = (), *, expressions: Sequence[str] = (),
               where: str | Sequence[str] | None = None, group_by: str | None = None,
               order: str | None = None, params: Sequence[Any] | None = None
               ) -> pd.DataFrame:
        """One ``SELECT`` of the table through :func:`run`, as a frame (DuckDB's ``.df()``).

        The items selected are ``columns`` (names, quoted) then ``expressions`` (SQL as
        written, e.g. ``count(*) AS n``); ``where``: one condition, or several joined by
        ``AND`` as written (parenthesise one that holds an ``OR``); ``group_by`` and
        ``order``: SQL as written; ``params``: the values of the statement's ``?``.
        """
        items = [quote(c) for c in columns] + list(expressions)
        if not items:
            raise ValueError("select: nothing to select")
        sql = f"SELECT {', '.join(items)} FROM {self.sql}"
        if where:
            sql += " WHERE " + (where if isinstance(where, str) else " AND ".join(where))
        if group_by:
            sql += f" GROUP BY {group_by}"
        if order:
            sql += f" ORDER BY {order}"
        return run(self.con, sql, params).df()


@contextlib.contextmanager
def table(cases: Source, con: Any = None, *, name: str = "cases_src",
          columns: Sequence[str] | None = None, ranges: Sequence[str] = ()
          ) -> Iterator[Table]:
    """A cases table opened for one stage: the shape every stage that reads rows or counts
    of the table shares (``audited_cases``, ``tier2_cases``, ``group_counts``,
    ``monthly_series``, ``cases_summary``).

    On ``con`` (None: a new :func:`connect`, closed when the block ends, even on an error;
    a connection given is left open), the table expression of ``cases`` (:func:`source`: a
    frame registered as ``name``, only ``columns`` of it when given; a Parquet file; a pool
    directory) and its column names (:func:`columns_of`, from a single file's footer).  The
    block's :meth:`Table.select` runs the stage's statement.  ``ranges``: date columns whose
    range the same read of the footer gives (:meth:`Table.span`); no statement is run for a
    single file.
    """
    own = con is None
    con = connect() if own else con
    try:
        sql = source(con, cases, name=name, columns=columns)
        found = footer(cases, ranges=ranges)
        names = list(found.names) if found is not None else columns_of(con, sql)
        yield Table(con, sql, names, found)
    finally:
        if own:
            con.close()


def run(con: Any, sql: str, params: Sequence[Any] | None = None) -> Any:
    """Execute one statement of the project's SQL on ``con`` (recorded while
    ``recording()`` is active) and return DuckDB's result."""
    for log in _RECORDED:
        log.append(sql)
    return con.execute(sql, params) if params is not None else con.execute(sql)


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect every statement ``run`` executes inside the block (for the dialect tests)."""
    log: list[str] = []
    _RECORDED.append(log)
    try:
        yield log
    finally:
        _RECORDED.remove(log)


def to_dialect(sql: str, dialect: str = "spark", table: str = "cases") -> str:
    """One statement of the project's DuckDB SQL in another engine's dialect (``sqlglot``,
    Mao 2023-: a parser and transpiler for some twenty dialects; Spark SQL by default).

    Each scan of a file, folder or URL (``read_parquet(...)``) becomes the table ``table``
    (in Spark, ``CREATE TABLE cases USING parquet LOCATION 's3a://.../pool/'``: its
    ``council=<code>/`` folders are discovered as a partition column); DuckDB's
    ``file_row_number`` becomes Spark's ``_metadata.row_index``.  A function sqlglot cannot
    map to the dialect, or any construct the dialect lacks, raises
    ``sqlglot.errors.UnsupportedError``: the statement is not portable.
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in list(tree.find_all(exp.ReadParquet, exp.ReadCSV)):
        node.replace(exp.to_table(table))
    for col in list(tree.find_all(exp.Column)):
        if col.name == "file_row_number":
            col.replace(exp.column("row_index", table="_metadata"))
    unknown = sorted({f.name for f in tree.find_all(exp.Anonymous)})
    if unknown:  # passed through as written: the other engine would not know them
        raise sqlglot.errors.UnsupportedError(f"functions with no {dialect} mapping: {unknown}")
    return tree.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)


def scan_seconds(path: str | Path, columns: Sequence[str] | None = None,
                 repeat: int = 3) -> float:
    """Seconds DuckDB takes to scan ``columns`` of a Parquet file (all columns by default):
    the smallest ``hash`` of every column, which decodes every value (a plain ``min`` would be
    answered from the file's statistics without reading the data); the best of ``repeat``.

    The floor of the benchmarks: no stage that reads those columns can take less.
    """
    con = connect()
    try:
        src = source(con, path)
        cols = list(columns) if columns else columns_of(con, src)
        agg = ", ".join(f"min(hash({quote(c)}))" for c in cols)
        best = math.inf
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            con.execute(f"SELECT {agg} FROM {src}").fetchall()
            best = min(best, time.perf_counter() - t0)
    finally:
        con.close()
    return best
