"""The sentence on audit returns: how many of the sampled cases had complete returns.

The counts come from ``analysis.returns.completeness`` (sampled, complete, partial, none).
A count of cases from 1 to 4 is worded "fewer than 5" (``rules.few_children``, rule 1), and
so is whatever would give it back from the number sampled (stated on the sample page): when
fewer than five cases are incomplete, the complete ones are "all but fewer than 5".
"""

from __future__ import annotations

from collections.abc import Mapping

from .numbers import count
from .rules import few_children, min_audited

__all__ = ["returns_sentence"]


def _bare(n: int, low: int) -> str:
    """``few_children`` without its noun ("fewer than 5", or the count), for "... of the 29
    sampled cases"."""
    return few_children(n, "case", min_n=low).rsplit(" ", 1)[0]


def returns_sentence(counts: Mapping[str, int], min_n: int | None = None) -> str:
    """One sentence for the page: "Returns were in for all 29 sampled cases." or "Returns
    were complete for 20 of the 29 sampled cases; 9 cases had some or all returns missing,
    so the findings rest on the returns received."."""
    sampled, complete = int(counts.get("sampled", 0)), int(counts.get("complete", 0))
    missing = sampled - complete
    low = min_audited(min_n)
    rest = ("the findings below rest on the returns that came in, and a case with a return "
            "missing may read differently once it is in.")
    if sampled == 0:
        return "No cases were sampled, so there were no returns to count."
    if sampled < low:
        if missing == 0:
            return (f"Returns were in for every sampled case ({few_children(sampled)} "
                    "were sampled).")
        return (f"Returns were complete for some but not all of the sampled cases "
                f"({few_children(sampled)} were sampled): {rest}")
    of = f"of the {count(sampled)} sampled cases"
    if missing == 0:
        return f"Returns were in for all {count(sampled)} sampled cases."
    if complete == 0:
        return f"No case had complete returns ({count(sampled)} were sampled): {rest}"
    if missing < low:
        return f"Returns were complete for all but {_bare(missing, low)} {of}; {rest}"
    if complete < low:
        return f"Returns were complete for {_bare(complete, low)} {of}; {rest}"
    return (f"Returns were complete for {count(complete)} {of}; "
            f"{few_children(missing)} had some or all returns missing, so {rest}")
