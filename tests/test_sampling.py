"""Audit samples (analysis.sampling): planning, allocation, drawing, verifying, handing out."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis import cli, ingest, privacy, proportions, schemas
from analysis import sampling as sp
from analysis.reporting import sampling as rs

ROOT = Path(__file__).resolve().parents[1]

#: A small synthetic local authority: tier-2 services and a year of front-door contacts.
SIZES = {"mat_panel": 40, "yprrp": 30, "partnership_triage": 200, "tier2_social_work": 50,
         "first_response_team": 120, "family_intervention_project": 25, "school_map": 10,
         "health_visiting": 60, "front_door": 3000}
HACKNEY = {"mat_yprrp": 5, "partnership_triage": 9, "tier2_social_work": 4,
           "first_response_team": 6, "family_intervention_project": 3, "school_map": 1,
           "health_visiting": 1}


def make_cases(seed: int = 1, sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """A hand-made canonical cases table (pseudonymised with the demo key)."""
    rng = np.random.default_rng(seed)
    sizes = sizes or SIZES
    n = sum(sizes.values())
    service = np.repeat(list(sizes), list(sizes.values()))
    raw = [f"C{k:06d}" for k in range(n)]
    df = pd.DataFrame({
        "case_id": [privacy.pseudonymise(r, privacy.DEMO_KEY, "case") for r in raw],
        "child_id": [privacy.pseudonymise(f"K{k // 2:06d}", privacy.DEMO_KEY, "child")
                     for k in range(n)],
        "age_band": rng.choice(list(schemas.AGE_BANDS), n),
        "gender": rng.choice(["male", "female"], n),
        "ethnicity": rng.choice(["white", "black", "asian", "mixed"], n),
        "contact_date": pd.Timestamp("2025-04-01")
        + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "referral_date": pd.NaT,
        "referral_source": rng.choice(["police", "school", "health", "self_family"], n),
        "route": rng.choice(["single_agency", "multi_agency_forum"], n),
        "service": service,
        "level_of_need": rng.choice(["1", "2A", "2B", "3"], n),
        "referrer_level": rng.choice(["1", "2A", "2B", "3"], n),
        "outcome": rng.choice(["nfa", "early_help", "assessment", "advice_signposting"], n),
        "domestic_abuse": rng.random(n) < 0.25,
        "triage_grade": None,
        "previous_csc": rng.random(n) < 0.3,
        "team": rng.choice(["Team A", "Team B"], n),
        "referrals_last_12m": rng.integers(0, 4, n),
    })
    spec = schemas.cases_spec()
    for c in spec.columns:
        if c.name not in df.columns:
            df[c.name] = None
        if c.type == "date":
            df[c.name] = pd.to_datetime(df[c.name]).astype("datetime64[ns]")
        elif c.type == "bool":
            df[c.name] = df[c.name].astype("boolean")
        elif c.type == "int":
            df[c.name] = df[c.name].astype("Int64")
        else:
            df[c.name] = df[c.name].astype("string")
    return df[spec.names]


@pytest.fixture(scope="module")
def cases() -> pd.DataFrame:
    return make_cases()


@pytest.fixture(scope="module")
def cases_file(tmp_path_factory: pytest.TempPathFactory, cases: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("cases") / "cases.parquet"
    cases.to_parquet(path, index=False)
    return path


def _design_file(tmp_path: Path, text: str, name: str = "design.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# Planning: sample sizes and margins
# --------------------------------------------------------------------------------------


def test_sample_sizes_match_cochran_textbook_values() -> None:
    # Cochran (1977) eqs. 4.1-4.2, z = 1.959964, p = 0.5:
    # n0 = 1.959964^2 * 0.25 / 0.05^2 = 384.15 -> 385;
    # N = 1000: 384.15 / (1 + 383.15 / 1000) = 277.7 -> 278;
    # N = 2500: 384.15 / (1 + 383.15 / 2500) = 333.1 -> 334.
    assert sp.sample_size(0.05) == 385
    assert sp.sample_size(0.05, population=1000) == 278
    assert sp.sample_size(0.05, population=2500) == 334
    assert sp.sample_size(0.03) == 1068
    assert sp.sample_size(0.10) == 97
    assert sp.sample_size(0.10, population=60) == 38
    # 99% confidence, e = 0.05: 2.575829^2 * 0.25 / 0.0025 = 663.5 -> 664
    assert sp.sample_size(0.05, confidence=0.99) == 664
    # p = 0.2: 1.959964^2 * 0.16 / 0.0025 = 245.9 -> 246
    assert sp.sample_size(0.05, p=0.2) == 246


def test_sample_size_without_population_agrees_with_proportions_planning() -> None:
    for e in (0.03, 0.05, 0.1, 0.15):
        assert sp.sample_size(e) == proportions.n_for_interval_width(e)


def test_margin_of_error_is_the_inverse_of_sample_size() -> None:
    for N in (None, 60, 1000, 2500):
        for e in (0.05, 0.1, 0.15):
            n = sp.sample_size(e, population=N)
            assert sp.margin_of_error(n, population=N) <= e + 1e-12
            if n > 1:
                assert sp.margin_of_error(n - 1, population=N) > e
    assert sp.margin_of_error(385) == pytest.approx(0.04994, abs=1e-5)
    assert sp.margin_of_error(10, population=10) == 0.0
    assert math.isnan(sp.margin_of_error(0))
    with pytest.raises(ValueError):
        sp.margin_of_error(11, population=10)


def test_sample_size_never_exceeds_a_small_population() -> None:
    assert sp.sample_size(0.05, population=10) == 10
    assert sp.sample_size(0.01, population=1) == 1


# --------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------


def test_proportional_allocation_rounds_by_largest_remainder_so_strata_sum_to_n() -> None:
    # quotas 2.8, 2.45, 1.75: floors 2, 2, 1 and the two largest remainders (a, c) get +1
    assert sp.allocate({"a": 40, "b": 35, "c": 25}, 7, "proportional") == {"a": 3, "b": 2,
                                                                            "c": 2}
    # three equal quotas of 3.33: the tie goes to the name that sorts first
    assert sp.allocate({"a": 10, "b": 10, "c": 10}, 10, "proportional") == {"a": 4, "b": 3,
                                                                             "c": 3}
    rng = np.random.default_rng(3)
    for _ in range(200):
        pops = {f"s{i}": int(v) for i, v in enumerate(rng.integers(1, 500, rng.integers(2, 9)))}
        n = int(rng.integers(len(pops), sum(pops.values()) + 1))
        alloc = sp.allocate(pops, n, "proportional")
        assert sum(alloc.values()) == n
        assert all(1 <= alloc[h] <= pops[h] for h in pops)


def test_equal_allocation_takes_small_strata_whole_and_shares_the_rest() -> None:
    assert sp.allocate({"a": 2, "b": 100, "c": 100}, 30, "equal") == {"a": 2, "b": 14, "c": 14}
    assert sp.allocate({"a": 50, "b": 50, "c": 50}, 60, "equal") == {"a": 20, "b": 20, "c": 20}


def test_neyman_allocation_is_proportional_to_population_times_standard_deviation() -> None:
    # N_h sqrt(p_h(1 - p_h)): 1000 * 0.5 = 500 and 1000 * 0.3 = 300 -> 50 and 30 of 80
    alloc = sp.allocate({"a": 1000, "b": 1000}, 80, "neyman", prior={"a": 0.5, "b": 0.1})
    assert alloc == {"a": 50, "b": 30}
    with pytest.raises(sp.DesignError, match="prior"):
        sp.allocate({"a": 1000, "b": 1000}, 80, "neyman", prior={"a": 0.5})


def test_minimum_per_stratum_is_respected_and_the_rest_reshared() -> None:
    alloc = sp.allocate({"a": 1000, "b": 20}, 50, "proportional", minimum=5)
    assert alloc == {"a": 45, "b": 5}
    # a stratum smaller than the minimum is taken whole
    alloc = sp.allocate({"a": 1000, "b": 3}, 50, "proportional", minimum=5)
    assert alloc == {"a": 47, "b": 3}
    with pytest.raises(sp.DesignError, match="min_per_stratum"):
        sp.allocate({"a": 100, "b": 100, "c": 100}, 10, "proportional", minimum=4)


def test_every_stratum_gets_at_least_one_case_so_it_can_be_weighted() -> None:
    alloc = sp.allocate({"a": 10_000, "b": 3}, 20, "proportional")
    assert alloc == {"a": 19, "b": 1}


def test_fixed_counts_are_checked_against_the_stratum_populations() -> None:
    assert sp.allocate({"a": 5, "b": 9}, None, "fixed", counts={"a": 5, "b": 2}) == {"a": 5,
                                                                                    "b": 2}
    with pytest.raises(sp.DesignError, match=r"counts\.a = 6 .* only 5 .*Fix: lower counts\.a"):
        sp.allocate({"a": 5, "b": 9}, None, "fixed", counts={"a": 6, "b": 2})
    with pytest.raises(sp.DesignError, match="no count"):
        sp.allocate({"a": 5, "b": 9}, None, "fixed", counts={"a": 2})
    with pytest.raises(sp.DesignError, match="no eligible cases fall in stratum 'c'"):
        sp.allocate({"a": 5, "b": 9}, None, "fixed", counts={"a": 2, "b": 2, "c": 1})


def test_asking_for_more_cases_than_are_eligible_is_a_design_error() -> None:
    with pytest.raises(sp.DesignError, match="only 14 are eligible"):
        sp.allocate({"a": 5, "b": 9}, 20, "proportional")


# --------------------------------------------------------------------------------------
# Designs
# --------------------------------------------------------------------------------------


def test_shipped_designs_load_by_name_and_by_path() -> None:
    assert {"hackney_2011", "threshold_audit"} <= set(sp.shipped_designs())
    d = sp.load_design("hackney_2011")
    assert d.allocation == "fixed" and d.counts == HACKNEY and d.seed == 2011
    assert sum(d.counts.values()) == 29
    path = ROOT / "src" / "analysis" / "designs" / "threshold_audit.yml"
    t = sp.load_design(path)
    assert t.counts == {"nfa": 20, "early_help": 20, "assessment": 20}
    assert t.date_window is not None and t.date_window.start == "2026-01-01"
    # a round file's designs/<name>.yml falls back to the shipped design
    assert sp.load_design("designs/hackney_2011.yml").to_dict() == d.to_dict()


def test_a_design_survives_the_round_trip_through_its_manifest_form() -> None:
    for name in sp.shipped_designs():
        d = sp.load_design(name)
        again = sp.design_from_dict(json.loads(json.dumps(d.to_dict())))
        assert again.to_dict() == d.to_dict() and again.sha256 == d.sha256


@pytest.mark.parametrize(("text", "needle"), [
    ("name: x\nseed: 1\nstrata: service\nallocation: proportional\nn: 10\nsize: 3\n",
     "unknown key 'size'"),
    ("name: x\nseed: 1\nstrata: service\nallocation: random\nn: 10\n", "allocation"),
    ("name: x\nseed: 1\nstrata: service\nallocation: proportional\n", "exactly one of n"),
    ("name: x\nseed: 1\nstrata: service\nallocation: fixed\n", "needs counts"),
    ("name: x\nseed: 1\nstrata: service\nallocation: neyman\nn: 10\n", "needs prior"),
    ("name: x\nseed: 1\nstrata: service\nn: 10\nmargin: 0.1\n", "exactly one of n"),
    ("name: x\nseed: 1\nstrata: service\nn: 10\ndate_window: {start: 2026-13-01}\n",
     "not a date"),
])
def test_bad_designs_raise_a_design_error_naming_the_file_and_key(
        tmp_path: Path, text: str, needle: str) -> None:
    path = _design_file(tmp_path, text)
    with pytest.raises(sp.DesignError) as err:
        sp.load_design(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_an_unknown_column_is_named_with_the_columns_available(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    path = _design_file(tmp_path, "name: x\nseed: 1\nstrata: servce\nn: 10\n")
    with pytest.raises(sp.DesignError, match=r"strata: 'servce' is not a column .*service"):
        sp.draw(cases, path)
    path = _design_file(tmp_path, "name: x\nseed: 1\nfilter: {service: tier_2}\nn: 10\n")
    with pytest.raises(sp.DesignError, match=r"filter.service: 'tier_2' is not a value"):
        sp.draw(cases, path)
    design = {"name": "w", "seed": 1, "n": 5, "date_window": {"column": "service"}}
    with pytest.raises(sp.DesignError, match="'service' is not a date column"):
        sp.draw(cases, design)


def test_a_count_larger_than_its_stratum_names_the_design_file_the_key_and_the_fix(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    text = sp.load_design("hackney_2011").to_dict()
    text["counts"]["school_map"] = 11
    text.pop("n")
    path = _design_file(tmp_path, json.dumps(text), "big.yml")  # JSON is YAML
    with pytest.raises(sp.DesignError) as err:
        sp.draw(cases, path)
    msg = str(err.value)
    assert "big.yml" in msg and "counts.school_map = 11" in msg and "only 10" in msg
    assert "Fix:" in msg


def test_the_command_line_reports_a_bad_design_without_a_traceback(
        tmp_path: Path, cases_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _design_file(tmp_path, "name: x\nseed: 1\nstrata: servce\nn: 10\n")
    code = cli.main(["sample", "--cases", str(cases_file), "--design", str(path), "--out",
                     str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "sqa: error:" in err and "servce" in err and "Traceback" not in err


def test_raw_identifiers_are_refused(tmp_path: Path, cases: pd.DataFrame) -> None:
    raw = cases.copy()
    raw.loc[0, "case_id"] = "123456"
    with pytest.raises(ingest.InputError, match="not pseudonymised"):
        sp.draw(raw, "hackney_2011")
    dup = pd.concat([cases, cases.iloc[[0]]], ignore_index=True)
    with pytest.raises(ingest.InputError, match="more than once"):
        sp.draw(dup, "hackney_2011")


# --------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------


def test_the_hackney_design_reproduces_the_published_composition(cases: pd.DataFrame) -> None:
    s = sp.draw(cases, "hackney_2011")
    got = {r["stratum"]: r["sampled"] for r in s.manifest["strata"]}
    assert got == HACKNEY and s.n == 29
    services = s.selected.groupby("service").size().to_dict()
    assert services.get("mat_panel", 0) + services.get("yprrp", 0) == 5
    assert services["school_map"] == 1 and services["health_visiting"] == 1
    assert [r["stratum"] for r in s.manifest["strata"]] == list(HACKNEY)  # the report's order


def test_the_threshold_audit_draws_20_of_each_outcome_from_the_quarter(
        cases: pd.DataFrame) -> None:
    s = sp.draw(cases, "threshold_audit")
    sel = s.selected
    assert len(sel) == 60
    assert sel.groupby("outcome").size().to_dict() == {"assessment": 20, "early_help": 20,
                                                       "nfa": 20}
    assert (sel["service"] == "front_door").all()
    assert sel["contact_date"].between("2026-01-01", "2026-03-31").all()
    fd = cases[(cases["service"] == "front_door")
               & cases["outcome"].isin(["nfa", "early_help", "assessment"])]
    in_q = fd["contact_date"].between("2026-01-01", "2026-03-31")
    rows = s.manifest["rows"]
    assert rows["after_filter"] == len(fd) and rows["after_date_window"] == int(in_q.sum())


def test_weights_sum_to_the_population(tmp_path: Path, cases: pd.DataFrame) -> None:
    path = _design_file(tmp_path, """
name: prop
seed: 7
filter: {service: front_door}
strata: [outcome, route]
allocation: proportional
n: 120
min_per_stratum: 3
oversample: {column: domestic_abuse, value: true, factor: 3}
""")
    s = sp.draw(cases, path)
    m = s.manifest
    w = pd.DataFrame(m["cases"])
    frame = cases[cases["service"] == "front_door"]
    assert len(w) == 120
    assert w["design_weight"].sum() == pytest.approx(len(frame))
    by = w.groupby("stratum")["design_weight"].sum()
    for st in m["strata"]:
        assert by[st["stratum"]] == pytest.approx(st["population"])
        assert st["selection_probability"] == pytest.approx(st["sampled"] / st["population"])
        assert st["sampled"] >= 1
    assert m["rows"]["frame"] == len(frame)


def test_an_oversampled_group_is_more_likely_to_be_chosen_but_weighted_back(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    path = _design_file(tmp_path, """
name: da
seed: 11
filter: {service: front_door}
strata: outcome
allocation: proportional
n: 200
oversample: {column: domestic_abuse, value: true, factor: 2}
""")
    s = sp.draw(cases, path)
    strata = {r["stratum"]: r for r in s.manifest["strata"]}
    for outcome in ("nfa", "early_help", "assessment", "advice_signposting"):
        f, o = strata[f"{outcome}|domestic abuse"], strata[f"{outcome}|other"]
        ratio = f["selection_probability"] / o["selection_probability"]
        assert 1.5 < ratio < 2.6  # factor 2, up to rounding to whole cases
    sel = s.selected.merge(pd.DataFrame(s.manifest["cases"]), on=["case_id", "stratum"])
    frame = cases[cases["service"] == "front_door"]
    raw_share = sel["domestic_abuse"].astype(bool).mean()
    weighted = np.average(sel["domestic_abuse"].astype(float), weights=sel["design_weight"])
    true_share = frame["domestic_abuse"].astype(bool).mean()
    assert raw_share > true_share + 0.05  # over-represented in the sample ...
    assert weighted == pytest.approx(true_share)  # ... exactly weighted back


def test_a_target_margin_sets_the_sample_size(tmp_path: Path, cases: pd.DataFrame) -> None:
    path = _design_file(tmp_path, "name: m\nseed: 3\nfilter: {service: front_door}\n"
                                  "strata: outcome\nmargin: 0.1\n")
    s = sp.draw(cases, path)
    assert s.n == sp.sample_size(0.1, population=3000)


def test_recently_audited_cases_are_excluded(tmp_path: Path, cases: pd.DataFrame,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    first = _design_file(tmp_path, "name: first\nseed: 1\nfilter: {service: partnership_triage}"
                                   "\nn: 50\n", "first.yml")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(pd.Timestamp("2026-01-15").timestamp())))
    a = sp.draw(cases, first)
    sp.write_sample(a, tmp_path / "a")
    earlier = set(c["case_id"] for c in a.manifest["cases"])

    text = ("name: second\nseed: 1\nfilter: {service: partnership_triage}\nn: 50\n"
            "reference_date: 2026-03-31\nexclude_previous_months: MONTHS\n")
    recent = _design_file(tmp_path, text.replace("MONTHS", "6"), "recent.yml")
    b = sp.draw(cases, recent, previous=[tmp_path / "a" / "manifest.json"])
    assert not earlier & set(c["case_id"] for c in b.manifest["cases"])
    assert b.manifest["rows"]["excluded_previous"] == 50
    assert b.manifest["rows"]["frame"] == 150
    assert sum(c["design_weight"] for c in b.manifest["cases"]) == pytest.approx(150)
    assert b.manifest["exclusions"]["previous_manifests"][0]["applied"] is True
    # the exclusion is recorded, so the sample verifies without the earlier manifest
    sp.write_sample(b, tmp_path / "b")
    assert sp.verify(tmp_path / "b" / "manifest.json", cases).ok

    # a manifest older than the window does not exclude its cases
    old = _design_file(tmp_path, text.replace("MONTHS", "1"), "old.yml")
    c = sp.draw(cases, old, previous=[tmp_path / "a" / "manifest.json"])
    assert c.manifest["rows"]["excluded_previous"] == 0
    assert c.manifest["exclusions"]["previous_manifests"][0]["applied"] is False


def test_cases_outside_the_date_window_are_never_drawn(tmp_path: Path,
                                                       cases: pd.DataFrame) -> None:
    path = _design_file(tmp_path, "name: w\nseed: 5\nfilter: {service: front_door}\n"
                                  "date_window: {start: 2025-06-01, end: 2025-06-30}\n"
                                  "strata: outcome\nallocation: equal\nn: 40\n")
    s = sp.draw(cases, path)
    assert s.selected["contact_date"].between("2025-06-01", "2025-06-30").all()
    fd = cases[cases["service"] == "front_door"]
    assert s.manifest["rows"]["frame"] == int(
        fd["contact_date"].between("2025-06-01", "2025-06-30").sum())


def test_row_order_and_file_format_do_not_change_the_hash_or_the_sample(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    from analysis.export import write_csv

    shuffled = cases.sample(frac=1, random_state=4).reset_index(drop=True)
    shuffled.to_parquet(tmp_path / "shuffled.parquet", index=False)
    write_csv(shuffled, tmp_path / "cases.csv")
    a = sp.draw(cases, "threshold_audit").manifest
    b = sp.draw(tmp_path / "shuffled.parquet", "threshold_audit").manifest
    c = sp.draw(tmp_path / "cases.csv", "threshold_audit").manifest
    for m in (b, c):
        assert m["input_sha256"] == a["input_sha256"]
        assert m["cases"] == a["cases"] and m["strata"] == a["strata"]


def test_a_different_seed_draws_a_different_sample(cases: pd.DataFrame) -> None:
    a = {c["case_id"] for c in sp.draw(cases, "threshold_audit").manifest["cases"]}
    b = {c["case_id"] for c in sp.draw(cases, "threshold_audit", seed=1).manifest["cases"]}
    assert a != b


DRAW_SCRIPT = """
import sys
from analysis import sampling
sys.exit(sampling.cli_draw(sys.argv[1], sys.argv[2], None, sys.argv[3]))
"""


def test_the_same_inputs_and_seed_give_byte_identical_outputs_in_two_processes(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    from analysis.export import write_csv

    cases.to_parquet(tmp_path / "cases.parquet", index=False)
    # the second process reads the same table shuffled and as CSV
    write_csv(cases.sample(frac=1, random_state=9), tmp_path / "cases.csv")

    def run_twice(attempt: int) -> list[Path]:
        outs = []
        for i, (src, hashseed) in enumerate((("cases.parquet", "1"), ("cases.csv", "4242"))):
            env = {**os.environ, "SOURCE_DATE_EPOCH": "1774915200", "PYTHONHASHSEED": hashseed,
                   "OMP_NUM_THREADS": str(i + 1)}
            out = tmp_path / f"out{attempt}_{i}"
            subprocess.run([sys.executable, "-c", DRAW_SCRIPT, str(tmp_path / src),
                            "threshold_audit", str(out)], check=True, env=env, cwd=ROOT,
                           capture_output=True)
            outs.append(out)
        return outs

    def commit(out: Path) -> str:
        return json.loads((out / "manifest.json").read_text())["git_commit"]

    outs = run_twice(0)
    if commit(outs[0]) != commit(outs[1]):  # someone committed between the two runs
        outs = run_twice(1)
    for name in ("manifest.json", "design_table.csv", "auditor_workbook.xlsx"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    m = json.loads((outs[0] / "manifest.json").read_text())
    assert m["created"] == "2026-03-31T00:00:00Z"
    assert [c["case_id"] for c in m["cases"]] == sorted(c["case_id"] for c in m["cases"])


# --------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory, cases_file: Path) -> Path:
    out = tmp_path_factory.mktemp("drawn") / "sample"
    assert sp.cli_draw(cases_file, "hackney_2011", None, out) == 0
    return out / "manifest.json"


def test_verify_passes_on_the_unchanged_file(drawn: Path, cases_file: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = cli.main(["sample", "--verify", str(drawn), "--cases", str(cases_file)])
    out = capsys.readouterr().out
    assert code == 0 and "VERIFIED" in out and "NOT VERIFIED" not in out


def test_verify_fails_clearly_on_a_file_with_one_row_changed(
        tmp_path: Path, drawn: Path, cases: pd.DataFrame,
        capsys: pytest.CaptureFixture[str]) -> None:
    changed = cases.copy()
    i = int(np.flatnonzero(changed["service"] == "front_door")[0])
    changed.loc[i, "team"] = "Team C"
    changed.to_parquet(tmp_path / "changed.parquet", index=False)
    capsys.readouterr()
    code = cli.main(["sample", "--verify", str(drawn), "--cases",
                     str(tmp_path / "changed.parquet")])
    out = capsys.readouterr().out
    assert code == 1 and "NOT VERIFIED" in out
    assert "input hash differs" in out and "1 row differs: 1 changed, 0 added, 0 removed" in out
    # the row lies outside the Hackney frame: the selection itself is unchanged, and said so
    assert "outside the sample frame" in out and "selection: the same 29 cases" in out


def test_verify_reports_added_rows_and_a_changed_selection(
        tmp_path: Path, drawn: Path, cases: pd.DataFrame) -> None:
    more = make_cases(seed=2, sizes={"partnership_triage": 30})
    more["case_id"] = [privacy.pseudonymise(f"X{k}", privacy.DEMO_KEY, "case")
                       for k in range(len(more))]
    grown = pd.concat([cases, more], ignore_index=True)
    res = sp.verify(drawn, grown)
    assert not res.ok
    text = " ".join(res.reasons)
    assert "30 rows differ: 0 changed, 30 added, 0 removed" in text
    assert "selection differs" in text


def test_verify_reports_a_changed_design(tmp_path: Path, drawn: Path, cases_file: Path) -> None:
    m = json.loads(drawn.read_text())
    m["design"]["counts"]["partnership_triage"] = 8
    m["design"]["n"] = 28
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(m))
    res = sp.verify(edited, cases_file)
    assert not res.ok and any(r.startswith("design differs") for r in res.reasons)
    assert any(r.startswith("selection differs") for r in res.reasons)
    # an edit that makes the design unusable is reported, not raised
    m["design"]["n"] = 29
    edited.write_text(json.dumps(m))
    res = sp.verify(edited, cases_file)
    assert not res.ok and any("no longer valid" in r for r in res.reasons)
    # comparing with another design file names what differs
    res = sp.verify(drawn, cases_file, design="threshold_audit")
    assert not res.ok and any("counts" in r and "filter" in r for r in res.reasons)


def _edited(tmp_path: Path, drawn: Path, edit) -> Path:
    """A copy of the drawn manifest changed by ``edit(manifest_dict)``."""
    m = json.loads(drawn.read_text())
    edit(m)
    out = tmp_path / "edited_manifest.json"
    out.write_text(json.dumps(m, indent=2))
    return out


def test_verify_refuses_a_manifest_listing_a_case_twice(tmp_path: Path, drawn: Path,
                                                        cases_file: Path) -> None:
    first: dict = {}

    def twice(m: dict) -> None:
        first.update(m["cases"][0])
        m["cases"].insert(1, dict(m["cases"][0]))

    res = sp.verify(_edited(tmp_path, drawn, twice), cases_file)
    assert not res.ok
    assert any("more than once" in r and first["case_id"] in r for r in res.reasons)
    assert not any(c.startswith("selection") for c in res.checks)


def test_verify_checks_the_frame_row_count_against_the_re_draw(tmp_path: Path, drawn: Path,
                                                               cases_file: Path) -> None:
    def frame(m: dict) -> None:
        m["rows"]["frame"] += 1

    res = sp.verify(_edited(tmp_path, drawn, frame), cases_file)
    assert not res.ok and any("rows.frame" in r for r in res.reasons)
    assert sp.verify(drawn, cases_file).ok


def test_verify_recomputes_the_planned_margin_as_the_sampler_does(tmp_path: Path, drawn: Path,
                                                                   cases_file: Path) -> None:
    def margin(m: dict) -> None:
        m["planning"]["overall_margin_of_error"] = 0.05

    res = sp.verify(_edited(tmp_path, drawn, margin), cases_file)
    assert not res.ok and any(r.startswith("planned margin differs") for r in res.reasons)
    good = sp.verify(drawn, cases_file)
    assert any(c.startswith("planned margin") for c in good.checks)


@pytest.mark.parametrize("key, value, words", [
    ("created", "last Tuesday", "not an ISO 8601 date-time"),
    ("created", "2026-03-31T00:00:00", "with a time zone"),
    ("git_commit", "abc123", "neither a git commit id"),
])
def test_verify_requires_created_and_git_commit_to_be_well_formed(
        tmp_path: Path, drawn: Path, cases_file: Path, key: str, value: str, words: str) -> None:
    res = sp.verify(_edited(tmp_path, drawn, lambda m: m.update({key: value})), cases_file)
    assert not res.ok and any(words in r for r in res.reasons)


def test_verify_shows_when_and_from_which_commit_the_sample_was_drawn(
        drawn: Path, cases_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = json.loads(drawn.read_text())
    capsys.readouterr()
    assert cli.main(["sample", "--verify", str(drawn), "--cases", str(cases_file)]) == 0
    out = capsys.readouterr().out
    assert f"drawn   {m['created']} by code at git commit {m['git_commit']}" in out
    assert "created:" in out and "git_commit:" in out


def _drop(key: str):
    return lambda m: m.pop(key)


def _set(*path_value: object):
    *path, value = path_value

    def edit(m: dict) -> None:
        target = m
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize("edit, key", [
    (_drop("planning"), "'planning'"),
    (_drop("created"), "'created'"),
    (_drop("git_commit"), "'git_commit'"),
    (_set("cases", "all of them"), "'cases' must be a list, not text"),
    (_set("seed", "42"), "'seed' must be a whole number, not text"),
    (_set("seed", True), "'seed' must be a whole number, not true/false"),
    (_set("exclusions", []), "'exclusions' must be a mapping, not a list"),
    (_set("rows", "frame", "10"), "'rows.frame' must be a whole number"),
    (_set("cases", 0, "case_id", 5), "'cases[0].case_id' must be text, not a whole number"),
    (_set("strata", 0, 3), "'strata[0]' must be a mapping"),
    (_set("planning", "overall_margin_of_error", None), "'planning.overall_margin_of_error'"),
    (_set("created", 20260331), "'created' must be text"),
], ids=["no-planning", "no-created", "no-git_commit", "cases-text", "seed-text", "seed-bool",
        "exclusions-list", "frame-text", "case_id-number", "stratum-number", "margin-null",
        "created-number"])
def test_a_malformed_manifest_gives_one_line_naming_the_file_and_the_key_exit_2(
        tmp_path: Path, drawn: Path, cases_file: Path, capsys: pytest.CaptureFixture[str],
        edit, key: str) -> None:
    bad = _edited(tmp_path, drawn, edit)
    capsys.readouterr()
    code = cli.main(["sample", "--verify", str(bad), "--cases", str(cases_file)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"sqa: error: {bad}: ") and key in err


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", "TRUNCATED"],
                         ids=["not-json", "empty", "a-list", "truncated"])
def test_a_manifest_that_is_not_json_or_is_truncated_gives_one_line_exit_2(
        tmp_path: Path, drawn: Path, cases_file: Path, capsys: pytest.CaptureFixture[str],
        text: str) -> None:
    bad = tmp_path / "broken.json"
    full = drawn.read_text()
    bad.write_text(full[:len(full) // 2] if text == "TRUNCATED" else text)
    capsys.readouterr()
    code = cli.main(["sample", "--verify", str(bad), "--cases", str(cases_file)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and err.startswith(f"sqa: error: {bad}: ")


def test_cli_sample_accepts_an_argparse_namespace(tmp_path: Path, cases_file: Path) -> None:
    import argparse

    args = argparse.Namespace(cases=cases_file, design=Path("designs/threshold_audit.yml"),
                              seed=None, out=tmp_path / "t", verify=None)
    assert sp.cli_sample(args) == 0
    args = argparse.Namespace(cases=cases_file, design=None, seed=None, out=None,
                              verify=tmp_path / "t" / "manifest.json")
    assert sp.cli_sample(args) == 0


# --------------------------------------------------------------------------------------
# Handing out: the auditor workbook and the public design table
# --------------------------------------------------------------------------------------


def test_the_workbook_has_dropdowns_and_reads_back_through_the_audit_contract(
        tmp_path: Path, drawn: Path) -> None:
    book = drawn.parent / "auditor_workbook.xlsx"
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Audit", "Instructions"]
    ws = wb["Audit"]
    header = [c.value for c in ws[1]]
    spec = schemas.audit_spec()
    assert set(spec.names) <= set(header)
    assert ws.max_row == 30  # 29 cases
    col = {h: i + 1 for i, h in enumerate(header)}
    lists = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            lists[header[rng.min_col - 1]] = dv.formula1
    assert lists["std_referral_appropriate"] == \
        '"yes,partly,no,not_applicable,insufficient_information"'
    assert lists["tier_judged"] == '"1,2A,2B,3"'
    assert lists["overall_grade"].startswith('"outstanding,good')
    assert lists["theme_da_risk_not_recognised"] == '"yes,no"'
    instructions = " ".join(str(c.value) for row in wb["Instructions"].iter_rows() for c in row
                            if c.value)
    for h in header:
        assert h in instructions

    # two auditors complete the workbook; one row is left without an auditor
    ids = [ws.cell(r, 1).value for r in range(2, 31)]
    for r in range(2, 31):
        ws.cell(r, col["auditor_id"]).value = "AB" if r != 30 else None
        ws.cell(r, col["audit_date"]).value = date(2026, 3, 20)
        for h in header:
            if h.startswith("std_"):
                ws.cell(r, col[h]).value = "yes" if r % 3 else "partly"
            elif h.startswith("theme_"):
                ws.cell(r, col[h]).value = "no"
        ws.cell(r, col["tier_judged"]).value = 1 if r % 2 else "2B"
        ws.cell(r, col["overall_grade"]).value = "good"
    ws.cell(2, col["std_risk_assessed"]).value = "maybe"
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    res = ingest.ingest(filled, "audit", sheet="Audit", demo_key=True, today=date(2026, 3, 31))
    assert res.rows_read == 29
    assert res.rows_accepted == 27 and res.rows_quarantined == 2
    assert set(res.quarantine["column"]) == {"auditor_id", "std_risk_assessed"}
    assert set(res.accepted["case_id"]) <= set(ids)
    assert set(res.accepted["tier_judged"]) == {"1", "2B"}
    assert {"stratum", "service", "contact_date", "team"} <= set(res.ignored_columns)


def test_formula_text_in_the_data_is_neutralised_in_every_exported_file(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    evil = cases.copy()
    payload = '=HYPERLINK("http://example.invalid","click")'
    evil["team"] = evil["team"].astype(object)
    evil.loc[evil["service"] == "school_map", "team"] = payload
    evil.loc[evil["service"] == "health_visiting", "team"] = "+cmd|' /C calc'!A0"
    evil["team"] = evil["team"].astype("string")
    path = _design_file(tmp_path, "name: byteam\nseed: 2\n"
                                  "filter: {service: [school_map, health_visiting]}\n"
                                  "strata: team\nallocation: equal\nn: 4\n")
    s = sp.draw(evil, path)
    paths = sp.write_sample(s, tmp_path / "out")
    table = paths["design_table"].read_text("utf-8")
    assert "'=HYPERLINK" in table and "'+cmd" in table
    assert not re.search(r"(^|,)[=+\-@]", table, flags=re.M)
    wb = openpyxl.load_workbook(paths["workbook"])
    cells = [c for row in wb["Audit"].iter_rows(min_row=2) for c in row if c.value]
    texts = [c for c in cells if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert texts and all(c.value.startswith("'=") and c.data_type == "s" for c in texts)
    assert all(c.data_type != "f" for c in cells)


def test_the_public_design_table_and_words_hold_no_case_level_data(drawn: Path) -> None:
    m = sp.read_manifest(drawn)
    ids = {c["case_id"] for c in m["cases"]}
    table = (drawn.parent / "design_table.csv").read_text("utf-8")
    summary = sp.design_summary(m)
    words = " ".join([rs.plain_words(summary), rs.manifest_facts(m), rs.margin_alt_text(summary),
                      summary.to_csv(), rs.planning_table(summary).to_csv(),
                      " ".join(f["text"] for f in rs.design_findings(m))])
    for text in (table, words):
        assert not any(i in text for i in ids)
        assert not re.search(r"cs_[0-9a-f]{16}", text)
    assert list(pd.read_csv(drawn.parent / "design_table.csv").columns) == [
        "stratum", "label", "population", "sampled", "sampling_fraction", "margin_of_error_95",
        "too_small", "note"]


def test_plain_words_say_when_a_stratum_is_too_small_for_a_general_finding(drawn: Path) -> None:
    summary = sp.design_summary(drawn)
    text = rs.plain_words(summary)
    assert ("One school multi-agency panel (MAP) case was audited: no general finding can be "
            "drawn about that service.") in text
    assert "One health visiting case was audited" in text
    assert "29 cases were sampled" in text
    row = summary.set_index("stratum").loc["school_map"]
    assert bool(row["too_small"]) and row["sampled"] == 1
    assert row["margin_of_error"] == pytest.approx(sp.margin_of_error(1, 10))
    ids = {f["finding_id"] for f in rs.design_findings(drawn)}
    assert {"AS-HACKNEY-2011-DESIGN", "AS-HACKNEY-2011-MAP-TOO-SMALL",
            "AS-HACKNEY-2011-HV-TOO-SMALL"} <= ids


def test_attach_weights_gives_each_sampled_case_its_stratum_and_weight(
        drawn: Path, cases: pd.DataFrame) -> None:
    m = sp.read_manifest(drawn)
    audit = pd.DataFrame({"case_id": [c["case_id"] for c in m["cases"]] * 2})
    w = sp.attach_weights(audit, drawn)
    assert list(w.columns) == ["case_id", "stratum", "design_weight"]
    assert len(w) == 58 and w["design_weight"].notna().all()
    one = sp.attach_weights(cases[["case_id"]], drawn)
    assert one["design_weight"].notna().sum() == 29
    assert one["design_weight"].sum() == pytest.approx(m["rows"]["frame"])
    school = one.loc[one["stratum"] == "school_map", "design_weight"]
    assert school.tolist() == [10.0]


# --------------------------------------------------------------------------------------
# The notebook
# --------------------------------------------------------------------------------------


def test_the_notebook_runs_and_shows_only_aggregate_design_facts(
        tmp_path: Path, cases: pd.DataFrame) -> None:
    import nbformat
    import papermill as pm

    proc = tmp_path / "processed"
    proc.mkdir()
    cases.to_parquet(proc / "cases.parquet", index=False)
    executed = tmp_path / "audit_sample.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "audit_sample.ipynb"), str(executed),
                        cwd=str(ROOT), progress_bar=False, kernel_name="python3",
                        parameters={"processed_dir": str(proc),
                                    "output_dir": str(tmp_path / "out"), "round_name": "demo"})
    findings = pd.read_csv(tmp_path / "out" / "audit_sample_findings.csv")
    assert {"AS-HACKNEY-2011-DESIGN", "AS-HACKNEY-2011-MAP-TOO-SMALL",
            "AS-HACKNEY-2011-VERIFIED", "AS-THRESHOLD-AUDIT-DESIGN",
            "AS-THRESHOLD-AUDIT-VERIFIED"} <= set(findings["finding_id"])
    assert (proc / "samples" / "hackney_2011" / "manifest.json").exists()
    nb = nbformat.read(executed, as_version=4)
    outputs = "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))
    assert not re.search(r"(cs|ch)_[0-9a-f]{16}", outputs)
    assert "no general finding can be drawn about that service" in outputs
    imgs = re.findall(r"<img [^>]*>", outputs)
    assert len(imgs) == 2 and all(re.search(r'alt="[^"]{40,}"', i) for i in imgs)
    source = nbformat.read(ROOT / "notebooks" / "audit_sample.ipynb", as_version=4)
    assert all(c.get("execution_count") is None and not c.get("outputs")
               for c in source.cells if c.cell_type == "code")


def _manifest_with_small_stratum() -> dict:
    strata = []
    for code, label, pop, n in (("triage", "Partnership Triage", 420, 9),
                                ("frt", "First Response Team", 220, 6),
                                ("hv", "Health visiting", 3, 3),
                                ("fip", "Family intervention projects", 45, 3)):
        moe = sp.margin_of_error(n, pop)
        strata.append({"stratum": code, "label": label, "population": pop, "sampled": n,
                       "fraction": n / pop, "margin_of_error": moe, "too_small": n < 5,
                       "note": ""})
    return {"design_name": "hackney_like", "seed": 1, "strata": strata,
            "planning": {"p": 0.5, "confidence": 0.95}, "cases": [],
            "design": {"title": "Hackney-like", "strata": {"columns": ["service"]}},
            "rows": {"input": 700, "frame": 688}}


def test_a_stratum_population_of_one_to_five_is_c_with_everything_that_would_reveal_it(
        ) -> None:
    """Populations are counts of children: with the disclosure ledger a population of 3 is c
    (and a second one, so the total does not give it back), and so are its sampling fraction,
    its margin of error (finite population correction), the cases needed and the word
    "census" or "every case was audited"."""
    from analysis import disclosure
    from analysis.reporting import Ledger

    led = Ledger("audit_sample")
    summary = sp.design_summary(_manifest_with_small_stratum(), led)
    shown = rs.summary_display(summary).set_index("Stratum")
    hv = shown.loc["Health visiting"]
    assert hv["Cases in the population"] == "c"
    assert hv["Sampling fraction"] == "c" and hv.iloc[3] == "c"
    assert (shown["Cases in the population"] == "c").sum() >= 2
    assert shown.loc["All strata", "Cases in the population"] == 688
    plan = rs.planning_table(summary).set_index("Stratum")
    assert (plan.loc["Health visiting"].iloc[2:] == "c").all()
    words = " ".join([rs.plain_words(summary), rs.margin_alt_text(summary),
                      *(f["text"] for f in rs.design_findings(_manifest_with_small_stratum(),
                                                              led))])
    assert "every case was audited" not in words and "(3)" not in words
    assert "3 of 3" not in words
    assert disclosure.audit_release([led]) == []


def test_without_a_ledger_the_design_summary_shows_every_population() -> None:
    summary = sp.design_summary(_manifest_with_small_stratum())
    shown = rs.summary_display(summary).set_index("Stratum")
    assert shown.loc["Health visiting", "Cases in the population"] == 3


# --------------------------------------------------------------------------------------
# One engine at every size: frame, Parquet file, partitioned pool; canonical or file hash
# --------------------------------------------------------------------------------------


def _pool(tmp_path: Path, cases: pd.DataFrame) -> tuple[pd.DataFrame, Path, Path]:
    """The same rows as a frame (with a ``council`` column), one Parquet file, and a
    hive-partitioned folder ``council=<code>/`` (the column comes back from the folder names)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    rows = cases.copy()
    rows["council"] = pd.Series(np.where(np.arange(len(rows)) % 3 == 0, "hackney", "islington"),
                                dtype="string")
    path = tmp_path / "cases.parquet"
    rows.to_parquet(path, index=False)
    folder = tmp_path / "pool"
    ds.write_dataset(pa.Table.from_pandas(rows, preserve_index=False), folder, format="parquet",
                     partitioning=["council"], partitioning_flavor="hive")
    return rows, path, folder


@pytest.mark.parametrize("design", ["threshold_audit", "hackney_2011"])
def test_a_frame_its_parquet_file_and_a_partitioned_folder_give_the_same_sample(
        tmp_path: Path, cases: pd.DataFrame, design: str) -> None:
    rows, path, folder = _pool(tmp_path, cases)
    got = [sp.draw(src, design, reference_date="2026-03-31") for src in (rows, path, folder)]
    keep = ("cases", "strata", "rows", "input_sha256", "frame_sha256", "input_row_digests",
            "planning", "design_sha256")
    for other in got[1:]:
        for key in keep:
            assert other.manifest[key] == got[0].manifest[key], key
        assert (sp.canonical_text(other.selected).to_numpy().tolist()
                == sp.canonical_text(got[0].selected).to_numpy().tolist())


def test_the_canonical_hash_is_the_hash_of_the_canonical_text(cases: pd.DataFrame) -> None:
    """The Arrow-batch digests from DuckDB equal ``input_digest(canonical_text(...))``."""
    m = sp.draw(cases, "threshold_audit").manifest
    text = sp.canonical_text(cases)
    assert m["input_sha256"] == sp.input_digest(text)[0]
    frame = text[text["case_id"].isin(set(pd.DataFrame(m["cases"])["case_id"]))]
    assert len(frame) == 60 and m["rows"]["input"] == len(text)


def test_previous_samples_are_honoured_when_drawing_from_a_file(cases_file: Path) -> None:
    first = sp.draw(cases_file, "threshold_audit")
    ids = [c["case_id"] for c in first.manifest["cases"]]
    again = sp.draw(cases_file, "threshold_audit", seed=2, excluded_ids=ids, with_rows=False)
    assert not set(ids) & {c["case_id"] for c in again.manifest["cases"]}
    assert again.manifest["rows"]["excluded_previous"] == len(ids)
    assert again.manifest["rows"]["frame"] == first.manifest["rows"]["frame"] - len(ids)
    # the same exclusion, given as a frame, draws the same cases
    same = sp.draw(pd.read_parquet(cases_file), "threshold_audit", seed=2, excluded_ids=ids)
    assert same.manifest["cases"] == again.manifest["cases"]


@pytest.mark.parametrize("design", [
    "threshold_audit",
    {"name": "by_source", "seed": 5, "strata": {"columns": ["referral_source", "route"],
                                                "groups": {"public": ["police", "health"]}},
     "allocation": "proportional", "n": 150, "min_per_stratum": 2,
     "oversample": {"column": "domestic_abuse", "value": True, "factor": 3,
                    "label": "domestic abuse"}},
    {"name": "margin", "seed": 9, "filter": {"outcome": ["nfa", "assessment"]},
     "date_window": {"column": "contact_date", "start": "2025-06-01"},
     "strata": "ethnicity", "allocation": "equal", "margin": 0.12},
], ids=["threshold_audit", "oversample", "margin"])
def test_a_file_selects_what_its_rows_select_as_a_frame(cases_file: Path, design: object
                                                         ) -> None:
    small = sp.draw(pd.read_parquet(cases_file), design, reference_date="2026-03-31")
    big = sp.draw(cases_file, design, reference_date="2026-03-31")
    for key in ("cases", "strata", "rows", "seed", "design", "design_sha256", "planning",
                "exclusions", "method", "input_sha256"):
        assert big.manifest[key] == small.manifest[key], key
    pd.testing.assert_frame_equal(big.selected, small.selected, check_dtype=False)


def test_a_table_above_the_canonical_size_records_the_file_hash_and_verifies(
        tmp_path: Path, cases_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.provenance import sha256_file

    canonical = sp.draw(cases_file, "threshold_audit")
    monkeypatch.setattr(sp.cases, "CANONICAL_MAX_ROWS", 100)  # read in sampling.cases
    big = sp.draw(cases_file, "threshold_audit")
    m = big.manifest
    assert m["input_sha256"] is None and m["input_row_digests"] is None
    assert m["input_file_sha256"] == sha256_file(cases_file)
    assert "input_file_sha256 is the SHA-256 of the Parquet file" in m["input_canonicalisation"]
    assert m["cases"] == canonical.manifest["cases"]  # the same draw, identified otherwise
    sp.write_sample(big, tmp_path / "big")
    res = sp.verify(tmp_path / "big" / "manifest.json", cases_file)
    assert res.ok and any("file SHA-256 matches" in c for c in res.checks)
    # a changed file is named, with the row counts
    changed = pd.read_parquet(cases_file)
    changed.loc[0, "team"] = "Team C"
    changed.to_parquet(tmp_path / "changed.parquet", index=False)
    res = sp.verify(tmp_path / "big" / "manifest.json", tmp_path / "changed.parquet")
    assert not res.ok and any(r.startswith("input file differs") for r in res.reasons)


def test_the_file_hash_comes_from_the_ingest_log_while_the_file_is_unchanged_and_verify_rehashes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from analysis import ingest, synth
    from analysis.provenance import sha256_file

    raw = synth.generate_population_parquet(tmp_path / "raw.parquet", contacts=3_000, seed=4)
    res = ingest.ingest(raw, "cases", demo_key=True, today=date(2026, 3, 31))
    table = ingest.write_outputs(res, tmp_path / "out")["table"]
    log = json.loads((tmp_path / "out" / "cases_ingest.json").read_text("utf-8"))
    assert log["table"]["sha256"] == sha256_file(table) == sp.logged_sha256(table)
    monkeypatch.setattr(sp.cases, "CANONICAL_MAX_ROWS", 100)  # read in sampling.cases
    design = {"name": "d", "title": "t", "seed": 2, "strata": ["outcome"],
              "allocation": "proportional", "n": 20}
    assert sp.draw(table, design).manifest["input_file_sha256"] == sha256_file(table)
    # the log vouches only while size and time match: a touched file is hashed again
    st = table.stat()
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert sp.logged_sha256(table) is None
    assert sp.draw(table, design).manifest["input_file_sha256"] == sha256_file(table)
    # a log that vouches wrongly fools the draw's record, never verify, which hashes the file
    st = table.stat()
    log["table"].update(sha256="0" * 64, mtime_ns=st.st_mtime_ns)
    (tmp_path / "out" / "cases_ingest.json").write_text(json.dumps(log), "utf-8")
    sample = sp.draw(table, design)
    assert sample.manifest["input_file_sha256"] == "0" * 64
    sp.write_sample(sample, tmp_path / "s")
    res = sp.verify(tmp_path / "s" / "manifest.json", table)
    assert not res.ok and any(r.startswith("input file differs") for r in res.reasons)


def test_sample_columns_are_case_id_and_the_design_columns() -> None:
    assert sp.sample_columns("threshold_audit") == ["case_id", "service", "outcome",
                                                    "contact_date"]
    assert sp.sample_columns("hackney_2011")[0] == "case_id"


def test_the_n_smallest_keys_are_those_a_stable_argsort_takes_ties_included() -> None:
    rng = np.random.default_rng(0)
    for keys in (rng.random(1000), rng.integers(0, 5, 200).astype(float)):
        for n in (0, 1, 7, 199, 200, 1000):
            want = np.sort(np.argsort(keys, kind="stable")[:n])
            assert sp._smallest(keys, n).tolist() == want.tolist()


def test_bad_input_files_are_named_with_the_fix(tmp_path: Path, cases: pd.DataFrame) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ingest.InputError, match="broken.parquet: not a readable Parquet"):
        sp.draw(broken, "threshold_audit")
    with pytest.raises(ingest.InputError, match="not found"):
        sp.draw(tmp_path / "missing.parquet", "threshold_audit")
    noid = tmp_path / "noid.parquet"
    cases.drop(columns=["case_id"]).to_parquet(noid, index=False)
    with pytest.raises(ingest.InputError, match="noid.parquet: has no case_id column"):
        sp.draw(noid, "threshold_audit")
    dup = tmp_path / "dup.parquet"
    pd.concat([cases, cases.iloc[[5]]], ignore_index=True).to_parquet(dup, index=False)
    with pytest.raises(ingest.InputError, match="dup.parquet: case_id .* more than once"):
        sp.draw(dup, "threshold_audit")
    with pytest.raises(sp.DesignError, match="'servce' is not a column"):
        sp.draw(cases, {"name": "x", "seed": 1, "strata": "servce", "n": 5})
