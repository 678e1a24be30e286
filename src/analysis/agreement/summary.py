"""Readings in words and the summary table: the Landis & Koch (1977) bands, plain-English
descriptions of a result, the prevalence-paradox note (Feinstein & Cicchetti 1990) and
``agreement_summary``, every multi-rater statistic on the same bootstrap resamples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..reporting import number, pct
from .intervals import _boot_stat, _boot_weights, _check_settings
from .many_raters import _numeric_values, _prepare, _result
from .patterns import _agreement_weights, _alpha_from, _fleiss_from, _gwet_from, _moments, _pa, _pi
from .results import _LEVELS, STATISTIC_NAMES, AgreementError, AgreementResult, CiMethod, Level

# ======================================================================================
# Words
# ======================================================================================


#: Landis & Koch (1977) bands: upper limit (inclusive) and word.
LANDIS_KOCH: tuple[tuple[float, str], ...] = (
    (0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"),
    (1.00, "almost perfect"))

#: Fewer subjects than this (rated by at least two raters) are called a small sample.
SMALL_SUBJECTS = 30


def landis_koch_band(value: float) -> str:
    """Landis & Koch (1977) band of a chance-corrected coefficient, in words."""
    if value is None or not math.isfinite(value):
        return "cannot be measured"
    if value < 0:
        return "worse than chance"
    for cut, word in LANDIS_KOCH:
        if value <= cut:
            return word
    return LANDIS_KOCH[-1][1]


def band_words(estimate: float, ci_low: float | None = None, ci_high: float | None = None
               ) -> str:
    """The Landis & Koch (1977) band of an estimate, in words that never claim more than its
    interval allows: "moderate" when the whole interval lies in that band, "between fair and
    moderate" when it spans two or more (naming the bands at the two ends)."""
    word = landis_koch_band(estimate)
    if ci_low is None or ci_high is None or not (math.isfinite(ci_low)
                                                 and math.isfinite(ci_high)):
        return word
    lo, hi = landis_koch_band(ci_low), landis_koch_band(ci_high)
    return word if lo == hi else f"between {lo} and {hi}"


def _band_clause(res: AgreementResult) -> str:
    lo, hi = res.ci_low, res.ci_high
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    b_lo, b_hi = landis_koch_band(lo), landis_koch_band(hi)
    if b_lo == b_hi:
        return ""
    return (f" The interval runs from {b_lo} to {b_hi}, so the data cannot say which of those "
            "bands applies.")


def describe_agreement(res: AgreementResult) -> str:
    """One or two plain-English sentences for a non-statistician reading a result.

    Chance-corrected coefficients are put in Landis & Koch (1977) bands ("Agreement beyond
    chance is moderate (0.52, 95% interval 0.41 to 0.63)"), saying when the interval spans more
    than one band; percent agreement is read as a percentage; a small sample is called small.
    """
    key = res.key
    if res.reason:
        return res.reason[0].upper() + res.reason[1:] + "."
    if not math.isfinite(res.estimate):
        return ("Agreement cannot be measured: fewer than two ratings per subject, or every "
                "rating was the same level.")
    conf = int(round(100 * float(res.extra.get("confidence", 0.95))))
    if key == "percent_agreement":
        text = (f"Two raters gave a subject the same rating {pct(res.estimate)} of the time "
                f"({conf}% interval {pct(res.ci_low)} to {pct(res.ci_high)}); this makes no "
                "allowance for agreement by chance.")
    else:
        what = {"fleiss_kappa": "Agreement beyond chance",
                "cohen_kappa": "Agreement beyond chance",
                "gwet_ac1": "Agreement beyond chance by Gwet's AC1 (less affected when one "
                            "level dominates)",
                "gwet_ac2": "Agreement beyond chance counting near-misses as partial agreement",
                "krippendorff_alpha": "Reliability beyond chance" if res.extra.get(
                    "level", "nominal") == "nominal" else "Reliability beyond chance, counting "
                    "near-misses as partial agreement,"}.get(key, "Agreement beyond chance")
        text = (f"{what} is {landis_koch_band(res.estimate)} ({number(res.estimate)}, {conf}% "
                f"interval {number(res.ci_low)} to {number(res.ci_high)}).")
        text += _band_clause(res)
        if key == "krippendorff_alpha":
            text += (" Krippendorff (2004) advises relying on ratings only when alpha is at "
                     "least 0.80, and drawing tentative conclusions from 0.67.")
    if res.n_subjects < SMALL_SUBJECTS:
        subjects = "one subject was" if res.n_subjects == 1 else f"{res.n_subjects} subjects were"
        text += (f" Only {subjects} rated by two or more raters: a small sample, so the "
                 "interval is wide.")
    return text


def prevalence_paradox_note(percent: float, kappa: float, ac1: float,
                            largest_share: float | None = None, gap: float = 0.1
                            ) -> str | None:
    """A plain-words note when kappa is well below AC1 (by ``gap`` or more) although the raw
    agreement is high: the prevalence paradox (Feinstein & Cicchetti 1990).  None otherwise."""
    vals = (percent, kappa, ac1)
    if not all(v is not None and math.isfinite(v) for v in vals) or ac1 - kappa < gap:
        return None
    dom = ("" if largest_share is None or not math.isfinite(largest_share) else
           f" ({pct(largest_share)} of all ratings were one level)")
    return (f"Raters agreed {pct(percent)} of the time, yet kappa is only {number(kappa)}: most "
            f"ratings fell in one or two levels{dom}, so agreement by chance is high and kappa "
            f"is pulled down (the prevalence paradox, Feinstein & Cicchetti 1990). Gwet's AC1 "
            f"({number(ac1)}) is less affected by this.")


# ======================================================================================
# Summary table
# ======================================================================================


def agreement_summary(matrix: Any, level: Level = "ordinal",
                      categories: Sequence[Any] | None = None, seed: int = 0,
                      n_boot: int = 2000, confidence: float = 0.95, ci_method: CiMethod = "bca",
                      noun: str = "subject") -> pd.DataFrame:
    """All the multi-rater statistics for one subjects x raters table, one row each.

    Rows (``key``): percent_agreement, fleiss_kappa, krippendorff_alpha (at ``level``),
    gwet_ac1, and for ordered levels gwet_ac2 (Gwet's ordinal weights for ``"ordinal"``,
    quadratic weights for ``"interval"``/``"ratio"``).  Columns: key, statistic, estimate, se,
    ci_low, ci_high, n_subjects, n_raters, method, reason, reading.  A row that cannot be
    measured (one subject, fewer than two raters, one level used, a zero-width interval: see
    ``not_measurable_reason``) has NaN estimate and interval and says why in ``reason`` and
    ``reading``, with ``noun`` (e.g. "vignette") for the subjects.

    Every row uses the *same* bootstrap resamples of the subjects rated at least twice
    (``numpy.random.default_rng(seed)``; BCa intervals, or percentile with
    ``ci_method="percentile"``), so the intervals are comparable and the table is reproducible;
    ``se`` is the standard deviation of the resamples.  Fleiss'
    kappa and AC1 are reported side by side because of the prevalence paradox; when they diverge
    the kappa row's reading says why (``prevalence_paradox_note``).
    """
    if level not in _LEVELS:
        raise AgreementError(f"level must be one of {_LEVELS}; got {level!r}")
    _check_settings(confidence, n_boot)
    pat, cats = _prepare(matrix, categories)
    values = _numeric_values(cats, level)
    point = _moments(pat, pat.freq[None].astype(float))
    boot = _moments(pat, _boot_weights(pat, n_boot, seed)) if pat.n_subjects else None
    wname = "ordinal" if level == "ordinal" else "quadratic"
    wmat = _agreement_weights(wname, pat.q)
    specs: list[tuple[str, str, Any]] = [
        ("percent_agreement", STATISTIC_NAMES["percent_agreement"], lambda mo: _pa(mo)),
        ("fleiss_kappa", STATISTIC_NAMES["fleiss_kappa"],
         lambda mo: _fleiss_from(mo, "pairable")[0]),
        ("krippendorff_alpha", f"{STATISTIC_NAMES['krippendorff_alpha']} ({level})",
         lambda mo: _alpha_from(mo, level, values)[0]),
        ("gwet_ac1", STATISTIC_NAMES["gwet_ac1"], lambda mo: _gwet_from(mo, "pairable")[0]),
    ]
    if level != "nominal":
        specs.append(("gwet_ac2", f"{STATISTIC_NAMES['gwet_ac2']} ({wname} weights)",
                      lambda mo: _gwet_from(mo, "pairable", wmat)[0]))
    results: dict[str, AgreementResult] = {}
    for key, name, fn in specs:
        est, lo, hi, se, method, notes = _boot_stat(pat, fn, n_boot, seed, confidence,
                                                    ci_method, boot)
        if key == "krippendorff_alpha":
            notes["level"] = level
        results[key] = _result(key, name, est, se, lo, hi, pat, method, noun=noun, **notes)
    rows = []
    for key, res in results.items():
        reading = describe_agreement(res)
        if key == "fleiss_kappa":
            shares = _pi(point, "pooled")[0] if pat.n_subjects else np.array([math.nan])
            note = prevalence_paradox_note(results["percent_agreement"].estimate,
                                           res.estimate, results["gwet_ac1"].estimate,
                                           float(np.nanmax(shares)) if np.isfinite(
                                               shares).any() else None)
            if note:
                reading += " " + note
        rows.append({**res.as_row(), "reading": reading})
    cols = ["key", "statistic", "estimate", "se", "ci_low", "ci_high", "n_subjects", "n_raters",
            "method", "reason", "reading"]
    return pd.DataFrame(rows, columns=cols)
