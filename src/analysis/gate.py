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
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["GateError", "GateIndex", "INDEX_FORMAT", "LIBRARY_DIRS", "SKIP_SUFFIXES", "Sensitive",
           "TAG_RE", "TOKEN_RE", "WORD_RE", "check", "check_text", "disclosure_audit",
           "gate_index", "index_key", "public_dates", "scan_site", "sensitive_values", "words"]

INDEX_FORMAT = "sqa-gate-index-1"
LIBRARY_DIRS = ("site_libs/",)
SKIP_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".woff", ".woff2", ".ttf", ".ico"}
TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*[A-Za-z0-9]")
WORD_RE = re.compile(r"[0-9a-z]+")
TAG_RE = re.compile(r"<[^>]*>")


@dataclass
class Sensitive:
    """What must never reach the site, by kind."""

    ids: set[str] = field(default_factory=set)
    pseudonyms: set[str] = field(default_factory=set)
    dobs: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


class GateError(Exception):
    """The gate cannot check a release (an input it must read is missing): publishing stops."""


def sensitive_values(root: Path, rounds: list[dict[str, Any]]) -> Sensitive:
    """Collect raw ids, pseudonyms, dates of birth and notes from the rounds' inputs."""
    import pandas as pd

    from . import ingest, schemas

    sens = Sensitive()
    for rd in rounds:
        for item in rd.get("prepare", {}).get("ingest", []):
            path = Path(item["file"])
            if not path.is_file():
                # issue 12, case 2: without the export the gate cannot know what to look for
                raise GateError(
                    f"round {rd['round']}: the raw export {path} that its ingest step read is "
                    "not there any more, so the publication gate cannot check the pages for "
                    "its ids and dates of birth. Put the file back (or run the round again "
                    "from where the file now is) and publish again.")
            spec = schemas.spec_for(item["kind"])
            mapping = ingest.load_mapping(item.get("mapping"))
            # issue 12, case 1: read it as ingest read it, with the mapping's headers (to find
            # the header row under an Annex A title block) and the same sheet
            expected = [c.name for c in (*spec.columns, *spec.inputs)]
            if mapping:
                expected += [v for vs in mapping.columns.values() for v in vs]
            sheet = item.get("sheet") or (mapping.sheet if mapping else None)
            raw, _ = ingest.read_raw(path, sheet=sheet, expected=expected)
            df, _ = ingest._rename(raw, spec, mapping)
            for col in ("case_id", "child_id", "subject_id"):
                if col in df.columns:
                    vals = {ingest.privacy.normalise_id(v) for v in df[col].dropna()}
                    sens.ids |= {v for v in vals if v and len(v) >= 5}
                    sens.ids |= {str(v).strip() for v in df[col].dropna()
                                 if len(str(v).strip()) >= 5}
            if "date_of_birth" in df.columns:
                dob, _ = ingest._parse_date(ingest._to_text(df["date_of_birth"]))
                for d in dob.dropna():
                    sens.dobs |= {d.strftime("%Y-%m-%d"), d.strftime("%d/%m/%Y"),
                                  d.strftime("%d-%m-%Y"), d.strftime("%d.%m.%Y")}
            if "notes" in df.columns:
                sens.notes += [re.sub(r"\s+", " ", str(n)).strip() for n in df["notes"].dropna()
                               if len(str(n).strip()) >= 12]
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
    sens.dobs -= public_dates(root, rounds)
    return sens


def public_dates(root: Path, rounds: list[dict[str, Any]]) -> set[str]:
    """Dates a report states on purpose: each round's reference date and the date windows of
    its samples.  A child's date of birth that happens to fall on one of them is not a leak
    when the page names that date (the round closing on 31 March, say), so the gate does not
    count it; every other date of birth in the inputs still refuses a release."""
    days: set[str] = set()
    for rd in rounds:
        found = [rd.get("date")]
        for item in rd.get("prepare", {}).get("sample", []):
            try:
                manifest = json.loads((root / item["manifest"]).read_text("utf-8"))
            except (OSError, ValueError, KeyError):
                continue
            window = (manifest.get("design") or {}).get("date_window") or {}
            found += [window.get("start"), window.get("end")]
        for d in found:
            try:
                when = datetime.fromisoformat(str(d))
            except ValueError:
                continue
            days |= {when.strftime(f) for f in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")}
    return days


LIBRARY_DIRS = ("site_libs/",)


def words(text: str) -> list[str]:
    """A text's words, as the note check compares them: markup removed, entities decoded,
    literal ``\\n`` (JSON) as a break, case folded, punctuation dropped."""
    text = html.unescape(TAG_RE.sub(" ", text)).replace("\\n", " ").replace("\\t", " ")
    return WORD_RE.findall(text.casefold())


class GateIndex:
    """Salted digests of what must never reach the site (see the module's docstring)."""

    def __init__(self, salt: str, ids: set[str], pseudonyms: set[str], dobs: set[str],
                 pairs: dict[str, list[list[Any]]]) -> None:
        self.salt, self.ids, self.pseudonyms, self.dobs, self.pairs = (
            salt, ids, pseudonyms, dobs, pairs)
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
        idx.ids = {idx.digest(v) for v in sens.ids}
        idx.pseudonyms = {idx.digest(v) for v in sens.pseudonyms}
        idx.dobs = {idx.digest(v) for v in sens.dobs}
        for note in sens.notes:
            w = words(note)
            if len(w) < 2 or len(note.strip()) < 12:
                continue
            idx.pairs.setdefault(idx.digest(" ".join(w[:2])), []).append(
                [len(w), idx.digest(" ".join(w))])
        return idx

    def to_json(self) -> str:
        return json.dumps({"format": INDEX_FORMAT, "salt": self.salt,
                           "ids": sorted(self.ids), "pseudonyms": sorted(self.pseudonyms),
                           "dobs": sorted(self.dobs), "pairs": self.pairs}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GateIndex | None:
        try:
            d = json.loads(text)
            if d.get("format") != INDEX_FORMAT:
                return None
            return cls(d["salt"], set(d["ids"]), set(d["pseudonyms"]), set(d["dobs"]),
                       d["pairs"])
        except (ValueError, KeyError, TypeError):
            return None

    def scan(self, raw: str, library: bool = False) -> list[str]:
        """The kinds of hit in one file's text (counts only, never values)."""
        text = html.unescape(raw)
        digests = {self.digest(t) for t in set(TOKEN_RE.findall(text))
                   | set(TOKEN_RE.findall(raw))}
        kinds = []
        if digests & self.pseudonyms:
            kinds.append(f"{len(digests & self.pseudonyms)} pseudonymised id(s)")
        if not library:
            upper = {self.digest(t.upper()) for t in set(TOKEN_RE.findall(text))}
            if (digests | upper) & self.ids:
                kinds.append(f"{len((digests | upper) & self.ids)} raw id(s)")
            if digests & self.dobs:
                kinds.append(f"{len(digests & self.dobs)} date(s) of birth")
        if self.pairs:
            w = words(raw)
            found = set()
            for i in range(len(w) - 1):
                for n, full in self.pairs.get(self.digest(w[i] + " " + w[i + 1]), ()):
                    if full not in found and self.digest(" ".join(w[i:i + n])) == full:
                        found.add(full)
            if found:
                kinds.append(f"{len(found)} free-text note(s)")
        return kinds


def scan_site(out_dir: Path, sens: Sensitive | GateIndex) -> list[str]:
    """Every (file, kind of hit) in the rendered site; the values themselves are never named.

    ``site_libs/`` holds Quarto's own scripts and styles, copied from its installation: no
    data reaches them, and their release dates and numbers are not a child's date of birth
    or id, so there only pseudonyms and notes are looked for."""
    index = sens if isinstance(sens, GateIndex) else GateIndex.build(sens)
    hits: list[str] = []
    for f in sorted(out_dir.rglob("*")):
        if not f.is_file() or f.suffix.lower() in SKIP_SUFFIXES:
            continue
        rel = f.relative_to(out_dir).as_posix()
        kinds = index.scan(f.read_text("utf-8", errors="replace"), rel.startswith(LIBRARY_DIRS))
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
    and this module."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for rd in rounds:
        h.update(f"round {rd['round']} {rd.get('date')}\n".encode())
        for item in rd.get("prepare", {}).get("ingest", []):
            h.update(f"ingest {item['file']} {item['kind']} {item.get('mapping')} "
                     f"{_file_digest(Path(item['file']))}\n".encode())
        processed = Path(rd.get("processed_dir") or root / "data" / "processed" / rd["round"])
        for pq in sorted(processed.glob("*.parquet")):
            h.update(f"table {pq.name} {_file_digest(pq)}\n".encode())
        for item in rd.get("prepare", {}).get("sample", []):
            h.update(f"manifest {_file_digest(root / item['manifest'])}\n".encode())
    return h.hexdigest()


def gate_index(root: Path, rounds: list[dict[str, Any]], cache_dir: Path | None = None
               ) -> GateIndex:
    """The digest index of the rounds' inputs, from the cache when no input changed."""
    path = None
    if cache_dir is not None:
        path = cache_dir / "gate" / f"{index_key(root, rounds)}.json"
        if path.is_file():
            cached = GateIndex.from_json(path.read_text("utf-8"))
            if cached is not None:
                return cached
    index = GateIndex.build(sensitive_values(root, rounds))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(index.to_json())
        os.replace(tmp, path)
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
        kinds = index.scan(data.decode("utf-8", errors="replace"), rel.startswith(LIBRARY_DIRS))
        if kinds:
            hits.append(f"{rel}: {', '.join(kinds)}")
        else:
            clean.add(h)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        keep = clean if len(clean) <= 20_000 else clean & seen  # bounded: old pages drop out
        tmp.write_text(json.dumps(sorted(keep)), "utf-8")
        os.replace(tmp, path)
    return hits


def check_text(label: str, text: str, index: GateIndex) -> list[str]:
    """Hits in one text that is not a file (the release's own additions to its pages)."""
    kinds = index.scan(text)
    return [f"{label}: {', '.join(kinds)}"] if kinds else []


def disclosure_audit(root: Path, rounds: list[dict[str, Any]]) -> list[str]:
    """Rule 2 of the reporting layer, across the whole release: the ledgers of counts about
    children that each round's notebooks wrote (``reports/<round>/outputs/*_disclosure.json``,
    ``analysis.reporting.Ledger``) audited together by ``analysis.disclosure.audit_release``.
    Each round is audited on its own (its pages name their tables ``page/table``, the same
    names in every round, and no identity links one round's counts to another's). Returns one
    line per suppressed count that the release's published figures pin down, naming the
    round."""
    from .disclosure import audit_release
    from .reporting import load_ledgers

    problems: list[str] = []
    for rd in rounds:
        paths = sorted((root / "reports" / rd["round"] / "outputs").glob("*_disclosure.json"))
        if not paths:
            continue
        try:
            ledgers = load_ledgers(paths)
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"round {rd['round']}: a disclosure ledger could not be read "
                            f"({exc}); run the round again")
            continue
        problems += [f"round {rd['round']}: {p}" for p in audit_release(ledgers)]
    return problems
