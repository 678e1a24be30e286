"""Privacy at the door: keyed pseudonyms and age bands.

* Identifiers are replaced by a keyed HMAC-SHA256 pseudonym (RFC 2104; NIST SP 800-107 on
  truncated HMAC).  Without the key a pseudonym cannot be reversed or recomputed from a
  guessed id (unlike a plain hash of a short id, which is trivially brute-forced: ICO,
  "Anonymisation, pseudonymisation and privacy enhancing technologies guidance", 2022).
  The same key gives the same pseudonym, so tables ingested separately still join.
* Pseudonymisation is idempotent: a value that already has the pseudonym form
  (``cs_`` + 16 hex digits) is kept, so an auditor workbook made from a pseudonymised sample
  reads back unchanged.
* A date of birth is reduced to a DfE age band at the date of contact, then dropped.

The key comes from ``SQA_PSEUDONYM_KEY`` (the key itself) or ``SQA_PSEUDONYM_KEY_FILE`` (a
file outside the repository).  Demo data uses ``DEMO_KEY``, which is public and marked as
such: never use it for real data.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# numpy and pandas are imported by the functions that use them, so that ``load_key`` and
# ``key_fingerprint`` cost nothing: a no-change ``sqa run`` fingerprints the key to check its
# cache without importing pandas (half a second).

__all__ = ["DEMO_KEY", "KEY_ENV", "KEY_FILE_ENV", "KeyError_", "POOLED_RE", "PREFIX",
           "PSEUDONYM_RE", "age_band", "age_bands", "age_in_years", "key_fingerprint", "load_key",
           "normalise_id", "pseudonymise", "pseudonymise_series", "today"]

DEMO_KEY = b"DEMO-KEY-public-not-secret-for-synthetic-data-only"
KEY_ENV = "SQA_PSEUDONYM_KEY"
KEY_FILE_ENV = "SQA_PSEUDONYM_KEY_FILE"

PREFIX = {"case": "cs", "child": "ch", "subject": "sj"}
PSEUDONYM_RE = re.compile(r"^[a-z]{2}_[0-9a-f]{16}$")
#: A pseudonym as a regional pool holds it: prefixed by its council's code
#: (``analysis.pool``: ``E09000012:cs_0123456789abcdef``), or bare.
POOLED_RE = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_-]{0,31}:)?[a-z]{2}_[0-9a-f]{16}$")


class KeyError_(Exception):
    """No usable pseudonymisation key (a user's set-up problem, reported without traceback)."""


def load_key(demo: bool = False, repo_root: Path | None = None) -> bytes:
    """Return the pseudonymisation key.

    Order: ``demo=True`` gives the public demo key; else ``SQA_PSEUDONYM_KEY``; else the file
    named by ``SQA_PSEUDONYM_KEY_FILE``, which must lie outside the repository.
    """
    if demo:
        return DEMO_KEY
    value = os.environ.get(KEY_ENV)
    if value:
        if len(value) < 16:
            raise KeyError_(f"{KEY_ENV} is set but shorter than 16 characters; use a long random "
                            "key, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`")
        if value.encode("utf-8") == DEMO_KEY:
            raise KeyError_(f"{KEY_ENV} holds the public demo key, which anyone can use to "
                            "work out pseudonyms: real data needs a secret key of its own, e.g. "
                            "`python -c 'import secrets; print(secrets.token_hex(32))'` (the "
                            "demo key is for demo rounds and --demo-key only)")
        return value.encode("utf-8")
    path = os.environ.get(KEY_FILE_ENV)
    if path:
        p = Path(path).expanduser().resolve()
        if not p.is_file():
            raise KeyError_(f"{KEY_FILE_ENV} points to {p}, which does not exist")
        root = (repo_root or Path.cwd()).resolve()
        if (root / ".git").exists() and root in p.parents:
            raise KeyError_(f"the key file {p} is inside the repository {root}; move it outside "
                            "so that it can never be committed")
        key = p.read_bytes().strip()
        if len(key) < 16:
            raise KeyError_(f"the key file {p} holds fewer than 16 bytes; use a long random key")
        if key == DEMO_KEY:
            raise KeyError_(f"the key file {p} holds the public demo key, which anyone can use "
                            "to work out pseudonyms: real data needs a secret key of its own")
        return key
    raise KeyError_(
        "no pseudonymisation key: set SQA_PSEUDONYM_KEY, or SQA_PSEUDONYM_KEY_FILE to a file "
        "outside the repository, or pass --demo-key for synthetic demo data only"
    )


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible fingerprint of the key: recorded in each ingest log and part of
    the ingest step's cache key, so that a new key re-pseudonymises the tables.

    SHA-256 of a fixed label and the key, truncated to 12 hex digits (48 bits): enough to tell
    two keys apart, and it cannot be turned back into the key.  It could confirm a guessed
    key, which is why the key must be a long random secret (``load_key`` refuses short ones).
    The key itself is never written anywhere, nor any longer digest of it.
    """
    return hashlib.sha256(b"sqa-key-fingerprint:" + key).hexdigest()[:12]


def normalise_id(raw: object) -> str | None:
    """Canonical text of a raw identifier: trimmed, inner spaces removed, upper case.

    Leading zeros are kept (ids must be read as text); Excel's float artefact ``123.0`` is
    turned back into ``123``.
    """
    import pandas as pd

    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = re.sub(r"\s+", "", str(raw)).upper()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def pseudonymise(raw: object, key: bytes, kind: str = "case") -> str | None:
    """Keyed HMAC-SHA256 pseudonym of one identifier (``cs_`` + 16 hex digits for a case)."""
    if isinstance(raw, str) and PSEUDONYM_RE.match(raw.strip()):
        return raw.strip()
    text = normalise_id(raw)
    if text is None:
        return None
    prefix = PREFIX[kind]
    digest = hmac.new(key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}_{digest[:16]}"


def pseudonymise_series(values: pd.Series, key: bytes, kind: str = "case") -> pd.Series:
    """Pseudonymise a column (distinct values hashed once)."""
    import pandas as pd

    uniques = pd.unique(values.astype("object"))
    mapping = {u: pseudonymise(u, key, kind) for u in uniques}
    return values.astype("object").map(mapping).astype("string")


def age_band(age_years: float | None) -> str | None:
    """DfE children in need census age band for an age in completed years (<0 = unborn)."""
    import pandas as pd

    if age_years is None or pd.isna(age_years):
        return None
    a = float(age_years)
    if a < 0:
        return "unborn"
    if a < 1:
        return "under_1"
    if a < 5:
        return "1_to_4"
    if a < 10:
        return "5_to_9"
    if a < 16:
        return "10_to_15"
    return "16_and_over"


def age_in_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Completed years between date of birth and a reference date (negative if unborn)."""
    import pandas as pd

    dob = pd.to_datetime(dob)
    on = pd.to_datetime(on)
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day))
    years = years - before_birthday.astype("Int64")
    unborn = dob > on
    return years.where(~unborn, -1)


def age_bands(dob: pd.Series | None, on: pd.Series, age_years: pd.Series | None = None
              ) -> pd.Series:
    """Age band per row from date of birth (preferred) or age in years."""
    import numpy as np
    import pandas as pd

    idx = on.index
    years = pd.Series(np.nan, index=idx, dtype="float64")
    if dob is not None:
        years = age_in_years(dob, on).astype("Float64").astype("float64")
    if age_years is not None:
        years = years.fillna(pd.to_numeric(age_years, errors="coerce").astype("float64"))
    return years.map(age_band).astype("string")


def today() -> date:
    """Today's date (a seam for tests)."""
    return date.today()
