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
