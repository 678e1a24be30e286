"""Returned auditor workbooks: many files at once, each row checked against the sample.

Weeks after a sample is drawn (``analysis.sampling``: ``manifest.json``, the design table and
the auditor workbook), auditors from several agencies send their completed workbooks back:
renamed, re-sorted, with columns added, moved or renamed, a case missing, a case that was
never sampled, sometimes the workbook of an older sample.  ``ingest_returns`` reads them all
and returns one canonical audit table (``schemas.audit_spec``), never losing a row:

* each file (and each sheet that holds the audit table, recognised by its header row, so a
  renamed "Audit" sheet is found) is read by the single-file ``ingest.ingest``: headers
  matched ignoring case, spaces and punctuation, the template's label and question text
  accepted for the ``std_<key>`` columns, extra columns listed as ignored, answers outside
  the template's list quarantined;
* every returned row is then checked against the sample's manifest and quarantined, with
  file, sheet, row, column, value and rule, when the workbook records another sample's
  fingerprint (``sampling.sample_fingerprint``, on its Instructions sheet: the whole workbook,
  every row, with the design and seed it belongs to), when its case is not in the sample, or
  when the same auditor returned the same case twice (within a file or across files; the
  first copy is kept and the rule names it);
* rows read = rows accepted + rows quarantined, per file and in total.

``write_returns`` writes the canonical table, the quarantine and the log as
``ingest.write_outputs`` does, plus the analyst's returns report (internal: it holds
pseudonymised case ids): one row per sampled case and expected agency with its status
(``returned``, ``late``, ``missing``), and the unexpected returns, so that the missing ones
can be chased.  ``completeness`` gives the notebooks the counts behind their sentence on
returns (``analysis.reporting.returns_sentence``).

The method is record linkage on the sample's own identifiers (the pseudonymised case id the
workbook was pre-filled with) and a content hash of the sample (SHA-256, FIPS 180-4, of its
design name, seed and sampled cases), as in the verification of the sample itself
(``sampling.verify``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported by the functions that read data, not by the pipeline
    import pandas as pd

    from . import ingest, schemas

__all__ = ["RETURN_SUFFIXES", "STATUSES", "ReturnFile", "ReturnsResult", "completeness",
           "expand_paths", "expected_agencies", "ingest_returns", "template_mapping",
           "write_returns"]

RETURN_SUFFIXES = (".xlsx", ".xlsm", ".csv")
STATUSES = ("returned", "late", "missing")
QUARANTINE_COLUMNS = ["file", "sheet", "row", "column", "value", "rule"]
REPORT_COLUMNS = ["case_id", "stratum", "agency", "status", "auditors", "files"]
UNEXPECTED_COLUMNS = ["file", "sheet", "row", "case_id", "why"]
WHOLE_WORKBOOK = "(whole workbook)"
DUPLICATE = "case_id+auditor_id"
_DUP_RULE = re.compile(r"^duplicate of row (\d+)$")


def _norm(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _skipped(name: str) -> bool:
    """Office lock files (``~$book.xlsx``, there while the workbook is open) and hidden files."""
    return name.startswith(("~$", "."))


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The files named by ``paths``: a file as given; a folder, every ``.xlsx``, ``.xlsm`` and
    ``.csv`` inside it (and its sub-folders), sorted by relative path, skipping Office lock
    files and hidden files and folders.  A path named twice is read once.

    Raises ``ingest.InputError`` for a path that does not exist or a folder with no workbooks.
    """
    from .ingest import InputError

    out: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                (f for f in p.rglob("*") if f.is_file()
                 and f.suffix.lower() in RETURN_SUFFIXES
                 and not any(_skipped(part) for part in f.relative_to(p).parts)),
                key=lambda f: f.relative_to(p).as_posix())
            if not found:
                raise InputError(f"{p}: no returned workbooks in this folder (.xlsx, .xlsm or "
                                 ".csv; Office lock files ~$... and hidden files are skipped). "
                                 "Put the auditors' workbooks in it, or name the files.")
        elif p.is_file():
            found = [p]
        else:
            raise InputError(f"{p}: no such file or folder. Check the path (it is relative to "
                             f"{Path.cwd()}).")
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                out.append(f)
    return out


def template_mapping(standards: schemas.Standards | None = None) -> ingest.Mapping:
    """A column mapping for returned workbooks: each ``std_<key>`` column also read under the
    template's label ("Referral appropriate"), its question ("Was the referral to this
    service appropriate?") or both as the workbook's Instructions write them; each
    ``theme_<key>`` column under its label."""
    from . import ingest, schemas

    standards = standards or schemas.load_standards()
    columns: dict[str, list[str]] = {}
    for s in standards.standards:
        variants = [s["label"], s.get("question", ""), f"{s['label']}. {s.get('question', '')}"]
        columns[f"std_{s['key']}"] = [v for v in variants if v.strip()]
    for t in standards.themes:
        columns[f"theme_{t['key']}"] = [t["label"], f"Theme: {t['label']}"]
    return ingest.Mapping(name="audit template headers", kind="audit", columns=columns,
                          source=f"audit template headers ({standards.name})")


@dataclass
class ReturnFile:
    """One returned file: where it was read, what it records and its row accounting."""

    file: str
    sha256: str
    sheets: list[str]
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    late: bool | None = None
    returned_on: str | None = None
    sample_fingerprint: str | None = None
    design: str | None = None
    other_sample: bool = False
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "sheets": self.sheets,
                "rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                "rows_quarantined": self.rows_quarantined, "late": self.late,
                "returned_on": self.returned_on, "sample_fingerprint": self.sample_fingerprint,
                "design": self.design, "other_sample": self.other_sample,
                "ignored_columns": self.ignored_columns}


@dataclass
class ReturnsResult:
    """What ``ingest_returns`` produced: the canonical audit table, the quarantine (with the
    sheet of each row), per-file accounting, the returns report and its summary."""

    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    files: list[ReturnFile]
    manifest: Path
    sample_fingerprint: str
    design: str
    report: pd.DataFrame
    unexpected: pd.DataFrame
    summary: dict[str, Any]
    agencies: list[str]
    due: date | None
    key_fingerprint: str
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)

    @property
    def rows_quarantined(self) -> int:
        if not len(self.quarantine):
            return 0
        return int(len(self.quarantine[["file", "sheet", "row"]].drop_duplicates()))


# --------------------------------------------------------------------------------------
# Reading a returned file: its audit sheets and what its Instructions sheet records
# --------------------------------------------------------------------------------------


_INFO = {_norm("Sample fingerprint"): "sample_fingerprint", _norm("Design"): "design",
         _norm("Date returned"): "returned_on", _norm("Returned on"): "returned_on"}


def _scan_workbook(path: Path, lookup: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """The sheets of a workbook that hold the audit table (a header row, in the first ten
    rows, with ``case_id`` and at least two more audit columns) and the facts its
    Instructions sheet records (sample fingerprint, design, date returned), by row label."""
    from .ingest import InputError, open_workbook

    wb = open_workbook(path)
    sheets: list[str] = []
    info: dict[str, Any] = {}
    names = list(wb.sheetnames)
    try:
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(max_row=60, values_only=True))
            for r in rows[:10]:
                found = {lookup.get(_norm(v)) for v in r if v is not None}
                if "case_id" in found and len(found - {None, "case_id"}) >= 2:
                    sheets.append(ws.title)
                    break
            for r in rows:
                if len(r) >= 2 and r[0] is not None and _norm(r[0]) in _INFO:
                    key = _INFO[_norm(r[0])]
                    if key not in info and r[1] is not None and str(r[1]).strip():
                        info[key] = r[1]
    finally:
        wb.close()
    if not sheets:
        raise InputError(f"{path}: no sheet holds the audit table (a header row with case_id, "
                         "auditor_id and the standards' columns in its first ten rows). Sheets "
                         f"in the file: {', '.join(repr(n) for n in names)}. Send the "
                         "auditor the sample's workbook again, or restore its header row.")
    return sheets, info


def _as_day(value: object) -> date | None:
    """A date written in a cell (a date, or text ingest reads as a date), else None."""
    import pandas as pd

    from .ingest import _parse_date, _to_text

    parsed, _ = _parse_date(_to_text(pd.Series([value], dtype=object)))
    day = parsed.iloc[0]
    return None if pd.isna(day) else day.date()


def _design_of(manifest: dict[str, Any]) -> str:
    return f"{manifest.get('design_name', 'design')}, seed {manifest.get('seed')}"


# --------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------


def _agency_key(value: object) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def ingest_returns(paths: Sequence[str | Path] | str | Path, manifest: str | Path, *,
                   key: bytes | None = None, demo_key: bool = False,
                   standards: schemas.Standards | None = None,
                   scale: schemas.Scale | None = None, due: date | str | None = None,
                   agencies: Sequence[str] | None = None, today: date | None = None
                   ) -> ReturnsResult:
    """Read returned auditor workbooks (files or folders) and check them against ``manifest``.

    ``due``: the date returns were due; a row whose ``audit_date`` is after it, or from a
    workbook whose "Date returned" is after it, is late.  ``agencies``: the agencies expected
    to return each case (default: every agency seen in the accepted returns).  Raises
    ``ingest.InputError`` for a whole-file problem, ``FileNotFoundError`` for a missing
    manifest.
    """
    import pandas as pd

    from . import ingest, privacy, sampling, schemas
    from .provenance import sha256_file

    manifest_path = Path(manifest)
    m = sampling.read_manifest(manifest_path)
    msha = sampling.sample_fingerprint(m)
    design = _design_of(m)
    files = expand_paths([paths] if isinstance(paths, str | Path) else paths)
    due_day = _as_day(due) if isinstance(due, str) else due
    if isinstance(due, str) and due_day is None:
        raise ingest.InputError(f"due date {due!r} is not a date. Give it as YYYY-MM-DD.")
    standards = standards or schemas.load_standards()
    spec = schemas.spec_for("audit", standards, scale)
    mapping = template_mapping(standards)
    lookup = ingest._lookup(spec, mapping)
    key = key if key is not None else privacy.load_key(demo=demo_key)
    sampled = pd.DataFrame(m["cases"], columns=["case_id", "stratum"]).astype(str)
    in_sample = set(sampled["case_id"])

    accepted_parts: list[pd.DataFrame] = []
    meta_parts: list[pd.DataFrame] = []
    quarantine_parts: list[pd.DataFrame] = []
    other_parts: list[pd.DataFrame] = []  # every row of a workbook of another sample
    records: list[ReturnFile] = []
    ignored: list[str] = []
    for path in files:
        label = str(path)
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            sheets, info = _scan_workbook(path, lookup)
        else:
            sheets, info = [""], {}
        rec = ReturnFile(file=label, sha256=sha256_file(path), sheets=sheets)
        returned = _as_day(info["returned_on"]) if "returned_on" in info else None
        rec.returned_on = returned.isoformat() if returned else None
        rec.sample_fingerprint = str(info["sample_fingerprint"]).strip().lower() \
            if "sample_fingerprint" in info else None
        rec.design = str(info["design"]) if "design" in info else None
        rec.other_sample = rec.sample_fingerprint is not None and rec.sample_fingerprint != msha
        for sheet in sheets:
            try:
                res = ingest.ingest(path, "audit", mapping, key=key, sheet=sheet or None,
                                    standards=standards, scale=scale, today=today)
            except ingest.InputError as exc:
                if not sheet:
                    raise
                raise ingest.InputError(f"{exc} (sheet {sheet!r})") from None
            rec.rows_read += res.rows_read
            rec.ignored_columns += [c for c in res.ignored_columns
                                    if c not in rec.ignored_columns]
            q = res.quarantine.assign(file=label, sheet=sheet)
            same_auditor = q["column"].eq(DUPLICATE) & q["rule"].str.match(_DUP_RULE)
            q.loc[same_auditor, "rule"] = q.loc[same_auditor, "rule"].map(
                lambda r, f=label, s=sheet: _twice_rule(f, s, int(_DUP_RULE.match(r)[1])))
            acc = res.accepted.copy()
            meta = pd.DataFrame({"file": label, "sheet": sheet, "row": res.source_rows,
                                 "case_id": acc["case_id"].astype(str).to_numpy(),
                                 "auditor_id": acc["auditor_id"].astype(str).to_numpy(),
                                 "agency": acc["auditor_agency"].astype("object").to_numpy(),
                                 "audit_date": acc["audit_date"].to_numpy()})
            if rec.other_sample:  # the whole workbook, every row, with the sample it is for
                rule = _other_sample_rule(rec, manifest_path, msha, design)
                rows = sorted(set(res.source_rows) | set(q["row"].astype(int)))
                ids = dict(zip(meta["row"], meta["case_id"], strict=True))
                q = pd.concat([q, pd.DataFrame({
                    "file": label, "sheet": sheet, "row": rows, "column": WHOLE_WORKBOOK,
                    "value": [ids.get(r, "") for r in rows], "rule": rule})], ignore_index=True)
                quarantine_parts.append(q)
                accepted_parts.append(acc.iloc[0:0])  # no rows, the table's types
                other_parts.append(pd.DataFrame({
                    "file": label, "sheet": sheet, "row": rows,
                    "case_id": [ids.get(r, "") for r in rows],
                    "why": f"workbook of another sample ({rec.design or 'design not named'})"}))
                continue
            quarantine_parts.append(q)
            accepted_parts.append(acc)
            meta_parts.append(meta.assign(why=""))
        records.append(rec)
        ignored += [c for c in rec.ignored_columns if c not in ignored]

    acc = (pd.concat(accepted_parts, ignore_index=True) if accepted_parts
           else _empty_audit(spec))
    meta = pd.concat(meta_parts, ignore_index=True) if meta_parts else pd.DataFrame(
        columns=["file", "sheet", "row", "case_id", "auditor_id", "agency", "audit_date",
                 "why"])
    kept = meta.reset_index(drop=True)
    assert len(kept) == len(acc)
    late_files = {r.file for r in records if due_day and r.returned_on
                  and date.fromisoformat(r.returned_on) > due_day}
    extra_q: list[dict[str, Any]] = []
    drop = pd.Series(False, index=kept.index)
    # A case not in the sample.
    outside = ~kept["case_id"].isin(in_sample)
    for i in kept.index[outside]:
        extra_q.append({**_where(kept, i), "column": "case_id", "value": kept.at[i, "case_id"],
                        "rule": f"case not in the sample ({design}; {manifest_path.name}): "
                        "check the case_id against the workbook sent out (the grey columns "
                        "must not be changed), or ingest the row with its own sample's "
                        "manifest"})
        kept.at[i, "why"] = "case not in the sample"
    drop |= outside
    # The same auditor twice on a case, across sheets or files: the first copy is kept.
    twice = kept.duplicated(["case_id", "auditor_id"], keep="first") & ~drop
    for i in kept.index[twice]:
        first = kept[(kept["case_id"] == kept.at[i, "case_id"])
                     & (kept["auditor_id"] == kept.at[i, "auditor_id"]) & ~drop].index[0]
        extra_q.append({**_where(kept, i), "column": DUPLICATE,
                        "value": f"{kept.at[i, 'case_id']} | {kept.at[i, 'auditor_id']}",
                        "rule": _twice_rule(kept.at[first, "file"], kept.at[first, "sheet"],
                                            int(kept.at[first, "row"]))})
    drop |= twice
    quarantine = pd.concat([*quarantine_parts, pd.DataFrame(extra_q, columns=QUARANTINE_COLUMNS)],
                           ignore_index=True) if (quarantine_parts or extra_q) else \
        pd.DataFrame(columns=QUARANTINE_COLUMNS)
    quarantine = quarantine[QUARANTINE_COLUMNS].astype({"row": int})
    order = {r.file: i for i, r in enumerate(records)}
    quarantine = quarantine.assign(_o=quarantine["file"].map(order)).sort_values(
        ["_o", "sheet", "row", "column"], kind="stable").drop(columns="_o").reset_index(
        drop=True)

    unexpected_meta = pd.concat([*other_parts, kept[outside]], ignore_index=True)
    accepted = acc[~drop.to_numpy()]
    good = kept[~drop].copy()
    good["late"] = False
    if due_day is not None:
        dates = pd.to_datetime(good["audit_date"])
        good["late"] = (dates > pd.Timestamp(due_day)).fillna(False).astype(bool) | \
            good["file"].isin(late_files)
    order_cols = [c for c in spec.unique if c in accepted.columns]
    accepted = accepted.assign(_i=range(len(accepted))).sort_values(
        [*order_cols, "_i"], kind="stable").drop(columns="_i").reset_index(drop=True)

    for rec in records:
        mine = quarantine[quarantine["file"] == rec.file]
        rec.rows_quarantined = int(len(mine[["sheet", "row"]].drop_duplicates()))
        rec.rows_accepted = int((good["file"] == rec.file).sum())
        if due_day is not None:
            rec.late = rec.file in late_files or bool(good.loc[good["file"] == rec.file,
                                                               "late"].any())
        assert rec.rows_accepted + rec.rows_quarantined == rec.rows_read, \
            f"row accounting broken for {rec.file}"

    expected = _expected(agencies, good["agency"])
    report = _report(sampled, good, expected)
    unexpected = pd.DataFrame({
        "file": unexpected_meta["file"], "sheet": unexpected_meta["sheet"],
        "row": unexpected_meta["row"].astype(int), "case_id": unexpected_meta["case_id"],
        "why": unexpected_meta["why"]}, columns=UNEXPECTED_COLUMNS)
    counts = _case_counts(report, sampled["case_id"])
    summary = {**counts, "incomplete": counts["partial"] + counts["none"],
               "unexpected_rows": len(unexpected),
               "not_in_sample_rows": int((unexpected["why"] == "case not in the sample").sum()),
               "other_sample_rows": int(unexpected["why"].str.startswith("workbook of").sum()),
               "agencies": expected, "due": due_day.isoformat() if due_day else None,
               "files": len(records), "late_files": sum(bool(r.late) for r in records),
               "missing": int((report["status"] == "missing").sum()),
               "late": int((report["status"] == "late").sum()),
               "returned": int((report["status"] == "returned").sum())}
    result = ReturnsResult(accepted=accepted, quarantine=quarantine, files=records,
                           manifest=manifest_path, sample_fingerprint=msha, design=design,
                           report=report, unexpected=unexpected, summary=summary,
                           agencies=expected, due=due_day,
                           key_fingerprint=privacy.key_fingerprint(key), ignored_columns=ignored)
    assert result.rows_accepted + result.rows_quarantined == result.rows_read, \
        "row accounting broken"
    return result


def _empty_audit(spec: schemas.TableSpec) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in spec.names})


def _where(frame: pd.DataFrame, i: Any) -> dict[str, Any]:
    return {"file": frame.at[i, "file"], "sheet": frame.at[i, "sheet"],
            "row": int(frame.at[i, "row"])}


def _place(file: str, sheet: str, row: int) -> str:
    return f"{file}, {f'sheet {sheet!r}, ' if sheet else ''}row {row}"


def _twice_rule(file: str, sheet: str, row: int) -> str:
    return (f"the same auditor twice on this case: also in {_place(file, sheet, row)}, which is "
            "kept; delete one of the two rows, or give the second auditor their own "
            "auditor_id")


def _other_sample_rule(rec: ReturnFile, manifest: Path, msha: str, design: str) -> str:
    theirs = rec.design or "a design it does not name"
    return (f"workbook of another sample ({theirs}; sample fingerprint "
            f"{(rec.sample_fingerprint or '')[:12]}), not of this one ({design}; "
            f"{manifest.name} fingerprint {msha[:12]}): ingest it with the manifest of the sample "
            "it was drawn for, or send the auditor this sample's workbook")


def _expected(agencies: Sequence[str] | None, seen: pd.Series) -> list[str]:
    """The agencies expected to return each case: as given (duplicates dropped), else every
    agency seen in the accepted returns (lower case, sorted)."""
    if agencies:
        out: list[str] = []
        for a in agencies:
            a = str(a).strip()
            if a and _agency_key(a) not in {_agency_key(x) for x in out}:
                out.append(a)
        return out
    return sorted({_agency_key(a) for a in seen.dropna() if str(a).strip()})


def _report(sampled: pd.DataFrame, good: pd.DataFrame, agencies: list[str]) -> pd.DataFrame:
    """One row per sampled case and expected agency: status, auditors and files."""
    import pandas as pd

    rows = []
    good = good.assign(_agency=good["agency"].map(
        lambda a: _agency_key(a) if isinstance(a, str) else ""))
    by_case = {c: g for c, g in good.groupby("case_id", sort=False)}
    for case_id, stratum in sampled.sort_values(["stratum", "case_id"]).itertuples(
            index=False, name=None):
        g = by_case.get(case_id)
        for agency in agencies or [""]:
            mine = g if g is None or not agency else g[g["_agency"] == _agency_key(agency)]
            if mine is None or not len(mine):
                rows.append((case_id, stratum, agency, "missing", "", ""))
                continue
            status = "late" if bool(mine["late"].all()) else "returned"
            rows.append((case_id, stratum, agency, status,
                         "; ".join(sorted(set(mine["auditor_id"]))),
                         "; ".join(dict.fromkeys(mine["file"]))))
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def _case_counts(report: pd.DataFrame, sampled: Iterable[str]) -> dict[str, int]:
    ids = list(dict.fromkeys(sampled))
    if not len(report):
        return {"sampled": len(ids), "complete": 0, "partial": 0, "none": len(ids)}
    got = report.assign(ok=report["status"] != "missing").groupby("case_id")["ok"].agg(
        ["sum", "count"])
    got = got.reindex(ids, fill_value=0)
    complete = int(((got["sum"] == got["count"]) & (got["count"] > 0)).sum())
    none = int((got["sum"] == 0).sum())
    return {"sampled": len(ids), "complete": complete, "partial": len(ids) - complete - none,
            "none": none}


# --------------------------------------------------------------------------------------
# For the notebooks
# --------------------------------------------------------------------------------------


def completeness(audit: pd.DataFrame, manifest_path: str | Path | Mapping[str, Any],
                 agencies: Sequence[str] | None = None) -> dict[str, int]:
    """How many of the sample's cases had complete returns in the audit table
    (``manifest_path``: the sample manifest's path, or the manifest already read).

    ``sampled``: cases in the manifest; ``complete``: cases with a return from every agency in
    ``agencies`` (matched ignoring case); ``partial``: some but not all; ``none``: no return.
    Without ``agencies`` a case is complete with at least one return (the round did not say
    which agencies were expected; ``expected_agencies`` reads what ``ingest_returns``
    recorded).  Rows for cases not in the sample are not counted.
    """
    import pandas as pd

    from . import sampling

    m = sampling.read_manifest(manifest_path)
    sampled = pd.DataFrame(m["cases"], columns=["case_id", "stratum"]).astype(str)
    good = pd.DataFrame({"case_id": audit["case_id"].astype(str).to_numpy(),
                         "auditor_id": audit["auditor_id"].astype(str).to_numpy(),
                         "agency": audit["auditor_agency"].astype("object").to_numpy()
                         if "auditor_agency" in audit.columns else None,
                         "file": "", "late": False})
    report = _report(sampled, good, _expected(agencies, pd.Series(dtype=object))
                     if agencies else [])
    return _case_counts(report, sampled["case_id"])


def expected_agencies(returns_json: str | Path) -> list[str] | None:
    """The agencies a round expected to return each case, as ``write_returns`` recorded them
    in ``<name>_returns.json``; None when the file is not there (returns ingested one file at
    a time, as in the demo)."""
    import json

    p = Path(returns_json)
    if not p.is_file():
        return None
    agencies = json.loads(p.read_text("utf-8")).get("agencies")
    return [str(a) for a in agencies] if agencies else None


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def write_returns(result: ReturnsResult, out_dir: str | Path, name: str = "audit"
                  ) -> dict[str, Path]:
    """Write ``<name>.parquet`` (the canonical audit table), ``<name>_quarantine.csv`` (file,
    sheet, row, column, value, rule), ``<name>_ingest.json`` (as ``ingest.write_outputs``, plus
    each file's accounting, the manifest's SHA-256 and the sample fingerprint), and the
    analyst's internal returns report: ``<name>_returns_report.csv`` (one row per sampled
    case and expected agency, then the unexpected returns with status ``unexpected``), an
    ``.xlsx`` copy with the sheets Returns, Unexpected and Summary, and
    ``<name>_returns.json`` (the summary counts)."""
    import pandas as pd

    from . import __version__, provenance
    from .export import write_csv, write_xlsx
    from .provenance import timestamp, write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"table": out / f"{name}.parquet", "quarantine": out / f"{name}_quarantine.csv",
             "log": out / f"{name}_ingest.json",
             "report": out / f"{name}_returns_report.csv",
             "report_xlsx": out / f"{name}_returns_report.xlsx",
             "summary": out / f"{name}_returns.json"}
    result.accepted.to_parquet(paths["table"], index=False)
    write_csv(result.quarantine, paths["quarantine"])
    q = result.quarantine
    write_json({
        "kind": "audit", "source": [f.file for f in result.files],
        "files": [f.to_dict() for f in result.files],
        "manifest": str(result.manifest),
        "manifest_sha256": provenance.sha256_file(result.manifest),
        "sample_fingerprint": result.sample_fingerprint,
        "mapping": None, "rows_read": result.rows_read,
        "rows_accepted": result.rows_accepted, "rows_quarantined": result.rows_quarantined,
        "ignored_columns": result.ignored_columns, "key_fingerprint": result.key_fingerprint,
        "package_version": __version__, "written_at": timestamp(),
        "quarantine_rules": q["rule"].value_counts().sort_index().to_dict() if len(q) else {},
    }, paths["log"])
    unexpected = result.unexpected
    combined = pd.concat([
        result.report.assign(sheet="", row=pd.NA, why=""),
        pd.DataFrame({"case_id": unexpected["case_id"], "stratum": "", "agency": "",
                      "status": "unexpected", "auditors": "", "files": unexpected["file"],
                      "sheet": unexpected["sheet"], "row": unexpected["row"],
                      "why": unexpected["why"]})], ignore_index=True)
    combined["row"] = combined["row"].astype("Int64")
    write_csv(combined, paths["report"])
    summary = {"design": result.design, "manifest": str(result.manifest),
               "sample_fingerprint": result.sample_fingerprint, **result.summary}
    write_xlsx({"Returns": result.report, "Unexpected": unexpected,
                "Summary": pd.DataFrame({"measure": list(summary),
                                         "value": [", ".join(v) if isinstance(v, list) else v
                                                   for v in summary.values()]})},
               paths["report_xlsx"])
    write_json(summary, paths["summary"])
    return paths


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def cli_returns(a: Any, standards: schemas.Standards | None = None,
                scale: schemas.Scale | None = None) -> int:
    """``sqa ingest --kind audit PATH... --manifest MANIFEST --out DIR [--name N] [--due D]
    [--agencies a,b,c]``: read the returns, write the outputs, print the accounting per file
    and in total and the returns summary.  Exit 0, also with quarantined rows."""
    from .ingest import InputError, short_list

    unused = [o for o, v in (("--mapping", a.mapping), ("--sheet", a.sheet),
                             ("--encoding", a.encoding)) if v]
    if unused:
        raise InputError(f"{', '.join(unused)}: not used with --manifest (each returned "
                         "workbook's audit sheets are found by their header row, headers are "
                         "matched to the audit template). Leave them out.")
    agencies = [x.strip() for x in a.agencies.split(",") if x.strip()] if a.agencies else None
    res = ingest_returns(a.file, a.manifest, demo_key=a.demo_key, standards=standards,
                         scale=scale, due=a.due, agencies=agencies)
    name = a.name or "audit"
    paths = write_returns(res, a.out, name)
    print(f"returns for {res.design} ({a.manifest}, sample fingerprint "
          f"{res.sample_fingerprint[:12]})")
    width = max([len(f.file) for f in res.files] + [5])
    print(f"  {'file':<{width}}  {'read':>6}  {'accepted':>8}  {'quarantined':>11}  late")
    for f in res.files:
        late = "-" if f.late is None else ("yes" if f.late else "no")
        note = "  workbook of another sample" if f.other_sample else ""
        print(f"  {f.file:<{width}}  {f.rows_read:>6}  {f.rows_accepted:>8}  "
              f"{f.rows_quarantined:>11}  {late}{note}")
    print(f"  {'total':<{width}}  {res.rows_read:>6}  {res.rows_accepted:>8}  "
          f"{res.rows_quarantined:>11}")
    if res.ignored_columns:
        print(f"  columns ignored: {short_list(res.ignored_columns)}")
    if res.rows_quarantined:
        reasons = res.quarantine["rule"].map(lambda r: re.split(r"[:(]", r)[0].strip())
        top = res.quarantine.assign(rule=reasons).drop_duplicates(
            ["file", "sheet", "row", "column", "rule"]).groupby(
            ["column", "rule"]).size().sort_values(ascending=False, kind="stable")
        print("  quarantine reasons:")
        for (col, rule), n in list(top.items())[:10]:
            print(f"    {n:>6}  {col}: {rule}")
        print(f"  quarantine file: {paths['quarantine']} (holds raw values: keep it off "
              "shared drives)")
    s = res.summary
    print(f"returns: {s['sampled']} sampled cases; {s['complete']} with complete returns; "
          f"{s['incomplete']} with some returns missing ({s['none']} with none); "
          f"{s['unexpected_rows']} unexpected rows ({s['not_in_sample_rows']} for cases not in "
          f"the sample, {s['other_sample_rows']} from another sample's workbook)")
    print(f"  agencies expected: {', '.join(s['agencies']) or '(none named or seen)'}"
          + (f"; due {s['due']}: {s['late']} case-agency returns late" if s["due"] else ""))
    print(f"  returns report: {paths['report']} and .xlsx (internal: pseudonymised case ids, "
          "never publish)")
    print(f"  wrote {paths['table']}")
    return 0
