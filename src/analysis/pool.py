"""Regional pool: several councils' canonical cases tables as one out-of-core dataset.

A safeguarding partnership, or a region, compares its councils' front doors: the share of
contacts that became referrals by council, with funnel limits that allow for the real
differences between councils (``analysis.thresholds.conversion_by`` with
``overdispersion="additive"``; Spiegelhalter 2005).  ``pool_cases`` (``sqa pool``) combines the
councils' ``cases.parquet`` tables, each written by ``sqa ingest`` and pseudonymised with the
council's own key, into one hive-partitioned Parquet dataset::

    OUT/council=<CODE>/data_0.parquet   (one folder per council; DuckDB COPY ... PARTITION_BY)
    OUT/pool.json                       (councils, rows, inputs' SHA-256, key fingerprints)

The data contract is the cases contract (``analysis.schemas``), plus ``council`` (from the
partition folder, read back by ``analysis.engine.source`` with ``hive_partitioning``), and
with ``case_id`` and ``child_id`` prefixed by the council's code (``<CODE>:cs_...``): two
councils' keys give unrelated pseudonyms, and the prefix makes sure that even equal
pseudonyms (the public demo key, or a key reused by mistake) never link a child across
councils: a re-referral or a repeat plan is always within one council.  Two councils whose
ingest logs (``cases_ingest.json``) show the same non-demo key fingerprint are refused: a
shared key would let anyone holding one council's key re-identify the other's children.

Every row goes from the inputs to the output inside DuckDB (``COPY (SELECT ... UNION ALL BY
NAME ...) TO ... (FORMAT parquet, PARTITION_BY (council))``, through ``analysis.engine``);
nothing is loaded into pandas, so a pool of tens of millions of rows needs little memory.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import __version__, engine
from .privacy import DEMO_KEY, key_fingerprint
from .provenance import sha256_file, timestamp, write_json

__all__ = ["CODE_RE", "ID_SEPARATOR", "POOL_JSON", "REQUIRED", "PoolError", "parse_council",
           "pool_cases", "read_pool"]

#: A council code: letters, digits, ``_`` and ``-``, starting with a letter or digit, at most
#: 32 characters (an ONS code such as ``E09000012``, or a short name such as ``hackney``).
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
#: Between the council's code and a pseudonymised id: ``E09000012:cs_0123456789abcdef``.
ID_SEPARATOR = ":"
POOL_JSON = "pool.json"
#: Columns a cases table must have to be pooled (the ids prefixed, the contact date counted).
REQUIRED = ("case_id", "child_id", "contact_date")
DEMO_FINGERPRINT = key_fingerprint(DEMO_KEY)


class PoolError(ValueError):
    """A council's table cannot be pooled (the message names the file and the fix)."""


def parse_council(text: str) -> tuple[str, Path]:
    """``CODE=PATH`` (the ``--council`` option of ``sqa pool``) as (code, path)."""
    code, sep, path = text.partition("=")
    if not sep or not code or not path:
        raise PoolError(f"--council {text!r}: give CODE=PATH, e.g. "
                        "--council E09000012=data/processed/hackney/cases.parquet")
    return code.strip(), Path(path.strip())


def _check_code(code: str) -> None:
    if not CODE_RE.match(code):
        raise PoolError(f"council code {code!r}: use letters, digits, '_' or '-' (at most 32, "
                        "starting with a letter or digit), e.g. E09000012 or hackney")


def _cases_file(code: str, path: Path) -> Path:
    """The council's cases Parquet file (a processed folder means its ``cases.parquet``)."""
    p = Path(path)
    if p.is_dir():
        p = p / "cases.parquet"
    if not p.is_file():
        raise PoolError(f"{p}: no such file (council {code}). Give the cases.parquet that "
                        "`sqa ingest --kind cases` (or --kind annex-a) wrote for the council.")
    return p


def _fingerprint(cases: Path) -> str | None:
    """The key fingerprint in the ingest log beside the table, when there is one."""
    log = cases.with_name(f"{cases.stem}_ingest.json")
    if not log.is_file():
        return None
    try:
        return json.loads(log.read_text("utf-8")).get("key_fingerprint") or None
    except (OSError, ValueError):
        return None


def _columns(con: Any, code: str, cases: Path) -> list[str]:
    try:
        cols = engine.columns_of(con, engine.source(con, cases))
    except Exception as exc:  # DuckDB's own error types: not a Parquet file, unreadable
        raise PoolError(f"{cases}: not a readable Parquet file (council {code}): "
                        f"{str(exc).splitlines()[0]}. Give the cases.parquet written by "
                        "`sqa ingest`.") from None
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise PoolError(f"{cases}: not a cases table (council {code}): no "
                        f"{', '.join(missing)} column. Give the cases.parquet that "
                        "`sqa ingest --kind cases` wrote, not another table.")
    if "council" in cols:
        raise PoolError(f"{cases}: already has a council column (council {code}): it looks "
                        "like a pool. Give each council's own cases.parquet.")
    return cols


def pool_cases(councils: Mapping[str, str | Path] | Iterable[tuple[str, str | Path]],
               out: str | Path, *, memory_limit: str | None = None) -> dict[str, Any]:
    """Pool several councils' canonical cases tables into ``out`` (see the module docstring:
    partitioning, the prefixed ids, ``pool.json``) and return the ``pool.json`` record.

    ``councils``: code -> the council's ``cases.parquet`` (or its processed folder), as a
    mapping or as (code, path) pairs (a code given twice is refused).  ``out`` must be a new
    or empty folder, or an earlier pool (its council folders and ``pool.json`` are
    replaced).  Raises ``PoolError`` naming the file and the fix for: a bad or repeated
    code, a missing file, a file that is not a readable cases table, two councils with the
    same non-demo key fingerprint, fewer than two councils.
    """
    pairs = list(councils.items()) if isinstance(councils, Mapping) else list(councils)
    seen: dict[str, str] = {}
    for code, _ in pairs:
        _check_code(code)
        if code.lower() in seen:
            raise PoolError(f"council code {code!r} given twice: each council once, with its "
                            "own code")
        seen[code.lower()] = code
    if len(pairs) < 2:
        raise PoolError("a pool needs at least two councils: --council CODE=PATH for each")
    files = [(code, _cases_file(code, Path(p))) for code, p in pairs]
    by_print: dict[str, str] = {}
    prints: dict[str, str | None] = {}
    for code, f in files:
        fp = _fingerprint(f)
        prints[code] = fp
        if fp and fp != DEMO_FINGERPRINT:
            if fp in by_print:
                raise PoolError(
                    f"{f}: council {code} was pseudonymised with the same key as council "
                    f"{by_print[fp]} (key fingerprint {fp}). Each council keeps its own key: "
                    f"ingest {code}'s export again with its own key (SQA_PSEUDONYM_KEY_FILE), "
                    "then pool.")
            by_print[fp] = code
    out = Path(out)
    con = engine.connect(memory_limit=memory_limit)
    try:
        selects = []
        for code, f in files:
            cols = _columns(con, code, f)
            lit = code.replace("'", "''")
            ids = ", ".join(f"'{lit}{ID_SEPARATOR}' || CAST({c} AS VARCHAR) AS {c}"
                            for c in ("case_id", "child_id"))
            rest = ", ".join(engine.quote(c) for c in cols if c not in ("case_id", "child_id"))
            selects.append(f"SELECT {ids}, {rest}, '{lit}' AS council "
                           f"FROM {engine.source(con, f)}")
        union = "\nUNION ALL BY NAME\n".join(selects)
        _prepare_out(out)  # only once every input is known to be good
        engine.run(con, f"COPY ({union}) TO '{engine.sql_path(out)}' "
                        "(FORMAT parquet, PARTITION_BY (council), OVERWRITE_OR_IGNORE true)")
        rows = dict(engine.run(con, f"SELECT council, count(*) FROM {engine.source(con, out)} "
                                    "GROUP BY 1 ORDER BY 1").fetchall())
    finally:
        con.close()
    record = {
        "councils": [{"code": code, "source": str(f), "sha256": sha256_file(f),
                      "key_fingerprint": prints[code],
                      "demo_key": prints[code] == DEMO_FINGERPRINT,
                      "rows": int(rows.get(code, 0)),
                      "partition": f"council={code}"} for code, f in files],
        "rows": int(sum(rows.values())),
        "partitioning": "hive: council=<code>/*.parquet (DuckDB COPY ... PARTITION_BY)",
        "ids": f"case_id and child_id prefixed '<code>{ID_SEPARATOR}': no child is linked "
               "across councils",
        "package_version": __version__,
        "written_at": timestamp(),
    }
    write_json(record, out / POOL_JSON)
    return record


def _prepare_out(out: Path) -> None:
    """A new or empty folder, or an earlier pool whose council folders and record go."""
    if out.exists() and not out.is_dir():
        raise PoolError(f"{out}: exists and is not a folder. Give a new folder for the pool.")
    if out.is_dir() and any(out.iterdir()):
        if not (out / POOL_JSON).is_file():
            raise PoolError(f"{out}: not empty and not an earlier pool (no {POOL_JSON}). Give "
                            "a new or empty folder for the pool.")
        for part in out.glob("council=*"):
            if part.is_dir():
                shutil.rmtree(part)
        (out / POOL_JSON).unlink()
    out.mkdir(parents=True, exist_ok=True)


def read_pool(out: str | Path) -> dict[str, Any]:
    """The ``pool.json`` record of a pool folder."""
    p = Path(out) / POOL_JSON
    if not p.is_file():
        raise PoolError(f"{out}: no {POOL_JSON}: not a pool written by `sqa pool`")
    return json.loads(p.read_text("utf-8"))
