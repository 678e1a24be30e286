"""Agreement among raters (analysis.agreement): each test name states its rule, and each worked
example names the publication or program output it reproduces."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from analysis import agreement as ag

NAN = np.nan

# --------------------------------------------------------------------------------------
# Published data sets
# --------------------------------------------------------------------------------------

# Fleiss (1971) Psychological Bulletin 76:378, Table 1: 30 patients, 6 psychiatrists,
# 5 diagnoses (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other);
# the raw form is R irr's `diagnoses` data set.
FLEISS_1971 = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5]])

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories, as counts.
WIKIPEDIA_COUNTS = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])

# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", section C: reliability data
# of 4 observers (rows) coding 12 units (columns) on values 1-5, with missing values.  The
# same data are irrCAC's `cac.raw4raters` (Gwet 2014).
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN]]).T

# irrCAC (Gwet) `cont3x3abstractors`: 100 pregnant women classified by two abstractors
# (Ectopic, AIU, NIU); outputs from the irrCAC "overview" vignette (Gwet 2019).
ABSTRACTORS = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])

# SAS/STAT PROC FREQ, Getting Started "Agreement Study": skin condition of 88 patients rated by
# two dermatologists (terrible, poor, marginal, clear).
SAS_SKIN = np.array([[10, 4, 1, 0], [5, 10, 12, 2], [2, 4, 12, 5], [0, 2, 6, 13]])

# SAS PROC FREQ printout used in statsmodels' test suite (test_inter_rater.py, table10).
SAS_TABLE10 = np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]])

# R irr `anxiety` data: anxiety ratings (1-6) of 20 subjects by 3 raters.
ANXIETY = np.array([
    [3, 3, 2], [3, 6, 1], [3, 4, 4], [4, 6, 4], [5, 2, 3], [5, 4, 2], [2, 2, 1], [3, 4, 6],
    [5, 3, 1], [2, 3, 1], [2, 2, 1], [6, 3, 2], [1, 3, 3], [5, 3, 3], [2, 2, 1], [2, 2, 1],
    [1, 1, 3], [2, 3, 3], [4, 3, 2], [3, 4, 2]])


# --------------------------------------------------------------------------------------
# Fleiss' kappa
# --------------------------------------------------------------------------------------


def test_fleiss_kappa_matches_fleiss_1971_psychiatric_diagnoses() -> None:
    # Fleiss (1971): kappa = .430; R irr kappam.fleiss(diagnoses): Kappa = 0.4302445,
    # z = 17.65183 (standard error under kappa = 0 of Fleiss, Nee & Landis 1979)
    res = ag.fleiss_kappa(FLEISS_1971)
    assert round(res.estimate, 3) == 0.430
    assert res.estimate == pytest.approx(0.4302445, abs=5e-8)
    assert res.extra["z"] == pytest.approx(17.65183, abs=5e-6)
    assert (res.n_subjects, res.n_raters) == (30, 6)
    assert res.ci_low < res.estimate < res.ci_high


def test_fleiss_kappa_matches_the_wikipedia_worked_example() -> None:
    # Wikipedia "Fleiss' kappa": P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210
    res = ag.fleiss_kappa(ag.ratings_from_counts(WIKIPEDIA_COUNTS))
    assert round(res.estimate, 3) == 0.210
    assert round(res.extra["observed_agreement"], 3) == 0.378
    assert round(res.extra["chance_agreement"], 3) == 0.213


def test_fleiss_kappa_equals_statsmodels_on_complete_designs() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        truth = rng.integers(0, 4, 60)
        mat = np.where(rng.random((60, 7)) < 0.6, truth[:, None], rng.integers(0, 4, (60, 7)))
        table, _cats = aggregate_raters(mat, n_cat=4)
        assert ag.fleiss_kappa(mat, [0, 1, 2, 3]).estimate == pytest.approx(
            sm_fleiss_kappa(table), abs=1e-12)


def test_fleiss_kappa_and_ac1_match_gwet_irrcac_on_krippendorffs_data_with_missing_values(
) -> None:
    # irrCAC (Gwet 2014 formulas; Python port docs "CAC from raw ratings"): Fleiss' kappa
    # 0.76117, se 0.15302, 95% CI (0.42438, 1), pa 0.81818, pe 0.23872; AC1 0.77544,
    # se 0.14295, CI (0.46081, 1), pe 0.19032.  irrCAC's chance proportions use every rated
    # subject: chance="all_rated".
    fk = ag.fleiss_kappa(KRIPPENDORFF_2011, chance="all_rated")
    assert (round(fk.estimate, 5), round(fk.se, 5)) == (0.76117, 0.15302)
    assert (round(fk.ci_low, 5), fk.ci_high) == (0.42438, 1.0)
    assert round(fk.extra["observed_agreement"], 5) == 0.81818
    assert round(fk.extra["chance_agreement"], 5) == 0.23872
    assert fk.n_subjects == 12
    ac1 = ag.gwet_ac1(KRIPPENDORFF_2011, chance="all_rated")
    assert (round(ac1.estimate, 5), round(ac1.se, 5)) == (0.77544, 0.14295)
    assert (round(ac1.ci_low, 5), ac1.ci_high) == (0.46081, 1.0)
    assert round(ac1.extra["chance_agreement"], 5) == 0.19032


@pytest.mark.parametrize(("weights", "estimate", "se", "ci_low"), [
    ("quadratic", 0.91400, 0.10396, 0.68518),   # irrCAC docs, AC2 with quadratic weights
    ("linear", 0.859, 0.117, 0.600),            # irrCAC test suite (3 decimals)
    ("ordinal", 0.899, 0.107, 0.664),           # irrCAC test suite, Gwet's ordinal weights
])
def test_gwet_ac2_matches_irrcac_for_each_weighting(weights: str, estimate: float, se: float,
                                                    ci_low: float) -> None:
    res = ag.gwet_ac2(KRIPPENDORFF_2011, weights, chance="all_rated")
    digits = len(str(estimate).split(".")[1]) if weights != "quadratic" else 5
    assert round(res.estimate, digits) == pytest.approx(estimate)
    assert round(res.se, digits) == pytest.approx(se)
    assert round(res.ci_low, digits) == pytest.approx(ci_low)


def test_default_chance_uses_only_subjects_rated_at_least_twice() -> None:
    # unit 12 of Krippendorff's data has one rating: it drops out of the default estimate
    base = ag.fleiss_kappa(KRIPPENDORFF_2011)
    without = ag.fleiss_kappa(KRIPPENDORFF_2011[:11])
    assert base.estimate == pytest.approx(without.estimate, abs=1e-15)
    assert base.n_subjects == 11
    # pooled chance proportions: 40 pairable ratings, so P_e = 0.24 (as Krippendorff's D_e)
    assert base.extra["chance_agreement"] == pytest.approx(0.24, abs=1e-12)


def test_point_estimates_equal_the_threshold_module_formulas_on_incomplete_designs() -> None:
    tt = pytest.importorskip("tests.test_thresholds")
    rng = np.random.default_rng(11)
    for _ in range(5):
        truth = rng.integers(0, 4, 40)
        mat = np.where(rng.random((40, 9)) < 0.65, truth[:, None],
                       rng.integers(0, 4, (40, 9))).astype(float)
        mat[rng.random(mat.shape) < 0.3] = np.nan
        mat[0, 1:] = np.nan      # a subject with one rating
        summ = ag.agreement_summary(mat, level="ordinal", categories=[0, 1, 2, 3], n_boot=20)
        est = summ.set_index("key")["estimate"]
        assert est["fleiss_kappa"] == pytest.approx(tt._fleiss_point(mat, 4), abs=1e-12)
        assert est["gwet_ac1"] == pytest.approx(tt._ac1_point(mat, 4), abs=1e-12)
        assert ag.fleiss_kappa(mat, [0, 1, 2, 3]).estimate == pytest.approx(est["fleiss_kappa"])
        assert ag.gwet_ac1(mat, [0, 1, 2, 3]).estimate == pytest.approx(est["gwet_ac1"])


def test_gwet_ac2_with_identity_weights_is_ac1() -> None:
    a = ag.gwet_ac1(FLEISS_1971)
    b = ag.gwet_ac2(FLEISS_1971, np.eye(5))
    assert b.estimate == pytest.approx(a.estimate, abs=1e-14)
    assert b.se == pytest.approx(a.se, abs=1e-14)


# --------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "alpha"), [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_alpha_matches_krippendorff_2011_for_every_level(level: str,
                                                                      alpha: float) -> None:
    # Krippendorff (2011), section C: alpha_nominal = .743, ordinal = .815, interval = .849,
    # ratio = .797 (irrCAC gives 0.743 nominal, 0.849 with quadratic weights, 0.797 ratio)
    res = ag.krippendorff_alpha(KRIPPENDORFF_2011, level)
    assert round(res.estimate, 3) == alpha
    assert res.n_subjects == 11           # unit 12 has a single value and is not pairable
    assert res.ci_low <= res.estimate <= res.ci_high


def test_krippendorff_nominal_disagreements_match_the_coincidence_matrix_by_hand() -> None:
    # Krippendorff (2011): n = 40 pairable values with frequencies n_c = 9, 13, 10, 5, 3 of
    # values 1-5; 8 of the coincidences are off the diagonal (units 2, 6 and 8), so
    # alpha = 1 - (n - 1) * 8 / (n^2 - sum n_c^2) = 1 - 39 * 8 / 1216 = 0.743
    pairable = KRIPPENDORFF_2011[(~np.isnan(KRIPPENDORFF_2011)).sum(axis=1) >= 2]
    assert [int((pairable == v).sum()) for v in range(1, 6)] == [9, 13, 10, 5, 3]
    res = ag.krippendorff_alpha(KRIPPENDORFF_2011, "nominal")
    assert res.extra["observed_disagreement"] == pytest.approx(8 / 40)
    assert res.extra["expected_disagreement"] == pytest.approx(1216 / (40 * 39))
    assert res.estimate == pytest.approx(1 - 39 * 8 / 1216)


def _alpha_by_pairs(mat: np.ndarray, level: str) -> float:
    """Krippendorff's alpha straight from its definition, one pair of values at a time."""
    pairs, weights, values = [], [], []
    for row in mat:
        v = row[~np.isnan(row)]
        if v.size < 2:
            continue
        values.extend(v)
        for i in range(v.size):
            for j in range(v.size):
                if i != j:
                    pairs.append((v[i], v[j]))
                    weights.append(1 / (v.size - 1))
    vals = np.array(values)
    cats = np.unique(vals)
    n_c = np.array([(vals == c).sum() for c in cats])
    pos = {c: i for i, c in enumerate(cats)}

    def d2(a: float, b: float) -> float:
        if level == "nominal":
            return float(a != b)
        if level == "interval":
            return (a - b) ** 2
        if level == "ratio":
            return ((a - b) / (a + b)) ** 2 if a + b else 0.0
        lo, hi = sorted((pos[a], pos[b]))
        return (n_c[lo:hi + 1].sum() - (n_c[lo] + n_c[hi]) / 2) ** 2

    n = vals.size
    do = sum(w * d2(a, b) for (a, b), w in zip(pairs, weights, strict=True)) / n
    de = sum(n_c[i] * n_c[j] * d2(cats[i], cats[j]) for i in range(cats.size)
             for j in range(cats.size)) / (n * (n - 1))
    return 1 - do / de


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_alpha_equals_a_pair_by_pair_computation_with_missing_data(level: str
                                                                               ) -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(1, 6, 35)
    mat = np.where(rng.random((35, 6)) < 0.6, truth[:, None],
                   rng.integers(1, 6, (35, 6))).astype(float)
    mat[rng.random(mat.shape) < 0.35] = np.nan
    assert ag.krippendorff_alpha(mat, level).estimate == pytest.approx(
        _alpha_by_pairs(mat, level), abs=1e-12)


def test_krippendorff_alpha_from_a_table_matches_irrcac() -> None:
    # irrCAC overview vignette: krippen2.table(cont3x3abstractors) = 0.7972585
    assert ag.krippendorff_alpha_table(ABSTRACTORS).estimate == pytest.approx(0.7972585,
                                                                               abs=5e-8)


def test_interval_alpha_needs_numeric_levels() -> None:
    with pytest.raises(ag.AgreementError, match="numeric levels"):
        ag.krippendorff_alpha([["low", "high"], ["low", "low"]], "interval",
                              categories=["low", "high"])


# --------------------------------------------------------------------------------------
# Cohen's kappa and the two-rater table forms
# --------------------------------------------------------------------------------------


def test_cohen_kappa_matches_the_sas_proc_freq_skin_condition_example() -> None:
    # SAS/STAT PROC FREQ "Agreement Study": simple kappa 0.3449, ASE 0.0724,
    # 95% confidence limits 0.2030 to 0.4868 (SAS's Wald interval: interval="analytic")
    res = ag.cohen_kappa_table(SAS_SKIN, interval="analytic")
    assert (round(res.estimate, 4), round(res.se, 4)) == (0.3449, 0.0724)
    assert (round(res.ci_low, 4), round(res.ci_high, 4)) == (0.2030, 0.4868)
    assert res.n_subjects == 88


def test_weighted_kappa_matches_the_sas_printout_in_statsmodels_tests() -> None:
    # SAS printout reproduced in statsmodels test_inter_rater.py (table10): simple kappa
    # 0.4842 (ASE 0.1380, CL 0.2137-0.7547, ASE under H0 0.1484, Z 3.2626); weighted
    # (Cicchetti-Allison) 0.4701 (ASE 0.1457, CL 0.1845-0.7558, ASE under H0 0.1426, Z 3.2971)
    s = ag.cohen_kappa_table(SAS_TABLE10, interval="analytic")
    assert [round(x, 4) for x in (s.estimate, s.se, s.ci_low, s.ci_high, s.extra["se_null"],
                                  s.extra["z"])] == [0.4842, 0.1380, 0.2137, 0.7547, 0.1484,
                                                     3.2626]
    w = ag.cohen_kappa_table(SAS_TABLE10, weights="linear", interval="analytic")
    assert [round(x, 4) for x in (w.estimate, w.se, w.ci_low, w.ci_high, w.extra["se_null"],
                                  w.extra["z"])] == [0.4701, 0.1457, 0.1845, 0.7558, 0.1426,
                                                     3.2971]


@pytest.mark.parametrize(("weights", "kappa", "z"), [
    (None, -0.006289308, -0.0604067),           # kappa2(anxiety[,2:3])
    ("linear", 0.1459075, 1.282472),            # kappa2(anxiety[,2:3], "equal")
    ("quadratic", 0.2520325, 1.437451),         # kappa2(anxiety[,2:3], "squared")
])
def test_cohen_kappa_matches_r_irr_kappa2_on_the_anxiety_data(weights: str | None, kappa: float,
                                                              z: float) -> None:
    # R irr: kappa2 uses the levels present in the two columns (1, 2, 3, 4, 6), equally spaced
    res = ag.cohen_kappa(ANXIETY[:, 1:3], weights=weights)
    assert res.estimate == pytest.approx(kappa, abs=5e-8)
    assert res.extra["z"] == pytest.approx(z, abs=5e-6)


def test_cohen_kappa_matches_the_textbook_two_by_two_example() -> None:
    # Wikipedia "Cohen's kappa": 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no; p_o = 0.7,
    # p_e = 0.5, kappa = 0.4
    res = ag.cohen_kappa_table([[20, 5], [10, 15]])
    assert res.estimate == pytest.approx(0.4)
    assert res.extra["observed_agreement"] == pytest.approx(0.7)
    assert res.extra["chance_agreement"] == pytest.approx(0.5)


def test_cohen_kappa_from_ratings_equals_the_table_form_and_drops_incomplete_pairs() -> None:
    pairs = [["no", "no"]] * 15 + [["yes", "yes"]] * 20 + [["yes", "no"]] * 5 + \
        [["no", "yes"]] * 10 + [["yes", None], [None, "no"]]
    res = ag.cohen_kappa(pairs, categories=["yes", "no"])
    assert res.estimate == pytest.approx(0.4)
    assert res.n_subjects == 50 and res.extra["n_excluded"] == 2


def test_cohen_kappa_bootstrap_interval_brackets_the_estimate_and_is_seeded() -> None:
    a = ag.cohen_kappa_table(SAS_SKIN)
    rows = [[i, j] for i in range(4) for j in range(4) for _ in range(SAS_SKIN[i, j])]
    b1 = ag.cohen_kappa(rows, interval="bootstrap", n_boot=3000, seed=7)
    b2 = ag.cohen_kappa(rows, interval="bootstrap", n_boot=3000, seed=7)
    assert b1 == b2
    assert b1.estimate == pytest.approx(a.estimate)
    assert b1.ci_low < b1.estimate < b1.ci_high
    # the bootstrap SE is close to the large-sample one
    assert b1.se == pytest.approx(a.se, rel=0.15)


def test_gwet_ac1_and_scott_type_coefficients_match_irrcac_table_outputs() -> None:
    # irrCAC overview vignette, cont3x3abstractors: gwet.ac1.table 0.8493305, se 0.04321747,
    # CI (0.764, 0.935); kappa2.table 0.7964094, se 0.05891072; pa2.table 0.89
    ac1 = ag.gwet_ac1_table(ABSTRACTORS)
    assert ac1.estimate == pytest.approx(0.8493305, abs=5e-8)
    assert ac1.se == pytest.approx(0.04321747, abs=5e-9)
    assert (round(ac1.ci_low, 3), round(ac1.ci_high, 3)) == (0.764, 0.935)
    kappa = ag.cohen_kappa_table(ABSTRACTORS)
    assert kappa.estimate == pytest.approx(0.7964094, abs=5e-8)
    assert kappa.se == pytest.approx(0.05891072, abs=5e-9)
    assert ac1.extra["observed_agreement"] == pytest.approx(0.89)


def test_gwet_ac2_table_with_identity_weights_equals_ac1_table() -> None:
    assert ag.gwet_ac2_table(ABSTRACTORS, np.eye(3)).estimate == pytest.approx(
        ag.gwet_ac1_table(ABSTRACTORS).estimate)


# --------------------------------------------------------------------------------------
# The prevalence paradox
# --------------------------------------------------------------------------------------


def test_prevalence_paradox_high_agreement_low_kappa_high_ac1() -> None:
    # Feinstein & Cicchetti (1990) J Clin Epidemiol 43:543: two tables with the same observed
    # agreement p_o = 0.85; balanced (40, 9 / 6, 45) gives kappa 0.70, skewed (80, 10 / 5, 5)
    # gives kappa 0.32.  AC1 on the skewed table: pi = 0.875, P_e = 2(0.875)(0.125) = 0.21875,
    # AC1 = (0.85 - 0.21875) / 0.78125 = 0.808.
    balanced = ag.cohen_kappa_table([[40, 9], [6, 45]])
    skewed = ag.cohen_kappa_table([[80, 10], [5, 5]])
    assert balanced.extra["observed_agreement"] == skewed.extra["observed_agreement"] == 0.85
    assert (round(balanced.estimate, 2), round(skewed.estimate, 2)) == (0.70, 0.32)
    ac1 = ag.gwet_ac1_table([[80, 10], [5, 5]])
    assert ac1.estimate == pytest.approx(0.808, abs=5e-4)
    note = ag.prevalence_paradox_note(0.85, skewed.estimate, ac1.estimate, 0.875)
    assert note and "prevalence paradox" in note and "0.32" in note and "88%" in note
    assert ag.prevalence_paradox_note(0.85, balanced.estimate, 0.70) is None


def test_summary_explains_the_paradox_when_one_level_dominates() -> None:
    rng = np.random.default_rng(2)
    n = 120
    truth = rng.choice(3, n, p=[0.9, 0.07, 0.03])
    mat = np.where(rng.random((n, 4)) < 0.85, truth[:, None], rng.integers(0, 3, (n, 4)))
    summ = ag.agreement_summary(mat, level="nominal", categories=[0, 1, 2], n_boot=200)
    est = summ.set_index("key")["estimate"]
    assert est["percent_agreement"] > 0.75 and est["gwet_ac1"] - est["fleiss_kappa"] > 0.2
    reading = summ.set_index("key").loc["fleiss_kappa", "reading"]
    assert "prevalence paradox" in reading and "AC1" in reading


# --------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------


def test_string_labels_lists_dataframes_and_long_tables_give_the_same_answer() -> None:
    levels = ["1", "2A", "2B", "3"]
    mat = np.array([[0, 0, 1], [1, 1, 1], [2, 3, 2], [3, 3, 3], [1, 2, NAN], [0, 1, 0]])
    labels = [[None if np.isnan(v) else levels[int(v)] for v in row] for row in mat]
    frame = pd.DataFrame(labels, columns=["r1", "r2", "r3"])
    long = frame.rename_axis("subject_id").reset_index().melt(
        id_vars="subject_id", var_name="rater_id", value_name="level").dropna()
    wide = ag.ratings_matrix_from_long(long, categories=levels)
    ref = ag.fleiss_kappa(mat, [0, 1, 2, 3]).estimate
    for data in (labels, frame, wide):
        assert ag.fleiss_kappa(data, levels).estimate == pytest.approx(ref, abs=1e-15)
    assert ag.krippendorff_alpha(labels, "ordinal", levels).estimate == pytest.approx(
        ag.krippendorff_alpha(mat, "ordinal", [0, 1, 2, 3]).estimate)


def test_a_level_outside_the_categories_is_reported_with_its_row_and_rater() -> None:
    with pytest.raises(ag.AgreementError, match=r"'2C'.*row 2.*'r2'"):
        ag.fleiss_kappa(pd.DataFrame({"r1": ["1", "2A"], "r2": ["1", "2C"]}),
                        ["1", "2A", "2B", "3"])
    with pytest.raises(ag.AgreementError, match="not one of the categories"):
        ag.gwet_ac1(np.array([[0.0, 1.0], [5.0, 1.0]]), [0, 1, 2, 3])


def test_a_long_table_with_a_rater_rating_a_subject_twice_is_rejected() -> None:
    long = pd.DataFrame({"subject_id": ["v1", "v1", "v1"], "rater_id": ["a", "a", "b"],
                         "level": ["1", "2A", "1"]})
    with pytest.raises(ag.AgreementError, match="more than once"):
        ag.ratings_matrix_from_long(long)


def test_bad_shapes_and_settings_raise_agreement_errors() -> None:
    with pytest.raises(ag.AgreementError, match="one row per subject"):
        ag.fleiss_kappa([1, 2, 3])
    with pytest.raises(ag.AgreementError, match="exactly two raters"):
        ag.cohen_kappa(FLEISS_1971)
    with pytest.raises(ag.AgreementError, match="square"):
        ag.cohen_kappa_table([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ag.AgreementError, match="confidence"):
        ag.krippendorff_alpha(FLEISS_1971, confidence=95)
    with pytest.raises(ag.AgreementError, match="no ratings"):
        ag.fleiss_kappa(np.full((3, 2), np.nan))


def test_degenerate_data_give_nan_and_words_not_errors_or_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = ag.agreement_summary(np.ones((10, 3)), level="ordinal", categories=[0, 1, 2],
                                    n_boot=50)
        assert np.isnan(same.set_index("key").loc["fleiss_kappa", "estimate"])
        assert same.set_index("key").loc["percent_agreement", "estimate"] == 1.0
        assert "cannot be measured" in same.set_index("key").loc["fleiss_kappa", "reading"]
        lonely = np.array([[0, NAN], [NAN, 1], [2, NAN]])
        none = ag.agreement_summary(lonely, level="ordinal", categories=[0, 1, 2], n_boot=50)
        assert none["estimate"].isna().all() and (none["n_subjects"] == 0).all()


# --------------------------------------------------------------------------------------
# The summary table used by analysis.thresholds
# --------------------------------------------------------------------------------------


def _exercise(seed: int, n: int = 30, raters: int = 8, q: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, q, n)
    mat = np.where(rng.random((n, raters)) < 0.6, truth[:, None],
                   np.clip(truth[:, None] + rng.integers(-1, 2, (n, raters)), 0, q - 1))
    out = mat.astype(float)
    out[rng.random(out.shape) < 0.1] = np.nan
    return out


def test_summary_has_one_row_per_statistic_with_the_columns_thresholds_reads() -> None:
    summ = ag.agreement_summary(_exercise(1), level="ordinal", categories=[0, 1, 2, 3],
                                seed=0, n_boot=300)
    assert summ["key"].tolist() == ["percent_agreement", "fleiss_kappa", "krippendorff_alpha",
                                     "gwet_ac1", "gwet_ac2"]
    assert summ.columns.tolist() == ["key", "statistic", "estimate", "se", "ci_low", "ci_high",
                                     "n_subjects", "n_raters", "method", "reason", "reading"]
    assert (summ["ci_low"] <= summ["estimate"]).all() and (summ["estimate"] <=
                                                           summ["ci_high"]).all()
    assert (summ["n_subjects"] == 30).all() and (summ["n_raters"] == 8).all()
    assert summ["method"].str.contains("bootstrap over subjects, 300 resamples").all()
    assert summ.set_index("key").loc["gwet_ac2", "statistic"] == "Gwet's AC2 (ordinal weights)"
    nominal = ag.agreement_summary(_exercise(1), level="nominal", categories=[0, 1, 2, 3],
                                   n_boot=50)
    assert "gwet_ac2" not in set(nominal["key"])


def test_summary_readings_use_landis_and_koch_bands_and_say_when_the_interval_spans_two(
) -> None:
    summ = ag.agreement_summary(_exercise(4, n=12), level="ordinal", categories=[0, 1, 2, 3],
                                n_boot=500).set_index("key")
    r = summ.loc["fleiss_kappa"]
    band = ag.landis_koch_band(r["estimate"])
    assert r["reading"].startswith(f"Agreement beyond chance is {band} ({r['estimate']:.2f}")
    if ag.landis_koch_band(r["ci_low"]) != ag.landis_koch_band(r["ci_high"]):
        assert "The interval runs from" in r["reading"]
    assert "small sample" in r["reading"]
    assert "%" in summ.loc["percent_agreement", "reading"]
    assert [ag.landis_koch_band(x) for x in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "worse than chance", "slight", "fair", "moderate", "substantial", "almost perfect"]


def test_summary_is_reproducible_and_ignores_the_order_of_rows_and_columns() -> None:
    mat = _exercise(7)
    a = ag.agreement_summary(mat, level="ordinal", categories=[0, 1, 2, 3], seed=3, n_boot=400)
    b = ag.agreement_summary(mat, level="ordinal", categories=[0, 1, 2, 3], seed=3, n_boot=400)
    pd.testing.assert_frame_equal(a, b)
    rng = np.random.default_rng(0)
    shuffled = mat[rng.permutation(mat.shape[0])][:, rng.permutation(mat.shape[1])]
    c = ag.agreement_summary(shuffled, level="ordinal", categories=[0, 1, 2, 3], seed=3,
                             n_boot=400)
    pd.testing.assert_frame_equal(a, c)
    d = ag.agreement_summary(mat, level="ordinal", categories=[0, 1, 2, 3], seed=4, n_boot=400)
    assert not np.allclose(a["ci_low"], d["ci_low"])
    assert np.allclose(a["estimate"], d["estimate"])


def test_percentile_intervals_are_available_and_differ_from_bca() -> None:
    mat = _exercise(9, n=20)
    bca = ag.fleiss_kappa(mat, [0, 1, 2, 3], interval="bootstrap", n_boot=1000, seed=1)
    pct = ag.fleiss_kappa(mat, [0, 1, 2, 3], interval="bootstrap", n_boot=1000, seed=1,
                          ci_method="percentile")
    assert "BCa" in bca.method and "percentile" in pct.method
    assert bca.se == pct.se and (bca.ci_low, bca.ci_high) != (pct.ci_low, pct.ci_high)


def test_two_raters_percent_agreement_is_the_share_of_subjects_agreed_on() -> None:
    res = ag.percent_agreement([[1, 1], [1, 2], [2, 2], [3, 3]], n_boot=200)
    assert res.estimate == pytest.approx(0.75)
    assert 0 <= res.ci_low <= res.estimate <= res.ci_high <= 1


def test_bootstrap_of_ten_thousand_subjects_and_five_raters_takes_well_under_two_seconds(
) -> None:
    # issue 7 benchmark: agreement statistics with bootstrap intervals, 10,000 subjects x 5
    # raters, 2,000 resamples, target < 2 s on 2 cores
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 10_000)
    mat = np.where(rng.random((10_000, 5)) < 0.7, truth[:, None],
                   rng.integers(0, 4, (10_000, 5))).astype(float)
    mat[rng.random(mat.shape) < 0.05] = np.nan
    t0 = time.perf_counter()
    summ = ag.agreement_summary(mat, level="ordinal", categories=[0, 1, 2, 3], n_boot=2000)
    elapsed = time.perf_counter() - t0
    print(f"agreement_summary, 10,000 x 5, 2,000 resamples: {elapsed:.3f} s")
    assert elapsed < 2.0
    assert (summ["ci_high"] - summ["ci_low"] < 0.05).all()


# --------------------------------------------------------------------------------------
# Coverage: the intervals recover a known rater-error model
# --------------------------------------------------------------------------------------


def _model_truth(prevalence: np.ndarray, accuracy: float) -> dict[str, float]:
    """Population values of the rater-error model: every rater gives the true level with
    probability ``accuracy``, otherwise one of the other q - 1 levels at random."""
    q = prevalence.size
    pa = accuracy**2 + (1 - accuracy) ** 2 / (q - 1)         # two raters agree
    pi = prevalence * accuracy + (1 - prevalence) * (1 - accuracy) / (q - 1)  # rating shares
    pe_fleiss = float(np.sum(pi**2))
    pe_gwet = float(np.sum(pi * (1 - pi)) / (q - 1))
    kappa = (pa - pe_fleiss) / (1 - pe_fleiss)
    return {"percent_agreement": pa, "fleiss_kappa": kappa,
            "krippendorff_alpha": kappa,  # alpha and kappa share their large-sample limit
            "gwet_ac1": (pa - pe_gwet) / (1 - pe_gwet)}


def _simulate(rng: np.random.Generator, n: int, raters: int, prevalence: np.ndarray,
              accuracy: float, missing: float) -> np.ndarray:
    q = prevalence.size
    truth = rng.choice(q, n, p=prevalence)
    other = (truth[:, None] + rng.integers(1, q, (n, raters))) % q
    mat = np.where(rng.random((n, raters)) < accuracy, truth[:, None], other).astype(float)
    mat[rng.random(mat.shape) < missing] = np.nan
    return mat


def test_model_truth_is_what_a_very_large_exercise_estimates() -> None:
    prevalence = np.array([0.5, 0.3, 0.15, 0.05])
    truth = _model_truth(prevalence, 0.7)
    big = _simulate(np.random.default_rng(0), 200_000, 5, prevalence, 0.7, 0.0)
    summ = ag.agreement_summary(big, level="nominal", categories=[0, 1, 2, 3], n_boot=10)
    for key, value in summ.set_index("key")["estimate"].items():
        assert value == pytest.approx(truth[key], abs=0.004), key


@pytest.mark.slow
def test_intervals_contain_the_true_agreement_in_at_least_90_of_100_simulated_exercises(
) -> None:
    prevalence = np.array([0.5, 0.3, 0.15, 0.05])
    truth = _model_truth(prevalence, 0.7)
    hits = dict.fromkeys(truth, 0)
    for seed in range(100):
        rng = np.random.default_rng(10_000 + seed)
        mat = _simulate(rng, 30, 6, prevalence, 0.7, missing=0.1)
        summ = ag.agreement_summary(mat, level="nominal", categories=[0, 1, 2, 3], seed=seed,
                                    n_boot=1000).set_index("key")
        for key, value in truth.items():
            hits[key] += int(summ.loc[key, "ci_low"] <= value <= summ.loc[key, "ci_high"])
    print("coverage of 100:", hits, {k: round(v, 4) for k, v in truth.items()})
    assert all(h >= 90 for h in hits.values()), hits


def test_band_words_never_claim_a_band_the_interval_does_not_support() -> None:
    from analysis.agreement import band_words

    assert band_words(0.35, 0.29, 0.38) == "fair"
    assert band_words(0.35, 0.29, 0.43) == "between fair and moderate"
    assert band_words(0.10, -0.32, 0.52) == "between worse than chance and moderate"
    assert band_words(0.9) == "almost perfect"


def test_one_rater_or_no_subject_rated_twice_says_agreement_cannot_be_measured() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_rater = ag.agreement_summary(np.array([[0.0], [1.0], [2.0], [1.0]]),
                                         level="ordinal", categories=[0, 1, 2], n_boot=50)
    assert one_rater["estimate"].isna().all() and (one_rater["n_subjects"] == 0).all()
    assert (one_rater["reason"] == "fewer than two raters: agreement cannot be measured").all()
    assert (one_rater["reading"] ==
            "Fewer than two raters: agreement cannot be measured.").all()


# --------------------------------------------------------------------------------------
# Weighted kappa: the Fisher-z interval is the default (benchmarks/kappa_coverage.py)
# --------------------------------------------------------------------------------------


def test_weighted_kappa_default_interval_is_fisher_z_pinned_on_the_sas_skin_table() -> None:
    from scipy import stats

    res = ag.cohen_kappa_table(SAS_SKIN, weights="quadratic")
    wald = ag.cohen_kappa_table(SAS_SKIN, weights="quadratic", interval="analytic")
    assert res.extra["interval"] == "fisher_z" and "Fisher's z" in res.method
    assert (round(res.estimate, 4), round(res.se, 4)) == (0.6607, 0.0616)
    assert (round(res.ci_low, 4), round(res.ci_high, 4)) == (0.5202, 0.7664)
    # by hand: tanh(atanh(k) -+ t(87) SE / (1 - k^2))
    t = stats.t.ppf(0.975, 87)
    z, zse = np.arctanh(res.estimate), res.se / (1 - res.estimate**2)
    assert (res.ci_low, res.ci_high) == pytest.approx((np.tanh(z - t * zse),
                                                        np.tanh(z + t * zse)))
    # same estimate and SE as the Wald interval; the z interval leans towards 0
    assert (wald.estimate, wald.se) == (res.estimate, res.se)
    assert (round(wald.ci_low, 4), round(wald.ci_high, 4)) == (0.5399, 0.7815)
    assert res.ci_low < wald.ci_low and res.ci_high < wald.ci_high


def test_cohen_kappa_keeps_every_interval_method_and_defaults_to_fisher_z() -> None:
    rows = [[i, j] for i in range(4) for j in range(4) for _ in range(SAS_SKIN[i, j])]
    table = ag.cohen_kappa_table(SAS_SKIN, weights="quadratic")
    default = ag.cohen_kappa(rows, weights="quadratic")
    assert (default.ci_low, default.ci_high) == (table.ci_low, table.ci_high)
    wald = ag.cohen_kappa(rows, weights="quadratic", interval="analytic")
    assert "normal interval" in wald.method
    for ci in ("bca", "percentile"):
        boot = ag.cohen_kappa(rows, weights="quadratic", interval="bootstrap", n_boot=500,
                              ci_method=ci)
        assert boot.ci_low < boot.estimate < boot.ci_high and boot.extra["ci_method"] == ci
    with pytest.raises(ag.AgreementError, match="interval must be"):
        ag.cohen_kappa(rows, interval="wald")


def _two_raters(rng: np.random.Generator, n: int, reps: int) -> np.ndarray:
    """reps x 4 x 4 tables: latent N(0, 1), rater errors sd 0.55 correlated 0.2, 4 levels
    (setting A of benchmarks/kappa_coverage.py)."""
    t = rng.standard_normal((reps, n))
    e1 = rng.standard_normal((reps, n))
    e2 = 0.2 * e1 + np.sqrt(1 - 0.04) * rng.standard_normal((reps, n))
    cuts = [-0.8, 0.0, 0.8]
    a, b = np.searchsorted(cuts, t + 0.55 * e1), np.searchsorted(cuts, t + 0.55 * e2)
    cells = a * 4 + b + (np.arange(reps) * 16)[:, None]
    return np.bincount(cells.ravel(), minlength=reps * 16).reshape(reps, 4, 4)


@pytest.mark.slow
def test_fisher_z_interval_for_weighted_kappa_covers_near_95_percent_at_n_30() -> None:
    rng = np.random.default_rng(2024)
    truth = ag.cohen_kappa_table(_two_raters(rng, 2_000_000, 1)[0], "quadratic").estimate
    hits = {"fisher_z": 0, "analytic": 0}
    tables = _two_raters(rng, 30, 800)
    for tab in tables:
        for m in hits:
            r = ag.cohen_kappa_table(tab, "quadratic", interval=m)
            hits[m] += int(r.ci_low <= truth <= r.ci_high)
    cover = {m: h / len(tables) for m, h in hits.items()}
    print("coverage at n = 30:", cover, "true kappa", round(float(truth), 3))
    # measured with 2,000 data sets: 93.3% (z) and 90.5% (Wald); Monte Carlo SE here 0.8 pt
    assert 0.91 <= cover["fisher_z"] <= 0.975
    assert cover["fisher_z"] > cover["analytic"]


# --------------------------------------------------------------------------------------
# Not measurable: NaN with a reason, never a number with a zero-width interval
# --------------------------------------------------------------------------------------


def _no_zero_width_interval(summ: pd.DataFrame) -> bool:
    width = summ["ci_high"] - summ["ci_low"]
    return not bool((width.notna() & (width <= 1e-12)).any())


def test_one_vignette_rated_by_several_practitioners_is_not_measurable() -> None:
    one = np.array([[0.0, 1.0, 1.0, 2.0]])  # gave Fleiss' kappa -0.33 with a zero-width CI
    summ = ag.agreement_summary(one, level="ordinal", categories=[0, 1, 2, 3], n_boot=200,
                                noun="vignette")
    assert summ["estimate"].isna().all() and summ["ci_low"].isna().all()
    assert (summ["reason"] == "one vignette: agreement cannot be measured").all()
    assert (summ["reading"] == "One vignette: agreement cannot be measured.").all()
    three = np.array([[0.0, 1.0, 2.0]])
    for fn in (ag.fleiss_kappa, ag.gwet_ac1, ag.percent_agreement):
        r = fn(three, [0, 1, 2, 3])
        assert np.isnan(r.estimate) and r.reason == "one subject: agreement cannot be measured"
    assert ag.describe_agreement(ag.fleiss_kappa(three, [0, 1, 2, 3])) == \
        "One subject: agreement cannot be measured."


def test_fewer_than_two_raters_is_not_measurable() -> None:
    r = ag.fleiss_kappa(np.array([[0.0], [1.0], [2.0]]), [0, 1, 2])
    assert np.isnan(r.estimate) and r.reason.startswith("fewer than two raters")


def test_one_category_used_is_not_measurable_beyond_chance() -> None:
    same = np.full((6, 3), 1.0)
    summ = ag.agreement_summary(same, categories=[0, 1, 2], n_boot=100).set_index("key")
    for key in ("fleiss_kappa", "krippendorff_alpha", "gwet_ac1", "gwet_ac2"):
        assert np.isnan(summ.loc[key, "estimate"]), key
        assert summ.loc[key, "reason"] == ("every rating was the same level: agreement beyond "
                                           "chance cannot be measured"), key
    # percent agreement is a plain share: 100% of pairs agreed
    assert summ.loc["percent_agreement", "estimate"] == 1.0
    assert summ.loc["percent_agreement", "reason"] == ""
    r = ag.cohen_kappa_table([[0, 0], [0, 9]])
    assert np.isnan(r.estimate) and "same level" in r.reason


def test_all_raters_identical_gives_a_reason_not_a_zero_width_interval() -> None:
    ident = np.repeat(np.array([[0.0], [1.0], [2.0], [3.0], [1.0], [2.0]]), 4, axis=1)
    summ = ag.agreement_summary(ident, categories=[0, 1, 2, 3], n_boot=200)
    chance = summ[summ["key"] != "percent_agreement"]
    assert chance["estimate"].isna().all() and _no_zero_width_interval(chance)
    assert chance["reason"].str.contains("agreement was complete").all()
    assert ag.fleiss_kappa(ident, [0, 1, 2, 3]).reason.startswith("every rater gave each")
    assert ag.cohen_kappa(ident[:, :2], weights="quadratic").reason.startswith(
        "every rater gave each")
    assert ag.cohen_kappa(ident[:, :2], interval="bootstrap", n_boot=100).reason != ""
    assert ag.cohen_kappa_table([[5, 0], [0, 5]]).extra["estimate_if_defined"] == 1.0


def test_every_subject_with_the_same_mix_of_levels_has_no_zero_width_interval() -> None:
    mix = np.array([[0.0, 1.0]] * 5)  # rater 1 always 0, rater 2 always 1
    summ = ag.agreement_summary(mix, categories=[0, 1], n_boot=100)
    chance = summ[summ["key"] != "percent_agreement"]
    assert chance["estimate"].isna().all() and _no_zero_width_interval(chance)
    assert chance["reason"].str.contains("same mix of levels").all()


def test_a_measurable_result_has_an_empty_reason() -> None:
    res = ag.fleiss_kappa(FLEISS_1971)
    assert res.reason == "" and np.isfinite(res.estimate) and res.ci_low < res.ci_high
