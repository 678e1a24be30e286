"""The board's view: each tracked measure's assurance against the board's target, its change
across rounds, the headline findings of a round, and the board's actions tracked to impact
(issue 14).  Computations only: numbers and codes; ``analysis.reporting.board`` turns them
into words, tables, charts, the summary, trends and actions pages and the board paper.

Everything is read from what the rounds' notebooks already published through the reporting
layer (``reports/<round>/outputs/*_findings.csv``, where a group too small to report has no
figures), so no number is computed twice and no suppressed figure comes back here.

Methods
-------
* **Change between two rounds** of an audit standard: the difference of the two published
  estimates with the MOVER interval built from the two published 95% intervals
  (:func:`analysis.proportions.mover_difference`: Newcombe 1998, method 10; Zou & Donner
  2008), so a weighted estimate keeps its own interval.  It is called a rise or a fall only
  under :data:`analysis.reporting.CHANGE_RULE`.
* **Front-door measures** (monthly series of ``threshold_consistency``): the months of every
  published round up to this one on one XmR chart (:func:`analysis.spc.xmr`, NHS England
  "Making Data Count"), once there are :data:`XMR_MIN_POINTS` (12) or more.
* **Assurance** against a target, in the Making Data Count manner (NHS England / NHS
  Improvement 2019, "Making Data Count: strengthening your decisions", the assurance icons):
  with an XmR chart, *consistently meets* when the process limits lie wholly on the target's
  good side, *consistently misses* when wholly on its bad side, *hit and miss* otherwise;
  without one (an audit of tens of cases), the same reading of the round's 95% interval.
* **Variation** (the MDC variation icons): with an XmR chart, *improving* or *deteriorating*
  when the latest month is a special cause in that direction, else *no significant change*;
  without one, the change since the previous round under the change rule.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

from . import yamlfile

__all__ = ["ACTION_STATUSES", "ASSURANCE", "Action", "BoardError", "Board", "HEADLINE_RULE",
           "Point", "ROUND_FIELDS", "Status", "Tracked", "VARIATION", "XMR_MIN_POINTS",
           "assurance_of", "board_record", "headlines", "input_files", "load_actions",
           "load_board", "paper_content", "tracked_measure"]

#: Fewest monthly points for an XmR chart (and so for XmR-based assurance and variation).
XMR_MIN_POINTS = 12
#: Assurance codes (Making Data Count's assurance icons) and what a status may say.
ASSURANCE = ("meets", "misses", "hit_and_miss", "no_target", "too_few")
VARIATION = ("improving", "deteriorating", "higher", "lower", "no_change", "no_previous",
             "too_few")
#: What an action's ``status`` may be.
ACTION_STATUSES = ("not started", "in progress", "completed")

HEADLINE_RULE = (
    "Headline findings are chosen by one rule, in this order, up to eight: a share of cases "
    "held at too low a tier whose interval is above zero (risk held too low); each measure "
    "whose whole interval misses the board's target, largest shortfall first; each change "
    "since the previous round that the data support, deteriorations first, largest first; "
    "each measure whose estimate is short of its target though its interval reaches it; then, "
    "to make at least five, measures that meet their target, nearest the target first.")

Better = Literal["up", "down"] | None


class BoardError(Exception):
    """A board input (a round's targets or actions file) that cannot be used: the message
    names the file, the entry and the fix."""


@dataclass(frozen=True)
class Tracked:
    """A measure the board tracks from round to round: which finding carries it, the key a
    round's ``targets:`` names it by, and which way is better."""

    key: str
    finding_id: str
    label: str
    better: Better
    kind: Literal["audit", "front_door"]


#: The front-door measures of ``analysis.thresholds.MEASURES`` by their finding id suffix.
_TREND_KEYS = {"CONVERSION": "conversion", "REREFERRAL": "rereferral",
               "ASSESSMENT-45": "assessment_45", "REPEAT-PLAN": "repeat_plan"}


def tracked_measure(finding_id: str, measure: str = "") -> Tracked | None:
    """The tracked measure a finding carries, or None.  Tracked: every audit standard across
    all tier-2 services (``T2-ALL-<STANDARD>``), cases held at too low or too high a tier
    (``T2-TIER-HELD-TOO-LOW``/``HIGH``), front-door decisions judged appropriate
    (``TC-FD-APPROPRIATE-ALL``) and the front-door measures (``TC-TREND-<MEASURE>``)."""
    from .thresholds import MEASURES

    label = measure or finding_id
    if m := re.fullmatch(r"T2-ALL-([A-Z0-9-]+)", finding_id):
        return Tracked(m.group(1).lower().replace("-", "_"), finding_id, label, "up", "audit")
    if m := re.fullmatch(r"T2-TIER-HELD-TOO-(LOW|HIGH)", finding_id):
        return Tracked(f"held_too_{m.group(1).lower()}", finding_id,
                       f"Cases held at too {m.group(1).lower()} a tier", "down", "audit")
    if finding_id == "TC-FD-APPROPRIATE-ALL":
        return Tracked("front_door_appropriate", finding_id,
                       "Front-door decisions judged appropriate", "up", "audit")
    if (m := re.fullmatch(r"TC-TREND-([A-Z0-9-]+)", finding_id)) and m.group(1) in _TREND_KEYS:
        key = _TREND_KEYS[m.group(1)]
        return Tracked(key, finding_id, MEASURES[key]["title"], MEASURES[key]["improvement"],
                       "front_door")
    return None


@dataclass
class Point:
    """One finding of one round, as published (no figures when too few to report)."""

    round: str
    finding_id: str
    page: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int | None
    reason: str = ""
    measure: str = ""
    method: str = ""

    @property
    def reportable(self) -> bool:
        return self.estimate is not None and self.low is not None and self.high is not None

    def change_since(self, before: Point | None) -> tuple[float, float, float] | None:
        """This point minus ``before`` with the MOVER interval from the two published
        intervals (``proportions.mover_difference``), or None unless both have figures."""
        from .proportions import mover_difference

        if before is None or not (self.reportable and before.reportable):
            return None
        return mover_difference(self.estimate, self.low, self.high,  # type: ignore[arg-type]
                                before.estimate, before.low, before.high)  # type: ignore[arg-type]


@dataclass
class Status:
    """A tracked measure in one round: its point, target, assurance and variation."""

    tracked: Tracked
    point: Point
    target: tuple[str, float] | None  # ("at_least" | "at_most", value)
    assurance: str
    variation: str
    basis: Literal["interval", "xmr"]
    previous: Point | None = None
    change: tuple[float, float, float] | None = None  # (difference, low, high)
    limits: tuple[float, float] | None = None  # XmR process limits, latest month

    @property
    def shortfall(self) -> float:
        """How far the estimate is on the bad side of the target (0 when on the good side)."""
        if self.target is None or self.point.estimate is None:
            return 0.0
        kind, t = self.target
        gap = t - self.point.estimate if kind == "at_least" else self.point.estimate - t
        return max(gap, 0.0)


@dataclass
class Action:
    """One row of a round's ``actions.yml``."""

    id: str
    recommendation: str
    action: str
    owner: str
    due: date
    findings: list[str]
    status: str
    round: str = ""

    def overdue(self, as_at: date) -> bool:
        return self.status != "completed" and self.due < as_at


@dataclass
class Board:
    """Everything the board pages need about the published rounds, oldest round first."""

    rounds: list[dict[str, Any]]
    points: dict[tuple[str, str], Point]
    series: dict[str, Any]  # measure -> DataFrame (month, rate, round) of all rounds
    statuses: dict[str, list[Status]]  # round -> its tracked measures
    actions: dict[str, list[Action]] = field(default_factory=dict)

    def round(self, name: str) -> dict[str, Any]:
        for rd in self.rounds:
            if rd["round"] == name:
                return rd
        raise BoardError(f"no published round named {name!r}; the rounds are: "
                         f"{', '.join(r['round'] for r in self.rounds) or 'none'}. Run "
                         f"`sqa run rounds/{name}.yml` first.")

    def previous(self, name: str) -> dict[str, Any] | None:
        """The round before ``name``: the one its round file names (``previous:``) when
        published, else the latest published round dated earlier."""
        rd = self.round(name)
        prev = (rd.get("previous") or {}).get("round") if isinstance(rd.get("previous"),
                                                                     dict) else None
        names = [r["round"] for r in self.rounds]
        if prev in names:
            return self.round(prev)
        earlier = [r for r in self.rounds if str(r.get("date", "")) < str(rd.get("date", ""))]
        return earlier[-1] if earlier else None

    def next(self, name: str) -> dict[str, Any] | None:
        """The published round whose previous round is ``name``."""
        for rd in self.rounds:
            p = self.previous(rd["round"])
            if p is not None and p["round"] == name:
                return rd
        return None

    @property
    def as_at(self) -> date:
        """The date actions are judged at: the latest published round's date."""
        return max(_date(r.get("date")) for r in self.rounds)


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return date.min


def _float(v: str | None) -> float | None:
    try:
        return None if v in (None, "") else float(v)
    except ValueError:
        return None


#: What the board reads of a round's record (``round.json``): :func:`board_record` keeps
#: these and the notebooks' output paths, so the board's pages, and the key of their cache
#: (``analysis.reporting.board.board_pages``), depend on nothing else of it (not the run's
#: times, which change at every ``sqa run``).
ROUND_FIELDS = ("round", "title", "date", "previous", "targets", "actions")
#: The findings files of a round the board reads (``reports/<round>/outputs/``), and its
#: front-door months.
FINDINGS_GLOB = "*_findings.csv"
SERIES_FILE = "threshold_consistency_series.csv"


def board_record(rd: dict[str, Any]) -> dict[str, Any]:
    """The part of a round's record the board uses: :data:`ROUND_FIELDS` and each notebook's
    output path (which names the round's summary page)."""
    out = {k: rd[k] for k in ROUND_FIELDS if k in rd}
    out["notebooks"] = [{"output": str(nb["output"])} for nb in rd.get("notebooks") or []]
    return out


def _findings_files(root: Path, rd: dict[str, Any]) -> list[Path]:
    return sorted((root / "reports" / rd["round"] / "outputs").glob(FINDINGS_GLOB))


def _series_file(root: Path, rd: dict[str, Any]) -> Path:
    return root / "reports" / rd["round"] / "outputs" / SERIES_FILE


def _actions_file(root: Path, rd: dict[str, Any]) -> Path | None:
    rel = rd.get("actions")
    return root / str(rel) if rel else None


def input_files(root: Path, rounds: list[dict[str, Any]]) -> dict[str, list[Path]]:
    """Every file the board is read from, by kind, in a stable order: each round's findings
    (``findings``), front-door months (``series``) and actions file (``actions``), whether
    or not it exists (a file that appears or goes changes the board)."""
    out: dict[str, list[Path]] = {"findings": [], "series": [], "actions": []}
    for rd in rounds:
        out["findings"] += _findings_files(root, rd)
        out["series"].append(_series_file(root, rd))
        if (path := _actions_file(root, rd)) is not None:
            out["actions"].append(path)
    return out


def _points(root: Path, rd: dict[str, Any]) -> dict[str, Point]:
    out: dict[str, Point] = {}
    for path in _findings_files(root, rd):
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                est, low, high = (_float(r.get(k)) for k in ("estimate", "ci_low", "ci_high"))
                n = _float(r.get("n"))
                succ = _float(r.get("successes"))
                if est is not None and low is None and succ is not None and n and not r.get(
                        "reason"):  # a count share published without interval: Wilson
                    from .proportions import proportion_ci

                    ci = proportion_ci(int(round(succ)), int(n))
                    low, high = ci.ci_low, ci.ci_high
                out[r["finding_id"]] = Point(
                    rd["round"], r["finding_id"], r.get("page", ""), est, low, high,
                    None if n is None else int(n), r.get("reason", ""), r.get("measure", ""),
                    r.get("method", ""))
    return out


def _series(root: Path, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Each front-door measure's charted months of every round, in month order (a month in
    two rounds' extracts is taken from the later round)."""
    import pandas as pd

    frames = []
    for rd in rounds:
        path = _series_file(root, rd)
        if path.is_file():
            frames.append(pd.read_csv(path, dtype={"measure": str}).assign(round=rd["round"]))
    if not frames:
        return {}
    df = pd.concat(frames, ignore_index=True)
    df["month"] = pd.to_datetime(df["month"])
    df = df.drop_duplicates(["measure", "month"], keep="last").sort_values(["measure", "month"])
    return {m: g.reset_index(drop=True) for m, g in df.groupby("measure", sort=True)}


def _targets(rd: dict[str, Any]) -> dict[str, tuple[str, float]]:
    out = {}
    for key, spec in (rd.get("targets") or {}).items():
        if isinstance(spec, dict) and spec:
            kind, value = next(iter(spec.items()))
            out[str(key)] = (str(kind), float(value))
        elif isinstance(spec, (int, float)):
            out[str(key)] = ("at_least", float(spec))
    return out


def assurance_of(low: float | None, high: float | None, target: tuple[str, float] | None
                 ) -> str:
    """Making Data Count assurance of a range (an interval or XmR process limits) against a
    target: ``meets`` when the whole range is on the target's good side, ``misses`` when the
    whole range is on its bad side, ``hit_and_miss`` otherwise; ``no_target`` without one,
    ``too_few`` without a range."""
    if target is None:
        return "no_target"
    if low is None or high is None:
        return "too_few"
    kind, t = target
    good_low, good_high = (low >= t, high < t) if kind == "at_least" else (high <= t, low > t)
    return "meets" if good_low else "misses" if good_high else "hit_and_miss"


def _variation(change: tuple[float, float, float] | None, better: Better) -> str:
    """The variation code of a change between two rounds under the change rule."""
    from .reporting.words import direction

    if change is None:
        return "no_previous"
    d = direction(change[1], change[2])
    if d == "unclear":
        return "no_change"
    if better is None:  # no improvement direction (MDC's "neither")
        return "higher" if d == "up" else "lower"
    return "improving" if (d == "up") == (better == "up") else "deteriorating"


def _status(board_points: dict[tuple[str, str], Point], series: dict[str, Any],
            rd: dict[str, Any], prev: dict[str, Any] | None, tr: Tracked, point: Point
            ) -> Status:
    from . import spc

    target = _targets(rd).get(tr.key)
    before = board_points.get((prev["round"], tr.finding_id)) if prev else None
    change = point.change_since(before)
    if not point.reportable:
        return Status(tr, point, target, "too_few" if target else "no_target", "too_few",
                      "interval", before)
    s = series.get(tr.key)
    if tr.kind == "front_door" and s is not None:
        day = _date(rd.get("date"))  # the months up to the round's date (all: no date)
        upto = s if day == date.min else s[s["month"] <= day.isoformat()]
        if len(upto) >= XMR_MIN_POINTS:
            import pandas as pd

            res = spc.xmr(pd.Series(upto["rate"].to_numpy(), index=pd.DatetimeIndex(
                upto["month"])), improvement=tr.better)
            last = res.iloc[-1]
            lims = (float(last["lower_limit"]), float(last["upper_limit"]))
            var = {"improvement": "improving", "concern": "deteriorating",
                   "neither": "higher" if last["value"] > last["mean"] else "lower"}.get(
                str(last["variation"]), "no_change")
            return Status(tr, point, target, assurance_of(*lims, target), var, "xmr", before,
                          change, lims)
    return Status(tr, point, target, assurance_of(point.low, point.high, target),
                  _variation(change, tr.better), "interval", before, change)


def load_board(root: Path, rounds: list[dict[str, Any]] | None = None,
               actions: bool = True) -> Board:
    """The board's view of the rounds under ``reports/`` (their ``round.json``), oldest first:
    every finding as a :class:`Point`, the front-door months, each round's tracked measures
    as :class:`Status` and, with ``actions``, each round's actions file."""
    if rounds is None:
        rounds = []
        for rj in sorted((root / "reports").glob("*/round.json")):
            try:
                rounds.append(json.loads(rj.read_text("utf-8")))
            except ValueError:
                continue
    rounds = sorted(rounds, key=lambda r: (str(r.get("date", "")), r["round"]))
    points: dict[tuple[str, str], Point] = {}
    for rd in rounds:
        for fid, p in _points(root, rd).items():
            points[(rd["round"], fid)] = p
    board = Board(rounds=rounds, points=points, series=_series(root, rounds), statuses={})
    for rd in rounds:
        prev = board.previous(rd["round"])
        out = []
        for (rnd, fid), p in points.items():
            tr = tracked_measure(fid, p.measure) if rnd == rd["round"] else None
            if tr is not None:
                out.append(_status(points, board.series, rd, prev, tr, p))
        board.statuses[rd["round"]] = out
        if actions:
            board.actions[rd["round"]] = load_actions(root, rd, {
                f for (rnd, f) in points if rnd == rd["round"]})
    return board


def headlines(statuses: list[Status], most: int = 8, least: int = 5) -> list[Status]:
    """The round's headline findings by :data:`HEADLINE_RULE`, in the rule's order."""
    picked: list[Status] = []

    def take(items: list[Status]) -> None:
        for s in items:
            if len(picked) < most and all(s.tracked.key != p.tracked.key for p in picked):
                picked.append(s)

    ok = [s for s in statuses if s.point.reportable]
    take([s for s in ok if s.tracked.key == "held_too_low" and (s.point.low or 0) > 0])
    take(sorted([s for s in ok if s.assurance == "misses"], key=lambda s: -s.shortfall))
    moved = [s for s in ok if s.variation in ("improving", "deteriorating")]
    take(sorted(moved, key=lambda s: (s.variation != "deteriorating",
                                      -abs(s.change[0]) if s.change else 0.0)))
    take(sorted([s for s in ok if s.assurance == "hit_and_miss" and s.shortfall > 0],
                key=lambda s: -s.shortfall))
    if len(picked) < least:
        meets = [s for s in ok if s.assurance == "meets"]

        def margin(s: Status) -> float:
            return abs((s.point.estimate or 0) - (s.target[1] if s.target else 0))

        for s in sorted(meets, key=margin):
            if len(picked) >= least:
                break
            take([s])
    return picked


# --------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------

ACTION_KEYS = ("id", "recommendation", "action", "owner", "due", "findings", "status")


def load_actions(root: Path, rd: dict[str, Any], finding_ids: set[str] | None = None
                 ) -> list[Action]:
    """The round's actions file (round file key ``actions:``; none: no actions), checked:
    every key present, ``due`` a date, ``status`` one of :data:`ACTION_STATUSES`, each linked
    finding a finding of the round (``finding_ids``), ids unique.  A bad file raises
    :class:`BoardError` naming the file, the action and the fix."""
    rel = rd.get("actions")
    path = _actions_file(root, rd)
    if path is None or not path.is_file():
        return []
    try:
        data = yamlfile.load(path.read_text("utf-8")) or []
    except yaml.YAMLError as exc:
        raise BoardError(f"{rel}: not valid YAML ({exc}). Fix the file and publish "
                         "again.") from None
    if isinstance(data, dict):
        data = data.get("actions") or []
    if not isinstance(data, list):
        raise BoardError(f"{rel}: expected a list of actions (each with {', '.join(ACTION_KEYS)}"
                         ").")
    out: list[Action] = []
    for i, item in enumerate(data, start=1):
        where = f"{rel}: action {i}"
        if not isinstance(item, dict):
            raise BoardError(f"{where}: expected a mapping with keys {', '.join(ACTION_KEYS)}.")
        where = f"{rel}: action {item.get('id', i)!s}"
        missing = [k for k in ACTION_KEYS if k not in item or item[k] in (None, "")]
        if missing:
            raise BoardError(f"{where}: missing {', '.join(missing)}. Each action has "
                             f"{', '.join(ACTION_KEYS)}.")
        unknown = sorted(set(item) - set(ACTION_KEYS))
        if unknown:
            raise BoardError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; the keys "
                             f"are {', '.join(ACTION_KEYS)}.")
        due = item["due"]
        if not isinstance(due, date):
            due = _date(due)
            if due == date.min:
                raise BoardError(f"{where}: due {item['due']!r} is not a date; write it as "
                                 "2026-09-30.")
        status = str(item["status"]).strip().lower()
        if status not in ACTION_STATUSES:
            raise BoardError(f"{where}: status {item['status']!r}; use one of "
                             f"{', '.join(ACTION_STATUSES)}.")
        links = item["findings"] if isinstance(item["findings"], list) else [item["findings"]]
        links = [str(x).strip() for x in links]
        if finding_ids is not None:
            bad = [f for f in links if f not in finding_ids]
            if bad:
                raise BoardError(f"{where}: finding(s) {', '.join(bad)} are not findings of "
                                 f"round {rd['round']}; link the ids its pages show.")
        if any(a.id == str(item["id"]) for a in out):
            raise BoardError(f"{where}: the id is used twice; give each action its own id.")
        out.append(Action(str(item["id"]), str(item["recommendation"]), str(item["action"]),
                          str(item["owner"]), due, links, status, rd["round"]))
    return out


def impact(board: Board, action: Action) -> list[tuple[str, Point, Point | None,
                                                       tuple[float, float, float] | None]]:
    """Each finding an action is linked to, at the action's round and at the next round, with
    the change between them (MOVER interval) where both have figures."""
    nxt = board.next(action.round)
    out = []
    for fid in action.findings:
        before = board.points[(action.round, fid)]
        after = board.points.get((nxt["round"], fid)) if nxt else None
        out.append((fid, before, after, after.change_since(before) if after else None))
    return out


def paper_content(root: Path, round_name: str) -> Any:
    """The board paper's content for ``round_name`` (``analysis.reporting.board.Paper``)."""
    from .reporting.board import paper

    return paper(root, round_name)
