"""Seeded random streams, vectorised draws and the synthetic calendar.

Every component draws from its own ``numpy.random.default_rng([seed, STREAMS[name], ...])``
stream, so changing one never changes another.  Categorical draws are by the inverse CDF;
ordinal misgrading moves one level, always inward at the ends of the scale; answers within a
case are correlated by a Gaussian copula with correlation ``CASE_CORRELATION``.  Working days
skip the English bank holidays of the ``holidays`` package, and ``referrals_in_previous_year``
counts re-referrals by the DfE definition (an earlier referral of the child within 12 months).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from .calibration import CASE_CORRELATION, FY_END, STREAMS


def _rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), STREAMS[stream], *more])


def _draw_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (n x k) by the inverse CDF."""
    probs = np.atleast_2d(probs)
    cum = np.cumsum(probs, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(probs))
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _draw(rng: np.random.Generator, mix: Mapping[str, float] | np.ndarray, n: int) -> np.ndarray:
    """n draws (indices) from a probability vector or a {name: probability} mapping."""
    p = np.asarray(list(mix.values()) if isinstance(mix, Mapping) else mix, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _misgrade(rng: np.random.Generator, true_pos: np.ndarray, error: np.ndarray | float,
              p_up: np.ndarray | float, k: int) -> np.ndarray:
    """Ordinal misgrading: wrong with probability ``error``, then one step up with
    probability ``p_up`` (else down), always inward at the ends of a k-level scale."""
    true_pos = np.asarray(true_pos, dtype=np.int64)
    n = len(true_pos)
    wrong = rng.random(n) < np.broadcast_to(error, n)
    step = np.where(rng.random(n) < np.broadcast_to(p_up, n), 1, -1)
    step = np.where(true_pos == 0, 1, np.where(true_pos == k - 1, -1, step))
    return np.where(wrong, true_pos + step, true_pos)


def _copula_met(rng: np.random.Generator, z: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Met with probability ``rate`` exactly, correlated through the case latent ``z``."""
    e = rng.standard_normal(len(z))
    u = math.sqrt(CASE_CORRELATION) * z + math.sqrt(1 - CASE_CORRELATION) * e
    return stats.norm.cdf(u) < rate


def _holidays(first_year: int, last_year: int) -> np.ndarray:
    import holidays

    hol = holidays.country_holidays("GB", subdiv="ENG", years=list(range(first_year,
                                                                         last_year + 1)))
    return np.array(sorted(hol.keys()), dtype="datetime64[D]")


def _contact_days(rng: np.random.Generator, start: np.datetime64, end: np.datetime64,
                  per_month: float | None = None, total: int | None = None) -> np.ndarray:
    """Sorted contact days: Poisson counts per calendar month (``per_month`` a 30.4-day month),
    or exactly ``total`` spread by days; uniform days within the month."""
    months = np.arange(start.astype("datetime64[M]"), end.astype("datetime64[M]") + 1)
    first = np.maximum(months.astype("datetime64[D]"), start)
    last = np.minimum((months + 1).astype("datetime64[D]") - 1, end)
    ndays = (last - first).astype(np.int64) + 1
    if total is None:
        counts = rng.poisson((per_month or 0.0) * ndays / (365.25 / 12))
    else:
        counts = rng.multinomial(int(total), ndays / ndays.sum())
    offs = (rng.random(int(counts.sum())) * np.repeat(ndays, counts)).astype(np.int64)
    return np.sort(np.repeat(first, counts) + offs)


def _add_years(days: np.ndarray, years: int) -> np.ndarray:
    """Calendar-year offset of datetime64[D] values (as pandas.DateOffset(years=...))."""
    s = pd.to_datetime(pd.Series(days.astype("datetime64[ns]")))
    return (s + pd.DateOffset(years=years)).to_numpy().astype("datetime64[D]")


def demo_calendar(year_end: date | str | np.datetime64 | None = None
                  ) -> tuple[np.datetime64, np.datetime64, np.datetime64]:
    """(first day, last day, first day of the simulated history year) of the synthetic
    financial year ending on ``year_end`` (None: the demo year, ``FY_START``..``FY_END``).

    The year starts the day after ``year_end`` a year earlier (31 March 2024 -> 1 April 2023)
    and the history year (simulated for re-referral counts, then dropped) a year before that.
    """
    end = FY_END if year_end is None else np.datetime64(str(year_end)[:10], "D")
    start = _add_years(np.array([end]), -1)[0] + np.timedelta64(1, "D")
    return start, end, _add_years(np.array([start]), -1)[0]


def _year(day: np.datetime64) -> int:
    return int(str(np.datetime64(day, "D"))[:4])


def _dated(dates: Sequence[str], year_end: np.datetime64 | date | str | None,
           years_before: int = 0) -> tuple[str, ...]:
    """Audit dates of the demo year (``AUDIT_DATES``; ``PREVIOUS_ROUND_AUDIT_DATE`` with
    ``years_before=1``) moved to the synthetic year ending ``year_end``: the same number of
    days before the last day of the year (of the year before, with ``years_before=1``), so
    that a leap day in between does not move them."""
    end = FY_END if year_end is None else np.datetime64(str(year_end)[:10], "D")
    anchor = _add_years(np.array([FY_END]), -years_before)[0]
    target = _add_years(np.array([end]), -years_before)[0]
    return tuple(str(target - (anchor - np.datetime64(d, "D"))) for d in dates)


def referrals_in_previous_year(child: np.ndarray, referral_day: np.ndarray) -> np.ndarray:
    """For each referral, the number of the same child's referrals on an earlier date within
    the year before (the DfE re-referral definition; Annex A list 3 "Number of Referrals in
    Last 12 Months").  Vectorised: one sort and two binary searches."""
    child = np.asarray(child, dtype=np.int64)
    day = np.asarray(referral_day, dtype="datetime64[D]").astype(np.int64)
    lower = _add_years(referral_day.astype("datetime64[D]"), -1).astype(np.int64)
    offset = 1 << 20
    keys = child * offset + (day - day.min() + 400)
    lo_keys = child * offset + (lower - day.min() + 400)
    order = np.sort(keys)
    return np.searchsorted(order, keys, "left") - np.searchsorted(order, lo_keys, "left")


def _days_to_ts(days: np.ndarray, valid: np.ndarray | None = None) -> pd.Series:
    out = pd.Series(np.asarray(days, dtype="datetime64[D]").astype("datetime64[ns]"))
    if valid is not None:
        out = out.where(pd.Series(valid), pd.NaT)
    return out
