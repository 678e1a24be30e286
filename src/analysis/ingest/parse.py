"""Parsing cell values: the rules of the contract, applied once per distinct value.

The value rules (pandas, on a column of distinct texts): trimmed text with blanks and Excel
error tokens as missing (``_to_text``); codes by their contract code, label, synonym or a
mapping's local word, Annex A "b) Female" and CIN census "5A: Police" forms
(``_parse_code``); UK day-first and ISO dates and Excel serial numbers (1900 date system:
day 0 is 1899-12-30, Microsoft's "DATEVALUE" documentation) with years 1900 to 2200
(``_parse_date``, ``date_rules``); yes/no (``_parse_bool``); whole numbers (``_parse_int``).

``parse_column`` applies them to an Arrow column of a batch: the column is dictionary-encoded
(Arrow ``dictionary_encode``), each distinct value is parsed once and the results are spread
back over the rows; native Parquet dates, booleans and integers are taken as they are
(``_parse_native``), since for them the text round trip is the identity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schemas
from .common import ANSWER_NA_TOKENS, ENUM_PREFIX, EXCEL_EPOCH, NA_TOKENS


def cell_text(v: object) -> str | None:
    """A workbook or CSV cell as text before trimming (dates as ISO dates, whole floats as
    integers; None for a blank): ``_to_text`` of this is ``_to_text`` of ``v``."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _to_text(s: pd.Series, na_tokens: set[str] = NA_TOKENS) -> pd.Series:
    """Cell values as trimmed text, NA for blanks and Excel error/NA tokens."""
    def conv(v: object) -> object:
        raw = cell_text(v)
        if raw is None:
            return pd.NA
        t = re.sub(r"\s+", " ", raw).strip()
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
# Arrow columns, one parse per distinct value
# --------------------------------------------------------------------------------------

_ARROW_TYPES = {"date": pa.timestamp("ns"), "bool": pa.bool_(), "int": pa.int64()}
_CODED = {"category", "level", "answer"}


def _large(arr: pa.Array) -> pa.Array:
    """A (dictionary-decoded) string array as a large string array; other types unchanged."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr


def masked(values: np.ndarray, typ: pa.DataType, missing: np.ndarray | None) -> pa.Array:
    """A numpy array of fixed-width values as an Arrow array, missing where ``missing`` is
    set: the values' buffer and a validity bitmap (Arrow columnar format: one bit per row,
    least significant bit first) handed to Arrow as they are.  The same array as
    ``pa.array(values, typ, mask=missing)``, which converts row by row (some hundred times
    slower: 16 ms for a million rows)."""
    values = np.ascontiguousarray(values, dtype=typ.to_pandas_dtype())
    if missing is None or not missing.any():
        return pa.Array.from_buffers(typ, len(values), [None, pa.py_buffer(values)])
    valid = np.packbits(~missing, bitorder="little")
    return pa.Array.from_buffers(typ, len(values), [pa.py_buffer(valid), pa.py_buffer(values)],
                                 null_count=int(missing.sum()))


def _coded(col: schemas.Column) -> bool:
    """Columns whose values are codes of the contract: kept dictionary-encoded until written."""
    return col.type in _CODED and col.allowed is not None


def _code_type(col: schemas.Column) -> pa.DataType:
    return pa.dictionary(pa.int8() if len(col.allowed or ()) < 127 else pa.int16(),
                         pa.large_string())


def _as_codes(values: pa.Array, col: schemas.Column) -> pa.Array:
    """A column of codes as a dictionary array over the contract's allowed codes (the same
    dictionary in every batch)."""
    typ = _code_type(col)
    allowed = pa.array(list(col.allowed or ()), pa.large_string())
    idx = pc.index_in(_large(values), value_set=allowed).cast(typ.index_type)
    return pa.DictionaryArray.from_arrays(idx, allowed)


@dataclass
class _Parsed:
    """One column of a batch, parsed: Arrow values and per-row masks."""

    values: pa.Array
    bad: np.ndarray            # failed to parse (quarantined with ``rule``)
    text_na: np.ndarray        # the cell was blank / an NA token
    negative: np.ndarray       # int columns: below zero
    text: Callable[[np.ndarray], list[str]]  # the cell's text at the given rows
    rule: str | Callable[[np.ndarray], list[str]] = ""  # one rule, or each row's rule


def _dictionary(arr: pa.Array) -> tuple[list[Any], np.ndarray]:
    """Distinct values (plus a final None) and each row's position among them."""
    d = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    values = d.dictionary.to_pylist() + [None]
    ind = d.indices
    if ind.null_count:
        raw = np.frombuffer(ind.buffers()[1], dtype=ind.type.to_pandas_dtype(),
                            count=len(ind), offset=ind.offset * ind.type.bit_width // 8)
        idx = np.where(ind.is_valid().to_numpy(zero_copy_only=False), raw, len(values) - 1)
    else:
        idx = ind.to_numpy()
    return values, idx


def _dates_text(values: np.ndarray) -> Callable[[np.ndarray], list[str]]:
    return lambda rows: pd.Series(values[rows]).dt.strftime("%Y-%m-%d").fillna("").tolist()


_NS_MIN = pa.scalar(pd.Timestamp("1678-01-01").to_pydatetime(), pa.timestamp("ns"))
_NS_MAX = pa.scalar(pd.Timestamp("2261-12-31").to_pydatetime(), pa.timestamp("ns"))


def _parse_native(arr: pa.Array, col: schemas.Column) -> _Parsed | None:
    """Native Parquet dates, booleans and whole numbers, vectorised.

    For these, ``ingest``'s text round trip is the identity (a date at day precision, a
    boolean, a whole number), so the values are used as they are; ``None`` when the column
    is of another type or holds values where that would not be so (dates outside the range of
    nanosecond timestamps, integers beyond 2**53).
    """
    t = arr.type
    n = len(arr)
    text_na = arr.is_null().to_numpy(zero_copy_only=False)
    zeros = np.zeros(n, dtype=bool)
    if col.type == "date" and (pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None)):
        ts = arr.cast(pa.timestamp("ns")) if pa.types.is_date(t) else pc.floor_temporal(
            arr, unit="day").cast(pa.timestamp("ns"))
        mm = pc.min_max(ts).as_py()
        if mm["min"] is not None and (mm["min"] < _NS_MIN.as_py() or mm["max"] > _NS_MAX.as_py()):
            return None
        # (the rows' text is asked for only when a row is quarantined: converted then)
        return _Parsed(ts, zeros, text_na, zeros, lambda rows: _dates_text(
            ts.take(pa.array(rows)).to_numpy(zero_copy_only=False))(
            np.arange(len(rows))), "")
    if col.type == "bool" and pa.types.is_boolean(t) and not col.name.startswith("theme_"):
        return _Parsed(arr, zeros, text_na, zeros, lambda rows: [
            "" if v is None else str(v) for v in arr.take(pa.array(rows)).to_pylist()], "")
    if col.type == "int" and pa.types.is_integer(t) and t.bit_width <= 64:
        mm = pc.min_max(arr).as_py()
        if mm["min"] is not None and max(abs(mm["min"]), abs(mm["max"])) >= 2**53:
            return None
        v = arr.cast(pa.int64())
        negative = pc.fill_null(pc.less(v, 0), False).to_numpy(zero_copy_only=False)
        return _Parsed(v, zeros, text_na, negative, lambda rows: [
            "" if x is None else str(x) for x in v.take(pa.array(rows)).to_pylist()], "")
    return None


def _spread(by_value: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """A mask over the distinct values spread over the rows (``by_value[idx]``), without
    the gather when no row can be set: the values' masks are mostly all false, and the
    last distinct value (the missing cell, ``_dictionary``) is set only when a row is
    missing."""
    if by_value[:-1].any() or (by_value[-1] and (idx == len(by_value) - 1).any()):
        return by_value[idx]
    return np.zeros(len(idx), dtype=bool)


def _codes_by_index(parsed: pd.Series, idx: np.ndarray, col: schemas.Column) -> pa.Array:
    """The codes of a coded column over the contract's allowed codes (``_as_codes``' form),
    from the code of each distinct value (``parsed``) and each row's position among them
    (``idx``, ``_dictionary``): the distinct values are mapped once, to their positions in
    the contract's list, and the rows take them by index in one gather of the index type
    (``int8``), with a validity mask only when some row has no code."""
    typ = _code_type(col)
    pos = {c: i for i, c in enumerate(col.allowed or ())}
    lut = np.array([-1 if v is pd.NA or v is None else pos[v] for v in parsed.astype(object)],
                   dtype=typ.index_type.to_pandas_dtype())
    codes = np.take(lut, idx)
    missing = codes < 0 if (lut < 0).any() else None
    if missing is not None and not missing.any():
        missing = None
    return pa.DictionaryArray.from_arrays(
        masked(codes, typ.index_type, missing),
        pa.array(list(col.allowed or ()), pa.large_string()))


def parse_column(arr: pa.Array, col: schemas.Column, extra: dict[str, str] | None) -> _Parsed:
    """Parse a column of a batch by the rules above, one parse per distinct value."""
    native = _parse_native(arr, col)
    if native is not None:
        return native
    values, idx = _dictionary(arr)
    na_tokens = ANSWER_NA_TOKENS if col.type == "answer" else NA_TOKENS
    text = _to_text(pd.Series(values, dtype=object), na_tokens)
    negative = np.zeros(len(values), dtype=bool)
    rule: str | Callable[[np.ndarray], list[str]] = ""
    if col.type in {"category", "level", "answer"}:
        parsed, bad = _parse_code(text, col, extra)
        rule = f"not an allowed value (allowed: {', '.join(col.allowed or ())})"
    elif col.type == "date":
        parsed, bad = _parse_date(text)
        by_value = date_rules(text[bad]).reindex(text.index, fill_value="").tolist()

        def date_rule(rows: np.ndarray) -> list[str]:  # out-of-range years: their own rule
            return [by_value[i] for i in idx[rows]]

        rule = date_rule
    elif col.type == "bool":
        parsed, bad = _parse_bool(text, blank_false=col.name.startswith("theme_"))
        rule = "not yes/no"
    elif col.type == "int":
        parsed, bad = _parse_int(text)
        rule = "not a whole number"
        negative = (parsed < 0).fillna(False).to_numpy(dtype=bool)
    else:
        parsed, bad = text, pd.Series(False, index=text.index)
    if _coded(col):
        values = _codes_by_index(parsed, idx, col)
    else:
        typ = _ARROW_TYPES.get(col.type, pa.large_string())
        values = pc.take(pa.Array.from_pandas(parsed).cast(typ), pa.array(idx))
    text_obj = text.astype(object).to_numpy()
    texts = ["" if v is pd.NA or v is None else str(v) for v in text_obj]
    return _Parsed(
        values=values,
        bad=_spread(bad.fillna(False).to_numpy(dtype=bool), idx),
        text_na=_spread(text.isna().to_numpy(dtype=bool), idx),
        negative=_spread(negative, idx),
        text=lambda rows: [texts[i] for i in idx[rows]],
        rule=rule)
