"""The board's pages in words: a summary per round, the trends across rounds, the actions
tracked to impact, and the board paper (issue 14), from the numbers of :mod:`analysis.board`.

Assurance and variation are shown with an icon **and** words (never colour or a symbol
alone: WCAG 2.2 success criterion 1.4.1); the icons follow the meaning of NHS England's
"Making Data Count" assurance and variation icons.  Every figure here is a finding the
rounds' pages already published (through this reporting layer), so a group too small to
report stays without figures.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..board import HEADLINE_RULE, XMR_MIN_POINTS, Action, Board, Point, Status, headlines, impact
from .numbers import interval, pct, points
from .words import CHANGE_RULE

__all__ = ["ASSURANCE_WORDS", "PAGE_CACHE", "PAGE_GROUPS", "Paper", "VARIATION_WORDS",
           "actions_markdown", "board_pages", "headline_sentence", "paper", "summary_markdown",
           "trends_markdown"]

#: (icon, words) of each assurance code.
ASSURANCE_WORDS = {
    "meets": ("\u2714", "Consistently meets the target"),
    "misses": ("\u2716", "Consistently misses the target"),
    "hit_and_miss": ("\u25d0", "Hit and miss: the data cannot tell whether the target is met"),
    "no_target": ("\u2013", "No target set"),
    "too_few": ("\u2013", "Too few cases to report"),
}
#: (icon, words) of each variation code.
VARIATION_WORDS = {
    "improving": ("\u25b2", "Improving"),
    "deteriorating": ("\u25bc", "Deteriorating"),
    "higher": ("\u2197", "Higher (neither better nor worse)"),
    "lower": ("\u2198", "Lower (neither better nor worse)"),
    "no_change": ("\u25cf", "No significant change"),
    "no_previous": ("\u2013", "No previous round to compare"),
    "too_few": ("\u2013", "Too few cases to report"),
}


#: Assurance in a word or two, for the board paper's table.
SHORT_WORDS = {"meets": "Consistently meets", "misses": "Consistently misses",
               "hit_and_miss": "Hit and miss"}


def _icon(pair: tuple[str, str]) -> str:
    return f'<span aria-hidden="true">{pair[0]}</span> {pair[1]}'


def _cell(text: str) -> str:
    return html.escape(str(text), quote=False).replace("|", "&#124;").replace("\n", " ")


def _long(iso: Any) -> str:
    try:
        d = date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)
    return f"{d.day} {d:%B %Y}"


def _round_name(rd: dict[str, Any] | None) -> str:
    if rd is None:
        return ""
    return f"{rd.get('title') or rd['round']} ({_long(rd.get('date', ''))})"


def target_words(target: tuple[str, float] | None) -> str:
    if target is None:
        return "no target"
    kind, value = target
    return f"{'at least' if kind == 'at_least' else 'at most'} {pct(value)}"


def _figure(p: Point) -> str:
    if not p.reportable:
        return f"too few to report ({p.reason or 'fewer cases than the minimum group'})"
    noun = f", {p.n:,} cases" if p.n is not None else ""
    return f"{pct(p.estimate)} (95% interval {interval(p.low, p.high)}{noun})"


def _target_clause(s: Status) -> str:
    if s.target is None:
        return "The board has set no target for it."
    t = target_words(s.target)
    good = "above" if s.target[0] == "at_least" else "below"
    bad = "below" if good == "above" else "above"
    span = "every month's process limits lie" if s.basis == "xmr" else "the whole interval is"
    if s.assurance == "meets":
        return f"It meets the board's target of {t}: {span} {good} it."
    if s.assurance == "misses":
        return f"It misses the board's target of {t}: {span} {bad} it."
    where = "the process limits straddle" if s.basis == "xmr" else "the interval spans"
    return f"The board's target is {t}; {where} it, so the data cannot tell whether it is met."


def _change_clause(s: Status, prev: dict[str, Any] | None) -> str:
    if s.basis == "xmr":
        words = VARIATION_WORDS[s.variation][1].lower()
        shows = "no special cause" if s.variation == "no_change" else words
        return (f"On the XmR chart of every month published (Making Data Count rules), the "
                f"latest month shows {shows}.")
    if s.previous is None or prev is None:
        return "There is no earlier round to compare with."
    if s.change is None:
        return f"In {_round_name(prev)} there were too few cases to compare with."
    d, lo, hi = s.change
    then = f"{pct(s.previous.estimate)} in {_round_name(prev)}"
    ci = f"change {points(d, signed=True)}, 95% interval {points(lo, signed=True)} to " \
         f"{points(hi, signed=True)}"
    if s.variation == "no_change":
        return f"Against {then}, the data cannot tell whether it changed ({ci})."
    verb = {"improving": "an improvement", "deteriorating": "a deterioration",
            "higher": "a rise", "lower": "a fall"}[s.variation]
    return f"Against {then}, this is {verb} ({ci})."


def headline_sentence(s: Status, prev: dict[str, Any] | None) -> str:
    """One headline finding: the measure, its figure with interval, how it stands against the
    target and how it moved, each claim no stronger than its interval allows."""
    return (f"**{s.tracked.label}**: {_figure(s.point)}. {_target_clause(s)} "
            f"{_change_clause(s, prev)}")


def _evidence(s: Status, prefix: str = "") -> str:
    fid = s.point.finding_id
    return f"[finding {fid}]({prefix}{s.point.page}.html#{fid})"


def assurance_rows(statuses: list[Status], prefix: str = "") -> list[str]:
    rows = ["| measure | this round | target | assurance | variation | evidence |",
            "|---|---|---|---|---|---|"]
    for s in statuses:
        rows.append(f"| {_cell(s.tracked.label)} | {_cell(_figure(s.point))} | "
                    f"{target_words(s.target)} | {_icon(ASSURANCE_WORDS[s.assurance])} | "
                    f"{_icon(VARIATION_WORDS[s.variation])} | {_evidence(s, prefix)} |")
    return rows


def summary_markdown(board: Board, round_name: str) -> str:
    """The round's summary page: headline findings by the stated rule, then every tracked
    measure's assurance against the board's target."""
    rd = board.round(round_name)
    prev = board.previous(round_name)
    statuses = board.statuses.get(round_name, [])
    picked = headlines(statuses)
    lines = ["---", f'title: "Summary: {rd.get("title") or round_name}"', "---", "",
             f"The headline findings of **{_round_name(rd)}**, first for a committee with ten "
             "minutes; each links to the evidence on the round's pages."]
    lines.append(f"The previous round published is {_round_name(prev)}." if prev else
                 "This is the first round published, so there is nothing to compare with yet.")
    lines += ["", "## Headline findings", ""]
    if not picked:
        lines.append("No tracked measure of this round has figures to report.")
    for i, s in enumerate(picked, 1):
        lines.append(f"{i}. {headline_sentence(s, prev)} Evidence: {_evidence(s)}.")
    lines += ["", f"*How they were chosen.* {HEADLINE_RULE} {CHANGE_RULE}", "",
              "## Assurance against the board's targets", "",
              "Each measure's **assurance** says whether it meets the target the board set in "
              "the round file; its **variation** whether it moved since the previous round, "
              "in the manner of NHS England's *Making Data Count*. For an audit of tens of "
              "cases both rest on the 95% interval; for a monthly front-door measure with "
              f"{XMR_MIN_POINTS} or more months published, on its XmR chart's process limits "
              "and special-cause rules.", ""]
    lines += assurance_rows(statuses)
    lines += ["", "The changes of every measure across all rounds are on the "
              "[trends page](../../trends.html); the board's actions, and whether the practice "
              "they aimed at improved, on the [actions page](../../actions.html)."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Trends
# --------------------------------------------------------------------------------------


def _order(fid: str) -> int:
    return next((i for i, p in enumerate(("T2-ALL-", "T2-TIER-", "TC-FD-", "TC-TREND-"))
                 if fid.startswith(p)), 4)


def _measures(board: Board) -> list[tuple[str, list[Status]]]:
    """Every tracked measure with its status in each round that has it: the tier-2 standards,
    then tiers, front-door decisions and front-door measures (each in first-seen order)."""
    out: dict[str, list[Status]] = {}
    for rd in board.rounds:
        for s in board.statuses.get(rd["round"], []):
            out.setdefault(s.tracked.key, []).append(s)
    return sorted(out.items(), key=lambda kv: _order(kv[1][-1].point.finding_id))


def trend_figure(items: list[Status], board: Board) -> Any:
    """The measure across rounds: each round's estimate with its 95% interval, and the target
    as a dashed line; percentages on a percentage axis."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    from .. import spc

    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    shown = [s for s in items if s.point.reportable]
    x = list(range(len(shown)))
    est = [s.point.estimate for s in shown]
    err = [[e - s.point.low for e, s in zip(est, shown, strict=True)],
           [s.point.high - e for e, s in zip(est, shown, strict=True)]]
    ax.errorbar(x, est, yerr=err, fmt="o", color="#0072B2", ecolor="#404040", capsize=4,
                label="Estimate with 95% interval")
    target = items[-1].target
    if target is not None:
        ax.axhline(target[1], color="#000000", linestyle="--", linewidth=1,
                   label=f"Target: {target_words(target)}")
    ax.set_xticks(x, [_short_round(board, s.point.round) for s in shown])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("Share")
    ax.set_title(items[-1].tracked.label, fontsize="medium")
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    spc.legend_below(ax)
    return fig


def _short_round(board: Board, name: str) -> str:
    rd = board.round(name)
    return str(rd.get("date", ""))[:7] or name


def xmr_figure(board: Board, key: str) -> tuple[Any, Any] | None:
    """The front-door measure's months of every round on one XmR chart, or None with fewer
    than :data:`XMR_MIN_POINTS` months."""
    import pandas as pd

    from .. import spc
    from ..thresholds import MEASURES

    s = board.series.get(key)
    if s is None or len(s) < XMR_MIN_POINTS or key not in MEASURES:
        return None
    info = MEASURES[key]
    res = spc.xmr(pd.Series(s["rate"].to_numpy(), index=pd.DatetimeIndex(s["month"])),
                  improvement=info["improvement"])
    fig = spc.xmr_plot(res, title=f"{info['title']}: every month published",
                       ylabel=info["ylabel"], share=True)
    return res, fig


def _trend_rows(items: list[Status], board: Board, prefix: str) -> list[str]:
    rows = ["| round | figure | target | assurance | change since the round before |",
            "|---|---|---|---|---|"]
    for s in items:
        rd = board.round(s.point.round)
        prev = board.previous(s.point.round)
        change = _change_clause(s, prev) if s.basis == "interval" else \
            _icon(VARIATION_WORDS[s.variation]) + " (XmR chart)"
        link = f"[{_cell(rd.get('title') or rd['round'])}]({prefix}rounds/{rd['round']}/" \
               f"{s.point.page}.html#{s.point.finding_id})"
        rows.append(f"| {link} | {_cell(_figure(s.point))} | {target_words(s.target)} | "
                    f"{_icon(ASSURANCE_WORDS[s.assurance])} | {_cell(change)} |")
    return rows


def baseline_sentence(items: list[Status], board: Board) -> str:
    """The change from the first round with figures (the baseline) to the latest, with its
    MOVER interval, in the words the change rule allows."""
    shown = [s for s in items if s.point.reportable]
    first, last = shown[0].point, shown[-1].point
    return (f"Since the baseline, {_round_name(board.round(first.round))}: "
            f"{then_now(first, last, last.change_since(first))}")  # type: ignore[arg-type]


def trends_markdown(board: Board) -> str:
    """Every tracked measure across all the rounds published: a table with intervals, a chart
    of the rounds, and for front-door measures an XmR chart of every month published."""
    from ..figures import figure_html

    names = ", ".join(_round_name(r) for r in board.rounds)
    lines = ["---", "title: Trends across rounds", "---", "",
             f"Every audit standard and front-door measure across the {len(board.rounds)} "
             f"round(s) published: {names}. Each figure links to the finding it comes from. "
             f"{CHANGE_RULE}", ""]
    for key, items in _measures(board):
        lines += [f"## {items[-1].tracked.label}", ""]
        shown = [s for s in items if s.point.reportable]
        if shown:
            alt = (f"{items[-1].tracked.label} in {len(shown)} round(s), with 95% intervals; "
                   "the figures are in the table below.")
            lines += [figure_html(trend_figure(items, board), alt=alt), ""]
        lines += _trend_rows(items, board, "")
        lines += ["", baseline_sentence(items, board)] if len(shown) >= 3 else []
        chart = xmr_figure(board, key) if items[-1].tracked.kind == "front_door" else None
        if chart is not None:
            res, fig = chart
            lines += ["", figure_html(fig, alt=(
                f"XmR chart of {items[-1].tracked.label.lower()} over {len(res)} months of the "
                "rounds published; the rounds' figures are in the table above.")), ""]
        lines.append("")
    if len(lines) < 8:
        lines.append("No tracked measure has been published yet.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------


def _impact_words(board: Board, a: Action) -> str:
    nxt = board.next(a.round)
    if nxt is None:
        return "Not yet known: the next round has not been published."
    parts = []
    for fid, before, after, change in impact(board, a):
        if after is None:
            parts.append(f"{fid}: not measured in {_round_name(nxt)}.")
        elif change is None:
            parts.append(f"{fid}: too few cases in one of the rounds to compare.")
        else:
            parts.append(f"{fid}: {then_now(before, after, change)}")
    return " ".join(parts)


def then_now(before: Point, after: Point, change: tuple[float, float, float]) -> str:
    """"52% then 61%; rose (+9 points, 95% interval +1 points to +17 points)." in the words
    the change rule allows (``words.direction``)."""
    from .words import direction

    d, lo, hi = change
    word = {"up": "rose", "down": "fell"}.get(direction(lo, hi),
                                              "the data cannot tell whether it changed")
    return (f"{pct(before.estimate)} then {pct(after.estimate)}; {word} "
            f"({points(d, signed=True)}, 95% interval {points(lo, signed=True)} to "
            f"{points(hi, signed=True)}).")


def actions_markdown(board: Board) -> str:
    """Every round's actions with overdue ones flagged (as at the latest round's date), and,
    once the next round is published, the change in the findings each action aimed at."""
    as_at = board.as_at
    lines = ["---", "title: Actions and their impact", "---", "",
             f"The actions the board agreed after each round, their owners and status, "
             f"as at **{_long(as_at.isoformat())}** (the latest round's date). An action is "
             "**overdue** when it is not completed by its due date. Where the next round has "
             "been published, the findings an action aimed at are compared between the two "
             f"rounds. {CHANGE_RULE}", ""]
    any_actions = False
    for rd in reversed(board.rounds):
        acts = board.actions.get(rd["round"], [])
        if not acts:
            continue
        any_actions = True
        overdue = sum(a.overdue(as_at) for a in acts)
        lines += [f"## After {_cell(_round_name(rd))}", "",
                  f"{len(acts)} action(s); {overdue} overdue.", "",
                  "| action | recommendation and action | owner | due | status | findings "
                  "| did the practice improve? |", "|---|---|---|---|---|---|---|"]
        for a in acts:
            status = a.status.capitalize()
            if a.overdue(as_at):
                status = f'<span aria-hidden="true">\u26a0</span> **Overdue** ({a.status})'
            links = ", ".join(f"[{f}](rounds/{rd['round']}/{board.points[(rd['round'], f)].page}"
                              f".html#{f})" for f in a.findings)
            lines.append(f"| {_cell(a.id)} | {_cell(a.recommendation)}: {_cell(a.action)} | "
                         f"{_cell(a.owner)} | {_long(a.due.isoformat())} | {status} | {links} "
                         f"| {_cell(_impact_words(board, a))} |")
        lines.append("")
    if not any_actions:
        lines.append("No round published has an actions file (round file key `actions:`).")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# The board's pages of the site, kept in the render cache
# --------------------------------------------------------------------------------------

#: Where the board's pages are kept: ``reports/.render-cache/board/<group>-<key>.json``.
PAGE_CACHE = "board"
#: Changed when what a cache entry holds changes (every entry is then built again).
PAGE_CACHE_FORMAT = "sqa board pages 2"
#: The board's pages in groups, each kept under the key of the files it is built from
#: (``analysis.board.input_files``): the trends page and the rounds' summaries from the
#: findings and the front-door months; the actions page from the findings and the actions
#: files. So a changed actions file draws no trend chart again.
PAGE_GROUPS = {"trends": ("findings", "series"), "actions": ("findings", "actions")}


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return "missing"


def page_keys(root: Path, records: list[dict[str, Any]], versions: dict[str, str]
              ) -> dict[str, str]:
    """The cache key of each group of :data:`PAGE_GROUPS` (``provenance.content_key``): of the
    entry format, the package (``pipeline.package_fingerprint``: every module and
    configuration file, so the words, charts and rules), the libraries' versions (matplotlib
    draws the charts), the rounds' records as the board reads them (``board.board_record``,
    in publishing order), the group's name and the bytes of every file of the group's kinds
    (by SHA-256; a missing file counts as missing). Content only, never file times."""
    from .. import pipeline
    from ..board import input_files
    from ..provenance import content_key

    common = [PAGE_CACHE_FORMAT, pipeline.package_fingerprint(),
              json.dumps(versions, sort_keys=True),
              json.dumps(records, sort_keys=True, default=str)]
    files = input_files(root, records)
    digests: dict[Path, str] = {}
    keys = {}
    for group, kinds in PAGE_GROUPS.items():
        parts = [*common, group]
        for kind in kinds:
            for path in files[kind]:
                try:
                    rel = path.relative_to(root).as_posix()
                except ValueError:
                    rel = path.as_posix()
                if path not in digests:
                    digests[path] = _file_digest(path)
                parts.append(f"{kind} {rel} {digests[path]}")
        keys[group] = content_key(parts)
    return keys


def summary_page(rd: dict[str, Any]) -> str:
    """A round's summary page: ``rounds/<round>/summary.html``, or ``round-summary.html``
    when one of the round's notebooks is called summary."""
    taken = any(Path(nb["output"]).stem == "summary" for nb in rd.get("notebooks") or [])
    return f"rounds/{rd['round']}/{'round-summary' if taken else 'summary'}.html"


def _group_pages(group: str, board: Board, records: list[dict[str, Any]]
                 ) -> list[dict[str, str]]:
    if group == "actions":
        return [{"out": "actions.html", "title": "Actions and their impact",
                 "text": actions_markdown(board), "round": ""}]
    return [{"out": "trends.html", "title": "Trends across rounds",
             "text": trends_markdown(board), "round": ""}] + [
        {"out": summary_page(rd), "title": f"Summary: {rd.get('title') or rd['round']}",
         "text": summary_markdown(board, rd["round"]), "round": rd["round"]}
        for rd in records]


def _read_entry(text: str | None, outs: set[str]) -> list[dict[str, str]] | None:
    """A group's stored pages, or None when absent, unreadable or not the pages ``outs``
    (then built again and written over)."""
    if text is None:
        return None
    try:
        pages = json.loads(text)["pages"]
        if {p["out"] for p in pages} == outs and all(
                isinstance(p[k], str) for p in pages for k in ("out", "title", "text", "round")):
            return pages
    except (ValueError, KeyError, TypeError):
        pass
    return None


def board_pages(root: Path, rounds: list[dict[str, Any]], cache_dir: Path | None = None,
                versions: dict[str, str] | None = None) -> dict[str, list[Any]]:
    """The board's pages of the site (``analysis.render.Page``): ``"site"``, the trends and
    actions pages; and by round name, the round's summary page (:func:`summary_page`).

    With ``cache_dir`` (the render cache), each group of :data:`PAGE_GROUPS` is kept under
    ``PAGE_CACHE`` by its key (:func:`page_keys`; ``provenance.ContentCache``, entries
    ``<group>-<key>.json``): when no input of a group changed its pages are the stored ones,
    byte for byte, and the board is not even read; when one did, the group is built again
    (``board.load_board``, the charts drawn) and stored.  A bad board input raises
    ``board.BoardError`` as the board itself does.  ``versions``: the libraries' versions
    (``provenance.package_versions``, read when not given)."""
    from ..board import board_record, load_board
    from ..provenance import ContentCache, package_versions
    from ..render import Page

    records = [board_record(rd) for rd in rounds]
    keys = page_keys(root, records, package_versions() if versions is None else versions)
    stores = {g: ContentCache(cache_dir / PAGE_CACHE, f"{g}-{{key}}.json") if cache_dir else None
              for g in keys}
    outs = {"trends": {"trends.html", *map(summary_page, records)},
            "actions": {"actions.html"}}
    built = {g: _read_entry(store.read(keys[g]) if store else None, outs[g])
             for g, store in stores.items()}
    missing = [g for g, pages in built.items() if pages is None]
    if missing:
        view = load_board(root, records, actions="actions" in missing)
        for group in missing:
            built[group] = pages = _group_pages(group, view, records)
            if (store := stores[group]) is not None:
                store.write(keys[group], json.dumps({"key": keys[group], "pages": pages},
                                                    ensure_ascii=False, indent=0))
    every = {p["out"]: Page(out=p["out"], title=p["title"], text=p["text"], round=p["round"])
             for group in PAGE_GROUPS for p in built[group]}  # type: ignore[union-attr]
    out: dict[str, list[Any]] = {"site": [every["trends.html"], every["actions.html"]]}
    for rd in records:
        out[rd["round"]] = [every[summary_page(rd)]]
    return out


# --------------------------------------------------------------------------------------
# The board paper
# --------------------------------------------------------------------------------------


@dataclass
class Paper:
    """The board paper's content: pandoc Markdown with its images, ready for ``analysis.paper``."""

    markdown: str
    images: dict[str, bytes] = field(default_factory=dict)
    title: str = ""
    version: str = ""
    finding_ids: list[str] = field(default_factory=list)


def paper(root: Path, round_name: str) -> Paper:
    """The two-to-four-page board paper of a round: summary, assurance table, trend
    thumbnails and actions, with the release version and finding ids so it can be cited."""
    from ..board import load_board
    from ..figures import figure_png
    from ..sitetx import latest_version

    board = load_board(root)
    rd = board.round(round_name)
    prev = board.previous(round_name)
    latest = latest_version(root / "reports" / "site")
    version = latest[0] if latest else "unpublished"
    title = f"Board paper: {rd.get('title') or round_name}"
    statuses = board.statuses.get(round_name, [])
    picked = headlines(statuses)
    lines = [f"Report version **{version}** (cite a finding as *finding ID, "
             f"report version {version}*). Round {round_name}, dated {_long(rd.get('date'))}."
             + (f" Compared with {_round_name(prev)}." if prev else ""), "",
             "# Headline findings", ""]
    for i, s in enumerate(picked, 1):
        lines.append(f"{i}. {headline_sentence(s, prev)} (Finding `{s.point.finding_id}`.)")
    lines += ["", f"*How they were chosen.* {HEADLINE_RULE}", "",
              "# Assurance against the board's targets", ""]
    lines += ["Figures are the round's estimate with its 95% interval. *Hit and miss*: the "
              "interval (or, for a monthly measure, the XmR process limits) spans the target, "
              "so the data cannot tell whether it is met.", "",
              "| measure | this round | target | assurance | variation | finding |",
              "|---|---|---|---|---|---|"]
    for s in statuses:
        p = s.point
        fig = (f"{pct(p.estimate)} ({interval(p.low, p.high)})" if p.reportable
               else "too few to report")
        lines.append(f"| {_cell(s.tracked.label)} | {fig} | {target_words(s.target)} | "
                     f"{SHORT_WORDS.get(s.assurance, ASSURANCE_WORDS[s.assurance][1])} | "
                     f"{VARIATION_WORDS[s.variation][1]} | `{s.point.finding_id}` |")
    images: dict[str, bytes] = {}
    upto = [r["round"] for r in board.rounds if str(r.get("date", "")) <= str(rd.get("date"))]
    lines += ["", "# Trends", ""]
    for key, items in _measures(board):
        items = [s for s in items if s.point.round in upto]
        if not any(s.point.reportable for s in items) or items[-1].point.round != round_name:
            continue
        fig = trend_figure(items, board)
        fig.set_size_inches(3.4, 2.2)
        name = f"trend-{key}.png"
        images[name] = figure_png(fig, dpi=130)
        lines.append(f"![{items[-1].tracked.label} by round, with 95% intervals]({name})"
                     "{width=32%}")
    acts = [a for r in board.rounds for a in board.actions.get(r["round"], [])
            if r["round"] in upto]
    lines += ["", "# Actions", ""]
    if acts:
        lines += ["| action | owner | due | status | findings |", "|---|---|---|---|---|"]
        for a in acts:
            status = "OVERDUE" if a.overdue(board.as_at) else a.status
            lines.append(f"| {_cell(a.round)} {_cell(a.id)}: {_cell(a.action)} | "
                         f"{_cell(a.owner)} | {a.due.isoformat()} | {status} | "
                         f"{', '.join(f'`{f}`' for f in a.findings)} |")
    else:
        lines.append("No actions file for these rounds.")
    return Paper(markdown="\n".join(lines) + "\n", images=images, title=title, version=version,
                 finding_ids=[s.point.finding_id for s in picked])
