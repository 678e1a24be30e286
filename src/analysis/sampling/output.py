"""Writing a drawn sample: the manifest, the public design table and the auditor workbook.

``write_sample`` writes ``manifest.json`` (sorted keys), ``design_table.csv`` (no case-level
data) and ``auditor_workbook.xlsx`` (``write_workbook``: drop-down lists, formula injection
neutralised, byte-stable through ``export.deterministic_xlsx``); ``load_or_draw`` keeps a
round's sample in its ``sample_folder``; ``cli_draw`` is ``sqa sample --cases FILE --design
DESIGN --out DIR``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import schemas
from ..provenance import write_json
from .design import Design, load_design
from .drawing import Sample, draw
from .manifest import read_manifest, sample_fingerprint
from .summary import design_summary


def sample_folder(processed_dir: str | Path, design: str | Path | Design) -> Path:
    """Where a round keeps a design's sample: ``<processed_dir>/samples/<design name>/``."""
    return Path(processed_dir) / "samples" / load_design(design).name


def load_or_draw(design: str | Path | Design, processed_dir: str | Path,
                 seed: int | None = None, redraw: bool = False) -> tuple[dict[str, Any], Path]:
    """The round's manifest for ``design`` (and its path), drawing the sample first from
    ``<processed_dir>/cases.parquet`` when it is missing or ``redraw`` is set (as
    ``sqa sample`` would, into ``sample_folder``)."""
    d = load_design(design)
    folder = sample_folder(processed_dir, d)
    path = folder / "manifest.json"
    if redraw or not path.exists():
        write_sample(draw(Path(processed_dir) / "cases.parquet", d, seed=seed), folder)
    return read_manifest(path), path


def write_sample(sample: Sample, out_dir: str | Path, standards: str | Path | None = None,
                 scale: str | None = None) -> dict[str, Path]:
    """Write ``manifest.json``, ``design_table.csv`` and ``auditor_workbook.xlsx``."""
    from ..export import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"manifest": out / "manifest.json", "design_table": out / "design_table.csv",
             "workbook": out / "auditor_workbook.xlsx"}
    write_json(sample.manifest, paths["manifest"])
    write_csv(design_table(sample.manifest), paths["design_table"])
    std = schemas.load_standards(standards) if standards else None
    sc = schemas.load_scale(scale or sample.design.scale) if (scale or sample.design.scale) \
        else None
    # The sample's fingerprint goes on the workbook's Instructions sheet (the manifest records
    # nothing of the workbook).
    write_workbook(sample.selected, sample.manifest, paths["workbook"], standards=std, scale=sc)
    return paths


def design_table(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """The public design table (no case-level data): one row per stratum and a total row."""
    s = design_summary(manifest)
    return pd.DataFrame({
        "stratum": s["stratum"], "label": s["label"], "population": s["population"],
        "sampled": s["sampled"], "sampling_fraction": s["fraction"].round(6),
        "margin_of_error_95": s["margin_of_error"].round(6), "too_small": s["too_small"],
        "note": s["note"]})


WORKBOOK_PREFILLED = ("case_id", "stratum", "service", "contact_date", "team")


def workbook_columns(standards: schemas.Standards, scale: schemas.Scale
                     ) -> list[tuple[str, str, list[str] | None]]:
    """(column, instruction, allowed values or None) for each auditor-completed column."""
    answers = list(standards.answers)
    cols: list[tuple[str, str, list[str] | None]] = [
        ("auditor_id", "Your initials or staff code (one row per case per auditor).", None),
        ("auditor_agency", "Your agency (police, health, CSC, education ...).", None),
        ("audit_date", "Date of the audit (dd/mm/yyyy).", None),
    ]
    for s in standards.standards:
        cols.append((f"std_{s['key']}", f"{s['label']}. {s.get('question', '')}".strip(),
                     answers))
    cols += [
        ("overall_grade", "Overall grade of practice (Ofsted scale).", list(schemas.GRADE)),
        ("tier_judged", f"Level of need you judge right for the case ({scale.label}).",
         list(scale.levels)),
        ("triage_grade_judged", "Domestic-abuse triage grade you judge right (if it applies).",
         list(schemas.TRIAGE_GRADE)),
    ]
    for t in standards.themes:
        cols.append((f"theme_{t['key']}", f"Theme: {t['label']} (yes if it applies).",
                     ["yes", "no"]))
    cols.append(("notes", "Your notes. They stay internal and are never published.", None))
    return cols


#: The label of the Instructions row that records the sample's fingerprint
#: (``sample_fingerprint``): ``analysis.returns`` finds it in a returned workbook and refuses
#: one from another sample.
SAMPLE_FINGERPRINT_LABEL = "Sample fingerprint"
#: The label of the Instructions row where the auditor may write the date the workbook was
#: returned (``analysis.returns`` marks the return late when it is after the due date).
RETURNED_LABEL = "Date returned"


def write_workbook(selected: pd.DataFrame, manifest: Mapping[str, Any], path: str | Path,
                   standards: schemas.Standards | None = None,
                   scale: schemas.Scale | None = None) -> Path:
    """The auditor workbook: sheet "Audit" (one row per sampled case) and "Instructions".

    The Instructions sheet records the sample's fingerprint (``sample_fingerprint``) in the
    row ``SAMPLE_FINGERPRINT_LABEL``, so that a returned workbook can be matched to its sample
    (``analysis.returns``), and has a row ``RETURNED_LABEL`` for the date it is returned.

    Column headers are the audit-returns contract names (``schemas.audit_spec``), so a
    completed workbook reads back with ``ingest(path, "audit", sheet="Audit")``.  Answer
    columns carry drop-down lists (Excel data validation).  Every cell goes through
    ``export.cell_value`` (formula injection neutralised) and the file is made byte-stable
    with ``export.deterministic_xlsx``.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..export import cell_value, deterministic_xlsx

    standards = standards or schemas.load_standards()
    scale = scale or schemas.load_scale()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = selected.sort_values(["stratum", "case_id"], kind="stable")
    pre = [c for c in WORKBOOK_PREFILLED if c in rows.columns]
    completed = workbook_columns(standards, scale)
    headers = pre + [c for c, _, _ in completed]

    wb = Workbook()
    ws = wb.active
    ws.title = "Audit"
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    ws.append([cell_value(h) for h in headers])
    for cell in ws[1]:
        cell.font = bold
    for rec in rows[pre].itertuples(index=False, name=None):
        ws.append([cell_value(v) for v in rec] + [None] * len(completed))
    last = max(len(rows) * 5, 200) + 1  # room to copy rows for further auditors
    for j, c in enumerate(pre, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = 22 if c != "contact_date" else 13
        for i in range(2, len(rows) + 2):
            ws.cell(i, j).fill = grey
            if c == "contact_date":
                ws.cell(i, j).number_format = "yyyy-mm-dd"
    for j, (c, _, allowed) in enumerate(completed, start=len(pre) + 1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = 40 if c == "notes" else max(14, len(c) + 2)
        if allowed:
            dv = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"',
                                allow_blank=True, showErrorMessage=True,
                                errorTitle="Not an allowed value",
                                error="Choose a value from the list: " + ", ".join(allowed))
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
        elif c == "audit_date":
            dv = DataValidation(type="date", operator="greaterThan", formula1="DATE(1990,1,1)",
                                allow_blank=True, showErrorMessage=True,
                                errorTitle="Not a date", error="Enter a date, e.g. 31/03/2026")
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
            for i in range(2, len(rows) + 2):
                ws.cell(i, j).number_format = "dd/mm/yyyy"
    ws.freeze_panes = "B2"

    info = wb.create_sheet("Instructions")
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 80
    info.column_dimensions["C"].width = 50
    d = manifest.get("design", {})
    lines: list[list[object]] = [
        ["Auditor workbook", str(d.get("title") or manifest.get("design_name", ""))],
        ["Design", f"{manifest.get('design_name', '')} (seed {manifest.get('seed')})"],
        ["Cases", f"{len(rows)} sampled cases, one row each on the sheet 'Audit'"],
        ["Input SHA-256", str(manifest.get("input_sha256") or "")
         or f"{manifest.get('input_file_sha256', '')} (of the file)"],
        [SAMPLE_FINGERPRINT_LABEL, sample_fingerprint(manifest)],
        [RETURNED_LABEL, None, "The date you return this workbook (dd/mm/yyyy)."],
        [],
        ["How to complete", "Grey columns identify the case: do not change them. The case_id "
         "is pseudonymised; the data owner, who holds the key, finds the case file for you."],
        ["", "Fill in one row per case per auditor. If several auditors audit the same case, "
         "copy the case's row and fill in one copy each, with your own auditor_id."],
        ["", "Pick answers from the drop-down lists. Leave a cell empty if it does not apply "
         "or you cannot tell" + (f" (or choose {' / '.join(standards.not_counted)})"
                                 if standards.not_counted else "") + "."],
        ["", "Return the completed workbook to the board's analyst, who reads every "
         "agency's returns with: sqa ingest --kind audit <files or folder> --manifest "
         "manifest.json --out <folder>. Rows with problems are listed in a quarantine file, "
         "never silently dropped. Keep this sheet: it tells which sample the workbook is for."],
        [],
        ["Column", "What to enter", "Allowed values"],
        ["case_id", "Pseudonymised case identifier (pre-filled).", ""],
        ["stratum", "The group the case was sampled from (pre-filled).", ""],
        ["service", "Service holding the case (pre-filled).", ""],
        ["contact_date", "Date of contact or referral (pre-filled).", ""],
        ["team", "Team holding the case, if known (pre-filled).", ""],
    ]
    lines += [[c, text, ", ".join(allowed) if allowed else ""] for c, text, allowed in completed]
    lines += [[], ["Answer codes", ", ".join(f"{a} = {schemas.answer_label(a)}"
                                             for a in standards.answers)],
              ["Grades", ", ".join(f"{k} = {v}" for k, v in schemas.GRADE.items())],
              ["Levels of need", ", ".join(f"{lv} = {scale.labels.get(lv, lv)}"
                                           for lv in scale.levels)],
              ["Template", f"{standards.name}. {standards.source}".strip()]]
    for line in lines:
        info.append([cell_value(v) for v in line])
    for r in (1, 13):
        for cell in info[r]:
            cell.font = bold
    for row in info.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    wb.save(path)
    return deterministic_xlsx(path)


def cli_draw(cases: str | Path, design: str | Path, seed: int | None, out: str | Path,
             previous: Sequence[str | Path] | None = None,
             standards: str | Path | None = None, scale: str | None = None) -> int:
    """``sqa sample --cases FILE --design DESIGN [--seed N] --out DIR [--previous M ...]``;
    ``standards`` and ``scale`` (a round's template and levels of need) shape the workbook."""
    d = load_design(design)
    sample = draw(cases, d, seed=seed, previous=previous or ())
    paths = write_sample(sample, out, standards=standards, scale=scale)
    m = sample.manifest
    rows = m["rows"]
    print(f"{d.name}: drew {rows['sampled']} cases from {rows['frame']:,} eligible "
          f"({rows['input']:,} rows in {cases}) in {len(m['strata'])} strata, seed {m['seed']}")
    for s in m["strata"]:
        flag = "  too small for a general finding" if s["too_small"] else ""
        print(f"  {s['stratum']:<40} {s['sampled']:>4} of {s['population']:>6,}{flag}")
    if d.exclude_previous_months is not None and not previous:
        print("  note: the design excludes recently audited cases, but no --previous "
              "manifests were given")
    if rows["excluded_previous"]:
        print(f"  excluded {rows['excluded_previous']} case(s) audited recently")
    if m.get("input_sha256"):
        print(f"  input SHA-256 (canonical): {m['input_sha256']}")
    else:
        print(f"  input SHA-256 (of the file): {m['input_file_sha256']}")
    for name, p in paths.items():
        print(f"  wrote {name}: {p}")
    return 0
