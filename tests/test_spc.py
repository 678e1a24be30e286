"""Tests of analysis.spc (XmR charts, NHS England "Making Data Count" rules).

Every series below is worked by hand in its docstring: the mean, the mean moving range (mMR),
the process limits mean ± 2.66 mMR and the near limits mean ± (2/3)(2.66) mMR (Wheeler &
Chambers 1992, "Understanding Statistical Process Control"; NHS England / NHS Improvement
2019, "Making Data Count: strengthening your decisions" and "The power of SPC"), and where
each rule should fire.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.spc import COLOURS, xmr, xmr_plot  # noqa: E402

COLUMNS = ["value", "mean", "moving_range", "upper_limit", "lower_limit", "upper_near",
           "lower_near", "rule", "variation"]


def alternating(n: int, low: float, high: float) -> list[float]:
    """low, high, low, ... (even positions low)."""
    return [low if i % 2 == 0 else high for i in range(n)]


def flagged(res: pd.DataFrame, rule: str) -> list[int]:
    """Positions whose rule list includes ``rule``."""
    return [i for i, r in enumerate(res["rule"]) if rule in r.split(",")]


# --------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------


def test_limits_match_hand_calculation_with_2_66_times_mean_moving_range() -> None:
    """Series 10, 12, 11, 13, 9, 11: mean 66/6 = 11; moving ranges 2, 1, 2, 4, 2, mMR = 2.2;
    limits 11 ± 2.66 x 2.2 = 11 ± 5.852; near limits 11 ± (2/3) x 5.852 = 11 ± 3.901333
    (Wheeler & Chambers 1992; Making Data Count)."""
    res = xmr([10, 12, 11, 13, 9, 11])
    assert list(res.columns) == COLUMNS
    assert res["mean"].tolist() == pytest.approx([11.0] * 6)
    assert np.isnan(res["moving_range"].iloc[0])
    assert res["moving_range"].iloc[1:].tolist() == [2, 1, 2, 4, 2]
    assert res.attrs["mean_moving_range"] == pytest.approx(2.2)
    assert res["upper_limit"].iloc[0] == pytest.approx(16.852)
    assert res["lower_limit"].iloc[0] == pytest.approx(5.148)
    assert res["upper_near"].iloc[0] == pytest.approx(11 + 3.901333, abs=1e-6)
    assert res["lower_near"].iloc[0] == pytest.approx(11 - 3.901333, abs=1e-6)
    assert (res["rule"] == "").all()
    assert (res["variation"] == "common").all()


def test_baseline_fixes_the_limits_on_the_first_points() -> None:
    """baseline=6 on 10, 12, 11, 13, 9, 11, 30, 31, 29: the limits are those of the first six
    points (mean 11, mMR 2.2, upper limit 16.852) and the three later points lie beyond it."""
    res = xmr([10, 12, 11, 13, 9, 11, 30, 31, 29], baseline=6, improvement="up")
    assert res["mean"].tolist() == pytest.approx([11.0] * 9)
    assert res["upper_limit"].tolist() == pytest.approx([16.852] * 9)
    assert flagged(res, "beyond_limit") == [6, 7, 8]
    assert res["variation"].tolist()[6:] == ["improvement"] * 3
    assert res.attrs["baseline"] == 6


def test_screening_drops_moving_ranges_above_3_267_times_the_mean_moving_range() -> None:
    """The spike series of the next test has 12 moving ranges of 4 and two of 30: mMR =
    108/14 = 7.714; 3.267 x 7.714 = 25.2, so screening drops both 30s and mMR becomes 4
    (limits 13.6 ± 10.64) - Making Data Count's screening of moving ranges (Wheeler's upper
    range limit D4 = 3.267)."""
    values = alternating(15, 10, 14)
    values[7] = 40
    plain = xmr(values)
    screened = xmr(values, screen_outliers=True)
    assert plain.attrs["mean_moving_range"] == pytest.approx(108 / 14)
    assert screened.attrs["mean_moving_range"] == pytest.approx(4.0)
    assert screened.attrs["screened_moving_ranges"] == 2
    assert screened["upper_limit"].iloc[0] == pytest.approx(13.6 + 2.66 * 4)
    assert screened["lower_limit"].iloc[0] == pytest.approx(13.6 - 2.66 * 4)
    # the raw moving ranges are still reported
    assert screened["moving_range"].iloc[7] == 30


# --------------------------------------------------------------------------------------
# Rules, each firing exactly where it should
# --------------------------------------------------------------------------------------


def test_single_spike_beyond_the_upper_limit_is_the_only_special_cause() -> None:
    """Alternating 10, 14 (15 points) with position 7 set to 40: mean 204/15 = 13.6, so 10s lie
    below and 14s above (no run); mMR 108/14 = 7.714, upper limit 13.6 + 20.52 = 34.12 < 40,
    near limits 27.28 and -0.08 (only the spike is beyond; two-of-three needs two)."""
    values = alternating(15, 10, 14)
    values[7] = 40
    res = xmr(values, improvement="up")
    assert res["mean"].iloc[0] == pytest.approx(13.6)
    assert res["upper_limit"].iloc[0] == pytest.approx(13.6 + 2.66 * 108 / 14)
    assert flagged(res, "beyond_limit") == [7]
    assert res["rule"].tolist() == ["beyond_limit" if i == 7 else "" for i in range(15)]
    assert res["variation"].tolist() == ["improvement" if i == 7 else "common"
                                         for i in range(15)]


def test_spike_is_a_concern_when_lower_is_better_and_neither_without_a_direction() -> None:
    values = alternating(15, 10, 14)
    values[7] = 40
    assert xmr(values, improvement="down")["variation"].iloc[7] == "concern"
    assert xmr(values, improvement=None)["variation"].iloc[7] == "neither"


def test_dip_below_the_lower_limit_is_flagged_with_its_direction() -> None:
    """Mirror image of the spike: alternating 30, 26 with position 7 set to 0 (mean 26.4,
    mMR 7.714, lower limit 5.88 > 0)."""
    values = alternating(15, 30, 26)
    values[7] = 0
    res = xmr(values, improvement="up")
    assert flagged(res, "beyond_limit") == [7]
    assert res["variation"].iloc[7] == "concern"
    assert (res["rule"].drop(index=7) == "").all()


def test_run_of_seven_points_above_the_mean_flags_the_whole_run_and_nothing_else() -> None:
    """12, 8, 12, 8, 12, 8, then 11 seven times, then 8, 12, 8, 12, 8, 12, 8 (20 points): mean
    205/20 = 10.25, so positions 6-12 (the 11s) are exactly seven in a row above it, with 8s
    on either side.  mMR = (20 + 3 + 0 + 3 + 24)/19 = 2.632, limits 10.25 ± 7.0 and near
    limits 10.25 ± 4.67 (14.92, 5.58): no point beyond either; no trend."""
    values = [12, 8, 12, 8, 12, 8] + [11] * 7 + [8, 12, 8, 12, 8, 12, 8]
    res = xmr(values, improvement="up")
    assert res["mean"].iloc[0] == pytest.approx(10.25)
    assert res.attrs["mean_moving_range"] == pytest.approx(50 / 19)
    assert flagged(res, "run") == list(range(6, 13))
    assert res["rule"].tolist() == ["run" if 6 <= i <= 12 else "" for i in range(20)]
    assert res["variation"].tolist()[6:13] == ["improvement"] * 7
    assert xmr(values, improvement="down")["variation"].tolist()[6:13] == ["concern"] * 7


def test_run_of_six_points_is_not_a_special_cause() -> None:
    """The same with six 11s (19 points, mean 194/19 = 10.21): nothing fires."""
    values = [12, 8, 12, 8, 12, 8] + [11] * 6 + [8, 12, 8, 12, 8, 12, 8]
    res = xmr(values)
    assert (res["rule"] == "").all()
    assert (res["variation"] == "common").all()


def test_point_on_the_mean_breaks_a_run() -> None:
    """Nine points with the fifth exactly on the mean and the others above it: two runs of
    four, no signal.  Series 12, 8, 12, 8, 12, 8, then 11, 11, 11, 11, 10, 11, 11, 11, 11,
    then 8, 12, 8, 12, 8, 12, 8, 4: 23 points summing to 230, so the mean is exactly 10."""
    values = [12, 8, 12, 8, 12, 8] + [11, 11, 11, 11, 10, 11, 11, 11, 11] + \
             [8, 12, 8, 12, 8, 12, 8, 4]
    assert np.mean(values) == 10
    res = xmr(values)
    assert flagged(res, "run") == []
    values[10] = 11  # without the point on the mean the nine points are a run
    assert flagged(xmr(values), "run") == list(range(6, 15))


def test_strictly_increasing_trend_of_seven_flags_the_trend_and_nothing_else() -> None:
    """10, 16, 10, 16, 10, 16, then 9, 10, 11, 12, 13, 14, 15, then 10, 16, 10, 16, 10, 16, 10
    (20 points): positions 6-12 rise strictly (six steps up) and the steps into and out of
    them are falls.  Mean 250/20 = 12.5, mMR = (30 + 7 + 6 + 5 + 36)/19 = 4.421, limits
    12.5 ± 11.76 (24.26, 0.74), near limits 12.5 ± 7.84 (20.34, 4.66): nothing beyond; the
    longest run on one side of the mean is four.  The trend is rising, so with higher better
    every point of it is an improvement, even those below the mean."""
    values = [10, 16, 10, 16, 10, 16] + list(range(9, 16)) + [10, 16, 10, 16, 10, 16, 10]
    res = xmr(values, improvement="up")
    assert res.attrs["mean_moving_range"] == pytest.approx(84 / 19)
    assert flagged(res, "trend") == list(range(6, 13))
    assert res["rule"].tolist() == ["trend" if 6 <= i <= 12 else "" for i in range(20)]
    assert res["variation"].tolist()[6:13] == ["improvement"] * 7


def test_strictly_decreasing_trend_is_a_concern_when_higher_is_better() -> None:
    """15, 14, ..., 9 at positions 6-12, entered from a 10 and left to a 16."""
    values = [16, 10, 16, 10, 16, 10] + list(range(15, 8, -1)) + [16, 10, 16, 10, 16, 10, 16]
    res = xmr(values, improvement="up")
    assert flagged(res, "trend") == list(range(6, 13))
    assert res["variation"].tolist()[6:13] == ["concern"] * 7


def test_trend_is_strict_so_a_tie_breaks_it() -> None:
    """9, 10, 11, 11, 12, 13, 14, 15: eight points rising overall but with one tie - the
    longest strictly rising stretch is 11, 12, 13, 14, 15 (five points): no trend."""
    values = [10, 16, 10, 16, 10, 16] + [9, 10, 11, 11, 12, 13, 14, 15] + \
             [10, 16, 10, 16, 10, 16, 10]
    res = xmr(values)
    assert flagged(res, "trend") == []


def test_trend_of_six_points_is_not_a_special_cause() -> None:
    values = [10, 16, 10, 16, 10, 16] + list(range(9, 15)) + [10, 16, 10, 16, 10, 16, 10]
    assert flagged(xmr(values), "trend") == []


def test_two_of_three_points_beyond_the_near_limit_flags_those_two_points() -> None:
    """Alternating 10, 12 (20 points) with positions 10 and 12 set to 16: mean 232/20 = 11.6,
    mMR = (15 x 2 + 4 x 4)/19 = 2.421, near upper limit 11.6 + 4.293 = 15.89 < 16 < upper
    limit 18.04.  Positions 10 and 12 are two of the three points 10-12 beyond the near
    limit on the same side, so both are flagged and position 11 (12) is not; the longest run
    above the mean is five (positions 9-13)."""
    values = alternating(20, 10, 12)
    values[10] = values[12] = 16
    res = xmr(values, improvement="up")
    assert res["upper_near"].iloc[0] == pytest.approx(11.6 + (2 / 3) * 2.66 * 46 / 19)
    assert res["upper_near"].iloc[0] < 16 < res["upper_limit"].iloc[0]
    assert flagged(res, "two_of_three") == [10, 12]
    assert res["rule"].tolist() == ["two_of_three" if i in (10, 12) else ""
                                    for i in range(20)]
    assert res["variation"].iloc[10] == res["variation"].iloc[12] == "improvement"


def test_one_point_beyond_the_near_limit_is_not_a_special_cause() -> None:
    values = alternating(20, 10, 12)
    values[10] = 16
    assert flagged(xmr(values), "two_of_three") == []


def test_near_limit_points_on_opposite_sides_do_not_count_together() -> None:
    """Positions 10 and 11 beyond the upper and the lower near limit respectively."""
    values = alternating(20, 10, 12)
    values[10], values[11] = 16, 6
    res = xmr(values)
    assert res["upper_near"].iloc[0] < 16 and res["lower_near"].iloc[0] > 6
    assert flagged(res, "two_of_three") == []


def test_several_rules_at_one_point_are_listed_highest_priority_first() -> None:
    """A step change: 9, 11 alternating for ten points, then 19, 21 for ten.  Mean 15; mMR =
    (18 x 2 + 8)/19 = 2.316; limits 15 ± 6.16 (nothing beyond); near limits 15 ± 4.107
    (19.11, 10.89), so every 9 and every 21 is two-of-three, and every point is in a run of
    ten on one side of the mean.  Priority order beyond_limit, run, trend, two_of_three."""
    values = alternating(10, 9, 11) + alternating(10, 19, 21)
    res = xmr(values, improvement="up")
    assert res["mean"].iloc[0] == pytest.approx(15)
    assert res.attrs["mean_moving_range"] == pytest.approx(44 / 19)
    expected = ["run,two_of_three" if v in (9, 21) else "run" for v in values]
    assert res["rule"].tolist() == expected
    assert res["variation"].tolist() == ["concern"] * 10 + ["improvement"] * 10


def test_series_with_a_datetime_index_keeps_its_index() -> None:
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    res = xmr(pd.Series([10, 12, 11, 13, 9, 11], index=months))
    assert res.index.equals(months)
    assert res["upper_limit"].iloc[0] == pytest.approx(16.852)


def test_missing_values_are_kept_but_not_judged() -> None:
    """A gap is left out of the mean and the moving ranges and breaks runs and trends."""
    res = xmr([10, 12, np.nan, 11, 13, 9, 11])
    assert res["mean"].iloc[0] == pytest.approx(11)
    assert res["moving_range"].isna().tolist() == [True, False, True, True, False, False,
                                                   False]
    assert res.attrs["mean_moving_range"] == pytest.approx((2 + 2 + 4 + 2) / 4)
    assert res["variation"].iloc[2] == "" and res["rule"].iloc[2] == ""


def test_too_few_points_gives_no_limits_and_no_signals() -> None:
    res = xmr([5.0])
    assert np.isnan(res["upper_limit"].iloc[0])
    assert res["variation"].tolist() == ["common"]


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        xmr([1, 2, 3], improvement="higher")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        xmr([1, 2, 3], baseline=1)
    with pytest.raises(ValueError):
        xmr([1, 2, 3], baseline=4)


# --------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------


def _step_change() -> pd.DataFrame:
    values = pd.Series(alternating(10, 9, 11) + alternating(10, 19, 21),
                       index=pd.date_range("2023-01-01", periods=20, freq="MS"))
    return xmr(values, improvement="up")


def test_plot_uses_mdc_colours_from_a_colour_blind_safe_palette() -> None:
    """Making Data Count convention (orange concern, blue improvement, grey common cause) in
    the Okabe & Ito (2008) palette."""
    assert COLOURS == {"common": "#7F7F7F", "improvement": "#0072B2", "concern": "#E69F00",
                       "neither": "#CC79A7"}
    fig = xmr_plot(_step_change(), title="Re-referrals", ylabel="Share of referrals")
    ax = fig.axes[0]
    colours = {c.get_label(): matplotlib.colors.to_hex(c.get_facecolor()[0])
               for c in ax.collections}
    assert colours == {"Special cause: improvement": "#0072b2",
                       "Special cause: concern": "#e69f00"}


def test_plot_distinguishes_kinds_of_point_by_marker_not_colour_alone() -> None:
    values = alternating(15, 10, 14)
    values[7] = 40
    values[3] = 12  # keep the common points varied
    fig = xmr_plot(xmr(values, improvement="up"), title="t", ylabel="y")
    ax = fig.axes[0]
    shapes = {c.get_label(): c.get_paths()[0].vertices.round(3).tobytes()
              for c in ax.collections}
    assert set(shapes) == {"Common cause variation", "Special cause: improvement"}
    assert len(set(shapes.values())) == 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]  # below the plot
    assert "Special cause: improvement" in legend and "Process limits" in legend


def test_plot_draws_title_labels_and_a_labelled_benchmark() -> None:
    res = _step_change()
    fig = xmr_plot(res, title="Assessments in time", ylabel="Share", benchmark=15.5,
                   benchmark_label="England 2024")
    ax = fig.axes[0]
    assert ax.get_title() == "Assessments in time"
    assert ax.get_ylabel() == "Share"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "England 2024" in labels and "Mean" in labels
    bench = next(line for line in ax.get_lines() if line.get_label() == "England 2024")
    assert set(np.asarray(bench.get_ydata(), dtype=float)) == {15.5}
    fig.canvas.draw()  # renders with the Agg backend without error


def test_plot_draws_on_a_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert xmr_plot(_step_change(), title="t", ylabel="y", ax=ax) is fig


# --------------------------------------------------------------------------------------
# Charts that read at any size (issue 15, item 5)
# --------------------------------------------------------------------------------------


def _share_result() -> pd.DataFrame:
    values = pd.Series([0.22, 0.25, 0.24, 0.27, 0.30, 0.26, 0.23, 0.25, 0.28, 0.24],
                       index=pd.date_range("2025-01-01", periods=10, freq="MS"))
    return xmr(values, improvement="up")


def test_a_share_is_plotted_on_a_percentage_axis() -> None:
    """The page's text says 25%, so the axis says 25%, not 0.25 (issue 15)."""
    fig = xmr_plot(_share_result(), title="t", ylabel="Share of contacts", share=True)
    fig.draw_without_rendering()
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("%") for t in ticks), ticks
    assert any(t.startswith(("24", "25", "26")) for t in ticks), ticks
    plain = xmr_plot(_share_result(), title="t", ylabel="Count")
    plain.draw_without_rendering()
    assert not any(t.get_text().endswith("%") for t in plain.axes[0].get_yticklabels())


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _overlaps_axes(fig) -> bool:
    renderer = _renderer(fig)
    legend = fig.legends[0] if fig.legends else fig.axes[0].get_legend()
    return legend.get_window_extent(renderer).overlaps(fig.axes[0].get_window_extent(renderer))


def test_the_legend_lies_outside_the_plotting_area_never_over_a_point_or_a_limit() -> None:
    """Issue 15: the legend covered a limit line; now it sits below the plot."""
    fig = xmr_plot(_share_result(), title="t", ylabel="y", share=True, benchmark=0.25)
    assert not _overlaps_axes(fig)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Process limits" in labels and "Benchmark" in labels
    from matplotlib.figure import Figure

    shared = Figure(figsize=(8, 8), layout="constrained")
    ax1, _ax2 = shared.subplots(2, 1)
    xmr_plot(_share_result(), title="t", ylabel="y", ax=ax1)
    r = _renderer(shared)
    assert not ax1.get_legend().get_window_extent(r).overlaps(ax1.get_window_extent(r))


def test_points_are_drawn_above_every_line_with_edges() -> None:
    fig = xmr_plot(_step_change(), title="t", ylabel="y")
    ax = fig.axes[0]
    top_line = max(line.get_zorder() for line in ax.get_lines())
    for c in ax.collections:
        assert c.get_zorder() > top_line
        assert np.all(c.get_linewidths() > 0)
