"""Threshold consistency, 4: the monthly series of the XmR charts (conversion, re-referrals
within 12 months, assessments within 45 working days) and the published benchmarks.

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .. import engine

__all__ = ["ASSESSMENT_LOOKBACK_DAYS", "MEASURES", "REPEAT_PLAN_LOOKBACK_YEARS",
           "chart_months", "combine_monthly", "english_bank_holidays", "find_benchmark",
           "load_benchmarks", "monthly_series",
           "trend_chart", "working_days"]

# ======================================================================================
# 4. Trends: monthly series for the XmR charts
# ======================================================================================


def english_bank_holidays(start_year: int, end_year: int) -> np.ndarray:
    """Bank holidays in England (``holidays`` package, GB subdivision ENG), as datetime64[D]
    (read-only: the same years give the same array, computed once per process)."""
    return _bank_holidays(int(start_year), int(end_year))


@functools.lru_cache(maxsize=32)
def _bank_holidays(start_year: int, end_year: int) -> np.ndarray:
    import holidays

    hol = holidays.country_holidays("GB", subdiv="ENG",
                                    years=list(range(start_year, end_year + 1)))
    out = np.array(sorted(hol.keys()), dtype="datetime64[D]")
    out.flags.writeable = False
    return out


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
    "repeat_plan": {
        "title": "Repeat child protection plans",
        "numerator": "child protection plans that were a second or subsequent plan",
        "denominator": "child protection plans started", "improvement": "down",
        "ylabel": "Share of the month's new plans"},
}

#: Years of history that make a repeat plan from the history (no count column) complete.
REPEAT_PLAN_LOOKBACK_YEARS = 2


ASSESSMENT_LOOKBACK_DAYS = 91


def monthly_series(cases: pd.DataFrame | str | Path, *,
                   services: Sequence[str] | None = ("front_door",),
                   rereferral_method: Literal["auto", "history", "column"] = "auto",
                   limit: int = 45, plans: pd.DataFrame | str | Path | None = None
                   ) -> pd.DataFrame:
    """The three monthly measures of the XmR charts in one long frame: measure, month,
    numerator, denominator, rate, lookback_complete (in measure and month order; a month with
    nothing to count has no row).

    ``cases`` is the canonical cases table, as a frame, the path of its Parquet file or a
    regional pool's directory (``sqa pool``; councils' ids are prefixed, so a child's history
    never crosses councils); the
    one implementation is DuckDB SQL, which queries either in place (a Parquet file is scanned
    without being loaded into pandas, so the series scale to tens of millions of rows).  The
    series feed the XmR charts of ``analysis.spc`` (NHS England / NHS Improvement 2019,
    "Making Data Count"); the two children's social care measures follow the DfE definitions
    of the children-in-need statistics ("Characteristics of children in need").

    * ``conversion``: contacts by month of contact date (only ``services`` when the table has
      a ``service`` column; ``None`` for all), and how many became a referral (a referral date
      is set).
    * ``rereferral``: referrals by month of referral date, and how many were re-referrals
      within 12 months of a previous referral (DfE).  ``history``: from the referrals in the
      table: the same pseudonymised child has an earlier referral, on a strictly earlier day,
      at most one calendar year before (a referral without a child id is never a
      re-referral); a month that starts less than a year after the first referral in the
      table has an incomplete look-back (``lookback_complete = False``).  ``column``: from the case
      system's count (Ofsted Annex A list 3, "Number of Referrals in Last 12 Months",
      ``referrals_last_12m``), a re-referral when it is at least 1.  ``auto``: the column when
      every referral has it, else the history.
    * ``assessment_45``: assessments with both dates by month of completion, and how many
      took at most ``limit`` working days (``working_days``: weekdays that are not English
      bank holidays, the start day being day 0; 45 is the DfE measure, from "Working Together
      to Safeguard Children").  An extract holds no assessment started before it, so its
      first months only see the quick ones: months starting less than
      ``ASSESSMENT_LOOKBACK_DAYS`` after the first assessment start are flagged
      ``lookback_complete = False`` (``chart_months`` leaves them off the charts).
    * ``repeat_plan`` (only when ``plans`` is given: Ofsted Annex A list 7, the table
      ``list7_cp_plans`` of ``sqa ingest --kind annex-a``, frame or Parquet path): child
      protection plans by month of start, and how many were a second or subsequent plan for
      the child (DfE, "Characteristics of children in need": repeat plans).  From
      ``previous_plans`` ("Number of Previous Child Protection Plans") where every plan has
      it, a repeat when it is at least 1; else from the history: an earlier plan of the same
      pseudonymised child in the list, months starting less than
      ``REPEAT_PLAN_LOOKBACK_YEARS`` after the first plan flagged ``lookback_complete =
      False`` (a lower bound: the list holds only recent plans).

    The front-door table that ``sqa ingest --kind annex-a`` derives from the Annex A journey
    (``analysis.journey.front_door_cases``) is a cases table like any other here.
    """
    with engine.table(cases, columns=_MONTHLY_COLUMNS, ranges=_ASSESSMENT_DATES) as t:
        cols = set(t.columns)
        missing = [c for c in _MONTHLY_REQUIRED if c not in cols]
        if missing:
            raise ValueError(f"the cases table has no {', '.join(missing)} column: the monthly "
                             "series need " + ", ".join(_MONTHLY_REQUIRED))
        parts = {"conversion": _monthly_conversion(t, services),
                 "rereferral": _monthly_rereferral(t, rereferral_method),
                 "assessment_45": _monthly_assessments(t, limit)}
        if plans is not None:
            parts["repeat_plan"] = _monthly_repeat_plans(t.con, plans)
    return combine_monthly(parts)


#: pandas' own type for a column of text (``str`` from pandas 3), also for no rows.
_TEXT = pd.Series(["text"]).dtype


def combine_monthly(parts: Mapping[str, pd.DataFrame | Mapping[str, Any]]) -> pd.DataFrame:
    """One tidy frame of monthly series (measure, month, numerator, denominator, rate,
    lookback_complete) from one part per measure, in measure and month order (a part
    without ``lookback_complete`` is complete).  A part is a frame, or its columns as a
    mapping of arrays (what the SQL gives, ``fetchnumpy``).

    Built column by column from the parts' arrays (no frame per part): the measures are
    taken in name order, and when each part's months are in order already (the SQL's
    ``ORDER BY``) that is the order of the rows; else the rows are sorted by measure and
    month, a stable sort, as ``DataFrame.sort_values`` sorts."""
    names = sorted(parts)
    cols = [parts[n] for n in names]
    sizes = [len(c["month"]) for c in cols]
    given = [np.asarray(c["month"]) for c in cols]
    if all(a.dtype.kind == "M" for a in given):  # dates already: no parsing
        months = np.concatenate(given or [np.array([], "datetime64[ns]")])
    else:  # text or objects: read as pandas reads them
        months = pd.to_datetime(pd.concat([pd.Series(a, dtype=object) for a in given],
                                          ignore_index=True)).to_numpy()
    num = np.concatenate([np.asarray(c["numerator"]) for c in cols] or [[]]).astype(int)
    den = np.concatenate([np.asarray(c["denominator"]) for c in cols] or [[]]).astype(int)
    done = np.concatenate([np.asarray(c["lookback_complete"]) if "lookback_complete" in c
                           else np.ones(k, dtype=bool) for c, k in zip(cols, sizes, strict=True)]
                          or [[]]).astype(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = num / den
    out = pd.DataFrame({"measure": pd.array(np.repeat(np.array(names, dtype=object), sizes),
                                            dtype=_TEXT),
                        "month": months.astype("datetime64[ns]"),
                        "numerator": num, "denominator": den, "rate": rate,
                        "lookback_complete": done})
    ends = np.cumsum(sizes)
    m = out["month"]
    if not m.isna().any() and all(m.iloc[e - k:e].is_monotonic_increasing
                                  for k, e in zip(sizes, ends, strict=True)):
        return out
    return out.sort_values(["measure", "month"]).reset_index(drop=True)


#: Columns of the cases table the monthly series read; ``service`` and ``referrals_last_12m``
#: are optional, ``child_id`` is needed for re-referrals from the history.
_MONTHLY_COLUMNS = ("contact_date", "referral_date", "child_id", "service", "referrals_last_12m",
                    "assessment_start_date", "assessment_end_date")
_ASSESSMENT_DATES = ("assessment_start_date", "assessment_end_date")
#: DuckDB's date and timestamp types (without time zone) a date column can have.
_DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
_MONTHLY_REQUIRED = ("contact_date", "referral_date", "assessment_start_date",
                     "assessment_end_date")


def _monthly_conversion(t: engine.Table, services: Sequence[str] | None) -> dict[str, Any]:
    """Contacts per month of contact date (of ``services`` when the table has a ``service``
    column) and how many became referrals (a referral date set).  A filter on ``services``
    that the file's statistics prove keeps every row is left out
    (:meth:`analysis.engine.Table.where_in`)."""
    where = "contact_date IS NOT NULL"
    if services and "service" in t.columns and (svc := t.where_in("service", services)):
        where += f" AND {svc}"
    # counted by day first: truncating every row's date to its month costs more than the scan;
    # count_if costs less than count(column) or a FILTER clause (DuckDB 2.0)
    return engine.run(t.con, f"""
        WITH d AS (SELECT contact_date AS day, count_if(referral_date IS NOT NULL) AS num,
                          count(*) AS den
                   FROM {t.sql} WHERE {where} GROUP BY 1)
        SELECT date_trunc('month', day)::DATE AS month, sum(num)::BIGINT AS numerator,
               sum(den)::BIGINT AS denominator
        FROM d GROUP BY 1 ORDER BY 1""").fetchnumpy()


def _monthly_rereferral(t: engine.Table, method: str) -> pd.DataFrame | dict[str, Any]:
    """Referrals per month of referral date and how many were re-referrals within 12 months,
    from the ``referrals_last_12m`` column or from the history (``method``: see
    ``monthly_series``).  Whether every referral has the count (``auto``) is counted in the
    same statement, unless the file's statistics prove the column has no missing value."""
    con, src, cols = t.con, t.sql, set(t.columns)
    has_col = "referrals_last_12m" in cols
    if method not in ("auto", "history", "column"):
        raise ValueError("rereferral_method must be 'auto', 'history' or 'column'")
    if method == "column" and not has_col:
        raise ValueError("rereferral_method='column' needs a referrals_last_12m column")
    if method != "history" and has_col:
        proven = t.complete("referrals_last_12m")  # every row has the count
        skip = proven or method == "column"
        known = ("" if skip else ", count(referrals_last_12m) AS known",
                 "" if skip else ", sum(known)::BIGINT AS known")
        col = engine.run(con, f"""
            WITH d AS (SELECT referral_date AS day,
                              count_if(referrals_last_12m >= 1) AS num,
                              count(*) AS den{known[0]}
                       FROM {src} WHERE referral_date IS NOT NULL GROUP BY 1)
            SELECT date_trunc('month', day)::DATE AS month,
                   coalesce(sum(num), 0)::BIGINT AS numerator,
                   sum(den)::BIGINT AS denominator{known[1]}
            FROM d GROUP BY 1 ORDER BY 1""").fetchnumpy()
        n = int(col["denominator"].sum())
        if method == "column" or (n > 0 and (proven or int(col["known"].sum()) == n)):
            return {"month": col["month"], "numerator": col["numerator"],
                    "denominator": col["denominator"]}
    if "child_id" not in cols:
        raise ValueError("re-referrals from the history need a child_id column")
    # one row per (child, referral day) with its count of rows; the previous distinct referral
    # day of the same child by a window; a referral without a child id is never a re-referral
    return engine.run(con, f"""
        WITH d AS (SELECT child_id, referral_date, count(*) AS n FROM {src}
                   WHERE referral_date IS NOT NULL GROUP BY 1, 2),
        p AS (SELECT referral_date, n,
                     child_id IS NOT NULL AND coalesce(
                         lag(referral_date) OVER (PARTITION BY child_id ORDER BY referral_date)
                         >= referral_date - INTERVAL 1 YEAR, FALSE) AS flag
              FROM d),
        f AS (SELECT min(referral_date) AS first FROM d)
        SELECT date_trunc('month', referral_date)::DATE AS month,
               coalesce(sum(n) FILTER (WHERE flag), 0)::BIGINT AS numerator,
               sum(n)::BIGINT AS denominator,
               date_trunc('month', referral_date) >= (SELECT first FROM f) + INTERVAL 1 YEAR
                   AS lookback_complete
        FROM p GROUP BY 1, 4 ORDER BY 1""").df()


def _monthly_repeat_plans(con: Any, plans: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Plans started per month and how many were repeat plans (see ``monthly_series``)."""
    src = engine.source(con, plans, name="plans_src",
                        columns=("child_id", "plan_start_date", "previous_plans"))
    engine.run(con, f"CREATE TEMP VIEW plans AS SELECT * FROM {src}")
    cols = {r[0] for r in engine.run(con, "DESCRIBE plans").fetchall()}
    if "plan_start_date" not in cols:
        raise ValueError("the plans table has no plan_start_date column (Annex A list 7)")
    known = ("previous_plans" in cols and engine.run(con,
        "SELECT count(*) = count(previous_plans) FROM plans WHERE plan_start_date IS NOT NULL"
    ).fetchone()[0])
    if known:
        return engine.run(con, """
            SELECT date_trunc('month', plan_start_date)::DATE AS month,
                   count(*) FILTER (WHERE previous_plans >= 1)::BIGINT AS numerator,
                   count(*)::BIGINT AS denominator, TRUE AS lookback_complete
            FROM plans WHERE plan_start_date IS NOT NULL GROUP BY 1 ORDER BY 1""").df()
    if "child_id" not in cols:
        raise ValueError("repeat plans from the history need a child_id column")
    return engine.run(con, f"""
        WITH p AS (SELECT plan_start_date,
                          child_id IS NOT NULL AND plan_start_date > min(plan_start_date)
                              OVER (PARTITION BY child_id) AS flag FROM plans
                   WHERE plan_start_date IS NOT NULL),
        f AS (SELECT min(plan_start_date) AS first FROM p)
        SELECT date_trunc('month', plan_start_date)::DATE AS month,
               count(*) FILTER (WHERE flag)::BIGINT AS numerator,
               count(*)::BIGINT AS denominator,
               date_trunc('month', plan_start_date) >= (SELECT first FROM f)
                   + INTERVAL {REPEAT_PLAN_LOOKBACK_YEARS} YEAR AS lookback_complete
        FROM p GROUP BY 1, 4 ORDER BY 1""").df()


def _monthly_assessments(t: engine.Table, limit: int) -> dict[str, Any]:
    """Assessments completed per month of completion date and how many within ``limit``
    working days of their start (``working_days``), with the look-back flag.

    The working days are counted in SQL against a calendar.  With ``C(d)`` the working days
    from the first date of the columns to ``d`` (``numpy.is_busday`` with the English bank
    holidays), an assessment from ``s`` to ``e`` took ``C(e) - C(s)`` working days, what
    ``numpy.busday_count`` gives; as ``C`` never decreases, that is at most ``limit`` exactly
    when ``s`` is on or after ``t(e)``, the first day with ``C(t) >= C(e) - limit``.  So each
    row is joined once, by its day of completion, to that day's ``t`` and counted by that
    day; grouping every (start, end) pair instead is several times slower on millions of
    rows.

    The first and last day of the two date columns come from a Parquet file's statistics
    when it has them (:meth:`analysis.engine.Table.span`), else one statement reads them;
    the start column's type from its footer too (:meth:`analysis.engine.Table.sql_type`).
    """
    con, src, span = t.con, t.sql, t.span(_ASSESSMENT_DATES)
    # the columns' range (DuckDB answers it from a Parquet file's statistics, without reading
    # the data, but binding the statement costs more than reading the footer ourselves)
    lo, hi = span if span is not None else engine.run(con, f"""
        SELECT least(min(assessment_start_date), min(assessment_end_date))::DATE,
               greatest(max(assessment_start_date), max(assessment_end_date))::DATE
        FROM {src}""").fetchall()[0]
    if lo is None or hi is None:
        return _no_months()
    days = np.arange(np.datetime64(lo, "D"), np.datetime64(hi, "D") + 1)
    holidays = english_bank_holidays(lo.year, hi.year)
    before = np.concatenate([[0], np.cumsum(np.is_busday(days[:-1], holidays=holidays))])
    first_in_time = days[np.searchsorted(before, before - int(limit), side="left")]
    # registered as Arrow columns (a date and a timestamp in seconds, the types the SQL has
    # always had): a pandas frame would cost more to convert than the table holds
    import pyarrow as pa

    con.register("calendar_src", pa.table({"day": days,
                                           "t": first_in_time.astype("datetime64[s]")}))
    # t in the start column's own type, so that no row's comparison casts (a timestamp in
    # nanoseconds, from pandas or pyarrow, against one in seconds cast every row's t)
    typ = t.sql_type("assessment_start_date")
    typ = typ if typ in _DATE_TYPES else "TIMESTAMP"
    engine.run(con, "CREATE TEMP TABLE calendar AS "
                    f"SELECT day::DATE AS day, t::{typ} AS t FROM calendar_src")
    # counted by day of completion, then summed by month (on a row per day)
    got = engine.run(con, f"""
        WITH d AS (SELECT assessment_start_date AS s, assessment_end_date::DATE AS e
                   FROM {src} WHERE assessment_start_date IS NOT NULL
                                AND assessment_end_date IS NOT NULL),
        by_day AS (SELECT d.e AS day, count_if(d.s >= calendar.t) AS num,
                          count(*) AS den, min(d.s) AS first
                   FROM d JOIN calendar ON calendar.day = d.e GROUP BY d.e)
        SELECT date_trunc('month', day)::DATE AS month, sum(num)::BIGINT AS numerator,
               sum(den)::BIGINT AS denominator, min(min(first)) OVER () AS first
        FROM by_day GROUP BY 1 ORDER BY 1""").fetchnumpy()
    if not len(got["month"]):
        return _no_months()
    first = pd.Timestamp(got["first"][0])
    month = got["month"]
    return {"month": month, "numerator": got["numerator"], "denominator": got["denominator"],
            "lookback_complete": pd.to_datetime(month) >= first + pd.Timedelta(
                days=ASSESSMENT_LOOKBACK_DAYS)}


def _no_months() -> dict[str, Any]:
    """A measure's part with no month (``combine_monthly``'s columns, typed)."""
    return {"month": np.array([], "datetime64[ns]"), "numerator": np.array([], np.int64),
            "denominator": np.array([], np.int64), "lookback_complete": np.array([], bool)}


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
                       benchmark_label=benchmark_label, share=True)
    return res, fig




def write_chart_series(months: list[pd.DataFrame], path: str | Path) -> Path:
    """Write the charted months of a round's front-door measures (each frame from
    :func:`chart_months`, only of measures the page charted) as one CSV: measure, month,
    numerator, denominator, rate.  Kept with the round's outputs (not published as a file) so
    the board's trends page can put every round's months on one XmR chart."""
    from ..export import write_csv

    cols = ["measure", "month", "numerator", "denominator", "rate"]
    df = (pd.concat(months, ignore_index=True)[cols] if months
          else pd.DataFrame(columns=cols))
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%Y-%m-%d")
    df["rate"] = pd.to_numeric(df["rate"]).round(6)
    return write_csv(df, Path(path))
