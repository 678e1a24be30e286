"""Threshold-consistency analyses (analysis.thresholds): each test name states its rule."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import proportions as pr
from analysis import thresholds as th
from analysis.reporting import thresholds as rt

HACKNEY = ["1", "2A", "2B", "3"]
ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------
# Intervals: published worked examples
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    (81, 263, 0.2553, 0.3662),   # Newcombe (1998) Stat Med 17:857, Table II, example (a)
    (15, 148, 0.0624, 0.1605),   # example (b)
    (0, 20, 0.0000, 0.1611),     # example (c)
    (1, 29, 0.0061, 0.1718),     # example (d)
])
def test_wilson_interval_matches_newcombe_1998_worked_examples(x, n, low, high) -> None:
    lo, hi = pr.effective_interval(x, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


# --------------------------------------------------------------------------------------
# Funnel plots (Spiegelhalter 2005)
# --------------------------------------------------------------------------------------


def _binom_cdf(r: int, n: int, p: float) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(0, r + 1)) if r >= 0 \
        else 0.0


def _hand_exact_limit(target: float, n: int, tail: float) -> float:
    """Spiegelhalter (2005) Appendix A.1.1 by hand: smallest r with F(r) >= tail, then
    interpolate (r - a)/n with a = (F(r) - tail) / (F(r) - F(r - 1))."""
    r = 0
    while _binom_cdf(r, n, target) < tail:
        r += 1
    f_r, f_r1 = _binom_cdf(r, n, target), _binom_cdf(r - 1, n, target)
    return (r - (f_r - tail) / (f_r - f_r1)) / n


@pytest.mark.parametrize("n", [8, 25, 50, 120])
def test_exact_funnel_limits_match_a_hand_calculation(n: int) -> None:
    target = 0.7
    lim = th.funnel_limits(target, [n]).iloc[0]
    assert lim["lower_95"] == pytest.approx(_hand_exact_limit(target, n, 0.025), abs=1e-9)
    assert lim["upper_95"] == pytest.approx(_hand_exact_limit(target, n, 0.975), abs=1e-9)
    assert lim["lower_99.8"] == pytest.approx(_hand_exact_limit(target, n, 0.001), abs=1e-9)
    assert lim["upper_99.8"] == pytest.approx(_hand_exact_limit(target, n, 0.999), abs=1e-9)


def test_exact_funnel_limits_for_many_sizes_at_once_equal_each_size_alone() -> None:
    n = np.array([0, 1, 2, 7, 30, 31, 250, 4000, 123457], dtype=float)
    for target in (0.02, 0.3, 0.5, 0.97):
        for side in ("lower", "upper"):
            many = th.funnel_limit(target, n, 0.998, side)
            alone = [th.funnel_limit(target, int(k), 0.998, side) for k in n]
            np.testing.assert_array_equal(many, np.array(alone))
    assert np.isnan(th.funnel_limit(0.3, 0, 0.95, "lower"))


def test_normal_funnel_limits_are_target_plus_minus_z_standard_errors() -> None:
    # 0.8 +/- 1.95996 * sqrt(0.16 / 50) and 0.8 +/- 3.09023 * sqrt(0.16 / 50)
    lim = th.funnel_limits(0.8, [50], method="normal").iloc[0]
    assert lim["lower_95"] == pytest.approx(0.68913, abs=1e-5)
    assert lim["upper_95"] == pytest.approx(0.91087, abs=1e-5)
    assert lim["lower_99.8"] == pytest.approx(0.62519, abs=1e-5)
    assert lim["upper_99.8"] == pytest.approx(0.97481, abs=1e-5)


def test_funnel_limits_narrow_as_groups_grow_and_contain_the_target() -> None:
    lim = th.funnel_limits(0.6, [5, 20, 80, 320])
    width = lim["upper_95"] - lim["lower_95"]
    assert (np.diff(width) < 0).all()
    assert ((lim["lower_99.8"] <= lim["lower_95"]) & (lim["lower_95"] <= 0.6)
            & (lim["upper_95"] >= 0.6) & (lim["upper_95"] <= lim["upper_99.8"])).all()


def test_funnel_does_not_single_out_a_small_team_by_chance_but_flags_a_large_outlier() -> None:
    rows = []
    # five ordinary teams at 70% with 100 contacts each; a small team with 2 of 5 (40%);
    # a large team at 45% of 200
    for t in range(5):
        rows += [{"team": f"T{t}", "ok": i < 70} for i in range(100)]
    rows += [{"team": "small", "ok": i < 2} for i in range(5)]
    rows += [{"team": "large", "ok": i < 90} for i in range(200)]
    tab = th.funnel_table(pd.DataFrame(rows), "team", "ok").set_index("group")
    assert tab.loc["small", "position"] == "within"
    assert tab.loc["large", "position"] == "below_99.8"
    assert tab["target"].iloc[0] == pytest.approx((5 * 70 + 2 + 90) / 705)
    assert "small" not in th.funnel_reading(tab.reset_index())


def test_funnel_positions_follow_exactly_the_limits_drawn() -> None:
    """70 of 87 against 0.717 (the issue's example) and many random groups: a point above the
    drawn 95% line is never called "within", and one inside it never flagged."""
    rng = np.random.default_rng(3)
    rows = [{"g": "a", "ok": i < 70} for i in range(87)]
    for k in range(40):
        n = int(rng.integers(5, 200))
        x = int(rng.binomial(n, rng.uniform(0.4, 0.95)))
        rows += [{"g": f"g{k}", "ok": i < x} for i in range(n)]
    tab = th.funnel_table(pd.DataFrame(rows), "g", "ok", target=0.717)
    for r in tab.itertuples():
        up95, lo95 = r.upper_95, r.lower_95
        inside = lo95 <= r.rate <= up95
        assert (r.position == "within") == inside, r
    a = tab.set_index("group").loc["a"]
    assert a["rate"] > a["upper_95"] and a["position"].startswith("above")


def test_a_group_too_small_to_report_is_left_off_the_funnel() -> None:
    rows = [{"g": "big", "ok": i < 70} for i in range(97)] + [{"g": "tiny", "ok": True}] * 3
    tab = th.funnel_table(pd.DataFrame(rows), "g", "ok", target=0.75, min_n=5)
    assert list(tab["group"]) == ["big"]


def test_funnel_groups_kept_hidden_and_too_small_carry_the_same_labels() -> None:
    """Each group is labelled once: the kept groups' ``label`` column, the hidden ones
    (``attrs["suppressed"]``, hidden by key or by label) and the small ones
    (``attrs["too_few"]``) by the same names; the labels are text, and an empty table's
    label column is empty."""
    rows = ([{"g": "a", "ok": i < 60} for i in range(100)]
            + [{"g": "b", "ok": i < 50} for i in range(100)]
            + [{"g": "c", "ok": i < 40} for i in range(100)]
            + [{"g": "d", "ok": True}] * 3 + [{"g": "e", "ok": False}] * 100)
    labels = {"a": "Alpha", "b": "Beta", "d": "Delta"}
    tab = th.funnel_table(pd.DataFrame(rows), "g", "ok", labels=labels, min_n=5,
                          hide=("Beta", "e"))
    assert tab["label"].tolist() == ["Alpha", "c"]
    assert pd.api.types.is_string_dtype(tab["label"])
    assert tab.attrs["suppressed"] == ["Beta", "e"] and tab.attrs["too_few"] == ["Delta"]
    none = th.funnel_table(pd.DataFrame(rows), "g", "ok", labels=labels, min_n=1000)
    assert none.empty and none["label"].tolist() == []
    assert none.attrs["too_few"] == ["Alpha", "Beta", "c", "Delta", "e"]


# --------------------------------------------------------------------------------------
# Logistic regression
# --------------------------------------------------------------------------------------


def _fabricated_referrals(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Appropriate referral with known odds ratios: forum 3.0, police 0.5, DA 1.6, age 10-15 0.7."""
    rng = np.random.default_rng(seed)
    truth = {"route=multi_agency_forum": 3.0, "referral_source=police": 0.5,
             "domestic_abuse=yes": 1.6, "age_band=10_to_15": 0.7}
    df = pd.DataFrame({
        "route": rng.choice(["single_agency", "multi_agency_forum"], n, p=[0.7, 0.3]),
        "referral_source": rng.choice(["school", "police", "health"], n, p=[0.4, 0.35, 0.25]),
        "domestic_abuse": rng.random(n) < 0.3,
        "age_band": rng.choice(["1_to_4", "5_to_9", "10_to_15"], n),
    })
    logit = (0.2 + np.log(3.0) * (df["route"] == "multi_agency_forum")
             + np.log(0.5) * (df["referral_source"] == "police")
             + np.log(1.6) * df["domestic_abuse"] + np.log(0.7) * (df["age_band"] == "10_to_15"))
    df["appropriate"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    return df, truth


def _or_row(res: th.LogisticResult, key: str) -> pd.Series:
    pred, code = key.split("=")
    t = res.table
    code_match = t["code"].astype(str) == code
    return t[(t["predictor"] == pred) & code_match].iloc[0]


def test_logistic_regression_recovers_known_odds_ratios_within_their_intervals() -> None:
    df, truth = _fabricated_referrals(20000, seed=11)
    res = th.logistic_odds_ratios(
        df, "appropriate", ["referral_source", "route", "domestic_abuse", "age_band"],
        reference={"referral_source": "school", "route": "single_agency", "age_band": "1_to_4"})
    assert not res.weighted and res.n == 20000
    for key, true_or in truth.items():
        row = _or_row(res, key)
        assert row["ci_low"] < true_or < row["ci_high"], (key, row.to_dict())
    # health and 5-9 have no true effect: their odds ratios are close to 1
    for key in ("referral_source=health", "age_band=5_to_9"):
        assert 0.85 < _or_row(res, key)["odds_ratio"] < 1.18


def test_design_weighted_logistic_regression_undoes_oversampling_of_a_group() -> None:
    df, truth = _fabricated_referrals(40000, seed=12)
    # keep every police contact but only 1 in 4 of the others: police over-sampled 4x
    rng = np.random.default_rng(3)
    keep = (df["referral_source"] == "police") | (rng.random(len(df)) < 0.25)
    s = df[keep].copy()
    s["design_weight"] = np.where(s["referral_source"] == "police", 1.0, 4.0)
    res = th.logistic_odds_ratios(
        s, "appropriate", ["referral_source", "route", "domestic_abuse", "age_band"],
        weight_col="design_weight",
        reference={"referral_source": "school", "route": "single_agency", "age_band": "1_to_4"})
    assert res.weighted and "sandwich" in res.method
    for key, true_or in truth.items():
        row = _or_row(res, key)
        assert row["ci_low"] < true_or < row["ci_high"], key
    # the overall share: weighted equals the population share, unweighted is biased
    w = th.appropriateness_by(s, None)
    assert w["estimate"].iloc[0] == pytest.approx(df["appropriate"].mean(), abs=0.012)
    assert s["appropriate"].mean() < df["appropriate"].mean() - 0.03


def test_odds_ratio_readings_say_the_data_cannot_tell_when_the_interval_includes_one() -> None:
    df, _ = _fabricated_referrals(3000, seed=5)
    res = th.logistic_odds_ratios(df, "appropriate", ["route", "age_band"],
                                  reference={"route": "single_agency", "age_band": "1_to_4"},
                                  variable_labels={"route": "Route", "age_band": "Age"})
    text = " ".join(res.readings)
    assert "times the odds" in text             # the forum effect is clear
    five = [r for r in res.readings if "5_to_9" in r or "5 to 9" in r]
    assert five and "the data cannot tell whether" in five[0]
    assert "no difference" not in five[0].replace("includes 1", "")


def test_rare_categories_are_pooled_so_no_odds_ratio_rests_on_a_handful_of_cases() -> None:
    df, _ = _fabricated_referrals(500, seed=9)
    df.loc[df.index[:3], "referral_source"] = "housing"
    df.loc[df.index[3:6], "referral_source"] = "voluntary"
    res = th.logistic_odds_ratios(df, "appropriate", ["referral_source"], min_count=5)
    assert "housing" not in set(res.table["code"]) and "other" in set(res.table["code"])
    assert res.table.set_index("code").loc["other", "n"] == 6
    # a pooled group still too small is left out of the model, and the result says so
    df.loc[df.index[3:6], "referral_source"] = "school"
    res = th.logistic_odds_ratios(df, "appropriate", ["referral_source"], min_count=5)
    assert "other" not in set(res.table["code"]) and res.excluded == 3 and res.n == 497


def test_firth_regression_on_a_two_by_two_table_equals_the_half_corrected_odds_ratio() -> None:
    # Saturated 2x2 model: Firth's estimate is the log odds ratio with 1/2 added to each cell
    # (Firth 1993; Heinze & Schemper 2002).  Cells: exposed 12/12 events (separation), 7/15.
    x = np.array([1] * 12 + [0] * 15, dtype=float)
    y = np.array([1] * 12 + [1] * 7 + [0] * 8, dtype=float)
    beta, cov = th.firth_logistic(np.column_stack([np.ones_like(x), x]), y)
    expected = math.log(((12 + 0.5) / (0 + 0.5)) / ((7 + 0.5) / (8 + 0.5)))
    assert beta[1] == pytest.approx(expected, abs=1e-6)
    assert np.isfinite(cov).all()


def test_separation_switches_to_firth_and_keeps_every_odds_ratio_finite() -> None:
    df, _ = _fabricated_referrals(120, seed=21)
    df.loc[df["route"] == "multi_agency_forum", "appropriate"] = True
    res = th.logistic_odds_ratios(df, "appropriate", ["route", "domestic_abuse"],
                                  reference={"route": "single_agency"})
    assert "Firth" in res.method
    assert np.isfinite(res.table["odds_ratio"]).all()
    row = _or_row(res, "route=multi_agency_forum")
    assert row["ci_low"] > 1 and np.isfinite(row["ci_high"])


# Rule 5: the model runs on any valid round.  Seed 7 of the demo round stopped the page with
# "LinAlgError: Singular matrix": every domestic-abuse contact came from the police, and the
# route had one group left once two forum contacts were set aside as too few.

LABELS = {"route": "Route", "referral_source": "Referring agency",
          "domestic_abuse": "Domestic abuse", "age_band": "Age"}


def _seed7_like(n: int = 60, seed: int = 7) -> pd.DataFrame:
    df, _ = _fabricated_referrals(n, seed=seed)
    df["route"] = "single_agency"
    df.loc[df.index[:2], "route"] = "multi_agency_forum"        # 2 forum contacts: too few
    df["domestic_abuse"] = df["referral_source"] == "police"     # DA goes with the police
    df["design_weight"] = np.where(df["referral_source"] == "police", 1.4, 0.7)
    return df


def test_logistic_model_with_a_singular_design_drops_the_aliased_factor_and_names_it() -> None:
    res = th.logistic_odds_ratios(_seed7_like(), "appropriate",
                                  ["route", "referral_source", "domestic_abuse", "age_band"],
                                  weight_col="design_weight", variable_labels=LABELS)
    assert res.fitted and res.weighted
    assert set(res.dropped) == {"route", "domestic_abuse"}
    assert "goes hand in hand with referring agency" in res.dropped["domestic_abuse"]
    assert "only one of its groups" in res.dropped["route"]
    assert set(res.table["predictor"]) == {"referral_source", "age_band"}
    assert np.isfinite(res.table["odds_ratio"]).all()
    assert res.readings[:2] == list(res.dropped.values())


def test_a_dropped_factor_is_never_named_as_taken_into_account() -> None:
    res = th.logistic_odds_ratios(_seed7_like(), "appropriate",
                                  ["route", "referral_source", "domestic_abuse", "age_band"],
                                  weight_col="design_weight", variable_labels=LABELS)
    for text in res.readings[2:]:
        held = text.split("taking ")[-1].split(" into account")[0]
        assert "route" not in held and "domestic abuse" not in held, text
    assert "left out: route, domestic abuse" in res.method


@pytest.mark.parametrize(("value", "words"), [(True, "every one of the 60 contacts"),
                                              (False, "none of the 60 contacts")])
def test_logistic_model_when_all_met_or_none_met_says_it_cannot_be_fitted(value: bool,
                                                                          words: str) -> None:
    df, _ = _fabricated_referrals(60, seed=3)
    df["appropriate"] = value
    res = th.logistic_odds_ratios(df, "appropriate", ["route", "age_band"],
                                  variable_labels=LABELS)
    assert not res.fitted and res.table.empty
    assert words in res.reason and "nothing to compare" in res.reason
    assert res.readings == [f"The comparison that weighs the factors together could not be "
                            f"made this round: {res.reason}."]
    assert rt.model_route_finding(res) is None
    assert rt.odds_ratio_display(res).empty


def test_logistic_model_with_every_group_too_small_says_it_cannot_be_fitted() -> None:
    df, _ = _fabricated_referrals(60, seed=4)
    res = th.logistic_odds_ratios(df.head(3).assign(appropriate=[True, False, True]),
                                  "appropriate", ["referral_source"], variable_labels=LABELS)
    assert not res.fitted and "3 contacts fall in groups too small" in res.reason


def test_logistic_model_with_no_factor_left_to_compare_says_so() -> None:
    df, _ = _fabricated_referrals(60, seed=5)
    res = th.logistic_odds_ratios(df.assign(route="single_agency"), "appropriate", ["route"],
                                  variable_labels=LABELS)
    assert not res.fitted and "no factor has two or more groups" in res.reason
    assert "Route is left out" in res.readings[0]


def test_logistic_model_whose_calculation_fails_says_it_cannot_be_fitted(monkeypatch) -> None:
    import analysis.thresholds.logistic as lg

    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(lg, "firth_logistic", singular)
    df, _ = _fabricated_referrals(120, seed=21)
    df.loc[df["route"] == "multi_agency_forum", "appropriate"] = True   # separation: Firth
    res = th.logistic_odds_ratios(df, "appropriate", ["route"], variable_labels=LABELS)
    assert not res.fitted and "could not be completed" in res.reason
    assert "Singular" not in " ".join(res.readings)


def test_a_pooled_group_never_falls_below_the_minimum_once_other_cases_are_left_out() -> None:
    df, _ = _fabricated_referrals(400, seed=6)
    df["referral_source"] = "police"
    df.loc[df.index[:5], "referral_source"] = "health"       # 5 health contacts...
    df["route"] = "single_agency"
    df.loc[df.index[:2], "route"] = "multi_agency_forum"     # ...2 of them via a forum: left out
    res = th.logistic_odds_ratios(df, "appropriate", ["route", "referral_source"])
    assert (res.table["n"] >= 5).all() or not res.fitted
    assert "health" not in set(res.table["code"])


def test_a_funnel_with_no_group_large_enough_says_so_and_has_no_rate() -> None:
    df = pd.DataFrame({"referral_source": ["police", "school", "health"],
                       "appropriate": [True, False, True]})
    f = th.funnel_table(df, "referral_source", "appropriate", min_n=5)
    assert f.empty and th.funnel_target(f) is None
    text = th.funnel_reading(f, what="audited contacts judged appropriate",
                             unit="referring agency")
    assert text.startswith("No funnel plot this round") and "health, police, school" in text
    assert "%" not in text


def test_undergrading_by_source_with_no_incident_judged_medium_or_high_has_no_rows() -> None:
    df = _triage_hand_table()
    df["triage_grade_judged"] = "standard"
    by = th.undergrading(df, by="referral_source")
    assert by.empty and "undergraded" in by.columns
    assert rt.undergrading_display(by).empty
    u = th.undergrading(df).iloc[0]
    assert rt.undergrading_sentence(u) == ("No audited incident was judged medium or high risk "
                                           "by the auditors.")


# --------------------------------------------------------------------------------------
# Working days and the monthly series
# --------------------------------------------------------------------------------------


def test_working_days_skip_christmas_boxing_day_and_new_year() -> None:
    # Fri 20 Dec 2024 -> Fri 3 Jan 2025: 10 weekdays, less 25 and 26 Dec and 1 Jan
    assert th.working_days("2024-12-20", "2025-01-03")[0] == 7


def test_working_days_skip_good_friday_and_easter_monday_2025() -> None:
    # Thu 17 Apr 2025 -> Tue 22 Apr 2025: only the Thursday counts (18th and 21st are holidays)
    assert th.working_days("2025-04-17", "2025-04-22")[0] == 1
    assert 2025 in {d.astype(object).year for d in th.english_bank_holidays(2025, 2025)}
    assert np.datetime64("2025-04-21") in th.english_bank_holidays(2025, 2025)


def test_assessment_finished_on_the_45th_working_day_is_in_time_and_the_46th_is_not() -> None:
    start = np.datetime64("2025-03-03")
    hol = th.english_bank_holidays(2025, 2025)
    day45 = np.busday_offset(start, 45, holidays=hol)   # crosses Easter 2025 and 5 May
    day46 = np.busday_offset(start, 46, holidays=hol)
    assert str(day45) == "2025-05-08"
    assert th.working_days([str(start)] * 2, [str(day45), str(day46)]).tolist() == [45, 46]
    cases = _cases(assessment_start_date=[str(start)] * 2,
                   assessment_end_date=[str(day45), str(day46)])
    m = _measure(cases, "assessment_45")
    assert m[["numerator", "denominator"]].values.tolist() == [[1, 2]]


@pytest.mark.parametrize("kind", ["ns", "us", "ms", "s", "date"])
def test_the_45th_working_day_is_in_time_whatever_the_date_columns_type(
        tmp_path: Path, kind: str) -> None:
    """The calendar's cut-off takes the start column's own type (no cast per row): the
    boundary is the same for timestamps in any unit and for dates."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = np.datetime64("2025-03-03")
    hol = th.english_bank_holidays(2025, 2025)
    ends = [str(np.busday_offset(start, k, holidays=hol)) for k in (44, 45, 46)]
    cases = _cases(assessment_start_date=[str(start)] * 3, assessment_end_date=ends)
    table = pa.Table.from_pandas(cases, preserve_index=False)
    to = pa.date32() if kind == "date" else pa.timestamp(kind)
    table = table.cast(pa.schema([pa.field(f.name, to) if pa.types.is_timestamp(f.type)
                                  else f for f in table.schema]))
    pq.write_table(table, tmp_path / "cases.parquet")
    m = _measure(tmp_path / "cases.parquet", "assessment_45")
    assert m[["numerator", "denominator"]].values.tolist() == [[2, 3]]


def test_working_days_are_missing_where_a_date_is_missing() -> None:
    out = th.working_days(pd.Series(["2025-01-06", None]), pd.Series(["2025-01-07", "2025-01-08"]))
    assert out[0] == 1 and np.isnan(out[1])


def _cases(**cols: object) -> pd.DataFrame:
    """A cases table with every column ``monthly_series`` reads: one front-door contact per
    value given, a different child each, dates not given missing."""
    n = len(next(iter(cols.values())))  # type: ignore[arg-type]
    df = pd.DataFrame({"case_id": [f"c{i}" for i in range(n)],
                       "child_id": [f"k{i}" for i in range(n)], "service": "front_door"})
    for c in ("contact_date", "referral_date", "assessment_start_date", "assessment_end_date"):
        df[c] = pd.to_datetime(pd.Series(cols.pop(c, [None] * n), dtype=object))
    for c, v in cols.items():
        df[c] = v
    return df


def _measure(cases: pd.DataFrame | Path, measure: str, **kw: object) -> pd.DataFrame:
    """One measure of ``th.monthly_series``, indexed by month."""
    s = th.monthly_series(cases, **kw)  # type: ignore[arg-type]
    return s[s["measure"] == measure].drop(columns="measure").set_index("month")


def _hand_cases() -> pd.DataFrame:
    """Eight front-door contacts and one tier-2 case, by hand.

    Child A: referred 2025-01-10 and again 2025-06-01 (re-referral) and 2026-07-01 (over
    12 months after the last one: not a re-referral).  Child B: referred 2025-06-15, not before.
    """
    rows = [
        # case, child, contact, referral, service
        ("c1", "A", "2025-01-08", "2025-01-10", "front_door"),
        ("c2", "B", "2025-01-20", None, "front_door"),
        ("c3", "C", "2025-01-25", None, "front_door"),
        ("c4", "A", "2025-05-30", "2025-06-01", "front_door"),
        ("c5", "B", "2025-06-10", "2025-06-15", "front_door"),
        ("c6", "D", "2025-06-20", None, "front_door"),
        ("c7", "A", "2026-06-28", "2026-07-01", "front_door"),
        ("c8", "E", "2026-07-02", None, "front_door"),
        ("t1", "F", "2025-06-05", None, "mat_panel"),
    ]
    df = pd.DataFrame(rows, columns=["case_id", "child_id", "contact_date", "referral_date",
                                     "service"])
    for c in ("contact_date", "referral_date"):
        df[c] = pd.to_datetime(df[c])
    df["assessment_start_date"] = pd.NaT
    df["assessment_end_date"] = pd.NaT
    return df


def test_monthly_conversion_counts_front_door_contacts_that_became_referrals() -> None:
    m = _measure(_hand_cases(), "conversion")
    assert m.loc["2025-01-01", ["numerator", "denominator"]].tolist() == [1, 3]  # 1 of 3
    assert m.loc["2025-05-01", ["numerator", "denominator"]].tolist() == [1, 1]
    # the tier-2 case is not a contact
    assert m.loc["2025-06-01", ["numerator", "denominator"]].tolist() == [1, 2]
    assert m.loc["2026-07-01", ["numerator", "denominator"]].tolist() == [0, 1]
    assert m.loc["2025-01-01", "rate"] == pytest.approx(1 / 3)
    # a month with no contacts has no row (not a zero): Feb-Apr 2025 and Jul 2025-May 2026
    assert len(m) == 5 and pd.Timestamp("2025-02-01") not in m.index
    # every service when asked: the tier-2 case joins June
    every = _measure(_hand_cases(), "conversion", services=None)
    assert every.loc["2025-06-01", ["numerator", "denominator"]].tolist() == [1, 3]


def test_monthly_rereferral_counts_a_previous_referral_within_12_months_only() -> None:
    m = _measure(_hand_cases(), "rereferral", rereferral_method="history")
    assert m.loc["2025-01-01", ["numerator", "denominator"]].tolist() == [0, 1]
    assert m.loc["2025-06-01", ["numerator", "denominator"]].tolist() == [1, 2]
    assert m.loc["2026-07-01", ["numerator", "denominator"]].tolist() == [0, 1]
    # look-back is complete only from a year after the first referral in the table
    assert not m.loc["2025-06-01", "lookback_complete"]
    assert m.loc["2026-07-01", "lookback_complete"]
    # no referrals_last_12m column: auto reads the history
    pd.testing.assert_frame_equal(_measure(_hand_cases(), "rereferral"), m)


def test_rereferral_counts_a_second_referral_on_the_same_day_once_and_never_without_a_child(
        ) -> None:
    # child k: referred 2025-03-03 twice (two rows) and 2025-03-20; one referral with no child
    df = _cases(contact_date=["2025-03-03"] * 3 + ["2025-03-20"] * 2,
                referral_date=["2025-03-03"] * 3 + ["2025-03-20"] * 2,
                child_id=["k", "k", None, "k", None])
    m = _measure(df, "rereferral")
    # only the 20th is a re-referral: the same-day rows have no strictly earlier referral, and
    # the rows without a child id are counted as referrals but never as re-referrals
    assert m[["numerator", "denominator"]].values.tolist() == [[1, 5]]


def test_rereferral_a_year_to_the_day_is_within_12_months_and_a_day_more_is_not() -> None:
    df = _cases(contact_date=["2024-05-01", "2025-05-01", "2026-05-02"],
                referral_date=["2024-05-01", "2025-05-01", "2026-05-02"],
                child_id=["k", "k", "k"])
    m = _measure(df, "rereferral")
    assert m["numerator"].tolist() == [0, 1, 0]


def test_rereferral_uses_the_case_system_count_when_every_referral_has_it() -> None:
    df = _hand_cases()
    # the case system also counts a referral of child A in the year before the table (c7)
    df["referrals_last_12m"] = pd.array([0, None, None, 1, 0, None, 1, None, None], dtype="Int64")
    m = _measure(df, "rereferral")
    assert m.loc["2025-06-01", ["numerator", "denominator"]].tolist() == [1, 2]
    assert m.loc["2026-07-01", ["numerator", "denominator"]].tolist() == [1, 1]  # history: 0
    assert m["lookback_complete"].all()  # the column needs no look-back in the table
    # the history when asked, or when a referral lacks the count
    assert _measure(df, "rereferral", rereferral_method="history"
                    ).loc["2026-07-01", "numerator"] == 0
    df.loc[3, "referrals_last_12m"] = pd.NA
    assert _measure(df, "rereferral").loc["2026-07-01", "numerator"] == 0
    # the column when asked, a missing count read as no previous referral
    col = _measure(df, "rereferral", rereferral_method="column")
    assert col.loc["2025-06-01", ["numerator", "denominator"]].tolist() == [0, 2]


def test_assessments_are_counted_in_the_month_they_finish_and_need_both_dates() -> None:
    df = _cases(assessment_start_date=["2025-01-06", "2025-01-20", "2025-01-27", None],
                assessment_end_date=["2025-01-31", "2025-02-03", None, "2025-02-10"])
    m = _measure(df, "assessment_45")
    assert m[["numerator", "denominator"]].values.tolist() == [[1, 1], [1, 1]]
    assert m.index.tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
    # the working days are counted with ``limit``: 19 from 6 to 31 January, 10 from 20 January
    # to 3 February
    m10 = _measure(df, "assessment_45", limit=10)
    assert m10["numerator"].tolist() == [0, 1]
    # an assessment recorded as ending before it started is kept (negative working days)
    odd = _cases(assessment_start_date=["2025-03-10"], assessment_end_date=["2025-03-03"])
    assert _measure(odd, "assessment_45")[["numerator", "denominator"]].values.tolist() == [
        [1, 1]]


def test_monthly_series_columns_and_types_and_a_table_with_no_rows() -> None:
    s = th.monthly_series(_hand_cases())
    assert s.columns.tolist() == ["measure", "month", "numerator", "denominator", "rate",
                                  "lookback_complete"]
    assert s["measure"].unique().tolist() == ["conversion", "rereferral"]  # no assessments
    assert s["month"].dtype == "datetime64[ns]"
    assert s["numerator"].dtype == "int64" and s["denominator"].dtype == "int64"
    assert s["rate"].dtype == "float64" and s["lookback_complete"].dtype == bool
    assert s.groupby("measure")["month"].apply(lambda m: m.is_monotonic_increasing).all()
    empty = th.monthly_series(_hand_cases().iloc[:0])
    assert empty.empty
    pd.testing.assert_series_equal(empty.dtypes, s.dtypes)
    with pytest.raises(ValueError, match="assessment_end_date"):
        th.monthly_series(_hand_cases().drop(columns="assessment_end_date"))


def test_monthly_series_reads_a_frame_or_its_parquet_file_alike(tmp_path: Path) -> None:
    df = _hand_cases()
    df["assessment_start_date"] = df["referral_date"]
    df["assessment_end_date"] = df["referral_date"] + pd.Timedelta(days=70)
    df.to_parquet(tmp_path / "cases.parquet", index=False)
    got = th.monthly_series(tmp_path / "cases.parquet")
    pd.testing.assert_frame_equal(got, th.monthly_series(df))
    assert set(got["measure"]) == {"conversion", "rereferral", "assessment_45"}


def test_monthly_assessments_from_a_file_with_or_without_statistics_are_the_same(
        tmp_path: Path) -> None:
    """The assessment dates' range comes from the Parquet footer's statistics where every row
    group has them, else from DuckDB: the series are the same either way, with row groups,
    a timestamp unit other than nanoseconds, and a row group with no end dates."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis import engine

    df = _hand_cases()
    df["assessment_start_date"] = df["referral_date"]
    df["assessment_end_date"] = df["referral_date"] + pd.Timedelta(days=50)
    want = th.monthly_series(df)
    table = pa.Table.from_pandas(df, preserve_index=False)
    us = table.cast(pa.schema([pa.field(f.name, pa.timestamp("us"))
                               if pa.types.is_timestamp(f.type) else f for f in table.schema]))
    nulls = df.assign(assessment_end_date=df["assessment_end_date"].where(
        df.index >= 4))  # the first row group has no end date
    for name, tab, stats in (("stats", table, True), ("none", table, False), ("us", us, True),
                             ("nulls", pa.Table.from_pandas(nulls, preserve_index=False),
                              True)):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(tab, path, row_group_size=4, write_statistics=stats)
        spans = engine.footer(path, ranges=("assessment_start_date",
                                            "assessment_end_date")).ranges
        assert bool(spans) == stats
        frame = nulls if name == "nulls" else df
        pd.testing.assert_frame_equal(th.monthly_series(path), th.monthly_series(frame))
    pd.testing.assert_frame_equal(th.monthly_series(tmp_path / "stats.parquet"), want)


def test_the_footer_gives_a_date_column_range_only_where_every_row_group_bounds_it(
        tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from analysis import engine

    t = pa.table({"d": pa.array([dt.date(2024, 3, 2), None, dt.date(2023, 1, 9), None]),
                  "ts": pa.array([dt.datetime(2024, 1, 1, 23), None, None, None],
                                 pa.timestamp("ms")),
                  "tz": pa.array([dt.datetime(2024, 1, 1)] * 4, pa.timestamp("us", "UTC")),
                  "x": pa.array([1, 2, 3, 4])})
    pq.write_table(t, tmp_path / "t.parquet", row_group_size=2)
    got = engine.footer(tmp_path / "t.parquet", ranges=("d", "ts", "tz", "x", "nope"))
    assert got.names == ["d", "ts", "tz", "x"]
    assert got.ranges == {"d": (dt.date(2023, 1, 9), dt.date(2024, 3, 2)),
                          "ts": (dt.date(2024, 1, 1), dt.date(2024, 1, 1))}
    assert engine.footer(pd.DataFrame({"a": [1]})) is None
    assert engine.footer(tmp_path) is None


def _combine_reference(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """combine_monthly written plainly: each part copied, concatenated and sorted."""
    frames = []
    for name, f in parts.items():
        f = f.copy()
        if "lookback_complete" not in f.columns:
            f["lookback_complete"] = True
        f.insert(0, "measure", name)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["month"] = pd.to_datetime(out["month"]).astype("datetime64[ns]")
    out["numerator"] = out["numerator"].astype(int)
    out["denominator"] = out["denominator"].astype(int)
    out["rate"] = out["numerator"] / out["denominator"]
    out["lookback_complete"] = out["lookback_complete"].astype(bool)
    return out.sort_values(["measure", "month"]).reset_index(drop=True)[
        ["measure", "month", "numerator", "denominator", "rate", "lookback_complete"]]


def test_combined_monthly_series_are_in_measure_and_month_order_whatever_the_parts() -> None:
    months = pd.Series(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]))
    part = pd.DataFrame({"month": months.astype("datetime64[us]"), "numerator": [1, 2, 3],
                         "denominator": [4, 5, 6]})
    looked = part.assign(lookback_complete=[False, True, True], known=[4, 5, 6])
    cases = [
        {"zeta": part, "alpha": looked},
        {"zeta": part.iloc[::-1], "alpha": looked},  # months out of order
        {"b": part, "a": part.iloc[:0]},  # an empty part
        {"b": part.iloc[:0], "a": looked.iloc[:0]},  # nothing at all
        {"a": part.assign(month=["2025-10-01", "2025-9-01", "2025-11-01"])},  # text months
        {"a": part.assign(month=[pd.NaT, months[0], months[1]])},  # a month missing
        {"a": part.assign(month=[months[0], months[0], months[1]], numerator=[3, 1, 2])},
        {"a": part.set_index(pd.Index([7, 3, 5]))},
    ]
    for parts in cases:
        got = th.combine_monthly(parts)
        pd.testing.assert_frame_equal(got, _combine_reference(parts), check_index_type=True)
        assert type(got.index) is pd.RangeIndex


# --------------------------------------------------------------------------------------
# Domestic-abuse triage
# --------------------------------------------------------------------------------------


def _triage_hand_table() -> pd.DataFrame:
    """Auditor's grade (rows) x triage grade (columns), by hand:

                 standard  medium  high
    standard         20       4      0
    medium            6      10      2
    high              2       3      9
    Under-graded: 6 + 2 = 8 of the 32 the auditor judged medium or high (25%).
    """
    cells = {("standard", "standard"): 20, ("standard", "medium"): 4,
             ("medium", "standard"): 6, ("medium", "medium"): 10, ("medium", "high"): 2,
             ("high", "standard"): 2, ("high", "medium"): 3, ("high", "high"): 9}
    rows = []
    for (judged, given), k in cells.items():
        rows += [{"triage_grade_judged": judged, "triage_grade": given,
                  "referral_source": "police" if i % 2 else "health"} for i in range(k)]
    return pd.DataFrame(rows)


def test_undergrading_share_on_a_hand_made_table() -> None:
    u = th.undergrading(_triage_hand_table()).iloc[0]
    assert (u["undergraded"], u["n_medium_high"]) == (8, 32)
    assert u["estimate"] == pytest.approx(0.25)
    lo, hi = pr.effective_interval(8, 32)
    assert (u["ci_low"], u["ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
    assert (u["overgraded"], u["n_standard"]) == (4, 24)


def test_undergrading_by_source_adds_up_to_the_overall_count() -> None:
    by = th.undergrading(_triage_hand_table(), by="referral_source")
    assert by["undergraded"].sum() == 8 and by["n_medium_high"].sum() == 32


def test_triage_table_and_weighted_kappa_agree_with_the_quadratic_kappa_identity() -> None:
    df = _triage_hand_table()
    tab = th.triage_table(df)
    assert tab.loc["medium", "standard"] == 6 and tab.to_numpy().sum() == 56
    # quadratic-weighted kappa = 2 cov / (var_a + var_b + (mean_a - mean_b)^2) (Fleiss & Cohen 1973)
    a = th.level_positions(df["triage_grade"], th.TRIAGE_GRADES)
    b = th.level_positions(df["triage_grade_judged"], th.TRIAGE_GRADES)
    identity = 2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
    r = th.triage_agreement(df, weights="quadratic", n_boot=200)
    assert r["kappa"] == pytest.approx(identity, abs=1e-12)
    assert r["ci_low"] < r["kappa"] < r["ci_high"]


def test_unweighted_kappa_matches_the_textbook_two_by_two_example() -> None:
    # 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no: p_o = 0.7, p_e = 0.5, kappa = 0.4
    assert th.weighted_kappa_table(np.array([[20, 5], [10, 15]]), None) == pytest.approx(0.4)


def test_paired_kappa_agrees_with_analysis_agreement_when_weights_are_equal() -> None:
    agreement = pytest.importorskip("analysis.agreement")
    rng = np.random.default_rng(4)
    a = rng.integers(0, 4, 80)
    b = np.clip(a + rng.integers(-1, 2, 80), 0, 3)
    mine = th.paired_kappa([HACKNEY[i] for i in a], [HACKNEY[i] for i in b], HACKNEY,
                           weights="linear", n_boot=50)["kappa"]
    theirs = agreement.cohen_kappa(np.column_stack([a, b]).astype(float), weights="linear",
                                   categories=[0, 1, 2, 3])
    assert mine == pytest.approx(theirs.estimate, abs=1e-9)


def test_design_weights_change_the_kappa_table_to_population_counts() -> None:
    # the same 10 cases counted twice by weight 2 give the same kappa as duplicating them
    a = ["1", "2A", "2B", "3", "3", "2A", "1", "2B", "3", "2A"]
    b = ["1", "2B", "2B", "3", "2B", "2A", "2A", "2B", "3", "1"]
    w = [2, 1, 1, 1, 2, 1, 1, 1, 1, 1]
    dup_a = a + [a[0], a[4]]
    dup_b = b + [b[0], b[4]]
    k_w = th.paired_kappa(a, b, HACKNEY, case_weights=w, n_boot=20)["kappa"]
    k_d = th.paired_kappa(dup_a, dup_b, HACKNEY, n_boot=20)["kappa"]
    assert k_w == pytest.approx(k_d, abs=1e-12)


# --------------------------------------------------------------------------------------
# Audit judgements and the front-door frame
# --------------------------------------------------------------------------------------


def test_case_judgement_needs_a_majority_of_auditors_and_leaves_unanswerable_cases_out() -> None:
    audit = pd.DataFrame({
        "case_id": ["a", "a", "b", "b", "c", "d", "d", "d"],
        "auditor_id": ["x", "y", "x", "y", "x", "x", "y", "z"],
        "std_referral_appropriate": ["yes", "partly", "yes", "yes", "insufficient_information",
                                     "yes", "yes", "no"],
        "tier_judged": ["2A", "3", "1", "1", None, "2B", "2B", "3"],
    })
    j = th.case_judgements(audit, HACKNEY).set_index("case_id")
    assert j.loc["a", "appropriate"] is np.False_ or j.loc["a", "appropriate"] == False  # noqa: E712
    assert bool(j.loc["b", "appropriate"]) and bool(j.loc["d", "appropriate"])
    assert pd.isna(j.loc["c", "appropriate"])
    assert j.loc["a", "tier_judged"] == "2A"      # lower median of 2A and 3
    assert j.loc["d", "tier_judged"] == "2B"


def test_appropriateness_weights_an_oversampled_route_back_to_its_population_share() -> None:
    # population: 900 single-agency contacts at 50% appropriate, 100 forum contacts at 90%;
    # the sample takes 50 of each, so forum cases weigh 2 and single-agency cases 18
    rows = ([{"route": "single_agency", "appropriate": i < 25, "design_weight": 18.0}
             for i in range(50)]
            + [{"route": "multi_agency_forum", "appropriate": i < 45, "design_weight": 2.0}
               for i in range(50)])
    df = pd.DataFrame(rows)
    overall = th.appropriateness_by(df, None).iloc[0]
    assert overall["estimate"] == pytest.approx((900 * 0.5 + 100 * 0.9) / 1000)
    assert overall["ci_low"] < overall["estimate"] < overall["ci_high"]
    by = th.appropriateness_by(df, "route", labels=th.ROUTE_LABELS).set_index("group")
    assert by.loc["Single agency", "estimate"] == pytest.approx(0.5)
    assert by.loc["Via a multi-agency forum", "estimate"] == pytest.approx(0.9)


def test_weights_are_read_from_a_manifest_listing_cases_or_strata() -> None:
    listed = {"cases": [{"case_id": "a", "design_weight": 3.0}, {"case_id": "b",
                                                                "design_weight": 1.5}]}
    assert th.weights_from_manifest(listed)["design_weight"].tolist() == [3.0, 1.5]
    strata = {"cases": [{"case_id": "a", "stratum": "s1"}, {"case_id": "b", "stratum": "s2"}],
              "strata": [{"stratum": "s1", "population": 30, "sampled": 10},
                         {"stratum": "s2", "population": 10, "sampled": 10}]}
    assert th.weights_from_manifest(strata)["design_weight"].tolist() == [3.0, 1.0]


def test_design_weights_from_the_manifest_read_once_equal_those_from_its_path(tmp_path: Path
                                                                            ) -> None:
    """``load_design_weights`` takes the manifest already read (the dict a notebook read for
    the sampled ids): the same weights as from the path, and the file is not read again."""
    import json

    from analysis import sampling

    cases = pd.DataFrame({"case_id": [f"cs_{i:016x}" for i in range(40)],
                          "outcome": ["nfa", "assessment"] * 20,
                          "contact_date": pd.Timestamp("2025-06-01")})
    design = {"name": "t", "title": "t", "seed": 3, "strata": "outcome",
              "allocation": "equal", "n": 10}
    manifest = sampling.draw(cases, design, reference_date="2025-12-31").manifest
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest, default=str), "utf-8")
    read = json.loads(path.read_text("utf-8"))
    audited = cases.iloc[::3]
    from_path = th.load_design_weights(path, audited)
    path.unlink()  # the dict alone serves
    pd.testing.assert_frame_equal(th.load_design_weights(read, audited), from_path)
    pd.testing.assert_frame_equal(th.load_design_weights(read), th.weights_from_manifest(read))
    assert set(th.weights_from_manifest(read)["case_id"]) >= set(from_path["case_id"])


# --------------------------------------------------------------------------------------
# Vignette exercise: accuracy and confusion
# --------------------------------------------------------------------------------------


def _toy_ratings() -> pd.DataFrame:
    rows = []
    refs = ["1", "2A", "2B", "3", "2A", "2B"]
    given = {"r1": ["1", "2A", "2B", "3", "2B", "2B"], "r2": ["1", "2B", "2B", "3", "2A", "3"],
             "r3": ["2A", "2A", "2A", "3", "2A", "2B"], "r4": ["1", "2A", "2B", "2B", "2A", "2B"]}
    agency = {"r1": "school", "r2": "school", "r3": "police", "r4": "police"}
    for r, levels in given.items():
        for s, (lv, ref) in enumerate(zip(levels, refs, strict=True)):
            rows.append({"subject_id": f"v{s}", "rater_id": r, "rater_agency": agency[r],
                         "level": lv, "reference_level": ref})
    return pd.DataFrame(rows)


def test_confusion_matrix_counts_reference_rows_against_levels_given() -> None:
    cm = th.confusion_matrix(_toy_ratings(), HACKNEY)
    assert cm.to_numpy().sum() == 24
    assert cm.loc["2A", "2B"] == 2 and cm.loc["3", "2B"] == 1 and cm.loc["1", "2A"] == 1
    assert int(np.trace(cm.to_numpy())) == 18
    shares = th.confusion_shares(cm)
    assert np.allclose(shares.sum(axis=1), 1.0)
    alt = th.confusion_alt_text(cm)
    assert "24 ratings" in alt and "75% on the diagonal" in alt


def test_agency_accuracy_counts_ratings_that_equal_the_reference_level() -> None:
    acc = th.agency_accuracy(_toy_ratings(), HACKNEY).set_index("agency")
    assert acc.loc["school", ["correct", "ratings"]].tolist() == [9, 12]
    assert acc.loc["police", ["correct", "ratings"]].tolist() == [9, 12]
    assert acc.loc["All agencies", "accuracy"] == pytest.approx(18 / 24)
    assert acc.loc["school", "above_reference"] == pytest.approx(3 / 12)
    for r in acc.itertuples():
        assert r.ci_low <= r.accuracy <= r.ci_high and r.design_effect >= 1


def test_accuracy_interval_is_the_plain_wilson_interval_when_ratings_are_independent() -> None:
    # every rating by a different rater on a different vignette: no clustering to allow for
    n = 200
    rng = np.random.default_rng(2)
    ok = rng.random(n) < 0.7
    df = pd.DataFrame({"subject_id": [f"s{i}" for i in range(n)],
                       "rater_id": [f"r{i}" for i in range(n)], "rater_agency": "health",
                       "reference_level": "2A", "level": np.where(ok, "2A", "2B")})
    row = th.agency_accuracy(df, HACKNEY).iloc[0]
    lo, hi = pr.effective_interval(ok.sum(), n)
    assert row["design_effect"] == pytest.approx(1.0, abs=0.05)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=0.01)


def test_clustered_variance_equals_the_anova_estimate_for_a_complete_crossed_design() -> None:
    rng = np.random.default_rng(8)
    R, S = 6, 30
    y = (rng.normal(size=(R, 1)) + rng.normal(size=(1, S)) + rng.normal(size=(R, S)))
    raters = np.repeat(np.arange(R), S)
    subjects = np.tile(np.arange(S), R)
    v = th.clustered_mean_variance(y.ravel(), raters, subjects)
    grand = y.mean()
    ms_r = S * ((y.mean(axis=1) - grand) ** 2).sum() / (R - 1)
    ms_s = R * ((y.mean(axis=0) - grand) ** 2).sum() / (S - 1)
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + grand
    ms_e = (resid**2).sum() / ((R - 1) * (S - 1))
    anova = (ms_r + ms_s - ms_e) / (R * S)
    assert v == pytest.approx(anova, rel=0.15)


def test_assessment_months_too_soon_after_the_extract_starts_are_not_charted() -> None:
    start = pd.to_datetime(["2025-04-01", "2025-04-02", "2025-06-02", "2025-08-01"])
    end = pd.to_datetime(["2025-04-10", "2025-04-20", "2025-07-01", "2025-09-01"])
    m = _measure(_cases(assessment_start_date=start, assessment_end_date=end),
                 "assessment_45").reset_index()
    flags = dict(zip(m["month"].dt.strftime("%Y-%m"), m["lookback_complete"], strict=True))
    assert flags == {"2025-04": False, "2025-07": True, "2025-09": True}


def test_a_partly_covered_first_or_last_month_is_left_off_the_chart() -> None:
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    series = pd.DataFrame({"measure": "conversion", "month": months,
                           "numerator": [2, 40, 42, 38, 41, 1],
                           "denominator": [5, 100, 101, 99, 102, 3], "lookback_complete": True})
    series["rate"] = series["numerator"] / series["denominator"]
    kept = th.chart_months(series, "conversion")
    assert kept["month"].tolist() == list(months[1:5])


# --------------------------------------------------------------------------------------
# Coverage: the intervals recover the synthetic rater-error model
# --------------------------------------------------------------------------------------


def _pair_agreement(mat: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject category counts and the number of raters of each subject."""
    counts = np.stack([(mat == k).sum(axis=1) for k in range(q)], axis=1).astype(float)
    return counts, counts.sum(axis=1)


def _fleiss_point(mat: np.ndarray, q: int) -> float:
    """Fleiss (1971) kappa, point estimate (complete or incomplete designs)."""
    c, n = _pair_agreement(mat, q)
    keep = n >= 2
    c, n = c[keep], n[keep]
    pa = float(np.mean((c * (c - 1)).sum(axis=1) / (n * (n - 1))))
    pj = c.sum(axis=0) / c.sum()
    pe = float(np.sum(pj**2))
    return (pa - pe) / (1 - pe)


def _ac1_point(mat: np.ndarray, q: int) -> float:
    """Gwet (2008) AC1, point estimate."""
    c, n = _pair_agreement(mat, q)
    keep = n >= 2
    c, n = c[keep], n[keep]
    pa = float(np.mean((c * (c - 1)).sum(axis=1) / (n * (n - 1))))
    pik = np.mean(c / n[:, None], axis=0)
    pe = float(np.sum(pik * (1 - pik)) / (q - 1))
    return (pa - pe) / (1 - pe)


def _true_values(synth, levels: list[str], n_big: int = 40) -> dict[str, float]:
    """The generator's true Fleiss kappa, AC1 and per-agency accuracy, by simulating one very
    large exercise: many exercises of the usual design (same raters per agency, so the same mix
    of rater pairs) with many vignettes each, averaging over fresh raters and vignettes."""
    fk, ac1, acc = [], [], []
    for k in range(n_big):
        ratings, _ = synth.generate_ratings(seed=10_000 + k, n_subjects=1000)
        mat = th.ratings_matrix(ratings, levels).to_numpy(dtype=float)
        fk.append(_fleiss_point(mat, len(levels)))
        ac1.append(_ac1_point(mat, len(levels)))
        r = ratings.assign(ok=ratings["level"] == ratings["reference_level"])
        acc.append(r.groupby("rater_agency")["ok"].mean())
    truth = {"fleiss_kappa": float(np.mean(fk)), "gwet_ac1": float(np.mean(ac1))}
    for ag, v in pd.concat(acc, axis=1).mean(axis=1).items():
        truth[f"accuracy:{ag}"] = float(v)
    return truth


def test_point_estimates_used_for_the_truth_match_analysis_agreement() -> None:
    agreement = pytest.importorskip("analysis.agreement")
    synth = pytest.importorskip("analysis.synth")
    ratings, _ = synth.generate_ratings(seed=1)
    mat = th.ratings_matrix(ratings, HACKNEY).to_numpy(dtype=float)
    summ = th.vignette_agreement(ratings, HACKNEY, seed=0, n_boot=50)
    fk = rt._stat_row(summ, "fleiss_kappa")
    ac1 = rt._stat_row(summ, "gwet_ac1")
    assert fk["estimate"] == pytest.approx(_fleiss_point(mat, 4), abs=1e-9)
    assert ac1["estimate"] == pytest.approx(_ac1_point(mat, 4), abs=1e-9)
    assert agreement is not None


@pytest.mark.slow
def test_intervals_contain_the_true_agreement_and_accuracy_in_at_least_90_of_100_exercises(
) -> None:
    synth = pytest.importorskip("analysis.synth")
    pytest.importorskip("analysis.agreement")
    truth = _true_values(synth, HACKNEY)
    hits: dict[str, int] = dict.fromkeys(truth, 0)
    n_sim = 100
    for seed in range(n_sim):
        ratings, _ = synth.generate_ratings(seed=seed)
        summ = th.vignette_agreement(ratings, HACKNEY, seed=seed, n_boot=1000)
        for key in ("fleiss_kappa", "gwet_ac1"):
            r = rt._stat_row(summ, key)
            hits[key] += int(r["ci_low"] <= truth[key] <= r["ci_high"])
        acc = th.agency_accuracy(ratings, HACKNEY).set_index("agency")
        for key in truth:
            if key.startswith("accuracy:"):
                r = acc.loc[key.split(":", 1)[1]]
                hits[key] += int(r["ci_low"] <= truth[key] <= r["ci_high"])
    print("coverage of 100:", hits, "truth:", {k: round(v, 4) for k, v in truth.items()})
    assert all(h >= 90 for h in hits.values()), hits


# --------------------------------------------------------------------------------------
# The notebook on the demo data
# --------------------------------------------------------------------------------------

NOTEBOOK = ROOT / "notebooks" / "threshold_consistency.ipynb"
EXPECTED_IDS = {"TC-VIGNETTE-AGREEMENT", "TC-AGENCY-SCHOOL-ACCURACY", "TC-VIGNETTE-CONFUSION",
                "TC-FD-APPROPRIATE-ALL", "TC-FD-APPROPRIATE-SINGLE-AGENCY",
                "TC-FD-APPROPRIATE-MULTI-AGENCY-FORUM", "TC-FD-REFERRER-DECISION",
                "TC-FD-FUNNEL-AGENCY", "TC-DA-UNDERGRADING", "TC-TREND-CONVERSION",
                "TC-TREND-REREFERRAL", "TC-TREND-ASSESSMENT-45"}


@pytest.fixture(scope="module")
def demo_processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic demo data made ready as `sqa run rounds/demo.yml` does: synth, ingest, draw
    the threshold-audit sample, let the synthetic auditors complete it, ingest the returns."""
    from datetime import date

    from analysis import ingest, sampling, synth

    root = tmp_path_factory.mktemp("tc_demo")
    raw, proc = root / "raw", root / "processed"
    synth.write_demo(raw, seed=20161)

    def load(kind: str, path: Path, name: str | None = None) -> None:
        res = ingest.ingest(path, kind, demo_key=True, today=date(2026, 3, 31))
        ingest.write_outputs(res, proc, name=name)

    load("cases", raw / "cases.csv")
    load("ratings", raw / "ratings.csv")
    sample = proc / "samples" / "threshold_audit"
    assert sampling.cli_draw(proc / "cases.parquet", "threshold_audit", None, sample, [],
                             None) == 0
    synth.write_audit_returns(sample / "manifest.json", raw / "truth.parquet",
                              raw / "audit_returns_threshold.csv", seed=1, kind="threshold")
    load("audit", raw / "audit_returns_threshold.csv", "audit_threshold")
    return proc


def test_notebook_runs_on_the_demo_data_and_writes_citable_findings(
        demo_processed: Path, tmp_path: Path) -> None:
    import re

    import nbformat
    import papermill as pm

    out_dir = tmp_path / "outputs"
    executed = tmp_path / "threshold_consistency.ipynb"
    t0 = time.perf_counter()
    pm.execute_notebook(str(NOTEBOOK), str(executed), cwd=str(ROOT), progress_bar=False,
                        kernel_name="python3",
                        parameters={"processed_dir": str(demo_processed),
                                    "output_dir": str(out_dir), "round_name": "demo",
                                    "n_boot": 300})
    print(f"notebook ran in {time.perf_counter() - t0:.1f} s")
    findings = pd.read_csv(out_dir / "threshold_consistency_findings.csv")
    assert findings["finding_id"].is_unique
    missing = EXPECTED_IDS - set(findings["finding_id"])
    assert not missing, missing
    assert findings["text"].str.len().min() > 40

    nb = nbformat.read(executed, as_version=4)
    html_out = "\n".join(o.get("data", {}).get("text/html", "") for c in nb.cells
                         for o in c.get("outputs", []))
    # every image has alt text
    imgs = re.findall(r"<img [^>]*>", html_out)
    assert imgs and all(re.search(r'alt="[^"]{20,}"', i) for i in imgs)
    # every finding has its anchor on the page
    for fid in findings["finding_id"]:
        assert f'id="{fid}"' in html_out
    # nothing case-level: no pseudonymised id of a case, child, vignette or rater in the output
    text_out = "\n".join(str(o) for c in nb.cells for o in c.get("outputs", []))
    ids: set[str] = set()
    for name, cols in (("cases", ("case_id", "child_id")), ("ratings", ("subject_id", "rater_id")),
                       ("audit_threshold", ("case_id", "auditor_id"))):
        t = pd.read_parquet(demo_processed / f"{name}.parquet")
        for c in cols:
            ids |= {str(v) for v in t[c].dropna().unique() if len(str(v)) >= 4}
    tokens = set(re.findall(r"[A-Za-z0-9_]{4,}", text_out))
    assert not (tokens & ids)


# --------------------------------------------------------------------------------------
# Counts of contacts through the disclosure ledger (rule 2)
# --------------------------------------------------------------------------------------


def test_funnel_counts_add_up_to_every_contact_including_an_unrecorded_source() -> None:
    df = pd.DataFrame({"src": ["police"] * 50 + ["school"] * 30 + [None] * 4,
                       "ref": [True] * 20 + [False] * 30 + [True] * 10 + [False] * 20
                       + [True, False, False, False]})
    c = th.funnel_counts(df, "src", "ref", labels={"police": "Police"},
                         columns=("Became a referral", "Did not"))
    assert list(c.index) == ["Police", "school", th.NOT_RECORDED]
    assert int(c.to_numpy().sum()) == len(df)
    assert c.loc[th.NOT_RECORDED].tolist() == [1, 3]


def test_funnel_of_all_contacts_leaves_out_agencies_whose_counts_are_suppressed() -> None:
    """An agency with 3 contacts is c in the counts table; it is not plotted (a point shows
    its count and rate), nor are the agencies suppressed to protect it, and the reading says
    why."""
    from analysis import disclosure
    from analysis.reporting import Ledger

    df = pd.DataFrame({"src": ["police"] * 400 + ["school"] * 300 + ["housing"] * 3
                       + ["health"] * 200,
                       "ref": [True, False] * 200 + [True, False, False] * 100
                       + [True, False, False] + [True, False] * 100})
    led = Ledger("threshold_consistency")
    led.table("contacts_by_source", th.funnel_counts(df, "src", "ref"))
    hidden = led.hidden("contacts_by_source")
    assert "housing" in hidden and len(hidden) >= 2
    tab = th.funnel_table(df, "src", "ref", hide=hidden)
    assert not set(tab["label"]) & hidden
    text = th.funnel_reading(tab, what="contacts that became referrals")
    assert "Not shown: " in text and "housing" in text
    assert "of 3)" not in text
    assert disclosure.audit_release([led]) == []


def test_a_measure_with_a_suppressed_charted_month_is_not_charted_and_says_why() -> None:
    from analysis import disclosure
    from analysis.reporting import Ledger

    months = pd.date_range("2025-04-01", periods=6, freq="MS")
    series = pd.DataFrame({"measure": "rereferral", "month": months,
                           "numerator": [30, 28, 3, 31, 29, 33],
                           "denominator": [150, 140, 160, 155, 149, 151],
                           "lookback_complete": True})
    series["rate"] = series["numerator"] / series["denominator"]
    led = Ledger("threshold_consistency")
    shown = rt.series_display(series, led)
    june = shown.loc[shown["Month"] == "Jun 2025"].iloc[0, 1]
    assert june.startswith("c of ") and "%" not in june
    assert not rt.chartable(series, "rereferral", led)
    assert "not charted" in rt.trend_suppressed_sentence("rereferral")
    num, den = rt.trend_counts(series, "rereferral", led)
    assert den == int(series["denominator"].sum())
    assert disclosure.audit_release([led]) == []
    big = series.assign(numerator=[30, 28, 33, 31, 29, 33])
    led2 = Ledger("p")
    rt.series_display(big.assign(rate=big["numerator"] / big["denominator"]), led2)
    assert rt.chartable(big, "rereferral", led2)


def test_one_vignette_rated_by_several_practitioners_reports_a_reason_not_a_number() -> None:
    synth = pytest.importorskip("analysis.synth")
    ratings, _ = synth.generate_ratings(seed=1)
    one = ratings[ratings["subject_id"] == ratings["subject_id"].iloc[0]]
    assert one["rater_id"].nunique() >= 3
    summ = th.vignette_agreement(one, HACKNEY, seed=0, n_boot=50)
    assert summ["estimate"].isna().all()
    assert (summ["reason"] == "one vignette: agreement cannot be measured").all()
    table = rt.vignette_agreement_table(summ)
    assert (table["Estimate"] == "not measurable").all()
    assert (table["95% interval"] == "one vignette: agreement cannot be measured").all()
    f = rt.vignette_agreement_finding(summ, one)
    assert f["estimate"] is None and f["ci_low"] is None and f["ci_high"] is None
    assert f["reason"] == "one vignette: agreement cannot be measured"
    assert f["text"].endswith("graded one vignette. One vignette: agreement cannot be "
                              "measured.")


# --------------------------------------------------------------------------------------
# Funnel plots that read at any size (issue 15, item 5)
# --------------------------------------------------------------------------------------

# The demo's referring agencies of issue 15, where labels collided and two agencies (Housing,
# Voluntary sector) had no visible marker: a police force far larger than the rest.
DEMO_AGENCIES = [("Anonymous", 89, 15), ("Health services", 557, 145), ("Housing", 106, 24),
                 ("Local authority services", 314, 122), ("Other", 77, 16),
                 ("Other legal agency", 70, 19), ("Police", 7414, 1840),
                 ("Schools and education", 723, 234),
                 ("Individual (self, family, carer)", 254, 54), ("Voluntary sector", 139, 41)]


def _funnel_of(groups) -> pd.DataFrame:
    rows = [{"g": name, "o": i < k} for name, n, k in groups for i in range(n)]
    return th.funnel_table(pd.DataFrame(rows), "g", "o")


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _crowded() -> pd.DataFrame:
    """Nine small agencies, two of them with exactly the same size and rate."""
    return _funnel_of([("Agency A", 12, 5), ("Agency B", 12, 5), ("Agency C", 12, 4),
                       ("Agency D", 13, 5), ("Agency E", 15, 6), ("Agency F", 20, 8),
                       ("Agency G", 40, 23), ("Agency H", 40, 20), ("Agency I", 41, 22)])


@pytest.mark.parametrize("table", [_funnel_of(DEMO_AGENCIES), _crowded()],
                         ids=["demo-agencies", "crowded"])
def test_funnel_labels_never_collide_with_each_other_or_another_point(table) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = th.funnel_plot(table, title="t", ylabel="Share")
    ax = fig.axes[0]
    r = _drawn(fig)
    labels = [t for t in ax.texts if t.get_visible()]
    boxes = [t.get_window_extent(r) for t in labels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (labels[i].get_text())
    disp = ax.transData.transform(fig.sqa_points)  # the points, in the table's order
    half = 0.5 * math.sqrt(50) * fig.dpi / 72 - 1
    for t, box in zip(labels, boxes, strict=True):
        own = table.index[table["label"] == t.get_text()][0]
        for j, (x, y) in enumerate(disp):
            if j != own:
                assert not (box.x0 < x + half and x - half < box.x1
                            and box.y0 < y + half and y - half < box.y1), t.get_text()
    shown = {t.get_text() for t in labels}
    assert shown | set(fig.sqa_unlabelled) == set(table["label"])  # left off, never lost
    if len(table) == len(DEMO_AGENCIES):  # the demo's agencies all keep their names
        assert not fig.sqa_unlabelled
    plt.close(fig)


@pytest.mark.parametrize("table", [_funnel_of(DEMO_AGENCIES), _crowded()],
                         ids=["demo-agencies", "crowded"])
def test_funnel_every_point_is_visible_above_the_lines_and_never_on_top_of_another(table
                                                                                  ) -> None:
    import matplotlib.pyplot as plt

    fig = th.funnel_plot(table, title="t", ylabel="Share")
    ax = fig.axes[0]
    _drawn(fig)
    points = [c for c in ax.collections if len(c.get_offsets())]
    assert sum(len(c.get_offsets()) for c in points) == len(table)  # every agency a point
    top = max(line.get_zorder() for line in ax.get_lines())
    assert all(c.get_zorder() > top and np.all(c.get_linewidths() > 0) for c in points)
    assert all(c.get_zorder() > t.get_zorder() for c in points for t in ax.texts)
    disp = ax.transData.transform(np.vstack([c.get_offsets() for c in points]))
    gaps = [math.dist(a, b) for i, a in enumerate(disp) for b in disp[i + 1:]]
    assert min(gaps) >= math.sqrt(50) * fig.dpi / 72 - 1e-6  # a marker width apart at least
    lo, hi = ax.get_ylim()
    x0, x1 = ax.get_xlim()
    assert all(lo < y < hi and x0 < x < x1 for c in points for x, y in c.get_offsets())
    plt.close(fig)


def test_funnel_rates_are_on_a_percentage_axis_and_the_legend_is_below_the_plot() -> None:
    import matplotlib.pyplot as plt

    fig = th.funnel_plot(_funnel_of(DEMO_AGENCIES), title="t", ylabel="Share")
    r = _drawn(fig)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks)
    legend = fig.legends[0]
    assert not legend.get_window_extent(r).overlaps(ax.get_window_extent(r))
    assert legend.get_window_extent(r).y1 <= ax.get_window_extent(r).y0
    plt.close(fig)


def test_funnel_alt_text_is_short_and_the_table_beside_it_names_every_point() -> None:
    from analysis.figures import ALT_MAX

    t = _funnel_of(DEMO_AGENCIES)
    alt = rt.funnel_alt_text(t, "contacts that became referrals")
    assert len(alt) <= ALT_MAX
    assert alt == ("Funnel plot of contacts that became referrals for 10 referring agency "
                   "groups against 95% and 99.8% control limits: 2 outside the 95% limits, 2 "
                   "of them outside the 99.8% limits. The figures are in the table below.")
    shown = rt.funnel_display(t, "Contacts", "Became referrals")
    assert list(shown.columns) == ["Agency", "Contacts", "Became referrals", "Where it falls"]
    assert sorted(shown["Agency"]) == sorted(t["label"])
    row = shown.set_index("Agency").loc["Local authority services"]
    assert row.tolist() == ["314", "39%", "above the 99.8% limit"]


def test_every_threshold_alt_text_stays_short_however_many_groups() -> None:
    from analysis.figures import ALT_MAX

    many = _funnel_of([(f"A very long agency name number {i}", 30 + i, 10 + (i % 7) * 3)
                       for i in range(40)])
    assert len(rt.funnel_alt_text(many, "audited contacts judged appropriate")) <= ALT_MAX
    levels = [f"level {i}" for i in range(8)]
    cm = pd.DataFrame(np.arange(64).reshape(8, 8), index=levels, columns=levels)
    alt = th.confusion_alt_text(cm, what="audited contacts",
                                rows="the level the auditor judged right",
                                columns="the level the front door decided")
    assert len(alt) <= ALT_MAX and alt.endswith("labelled with its share and count.")


# --------------------------------------------------------------------------------------
# One engine for the whole-table funnel (issue 16): a frame, a Parquet file and a pool
# --------------------------------------------------------------------------------------


def _contacts_frame(seed: int = 5, n: int = 4_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    src = rng.choice(["police", "school", "health", "housing", None], n,
                     p=[0.5, 0.2, 0.15, 0.1, 0.05])
    referred = rng.random(n) < np.where(src == "school", 0.35, 0.25)
    day = pd.Timestamp("2025-04-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    return pd.DataFrame({"case_id": [f"cs_{i:016x}" for i in range(n)],
                         "child_id": [f"ch_{i % 900:016x}" for i in range(n)],
                         "referral_source": src, "contact_date": day,
                         "referral_date": pd.Series(day).where(referred),
                         "service": rng.choice(["front_door", "early_help"], n, p=[0.9, 0.1]),
                         "assessment_start_date": pd.Series(pd.NaT, index=range(n)),
                         "assessment_end_date": pd.Series(pd.NaT, index=range(n))})


def test_the_funnel_is_the_same_from_a_frame_and_its_parquet_file_and_counts_every_contact(
        tmp_path: Path) -> None:
    cases = _contacts_frame()
    path = tmp_path / "cases.parquet"
    cases.to_parquet(path)
    from_file = th.conversion_by(path, labels=th.SOURCE_LABELS)
    from_frame = th.conversion_by(cases, labels=th.SOURCE_LABELS)
    pd.testing.assert_frame_equal(from_file, from_frame)
    contacts = cases[cases["service"] == "front_door"]
    expected = (contacts.dropna(subset=["referral_source"]).groupby("referral_source")
                .agg(successes=("referral_date", "count"), n=("case_id", "size")))
    got = from_file.set_index("group")[["successes", "n"]]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False,
                                  check_index_type=False)
    counts = th.funnel_counts(path, "referral_source", th.BECAME_REFERRAL,
                              services=("front_door",))
    assert int(counts.to_numpy().sum()) == len(contacts)
    assert counts.loc[th.NOT_RECORDED].sum() == contacts["referral_source"].isna().sum()


def test_whole_table_counts_are_one_group_by_and_never_load_the_file_into_pandas(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import engine

    path = tmp_path / "cases.parquet"
    _contacts_frame().to_parquet(path)

    def refuse(*a, **k):
        raise AssertionError("the cases table was loaded into pandas")

    monkeypatch.setattr(pd, "read_parquet", refuse)
    with engine.recording() as sql:
        tab = th.conversion_by(path)
        th.cases_summary(path)
        th.monthly_series(path)
    assert len(tab) == 4
    assert sum("GROUP BY" in s and "AS successes" in s for s in sql) == 1


def test_conversion_by_gives_each_group_its_wilson_interval() -> None:
    tab = th.conversion_by(_contacts_frame())
    for r in tab.itertuples():
        ci = pr.proportion_ci(int(r.successes), int(r.n))
        assert (r.ci_low, r.ci_high) == pytest.approx((ci.ci_low, ci.ci_high))
        assert r.ci_low <= r.rate <= r.ci_high


def test_audited_cases_brings_only_the_audited_rows_from_the_file(tmp_path: Path) -> None:
    cases = _contacts_frame()
    path = tmp_path / "cases.parquet"
    cases.to_parquet(path)
    ids = list(cases["case_id"].iloc[[3, 10, 99]]) + ["cs_not_there"]
    got = th.audited_cases(path, ids)
    assert sorted(got["case_id"]) == sorted(ids[:3])
    assert "contact_date" in got.columns


def _pool(tmp_path: Path, councils: dict[str, pd.DataFrame]) -> Path:
    """A pool folder as ``sqa pool`` writes it: council=<code>/, ids prefixed by the code."""
    for code, frame in councils.items():
        d = tmp_path / "pool" / f"council={code}"
        d.mkdir(parents=True)
        frame.assign(case_id=code + ":" + frame["case_id"].astype(str)).to_parquet(
            d / "data_0.parquet")
    return tmp_path / "pool"


def test_an_audit_of_one_council_finds_its_rows_in_a_pool_under_its_own_ids(tmp_path: Path
                                                                            ) -> None:
    a, b = _contacts_frame(), _contacts_frame()
    b["case_id"] = "other_" + b["case_id"].astype(str)
    pool = _pool(tmp_path, {"E09000012": a, "E09000030": b})
    ids = list(a["case_id"].iloc[[3, 10]])
    got = th.audited_cases(pool, ids + ["E09000030:" + b["case_id"].iloc[5]])
    assert sorted(got["case_id"]) == sorted(ids + ["E09000030:" + b["case_id"].iloc[5]])
    assert set(got.loc[got["case_id"].isin(ids), "council"]) == {"E09000012"}


def test_an_unprefixed_id_found_in_two_councils_of_a_pool_is_refused(tmp_path: Path) -> None:
    pool = _pool(tmp_path, {"E09000012": _contacts_frame(), "E09000030": _contacts_frame()})
    with pytest.raises(ValueError, match="more than one council"):
        th.audited_cases(pool, [_contacts_frame()["case_id"].iloc[0]])


# --------------------------------------------------------------------------------------
# Overdispersion (Spiegelhalter 2005, Qual Saf Health Care 14:347-351)
# --------------------------------------------------------------------------------------


def test_overdispersion_matches_a_worked_example_by_hand() -> None:
    """Four groups of 100 around p0 = 0.5 (s = 0.05): rates 0.4, 0.5, 0.6, 0.5 give z-scores
    -2, 0, 2, 0; no winsorising with four groups (floor(0.4) = 0); phi = 8/4 = 2; I phi = 8
    on 3 df, p = 2(1 - Phi(sqrt 8)) + sqrt(2 x 8 / pi) exp(-4) (chi-squared on 3 df, by
    hand); w = 400 each, so tau^2 = (8 - 3) / (1600 - 400) = 1/240."""
    est = th.overdispersion([40, 50, 60, 50], [100] * 4, target=0.5)
    assert est["phi"] == pytest.approx(2.0)
    assert est["statistic"] == pytest.approx(8.0) and est["df"] == 3
    p_hand = math.erfc(math.sqrt(8) / math.sqrt(2)) + math.sqrt(16 / math.pi) * math.exp(-4)
    assert est["p_value"] == pytest.approx(p_hand, rel=1e-9)
    assert est["tau2"] == pytest.approx(1 / 240)
    rows = [{"g": g, "o": i < x} for g, x in zip("ABCD", [40, 50, 60, 50], strict=True)
            for i in range(100)]
    z = 1.959963984540054
    add = th.funnel_table(pd.DataFrame(rows), "g", "o", overdispersion="additive")
    assert add["upper_95"].iloc[0] == pytest.approx(0.5 + z * math.sqrt(0.0025 + 1 / 240))
    mult = th.funnel_table(pd.DataFrame(rows), "g", "o", overdispersion="multiplicative")
    assert mult["lower_95"].iloc[0] == pytest.approx(0.5 - z * math.sqrt(2) * 0.05)
    assert add.attrs["overdispersion"]["adjusted"]
    assert mult.attrs["limits"]["phi"] == pytest.approx(2.0)
    none = th.funnel_table(pd.DataFrame(rows), "g", "o")
    assert not none.attrs["overdispersion"]["adjusted"]
    assert none["upper_95"].iloc[0] == pytest.approx(th.funnel_limit(0.5, 100, 0.95, "upper"))


def test_overdispersion_winsorises_the_most_extreme_tenth_of_z_scores_each_side() -> None:
    """Ten groups of 100 around 0.5: z = -4, -1, -0.4, 0 x 4, 0.4, 1, 4; the 10% most extreme
    each side (one group) are pulled in to the next: -1 and 1, so phi = 4.32 / 10."""
    est = th.overdispersion([30, 45, 48, 50, 50, 50, 50, 52, 55, 70], [100] * 10, 0.5)
    assert est["phi"] == pytest.approx(0.432)
    assert est["tau2"] == 0.0
    raw = th.overdispersion([30, 45, 48, 50, 50, 50, 50, 52, 55, 70], [100] * 10, 0.5,
                            winsor=0.0)
    assert raw["phi"] == pytest.approx((16 + 1 + 0.16 + 0.16 + 1 + 16) / 10)


def test_limits_are_not_widened_when_the_test_finds_no_overdispersion() -> None:
    rows = [{"g": g, "o": i < x} for g, x in zip("ABC", [50, 52, 49], strict=True)
            for i in range(100)]
    tab = th.funnel_table(pd.DataFrame(rows), "g", "o", overdispersion="additive")
    od = tab.attrs["overdispersion"]
    assert not od["found"] and not od["adjusted"] and od["p_value"] > 0.05
    assert tab.attrs["limits"] == {"method": "exact", "phi": 1.0, "tau2": 0.0}
    assert "no more than chance" in rt.overdispersion_sentence(tab)


def test_with_overdispersed_pooled_data_additive_limits_flag_far_fewer_councils() -> None:
    """Thirty councils of 5,000 contacts whose true rates differ (standard deviation 3 points,
    as councils do): exact binomial limits flag most of them; the random-effects limits only
    the few far out, and the reading says the limits allow for the spread."""
    rng = np.random.default_rng(11)
    n = 5_000
    p = np.clip(rng.normal(0.25, 0.03, 30), 0.05, 0.95)
    x = rng.binomial(n, p)
    rows = pd.DataFrame({"council": np.repeat([f"C{i:02d}" for i in range(30)], n),
                         "o": np.concatenate([np.arange(n) < k for k in x])})
    exact = th.funnel_table(rows, "council", "o")
    add = th.funnel_table(rows, "council", "o", overdispersion="additive")
    flagged_exact = int((exact["position"] != "within").sum())
    flagged_add = int((add["position"] != "within").sum())
    assert flagged_exact >= 18 and flagged_add <= 4 and flagged_add * 4 <= flagged_exact
    od = add.attrs["overdispersion"]
    assert od["found"] and od["adjusted"] and od["phi"] > 5
    assert math.sqrt(od["tau2"]) == pytest.approx(0.03, abs=0.012)
    words = rt.overdispersion_sentence(add, unit="council")
    assert "vary more than chance alone would give" in words and "p < 0.001" in words
    assert "ordinary spread between council groups" in th.funnel_reading(add, unit="council")
    assert "allowing for overdispersion" in rt.funnel_alt_text(add, "x", unit="council")


def test_the_funnel_plot_draws_the_overdispersion_adjusted_limits() -> None:
    import matplotlib.pyplot as plt

    rows = [{"g": g, "o": i < x} for g, x in zip("ABCD", [40, 50, 60, 50], strict=True)
            for i in range(100)]
    tab = th.funnel_table(pd.DataFrame(rows), "g", "o", overdispersion="additive")
    fig = th.funnel_plot(tab, title="t", ylabel="Share", label_points=False)
    line = fig.axes[0].get_lines()[0]  # the upper 95% limit
    xs, ys = line.get_data()
    at = int(np.argmin(np.abs(np.asarray(xs) - 100)))
    assert ys[at] == pytest.approx(th.funnel_limits(0.5, [xs[at]], phi=1.0,
                                                    tau2=1 / 240)["upper_95"].iloc[0])
    assert "overdispersion" in line.get_label()
    plt.close(fig)
