"""The publication gate: no identifier, date of birth or case note reaches the site.

Before a release moves into place, every file of it is scanned for every raw and
pseudonymised id, date of birth and free-text note of the rounds' inputs; any hit refuses
the release, naming the file and the kind of hit, never the value.

Reading every raw export is the slow part of a publish (an Ofsted Annex A workbook alone
takes half a second), and the answer only changes when an input does. So the values are
gathered once per set of inputs into a **digest index**: salted SHA-256 digests of each
value, keyed by the SHA-256 of every file they were read from, kept in
``reports/.render-cache/gate/`` (file mode 0600; like the quarantine file, it belongs with
the raw data and is never shared or published). A scan digests each token of a page and looks
it up; a note is found when its words appear in order (case, punctuation, markup and
line breaks ignored), by digests of word pairs, so no note text is stored either.

Issue 12, case 3: a value is looked for in every form it can take on a page, not only as
it was read.

* **Raw ids** by one key (:func:`id_key`): upper case, separators (``-``, ``_``, ``/``,
  ``.``, spaces) removed, and the leading zeros of each digit run dropped when at least
  :data:`MIN_ID_LENGTH` characters remain (``00412345`` and ``412345`` share a key; ``00012``
  keeps its zeros, since ``12`` is any number on any page). A page is searched by its
  alphanumeric runs, alone and joined over ``-``, ``_`` and ``/``, and by every window of a run
  that is shaped like an id (so ``CH00412345abc`` and ``ref412345x`` are found); a window
  never splits a run of digits, and the digits after a decimal point are never an id, so
  ``1412345`` and ``0.412345`` are numbers, not the id ``412345``.
* **Pseudonyms** in any case and shortened: every prefix of at least
  :data:`MIN_PSEUDONYM_PREFIX` hex digits of a pseudonym's hex part is indexed, and every run
  of hex digits on a page is looked up (``CS_9F2A...`` and ``9f2a1b07`` are found).
* **Dates of birth** as dates: every date a page writes in a form ingest reads or a person
  writes (:func:`dates_in`: ``2017-02-14``, ``2017-02-14T00:00:00``, ``2017/02/14``,
  ``20170214``, ``14/02/2017``, ``14/02/17``, ``14-02-2017``, ``14.02.2017``,
  ``14 February 2017``, ``14th Feb 2017``, ``February 14, 2017`` ...) is read as a day and
  looked up. :func:`public_dates` stay allowed.
* **Small counts of children** in sentences ("3 children", "one family"): the rule-1 check
  of the reporting layer (:func:`analysis.reporting.check.small_counts`), except the rule's
  own wording ("3 cases audited: too few to report") and the reproduction page, which quotes
  a published report (rule 1's exception).
* **Text inside images**: OCR is not available (it needs Tesseract, which CI cannot
  install), so the project's figures carry their text: :func:`analysis.figures.figure_html`
  writes every text of a chart (titles, labels, tick labels, legend, annotations) into the
  PNG's ``sqa:text`` chunk, and the gate reads every text chunk and metadata field of every
  image, whether a file of the release or embedded as a ``data:`` URI or a notebook's
  ``image/png`` output. An image outside ``site_libs/`` that has no such record was not
  drawn by the project's figure code and its text cannot be read: it refuses the release.
  An SVG is read as text (its ``<text>`` elements joined, so ``<tspan>`` pieces meet).
* **Downloads**: CSV, JSON and text files are scanned like pages; an Excel workbook by its
  cells' values (dates as dates).

The text of each file, and the dates written in it, are read by :mod:`analysis.extract`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .extract import (  # re-exported: analysis.gate.dates_in and the rest
    IMAGE_SUFFIXES,
    SKIP_SUFFIXES,
    TAG_RE,
    dates_in,
    embedded,
    file_text,
    image_text,
)
from .provenance import ContentCache, content_key, package_fingerprint, write_text_atomic

__all__ = ["GateError", "GateIndex", "IMAGE_SUFFIXES", "INDEX_FORMAT", "LIBRARY_DIRS",
           "MIN_ID_LENGTH", "MIN_PSEUDONYM_PREFIX", "MIN_UNPADDED_LENGTH", "SKIP_SUFFIXES",
           "Sensitive", "TAG_RE",
           "TOKEN_RE", "WORD_RE", "check", "check_text", "dates_in", "disclosure_audit",
           "file_text", "gate_index", "id_key", "image_text", "index_key", "public_dates",
           "raw_inputs", "scan_site", "sensitive_values", "words"]

INDEX_FORMAT = "sqa-gate-index-2"
LIBRARY_DIRS = ("site_libs/",)
TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*[A-Za-z0-9]")
WORD_RE = re.compile(r"[0-9a-z]+")
CELL_END_RE = re.compile(r"</t[dh]\s*>", re.I)

# The shortest id looked for: the project keeps ids of five characters or more (shorter
# ones are any number on any page).
MIN_ID_LENGTH = 5
# The shortest an id may be once its leading zeros are dropped and still be looked for in
# that form. Six, not five: five-digit numbers are ordinary on the pages (the demo's sample
# seeds 20161 and 20261 are also its child ids 0020161 and 0020261 without their zeros),
# and "12" found for "00012" would refuse every page.
MIN_UNPADDED_LENGTH = 6
# A pseudonym shortened on a page keeps at least this many of its hex digits (a git-style
# short form); fewer would match ordinary hex on pages by chance.
MIN_PSEUDONYM_PREFIX = 8

_ID_SEP_RE = re.compile(r"[\s._/-]+")
_LEADING_ZEROS_RE = re.compile(r"(?<![0-9])0+(?=[0-9])")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]+")
_JOINED_RE = re.compile(r"[A-Za-z0-9]+(?:[_/-][A-Za-z0-9]+)+")
_DECIMALS_RE = re.compile(r"(?<=[0-9])\.[0-9]+")
_DIGITS_RE = re.compile(r"[0-9]+")
_ID_SHAPE_RE = re.compile(r"^([A-Z]*)([0-9](?:.*[0-9])?)([A-Z]*)$")
_HEX_RE = re.compile(rf"(?<![0-9a-f])[0-9a-f]{{{MIN_PSEUDONYM_PREFIX},}}(?![0-9a-f])")
_DIGEST_RE = re.compile(r"^(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,}$")
_PSEUDONYM_HEX_RE = re.compile(r"^(?:[a-z]{2}_)?([0-9a-f]+)$")


def _canon(value: str) -> str:
    """An id's characters as compared: upper case, separators and spaces removed."""
    return _ID_SEP_RE.sub("", str(value)).upper()


def id_key(value: str) -> str:
    """The one form a raw id is indexed and looked up by (see the module's docstring):
    upper case, no separators, and no leading zeros in its digit runs when at least
    :data:`MIN_UNPADDED_LENGTH` characters remain; otherwise the zeros are kept."""
    canon = _canon(value)
    stripped = _LEADING_ZEROS_RE.sub("", canon)
    return stripped if len(stripped) >= MIN_UNPADDED_LENGTH else canon


def _id_shape(key: str) -> tuple[int, int, int] | None:
    """(leading letters, trailing letters, length of the digits-bounded middle) of an id
    key, or None for an id without digits (looked for as a whole token only)."""
    m = _ID_SHAPE_RE.match(key)
    return (len(m.group(1)), len(m.group(3)), len(m.group(2))) if m else None



@dataclass
class Sensitive:
    """What must never reach the site, by kind."""

    ids: set[str] = field(default_factory=set)
    pseudonyms: set[str] = field(default_factory=set)
    dobs: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


class GateError(Exception):
    """The gate cannot check a release (an input it must read is missing): publishing stops."""


def raw_inputs(rd: dict[str, Any]) -> list[tuple[dict[str, Any], Path, str | None]]:
    """(ingest record, raw file, sheet) for every raw input a round's ingest steps read: a
    record's ``file`` (and ``sheet``), or each entry of its ``files`` (returned audit
    workbooks, ``analysis.returns``: a path, or a mapping with ``file`` and ``sheets``), once
    per sheet read."""
    out: list[tuple[dict[str, Any], Path, str | None]] = []
    for item in rd.get("prepare", {}).get("ingest", []):
        if "files" in item:
            for entry in item["files"] or []:
                if isinstance(entry, dict):
                    for sheet in entry.get("sheets") or [None]:
                        out.append((item, Path(entry["file"]), sheet))
                else:
                    out.append((item, Path(str(entry)), None))
        else:
            out.append((item, Path(item["file"]), item.get("sheet")))
    return out


def sensitive_values(root: Path, rounds: list[dict[str, Any]]) -> Sensitive:
    """Collect raw ids, pseudonyms, dates of birth and notes from the rounds' inputs."""
    import pandas as pd

    sens = Sensitive()
    for rd in rounds:
        for item, path, sheet in raw_inputs(rd):
            if not path.is_file():
                # issue 12, case 2: without the export the gate cannot know what to look for
                raise GateError(
                    f"round {rd['round']}: the raw export {path} that its ingest step read is "
                    "not there any more, so the publication gate cannot check the pages for "
                    "its ids and dates of birth. Put the file back (or run the round again "
                    "from where the file now is) and publish again.")
            for df in _raw_frames(path, item, sheet):
                _collect_raw(sens, df)
        processed = Path(rd.get("processed_dir") or root / "data" / "processed" / rd["round"])
        for pq in processed.glob("*.parquet"):
            t = pd.read_parquet(pq)
            for col in ("case_id", "child_id", "subject_id"):
                if col in t.columns:
                    sens.pseudonyms |= set(t[col].dropna().astype(str))
            if "notes" in t.columns:
                sens.notes += [re.sub(r"\s+", " ", str(n)).strip() for n in t["notes"].dropna()
                               if len(str(n).strip()) >= 12]
    sens.notes = sorted(set(sens.notes))
    public = {d.isoformat() for text in public_dates(root, rounds) for d in dates_in(text)}
    sens.dobs -= public
    return sens


def _raw_frames(path: Path, item: dict[str, Any], sheet: str | None = None) -> list[Any]:
    """The raw export of an ingest step renamed to canonical columns, read as ingest read it
    (issue 12, case 1: with the mapping's headers, to find the header row under an Annex A
    title block, and the same sheet: ``sheet``, as ``raw_inputs`` names it); for an
    ``annex-a`` step, every sheet that is a list, each with its list's headers
    (``analysis.annex_a``)."""
    from . import ingest, schemas

    if item["kind"] == "annex-a":
        from . import annex_a

        frames = []
        expected = annex_a._all_headers()
        for sheet in annex_a._sheet_names(path):
            try:
                raw, _ = ingest.read_raw(path, sheet=sheet, expected=expected)
            except ingest.InputError:
                continue  # an empty sheet holds nothing to look for
            ld, _ = annex_a.recognise(ingest._headers(raw))
            if ld is None or not ld.read:
                continue
            spec, mapping = schemas.spec_for(ld.table), annex_a.list_mapping(ld.table)
            own = [c.name for c in (*spec.columns, *spec.inputs)]
            own += [v for vs in mapping.columns.values() for v in vs]
            raw, _ = ingest.read_raw(path, sheet=sheet, expected=own)
            frames.append(ingest._rename(raw, spec, mapping)[0])
        return frames
    spec = schemas.spec_for(item["kind"])
    mapping = ingest.load_mapping(item.get("mapping"))
    expected = [c.name for c in (*spec.columns, *spec.inputs)]
    if mapping:
        expected += [v for vs in mapping.columns.values() for v in vs]
    sheet = sheet or item.get("sheet") or (mapping.sheet if mapping else None)
    raw, _ = ingest.read_raw(path, sheet=sheet, expected=expected)
    return [ingest._rename(raw, spec, mapping)[0]]


def _collect_raw(sens: Sensitive, df: Any) -> None:
    """Raw ids, dates of birth and notes of one renamed raw frame into ``sens``."""
    from . import ingest

    for col in ("case_id", "child_id", "subject_id"):
        if col in df.columns:
            vals = {ingest.privacy.normalise_id(v) for v in df[col].dropna()}
            sens.ids |= {v for v in vals if v and len(v) >= 5}
            sens.ids |= {str(v).strip() for v in df[col].dropna() if len(str(v).strip()) >= 5}
    if "date_of_birth" in df.columns:
        dob, _ = ingest._parse_date(ingest._to_text(df["date_of_birth"]))
        # a day, in one form: the index looks for it in every form (dates_in)
        sens.dobs |= {d.strftime("%Y-%m-%d") for d in dob.dropna()}
    if "notes" in df.columns:
        sens.notes += [re.sub(r"\s+", " ", str(n)).strip() for n in df["notes"].dropna()
                       if len(str(n).strip()) >= 12]


def public_dates(root: Path, rounds: list[dict[str, Any]]) -> set[str]:
    """Dates a report states on purpose: each round's reference date, the date windows of
    its samples, the due dates of the board's actions (``analysis.board``), and the first and
    last contact date of its canonical tables, overall and for each service (the period a
    page says its data cover: "9,743 front-door contacts from 01 April 2025 to 31 March
    2026").  A child's date of birth that happens to fall on one of them is not a leak when
    the page names that date (the round closing on 31 March, say), so the gate does not count
    it, in whatever form the page writes it; every other date of birth in the inputs still refuses a
    release."""
    import pyarrow.parquet as pq

    days: set[str] = set()
    for rd in rounds:
        found = [rd.get("date")]
        processed = Path(rd.get("processed_dir") or root / "data" / "processed" / rd["round"])
        for table in sorted(processed.glob("*.parquet")):
            try:
                names = pq.read_schema(table).names
                if "contact_date" not in names:
                    continue
                cols = [c for c in ("contact_date", "service") if c in names]
                t = pq.read_table(table, columns=cols).to_pandas().dropna(
                    subset=["contact_date"])
            except (OSError, ValueError):
                continue
            # the whole table's period, and each service's ("front-door contacts from ...")
            groups = [t["contact_date"]]
            if "service" in t.columns:
                groups += [g for _, g in t.groupby("service", observed=True)["contact_date"]]
            found += [str(v)[:10] for g in groups if len(g) for v in (g.min(), g.max())]
        for item in rd.get("prepare", {}).get("sample", []):
            try:
                manifest = json.loads((root / item["manifest"]).read_text("utf-8"))
            except (OSError, ValueError, KeyError):
                continue
            window = (manifest.get("design") or {}).get("date_window") or {}
            found += [window.get("start"), window.get("end")]
        found += [a.due.isoformat() for a in _actions(root, rd)]  # the board's due dates
        for d in found:
            try:
                when = datetime.fromisoformat(str(d))
            except ValueError:
                continue
            days |= {when.strftime(f) for f in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")}
    return days


def _actions(root: Path, rd: dict[str, Any]) -> list[Any]:
    """The round's board actions (their due dates are stated on purpose), or none when the
    file cannot be read (publishing then says why)."""
    from .board import BoardError, load_actions

    try:
        return load_actions(root, rd)
    except BoardError:
        return []


def words(text: str) -> list[str]:
    """A text's words, as the note check compares them: markup removed, entities decoded,
    literal ``\\n`` (JSON) as a break, case folded, punctuation dropped."""
    text = html.unescape(TAG_RE.sub(" ", text)).replace("\\n", " ").replace("\\t", " ")
    return WORD_RE.findall(text.casefold())


class GateIndex:
    """Salted digests of what must never reach the site (see the module's docstring).

    ``ids`` holds digests of each raw id's :func:`id_key`, and ``shapes`` the (leading
    letters, trailing letters, middle length) of those keys, which tell a scan which
    windows of a longer run could be an id (small numbers, no id's characters).
    ``pseudonyms`` holds digests of every prefix of at least :data:`MIN_PSEUDONYM_PREFIX`
    hex digits of each pseudonym's hex part, in lower case (and of the whole lower-case
    value of one that is not hex). ``dobs`` holds digests of each date of birth as an ISO
    day (``2017-02-14``); ``pairs`` the notes' first word pairs with the digest of the
    whole note."""

    def __init__(self, salt: str, ids: set[str], pseudonyms: set[str], dobs: set[str],
                 pairs: dict[str, list[list[Any]]],
                 shapes: Iterable[Iterable[int]] = ()) -> None:
        self.salt, self.ids, self.pseudonyms, self.dobs, self.pairs = (
            salt, ids, pseudonyms, dobs, pairs)
        self.shapes: set[tuple[int, int, int]] = {
            (int(a), int(b), int(c)) for a, b, c in shapes}  # type: ignore[misc]
        self._base = hashlib.sha256(salt.encode("ascii"))
        self._memo: dict[str, str] = {}  # pages repeat most of their tokens and word pairs

    def digest(self, value: str) -> str:
        d = self._memo.get(value)
        if d is None:
            h = self._base.copy()
            h.update(value.encode("utf-8"))
            d = self._memo[value] = h.hexdigest()[:32]
        return d

    @classmethod
    def build(cls, sens: Sensitive, salt: str | None = None) -> GateIndex:
        idx = cls(salt or secrets.token_hex(16), set(), set(), set(), {})
        for raw in sens.ids:
            key = id_key(raw)
            if len(key) < MIN_ID_LENGTH:
                continue
            idx.ids.add(idx.digest(key))
            shape = _id_shape(key)
            if shape:
                idx.shapes.add(shape)
        for p in sens.pseudonyms:
            low = str(p).strip().lower()
            m = _PSEUDONYM_HEX_RE.match(low)
            if m and len(m.group(1)) >= MIN_PSEUDONYM_PREFIX:
                hexpart = m.group(1)
                idx.pseudonyms |= {idx.digest(hexpart[:k])
                                   for k in range(MIN_PSEUDONYM_PREFIX, len(hexpart) + 1)}
            elif low:
                idx.pseudonyms.add(idx.digest(low))
        for dob in sens.dobs:
            days = dates_in(str(dob))
            idx.dobs |= {idx.digest(d.isoformat()) for d in days}
            if not days:  # not a date any form reads: looked for as it was written
                idx.dobs.add(idx.digest(str(dob).strip()))
        for note in sens.notes:
            w = words(note)
            if len(w) < 2 or len(note.strip()) < 12:
                continue
            idx.pairs.setdefault(idx.digest(" ".join(w[:2])), []).append(
                [len(w), idx.digest(" ".join(w))])
        return idx

    def to_json(self) -> str:
        return json.dumps({"format": INDEX_FORMAT, "salt": self.salt,
                           "ids": sorted(self.ids), "shapes": sorted(self.shapes),
                           "pseudonyms": sorted(self.pseudonyms),
                           "dobs": sorted(self.dobs), "pairs": self.pairs}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GateIndex | None:
        try:
            d = json.loads(text)
            if d.get("format") != INDEX_FORMAT:
                return None
            return cls(d["salt"], set(d["ids"]), set(d["pseudonyms"]), set(d["dobs"]),
                       d["pairs"], d["shapes"])
        except (ValueError, KeyError, TypeError):
            return None

    def _id_candidates(self, text: str) -> set[str]:
        """The id keys a text could hold: each alphanumeric run, alone and joined over
        ``-``, ``_`` and ``/``, and each window of a run shaped like an indexed id that
        neither splits a digit run nor starts or ends inside one (decimals dropped)."""
        text = _DECIMALS_RE.sub(" ", text)
        found = set(_ALNUM_RE.findall(text)) | set(_JOINED_RE.findall(text))
        keys = {id_key(r) for r in found if len(r) >= MIN_ID_LENGTH}
        if not self.shapes:
            return keys
        # a digest, a commit or a notebook's cell id ("8958c36235dd...", "6d32899e") is
        # looked up whole but not searched inside: its digit runs are chance, not ids
        runs = {_canon(r) for r in found if not _DIGEST_RE.match(r)}
        longest = max(c for _, _, c in self.shapes) + 3  # room for zeros the key dropped
        ends = {(a, b) for a, b, _ in self.shapes}
        for run in runs:
            spans = [m.span() for m in _DIGITS_RE.finditer(run)]
            if not spans or (len(spans) == 1 and spans[0] == (0, len(run))):
                continue  # no digits, or a plain number: looked up whole above
            for i, (start, _) in enumerate(spans):
                for _, end in spans[i:]:
                    if end - start > longest:
                        break
                    for lead, trail in ends:
                        if lead > start or end + trail > len(run):
                            continue
                        window = run[start - lead:end + trail]
                        if (window[:lead].isalpha() or not lead) and (
                                window[len(window) - trail:].isalpha() or not trail):
                            keys.add(id_key(window))
        return keys

    def scan(self, raw: str, library: bool = False, name: str = "text") -> list[str]:
        """The kinds of hit in one file's text (counts only, never values).

        ``library`` (Quarto's own scripts): pseudonyms and notes only. ``name`` is the
        file's name, which says how a reader reads it for small counts of children
        (:func:`analysis.reporting.check.small_counts_in_file`: an HTML page by its text,
        rows quoting the reproduction page exempt, as rule 1 says)."""
        from .reporting.check import small_counts_in_file

        raw, inner, unread = embedded(raw)
        kinds = []
        for part in inner:  # the text that images embedded in the page carry
            for k in self.scan(part, library):
                kinds.append(f"{k} in an embedded image")
        text = html.unescape(raw)
        # table cells end with " | ": a count in one cell and the month in the next ("c of 9"
        # then "Sep 2025") are not the day "9 Sep 2025" a reader sees in neither. Quarto's
        # search.json holds the same table as text with one cell per line (JSON "\\n"): a
        # line end is a cell end too (the page itself is read with its own line breaks)
        visible = html.unescape(TAG_RE.sub(" ", CELL_END_RE.sub(" | ", raw))).replace(
            "\\n", " | ").replace("\\t", " | ")
        both = text + "\n" + visible
        tokens = set(TOKEN_RE.findall(text)) | set(TOKEN_RE.findall(raw))
        lower = both.lower()
        pseud = ({self.digest(t.lower()) for t in tokens}
                 | {self.digest(h) for h in set(_HEX_RE.findall(lower)) if len(h) <= 64})
        if pseud & self.pseudonyms:
            kinds.append(f"{len(pseud & self.pseudonyms)} pseudonymised id(s)")
        if not library:
            ids = {self.digest(k) for k in self._id_candidates(both)} & self.ids
            if ids:
                kinds.append(f"{len(ids)} raw id(s)")
            days = {self.digest(d.isoformat()) for d in dates_in(both)}
            days |= {self.digest(t) for t in tokens}
            if days & self.dobs:
                kinds.append(f"{len(days & self.dobs)} date(s) of birth")
            found = small_counts_in_file(name, raw)
            if found:
                kinds.append(f"{len(found)} small count(s) of children")
            if unread:
                kinds.append(f"{unread} image(s) without a text record (the gate cannot "
                             "read the text drawn in them: draw charts with "
                             "analysis.figures.show_figure)")
        if self.pairs:
            w = words(raw)
            found_notes = set()
            for i in range(len(w) - 1):
                for n, full in self.pairs.get(self.digest(w[i] + " " + w[i + 1]), ()):
                    if full not in found_notes and self.digest(" ".join(w[i:i + n])) == full:
                        found_notes.add(full)
            if found_notes:
                kinds.append(f"{len(found_notes)} free-text note(s)")
        return kinds

    def scan_file(self, rel: str, data: bytes) -> list[str]:
        """The kinds of hit in one file of a release, read as :func:`file_text` reads it;
        ``site_libs/`` is a library (see :func:`scan_site`)."""
        got = file_text(rel, data)
        if got is None:
            return []
        text, unread = got
        library = rel.startswith(LIBRARY_DIRS)
        kinds = self.scan(text, library, rel)
        if unread and not library:
            kinds.append(f"{unread} image(s) without a text record (the gate cannot read "
                         "the text drawn in them: draw charts with "
                         "analysis.figures.show_figure)")
        return kinds


def scan_site(out_dir: Path, sens: Sensitive | GateIndex) -> list[str]:
    """Every (file, kind of hit) in the rendered site; the values themselves are never named.

    Every file is read: pages, downloads (CSV, JSON, text, Excel) and images (by the text
    they carry, :func:`image_text`); only fonts and icons are skipped. ``site_libs/`` holds
    Quarto's own scripts and styles, copied from its installation: no data reaches them,
    and their release dates and numbers are not a child's date of birth or id, so there only
    pseudonyms and notes are looked for."""
    index = sens if isinstance(sens, GateIndex) else GateIndex.build(sens)
    hits: list[str] = []
    for f in sorted(out_dir.rglob("*")):
        if not f.is_file() or f.suffix.lower() in SKIP_SUFFIXES:
            continue
        rel = f.relative_to(out_dir).as_posix()
        kinds = index.scan_file(rel, f.read_bytes())
        if kinds:
            hits.append(f"{rel}: {', '.join(kinds)}")
    return hits


def _file_digest(path: Path) -> str:
    if not path.is_file():
        return "missing"
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def index_key(root: Path, rounds: list[dict[str, Any]]) -> str:
    """SHA-256 of everything the gate's values are read from: each round's raw exports (with
    their kind and mapping), its canonical tables, its sample manifests and reference date,
    this module and the reporting layer's checker (whose small-count rule a scan applies, so
    that a changed rule scans every page again)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update((Path(__file__).parent / "reporting" / "check.py").read_bytes())
    for rd in rounds:
        h.update(f"round {rd['round']} {rd.get('date')}\n".encode())
        for item, path, sheet in raw_inputs(rd):
            h.update(f"ingest {path} {sheet} {item['kind']} {item.get('mapping')} "
                     f"{_file_digest(path)}\n".encode())
        processed = Path(rd.get("processed_dir") or root / "data" / "processed" / rd["round"])
        for pq in sorted(processed.glob("*.parquet")):
            h.update(f"table {pq.name} {_file_digest(pq)}\n".encode())
        for item in rd.get("prepare", {}).get("sample", []):
            h.update(f"manifest {_file_digest(root / item['manifest'])}\n".encode())
    return h.hexdigest()


def gate_index(root: Path, rounds: list[dict[str, Any]], cache_dir: Path | None = None
               ) -> GateIndex:
    """The digest index of the rounds' inputs, from the cache when no input changed
    (``cache_dir/gate/<index_key>.json``, a private ``provenance.ContentCache`` entry)."""
    if cache_dir is None:
        return GateIndex.build(sensitive_values(root, rounds))
    store = ContentCache(cache_dir / "gate", "{key}.json", private=True)
    key = index_key(root, rounds)
    text = store.read(key)
    cached = GateIndex.from_json(text) if text is not None else None
    if cached is not None:
        return cached
    index = GateIndex.build(sensitive_values(root, rounds))
    store.write(key, index.to_json())
    return index


def check(out_dir: Path, index: GateIndex, cache_dir: Path | None = None) -> list[str]:
    """:func:`scan_site` with a memory: a file whose exact bytes were found clean against the
    same inputs before is not scanned again (the verdicts hold SHA-256 digests of public
    pages only)."""
    path = cache_dir / "gate" / f"clean-{index.digest('verdicts')}.json" if cache_dir else None
    clean: set[str] = set()
    if path is not None and path.is_file():
        try:
            clean = set(json.loads(path.read_text("utf-8")))
        except ValueError:
            clean = set()
    hits: list[str] = []
    seen: set[str] = set()
    for f in sorted(out_dir.rglob("*")):
        if not f.is_file() or f.suffix.lower() in SKIP_SUFFIXES:
            continue
        data = f.read_bytes()
        h = hashlib.sha256(data).hexdigest()
        seen.add(h)
        if h in clean:
            continue
        rel = f.relative_to(out_dir).as_posix()
        kinds = index.scan_file(rel, data)
        if kinds:
            hits.append(f"{rel}: {', '.join(kinds)}")
        else:
            clean.add(h)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        keep = clean if len(clean) <= 20_000 else clean & seen  # bounded: old pages drop out
        write_text_atomic(path, json.dumps(sorted(keep)))
    return hits


def check_text(label: str, text: str, index: GateIndex) -> list[str]:
    """Hits in one text that is not a file (the release's own additions to its pages)."""
    kinds = index.scan(text)
    return [f"{label}: {', '.join(kinds)}"] if kinds else []


def disclosure_audit(root: Path, rounds: list[dict[str, Any]], cache: Path | None = None
                     ) -> list[str]:
    """Rule 2 of the reporting layer, across the whole release: the ledgers of counts about
    children that each round's notebooks wrote (``reports/<round>/outputs/*_disclosure.json``,
    ``analysis.reporting.Ledger``) audited together by ``analysis.disclosure.audit_release``.
    Each round is audited on its own (its pages name their tables ``page/table``, the same
    names in every round, and no identity links one round's counts to another's). Returns one
    line per suppressed count that the release's published figures pin down, naming the
    round.

    ``cache`` (the render cache): each round's answer is kept under the key of its ledgers'
    names and bytes and the package's fingerprint (``cache/gate/disclosure-<key>.json``, a
    ``provenance.ContentCache`` entry), so an unchanged round is not audited again (the
    audit solves a linear programme per suppressed cell)."""
    store = ContentCache(cache / "gate", "disclosure-{key}.json") if cache is not None else None
    problems: list[str] = []
    for rd in rounds:
        paths = sorted((root / "reports" / rd["round"] / "outputs").glob("*_disclosure.json"))
        if not paths:
            continue
        key = None
        if store is not None:
            ledger_parts = [part for path in paths for part in (path.name, path.read_bytes())]
            key = content_key([package_fingerprint(), *ledger_parts])
            stored = _stored_findings(store.read(key))
            if stored is not None:
                problems += [f"round {rd['round']}: {p}" for p in stored]
                continue
        from .disclosure import audit_release
        from .reporting import load_ledgers

        try:
            ledgers = load_ledgers(paths)
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"round {rd['round']}: a disclosure ledger could not be read "
                            f"({exc}); run the round again")
            continue
        found = audit_release(ledgers)
        if store is not None and key is not None:
            store.write(key, json.dumps(found))
        problems += [f"round {rd['round']}: {p}" for p in found]
    return problems


def _stored_findings(text: str | None) -> list[str] | None:
    """A stored audit answer (a JSON list of lines), or None when absent or unreadable (then
    the round is audited again and the entry written over)."""
    if text is None:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, list) and all(isinstance(p, str) for p in found) else None
