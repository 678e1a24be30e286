"""Threshold consistency, logistic regression of an appropriate referral on source, route,
domestic abuse and age band: odds ratios, adjusted shares and plain-words readings
(design-weighted pseudo-likelihood with a sandwich variance: Binder 1983; Lumley & Scott 2017).

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..proportions import weights_vary
from ..reporting import (
    cannot_tell,
    pct,
    ratio,
    ratio_direction,
)
from .common import _isna

__all__ = ["LogisticResult", "firth_logistic", "logistic_odds_ratios", "odds_ratio_plot",
           "odds_ratio_readings"]

# --------------------------------------------------------------------------------------
# Logistic regression
# --------------------------------------------------------------------------------------


@dataclass
class LogisticResult:
    """Odds ratios of a logistic regression, with intervals, adjusted shares and readings."""

    table: pd.DataFrame
    n: int
    events: int
    outcome: str
    predictors: list[str]
    weighted: bool
    method: str
    readings: list[str] = field(default_factory=list)
    model: Any = None
    excluded: int = 0
    #: False when no model could be fitted (``reason`` says why, in plain words; ``table`` is
    #: then empty and ``readings`` holds that one sentence)
    fitted: bool = True
    reason: str = ""
    #: predictors left out of the model, each with the plain-words sentence saying why (a
    #: factor left with one group, or one that cannot be told apart from an earlier factor)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def used(self) -> list[str]:
        """The predictors the model estimated (the ones the readings take into account)."""
        return [p for p in self.predictors if p not in self.dropped]


_TABLE_COLUMNS = ["variable", "predictor", "category", "code", "n", "observed_share",
                 "adjusted_share", "reference", "odds_ratio", "ci_low", "ci_high", "p_value"]


def _collapse_rare(s: pd.Series, min_count: int, other: str = "other") -> pd.Series:
    counts = s.value_counts()
    rare = counts[counts < min_count].index
    if len(rare) == 0:
        return s
    return s.astype("object").where(~s.isin(rare), other)


def logistic_odds_ratios(df: pd.DataFrame, outcome: str, predictors: Sequence[str],
                         weight_col: str | None = None,
                         reference: dict[str, Any] | None = None,
                         labels: dict[str, dict[Any, str]] | None = None,
                         variable_labels: dict[str, str] | None = None,
                         min_count: int = 5, confidence: float = 0.95,
                         outcome_words: str = "judged appropriate", unit: str = "contacts"
                         ) -> LogisticResult:
    """Logistic regression of a yes/no ``outcome`` on categorical ``predictors`` (statsmodels).

    * Categories with fewer than ``min_count`` cases are pooled into "other" (a category with a
      handful of cases gives an odds ratio nobody can read); the reference category of each
      predictor is ``reference[p]`` or else its most common category.
    * Unweighted: maximum likelihood with model-based standard errors.  With design weights that
      vary: the weighted pseudo-likelihood (Binder 1983) with the robust sandwich variance
      (statsmodels GLM ``var_weights`` with ``cov_type="HC0"``), the usual way of fitting a
      logistic model to an unequal-probability sample (Lumley & Scott 2017).
    * Odds ratios and Wald intervals are exp(beta) and exp(beta +/- z se).  ``adjusted_share``
      is the model's average predicted share if every case had that category (marginal
      standardisation), which reads more easily than odds.
    * Any round gives a result: a factor left with one group, or one that cannot be told apart
      from an earlier factor, is dropped and named in ``dropped`` (never "taken into
      account"); when no model can be fitted (no cases, every case the same outcome, no
      factor left to compare, a singular design) ``fitted`` is False, ``reason`` says why in
      plain words and ``readings`` is that sentence.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    cols = [outcome, *predictors] + ([weight_col] if weight_col else [])
    d = df[cols].copy()
    d = d[~d[outcome].map(_isna)].dropna(subset=list(predictors))
    # categorical codes; rare categories pooled into "other"; a pooled "other" still below
    # min_count is left out of the model (reported in ``excluded``).  Leaving cases out can
    # take another factor's group below min_count, so this repeats until nothing changes.
    n_before = len(d)
    pooled = []
    for p in predictors:
        s = d[p]
        if s.dtype == bool or str(s.dtype) == "boolean":
            d[p] = s.astype(bool).map({True: "yes", False: "no"})
        else:
            d[p] = s.astype("object")
            pooled.append(p)
    while True:
        for p in pooled:
            s = _collapse_rare(d[p], min_count)
            if (s == "other").sum() < min_count:
                s = s.where(s != "other", None)
            d[p] = s
        kept = d.dropna(subset=list(predictors))
        if len(kept) == len(d):
            break
        d = kept
    excluded = n_before - len(d)
    y = d[outcome].astype(bool).astype(float).to_numpy()
    w = d[weight_col].astype(float).to_numpy() if weight_col else np.ones(len(d))
    weighted = weights_vary(w)
    vlabels = {p: (variable_labels or {}).get(p, p) for p in predictors}
    method = ("design-weighted logistic regression (pseudo-likelihood, robust sandwich "
              "variance)" if weighted else "logistic regression (maximum likelihood)")
    if excluded:
        method += (f"; {excluded} case(s) in categories too small to estimate (fewer than "
                   f"{min_count}, even pooled) left out")

    def not_fitted(reason: str, dropped: dict[str, str] | None = None) -> LogisticResult:
        res = LogisticResult(table=pd.DataFrame(columns=_TABLE_COLUMNS), n=len(d),
                             events=int(y.sum()), outcome=outcome, predictors=list(predictors),
                             weighted=weighted, method=method, excluded=excluded, fitted=False,
                             reason=reason, dropped=dropped or {})
        res.readings = odds_ratio_readings(res, outcome_words, unit)
        return res

    if not len(d):
        return not_fitted(f"the {n_before} {unit} fall in groups too small to compare (fewer "
                          f"than {min_count} in each)" if n_before else
                          f"no {unit} have every factor recorded")
    if np.ptp(y) == 0:
        every = "every one" if y[0] else "none"
        return not_fitted(f"{every} of the {len(d)} {unit} was {outcome_words}, so there "
                          "is nothing to compare")
    refs: dict[str, Any] = {}
    columns: dict[str, list[pd.Series]] = {}
    for p in predictors:
        s = d[p]
        ref = (reference or {}).get(p)
        if isinstance(ref, bool):
            ref = "yes" if ref else "no"
        if ref is None or ref not in set(s):
            ref = "no" if set(s) <= {"yes", "no"} and "no" in set(s) else (
                s.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0])
        refs[p] = ref
        cats = [c for c in sorted(s.unique(), key=str) if c != ref]
        columns[p] = [pd.Series((s == c).astype(float).to_numpy(), name=f"{p}={c}")
                      for c in cats]
    dropped = _drop_uncomparable(d, predictors, columns, refs, vlabels, labels or {},
                                 min_count, unit)
    used = [p for p in predictors if p not in dropped]
    if not used:
        return not_fitted(f"no factor has two or more groups of {unit} to compare "
                          f"({min_count} or more in each)", dropped)
    design_parts = [c for p in used for c in columns[p]]
    X = sm.add_constant(pd.concat(design_parts, axis=1), has_constant="add")
    # drop columns with no cases (all zeros) to keep the design full rank
    X = X.loc[:, (X != 0).any(axis=0)]
    names = list(X.columns)
    xmat = X.to_numpy()
    wn = w / w.mean()
    separated = _separated(xmat, y)
    fit: Any = None
    if not separated:
        import warnings

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = sm.GLM(y, xmat, family=sm.families.Binomial(),
                               var_weights=wn if weighted else None)
                fit = model.fit(cov_type="HC0") if weighted else model.fit()
            beta = np.asarray(fit.params)
            se = np.asarray(fit.bse)
            separated = bool(np.max(np.abs(beta[1:]), initial=0) > 10
                             or not np.all(np.isfinite(se)))
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError):
            separated = True
    if separated:
        try:
            with np.errstate(all="ignore"):
                beta, cov = firth_logistic(xmat, y, wn if weighted else None, robust=weighted)
            se = np.sqrt(np.diag(cov))
        except np.linalg.LinAlgError:
            beta = se = np.full(xmat.shape[1], np.nan)
            cov = None
        fit = {"params": beta, "cov": cov} if np.all(np.isfinite(se)) else None
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se))):
        return not_fitted("the calculation could not be completed on these "
                          f"{unit} (some groups hold too little information to separate one "
                          "factor from another)", dropped)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    pvalues = 2 * stats.norm.sf(np.abs(beta / se))
    rows = []
    for p in used:
        vlab = vlabels[p]
        plab = (labels or {}).get(p, {})
        order = list((labels or {}).get(p, {}))
        cats = sorted(d[p].unique(), key=lambda c, o=order: (o.index(c) if c in o else len(o),
                                                              str(c)))
        for c in [refs[p], *[c for c in cats if c != refs[p]]]:
            col = f"{p}={c}"
            # adjusted share: everyone set to category c
            xc = xmat.copy()
            for j, nm in enumerate(names):
                if nm.startswith(f"{p}="):
                    xc[:, j] = 1.0 if nm == col else 0.0
            adj = float(np.average(1 / (1 + np.exp(-(xc @ beta))), weights=w))
            sel = (d[p] == c).to_numpy()
            row = {"variable": vlab, "predictor": p, "category": plab.get(c, str(c)), "code": c,
                   "n": int(sel.sum()), "observed_share": float(np.average(y[sel], weights=w[sel]))
                   if sel.any() else math.nan, "adjusted_share": adj,
                   "reference": c == refs[p]}
            if c == refs[p] or col not in names:
                row.update(odds_ratio=1.0, ci_low=math.nan, ci_high=math.nan, p_value=math.nan)
            else:
                j = names.index(col)
                with np.errstate(over="ignore"):
                    row.update(odds_ratio=float(np.exp(beta[j])),
                               ci_low=float(np.exp(beta[j] - z * se[j])),
                               ci_high=float(np.exp(beta[j] + z * se[j])),
                               p_value=float(pvalues[j]))
            rows.append(row)
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    if separated:
        head, _, tail = method.partition("; ")
        method = head + ("; Firth's penalised likelihood because some groups were all one "
                         "outcome (Firth 1993; Heinze & Schemper 2002)") + (
                             f"; {tail}" if tail else "")
    if dropped:
        method += f"; left out: {', '.join(_lower_first(vlabels[p]) for p in dropped)}"
    res = LogisticResult(table=table, n=len(d), events=int(y.sum()), outcome=outcome,
                         predictors=list(predictors), weighted=weighted, method=method,
                         model=fit, excluded=excluded, dropped=dropped)
    res.readings = odds_ratio_readings(res, outcome_words, unit)
    return res


def _drop_uncomparable(d: pd.DataFrame, predictors: Sequence[str],
                       columns: dict[str, list[pd.Series]], refs: dict[str, Any],
                       vlabels: dict[str, str], labels: dict[str, dict[Any, str]],
                       min_count: int, unit: str) -> dict[str, str]:
    """The predictors a logistic model cannot estimate, each with a plain-words sentence.

    * a factor left with one group (after small groups are pooled or set aside) has nothing to
      compare, so it is dropped (as R's ``glm`` and statsmodels would leave it aliased with the
      constant);
    * a factor whose groups are a combination of the groups of the factors before it (every
      domestic-abuse contact from the police, say) is aliased: its columns add no rank to the
      design, so it is dropped, as R's ``glm`` reports such coefficients "not defined because
      of singularities", and the sentence names the factor it cannot be told apart from.
    """
    dropped: dict[str, str] = {}
    ones = np.ones((len(d), 1))
    kept: list[str] = []
    for p in predictors:
        name = vlabels[p]
        if not columns[p]:
            group = _lower_first(str(labels.get(p, {}).get(refs[p], refs[p])))
            dropped[p] = (f"{name} is left out of the model: only one of its groups ({group}) "
                          f"has enough {unit} to compare ({min_count} or more), so there is "
                          "nothing to compare within it.")
            continue
        mine = np.column_stack([c.to_numpy() for c in columns[p]])
        before = np.column_stack([ones, *[np.column_stack([c.to_numpy() for c in columns[q]])
                                          for q in kept]])
        full = np.column_stack([before, mine])
        if np.linalg.matrix_rank(full) < np.linalg.matrix_rank(before) + mine.shape[1]:
            partner = next((q for q in kept if np.linalg.matrix_rank(
                np.column_stack([ones, *[c.to_numpy() for c in columns[q]], mine]))
                < 1 + len(columns[q]) + mine.shape[1]), None)
            other = (_lower_first(vlabels[partner]) if partner
                     else "the other factors taken together")
            dropped[p] = (f"{name} is left out of the model: in these {unit} it goes hand in "
                          f"hand with {other}, so the two cannot be told apart.")
            continue
        kept.append(p)
    return dropped


def _separated(x: np.ndarray, y: np.ndarray) -> bool:
    """Quasi-complete separation by a single indicator column: every case with (or without)
    the indicator has the same outcome, so its maximum-likelihood odds ratio is infinite."""
    for j in range(x.shape[1]):
        for sel in (x[:, j] == 1, x[:, j] == 0):
            if sel.any() and (x[:, j] != 1).any() and np.ptp(y[sel]) == 0:
                return True
    return False


def firth_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                   robust: bool = False, max_iter: int = 200, tol: float = 1e-9
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Firth's (1993) bias-reduced logistic regression: maximise l(b) + 0.5 log|I(b)|.

    Newton steps on the modified score X'(w(y - p) + h(1/2 - p)), h the diagonal of the
    weighted hat matrix, with step halving (Heinze & Schemper 2002).  Estimates stay finite
    under separation.  Returns (coefficients, covariance): the inverse information, or with
    ``robust`` the sandwich inv(I) (sum w^2 (y - p)^2 x x') inv(I) for design weights.
    """
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    beta = np.zeros(x.shape[1])

    def parts(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        p = 1 / (1 + np.exp(-(x @ b)))
        wt = w * p * (1 - p)
        info = x.T @ (x * wt[:, None])
        sign, logdet = np.linalg.slogdet(info)
        with np.errstate(divide="ignore"):
            ll = float(np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))))
        return ll + 0.5 * logdet, p, wt, info

    pen, p, wt, info = parts(beta)
    for _ in range(max_iter):
        inv = np.linalg.inv(info)
        h = wt * np.einsum("ij,jk,ik->i", x, inv, x)
        score = x.T @ (w * (y - p) + h * (0.5 - p))
        step = inv @ score
        t = 1.0
        while True:
            new = beta + t * step
            pen_new, p_new, wt_new, info_new = parts(new)
            if pen_new >= pen - 1e-12 or t < 1e-6:
                break
            t /= 2
        beta, pen, p, wt, info = new, pen_new, p_new, wt_new, info_new
        if np.max(np.abs(t * step)) < tol:
            break
    inv = np.linalg.inv(info)
    if robust:
        s = x * (w * (y - p))[:, None]
        return beta, inv @ (s.T @ s) @ inv
    return beta, inv


def odds_ratio_readings(res: LogisticResult, outcome_words: str = "judged appropriate",
                        unit: str = "contacts") -> list[str]:
    """One plain-words sentence per non-reference category.

    The interval decides the words (``analysis.reporting.ratio_direction``): when it includes
    1 the sentence says the data cannot tell; otherwise it gives the odds ratio as "about N
    times the odds" (or "about N% lower odds") and the adjusted shares, naming the other
    factors taken into account (only those the model estimated).  A factor left out comes
    first, with why; a model that could not be fitted gives one sentence saying why.
    """
    if not res.fitted:
        return [f"The comparison that weighs the factors together could not be made this "
                f"round: {res.reason}."
                + (" " + " ".join(res.dropped.values()) if res.dropped else "")]
    out = list(res.dropped.values())
    t = res.table
    for p in res.used:
        sub = t[t["predictor"] == p]
        if sub.empty:
            continue
        ref = sub[sub["reference"]].iloc[0]
        others = [_lower_first(t[t["predictor"] == q]["variable"].iloc[0]) for q in
                  res.used if q != p and not t[t["predictor"] == q].empty]
        held = f", taking {_and_join(others)} into account" if others else ""
        ref_cat = _lower_first(str(ref.category))
        for r in sub[~sub["reference"]].itertuples():
            if _isna(r.ci_low):
                continue
            head = _or_head(r.variable, r.category)
            shares = (f" (adjusted shares {pct(r.adjusted_share)} against "
                      f"{pct(ref.adjusted_share)})")
            way = ratio_direction(r.ci_low, r.ci_high)
            if way == "unclear":
                what = f"the chance of being {outcome_words} differs from {ref_cat}"
                text = (f"{head}: {cannot_tell(what)}{held}{shares}; the 95% interval of the "
                        f"odds ratio ({ratio(r.ci_low)} to {ratio(r.ci_high)}) includes 1.")
            elif way == "up":
                text = (f"{head}: about {ratio(r.odds_ratio)} times the odds of being "
                        f"{outcome_words} compared with {ref_cat}{held}{shares}; 95% interval "
                        f"{ratio(r.ci_low)} to {ratio(r.ci_high)} times.")
            else:
                text = (f"{head}: about {pct(1 - r.odds_ratio)} lower odds of being "
                        f"{outcome_words} than {ref_cat}{held}{shares}; odds ratio "
                        f"{ratio(r.odds_ratio)}, 95% interval {ratio(r.ci_low)} to "
                        f"{ratio(r.ci_high)}.")
            out.append(text)
    return out


def _lower_first(text: str) -> str:
    """'Via a forum' -> 'via a forum'; keeps acronyms and proper names ('CSC', 'Police')."""
    if not text or text[:2].isupper() or text.split(" ")[0] in {"Police", "Housing"}:
        return text
    return text[0].lower() + text[1:]


def _and_join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or_head(variable: str, category: str) -> str:
    return f"{variable}, {_lower_first(str(category))}"


def odds_ratio_plot(res: LogisticResult, title: str):
    """Forest plot of odds ratios (log scale) with 95% intervals; reference categories are
    marked at 1 with an open marker."""
    import matplotlib.pyplot as plt

    from ..figures import PALETTE

    t = res.table.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.32 * len(t)))
    ypos = np.arange(len(t))
    for i, r in t.iterrows():
        if r["reference"]:
            ax.plot(1, i, marker="o", mfc="white", mec=PALETTE["black"], ms=6)
        else:
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=PALETTE["blue"], lw=2)
            ax.plot(r["odds_ratio"], i, marker="s", color=PALETTE["blue"], ms=6)
    ax.axvline(1, color=PALETTE["grey"], ls="--", lw=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(ypos, [f"{r.variable}: {r.category}" + (" (comparison)" if r.reference else "")
                         for r in t.itertuples()], fontsize=8)
    ax.set_xlabel("Odds ratio (log scale; 1 = the same odds as the comparison group)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


