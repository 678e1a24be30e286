"""The tier-2 review's words and tables: what ``analysis.review`` computes, as the page and the
findings say it.

Rules 1 to 4 of :mod:`analysis.reporting` applied to the review's results: a group under the
minimum is "too few to report" with no count met, percentage or interval; counts of children
(cases held, delay by service) go through the page's disclosure ledger; a share is worded
only as its interval allows (``proportions.describe_proportion`` and ``quantifier``); one
formatter (:mod:`analysis.reporting.numbers`). The computations stay in
:mod:`analysis.review` and return numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import proportions as pr
from ..review.common import (
    DIRECTION_LABELS,
    TOO_HIGH,
    TOO_LOW,
    _isna,
    _ordered_groups,
    group_label,
    group_noun,
)
from .numbers import counted, number, p_value, pct, points
from .rules import TOO_FEW, few_children, min_audited, reportable, too_few
from .words import CENSORED_NOTE

if TYPE_CHECKING:
    from ..review.delay import DelayResult

__all__ = ["WEIGHTED_NOTE", "auditor_agreement_table", "change_display", "change_summary",
           "data_sentence", "delay_reading", "delay_service_display", "delay_text",
           "describe_share", "findings_html", "officers_sentence", "previous_round_words",
           "reproduction_display", "results_display", "sample_display", "sample_size_note",
           "service_summary", "share_word", "standards_matrix", "themes_display", "tier_display",
           "weighted_note", "weighted_sentence"]


def weighted_sentence(ci: pr.ProportionCI, noun: str, outcome: str, confidence: float) -> str:
    """Wording for a design-weighted proportion: the unweighted count first (what the auditors
    saw), then the weighted estimate (the headline) with its interval and effective sample
    size.  Why the two differ is said once per section (:func:`weighted_note`); what a firmer
    answer would take, likewise (:func:`sample_size_note`)."""
    lvl = f"{confidence * 100:g}%"
    if ci.n == 0:
        return f"No {noun} cases could be judged."
    if not reportable(ci.n):
        return _sentence(too_few(ci.n, f"{noun} cases"))
    head = f"{ci.successes} of {ci.n} {noun} cases {outcome}."
    return (f"{head} Weighted to all the cases of these services: an estimated "
            f"{pct(ci.estimate)} ({lvl} CI {pct(ci.ci_low)} to {pct(ci.ci_high)}; "
            f"effective sample size {number(ci.n_eff, 0)}).")


#: The line said wherever a weighted and an unweighted figure of the same standard meet
#: (issue 15): why they differ, and which one is the headline.
WEIGHTED_NOTE = ("Two figures for one standard: the count (\"15 of 29\") is the audited cases "
                 "as sampled; the weighted percentage counts each audited case for the number "
                 "of its service's cases it stands for (services were sampled at different "
                 "rates), so it estimates all the cases of these services and is the headline. "
                 "The change since the last round compares the counts of audited cases "
                 "(unweighted), so its percentages can differ from the headline.")


def weighted_note(example: str | None = None) -> str:
    """:data:`WEIGHTED_NOTE`, with the section's own first count as its example (``"15 of 29"``)
    when given, said once where weighted shares and unweighted counts of a standard meet."""
    text = WEIGHTED_NOTE
    if example:
        text = text.replace("\"15 of 29\"", f"\"{example}\"")
    else:
        text = text.replace(" (\"15 of 29\")", "")
    return f"**Weighted and unweighted.** {text}"


def sample_size_note(results: pd.DataFrame, confidence: float = 0.95, n_col: str = "n") -> str:
    """The sample-size sentence said once for a section (not once per finding): when any
    reportable share of ``results`` has an interval wider than ``proportions.WIDE``, how many
    cases a share to within ±10 points would need (Cochran 1977, at the conservative p = 0.5:
    ``proportions.n_for_interval_width``); "" when none is that wide."""
    if results is None or not len(results) or "ci_low" not in results:
        return ""
    n = pd.to_numeric(results[n_col], errors="coerce")
    width = pd.to_numeric(results["ci_high"], errors="coerce") - pd.to_numeric(
        results["ci_low"], errors="coerce")
    wide = [reportable(int(k)) and w > pr.WIDE for k, w in zip(n.fillna(0), width.fillna(0),
                                                              strict=True)]
    if not any(wide):
        return ""
    need = pr.n_for_interval_width(0.10, p=0.5, confidence=confidence)
    return (f"**How firm.** {sum(wide)} of these intervals are wider than {pr.WIDE * 100:g} "
            f"points: a sample of about {need} cases would be needed for ±10 points.")


def describe_share(ci: pr.ProportionCI, weighted: bool, noun: str, outcome: str,
                   confidence: float, method: str, audited: int | None = None) -> str:
    """The sentence of a finding: ``proportions.describe_proportion`` (small-n rule; the
    wide-interval sentence is said once per section, :func:`sample_size_note`) for an
    unweighted count, ``weighted_sentence`` for a design-weighted one.  When only
    one of several audited cases could be judged, the sentence says so (rather than that one
    case was audited)."""
    if not reportable(ci.n):
        if audited is not None and audited > ci.n:
            return _sentence(too_few(ci.n, f"{noun} cases",
                                     verb="judged on this standard"))
        return _sentence(too_few(ci.n, f"{noun} cases"))
    if weighted:
        return weighted_sentence(ci, noun, outcome, confidence)
    return pr.describe_proportion(ci.successes, ci.n, noun="cases", service=noun,
                                  confidence=confidence, method=method,  # type: ignore[arg-type]
                                  outcome=outcome, wide=math.inf)


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def share_word(ci: pr.ProportionCI, weighted: bool, confidence: float, method: str) -> str:
    """all / most / some / fewer than half / none, as the interval allows
    (``proportions.quantifier``; for a design-weighted share the same rules on its interval);
    blank below five cases, which get case observations only."""
    if not reportable(ci.n):
        return ""
    if not weighted:
        return pr.quantifier(ci.successes, ci.n, confidence=confidence,
                             method=method)  # type: ignore[arg-type]
    return pr.quantifier_for(ci)


def results_display(results: pd.DataFrame) -> pd.DataFrame:
    """A readable table of ``standard_results``: 'x of n', the percentage and interval only
    where there are at least five cases."""
    def share(r: Any) -> str:
        if not reportable(r.n):
            return too_few(r.n, verb="judged")
        est = pct(r.estimate) + (" (weighted)" if r.weighted else "")
        return f"{est}, {pct(r.ci_low)} to {pct(r.ci_high)}"

    return pd.DataFrame({
        "Service": results["group_label"], "Standard": results["standard_label"],
        "Cases meeting the standard": [_count_cell(s, n) for s, n in
                                       zip(results["successes"], results["n"], strict=True)],
        "Share and 95% interval": [share(r) for r in results.itertuples()],
        "Finding": results["finding_id"],
    })


def sample_display(frame: pd.DataFrame, manifest: dict[str, Any] | None = None,
                   ledger: Any = None) -> pd.DataFrame:
    """The sample by service: cases audited and, from the sample manifest, the cases the
    service held (the population sampled) and how many cases each audited case stands for.

    Cases held are counts of children: with the page's disclosure ``ledger``
    (``analysis.reporting.Ledger``) they are recorded as table ``cases_held``, suppressed
    exactly as the sample page suppresses the same populations (``sampling.design_summary``:
    the same counts in the same order give the same pattern) and linked to that page's table,
    so the release-wide audit sees they are one count. The weight (population / audited) is
    hidden wherever the population is, since it would reveal it. Every stratum of the design
    is listed, including a service with no case audited. Counts of audited cases are counts
    of audit judgements and are published as they are.
    """
    from ..disclosure import suppress
    from ..sampling import population_counts, population_table_name

    audited = frame.groupby("group").size()
    strata = {str(s["stratum"]): s for s in (manifest or {}).get("strata", [])
              if isinstance(s, dict) and "stratum" in s}
    groups = _ordered_groups(audited.index.tolist())
    if not (strata and all(g in strata for g in groups)):
        out = pd.DataFrame({"Service": [group_label(g) for g in groups],
                            "Cases audited": [int(audited[g]) for g in groups]})
        total = {"Service": "All services", "Cases audited": int(audited.sum())}
        return pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    pop = population_counts(manifest or {})
    order = list(pop.index)
    if ledger is not None:
        sup = ledger.table("cases_held", pop)
        ledger.same("cases held = the sample page's populations", ledger.parts("cases_held"),
                    [(f"audit_sample/{population_table_name(manifest or {})}", r, "cases")
                     for r in order])
    else:
        sup = suppress(pop, totals=True)
    held = sup.table["cases"]
    order = _ordered_groups(order)  # shown in the review's order of services
    out = pd.DataFrame({
        "Service": [group_label(g) for g in order],
        "Cases audited": [int(audited.get(g, 0)) for g in order],
        "Cases held by the service": [held.loc[g] for g in order],
        "Each audited case stands for": [
            "c" if isinstance(held.loc[g], str) else
            ("" if not audited.get(g, 0) else
             f"{number(int(pop.loc[g, 'cases']) / int(audited[g]), 1)} cases")
            for g in order]})
    total = {"Service": "All services", "Cases audited": int(audited.sum()),
             "Cases held by the service": held.iloc[-1], "Each audited case stands for": ""}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def _count_cell(successes: float, n: float) -> str:
    """'x of n' for a group that may be reported; "n judged: too few to report" (no count
    met) below the minimum; "–" for none."""
    if not n or _isna(n):
        return "–"
    if not reportable(n):
        return too_few(n, verb="judged")
    return f"{int(successes)} of {int(n)}"


def standards_matrix(results: pd.DataFrame) -> pd.DataFrame:
    """Services (rows) by standards (columns), each cell 'x of n': the overview table."""
    r = results.assign(cell=[_count_cell(s, n) for s, n in
                             zip(results["successes"], results["n"], strict=True)])
    wide = r.pivot(index="group_label", columns="standard_label", values="cell")
    order = list(dict.fromkeys(results["group_label"]))
    cols = list(dict.fromkeys(results["standard_label"]))
    wide = wide.reindex(index=order, columns=cols)
    wide.index.name = "Service"
    wide.columns.name = None
    return wide


def service_summary(results: pd.DataFrame, group: str) -> str:
    """Markdown: the service's findings as Hackney wrote them, one bullet per standard."""
    sub = results[results["group"] == group]
    if sub.empty:
        return ""
    n = int(sub["cases_audited"].iloc[0])
    head = (f"A total of {n} {group_noun(group)} case{'s' if n != 1 else ''} "
            f"{'were' if n != 1 else 'was'} audited.")
    if not reportable(n):
        head += (f" With fewer than {min_audited()} cases audited, results for the service are "
                 f"{TOO_FEW}.")
    bullets = [f"* {t}" for t in sub["text"]]
    return "\n".join([head, "", *bullets])




def auditor_agreement_table(agree: pd.DataFrame) -> pd.DataFrame:
    """The auditors' agreement per standard as a readable table (``auditor_agreement``)."""
    def kap(r: Any) -> str:
        return "not measurable" if _isna(r.kappa) else \
            f"{number(r.kappa)} ({number(r.ci_low)} to {number(r.ci_high)})"

    return pd.DataFrame({
        "Standard": agree["standard_label"],
        "Cases with two or more auditors": agree["cases"].astype(int),
        "All auditors gave the same answer": [
            f"{int(s)} of {int(n)}" for s, n in zip(agree["same_answer"], agree["cases"],
                                                    strict=True)],
        "Pairs of answers agreeing": [pct(p) for p in agree["percent_agreement"]],
        "Split between met and not met": agree["split_met_not_met"].astype(int),
        "Fleiss' kappa (95% interval)": [kap(r) for r in agree.itertuples()],
        "Gwet's AC1": [number(a, missing="–") for a in agree["ac1"]],
    })




def change_display(ch: pd.DataFrame) -> pd.DataFrame:
    def cell(x: int, n: int) -> str:
        if not n:
            return "–"
        if not reportable(n):
            return too_few(n, verb="judged")
        return f"{int(x)} of {int(n)} ({pct(x / n)})"

    return pd.DataFrame({
        "Standard": ch["standard_label"],
        "Previous round": [cell(x, n) for x, n in zip(ch["x1"], ch["n1"], strict=True)],
        "This round": [cell(x, n) for x, n in zip(ch["x2"], ch["n2"], strict=True)],
        "Change (points, 95% interval)": [
            "–" if _isna(r.difference) else
            f"{points(r.difference, signed=True, unit=False)} "
            f"({points(r.ci_low, signed=True, unit=False)} to "
            f"{points(r.ci_high, signed=True, unit=False)})"
            for r in ch.itertuples()],
        "Fisher's exact p": [p_value(p, missing="–") for p in ch["p_value"]],
        "Change": list(ch["change"]),
    })




def reproduction_display(rep: pd.DataFrame) -> pd.DataFrame:
    """The reproduction of one service as a compact table: finding id, standard, the count and
    the share with its interval (five cases or more). The report's words, what the numbers
    support and the verdict are the findings themselves, shown below the table once."""
    def share(r: Any) -> str:
        if _isna(r.cases_met) or not reportable(r.cases_judged):
            return "–"
        return f"{pct(r.estimate)} ({pct(r.ci_low)} to {pct(r.ci_high)})"

    return pd.DataFrame({
        "Finding": rep["finding_id"], "Standard": rep["standard_label"],
        "Count": ["–" if _isna(x) else f"{int(x)} of {int(n)}" for x, n in
                  zip(rep["cases_met"], rep["cases_judged"], strict=True)],
        "Share (95% interval)": [share(r) for r in rep.itertuples()],
    })


def themes_display(tr: pd.DataFrame) -> pd.DataFrame:
    """Services (rows) by themes (columns), each cell 'x of n'."""
    r = tr.assign(cell=[_count_cell(s, n) for s, n in
                        zip(tr["successes"], tr["n"], strict=True)])
    wide = r.pivot(index="group_label", columns="theme_label", values="cell")
    wide = wide.reindex(index=list(dict.fromkeys(tr["group_label"])),
                        columns=list(dict.fromkeys(tr["theme_label"])))
    wide.index.name = "Service"
    wide.columns.name = None
    return wide




def tier_display(tr: pd.DataFrame) -> pd.DataFrame:
    wide = []
    for g, sub in tr.groupby("group", sort=False):
        row: dict[str, Any] = {"Service": group_label(str(g)), "Cases": int(sub["n"].iloc[0])}
        for d in (TOO_LOW, TOO_HIGH):
            r = sub[sub["direction"] == d].iloc[0]
            if r.n == 0:
                cell = "–"
            elif not reportable(r.n):
                cell = too_few(r.n, verb="judged")
            else:
                cell = (f"{int(r.successes)} of {int(r.n)}: {pct(r.estimate)}"
                        f"{' (weighted)' if r.weighted else ''}, {pct(r.ci_low)} to "
                        f"{pct(r.ci_high)}")
            row[DIRECTION_LABELS[d]] = cell
        wide.append(row)
    return pd.DataFrame(wide)




def delay_text(res: DelayResult, n: int | str | None = None, referred: int | str | None = None,
               not_referred: int | str | None = None, escalation: str = "tier 3") -> str:
    """The plain-words reading of ``delay_to_tier3``. ``n``, ``referred`` and
    ``not_referred`` are the counts of children as the page may publish them (a number, or
    ``"c"`` from the disclosure ledger: ``delay_reading``); by default the result's own."""
    def c(v: int | str | None, own: int) -> str:
        v = own if v is None else v
        return v if isinstance(v, str) else f"{int(v):,}"

    if res.n == 0 or res.referred == 0:
        return res.text
    lvl = f"{res.extra.get('confidence', 0.95) * 100:g}%"
    head = (f"Of {c(n, res.n)} tier-2 cases with a first-concern date, "
            f"{c(referred, res.referred)} were referred to {escalation} by the round date; "
            "the other "
            f"{c(not_referred, res.censored)} are counted up to that date as not yet referred "
            "(censored).")
    if not _isna(res.median):
        ci_txt = (f"the upper limit of its {lvl} CI cannot be estimated yet"
                  if res.extra.get("upper_open") else
                  f"{lvl} CI {number(res.ci_low, 0)} to {number(res.ci_high, 0)} days")
        text = (f"{head} Half of the cases had been referred within {number(res.median, 0)} "
                f"days of the first concern ({ci_txt}).")
    else:
        text = (f"{head} Fewer than half of the cases had been referred to {escalation} by "
                "the round date, so the median time to referral cannot be estimated yet. "
                + CENSORED_NOTE)
    parts = [f"{pct(r.share_referred)} within {int(r.day)} days ({pct(r.ci_low)} to "
             f"{pct(r.ci_high)})" for r in res.by_day.itertuples()]
    return text + f" Estimated share referred to {escalation}: {'; '.join(parts)}."


def delay_reading(res: DelayResult, ledger: Any, table: str = "delay_by_service",
                  escalation: str = "tier 3") -> str:
    """``delay_text`` with its counts of children as the page's disclosure ledger publishes
    them: the counts of ``delay_service_display``'s table (recorded as ``table``), stated as
    sums of its cells (``Ledger.count``), so a count suppressed in the table is not given away
    by the sentence."""
    parts = ledger.parts(table)
    if ledger.value(parts) != res.n:
        raise ValueError(f"the delay table counts {ledger.value(parts)} cases, the "
                         f"Kaplan-Meier estimate {res.n}: they must be the same cases")
    return delay_text(res, n=ledger.count("delay: cases with dates", parts),
                      referred=ledger.count("delay: referred",
                                            ledger.parts(table, columns=["referred"])),
                      not_referred=ledger.count("delay: not yet referred",
                                                ledger.parts(table, columns=["not_referred"])),
                      escalation=escalation)


def delay_service_display(table: pd.DataFrame, ledger: Any = None,
                          name: str = "delay_by_service", escalation: str = "tier 3"
                          ) -> pd.DataFrame:
    """Disclosure-controlled display of ``delay_by_service``: counts of children of 1 to 5 are
    suppressed (with secondary suppression across the column and its total; DfE convention),
    and so are shares whose count is. With the page's disclosure ``ledger``
    (``analysis.reporting.Ledger``) the table is recorded there as ``name`` for the
    release-wide audit (and for ``delay_reading``); without one, ``analysis.disclosure``
    suppresses it on its own."""
    from ..disclosure import suppress

    counts = table.set_index("group_label")[["cases", "referred"]]
    counts = counts.assign(not_referred=counts["cases"] - counts["referred"])
    counts = counts[["referred", "not_referred"]]
    sup = (ledger.table(name, counts) if ledger is not None
           else suppress(counts, totals=True))
    shown = sup.table
    out = pd.DataFrame({"Service": shown.index,
                        "Cases with dates": shown["Total"].to_numpy(),
                        f"Referred to {escalation}": shown["referred"].to_numpy()})
    shares = []
    for label in shown.index:
        if label == "Total" or label not in table["group_label"].to_numpy():
            shares.append("")
            continue
        r = table[table["group_label"] == label].iloc[0]
        hidden = bool(sup.mask.loc[label].any())
        shares.append("c" if hidden else ("too few cases" if _isna(r.share_90) else
                                          f"{pct(r.share_90)} ({pct(r.ci_low)} to "
                                          f"{pct(r.ci_high)})"))
    out["Referred within 90 days (95% interval)"] = shares
    return out




def data_sentence(frame: pd.DataFrame, audit: pd.DataFrame, standards_name: str,
                  round_title: str, weighted: bool = True) -> str:
    """The page's opening "**Data.**" line: how many cases, services, auditors and agencies,
    each with its noun in the right number ("1 auditor from 1 agency")."""
    return (f"**Data.** {counted(frame['case_id'].nunique(), 'tier-2 case')} from "
            f"{counted(frame['group'].nunique(), 'service')} "
            f"{'was' if frame['case_id'].nunique() == 1 else 'were'} audited by "
            f"{counted(audit['auditor_id'].nunique(), 'auditor')} from "
            f"{counted(audit['auditor_agency'].nunique(), 'agency', 'agencies')}, against the "
            f"standards of the template *{standards_name}*. Round: {round_title}."
            + ("" if weighted else " No sample manifest was found, so every case counts "
               "equally."))


def officers_sentence(n_listed: int, noun: str = "tier") -> str:
    """How many audited cases the officers' internal list holds (the list itself is never
    published); fewer than the minimum reads "fewer than 5 audited cases" (rule 1)."""
    what = few_children(n_listed, "audited case")
    verb = "is" if what.startswith("1 ") else "are"
    return (f"**For the board's officers.** {what[0].upper() + what[1:]} {verb} listed for the "
            f"officers to look at again: cases held below the {noun} the auditors judged "
            f"right, and cases where at least one auditor judged a higher {noun}. The list is "
            "kept with the round's internal files and is not published.")


def previous_round_words(label: str, title: str = "", date: str = "") -> str:
    """The previous round named and dated for a heading or a sentence: its title and its
    reference date (``round.json``'s ``previous``; the pipeline passes both to the notebooks),
    e.g. "Repeat round (synthetic data), 2024/25, 31 March 2025"; the round file's
    ``previous_round_label`` when the title is not known."""
    if not title:
        return label
    if not date:
        return title
    day = pd.Timestamp(date)
    return f"{title}, {day.day} {day.strftime('%B %Y')}"


def change_summary(change: pd.DataFrame, previous: str) -> str:
    """One sentence on what changed since the previous round (``review.compare_rounds``): how
    many standards rose, fell, could not tell (:data:`analysis.reporting.CHANGE_RULE`) or could
    not be compared, naming the standards that rose or fell."""
    n = len(change)
    if not n:
        return f"No standard could be compared with {previous}."
    parts = []
    for word in ("rose", "fell"):
        names = list(change.loc[change["change"] == word, "standard_label"])
        if names:
            parts.append(f"{len(names)} {'rose' if word == 'rose' else 'fell'} "
                         f"({'; '.join(names)})")
    unclear = int((change["change"] == "cannot tell").sum())
    if unclear:
        parts.append(f"for {unclear} the data cannot tell whether there was a change")
    other = n - unclear - sum(int((change["change"] == w).sum()) for w in ("rose", "fell"))
    if other:
        parts.append(f"{other} could not be compared (too few cases, or not judged in one "
                     "round)")
    return (f"**Since {previous}:** of the {n} standards, " + "; ".join(parts) + ".")


def findings_html(findings: list[Any]) -> str:
    """The HTML of a run of findings (``analysis.findings.Finding``) with a sentence said
    once: consecutive findings whose words are the same (for example "4 FiP cases audited:
    too few to report.") share one paragraph that lists their ids, each still the anchor of
    its own finding; any other finding is shown as ``Finding.html`` shows it."""
    import html as _html

    out: list[str] = []
    i = 0
    while i < len(findings):
        j = i
        while j + 1 < len(findings) and findings[j + 1].text == findings[i].text:
            j += 1
        run = findings[i:j + 1]
        if len(run) == 1:
            out.append(run[0].html())
        else:
            ids = ", ".join(f'<span class="finding" id="{_html.escape(f.finding_id)}">'
                            f'<a href="#{_html.escape(f.finding_id)}">'
                            f"{_html.escape(f.finding_id)}</a></span>" for f in run)
            out.append(f'<div class="finding-group"><p>{_html.escape(run[0].text)}</p>'
                       f'<p class="finding-id">Findings {ids}</p></div>')
        i = j + 1
    return "".join(out)


def cooccurrence_display(co: pd.DataFrame) -> pd.DataFrame:
    """``review.theme_cooccurrence`` as one table (the sentence "the data cannot tell..." said
    once in the column "Reading", not once per theme): each theme's count among the cases held
    too low and among the others (rule 1: a group under the minimum has no count), the
    difference with its interval, Fisher's exact p and the reading under
    :data:`analysis.reporting.CHANGE_RULE`."""
    from .words import direction

    def cell(x: float, n: float) -> str:
        if not reportable(n) or _isna(x):
            return _count_cell(math.nan, n) if not reportable(n) else "–"
        return _count_cell(x, n)

    def reading(r: Any) -> str:
        if _isna(r.difference):
            return "too few to compare" if r.too_low and r.others else "no comparison"
        way = direction(r.ci_low, r.ci_high, r.p_value)
        return {"up": "more common when held too low",
                "down": "less common when held too low"}.get(way, "the data cannot tell")

    return pd.DataFrame({
        "Theme": co["theme_label"],
        "Cases held too low": [cell(x, n) for x, n in
                               zip(co["with_theme_too_low"], co["too_low"], strict=True)],
        "Other cases": [cell(x, n) for x, n in
                        zip(co["with_theme_others"], co["others"], strict=True)],
        "Difference (points, 95% interval)": [
            "–" if _isna(r.difference) else
            f"{points(r.difference, signed=True, unit=False)} "
            f"({points(r.ci_low, signed=True, unit=False)} to "
            f"{points(r.ci_high, signed=True, unit=False)})" for r in co.itertuples()],
        "Fisher's exact p": [p_value(p, missing="–") for p in co["p_value"]],
        "Reading": [reading(r) for r in co.itertuples()],
    })
