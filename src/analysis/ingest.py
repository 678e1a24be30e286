"""Ingest: read a local export, map it onto a canonical table, pseudonymise, quarantine.

``ingest(path, kind)`` turns a CSV, XLSX or Parquet file into one of the three canonical
tables of ``analysis.schemas`` and never loses a row:

* a whole-file problem (unreadable file, wrong sheet, missing required column, wrong
  encoding) raises ``InputError`` whose message names the file, what is wrong and the fix;
* a row-level problem sends the row to the quarantine with file, row number, column, value
  and rule; rows accepted + rows quarantined = rows read, always;
* identifiers are pseudonymised (``analysis.privacy``) and a date of birth becomes an age
  band before anything is written.

A column-mapping file (YAML) turns a local export into the canonical table; the shipped
``annex_a`` mapping copes with Ofsted Annex A lists 1-3 (header variants, Excel serial
dates, "b) Female" codes, "#N/A", stray spaces, leading zeros in ids).

Values are parsed with vectorised pandas operations (one dictionary lookup per distinct
value for coded columns), and the accepted table is checked against its pandera contract
(``schemas.pandera_schema``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import __version__, privacy, schemas
from .provenance import sha256_file, timestamp, write_json

__all__ = ["ANSWER_NA_TOKENS", "DATE_RULE", "ENUM_PREFIX", "EXCEL_EPOCH", "MAX_COLUMNS",
           "OLE2_SIGNATURE", "IngestResult", "InputError", "Mapping", "NA_TOKENS",
           "PSEUDONYM_KIND", "READ_SUFFIXES", "builtin_mappings", "column_letter", "date_rules",
           "ingest", "load_mapping", "nested_columns", "nested_message", "open_workbook",
           "read_raw",
           "read_table", "short", "short_list", "sniff_encoding", "write_outputs"]

NA_TOKENS = {"", "#n/a", "#na", "n/a", "null", "nan", "none", "#value!", "#ref!", "#div/0!",
             "#name?", "nat", "-"}
# In answer columns "n/a" means "not applicable", not "missing".
ANSWER_NA_TOKENS = NA_TOKENS - {"n/a"}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
ENUM_PREFIX = re.compile(r"^\(?[a-z0-9]{1,2}[).]\s+")
READ_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq"}
# The widest canonical table has a few dozen columns: a file with more than this is not a
# table export (a pivot, a transposed sheet, a whole workbook flattened) and is refused in one
# line rather than listed (issue 12, case 18: a 100,000-column header printed a 789 KB line).
MAX_COLUMNS = 1000
# The first eight bytes of an OLE2 compound file: what an encrypted (password-protected) .xlsx
# is, or an Excel 97-2003 .xls saved with an .xlsx name. openpyxl reports it as "BadZipFile".
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PSEUDONYM_KIND = {"case_id": "case", "child_id": "child", "subject_id": "subject"}


class InputError(Exception):
    """A whole-file problem: reported to the user as one clear message, no traceback."""


def short(value: object, limit: int = 80) -> str:
    """``value`` as text for a message, cut to ``limit`` characters with its length said, so a
    pasted essay or a 100,000-column header never floods the terminal (issue 12, case 18)."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def short_list(values: Iterable[object], limit: int = 10) -> str:
    """The first ``limit`` values, each quoted and cut by ``short``, then how many more."""
    items = list(values)
    shown = ", ".join(repr(short(v, 40)) for v in items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def column_letter(position: int) -> str:
    """The spreadsheet letter of a 0-based column position (0 -> A, 26 -> AA)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(position + 1)


@dataclass
class Mapping:
    """A column mapping: local headers -> canonical columns (see mappings/annex_a.yml)."""

    name: str
    kind: str | None = None
    sheet: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    compose: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""


@dataclass
class IngestResult:
    """What ingest produced: the canonical table, the quarantine and the accounting."""

    kind: str
    source: Path
    rows_read: int
    accepted: pd.DataFrame
    quarantine: pd.DataFrame
    ignored_columns: list[str]
    mapping: str | None
    input_sha256: str
    key_fingerprint: str
    warnings: list[str] = field(default_factory=list)
    #: The file row number (as the spreadsheet shows it) of each accepted row, in the order of
    #: ``accepted``: what a later check of the rows (``analysis.returns``) names them by.
    source_rows: list[int] = field(default_factory=list)

    @property
    def rows_accepted(self) -> int:
        return len(self.accepted)

    @property
    def rows_quarantined(self) -> int:
        return int(self.quarantine["row"].nunique()) if len(self.quarantine) else 0


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _norm_header(text: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def read_raw(path: str | Path, sheet: str | None = None, encoding: str | None = None,
             expected: Iterable[str] = ()) -> tuple[pd.DataFrame, int]:
    """Read a CSV, XLSX or Parquet file with every cell as text (or native date/number).

    Returns the frame and the file row number of its first data row (so quarantine rows can
    be named as the user sees them: the header is row 1 of a CSV).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the path (it is relative to "
                         f"{Path.cwd()}).")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file. Name the CSV, XLSX or Parquet file.")
    suffix = path.suffix.lower()
    if suffix not in READ_SUFFIXES:
        raise InputError(f"{path}: cannot read '{suffix or 'no extension'}' files. Save it as CSV "
                         "(UTF-8), XLSX or Parquet.")
    if suffix in {".csv", ".txt"}:
        return _read_csv(path, encoding), 2
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, sheet, expected)
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        _check_width(path, len(schema.names))
        df = pd.read_parquet(path)
    except InputError:
        raise
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                         "Re-export it, or save it as CSV.") from None
    df.attrs[NESTED] = nested_columns(schema)
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
    """The message refusing a nested Parquet column (shared with ``analysis.scale``)."""
    return (f"{path}: column {short(name, 60)!r} holds nested values ({short(typ, 60)}), not "
            "one value per cell. Flatten it in the export (one column per field) or drop it.")


FIELD_PROBLEMS = "field_problems"  # DataFrame.attrs key: {position: (fields, header fields)}
# DataFrame.attrs key: {position: [(raw column, value, rule)]}: cells that read as blank or
# wrong in a workbook (merged ranges, formulas without a saved value), quarantined per row.
CELL_PROBLEMS = "cell_problems"
HEADERS = "headers"  # DataFrame.attrs key: the header as written (pandas renames duplicates)
LETTERS = "letters"  # DataFrame.attrs key: each frame column's spreadsheet letter
NESTED = "nested"  # DataFrame.attrs key: {column: Arrow type} of nested Parquet columns
SOURCES = "sources"  # DataFrame.attrs key of a renamed frame: {file column: canonical column}


def _misaligned_csv(path: Path, enc: str) -> pd.DataFrame | None:
    """``None`` when every record has as many fields as the header; otherwise the frame read
    record by record, each misaligned record blanked and listed in ``attrs[FIELD_PROBLEMS]``
    for the quarantine. pandas would take one extra field on the first data row as an index
    and shift every column, or stop at a later one (issue 12, case 12)."""
    with path.open(newline="", encoding=enc) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return None
        width = len(header)
        if all(len(rec) == width or not rec for rec in reader):
            return None
    rows, problems = [], {}
    with path.open(newline="", encoding=enc) as fh:
        reader = csv.reader(fh)
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


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    sniffed = sniff_encoding(path)
    if encoding and sniffed and not encoding.lower().replace("_", "-").startswith("utf-16"):
        # NUL bytes decode as UTF-8 or cp1252 without an error: every header would be garbled
        raise InputError(f"{path}: is UTF-16 text, not {encoding}. Leave out --encoding: "
                         "UTF-16 is recognised and read.")
    enc = encoding or sniffed or "utf-8-sig"
    try:
        with path.open(newline="", encoding=enc) as fh:
            header = next(csv.reader(fh), None)
        if header is not None:
            _check_width(path, len(header))
        odd = _misaligned_csv(path, enc)
        if odd is not None:
            odd.attrs[HEADERS] = header
            return odd
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc,
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
        if fh.read(8) == OLE2_SIGNATURE:
            raise InputError(f"{path}: the workbook is password-protected (encrypted), or an "
                             "old .xls file renamed .xlsx. Save an unprotected copy as .xlsx "
                             "(File > Info > Protect Workbook > remove the password).")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a readable Excel workbook ({exc.__class__.__name__}). "
                         "Open it in Excel and save it again as .xlsx.") from None


def _read_xlsx(path: Path, sheet: str | None, expected: Iterable[str]) -> tuple[pd.DataFrame, int]:
    wb = open_workbook(path)
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise InputError(f"{path}: has no sheet named {short(sheet, 40)!r}. Sheets in the "
                             f"file: {short_list(names)}. Pass --sheet with one of them.")
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        merged = _merged_ranges(wb, ws)
    finally:
        wb.close()
    while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(f"{path}: sheet {ws.title!r} is empty. Name the sheet that holds the "
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
    body = [(r + [None] * width)[:width] for r in rows[header_idx + 1:]]
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
                    problem(r, c - 1, "", f"sheet {short(ws.title, 40)!r}: cell "
                            f"{column_letter(c - 1)}{r} is in the merged range {ref} and reads "
                            "as blank; unmerge it and fill every row")
    if any(v is None for r in body for v in r):  # a formula cell without a saved value reads
        for r, c, formula in _unsaved_formulas(path, ws.title, first_row, body, keep):  # None
            problem(r, c, formula, f"sheet {short(ws.title, 40)!r}: cell {column_letter(c)}{r} "
                    "holds a formula with no saved value; open the workbook in Excel and save "
                    "it, or paste values")
    seen: dict[str, int] = {}
    names = []
    for h in header:  # duplicate headers numbered as pandas numbers them
        names.append(f"{h}.{seen[h]}" if h in seen else h)
        seen[h] = seen.get(h, 0) + 1
    df = pd.DataFrame(body, columns=names, dtype=object).iloc[:, keep]
    df.attrs[HEADERS] = [header[j] for j in keep]
    df.attrs[LETTERS] = [column_letter(j) for j in keep]
    df.attrs[CELL_PROBLEMS] = problems
    return df, first_row


def _merged_ranges(wb: Any, ws: Any) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The merged ranges of a read-only worksheet as (``"B7:B9"``, (min col, min row, max col,
    max row)). Read-only openpyxl does not expose them, so the ``mergeCell`` elements of the
    sheet's XML are read with ElementTree; in a merged range only the top-left cell holds the
    value and every other cell reads as blank (issue 12, case 14)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    archive = getattr(wb, "_archive", None)
    part = getattr(ws, "_worksheet_path", None)
    if archive is None or part is None:
        return []
    out = []
    with archive.open(part) as fh:
        for _, el in iterparse(fh):
            if el.tag.endswith("}mergeCell") and el.get("ref"):
                ref = el.get("ref")
                out.append((ref, range_boundaries(ref)))
            el.clear()
    return out


def _unsaved_formulas(path: Path, title: str, first_row: int, body: list[list[Any]],
                      keep: list[int]) -> list[tuple[int, int, str]]:
    """(sheet row, 0-based column, formula) of the body's blank cells that hold a formula.

    A workbook written by a program (not saved by Excel) keeps formulas without their
    results; read for values they are blank, and a required column then says "required value
    is missing" with no hint why. Read a second time for formulas to name them."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        rows = wb[title].iter_rows(min_row=first_row, max_row=first_row + len(body) - 1)
        out = []
        for i, cells in enumerate(rows):
            for j in keep:
                if j < len(cells) and body[i][j] is None and cells[j].data_type == "f":
                    value = cells[j].value
                    out.append((first_row + i, j, short(getattr(value, "text", value), 60)))
        return out
    finally:
        wb.close()


# --------------------------------------------------------------------------------------
# Mapping
# --------------------------------------------------------------------------------------


def builtin_mappings() -> list[str]:
    """Names of the mappings shipped with the package."""
    folder = resources.files("analysis").joinpath("mappings")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".yml"))


def load_mapping(name_or_path: str | Path | Mapping | None) -> Mapping | None:
    """Load a mapping file, or a shipped mapping by name (e.g. ``annex_a``); a ``Mapping``
    already built (``analysis.returns`` makes one from the audit template, ``analysis.annex_a``
    one per list) is passed through."""
    if name_or_path is None or isinstance(name_or_path, Mapping):
        return name_or_path
    p = Path(name_or_path)
    if p.suffix.lower() in {".yml", ".yaml"} or p.exists():
        if not p.exists():
            raise InputError(f"{p}: mapping file not found. Shipped mappings: "
                             f"{', '.join(builtin_mappings())}.")
        text = p.read_text("utf-8")
        label = str(p)
    else:
        res = resources.files("analysis").joinpath("mappings", f"{name_or_path}.yml")
        if not res.is_file():
            raise InputError(f"no mapping named {name_or_path!r}. Shipped mappings: "
                             f"{', '.join(builtin_mappings())}; or give a path to a YAML file.")
        text = res.read_text("utf-8")
        label = str(name_or_path)
    try:
        d = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{label}: mapping is not valid YAML ({exc}).") from None
    if not isinstance(d, dict):
        raise InputError(f"{label}: mapping must be a YAML mapping with 'columns:'.")
    if "lists" in d and "columns" not in d:
        raise InputError(f"{label}: holds the headers of every Ofsted Annex A list, for a whole "
                         "workbook: use --kind annex-a (or kind: annex-a in a round), or the "
                         "single-list mapping annex_a.")
    cols = {k: ([v] if isinstance(v, str) else list(v))
            for k, v in (d.get("columns") or {}).items()}
    values = {k: {str(a).strip().lower(): str(b) for a, b in (v or {}).items()}
              for k, v in (d.get("values") or {}).items()}
    return Mapping(name=str(d.get("name", label)), kind=d.get("kind"), sheet=d.get("sheet"),
                   columns=cols, values=values, constants=dict(d.get("constants") or {}),
                   compose={k: list(v) for k, v in (d.get("compose") or {}).items()},
                   source=label)


def _lookup(spec: schemas.TableSpec, mapping: Mapping | None) -> dict[str, str]:
    """Normalised header -> canonical column, from the contract and the mapping's variants."""
    lookup: dict[str, str] = {}
    for c in [*spec.columns, *spec.inputs]:
        lookup[_norm_header(c.name)] = c.name
    if mapping:
        for canon, variants in mapping.columns.items():
            for v in variants:
                lookup[_norm_header(v)] = canon
    return lookup


def _headers(df: pd.DataFrame) -> list[str]:
    """The frame's headers as written in the file (pandas numbers duplicates 'x.1')."""
    written = df.attrs.get(HEADERS)
    if written is not None and len(written) == df.shape[1]:
        return [str(h) for h in written]
    return [str(c) for c in df.columns]


def _rename(df: pd.DataFrame, spec: schemas.TableSpec, mapping: Mapping | None
            ) -> tuple[pd.DataFrame, list[str]]:
    """Rename local headers to canonical names; return the frame and ignored headers.

    A second column with the same header as a used one (ignoring case, spaces and
    punctuation) is not ignored: ``_duplicate_columns`` compares it with the first."""
    lookup = _lookup(spec, mapping)
    rename: dict[str, str] = {}
    ignored: list[str] = []
    taken: dict[str, str] = {}  # canonical -> normalised header of the column that holds it
    for col, written in zip(df.columns, _headers(df), strict=True):
        norm = _norm_header(written)
        canon = lookup.get(norm)
        if canon and canon not in taken:
            rename[col] = canon
            taken[canon] = norm
        elif not (canon and taken.get(canon) == norm):
            ignored.append(str(col))
    out = df[list(rename)].rename(columns=rename)
    out.attrs = {SOURCES: {str(k): v for k, v in rename.items()}}
    return out, ignored


def _duplicate_columns(df: pd.DataFrame, spec: schemas.TableSpec, mapping: Mapping | None
                       ) -> list[tuple[str, Any, str, Any, str]]:
    """(canonical, first column, its label, later column, its label) for every later column
    whose header is the same as that of the column read for a canonical one (ignoring case,
    spaces and punctuation). pandas renamed the copy 'x.1' and the first silently won (issue
    12, case 14); now each row where the two disagree is quarantined."""
    lookup = _lookup(spec, mapping)
    letters = df.attrs.get(LETTERS) or [column_letter(i) for i in range(df.shape[1])]
    first: dict[str, tuple[Any, str, str]] = {}
    out = []
    for i, (col, written) in enumerate(zip(df.columns, _headers(df), strict=True)):
        norm = _norm_header(written)
        canon = lookup.get(norm)
        if not canon:
            continue
        label = f"{short(written, 40)!r} (column {letters[i]})"
        if canon not in first:
            first[canon] = (col, label, norm)
        elif first[canon][2] == norm:
            out.append((canon, first[canon][0], first[canon][1], col, label))
    return out


# --------------------------------------------------------------------------------------
# Parsing values
# --------------------------------------------------------------------------------------


def _to_text(s: pd.Series, na_tokens: set[str] = NA_TOKENS) -> pd.Series:
    """Cell values as trimmed text, NA for blanks and Excel error/NA tokens."""
    def conv(v: object) -> object:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, datetime | pd.Timestamp):
            return v.strftime("%Y-%m-%d")
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        t = re.sub(r"\s+", " ", str(v)).strip()
        return pd.NA if t.lower() in na_tokens else t

    obj = s.astype("object")
    mapping = {u: conv(u) for u in pd.unique(obj) if not (isinstance(u, float) and np.isnan(u))
               and u is not None and u is not pd.NA}
    return obj.map(mapping).astype("string")


def _code_lookup(col: schemas.Column, extra: dict[str, str] | None) -> dict[str, str]:
    table: dict[str, str] = {}
    for code in col.allowed or ():
        table[code.lower()] = code
        table[code.lower().replace("_", " ")] = code
        label = col.labels.get(code)
        if label:
            table[label.lower()] = code
    for k, v in col.synonyms.items():
        table[k.lower()] = v
    for k, v in (extra or {}).items():
        table[k.lower()] = v
    return table


def _parse_code(text: pd.Series, col: schemas.Column, extra: dict[str, str] | None
                ) -> tuple[pd.Series, pd.Series]:
    table = _code_lookup(col, extra)
    allowed = set(col.allowed or ())

    def one(v: str) -> object:
        low = v.lower()
        bare = ENUM_PREFIX.sub("", low)
        # Annex A and CIN census codes written with their label: "5A: Police", "q) 6: Police",
        # "3A - Health services": the label, then the code, then the label's first words.
        code, sep, label = bare.partition(":") if ":" in bare else bare.partition(" - ")
        extra = (label.strip(), code.strip(), label.split(" - ")[0].strip()) if sep else ()
        for cand in (low, bare, low.replace("-", " ").replace("_", " "), *extra):
            if cand in table and table[cand] in allowed:
                return table[cand]
            if cand.replace(" ", "_") in table and table[cand.replace(" ", "_")] in allowed:
                return table[cand.replace(" ", "_")]
        return None

    mapping = {u: one(u) for u in text.dropna().unique()}
    parsed = text.astype("object").map(mapping)
    bad = text.notna() & parsed.isna()
    return parsed.astype("string"), bad


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%Y-%m-%d %H:%M:%S",
                 "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")


def _parse_date(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UK dates (day first), ISO dates and Excel serial numbers; vectorised."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.notna()
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        # A well-formed date outside what the table can hold (a typo such as 01/01/0201) is a
        # bad value to quarantine, not a crash: keep only years 1900 to 2200.
        years = parsed.dt.year
        ok = parsed.notna() & (years >= 1900) & (years <= 2200)
        parsed = parsed.where(ok).astype("datetime64[ns]")
        out.loc[ok[ok].index] = parsed[ok]
        todo = todo & out.isna()
    if todo.any():  # Excel serial dates (1955 to 2119)
        nums = pd.to_numeric(text[todo], errors="coerce")
        serial = nums.where((nums >= 20000) & (nums <= 80000))
        days = serial.dropna()
        if len(days):
            # the whole days: a date-time serial after midday is still that day (issue 12,
            # case 13: rounding moved it to the next)
            out.loc[days.index] = EXCEL_EPOCH + pd.to_timedelta(
                np.floor(days).astype("int64"), unit="D")
    bad = text.notna() & out.isna()
    return out.dt.normalize(), bad


DATE_RULE = "not a valid date (use dd/mm/yyyy or yyyy-mm-dd)"


def date_rules(bad: pd.Series) -> pd.Series:
    """The quarantine rule for each unparsed date: a well-formed date whose year is out of
    range (a date of birth in 1850, a typo such as 01/01/0201) is told to check the year,
    which "not a valid date" did not say (issue 12, case 18)."""
    def rule(v: str) -> str:
        for fmt in _DATE_FORMATS:
            try:
                year = datetime.strptime(v, fmt).year
            except ValueError:
                continue
            if year < 1900:
                return f"year {year} is before 1900: check the year"
            if year > 2200:
                return f"year {year} is after 2200: check the year"
        return DATE_RULE

    rules = {v: rule(str(v)) for v in pd.unique(bad.dropna())}
    return bad.astype("object").map(rules).fillna(DATE_RULE).astype(str)


_EMPTY_DTYPE = {"date": "datetime64[ns]", "bool": "boolean", "int": "Int64"}
_TRUE = {"true", "t", "yes", "y", "1", "x", "flagged", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "not flagged"}


def _parse_bool(text: pd.Series, blank_false: bool) -> tuple[pd.Series, pd.Series]:
    low = text.str.lower().str.replace(ENUM_PREFIX, "", regex=True)
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[low.isin(_TRUE).fillna(False)] = True
    out[low.isin(_FALSE).fillna(False)] = False
    bad = text.notna() & out.isna()
    if blank_false:
        out = out.fillna(False)
    return out, bad


def _parse_int(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    nums = pd.to_numeric(text, errors="coerce")
    whole = nums.where(np.isclose(nums, np.round(nums)))
    bad = text.notna() & whole.isna()
    return whole.round().astype("Int64"), bad


# --------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------


class _Problems:
    def __init__(self, source: str, rownum: pd.Series) -> None:
        self.source = source
        self.rownum = rownum
        self.items: list[pd.DataFrame] = []

    def add(self, mask: pd.Series, column: str, values: pd.Series | None, rule: str) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        idx = mask[mask].index
        vals = (values.loc[idx].astype("object").map(lambda v: "" if v is pd.NA or v is None
                                                     else str(v))
                if values is not None else pd.Series("", index=idx))
        self.items.append(pd.DataFrame({
            "file": self.source, "row": self.rownum.loc[idx].to_numpy(), "column": column,
            "value": vals.to_numpy(), "rule": rule, "_index": idx.to_numpy()}))

    def frame(self) -> pd.DataFrame:
        if not self.items:
            return pd.DataFrame(columns=["file", "row", "column", "value", "rule", "_index"])
        return pd.concat(self.items, ignore_index=True).sort_values(
            ["row", "column", "rule"], kind="stable").reset_index(drop=True)


def ingest(path: str | Path, kind: str, mapping: str | Path | Mapping | None = None, *,
           key: bytes | None = None, demo_key: bool = False, sheet: str | None = None,
           encoding: str | None = None, standards: schemas.Standards | None = None,
           scale: schemas.Scale | None = None, today: date | None = None) -> IngestResult:
    """Read ``path`` and return the canonical ``kind`` table with its quarantine.

    Raises ``InputError`` for whole-file problems and ``privacy.KeyError_`` when no key is set.
    """
    path = Path(path)
    spec = schemas.spec_for(kind, standards, scale)
    mp = load_mapping(mapping)
    if mp and mp.kind and mp.kind != kind:
        raise InputError(f"{mp.source}: this mapping is for {mp.kind!r} tables, not {kind!r}. "
                         f"Use --kind {mp.kind} or another mapping.")
    key = key if key is not None else privacy.load_key(demo=demo_key)
    expected = [c.name for c in (*spec.columns, *spec.inputs)]
    if mp:
        expected += [v for vs in mp.columns.values() for v in vs]
    raw, first_row = read_raw(path, sheet=sheet or (mp.sheet if mp else None), encoding=encoding,
                              expected=expected)
    rows_read = len(raw)
    df, ignored = _rename(raw, spec, mp)
    canon_of: dict[str, str] = df.attrs.get(SOURCES, {})
    for name, typ in (raw.attrs.get(NESTED) or {}).items():
        if name in canon_of:
            raise InputError(nested_message(path, name, typ))
    df.index = pd.RangeIndex(rows_read)
    rownum = pd.Series(np.arange(rows_read) + first_row, index=df.index)
    problems = _Problems(str(path), rownum)
    misaligned = raw.attrs.get(FIELD_PROBLEMS) or {}
    for pos, (got, width) in sorted(misaligned.items()):
        mask = pd.Series(False, index=df.index)
        mask.iloc[pos] = True
        problems.add(mask, "(whole row)", None,
                     f"has {got} fields but the header has {width}: a comma or quote out of "
                     "place; its values would land in the wrong columns. Fix the row in the "
                     "export")
    # Cells named by the workbook reader: their own rule, not "required value is missing".
    cell_flagged = {c: pd.Series(False, index=df.index) for c in df.columns}
    for pos, cells in sorted((raw.attrs.get(CELL_PROBLEMS) or {}).items()):
        mask = pd.Series(False, index=df.index)
        mask.iloc[pos] = True
        for raw_col, value, rule in cells:
            if raw_col in canon_of:  # a column the table does not use cannot spoil a row
                problems.add(mask, canon_of[raw_col], pd.Series(value, index=df.index), rule)
                cell_flagged[canon_of[raw_col]] |= mask
    for canon, _, label1, col2, label2 in _duplicate_columns(raw, spec, mp):
        one, two = _to_text(df[canon]), _to_text(raw[col2]).set_axis(df.index)
        differ = ~((one == two).fillna(False) | (one.isna() & two.isna()))
        both = one.fillna("(blank)").astype(str) + " | " + two.fillna("(blank)").astype(str)
        problems.add(differ, canon, both, f"columns {label1} and {label2} have the same header "
                     "but different values; delete one or make them agree")

    # Constants and composed columns from the mapping.
    for canon, value in (mp.constants if mp else {}).items():
        if canon not in df.columns:
            df[canon] = pd.NA if value is None else str(value)
    for canon, parts in (mp.compose if mp else {}).items():
        if canon not in df.columns and all(p in df.columns for p in parts):
            pieces = [_to_text(df[p]) for p in parts]
            joined = pieces[0].astype("object")
            for piece in pieces[1:]:
                joined = joined.where(piece.isna() | joined.isna(),
                                      joined.astype(str) + "|" + piece.astype("object").astype(str))
            df[canon] = joined.where(pd.concat(pieces, axis=1).notna().all(axis=1), pd.NA)

    derivable = {"age_band"} if {"date_of_birth", "age_years"} & set(df.columns) else set()
    missing = [c for c in spec.required if c not in df.columns and c not in derivable]
    if missing:
        found = short_list(_headers(raw))
        hint = ("pass --mapping annex_a for an Ofsted Annex A export, or write a mapping file "
                "(see README, 'Data contracts')") if kind == "cases" else (
                "rename the columns to the contract names listed by `sqa dictionary`")
        raise InputError(
            f"{path}: missing required column(s) {', '.join(repr(m) for m in missing)} for the "
            f"{kind} table. Columns found: {found}. Fix: {hint}.")

    out = pd.DataFrame(index=df.index)
    mvalues = mp.values if mp else {}
    for col in spec.columns + spec.inputs:
        if col.name not in df.columns:
            continue
        na_tokens = ANSWER_NA_TOKENS if col.type == "answer" else NA_TOKENS
        text = _to_text(df[col.name], na_tokens)
        if col.type in {"category", "level", "answer"}:
            parsed, bad = _parse_code(text, col, mvalues.get(col.name))
            allowed = ", ".join(col.allowed or ())
            problems.add(bad, col.name, text, f"not an allowed value (allowed: {allowed})")
        elif col.type == "date":
            parsed, bad = _parse_date(text)
            rules = date_rules(text[bad])
            for rule in pd.unique(rules):
                problems.add(bad & (rules == rule).reindex(text.index, fill_value=False),
                             col.name, text, rule)
        elif col.type == "bool":
            parsed, bad = _parse_bool(text, blank_false=col.name.startswith("theme_"))
            problems.add(bad, col.name, text, "not yes/no")
        elif col.type == "int":
            parsed, bad = _parse_int(text)
            problems.add(bad, col.name, text, "not a whole number")
            problems.add(parsed < 0, col.name, text, "negative count")
        elif col.type == "pseudonym":
            parsed = privacy.pseudonymise_series(text, key, PSEUDONYM_KIND[col.name])
            parsed = parsed.where(text.notna(), pd.NA)
        else:
            parsed = text
        if not col.nullable:
            missing = parsed.isna() & text.isna()
            if col.name in cell_flagged:
                missing &= ~cell_flagged[col.name]
            problems.add(missing, col.name, text, "required value is missing")
        out[col.name] = parsed

    _row_rules(out, df, problems, kind, today or privacy.today(), spec.age_at)
    # Duplicates of the unique key: the first copy is kept, later copies quarantined.
    if spec.unique and all(u in out.columns for u in spec.unique):
        dup = out.duplicated(list(spec.unique), keep="first") & out[list(spec.unique)].notna().all(
            axis=1)
        if dup.any():
            first = out.reset_index().groupby(list(spec.unique), dropna=True)["index"].transform(
                "min")
            first.index = out.index
            for i in dup[dup].index:
                problems.add(pd.Series(i == out.index, index=out.index), "+".join(spec.unique),
                             None, f"duplicate of row {rownum[first[i]]}")

    if "age_band" in spec.names:  # cases and the Annex A lists: the age band at spec.age_at
        dob = out.pop("date_of_birth") if "date_of_birth" in out.columns else None
        years = out.pop("age_years") if "age_years" in out.columns else None
        if dob is not None or years is not None:
            at = (out[spec.age_at] if spec.age_at in out.columns
                  else pd.Series(pd.Timestamp(today or privacy.today()), index=out.index))
            out["age_band"] = privacy.age_bands(dob, at, years)
    for col in spec.columns:  # optional columns the file lacks: present, empty, typed
        if col.name not in out.columns:
            out[col.name] = pd.Series(pd.NA, index=out.index, dtype=_EMPTY_DTYPE.get(col.type,
                                                                                       "string"))
    out = out[spec.names]

    qframe = problems.frame()
    bad_idx = pd.Index(qframe["_index"].unique()) if len(qframe) else pd.Index([])
    accepted = out.drop(index=bad_idx)
    # The pandera contract is the last word: anything it rejects is quarantined too.
    accepted, extra = _contract_check(accepted, spec, rownum, str(path))
    if len(extra):
        qframe = pd.concat([qframe, extra], ignore_index=True)
    quarantine = qframe.drop(columns="_index").sort_values(["row", "column"], kind="stable"
                                                           ).reset_index(drop=True)
    sort_cols = [c for c in spec.unique if c in accepted.columns]
    accepted = accepted.sort_values(sort_cols, kind="stable")
    source_rows = [int(r) for r in rownum.loc[accepted.index]]
    accepted = accepted.reset_index(drop=True)
    result = IngestResult(kind=kind, source=path, rows_read=rows_read, accepted=accepted,
                          quarantine=quarantine, ignored_columns=ignored,
                          mapping=mp.source if mp else None, input_sha256=sha256_file(path),
                          key_fingerprint=privacy.key_fingerprint(key),
                          source_rows=source_rows)
    assert result.rows_accepted + result.rows_quarantined == rows_read, "row accounting broken"
    return result


def _row_rules(out: pd.DataFrame, raw: pd.DataFrame, problems: _Problems, kind: str,
               today: date, age_at: str | None = "contact_date") -> None:
    """Plausibility rules across columns (dates in the future, births after contact...)."""
    now = pd.Timestamp(today)
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]) and col != "date_of_birth":
            problems.add(out[col] > now, col, out[col].dt.strftime("%Y-%m-%d"),
                         "date is in the future")
            problems.add(out[col] < pd.Timestamp("1990-01-01"), col,
                         out[col].dt.strftime("%Y-%m-%d"), "date before 1990")
    if "date_of_birth" in out.columns and age_at in out.columns:
        dob, at = out["date_of_birth"], out[age_at]
        what = "the contact" if age_at == "contact_date" else age_at.replace("_", " ")
        problems.add(dob > at + pd.Timedelta(days=280), "date_of_birth",
                     dob.dt.strftime("%Y-%m-%d"), f"birth more than 40 weeks after {what}")
        problems.add(dob < at - pd.DateOffset(years=25), "date_of_birth",
                     dob.dt.strftime("%Y-%m-%d"), f"child over 25 at {what}")
    if "assessment_end_date" in out.columns and "assessment_start_date" in out.columns \
            and kind != "cases":
        problems.add(out["assessment_end_date"] < out["assessment_start_date"],
                     "assessment_end_date", out["assessment_end_date"].dt.strftime("%Y-%m-%d"),
                     "assessment ends before it starts")
    if kind == "cases":
        if "referral_date" in out.columns:
            problems.add(out["referral_date"] < out["contact_date"], "referral_date",
                         out["referral_date"].dt.strftime("%Y-%m-%d"), "referral before contact")
        if "assessment_end_date" in out.columns and "assessment_start_date" in out.columns:
            problems.add(out["assessment_end_date"] < out["assessment_start_date"],
                         "assessment_end_date", out["assessment_end_date"].dt.strftime("%Y-%m-%d"),
                         "assessment ends before it starts")


def _contract_check(accepted: pd.DataFrame, spec: schemas.TableSpec, rownum: pd.Series,
                    source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandera.errors

    try:
        schemas.pandera_schema(spec).validate(accepted, lazy=True)
        return accepted, pd.DataFrame()
    except pandera.errors.SchemaErrors as err:
        fc = err.failure_cases
        rows = fc[fc["index"].notna()]
        if len(rows) != len(fc):  # a column-level failure is a bug in ingest, not user input
            raise
        idx = pd.Index(rows["index"].astype(int).unique())
        extra = pd.DataFrame({"file": source, "row": rownum.loc[rows["index"].astype(int)].values,
                              "column": rows["column"].astype(str).values,
                              "value": rows["failure_case"].astype(str).values,
                              "rule": "contract: " + rows["check"].astype(str).values,
                              "_index": rows["index"].astype(int).values})
        return accepted.drop(index=idx), extra


def write_outputs(result: IngestResult, out_dir: str | Path, name: str | None = None
                  ) -> dict[str, Path]:
    """Write ``<name>.parquet``, ``<name>_quarantine.csv`` and ``<name>_ingest.json``.

    ``name`` defaults to the table kind (``cases``, ``audit``, ``ratings``).
    """
    from .export import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or result.kind
    paths = {"table": out / f"{name}.parquet",
             "quarantine": out / f"{name}_quarantine.csv",
             "log": out / f"{name}_ingest.json"}
    result.accepted.to_parquet(paths["table"], index=False)
    write_csv(result.quarantine, paths["quarantine"])
    write_json({
        "kind": result.kind, "source": str(result.source), "input_sha256": result.input_sha256,
        "mapping": result.mapping, "rows_read": result.rows_read,
        "rows_accepted": result.rows_accepted, "rows_quarantined": result.rows_quarantined,
        "ignored_columns": result.ignored_columns, "key_fingerprint": result.key_fingerprint,
        "package_version": __version__, "written_at": timestamp(),
        "quarantine_rules": result.quarantine["rule"].value_counts().sort_index().to_dict()
        if len(result.quarantine) else {},
    }, paths["log"])
    return paths


def read_table(path: str | Path, kind: str | None = None) -> pd.DataFrame:
    """Load a canonical table written by ingest (Parquet), validating it when ``kind`` is given."""
    df = pd.read_parquet(path)
    if kind:
        schemas.validate(df, kind)
    return df
