"""Reading a file: CSV, XLSX or Parquet, with every whole-file and cell-level check.

``read_raw`` reads a CSV or a workbook sheet as text (encoding sniffed: UTF-8 or UTF-16;
misaligned records, merged cells, formulas without a saved value and duplicate headers
noted in the frame's ``attrs`` for the quarantine) and refuses what is not a table
(``InputError``: unreadable, empty, encrypted, more than ``MAX_COLUMNS`` columns).  A
Parquet file is opened by ``open_parquet`` and read in batches by the ingest engine
(``ParquetFile.iter_batches``), never whole.
"""

from __future__ import annotations

import csv
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .common import (
    MAX_COLUMNS,
    OLE2_SIGNATURE,
    PARQUET_SUFFIXES,
    READ_SUFFIXES,
    InputError,
    _norm_header,
    column_letter,
    short,
    short_list,
)
from .mapping import HEADERS, LETTERS


def check_file(path: Path) -> str:
    """The file's suffix (lower case), after refusing a missing path, a folder or a type ingest
    cannot read (``InputError`` naming the fix)."""
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the path (it is relative to "
                         f"{Path.cwd()}).")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file. Name the CSV, XLSX or Parquet file.")
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise InputError(f"{path}: cannot read '{suffix or 'no extension'}' files. Save it as CSV "
                         "(UTF-8), XLSX or Parquet.")
    return suffix


def is_parquet(path: Path) -> bool:
    """Whether ``path`` names a Parquet file (read in batches, never whole)."""
    return path.suffix.lower() in PARQUET_SUFFIXES


def open_parquet(path: Path) -> Any:
    """``pyarrow.parquet.ParquetFile`` of ``path`` (nothing read but the footer), or
    ``InputError``: unreadable, or wider than ``MAX_COLUMNS``."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                         "Re-export it, or save it as CSV.") from None
    _check_width(path, len(pf.schema_arrow.names))
    return pf


def read_raw(path: str | Path, sheet: str | None = None, encoding: str | None = None,
             expected: Iterable[str] = ()) -> tuple[pd.DataFrame, int]:
    """Read a CSV, XLSX or Parquet file with every cell as text (or native date/number).

    Returns the frame and the file row number of its first data row (so quarantine rows can
    be named as the user sees them: the header is row 1 of a CSV).  ``ingest`` reads a
    Parquet file in batches instead (``open_parquet``); this whole-file read of one serves
    the checks that look at a few columns (``analysis.gate``).
    """
    path = Path(path)
    suffix = check_file(path)
    if suffix in {".csv", ".txt"}:
        return _read_csv(path, encoding), 2
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, sheet, expected)
    pf = open_parquet(path)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                         "Re-export it, or save it as CSV.") from None
    df.attrs[NESTED] = nested_columns(pf.schema_arrow)
    return df, 1


def _check_width(path: Path, width: int) -> None:
    if width > MAX_COLUMNS:
        raise InputError(f"{path}: has {width:,} columns; a table export has at most "
                         f"{MAX_COLUMNS:,}. Check it is the table itself (not a pivot or a "
                         "transposed sheet) and delete the extra columns.")


def nested_columns(schema: Any) -> dict[str, str]:
    """Columns of an Arrow schema holding nested values (struct, list, map, union), with their
    type: ingest reads one value per cell and refuses these by name when the table uses them
    (issue 12, case 17: they crashed pandas and DuckDB with a traceback)."""
    import pyarrow as pa

    def nested(t: Any) -> bool:
        if pa.types.is_dictionary(t):
            return nested(t.value_type)
        return pa.types.is_nested(t)

    return {f.name: str(f.type) for f in schema if nested(f.type)}


def nested_message(path: Path, name: str, typ: str) -> str:
    """The message refusing a nested Parquet column ."""
    return (f"{path}: column {short(name, 60)!r} holds nested values ({short(typ, 60)}), not "
            "one value per cell. Flatten it in the export (one column per field) or drop it.")


FIELD_PROBLEMS = "field_problems"  # DataFrame.attrs key: {position: (fields, header fields)}
# DataFrame.attrs key: {position: [(raw column, value, rule)]}: cells that read as blank or
# wrong in a workbook (merged ranges, formulas without a saved value), quarantined per row.
CELL_PROBLEMS = "cell_problems"
NESTED = "nested"  # DataFrame.attrs key: {column: Arrow type} of nested Parquet columns
SHEETS = "sheets"  # DataFrame.attrs key: (sheet read, every sheet of the workbook)


def _misaligned_csv(path: Path, enc: str, sep: str = ",") -> pd.DataFrame | None:
    """``None`` when every record has as many fields as the header; otherwise the frame read
    record by record, each misaligned record blanked and listed in ``attrs[FIELD_PROBLEMS]``
    for the quarantine. pandas would take one extra field on the first data row as an index
    and shift every column, or stop at a later one (issue 12, case 12)."""
    with path.open(newline="", encoding=enc) as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, None)
        if header is None:
            return None
        width = len(header)
        if all(len(rec) == width or not rec for rec in reader):
            return None
    rows, problems = [], {}
    with path.open(newline="", encoding=enc) as fh:
        reader = csv.reader(fh, delimiter=sep)
        next(reader)
        for rec in reader:
            if not rec:
                continue  # a blank line, skipped as pandas skips it
            if len(rec) != width:
                problems[len(rows)] = (len(rec), width)
                rec = [""] * width
            rows.append(rec)
    seen: dict[str, int] = {}
    names = []
    for h in header:  # duplicate headers numbered as pandas numbers them
        names.append(f"{h}.{seen[h]}" if h in seen else h)
        seen[h] = seen.get(h, 0) + 1
    df = pd.DataFrame(rows, columns=names, dtype=str)
    df.attrs[FIELD_PROBLEMS] = problems
    return df


def sniff_encoding(path: Path) -> str | None:
    """``utf-16`` for a UTF-16 text file (a byte-order mark, or NUL bytes in every other
    position), else ``None``. Excel's "Unicode Text" and some case-management systems write
    UTF-16; read as UTF-8 it failed with advice to try cp1252 (issue 12, case 18)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if len(head) >= 4 and head.count(b"\0") * 3 >= len(head):
        odd_nuls = head[1::2].count(b"\0")
        even_nuls = head[0::2].count(b"\0")
        return "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
    return None


#: Field separators a "CSV" export may use besides the comma: Excel in locales whose decimal
#: mark is a comma saves CSV with semicolons; "Text (Tab delimited)" exports use tabs.
OTHER_SEPARATORS = (";", "\t", "|")


def sniff_separator(header_line: str) -> str:
    """The field separator of a CSV file from its header line: a comma, unless the header
    has no comma outside quotes and splits on one of ``OTHER_SEPARATORS`` (the one giving the
    most fields). A header is names, never values, so it tells the separator reliably where a
    data row (a note with semicolons in it) might not."""
    def fields(sep: str) -> int:
        return len(next(csv.reader([header_line], delimiter=sep), []))

    if fields(",") > 1:
        return ","
    best = max(OTHER_SEPARATORS, key=fields)
    return best if fields(best) > 1 else ","


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    sniffed = sniff_encoding(path)
    if encoding and sniffed and not encoding.lower().replace("_", "-").startswith("utf-16"):
        # NUL bytes decode as UTF-8 or cp1252 without an error: every header would be garbled
        raise InputError(f"{path}: is UTF-16 text, not {encoding}. Leave out --encoding: "
                         "UTF-16 is recognised and read.")
    enc = encoding or sniffed or "utf-8-sig"
    try:
        with path.open(newline="", encoding=enc) as fh:
            sep = sniff_separator(fh.readline().rstrip("\r\n"))
            fh.seek(0)
            header = next(csv.reader(fh, delimiter=sep), None)
        if header is not None:
            _check_width(path, len(header))
        odd = _misaligned_csv(path, enc, sep)
        if odd is not None:
            odd.attrs[HEADERS] = header
            return odd
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, sep=sep,
                         skipinitialspace=False, index_col=False)
        if header is not None and len(header) == df.shape[1]:
            df.attrs[HEADERS] = header
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: is not encoded as {enc.replace('-sig', '')} (byte {exc.start} cannot be "
            "read). Save it from Excel as 'CSV UTF-8', or pass --encoding cp1252 if it came "
            "from an older Windows system."
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty. Export the table again with its header "
                         "row.") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: is not a well-formed CSV ({short(str(exc).strip())}). Check "
                         "for unquoted commas or line breaks inside cells.") from None
    except LookupError:
        raise InputError(f"unknown encoding {enc!r}; use utf-8 or cp1252") from None
    except csv.Error as exc:
        raise InputError(f"{path}: is not a well-formed CSV ({short(exc)}). Export it again as "
                         "'CSV UTF-8'.") from None
    return df


def open_workbook(path: Path) -> Any:
    """``path`` opened read-only for its saved values (openpyxl), or ``InputError`` naming why
    it cannot be: password-protected or an old .xls renamed (an OLE2 file), or not a workbook.
    The caller closes it."""
    import openpyxl

    with path.open("rb") as fh:
        head = fh.read(512)
    if head[:8] == OLE2_SIGNATURE:
        raise InputError(f"{path}: the workbook is password-protected (encrypted), or an "
                         "old .xls file renamed .xlsx. Save an unprotected copy as .xlsx "
                         "(File > Info > Protect Workbook > remove the password).")
    if head and not head.startswith(b"PK") and b"\0" not in head:
        text = head.decode("utf-8", errors="replace")
        if "," in text or ";" in text or "\t" in text:  # a CSV export named .xlsx
            raise InputError(f"{path}: is a text (CSV) file, not an Excel workbook, though "
                             "named .xlsx. Rename it to .csv and run the command again.")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a readable Excel workbook ({exc.__class__.__name__}). "
                         "Open it in Excel and save it again as .xlsx.") from None


#: Sheets read lately, by (file, size, modification time, sheet): an Annex A sheet is read to
#: recognise its list, then again to ingest it (and the publication gate does the same), and
#: openpyxl's reading is the slow part. Small sheets only (``SHEET_CACHE_CELLS``), a few.
_SHEET_CACHE: OrderedDict[tuple[Any, ...], _Sheet] = OrderedDict()
_SHEET_CACHE_LOCK = threading.Lock()
SHEET_CACHE_SIZE, SHEET_CACHE_CELLS = 4, 2_000_000


@dataclass(frozen=True)
class _Sheet:
    """One worksheet as read: its title, the workbook's sheet names, its rows of values
    (trailing blank rows dropped) and what its XML says besides (``_sheet_xml``)."""

    title: str
    sheets: list[str]
    rows: list[tuple[Any, ...]]
    merged: list[tuple[str, tuple[int, int, int, int]]]
    formulas: dict[tuple[int, int], str]


def _sheet(path: Path, sheet: str | None) -> _Sheet:
    """The sheet ``sheet`` (the first when None) of the workbook at ``path``, read once
    for as long as the file is unchanged (``_SHEET_CACHE``); ``InputError`` when there is no
    such sheet."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, sheet)
    with _SHEET_CACHE_LOCK:
        if key in _SHEET_CACHE:
            _SHEET_CACHE.move_to_end(key)
            return _SHEET_CACHE[key]
    wb = open_workbook(path)
    try:
        sheets = list(wb.sheetnames)
        if sheet is None:
            ws = wb[sheets[0]]
        elif sheet in sheets:
            ws = wb[sheet]
        else:
            raise InputError(f"{path}: has no sheet named {short(sheet, 40)!r}. Sheets in the "
                             f"file: {short_list(sheets)}. Pass --sheet with one of them.")
        rows = list(ws.iter_rows(values_only=True))
        merged, formulas = _sheet_xml(wb, ws)
        title = ws.title
    finally:
        wb.close()
    while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
        rows.pop()
    got = _Sheet(title, sheets, rows, merged, formulas)
    if sum(len(r) for r in rows) <= SHEET_CACHE_CELLS:
        with _SHEET_CACHE_LOCK:
            _SHEET_CACHE[key] = got
            while len(_SHEET_CACHE) > SHEET_CACHE_SIZE:
                _SHEET_CACHE.popitem(last=False)
    return got


def _read_xlsx(path: Path, sheet: str | None, expected: Iterable[str]) -> tuple[pd.DataFrame, int]:
    got = _sheet(path, sheet)
    rows, merged, formulas, sheets = got.rows, got.merged, got.formulas, got.sheets
    if not rows:
        raise InputError(f"{path}: sheet {got.title!r} is empty. Name the sheet that holds the "
                         "table with --sheet.")
    # Exports often carry title rows above the header: take the first of the first ten
    # rows that holds the most recognised column names.
    wanted = {_norm_header(e) for e in expected}
    header_idx = 0
    if wanted:
        scores = [sum(_norm_header(v) in wanted for v in r if v is not None) for r in rows[:10]]
        if max(scores) > 0:
            header_idx = int(np.argmax(scores))
    header = ["" if v is None else str(v) for v in rows[header_idx]]
    # A two-row header: a cell merged down over both rows (e.g. "Child Unique ID" beside a
    # "Child details" group row) holds its name in the row above and reads as blank here.
    for _, (c1, r1, c2, r2) in merged:
        if r1 <= header_idx < r2 and c1 == c2 and c1 - 1 < len(header) \
                and not header[c1 - 1].strip() and rows[r1 - 1][c1 - 1] is not None:
            header[c1 - 1] = str(rows[r1 - 1][c1 - 1])
    width = len(header)
    _check_width(path, sum(h.strip() != "" for h in header))
    body = [(list(r) + [None] * width)[:width] for r in rows[header_idx + 1:]]
    keep = [j for j, h in enumerate(header) if h.strip() != ""]
    first_row = header_idx + 2  # the sheet row of body[0] (rows are 1-based)
    problems: dict[int, list[tuple[str, str, str]]] = {}

    def problem(row: int, col: int, value: str, rule: str) -> None:
        problems.setdefault(row - first_row, []).append((header[col], value, rule))

    kept = set(keep)
    for ref, (c1, r1, c2, r2) in merged:
        for r in range(max(r1, first_row), min(r2, first_row + len(body) - 1) + 1):
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1) and c - 1 in kept:
                    problem(r, c - 1, "", f"sheet {short(got.title, 40)!r}: cell "
                            f"{column_letter(c - 1)}{r} is in the merged range {ref} and reads "
                            "as blank; unmerge it and fill every row")
    for (r, c), formula in sorted(formulas.items()):  # a formula without a saved value
        i = r - first_row  # reads as blank
        if 0 <= i < len(body) and c in kept and body[i][c] is None:
            problem(r, c, short(formula, 60), f"sheet {short(got.title, 40)!r}: cell "
                    f"{column_letter(c)}{r} holds a formula with no saved value; open the "
                    "workbook in Excel and save it, or paste values")
    seen: dict[str, int] = {}
    names = []
    for h in header:  # duplicate headers numbered as pandas numbers them
        names.append(f"{h}.{seen[h]}" if h in seen else h)
        seen[h] = seen.get(h, 0) + 1
    df = pd.DataFrame(body, columns=names, dtype=object).iloc[:, keep]
    df.attrs[HEADERS] = [header[j] for j in keep]
    df.attrs[SHEETS] = (got.title, sheets)
    df.attrs[LETTERS] = [column_letter(j) for j in keep]
    df.attrs[CELL_PROBLEMS] = problems
    return df, first_row


def _sheet_xml(wb: Any, ws: Any) -> tuple[list[tuple[str, tuple[int, int, int, int]]],
                                          dict[tuple[int, int], str]]:
    """What read-only openpyxl does not give, from one pass over the sheet's XML
    (ElementTree ``iterparse``):

    * the merged ranges, as (``"B7:B9"``, (min col, min row, max col, max row)): in a merged
      range only the top-left cell holds the value and every other cell reads as blank
      (issue 12, case 14);
    * the cells that hold a formula with no saved result, as {(sheet row, 0-based column):
      formula}: a workbook written by a program (not saved by Excel) keeps formulas without
      their results, which read for values as blank (a shared formula's other cells are
      translated from its first, as openpyxl does).
    """
    from xml.etree.ElementTree import iterparse

    from openpyxl.formula.translate import Translator
    from openpyxl.utils.cell import coordinate_from_string, range_boundaries

    archive = getattr(wb, "_archive", None)
    part = getattr(ws, "_worksheet_path", None)
    merged: list[tuple[str, tuple[int, int, int, int]]] = []
    formulas: dict[tuple[int, int], str] = {}
    if archive is None or part is None:
        return merged, formulas
    shared: dict[str, tuple[str, str]] = {}  # si -> (formula, cell of its text)
    with archive.open(part) as fh:
        for _, el in iterparse(fh):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "c":
                ns = el.tag[:-1]
                f = el.find(ns + "f")
                if f is not None and el.get("r"):
                    ref = el.get("r")
                    text = "=" + f.text if f.text else ""
                    if f.get("t") == "shared" and f.get("si") is not None:
                        if text:
                            shared[f.get("si")] = (text, ref)
                        elif f.get("si") in shared:
                            first, origin = shared[f.get("si")]
                            try:
                                text = Translator(first, origin).translate_formula(ref)
                            except Exception:  # noqa: BLE001 - the message shows the first's
                                text = first
                    v = el.find(ns + "v")
                    if v is None or not v.text:
                        col, row = coordinate_from_string(ref)
                        formulas[(row, range_boundaries(f"{col}1")[0] - 1)] = text
                el.clear()
            elif tag == "mergeCell":
                if el.get("ref"):
                    ref = el.get("ref")
                    merged.append((ref, range_boundaries(ref)))
                el.clear()
            elif tag == "row":
                el.clear()
    return merged, formulas
