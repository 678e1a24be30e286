"""The regional pool (analysis.pool, `sqa pool`) and the threshold page on it: each test name
states its rule."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis import engine, pool
from analysis import thresholds as th
from analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "threshold_consistency.ipynb"
#: Three councils, each with its own key (long random-looking secrets, as load_key demands).
KEYS = {"E09000012": b"test-key-hackney-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "E09000030": b"test-key-towerhamlets-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "E09000025": b"test-key-newham-5c4b3a29180716f5e4d3c2b1a09f8e7d6c"}


@pytest.fixture(scope="module")
def councils(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three small councils' canonical cases tables, as `sqa ingest` writes them: synthetic
    front doors with different seeds, each pseudonymised with the council's own key."""
    from analysis import ingest, synth

    root = tmp_path_factory.mktemp("councils")
    out: dict[str, Path] = {}
    for i, (code, key) in enumerate(KEYS.items()):
        raw = synth.generate_population_parquet(root / f"raw_{code}.parquet", contacts=3_000,
                                                seed=100 + i)
        res = ingest.ingest(raw, "cases", key=key, today=date(2026, 3, 31))
        ingest.write_outputs(res, root / code)
        out[code] = root / code / "cases.parquet"
    return out


@pytest.fixture(scope="module")
def pooled(councils: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pool") / "region"
    pool.pool_cases(councils, out)
    return out


def test_a_pool_is_one_hive_partition_per_council_with_every_row(
        councils: dict[str, Path], pooled: Path) -> None:
    parts = sorted(p.name for p in pooled.iterdir() if p.is_dir())
    assert parts == sorted(f"council={c}" for c in councils)
    for code in councils:
        assert list((pooled / f"council={code}").glob("*.parquet"))
    con = engine.connect()
    try:
        rows = dict(con.execute(f"SELECT council, count(*) FROM {engine.source(con, pooled)} "
                                "GROUP BY 1").fetchall())
        each = {c: con.execute(f"SELECT count(*) FROM {engine.source(con, p)}").fetchone()[0]
                for c, p in councils.items()}
    finally:
        con.close()
    assert rows == each


def test_pooled_ids_carry_their_council_so_no_child_is_linked_across_councils(
        councils: dict[str, Path], pooled: Path) -> None:
    con = engine.connect()
    try:
        src = engine.source(con, pooled)
        bad = con.execute(f"""SELECT count(*) FROM {src}
            WHERE NOT starts_with(case_id, council || ':')
               OR (child_id IS NOT NULL AND NOT starts_with(child_id, council || ':'))
            """).fetchone()[0]
        shared = con.execute(f"""SELECT count(*) FROM (SELECT child_id FROM {src}
            WHERE child_id IS NOT NULL GROUP BY 1 HAVING count(DISTINCT council) > 1)
            """).fetchone()[0]
        one = con.execute(f"SELECT case_id FROM {src} WHERE council = 'E09000012' LIMIT 1"
                          ).fetchone()[0]
    finally:
        con.close()
    assert bad == 0 and shared == 0
    original = one.split(":", 1)[1]
    assert original in set(pd.read_parquet(councils["E09000012"], columns=["case_id"])["case_id"])


def test_pool_json_records_councils_rows_inputs_hashes_and_key_fingerprints(
        councils: dict[str, Path], pooled: Path) -> None:
    from analysis import __version__
    from analysis.privacy import key_fingerprint
    from analysis.provenance import sha256_file

    rec = json.loads((pooled / "pool.json").read_text("utf-8"))
    assert [c["code"] for c in rec["councils"]] == list(councils)
    for c in rec["councils"]:
        assert c["sha256"] == sha256_file(councils[c["code"]])
        assert c["key_fingerprint"] == key_fingerprint(KEYS[c["code"]])
        assert c["demo_key"] is False and c["rows"] > 0
    assert rec["rows"] == sum(c["rows"] for c in rec["councils"])
    assert rec["package_version"] == __version__


def test_pooling_never_loads_rows_into_pandas(councils: dict[str, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("rows loaded into pandas")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", refuse)
    with engine.recording() as sql:
        pool.pool_cases(councils, tmp_path / "p")
    assert any("PARTITION_BY (council)" in s for s in sql)


def test_two_councils_pseudonymised_with_the_same_key_are_refused_naming_the_fix(
        councils: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    twin = tmp_path / "twin"
    twin.mkdir()
    for name in ("cases.parquet", "cases_ingest.json"):
        shutil.copy(councils["E09000012"].with_name(name), twin / name)
    code = main(["pool", str(tmp_path / "out"), "--council", f"A={councils['E09000012']}",
                 "--council", f"B={twin / 'cases.parquet'}"])
    err = capsys.readouterr().err
    assert code == 2 and "same key" in err and "its own key" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("council", "words"), [
    ("A={missing}", "no such file"),
    ("A={ratings}", "not a cases table"),
    ("bad/code={good}", "council code"),
    ("b={good}", "given twice"),
    ("A", "CODE=PATH"),
])
def test_bad_pool_input_exits_2_with_one_message_naming_the_file_and_the_fix(
        councils: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        council: str, words: str) -> None:
    ratings = tmp_path / "ratings.parquet"
    pd.DataFrame({"rater_id": ["r1"], "subject_id": ["s1"]}).to_parquet(ratings)
    good = councils["E09000030"]
    first = council.format(missing=tmp_path / "nope.parquet", ratings=ratings, good=good)
    code = main(["pool", str(tmp_path / "out"), "--council", first,
                 "--council", f"B={councils['E09000025']}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert words in err and "Traceback" not in err
    assert err.startswith("sqa: error: ") and err.count("\n") == 1


def test_sqa_pool_prints_each_council_and_replaces_an_earlier_pool(
        councils: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["pool", str(tmp_path / "out")]
    for code, p in councils.items():
        args += ["--council", f"{code}={p.parent}"]  # a processed folder is accepted too
    assert main(args) == 0
    assert main(args[:2] + args[2:6]) == 0  # again, two councils: the third goes
    out = capsys.readouterr().out
    assert "E09000012" in out and "pooled 2 councils" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "council=E09000012", "council=E09000030", "pool.json"]


def test_an_audit_sample_is_drawn_from_a_pool_with_its_councils_prefixed_ids(pooled: Path
                                                                            ) -> None:
    from analysis import sampling

    design = {"name": "pool_audit", "title": "t", "seed": 7, "strata": ["council"],
              "filter": {"service": "front_door"}, "allocation": "fixed",
              "counts": {code: 5 for code in KEYS}}
    sample = sampling.draw(pooled, design, reference_date="2026-03-31")
    ids = sample.selected["case_id"].astype(str)
    assert len(ids) == 15
    assert set(ids.str.split(":").str[0]) == set(KEYS)
    assert sampling.draw(pooled, design, reference_date="2026-03-31").manifest["cases"] == \
        sample.manifest["cases"]


def test_the_whole_table_funnel_by_council_counts_the_pool_as_each_council_alone(
        councils: dict[str, Path], pooled: Path) -> None:
    tab = th.conversion_by(pooled, "council", labels={}, overdispersion="additive")
    assert list(tab["group"]) == sorted(councils)
    for code, p in councils.items():
        alone = th.group_counts(p, "service", services=("front_door",))
        row = tab.set_index("group").loc[code]
        assert (int(row["n"]), int(row["successes"])) == (int(alone["n"].sum()),
                                                          int(alone["successes"].sum()))
    od = tab.attrs["overdispersion"]
    assert od["method"] == "additive" and od["groups"] == 3 and 0 <= od["p_value"] <= 1


def test_the_threshold_notebook_runs_on_a_pool_with_a_funnel_plot_by_council(
        pooled: Path, tmp_path: Path) -> None:
    """The pool has cases only: the page says the vignette exercise and the audit are not in
    this dataset, and goes on to the whole-table parts with one point per council."""
    import nbformat
    import papermill as pm

    out_dir = tmp_path / "outputs"
    executed = tmp_path / "threshold_consistency.ipynb"
    t0 = time.perf_counter()
    pm.execute_notebook(str(NOTEBOOK), str(executed), cwd=str(ROOT), progress_bar=False,
                        kernel_name="python3",
                        parameters={"processed_dir": str(pooled), "output_dir": str(out_dir),
                                    "round_name": "region", "n_boot": 100,
                                    "benchmarks_file": str(tmp_path / "none.csv")})
    print(f"notebook ran in {time.perf_counter() - t0:.1f} s")
    findings = pd.read_csv(out_dir / "threshold_consistency_findings.csv")
    assert {"TC-FD-FUNNEL-COUNCIL", "TC-FD-FUNNEL-CONVERSION",
            "TC-TREND-CONVERSION"} <= set(findings["finding_id"])
    council = findings.set_index("finding_id").loc["TC-FD-FUNNEL-COUNCIL"]
    assert "3 council groups" in council["text"]
    assert "chance alone would give" in council["text"]  # the overdispersion sentence
    nb = nbformat.read(executed, as_version=4)
    html = "\n".join(o.get("data", {}).get("text/html", "") + o.get("data", {}).get(
        "text/markdown", "") for c in nb.cells for o in c.get("outputs", []))
    assert 'id="funnel-council-table"' in html
    assert "Contacts that became referrals, by council" in html or "by council" in html
    assert "not in this dataset" in html
    text_out = "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))
    assert ":cs_" not in text_out and ":ch_" not in text_out  # no pooled id on the page
