"""Statistical disclosure control for published tables of counts about children.

The rules follow the Department for Education's practice in its official statistics on
children (for example "Children in need" and "Children looked after in England":
counts from 1 to 5 are shown as ``c``) and the Government Statistical Service guidance
"Statistical disclosure control" (GSS / ONS), which asks that a suppressed cell cannot be
worked back from the totals published with it:

* **Primary suppression**: every count from ``threshold[0]`` to ``threshold[1]`` (default 1 to
  ``SUPPRESS_MAX`` = 5) becomes ``c``, totals included.  Zero is published as 0: it is only
  ever shown for a true zero, because suppressed cells are shown as ``c``, never as 0.
* **Secondary (complementary) suppression**: a row or column that contains one unknown cell
  would give it away by subtraction from its total, so every row and every column with a
  suppressed cell must contain at least two unknown cells (or its total is suppressed too).
  The complement chosen is the smallest publishable non-zero cell of that row or column (a
  suppressed zero protects little, so zeros are used only when nothing else is left; totals
  only after interior cells); ties go first to a cell whose crossing column or row already
  has a suppressed cell (fewer knock-on suppressions), then to the first in table order.  The
  rule is applied to rows, then columns, then the totals row and column, repeatedly until
  nothing changes, so a complement chosen for a row that leaves a column exposed leads to a
  further suppression in that column.
* A final **exact check** then solves the table's row and column equations as a linear
  system: any suppressed cell that is still determined by the published figures (which can
  happen through chains of rows and columns even when each line has two unknowns) gets a
  further complement, the smallest that makes it undetermined.

Totals: ``totals="auto"`` (default) treats a row and/or a column labelled "Total" (or "All",
"Totals", "Grand total", "All cases"; any case) as the table's totals; ``totals=True`` also
adds any missing total row and column (labelled "Total"); ``totals=False`` treats every row
and column as a category.  Whether shown or not, row and column totals are assumed to be
public (an audit report states how many cases it looked at), so suppression protects
against them; pass ``margins_public=False`` only for a table whose rows or columns are not
parts of a whole and whose totals are not published anywhere.

``recoverable_cells`` audits a suppressed table with the same exact check.

Symbols (DfE conventions): ``c`` confidential (suppressed), ``z`` not applicable (for
example a percentage of nothing), ``x`` not available (missing in the source).  Percentages
are published to one decimal place, and suppressed wherever their count or their
denominator is suppressed (``suppress_percentages``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["CONFIDENTIAL", "Cell", "JUDGEMENT_COUNTS_PUBLISHABLE", "NOT_APPLICABLE",
           "NOT_AVAILABLE", "SUPPRESS_MAX", "SUPPRESS_MIN", "SuppressedSeries", "SuppressedTable",
           "TOTAL_LABELS", "Totals", "audit_release", "is_publishable_judgement_count",
           "recoverable_cells", "suppress", "suppress_percentages", "suppress_series"]

#: Smallest and largest count suppressed by default (DfE: counts of 1 to 5 are shown as "c").
SUPPRESS_MIN = 1
SUPPRESS_MAX = 5
#: DfE symbols.
CONFIDENTIAL = "c"
NOT_APPLICABLE = "z"
NOT_AVAILABLE = "x"
#: Row or column labels read as totals by ``totals="auto"`` (compared case-insensitively).
TOTAL_LABELS = frozenset({"total", "totals", "all", "grand total", "all cases"})
#: Policy default for ``is_publishable_judgement_count``: counts of audit judgements about case
#: files ("4 of 6 cases met the standard") are published as they are.
JUDGEMENT_COUNTS_PUBLISHABLE = True

Totals = bool | Literal["auto"]
Cell = tuple[int, int]


@dataclass(frozen=True, eq=False)
class SuppressedTable:
    """A disclosure-controlled table.

    ``table`` is what may be published: an object-dtype DataFrame holding whole numbers for
    published counts, ``"c"`` for suppressed ones and ``"x"`` where the input was missing;
    added totals are included.  ``mask`` is True where a count is suppressed (primary or
    secondary) and ``primary`` where it was suppressed for being small.  ``total_rows`` and
    ``total_columns`` name the totals rows and columns.  Indexing the object with a column
    label returns that column of ``table``.
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    primary: pd.DataFrame
    total_rows: tuple[Hashable, ...] = ()
    total_columns: tuple[Hashable, ...] = ()

    @property
    def secondary(self) -> pd.DataFrame:
        """True where a count is suppressed only to protect another (complementary)."""
        return self.mask & ~self.primary

    @property
    def columns(self) -> pd.Index:
        """Columns of the publishable table (including an added total column)."""
        return self.table.columns

    @property
    def index(self) -> pd.Index:
        """Rows of the publishable table (including an added total row)."""
        return self.table.index

    def __getitem__(self, key: Any) -> Any:
        """A column of the publishable table, as ``DataFrame.__getitem__``."""
        return self.table[key]


@dataclass(frozen=True, eq=False)
class SuppressedSeries:
    """A disclosure-controlled single column: ``values`` (object dtype: whole numbers, ``"c"``
    or ``"x"``), ``mask`` (True where suppressed) and ``primary`` (True where small)."""

    values: pd.Series
    mask: pd.Series
    primary: pd.Series

    def __getitem__(self, key: Any) -> Any:
        """An entry of the publishable values, as ``Series.__getitem__``."""
        return self.values[key]


def _threshold(threshold: tuple[int, int] | int) -> tuple[int, int]:
    lo, hi = (SUPPRESS_MIN, threshold) if np.isscalar(threshold) else threshold
    lo, hi = int(lo), int(hi)
    if lo < 1 or hi < lo:
        raise ValueError(f"threshold must be (low, high) with 1 <= low <= high, got {threshold!r}")
    return lo, hi


def _is_total_label(label: Hashable) -> bool:
    parts = label if isinstance(label, tuple) else (label,)
    return any(isinstance(p, str) and p.strip().lower() in TOTAL_LABELS for p in parts)


def _find_total(labels: pd.Index, axis: str) -> int | None:
    hits = [i for i, lab in enumerate(labels) if _is_total_label(lab)]
    if len(hits) > 1:
        raise ValueError(f"more than one total {axis} found: {[labels[i] for i in hits]}")
    if hits and len(labels) == 1:
        return None  # a lone row or column is a category, not a total of nothing
    return hits[0] if hits else None


def _total_label(labels: pd.Index) -> Hashable:
    if isinstance(labels, pd.MultiIndex):
        return ("Total",) + ("",) * (labels.nlevels - 1)
    return "Total"


def _counts(table: pd.DataFrame) -> np.ndarray:
    try:
        v = table.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise ValueError("suppress needs a table of counts (numbers or missing)") from exc
    ok = np.isnan(v) | ((v >= 0) & (v == np.round(v)))
    if not ok.all():
        raise ValueError("counts must be non-negative whole numbers (or missing)")
    return v


def _equations(nr: int, nc: int, tr: int | None, tc: int | None,
               margins_public: bool) -> list[list[tuple[Cell, int]]]:
    """The additivity relations of the table, each a list of ((row, col), coefficient).

    Order: interior rows, interior columns, the totals row, the totals column.  A hidden
    total (not shown in the table) counts as a known constant when ``margins_public``; it is
    skipped for a line with a single cell, whose total would be the cell itself.
    """
    rows = [r for r in range(nr) if r != tr]
    cols = [c for c in range(nc) if c != tc]
    eqs: list[list[tuple[Cell, int]]] = []

    def line(cells: list[Cell], total: Cell | None) -> None:
        if total is not None:
            eqs.append([(cell, 1) for cell in cells] + [(total, -1)])
        elif margins_public and len(cells) >= 2:
            eqs.append([(cell, 1) for cell in cells])

    for r in rows:
        line([(r, c) for c in cols], (r, tc) if tc is not None else None)
    for c in cols:
        line([(r, c) for r in rows], (tr, c) if tr is not None else None)
    if tr is not None:
        line([(tr, c) for c in cols], (tr, tc) if tc is not None else None)
    if tc is not None:
        line([(r, tc) for r in rows], (tr, tc) if tr is not None else None)
    return eqs


def _determined(eqs: list[list[tuple[Cell, int]]], unknown: np.ndarray) -> set[Cell]:
    """Unknown cells whose value follows exactly from the equations and the known cells:
    the unit vector of the cell lies in the row space of the equations restricted to the
    unknown cells."""
    cells = [tuple(int(i) for i in rc) for rc in np.argwhere(unknown)]
    if not cells or not eqs:
        return set()
    pos = {cell: j for j, cell in enumerate(cells)}
    a = np.zeros((len(eqs), len(cells)))
    for i, eq in enumerate(eqs):
        for cell, coef in eq:
            if cell in pos:
                a[i, pos[cell]] = coef
    rank = np.linalg.matrix_rank(a)
    out = set()
    for cell, j in pos.items():
        e = np.zeros((1, len(cells)))
        e[0, j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.add(cell)
    return out


def suppress(table: pd.DataFrame, threshold: tuple[int, int] | int = (SUPPRESS_MIN, SUPPRESS_MAX),
             totals: Totals = "auto", secondary: bool = True, *,
             margins_public: bool = True) -> SuppressedTable:
    """Primary and secondary suppression of a table of counts about children.

    Method: DfE practice in its children's social care statistics (counts of 1 to 5 shown
    as ``c``) and the complementary suppression of GSS, "Statistical disclosure control"
    guidance (Government Statistical Service / ONS); see the module docstring for the rules,
    the order in which complements are chosen and how ties are broken.

    Parameters
    ----------
    table
        Non-negative whole-number counts; missing values are published as ``x`` and, being
        unknown to a reader, count as unknown cells.
    threshold
        ``(low, high)``: counts from ``low`` to ``high`` inclusive are suppressed.  A single
        number means ``(1, number)``.
    totals
        ``"auto"``: rows/columns labelled as totals (``TOTAL_LABELS``) are the totals;
        ``True``: as "auto", and a missing total row or column is added; ``False``: no totals.
        Totals take part in suppression like any other cell (a total of 1 to 5 is ``c``).
    secondary
        Apply secondary suppression (default).  ``False`` gives primary suppression only.
    margins_public
        Treat row and column totals as public even when the table does not show them.

    Returns
    -------
    SuppressedTable
        The publishable table with the suppression masks (see ``SuppressedTable``).
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError("suppress takes a DataFrame; use suppress_series for one column")
    if totals not in (True, False, "auto"):
        raise ValueError(f"totals must be True, False or 'auto', got {totals!r}")
    lo, hi = _threshold(threshold)
    df = table.copy()
    tr = _find_total(df.index, "row") if totals is not False else None
    tc = _find_total(df.columns, "column") if totals is not False else None
    if totals is True:
        if tc is None and df.shape[1] >= 2:
            df[_total_label(df.columns)] = df.sum(axis=1, skipna=False)
            tc = df.shape[1] - 1
        if tr is None and df.shape[0] >= 2:
            df.loc[_total_label(df.index)] = df.sum(axis=0, skipna=False)
            tr = df.shape[0] - 1
    v = _counts(df)
    nr, nc = v.shape
    missing = np.isnan(v)
    primary = ~missing & (v >= lo) & (v <= hi)
    suppressed = primary.copy()
    if secondary:
        eqs = _equations(nr, nc, tr, tc, margins_public)
        _secondary(v, suppressed, missing, eqs, tr, tc)

    out = pd.DataFrame(index=df.index, columns=df.columns, dtype=object)
    for r in range(nr):
        for c in range(nc):
            if missing[r, c]:
                out.iat[r, c] = NOT_AVAILABLE
            elif suppressed[r, c]:
                out.iat[r, c] = CONFIDENTIAL
            else:
                out.iat[r, c] = int(v[r, c])
    mask = pd.DataFrame(suppressed, index=df.index, columns=df.columns)
    prim = pd.DataFrame(primary, index=df.index, columns=df.columns)
    return SuppressedTable(out, mask, prim,
                           total_rows=() if tr is None else (df.index[tr],),
                           total_columns=() if tc is None else (df.columns[tc],))


def _secondary(v: np.ndarray, suppressed: np.ndarray, missing: np.ndarray,
               eqs: list[list[tuple[Cell, int]]], tr: int | None, tc: int | None) -> None:
    """Add complementary suppressions to ``suppressed`` in place (see module docstring)."""
    lines_of: dict[Cell, list[int]] = {}
    for i, eq in enumerate(eqs):
        for cell, _ in eq:
            lines_of.setdefault(cell, []).append(i)

    def unknown(cell: Cell) -> bool:
        return bool(suppressed[cell] or missing[cell])

    def key(cell: Cell, line: int | None) -> tuple:
        r, c = cell
        crossing = [i for i in lines_of.get(cell, []) if i != line]
        covered = any(unknown(o) for i in crossing for o, _ in eqs[i] if o != cell)
        return (v[cell] == 0, r == tr or c == tc, v[cell], not covered, r, c)

    def pass_lines() -> bool:
        changed = False
        for i, eq in enumerate(eqs):
            cells = [cell for cell, _ in eq]
            if sum(unknown(cell) for cell in cells) != 1 or not any(
                    suppressed[cell] for cell in cells):
                continue
            candidates = [cell for cell in cells if not unknown(cell)]
            if candidates:
                suppressed[min(candidates, key=lambda cell: key(cell, i))] = True
                changed = True
        return changed

    for _ in range(v.size + 1):
        while pass_lines():
            pass
        exposed = sorted(_determined(eqs, suppressed | missing) & {
            tuple(int(i) for i in rc) for rc in np.argwhere(suppressed)})
        if not exposed:
            return
        target = exposed[0]
        candidates = sorted((tuple(int(i) for i in rc) for rc in np.argwhere(
            ~suppressed & ~missing)), key=lambda cell: key(cell, None))
        for cell in candidates:
            suppressed[cell] = True
            if target not in _determined(eqs, suppressed | missing):
                break
            suppressed[cell] = False
        else:  # pragma: no cover - cannot happen while some cell is publishable
            suppressed[~missing] = True
            return
    suppressed[~missing] = True  # pragma: no cover - safety net; the loop always converges


def suppress_series(series: pd.Series, threshold: tuple[int, int] | int = (SUPPRESS_MIN,
                    SUPPRESS_MAX), total: Totals = "auto", secondary: bool = True, *,
                    margins_public: bool = True) -> SuppressedSeries:
    """Suppress a single column of counts that has (or is given) a total.

    Same rules as ``suppress`` (DfE 1-to-5 rule; GSS complementary suppression) applied to a
    one-column table: ``total="auto"`` finds a row labelled as a total, ``True`` adds one
    ("Total"), ``False`` has none (with ``margins_public`` the total is still assumed to be
    known).  One suppressed count forces a second (the smallest other non-zero count), or the
    total itself when nothing else is left.
    """
    name = series.name if series.name is not None else "count"
    res = suppress(series.to_frame(name=name), threshold=threshold, totals=total,
                   secondary=secondary, margins_public=margins_public)
    col = res.table.columns[0]
    return SuppressedSeries(res.table[col].rename(series.name), res.mask[col].rename(series.name),
                            res.primary[col].rename(series.name))


def _format_percent(value: float, decimals: int) -> str:
    q = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP))


def suppress_percentages(pct_table: pd.DataFrame | pd.Series,
                         count_mask: pd.DataFrame | pd.Series | SuppressedTable | SuppressedSeries,
                         decimals: int = 1,
                         denominator_mask: pd.Series | pd.DataFrame | None = None,
                         na_symbol: str = NOT_APPLICABLE) -> pd.DataFrame | pd.Series:
    """Percentages for publication: one decimal place, suppressed with their counts.

    Method: DfE publication convention (percentages to one decimal place; a percentage of a
    suppressed count is itself suppressed, ``c``, since count and percentage together give the
    count back; GSS "Statistical disclosure control" guidance).

    ``pct_table`` holds percentages (0-100) computed from the *unsuppressed* counts.
    ``count_mask`` is the suppression mask of the counts each percentage was computed from
    (or the ``SuppressedTable``/``SuppressedSeries`` itself), aligned by labels.
    ``denominator_mask`` marks suppressed denominators: a Series aligned with the rows (row
    percentages: every percentage in a row whose total is suppressed becomes ``c``) or a
    DataFrame aligned cell by cell.  Missing percentages (for example of a zero denominator)
    are shown as ``na_symbol`` (default ``z``, not applicable).  Rounding is half up.
    """
    if isinstance(count_mask, SuppressedTable | SuppressedSeries):
        count_mask = count_mask.mask
    frame = isinstance(pct_table, pd.DataFrame)
    pct = pct_table if frame else pct_table.to_frame()
    mask = count_mask if isinstance(count_mask, pd.DataFrame) else count_mask.to_frame()
    if not frame:
        mask.columns = pct.columns
    try:
        mask = mask.loc[pct.index, pct.columns].astype(bool)
    except KeyError as exc:
        raise ValueError("count_mask must cover every row and column of pct_table") from exc
    hide = mask.to_numpy().copy()
    if denominator_mask is not None:
        if isinstance(denominator_mask, pd.DataFrame):
            hide |= denominator_mask.loc[pct.index, pct.columns].astype(bool).to_numpy()
        else:
            hide |= denominator_mask.loc[pct.index].astype(bool).to_numpy()[:, None]
    values = pct.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = pd.DataFrame(index=pct.index, columns=pct.columns, dtype=object)
    for r in range(values.shape[0]):
        for c in range(values.shape[1]):
            if hide[r, c]:
                out.iat[r, c] = CONFIDENTIAL
            elif np.isnan(values[r, c]):
                out.iat[r, c] = na_symbol
            else:
                out.iat[r, c] = _format_percent(values[r, c], decimals)
    return out if frame else out.iloc[:, 0].rename(pct_table.name)


def is_publishable_judgement_count(successes: int, n: int, allow_small_counts: bool | None = None,
                                   threshold: tuple[int, int] | int = (SUPPRESS_MIN,
                                                                       SUPPRESS_MAX)) -> bool:
    """Policy helper: may "``successes`` of ``n`` cases met the standard" be published?

    Counts of audit *judgements* about case files describe the quality of practice in the
    files an audit looked at, not how many children have a characteristic, so by default
    (``JUDGEMENT_COUNTS_PUBLISHABLE = True``, or ``allow_small_counts=True``) they are
    publishable whatever their size.  With ``allow_small_counts=False`` the DfE rule for
    counts of children applies (DfE children in need statistics; GSS "Statistical disclosure
    control"): the count is publishable only if neither the number meeting the standard, the
    number not meeting it, nor the number audited is from ``threshold[0]`` to ``threshold[1]``
    (default 1 to 5).  Zero is never small.
    """
    if isinstance(successes, bool) or isinstance(n, bool) or int(successes) != successes \
            or int(n) != n or not 0 <= successes <= n:
        raise ValueError(f"need whole numbers with 0 <= successes <= n, got {successes}, {n}")
    allow = JUDGEMENT_COUNTS_PUBLISHABLE if allow_small_counts is None else allow_small_counts
    if allow:
        return True
    lo, hi = _threshold(threshold)
    return not any(lo <= k <= hi for k in (int(successes), int(n) - int(successes), int(n)))


def recoverable_cells(result: SuppressedTable, margins_public: bool = True) -> list[Sequence]:
    """Labels ``(row, column)`` of suppressed cells that a reader could work out exactly.

    Audit of a ``SuppressedTable`` against the GSS "Statistical disclosure control" guidance
    requirement that suppressed cells cannot be derived from published totals: the same
    linear-algebra check as ``suppress`` (a cell is recoverable when its value follows from
    the published cells and the shown or public row and column totals by any combination of
    additions and subtractions; bounds from non-negativity are not considered).  Empty for a
    safely suppressed table.
    """
    tab = result.table
    tr = tab.index.get_loc(result.total_rows[0]) if result.total_rows else None
    tc = tab.columns.get_loc(result.total_columns[0]) if result.total_columns else None
    eqs = _equations(tab.shape[0], tab.shape[1], tr, tc, margins_public)
    missing = (tab == NOT_AVAILABLE).to_numpy()
    suppressed = result.mask.to_numpy()
    found = _determined(eqs, suppressed | missing)
    return [(tab.index[r], tab.columns[c]) for r, c in sorted(found) if suppressed[r, c]]


def audit_release(ledgers: Sequence[Any]) -> list[str]:
    """Every suppressed count of a release that its published figures pin down exactly.

    The attacker's problem, as tau-Argus and sdcTable audit a suppression pattern (Hundepool
    et al. (2012) *Statistical Disclosure Control*, Wiley, s. 4.3): the unknowns are every
    cell of every recorded table (``analysis.reporting.Ledger``); the constraints are every
    published cell, every published row, column and grand total, every published sum of cells
    stated elsewhere in the release (a sentence's "4 of 27") and every known identity between
    tables (a breakdown adds up to the count it breaks down), with every count non-negative.
    For each suppressed cell, total and stated count of 1 to 5 (a larger count hidden only to
    protect others needs no protection of its own), the smallest and largest values
    consistent with all of them are found by linear programming (``scipy.optimize.linprog``,
    HiGHS); one whose interval holds a single whole number is recoverable. Returns one line
    per recoverable count, naming the table and the cell, never the value.
    """
    from scipy.optimize import linprog

    var: dict[tuple[str, str, str], int] = {}
    eq_rows: list[dict[int, float]] = []
    eq_rhs: list[float] = []
    targets: list[tuple[str, dict[int, float]]] = []

    def small(rec: dict[str, Any], threshold: Sequence[int]) -> bool:
        return int(threshold[0]) <= int(rec["value"]) <= int(threshold[1])

    for led in ledgers:
        for tname, t in led.tables.items():
            for key in t["cells"]:
                r, c = key.split("\x1f")
                var[(tname, r, c)] = len(var)
    for led in ledgers:
        for tname, t in led.tables.items():
            thr = t.get("threshold", (SUPPRESS_MIN, SUPPRESS_MAX))
            for key, cell in t["cells"].items():
                r, c = key.split("\x1f")
                j = var[(tname, r, c)]
                if cell["shown"]:
                    eq_rows.append({j: 1.0})
                    eq_rhs.append(float(cell["value"]))
                elif small(cell, thr):
                    # a count of 1 to 5; a larger count hidden only to protect others needs no
                    # protection of its own (working it out reveals nothing small, and any
                    # small count it would lead to is a target itself)
                    targets.append((f"{tname}: the suppressed count in row {r!r}, column {c!r}",
                                    {j: 1.0}))
            m = t["margins"]
            lines = ([(f"row {r!r}", m["rows"][r], [(r, c) for c in t["columns"]])
                      for r in t["rows"]]
                     + [(f"column {c!r}", m["columns"][c], [(r, c) for r in t["rows"]])
                        for c in t["columns"]]
                     + [("grand total", m["total"], [(r, c) for r in t["rows"]
                                                      for c in t["columns"]])])
            for label, tot, cells in lines:
                coef = {var[(tname, r, c)]: 1.0 for r, c in cells}
                if tot["shown"]:
                    eq_rows.append(coef)
                    eq_rhs.append(float(tot["value"]))
                elif small(tot, thr):
                    targets.append((f"{tname}: the suppressed total of {label}", coef))
        for s in led.sums:
            coef: dict[int, float] = {}
            for t, r, c in s["parts"]:
                j = var.get((t, r, c))
                if j is not None:
                    coef[j] = coef.get(j, 0.0) + 1.0
            if not coef:
                continue
            if s.get("shown"):
                eq_rows.append(coef)
                eq_rhs.append(float(s["value"]))
            elif small(s, (SUPPRESS_MIN, SUPPRESS_MAX)):
                # a stated count of 1 to 5 shown as c; a larger one hidden only to protect
                # other cells needs no protection of its own
                targets.append((f"{s['name']}: the count shown as c", coef))
        for link in getattr(led, "links", []):
            cells_of = [*link["parts"], *link["equals"]]
            if any(tuple(x) not in var for x in cells_of):
                continue  # the other page's table is not in this audit: nothing to equate
            coef = {}
            for sign, cells in ((1.0, link["parts"]), (-1.0, link["equals"])):
                for t, r, c in cells:
                    j = var[(t, r, c)]
                    coef[j] = coef.get(j, 0.0) + sign
            if coef:
                eq_rows.append(coef)
                eq_rhs.append(0.0)
    if not targets:
        return []
    n = len(var)
    a = np.zeros((len(eq_rows), n))
    for i, row in enumerate(eq_rows):
        for j, v in row.items():
            a[i, j] = v
    b = np.asarray(eq_rhs)
    feasible = linprog(np.zeros(n), A_eq=a if len(b) else None, b_eq=b if len(b) else None,
                       bounds=[(0, None)] * n, method="highs")
    if feasible.status != 0:
        # The published figures contradict each other (a wrong identity between tables, or a
        # count published differently in two places): nothing about them can be trusted.
        return ["the release's disclosure ledgers are inconsistent (the same count is recorded "
                "with different values): the audit cannot be run"]
    problems = []
    for label, coef in targets:
        obj = np.zeros(n)
        for j, v in coef.items():
            obj[j] = v
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(sign * obj, A_eq=a if len(b) else None, b_eq=b if len(b) else None,
                          bounds=[(0, None)] * n, method="highs")
            ends.append(sign * res.fun if res.status == 0 else (np.inf if sign < 0 else 0.0))
        low, high = ends
        if np.floor(high + 1e-7) <= np.ceil(low - 1e-7):
            problems.append(f"{label} can be worked out from the published figures")
    return problems
