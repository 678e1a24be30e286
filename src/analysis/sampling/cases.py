"""The cases table: reading it, its canonical text, and how a manifest identifies it.

``read_cases`` reads the canonical cases table (Parquet from ``sqa ingest``, or a CSV of it
typed from the contract); ``canonical_text`` and ``input_digest`` give every cell's canonical
text (``canon_value``) and the SHA-256 of the canonical serialisation (``CANONICALISATION``),
so that neither the file's row order nor its format changes the hash.  ``_open_input`` opens
a frame, a file or a folder of Parquet files on a DuckDB connection (``analysis.engine``),
where ``_canonical_identity`` computes the same hashes in Arrow batches.  A table of more
than ``CANONICAL_MAX_ROWS`` rows is identified by the SHA-256 of its file instead
(``_file_identity``), taken from its ingest log while the file is unchanged since
(``logged_sha256``: the stat check git's index makes before it trusts a stored hash).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import engine, privacy, schemas
from ..ingest import InputError
from .design import canon_value

#: Row digests are kept in the manifest (to count changed rows on verify) up to this size.
MAX_ROW_DIGESTS = 250_000
DIGEST_CHARS = 10
CANONICALISATION = ("rows sorted by case_id; columns in contract order then other columns "
                    "by name; one JSON array of text per row; dates yyyy-mm-dd; booleans "
                    "true/false; missing values empty")
#: Up to this many rows the input is identified by its canonical SHA-256 (``input_sha256``,
#: ``frame_sha256``, and row digests up to ``MAX_ROW_DIGESTS``), which serialises every column
#: of every row; above it, by the SHA-256 of its file (``input_file_sha256``; for a directory
#: of Parquet files, of the list of its files with their SHA-256).  A frame has no file: it is
#: always identified canonically.
CANONICAL_MAX_ROWS = 1_000_000
#: Rows per Arrow batch when the canonical text is computed from DuckDB.
BATCH_ROWS = 65_536
FILE_IDENTITY = ("not computed: the table has more rows than CANONICAL_MAX_ROWS ({limit:,}); "
                 "input_file_sha256 is the SHA-256 of {what}")


def read_cases(path: str | Path) -> pd.DataFrame:
    """Read the canonical cases table (Parquet from ``sqa ingest``, or a CSV of it).

    A CSV is typed from the contract (dates, booleans, whole numbers) so that it gives the
    same canonical text, hash and sample as the Parquet it was exported from.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: cases file not found. Give the canonical cases table written "
                         "by `sqa ingest --kind cases` (cases.parquet) or a CSV of it.")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                             "Write it again with `sqa ingest`.") from None
    if suffix not in {".csv", ".txt"}:
        raise InputError(f"{path}: cannot read {suffix or 'extension-less'} files as a cases "
                         "table. Use the Parquet file from `sqa ingest`, or CSV.")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable UTF-8 CSV ({exc.__class__.__name__}). Export "
                         "the canonical table again (UTF-8, with its header row).") from None
    spec = schemas.cases_spec()
    types = {c.name: c.type for c in spec.columns}
    out = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        text = raw[col].str.strip().replace("", pd.NA)
        kind = types.get(col)
        if kind == "date":
            parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            bad = text.notna() & parsed.isna()
        elif kind == "bool":
            low = text.str.lower()
            parsed = low.map({"true": True, "false": False, "1": True, "0": False,
                              "yes": True, "no": False}).astype("boolean")
            bad = text.notna() & parsed.isna()
        elif kind == "int":
            nums = pd.to_numeric(text, errors="coerce")
            bad = text.notna() & (nums.isna() | (nums != nums.round()))
            parsed = nums.where(~bad).round().astype("Int64")
        else:
            parsed, bad = text.astype("string"), pd.Series(False, index=raw.index)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{path}: row {i + 2}, column {col!r}: {raw[col].iloc[i]!r} is not "
                             f"a valid {kind} for the canonical cases table. Fix: export the "
                             "table again from `sqa ingest` (dates yyyy-mm-dd, true/false).")
        out[col] = parsed
    return out


def _check_cases(df: pd.DataFrame, label: str) -> None:
    if "case_id" not in df.columns:
        raise InputError(f"{label}: has no case_id column. Give the canonical cases table "
                         "written by `sqa ingest --kind cases`.")
    ids = df["case_id"]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise InputError(f"{label}: data row {i + 1} has no case_id. Fix: ingest the file with "
                         "`sqa ingest`, which quarantines such rows.")
    bad = ~ids.astype(str).str.match(privacy.POOLED_RE.pattern)
    if bad.any():
        raise InputError(f"{label}: {int(bad.sum())} case_id value(s) are not pseudonymised "
                         "(expected cs_ and 16 hex digits). Audit samples are drawn only from "
                         "the pseudonymised table. Fix: run `sqa ingest --kind cases` first.")
    dup = ids.duplicated()
    if dup.any():
        raise InputError(f"{label}: case_id {ids[dup].iloc[0]!r} appears more than once "
                         f"({int(dup.sum())} duplicates). Fix: ingest the file with `sqa "
                         "ingest`, which keeps the first copy and quarantines the others.")


def canonical_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as canonical text, rows sorted by case_id, columns in contract order.

    Contract columns missing from ``df`` are added empty; other columns follow by name.
    Missing values are ``""``; dates ``yyyy-mm-dd``; booleans ``true``/``false``.
    """
    spec_names = schemas.cases_spec().names
    extras = sorted(str(c) for c in df.columns if c not in spec_names)
    order = df["case_id"].astype(str).sort_values(kind="stable").index
    src = df.loc[order]
    out: dict[str, pd.Series] = {}
    for col in [*spec_names, *extras]:
        if col not in src.columns:
            out[col] = pd.Series("", index=src.index, dtype=object)
            continue
        s = src[col].astype(object)
        mapping = {u: canon_value(u) for u in pd.unique(s) if not _isna(u)}
        na = s.map(_isna).astype(bool)
        out[col] = s.map(mapping).where(~na, "")
    return pd.DataFrame(out).reset_index(drop=True)


def _isna(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _row_json(text: pd.DataFrame) -> list[str]:
    return [json.dumps(list(r), ensure_ascii=False, separators=(",", ":"))
            for r in text.itertuples(index=False, name=None)]


def input_digest(text: pd.DataFrame) -> tuple[str, list[str]]:
    """SHA-256 of the canonical serialisation, and each row's SHA-256 (same row order)."""
    rows = _row_json(text)
    header = json.dumps(list(text.columns), separators=(",", ":"))
    h = hashlib.sha256(header.encode("utf-8"))
    for r in rows:
        h.update(b"\n")
        h.update(r.encode("utf-8"))
    return h.hexdigest(), [hashlib.sha256(r.encode("utf-8")).hexdigest() for r in rows]


@dataclass
class _Input:
    """A cases table opened on a DuckDB connection (``engine.source``)."""

    con: Any
    src: str
    label: str
    kind: str  # frame | csv | parquet | dataset
    path: Path | None
    frame: pd.DataFrame | None
    types: dict[str, str]
    n_rows: int
    trust_log: bool = True  # take the file's SHA-256 from its ingest log when unchanged

    @property
    def columns(self) -> list[str]:
        return list(self.types)


def _open_input(cases: pd.DataFrame | str | Path, con: Any) -> _Input:
    """Open ``cases`` (a frame, a Parquet file, a CSV of it, or a directory of Parquet files)
    on ``con``; unreadable input raises ``InputError`` naming the file and the fix."""
    import duckdb

    path: Path | None = None
    frame: pd.DataFrame | None = None
    if isinstance(cases, pd.DataFrame):
        kind, label, frame = "frame", "cases table", cases
    else:
        path = Path(cases)
        label = str(cases)
        if path.is_dir():
            if not any(path.rglob("*.parquet")):
                raise InputError(f"{path}: no Parquet files in this folder. Give the canonical "
                                 "cases table (cases.parquet) or a pool folder of them "
                                 "(council=<code>/*.parquet).")
            kind = "dataset"
        elif path.suffix.lower() in {".parquet", ".pq"} and path.is_file():
            kind = "parquet"
        else:
            kind, frame = "csv", read_cases(path)  # not found / not CSV: read_cases says so
    src = engine.source(con, frame if frame is not None else path)  # type: ignore[arg-type]
    try:
        desc = engine.run(con, f"DESCRIBE SELECT * FROM {src}").fetchall()
        n_rows = int(engine.run(con, f"SELECT count(*) FROM {src}").fetchone()[0])
    except duckdb.Error as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc.__class__.__name__}). "
                         "Write it again with `sqa ingest`.") from None
    return _Input(con, src, label, kind, path, frame, {str(r[0]): str(r[1]) for r in desc},
                  n_rows)


def logged_sha256(path: Path) -> str | None:
    """The SHA-256 that ``sqa ingest`` recorded for the table it wrote (``table`` in
    ``<name>_ingest.json`` beside it), when the file is unchanged since: the same name, size
    and modification time to the nanosecond (the stat check git's index makes before it
    trusts a stored object hash).  None otherwise: the file is hashed."""
    log = path.with_name(f"{path.stem}_ingest.json")
    try:
        rec = json.loads(log.read_text("utf-8")).get("table") or {}
        st = path.stat()
    except (OSError, ValueError, AttributeError):
        return None
    same = (rec.get("file") == path.name and rec.get("bytes") == st.st_size
            and rec.get("mtime_ns") == st.st_mtime_ns)
    return str(rec["sha256"]) if same and rec.get("sha256") else None


def _file_identity(inp: _Input) -> str:
    """SHA-256 of the input file (the one its ingest log records while the file is unchanged
    since, ``logged_sha256``; ``verify`` always hashes); for a directory, of its files'
    relative paths and SHA-256 (one ``path<TAB>sha256`` line each, sorted by path)."""
    from ..provenance import sha256_file

    assert inp.path is not None
    if inp.kind != "dataset":
        return (inp.trust_log and logged_sha256(inp.path)) or sha256_file(inp.path)
    lines = [f"{p.relative_to(inp.path).as_posix()}\t{sha256_file(p)}\n"
             for p in sorted(inp.path.rglob("*.parquet"))]
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _check_ids_sql(inp: _Input) -> None:
    """``_check_cases`` in SQL over the whole table: every row has a pseudonymised, unique
    ``case_id`` (used when the whole table is read anyway, for its canonical digests)."""
    pattern = privacy.POOLED_RE.pattern.strip("^$")
    missing, bad, dup = engine.run(inp.con, (
        "SELECT count(*) - count(case_id), "
        f"count(*) FILTER (NOT regexp_matches(case_id, '^{pattern}$')), "
        f"count(case_id) - count(DISTINCT case_id) FROM {inp.src}")).fetchone()
    if missing:
        raise InputError(f"{inp.label}: {missing} row(s) have no case_id. Fix: ingest the file "
                         "with `sqa ingest`, which quarantines such rows.")
    if bad:
        raise InputError(f"{inp.label}: {bad} case_id value(s) are not pseudonymised "
                         "(expected cs_ and 16 hex digits). Audit samples are drawn only from "
                         "the pseudonymised table. Fix: run `sqa ingest --kind cases` first.")
    if dup:
        first = engine.run(inp.con, f"SELECT case_id FROM {inp.src} GROUP BY case_id "
                                    "HAVING count(*) > 1 ORDER BY case_id LIMIT 1").fetchone()[0]
        raise InputError(f"{inp.label}: case_id {first!r} appears more than once ({dup} "
                         "duplicates). Fix: ingest the file with `sqa ingest`, which keeps the "
                         "first copy and quarantines the others.")


def _check_frame_ids(ids: Any, label: str) -> None:
    """The eligible rows' ids: present and pseudonymised (a table above
    ``CANONICAL_MAX_ROWS`` is checked where it is drawn from; uniqueness once sorted)."""
    import pyarrow.compute as pc

    if ids.null_count:
        raise InputError(f"{label}: {ids.null_count} eligible row(s) have no case_id. Fix: "
                         "ingest the file with `sqa ingest`, which quarantines such rows.")
    ok = pc.match_substring_regex(ids, privacy.POOLED_RE.pattern)
    bad = len(ids) - (pc.sum(ok).as_py() or 0) if len(ids) else 0
    if bad:
        raise InputError(f"{label}: {bad} case_id value(s) are not pseudonymised (expected cs_ "
                         "and 16 hex digits). Audit samples are drawn only from the "
                         "pseudonymised table. Fix: run `sqa ingest --kind cases` first.")


def _arrow_reader(result: Any, batch_rows: int) -> Any:
    """A DuckDB result as a stream of Arrow record batches."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "makes an extra copy": a small one
        return result.to_arrow_reader(batch_rows)


def _canon_json(arr: Any) -> np.ndarray:
    """Each value of an Arrow array as the JSON text of its canonical text (``canon_value``),
    computed once per distinct value (as ``canonical_text`` maps ``pd.unique``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_null(arr.type):
        return np.full(len(arr), '""', dtype=object)
    try:
        enc = pc.dictionary_encode(arr)
        values = enc.dictionary.to_pandas().astype(object).tolist()
        idx = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        series = arr.to_pandas().astype(object)
        values = list(pd.unique(series))
        pos = {id(v): i for i, v in enumerate(values)}
        idx = np.array([pos.get(id(v), len(values)) for v in series])
    texts = [json.dumps("" if _isna(v) else canon_value(v), ensure_ascii=False)
             for v in values]
    return np.array([*texts, '""'], dtype=object)[idx]


@dataclass
class _Identity:
    """How the input is identified in the manifest (and, canonically, its row hashes)."""

    inputs: dict[str, Any]
    row_hashes: list[str] | None = None


def _canonical_identity(inp: _Input, frame_ids: Any | None) -> _Identity:
    """The canonical SHA-256 of the whole table (``input_digest`` of ``canonical_text``), of
    the frame's rows and each row's digest, computed in Arrow batches from DuckDB (rows in
    case_id order, columns in contract order then the others by name)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spec_names = schemas.cases_spec().names
    extras = sorted(str(c) for c in inp.types if c not in spec_names)
    header = [*spec_names, *extras]
    cols = ", ".join(engine.quote(c) if c in inp.types else f"NULL AS {engine.quote(c)}"
                     for c in header)
    reader = _arrow_reader(engine.run(inp.con, f"SELECT {cols} FROM {inp.src} ORDER BY case_id"),
                           BATCH_ROWS)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    whole, frame = hashlib.sha256(head), hashlib.sha256(head)
    row_hashes: list[str] = []
    value_set = frame_ids if frame_ids is not None else pa.array([], pa.string())
    for batch in reader:
        texts = [_canon_json(batch.column(i)) for i in range(batch.num_columns)]
        rows = ["[" + ",".join(r) + "]" for r in zip(*texts, strict=True)]
        ids = batch.column(0)
        in_frame = pc.fill_null(pc.is_in(ids.cast(pa.string()), value_set=value_set),
                                False).to_numpy(zero_copy_only=False)
        for r, f in zip(rows, in_frame, strict=True):
            b = r.encode("utf-8")
            whole.update(b"\n")
            whole.update(b)
            if f:
                frame.update(b"\n")
                frame.update(b)
            row_hashes.append(hashlib.sha256(b).hexdigest())
    digests = ("".join(sorted(h[:DIGEST_CHARS] for h in row_hashes))
               if len(row_hashes) <= MAX_ROW_DIGESTS else None)
    return _Identity({"input_sha256": whole.hexdigest(),
                      "frame_sha256": frame.hexdigest() if frame_ids is not None else None,
                      "input_canonicalisation": CANONICALISATION,
                      "input_row_digests": digests}, row_hashes)


def _file_inputs(inp: _Input, file_sha: str) -> dict[str, Any]:
    what = ("the Parquet file" if inp.kind == "parquet" else "the CSV file" if inp.kind == "csv"
            else "the folder's Parquet files (one 'relative path<TAB>SHA-256' line each, "
                 "sorted)")
    return {"input_sha256": None, "frame_sha256": None, "input_file_sha256": file_sha,
            "input_canonicalisation": FILE_IDENTITY.format(limit=CANONICAL_MAX_ROWS,
                                                           what=what),
            "input_row_digests": None}


def _identify_as(inp: _Input, identify: str | None) -> str:
    if identify not in (None, "canonical", "file"):
        raise ValueError(f"identify must be 'canonical', 'file' or None, not {identify!r}")
    if inp.path is None:
        return "canonical"  # a frame has no file
    return identify or ("canonical" if inp.n_rows <= CANONICAL_MAX_ROWS else "file")
