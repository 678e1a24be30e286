"""What every agreement statistic returns: ``AgreementResult`` (estimate, standard error,
interval, subjects, raters, how the interval was made), the statistics' display names,
``AgreementError`` for ratings that cannot be analysed, and ``not_measurable_reason``: when a
result cannot be reported as a number with an interval (fewer than two raters, one subject,
one level used, an interval of zero width), and why, in words a report can print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Chance = Literal["pairable", "all_rated"]
IntervalMethod = Literal["analytic", "bootstrap"]
KappaInterval = Literal["fisher_z", "analytic", "bootstrap"]
CiMethod = Literal["bca", "percentile"]
WeightName = Literal["linear", "quadratic", "ordinal"]

#: Display names of the statistics (the ``statistic`` column of ``agreement_summary``).
STATISTIC_NAMES: dict[str, str] = {
    "percent_agreement": "Percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "fleiss_kappa": "Fleiss' kappa",
    "krippendorff_alpha": "Krippendorff's alpha",
    "gwet_ac1": "Gwet's AC1",
    "gwet_ac2": "Gwet's AC2",
}

_LEVELS = ("nominal", "ordinal", "interval", "ratio")


class AgreementError(ValueError):
    """Ratings that cannot be analysed; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class AgreementResult:
    """One agreement statistic with its uncertainty.

    ``se`` is None where no standard error is defined for the method used; ``method`` says how
    the interval was obtained; ``extra`` holds statistic-specific detail (observed and chance
    agreement, the standard error under the null, the bootstrap settings, ...).
    ``reason`` is empty when the statistic was measured; otherwise the estimate and interval
    are NaN and ``reason`` says why in words a report can print ("one vignette: agreement
    cannot be measured"): see ``not_measurable_reason``.
    """

    statistic: str
    estimate: float
    se: float | None
    ci_low: float
    ci_high: float
    n_subjects: int
    n_raters: int
    method: str
    extra: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def key(self) -> str:
        """Short identifier (``fleiss_kappa``, ``gwet_ac1``, ...)."""
        return str(self.extra.get("key", ""))

    def as_row(self) -> dict[str, Any]:
        """The result as a flat dict (without ``extra``), for a table."""
        return {"key": self.key, "statistic": self.statistic, "estimate": self.estimate,
                "se": math.nan if self.se is None else self.se, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n_subjects": self.n_subjects,
                "n_raters": self.n_raters, "method": self.method, "reason": self.reason}


def not_measurable_reason(n_raters: int, n_subjects: int, estimate: float, ci_low: float,
                          ci_high: float, observed_agreement: float | None = None,
                          noun: str = "subject", chance_corrected: bool = True,
                          levels_used: int | None = None) -> str:
    """Why an agreement result cannot be reported as a number with an interval ("" if it can).

    The rules, in order: fewer than two raters; no subject, or only one, rated by two or more
    raters (one vignette rated by several practitioners: a bootstrap over one subject repeats
    it and gives a zero-width interval, and the analytic variance has no degrees of freedom);
    for a chance-corrected coefficient, every rating the same level (``levels_used`` < 2:
    kappa's chance agreement is 1, and AC1's "1" would only say that nobody used another
    level) or an estimate that is otherwise undefined; and an interval of zero width (every
    rater gave every subject the same level, or every subject drew the same mix of levels, so
    nothing varies from subject to subject).  Percent agreement is a plain share, so only the
    first two rules apply to it.  Phrased for a report: "<why>: agreement cannot be measured".
    """
    if n_raters < 2:
        return "fewer than two raters: agreement cannot be measured"
    if n_subjects == 0:
        return f"no {noun} was rated by two or more raters: agreement cannot be measured"
    if n_subjects == 1:
        return f"one {noun}: agreement cannot be measured"
    if not chance_corrected:
        return ""
    if not math.isfinite(estimate) or (levels_used is not None and levels_used < 2):
        return ("every rating was the same level: agreement beyond chance cannot be "
                "measured")
    if math.isfinite(ci_low) and math.isfinite(ci_high) and ci_high - ci_low <= 1e-12:
        if observed_agreement is not None and observed_agreement >= 1 - 1e-12:
            return (f"every rater gave each {noun} the same level: agreement was complete, "
                    "but with no disagreement at all its uncertainty cannot be measured")
        return (f"every {noun} drew the same mix of levels, so the interval has no width: "
                "agreement cannot be measured")
    return ""
