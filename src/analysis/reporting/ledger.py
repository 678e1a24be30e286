"""The disclosure ledger: every count about children a page publishes, for one release-wide
audit (rule 2 of the reporting layer).

A page that publishes counts of children, contacts, referrals or incidents records them here:

* :meth:`Ledger.table`: a table of counts, disclosure-controlled by
  ``analysis.disclosure.suppress`` (DfE: 1 to 5 shown as ``c``, with secondary suppression),
  recorded cell by cell with its totals;
* :meth:`Ledger.count`: a count the page states elsewhere (a sentence, a chart label, a
  finding) as a sum of recorded cells. It may be published only if it is not itself 1 to 5
  and if, with it published, every suppressed cell of the release still has more than one
  possible value; otherwise it is shown as ``c`` too (so a count suppressed anywhere is
  suppressed everywhere it appears).

Each notebook writes its ledger next to its findings (``<page>_disclosure.json``: counts
about children, kept with the round's outputs, never published). ``sqa publish`` reads every
ledger of the release and runs ``analysis.disclosure.audit_release`` (linear programming, as
tau-Argus and sdcTable audit a suppression pattern): a release in which any suppressed cell
can be worked out exactly is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Ledger", "load_ledgers"]

Part = tuple[str, str, str]  # (table, row, column)


class Ledger:
    """The counts about children one page publishes (see the module docstring)."""

    def __init__(self, page: str) -> None:
        self.page = page
        self.tables: dict[str, dict[str, Any]] = {}
        self.sums: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []

    def _key(self, name: str) -> str:
        """A table's release-wide key: ``page/name``; a name that already holds a ``/`` is
        another page's table (for :meth:`same` across pages)."""
        return name if "/" in name else f"{self.page}/{name}"

    def parts(self, name: str, rows: list[Any] | None = None,
              columns: list[Any] | None = None) -> list[tuple[str, str, str]]:
        """The cells ``(table, row, column)`` of this page's table ``name`` (all rows and
        columns unless given): the ``parts`` of :meth:`count` and :meth:`same`."""
        t = self.tables[self._key(name)]
        rs = t["rows"] if rows is None else [str(r) for r in rows]
        cs = t["columns"] if columns is None else [str(c) for c in columns]
        return [(name, r, c) for r in rs for c in cs]

    def value(self, parts: list[tuple[str, str, str]]) -> int:
        """The sum of this page's recorded cells ``parts``."""
        return int(sum(self.tables[self._key(t)]["cells"][f"{r}\x1f{c}"]["value"]
                       for t, r, c in parts))

    def is_shown(self, name: str, row: Any, column: Any = None) -> bool:
        """Whether table ``name``'s cell (``row``, ``column``), or with no column the row's
        total, may be published."""
        t = self.tables[self._key(name)]
        if column is None:
            return bool(t["margins"]["rows"][str(row)]["shown"])
        return bool(t["cells"][f"{row}\x1f{column}"]["shown"])

    def hidden(self, name: str) -> set[str]:
        """The rows of table ``name`` with a cell, or a row total, not published."""
        t = self.tables[self._key(name)]
        return {r for r in t["rows"]
                if not t["margins"]["rows"][r]["shown"]
                or any(not t["cells"][f"{r}\x1f{c}"]["shown"] for c in t["columns"])}

    def table(self, name: str, counts: pd.DataFrame, threshold: tuple[int, int] = (1, 5),
              column_totals: bool = True) -> Any:
        """Disclosure-control ``counts`` (interior cells only: totals are added) and record
        it; returns the ``disclosure.SuppressedTable`` to show. ``column_totals=False``: the
        table publishes each row's total (a month's denominator) but no column totals (the
        months are never added up), so only the row totals take part in secondary
        suppression and the audit does not take column totals as known."""
        from ..disclosure import suppress

        counts = counts.copy()
        counts.index = [str(i) for i in counts.index]
        counts.columns = [str(c) for c in counts.columns]
        if column_totals:
            sup = suppress(counts, threshold=threshold, totals=True)
        else:
            with_total = counts.assign(Total=counts.sum(axis=1))
            sup = suppress(with_total, threshold=threshold, totals="auto",
                           margins_public=False)

        rows = [str(r) for r in counts.index]
        cols = [str(c) for c in counts.columns]
        tr = sup.total_rows[0] if sup.total_rows else None
        tc = sup.total_columns[0] if sup.total_columns else None
        mask = sup.mask

        def shown(r: str | None, c: str | None, cells: list[tuple[str, str]]) -> bool:
            if r is not None and c is not None and r in mask.index and c in mask.columns:
                return not bool(mask.loc[r, c])
            return all(not bool(mask.loc[a, b]) for a, b in cells)  # no total drawn

        cells = {f"{r}\x1f{c}": {"value": int(counts.loc[r, c]),
                                 "shown": not bool(mask.loc[r, c])} for r in rows for c in cols}
        margins = {"rows": {r: {"value": int(counts.loc[r].sum()),
                                "shown": shown(r, tc, [(r, c) for c in cols])} for r in rows},
                   "columns": {c: {"value": int(counts[c].sum()),
                                   "shown": shown(tr, c, [(r, c) for r in rows])}
                               for c in cols},
                   "total": {"value": int(counts.to_numpy().sum()),
                             "shown": shown(tr, tc, [(r, c) for r in rows for c in cols])}}
        if not column_totals:
            for rec in (*margins["columns"].values(), margins["total"]):
                rec["shown"] = False
        self.tables[self._key(name)] = {"rows": rows, "columns": cols, "cells": cells,
                                        "margins": margins, "threshold": list(threshold)}
        return sup

    def count(self, name: str, parts: list[tuple[str, str, str]],
              threshold: tuple[int, int] = (1, 5), others: list[Ledger] | None = None
              ) -> int | str:
        """A count stated outside its table, as the sum of recorded cells ``parts``
        (``(table, row, column)`` of this page's tables). Returns the number when it may be
        published, else ``"c"`` (1 to 5 itself, or it would let a suppressed cell of this
        page, or of ``others``, be worked out)."""
        from ..disclosure import CONFIDENTIAL, audit_release

        keyed = [(self._key(t), str(r), str(c)) for t, r, c in parts]
        value = sum(self.tables[t]["cells"][f"{r}\x1f{c}"]["value"] for t, r, c in keyed)
        rec = {"name": self._key(name), "parts": [list(p) for p in keyed], "value": int(value),
               "shown": True}
        lo, hi = threshold
        if lo <= value <= hi:
            rec["shown"] = False
        else:
            rec["shown"] = False
            self.sums.append(rec)
            before = set(audit_release([self, *(others or [])]))
            rec["shown"] = True
            after = set(audit_release([self, *(others or [])]))
            rec["shown"] = not (after - before)  # shown unless it gives a count away
            self.sums.pop()
        self.sums.append(rec)
        return int(value) if rec["shown"] else CONFIDENTIAL

    def same(self, name: str, parts: list[tuple[str, str, str]],
             equals: list[tuple[str, str, str]]) -> None:
        """Record that two sets of cells add up to the same number (a breakdown of one
        table's count in another table): public knowledge that the audit uses, whatever is
        shown. ``parts`` and ``equals`` may name another page's table as ``page/table``;
        where both sides are this page's, they must add up to the same number (a wrong
        identity would make the audit's equations inconsistent)."""
        local = [p for p in (*parts, *equals) if "/" not in p[0]]
        if len(local) == len(parts) + len(equals) and self.value(parts) != self.value(equals):
            raise ValueError(f"ledger {self.page}: {name!r}: the two sides differ "
                             f"({self.value(parts)} and {self.value(equals)})")
        self.links.append({"name": self._key(name),
                           "parts": [[self._key(t), str(r), str(c)] for t, r, c in parts],
                           "equals": [[self._key(t), str(r), str(c)] for t, r, c in equals]})

    def protect(self, name: str, sup: Any, others: list[Ledger] | None = None) -> Any:
        """Suppress more of table ``name`` (shown as ``sup``) until the release-wide audit
        passes with it: first its totals, then every cell. For a table whose counts are
        linked (:meth:`same`) to another table's, where the table's own secondary
        suppression cannot see the other table."""
        from ..disclosure import CONFIDENTIAL, audit_release

        t = self.tables[self._key(name)]
        tab = sup.table
        total_r = next((r for r in tab.index if str(r).lower() == "total"), None)
        total_c = next((c for c in tab.columns if str(c).lower() == "total"), None)
        steps = []
        margins = [("rows", r) for r in t["rows"]] + [("columns", c) for c in t["columns"]]
        steps.append(margins + [("total", None)])
        steps.append([("cell", f"{r}\x1f{c}") for r in t["rows"] for c in t["columns"]])
        for step in steps:
            if not audit_release([self, *(others or [])]):
                return sup
            for kind, key in step:
                if kind == "total":
                    t["margins"]["total"]["shown"] = False
                    if total_r is not None and total_c is not None:
                        tab.loc[total_r, total_c] = CONFIDENTIAL
                elif kind == "rows":
                    t["margins"]["rows"][key]["shown"] = False
                    if total_c is not None:
                        tab.loc[key, total_c] = CONFIDENTIAL
                elif kind == "columns":
                    t["margins"]["columns"][key]["shown"] = False
                    if total_r is not None:
                        tab.loc[total_r, key] = CONFIDENTIAL
                else:
                    t["cells"][key]["shown"] = False
                    r, c = key.split("\x1f")
                    tab.loc[r, c] = CONFIDENTIAL
                    sup.mask.loc[r, c] = True
        return sup

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page, "tables": self.tables, "sums": self.sums,
                "links": self.links}

    def write(self, output_dir: str | Path) -> Path:
        """``<page>_disclosure.json`` in ``output_dir`` (deterministic)."""
        path = Path(output_dir) / f"{self.page}_disclosure.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n", "utf-8")
        return path

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ledger:
        led = cls(str(d.get("page", "")))
        led.tables = dict(d.get("tables") or {})
        led.sums = list(d.get("sums") or [])
        led.links = list(d.get("links") or [])
        return led


def load_ledgers(paths: list[Path]) -> list[Ledger]:
    """The ledgers written by a release's notebooks."""
    return [Ledger.from_dict(json.loads(p.read_text("utf-8"))) for p in paths]
