"""The one engine (analysis.engine): every whole-table stage runs its SQL through it, and that
SQL is portable: each query the project emits parses, and transpiles without loss, in Spark
SQL's dialect (README, "Beyond one machine"), checked with sqlglot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import engine, pool, sampling, thresholds

sqlglot = pytest.importorskip("sqlglot")

#: Statements that are DuckDB plumbing on one machine (views over a registered frame, the
#: table's description); Spark has its own (a table over the partitioned files).
PLUMBING = ("DESCRIBE", "CREATE TEMP VIEW", "CREATE TEMPORARY VIEW", "COPY")


def _cases_frame(n: int = 400) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(5)
    day = pd.Timestamp("2025-04-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    referred = rng.random(n) < 0.4
    start = day + pd.to_timedelta(rng.integers(0, 5, n), unit="D")
    return pd.DataFrame({
        "case_id": [f"cs_{i:016x}" for i in range(n)],
        "child_id": [f"ch_{i % 150:016x}" for i in range(n)],
        "service": rng.choice(["front_door", "early_help"], n, p=[0.8, 0.2]),
        "outcome": rng.choice(["nfa", "early_help", "assessment"], n),
        "referral_source": rng.choice(["police", "school", "health"], n),
        "contact_date": day,
        "referral_date": day.where(referred),
        "referrals_last_12m": pd.array(rng.integers(0, 3, n), dtype="Int64"),
        "assessment_start_date": start.where(referred),
        "assessment_end_date": (start + pd.to_timedelta(rng.integers(5, 70, n), unit="D")
                                ).where(referred),
    })


def _stage_sql(tmp_path: Path) -> list[str]:
    """Every statement the whole-table stages run on a small table (a file and a frame)."""
    cases = _cases_frame()
    path = tmp_path / "cases.parquet"
    cases.to_parquet(path, index=False)
    design = {"name": "t", "title": "t", "seed": 1, "filter": {"service": "front_door"},
              "date_window": {"column": "contact_date", "start": "2025-06-01",
                              "end": "2025-12-31"},
              "strata": "outcome", "allocation": "proportional", "n": 30}
    for council in ("aa", "bb"):
        (tmp_path / council).mkdir()
        cases.to_parquet(tmp_path / council / "cases.parquet", index=False)
    with engine.recording() as log:
        sampling.draw(path, design, reference_date="2026-03-31")
        sampling.draw(cases, design, reference_date="2026-03-31")
        for src in (path, cases):
            thresholds.monthly_series(src)
            thresholds.conversion_by(src, overdispersion="additive")
            thresholds.funnel_counts(src, "referral_source", "became_referral")
            thresholds.cases_summary(src)
            thresholds.audited_cases(src, cases["case_id"].head(5))
        pool.pool_cases({"aa": tmp_path / "aa" / "cases.parquet",
                         "bb": tmp_path / "bb" / "cases.parquet"}, tmp_path / "pool")
        thresholds.conversion_by(tmp_path / "pool", by="council", overdispersion="additive")
    copies = [s for s in log if s.lstrip().upper().startswith("COPY")]
    inner = [str(sqlglot.parse_one(c, read="duckdb").this.sql("duckdb")) for c in copies]
    return [s for s in log if not s.lstrip().upper().startswith(PLUMBING)] + inner


def test_the_stages_run_their_sql_through_the_engine(tmp_path: Path) -> None:
    statements = _stage_sql(tmp_path)
    assert statements, "no SQL was recorded: a stage bypasses analysis.engine.run"


def test_every_query_the_project_emits_parses_in_spark_sql(tmp_path: Path) -> None:
    """Each statement transpiles from DuckDB to Spark SQL without an unsupported construct,
    and the Spark text parses back in Spark's dialect."""
    problems = []
    for sql in _stage_sql(tmp_path):
        try:
            spark = engine.to_dialect(sql)
            sqlglot.parse_one(spark, read="spark")
        except sqlglot.errors.SqlglotError as exc:
            problems.append(f"{exc.__class__.__name__}: {exc}\n  {sql[:300]}")
    assert not problems, "\n".join(problems)


def test_a_source_is_a_frame_a_file_or_a_partitioned_folder(tmp_path: Path) -> None:
    cases = _cases_frame(50).assign(council="aa")
    (tmp_path / "pool" / "council=aa").mkdir(parents=True)
    cases.drop(columns="council").to_parquet(tmp_path / "pool" / "council=aa" / "p.parquet")
    cases.to_parquet(tmp_path / "one.parquet")
    con = engine.connect()
    try:
        for src in (cases, tmp_path / "one.parquet", tmp_path / "pool"):
            sql = engine.source(con, src)
            assert engine.run(con, f"SELECT count(*) FROM {sql}").fetchone()[0] == 50
            assert "council" in engine.columns_of(con, sql)
    finally:
        con.close()


def test_a_portable_query_reads_the_partitioned_table_and_a_duckdb_only_one_is_refused(
) -> None:
    spark = engine.to_dialect("SELECT council, count(*) FILTER (WHERE referral_date IS NOT NULL) "
                              "FROM read_parquet('/p/**/*.parquet', hive_partitioning = true) "
                              "GROUP BY 1")
    assert "FROM cases" in spark and "read_parquet" not in spark.lower()
    with pytest.raises(sqlglot.errors.UnsupportedError):
        engine.to_dialect("SELECT epoch_ns(contact_date) FROM t")  # DuckDB's own


def test_an_object_store_url_is_read_as_a_partitioned_dataset() -> None:
    con = engine.connect()
    try:
        sql = engine.source(con, "s3://bucket/sqa/pool/")
    finally:
        con.close()
    assert sql == ("read_parquet('s3://bucket/sqa/pool/**/*.parquet', hive_partitioning = true, "
                   "union_by_name = true)")


def test_recording_collects_only_inside_its_block() -> None:
    con = engine.connect()
    engine.run(con, "SELECT 1")
    with engine.recording() as log:
        engine.run(con, "SELECT 2")
    engine.run(con, "SELECT 3")
    con.close()
    assert log == ["SELECT 2"]


def test_the_scan_floor_is_a_positive_time(tmp_path: Path) -> None:
    _cases_frame(100).to_parquet(tmp_path / "c.parquet")
    assert engine.scan_seconds(tmp_path / "c.parquet", ["case_id", "contact_date"], repeat=1) > 0


def test_an_opened_table_names_its_columns_and_selects_kept_rows_in_order(tmp_path: Path
                                                                        ) -> None:
    """``engine.table`` gives the same columns and the same SELECT from a frame, its Parquet
    file and a pool directory; ``present`` keeps the wanted names the table has, in the
    order asked."""
    cases = _cases_frame(60)
    cases.to_parquet(tmp_path / "one.parquet", index=False)
    (tmp_path / "pool" / "council=aa").mkdir(parents=True)
    cases.to_parquet(tmp_path / "pool" / "council=aa" / "p.parquet", index=False)
    want = cases[cases["service"] == "early_help"].sort_values("case_id")
    for src in (cases, tmp_path / "one.parquet", tmp_path / "pool"):
        with engine.table(src) as t:
            assert t.columns[: len(cases.columns)] == list(cases.columns)
            assert t.present(["outcome", "nope", "case_id"]) == ["outcome", "case_id"]
            assert t.present(None) == t.columns
            got = t.select(["case_id", "outcome"], where=["service = ?", "case_id IS NOT NULL"],
                           order="case_id", params=["early_help"])
        assert got["case_id"].tolist() == want["case_id"].tolist()
        assert got["outcome"].tolist() == want["outcome"].tolist()


def test_an_opened_table_groups_by_expressions_and_closes_only_its_own_connection() -> None:
    cases = _cases_frame(80)
    con = engine.connect()
    try:
        with engine.table(cases, con, name="t_src", columns=["service"]) as t:
            assert t.columns == ["service"] and t.sql == "t_src"
            g = t.select(expressions=("service AS grp", "count(*) AS n"), group_by="1",
                         order="1")
        assert con.execute("SELECT 1").fetchone() == (1,)  # a connection given stays open
    finally:
        con.close()
    assert g["n"].tolist() == cases["service"].value_counts().sort_index().tolist()
    with engine.table(cases) as t:
        own = t.con
    with pytest.raises(Exception, match="(?i)closed"):
        own.execute("SELECT 1")
    with pytest.raises(ValueError, match="nothing to select"), engine.table(cases) as t:
        t.select()


def test_a_file_in_a_partition_folder_has_the_partition_column_duckdb_reads(tmp_path: Path
                                                                          ) -> None:
    """A single file inside ``council=<code>/`` is read by DuckDB with the partition column:
    ``columns_of`` names it too rather than the footer's names alone."""
    (tmp_path / "council=aa").mkdir()
    path = tmp_path / "council=aa" / "p.parquet"
    _cases_frame(5).to_parquet(path, index=False)
    con = engine.connect()
    try:
        src = engine.source(con, path)
        assert engine.columns_of(con, src, path) == engine.columns_of(con, src)
        assert "council" in engine.columns_of(con, src, path)
    finally:
        con.close()


def test_a_filter_the_footer_proves_keeps_every_row_is_left_out_with_the_same_counts(
        tmp_path: Path) -> None:
    """A front-door extract holds front-door contacts only: when every row group's statistics
    say ``service`` is that one value (no nulls), the stages do not test each row against the
    filter; a file with another service, or a missing one, is filtered as before."""
    import numpy as np

    rng = np.random.default_rng(3)
    n = 500
    base = pd.DataFrame({
        "referral_source": rng.choice(["police", "school", "health"], n),
        "contact_date": pd.Timestamp("2025-04-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        "service": "front_door"})
    base["referral_date"] = base["contact_date"].where(rng.random(n) < 0.3)
    for c in ("child_id", "referrals_last_12m", "assessment_start_date", "assessment_end_date"):
        base[c] = None
    one, mixed, gaps = (tmp_path / f"{k}.parquet" for k in ("one", "mixed", "gaps"))
    base.to_parquet(one, row_group_size=100)
    base.assign(service=np.where(np.arange(n) == 7, "early_help", "front_door")).to_parquet(
        mixed, row_group_size=100)
    base.assign(service=base["service"].where(np.arange(n) != 7)).to_parquet(
        gaps, row_group_size=100)
    assert engine.footer(one).only("service") == "front_door"
    assert engine.footer(one).only("referral_source") is None
    assert engine.footer(mixed).only("service") is None
    assert engine.footer(gaps).only("service") is None
    for path, filtered in ((one, False), (mixed, True), (gaps, True)):
        with engine.recording() as sql:
            got = thresholds.group_counts(path, "referral_source", services=["front_door"])
            months = thresholds.monthly_series(path, rereferral_method="column")
        assert any("IN ('front_door')" in s for s in sql) is filtered
        frame = pd.read_parquet(path)
        want = thresholds.group_counts(frame, "referral_source", services=["front_door"])
        pd.testing.assert_frame_equal(got, want)
        conv = months[months["measure"] == "conversion"]
        assert conv["denominator"].sum() == int((frame["service"] == "front_door").sum())


def test_where_in_leaves_out_a_filter_the_footer_proves_keeps_every_row(tmp_path: Path
                                                                       ) -> None:
    """``Table.where_in`` writes "column is one of values" as SQL (values quoted, quotes
    doubled), and no condition at all when a single file's footer proves every row already
    holds one of the values; a frame, a file with another value and a pool are filtered."""
    cases = _cases_frame(60)
    one, mixed = tmp_path / "one.parquet", tmp_path / "mixed.parquet"
    cases.assign(service="front_door").to_parquet(one, index=False)
    cases.to_parquet(mixed, index=False)
    (tmp_path / "pool" / "council=aa").mkdir(parents=True)
    cases.assign(service="front_door").to_parquet(tmp_path / "pool" / "council=aa" / "p.parquet")
    with engine.table(one) as t:
        assert t.where_in("service", ["front_door"]) == ""
        assert t.where_in("service", ("early_help", "front_door")) == ""
        assert t.where_in("service", ["early_help"]) == '"service"::VARCHAR IN (\'early_help\')'
    for src in (mixed, cases.assign(service="front_door"), tmp_path / "pool"):
        with engine.table(src) as t:
            cond = t.where_in("service", ["front_door", "o'neil"])
            assert cond == "\"service\"::VARCHAR IN ('front_door', 'o''neil')"
            n = t.select(expressions=("count(*) AS n",), where=cond)["n"].iloc[0]
        assert n == int((pd.read_parquet(src)["service"] if isinstance(src, Path)
                         else src["service"]).eq("front_door").sum())
    with pytest.raises(ValueError, match="no values"), engine.table(cases) as t:
        t.where_in("service", [])


def test_an_opened_table_gives_date_columns_range_from_its_one_footer_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``engine.table(..., ranges=...)`` reads a single file's footer once, for its names and
    the asked date columns' ranges; ``Table.span`` is the first and last day of those
    columns together (DuckDB's ``min``/``max``), None when the footer does not give every
    one (a frame, a column it has no range for)."""
    cases = _cases_frame(200)
    path = tmp_path / "cases.parquet"
    cases.to_parquet(path, index=False)
    cols = ["assessment_start_date", "assessment_end_date"]
    reads = []
    real = engine.footer
    monkeypatch.setattr(engine, "footer", lambda *a, **k: reads.append(a) or real(*a, **k))
    with engine.recording() as sql, engine.table(path, ranges=cols) as t:
        got = t.span(cols)
        assert t.span(cols + ["contact_date"]) is None  # not asked for
    assert len(reads) == 1 and sql == []
    lo = min(cases[c].min() for c in cols).date()
    hi = max(cases[c].max() for c in cols).date()
    assert got == (lo, hi)
    with engine.table(cases, ranges=cols) as t:
        assert t.span(cols) is None


def test_monthly_series_opens_its_table_once_and_runs_no_more_statements(tmp_path: Path,
                                                                         monkeypatch:
                                                                         pytest.MonkeyPatch
                                                                         ) -> None:
    """``monthly_series`` goes through ``engine.table``: on a single Parquet file one read of
    the footer (names, the assessment dates' range and the start column's type, the service
    filter) and four statements: conversion, re-referral, the calendar, the assessments; for
    a frame, DuckDB gives the dates' range and describes the start column (two more)."""
    cases = _cases_frame(300)
    path = tmp_path / "cases.parquet"
    cases.to_parquet(path, index=False)
    reads = []
    real = engine.footer
    monkeypatch.setattr(engine, "footer", lambda *a, **k: reads.append(a) or real(*a, **k))
    with engine.recording() as sql:
        thresholds.monthly_series(path, rereferral_method="column")
    assert len(reads) == 1
    assert [s.lstrip().split()[0] for s in sql] == ["WITH", "WITH", "CREATE", "WITH"]
    with engine.recording() as sql:
        thresholds.monthly_series(cases, rereferral_method="column")
    assert [s.lstrip().split()[0] for s in sql] == ["WITH", "WITH", "SELECT", "DESCRIBE",
                                                    "CREATE", "WITH"]


@pytest.mark.parametrize(("arrow", "duck"), [("ns", "TIMESTAMP_NS"), ("us", "TIMESTAMP"),
                                             ("ms", "TIMESTAMP"), ("date", "DATE")])
def test_a_date_columns_type_from_the_footer_is_the_type_duckdb_scans(
        tmp_path: Path, arrow: str, duck: str) -> None:
    """``Table.sql_type`` reads a date or timestamp column's type from the Parquet footer
    without a statement, and it is the type DuckDB's ``DESCRIBE`` gives."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    typ = pa.date32() if arrow == "date" else pa.timestamp(arrow)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"d": pa.array([dt.date(2025, 1, 2), None]).cast(typ),
                             "x": pa.array([1, 2])}), path)
    with engine.recording() as sql, engine.table(path) as t:
        assert t.sql_type("d") == duck
    assert sql == []
    with engine.table(path) as t:
        assert t.sql_type("x") == "BIGINT"  # not a date: DuckDB describes it
        described = engine.run(t.con, f"DESCRIBE SELECT d FROM {t.sql}").fetchall()[0][1]
    assert described == duck


def test_a_files_footer_is_kept_only_while_the_file_is_settled_and_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``engine.footer`` reads a file once while its inode, size and modification time stay
    the same and it was written over ``SETTLED_SECONDS`` ago; a file just written, or written
    since, is read again (a rewrite within one tick of a coarse file clock is never missed)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    reads: list[Path] = []
    real = engine._read_footer
    monkeypatch.setattr(engine, "_read_footer", lambda p, r: reads.append(p) or real(p, r))
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), path)
    assert engine.footer(path).names == ["a"] and engine.footer(path).names == ["a"]
    assert len(reads) == 2  # just written: not kept
    old = path.stat().st_mtime_ns - 3_600 * 10**9
    os.utime(path, ns=(old, old))
    engine.footer(path)
    found = engine.footer(path)
    assert len(reads) == 3 and found.names == ["a"]  # settled: read once
    found.names.append("mutated by a caller")  # a caller's copy is its own
    with engine.table(path) as t:
        assert t.columns == ["a"]
    pq.write_table(pa.table({"b": [1, 2]}), path)  # rewritten in place
    os.utime(path, ns=(old + 10**9, old + 10**9))
    assert engine.footer(path).names == ["b"] and len(reads) == 4


def test_a_count_column_the_footer_proves_complete_is_used_without_counting_its_values(
        tmp_path: Path) -> None:
    """Re-referrals (``auto``) come from ``referrals_last_12m`` when every referral has it:
    where the file's statistics prove the column has no missing value, that is not counted
    again; a file with a missing count is counted, and takes the history as before."""
    cases = _cases_frame(300)
    full = tmp_path / "full.parquet"
    cases.to_parquet(full, index=False)
    holed = tmp_path / "holed.parquet"
    first_referral = cases.index[cases["referral_date"].notna()][0]
    cases.assign(referrals_last_12m=cases["referrals_last_12m"].mask(
        cases.index == first_referral)).to_parquet(holed, index=False)
    with engine.table(full) as t:
        assert t.complete("referrals_last_12m") and not t.complete("referral_date")
    with engine.table(holed) as t:
        assert not t.complete("referrals_last_12m")
    with engine.recording() as sql:
        got = thresholds.monthly_series(full)
    assert not any("count(referrals_last_12m)" in s for s in sql)
    want = thresholds.monthly_series(cases, rereferral_method="column")
    pd.testing.assert_frame_equal(got, want)
    with engine.recording() as sql:
        holes = thresholds.monthly_series(holed)
    assert any("count(referrals_last_12m)" in s for s in sql)
    history = thresholds.monthly_series(cases, rereferral_method="history")
    pd.testing.assert_frame_equal(holes[holes["measure"] == "rereferral"].reset_index(drop=True),
                                  history[history["measure"] == "rereferral"]
                                  .reset_index(drop=True))
