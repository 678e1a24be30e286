"""Public summaries of a drawn sample (no case-level data): for the notebook and the site.

``design_summary`` gives each stratum's population, sampled cases, sampling fraction and
margin of error (Cochran 1977 ch. 4), and a total row with the margin of the stratified
estimate (ch. 5); with a disclosure ledger the populations that may not be published are
shown as ``c``.  ``margin_plot`` draws the margins, stratum by stratum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..proportions import SMALL_N
from ..reporting import margin
from .design import stratified_margin
from .manifest import read_manifest


def population_counts(manifest: str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """The cases in each stratum's population (counts of children), one column ``cases``
    indexed by stratum code, in the manifest's order: the table the disclosure ledger records
    (``analysis.reporting.Ledger.table``) wherever a page publishes them."""
    m = read_manifest(manifest)
    st = [s for s in m.get("strata", []) if isinstance(s, Mapping) and "stratum" in s]
    return pd.DataFrame({"cases": [int(s.get("population", 0)) for s in st]},
                        index=[str(s["stratum"]) for s in st])


def population_table_name(manifest: str | Path | Mapping[str, Any]) -> str:
    """The disclosure ledger's name for a design's population table (one per design, on the
    sample page; other pages link to it as ``audit_sample/<name>``)."""
    return f"{read_manifest(manifest).get('design_name', 'design')}_population"


def design_summary(manifest: str | Path | Mapping[str, Any], ledger: Any = None
                   ) -> pd.DataFrame:
    """Per-stratum population, sampled, fraction, margin and notes, plus a total row.

    Aggregate only: never a case id.  ``attrs`` carries the design's title, the unit of its
    strata ("service" when stratified by service) and the planning p and confidence.

    The populations are counts of children: with a disclosure ``ledger``
    (``analysis.reporting.Ledger``) they are recorded there and the column
    ``population_shown`` holds what may be published (the number, or ``"c"`` for 1 to 5 and
    the counts that would give one away); every display of the summary then hides a
    suppressed population and whatever would reveal it (the sampling fraction, the margin of
    error with its finite population correction, the cases needed, "every case audited").
    """
    m = read_manifest(manifest)
    st = pd.DataFrame(m["strata"])
    cols = ["stratum", "label", "population", "sampled", "fraction", "margin_of_error",
            "too_small", "note"]
    st = st[cols].copy()
    planning = m.get("planning", {})
    N, n = int(st["population"].sum()), int(st["sampled"].sum())
    total_moe = planning.get("overall_margin_of_error")
    if total_moe is None:
        total_moe = stratified_margin(st["population"].tolist(), st["sampled"].tolist(),
                                      planning.get("p", 0.5), planning.get("confidence", 0.95))
    total = pd.DataFrame([{"stratum": "all", "label": "All strata", "population": N,
                           "sampled": n, "fraction": n / N if N else math.nan,
                           "margin_of_error": float(total_moe), "too_small": n < SMALL_N,
                           "note": "stratified estimate"}])
    out = pd.concat([st, total], ignore_index=True)
    out = out.astype({"population": int, "sampled": int, "fraction": float,
                      "margin_of_error": float, "too_small": bool})
    design = m.get("design", {})
    columns = (design.get("strata") or {}).get("columns") or []
    if ledger is not None:
        sup = ledger.table(population_table_name(m), population_counts(m))
        shown = sup.table["cases"]
        out["population_shown"] = [*(shown.loc[str(k)] for k in st["stratum"]),
                                   shown.iloc[-1] if len(shown) > len(st) else N]
    else:
        out["population_shown"] = out["population"].astype(object)
    out.attrs = {"title": design.get("title") or m.get("design_name", ""),
                 "design_name": m.get("design_name", ""),
                 "unit": "service" if columns == ["service"] else "group",
                 "p": planning.get("p", 0.5), "confidence": planning.get("confidence", 0.95)}
    return out


def margin_plot(summary: pd.DataFrame, title: str | None = None):
    """Horizontal bars: expected margin of error per stratum; too-small strata hatched."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    st = summary[summary["stratum"] != "all"].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * len(st)))
    y = np.arange(len(st))
    from ..reporting.sampling import population_hidden, population_text

    hidden = np.array([population_hidden(r) for r in st.itertuples()], dtype=bool)
    moe = np.where(hidden, 0.0, st["margin_of_error"].fillna(0).to_numpy() * 100)
    small = st["too_small"].to_numpy()
    colours = [PALETTE["vermillion"] if s else PALETTE["sky"] for s in small]
    bars = ax.barh(y, moe, color=colours, edgecolor="black", linewidth=0.6)
    for bar, s in zip(bars, small, strict=True):
        if s:
            bar.set_hatch("//")
    for yi, r in zip(y, st.itertuples(), strict=True):
        tag = (f"n = {r.sampled} of {population_text(r)}"
               + ("  (margin not shown: population c)" if population_hidden(r) else "")
               + ("  (too few to generalise)" if r.too_small else "")
               + ("  (census)" if r.sampled >= r.population and not population_hidden(r) else ""))
        ax.annotate(tag, (moe[yi], yi), textcoords="offset points", xytext=(5, -3), fontsize=8)
    tot = float(summary.loc[summary["stratum"] == "all", "margin_of_error"].iloc[0])
    if not math.isnan(tot):
        ax.axvline(100 * tot, color=PALETTE["black"], ls="--", lw=1,
                   label=f"All strata together {margin(tot)}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_yticks(y, st["label"].tolist())
    ax.set_xlim(0, max(110.0, float(moe.max()) * 2.0 if len(moe) else 110.0))
    conf = summary.attrs.get("confidence", 0.95)
    ax.set_xlabel(f"Expected margin of error (± percentage points, {conf * 100:g}% confidence)")
    ax.set_title(title or "Expected margin of error by stratum")
    fig.tight_layout()
    return fig
