"""The benchmark script runs (a smoke run of its scale part on tiny data). No timing
assertions: the figures come from `benchmarks/run.py` (see benchmarks/README.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("sqa_benchmarks_run",
                                                  ROOT / "benchmarks" / "run.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_benchmark_scale_part_runs_every_stage_of_the_one_engine(tmp_path: Path) -> None:
    bench = _bench_module()
    res = bench.run_scale(rows=20_000, workdir=tmp_path, batch_rows=5_000)
    stages = {s["stage"]: s for s in res["stages"]}
    assert set(stages) == {"ingest", "sample", "workbook", "rates", "monthly"}
    for s in stages.values():
        assert s["seconds"] > 0 and s["scan_seconds"] > 0 and s["peak_rss_mb"] > 0
        assert s["ratio_to_scan"] == pytest.approx(s["seconds"] / s["scan_seconds"], rel=0.1)
    ing = stages["ingest"]
    assert ing["rows_read"] == 20_000 == ing["rows_accepted"] + ing["rows_quarantined"]
    assert ing["ratio_to_reference"] == pytest.approx(
        ing["seconds"] / ing["reference_seconds"], rel=0.1)
    assert ing["target_ratio"] == 1.5 and stages["sample"]["target_ratio"] == 2.0
    # the ingest and its reference are each the best of three runs in fresh processes
    assert len(ing["seconds_runs"]) == 3 == len(ing["duckdb_sorted_copy_seconds_runs"])
    assert ing["seconds"] == pytest.approx(min(ing["seconds_runs"]), abs=1e-3)
    agree = bench.run_agreement(subjects=300, raters=5, n_boot=50)
    assert agree["seconds"] > 0
