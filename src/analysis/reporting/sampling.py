"""The sample page's words and tables: what ``analysis.sampling`` computes about a design, as
the page and the findings say it.

Stratum populations are counts of children: where the page's disclosure ledger suppressed one
(``sampling.design_summary(manifest, ledger)`` fills ``population_shown``), every table and
sentence here shows ``c`` for it and leaves out what would give it back (the sampling fraction,
the margin of error with its finite population correction, the cases needed, "every case was
audited"). A stratum of fewer than five sampled cases is "too few to report" (rule 1 of
:mod:`analysis.reporting`). One formatter: :mod:`analysis.reporting.numbers`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..findings import finding_id
from ..proportions import SMALL_N
from ..sampling import (
    WIDE_MARGIN,
    VerifyResult,
    design_summary,
    in_sentence,
    read_manifest,
    sample_size,
)
from .numbers import margin, pct
from .rules import TOO_FEW, too_few_reason

__all__ = ["design_findings", "manifest_facts", "margin_alt_text", "plain_words",
           "planning_table", "population_hidden", "population_text", "summary_display",
           "verification_finding"]


def _population(r: Any) -> Any:
    """A summary row's population as it may be published: the number or ``"c"``."""
    return getattr(r, "population_shown", r.population)


def population_hidden(r: Any) -> bool:
    """True where a summary row's population is suppressed (``"c"``)."""
    return isinstance(_population(r), str)


def population_text(r: Any) -> str:
    p = _population(r)
    return p if isinstance(p, str) else f"{int(p):,}"


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The design summary formatted for ``show_table`` (percentages, plain headings); a
    suppressed population is ``c``, and so are its fraction and margin (they would give it
    away)."""
    conf = summary.attrs.get("confidence", 0.95)
    rows = list(summary.itertuples())
    return pd.DataFrame({
        "Stratum": summary["label"],
        "Cases in the population": [_population(r) for r in rows],
        "Cases sampled": summary["sampled"],
        "Sampling fraction": ["c" if population_hidden(r) else pct(r.fraction, 1, missing="")
                              for r in rows],
        f"Expected margin of error ({conf * 100:g}%)": [
            "c" if population_hidden(r) else margin(r.margin_of_error) for r in rows],
        "Note": summary["note"]})


_NUMBER_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four"}


def plain_words(summary: pd.DataFrame) -> str:
    """Plain-English reading of a design summary (Markdown): size, precision, small strata."""
    st = summary[summary["stratum"] != "all"]
    tot = summary[summary["stratum"] == "all"].iloc[0]
    unit = summary.attrs.get("unit", "group")
    conf = summary.attrs.get("confidence", 0.95)
    p = summary.attrs.get("p", 0.5)
    title = summary.attrs.get("title", "")
    lines = [
        f"**{title}.** {tot.sampled:,} cases were sampled from "
        + (f"{tot.population:,} eligible cases ({pct(tot.fraction, 1, missing='')})"
           if not population_hidden(tot) else "the eligible cases") + f" in {len(st)} "
        f"strat{'a' if len(st) != 1 else 'um'}. "
        f"Taken together, and weighted back to the population, they can estimate a share of "
        f"cases (for example, cases meeting a standard) to within about "
        f"{margin(tot.margin_of_error)} ({conf * 100:g}% confidence, assuming "
        f"{'the most cautious value of 50%' if p == 0.5 else f'a share near {pct(p)}'})."]
    small = st[st["sampled"] < SMALL_N]
    for r in small.itertuples():
        count = _NUMBER_WORDS.get(int(r.sampled), str(r.sampled))
        was = "was" if r.sampled == 1 else "were"
        case = "case" if r.sampled == 1 else "cases"
        tail = (" (every case was audited, but there are too few for a general finding)."
                if r.sampled >= r.population and not population_hidden(r) else ".")
        lines.append(f"{count} {in_sentence(r.label)} {case} {was} audited: no general finding "
                     f"can be drawn about that {unit}{tail}")
    wide = st[(st["sampled"] >= SMALL_N) & (st["margin_of_error"] > WIDE_MARGIN)]
    if len(wide):
        items = "; ".join(f"{r.label} ({r.sampled} cases, {margin(r.margin_of_error)})"
                          for r in wide.itertuples())
        lines.append(f"Findings for these strata are indicative only, because their margins are "
                     f"wide: {items}.")
    census = st[(st["sampled"] >= st["population"]) & (st["sampled"] >= SMALL_N)]
    for r in census.itertuples():
        if population_hidden(r):
            continue
        lines.append(f"Every {in_sentence(r.label)} case ({r.population}) was audited, so that "
                     "figure has no sampling error (auditors' judgements can still differ).")
    fine = st[(st["sampled"] >= SMALL_N) & (st["margin_of_error"] <= WIDE_MARGIN)
              & (st["sampled"] < st["population"])]
    if len(fine):
        lines.append(f"{len(fine)} strat{'a' if len(fine) != 1 else 'um'} "
                     f"{'have' if len(fine) != 1 else 'has'} a margin of "
                     f"{margin(float(fine['margin_of_error'].max()))} or "
                     "better.")
    return "\n\n".join(lines)


def manifest_facts(manifest: str | Path | Mapping[str, Any],
                   summary: pd.DataFrame | None = None) -> str:
    """What makes the sample checkable (Markdown): seed, hashes, counts, versions; no ids.
    With the page's ``design_summary`` the number of eligible cases is stated only where the
    disclosure ledger publishes it."""
    m = read_manifest(manifest)
    hidden_total = summary is not None and population_hidden(summary.iloc[-1])
    rows = m.get("rows", {})
    ex = m.get("exclusions", {})
    design = m.get("design", {})
    parts = []
    if design.get("filter"):
        parts.append("; ".join(f"{k} in {', '.join(v)}" for k, v in design["filter"].items()))
    dw = design.get("date_window")
    if dw:
        parts.append(f"{dw['column']} from {dw.get('start') or 'the start'} to "
                     f"{dw.get('end') or 'the end'}")
    eligible = f" ({'; '.join(parts)})" if parts else ""
    excluded = (f", {rows.get('excluded_previous', 0):,} left out because they were audited "
                f"recently" if ex.get("excluded_case_ids") else "")
    versions = m.get("versions", {})
    return (f"**How to check this sample.** Design `{m.get('design_name')}` "
            f"(SHA-256 `{str(m.get('design_sha256', ''))[:16]}`), seed **{m.get('seed')}**. "
            f"The cases table had {rows.get('input', 0):,} rows; "
            + (f"its canonical SHA-256 is `{m.get('input_sha256')}`. " if m.get("input_sha256")
               else f"the SHA-256 of its file is `{m.get('input_file_sha256')}`. ")
            + f"{'c' if hidden_total else format(rows.get('frame', 0), ',')} cases were eligible"
            f"{eligible}{excluded}. Drawn with safeguarding-qa "
            f"{versions.get('safeguarding-qa', '')}"
            f" (git {str(m.get('git_commit', 'unknown'))[:12]}) on "
            f"{str(m.get('created', ''))[:10]}. Anyone holding the same cases table can "
            f"re-draw it: `sqa sample --verify manifest.json --cases cases.parquet`.")


def planning_table(summary: pd.DataFrame, margins: Sequence[float] = (0.05, 0.10, 0.15),
                   p: float | None = None, confidence: float | None = None) -> pd.DataFrame:
    """Cases needed per stratum (and overall, as one random sample) for each target margin.

    ``sample_size`` with the finite population correction (Cochran 1977, ch. 4); a stratum
    needing all its cases is a census.
    """
    p = summary.attrs.get("p", 0.5) if p is None else p
    confidence = summary.attrs.get("confidence", 0.95) if confidence is None else confidence
    rows = list(summary.itertuples())
    out = pd.DataFrame({"Stratum": summary["label"],
                        "Cases in the population": [_population(r) for r in rows],
                        "Cases sampled": summary["sampled"]})
    for e in margins:  # with the finite population correction, a need reveals its population
        out[f"Needed for ±{e * 100:g} points"] = [
            "c" if population_hidden(r)
            else sample_size(e, int(r.population), p=p, confidence=confidence) for r in rows]
    return out


def margin_alt_text(summary: pd.DataFrame, where: str = "in the table above") -> str:
    """Alt text for ``margin_plot`` (at most ``figures.ALT_MAX`` characters): how many strata,
    how many too small, and the margin of all strata together; every stratum's margin and
    size are in the table ``where``."""
    from .words import chart_figures_where

    st = summary[summary["stratum"] != "all"]
    small = int(st["too_small"].sum())
    tot = summary[summary["stratum"] == "all"].iloc[0]
    few = f", {small} too few for a general finding" if small else ""
    return (f"Bar chart of the expected margin of error for each of {len(st)} strata of the "
            f"sample{few}; all strata together {margin(tot.margin_of_error)}. "
            f"{chart_figures_where(where)}")


def design_findings(manifest: str | Path | Mapping[str, Any], ledger: Any = None
                    ) -> list[dict[str, Any]]:
    """Citable findings about a sample design (for ``FindingsLog``): one for the design, one
    for each stratum too small for a general finding.  Ids: ``AS-<DESIGN>-DESIGN`` and
    ``AS-<DESIGN>-<STRATUM>-TOO-SMALL``.  With a disclosure ``ledger`` the population is
    stated only where the ledger publishes it (``design_summary``)."""
    m = read_manifest(manifest)
    s = design_summary(m, ledger)
    tot = s[s["stratum"] == "all"].iloc[0]
    name = str(m.get("design_name", "design"))
    conf = s.attrs.get("confidence", 0.95)
    out = [{
        "finding_id": finding_id("AS", name, "DESIGN"), "topic": "Sample design",
        "basis": "design",
        "group": s.attrs.get("title", name), "measure": f"expected margin of error "
        f"({conf * 100:g}%)", "n": int(tot.sampled), "estimate": float(tot.margin_of_error),
        "method": "stratified random sample; margin from Cochran (1977) ch. 5 with p = "
        f"{s.attrs.get('p', 0.5)}",
        "text": (f"The {s.attrs.get('title', name)} sample has {tot.sampled} cases from "
                 f"{population_text(tot)} eligible cases in {len(s) - 1} strata (seed "
                 f"{m.get('seed')}); together they estimate a share of cases to within about "
                 f"{margin(tot.margin_of_error)} at {conf * 100:g}% confidence.")}]
    unit = s.attrs.get("unit", "group")
    for r in s[(s["stratum"] != "all") & s["too_small"]].itertuples():
        count = _NUMBER_WORDS.get(int(r.sampled), str(r.sampled))
        case = "case was" if r.sampled == 1 else "cases were"
        out.append({
            "finding_id": finding_id("AS", name, r.stratum, "TOO-SMALL"), "topic": "Sample design",
            "group": r.label, "measure": "cases sampled", "n": int(r.sampled),
            "method": f"fewer than {SMALL_N} cases: no percentage is published",
            "basis": "design", "reason": too_few_reason(),
            "text": f"{count} {in_sentence(r.label)} {case} audited: {TOO_FEW} about that "
                    f"{unit}."})
    return out


def verification_finding(manifest: Mapping[str, Any], result: VerifyResult) -> dict[str, Any]:
    """A citable finding saying whether the sample re-draws identically from the cases table."""
    name = str(manifest.get("design_name", "design"))
    if result.ok:
        text = (f"Re-drawing the {name.replace('_', ' ')} sample from the cases table with seed "
                f"{manifest.get('seed')} gives exactly the same {len(manifest['cases'])} cases: "
                "the sample is verified.")
    else:
        text = (f"The {name.replace('_', ' ')} sample could not be verified against the cases "
                f"table: {'; '.join(result.reasons)}.")
    return {"finding_id": finding_id("AS", name, "VERIFIED"), "topic": "Sample design",
            "group": name, "measure": "sample re-draws identically", "n": len(manifest["cases"]),
            "method": "re-draw from the canonical cases table (sqa sample --verify)",
            "basis": "design", "text": text}


