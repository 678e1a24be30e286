"""The reporting layer: every published number, word and suppression passes through here.

Analyses (``proportions``, ``agreement``, ``review``, ``thresholds``, ``sampling``, ``spc``)
return numbers; this package turns them into text, under one set of rules:

* :mod:`analysis.reporting.numbers`: one formatter for percentages, intervals, counts,
  ratios and percentage points, with one stated rounding rule (halves rounded up), so the same
  number prints the same way on every page;
* :mod:`analysis.reporting.words`: the words of a claim follow its interval and test (one
  stated rule for change, differences and ratios; censored times never "never");
* :mod:`analysis.reporting.rules`: a group of fewer than ``MIN_AUDITED`` (5) audited cases
  is "too few to report": no count met, no percentage, no interval, anywhere;
* :mod:`analysis.reporting.ledger`: counts of children 1 to 5 are ``c`` everywhere they
  appear, and a release-wide audit proves no suppressed count can be worked out;
* :mod:`analysis.reporting.check`: reads a built round or site back and lists every breach
  of rules 1, 3 and 5 (``release_problems``), for the whole-site property tests.
"""

from .check import PATTERNS, release_problems
from .ledger import Ledger, load_ledgers
from .numbers import (
    ROUNDING_RULE,
    count,
    counted,
    interval,
    margin,
    number,
    p_value,
    pct,
    points,
    ratio,
    round_half_up,
    share,
)
from .returns import returns_sentence
from .rules import (
    MIN_AUDITED,
    TOO_FEW,
    audited_share,
    configure,
    few_children,
    min_audited,
    reportable,
    too_few,
    too_few_reason,
)
from .words import (
    CENSORED_NOTE,
    CHANGE_RULE,
    answer_words,
    cannot_tell,
    chart_data_note,
    chart_figures_where,
    chart_scroll_label,
    direction,
    missing_standard,
    ratio_direction,
)

__all__ = ["CENSORED_NOTE", "CHANGE_RULE", "MIN_AUDITED", "PATTERNS", "ROUNDING_RULE", "TOO_FEW",
           "Ledger", "load_ledgers", "release_problems",
           "answer_words", "audited_share", "cannot_tell", "chart_data_note",
           "chart_figures_where", "chart_scroll_label", "configure", "count", "counted",
           "direction", "missing_standard",
           "few_children", "interval",
           "margin", "min_audited", "number", "p_value", "pct", "points", "ratio",
           "ratio_direction", "reportable", "returns_sentence", "round_half_up", "share",
           "too_few",
           "too_few_reason"]
