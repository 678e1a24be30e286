"""Safe, deterministic exports: CSV and Excel files that auditors and analysts open.

* **Formula injection.** A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return is run as a formula by Excel, LibreOffice and Google Sheets ("CSV
  injection": OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection).
  Every text cell written by this package goes through ``neutralise``, which prefixes such
  text with a single quote (OWASP's recommended defence), so it shows as text and never runs.
  Numbers (including negative numbers) are left as numbers.
* **Determinism.** ``write_csv`` writes UTF-8, ``\\n`` line endings, no index, ISO dates and a
  fixed float format, so the same frame gives the same bytes on any machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FORMULA_PREFIXES", "cell_value", "deterministic_xlsx", "neutralise",
           "neutralise_frame", "write_csv", "write_xlsx"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula, made inert with a leading quote.

    Non-text values (numbers, dates, booleans, missing values) are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) cannot run as formulas."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.astype("object").map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as formula-safe, byte-deterministic UTF-8 CSV (no index)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = neutralise_frame(df)
    for col in safe.columns:
        if pd.api.types.is_datetime64_any_dtype(safe[col]):
            safe[col] = safe[col].dt.strftime("%Y-%m-%d")
    text = safe.to_csv(index=False, lineterminator="\n", float_format="%.10g",
                       date_format="%Y-%m-%d")
    path.write_bytes(text.encode("utf-8"))
    return path


def cell_value(value: object) -> object:
    """A value ready for an openpyxl cell: formula-safe text, plain Python scalars, None for NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else value.to_pydatetime()
    return neutralise(value)


def deterministic_xlsx(path: str | Path) -> Path:
    """Rewrite an .xlsx so that the same content gives the same bytes.

    openpyxl stamps the creation/modification time into ``docProps/core.xml`` and the zip
    entries carry file times; both are fixed here (to 2000-01-01) so a workbook written twice
    from the same inputs is byte-identical (reproducible-builds.org).
    """
    import re
    import zipfile

    path = Path(path)
    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              rb"\g<1>2000-01-01T00:00:00Z\g<3>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data)
    tmp.replace(path)
    return path


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write each frame to a sheet of its name (bold header, frozen, columns sized to their
    text): formula-safe cells (``cell_value``) and byte-deterministic (``deterministic_xlsx``),
    for a table an analyst opens in Excel."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(str(name)[:31])
        ws.append([cell_value(str(c)) for c in df.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for rec in df.itertuples(index=False, name=None):
            ws.append([cell_value(v) for v in rec])
        for j, col in enumerate(df.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)
                                           if v is not None])
            ws.column_dimensions[get_column_letter(j)].width = min(60, max(10, width + 2))
        ws.freeze_panes = "A2"
    wb.save(path)
    return deterministic_xlsx(path)
