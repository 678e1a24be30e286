"""Ratings in: a subjects x raters table (numbers or strings; an empty cell is a rating not
given), a long table of (subject, rater, level) rows, or a subjects x categories table of
counts as Fleiss (1971) prints his data, turned into integer codes in the order of the
categories (``encode_ratings``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .results import AgreementError


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return v.strip() == ""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _clean_category(v: Any) -> Any:
    """Numbers as int when whole, else float; strings stripped."""
    if _is_number(v):
        f = float(v)
        return int(f) if f.is_integer() else f
    return str(v).strip() if isinstance(v, str) else v


def _as_array(ratings: Any) -> tuple[np.ndarray, list[str]]:
    """The ratings as a 2-D numpy array and the rater (column) labels."""
    if isinstance(ratings, pd.DataFrame):
        labels = [str(c) for c in ratings.columns]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in ratings.dtypes):
            arr = ratings.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = ratings.astype(object).to_numpy(dtype=object)
        return arr, labels
    try:
        arr = np.asarray(ratings)
    except ValueError as exc:
        raise AgreementError("ratings must be a rectangular table (one row per subject, one "
                             "column per rater); rows of different lengths were given") from exc
    if arr.ndim != 2:
        raise AgreementError(f"ratings must be a table with one row per subject and one column "
                             f"per rater; got an array with {arr.ndim} dimension(s)")
    if arr.dtype.kind not in "fiu":
        arr = np.asarray(ratings, dtype=object)
    return arr, [str(j) for j in range(arr.shape[1])]


def encode_ratings(ratings: Any, categories: Sequence[Any] | None = None
                   ) -> tuple[np.ndarray, list[Any], list[str]]:
    """Integer codes (0 .. q-1 in the order of ``categories``; -1 = not rated) for a subjects x
    raters table, with the category list and the rater labels.

    Without ``categories`` the observed values are used, sorted (numerically when all are
    numbers).  A value not in ``categories`` raises ``AgreementError`` naming its row and
    column.
    """
    arr, labels = _as_array(ratings)
    n, r = arr.shape
    if categories is not None:
        cats = [_clean_category(c) for c in categories]
        if len(set(map(repr, cats))) != len(cats):
            raise AgreementError(f"categories contain duplicates: {list(categories)!r}; list "
                                 "each level once, in order")
    else:
        cats = None
    if arr.dtype.kind in "fiu":
        vals = arr.astype(float)
        valid = ~np.isnan(vals)
        if cats is None:
            cats = [_clean_category(v) for v in np.unique(vals[valid])]
        if not cats:
            return np.full((n, r), -1, dtype=np.int64), cats, labels
        if all(_is_number(c) for c in cats):
            cat_vals = np.array([float(c) for c in cats])
            order = np.argsort(cat_vals, kind="stable")
            sv = cat_vals[order]
            pos = np.clip(np.searchsorted(sv, np.where(valid, vals, sv[0])), 0, sv.size - 1)
            ok = ~valid | (sv[pos] == vals)
            if not np.all(ok):
                i, j = map(int, np.argwhere(~ok)[0])
                raise AgreementError(_unknown_value_message(arr[i, j], i, labels[j], cats))
            return np.where(valid, order[pos], -1).astype(np.int64), cats, labels
        arr = arr.astype(object)
    # general path: objects (strings, numbers, None)
    flat = arr.ravel()
    missing = np.fromiter((_is_missing(v) for v in flat), dtype=bool, count=flat.size)
    numeric_cats = cats is not None and all(_is_number(c) for c in cats)
    string_cats = cats is not None and all(isinstance(c, str) for c in cats)

    def norm(v: Any) -> Any:
        if _is_number(v):
            # a number rated on a scale whose levels are written as text ("1", "2", ...)
            return ("s", str(_clean_category(v))) if string_cats else ("n", float(v))
        s = str(v).strip()
        if numeric_cats:
            try:
                return ("n", float(s))
            except ValueError:
                pass
        return ("s", s)

    keys = [None if m else norm(v) for v, m in zip(flat, missing, strict=True)]
    if cats is None:
        seen = {k: _clean_category(v) for k, v, m in zip(keys, flat, missing, strict=True)
                if not m}
        if all(k[0] == "n" for k in seen):
            cats = [seen[k] for k in sorted(seen, key=lambda k: k[1])]
        else:
            cats = [seen[k] for k in sorted(seen, key=lambda k: str(k[1]))]
    lookup = {norm(c): i for i, c in enumerate(cats)}
    codes = np.full(flat.size, -1, dtype=np.int64)
    for idx, k in enumerate(keys):
        if k is None:
            continue
        code = lookup.get(k)
        if code is None:
            i, j = divmod(idx, r)
            raise AgreementError(_unknown_value_message(flat[idx], i, labels[j], cats))
        codes[idx] = code
    return codes.reshape(n, r), cats, labels


def _unknown_value_message(value: Any, row: int, column: str, cats: Sequence[Any]) -> str:
    return (f"rating {value!r} (row {row + 1}, rater column {column!r}) is not one of the "
            f"categories {list(cats)!r}; correct the rating or add the level to categories")


def ratings_matrix_from_long(df: pd.DataFrame, subject: str = "subject_id",
                             rater: str = "rater_id", level: str = "level",
                             categories: Sequence[Any] | None = None) -> pd.DataFrame:
    """Subjects x raters matrix from a long table with one row per (subject, rater) rating.

    Rows and columns are sorted by subject and rater id; cells are the levels as given (NaN
    where a rater did not rate a subject).  A rater rating the same subject twice, or a level
    not in ``categories``, raises ``AgreementError`` naming the subject and rater.
    """
    missing_cols = [c for c in (subject, rater, level) if c not in df.columns]
    if missing_cols:
        raise AgreementError(f"the ratings table has no column(s) {missing_cols}; expected "
                             f"{subject!r}, {rater!r} and {level!r} (pass subject=, rater=, "
                             "level= to name yours)")
    d = df[[subject, rater, level]]
    d = d[~d[level].map(_is_missing)]
    dup = d.duplicated([subject, rater], keep=False)
    if dup.any():
        first = d[dup].iloc[0]
        raise AgreementError(f"rater {first[rater]!r} rated subject {first[subject]!r} more "
                             f"than once ({int(dup.sum())} duplicated rows); keep one rating per "
                             "rater and subject")
    if categories is not None:
        allowed = {repr(_clean_category(c)) for c in categories}
        bad = d[~d[level].map(lambda v: repr(_clean_category(v)) in allowed)]
        if len(bad):
            b = bad.iloc[0]
            raise AgreementError(f"level {b[level]!r} (subject {b[subject]!r}, rater "
                                 f"{b[rater]!r}) is not one of the categories "
                                 f"{list(categories)!r}")
    wide = d.pivot(index=subject, columns=rater, values=level)
    return wide.sort_index(axis=0).sort_index(axis=1)


def ratings_from_counts(counts: Any) -> np.ndarray:
    """A subjects x raters matrix (category positions 0..q-1, NaN padding) from a subjects x
    categories table of counts (how many raters chose each category), the form in which
    Fleiss (1971) and many textbooks print their data.  Rater identity is not needed by the
    Fleiss, Krippendorff or Gwet statistics, so the column a rating lands in is arbitrary."""
    c = np.asarray(counts)
    if c.ndim != 2 or (c.size and (np.any(c < 0) or np.any(c != np.round(c)))):
        raise AgreementError("counts must be a subjects x categories table of non-negative "
                             "whole numbers")
    c = c.astype(np.int64)
    width = int(c.sum(axis=1).max()) if c.size else 0
    out = np.full((c.shape[0], width), np.nan)
    for i, row in enumerate(c):
        vals = np.repeat(np.arange(c.shape[1]), row)
        out[i, : vals.size] = vals
    return out
