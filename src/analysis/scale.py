"""Scale: the whole-table stages of a round on tens of millions of rows, out of core.

Regional alliances pool many councils' front-door data (London's 33 councils already pool
their Ofsted Annex A lists), so the stages that read the whole cases table must stay fast far
beyond one council's size.  This module runs them on a Parquet file without loading it into
pandas, and returns pandas frames of *aggregates* (the notebooks' API):

* ``ingest_parquet``: read, validate, pseudonymise and quarantine a contacts export in Arrow
  batches (``pyarrow.parquet.ParquetFile.iter_batches``) and write the canonical table
  (``ParquetWriter``) sorted by ``case_id`` with an out-of-core bucket sort.  Same contract,
  same rules, same pseudonyms and the same quarantine (file, row, column, value, rule; rows
  accepted + rows quarantined = rows read) as ``analysis.ingest.ingest``: every value is
  parsed by ``ingest``'s own functions, once per *distinct* value of the batch (Arrow
  dictionary encoding; native Parquet dates, booleans and integers directly), and identifiers
  get the keyed HMAC-SHA256 pseudonym of ``analysis.privacy`` (RFC 2104), computed in a pool
  of worker processes (hashing is the one CPU-bound step no columnar engine does for us).
  Duplicated case ids, across batches, are found where the sort brings them together.
* ``stratified_sample_parquet``: the stratified draw of ``analysis.sampling.draw`` (same
  frame, strata, allocation, per-stratum random streams and selection, so the same cases),
  reading only ``case_id`` and the design's columns.
* ``appropriateness_by_source``: contacts that became referrals, by referral source, counted
  by a DuckDB ``GROUP BY``; Wilson (1927) intervals (``analysis.proportions.proportion_ci``)
  and Spiegelhalter's (2005) exact funnel limits (``analysis.thresholds.funnel_limits``).
* ``monthly_series``: the three monthly measures of the SPC charts: a thin call of
  ``analysis.thresholds.monthly_series`` (DuckDB SQL on the Parquet file).
* ``duckdb_scan_seconds``: the floor: how long DuckDB takes just to scan the same columns of
  the same file (the benchmarks report every stage as a multiple of it).

Nothing here returns case-level rows for display; ``stratified_sample_parquet`` returns the
sampled cases' rows only for the auditor workbook, as ``sampling.draw`` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import __version__, ingest, privacy, schemas
from .ingest import InputError
from .provenance import sha256_file, timestamp, write_json

__all__ = ["MIN_PARALLEL_IDS", "PSEUDONYM_PATTERN", "SIMPLE_ID_PATTERN", "STAGE_COLUMNS",
           "appropriateness_by_source", "canonical_schema", "duckdb_scan_seconds",
           "ingest_parquet", "monthly_series", "sample_columns", "staging_schema",
           "stratified_sample_parquet"]

#: Below this many distinct identifiers in a batch, hashing stays in the main process.
MIN_PARALLEL_IDS = 50_000
#: The canonical pseudonym form (``privacy.PSEUDONYM_RE``) as an RE2 pattern for Arrow.
PSEUDONYM_PATTERN = r"^[a-z]{2}_[0-9a-f]{16}$"
#: Printable ASCII without spaces: ids like this need no Unicode-aware normalisation.
SIMPLE_ID_PATTERN = r"^[!-~]+$"
_QUARANTINE_COLUMNS = ["file", "row", "column", "value", "rule"]
_ARROW_TYPES = {"date": pa.timestamp("ns"), "bool": pa.bool_(), "int": pa.int64()}
_CODED = {"category", "level", "answer"}


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


# ======================================================================================
# Keyed pseudonyms, many at a time (RFC 2104 HMAC-SHA256, as analysis.privacy)
# ======================================================================================

_PADS: tuple[Any, Any] | None = None


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after absorbing HMAC's inner and outer key blocks (RFC 2104, s. 2).

    Copying these states and absorbing one message is the same computation as
    ``hmac.new(key, message, sha256)``, without re-deriving the key blocks for every id.
    """
    block = 64
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in k)), hashlib.sha256(bytes(b ^ 0x5C for b in k)))


def _init_worker(key: bytes) -> None:
    """Set up a hashing worker. It ignores Ctrl-C: the parent stops the pool, and each worker
    no longer prints its own KeyboardInterrupt traceback (issue 12, case 17)."""
    global _PADS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _PADS = _hmac_pads(key)


def _hmac8(messages: pa.Array | list[bytes], pads: tuple[Any, Any] | None = None) -> bytes:
    """The first 8 bytes of HMAC-SHA256 of each message, concatenated."""
    inner, outer = pads if pads is not None else _PADS  # type: ignore[misc]
    if isinstance(messages, pa.Array):
        messages = messages.cast(pa.large_binary()).to_pylist()
    icopy, ocopy = inner.copy, outer.copy
    out: list[bytes] = []
    add = out.append
    for m in messages:
        h = icopy()
        h.update(m)
        o = ocopy()
        o.update(h.digest())
        add(o.digest()[:8])
    return b"".join(out)


class _Hasher:
    """Keyed hashing of identifiers, in ``workers`` processes when there are many."""

    def __init__(self, key: bytes, workers: int) -> None:
        self.key = key
        self.pads = _hmac_pads(key)
        self.workers = max(1, int(workers))
        self.pool: Any = None

    def submit(self, messages: pa.Array) -> Callable[[], bytes]:
        """Start hashing an Arrow array of messages; the returned function waits for the result."""
        if self.workers == 1 or len(messages) < MIN_PARALLEL_IDS:
            done = _hmac8(messages, self.pads)
            return lambda: done
        if self.pool is None:
            import multiprocessing as mp

            method = "fork" if "fork" in mp.get_all_start_methods() else None
            self.pool = mp.get_context(method).Pool(self.workers, initializer=_init_worker,
                                                    initargs=(self.key,))
        step = -(-len(messages) // self.workers)
        chunks = [messages.slice(i, step) for i in range(0, len(messages), step)]
        res = self.pool.map_async(_hmac8, chunks)
        return lambda: b"".join(res.get())

    def close(self, stop: bool = False) -> None:
        """Let the workers finish and end them; with ``stop`` (an error or Ctrl-C), end them
        at once."""
        if self.pool is not None:
            if stop:
                self.pool.terminate()
            else:
                self.pool.close()
            self.pool.join()
            self.pool = None


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UNHEX = np.zeros(256, dtype=np.uint8)
_UNHEX[_HEX] = np.arange(16, dtype=np.uint8)


def _pseudonym_strings(digests: bytes, prefix: str) -> pa.Array:
    """``<prefix>_`` + 16 hex digits for each 8-byte digest (vectorised)."""
    d = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8)
    n = len(d)
    head = f"{prefix}_".encode()
    width = len(head) + 16
    out = np.empty((n, width), dtype=np.uint8)
    out[:, :len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, len(head)::2] = _HEX[d >> 4]
    out[:, len(head) + 1::2] = _HEX[d & 15]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))


def _pseudonym_keys(pseudonyms: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(64-bit key, 2-letter prefix code, valid) of each pseudonym (``xx_`` + 16 hex digits)."""
    n = len(pseudonyms)
    valid = pseudonyms.is_valid().to_numpy(zero_copy_only=False)
    fixed = pc.fill_null(pseudonyms, "zz_0000000000000000").cast(pa.large_binary()).cast(
        pa.binary(19))
    mat = np.frombuffer(fixed.buffers()[1], dtype=np.uint8, count=n * 19,
                        offset=fixed.offset * 19).reshape(n, 19)
    nib = _UNHEX[mat[:, 3:]]
    packed = np.ascontiguousarray((nib[:, 0::2] << 4) | nib[:, 1::2])
    keys = packed.view(">u8").reshape(n).astype(np.uint64)
    prefix = (mat[:, 0].astype(np.uint16) << 8) | mat[:, 1]
    return keys, prefix, valid


def _large(arr: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr


def _all_printable(s: pa.Array) -> bool:
    """True when no value of a (large) string array holds a space, a control character or a
    non-ASCII character: one pass over the data buffer."""
    bufs = s.buffers()
    if bufs[2] is None or not len(s):
        return True
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[s.offset: s.offset + len(s) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return not bool(((data <= 0x20) | (data >= 0x7F)).any())


def _pseudonymise_job(arr: pa.Array, key: bytes, kind: str, hasher: _Hasher
                      ) -> Callable[[], pa.Array]:
    """Start pseudonymising a column of raw ids; the returned function gives the result.

    Equal to ``privacy.pseudonymise_series(ingest._to_text(values), key, kind)`` value by
    value.  Fast path, vectorised in Arrow, for ids of printable ASCII without spaces (for them
    ``_to_text`` and ``normalise_id`` reduce to: NA tokens -> missing, upper case, ``123.0`` ->
    ``123``; values already in pseudonym form are kept); every other value goes through
    ``ingest`` and ``privacy`` themselves.
    """
    n = len(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_integer(arr.type):
        arr = arr.cast(pa.large_string())
    s = _large(arr)
    nulls = pa.nulls(n, pa.large_string())
    enc: pa.Array | None = None
    pending: Callable[[], bytes] | None = None
    kept = nulls
    if pa.types.is_large_string(s.type):
        nonempty = pc.fill_null(pc.greater(pc.binary_length(s), 0), False)
        if _all_printable(s):
            simple = nonempty
        else:
            simple = pc.fill_null(pc.match_substring_regex(s, SIMPLE_ID_PATTERN), False)
        na_token = pc.fill_null(pc.is_in(pc.ascii_lower(s), value_set=pa.array(
            sorted(ingest.NA_TOKENS), pa.large_string())), False)
        already = pc.fill_null(pc.equal(pc.binary_length(s), 19), False)
        if pc.any(already).as_py():
            already = pc.fill_null(pc.match_substring_regex(s, PSEUDONYM_PATTERN), False)
        fast = pc.and_(simple, pc.invert(pc.or_(na_token, already)))
        slow = pc.and_(s.is_valid(), pc.invert(simple))
        norm = pc.ascii_upper(s)
        dot0 = pc.fill_null(pc.ends_with(norm, ".0"), False)
        if pc.any(dot0).as_py():
            dot0 = pc.fill_null(pc.match_substring_regex(norm, r"^[0-9]+\.0$"), False)
            norm = pc.if_else(dot0, pc.utf8_slice_codeunits(norm, 0, -2), norm)
        n_fast = pc.sum(fast).as_py() or 0
        if n_fast:
            msgs = pc.binary_join_element_wise(pa.scalar(f"{kind}:", pa.large_string()), norm,
                                               pa.scalar("", pa.large_string()))
            enc = fast if n_fast < n else None
            pending = hasher.submit(msgs if enc is None else pc.filter(msgs, fast))
        if pc.any(pc.and_(simple, already)).as_py():
            kept = pc.if_else(pc.and_(simple, already), s, nulls)
    else:  # floats, dates...: every value the slow way
        slow = arr.is_valid()

    slow_res = nulls
    if pc.any(slow).as_py():
        src = s if pa.types.is_large_string(s.type) else arr
        senc = pc.dictionary_encode(pc.if_else(slow, src, pa.nulls(n, src.type)))
        text = ingest._to_text(pd.Series(senc.dictionary.to_pylist(), dtype=object))
        pseud = privacy.pseudonymise_series(text, key, kind).where(text.notna(), pd.NA)
        values = pa.array(pseud.astype(object).where(pseud.notna(), None).tolist(),
                          pa.large_string())
        slow_res = pc.take(values, senc.indices)

    def finish() -> pa.Array:
        if pending is None:
            return pc.coalesce(slow_res, kept)
        strings = _pseudonym_strings(pending(), privacy.PREFIX[kind])
        if enc is None:  # every value took the fast path
            return strings
        mask = enc.to_numpy(zero_copy_only=False)
        idx = pa.array(np.cumsum(mask) - 1, mask=~mask)
        return pc.coalesce(pc.take(strings, idx), slow_res, kept)

    return finish


# ======================================================================================
# Values: ingest's own parsers, once per distinct value
# ======================================================================================


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
    return lambda rows: pd.Series(values[rows]).dt.strftime("%Y-%m-%d").tolist()


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
        v = ts.to_numpy(zero_copy_only=False)
        return _Parsed(ts, zeros, text_na, zeros, _dates_text(v), "")
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


def _parse_column(arr: pa.Array, col: schemas.Column, extra: dict[str, str] | None) -> _Parsed:
    """Parse a column exactly as ``ingest.ingest`` does, one parse per distinct value."""
    native = _parse_native(arr, col)
    if native is not None:
        return native
    values, idx = _dictionary(arr)
    na_tokens = ingest.ANSWER_NA_TOKENS if col.type == "answer" else ingest.NA_TOKENS
    text = ingest._to_text(pd.Series(values, dtype=object), na_tokens)
    negative = np.zeros(len(values), dtype=bool)
    rule: str | Callable[[np.ndarray], list[str]] = ""
    if col.type in {"category", "level", "answer"}:
        parsed, bad = ingest._parse_code(text, col, extra)
        rule = f"not an allowed value (allowed: {', '.join(col.allowed or ())})"
    elif col.type == "date":
        parsed, bad = ingest._parse_date(text)
        by_value = ingest.date_rules(text[bad]).reindex(text.index, fill_value="").tolist()

        def date_rule(rows: np.ndarray) -> list[str]:  # out-of-range years: their own rule
            return [by_value[i] for i in idx[rows]]

        rule = date_rule
    elif col.type == "bool":
        parsed, bad = ingest._parse_bool(text, blank_false=col.name.startswith("theme_"))
        rule = "not yes/no"
    elif col.type == "int":
        parsed, bad = ingest._parse_int(text)
        rule = "not a whole number"
        negative = (parsed < 0).fillna(False).to_numpy(dtype=bool)
    else:
        parsed, bad = text, pd.Series(False, index=text.index)
    if _coded(col):
        typ = _code_type(col)
        pos = {c: i for i, c in enumerate(col.allowed or ())}
        codes = np.array([-1 if v is pd.NA or v is None else pos[v]
                          for v in parsed.astype(object)], dtype=np.int64)[idx]
        values = pa.DictionaryArray.from_arrays(
            pa.array(codes, mask=codes < 0).cast(typ.index_type),
            pa.array(list(col.allowed or ()), pa.large_string()))
    else:
        typ = _ARROW_TYPES.get(col.type, pa.large_string())
        values = pc.take(pa.Array.from_pandas(parsed).cast(typ), pa.array(idx))
    text_obj = text.astype(object).to_numpy()
    texts = ["" if v is pd.NA or v is None else str(v) for v in text_obj]
    return _Parsed(
        values=values,
        bad=bad.fillna(False).to_numpy(dtype=bool)[idx],
        text_na=text.isna().to_numpy()[idx],
        negative=negative[idx],
        text=lambda rows: [texts[i] for i in idx[rows]],
        rule=rule)


class _Problems:
    """Quarantine entries of one batch (the columns of ``ingest``'s quarantine)."""

    def __init__(self, source: str, offset: int, first_row: int) -> None:
        self.source = source
        self.offset = offset
        self.first_row = first_row
        self.items: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str, values: Callable[[np.ndarray], list[str]] | None,
            rule: str | Callable[[np.ndarray], list[str]]) -> None:
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        self.items.append(pd.DataFrame({
            "file": self.source, "row": rows + self.offset + self.first_row, "column": column,
            "value": values(rows) if values is not None else "",
            "rule": rule(rows) if callable(rule) else rule, "_index": rows}))

    def frame(self) -> pd.DataFrame:
        if not self.items:
            return pd.DataFrame(columns=[*_QUARANTINE_COLUMNS, "_index"])
        return pd.concat(self.items, ignore_index=True).sort_values(
            ["row", "column", "rule"], kind="stable").reset_index(drop=True)


class _Seen:
    """Pseudonyms seen in earlier rows: sorted 64-bit keys and the row each was first seen."""

    def __init__(self) -> None:
        self.by_prefix: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _fast(self, p: int, keys: np.ndarray, rows: np.ndarray) -> bool:
        """The usual case, no duplicate at all: record the keys and return True."""
        order = np.argsort(keys)
        ks = keys[order]
        if len(ks) > 1 and bool((ks[1:] == ks[:-1]).any()):
            return False
        sk, sr = self.by_prefix.get(p, (np.empty(0, np.uint64), np.empty(0, np.int64)))
        pos = np.searchsorted(sk, ks)
        if len(sk) and bool((sk[np.minimum(pos, len(sk) - 1)] == ks).any()):
            return False
        self.by_prefix[p] = (np.insert(sk, pos, ks), np.insert(sr, pos, rows[order]))
        return True

    def first_rows(self, keys: np.ndarray, prefix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each row (ascending global row index), the first row holding the same key."""
        out = np.empty_like(rows)
        prefixes = np.unique(prefix)
        if len(prefixes) == 1 and self._fast(int(prefixes[0]), keys, rows):
            return rows.copy()
        for p in prefixes:
            sel = slice(None) if len(prefixes) == 1 else prefix == p
            k, r = keys[sel], rows[sel]
            uniq, first_idx, inverse = np.unique(k, return_index=True, return_inverse=True)
            first = r[first_idx]
            sk, sr = self.by_prefix.get(int(p), (np.empty(0, np.uint64), np.empty(0, np.int64)))
            pos = np.searchsorted(sk, uniq)
            if len(sk):
                at = np.minimum(pos, len(sk) - 1)
                found = (pos < len(sk)) & (sk[at] == uniq)
                first = np.where(found, sr[at], first)
            else:
                found = np.zeros(len(uniq), dtype=bool)
            new = ~found
            self.by_prefix[int(p)] = (np.insert(sk, pos[new], uniq[new]),
                                      np.insert(sr, pos[new], first[new]))
            out[sel] = first[inverse.reshape(-1)]
        return out


# ======================================================================================
# Ingest
# ======================================================================================


def staging_schema(spec: schemas.TableSpec) -> pa.Schema:
    """The canonical schema with the coded columns dictionary-encoded (between batches)."""
    final = canonical_schema(spec)
    return pa.schema([pa.field(f.name, _code_type(spec.column(f.name)))
                      if _coded(spec.column(f.name)) else f.remove_metadata() for f in final])


def canonical_schema(spec: schemas.TableSpec | None = None) -> pa.Schema:
    """The Arrow schema (with pandas metadata) of the canonical table ``ingest`` writes."""
    spec = spec or schemas.cases_spec()
    empty = pd.DataFrame({c.name: pd.Series(dtype=ingest._EMPTY_DTYPE.get(c.type, "string"))
                          for c in spec.columns})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def _open_parquet(path: Path, flat: Iterable[str] = ()) -> pq.ParquetFile:
    """Open a Parquet file, or raise ``InputError`` naming the file and the fix: not found,
    not Parquet, unreadable, too many columns, or a nested column among ``flat`` (the
    columns DuckDB and Arrow will read; nested ones raised a traceback, issue 12, case 17).
    """
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the path (it is relative to "
                         f"{Path.cwd()}).")
    if path.suffix.lower() not in {".parquet", ".pq"}:
        raise InputError(f"{path}: the scale path reads Parquet files. Convert the export to "
                         "Parquet, or use `sqa ingest` for CSV and XLSX files.")
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                         "Re-export it.") from None
    ingest._check_width(path, len(pf.schema_arrow.names))
    nested = ingest.nested_columns(pf.schema_arrow)
    for name in flat:
        if name in nested:
            raise InputError(ingest.nested_message(path, name, nested[name]))
    return pf


def _cases_columns() -> list[str]:
    """The canonical cases columns (any levels-of-need scale): those the aggregates read."""
    return [c.name for c in (*schemas.cases_spec().columns, *schemas.cases_spec().inputs)]


@dataclass
class _Context:
    spec: schemas.TableSpec
    mapping: ingest.Mapping | None
    key: bytes
    hasher: _Hasher
    seen: _Seen | None  # streaming duplicate check (None: the sort does it)
    today: date
    source: str
    schema: pa.Schema
    columns: dict[str, str]  # canonical name -> source column
    seconds: Counter = field(default_factory=Counter)  # where the time goes, by step


def _batch_columns(batch: pa.RecordBatch, ctx: _Context) -> dict[str, pa.Array]:
    """The batch's columns under canonical names, with the mapping's constants and compositions."""
    n = batch.num_rows
    cols = {canon: batch.column(src) for canon, src in ctx.columns.items()}
    mp = ctx.mapping
    for canon, value in (mp.constants if mp else {}).items():
        if canon not in cols:
            cols[canon] = (pa.nulls(n, pa.large_string()) if value is None else
                           pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                                          pa.array([str(value)])))
    for canon, parts in (mp.compose if mp else {}).items():
        if canon not in cols and all(p in cols for p in parts):
            pieces = [ingest._to_text(pd.Series(cols[p].to_pylist(), dtype=object))
                      for p in parts]
            joined = pieces[0].astype("object")
            for piece in pieces[1:]:
                joined = joined.where(piece.isna() | joined.isna(),
                                      joined.astype(str) + "|" + piece.astype("object").astype(str))
            joined = joined.where(pd.concat(pieces, axis=1).notna().all(axis=1), None)
            cols[canon] = pa.array(joined.astype(object).where(joined.notna(), None).tolist(),
                                   pa.large_string())
    return cols


def _ingest_batch(batch: pa.RecordBatch, offset: int, ctx: _Context
                  ) -> tuple[pa.Table, pd.DataFrame, np.ndarray]:
    """One batch: (every row as the canonical table, quarantine entries, rows quarantined)."""
    n = batch.num_rows
    spec = ctx.spec
    clock = time.perf_counter
    t = clock()
    cols = _batch_columns(batch, ctx)
    problems = _Problems(ctx.source, offset, 1)
    mvalues = ctx.mapping.values if ctx.mapping else {}
    ordered = [c for c in (*spec.columns, *spec.inputs) if c.name in cols]
    # Identifiers first, so that their hashing runs in the pool while the rest is parsed.
    jobs = {c.name: _pseudonymise_job(cols[c.name], ctx.key, ingest.PSEUDONYM_KIND[c.name],
                                      ctx.hasher)
            for c in ordered if c.type == "pseudonym"}
    parsed: dict[str, _Parsed] = {}
    out: dict[str, pa.Array] = {}
    for col in ordered:
        if col.type == "pseudonym":
            continue
        p = _parse_column(cols[col.name], col, mvalues.get(col.name))
        parsed[col.name] = p
        if p.rule:
            problems.add(p.bad, col.name, p.text, p.rule)
        if col.type == "int":
            problems.add(p.negative, col.name, p.text, "negative count")
        if not col.nullable:
            problems.add(p.values.is_null().to_numpy(zero_copy_only=False) & p.text_na,
                         col.name, p.text, "required value is missing")
        out[col.name] = p.values
    ctx.seconds["parse values"] += clock() - t
    t = clock()
    for name, finish in jobs.items():
        values = finish()
        out[name] = values
        if not spec.column(name).nullable:
            problems.add(values.is_null().to_numpy(zero_copy_only=False), name, None,
                         "required value is missing")
    ctx.seconds["pseudonymise (wait for the pool)"] += clock() - t
    t = clock()

    # Plausibility rules across columns, as ingest._row_rules.
    dates = {name: out[name].to_numpy(zero_copy_only=False) for name in out
             if spec.column(name).type == "date"}
    now = np.datetime64(pd.Timestamp(ctx.today).to_datetime64(), "ns")
    floor = np.datetime64("1990-01-01", "ns")
    for name, v in dates.items():
        if name == "date_of_birth":
            continue
        problems.add(v > now, name, _dates_text(v), "date is in the future")
        problems.add(v < floor, name, _dates_text(v), "date before 1990")
    if "date_of_birth" in dates:
        dob = pd.Series(dates["date_of_birth"])
        contact = pd.Series(dates["contact_date"])
        problems.add((dob > contact + pd.Timedelta(days=280)).to_numpy(), "date_of_birth",
                     _dates_text(dates["date_of_birth"]),
                     "birth more than 40 weeks after the contact")
        problems.add((dob < contact - pd.DateOffset(years=25)).to_numpy(), "date_of_birth",
                     _dates_text(dates["date_of_birth"]), "child over 25 at the contact")
    if "referral_date" in dates:
        problems.add(dates["referral_date"] < dates["contact_date"], "referral_date",
                     _dates_text(dates["referral_date"]), "referral before contact")
    if "assessment_end_date" in dates and "assessment_start_date" in dates:
        problems.add(dates["assessment_end_date"] < dates["assessment_start_date"],
                     "assessment_end_date", _dates_text(dates["assessment_end_date"]),
                     "assessment ends before it starts")

    ctx.seconds["row rules"] += clock() - t
    t = clock()
    # Duplicates of case_id, across batches: the first copy is kept, later copies quarantined.
    # (With the sort, ``_BucketSort`` finds them instead, when equal ids meet in one file.)
    if "case_id" in out and ctx.seen is not None:
        keys, prefix, valid = _pseudonym_keys(out["case_id"])
        rows = np.arange(offset, offset + n, dtype=np.int64)
        first = np.full(n, -1, dtype=np.int64)
        first[valid] = ctx.seen.first_rows(keys[valid], prefix[valid], rows[valid])
        dup = valid & (first != rows)
        problems.add(dup, "case_id", None,
                     lambda r: [f"duplicate of row {first[i] + 1}" for i in r])

    ctx.seconds["duplicates"] += clock() - t
    t = clock()
    # Date of birth / age in years -> age band, then dropped.
    if "date_of_birth" in out or "age_years" in out:
        dob_s = pd.Series(dates["date_of_birth"]) if "date_of_birth" in dates else None
        yrs = out.get("age_years")
        bands = privacy.age_bands(dob_s, pd.Series(dates["contact_date"]),
                                  None if yrs is None else yrs.to_pandas())
        out["age_band"] = _as_codes(pa.Array.from_pandas(bands), spec.column("age_band"))

    qframe = problems.frame()
    bad = np.zeros(n, dtype=bool)
    if len(qframe):
        bad[qframe["_index"].to_numpy(dtype=np.int64)] = True
    arrays = []
    for f in ctx.schema:
        v = out.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, f.type))
        elif pa.types.is_dictionary(f.type) and not v.type.equals(f.type):
            arrays.append(_as_codes(v, spec.column(f.name)))
        else:
            arrays.append(v.cast(f.type))
    table = pa.Table.from_arrays(arrays, schema=ctx.schema)
    ctx.seconds["quarantine and table"] += clock() - t
    return table, qframe.drop(columns="_index"), bad


def _append_csv(frame: pd.DataFrame, fh: Any, header: bool) -> None:
    """Append to a CSV exactly as ``export.write_csv`` writes the whole frame."""
    from .export import neutralise_frame

    text = neutralise_frame(frame).to_csv(index=False, header=header, lineterminator="\n",
                                          float_format="%.10g", date_format="%Y-%m-%d")
    fh.write(text.encode("utf-8"))


def _duckdb(memory_limit: str | None = None, temp_dir: Path | None = None,
            threads: int | None = None) -> Any:
    import duckdb

    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = '{_sql_path(temp_dir)}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _sql_path(p: str | Path) -> str:
    return str(p).replace("'", "''")


class _BucketSort:
    """Sort the rows by ``case_id`` out of core, and find duplicated ids on the way.

    Pseudonyms are HMAC outputs, so their leading hex digits are uniform: every row with an id
    goes to one Arrow IPC file per (prefix, leading ``digits`` hex digits), chosen so that a
    file holds about a batch, with its row number, 64-bit key and whether it was quarantined.
    Each file is then sorted in memory on the keys (the order of the strings), which puts
    copies of an id next to each other, in row order: the first copy is kept, later ones are
    duplicates.  The accepted rows are appended to the Parquet table (in a writer thread,
    while the next file is read and sorted).
    """

    EXTRA = (pa.field("_row", pa.int64()), pa.field("_key", pa.uint64()),
             pa.field("_bad", pa.bool_()))

    def __init__(self, folder: Path, schema: pa.Schema, rows: int, batch_rows: int) -> None:
        self.folder = folder
        self.schema = pa.schema([*schema, *self.EXTRA])
        self.digits = int(min(3, max(1, math.ceil(math.log(max(rows / batch_rows, 1), 16)))))
        self.files: dict[int, Path] = {}
        self.writers: dict[int, Any] = {}
        self.accepted = 0
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, table: pa.Table, offset: int, bad: np.ndarray) -> None:
        if not table.num_rows:
            return
        keys, prefix, valid = _pseudonym_keys(table.column("case_id").combine_chunks())
        rows = np.arange(offset, offset + table.num_rows, dtype=np.int64)
        if not valid.all():  # no id: quarantined already, and never a duplicate
            table, keys, prefix, rows, bad = (table.filter(pa.array(valid)), keys[valid],
                                              prefix[valid], rows[valid], bad[valid])
        table = table.append_column(self.EXTRA[0], pa.array(rows)).append_column(
            self.EXTRA[1], pa.array(keys)).append_column(self.EXTRA[2], pa.array(bad))
        lead = keys >> np.uint64(64 - 4 * self.digits)
        if (prefix == prefix[0]).all():
            code = lead.astype(np.uint16)  # a radix sort
            base = int(prefix[0]) << 32
        else:
            code = (prefix.astype(np.uint64) << np.uint64(32)) | lead
            base = 0
        order = np.argsort(code, kind="stable")
        code = code[order]
        table = table.take(pa.array(order))
        cuts = [0, *(np.flatnonzero(np.diff(code)) + 1).tolist(), len(code)]
        for a, b in itertools.pairwise(cuts):
            c = base | int(code[a])
            if c not in self.writers:
                self.files[c] = self.folder / f"{c:016x}.arrow"
                self.writers[c] = pa.ipc.new_file(self.files[c], self.schema)
            self.writers[c].write_table(table.slice(a, b - a))

    def _sorted(self, c: int, dups: list[tuple[np.ndarray, np.ndarray]]) -> pa.Table:
        self.writers.pop(c).close()
        with pa.memory_map(str(self.files[c])) as source:
            t = pa.ipc.open_file(source).read_all()
        keys = t.column("_key").to_numpy()
        order = np.argsort(keys, kind="stable")  # copies of an id stay in row order
        ks = keys[order]
        rows = t.column("_row").to_numpy()[order]
        start = np.ones(len(ks), dtype=bool)
        start[1:] = ks[1:] != ks[:-1]
        if not start.all():
            first = rows[np.maximum.accumulate(np.where(start, np.arange(len(ks)), 0))]
            dups.append((rows[~start], first[~start]))
        keep = start & ~t.column("_bad").to_numpy(zero_copy_only=False)[order]
        out = t.take(pa.array(order[keep])).drop_columns([f.name for f in self.EXTRA])
        self.files.pop(c).unlink()
        self.accepted += out.num_rows
        return out

    def write_sorted(self, writer: pq.ParquetWriter, row_group: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Write the accepted rows in ``case_id`` order; return the duplicates' rows (0-based,
        ascending) and the row of the first copy of each."""
        from concurrent.futures import ThreadPoolExecutor

        dups: list[tuple[np.ndarray, np.ndarray]] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for c in sorted(self.writers):
                table = self._sorted(c, dups).cast(writer.schema)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, table, row_group_size=row_group)
            if pending is not None:
                pending.result()
        if not dups:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        rows = np.concatenate([d[0] for d in dups])
        first = np.concatenate([d[1] for d in dups])
        order = np.argsort(rows)
        return rows[order], first[order]

    def close(self) -> None:
        for w in self.writers.values():
            with contextlib.suppress(Exception):
                w.close()
        self.writers.clear()


_PROBLEM_SCHEMA = pa.schema([("file", pa.large_string()), ("row", pa.int64()),
                             ("column", pa.large_string()), ("value", pa.large_string()),
                             ("rule", pa.large_string())])


def ingest_parquet(path: str | Path, out_dir: str | Path, key: bytes | None = None,
                   demo_key: bool = False, batch_rows: int = 1_000_000, progress: bool = False,
                   *, mapping: str | Path | None = None, name: str = "cases",
                   scale: schemas.Scale | None = None, today: date | None = None,
                   workers: int | None = None, sort: bool = True) -> dict[str, Any]:
    """Ingest a (large) Parquet cases export in batches; write what ``ingest.write_outputs``
    writes: ``<name>.parquet``, ``<name>_quarantine.csv`` and ``<name>_ingest.json``.

    Same contract, rules, pseudonyms, quarantine and accounting as ``ingest.ingest`` followed
    by ``write_outputs`` (the canonical table sorted by ``case_id`` when ``sort``), with at most
    ``batch_rows`` rows of the input in memory at a time.  ``workers`` processes compute the
    HMAC pseudonyms (default: the number of cores).  The sort is out of core too (rows are
    spread over files by the leading digits of their pseudonym, each file sorted in memory:
    ``_BucketSort``); ``sort=False`` keeps the input's row order and saves that pass.  Returns
    the accounting (rows read, accepted, quarantined), the paths, the number of batches and
    the seconds taken.

    Raises ``InputError`` for a whole-file problem, ``privacy.KeyError_`` without a key.
    """
    t0 = time.perf_counter()
    path = Path(path)
    out = Path(out_dir)
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    spec = schemas.cases_spec(scale)
    mp = ingest.load_mapping(mapping)
    if mp and mp.kind and mp.kind != "cases":
        raise InputError(f"{mp.source}: this mapping is for {mp.kind!r} tables, not 'cases'.")
    key = key if key is not None else privacy.load_key(demo=demo_key)
    pf = _open_parquet(path)
    names = list(pf.schema_arrow.names)
    for _, _, label1, _, label2 in ingest._duplicate_columns(pd.DataFrame(columns=names), spec,
                                                             mp):
        raise InputError(f"{path}: columns {label1} and {label2} have the same header. Delete "
                         "one, or rename it, and export again.")
    renamed, ignored = ingest._rename(pd.DataFrame(columns=names), spec, mp)
    ignored_set = set(ignored)
    sources = [c for c in names if str(c) not in ignored_set]
    columns = dict(zip(renamed.columns, sources, strict=True))
    nested = ingest.nested_columns(pf.schema_arrow)
    for src in sources:
        if src in nested:
            raise InputError(ingest.nested_message(path, src, nested[src]))
    present = set(columns) | set(mp.constants if mp else {}) | {
        c for c, parts in (mp.compose if mp else {}).items() if all(p in columns for p in parts)}
    derivable = {"age_band"} if {"date_of_birth", "age_years"} & present else set()
    missing = [c for c in spec.required if c not in present and c not in derivable]
    if missing:
        found = ingest.short_list(names)
        raise InputError(
            f"{path}: missing required column(s) {', '.join(repr(m) for m in missing)} for the "
            f"cases table. Columns found: {found}. Fix: pass --mapping annex_a for an Ofsted "
            "Annex A export, or write a mapping file (see README, 'Data contracts').")
    rows_read = pf.metadata.num_rows
    out.mkdir(parents=True, exist_ok=True)
    paths = {"table": out / f"{name}.parquet", "quarantine": out / f"{name}_quarantine.csv",
             "log": out / f"{name}_ingest.json"}
    tmp_table = out / f".{name}.parquet.tmp"
    tmp_quarantine = out / f".{name}_quarantine.csv.tmp"
    schema = canonical_schema(spec)
    staged = staging_schema(spec)
    hasher = _Hasher(key, workers or os.cpu_count() or 1)
    buckets = _BucketSort(out / f".{name}.sort", staged, rows_read, batch_rows) if sort else None
    ctx = _Context(spec=spec, mapping=mp, key=key, hasher=hasher,
                   seen=None if sort else _Seen(),
                   today=today or privacy.today(), source=str(path), schema=staged,
                   columns=columns)
    from tqdm.auto import tqdm

    bar = tqdm(total=rows_read, unit="rows", unit_scale=True, disable=not progress,
               desc=f"ingest {path.name}")
    accepted = quarantined = batches = largest = 0
    rules: Counter = Counter()
    staged_problems = out / f".{name}.problems.parquet"
    ranges: list[tuple[int, int, int | None]] = []  # batch rows [a, b) and its row group

    def quarantine_rows(frame: pd.DataFrame, fh: Any, header: bool) -> int:
        _append_csv(frame[_QUARANTINE_COLUMNS] if len(frame) else
                    pd.DataFrame(columns=_QUARANTINE_COLUMNS), fh, header)
        rules.update(frame["rule"].tolist())
        return int(frame["row"].nunique()) if len(frame) else 0

    try:
        with (pq.ParquetWriter(tmp_table, schema) as writer,
              pq.ParquetWriter(staged_problems, _PROBLEM_SCHEMA) as pwriter,
              open(tmp_quarantine, "wb") as qfh):
            offset = 0
            clock = time.perf_counter
            t = clock()
            for batch in pf.iter_batches(batch_size=batch_rows, columns=sources):
                ctx.seconds["read batches"] += clock() - t
                table, qframe, bad = _ingest_batch(batch, offset, ctx)
                t = clock()
                if buckets is not None:
                    buckets.add(table, offset, bad)
                    group = None
                    if len(qframe):
                        group = len([r for r in ranges if r[2] is not None])
                        pwriter.write_table(pa.Table.from_pandas(
                            qframe, schema=_PROBLEM_SCHEMA, preserve_index=False),
                            row_group_size=max(len(qframe), 1))
                    ranges.append((offset, offset + batch.num_rows, group))
                    ctx.seconds["sort: spread into files"] += clock() - t
                else:
                    if bad.any():
                        table = table.filter(pa.array(~bad))
                    writer.write_table(table.cast(schema), row_group_size=batch_rows)
                    accepted += table.num_rows
                    quarantined += quarantine_rows(qframe, qfh, batches == 0)
                    ctx.seconds["write table"] += clock() - t
                offset += batch.num_rows
                batches += 1
                largest = max(largest, batch.num_rows)
                bar.update(batch.num_rows)
                t = clock()
            hasher.close()
            pwriter.close()
            if offset != rows_read:
                raise InputError(f"{path}: read {offset} rows but the file says {rows_read}; "
                                 "the file may be damaged. Re-export it.")
            if batches == 0:
                quarantine_rows(pd.DataFrame(columns=_QUARANTINE_COLUMNS), qfh, True)
            if buckets is not None:
                t = clock()
                dup_rows, dup_first = buckets.write_sorted(writer, batch_rows)
                accepted = buckets.accepted
                ctx.seconds["sort: sort files and write table"] += clock() - t
                t = clock()
                problems = pq.ParquetFile(staged_problems)
                for i, (a, b, group) in enumerate(ranges):
                    frame = (problems.read_row_group(group).to_pandas() if group is not None
                             else pd.DataFrame(columns=_QUARANTINE_COLUMNS))
                    lo, hi = np.searchsorted(dup_rows, [a, b])
                    if hi > lo:
                        frame = pd.concat([frame, pd.DataFrame({
                            "file": str(path), "row": dup_rows[lo:hi] + 1, "column": "case_id",
                            "value": "", "rule": [f"duplicate of row {f + 1}"
                                                  for f in dup_first[lo:hi]]})],
                            ignore_index=True).sort_values(["row", "column", "rule"],
                                                           kind="stable")
                    quarantined += quarantine_rows(frame, qfh, i == 0)
                ctx.seconds["sort: duplicates into the quarantine"] += clock() - t
        os.replace(tmp_table, paths["table"])
        os.replace(tmp_quarantine, paths["quarantine"])
    except BaseException:
        hasher.close(stop=True)
        raise
    finally:
        hasher.close()
        bar.close()
        if buckets is not None:
            buckets.close()
            import shutil

            shutil.rmtree(buckets.folder, ignore_errors=True)
        for f in (tmp_table, tmp_quarantine, staged_problems):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
    assert accepted + quarantined == rows_read, "row accounting broken"
    t = time.perf_counter()
    input_sha = sha256_file(path)
    ctx.seconds["SHA-256 of the input"] += time.perf_counter() - t
    log = {
        "kind": "cases", "source": str(path), "input_sha256": input_sha,
        "mapping": mp.source if mp else None, "rows_read": rows_read,
        "rows_accepted": accepted, "rows_quarantined": quarantined,
        "ignored_columns": ignored, "key_fingerprint": privacy.key_fingerprint(key),
        "package_version": __version__, "written_at": timestamp(),
        "quarantine_rules": dict(sorted(rules.items())),
        "engine": f"analysis.scale.ingest_parquet (pyarrow batches of {batch_rows:,} rows)",
    }
    write_json(log, paths["log"])
    return {**log, "paths": paths, "batches": batches, "largest_batch": largest,
            "hmac_workers": hasher.workers, "seconds": time.perf_counter() - t0,
            "seconds_by_step": {k: round(v, 3) for k, v in ctx.seconds.items()}}


# ======================================================================================
# Stratified sample
# ======================================================================================


def _canon_column(arr: pa.Array) -> tuple[list[str], np.ndarray]:
    """Canonical text (``sampling.canon_value``) of each distinct value and each row's code."""
    from . import sampling

    values, idx = _dictionary(arr)
    return [sampling.canon_value(v) for v in values], idx


def stratified_sample_parquet(path: str | Path, design: Any, seed: int | None = None, *,
                              previous: Iterable[str | Path | Mapping[str, Any]] = (),
                              excluded_ids: Iterable[str] | None = None,
                              reference_date: str | date | None = None,
                              with_rows: bool = True) -> Any:
    """Draw ``design``'s stratified sample from a canonical cases Parquet file, out of core.

    The selection is that of ``analysis.sampling.draw`` -- eligible frame (filters, date
    window, exclusions), strata and groups, allocation (``sampling.allocate``), over-sampling,
    one ``numpy.random.default_rng(SeedSequence([seed, sha256(stratum)]))`` stream per stratum
    over its cases in ``case_id`` order and the ``n_h`` smallest random keys -- so the same
    file, design and seed give the same cases, strata, probabilities and weights.  Only
    ``case_id`` and the design's columns are read (then, with ``with_rows``, the sampled
    cases' rows, for the auditor workbook).  Returns a ``sampling.Sample``.

    Unlike ``draw``, the canonical SHA-256 of the whole table and of the frame are not
    computed (they serialise every row); the manifest records the Parquet file's SHA-256 as
    ``input_file_sha256`` instead, and says so.
    """
    from . import sampling

    d = sampling.load_design(design)
    path = Path(path)
    seed = d.seed if seed is None else seed
    if seed is None:
        raise sampling.DesignError(f"{d.origin}: no seed. Fix: add 'seed: <number>' to the "
                                   "design or pass --seed.")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise sampling.DesignError(f"seed must be a whole number >= 0, got {seed!r}.")
    seed = int(seed)
    pf = _open_parquet(path, _cases_columns())
    available = set(pf.schema_arrow.names)
    wanted = [*d.filter, *d.strata]
    if d.date_window:
        wanted.append(d.date_window.column)
    if d.oversample:
        wanted.append(d.oversample.column)
    needed = list(dict.fromkeys(c for c in wanted if c in available))
    # Contract columns the file lacks are empty, as in sampling.canonical_text; sampling's own
    # check names any other unknown column and any filter value the contract does not allow.
    sampling._check_columns(pd.DataFrame(columns=sorted(available | set(
        schemas.cases_spec().names))), d)
    if "case_id" not in available:
        raise InputError(f"{path}: has no case_id column. Give the canonical cases table "
                         "written by `sqa ingest --kind cases`.")
    from concurrent.futures import ThreadPoolExecutor

    hashing = ThreadPoolExecutor(max_workers=1)  # hashlib releases the GIL: hash meanwhile
    file_sha = hashing.submit(sha256_file, path)
    types = {f.name: f.type for f in pf.schema_arrow}
    strings = [c for c in needed if pa.types.is_string(types[c])
               or pa.types.is_large_string(types[c])]
    table = pq.read_table(path, columns=needed, read_dictionary=strings)
    n_rows = pf.metadata.num_rows
    text: dict[str, tuple[list[str], np.ndarray]] = {}
    for c in {*wanted}:
        if c in needed:
            text[c] = _canon_column(table.column(c).combine_chunks())
        else:
            text[c] = ([""], np.zeros(n_rows, dtype=np.int64))
    del table

    rows: dict[str, int] = {"input": n_rows}
    keep = np.ones(n_rows, dtype=bool)
    for col, values in d.filter.items():
        vals, idx = text[col]
        allowed = set(values)
        keep &= np.array([v in allowed for v in vals], dtype=bool)[idx]
    rows["after_filter"] = int(keep.sum())
    if d.date_window:
        vals, idx = text[d.date_window.column]
        start, end = d.date_window.start, d.date_window.end
        has = np.array([v[:10] != "" and (not start or v[:10] >= start)
                        and (not end or v[:10] <= end) for v in vals], dtype=bool)
        keep &= has[idx]
    rows["after_date_window"] = int(keep.sum())

    ref = (sampling.canon_value(pd.Timestamp(reference_date)) if reference_date is not None
           else d.reference_date or timestamp()[:10])
    prev_record: list[dict[str, Any]] = []
    if excluded_ids is None:
        excluded, prev_record = sampling._previous_ids(list(previous), d, ref)
    else:
        excluded = sorted(set(map(str, excluded_ids)))
    frame_pos = np.flatnonzero(keep)
    frame_ids = _ids_at(path, frame_pos, n_rows)
    if len(frame_pos):
        _check_frame_ids(frame_ids, path)
    if excluded:
        is_ex = pc.fill_null(pc.is_in(pc.utf8_trim_whitespace(_large(frame_ids)),
                                      value_set=pa.array(excluded, pa.large_string())),
                             False).to_numpy(zero_copy_only=False)
    else:
        is_ex = np.zeros(len(frame_pos), dtype=bool)
    rows["excluded_previous"] = int(is_ex.sum())
    frame_pos, frame_ids = frame_pos[~is_ex], pc.filter(frame_ids, pa.array(~is_ex))
    rows["frame"] = len(frame_pos)
    if not len(frame_pos):
        raise sampling.DesignError(
            f"{d.origin}: no cases are eligible ({rows['input']} rows read, "
            f"{rows['after_filter']} after the filter, {rows['after_date_window']} in the date "
            f"window, {rows['excluded_previous']} excluded as audited recently). Fix: check the "
            "filter and date window against the table.")
    # The frame in case_id order (sampling sorts the whole table by case_id first).
    keys, prefix, _ = _pseudonym_keys(frame_ids)
    order = np.argsort(keys) if (prefix == prefix[0]).all() else np.lexsort((keys, prefix))
    keys, prefix = keys[order], prefix[order]
    same = (keys[1:] == keys[:-1]) & (prefix[1:] == prefix[:-1])
    if same.any():
        raise InputError(f"{path}: {int(same.sum())} case_id value(s) appear more than once. "
                         "Fix: ingest the file with `sqa ingest`, which keeps the first copy "
                         "and quarantines the others.")
    frame_pos, frame_ids = frame_pos[order], pc.take(frame_ids, pa.array(order))

    # Strata, as integer ids per row (names in ``names``).
    n_frame = len(frame_pos)
    if d.strata:
        value_group = {v: g for g, vs in d.groups.items() for v in vs}
        code = np.zeros(n_frame, dtype=np.int64)
        radix: list[int] = []
        labels_per_col = []
        mult = 1
        for c in d.strata:
            vals, idx = text[c]
            labels_per_col.append([value_group.get(v, v) if v else sampling.MISSING
                                   for v in vals])
            code += idx[frame_pos].astype(np.int64) * mult
            radix.append(len(vals))
            mult *= len(vals)
        combos, inverse = np.unique(code, return_inverse=True)
        combo_names = []
        for cv in combos.tolist():
            parts = []
            for j, r in enumerate(radix):
                parts.append(labels_per_col[j][cv % r])
                cv //= r
            combo_names.append("|".join(parts))
        names = sorted(set(combo_names))
        id_of = {nm: i for i, nm in enumerate(names)}
        parent = np.array([id_of[nm] for nm in combo_names], dtype=np.int64)[inverse.reshape(-1)]
    else:
        names, id_of = ["all"], {"all": 0}
        parent = np.zeros(n_frame, dtype=np.int64)
    counts = np.bincount(parent, minlength=len(names))
    pops = {nm: int(counts[i]) for i, nm in enumerate(names) if counts[i]}
    N = n_frame
    if d.allocation == "fixed":
        n_total = sum(d.counts.values())
    elif d.n is not None:
        n_total = d.n
    else:
        n_total = sampling.sample_size(float(d.margin), population=N,  # type: ignore[arg-type]
                                       p=d.p, confidence=d.confidence)
    alloc = sampling.allocate(pops, n_total, d.allocation, counts=d.counts, prior=d.prior,
                              minimum=d.min_per_stratum, where=d.origin)

    final = parent.copy()
    ov = d.oversample
    flag = None
    if ov is not None:
        vals, idx = text[ov.column]
        flag = np.array([v == ov.value for v in vals], dtype=bool)[idx[frame_pos]]
    counts = ({h: (int(((parent == id_of[h]) & flag).sum()),
                   int(((parent == id_of[h]) & ~flag).sum())) for h in alloc}
              if flag is not None else {})
    final_alloc, parent_of, notes, splits = sampling.oversample_allocation(alloc, counts, d)
    for h, labels in splits.items():
        in_h = parent == id_of[h]
        for lab, mask in zip(labels, (in_h & flag, in_h & ~flag), strict=True):
            id_of.setdefault(lab, len(names))
            if id_of[lab] == len(names):
                names.append(lab)
            final[mask] = id_of[lab]
    final_names = np.array(names, dtype=object)

    chosen: list[np.ndarray] = []
    strata_rows: list[dict[str, Any]] = []
    case_rows: list[dict[str, Any]] = []
    for h in final_alloc:
        idx = np.flatnonzero(final == id_of[h])  # positions in case_id order
        Nh, nh = len(idx), final_alloc[h]
        rng = np.random.default_rng(np.random.SeedSequence([seed, sampling._stable_int(h)]))
        rkeys = rng.random(Nh)
        pick = np.sort(idx[np.argsort(rkeys, kind="stable")[:nh]])
        chosen.append(pick)
        prob = nh / Nh
        weight = Nh / nh
        moe = sampling.margin_of_error(nh, Nh, p=d.p, confidence=d.confidence)
        strata_rows.append({
            "stratum": h, "label": sampling.stratum_label(h, d), "parent": parent_of[h],
            "population": Nh, "sampled": nh, "fraction": prob, "selection_probability": prob,
            "design_weight": weight, "margin_of_error": moe, "too_small": nh < sampling.SMALL_N,
            "note": sampling._stratum_note(nh, Nh, moe, notes.get(h, ""))})
        case_rows += [{"case_id": str(cid), "stratum": h, "selection_probability": prob,
                       "design_weight": weight}
                      for cid in pc.take(frame_ids, pa.array(pick)).to_pylist()]
    case_rows.sort(key=lambda r: r["case_id"])
    all_idx = np.sort(np.concatenate(chosen))
    rows["sampled"] = len(all_idx)
    manifest = sampling.manifest_body(
        d, seed, rows, ref, prev_record, excluded, strata_rows, case_rows,
        {"input_sha256": None, "frame_sha256": None, "input_file_sha256": file_sha.result(),
         "input_canonicalisation": "not computed: drawn out of core by analysis.scale "
                                   "(input_file_sha256 is the SHA-256 of the Parquet file)",
         "input_row_digests": None})
    hashing.shutdown()
    stratum_of = dict(zip(pc.take(frame_ids, pa.array(all_idx)).to_pylist(),
                          final_names[final[all_idx]], strict=True))
    if with_rows:
        selected = _rows_at(path, frame_pos[all_idx])
    else:
        selected = pd.DataFrame({"case_id": pd.Series(
            pc.take(frame_ids, pa.array(all_idx)).to_pylist(), dtype="string")})
    selected["stratum"] = selected["case_id"].map(stratum_of).to_numpy(dtype=object)
    return sampling.Sample(d, manifest, selected.reset_index(drop=True))


def _check_frame_ids(ids: pa.Array, path: Path) -> None:
    """``sampling._check_cases`` on the rows read: ids present and pseudonymised (uniqueness is
    checked once they are sorted)."""
    if ids.null_count:
        raise InputError(f"{path}: {ids.null_count} eligible row(s) have no case_id. Fix: "
                         "ingest the file with `sqa ingest`, which quarantines such rows.")
    ok = pc.match_substring_regex(ids, PSEUDONYM_PATTERN)
    bad = len(ids) - (pc.sum(ok).as_py() or 0) if len(ids) else 0
    if bad:
        raise InputError(f"{path}: {bad} case_id value(s) are not pseudonymised (expected cs_ "
                         "and 16 hex digits). Audit samples are drawn only from the "
                         "pseudonymised table. Fix: run `sqa ingest --kind cases` first.")


def _ids_at(path: Path, positions: np.ndarray, n_rows: int) -> pa.Array:
    """``case_id`` of the rows at the given (ascending) positions of the file, read by DuckDB,
    which decodes the other rows' ids but never materialises them."""
    con = _duckdb()
    try:
        src = f"read_parquet('{_sql_path(path)}', file_row_number=true)"
        if len(positions) == n_rows:
            rel = con.sql(f"SELECT case_id FROM {src} ORDER BY file_row_number")
        else:
            con.register("positions", pa.table({"pos": pa.array(positions, pa.int64())}))
            rel = con.sql(f"SELECT case_id FROM {src} c SEMI JOIN positions p "
                          "ON c.file_row_number = p.pos ORDER BY c.file_row_number")
        ids = _arrow_table(rel).column("case_id").combine_chunks()
    finally:
        con.close()
    if len(ids) != len(positions):
        raise InputError(f"{path}: the file changed while it was read. Draw the sample again.")
    return _large(ids)


def _arrow_table(rel: Any) -> pa.Table:
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()


def _rows_at(path: Path, positions: np.ndarray) -> pd.DataFrame:
    """The rows at the given positions of the file (sorted by case_id), typed as
    ``pd.read_parquet`` types them."""
    con = _duckdb()
    try:
        src = f"read_parquet('{_sql_path(path)}', file_row_number=true)"
        if len(positions) <= 10_000:  # a literal list lets DuckDB skip the other rows' values
            where = "file_row_number IN (" + ", ".join(str(int(p)) for p in positions) + ")"
        else:
            con.register("positions", pa.table({"pos": pa.array(positions, pa.int64())}))
            where = "file_row_number IN (SELECT pos FROM positions)"
        arrow = _arrow_table(con.sql(f"SELECT * EXCLUDE (file_row_number) FROM {src} "
                                     f"WHERE {where} ORDER BY case_id"))
    finally:
        con.close()
    schema = pq.read_schema(path)
    return arrow.select(schema.names).cast(schema).to_pandas()


# ======================================================================================
# Aggregates: appropriateness by source with funnel limits; monthly series
# ======================================================================================


def appropriateness_by_source(path: str | Path, services: Sequence[str] | None = ("front_door",),
                              confidence: float = 0.95,
                              coverages: Sequence[float] = (0.95, 0.998),
                              by: str = "referral_source") -> pd.DataFrame:
    """Share of contacts that became a referral to children's social care, by referral source,
    with Wilson (1927) intervals and Spiegelhalter (2005) funnel limits.

    The counts come from one DuckDB ``GROUP BY`` over the Parquet file (front-door contacts
    by default; rows without a source are left out, as pandas' ``groupby`` leaves them out);
    the interval is ``proportions.proportion_ci`` (Wilson score, as ``thresholds.
    appropriateness_by``) and the limits and positions are ``thresholds.funnel_limits`` and
    ``funnel_table``'s exact binomial rule around the overall rate.  One row per source:
    group, label, successes, n, estimate, ci_low, ci_high, method, rate, the funnel limits,
    target and position (``within``, ``above_95``...).  Equal to ``thresholds.funnel_table``
    and ``appropriateness_by`` on ``thresholds.front_door_contacts`` of the same table.
    """
    from scipy import stats

    from . import proportions, thresholds

    path = Path(path)
    _open_parquet(path, [*_cases_columns(), by])
    con = _duckdb()
    try:
        where = ""
        if services:
            svc = ", ".join("'" + s.replace("'", "''") + "'" for s in services)
            where = f"AND service IN ({svc})"
        g = con.execute(f"""
            SELECT {by} AS grp, count(referral_date) AS successes, count(*) AS n
            FROM read_parquet('{_sql_path(path)}')
            WHERE {by} IS NOT NULL {where}
            GROUP BY 1 ORDER BY 1""").df()
    finally:
        con.close()
    g["grp"] = g["grp"].astype(str)
    g = g.sort_values("grp", kind="stable").reset_index(drop=True)
    g["successes"] = g["successes"].astype(np.int64)
    g["n"] = g["n"].astype(np.int64)
    total_n = int(g["n"].sum())
    target = float(g["successes"].sum() / total_n) if total_n else math.nan
    cis = [proportions.proportion_ci(int(x), int(n), confidence=confidence)
           for x, n in zip(g["successes"], g["n"], strict=True)]
    lim = thresholds.funnel_limits(target, g["n"].to_numpy(), coverages, "exact")
    out = pd.DataFrame({
        "group": g["grp"], "label": g["grp"].map(lambda k: thresholds.SOURCE_LABELS.get(k, k)),
        "successes": g["successes"], "n": g["n"],
        "estimate": [c.estimate for c in cis], "ci_low": [c.ci_low for c in cis],
        "ci_high": [c.ci_high for c in cis], "method": "Wilson score interval",
        "rate": g["successes"] / g["n"]})
    for c in lim.columns[1:]:
        out[c] = lim[c].to_numpy()
    out["target"] = target
    lo_c, hi_c = sorted(coverages)[0], sorted(coverages)[-1]

    def position(x: int, n: int) -> str:
        for cov in (hi_c, lo_c):
            tail = (1 - cov) / 2
            tag = f"{100 * cov:g}"
            if stats.binom.sf(x - 1, n, target) < tail:
                return f"above_{tag}"
            if stats.binom.cdf(x, n, target) < tail:
                return f"below_{tag}"
        return "within"

    out["position"] = [position(int(x), int(n)) for x, n in
                       zip(out["successes"], out["n"], strict=True)]
    return out


def monthly_series(path: str | Path, services: Sequence[str] | None = ("front_door",),
                   rereferral_method: Literal["auto", "history", "column"] = "auto",
                   limit: int = 45) -> pd.DataFrame:
    """The monthly series of the SPC charts (contacts that became referrals, re-referrals
    within 12 months, assessments within ``limit`` working days) from a Parquet cases file.

    A thin call of ``analysis.thresholds.monthly_series``, the one implementation (DuckDB SQL
    that scans the file without loading it into pandas; its docstring gives the method and
    sources), after checking that ``path`` is a readable Parquet file (``InputError``
    otherwise, as for every stage of this module).
    """
    from . import thresholds

    path = Path(path)
    _open_parquet(path, _cases_columns())
    return thresholds.monthly_series(path, services=services,
                                     rereferral_method=rereferral_method, limit=limit)


# ======================================================================================
# The floor
# ======================================================================================

#: Columns each stage reads (for the DuckDB scan floor of the benchmarks).
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "appropriateness": ("referral_source", "referral_date", "service", "contact_date"),
    "monthly": ("contact_date", "referral_date", "service", "referrals_last_12m",
                "assessment_start_date", "assessment_end_date"),
}


def sample_columns(design: Any) -> list[str]:
    """The columns ``stratified_sample_parquet`` reads for ``design``."""
    from . import sampling

    d = sampling.load_design(design)
    cols = ["case_id", *d.filter, *d.strata]
    if d.date_window:
        cols.append(d.date_window.column)
    if d.oversample:
        cols.append(d.oversample.column)
    return list(dict.fromkeys(cols))


def duckdb_scan_seconds(path: str | Path, columns: Sequence[str] | None = None,
                        repeat: int = 3) -> float:
    """Seconds DuckDB takes to scan ``columns`` of a Parquet file (all columns by default):
    the smallest ``hash`` of every column, which decodes every value (a plain ``min`` would be
    answered from the file's statistics without reading the data); the best of ``repeat``
    runs.

    The floor of the benchmarks: no stage that reads those columns can take less.
    """
    path = Path(path)
    cols = list(columns) if columns else list(pq.read_schema(path).names)
    agg = ", ".join(f'min(hash("{c}"))' for c in cols)
    con = _duckdb()
    try:
        best = math.inf
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            con.execute(f"SELECT {agg} FROM read_parquet('{_sql_path(path)}')").fetchall()
            best = min(best, time.perf_counter() - t0)
    finally:
        con.close()
    return best
