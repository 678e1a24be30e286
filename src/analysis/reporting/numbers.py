"""One formatter for every published number.

The rounding rule is stated once and used everywhere: **halves are rounded up** (away from
zero), as in the Government Statistical Service's presentation guidance and Excel's
``ROUND``, so 0.125 prints "13%" on every page (Python's own ``format`` rounds half to even,
and binary floating point makes 0.335 a little less than a half: both are avoided by rounding
the decimal form of the number). Percentages are whole numbers unless a page asks for more
digits; an observed share that is not none or all never prints as "0%" or "100%".

Missing values (``None``, NaN) print as ``missing`` ("n/a" by default): never as 0.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["ROUNDING_RULE", "count", "counted", "interval", "margin", "number", "p_value",
           "pct", "points", "ratio", "round_half_up", "share"]

ROUNDING_RULE = ("Percentages are shown as whole numbers and other figures to two decimal "
                 "places, with halves rounded up (12.5% is shown as 13%).")


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def round_half_up(x: float, digits: int = 0) -> float:
    """``x`` rounded to ``digits`` decimal places, halves away from zero, on the shortest
    decimal form of ``x`` (``round_half_up(0.335, 2) == 0.34``; ``round(0.335, 2) == 0.33``)."""
    q = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def _fixed(x: float, digits: int, grouping: bool = False) -> str:
    q = Decimal(1).scaleb(-digits)
    d = Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP)
    spec = ",f" if grouping else "f"
    if d == 0:
        return format(abs(d), spec)  # never "-0"
    return format(d, spec).replace("-", "\u2212")  # a true minus sign, read as "minus"


def pct(p: float | None, digits: int = 0, missing: str = "n/a") -> str:
    """A proportion as a percentage: ``pct(0.125) == "13%"``, ``pct(0.1234, 1) == "12.3%"``."""
    if _missing(p):
        return missing
    return _fixed(float(Decimal(repr(float(p))) * 100), digits) + "%"


def share(x: int, n: int, digits: int = 0, missing: str = "n/a") -> str:
    """The observed share ``x`` of ``n`` as a percentage that never rounds a non-zero share to
    0% or a share short of all to 100% ("less than 1%", "more than 99%")."""
    if not n:
        return missing
    text = pct(x / n, digits)
    if x > 0 and float(text.rstrip("%")) == 0:
        return f"less than {pct(10 ** -(digits + 2), digits)}"
    if x < n and float(text.rstrip("%")) == 100:
        return f"more than {pct(1 - 10 ** -(digits + 2), digits)}"
    return text


def interval(low: float | None, high: float | None, digits: int = 0,
             style: str = "to", missing: str = "not estimable") -> str:
    """An interval of proportions: ``"61% to 80%"`` (``style="to"``), ``"between 61% and
    80%"`` (``"between"``) or ``"61% - 80%"`` (``"dash"``, for tables)."""
    if _missing(low) or _missing(high):
        return missing
    a, b = pct(low, digits), pct(high, digits)
    return {"to": f"{a} to {b}", "between": f"between {a} and {b}",
            "dash": f"{a} - {b}"}[style]


def count(n: float | None, missing: str = "n/a") -> str:
    """A count with thousands separators: ``count(12345) == "12,345"``."""
    if _missing(n):
        return missing
    return f"{int(round_half_up(float(n))):,}"


def counted(n: float | None, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: ``counted(1, "agency", "agencies") ==
    "1 agency"``, ``counted(24, "practitioner") == "24 practitioners"`` (the plural is the
    noun with an "s" unless given)."""
    k = count(n)
    return f"{k} {noun if k == '1' else (plural or noun + 's')}"


def number(x: float | None, digits: int = 2, missing: str = "n/a",
           grouping: bool = False) -> str:
    """A statistic (a kappa, an odds ratio, a rate) to ``digits`` decimal places (thousands
    separated with ``grouping``)."""
    if _missing(x):
        return missing
    if math.isinf(float(x)):
        return "infinite" if float(x) > 0 else "minus infinity"
    return _fixed(float(x), digits, grouping)


def points(d: float | None, signed: bool = False, missing: str = "not estimable",
           unit: bool = True) -> str:
    """A difference of proportions in percentage points: ``points(0.12) == "12 points"``;
    ``signed=True`` gives "+12 points" / "-12 points"; ``unit=False`` the number alone;
    ``±`` margins use ``points`` too."""
    if _missing(d):
        return missing
    text = _fixed(float(Decimal(repr(float(d))) * 100), 0)
    word = "point" if text in ("1", "\u22121") else "points"
    if signed and not text.startswith("\u2212") and text != "0":
        text = "+" + text
    return f"{text} {word}" if unit else text


def p_value(p: float | None, missing: str = "n/a") -> str:
    """A p-value: two decimal places from 0.01 up, three below, "< 0.001" below that."""
    if _missing(p):
        return missing
    v = float(p)
    if v < 0.001:
        return "< 0.001"
    return _fixed(v, 2 if round_half_up(v, 2) >= 0.01 else 3)


def margin(m: float | None, missing: str = "not estimable") -> str:
    """A margin of error of a proportion: ``margin(0.094) == "±9 points"``."""
    return missing if _missing(m) else "±" + points(m)


def ratio(x: float | None, missing: str = "n/a") -> str:
    """An odds or rate ratio in readable precision, two significant figures at most below 10
    (0.43, 2.4) and whole numbers above (36)."""
    if _missing(x):
        return missing
    v = float(x)
    if math.isinf(v):
        return "infinite"
    return _fixed(v, 0 if v >= 10 else 1 if v >= 1 else 2)
