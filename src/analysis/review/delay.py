"""Tier-2 review: delay from first concern to referral to tier 3 (Kaplan-Meier).

Part of :mod:`analysis.review` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..reporting import (
    pct,
)
from .common import ReviewError, _isna, _ordered_groups, group_label, group_of

__all__ = ["DELAY_COLUMNS", "DelayResult", "delay_alt_text", "delay_by_service", "delay_plot",
           "delay_times", "delay_to_tier3", "tier2_cases"]

# ======================================================================================
# Delay from first concern to tier 3
# ======================================================================================


#: The columns of the cases table the delay analysis reads.
DELAY_COLUMNS = ("case_id", "service", "first_concern_date", "tier3_referral_date")


def tier2_cases(cases: str | Path | pd.DataFrame, front_door: str = "front_door",
                columns: Sequence[str] | None = DELAY_COLUMNS) -> pd.DataFrame:
    """The cases of the tier-2 services (every service but ``front_door``) with ``columns``
    (those the table has; None: all), in case_id order: one DuckDB query over the cases
    table (a frame, a Parquet file or a pool directory, :func:`analysis.engine.source`), so
    that only these rows and columns reach pandas, never the whole table."""
    from .. import engine

    with engine.table(cases) as t:
        if "service" not in t.columns:
            raise ReviewError("cases table: needs a service column (the canonical cases table "
                              "made by `sqa ingest --kind cases`).")
        out = t.select(t.present(columns),
                       where="service IS NULL OR CAST(service AS VARCHAR) <> ?",
                       order="case_id" if "case_id" in t.columns else None, params=[front_door])
    return out


@dataclass
class DelayResult:
    """Kaplan-Meier summary of days from first concern to referral to tier 3."""

    n: int
    referred: int
    censored: int
    excluded: int
    median: float
    ci_low: float
    ci_high: float
    by_day: pd.DataFrame
    curve: pd.DataFrame
    text: str
    method: str = ("Kaplan & Meier (1958) estimator, censored at the round date; median "
                   "interval by Brookmeyer & Crowley (1982), complementary log-log "
                   "(statsmodels SurvfuncRight)")
    extra: dict = field(default_factory=dict)


def delay_times(cases: pd.DataFrame, round_date: date | str | pd.Timestamp
                ) -> tuple[pd.DataFrame, int]:
    """Days from ``first_concern_date`` to ``tier3_referral_date`` (event) or to the round date
    (censored, not yet referred).  Cases without a first-concern date, with a first concern
    after the round date, or with a referral dated before the first concern are excluded and
    counted.  Returns (frame with ``days``, ``referred``, ``service``; number excluded)."""
    for c in ("first_concern_date", "tier3_referral_date"):
        if c not in cases.columns:
            raise ReviewError(f"cases table: column {c} is missing; the delay analysis needs "
                              "first_concern_date and tier3_referral_date (may be blank).")
    end = pd.Timestamp(round_date)
    d = cases[cases["first_concern_date"].notna()]
    start = pd.to_datetime(d["first_concern_date"])
    ref = pd.to_datetime(d["tier3_referral_date"])
    referred = ref.notna() & (ref <= end)
    stop = ref.where(referred, end)
    days = (stop - start).dt.days.astype(float)
    ok = (start <= end) & (days >= 0)
    excluded = int(len(cases) - ok.sum())
    out = pd.DataFrame({"days": days[ok], "referred": referred[ok].astype(int),
                        "service": d.loc[ok, "service"] if "service" in d.columns else ""})
    return out.reset_index(drop=True), excluded


def _km_prob_ci(sf: Any, t: float, confidence: float) -> tuple[float, float, float]:
    """Cumulative share referred by day ``t`` (1 - S(t)) with a pointwise interval from
    Greenwood's variance on the complementary log-log scale (Kalbfleisch & Prentice 2002)."""
    times = np.asarray(sf.surv_times)
    i = np.searchsorted(times, t, side="right") - 1
    if i < 0:
        return 0.0, 0.0, 0.0
    s = float(sf.surv_prob[i])
    se = float(sf.surv_prob_se[i])
    if s <= 0 or s >= 1 or se == 0:
        return 1 - s, 1 - s, 1 - s
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    theta = math.log(-math.log(s))
    sd = se / (s * abs(math.log(s)))
    s_lo = math.exp(-math.exp(theta + z * sd))
    s_hi = math.exp(-math.exp(theta - z * sd))
    return 1 - s, 1 - s_hi, 1 - s_lo


def delay_to_tier3(cases: pd.DataFrame, round_date: date | str | pd.Timestamp,
                   days: Sequence[int] = (30, 90, 180), confidence: float = 0.95,
                   escalation: str = "tier 3") -> DelayResult:
    """Time from first concern to referral to tier 3, for tier-2 cases with dates.

    Method: the Kaplan & Meier (1958) product-limit estimator
    (``statsmodels.duration.survfunc.SurvfuncRight``), with cases not referred by the round date
    censored there.  The median time and its interval come from ``SurvfuncRight.quantile`` and
    ``quantile_ci`` (the test-inversion interval of Brookmeyer, R. & Crowley, J. (1982) "A
    confidence interval for the median survival time", Biometrics 38:29-41, on the
    complementary log-log scale).  When fewer than half of the cases are referred the median
    cannot be estimated yet and is reported as such; the cumulative share referred by 30, 90 and 180
    days is given with pointwise intervals (Greenwood variance, log-log scale).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    t, excluded = delay_times(cases, round_date)
    n, referred = len(t), int(t["referred"].sum()) if len(t) else 0
    empty = pd.DataFrame(columns=["day", "share_referred", "ci_low", "ci_high"])
    if n == 0 or referred == 0:
        text = (f"No tier-2 case has both a first-concern date and a referral to {escalation}, "
                "so the time to referral cannot be estimated." if n else
                "No tier-2 case records a first-concern date: the delay cannot be measured.")
        return DelayResult(n, referred, n - referred, excluded, math.nan, math.nan, math.nan,
                           empty, pd.DataFrame(columns=["day", "not_yet_referred"]), text)
    sf = SurvfuncRight(t["days"].to_numpy(), t["referred"].to_numpy())
    alpha = 1 - confidence
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        med = float(sf.quantile(0.5))
        lo, hi = (float(x) for x in sf.quantile_ci(0.5, alpha=alpha, method="cloglog"))
        by_day = pd.DataFrame([{"day": d, **dict(zip(("share_referred", "ci_low", "ci_high"),
                                                     _km_prob_ci(sf, d, confidence),
                                                     strict=True))} for d in days])
    surv_min = float(np.min(sf.surv_prob))
    reached = surv_min <= 0.5 and not _isna(med)
    curve = pd.DataFrame({"day": np.concatenate([[0.0], np.asarray(sf.surv_times, float)]),
                          "not_yet_referred": np.concatenate([[1.0],
                                                              np.asarray(sf.surv_prob)])})
    res = DelayResult(n, referred, n - referred, excluded, med if reached else math.nan,
                      lo if reached else math.nan, hi if reached else math.nan, by_day, curve,
                      "", extra={"confidence": confidence, "upper_open": reached and (
                          _isna(lo) or _isna(hi) or math.isinf(hi))})
    from ..reporting.review import delay_text

    res.text = delay_text(res)
    return res


def delay_by_service(cases: pd.DataFrame, round_date: date | str | pd.Timestamp,
                     min_cases: int = 10, confidence: float = 0.95) -> pd.DataFrame:
    """Per service: cases with dates, referred, and the Kaplan-Meier share referred within 90
    days (``delay_to_tier3``).  Services with fewer than ``min_cases`` cases get no estimate.
    Counts here are counts of children: pass the table through ``analysis.disclosure`` before
    publishing (``delay_service_display`` does)."""
    t, _ = delay_times(cases, round_date)
    rows = []
    for s in _ordered_groups(t["service"].map(group_of).unique().tolist()):
        sub = cases[cases["service"].map(group_of) == s]
        res = delay_to_tier3(sub, round_date, days=(90,), confidence=confidence)
        est = res.by_day.iloc[0] if len(res.by_day) and res.n >= min_cases else None
        rows.append({"group": s, "group_label": group_label(s), "cases": res.n,
                     "referred": res.referred,
                     "share_90": math.nan if est is None else est["share_referred"],
                     "ci_low": math.nan if est is None else est["ci_low"],
                     "ci_high": math.nan if est is None else est["ci_high"]})
    return pd.DataFrame(rows)


def delay_plot(res: DelayResult, title: str = "Time from first concern to referral to tier 3",
               escalation: str = "tier 3"):
    """Kaplan-Meier step curve of the share not yet referred, with the 50% line."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    fig, ax = plt.subplots(figsize=(7, 3.8))
    if len(res.curve):
        ax.step(res.curve["day"], res.curve["not_yet_referred"], where="post",
                color=PALETTE["blue"], lw=2, label="Share not yet referred")
    ax.axhline(0.5, color=PALETTE["grey"], ls="--", lw=1, label="Half of the cases")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Days since the first concern")
    ax.set_ylabel(f"Share not yet referred to {escalation}")
    ax.yaxis.set_major_formatter(lambda v, _: pct(v))
    ax.set_title(title)
    ax.legend(loc="lower left", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def delay_alt_text(res: DelayResult, text: str | None = None, escalation: str = "tier 3"
                   ) -> str:
    """Alt text of ``delay_plot`` in one sentence or two (at most ``figures.ALT_MAX``
    characters): the chart described; its reading (``text``, the page's disclosure-controlled
    ``delay_reading``) is the page's text beside it, not repeated here, and the figures by
    service are in the table below."""
    from ..reporting import chart_figures_where

    return ("Step chart (Kaplan-Meier curve) of the share of tier-2 cases not yet referred to "
            f"{escalation}, by days since the first concern, falling from 100%. "
            + chart_figures_where("in the text and the table below"))


