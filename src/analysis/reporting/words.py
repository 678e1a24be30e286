"""Words that follow the statistics: one stated rule for each kind of claim.

* **Change and difference** (:func:`direction`, :data:`CHANGE_RULE`): a share is said to
  have *risen* or *fallen* (a group to be *higher* or *lower*) only when the stated interval
  excludes no change **and**, where a test is stated beside it, the test agrees at the same
  level; otherwise the data *cannot tell*. An interval that spans no effect never reads "no
  difference" or "no change": absence of evidence is not evidence of absence (Altman, D. G.
  & Bland, J. M. (1995) "Absence of evidence is not evidence of absence", BMJ 311:485).
* **Ratios** (:func:`ratio_direction`): the same rule on the ratio scale, with no effect at 1.
* **Censored times** (:data:`CENSORED_NOTE`): a Kaplan-Meier curve whose cases are censored
  at the round date says what share had happened *by* a time, never that something "never"
  or "always" happens.
"""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["CENSORED_NOTE", "CHANGE_RULE", "answer_words", "cannot_tell", "chart_data_note",
           "chart_figures_where", "chart_scroll_label", "direction", "missing_standard",
           "ratio_direction"]

Direction = Literal["up", "down", "unclear"]

CHANGE_RULE = ("A change or difference is called a rise or a fall only when its 95% interval "
               "excludes no change and, where a test is shown beside it, the test agrees "
               "(p below 0.05); otherwise the data cannot tell whether there was one.")

CENSORED_NOTE = ("Cases still open at the date of the round are counted up to that date "
                 "(censored): they may yet be referred on, so the curve says what share had "
                 "been referred by each time, not how many will be referred in the end.")


def _bad(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def direction(low: float | None, high: float | None, p_value: float | None = None,
              alpha: float = 0.05, null: float = 0.0) -> Direction:
    """``"up"`` when the interval lies wholly above ``null`` (and ``p_value``, when given, is
    below ``alpha``); ``"down"`` when wholly below (likewise); ``"unclear"`` otherwise,
    including when the interval and the test disagree (:data:`CHANGE_RULE`)."""
    if _bad(low) or _bad(high):
        return "unclear"
    agrees = p_value is None or (not _bad(p_value) and p_value < alpha)
    if low > null and agrees:
        return "up"
    if high < null and agrees:
        return "down"
    return "unclear"


def ratio_direction(low: float | None, high: float | None, p_value: float | None = None,
                    alpha: float = 0.05) -> Direction:
    """:func:`direction` for a ratio (odds ratio, rate ratio): no effect at 1."""
    return direction(low, high, p_value, alpha, null=1.0)


def cannot_tell(what: str) -> str:
    """The one phrase for an interval that spans no effect: "the data cannot tell whether
    {what}"."""
    return f"the data cannot tell whether {what}"


def answer_words(answers: object, joiner: str = "or") -> str:
    """Answer codes as a reader's words in quotes: ("partly", "no") -> '"partly" or "no"';
    ("requires_improvement", "inadequate") -> '"requires improvement" or "inadequate"'."""
    from ..schemas import answer_label

    words = [f'"{answer_label(str(a)).lower()}"' for a in answers]  # type: ignore[attr-defined]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {joiner} " + words[-1]


def missing_standard(template: str, label: str, part: str) -> str:
    """The plain-English line a page shows where the round's audit template lacks the standard
    a part of the page rests on: the part is skipped, the page and the round go on."""
    return (f"The audit template of this round ({template}) has no standard "
            f'"{label}", so {part} does not apply to this round and is left out.')


def chart_data_note(table_id: str, label: str | None = None) -> str:
    """The visible line under a chart that links to the table holding its numbers (HTML:
    ``table_id`` is the table's id on the same page, ``label`` its name; both escaped). The
    chart's alt text stays short and says what the chart shows (W3C WAI "Complex images":
    a short alternative, and the data in a long description elsewhere on the page)."""
    import html

    name = html.escape(label) if label else "the table of the chart's figures"
    return (f'Data: the figures drawn are in <a href="#{html.escape(table_id)}">{name}</a>.')


def chart_scroll_label() -> str:
    """The name of the box a chart sits in, which scrolls sideways on a narrow screen."""
    return "Chart: scroll sideways to see all of it on a narrow screen"


def chart_figures_where(where: str = "in the table below") -> str:
    """The alt text's last sentence: where the chart's numbers are on the page."""
    return f"The figures are {where}."
