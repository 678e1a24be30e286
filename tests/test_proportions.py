"""Tests of analysis.proportions against published values and the wording rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.proportions import (
    DifferenceResult,
    ProportionCI,
    describe_change,
    describe_proportion,
    difference_ci,
    n_for_interval_width,
    n_to_detect_change,
    proportion_ci,
    proportion_phrase,
    quantifier,
    weighted_proportion_ci,
)

# Newcombe, R. G. (1998a) "Two-sided confidence intervals for the single proportion:
# comparison of seven methods", Statistics in Medicine 17:857-872, Table I.
# (successes, n): (method 3, Wilson score), (method 5, Clopper-Pearson exact)
NEWCOMBE_1998A_TABLE_I = {
    (81, 263): ((0.2553, 0.3662), (0.2527, 0.3676)),
    (15, 148): ((0.0624, 0.1605), (0.0578, 0.1617)),
    (0, 20): ((0.0000, 0.1611), (0.0000, 0.1684)),
    (1, 29): ((0.0061, 0.1718), (0.0009, 0.1776)),
}

# Newcombe, R. G. (1998b) "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Statistics in Medicine 17:873-890, Table II,
# method 10 (hybrid score).  Newcombe's examples are written first-minus-second: (a) 56/70 -
# 48/80, (b) 9/10 - 3/10, (d) 5/56 - 0/29, (e) 0/10 - 0/20, (g) 10/10 - 0/20.
NEWCOMBE_1998B_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
]


# --------------------------------------------------------------------------------------
# Single proportion
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), sorted(NEWCOMBE_1998A_TABLE_I))
def test_wilson_interval_matches_newcombe_1998_table_i(x: int, n: int) -> None:
    """Newcombe (1998a) Table I, method 3 (Wilson score interval), to 4 d.p."""
    expected = NEWCOMBE_1998A_TABLE_I[(x, n)][0]
    ci = proportion_ci(x, n)
    assert (round(ci.ci_low, 4), round(ci.ci_high, 4)) == expected
    assert ci.estimate == pytest.approx(x / n)
    assert ci.method == "wilson" and ci.confidence == 0.95 and ci.n_eff is None


@pytest.mark.parametrize(("x", "n"), sorted(NEWCOMBE_1998A_TABLE_I))
def test_clopper_pearson_interval_matches_newcombe_1998_table_i(x: int, n: int) -> None:
    """Newcombe (1998a) Table I, method 5 (Clopper-Pearson exact interval), to 4 d.p."""
    expected = NEWCOMBE_1998A_TABLE_I[(x, n)][1]
    ci = proportion_ci(x, n, method="clopper-pearson")
    assert (round(ci.ci_low, 4), round(ci.ci_high, 4)) == expected


def test_jeffreys_interval_is_bounded_by_0_and_1_at_the_extremes() -> None:
    """Brown, Cai & DasGupta (2001) s. 4.1.2: Jeffreys lower limit 0 at x = 0, upper 1 at x = n;
    otherwise the equal-tailed Beta(x + 1/2, n - x + 1/2) quantiles."""
    from scipy import stats

    assert proportion_ci(0, 6, method="jeffreys").ci_low == 0.0
    assert proportion_ci(9, 9, method="jeffreys").ci_high == 1.0
    ci = proportion_ci(4, 10, method="jeffreys")
    assert ci.ci_low == pytest.approx(stats.beta.ppf(0.025, 4.5, 6.5))
    assert ci.ci_high == pytest.approx(stats.beta.ppf(0.975, 4.5, 6.5))


def test_proportion_of_no_cases_is_nan_with_nan_interval() -> None:
    """n = 0: nothing to estimate, documented as NaN estimate and NaN limits."""
    ci = proportion_ci(0, 0)
    assert ci.n == 0 and ci.successes == 0
    assert math.isnan(ci.estimate) and math.isnan(ci.ci_low) and math.isnan(ci.ci_high)


@pytest.mark.parametrize(("x", "n"), [(-1, 5), (6, 5), (1.5, 5), (1, 2.5)])
def test_proportion_rejects_impossible_counts(x: float, n: float) -> None:
    with pytest.raises(ValueError):
        proportion_ci(x, n)  # type: ignore[arg-type]


def test_proportion_rejects_unknown_method_and_confidence() -> None:
    with pytest.raises(ValueError):
        proportion_ci(1, 5, method="wald")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        proportion_ci(1, 5, confidence=95)


def test_proportion_ci_is_frozen() -> None:
    ci = proportion_ci(2, 6)
    assert isinstance(ci, ProportionCI)
    with pytest.raises(AttributeError):
        ci.ci_low = 0.0  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Design-weighted proportion
# --------------------------------------------------------------------------------------


def test_weighted_proportion_with_equal_weights_equals_unweighted_wilson() -> None:
    """Kish (1965): with equal weights n_eff = n, so the interval is Newcombe's (1998a)
    Wilson interval for 81/263, Table I (0.2553, 0.3662)."""
    values = [1] * 81 + [0] * 182
    r = weighted_proportion_ci(values, [2.5] * 263)
    plain = proportion_ci(81, 263)
    assert r.n == 263 and r.successes == 81
    assert r.n_eff == pytest.approx(263)
    assert r.estimate == pytest.approx(plain.estimate)
    assert (r.ci_low, r.ci_high) == pytest.approx((plain.ci_low, plain.ci_high))
    assert (round(r.ci_low, 4), round(r.ci_high, 4)) == (0.2553, 0.3662)


def test_weighted_proportion_uses_kish_effective_sample_size() -> None:
    """Kish (1965) n_eff = (sum w)^2 / sum w^2; the interval is Wilson's at (p_w n_eff, n_eff)
    (Korn & Graubard 1998).  Hand calculation: values 1,1,0,0 with weights 1,1,1,3 give
    p_w = 2/6 and n_eff = 36/12 = 3."""
    r = weighted_proportion_ci([1, True, 0, False], [1, 1, 1, 3])
    assert r.n == 4 and r.successes == 2
    assert r.estimate == pytest.approx(1 / 3)
    assert r.n_eff == pytest.approx(3.0)
    z = 1.959963984540054
    p, n = 1 / 3, 3.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (r.ci_low, r.ci_high) == pytest.approx((centre - half, centre + half))
    assert "Kish" in r.method


def test_weighted_proportion_excludes_missing_values_with_their_weights() -> None:
    r = weighted_proportion_ci([1, None, float("nan"), 0], [1, 50, 50, 1])
    assert r.n == 2 and r.estimate == pytest.approx(0.5) and r.n_eff == pytest.approx(2)


def test_weighted_proportion_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        weighted_proportion_ci([1, 0], [1])
    with pytest.raises(ValueError):
        weighted_proportion_ci([1, 2], [1, 1])
    with pytest.raises(ValueError):
        weighted_proportion_ci([1, 0], [1, -1])


def test_weighted_proportion_of_nothing_is_nan() -> None:
    r = weighted_proportion_ci([None, np.nan], [1, 1])
    assert r.n == 0 and math.isnan(r.estimate) and math.isnan(r.ci_low)


# --------------------------------------------------------------------------------------
# Difference between rounds
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "m", "b", "k", "lo", "hi"), NEWCOMBE_1998B_TABLE_II)
def test_difference_interval_matches_newcombe_1998b_method_10(a: int, m: int, b: int, k: int,
                                                               lo: float, hi: float) -> None:
    """Newcombe (1998b) Table II method 10 gives the interval for a/m - b/k; our difference is
    second minus first, so the earlier round is passed first: difference_ci(b, k, a, m)."""
    d = difference_ci(b, k, a, m)
    assert d.difference == pytest.approx(a / m - b / k)
    assert (round(d.ci_low, 4), round(d.ci_high, 4)) == (lo, hi)


def test_difference_is_current_minus_previous_round() -> None:
    """Newcombe (1998b) example (a): previous round 48/80, current round 56/70 is an increase
    of 0.2000 with 95% CI 0.0524 to 0.3339; reversing the rounds negates everything."""
    up = difference_ci(48, 80, 56, 70)
    assert isinstance(up, DifferenceResult)
    assert (up.p1, up.p2) == (0.6, 0.8)
    assert round(up.difference, 4) == 0.2000
    assert (round(up.ci_low, 4), round(up.ci_high, 4)) == (0.0524, 0.3339)
    assert up.excludes_zero
    down = difference_ci(56, 70, 48, 80)
    assert round(down.difference, 4) == -0.2000
    assert (round(down.ci_low, 4), round(down.ci_high, 4)) == (-0.3339, -0.0524)


def test_difference_p_value_is_fishers_exact_two_sided() -> None:
    """Fisher's exact test (scipy.stats.fisher_exact) on the 2x2 table of the two rounds.
    Textbook check: Fisher's tea-tasting table [[3, 1], [1, 3]] has two-sided p = 34/70."""
    tea = difference_ci(1, 4, 3, 4)
    assert tea.p_value == pytest.approx(34 / 70)
    from scipy.stats import fisher_exact

    d = difference_ci(48, 80, 56, 70)
    assert d.p_value == pytest.approx(fisher_exact([[56, 14], [48, 32]])[1])


def test_difference_needs_cases_in_both_rounds() -> None:
    with pytest.raises(ValueError):
        difference_ci(0, 0, 3, 10)
    with pytest.raises(ValueError):
        difference_ci(11, 10, 3, 10)


# --------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------


def test_n_for_interval_width_matches_cochran_formula() -> None:
    """Cochran (1977) eq. 4.2, n0 = z^2 p q / d^2: the familiar 385 for +/-5 points at p = 0.5
    (1.96^2 x 0.25 / 0.0025 = 384.2, rounded up), 97 for +/-10 points, 62 at p = 0.2."""
    assert n_for_interval_width(0.05) == 385
    assert n_for_interval_width(0.10) == 97
    assert n_for_interval_width(0.10, p=0.2) == 62
    assert n_for_interval_width(0.10, confidence=0.90) == 68  # 1.6449^2 / 0.04 = 67.6


def test_n_for_interval_width_gives_a_wilson_interval_no_wider_than_asked_at_one_half() -> None:
    n = n_for_interval_width(0.10)
    ci = proportion_ci(n // 2, n)
    assert (ci.ci_high - ci.ci_low) / 2 <= 0.10


def test_n_to_detect_change_matches_pwr_vignette_example() -> None:
    """Cohen's h power calculation as in the R pwr package vignette (Champely et al., "Getting
    started with the pwr package"): pwr.2p.test(h = ES.h(0.55, 0.50), sig.level = 0.05,
    power = 0.80) gives h = 0.1001674 and n = 1564.529 per group, i.e. 1565 cases."""
    assert n_to_detect_change(0.50, 0.55) == 1565
    assert n_to_detect_change(0.55, 0.50) == 1565


def test_n_to_detect_change_matches_cohens_closed_form() -> None:
    """Cohen (1988) ch. 6: n = 2 ((z_{1-a/2} + z_{1-b}) / h)^2 per group (normal approximation,
    ignoring the negligible far tail)."""
    from scipy.stats import norm

    p1, p2 = 0.6, 0.8
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(p1))
    expected = math.ceil(2 * ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2)
    assert n_to_detect_change(p1, p2) == expected == 81


def test_n_to_detect_change_refuses_no_change() -> None:
    with pytest.raises(ValueError):
        n_to_detect_change(0.5, 0.5)


# --------------------------------------------------------------------------------------
# Quantifier
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n", "word"), [
    (9, 9, "all"), (3, 3, "all"), (0, 6, "none"), (0, 1, "none"),
    (8, 9, "most"),             # Wilson 56.5% to 98.0%: wholly above one half
    (4, 6, "some"),             # Wilson 30.0% to 90.3%: straddles one half
    (1, 9, "fewer than half"),  # Wilson 2.0% to 43.5%: wholly below one half
    (2, 9, "some"),             # Wilson 6.3% to 54.7%
    (30, 40, "most"), (20, 40, "some"),
])
def test_quantifier_says_only_what_the_wilson_interval_supports(x: int, n: int,
                                                               word: str) -> None:
    """Wilson (1927) limits from Newcombe's (1998a) method 3: 8/9 has lower limit 0.565."""
    assert quantifier(x, n) == word


def test_quantifier_for_8_of_9_rests_on_a_lower_limit_above_one_half() -> None:
    assert round(proportion_ci(8, 9).ci_low, 3) == 0.565
    assert quantifier(8, 9) == "most"
    # The exact interval is wider (lower limit 0.518) but still above one half.
    assert quantifier(8, 9, method="clopper-pearson") == "most"


def test_quantifier_refuses_no_cases() -> None:
    with pytest.raises(ValueError):
        quantifier(0, 0)


# --------------------------------------------------------------------------------------
# Wording: describe_proportion
# --------------------------------------------------------------------------------------


def test_describe_no_cases() -> None:
    assert describe_proportion(0, 0) == "No cases were audited."
    assert describe_proportion(0, 0, service="triage") == "No triage cases were audited."


def test_describe_one_case_draws_no_finding_and_reports_no_result() -> None:
    met = describe_proportion(1, 1)
    not_met = describe_proportion(0, 1)
    assert met == "1 case audited: too few to report."
    assert met == not_met  # the single case's result is not given


def test_describe_fewer_than_five_cases_gives_no_count_met_percent_or_interval() -> None:
    text = describe_proportion(2, 3)
    assert text == "3 cases audited: too few to report."
    assert "2 of 3" not in text and "CI" not in text and "67%" not in text


def test_describe_four_cases_is_too_few_but_five_is_not() -> None:
    """The boundary: n = 4 is too few to report, n = 5 is reported (Wilson 4/5 is 37.6% to
    96.4%)."""
    four = describe_proportion(3, 4)
    five = describe_proportion(4, 5)
    assert four == "4 cases audited: too few to report."
    assert five.startswith("4 of 5 cases met the standard (80%, 95% CI 38% to 96%).")


def test_describe_small_n_threshold_is_configurable() -> None:
    assert "CI" in describe_proportion(3, 4, small_n=3)
    assert "CI" not in describe_proportion(5, 6, small_n=10)


def test_describe_all_cases_gives_no_percent_and_wilson_interval() -> None:
    """9/9: Wilson 70.1% to 100% (Newcombe 1998a method 3)."""
    text = describe_proportion(9, 9, noun="cases", service="triage")
    assert text == "All 9 triage cases met the standard (95% CI 70% to 100%)."
    assert proportion_phrase(9, 9, service="triage") == \
        "all 9 of 9 triage cases (95% CI 70% to 100%)"


def test_describe_no_case_meeting_the_standard() -> None:
    """0/6: Wilson upper limit 39.0%; the interval is wide, so the sample-size note follows."""
    text = describe_proportion(0, 6)
    assert text.startswith("None of the 6 cases met the standard (95% CI 0% to 39%).")
    assert proportion_phrase(0, 6) == "none of the 6 cases (95% CI 0% to 39%)"


def test_describe_some_cases_gives_whole_percent_and_interval() -> None:
    """2/6: 33%, Wilson 9.7% to 70.0% -> "10% to 70%"."""
    assert describe_proportion(2, 6).startswith(
        "2 of 6 cases met the standard (33%, 95% CI 10% to 70%).")
    assert proportion_phrase(2, 6) == "2 of 6 cases (33%, 95% CI 10% to 70%)"


def test_describe_never_rounds_a_share_to_none_or_all() -> None:
    assert "(less than 1%," in describe_proportion(1, 300)
    assert "(more than 99%," in describe_proportion(299, 300)


def test_describe_wide_interval_adds_the_sample_needed_for_ten_points() -> None:
    """Width above 0.3 adds Cochran's (1977) n for +/-10 points at the conservative p = 0.5,
    which is 97; a narrow interval adds nothing."""
    note = ("A sample of about 97 cases would be needed to estimate this to within "
            "±10 percentage points.")
    wide = describe_proportion(2, 6)  # width 0.60
    assert wide.endswith(" " + note)
    narrow = describe_proportion(40, 100)  # Wilson 30.9% to 50.0%: width 0.19
    assert narrow == "40 of 100 cases met the standard (40%, 95% CI 31% to 50%)."
    assert describe_proportion(9, 9) == \
        "All 9 cases met the standard (95% CI 70% to 100%)."  # width 0.299: not wide
    assert describe_proportion(9, 9, wide=0.2).endswith(note)
    assert note not in describe_proportion(2, 3)  # too few to report: nothing more is said


def test_describe_uses_the_interval_method_asked_for() -> None:
    """Clopper-Pearson 2/6 is 4.3% to 77.7% (exact)."""
    assert "95% CI 4% to 78%" in describe_proportion(2, 6, method="clopper-pearson")
    assert "90% CI" in describe_proportion(2, 6, confidence=0.90)


# --------------------------------------------------------------------------------------
# Wording: describe_change
# --------------------------------------------------------------------------------------


def test_describe_change_reports_an_increase_when_the_interval_excludes_zero() -> None:
    """Newcombe (1998b) example (a): 48/80 then 56/70 is +20 points (95% CI 5 to 33)."""
    text = describe_change(difference_ci(48, 80, 56, 70))
    assert "rose from 60% (48 of 80) at the previous audit to 80% (56 of 70)" in text
    assert ("an increase of 20 percentage points (95% CI 5 to 33; Fisher's exact test "
            "p = 0.01)") in text
    assert "cannot tell" not in text


def test_describe_change_says_the_data_cannot_tell_when_interval_and_test_disagree() -> None:
    """0 of 5 then 3 of 5: the Newcombe interval (3 to 88 points) excludes zero, but Fisher's
    exact test gives p = 0.17; the rule asks both to agree, so no rise is claimed."""
    d = difference_ci(0, 5, 3, 5)
    assert d.ci_low > 0 and d.p_value > 0.05
    text = describe_change(d)
    assert "the data cannot tell whether it changed" in text
    assert "rose" not in text and "increase" not in text
    assert "95% CI +3 to +88 points; Fisher's exact test p = 0.17" in text


def test_describe_change_reports_a_decrease_as_sizes() -> None:
    """Newcombe (1998b) example (a) reversed: a decrease of 20 points (95% CI 5 to 33)."""
    text = describe_change(difference_ci(56, 70, 48, 80))
    assert "fell from 80% (56 of 70) at the previous audit to 60% (48 of 80)" in text
    assert "a decrease of 20 percentage points (95% CI 5 to 33;" in text


def test_describe_change_without_evidence_gives_the_sample_needed_for_that_change() -> None:
    """6/10 then 7/10: Newcombe interval -28 to 45 points includes zero.  Detecting 60% -> 70%
    needs 356 per round (Cohen's h, 80% power, 5% two-sided)."""
    d = difference_ci(6, 10, 7, 10)
    text = describe_change(d)
    assert "the data cannot tell whether it changed" in text
    assert "95% CI −28 to +45 points" in text
    assert "increase" not in text and "decrease" not in text
    assert f"about {n_to_detect_change(0.6, 0.7)} cases in each audit round" in text
    assert n_to_detect_change(0.6, 0.7) == 356


def test_describe_change_of_about_zero_plans_for_twenty_points() -> None:
    """No observed change: the planning size is for 20 points (60% -> 80%: 81 per round)."""
    text = describe_change(difference_ci(6, 10, 6, 10))
    assert "the data cannot tell whether it changed" in text
    assert "To detect a change of 20 percentage points" in text
    assert "about 81 cases in each audit round" in text


def test_describe_change_of_about_zero_near_the_top_plans_downwards() -> None:
    d = difference_ci(9, 10, 9, 10)
    assert f"about {n_to_detect_change(0.9, 0.7)} cases" in describe_change(d)


def test_many_intervals_at_once_equal_each_interval_alone() -> None:
    """``proportion_cis`` gives, value for value, what ``proportion_ci`` gives one
    proportion at a time, for every method, at the boundaries and for n = 0."""
    from analysis.proportions import proportion_ci, proportion_cis

    rng = np.random.default_rng(3)
    n = np.concatenate([[0, 1, 1, 2, 5, 30, 10**7, 123456789], rng.integers(1, 10**6, 300)])
    x = np.minimum(n, (rng.random(len(n)) * (n + 1)).astype(np.int64))
    x[1], x[2], x[5] = 0, 1, 30
    for method in ("wilson", "clopper-pearson", "jeffreys"):
        for confidence in (0.95, 0.998):
            est, lo, hi = proportion_cis(x, n, method, confidence)
            alone = [proportion_ci(int(a), int(b), method, confidence)
                     for a, b in zip(x, n, strict=True)]
            for got, attr in ((est, "estimate"), (lo, "ci_low"), (hi, "ci_high")):
                np.testing.assert_array_equal(got, [getattr(c, attr) for c in alone])
    empty = proportion_cis([], [])
    assert all(a.shape == (0,) for a in empty)
    with pytest.raises(ValueError, match="cannot exceed"):
        proportion_cis([3], [2])
    with pytest.raises(ValueError, match="whole number"):
        proportion_cis([1.5], [2])


# --------------------------------------------------------------------------------------
# One implementation of the boundary rules: bit for bit what the two copies gave
# --------------------------------------------------------------------------------------

_OLD_METHOD = {"wilson": "wilson", "clopper-pearson": "beta", "jeffreys": "jeffreys"}


def _old_interval(x: float, n: float, method: str, confidence: float) -> tuple[float, float]:
    """The scalar ``_interval`` as it was before the array helper (reference copy)."""
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(x, n, alpha=1 - confidence, method=_OLD_METHOD[method])
    lo, hi = float(lo), float(hi)
    if x <= 0:
        lo = 0.0
    if x >= n:
        hi = 1.0
    return max(0.0, lo), min(1.0, hi)


def _old_proportion_ci(x: int, n: int, method: str, confidence: float
                       ) -> tuple[float, float, float]:
    """The old ``proportion_ci``: (estimate, low, high), NaN for no cases."""
    if n == 0:
        return (math.nan, math.nan, math.nan)
    lo, hi = _old_interval(x, n, method, confidence)
    return (x / n, lo, hi)


def _old_proportion_cis(x: np.ndarray, nn: np.ndarray, method: str, confidence: float
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The old array body of ``proportion_cis`` (its own copy of the boundary rules)."""
    from statsmodels.stats.proportion import proportion_confint

    est, lo, hi = (np.full(len(x), math.nan) for _ in range(3))
    ok = nn > 0
    if ok.any():
        xo, no = x[ok], nn[ok]
        est[ok] = xo / no
        low, high = proportion_confint(xo, no, alpha=1 - confidence,
                                       method=_OLD_METHOD[method])
        low = np.where(xo <= 0, 0.0, np.asarray(low, dtype=float))
        high = np.where(xo >= no, 1.0, np.asarray(high, dtype=float))
        lo[ok] = np.where(low > 0.0, low, 0.0)
        hi[ok] = np.where(high < 1.0, high, 1.0)
    return est, lo, hi


def _old_effective_interval(x: float, n: float, method: str, confidence: float
                            ) -> tuple[float, float]:
    if not n or n <= 0 or not math.isfinite(n):
        return (math.nan, math.nan)
    return _old_interval(min(max(float(x), 0.0), float(n)), float(n), method, confidence)


def _bits(values: object) -> list[bytes]:
    """Each value's 8 bytes (so that 0.0 and -0.0 differ); every NaN alike."""
    a = np.asarray(values, dtype=np.float64).ravel()
    return [b"nan" if math.isnan(v) else v.tobytes() for v in a]


_GRID_N = (0, 1, 2, 3, 5, 10, 37, 100, 1000)
_GRID = [(x, n) for n in _GRID_N for x in range(n + 1)]


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_one_interval_helper_gives_every_interval_bit_for_bit_as_the_two_copies_did(
        method: str, confidence: float) -> None:
    """``proportion_ci`` (one group) and ``proportion_cis`` (many) both go through the one
    array helper of the boundary rules (0 at x = 0, 1 at x = n, clamped to [0, 1], NaN for
    n = 0); on a grid of every x of n for n in 0..1000, every method and two levels, each
    value is bit for bit what the old scalar and array copies gave."""
    from analysis.proportions import proportion_cis

    x = np.array([a for a, _ in _GRID], dtype=np.int64)
    n = np.array([b for _, b in _GRID], dtype=np.int64)
    want = [_old_proportion_ci(a, b, method, confidence) for a, b in _GRID]
    for i, attr in enumerate(("estimate", "ci_low", "ci_high")):
        got = [getattr(proportion_ci(a, b, method, confidence), attr) for a, b in _GRID]
        assert _bits(got) == _bits([w[i] for w in want]), attr
    old_many = _old_proportion_cis(x, n, method, confidence)
    for got, old in zip(proportion_cis(x, n, method, confidence), old_many, strict=True):
        assert _bits(got) == _bits(old)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_effective_and_weighted_intervals_are_bit_for_bit_what_they_were(
        method: str, confidence: float) -> None:
    """Effective (non-integer) counts take the same helper: ``effective_interval`` (with its
    clamping of x to [0, n] and NaN for n not positive and finite) and
    ``weighted_proportion_ci`` give, bit for bit, what the old scalar rules gave."""
    from analysis.proportions import effective_interval

    rng = np.random.default_rng(11)
    cases = [(x * 0.731, n * 0.731) for x, n in _GRID[::7]]
    cases += [(-0.5, 3.2), (4.0, 3.2), (math.nan, 5.5), (1.0, 0.0), (1.0, -2.0),
              (1.0, math.inf), (1.0, math.nan), (0.0, 1e-9), (2.5, 2.5)]
    cases += [(float(a), float(b)) for b, a in
              zip(rng.uniform(0.5, 400, 50), rng.uniform(0, 1, 50) * rng.uniform(0.5, 400, 50),
                  strict=True)]
    for x, n in cases:
        got = effective_interval(x, n, confidence, method)  # type: ignore[arg-type]
        assert _bits(got) == _bits(_old_effective_interval(x, n, method, confidence)), (x, n)
    for k in (1, 2, 5, 17):
        vals = rng.integers(0, 2, k)
        w = rng.uniform(0.2, 5.0, k)
        got_w = weighted_proportion_ci(vals, w, method, confidence)  # type: ignore[arg-type]
        assert _bits((got_w.ci_low, got_w.ci_high)) == _bits(
            _old_interval(got_w.estimate * got_w.n_eff, got_w.n_eff, method, confidence))


def test_the_boundary_rules_are_written_once() -> None:
    """The rules of the interval at its boundaries live in one helper (``_intervals``):
    ``proportion_ci``, ``proportion_cis``, ``effective_interval`` and
    ``weighted_proportion_ci`` hold no copy of them."""
    import inspect

    from analysis import proportions

    for fn in (proportions.proportion_ci, proportions.proportion_cis,
               proportions.effective_interval, proportions.weighted_proportion_ci,
               proportions._interval):
        src = inspect.getsource(fn)
        assert "proportion_confint(" not in src and "1.0, high" not in src, fn.__name__
    assert "proportion_confint(xo" in inspect.getsource(proportions._intervals)
