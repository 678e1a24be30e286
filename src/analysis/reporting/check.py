"""Read a built round or site back as a reader would, and list every breach of rules 1, 3 and 5.

The reporting layer makes the rules; this module checks that they held on what was actually
written: the executed notebooks and findings CSVs of a round (``reports/<round>/``) or the
HTML pages of a published site (``reports/site/...``). It is what the whole-site property
tests (``tests/test_site_rules.py``) run on rounds from many seeds and on awkward small
rounds, so that a rule broken by a page's own sentence, a table cell or a chart's alt text is
seen, not only one broken inside a function.

* **Rule 1** (a group under the minimum of audited cases carries no count met, share or
  interval): every findings CSV row with ``0 < n < min_audited`` has ``successes``,
  ``estimate``, ``ci_low`` and ``ci_high`` empty and a ``reason``; no text says "*x* of *y*"
  with ``0 < y < min_audited``, nor counts fewer than ``min_audited`` children in a sentence
  ("3 children", "two young people", "one family": :func:`small_counts`) other than in the
  rule's own wording ("3 cases audited: too few to report"). The reproduction page (a
  published report's own figures) is exempt, as rule 1 says. The publication gate runs the
  same small-count check on every file of a release.
* **Rule 3** (words follow the statistics): none of the wordings in :data:`PATTERNS` appears
  ("no difference", "never referred", "1 agencies" ...).
* **Rule 5** (every analysis runs on any valid round): no error output, traceback, Python
  warning or ``nan`` reaches a page.

Rule 2 (no suppressed count recoverable) is checked by the publication gate's linear
programme (``analysis.gate.disclosure_audit``); rule 4 (one formatter) by the code itself.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

from .rules import MIN_AUDITED

__all__ = ["PATTERNS", "SMALL_COUNT_RE", "page_texts", "release_problems", "small_counts",
           "small_counts_in_file"]

# Rule 3 and rule 5 wordings: name -> (rule, pattern). A match anywhere in a page's text is a
# problem.
PATTERNS: dict[str, tuple[int, re.Pattern[str]]] = {
    "'no difference' (an interval that spans no effect reads 'the data cannot tell')":
        (3, re.compile(r"(?<![“\"‘'])\bno (?:clear |real |significant )?difference\b",
                       re.I)),
    "'no evidence of change' (say what the interval allows)":
        (3, re.compile(r"\bno evidence (?:of|for) (?:a |any )?(?:change|difference|effect)\b",
                       re.I)),
    "'never' or 'always' about a censored delay":
        (3, re.compile(r"\b(?:never|always) (?:referred|stepped|escalated|moved|reach)", re.I)),
    "a count of one with a plural noun ('1 agencies')":
        (3, re.compile(r"(?<![\d.,])\b1 (?:auditors|agencies|cases|practitioners|services|"
                       r"vignettes|contacts|children|referrals|subjects|raters|months|rounds)"
                       r"\b")),
    "a Python error or traceback on the page":
        (5, re.compile(r"Traceback \(most recent call last\)|\b[A-Z][A-Za-z]*Error: ")),
    "a Python warning on the page":
        (5, re.compile(r"\b[A-Z][A-Za-z]*Warning: ")),
    "'nan' or 'inf' where a number should be":
        (5, re.compile(r"(?<![\w-])(?:nan|NaN|inf)(?:%|\b)(?![\w-])")),
}

_OF = re.compile(r"\b(\d+) of (?:the |these |those )?(\d+)\b(?! (?:odds|notebooks?|rounds?|"
                 r"standards?|services?|vignettes?|agenc(?:y|ies)|months?|factors?|levels?|"
                 r"strata|stratum|measures?|pages?|auditors?|practitioners?|themes?|"
                 r"questions?|steps?)\b)")
# "x of y" counts audited cases unless a noun after it says it counts something else ("0 of 4
# odds ratios exclude 1", "2 of 3 services"): those are not groups of children's cases.
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10}
# A count of children: a number (figures or words) not naming a tier, level or other
# category ("Tier 3 child protection"), at most one word that qualifies the noun, and a noun
# for children or their cases ("family" not as an adjective: "family intervention project").
SMALL_COUNT_RE = re.compile(
    r"(?<![\d.,£$€#/-])(?<!tier )(?<!level )(?<!step )(?<!stage )(?<!grade )(?<!page )"
    r"(?<!part )(?<!round )(?<!table )(?<!figure )(?<!section )(?<!question )(?<!category )"
    r"(?<!standard )(?<!list )(?<!key stage )"
    r"\b(\d+|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")\s+(?:(?:more|other|further|different|separate|individual|named|sampled|audited|"
    r"reviewed|looked[- ]after|vulnerable|disabled|unborn|older|younger|new|such)\s+)?"
    r"(child(?:ren)?|young\s+(?:person|people)|cases?|famil(?:y|ies)(?!\s+(?:intervention|"
    r"support|help|hubs?|courts?|groups?|services?|projects?|work(?:ers?)?|centres?|"
    r"practitioners?|justice|law|members?))|siblings?|bab(?:y|ies)|infants?|pupils?|boys?|"
    r"girls?|teenagers?|toddlers?|newborns?)\b", re.I)
# The size of an audited group is what rule 1 publishes on purpose, in its own wording ("3
# cases audited: too few to report", "One case was audited; no general finding can be
# drawn", "True of the 4 cases audited, but too few to stand for the service").
_GROUP_SIZE_RE = re.compile(r"\s*(?:(?:were|was|have been|has been)\s+)?(?:audited|judged|"
                            r"rated|reviewed|sampled)\b", re.I)
# ... or says, in the count's own clause, that the group is too small to report ("3 case(s)
# in categories too small to estimate ... left out")
_TOO_SMALL_RE = re.compile(r"[^;.]{0,80}?\btoo (?:few|small)\b", re.I)
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"‘'(])|\n\s*\n|\n(?=\s*[-*•|])")


def small_counts(text: str, min_audited: int = MIN_AUDITED) -> list[str]:
    """Every count of fewer than ``min_audited`` (but at least one) children or their cases
    in ``text``: "3 children were not seen", "two young people", "one family", "4
    looked-after children".

    Rule 1 lets a page name a group under the minimum only as the size of the audited group
    ("3 cases audited: too few to report"), and lets a small count stand as part of a group
    of at least the minimum ("on 4 of 29 cases"). So a count is not one when the words after
    it say the group was audited (judged, rated, reviewed, sampled) or, in the same clause,
    that it is too few or too small to report or estimate, nor when its sentence
    gives a group of at least the minimum ("the same answer on 25 of 29 cases; on 4 cases
    they split"). Zero ("0 children", "no children") is not a small count; a count in a
    sentence whose only group is under the minimum ("3 of 3 audited cases") is."""
    out = []
    for sentence in _SENTENCE_RE.split(text):
        found = []
        for m in SMALL_COUNT_RE.finditer(sentence):
            word = m.group(1).lower()
            n = int(word) if word.isdigit() else _NUMBER_WORDS[word]
            if 0 < n < min_audited and not (_GROUP_SIZE_RE.match(sentence, m.end())
                                             or _TOO_SMALL_RE.match(sentence, m.end())):
                found.append(" ".join(m.group(0).split()))
        if found and not any(int(g.group(2)) >= min_audited for g in _OF.finditer(sentence)):
            out += found
    return out


def small_counts_in_file(name: str, text: str, min_audited: int = MIN_AUDITED) -> list[str]:
    """:func:`small_counts` over what a reader reads in one file of a site or round: an
    HTML page's text and alt texts (a table row that quotes the reproduction page is
    exempt, as rule 1 says), a CSV's rows (a ``published`` finding exempt), a notebook's
    markdown and outputs, a workbook's rows (a findings download's rows of the reproduction page
    exempt, as in its CSV), or any other text as it is. The reproduction page itself is
    exempt, and so is Quarto's ``search.json``: it repeats the text of the pages, each of
    which is checked itself, but without the table rows that tell a published report's
    figures (rule 1's exception) from the round's own."""
    path = Path(name)
    if _exempt(path) or path.name == "search.json":
        return []
    if path.suffix in (".html", ".htm"):
        chunks = [t for t, repro in _html_chunks(text) if not repro]
    elif path.suffix == ".csv":
        chunks = []
        for row in csv.DictReader(io.StringIO(text)):
            if "reproduction" not in (row.get("page") or "") and row.get("basis") != "published":
                chunks.append(" | ".join(str(v) for v in row.values() if v))
    elif path.suffix == ".xlsx":  # the gate reads a workbook as one tab-joined line per row
        chunks = [" | ".join(cells) for cells in (line.split("\t") for line in text.splitlines())
                  if not any(c.endswith("reproduction") or c == "published" for c in cells)]
    elif path.suffix == ".ipynb":
        try:
            chunks = _notebook_chunks(json.loads(text))
        except ValueError:
            chunks = [text]
    else:
        chunks = [text]
    return [c for chunk in chunks for c in small_counts(chunk, min_audited)]


_SKIP_TAGS = {"script", "style", "noscript", "svg", "template"}


class _Text(HTMLParser):
    """The visible text of an HTML page, plus its images' alt text and titles, in chunks: a
    table row is a chunk of its own, and knows whether it links to a reproduction page (the
    findings index lists the reproduction's findings beside the others)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[tuple[list[str], bool]] = [([], False)]
        self._skip = 0

    @property
    def parts(self) -> list[str]:
        return self.chunks[-1][0]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        if tag == "tr":
            self.chunks.append(([], False))
        if tag == "a" and any(n == "href" and v and "reproduction" in v for n, v in attrs):
            self.chunks[-1] = (self.chunks[-1][0], True)
        for name, value in attrs:
            if name in ("alt", "aria-label", "title") and value:
                self.parts.append(value)
        if tag in ("p", "div", "br", "tr", "li", "td", "th", "h1", "h2", "h3", "h4",
                   "figcaption", "caption", "table"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        if tag in ("td", "th"):
            self.parts.append(" | ")
        if tag == "tr":
            self.chunks.append(([], False))

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_chunks(html: str) -> list[tuple[str, bool]]:
    """(text, quotes a reproduction) for each chunk of an HTML page."""
    p = _Text()
    p.feed(html)
    return [("".join(parts), repro) for parts, repro in p.chunks if parts]


def _html_text(html: str) -> str:
    return "\n".join(t for t, _ in _html_chunks(html))


def _notebook_chunks(nb: dict) -> list[str]:
    """The texts a reader of an executed notebook reads (see :func:`_notebook_texts`)."""
    return _notebook_read(nb)[0]


def _notebook_texts(path: Path) -> tuple[list[str], list[str]]:
    """(texts, errors) of an executed notebook: markdown cells and every output a reader sees;
    errors lists the cells whose output is an error."""
    return _notebook_read(json.loads(path.read_text("utf-8")))


def _notebook_read(nb: dict) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    errors: list[str] = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            texts.append("".join(cell.get("source", "")))
            continue
        if "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                errors.append(f"cell {i}: {out.get('ename', 'error')}: "
                              f"{str(out.get('evalue', ''))[:120]}")
                continue
            if kind == "stream":
                texts.append("".join(out.get("text", "")))
                continue
            data = out.get("data", {})
            for mime in ("text/markdown", "text/html", "text/plain"):
                if mime in data:
                    body = "".join(data[mime])
                    texts.append(_html_text(body) if mime == "text/html" else body)
                    break
    return texts, errors


def page_texts(path: Path) -> tuple[list[tuple[str, bool]], list[str]]:
    """What a reader of ``path`` (an executed notebook or an HTML page) reads, as a list of
    ``(text, quotes a reproduction)``, and the errors it shows."""
    repro = _exempt(path)
    if path.suffix == ".ipynb":
        texts, errors = _notebook_texts(path)
        return [(t, repro) for t in texts], errors
    return [(t, repro or r) for t, r in _html_chunks(path.read_text("utf-8", errors="replace"))
            ], []


def _exempt(path: Path) -> bool:
    """The reproduction page quotes a published report's own figures (rule 1's exception)."""
    return "reproduction" in path.stem


def _excerpt(text: str, start: int, end: int) -> str:
    a, b = max(0, start - 60), min(len(text), end + 60)
    return " ".join(text[a:b].split())


def _text_problems(label: str, text: str, exempt: bool, min_audited: int) -> list[str]:
    out = []
    if not exempt:
        for m in _OF.finditer(text):
            x, y = int(m.group(1)), int(m.group(2))
            if 0 < y < min_audited and x <= y:
                out.append(f"{label}: rule 1: '{m.group(0)}' for a group under "
                           f"{min_audited}: ...{_excerpt(text, m.start(), m.end())}...")
        flagged = {m.group(2) + " " for m in _OF.finditer(text) if 0 < int(m.group(2)) <
                   min_audited}  # "3 of 4 cases" is named above, once
        for found in small_counts(text, min_audited):
            if any(found.startswith(f) for f in flagged):
                continue
            at = text.find(found.split()[0])
            out.append(f"{label}: rule 1: '{found}', a count of children under "
                       f"{min_audited}: ...{_excerpt(text, at, at + len(found))}...")
    for what, (rule, pattern) in PATTERNS.items():
        for m in pattern.finditer(text):
            out.append(f"{label}: rule {rule}: {what}: "
                       f"...{_excerpt(text, m.start(), m.end())}...")
    return out


def _empty(value: str | None) -> bool:
    if value is None or value.strip() == "":
        return True
    try:
        return math.isnan(float(value))
    except ValueError:
        return False


def _csv_problems(path: Path, label: str, min_audited: int) -> list[str]:
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            page = row.get("page", "") or path.stem
            exempt = "reproduction" in page or row.get("basis", "") == "published"
            where = f"{label} row {i} ({row.get('finding_id', '?')})"
            try:
                n = float(row.get("n") or "nan")
            except ValueError:
                n = math.nan
            if not exempt and not math.isnan(n) and 0 < n < min_audited:
                shown = [c for c in ("successes", "estimate", "ci_low", "ci_high")
                         if c in row and not _empty(row[c])]
                if shown:
                    out.append(f"{where}: rule 1: n = {n:g} (under {min_audited}) but "
                               f"{', '.join(shown)} given")
                if _empty(row.get("reason")):
                    out.append(f"{where}: rule 1: n = {n:g} (under {min_audited}) and no "
                               "reason given")
            out += _text_problems(where, row.get("text", "") or "", exempt, min_audited)
    return out


def release_problems(folder: str | Path, min_audited: int = MIN_AUDITED) -> list[str]:
    """Every breach of rules 1, 3 and 5 in a built round or site folder.

    ``folder`` is a round's report folder (executed ``*.ipynb`` and ``outputs/*_findings.csv``)
    or a published site (``*.html``, and any ``*.csv`` it offers); everything under it is read
    (``site_libs`` and Quarto's freeze files skipped). Returns one line per breach, naming the
    file (and row or cell), the rule, what is wrong and an excerpt; empty when every page
    keeps the rules.
    """
    root = Path(folder)
    problems: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(p in ("site_libs", "_freeze", ".render-cache")
                                     or p.startswith(".") for p in rel.parts[:-1]):
            continue
        label = str(rel)
        if path.suffix == ".csv":
            problems += _csv_problems(path, label, min_audited)
        elif path.suffix in (".ipynb", ".html"):
            texts, errors = page_texts(path)
            problems += [f"{label}: rule 5: an error reached the page: {e}" for e in errors]
            for text, exempt in texts:
                problems += _text_problems(label, text, exempt, min_audited)
    return problems
