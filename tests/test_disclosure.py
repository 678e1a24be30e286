"""Tests of analysis.disclosure: DfE-style suppression of tables of counts about children.

Rules checked: counts of 1 to 5 are shown as "c" (DfE children in need / children looked
after statistics); secondary suppression so that no suppressed count can be worked back from
the row and column totals (Government Statistical Service, "Statistical disclosure control"
guidance); true zeros published as 0; percentages suppressed with their counts, one decimal
place; DfE symbols c, z, x.  Every suppressed table is checked with an attacker written here,
independently of the module, who repeatedly subtracts the known cells of a row or column from
its total.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis import disclosure
from analysis.disclosure import (
    SUPPRESS_MAX,
    SuppressedTable,
    is_publishable_judgement_count,
    recoverable_cells,
    suppress,
    suppress_percentages,
    suppress_series,
)

# --------------------------------------------------------------------------------------
# An independent attacker
# --------------------------------------------------------------------------------------


def attack_by_subtraction(published: pd.DataFrame, truth: pd.DataFrame,
                          total_row: object | None, total_col: object | None
                          ) -> dict[tuple[object, object], float]:
    """Cells a reader recovers by subtracting known cells from row and column totals.

    ``published`` holds numbers and "c"; ``truth`` holds every true count, including the
    totals.  Totals that the table does not show are taken as known to the reader (an audit
    states how many cases it looked at), except for a line with a single cell.  The attack
    repeats until it recovers nothing more, so recovered cells are used in later steps.
    Returns {cell: recovered value}."""
    rows = [r for r in published.index if r != total_row]
    cols = [c for c in published.columns if c != total_col]
    known: dict[tuple[object, object], float] = {
        (r, c): float(published.loc[r, c]) for r in published.index for c in published.columns
        if published.loc[r, c] != "c"}
    lines = []  # (parts, total cell or None, total value)
    for r in rows:
        parts = [(r, c) for c in cols]
        if total_col is not None:
            lines.append((parts, (r, total_col)))
        elif len(parts) > 1:
            lines.append((parts, None, float(truth.loc[r, cols].sum())))
    for c in cols:
        parts = [(r, c) for r in rows]
        if total_row is not None:
            lines.append((parts, (total_row, c)))
        elif len(parts) > 1:
            lines.append((parts, None, float(truth.loc[rows, c].sum())))
    if total_row is not None:
        parts = [(total_row, c) for c in cols]
        lines.append((parts, (total_row, total_col)) if total_col is not None
                     else (parts, None, float(truth.loc[rows, cols].to_numpy().sum())))
    if total_col is not None:
        parts = [(r, total_col) for r in rows]
        lines.append((parts, (total_row, total_col)) if total_row is not None
                     else (parts, None, float(truth.loc[rows, cols].to_numpy().sum())))
    recovered: dict[tuple[object, object], float] = {}
    progress = True
    while progress:
        progress = False
        for line in lines:
            parts, total_cell = line[0], line[1]
            cells = parts + ([total_cell] if total_cell is not None else [])
            unknown = [cell for cell in cells if cell not in known]
            if len(unknown) != 1:
                continue
            cell = unknown[0]
            total = known[total_cell] if total_cell is not None else line[2]
            if cell == total_cell:
                value = sum(known[p] for p in parts)
            else:
                value = total - sum(known[p] for p in parts if p != cell)
            known[cell] = recovered[cell] = value
            progress = True
    for (r, c), value in recovered.items():  # the attacker is right: a real disclosure
        assert value == truth.loc[r, c]
    return recovered


def with_totals(counts: pd.DataFrame) -> pd.DataFrame:
    out = counts.copy()
    out["Total"] = out.sum(axis=1)
    out.loc["Total"] = out.sum(axis=0)
    return out


def table(rows: dict[str, list[int]], columns: str = "XYZ") -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(columns))


def published(res: SuppressedTable) -> list[list[object]]:
    return res.table.to_numpy().tolist()


# --------------------------------------------------------------------------------------
# Primary suppression
# --------------------------------------------------------------------------------------


def test_default_upper_bound_is_five() -> None:
    assert SUPPRESS_MAX == 5
    assert disclosure.CONFIDENTIAL == "c"
    assert disclosure.NOT_APPLICABLE == "z"
    assert disclosure.NOT_AVAILABLE == "x"


def test_counts_from_one_to_five_become_c_and_true_zeros_stay_zero() -> None:
    """DfE rule: 1-5 shown as c; 0 is published as 0; 6 and above as they are."""
    counts = pd.DataFrame({"n": list(range(8))}, index=[f"g{i}" for i in range(8)])
    res = suppress(counts, secondary=False)
    assert res["n"].tolist() == [0, "c", "c", "c", "c", "c", 6, 7]
    assert res.primary["n"].tolist() == [False] + [True] * 5 + [False, False]
    assert res.table.dtypes.eq(object).all()


def test_threshold_is_configurable() -> None:
    counts = pd.DataFrame({"n": [2, 3, 7, 9, 10]}, index=list("abcde"))
    assert suppress(counts, threshold=(1, 9), secondary=False)["n"].tolist() == \
        ["c", "c", "c", "c", 10]
    assert suppress(counts, threshold=2, secondary=False)["n"].tolist() == ["c", 3, 7, 9, 10]


def test_missing_counts_are_shown_as_x() -> None:
    counts = table({"A": [10, np.nan, 20], "B": [30, 40, 50]})
    res = suppress(counts)
    assert res.table.loc["A", "Y"] == "x"
    assert not res.mask.loc["A", "Y"]


def test_invalid_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        suppress(table({"A": [1, -2, 30]}))
    with pytest.raises(ValueError):
        suppress(table({"A": [1, 2.5, 30]}))
    with pytest.raises(ValueError):
        suppress(pd.DataFrame({"X": ["a", "b"]}))


# --------------------------------------------------------------------------------------
# Secondary suppression
# --------------------------------------------------------------------------------------


def test_secondary_suppression_in_a_row_forces_a_further_column_suppression() -> None:
    """Hand-worked (GSS complementary suppression, smallest cell first):
    A-X = 3 is primary.  Row A needs a second unknown: its smallest other cell, A-Y = 20.
    Column X needs a second: the smaller of 15 and 18, B-X = 15.  The row complement A-Y has
    left column Y with one unknown, so column Y needs one: B-Y = 25 (smaller than 40).  Row B
    now has two.  Result: the rectangle A, B x X, Y; totals all published."""
    counts = table({"A": [3, 20, 30], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts, totals=True)
    assert published(res) == [["c", "c", 30, 53],
                              ["c", "c", 35, 75],
                              [18, 40, 45, 103],
                              [36, 85, 110, 231]]
    assert res.primary.to_numpy().sum() == 1 and res.primary.loc["A", "X"]
    assert res.secondary.loc["A", "Y"] and res.secondary.loc["B", "X"]
    assert res.secondary.loc["B", "Y"]
    assert res.total_rows == ("Total",) and res.total_columns == ("Total",)
    assert attack_by_subtraction(res.table, with_totals(counts), "Total", "Total") == {}
    assert recoverable_cells(res) == []


def test_without_secondary_suppression_the_attacker_recovers_the_small_count() -> None:
    """The attacker works: with primary suppression only, A-X = 53 - 20 - 30 = 3."""
    counts = table({"A": [3, 20, 30], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts, totals=True, secondary=False)
    assert attack_by_subtraction(res.table, with_totals(counts), "Total", "Total") == \
        {("A", "X"): 3}
    assert recoverable_cells(res) == [("A", "X")]


def test_secondary_suppression_in_a_column() -> None:
    """Column Z has one small count (C-Z = 4) whose row already has another primary (C-X = 2):
    the row is safe, but columns X and Z each need a second unknown - their smallest other
    cells, A-X = 12 and B-Z = 13 - which then need partners in rows A and B (A-Y = 14 and
    B-Y = 16: the smallest in each row; column Y then has two)."""
    counts = table({"A": [12, 14, 50], "B": [30, 16, 13], "C": [2, 20, 4]})
    res = suppress(counts, totals=True)
    assert published(res) == [["c", "c", 50, 76],
                              [30, "c", "c", 59],
                              ["c", 20, "c", 26],
                              [44, 50, 67, 161]]
    assert attack_by_subtraction(res.table, with_totals(counts), "Total", "Total") == {}


def test_small_totals_are_suppressed_and_protected_like_any_cell() -> None:
    """Row A is 2, 1, 0 with total 3: the 2, 1 and the total 3 are primary; the 0 stays.
    The Total column then has one unknown, so the next smallest row total (B, 75) is
    suppressed; row B then needs a second unknown (B-X = 15, its smallest cell) and column Y,
    with A-Y alone, takes B-Y = 25 (in a row that already has a suppression)."""
    counts = table({"A": [2, 1, 0], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts, totals=True)
    assert published(res) == [["c", "c", 0, "c"],
                              ["c", "c", 35, "c"],
                              [18, 40, 45, 103],
                              [35, 66, 80, 181]]
    assert res.primary.loc["A", "Total"]
    assert attack_by_subtraction(res.table, with_totals(counts), "Total", "Total") == {}


def test_zeros_are_not_used_as_complements_while_another_cell_is_available() -> None:
    """Row A is 3, 0, 20, 30: the complement is 20, not the 0 (a suppressed zero protects
    little); the 0 is published as 0."""
    counts = table({"A": [3, 0, 20, 30], "B": [14, 0, 22, 31], "C": [16, 0, 24, 33]},
                   columns="WXYZ")
    res = suppress(counts, totals=True)
    assert res.table.loc["A", "X"] == 0 and res.table.loc["B", "X"] == 0
    assert res.table.loc["A", "Y"] == "c"
    assert not res.mask["X"].any()
    assert attack_by_subtraction(res.table, with_totals(counts), "Total", "Total") == {}


def test_ties_are_broken_deterministically_first_in_table_order() -> None:
    """A-X = 2 is primary; row A's smallest others are A-Y = A-Z = 10.  Neither column has a
    suppression yet, so the first in table order (A-Y) is taken.  Column X then takes B-X = 10;
    column Y has B-Y = C-Y = 30 tied, and B-Y wins because row B already has a suppression."""
    counts = table({"A": [2, 10, 10], "B": [10, 30, 40], "C": [20, 30, 60]})
    first = suppress(counts, totals=True)
    assert published(first)[:3] == [["c", "c", 10, 22],
                                    ["c", "c", 40, 80],
                                    [20, 30, 60, 110]]
    for _ in range(3):
        assert suppress(counts, totals=True).table.equals(first.table)


def test_tables_without_shown_totals_are_protected_against_the_public_margins() -> None:
    """totals=False: no total row or column is shown, but the row and column totals are
    assumed public, so the same complements are needed; with margins_public=False they
    are not."""
    counts = table({"A": [3, 20, 30], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts, totals=False)
    assert published(res) == [["c", "c", 30], ["c", "c", 35], [18, 40, 45]]
    assert attack_by_subtraction(res.table, counts, None, None) == {}
    loose = suppress(counts, totals=False, margins_public=False)
    assert loose.mask.to_numpy().sum() == 1


def test_auto_detects_labelled_totals_and_true_adds_missing_ones() -> None:
    """A "Total" column is recognised; "All" as a row label too.  totals=True adds the missing
    total row; "auto" adds nothing."""
    counts = table({"A": [3, 20, 30], "B": [15, 25, 35]})
    counts["Total"] = counts.sum(axis=1)
    auto = suppress(counts)
    assert auto.total_columns == ("Total",) and auto.total_rows == ()
    assert list(auto.index) == ["A", "B"]
    added = suppress(counts, totals=True)
    assert list(added.index) == ["A", "B", "Total"] and added.total_rows == ("Total",)
    assert added.table.loc["Total", "Total"] == 128
    counts.loc["All"] = counts.sum(axis=0)
    assert suppress(counts).total_rows == ("All",)
    assert suppress(counts, totals=False).total_rows == ()


def test_chains_of_rows_and_columns_cannot_recover_a_cell() -> None:
    """Two 2x2 blocks of small counts (A-B x V-W and C-D x X-Y) joined by A-X = 1.  The
    row-and-column rule alone is satisfied (every line has two or more unknowns) yet A-X =
    (total of rows A and B) - (total of columns V and W) - (the published cells of rows A, B
    outside V, W) - no single row or column gives it, but the pair does.  The exact check
    adds a complement in column X, B-X = 41 (the smallest that breaks the chain)."""
    counts = pd.DataFrame([[2, 3, 40, 50, 60],
                           [4, 5, 41, 51, 61],
                           [70, 71, 2, 3, 62],
                           [72, 73, 4, 5, 63],
                           [80, 81, 82, 83, 90]],
                          index=list("ABCDE"), columns=list("VWXYZ"))
    counts.iloc[0, 2] = 1  # the bridge A-X
    res = suppress(counts, totals=True)
    assert res.table.loc["B", "X"] == "c" and res.secondary.loc["B", "X"]
    assert recoverable_cells(res) == []
    truth = with_totals(counts)
    assert attack_by_subtraction(res.table, truth, "Total", "Total") == {}
    assert _linear_algebra_recoverable(res.mask.to_numpy()) == []
    without_b_x = res.mask.to_numpy().copy()
    without_b_x[1, 2] = False
    assert _linear_algebra_recoverable(without_b_x) == [(0, 2)]  # A-X would be given away


def _linear_algebra_recoverable(mask: np.ndarray) -> list[tuple[int, int]]:
    """Independent exact check for a table whose last row and column are totals: a
    suppressed cell is recoverable when its unit vector lies in the row space of the
    additivity equations restricted to the suppressed cells."""
    nr, nc = mask.shape
    eqs = []
    for r in range(nr - 1):
        eqs.append({(r, c): 1 for c in range(nc - 1)} | {(r, nc - 1): -1})
    for c in range(nc - 1):
        eqs.append({(r, c): 1 for r in range(nr - 1)} | {(nr - 1, c): -1})
    eqs.append({(nr - 1, c): 1 for c in range(nc - 1)} | {(nr - 1, nc - 1): -1})
    eqs.append({(r, nc - 1): 1 for r in range(nr - 1)} | {(nr - 1, nc - 1): -1})
    cells = [tuple(rc) for rc in np.argwhere(mask)]
    if not cells:
        return []
    a = np.array([[eq.get(cell, 0) for cell in cells] for eq in eqs], dtype=float)
    rank = np.linalg.matrix_rank(a)
    out = []
    for j, cell in enumerate(cells):
        e = np.zeros((1, len(cells)))
        e[0, j] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out.append(cell)
    return out


def test_no_suppressed_count_is_recoverable_in_many_random_tables() -> None:
    """Property check on 120 seeded random tables (2-5 rows, 2-5 columns, many small counts):
    primary cells stay suppressed, zeros are published, and neither the subtraction attacker
    nor an exact linear-algebra check recovers any suppressed cell."""
    rng = np.random.default_rng(20240601)
    for _ in range(120):
        nr, nc = rng.integers(2, 6, size=2)
        values = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12, 20, 35], size=(nr, nc),
                            p=[.1, .1, .1, .08, .07, .05, .1, .1, .1, .1, .1])
        counts = pd.DataFrame(values, index=[f"r{i}" for i in range(nr)],
                              columns=[f"c{j}" for j in range(nc)])
        res = suppress(counts, totals=True)
        truth = with_totals(counts)
        assert (res.mask | ~res.primary).all().all()
        small = (truth >= 1) & (truth <= 5)
        assert (res.mask | ~small).all().all()
        assert attack_by_subtraction(res.table, truth, "Total", "Total") == {}
        assert _linear_algebra_recoverable(res.mask.to_numpy()) == []
        for r, c in itertools.product(range(nr), range(nc)):
            if values[r, c] == 0 and not res.mask.iat[r, c]:
                assert res.table.iat[r, c] == 0


def test_result_can_be_indexed_by_column_like_a_dataframe() -> None:
    """Callers (analysis.thresholds.suppress_small) read ``result[column]``."""
    counts = table({"A": [3, 20, 30], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts, threshold=(1, 5))
    assert res["X"].tolist() == ["c", "c", 18]
    assert list(res.columns) == ["X", "Y", "Z"]


# --------------------------------------------------------------------------------------
# Single column
# --------------------------------------------------------------------------------------


def test_series_with_one_small_count_loses_the_next_smallest_non_zero_count() -> None:
    """3 is primary; with the total shown the next smallest non-zero count (12) goes too; the
    0 stays."""
    s = pd.Series([12, 3, 40, 0, 25], index=list("abcde"), name="children")
    res = suppress_series(s, total=True)
    assert res.values.tolist() == ["c", "c", 40, 0, 25, 80]
    assert res.values.index[-1] == "Total"
    assert res.mask.tolist() == [True, True, False, False, False, False]
    assert res.primary.tolist() == [False, True, False, False, False, False]


def test_series_detects_its_total_row() -> None:
    s = pd.Series([12, 3, 40, 55], index=["a", "b", "c", "Total"])
    res = suppress_series(s)
    assert res.values.tolist() == ["c", "c", 40, 55]


def test_series_with_a_small_total_suppresses_the_total() -> None:
    s = pd.Series([2, 1, 0, 3], index=["a", "b", "c", "Total"])
    assert suppress_series(s).values.tolist() == ["c", "c", 0, "c"]


# --------------------------------------------------------------------------------------
# Percentages
# --------------------------------------------------------------------------------------


def test_percentages_are_suppressed_with_their_counts_and_shown_to_one_decimal_place() -> None:
    """Row percentages of the hand-worked table: the four suppressed counts' percentages are
    c; the others are one decimal place, rounded half up (30/53 = 56.603...% -> 56.6)."""
    counts = table({"A": [3, 20, 30], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts)
    pct = counts.div(counts.sum(axis=1), axis=0) * 100
    out = suppress_percentages(pct, res)
    assert out.to_numpy().tolist() == [["c", "c", "56.6"],
                                       ["c", "c", "46.7"],
                                       ["17.5", "38.8", "43.7"]]


def test_percentages_round_half_up_and_mark_not_applicable() -> None:
    pct = pd.DataFrame({"p": [12.25, 12.35, np.nan, 100.0]}, index=list("abcd"))
    mask = pd.DataFrame({"p": [False] * 4}, index=list("abcd"))
    assert suppress_percentages(pct, mask)["p"].tolist() == ["12.3", "12.4", "z", "100.0"]


def test_percentages_of_a_suppressed_denominator_are_suppressed() -> None:
    """Row A's total (3) is suppressed, so every percentage in row A would give counts back."""
    counts = table({"A": [2, 1, 0], "B": [15, 25, 35], "C": [18, 40, 45]})
    res = suppress(counts, totals=True)
    interior = counts.index
    pct = counts.div(counts.sum(axis=1), axis=0) * 100
    out = suppress_percentages(pct, res.mask.loc[interior, list("XYZ")],
                               denominator_mask=res.mask.loc[interior, "Total"])
    assert out.loc["A"].tolist() == ["c", "c", "c"]
    assert out.loc["C"].tolist() == ["17.5", "38.8", "43.7"]


# --------------------------------------------------------------------------------------
# Judgement counts policy
# --------------------------------------------------------------------------------------


def test_judgement_counts_are_publishable_by_default() -> None:
    """"4 of 6 cases met the standard" describes the audit's judgements, not children."""
    assert disclosure.JUDGEMENT_COUNTS_PUBLISHABLE is True
    assert is_publishable_judgement_count(4, 6)
    assert is_publishable_judgement_count(1, 1)


def test_judgement_counts_follow_the_dfe_rule_when_small_counts_are_not_allowed() -> None:
    assert not is_publishable_judgement_count(4, 6, allow_small_counts=False)  # 4 and 2
    assert not is_publishable_judgement_count(3, 20, allow_small_counts=False)
    assert not is_publishable_judgement_count(17, 20, allow_small_counts=False)  # 3 did not
    assert is_publishable_judgement_count(10, 20, allow_small_counts=False)
    assert is_publishable_judgement_count(0, 20, allow_small_counts=False)  # zero is not small


def test_judgement_count_policy_default_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disclosure, "JUDGEMENT_COUNTS_PUBLISHABLE", False)
    assert not is_publishable_judgement_count(4, 6)


def test_judgement_counts_must_be_possible() -> None:
    with pytest.raises(ValueError):
        is_publishable_judgement_count(7, 6)


# --------------------------------------------------------------------------------------
# The release-wide ledger and its audit (rule 2 of the reporting layer)
# --------------------------------------------------------------------------------------


def _grading() -> pd.DataFrame:
    """Auditor's grade (rows) by triage grade (columns): the cell medium/standard is 4."""
    return pd.DataFrame([[40, 6, 0], [4, 9, 7], [0, 8, 11]],
                        index=["standard", "medium", "high"],
                        columns=["standard", "medium", "high"])


def test_a_count_stated_elsewhere_that_reveals_a_suppressed_cell_is_suppressed_too() -> None:
    """The issue's example: the grading table hides medium/standard (4), but the under-grading
    finding would state medium/standard + high/standard = 4 with high/standard = 0 shown."""
    from analysis.reporting import Ledger

    led = Ledger("threshold_consistency")
    sup = led.table("da_grading", _grading())
    assert sup.table.loc["medium", "standard"] == "c"
    assert disclosure.audit_release([led]) == []
    under = led.count("undergraded", [("da_grading", "medium", "standard"),
                                      ("da_grading", "high", "standard")])
    assert under == "c"
    assert disclosure.audit_release([led]) == []


def test_a_count_of_one_to_five_is_c_wherever_it_is_stated() -> None:
    from analysis.reporting import Ledger

    led = Ledger("p")
    led.table("t", pd.DataFrame([[30, 20], [25, 40]], index=["a", "b"], columns=["x", "y"]))
    assert led.count("big", [("t", "a", "x"), ("t", "b", "x")]) == 55
    small = Ledger("q")
    small.table("t", pd.DataFrame([[3, 20], [25, 40]], index=["a", "b"], columns=["x", "y"]))
    assert small.count("one cell", [("t", "a", "x")]) == "c"


def test_the_audit_refuses_a_planted_leak_and_names_the_cell_not_the_value(tmp_path) -> None:
    from analysis.reporting import Ledger, load_ledgers

    led = Ledger("threshold_consistency")
    led.table("da_grading", _grading())
    led.sums.append({"name": "threshold_consistency/undergraded", "value": 4, "shown": True,
                     "parts": [["threshold_consistency/da_grading", "medium", "standard"],
                               ["threshold_consistency/da_grading", "high", "standard"]]})
    back = load_ledgers([led.write(tmp_path)])
    problems = disclosure.audit_release(back)
    assert problems and all("da_grading" in p for p in problems)
    assert any("'medium', column 'standard'" in p for p in problems)
    assert not any(" 4" in p for p in problems)


def test_tables_on_different_pages_are_audited_together() -> None:
    """A total published on one page and the other cells on another pin a hidden cell."""
    from analysis.reporting import Ledger

    a = Ledger("a")
    a.table("t", pd.DataFrame([[3, 20], [25, 40]], index=["r1", "r2"], columns=["x", "y"]))
    assert disclosure.audit_release([a]) == []
    b = Ledger("b")
    b.table("t", pd.DataFrame([[9]], index=["r1"], columns=["x"]))
    b.sums.append({"name": "b/leak", "value": 3, "shown": True, "parts": [["a/t", "r1", "x"]]})
    assert disclosure.audit_release([a, b])


def test_the_same_count_on_two_pages_is_linked_and_suppressed_alike() -> None:
    """The sample page's stratum populations and the tier-2 page's cases held are one count:
    both pages record the same table, suppress it alike and the link tells the audit so."""
    from analysis.reporting import Ledger

    pop = pd.DataFrame({"cases": [250, 3, 90, 45]}, index=["a", "b", "c", "d"])
    sample = Ledger("audit_sample")
    s1 = sample.table("design_population", pop)
    review = Ledger("tier2_case_review")
    s2 = review.table("cases_held", pop)
    review.same("held = population", review.parts("cases_held"),
                [("audit_sample/design_population", r, "cases") for r in pop.index])
    assert s1.table.equals(s2.table)
    assert s1.table.loc["b", "cases"] == "c"
    assert disclosure.audit_release([sample, review]) == []
    # the same count shown on the other page would give it away
    review.tables["tier2_case_review/cases_held"]["cells"]["b\x1fcases"]["shown"] = True
    assert disclosure.audit_release([sample, review])


def test_a_link_to_a_page_not_in_the_audit_is_left_out_not_taken_as_zero() -> None:
    from analysis.reporting import Ledger

    led = Ledger("p")
    led.table("t", pd.DataFrame({"cases": [250, 3, 90]}, index=["a", "b", "c"]))
    led.same("to another page", led.parts("t"), [("other/t", r, "cases") for r in "abc"])
    assert disclosure.audit_release([led]) == []
    assert led.count("all cases", led.parts("t")) == 343


def test_an_identity_that_does_not_hold_is_refused_when_recorded() -> None:
    from analysis.reporting import Ledger

    led = Ledger("p")
    led.table("t", pd.DataFrame({"x": [10, 20]}, index=["a", "b"]))
    led.table("u", pd.DataFrame({"x": [10, 21]}, index=["a", "b"]))
    with pytest.raises(ValueError, match="differ"):
        led.same("t = u", led.parts("t"), led.parts("u"))


def test_ledgers_that_contradict_each_other_fail_the_audit() -> None:
    """Inconsistent ledgers make the attacker's equations infeasible; the audit says so rather
    than passing them."""
    from analysis.reporting import Ledger

    led = Ledger("p")
    led.table("t", pd.DataFrame([[3, 20], [25, 40]], index=["r1", "r2"], columns=["x", "y"]))
    led.sums.append({"name": "p/wrong", "value": 999, "shown": True,
                     "parts": [["p/t", "r2", "y"]]})
    problems = disclosure.audit_release([led])
    assert problems and "inconsistent" in problems[0]


def test_a_large_count_already_fixed_by_the_table_is_published_where_it_is_stated() -> None:
    """A stated total that the table already publishes gives nothing away: it is shown, even
    though the table has suppressed cells."""
    from analysis.reporting import Ledger

    led = Ledger("p")
    led.table("t", pd.DataFrame({"referred": [37, 6, 16, 5], "not": [125, 28, 56, 23]},
                                index=["a", "b", "c", "d"]))
    assert led.count("cases", led.parts("t")) == 296
    assert led.count("referred", led.parts("t", columns=["referred"])) == 64
    assert disclosure.audit_release([led]) == []


def test_a_monthly_table_publishes_each_months_total_and_never_adds_the_months_up() -> None:
    """Months by (numerator, rest) with the denominator published: a small count is hidden
    with its month's other count, and no other month is suppressed to protect a column total
    that is never published."""
    from analysis.reporting import Ledger

    led = Ledger("p")
    counts = pd.DataFrame({"numerator": [20, 170, 154, 144], "rest": [0, 5, 59, 56]},
                          index=["2025-04", "2025-06", "2025-07", "2025-08"])
    sup = led.table("monthly", counts, column_totals=False)
    assert led.hidden("monthly") == {"2025-06"}
    assert led.is_shown("monthly", "2025-06")  # its denominator (175) is published
    assert sup.table.loc["2025-06", "Total"] == 175
    assert disclosure.audit_release([led]) == []


def test_a_count_over_five_hidden_only_to_protect_others_may_be_worked_out() -> None:
    """Seeds 16 and 18: a secondary cell (here 12) equals a total published on another table.
    Working it out reveals a number over five and no small count, so the release passes; the
    small cell it protects (3) is still audited and still safe."""
    from analysis.reporting import Ledger

    led = Ledger("p")
    sup = led.table("t", pd.DataFrame([[3, 12], [25, 40]], index=["r1", "r2"],
                                      columns=["x", "y"]))
    assert sup.table.loc["r1", "x"] == "c"
    hidden = [c for c in ("x", "y") if sup.table.loc["r1", c] == "c"]
    assert len(hidden) == 2  # the 12 is hidden with the 3 in its row
    led.sums.append({"name": "p/elsewhere", "value": 12, "shown": True,
                     "parts": [["p/t", "r1", "y"]]})
    problems = disclosure.audit_release([led])
    assert not any("'y'" in p and "'r1'" in p for p in problems)
    # ...but with the 12 known, the 3 follows from its row or column total: that is refused
    assert any("'r1', column 'x'" in p for p in problems)
