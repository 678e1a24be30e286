"""The synthetic demo data (analysis.synth): each test name states its rule."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import ingest, privacy, synth
from analysis import thresholds as th
from analysis.synth import annex as synth_annex  # the Annex A workbook (was analysis.synth_annex)

SEED = 20161
ROUND_DATE = date(2026, 3, 31)
FILES = ("cases.csv", "ratings.csv", "annex_a.xlsx", "audit_returns_tier2_previous.csv",
         "truth.parquet")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "demo"
    paths = synth.write_demo(out, seed=SEED)
    assert sorted(p.name for p in paths.values()) == sorted(FILES)
    return out


@pytest.fixture(scope="module")
def demo() -> synth.DemoData:
    return synth.demo_frames(SEED)


@pytest.fixture(scope="module")
def cases(demo: synth.DemoData) -> pd.DataFrame:
    return demo.cases


@pytest.fixture(scope="module")
def truth(demo: synth.DemoData) -> pd.DataFrame:
    return demo.truth


def _ingest(path: Path, kind: str, mapping: str | None = None) -> ingest.IngestResult:
    return ingest.ingest(path, kind, mapping, demo_key=True, today=ROUND_DATE)


def _pseudo(ids: pd.Series) -> list[str]:
    return [privacy.pseudonymise(i, privacy.DEMO_KEY, "case") or "" for i in ids]


# --------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------


def test_the_same_seed_writes_byte_identical_files(demo_dir: Path, tmp_path: Path) -> None:
    again = synth.write_demo(tmp_path / "again", seed=SEED)
    for name in FILES:
        assert (demo_dir / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    assert again["cases"] == tmp_path / "again" / "cases.csv"


def test_a_different_seed_gives_different_data(cases: pd.DataFrame) -> None:
    other = synth.demo_frames(SEED + 1).cases
    assert not other.equals(cases)
    assert len(other) != len(cases) or not (other["child_id"] == cases["child_id"]).all()


# --------------------------------------------------------------------------------------
# Every file ingests
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [
    ("cases.csv", "cases"), ("ratings.csv", "ratings"),
    ("audit_returns_tier2_previous.csv", "audit"),
])
def test_generated_tables_ingest_with_no_quarantined_rows(demo_dir: Path, name: str,
                                                          kind: str) -> None:
    res = _ingest(demo_dir / name, kind)
    assert res.rows_read > 0
    assert res.rows_quarantined == 0, res.quarantine.head().to_string()
    assert res.ignored_columns == []


@pytest.mark.parametrize("kind", ["tier2", "threshold"])
def test_returns_written_for_a_manifest_ingest_with_no_quarantined_rows(
        demo_dir: Path, tmp_path: Path, kind: str) -> None:
    truth = pd.read_parquet(demo_dir / "truth.parquet")
    current = truth[truth["round"] == "current"]
    pool = current[current["service"] == "front_door"] if kind == "threshold" else current[
        current["service"] != "front_door"]
    ids = sorted(privacy.pseudonymise(c, privacy.DEMO_KEY, "case") for c in
                 pool["case_id"].head(40))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"cases": [{"case_id": i} for i in ids]}))
    out = synth.write_audit_returns(manifest, demo_dir / "truth.parquet",
                                    tmp_path / f"returns_{kind}.csv", seed=1, kind=kind)
    res = _ingest(out, "audit")
    assert res.rows_quarantined == 0, res.quarantine.head().to_string()
    assert set(res.accepted["case_id"]) == set(ids)


def test_annex_a_workbook_quarantines_exactly_the_planted_bad_rows_of_every_list(
        demo_dir: Path, demo: synth.DemoData) -> None:
    from analysis import annex_a

    res = annex_a.read_workbook(demo_dir / "annex_a.xlsx", demo_key=True, today=ROUND_DATE)
    assert set(res.tables) == set(synth_annex.ANNEX_LIST_BAD_ROWS)
    for table, r in res.tables.items():
        assert r.rows_accepted + r.rows_quarantined == r.rows_read
        q = r.quarantine
        assert set(q["row"]) == set(demo.annex_a_bad[table].values()), table
        for kind, row in demo.annex_a_bad[table].items():
            rules = " ".join(q.loc[q["row"] == row, "rule"])
            assert synth_annex.ANNEX_LIST_BAD_ROWS[table][kind] in rules, (table, kind, rules)
    assert "Allocated Worker" in res.tables["list3_referrals"].ignored_columns
    assert [s.skipped for s in res.sheets if s.result is None] == [
        "not an Annex A list: no child id column ('Child Unique ID') in its first ten rows"]


def test_the_single_list_annex_a_mapping_still_reads_list_1_of_the_workbook(
        demo_dir: Path, demo: synth.DemoData) -> None:
    res = ingest.ingest(demo_dir / "annex_a.xlsx", "cases", "annex_a", sheet="Contacts",
                        demo_key=True, today=ROUND_DATE)
    assert set(res.quarantine["row"]) == set(demo.annex_a_bad["list1_contacts"].values())


def test_annex_a_ids_keep_their_leading_zeros_and_join_the_cases_table(demo_dir: Path) -> None:
    from analysis import annex_a

    res = annex_a.read_workbook(demo_dir / "annex_a.xlsx", demo_key=True, today=ROUND_DATE)
    contacts = res.tables["list1_contacts"].accepted
    cases = _ingest(demo_dir / "cases.csv", "cases").accepted
    fd = cases[cases["service"] == "front_door"].drop_duplicates(["child_id", "contact_date"],
                                                                 keep=False)
    m = contacts.merge(fd, on=["child_id", "contact_date"], suffixes=("_a", "_c"))
    assert len(m) >= 0.98 * len(contacts)  # ids and dates read correctly: contacts found again
    for col in ("age_band", "gender", "referral_source"):
        assert (m[f"{col}_a"] == m[f"{col}_c"]).all(), col
    raw = pd.read_csv(demo_dir / "cases.csv", dtype=str)
    assert raw["child_id"].str.startswith("00").all()
    assert raw["case_id"].str.fullmatch(r"CN\d{7}").all()


# --------------------------------------------------------------------------------------
# Calibration on the domain documents
# --------------------------------------------------------------------------------------


def test_front_door_receives_about_800_contacts_a_month(cases: pd.DataFrame) -> None:
    fd = cases[cases["service"] == "front_door"]
    monthly = fd.groupby(fd["contact_date"].dt.to_period("M")).size()
    assert len(monthly) == 12
    assert 770 <= monthly.mean() <= 850
    assert fd["contact_date"].min() >= pd.Timestamp("2025-04-01")
    shares = fd["referral_source"].value_counts(normalize=True)
    assert list(shares.index[:3]) == ["police", "school", "health"]


def test_domestic_abuse_volumes_match_worcestershire(cases: pd.DataFrame) -> None:
    da = cases[(cases["service"] == "front_door") & cases["domestic_abuse"]]
    assert da["triage_grade"].notna().all()
    monthly = da.groupby(da["contact_date"].dt.to_period("M")).size()
    assert 550 <= monthly.mean() <= 610
    medium_high = da[da["triage_grade"].isin(["medium", "high"])]
    weekly = len(medium_high) / (365 / 7)
    assert 80 <= weekly <= 100
    assert (da["referral_source"] == "police").all()


def test_nothing_is_dated_after_the_round_date(cases: pd.DataFrame) -> None:
    for col in [c for c in cases.columns if c.endswith("date") or c == "date_of_birth"]:
        assert cases[col].max() <= pd.Timestamp(ROUND_DATE), col


def test_tier2_populations_support_the_hackney_sample_composition(cases: pd.DataFrame) -> None:
    n = cases["service"].value_counts()
    assert n["mat_panel"] + n["yprrp"] >= 5
    assert n["partnership_triage"] >= 9
    assert n["tier2_social_work"] >= 4
    assert n["first_response_team"] >= 6
    assert n["family_intervention_project"] >= 3
    assert n["school_map"] >= 1 and n["health_visiting"] >= 1
    t2 = cases[cases["service"].isin(synth.TIER2_SERVICES)]
    assert t2["first_concern_date"].notna().any() and t2["tier3_referral_date"].notna().any()
    later = t2.dropna(subset=["first_concern_date", "tier3_referral_date"])
    assert (later["tier3_referral_date"] >= later["first_concern_date"]).all()


def test_every_quarter_has_20_contacts_for_each_threshold_audit_outcome(
        cases: pd.DataFrame) -> None:
    fd = cases[cases["service"] == "front_door"]
    for _, q in fd.groupby(fd["contact_date"].dt.to_period("Q")):
        assert len(q) >= 2300
        counts = q["outcome"].value_counts()
        assert all(counts.get(o, 0) >= 20 for o in ("nfa", "early_help", "assessment"))


def test_a_quarter_of_contacts_become_referrals_and_children_recur(cases: pd.DataFrame) -> None:
    fd = cases[cases["service"] == "front_door"]
    assert 0.25 <= fd["referral_date"].notna().mean() <= 0.30
    assert (fd["child_id"].value_counts() > 1).mean() > 0.15
    ref = cases[cases["referral_date"].notna()]
    assert ref["referrals_last_12m"].notna().all()
    assert cases.loc[cases["referral_date"].isna(), "referrals_last_12m"].isna().all()
    assert 0.15 <= (ref["referrals_last_12m"] >= 1).mean() <= 0.30
    # consistent with the history in the table (the column also sees the year before it)
    child = pd.factorize(ref["child_id"])[0]
    in_window = synth.referrals_in_previous_year(
        child, ref["referral_date"].to_numpy().astype("datetime64[D]"))
    assert (ref["referrals_last_12m"].to_numpy() >= in_window).all()
    # so no month has more re-referrals by the history than by the column
    series = {m: th.monthly_series(cases, rereferral_method=m) for m in ("history", "column")}
    num = {m: s[s["measure"] == "rereferral"].set_index("month")["numerator"]
           for m, s in series.items()}
    assert (num["history"] <= num["column"]).all()


def test_two_thirds_to_four_fifths_of_assessments_finish_within_45_working_days(
        cases: pd.DataFrame) -> None:
    a = cases.dropna(subset=["assessment_start_date", "assessment_end_date"])
    wd = th.working_days(a["assessment_start_date"], a["assessment_end_date"])
    assert (wd >= 0).all()
    assert 0.68 <= (wd <= 45).mean() <= 0.80
    assert (a["assessment_start_date"] >= a["referral_date"]).all()


def test_children_are_aged_0_to_17_with_a_few_unborn(cases: pd.DataFrame) -> None:
    years = privacy.age_in_years(cases["date_of_birth"], cases["contact_date"])
    assert years.max() <= 17
    assert (years == -1).mean() < 0.03 and (years == -1).any()
    unborn_lead = (cases["date_of_birth"] - cases["contact_date"]).dt.days
    assert unborn_lead.max() < 280
    mat = cases[cases["service"] == "mat_panel"]
    assert privacy.age_in_years(mat["date_of_birth"], mat["contact_date"]).max() <= 5


def test_service_rates_are_jeffreys_means_of_hackney_2011_findings() -> None:
    r = synth.SERVICE_STANDARD_RATES
    assert r["partnership_triage"]["referral_appropriate"] == pytest.approx(8.5 / 10)
    assert r["first_response_team"]["referral_appropriate"] == pytest.approx(2.5 / 7)
    assert r["tier2_social_work"]["risk_assessed"] == pytest.approx(3.5 / 5)
    assert r["family_intervention_project"]["safeguarding_acted_on"] == pytest.approx(3.5 / 4)
    assert set(r) == set(synth.TIER2_SERVICES)
    assert all(0 < v < 1 for s in r.values() for v in s.values())


def test_truth_covers_every_case_with_every_standard_and_theme(
        cases: pd.DataFrame, truth: pd.DataFrame) -> None:
    cur = truth[truth["round"] == "current"]
    assert list(cur["case_id"]) == list(cases["case_id"])
    for k in synth.STANDARD_KEYS:
        assert set(cur[f"std_{k}"]) <= {"met", "not_met", "not_applicable"}
    for k in synth.THEME_KEYS:
        assert cur[f"theme_{k}"].dtype == bool
    da = cases["domestic_abuse"].to_numpy() & (cases["service"] == "front_door").to_numpy()
    assert cur.loc[da, "true_triage_grade"].notna().all()
    assert cur.loc[~da, "true_triage_grade"].isna().all()
    # DA risk not recognised is the main theme of the tier-2 cases (Hackney 2011)
    t2 = cur[cur["service"] != "front_door"]
    rates = {k: t2[f"theme_{k}"].mean() for k in synth.THEME_KEYS}
    assert max(rates, key=rates.get) == "da_risk_not_recognised"


def test_single_agency_contacts_are_less_often_appropriate_than_forum_contacts(
        cases: pd.DataFrame, truth: pd.DataFrame) -> None:
    cur = truth[truth["round"] == "current"].set_index("case_id")
    fd = cases[(cases["service"] == "front_door") & ~cases["domestic_abuse"]]
    app = cur.loc[fd["case_id"], "truly_appropriate"].to_numpy()
    single = (fd["route"] == "single_agency").to_numpy()
    assert app[single].mean() + 0.15 < app[~single].mean()
    # and the held level is sometimes too low (the Hackney hypothesis) more than too high
    pos = {lv: i for i, lv in enumerate(synth.LEVELS)}
    held = fd["level_of_need"].map(pos).to_numpy()
    true = cur.loc[fd["case_id"], "true_level"].map(pos).to_numpy()
    assert (held < true).mean() > (held > true).mean()


# --------------------------------------------------------------------------------------
# Audit returns recover the error model
# --------------------------------------------------------------------------------------


def _manifest(ids: pd.Series) -> dict:
    return {"cases": [{"case_id": p} for p in sorted(_pseudo(ids))]}


def _within_99(successes: int, n: int, p: float) -> bool:
    lo, hi = stats.binom.interval(0.99, n, p)
    return lo <= successes <= hi


def _true_category(answers: pd.Series) -> np.ndarray:
    """The inverse of the simulated auditors' answers: yes -> met; partly, no -> not_met;
    not_applicable; insufficient_information -> None."""
    a = np.asarray(answers, dtype=object)
    return np.select([a == "yes", (a == "partly") | (a == "no"), a == "not_applicable"],
                     ["met", "not_met", "not_applicable"], None).astype(object)


def test_simulated_returns_recover_the_auditor_error_model(
        cases: pd.DataFrame, truth: pd.DataFrame) -> None:
    cur = truth[truth["round"] == "current"]
    t2 = cur[cur["service"] != "front_door"]
    ret = synth.simulate_audit_returns(_manifest(t2["case_id"]), cur, seed=7, kind="tier2")
    assert len(ret) == 2 * len(t2)
    per_case = ret.groupby("case_id")["auditor_agency"].nunique()
    assert (per_case == 2).all()  # two auditors from different agencies
    true = t2.assign(case_id=_pseudo(t2["case_id"])).set_index("case_id")
    got, want = [], []
    for k in synth.STANDARD_KEYS:
        got.append(_true_category(ret[f"std_{k}"]))
        want.append(true.loc[ret["case_id"], f"std_{k}"].to_numpy())
    got_a, want_a = np.concatenate(got), np.concatenate(want)
    answered = got_a != None  # noqa: E711 (object array)
    n_ins = int((~answered).sum())
    assert _within_99(n_ins, got_a.size, synth.AUDITOR_INSUFFICIENT)
    hits = int((got_a[answered] == want_a[answered]).sum())
    assert _within_99(hits, int(answered.sum()), 1 - synth.AUDITOR_ERROR)
    tier_hits = int((ret["tier_judged"].to_numpy() == true.loc[ret["case_id"],
                                                               "true_level"].to_numpy()).sum())
    assert _within_99(tier_hits, len(ret), 1 - synth.TIER_JUDGED_ERROR)
    assert ret["triage_grade_judged"].isna().all()
    assert ret["notes"].str.match(r"Auditor [A-Z]{2}: ").all()


def test_threshold_returns_grade_triage_for_domestic_abuse_contacts(
        cases: pd.DataFrame, truth: pd.DataFrame) -> None:
    cur = truth[truth["round"] == "current"]
    fd = cur[cur["service"] == "front_door"]
    ret = synth.simulate_audit_returns(_manifest(fd["case_id"]), cur, seed=3, kind="threshold")
    per_case = ret.groupby("case_id").size()
    assert set(per_case) == {1, 2}
    assert _within_99(int((per_case == 2).sum()), len(per_case), synth.THRESHOLD_SECOND_AUDITOR)
    true = fd.assign(case_id=_pseudo(fd["case_id"])).set_index("case_id")
    tg = true.loc[ret["case_id"], "true_triage_grade"].to_numpy()
    has = pd.notna(tg)
    assert (ret["triage_grade_judged"].notna().to_numpy() == has).all()
    hits = int((ret["triage_grade_judged"].to_numpy()[has] == tg[has]).sum())
    assert _within_99(hits, int(has.sum()), 1 - synth.TRIAGE_JUDGED_ERROR)


def test_audit_returns_written_for_a_manifest_ingest_and_keep_its_case_ids(
        demo_dir: Path, cases: pd.DataFrame, tmp_path: Path) -> None:
    pick = cases[cases["service"] == "tier2_social_work"]["case_id"].head(4)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(_manifest(pick)), "utf-8")
    out = synth.write_audit_returns(manifest, demo_dir / "truth.parquet", tmp_path / "r.csv",
                                    seed=1, kind="tier2")
    res = _ingest(out, "audit")
    assert res.rows_quarantined == 0 and res.rows_read == 8
    assert set(res.accepted["case_id"]) == set(_pseudo(pick))
    again = synth.write_audit_returns(manifest, demo_dir / "truth.parquet",
                                      tmp_path / "r2.csv", seed=1, kind="tier2")
    assert out.read_bytes() == again.read_bytes()


def test_a_manifest_that_does_not_match_the_truth_is_refused_clearly(
        truth: pd.DataFrame) -> None:
    bad = {"cases": [{"case_id": privacy.pseudonymise("NOPE1", privacy.DEMO_KEY, "case")}]}
    with pytest.raises(synth.SynthError, match="not in the truth table"):
        synth.simulate_audit_returns(bad, truth, seed=1)
    with pytest.raises(synth.SynthError, match="no list of cases"):
        synth.simulate_audit_returns({"design": {}}, truth, seed=1)
    with pytest.raises(synth.SynthError, match="kind must be"):
        synth.simulate_audit_returns(bad, truth, seed=1, kind="other")
    with pytest.raises(FileNotFoundError):
        synth.write_audit_returns("no/such/manifest.json", "no/truth.parquet", "x.csv", 1)


def test_previous_round_compliance_is_lower_by_the_stated_shift(
        demo_dir: Path, truth: pd.DataFrame) -> None:
    services = [s for s in synth.TIER2_SERVICES for _ in range(2500)]
    now = synth.tier2_truth(services, seed=5)
    before = synth.tier2_truth(services, seed=6, shift=synth.PREVIOUS_ROUND_SHIFT)
    for k in ("risk_assessed", "threshold_applied", "actions_proportionate"):
        drop = (now[f"std_{k}"] == "met").mean() - (before[f"std_{k}"] == "met").mean()
        assert drop == pytest.approx(synth.PREVIOUS_ROUND_SHIFT, abs=0.02), k
    prev = pd.read_csv(demo_dir / "audit_returns_tier2_previous.csv", dtype=str)
    assert prev["case_id"].str.startswith("PRV").all()
    assert prev["case_id"].nunique() == sum(synth.HACKNEY_SAMPLE.values()) == 29
    assert (prev["audit_date"] < "2026-01-01").all()
    assert set(truth.loc[truth["round"] == "previous", "case_id"]) == set(prev["case_id"])


# --------------------------------------------------------------------------------------
# Vignette ratings
# --------------------------------------------------------------------------------------


def test_ratings_recover_each_agencys_stated_accuracy() -> None:
    ratings, tr = synth.generate_ratings(seed=11, n_subjects=4000)
    acc = (ratings["level"] == ratings["reference_level"]).groupby(
        ratings["rater_agency"]).mean()
    for agency, model in tr["agencies"].items():
        assert acc[agency] == pytest.approx(model["accuracy"], abs=0.02), agency


def test_misgrades_fall_on_neighbouring_levels_and_schools_grade_higher_than_police() -> None:
    ratings, _ = synth.generate_ratings(seed=2, n_subjects=1000)
    pos = {lv: i for i, lv in enumerate(synth.LEVELS)}
    diff = ratings["level"].map(pos) - ratings["reference_level"].map(pos)
    assert set(diff.unique()) <= {-1, 0, 1}
    up = (diff > 0).groupby(ratings["rater_agency"]).mean()
    down = (diff < 0).groupby(ratings["rater_agency"]).mean()
    assert up["school"] > down["school"] and down["police"] > up["police"]


def test_rating_exercise_is_deterministic_complete_and_ingests(tmp_path: Path) -> None:
    a, truth = synth.generate_ratings(seed=1)
    b, _ = synth.generate_ratings(seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 40 * truth["n_raters"]
    assert 3 <= min(v["raters"] for v in truth["agencies"].values()) <= 6
    assert a.groupby("subject_id")["reference_level"].nunique().eq(1).all()
    custom, t2 = synth.generate_ratings(seed=1, n_subjects=5, agencies=["police", "health"],
                                        raters_per_agency=3)
    assert set(custom["rater_agency"]) == {"police", "health"} and len(custom) == 30
    assert t2["agencies"]["health"]["raters"] == 3
    with pytest.raises(synth.SynthError, match="no rater model"):
        synth.generate_ratings(seed=1, agencies=["astrologers"])


# --------------------------------------------------------------------------------------
# Scale mode
# --------------------------------------------------------------------------------------


def test_scale_mode_writes_parquet_row_groups_that_read_back(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = synth.generate_population_parquet(tmp_path / "c.parquet", contacts=50_000, seed=4,
                                             chunk_rows=20_000)
    f = pq.ParquetFile(path)
    assert f.metadata.num_rows == 50_000 and f.metadata.num_row_groups == 3
    df = pd.read_parquet(path)
    assert df["case_id"].is_unique
    assert str(df["contact_date"].dtype) == "datetime64[ns]"
    assert str(df["referrals_last_12m"].dtype) == "Int64"
    assert df["contact_date"].is_monotonic_increasing
    assert df["contact_date"].max() <= pd.Timestamp(ROUND_DATE)
    for col in df.columns:
        if col.endswith("date") and df[col].notna().any():
            assert df[col].max() <= pd.Timestamp(ROUND_DATE), col
    again = synth.generate_population_parquet(tmp_path / "d.parquet", contacts=50_000, seed=4,
                                              chunk_rows=20_000)
    assert path.read_bytes() == again.read_bytes()
    res = ingest.ingest(path, "cases", demo_key=True, today=ROUND_DATE)
    assert res.rows_quarantined == 0


def test_nonsense_sizes_are_refused_with_a_message(tmp_path: Path) -> None:
    with pytest.raises(synth.SynthError, match="positive"):
        synth.generate_population_parquet(tmp_path / "x.parquet", contacts=0, seed=1)
    with pytest.raises(synth.SynthError, match="at least 1,200 contacts"):
        synth.demo_frames(1, contacts=50)


def test_a_smaller_demo_year_keeps_its_monthly_shape() -> None:
    d = synth.demo_frames(3, contacts=synth.MIN_DEMO_CONTACTS)
    fd = d.cases[d.cases["service"] == "front_door"]
    assert len(fd) == synth.MIN_DEMO_CONTACTS
    assert fd["contact_date"].dt.to_period("M").nunique() == 12
    assert d.annex_a_bad.keys() == synth_annex.ANNEX_LIST_BAD_ROWS.keys()


# --------------------------------------------------------------------------------------
# A series of demo rounds: known changes (issue 14)
# --------------------------------------------------------------------------------------


def _tier2_met_share(truth: pd.DataFrame) -> pd.Series:
    """Share of the current round's tier-2 cases meeting each standard, where applicable."""
    t = truth[(truth["round"] == "current") & (truth["service"] != "front_door")]
    return pd.Series({k: (t[f"std_{k}"] == "met").sum() / (t[f"std_{k}"] != "not_applicable")
                      .sum() for k in synth.STANDARD_KEYS if k != "tier3_consultation"})


def test_synth_shift_lowers_every_tier2_standards_p_met_by_the_shift_in_the_truth(
        demo: synth.DemoData) -> None:
    """The known change of the demo-2024 round (shift 0.12): the same year with every tier-2
    standard's P(met) 0.12 lower; the front door is not shifted."""
    shifted = synth.demo_frames(SEED, shift=0.12)
    drop = _tier2_met_share(demo.truth) - _tier2_met_share(shifted.truth)
    assert drop.mean() == pytest.approx(0.12, abs=0.015)
    assert (drop > 0.06).all(), drop.to_dict()
    fd = demo.truth["service"] == "front_door"
    assert demo.truth.loc[fd, "std_risk_assessed"].equals(
        shifted.truth.loc[fd, "std_risk_assessed"])


def test_synth_assessment_shift_lowers_the_share_of_assessments_within_45_working_days(
        demo: synth.DemoData) -> None:
    """The front-door known change of the earlier demo rounds: P(assessment within 45
    working days) lower by ``assessment_shift``, from the same random draws."""
    from analysis.thresholds import working_days

    def on_time(d: synth.DemoData) -> float:
        c = d.cases[(d.cases["service"] == "front_door")
                    & d.cases["assessment_end_date"].notna()]
        return float((working_days(c["assessment_start_date"], c["assessment_end_date"])
                      <= 45).mean())

    shifted = synth.demo_frames(SEED, assessment_shift=0.10)
    assert on_time(demo) - on_time(shifted) == pytest.approx(0.10, abs=0.03)
    assert shifted.cases["contact_date"].equals(demo.cases["contact_date"])


def test_synth_year_end_dates_the_whole_year_the_annex_a_workbook_and_the_audits_in_it(
        tmp_path: Path) -> None:
    d = synth.demo_frames(20241, year_end="2024-03-31")
    contact = pd.to_datetime(d.cases["contact_date"])
    assert contact.min() >= pd.Timestamp("2023-04-01")
    assert contact.max() <= pd.Timestamp("2024-03-31")
    for col in ("referral_date", "assessment_end_date", "tier3_referral_date", "date_of_birth"):
        assert pd.to_datetime(d.cases[col]).max() <= pd.Timestamp("2024-03-31"), col
    title = next(s for s in d.annex_a if s.table == "list1_contacts").title
    assert "01/04/2023 to 31/03/2024" in title
    assert (d.previous_returns["audit_date"] == "2023-03-13").all()
    assert synth.demo_calendar(None) == (synth.FY_START, synth.FY_END, synth.HISTORY_START)
    returns = synth.simulate_audit_returns(
        {"cases": [{"case_id": privacy.pseudonymise_series(
            pd.Series([d.truth["case_id"].iat[0]]), privacy.DEMO_KEY, "case").iat[0]}]},
        d.truth, seed=1, kind="threshold", year_end="2024-03-31")
    assert set(returns["audit_date"]) <= {"2024-03-19", "2024-03-20", "2024-03-26"}
