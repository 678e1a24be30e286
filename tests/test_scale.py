"""The out-of-core stages (analysis.scale) give what the small path gives, on tiny data.

No timing assertions here: the figures come from `benchmarks/run.py` (see benchmarks/README.md).
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import ingest, privacy, sampling, scale, synth, thresholds

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 3, 31)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 synthetic contacts (scale mode of the generator), in row groups of 6,000."""
    path = tmp_path_factory.mktemp("pop") / "contacts.parquet"
    return synth.generate_population_parquet(path, contacts=20_000, seed=3, chunk_rows=6_000)


def _messy(population: Path, out: Path) -> Path:
    """A raw export with every kind of problem ingest knows, all columns as text."""
    df = pd.read_parquet(population).head(3000).reset_index(drop=True)
    raw = pd.DataFrame({c: df[c].astype(object).map(
        lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v))
        else (v.strftime("%d/%m/%Y") if isinstance(v, pd.Timestamp) else str(v)))
        for c in df.columns})
    raw = raw.rename(columns={"case_id": "Case ID", "child_id": "Child ID"})
    raw["notes_free"] = "not read"
    rng = np.random.default_rng(7)
    dob = pd.to_datetime(df["contact_date"]) - pd.to_timedelta(rng.integers(-100, 6000, len(df)),
                                                               unit="D")
    raw["date_of_birth"] = dob.dt.strftime("%Y-%m-%d")
    raw = raw.drop(columns=["age_band"])
    edits = {
        # identifiers: duplicates after normalisation, blanks, NA tokens, odd forms
        ("Case ID", 10): raw.at[3, "Case ID"].lower(),
        ("Case ID", 11): " " + raw.at[4, "Case ID"][:4] + " " + raw.at[4, "Case ID"][4:] + " ",
        ("Case ID", 12): "#N/A", ("Case ID", 13): "", ("Case ID", 14): None,
        ("Case ID", 15): "000123.0", ("Case ID", 16): "CN\u0663\u0664", ("Case ID", 17):
            "cs_0123456789abcdef", ("Case ID", 18): raw.at[5, "Case ID"],
        ("Case ID", 19): "N/A", ("Case ID", 20): "caf\u00e9-1", ("Case ID", 21): "-",
        ("Child ID", 22): None, ("Child ID", 23): "null",
        ("Child ID", 24): " 0042 ", ("Child ID", 25): "00042",
        # coded values: synonyms, enumerated prefixes, bad codes
        ("gender", 30): "M", ("gender", 31): "b) Female", ("gender", 32): "Girl",
        ("gender", 33): "xyz", ("referral_source", 34): "5A", ("referral_source", 35): "GP",
        ("referral_source", 36): "the milkman", ("service", 37): None, ("outcome", 38): "S47",
        ("level_of_need", 39): "tier 9",
        # dates: formats, Excel serials, impossible, future, too old, missing
        ("contact_date", 40): "2024-02-01", ("contact_date", 41): "45000",
        ("contact_date", 42): "31/02/2024", ("contact_date", 43): "2030-01-01",
        ("contact_date", 44): "1985-05-05", ("contact_date", 45): None,
        ("referral_date", 46): "01/01/2020", ("date_of_birth", 47): "2040-01-01",
        ("date_of_birth", 48): "1950-01-01", ("date_of_birth", 49): "not a date",
        ("assessment_start_date", 50): "10/03/2025", ("assessment_end_date", 50): "01/03/2025",
        # booleans and counts
        ("domestic_abuse", 51): "yes", ("domestic_abuse", 52): "N", ("domestic_abuse", 53):
            "maybe", ("previous_csc", 54): None, ("referrals_last_12m", 55): "-1",
        ("referrals_last_12m", 56): "1.5", ("referrals_last_12m", 57): "3.0",
        ("team", 58): "  Team   A ", ("team", 59): "=cmd|' /C calc'!A0",
    }
    for (col, row), value in edits.items():
        raw.at[row, col] = value
    path = out / "messy.parquet"
    raw.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def messy(population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _messy(population, tmp_path_factory.mktemp("messy"))


def _small_path(path: Path, out: Path) -> dict[str, Path]:
    res = ingest.ingest(path, "cases", demo_key=True, today=TODAY)
    return ingest.write_outputs(res, out)


def _assert_same_outputs(small: dict[str, Path], big: dict[str, Path]) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(big["table"]), pd.read_parquet(small["table"]))
    assert big["quarantine"].read_bytes() == small["quarantine"].read_bytes()
    a = json.loads(small["log"].read_text())
    b = json.loads(big["log"].read_text())
    for k in ("rows_read", "rows_accepted", "rows_quarantined", "ignored_columns",
              "key_fingerprint", "quarantine_rules", "input_sha256"):
        assert a[k] == b[k], k


def test_scale_ingest_equals_the_small_path_on_a_messy_export(messy: Path, tmp_path: Path
                                                              ) -> None:
    small = _small_path(messy, tmp_path / "small")
    summary = scale.ingest_parquet(messy, tmp_path / "big", demo_key=True, batch_rows=700,
                                   today=TODAY, workers=1)
    _assert_same_outputs(small, summary["paths"])
    q = pd.read_csv(small["quarantine"])
    assert len(q) > 25  # the fixture really exercises the rules
    assert summary["rows_quarantined"] > 0


def test_scale_ingest_equals_the_small_path_on_native_parquet_types(population: Path,
                                                                    tmp_path: Path) -> None:
    df = pd.read_parquet(population).head(4000)
    df["child_id"] = pd.array([int(x) if i % 50 else None for i, x in
                               enumerate(df["child_id"])], dtype="Int64")
    df.loc[df.index[7], "contact_date"] = pd.NaT
    df.loc[df.index[8], "case_id"] = df["case_id"].iloc[9]
    df["domestic_abuse"] = df["domestic_abuse"].astype("boolean")
    df.loc[df.index[11], "domestic_abuse"] = pd.NA
    df.loc[df.index[12], "referrals_last_12m"] = -2
    df.loc[df.index[13], "contact_date"] = pd.Timestamp("2027-05-01 13:45")
    table = pa.Table.from_pandas(df, preserve_index=False)
    start = pd.to_datetime(df["assessment_start_date"]).dt.date.astype(object).tolist()
    start[14], start[15] = date(1985, 1, 1), date(2030, 12, 31)
    i = table.schema.get_field_index("assessment_start_date")
    table = table.set_column(i, "assessment_start_date",
                             pa.array([None if pd.isna(v) else v for v in start], pa.date32()))
    path = tmp_path / "native.parquet"
    pq.write_table(table, path)
    small = _small_path(path, tmp_path / "small")
    summary = scale.ingest_parquet(path, tmp_path / "big", demo_key=True, batch_rows=1000,
                                   today=TODAY, workers=1)
    _assert_same_outputs(small, summary["paths"])


def test_rows_accepted_plus_quarantined_equal_rows_read(messy: Path, tmp_path: Path) -> None:
    s = scale.ingest_parquet(messy, tmp_path, demo_key=True, batch_rows=500, today=TODAY,
                             workers=1)
    assert s["rows_accepted"] + s["rows_quarantined"] == s["rows_read"] == 3000
    assert pq.ParquetFile(s["paths"]["table"]).metadata.num_rows == s["rows_accepted"]
    assert pd.read_csv(s["paths"]["quarantine"])["row"].nunique() == s["rows_quarantined"]


def test_batches_are_bounded_and_do_not_change_the_output(population: Path, tmp_path: Path
                                                          ) -> None:
    one = scale.ingest_parquet(population, tmp_path / "a", demo_key=True, batch_rows=50_000,
                               today=TODAY, workers=1)
    many = scale.ingest_parquet(population, tmp_path / "b", demo_key=True, batch_rows=1_500,
                                today=TODAY, workers=2)
    assert many["largest_batch"] <= 1_500 and many["batches"] >= 20_000 // 1_500
    pd.testing.assert_frame_equal(pd.read_parquet(one["paths"]["table"]),
                                  pd.read_parquet(many["paths"]["table"]))
    assert one["paths"]["quarantine"].read_bytes() == many["paths"]["quarantine"].read_bytes()


def test_duplicates_are_found_across_batches(population: Path, tmp_path: Path) -> None:
    df = pd.read_parquet(population).head(3000)
    df.loc[df.index[2500], "case_id"] = df["case_id"].iloc[10]
    df.loc[df.index[2900], "case_id"] = df["case_id"].iloc[10].lower()
    path = tmp_path / "dups.parquet"
    df.to_parquet(path, index=False)
    s = scale.ingest_parquet(path, tmp_path / "out", demo_key=True, batch_rows=1000,
                             today=TODAY, workers=1)
    q = pd.read_csv(s["paths"]["quarantine"])
    assert q[["row", "column", "rule"]].values.tolist() == [
        [2501, "case_id", "duplicate of row 11"], [2901, "case_id", "duplicate of row 11"]]


def test_scale_pseudonyms_equal_privacy_pseudonymise() -> None:
    raw = ["CN0000000001", "cn0000000001", "00042", "123.0", "a b", "cs_0123456789abcdef",
           "\u00e9t\u00e9", "x" * 80, "#N/A", "", None, " CN 1 "]
    hasher = scale._Hasher(privacy.DEMO_KEY, 1)
    got = scale._pseudonymise_job(pa.array(raw, pa.string()), privacy.DEMO_KEY, "child",
                                  hasher)().to_pylist()
    text = ingest._to_text(pd.Series(raw, dtype=object))
    want = [None if pd.isna(t) else privacy.pseudonymise(t, privacy.DEMO_KEY, "child")
            for t in text]
    assert got == want
    ints = scale._pseudonymise_job(pa.array([7, None, 42]), privacy.DEMO_KEY, "case",
                                   hasher)().to_pylist()
    assert ints == [privacy.pseudonymise(7, privacy.DEMO_KEY, "case"), None,
                    privacy.pseudonymise(42, privacy.DEMO_KEY, "case")]


def test_the_hashing_pool_gives_the_same_pseudonyms() -> None:
    msgs = [f"case:C{i}".encode() for i in range(60_000)]
    pool = scale._Hasher(privacy.DEMO_KEY, 2)
    try:
        assert pool.submit(pa.array(msgs, pa.binary()))() == scale._hmac8(
            msgs, scale._hmac_pads(privacy.DEMO_KEY))
    finally:
        pool.close()


def test_a_file_that_is_not_parquet_is_refused_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "cases.csv"
    bad.write_text("case_id\n1\n")
    with pytest.raises(ingest.InputError, match="Parquet"):
        scale.ingest_parquet(bad, tmp_path / "o", demo_key=True)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ingest.InputError, match="not a readable Parquet"):
        scale.ingest_parquet(broken, tmp_path / "o", demo_key=True)


def test_a_missing_required_column_is_named(population: Path, tmp_path: Path) -> None:
    path = tmp_path / "nogender.parquet"
    pd.read_parquet(population).head(10).drop(columns=["gender"]).to_parquet(path)
    with pytest.raises(ingest.InputError, match="'gender'"):
        scale.ingest_parquet(path, tmp_path / "o", demo_key=True)


# --------------------------------------------------------------------------------------
# Sample, appropriateness, monthly series
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def canonical(population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("canon")
    s = scale.ingest_parquet(population, out, demo_key=True, batch_rows=5000, today=TODAY,
                             workers=1)
    return s["paths"]["table"]


DESIGNS = [
    "threshold_audit",
    {"name": "by_source", "seed": 5, "strata": {"columns": ["referral_source", "route"],
                                                "groups": {"public": ["police", "health"]}},
     "allocation": "proportional", "n": 150, "min_per_stratum": 2,
     "oversample": {"column": "domestic_abuse", "value": True, "factor": 3,
                    "label": "domestic abuse"}},
    {"name": "margin", "seed": 9, "filter": {"outcome": ["nfa", "assessment"]},
     "date_window": {"column": "referral_date", "start": "2025-01-01"},
     "strata": "ethnicity", "allocation": "equal", "margin": 0.12},
]


@pytest.mark.parametrize("design", DESIGNS, ids=["threshold_audit", "oversample", "margin"])
def test_scale_sample_selects_what_sampling_draw_selects(canonical: Path, design: object
                                                         ) -> None:
    small = sampling.draw(canonical, design, reference_date="2026-03-31")
    big = scale.stratified_sample_parquet(canonical, design, reference_date="2026-03-31")
    for key in ("cases", "strata", "rows", "seed", "design", "design_sha256", "planning",
                "exclusions", "method"):
        assert big.manifest[key] == small.manifest[key], key
    pd.testing.assert_frame_equal(big.selected, small.selected, check_dtype=False)


def test_scale_sample_honours_previous_samples(canonical: Path) -> None:
    first = sampling.draw(canonical, "threshold_audit")
    ids = [c["case_id"] for c in first.manifest["cases"]]
    small = sampling.draw(canonical, "threshold_audit", seed=2, excluded_ids=ids)
    big = scale.stratified_sample_parquet(canonical, "threshold_audit", seed=2,
                                          excluded_ids=ids, with_rows=False)
    assert big.manifest["cases"] == small.manifest["cases"]
    assert big.manifest["rows"]["excluded_previous"] == len(ids)


def test_appropriateness_counts_equal_a_pandas_groupby(canonical: Path) -> None:
    got = scale.appropriateness_by_source(canonical)
    cases = pd.read_parquet(canonical)
    fd = thresholds.front_door_contacts(cases)
    want = fd.groupby("referral_source")["became_referral"].agg(["sum", "size"])
    assert got["group"].tolist() == want.index.tolist()
    assert got["successes"].tolist() == want["sum"].tolist()
    assert got["n"].tolist() == want["size"].tolist()
    funnel = thresholds.funnel_table(fd, "referral_source", "became_referral",
                                     labels=thresholds.SOURCE_LABELS)
    shares = thresholds.appropriateness_by(fd, "referral_source", outcome="became_referral",
                                           weight_col=None)
    cols = ["group", "label", "successes", "n", "rate", "lower_95", "upper_95", "lower_99.8",
            "upper_99.8", "target", "position"]
    pd.testing.assert_frame_equal(got[cols], funnel[cols], check_dtype=False)
    for c in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(got[c], shares[c])


def test_scale_monthly_series_is_thresholds_monthly_series_on_the_file(canonical: Path,
                                                                     tmp_path: Path) -> None:
    cases = pd.read_parquet(canonical)
    for kw in ({}, {"services": None, "limit": 20}, {"rereferral_method": "history"}):
        pd.testing.assert_frame_equal(scale.monthly_series(canonical, **kw),
                                      thresholds.monthly_series(cases, **kw))
    # Some referrals without the count: re-referrals from each child's history.
    gappy = cases.copy()
    gappy.loc[gappy["referral_date"].notna().to_numpy().nonzero()[0][:50],
              "referrals_last_12m"] = pd.NA
    path = tmp_path / "gappy.parquet"
    gappy.to_parquet(path, index=False)
    got = scale.monthly_series(path)
    pd.testing.assert_frame_equal(got, thresholds.monthly_series(gappy))
    pd.testing.assert_frame_equal(got, thresholds.monthly_series(cases,
                                                                 rereferral_method="history"))
    with pytest.raises(ingest.InputError, match="file not found"):
        scale.monthly_series(tmp_path / "missing.parquet")


def test_duckdb_scan_floor_is_a_positive_time(canonical: Path) -> None:
    assert scale.duckdb_scan_seconds(canonical, ["case_id", "contact_date"], repeat=1) > 0


# --------------------------------------------------------------------------------------
# The benchmark script (smoke run of its scale part on tiny data; no timing assertions)
# --------------------------------------------------------------------------------------


def _bench_module():
    spec = importlib.util.spec_from_file_location("sqa_benchmarks_run",
                                                  ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_benchmark_scale_part_runs_on_tiny_data(tmp_path: Path) -> None:
    bench = _bench_module()
    res = bench.run_scale(rows=20_000, workdir=tmp_path, batch_rows=5_000)
    stages = {s["stage"] for s in res["stages"]}
    assert stages == {"ingest", "sample", "appropriateness", "monthly"}
    for s in res["stages"]:
        assert s["seconds"] > 0 and s["scan_seconds"] > 0 and s["peak_rss_mb"] > 0
        assert s["ratio_to_scan"] == pytest.approx(s["seconds"] / s["scan_seconds"], rel=0.1)
    agree = bench.run_agreement(subjects=300, raters=5, n_boot=50)
    assert agree["seconds"] > 0


def test_without_the_sort_the_same_rows_are_written_in_input_order(messy: Path, tmp_path: Path
                                                                   ) -> None:
    kw = {"demo_key": True, "batch_rows": 800, "today": TODAY, "workers": 1}
    a = scale.ingest_parquet(messy, tmp_path / "a", **kw)
    b = scale.ingest_parquet(messy, tmp_path / "b", sort=False, **kw)
    sorted_b = pd.read_parquet(b["paths"]["table"]).sort_values("case_id", ignore_index=True)
    pd.testing.assert_frame_equal(pd.read_parquet(a["paths"]["table"]), sorted_b)
    assert a["paths"]["quarantine"].read_bytes() == b["paths"]["quarantine"].read_bytes()


def test_cli_ingest_takes_the_out_of_core_path_on_request_with_the_same_rows(tmp_path: Path
                                                                           ) -> None:
    import subprocess
    import sys

    from analysis import synth

    raw = synth.generate_population_parquet(tmp_path / "pop.parquet", contacts=5_000, seed=3)
    outs = {}
    for mode in ("yes", "no"):
        run = subprocess.run([sys.executable, "-m", "analysis", "ingest", "--kind", "cases",
                              str(raw), "--out", str(tmp_path / mode), "--demo-key",
                              "--out-of-core", mode], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert "rows read:        5000" in run.stdout
        outs[mode] = pd.read_parquet(tmp_path / mode / "cases.parquet")
    pd.testing.assert_frame_equal(outs["yes"], outs["no"], check_dtype=False)


# --------------------------------------------------------------------------------------
# Issue 12, cases 17 and 18 on the scale path: nested columns, years, Ctrl-C, width
# --------------------------------------------------------------------------------------


def _flat_cases(population: Path, rows: int = 10) -> pd.DataFrame:
    return pd.read_parquet(population).head(rows)


def test_a_nested_parquet_column_is_refused_by_name_on_the_scale_path(population: Path,
                                                                      tmp_path: Path) -> None:
    """Issue 12, case 17: a struct column raised ArrowNotImplementedError from
    dictionary_encode (ingest) and a DuckDB error (aggregates), with a traceback."""
    import subprocess
    import sys

    table = pa.Table.from_pandas(_flat_cases(population), preserve_index=False)
    i = table.schema.get_field_index("service")
    nested = table.set_column(i, "service", pa.array(
        [{"code": v} for v in table.column("service").to_pylist()]))
    path = tmp_path / "nested.parquet"
    pq.write_table(nested, path)
    with pytest.raises(ingest.InputError, match="column 'service' holds nested values"):
        scale.ingest_parquet(path, tmp_path / "o", demo_key=True)
    with pytest.raises(ingest.InputError, match="column 'service' holds nested values"):
        scale.appropriateness_by_source(path)
    with pytest.raises(ingest.InputError, match="column 'service' holds nested values"):
        scale.monthly_series(path)
    run = subprocess.run([sys.executable, "-m", "analysis", "ingest", "--kind", "cases",
                          str(path), "--out", str(tmp_path / "cli"), "--demo-key",
                          "--out-of-core", "yes"], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "column 'service' holds nested values" in run.stderr and str(path) in run.stderr


def test_the_scale_path_tells_an_implausible_year_as_the_small_path_does(population: Path,
                                                                        tmp_path: Path
                                                                        ) -> None:
    """Issue 12, case 18: a date of birth in 1850 is 'year 1850 is before 1900: check the
    year' on both paths (and the outputs stay byte-identical)."""
    df = pd.DataFrame({"case_id": ["A1", "A2", "A3", "A4"], "child_id": ["1", "2", "3", "4"],
                       "gender": "Male", "contact_date": "01/04/2025", "referral_source": "police",
                       "route": "single", "service": "front_door", "level_of_need": "1",
                       "outcome": "nfa", "domestic_abuse": "n", "previous_csc": "n",
                       "date_of_birth": ["01/03/1850", "31/02/2015", "2999-01-01", "01/01/2015"]})
    path = tmp_path / "years.parquet"
    df.to_parquet(path, index=False)
    small = _small_path(path, tmp_path / "small")
    big = scale.ingest_parquet(path, tmp_path / "big", demo_key=True, today=TODAY, workers=1)
    _assert_same_outputs(small, big["paths"])
    rules = set(pd.read_csv(small["quarantine"])["rule"])
    assert {"year 1850 is before 1900: check the year", ingest.DATE_RULE,
            "year 2999 is after 2200: check the year"} <= rules


def test_duplicate_headers_are_refused_on_the_scale_path(population: Path, tmp_path: Path
                                                         ) -> None:
    df = _flat_cases(population)
    df["Gender"] = df["gender"]
    path = tmp_path / "dup.parquet"
    df.to_parquet(path, index=False)
    with pytest.raises(ingest.InputError, match=r"columns 'gender' \(column D\) and "
                       r"'Gender' \(column W\) have the same header"):
        scale.ingest_parquet(path, tmp_path / "o", demo_key=True)


def test_a_parquet_file_with_more_than_1000_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [1] for i in range(1001)}), path)
    for read in (lambda: scale.ingest_parquet(path, tmp_path / "o", demo_key=True),
                 lambda: ingest.ingest(path, "cases", demo_key=True)):
        with pytest.raises(ingest.InputError, match="has 1,001 columns"):
            read()


def test_hashing_workers_ignore_ctrl_c_so_only_the_parent_reports_it() -> None:
    """Issue 12, case 17: Ctrl-C reached every worker of the pool, and each printed its own
    KeyboardInterrupt traceback. A worker now ignores SIGINT and keeps working; the parent
    stops the pool."""
    import os
    import signal
    import time

    msgs = pa.array([f"case:C{i}".encode() for i in range(60_000)], pa.binary())
    pool = scale._Hasher(privacy.DEMO_KEY, 2)
    try:
        expected = pool.submit(msgs)()
        pids = [p.pid for p in pool.pool._pool]
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        assert [p.pid for p in pool.pool._pool] == pids and all(
            p.is_alive() for p in pool.pool._pool)
        assert pool.submit(msgs)() == expected
    finally:
        pool.close(stop=True)
    assert pool.pool is None
