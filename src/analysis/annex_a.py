"""The whole Ofsted Annex A workbook in one step: every list, its own table, and the journey.

``read_workbook(path)`` reads every sheet of an Annex A workbook and recognises each sheet's
list **by its content** (the header names, under any title rows), whatever the sheet is
called and in whatever order the sheets come:

* lists 1 contacts, 2 early help, 3 referrals, 4 assessments, 5 section 47 enquiries and
  ICPCs, 6 children in need, 7 child protection plans, 8 children looked after, and when
  present 9 care leavers and 10 adoption become one canonical table each
  (``schemas.annex_a_spec``: ``list1_contacts`` ... ``list10_adoption``);
* list 11 (adopters, not children) and sheets that are no list (notes, pivots, a cover
  page) are reported as skipped, with why; a workbook with no list is an ``InputError``.

Each list goes through the one ingest of ``analysis.ingest`` (the header row found among the
first ten rows, merged and formula cells named, codes such as "b) Female", "q) 6: Police" and
"a) Yes", dates as text or Excel serials, child ids pseudonymised with ``analysis.privacy``,
dates of birth reduced to age bands and dropped, bad rows quarantined with file, sheet, row,
column and rule; read = accepted + quarantined for every list), with the list's header
variants from ``mappings/annex_a_lists.yml``.

Source of the lists and headers: Ofsted, "Inspecting local authority children's services"
(ILACS), Annex A; the column-by-column encoding of Social Finance's open-source liia-tools
(``liiatools/annex_a_pipeline/spec/Annex_A_schema.yml``).

The lists are then linked into a child journey and a front-door table in the ``cases``
contract (``analysis.journey``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from . import ingest, privacy, schemas

__all__ = ["AnnexAResult", "ListDef", "NoListError", "SheetReport", "counts", "list_defs",
           "list_mapping", "read_workbook", "recognise", "summary_lines", "write_outputs"]


class NoListError(ingest.InputError):
    """A workbook in which no sheet is a recognised Annex A list (the CLI exits 2, as for any
    wrong input)."""


@dataclass(frozen=True)
class ListDef:
    """One Annex A list as the shipped mapping describes it."""

    table: str
    number: int
    title: str
    signature: tuple[str, ...]
    columns: dict[str, list[str]]
    read: bool = True
    why: str = ""


@dataclass
class SheetReport:
    """What became of one sheet: the list it holds and its ingest, or why it was skipped."""

    sheet: str
    table: str | None = None
    number: int | None = None
    result: ingest.IngestResult | None = None
    skipped: str = ""

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` commonest quarantine rules with their count of rows."""
        if self.result is None or not len(self.result.quarantine):
            return []
        q = self.result.quarantine
        counts = q.drop_duplicates(["row", "rule"]).groupby("rule")["row"].count()
        top = counts.sort_values(ascending=False, kind="stable").head(n)
        return [(str(k), int(v)) for k, v in top.items()]


@dataclass
class AnnexAResult:
    """The workbook read: a report per sheet, and the linked tables (``analysis.journey``)."""

    source: Path
    sheets: list[SheetReport]
    journey: pd.DataFrame | None = None
    cases: pd.DataFrame | None = None
    key_fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def tables(self) -> dict[str, ingest.IngestResult]:
        """Table name -> its ingest result, for every list read."""
        return {s.table: s.result for s in self.sheets if s.table and s.result is not None}

    def accepted(self, table: str) -> pd.DataFrame | None:
        res = self.tables.get(table)
        return None if res is None else res.accepted


@cache
def _mapping_file() -> dict[str, Any]:
    text = resources.files("analysis").joinpath("mappings", "annex_a_lists.yml").read_text(
        "utf-8")
    return yaml.safe_load(text)


def list_defs() -> list[ListDef]:
    """The lists of ``mappings/annex_a_lists.yml`` in list order (read lists, then not read)."""
    d = _mapping_file()
    out = [ListDef(table=t, number=int(v["number"]), title=str(v["title"]),
                   signature=tuple(v["signature"]),
                   columns={k: list(c) for k, c in v["columns"].items()})
           for t, v in d["lists"].items()]
    out += [ListDef(table=t, number=int(v["number"]), title=str(v["title"]),
                    signature=tuple(v["headers"][:1]), columns={"_": list(v["headers"])},
                    read=False, why=str(v["why"]))
            for t, v in (d.get("not_read") or {}).items()]
    return out


def list_mapping(table: str) -> ingest.Mapping:
    """The ingest ``Mapping`` of one list: the common columns, the list's own and the codes."""
    d = _mapping_file()
    spec = schemas.annex_a_spec(table)
    own = d["lists"][table]["columns"]
    cols = {k: list(v) for k, v in d["common"].items() if k in spec.names
            or k in {c.name for c in spec.inputs}}
    cols.update({k: list(v) for k, v in own.items()})
    values = {k: {str(a).strip().lower(): str(b) for a, b in v.items()}
              for k, v in (d.get("values") or {}).items() if k in spec.names}
    return ingest.Mapping(name=f"Annex A list {d['lists'][table]['number']}", kind=table,
                          columns=cols, values=values, source=f"annex_a_lists:{table}")


def _all_headers() -> list[str]:
    d = _mapping_file()
    heads = [h for vs in d["common"].values() for h in vs]
    for ld in list_defs():
        heads += [h for vs in ld.columns.values() for h in vs]
    return heads


def _norm(text: object) -> str:
    return ingest._norm_header(text)


def recognise(headers: list[str]) -> tuple[ListDef | None, str]:
    """The Annex A list a header row belongs to, or ``None`` and why not.

    A list fits when the header holds a child id (not needed for a list that is not read) and
    every column of its ``signature``; of the lists that fit, the one with the most of its own
    headers wins (ties: the lower list number)."""
    have = {_norm(h) for h in headers}
    d = _mapping_file()
    child = any(_norm(v) in have for v in d["common"]["child_id"])
    best: tuple[int, int, ListDef] | None = None
    for ld in list_defs():
        def present(canon: str, ld: ListDef = ld) -> bool:
            return any(_norm(v) in have for v in ld.columns.get(canon, [canon]))
        if ld.read:
            if not (child and all(present(s) for s in ld.signature)):
                continue
            score = sum(present(c) for c in ld.columns)
        else:
            score = sum(_norm(h) in have for h in ld.columns["_"])
            if score < 2:
                continue
        if best is None or score > best[0]:
            best = (score, -ld.number, ld)
    if best is not None:
        return best[2], ""
    if not child:
        return None, "no child id column ('Child Unique ID') in its first ten rows"
    return None, ("it has a child id but none of the date columns that identify a list (e.g. "
                  "'Date of Contact', 'Date of referral', 'Child Protection Plan Start Date')")


def _sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, after the whole-file checks ``ingest.read_raw`` makes."""
    if not path.exists():
        raise ingest.InputError(f"{path}: file not found. Check the path (it is relative to "
                                f"{Path.cwd()}).")
    if path.is_dir():
        raise ingest.InputError(f"{path}: is a folder, not a file. Name the .xlsx workbook.")
    wb = ingest.open_workbook(path)  # encrypted, an old .xls renamed, or unreadable
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_workbook(path: str | Path, *, key: bytes | None = None, demo_key: bool = False,
                  scale: schemas.Scale | None = None, today: date | None = None,
                  link: bool = True) -> AnnexAResult:
    """Read every sheet of an Annex A workbook into one table per recognised list.

    Raises ``InputError`` for a file that cannot be read, or that holds no recognised list
    (the message names every sheet and why it was not a list)."""
    from . import journey

    path = Path(path)
    if path.suffix.lower() not in {".xlsx", ".xlsm"}:
        raise ingest.InputError(f"{path}: an Annex A workbook is an Excel .xlsx file with one "
                                "sheet per list. Save it as .xlsx (or ingest a single list "
                                "with --kind cases --mapping annex_a).")
    names = _sheet_names(path)  # whole-file checks (missing, folder, encrypted, unreadable)
    key = key if key is not None else privacy.load_key(demo=demo_key)
    expected = _all_headers()
    reports: list[SheetReport] = []
    taken: dict[str, str] = {}
    for name in names:
        rep = SheetReport(sheet=name)
        reports.append(rep)
        try:
            raw, _ = ingest.read_raw(path, sheet=name, expected=expected)
        except ingest.InputError as exc:
            rep.skipped = "empty" if "is empty" in str(exc) else str(exc)
            continue
        ld, why = recognise(ingest._headers(raw))
        if ld is None:
            rep.skipped = f"not an Annex A list: {why}"
            continue
        rep.number = ld.number
        if not ld.read:
            rep.table, rep.skipped = ld.table, ld.why
            continue
        if ld.table in taken:
            rep.table = ld.table
            rep.skipped = (f"list {ld.number} was already read from sheet {taken[ld.table]!r}; "
                           "put each list on one sheet")
            continue
        taken[ld.table] = name
        rep.table = ld.table
        try:
            rep.result = ingest.ingest(path, ld.table, list_mapping(ld.table), key=key,
                                       sheet=name, scale=scale, today=today)
        except NoListError:
            raise
        except ingest.InputError as exc:  # say which sheet and list the problem is in
            raise ingest.InputError(f"sheet {name!r} (Annex A list {ld.number}): {exc}"
                                    ) from None
        # where a row is: file, sheet, row (the sheet after the file, in every list's log)
        rep.result.quarantine.insert(1, "sheet", name)
    if not any(r.result is not None for r in reports):
        lines = "; ".join(f"{r.sheet!r}: {r.skipped or 'not read'}" for r in reports)
        raise NoListError(
            f"{path}: no Ofsted Annex A list was recognised in any sheet ({lines}). Fix: each "
            "list needs its header row (e.g. 'Child Unique ID', 'Date of Contact') within the "
            "first ten rows of its sheet; see src/analysis/mappings/annex_a_lists.yml for the "
            "headers of every list.")
    out = AnnexAResult(source=path, sheets=reports, key_fingerprint=privacy.key_fingerprint(key))
    if link:
        tables = {t: r.accepted for t, r in out.tables.items()}
        out.journey = journey.build_journey(tables)
        out.cases = journey.front_door_cases(out.journey, tables, key, scale=scale)
    return out


def summary_lines(result: AnnexAResult) -> list[str]:
    """One line per sheet (list, read, accepted, quarantined, top reasons) or why skipped."""
    lines = [f"{result.source}:"]
    for r in result.sheets:
        if r.result is not None:
            res = r.result
            reasons = "; ".join(f"{rule} ({n})" for rule, n in r.top_reasons())
            lines.append(f"  sheet {r.sheet!r}: list {r.number} -> {r.table}: "
                         f"{res.rows_read} read, {res.rows_accepted} accepted, "
                         f"{res.rows_quarantined} quarantined"
                         + (f"; top reasons: {reasons}" if reasons else ""))
        else:
            lines.append(f"  sheet {r.sheet!r}: skipped ({r.skipped})")
    if result.journey is not None and "list1_contacts" not in result.tables:
        lines.append("  no list 1 (contacts) in the workbook: no child journeys, and the cases "
                     "table holds only list 2's early help episodes")
    if result.journey is not None:
        j = result.journey
        lines.append(f"  journey: {len(j)} contacts, {int(j['referral_date'].notna().sum())} "
                     f"linked to a referral, {int(j['early_help_start_date'].notna().sum())} "
                     "to early help")
    return lines


def write_outputs(result: AnnexAResult, out_dir: str | Path, cases_name: str = "cases"
                  ) -> dict[str, Path]:
    """Write each list's ``<table>.parquet``, ``<table>_quarantine.csv`` and
    ``<table>_ingest.json`` (``ingest.write_outputs``), ``journey.parquet`` and the
    front-door table ``<cases_name>.parquet``; return name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for r in result.sheets:
        if r.result is not None and r.table:
            written = ingest.write_outputs(r.result, out, name=r.table)
            paths.update({f"{r.table}_{k}" if k != "table" else r.table: v
                          for k, v in written.items()})
    if result.journey is not None:
        paths["journey"] = out / "journey.parquet"
        result.journey.to_parquet(paths["journey"], index=False)
    if result.cases is not None:
        paths[cases_name] = out / f"{cases_name}.parquet"
        result.cases.to_parquet(paths[cases_name], index=False)
    return paths


def counts(result: AnnexAResult) -> list[dict[str, Any]]:
    """Per-sheet accounting for round.json: sheet, list, table, read, accepted, quarantined
    (or skipped and why)."""
    out = []
    for r in result.sheets:
        item: dict[str, Any] = {"sheet": r.sheet, "list": r.number, "table": r.table}
        if r.result is not None:
            item.update(rows_read=r.result.rows_read, rows_accepted=r.result.rows_accepted,
                        rows_quarantined=r.result.rows_quarantined)
        else:
            item["skipped"] = r.skipped
        out.append(item)
    return out
