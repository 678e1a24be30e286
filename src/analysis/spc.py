"""XmR (individuals and moving range) charts in the NHS England "Making Data Count" style.

``xmr`` computes, for a series in time order, the mean, the moving ranges, the process limits
``mean ± 2.66 × mean moving range`` and the "near" (two-sigma) limits
``mean ± (2/3) × 2.66 × mean moving range`` (Wheeler, D. J. & Chambers, D. S. (1992)
"Understanding Statistical Process Control", 2nd ed., SPC Press: 2.66 = 3 / d2 with
d2 = 1.128 for moving ranges of two points), and flags special-cause variation with the four
rules of NHS England / NHS Improvement "Making Data Count" ("The power of SPC", 2019, and
"Making Data Count: strengthening your decisions", 2019):

* ``beyond_limit``: a single point above the upper or below the lower process limit;
* ``run``: a run of 7 or more consecutive points all above, or all below, the mean (every point
  of the run is flagged; a point exactly on the mean ends a run);
* ``trend``: 7 or more consecutive points each strictly higher (or each strictly lower) than
  the one before (every point of the trend is flagged; two equal consecutive values end a
  trend, so ties never extend one);
* ``two_of_three``: two or three out of three consecutive points beyond the same near limit,
  i.e. more than two sigma from the mean on the same side (the points beyond it are flagged;
  a point also beyond the process limit counts, as in the Western Electric (1956)
  "Statistical Quality Control Handbook" zone rule).

A point's ``rule`` lists every rule it breaks, highest priority first, comma-separated, in
the order above.  Its ``variation`` is ``"common"`` when no rule fires; otherwise the
direction of the highest-priority rule (the side of the mean for ``beyond_limit``, ``run``
and ``two_of_three``; the direction of travel for ``trend``) read against the improvement
direction: ``"improvement"``, ``"concern"``, or ``"neither"`` when the measure has no
improvement direction (MDC's purple "neither high nor low").

``xmr_plot`` draws the chart with the MDC colour convention (grey common cause, blue
improvement, orange concern, purple neither) taken from the colour-blind-safe palette of
Okabe, M. & Ito, K. (2008) "Color Universal Design", with a different marker shape for each
kind of point, so colour is never the only cue (WCAG 2.2 success criterion 1.4.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["COLOURS", "Improvement", "LABELS", "LIMIT_CONSTANT", "MARKERS", "NEAR_CONSTANT",
           "RULES", "RUN_LENGTH", "SCREEN_CONSTANT", "TREND_LENGTH", "VARIATIONS",
           "legend_below", "xmr", "xmr_plot"]

#: Scaling constant for XmR process limits: 3 / d2, d2 = 1.128 (Wheeler & Chambers 1992).
LIMIT_CONSTANT = 2.66
#: Near (two-sigma) limits: two thirds of the way to the process limits.
NEAR_CONSTANT = 2 * LIMIT_CONSTANT / 3
#: Upper range limit for screening moving ranges: D4 = 3.267 for ranges of two points.
SCREEN_CONSTANT = 3.267
#: Minimum length of a run (shift) and of a trend, as in Making Data Count.
RUN_LENGTH = 7
TREND_LENGTH = 7
#: Rules in priority order (highest first).
RULES = ("beyond_limit", "run", "trend", "two_of_three")
VARIATIONS = ("common", "improvement", "concern", "neither")

Improvement = Literal["up", "down"] | None

#: Okabe & Ito (2008) colours in the MDC roles.
COLOURS = {"common": "#7F7F7F", "improvement": "#0072B2", "concern": "#E69F00",
           "neither": "#CC79A7"}
#: A marker shape per kind of point, so that colour is not the only cue.
MARKERS = {"common": "o", "improvement": "s", "concern": "X", "neither": "D"}
LABELS = {"common": "Common cause variation",
          "improvement": "Special cause: improvement",
          "concern": "Special cause: concern",
          "neither": "Special cause: neither improvement nor concern"}


def _as_series(values: Any) -> pd.Series:
    if isinstance(values, pd.Series):
        s = values.astype(float)
    elif isinstance(values, pd.DataFrame):
        raise TypeError("xmr takes one series of values, not a DataFrame")
    else:
        s = pd.Series(np.asarray(values, dtype=float))
    return s


def _flag_runs(signs: np.ndarray, length: int) -> np.ndarray:
    """Mark every element of each maximal stretch of equal non-zero ``signs`` that is at least
    ``length`` long.  Returns the sign of the stretch (0 where none)."""
    out = np.zeros(signs.size, dtype=int)
    start = 0
    for i in range(1, signs.size + 1):
        if i == signs.size or signs[i] != signs[start]:
            if signs[start] != 0 and i - start >= length:
                out[start:i] = signs[start]
            start = i
    return out


def _moving_ranges(v: np.ndarray) -> np.ndarray:
    mr = np.full(v.size, np.nan)
    if v.size > 1:
        mr[1:] = np.abs(np.diff(v))
    return mr


def _limits(v: np.ndarray, k: int, screen: bool) -> tuple[float, float, int]:
    """Mean, mean moving range and number of screened-out moving ranges from the first ``k``
    points."""
    base = v[:k]
    if np.count_nonzero(~np.isnan(base)) == 0:
        return np.nan, np.nan, 0
    mean = float(np.nanmean(base))
    mr = _moving_ranges(base)[1:]
    mr = mr[~np.isnan(mr)]
    if mr.size == 0:
        return mean, np.nan, 0
    amr = float(mr.mean())
    dropped = 0
    if screen:
        keep = mr <= SCREEN_CONSTANT * amr
        dropped = int(mr.size - keep.sum())
        amr = float(mr[keep].mean())
    return mean, amr, dropped


def xmr(values: pd.Series | Sequence[float] | np.ndarray, screen_outliers: bool = False,
        improvement: Improvement = None, baseline: int | None = None,
        run_length: int = RUN_LENGTH, trend_length: int = TREND_LENGTH) -> pd.DataFrame:
    """XmR chart of ``values`` (in time order) with Making Data Count special-cause rules.

    Method: NHS England / NHS Improvement (2019) "Making Data Count: strengthening your
    decisions" and "The power of SPC"; limits of Wheeler & Chambers (1992) "Understanding
    Statistical Process Control".  See the module docstring for the rules, their priority and
    how ties and points on the mean are handled.

    Parameters
    ----------
    values
        The measure, one value per period.  A ``pandas.Series`` keeps its index (for example a
        monthly ``DatetimeIndex``); anything else gets a ``RangeIndex``.  Missing values are
        kept as rows with ``rule == ""`` and ``variation == ""``; they are left out of the mean
        and of the moving ranges, and they break runs and trends.
    screen_outliers
        Recompute the mean moving range after leaving out moving ranges above
        ``3.267 × mean moving range`` (Wheeler's upper range limit, one pass, as in Making
        Data Count), so that one large jump does not inflate the limits.
    improvement
        ``"up"`` when higher is better, ``"down"`` when lower is better, ``None`` when neither
        (special causes are then ``"neither"``).
    baseline
        Compute the mean and limits from the first ``baseline`` points only and extend them
        over the rest of the series.  ``None`` uses every point.

    Returns
    -------
    pandas.DataFrame
        One row per point, same index as ``values``, with columns ``value``, ``mean``,
        ``moving_range`` (``|x_i - x_{i-1}|``, NaN for the first point), ``upper_limit``,
        ``lower_limit``, ``upper_near``, ``lower_near``, ``rule`` and ``variation``.  The
        limits are not truncated at any natural bound (for example 0 for a rate).
        ``attrs`` holds ``mean_moving_range``, ``screened_moving_ranges``, ``baseline``,
        ``improvement`` and ``n_points``.  With fewer than two values no limits can be set:
        they are NaN and no point is flagged.
    """
    if improvement not in ("up", "down", None):
        raise ValueError(f"improvement must be 'up', 'down' or None, got {improvement!r}")
    if run_length < 2 or trend_length < 2:
        raise ValueError("run_length and trend_length must be at least 2")
    s = _as_series(values)
    v = s.to_numpy(dtype=float)
    n = v.size
    k = n if baseline is None else int(baseline)
    if baseline is not None and not 2 <= k <= n:
        raise ValueError(f"baseline must be between 2 and the number of points ({n}), got "
                         f"{baseline!r}")
    mean, amr, dropped = _limits(v, k, screen_outliers)
    upper, lower = mean + LIMIT_CONSTANT * amr, mean - LIMIT_CONSTANT * amr
    upper_near, lower_near = mean + NEAR_CONSTANT * amr, mean - NEAR_CONSTANT * amr

    present = ~np.isnan(v)
    can_flag = bool(np.isfinite(upper))
    flags: dict[str, np.ndarray] = {r: np.zeros(n, dtype=int) for r in RULES}
    if can_flag:
        flags["beyond_limit"] = np.where(v > upper, 1, np.where(v < lower, -1, 0))
        side = np.where(present, np.sign(v - mean), 0).astype(int)
        flags["run"] = _flag_runs(side, run_length)
        # step[i] is the direction from point i-1 to point i; a trend of L points is L-1
        # consecutive strict steps in the same direction.
        step = np.zeros(n, dtype=int)
        if n > 1:
            d = np.diff(v)
            step[1:] = np.where(np.isnan(d), 0, np.sign(d)).astype(int)
        stretches = _flag_runs(step, trend_length - 1)
        trend = stretches.copy()
        for i in range(1, n):  # the point a trend starts from belongs to the trend too
            if stretches[i] != 0 and stretches[i - 1] != stretches[i]:
                trend[i - 1] = stretches[i]
        flags["trend"] = trend
        hi = present & (v > upper_near)
        lo = present & (v < lower_near)
        two = np.zeros(n, dtype=int)
        for i in range(max(n - 2, 0)):
            for mask, sign in ((hi, 1), (lo, -1)):
                window = mask[i:i + 3]
                if window.sum() >= 2:
                    idx = i + np.flatnonzero(window)
                    two[idx] = sign
        flags["two_of_three"] = two

    rules: list[str] = []
    variation: list[str] = []
    for i in range(n):
        if not present[i]:
            rules.append("")
            variation.append("")
            continue
        fired = [r for r in RULES if flags[r][i] != 0]
        rules.append(",".join(fired))
        if not fired:
            variation.append("common")
            continue
        direction = flags[fired[0]][i]
        if improvement is None:
            variation.append("neither")
        elif (direction > 0) == (improvement == "up"):
            variation.append("improvement")
        else:
            variation.append("concern")

    out = pd.DataFrame({
        "value": v, "mean": mean, "moving_range": _moving_ranges(v),
        "upper_limit": upper, "lower_limit": lower,
        "upper_near": upper_near, "lower_near": lower_near,
        "rule": rules, "variation": variation,
    }, index=s.index)
    out["rule"] = out["rule"].astype(object)
    out["variation"] = out["variation"].astype(object)
    out.attrs.update({"mean_moving_range": amr, "screened_moving_ranges": dropped,
                      "baseline": k, "improvement": improvement, "n_points": n})
    return out


def xmr_plot(result: pd.DataFrame, title: str, ylabel: str, benchmark: float | None = None,
             benchmark_label: str | None = None, ax: Any = None, share: bool = False):
    """Draw an ``xmr`` result as an accessible Making Data Count style chart.

    Method: the XmR chart of NHS England / NHS Improvement (2019) "Making Data Count" with
    its colour convention (grey common cause, blue improvement, orange concern, purple
    neither) in the colour-blind-safe palette of Okabe & Ito (2008); each kind of point also
    has its own marker (circle, square, cross, diamond) and a legend entry, so colour is never
    the only cue (WCAG 2.2 SC 1.4.1).  The mean is a solid line and the process limits dashed
    lines; an optional ``benchmark`` (for example the national figure) is a dash-dot line
    labelled ``benchmark_label``.

    ``share``: the values are shares (0 to 1), so the axis reads in percentages (0.25 is
    "25%", written by the reporting layer's ``pct``), as the page's text does (issue 15: an
    axis of 0.22-0.30 beside text in percentages).  The legend sits below the plotting area,
    never over a point or a limit line; points are drawn above every line, with edges.

    Draws on ``ax`` when given, otherwise on a new ``matplotlib.figure.Figure`` (not managed
    by pyplot, so it needs no interactive backend).  Returns the Figure.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    if ax is None:
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    x = result.index
    if not isinstance(x, pd.DatetimeIndex):
        x = np.arange(1, len(result) + 1) if isinstance(x, pd.RangeIndex) else x
    ax.plot(x, result["value"], color=COLOURS["common"], linewidth=1.2, zorder=1)
    ax.plot(x, result["mean"], color="#000000", linewidth=1.2, label="Mean", zorder=2)
    ax.plot(x, result["upper_limit"], color="#404040", linewidth=1.0, linestyle="--",
            label="Process limits", zorder=2)
    ax.plot(x, result["lower_limit"], color="#404040", linewidth=1.0, linestyle="--", zorder=2)
    if benchmark is not None:
        ax.axhline(benchmark, color="#000000", linewidth=1.0, linestyle="-.",
                   label=benchmark_label or "Benchmark", zorder=2)
    for kind in VARIATIONS:
        sel = (result["variation"] == kind).to_numpy()
        if not sel.any():
            continue
        special = kind != "common"
        ax.scatter(np.asarray(x)[sel], result["value"].to_numpy()[sel], color=COLOURS[kind],
                   marker=MARKERS[kind], s=64 if special else 32, label=LABELS[kind],
                   edgecolors="#000000" if special else "#404040", linewidths=0.6, zorder=4)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if share:
        ax.yaxis.set_major_formatter(FuncFormatter(_percent_ticks(ax)))
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    legend_below(ax)
    return fig


def _percent_ticks(ax: Any):
    """Tick labels of a share axis in the reporting layer's percentages (``pct``): whole
    percentages, or one decimal when the axis spans under 4 points (so ticks stay distinct)."""
    from .reporting import pct

    def fmt(v: float, _pos: Any = None) -> str:
        lo, hi = ax.get_ylim()
        return pct(v, 0 if hi - lo >= 0.04 else 1)

    return fmt


def legend_below(ax: Any, ncol: int = 2, **kw: Any) -> Any:
    """A legend under the plotting area (below the x-axis labels), never over the data: in a
    figure with a constrained layout the layout makes room for it (``matplotlib`` "outside"
    legend placement). Returns the Legend."""
    fig = ax.figure
    if len(fig.axes) == 1 and fig.get_layout_engine() is not None:
        return fig.legend(loc="outside lower center", ncol=ncol, fontsize="small",
                          frameon=False, **kw)
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=ncol,
                     fontsize="small", frameon=False, **kw)
