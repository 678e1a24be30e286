"""Threshold consistency, 2: front-door decisions (levels compared pairwise with weighted
kappa; the share of audited contacts judged appropriate, by source and route).

Part of :mod:`analysis.thresholds` (see its docstring for the methods and sources).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .. import engine
from ..proportions import effective_interval, weights_vary
from ..reporting import (
    number,
    pct,
)
from .common import LEVEL_PAIRS, MET, NOT_MET, TRIAGE_GRADES, _isna, _levels_of, level_positions

__all__ = ["AUDITED_COLUMNS", "appropriateness_by", "audited_cases", "case_judgements",
           "cases_summary", "front_door_frame",
           "kappa_words", "level_agreement", "load_design_weights", "paired_kappa",
           "weighted_kappa_table", "weighted_share", "weights_from_manifest"]

# ======================================================================================
# 2. Front-door decisions
# ======================================================================================


def case_judgements(audit: pd.DataFrame, levels: Sequence[str] | Any,
                    met: Sequence[str] = MET, not_met: Sequence[str] = NOT_MET,
                    standard: str = "std_referral_appropriate") -> pd.DataFrame:
    """One row per audited case from the audit returns (one row per case per auditor).

    * ``appropriate``: True if most auditors who answered the standard said it was met, False
      if most said partly/no (a tie counts as not met: a referral is appropriate only when the
      auditors are agreed it is); NA when nobody could answer (not applicable, insufficient
      information), so such cases leave the denominator as the Hackney audit did.
    * ``tier_judged``: the auditors' regrading (the lower median if they differ).
    * ``triage_grade_judged``: the auditors' triage grade (the lower median if they differ).
    """
    lv = _levels_of(levels)
    a = audit.copy()
    out = pd.DataFrame(index=pd.Index(sorted(a["case_id"].unique()), name="case_id"))
    out["auditors"] = a.groupby("case_id")["auditor_id"].nunique()
    if standard in a.columns:
        ans = a[standard].astype("object")
        a["_met"] = np.where(ans.isin(list(met)), 1.0, np.where(ans.isin(list(not_met)), 0.0,
                                                                 np.nan))
        g = a.groupby("case_id")["_met"]
        share = g.mean()
        answered = g.count()
        app = pd.Series(pd.NA, index=share.index, dtype="boolean")
        ok = answered > 0
        app[ok] = share[ok] > 0.5
        out["appropriate"] = app
    for col, scale in (("tier_judged", lv), ("triage_grade_judged", list(TRIAGE_GRADES))):
        if col in a.columns:
            a["_pos"] = level_positions(a[col], scale)
            med = a.groupby("case_id")["_pos"].agg(
                lambda s: np.nan if s.dropna().empty else float(np.sort(s.dropna())[
                    (len(s.dropna()) - 1) // 2]))
            out[col] = med.map(lambda p, sc=scale: sc[int(p)] if not np.isnan(p) else pd.NA)
    return out.reset_index()


def front_door_frame(cases: pd.DataFrame, audit: pd.DataFrame, levels: Sequence[str] | Any,
                     weights: pd.DataFrame | pd.Series | None = None,
                     met: Sequence[str] = MET, not_met: Sequence[str] = NOT_MET,
                     standard: str = "std_referral_appropriate") -> pd.DataFrame:
    """The audited front-door contacts: case attributes joined to the auditors' judgements and
    to the design weight of each case (``appropriate`` from the audit column ``standard``, as
    in ``case_judgements``).

    ``weights`` is a frame with ``case_id`` and ``design_weight`` (e.g. the sample manifest's
    cases, or ``analysis.sampling.attach_weights`` output) or a Series indexed by case_id; when
    absent every case weighs 1 (a simple random sample).  The frame is for computing; it holds
    pseudonymised ids and must never be displayed.
    """
    judged = case_judgements(audit, levels, met, not_met, standard)
    keep = [c for c in ("case_id", "referral_source", "route", "service", "team", "age_band",
                        "domestic_abuse", "triage_grade", "referrer_level", "level_of_need",
                        "outcome", "contact_date", "referral_date") if c in cases.columns]
    df = judged.merge(cases[keep], on="case_id", how="left", validate="one_to_one")
    df["design_weight"] = 1.0
    if weights is not None:
        w = (weights.set_index("case_id")["design_weight"] if isinstance(weights, pd.DataFrame)
             else weights)
        if isinstance(weights, pd.DataFrame) and "stratum" in weights.columns:
            df["stratum"] = df["case_id"].map(weights.set_index("case_id")["stratum"])
        df["design_weight"] = df["case_id"].map(w).astype(float)
        if df["design_weight"].isna().any():
            missing = int(df["design_weight"].isna().sum())
            raise ValueError(f"{missing} audited case(s) have no design weight: the audit returns "
                             "and the sample manifest do not match (were the returns made for "
                             "another sample?)")
    return df


def weights_from_manifest(manifest: str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """``case_id`` and ``design_weight`` from a sample manifest (JSON path or parsed dict).

    Uses ``analysis.sampling`` when it offers a reader; otherwise reads the manifest's list of
    selected cases (``cases``/``selected``/``sample`` entries with ``case_id`` and
    ``design_weight``).  If a manifest gives only strata (population N_h, sample n_h), the
    weight of a case in stratum h is N_h / n_h.
    """
    import json

    if isinstance(manifest, (str, Path)):
        data = json.loads(Path(manifest).read_text("utf-8"))
    else:
        data = manifest
    for key in ("cases", "selected", "sample", "units"):
        items = data.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            df = pd.DataFrame(items)
            if "design_weight" in df.columns:
                keep = ["case_id", "design_weight"] + (["stratum"] if "stratum" in df.columns
                                                       else [])
                return df[keep].astype({"design_weight": float})
            if {"stratum"} <= set(df.columns) and "strata" in data:
                strata = pd.DataFrame(data["strata"])
                pop = next(c for c in ("population", "N", "N_h") if c in strata.columns)
                smp = next(c for c in ("sampled", "n", "n_h", "sample") if c in strata.columns)
                strata["design_weight"] = strata[pop] / strata[smp]
                df = df.merge(strata[["stratum", "design_weight"]], on="stratum")
                return df[["case_id", "design_weight", "stratum"]]
    raise ValueError("the sample manifest lists no cases with design weights")


def weighted_kappa_table(table: np.ndarray, weights: Literal["linear", "quadratic"] | None = None
                         ) -> float:
    """Cohen's kappa (weights=None) or weighted kappa (Cohen 1968) from a square table of
    counts or of summed design weights: kappa = 1 - sum(w_d * p_o) / sum(w_d * p_e) with
    disagreement weights w_d = |i-j|/(k-1) (linear) or (|i-j|/(k-1))^2 (quadratic)."""
    t = np.asarray(table, dtype=float)
    k = t.shape[0]
    tot = t.sum()
    if tot <= 0:
        return math.nan
    po = t / tot
    pe = np.outer(po.sum(axis=1), po.sum(axis=0))
    i, j = np.indices((k, k))
    if weights is None:
        wd = (i != j).astype(float)
    elif weights == "linear":
        wd = np.abs(i - j) / max(k - 1, 1)
    elif weights == "quadratic":
        wd = ((i - j) / max(k - 1, 1)) ** 2
    else:
        raise ValueError("weights must be None, 'linear' or 'quadratic'")
    de = float(np.sum(wd * pe))
    if de == 0:
        return math.nan
    return 1.0 - float(np.sum(wd * po)) / de


def _pair_table(a: np.ndarray, b: np.ndarray, k: int, w: np.ndarray) -> np.ndarray:
    idx = a.astype(int) * k + b.astype(int)
    return np.bincount(idx, weights=w, minlength=k * k).reshape(k, k)


def paired_kappa(a: Sequence[Any], b: Sequence[Any], categories: Sequence[str],
                 weights: Literal["linear", "quadratic"] | None = "linear",
                 case_weights: Sequence[float] | None = None, strata: Sequence[Any] | None = None,
                 seed: int = 0, n_boot: int = 2000, confidence: float = 0.95) -> dict[str, Any]:
    """(Weighted) kappa between two sets of ordinal judgements of the same cases.

    With equal case weights this is Cohen's weighted kappa on the table of counts; with design
    weights the table holds summed weights, so each case counts for the number of cases it
    represents.  The interval is a percentile bootstrap resampling cases (within strata when
    given: the sample design).  Also returns exact agreement and agreement within one level
    (weighted the same way).
    """
    cat = [str(c) for c in categories]
    pa = level_positions(pd.Series(list(a), dtype="object"), cat)
    pb = level_positions(pd.Series(list(b), dtype="object"), cat)
    w = np.ones(len(pa)) if case_weights is None else np.asarray(case_weights, dtype=float)
    ok = ~np.isnan(pa) & ~np.isnan(pb) & ~np.isnan(w)
    pa, pb, w = pa[ok], pb[ok], w[ok]
    st = (np.zeros(len(pa), dtype=int) if strata is None
          else pd.factorize(pd.Series(list(strata))[ok].to_numpy())[0])
    k = len(cat)
    n = len(pa)
    res: dict[str, Any] = {"n": n, "kappa": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                           "exact_agreement": math.nan, "within_one": math.nan,
                           "weights": weights or "unweighted",
                           "design_weighted": weights_vary(w)}
    if n < 2:
        return res
    res["kappa"] = weighted_kappa_table(_pair_table(pa, pb, k, w), weights)
    res["exact_agreement"] = float(np.sum(w * (pa == pb)) / w.sum())
    res["within_one"] = float(np.sum(w * (np.abs(pa - pb) <= 1)) / w.sum())
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(st == s) for s in np.unique(st)]
    boots = np.empty(n_boot)
    for r in range(n_boot):
        idx = np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
        boots[r] = weighted_kappa_table(_pair_table(pa[idx], pb[idx], k, w[idx]), weights)
    boots = boots[~np.isnan(boots)]
    if boots.size:
        alpha = (1 - confidence) / 2
        res["ci_low"], res["ci_high"] = (float(np.quantile(boots, alpha)),
                                         float(np.quantile(boots, 1 - alpha)))
    return res


def kappa_words(kappa: float, ci_low: float | None = None, ci_high: float | None = None
                ) -> str:
    """Landis & Koch (1977) descriptive band, in words a QA sub-committee uses; with an
    interval, "between fair and moderate" when the interval spans bands
    (``analysis.agreement.band_words``)."""
    from ..agreement import band_words

    if kappa is None or _isna(kappa):
        return "cannot be measured"
    return band_words(float(kappa), ci_low, ci_high)


def level_agreement(df: pd.DataFrame, levels: Sequence[str] | Any,
                    pairs: Iterable[tuple[str, str, str]] = LEVEL_PAIRS,
                    weights: Literal["linear", "quadratic"] | None = "linear",
                    weight_col: str | None = "design_weight", strata_col: str | None = "stratum",
                    seed: int = 0, n_boot: int = 2000) -> pd.DataFrame:
    """Weighted kappa for each pair of level judgements (referrer, front door, auditor).

    Design weights are used when they vary (an over-sampled group does not dominate); the
    ``reading`` says in plain words how often the two judgements agree.
    """
    lv = _levels_of(levels)
    rows = []
    for a, b, label in pairs:
        if a not in df.columns or b not in df.columns:
            continue
        w = df[weight_col] if weight_col and weight_col in df.columns else None
        s = df[strata_col] if strata_col and strata_col in df.columns else None
        r = paired_kappa(df[a], df[b], lv, weights=weights, case_weights=w, strata=s, seed=seed,
                         n_boot=n_boot)
        reading = (f"{label}: the same level in {pct(r['exact_agreement'])} of cases and "
                   f"no more than one level apart in {pct(r['within_one'])}; beyond chance "
                   f"the agreement is {kappa_words(r['kappa'], r['ci_low'], r['ci_high'])} "
                   f"(weighted kappa "
                   f"{number(r['kappa'])}, 95% interval {number(r['ci_low'])} to "
                   f"{number(r['ci_high'])}, "
                   f"{r['n']} cases).") if r["n"] >= 2 else f"{label}: too few cases."
        rows.append({"comparison": label, "first": a, "second": b, **r, "reading": reading})
    return pd.DataFrame(rows)


def weighted_share(values: Sequence[Any], weights: Sequence[float] | None = None,
                   confidence: float = 0.95) -> dict[str, Any]:
    """Share of True among non-missing ``values`` with its interval.

    Equal weights: Wilson score interval (``analysis.proportions.proportion_ci``).  Varying
    design weights: ``analysis.proportions.weighted_proportion_ci`` (weighted estimate with an
    effective-sample-size interval).  Returns successes, n, estimate, ci_low, ci_high, method.
    """
    v = pd.Series(list(values), dtype="object")
    w = pd.Series(np.ones(len(v)) if weights is None else np.asarray(weights, dtype=float))
    ok = v.notna().to_numpy() & ~v.map(_isna).to_numpy()
    vv = v[ok].astype(bool).to_numpy()
    ww = w[ok].to_numpy()
    n = int(vv.size)
    x = int(vv.sum())
    out: dict[str, Any] = {"successes": x, "n": n, "estimate": math.nan, "ci_low": math.nan,
                           "ci_high": math.nan, "method": ""}
    if n == 0:
        return out
    if weights_vary(ww):
        est, lo, hi, method = _weighted_ci(vv, ww, confidence)
    else:
        est, lo, hi, method = _plain_ci(x, n, confidence)
    out.update(estimate=est, ci_low=lo, ci_high=hi, method=method)
    return out


def _plain_ci(x: int, n: int, confidence: float) -> tuple[float, float, float, str]:
    try:
        from .. import proportions

        r = proportions.proportion_ci(x, n, confidence=confidence)
        est, lo, hi = _unpack_ci(r, x / n)
        return est, lo, hi, "Wilson score interval"
    except ImportError:
        lo, hi = effective_interval(x, n, confidence)
        return x / n, lo, hi, "Wilson score interval"


def _weighted_ci(v: np.ndarray, w: np.ndarray, confidence: float
                 ) -> tuple[float, float, float, str]:
    try:
        from .. import proportions

        r = proportions.weighted_proportion_ci(v.astype(float), w, confidence=confidence)
        est, lo, hi = _unpack_ci(r, float(np.sum(w * v) / np.sum(w)))
        method = getattr(r, "method", "") or "design-weighted, Wilson interval on the effective " \
                                              "sample size (Kish)"
        return est, lo, hi, str(method)
    except ImportError:
        p = float(np.sum(w * v) / np.sum(w))
        n_eff = float(np.sum(w) ** 2 / np.sum(w * w))
        lo, hi = effective_interval(p * n_eff, n_eff, confidence)
        return p, lo, hi, "design-weighted, Wilson interval on Kish's effective sample size"


def _unpack_ci(r: Any, default: float) -> tuple[float, float, float]:
    """Estimate and interval from whatever ``analysis.proportions`` returns."""
    if isinstance(r, dict):
        return (float(r.get("estimate", r.get("p", default))), float(r["ci_low"]),
                float(r["ci_high"]))
    if hasattr(r, "ci_low"):
        est = getattr(r, "estimate", getattr(r, "p", default))
        return float(est), float(r.ci_low), float(r.ci_high)
    t = tuple(r)
    if len(t) == 2:
        return default, float(t[0]), float(t[1])
    return float(t[0]), float(t[1]), float(t[2])


def appropriateness_by(df: pd.DataFrame, by: str | None, outcome: str = "appropriate",
                       weight_col: str | None = "design_weight",
                       labels: dict[str, str] | None = None, confidence: float = 0.95
                       ) -> pd.DataFrame:
    """Share of audited contacts judged appropriate, overall (``by=None``) or per group.

    Design-weighted where the weights vary; ``n`` is the number of audited cases with an
    answer and ``successes`` the unweighted count judged appropriate.
    """
    parts = [("All contacts", df)] if by is None else [
        ((labels or {}).get(k, k), g) for k, g in df.groupby(by, sort=True, observed=True)]
    code_of = {} if by is None else {(labels or {}).get(k, k): k for k in df[by].dropna().unique()}
    rows = []
    for name, g in parts:
        w = g[weight_col] if weight_col and weight_col in g.columns else None
        r = weighted_share(g[outcome], w, confidence)
        rows.append({"group": name, "code": "all" if by is None else code_of[name], **r})
    return pd.DataFrame(rows, columns=["group", "code", "successes", "n", "estimate", "ci_low",
                                       "ci_high", "method"])




#: Columns of the cases table the audited contacts carry into ``front_door_frame`` and
#: ``triage_frame``.
AUDITED_COLUMNS = ("case_id", "referral_source", "route", "service", "team", "age_band",
                   "domestic_abuse", "triage_grade", "referrer_level", "level_of_need",
                   "outcome", "contact_date", "referral_date", "council")


def audited_cases(cases: engine.Source, case_ids: Iterable[Any],
                  columns: Sequence[str] | None = AUDITED_COLUMNS) -> pd.DataFrame:
    """The rows of the cases table whose ``case_id`` is one of ``case_ids`` (the audit's
    cases), joined in DuckDB so that only those rows reach pandas (``cases``: a frame, a
    Parquet file or a pool directory, :func:`analysis.engine.source`).  ``columns``: those
    of them the table has (None: every column).  The frame holds pseudonymised ids: for
    computing, never for display.

    A regional pool (``sqa pool``) prefixes each council's ids with its code
    (``E09000012:cs_...``), while one council's audit, ingested with that council's key,
    holds its ids unprefixed.  An unprefixed id is matched to the pooled id that ends in it
    and the row keeps the audit's id, so the audit joins to its rows; the council's own key
    makes the match unique (the same child has a different pseudonym in another council),
    and an id found in two councils is refused rather than guessed.
    """
    wanted = sorted({str(i) for i in case_ids if not _isna(i)})
    ids = pd.DataFrame({"case_id": pd.Series(wanted, dtype=object)})
    with engine.table(cases) as t:
        have = t.columns
        if "case_id" not in have:
            raise ValueError("the cases table has no case_id column")
        keep = t.present(columns)
        t.con.register("audited_ids", ids)
        bare = "council" in have and any(":" not in i for i in wanted)
        if not bare:
            out = t.select(keep, where="CAST(case_id AS VARCHAR) IN (SELECT case_id FROM "
                                       "audited_ids)", order="case_id")
        else:  # a pool, and an audit of one council: match on the id after the prefix
            sel = ", ".join("m.id AS case_id" if c == "case_id" else f"t.{engine.quote(c)}"
                            for c in keep)
            out = engine.run(t.con, f"""
                WITH t AS (SELECT *, CAST(case_id AS VARCHAR) AS _full FROM {t.sql}),
                m AS (SELECT _full, CASE WHEN _full IN (SELECT case_id FROM audited_ids)
                                         THEN _full ELSE split_part(_full, ':', 2) END AS id
                      FROM t WHERE _full IN (SELECT case_id FROM audited_ids)
                         OR split_part(_full, ':', 2) IN (SELECT case_id FROM audited_ids))
                SELECT {sel} FROM t JOIN m USING (_full) ORDER BY m.id""").df()
            twice = out["case_id"][out["case_id"].duplicated()]
            if len(twice):
                raise ValueError(
                    f"the audit's case id {twice.iloc[0]} is in more than one council of the "
                    "pool: run the notebook on that council's own cases table, or audit "
                    "from a sample drawn from the pool (its ids name the council)")
    return out


def cases_summary(cases: engine.Source, services: Sequence[str] | None = ("front_door",)
                  ) -> dict[str, Any]:
    """What the page says of the whole cases table, counted in DuckDB without loading it:
    ``contacts`` (rows of ``services`` when the table has a ``service`` column), ``first``
    and ``last`` contact date, and ``councils`` (the distinct councils of a pool, in order;
    empty for one council's table)."""
    with engine.table(cases, columns=("contact_date", "service", "council")) as t:
        where = t.where_in("service", services) if services and "service" in t.columns \
            else ""
        n, first, last = engine.run(t.con, f"SELECT count(*), min(contact_date), "
                                           f"max(contact_date) FROM {t.sql}"
                                           + (f" WHERE {where}" if where else "")).fetchone()
        councils: list[str] = []
        if "council" in t.columns:
            councils = [str(r[0]) for r in engine.run(
                t.con, f"SELECT DISTINCT council FROM {t.sql} WHERE council IS NOT NULL "
                       "ORDER BY 1").fetchall()]
    return {"contacts": int(n), "first": pd.Timestamp(first) if first is not None else pd.NaT,
            "last": pd.Timestamp(last) if last is not None else pd.NaT,
            "councils": councils}


def load_design_weights(manifest: str | Path | Mapping[str, Any],
                        cases: pd.DataFrame | None = None) -> pd.DataFrame:
    """case_id and design_weight for the threshold-audit sample, via ``analysis.sampling``
    (``attach_weights``) when available, else read from the manifest directly.

    ``manifest`` is the manifest's path or the manifest already read (its parsed JSON): a
    notebook that has read it once, for the sampled ids (``weights_from_manifest``), passes
    the dict here and the file is not read again; the weights are the same."""
    try:
        from .. import sampling
    except ImportError:
        return weights_from_manifest(manifest)
    if hasattr(sampling, "attach_weights") and cases is not None:
        try:
            w = sampling.attach_weights(cases[["case_id"]], manifest)
            w = w.dropna(subset=["design_weight"])
            return w[["case_id", "design_weight", *(["stratum"] if "stratum" in w.columns
                                                     else [])]]
        except (TypeError, KeyError, ValueError):
            pass
    return weights_from_manifest(manifest)


