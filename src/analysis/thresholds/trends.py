"""Threshold consistency, 4: the monthly series of the XmR charts (conversion, re-referrals
within 12 months, assessments within 45 working days) and the published benchmarks.

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["ASSESSMENT_LOOKBACK_DAYS", "MEASURES", "chart_months", "combine_monthly",
           "english_bank_holidays", "find_benchmark", "load_benchmarks",
           "monthly_assessments_pandas", "monthly_conversion_pandas", "monthly_rereferral_pandas",
           "monthly_series", "trend_chart", "working_days"]

# ======================================================================================
# 4. Trends: monthly series for the XmR charts
# ======================================================================================


def english_bank_holidays(start_year: int, end_year: int) -> np.ndarray:
    """Bank holidays in England (``holidays`` package, GB subdivision ENG), as datetime64[D]."""
    import holidays

    years = range(int(start_year), int(end_year) + 1)
    hol = holidays.country_holidays("GB", subdiv="ENG", years=list(years))
    return np.array(sorted(hol.keys()), dtype="datetime64[D]")


def working_days(start: pd.Series | Sequence[Any] | Any, end: pd.Series | Sequence[Any] | Any,
                 holidays: np.ndarray | None = None) -> np.ndarray:
    """Working days from ``start`` to ``end``: weekdays in [start, end) that are not English bank
    holidays (``numpy.busday_count``).  The day of referral is day 0, so an assessment started
    on a Monday and finished on the Tuesday took 1 working day.  NaN where either date is
    missing; negative if ``end`` precedes ``start``.  Vectorised.
    """
    s = pd.to_datetime(pd.Series(np.atleast_1d(start)))
    e = pd.to_datetime(pd.Series(np.atleast_1d(end)))
    ok = (s.notna() & e.notna()).to_numpy()
    out = np.full(len(s), np.nan)
    if not ok.any():
        return out
    sd = s[ok].to_numpy().astype("datetime64[D]")
    ed = e[ok].to_numpy().astype("datetime64[D]")
    if holidays is None:
        lo = min(sd.min(), ed.min()).astype(object).year
        hi = max(sd.max(), ed.max()).astype(object).year
        holidays = english_bank_holidays(lo, hi)
    out[ok] = np.busday_count(sd, ed, holidays=holidays)
    return out


MEASURES = {
    "conversion": {
        "title": "Contacts that became referrals",
        "numerator": "contacts that became a referral to children's social care",
        "denominator": "contacts received", "improvement": None,
        "ylabel": "Share of the month's contacts"},
    "rereferral": {
        "title": "Re-referrals within 12 months",
        "numerator": "referrals of a child referred in the previous 12 months",
        "denominator": "referrals", "improvement": "down",
        "ylabel": "Share of the month's referrals"},
    "assessment_45": {
        "title": "Assessments completed within 45 working days",
        "numerator": "assessments completed within 45 working days",
        "denominator": "assessments completed", "improvement": "up",
        "ylabel": "Share of the month's completed assessments"},
}


def _month_start(s: pd.Series) -> pd.Series:
    return s.dt.to_period("M").dt.to_timestamp()


def _contacts(cases: pd.DataFrame, services: Sequence[str] | None) -> pd.DataFrame:
    if services and "service" in cases.columns:
        return cases[cases["service"].isin(list(services))]
    return cases


def monthly_conversion_pandas(cases: pd.DataFrame,
                              services: Sequence[str] | None = ("front_door",)) -> pd.DataFrame:
    """Contacts per month (by contact date) and how many became referrals (referral_date set)."""
    c = _contacts(cases, services)
    c = c[c["contact_date"].notna()]
    g = c.assign(month=_month_start(c["contact_date"]),
                 _ref=c["referral_date"].notna()).groupby("month")["_ref"]
    out = pd.DataFrame({"numerator": g.sum().astype(int), "denominator": g.size()})
    return out.reset_index()


def _rereferral_flags(r: pd.DataFrame) -> pd.Series:
    """True where the child had an earlier referral (strictly earlier date) within 12 months."""
    pairs = r[["child_id", "referral_date"]].drop_duplicates().sort_values(
        ["child_id", "referral_date"])
    pairs["_prev"] = pairs.groupby("child_id")["referral_date"].shift(1)
    m = r[["child_id", "referral_date"]].merge(pairs, on=["child_id", "referral_date"],
                                               how="left")
    cutoff = m["referral_date"] - pd.DateOffset(years=1)
    flag = m["_prev"].notna() & (m["_prev"] >= cutoff)
    return pd.Series(flag.to_numpy(), index=r.index)


def monthly_rereferral_pandas(cases: pd.DataFrame, method: Literal["auto", "history", "column"]
                              = "auto", includes_current: bool = False) -> pd.DataFrame:
    """Referrals per month (by referral date) and how many were re-referrals within 12 months of
    a previous referral (the DfE children-in-need measure).

    ``history``: from the referrals in the table (same pseudonymised child, an earlier referral
    in the 12 months before); months within 12 months of the first referral in the table have an
    incomplete look-back and are flagged in ``lookback_complete``.  ``column``: from the case
    system's count (Annex A list 3 "Number of Referrals in Last 12 Months"), a re-referral when
    the count is at least 1 (at least 2 when ``includes_current``).  ``auto``: the column when
    every referral has it, else the history.
    """
    r = cases[cases["referral_date"].notna()]
    use_col = method == "column" or (
        method == "auto" and "referrals_last_12m" in r.columns and len(r)
        and r["referrals_last_12m"].notna().all())
    if use_col:
        flag = r["referrals_last_12m"].astype(float) >= (2 if includes_current else 1)
        source = "column"
    else:
        flag = _rereferral_flags(r)
        source = "history"
    g = r.assign(month=_month_start(r["referral_date"]), _f=flag.to_numpy()).groupby("month")["_f"]
    out = pd.DataFrame({"numerator": g.sum().astype(int), "denominator": g.size()}).reset_index()
    first = r["referral_date"].min()
    out["lookback_complete"] = True if use_col else (
        out["month"] >= (first + pd.DateOffset(years=1)) if len(r) else True)
    out.attrs["source"] = source
    return out


ASSESSMENT_LOOKBACK_DAYS = 91


def monthly_assessments_pandas(cases: pd.DataFrame, limit: int = 45,
                               holidays: np.ndarray | None = None) -> pd.DataFrame:
    """Assessments completed per month (by completion date) and how many within ``limit``
    working days of their start (English bank holidays excluded).

    An extract that starts on a date holds no assessment started before it, so in its first
    months only the quick assessments can have been completed: months starting less than
    ``ASSESSMENT_LOOKBACK_DAYS`` (about three months, well beyond 45 working days) after the
    first assessment start are flagged ``lookback_complete = False`` and left off the charts.
    """
    a = cases[cases["assessment_end_date"].notna() & cases["assessment_start_date"].notna()]
    wd = working_days(a["assessment_start_date"], a["assessment_end_date"], holidays)
    g = a.assign(month=_month_start(a["assessment_end_date"]), _ok=wd <= limit
                 ).groupby("month")["_ok"]
    out = pd.DataFrame({"numerator": g.sum().astype(int), "denominator": g.size()}).reset_index()
    first = a["assessment_start_date"].min()
    out["lookback_complete"] = (out["month"] >= first + pd.Timedelta(days=ASSESSMENT_LOOKBACK_DAYS)
                                if len(a) else True)
    return out


def monthly_series(cases: pd.DataFrame | str | Path, engine: Literal["pandas", "duckdb"] = "pandas",
                   services: Sequence[str] | None = ("front_door",),
                   rereferral_method: Literal["auto", "history", "column"] = "auto",
                   limit: int = 45) -> pd.DataFrame:
    """The three monthly measures in one long frame: measure, month, numerator, denominator,
    rate, lookback_complete.

    ``cases`` is the canonical cases table or (DuckDB engine) the path of its Parquet file, which
    DuckDB scans without loading it into pandas.  Both engines give identical numbers.
    """
    if engine == "duckdb":
        parts = _monthly_duckdb(cases, services, rereferral_method, limit)
    elif engine == "pandas":
        if not isinstance(cases, pd.DataFrame):
            cases = pd.read_parquet(cases)
        parts = {"conversion": monthly_conversion_pandas(cases, services),
                 "rereferral": monthly_rereferral_pandas(cases, rereferral_method),
                 "assessment_45": monthly_assessments_pandas(cases, limit)}
    else:
        raise ValueError("engine must be 'pandas' or 'duckdb'")
    return combine_monthly(parts)


def combine_monthly(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One tidy frame of monthly series (measure, month, numerator, denominator, rate,
    lookback_complete) from one frame per measure, in measure and month order."""
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


def _monthly_duckdb(cases: pd.DataFrame | str | Path, services: Sequence[str] | None,
                    rereferral_method: str, limit: int) -> dict[str, pd.DataFrame]:
    """DuckDB SQL for the monthly series (window function for re-referrals, a working-day
    calendar table joined twice for the 45-day measure)."""
    import duckdb

    con = duckdb.connect()
    try:
        if isinstance(cases, pd.DataFrame):
            con.register("cases_src", cases)
            src = "cases_src"
        else:
            src = f"read_parquet('{str(cases).replace(chr(39), chr(39) * 2)}')"
        con.execute(f"CREATE TEMP VIEW cases AS SELECT * FROM {src}")
        cols = {r[0] for r in con.execute("DESCRIBE cases").fetchall()}
        where = ""
        if services and "service" in cols:
            svc = ", ".join("'" + s.replace("'", "''") + "'" for s in services)
            where = f"AND service IN ({svc})"
        conv = con.execute(f"""
            SELECT date_trunc('month', contact_date)::DATE AS month,
                   count(referral_date) AS numerator, count(*) AS denominator
            FROM cases WHERE contact_date IS NOT NULL {where}
            GROUP BY 1 ORDER BY 1""").df()

        has_col = "referrals_last_12m" in cols
        n_ref, n_col = con.execute(
            "SELECT count(*), " + ("count(referrals_last_12m)" if has_col else "0")
            + " FROM cases WHERE referral_date IS NOT NULL").fetchall()[0]
        use_col = rereferral_method == "column" or (
            rereferral_method == "auto" and has_col and n_ref > 0 and n_col == n_ref)
        if use_col:
            rer = con.execute("""
                SELECT date_trunc('month', referral_date)::DATE AS month,
                       sum(CASE WHEN referrals_last_12m >= 1 THEN 1 ELSE 0 END) AS numerator,
                       count(*) AS denominator, TRUE AS lookback_complete
                FROM cases WHERE referral_date IS NOT NULL GROUP BY 1 ORDER BY 1""").df()
        else:
            rer = con.execute("""
                WITH d AS (SELECT DISTINCT child_id, referral_date FROM cases
                           WHERE referral_date IS NOT NULL),
                p AS (SELECT child_id, referral_date,
                             lag(referral_date) OVER (PARTITION BY child_id
                                                      ORDER BY referral_date) AS prev
                      FROM d),
                r AS (SELECT c.referral_date,
                             (p.prev IS NOT NULL AND p.prev >= c.referral_date - INTERVAL 1 YEAR)
                                 AS flag
                      FROM cases c JOIN p USING (child_id, referral_date)),
                f AS (SELECT min(referral_date) AS first FROM cases)
                SELECT date_trunc('month', referral_date)::DATE AS month,
                       sum(CASE WHEN flag THEN 1 ELSE 0 END) AS numerator, count(*) AS denominator,
                       date_trunc('month', referral_date) >= (SELECT first FROM f) + INTERVAL 1 YEAR
                           AS lookback_complete
                FROM r GROUP BY 1, 4 ORDER BY 1""").df()

        lo_hi = con.execute("""SELECT min(assessment_start_date), max(assessment_end_date)
                               FROM cases WHERE assessment_start_date IS NOT NULL
                               AND assessment_end_date IS NOT NULL""").fetchall()[0]
        if lo_hi[0] is None:
            ass = pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"),
                                "numerator": pd.Series(dtype=int),
                                "denominator": pd.Series(dtype=int)})
        else:
            lo = pd.Timestamp(min(lo_hi[0], lo_hi[1])).normalize()
            hi = pd.Timestamp(max(lo_hi[0], lo_hi[1])).normalize()
            days = np.arange(np.datetime64(lo.date(), "D"), np.datetime64(hi.date(), "D") + 2)
            hol = english_bank_holidays(lo.year, hi.year + 1)
            is_wd = np.is_busday(days, holidays=hol)
            before = np.concatenate([[0], np.cumsum(is_wd)[:-1]])  # working days before d
            cal = pd.DataFrame({"d": days.astype("datetime64[ns]"), "wd_before": before})
            con.register("calendar", cal)
            ass = con.execute(f"""
                SELECT date_trunc('month', c.assessment_end_date)::DATE AS month,
                       sum(CASE WHEN e.wd_before - s.wd_before <= {int(limit)} THEN 1 ELSE 0 END)
                           AS numerator,
                       count(*) AS denominator,
                       date_trunc('month', c.assessment_end_date)::DATE
                           >= (SELECT min(assessment_start_date) FROM cases
                               WHERE assessment_end_date IS NOT NULL)
                              + INTERVAL {ASSESSMENT_LOOKBACK_DAYS} DAY AS lookback_complete
                FROM cases c
                JOIN calendar s ON s.d = c.assessment_start_date::DATE
                JOIN calendar e ON e.d = c.assessment_end_date::DATE
                GROUP BY 1, 4 ORDER BY 1""").df()
    finally:
        con.close()
    for f in (conv, rer, ass):
        f["month"] = pd.to_datetime(f["month"])
    rer.attrs["source"] = "column" if use_col else "history"
    return {"conversion": conv, "rereferral": rer, "assessment_45": ass}


def load_benchmarks(path: str | Path) -> pd.DataFrame:
    """Published benchmarks (``data/published/*.csv``) as a frame (columns as published)."""
    return pd.read_csv(path)


def find_benchmark(benchmarks: pd.DataFrame, *keywords: str) -> dict[str, Any] | None:
    """The first benchmark row whose text mentions every keyword (case-insensitive), as a dict
    with ``value`` as a proportion (a value above 1 is read as a percentage)."""
    if benchmarks is None or benchmarks.empty:
        return None
    text = benchmarks.astype(str).agg(" ".join, axis=1).str.lower()
    mask = pd.Series(True, index=benchmarks.index)
    for k in keywords:
        mask &= text.str.contains(k.lower(), regex=False)
    if not mask.any():
        return None
    row = benchmarks[mask].iloc[0].to_dict()
    val_col = next((c for c in ("value", "percent", "percentage", "rate", "estimate")
                    if c in row), None)
    if val_col is None:
        return None
    v = float(row[val_col])
    row["value"] = v / 100 if v > 1 else v
    return row


def chart_months(series: pd.DataFrame, measure: str, edge_share: float = 0.5) -> pd.DataFrame:
    """The months of one measure that go on its chart: complete look-back only, and a first or
    last month dropped when its denominator is under ``edge_share`` of the median (a month the
    extract only partly covers would look like a special cause)."""
    s = series[(series["measure"] == measure) & series["lookback_complete"]].sort_values("month")
    if len(s) >= 3:
        med = float(s["denominator"].median())
        while len(s) >= 3 and s["denominator"].iloc[0] < edge_share * med:
            s = s.iloc[1:]
        while len(s) >= 3 and s["denominator"].iloc[-1] < edge_share * med:
            s = s.iloc[:-1]
    return s


def trend_chart(series: pd.DataFrame, measure: str, benchmark: float | None = None,
                benchmark_label: str | None = None, complete_only: bool = True):
    """XmR (individuals) chart of one monthly measure: ``analysis.spc.xmr`` with the measure's
    improvement direction (NHS England "Making Data Count"), then ``spc.xmr_plot`` with an
    optional benchmark line.  Returns (xmr result frame, figure)."""
    from .. import spc

    info = MEASURES[measure]
    s = chart_months(series, measure) if complete_only else series[series["measure"] == measure]
    values = pd.Series(s["rate"].to_numpy(), index=pd.DatetimeIndex(s["month"]))
    res = spc.xmr(values, screen_outliers=False, improvement=info["improvement"])
    fig = spc.xmr_plot(res, title=info["title"], ylabel=info["ylabel"], benchmark=benchmark,
                       benchmark_label=benchmark_label)
    return res, fig


