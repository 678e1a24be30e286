"""Who may be reported: the minimum group of audited cases (rule 1 of the reporting layer).

An audit finding is a judgement on a handful of sampled case files. A group (a service, a
standard's applicable cases, an agency, a route) with fewer than :data:`MIN_AUDITED` audited
cases is reported as "*n* cases audited: too few to report", with no count met, no percentage
and no interval, in tables, sentences, charts and the findings CSV (estimate and interval
empty, and a ``reason`` saying why). With so few cases a share says more about the cases than
about the service, and a "1 of 1" is one child's result. The only exception is a
reproduction page quoting a published report's own figures (a finding whose ``basis`` is
``"published"``).

The minimum is a setting: :data:`MIN_AUDITED` (5) by default, changed for a whole run with
:func:`configure` (the notebooks' parameter ``min_audited`` does this), and overridden in one
call with ``min_n``.
"""

from __future__ import annotations

import math

from .numbers import count, interval, pct

__all__ = ["MIN_AUDITED", "TOO_FEW", "audited_share", "configure", "few_children",
           "min_audited", "reportable", "too_few", "too_few_reason"]

MIN_AUDITED = 5
TOO_FEW = "too few to report"
_SETTING = {"min_audited": MIN_AUDITED}


def configure(min_audited: int | None = None) -> None:
    """Set the minimum audited group for this process (``None``: back to the default)."""
    m = MIN_AUDITED if min_audited is None else int(min_audited)
    if m < 1:
        raise ValueError(f"min_audited must be at least 1, got {min_audited!r}")
    _SETTING["min_audited"] = m


def min_audited(min_n: int | None = None) -> int:
    """``min_n`` when given, else the current setting."""
    return _SETTING["min_audited"] if min_n is None else int(min_n)


def _n(n: float | None) -> int:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return 0
    return int(n)


def reportable(n: float | None, min_n: int | None = None) -> bool:
    """True when a group of ``n`` audited cases may carry a count met, a share and an
    interval."""
    return _n(n) >= min_audited(min_n)


def too_few(n: float | None, noun: str = "cases", min_n: int | None = None,
            verb: str = "audited") -> str:
    """The one wording for a group below the minimum: "3 cases audited: too few to report";
    "no cases audited" for none."""
    k = _n(n)
    if k == 0:
        return f"no {noun} {verb}"
    one = noun[:-1] if k == 1 and noun.endswith("s") else noun
    return f"{count(k)} {one} {verb}: {TOO_FEW}"


def few_children(n: float | None, noun: str = "case", plural: str | None = None,
                 min_n: int | None = None) -> str:
    """A count of children in a sentence ("4 cases held too low"): the count itself when it
    is none or at least the minimum, else "fewer than 5 cases" (rule 1; the publication
    gate refuses "4 cases" in a sentence, ``analysis.reporting.check.small_counts``)."""
    k, many = _n(n), plural or noun + "s"
    if k == 0 or k >= min_audited(min_n):
        return f"{count(k)} {noun if k == 1 else many}"
    return f"fewer than {min_audited(min_n)} {many}"


def too_few_reason(min_n: int | None = None) -> str:
    """The findings CSV's ``reason`` for a suppressed audit finding."""
    return f"fewer than {min_audited(min_n)} cases audited: too few to report"


def audited_share(successes: float | None, n: float | None, estimate: float | None = None,
                  ci_low: float | None = None, ci_high: float | None = None,
                  min_n: int | None = None, noun: str = "cases", weighted: bool = False
                  ) -> str:
    """A table cell for an audited share: "12 of 20 (60%, 39% to 78%)" at or above the
    minimum, "3 cases audited: too few to report" below it (no count met, no percentage)."""
    if not reportable(n, min_n):
        return too_few(n, noun, min_n)
    x, k = _n(successes), _n(n)
    est = pct(x / k if estimate is None else estimate) + (" weighted" if weighted else "")
    if ci_low is None or ci_high is None:
        return f"{count(x)} of {count(k)} ({est})"
    return f"{count(x)} of {count(k)} ({est}, {interval(ci_low, ci_high)})"
