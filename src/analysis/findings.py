"""Citable findings: stable ids, HTML anchors and the findings CSV.

Every finding on the site has a stable identifier such as ``T2-FRT-REFERRAL-APPROPRIATE``
(prefix, service, standard), used as its HTML anchor and as the key of the round's findings
CSV, so that a scrutiny panel can cite "finding T2-FRT-REFERRAL-APPROPRIATE, report version
X" and find the same sentence months later.  Ids are built from codes, never from data
values, so they do not change when the numbers do.
"""

from __future__ import annotations

import html
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["COUNT_RE", "FINDING_COLUMNS", "Finding", "FindingsLog", "GOLDEN_COLUMNS",
           "SERVICE_CODES", "collect", "compare", "finding_id"]

SERVICE_CODES = {
    "front_door": "FD", "partnership_triage": "TRIAGE", "mat_panel": "MAT", "yprrp": "YPRRP",
    "mat_yprrp": "MAT-YPRRP", "tier2_social_work": "T2SW", "first_response_team": "FRT",
    "family_intervention_project": "FIP", "school_map": "MAP", "health_visiting": "HV",
    "early_help": "EH", "all": "ALL",
}

FINDING_COLUMNS = ["finding_id", "round", "page", "topic", "group", "measure", "successes",
                   "n", "estimate", "ci_low", "ci_high", "method", "reason", "text"]

COUNT_RE = re.compile(r"\d+\s*(?:%|of\s+\d)|\d+\s+per\s*cent", re.I)


def finding_id(prefix: str, *parts: str) -> str:
    """A stable id: upper-case codes joined by '-', e.g. ``T2-FRT-REFERRAL-APPROPRIATE``."""
    codes = [SERVICE_CODES.get(p, p) for p in parts if p]
    text = "-".join([prefix, *codes])
    return re.sub(r"[^A-Z0-9-]", "-", text.upper().replace("_", "-")).strip("-")


@dataclass
class Finding:
    """One citable sentence with the numbers behind it."""

    finding_id: str
    text: str
    topic: str = ""
    group: str = ""
    measure: str = ""
    successes: float | None = None
    n: int | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    method: str = ""
    round: str = ""
    page: str = ""
    # "audit": a share of audited cases (the minimum group applies); "published": a report's
    # own figures, quoted; "statistic" (an agreement statistic), "design" (a sample design
    # fact): not a share of audited cases.
    basis: str = "audit"
    reason: str = ""
    extra: dict = field(default_factory=dict)

    def apply_minimum(self, min_n: int | None = None) -> Finding:
        """Rule 1 of ``analysis.reporting.rules``: an audit finding about fewer than
        ``min_n`` cases keeps no count met, estimate or interval, says "n cases audited: too
        few to report" (unless its words already say so without a count or a percentage), and
        records why in ``reason``."""
        from .reporting import MIN_AUDITED, reportable, too_few, too_few_reason

        m = MIN_AUDITED if min_n is None else min_n
        if self.basis != "audit" or self.n is None or reportable(self.n, m):
            return self
        self.successes = self.estimate = self.ci_low = self.ci_high = None
        self.reason = too_few_reason(m)
        if COUNT_RE.search(self.text) or "too few to report" not in self.text:
            label = ", ".join(x for x in (self.group, self.measure) if x) or self.topic
            self.text = f"{label}: {too_few(self.n, min_n=m)}." if label else \
                f"{too_few(self.n, min_n=m)[0].upper()}{too_few(self.n, min_n=m)[1:]}."
        return self

    def html(self) -> str:
        """The finding as an HTML block whose id is the anchor, with its id as a link to its
        own place on the page (text escaped). The block names its round (``data-round``):
        the same id is used in every round, so a citation pairs id, round and release
        (``analysis.publish.finding_citation``); the site's script adds a "Copy citation"
        button to each block of a numbered release. The id is one ``finding-code`` span, which
        the site's stylesheet never breaks across lines."""
        fid = html.escape(self.finding_id)
        rnd = f' data-round="{html.escape(self.round)}"' if self.round else ""
        return (f'<div class="finding" id="{fid}"{rnd}>'
                f"<p>{html.escape(self.text)}</p>"
                f'<p class="finding-id"><a href="#{fid}">Finding '
                f'<span class="finding-code">{fid}</span></a></p></div>')


class FindingsLog:
    """Collects a notebook's findings, shows each as it is made, writes the CSV at the end."""

    def __init__(self, round_name: str, page: str, min_audited: int | None = None) -> None:
        self.round = round_name
        self.page = page
        self.min_audited = min_audited
        self.items: list[Finding] = []

    def add(self, finding: Finding, show: bool = True) -> Finding:
        if any(f.finding_id == finding.finding_id for f in self.items):
            raise ValueError(f"duplicate finding id {finding.finding_id}")
        finding.round, finding.page = self.round, self.page
        finding.apply_minimum(self.min_audited)
        self.items.append(finding)
        if show:
            from IPython.display import HTML, display

            display(HTML(finding.html()))
        return finding

    def frame(self) -> pd.DataFrame:
        rows = [{k: v for k, v in asdict(f).items() if k not in ("extra", "basis")}
                for f in self.items]
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)

    def write(self, output_dir: str | Path) -> Path:
        """Write ``<page>_findings.csv`` (formula-safe, deterministic)."""
        from .export import write_csv

        path = Path(output_dir) / f"{self.page}_findings.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        df = self.frame()
        for col in ("estimate", "ci_low", "ci_high"):
            df[col] = pd.to_numeric(df[col]).round(4)
        write_csv(df, path)
        return path


GOLDEN_COLUMNS = ["finding_id", "page", "n", "successes", "estimate", "ci_low", "ci_high",
                  "reason", "text"]


def collect(outputs_dir: str | Path) -> pd.DataFrame:
    """Every finding of a round (its ``*_findings.csv``), sorted by page and id, with the
    columns a golden file compares (``GOLDEN_COLUMNS``), as text exactly as written."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False)
              for p in sorted(Path(outputs_dir).glob("*_findings.csv"))]
    if not frames:
        return pd.DataFrame(columns=GOLDEN_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    for col in GOLDEN_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    return df[GOLDEN_COLUMNS].sort_values(["page", "finding_id"]).reset_index(drop=True)


def compare(golden: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Value-by-value differences between a golden findings file and a round's findings:
    one line per finding added, removed, or changed (naming the column, old and new value)."""
    g = golden.set_index("finding_id")
    c = current.set_index("finding_id")
    out = [f"removed: {i}" for i in g.index.difference(c.index)]
    out += [f"added: {i}" for i in c.index.difference(g.index)]
    for i in g.index.intersection(c.index):
        for col in GOLDEN_COLUMNS[1:]:
            a, b = str(g.at[i, col]), str(c.at[i, col])
            if a != b:
                out.append(f"changed: {i} {col}: {a!r} -> {b!r}")
    return out
