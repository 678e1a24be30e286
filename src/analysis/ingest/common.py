"""Shared names of ingest: the whole-file error, message helpers and the value tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

NA_TOKENS = {"", "#n/a", "#na", "n/a", "null", "nan", "none", "#value!", "#ref!", "#div/0!",
             "#name?", "nat", "-"}
# In answer columns "n/a" means "not applicable", not "missing".
ANSWER_NA_TOKENS = NA_TOKENS - {"n/a"}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
ENUM_PREFIX = re.compile(r"^\(?[a-z0-9]{1,2}[).]\s+")
READ_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
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



def _norm_header(text: object) -> str:
    """A header compared ignoring case, spaces and punctuation."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower())
