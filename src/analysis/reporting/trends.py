"""The threshold page's monthly series in words, tables and charts: the XmR charts of
conversion, re-referrals and assessments within 45 working days (``analysis.thresholds``
computes the series, ``analysis.spc`` the charts' limits and special causes), each month's
counts through the page's disclosure ledger, and the published benchmark each is read against.

Part of :mod:`analysis.reporting.thresholds` (which re-exports every name here).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..thresholds.common import _isna
from ..thresholds.trends import MEASURES, chart_months, find_benchmark
from .numbers import pct
from .words import chart_figures_where

__all__ = ["BENCHMARK_KEYWORDS", "benchmark_for", "chartable", "monthly_counts",
           "series_display", "trend_alt_text", "trend_counts", "trend_sentence",
           "trend_source_sentence", "trend_suppressed_sentence"]


def _month_key(month: Any) -> str:
    return pd.Timestamp(month).strftime("%Y-%m")


def monthly_counts(series: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One measure's monthly counts as a table of counts about children for the disclosure
    ledger: months (``YYYY-MM``) by ``numerator`` and ``rest`` (denominator minus numerator),
    so that each month's denominator is the row total."""
    s = series[series["measure"] == measure].sort_values("month")
    return pd.DataFrame({"numerator": s["numerator"].astype(int).to_numpy(),
                         "rest": (s["denominator"] - s["numerator"]).astype(int).to_numpy()},
                        index=[_month_key(m) for m in s["month"]])


def series_display(series: pd.DataFrame, ledger: Any = None) -> pd.DataFrame:
    """Wide monthly table: one row per month, 'numerator of denominator (rate)' per measure.

    The counts are counts of children (contacts, referrals, assessments): with the page's
    disclosure ``ledger`` (``analysis.reporting.Ledger``) each measure's months are recorded as
    table ``monthly_<measure>`` (``monthly_counts``; each month's denominator published, the
    months never added up) and a suppressed count shows ``c``, with no rate (a rate and
    either count give the other back)."""
    s = series.copy()
    if ledger is not None:
        for measure in s["measure"].unique():
            ledger.table(f"monthly_{measure}", monthly_counts(s, measure),
                         column_totals=False)  # the months are never added up on the page

    def cell(measure: str, month: Any, n: int, d: int, r: float, ok: bool) -> str:
        star = "" if ok else " *"
        if ledger is None:
            return f"{n:,} of {d:,} ({pct(r)}){star}"
        name, key = f"monthly_{measure}", _month_key(month)
        num = f"{n:,}" if ledger.is_shown(name, key, "numerator") else "c"
        den = f"{d:,}" if ledger.is_shown(name, key) else "c"
        rate = f" ({pct(r)})" if "c" not in (num, den) else ""
        return f"{num} of {den}{rate}{star}"

    s["cell"] = [cell(m, mo, n, d, r, ok) for m, mo, n, d, r, ok in zip(
        s["measure"], s["month"], s["numerator"], s["denominator"], s["rate"],
        s["lookback_complete"], strict=True)]
    wide = s.pivot(index="month", columns="measure", values="cell").reset_index()
    wide["month"] = pd.to_datetime(wide["month"]).dt.strftime("%b %Y")
    names = {"month": "Month", **{k: v["title"] for k, v in MEASURES.items()}}
    cols = ["month", *[k for k in MEASURES if k in wide.columns]]
    return wide[cols].rename(columns=names).fillna("")


BENCHMARK_KEYWORDS = {
    "assessment_45": (("45",), ("assessment",)),
    "rereferral": (("re-referral",), ("rereferral",), ("re_referral",), ("re-referrals",)),
    "conversion": (("conversion",), ("contacts", "referral")),
    "repeat_plan": (("protection plan", "second time"), ("repeat", "protection plan")),
}


def benchmark_for(benchmarks: pd.DataFrame | None, measure: str) -> dict[str, Any] | None:
    """The published national figure for a measure, with a label naming its source and year."""
    if benchmarks is None:
        return None
    for kw in BENCHMARK_KEYWORDS.get(measure, ()):
        row = find_benchmark(benchmarks, *kw)
        if row:
            src = next((str(row[c]) for c in ("source", "publication", "publisher")
                        if c in row and not _isna(row[c])), "")
            year = next((str(row[c]) for c in ("year", "period", "as_at") if c in row
                         and not _isna(row[c])), "")
            label = f"National {pct(row['value'], 1)}" + (f" ({year})" if year else "") + (
                f", {src}" if src else "")
            return {"value": row["value"], "label": label, "source": src, "year": year}
    return None


def _special_causes(res: pd.DataFrame) -> pd.DataFrame:
    """Rows of an xmr result flagged as special cause (any column naming variation)."""
    for c in ("variation", "special_cause", "signal"):
        if c in res.columns:
            col = res[c]
            if col.dtype == bool:
                return res[col]
            txt = col.astype(str).str.lower()
            return res[txt.str.contains("special|improv|concern") & ~txt.str.contains("common")]
    return res.iloc[0:0]


def chartable(series: pd.DataFrame, measure: str, ledger: Any = None) -> bool:
    """Whether a measure's chart may be drawn: it has months to chart and, with the page's
    disclosure ledger (after ``series_display``), none of them has a suppressed count (a
    plotted rate with its published denominator would give the count back)."""
    s = chart_months(series, measure)
    if s.empty:
        return False
    if ledger is None:
        return True
    hidden = ledger.hidden(f"monthly_{measure}")
    return not any(_month_key(m) in hidden for m in s["month"])


def trend_counts(series: pd.DataFrame, measure: str, ledger: Any = None
                 ) -> tuple[int | str, int | str]:
    """The charted months' total (numerator, denominator) as the page may publish them: with
    the disclosure ledger, sums of its recorded cells (``Ledger.count``), ``"c"`` where one
    would give a suppressed count away."""
    s = chart_months(series, measure)
    num, den = int(s["numerator"].sum()), int(s["denominator"].sum())
    if ledger is None or s.empty:
        return num, den
    name, months = f"monthly_{measure}", [_month_key(m) for m in s["month"]]
    return (ledger.count(f"{measure}: numerator of the charted months",
                         ledger.parts(name, rows=months, columns=["numerator"])),
            ledger.count(f"{measure}: denominator of the charted months",
                         ledger.parts(name, rows=months)))


def trend_source_sentence(from_journey: bool, plans: bool = False) -> str:
    """Which data the trend figures come from, said on the page."""
    if not from_journey:
        return ("Source of the trend figures: the canonical cases table (front-door contacts "
                "with their referral and assessment dates as the case system exported them).")
    return ("Source of the trend figures: the Ofsted Annex A workbook. Each contact of list 1 "
            "is linked by child and date to the referral (list 3) and assessment (list 4) "
            "that followed it (the child journey)"
            + ("; repeat child protection plans come from list 7" if plans else "") + ".")


def trend_suppressed_sentence(measure: str) -> str:
    """Why a measure has no chart: some months' counts are from 1 to 5 (DfE disclosure
    control)."""
    return (f"{MEASURES[measure]['title']}: some months' counts are from 1 to 5 (shown as c in "
            "the monthly table), so this measure is not charted month by month: a plotted "
            "share would give those counts away.")


def trend_sentence(series: pd.DataFrame, res: pd.DataFrame, measure: str,
                   benchmark: dict[str, Any] | None = None,
                   counts: tuple[int | str, int | str] | None = None) -> str:
    """Plain reading of one XmR chart: average, latest month, special causes, benchmark.
    ``counts``: the charted months' totals as the page may publish them (``trend_counts``)."""
    info = MEASURES[measure]
    s = chart_months(series, measure)
    if s.empty:
        return f"{info['title']}: no complete months to chart."
    mean = float(s["numerator"].sum() / s["denominator"].sum())
    last = s.iloc[-1]
    month = pd.Timestamp(last["month"]).strftime("%B %Y")
    num, den = counts if counts is not None else (int(s["numerator"].sum()),
                                                  int(s["denominator"].sum()))
    shown = "c" not in (num, den)
    tally = (f" ({num:,} of {den:,})" if shown else "")
    text = (f"{info['title']}: {pct(mean) if shown else 'not published (c)'} over {len(s)} "
            f"months{tally}; {pct(last['rate'])} in {month}.")
    sc = _special_causes(res)
    if len(sc):
        imp = [c for c in ("variation", "special_cause") if c in sc.columns]
        kinds = set(sc[imp[0]].astype(str).str.lower()) if imp else set()
        if any("improv" in k for k in kinds):
            text += " The chart shows special-cause variation in the improving direction."
        elif any("concern" in k for k in kinds):
            text += " The chart shows special-cause variation that is a concern."
        else:
            text += " The chart shows special-cause variation: something has probably changed."
    else:
        text += (" Only common-cause variation: the month-to-month changes are the ordinary "
                 "ups and downs of the process.")
    if benchmark:
        rel = "above" if mean > benchmark["value"] else "below"
        text += f" That is {rel} the national figure of {pct(benchmark['value'], 1)}"
        text += f" ({benchmark['year']}, {benchmark['source']})." if benchmark.get("source") \
            else "."
    return text


def trend_alt_text(series: pd.DataFrame, res: pd.DataFrame, measure: str,
                   benchmark: dict[str, Any] | None = None,
                   counts: tuple[int | str, int | str] | None = None,
                   where: str = "in the table above") -> str:
    """Alt text of an XmR chart (``trend_chart``): the measure, the months and whether any
    special cause shows, in at most ``figures.ALT_MAX`` characters; the reading is in the
    page's text (``trend_sentence``) and every month's figure in the table ``where``.
    ``benchmark`` and ``counts`` are kept for callers; the numbers are not repeated here."""
    s = chart_months(series, measure)
    title = MEASURES[measure]["title"].lower()
    if s.empty:
        return f"XmR chart of {title}: no data."
    first = pd.Timestamp(s["month"].iloc[0]).strftime("%B %Y")
    last = pd.Timestamp(s["month"].iloc[-1]).strftime("%B %Y")
    kind = ("special-cause variation" if len(_special_causes(res))
            else "only common-cause variation")
    line = " and the national figure" if benchmark else ""
    return (f"XmR chart of {title} by month, {first} to {last}, with its mean{line}: "
            f"{kind}. {chart_figures_where(where)}")
