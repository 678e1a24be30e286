"""Synthetic auditors and raters: audit returns played from the truth, in a board's own
words, and the vignette rating exercise.

The auditor error model (``AUDITOR_ERROR``, ``AUDITOR_INSUFFICIENT``, ``TIER_JUDGED_ERROR``,
``TRIAGE_JUDGED_ERROR``, ``THEME_SENSITIVITY``, ``THEME_FALSE_POSITIVE``; the overall grade on
the Ofsted scale of the WSCB 2016/17 multi-agency case file audits), the fixed rule mapping
the Hackney vocabulary onto a board's template and scale (``to_board``), and the rater model of
``generate_ratings`` (each agency's accuracy and direction of misgrades, vignette difficulty),
all stated in ``analysis.synth``'s docstring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import privacy, schemas
from ..export import write_csv
from .calibration import (
    _STANDARDS,
    AGENCY_MODEL,
    AUDIT_DATES,
    AUDITOR_ERROR,
    AUDITOR_INSUFFICIENT,
    LEVELS,
    NOT_MET_NO_SHARE,
    RATER_PREFIX,
    RATERS_PER_AGENCY,
    REFERENCE_MIX,
    STANDARD_KEYS,
    STREAMS,
    THEME_FALSE_POSITIVE,
    THEME_KEYS,
    THEME_NOTES,
    THEME_SENSITIVITY,
    THRESHOLD_AUDITORS,
    THRESHOLD_SECOND_AUDITOR,
    TIER2_AUDITORS,
    TIER_JUDGED_ERROR,
    TRIAGE,
    TRIAGE_JUDGED_ERROR,
    VIGNETTE_DIFFICULTY,
    SynthError,
)
from .draws import _dated, _draw, _misgrade, _rng

# ======================================================================================
# Audit returns
# ======================================================================================


def _answer_codes(rng: np.random.Generator, truth: np.ndarray) -> np.ndarray:
    """Auditor answers from true categories (met / not_met / not_applicable)."""
    n = len(truth)
    ins = rng.random(n) < AUDITOR_INSUFFICIENT
    err = rng.random(n) < AUDITOR_ERROR
    no = rng.random(n) < NOT_MET_NO_SHARE
    right = np.select([truth == "met", truth == "not_met"],
                      ["yes", np.where(no, "no", "partly")], "not_applicable")
    wrong = np.select([truth == "met", truth == "not_met"], ["partly", "yes"], "yes")
    return np.where(ins, "insufficient_information", np.where(err, wrong, right)).astype(object)


def overall_grade_from_answers(answers: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Overall grade from one auditor's answers: every answered standard met -> good
    (outstanding one time in six); at least 60% met -> requires improvement; else inadequate
    (the Ofsted scale the MACFAs use: WSCB 2016/17)."""
    vals = answers.to_numpy(dtype=object)
    yes = (vals == "yes").sum(axis=1)
    answered = np.isin(vals, ["yes", "partly", "no"]).sum(axis=1)
    share = np.divide(yes, answered, out=np.ones(len(vals)), where=answered > 0)
    star = rng.random(len(vals)) < 1 / 6
    return np.select([share >= 1.0, share >= 0.6],
                     [np.where(star, "outstanding", "good"), "requires_improvement"],
                     "inadequate").astype(object)


def _assign_auditors(rng: np.random.Generator, n_cases: int, kind: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(case index, auditor index) pairs: tier2 two auditors of different agencies per case;
    threshold one, or two with probability THRESHOLD_SECOND_AUDITOR."""
    panel = TIER2_AUDITORS if kind == "tier2" else THRESHOLD_AUDITORS
    agencies = np.array([a for _, a in panel])
    first = rng.integers(0, len(panel), n_cases)
    second_u = rng.random(n_cases)
    two = np.ones(n_cases, bool) if kind == "tier2" else (
        rng.random(n_cases) < THRESHOLD_SECOND_AUDITOR)
    cases_idx, aud_idx = [], []
    for i in range(n_cases):
        cases_idx.append(i)
        aud_idx.append(int(first[i]))
        if two[i]:
            others = np.flatnonzero(agencies != agencies[first[i]])
            cases_idx.append(i)
            aud_idx.append(int(others[int(second_u[i] * len(others))]))
    return np.array(cases_idx, dtype=np.int64), np.array(aud_idx, dtype=np.int64)


def _returns(rng: np.random.Generator, truth: pd.DataFrame, out_ids: np.ndarray, kind: str,
             dates: Sequence[str] | None = None) -> pd.DataFrame:
    """The auditors' rows for ``truth`` (one row per case, in order) with ids ``out_ids``."""
    if kind not in ("tier2", "threshold"):
        raise SynthError(f"kind must be 'tier2' or 'threshold', not {kind!r}")
    spec = schemas.audit_spec()
    panel = TIER2_AUDITORS if kind == "tier2" else THRESHOLD_AUDITORS
    ci, ai = _assign_auditors(rng, len(truth), kind)
    t = truth.iloc[ci].reset_index(drop=True)
    n = len(t)
    out = pd.DataFrame({"case_id": np.asarray(out_ids, dtype=object)[ci],
                        "auditor_id": np.array([panel[i][0] for i in ai], dtype=object),
                        "auditor_agency": np.array([panel[i][1] for i in ai], dtype=object)})
    dates = tuple(dates or AUDIT_DATES[kind])
    out["audit_date"] = np.array(dates, dtype=object)[rng.integers(0, len(dates), n)]
    for k in STANDARD_KEYS:
        out[f"std_{k}"] = _answer_codes(rng, t[f"std_{k}"].to_numpy(dtype=object))
    out["overall_grade"] = overall_grade_from_answers(out[[f"std_{k}" for k in STANDARD_KEYS]],
                                                      rng)
    pos = np.array([LEVELS.index(v) for v in t["true_level"]])
    out["tier_judged"] = np.array(LEVELS, dtype=object)[
        _misgrade(rng, pos, TIER_JUDGED_ERROR, 0.5, len(LEVELS))]
    tg = t["true_triage_grade"].to_numpy(dtype=object)
    has = np.array([v in TRIAGE for v in tg]) & (kind == "threshold")
    gpos = np.array([TRIAGE.index(v) if v in TRIAGE else 0 for v in tg])
    judged = np.array(TRIAGE, dtype=object)[_misgrade(rng, gpos, TRIAGE_JUDGED_ERROR, 0.5,
                                                      len(TRIAGE))]
    out["triage_grade_judged"] = np.where(has, judged, None)
    notes = []
    flags = {}
    for k in THEME_KEYS:
        true_k = t[f"theme_{k}"].to_numpy(dtype=bool)
        u = rng.random(n)
        flags[k] = np.where(true_k, u < THEME_SENSITIVITY, u < THEME_FALSE_POSITIVE)
        out[f"theme_{k}"] = flags[k]
    for i in range(n):
        said = [THEME_NOTES.get(k, k.replace("_", " ")) for k in THEME_KEYS if flags[k][i]]
        head = f"Auditor {out.at[i, 'auditor_id']}: "
        notes.append(head + ("; ".join(said) if said else "no further concerns noted"))
    out["notes"] = notes
    out = out[spec.names]
    return out.sort_values(["case_id", "auditor_id"], kind="stable").reset_index(drop=True)


def board_levels(scale: schemas.Scale | None) -> dict[str, str]:
    """Hackney tier -> the round's level: tier ``i`` of 4 -> level ``round(i*(m-1)/3)``."""
    if scale is None:
        return {lv: lv for lv in LEVELS}
    m, k = len(scale.levels), len(LEVELS)
    return {lv: scale.levels[int(round(i * (m - 1) / (k - 1)))] for i, lv in enumerate(LEVELS)}


def _sources(keys: Sequence[str], hackney: Sequence[str]) -> dict[str, str]:
    same = [k for k in keys if k in hackney]
    rest = [h for h in hackney if h not in same] or list(hackney)
    out, j = {}, 0
    for k in keys:
        if k in hackney:
            out[k] = k
        else:
            out[k] = rest[j % len(rest)]
            j += 1
    return out


def board_sources(standards: schemas.Standards) -> tuple[dict[str, str], dict[str, str]]:
    """(template standard -> Hackney standard, template theme -> Hackney theme) whose synthetic
    truth each takes: the same key, else the Hackney ones not taken by name, in order."""
    return (_sources(standards.standard_keys, STANDARD_KEYS),
            _sources(standards.theme_keys, THEME_KEYS))


def board_answers(standards: schemas.Standards) -> dict[str, str | None]:
    """Hackney answer -> the template's answer (None: left blank, not answered)."""
    met = standards.met[0] if standards.met else None
    nm = standards.not_met or ((met,) if met else (None,))
    return {"yes": met, "partly": nm[0], "no": nm[-1],
            **{a: a if a in standards.answers else None
               for a in ("not_applicable", "insufficient_information")}}


def _is_hackney(standards: schemas.Standards | None, scale: schemas.Scale | None) -> bool:
    return ((standards is None or (tuple(standards.standard_keys) == STANDARD_KEYS
                                   and tuple(standards.theme_keys) == THEME_KEYS
                                   and standards.met == ("yes",)
                                   and set(standards.answers) >= {"yes", "partly", "no"}))
            and (scale is None or tuple(scale.levels) == LEVELS))


def to_board(returns: pd.DataFrame, standards: schemas.Standards | None = None,
             scale: schemas.Scale | None = None) -> pd.DataFrame:
    """Audit returns in the Hackney vocabulary -> the round's template and scale (the rule is
    in the package docstring).  Unchanged for the Hackney template and scale."""
    if _is_hackney(standards, scale):
        return returns
    std = standards or _STANDARDS
    lv = board_levels(scale)
    out = returns[["case_id", "auditor_id", "auditor_agency", "audit_date"]].copy()
    src_std, src_theme = board_sources(std)
    amap = board_answers(std)
    for k, h in src_std.items():
        out[f"std_{k}"] = returns[f"std_{h}"].map(lambda a: amap.get(a, a)).astype(object)
    out["overall_grade"] = returns["overall_grade"]
    out["tier_judged"] = returns["tier_judged"].map(lambda v: lv.get(v, v) if isinstance(
        v, str) else v).astype(object)
    out["triage_grade_judged"] = returns["triage_grade_judged"]
    for k, h in src_theme.items():
        out[f"theme_{k}"] = returns[f"theme_{h}"].to_numpy(dtype=bool)
    notes = []
    for i in range(len(out)):
        said = [std.label(k) for k in std.theme_keys if out[f"theme_{k}"].iat[i]]
        notes.append(f"Auditor {out['auditor_id'].iat[i]}: "
                     + ("; ".join(said) if said else "no further concerns noted"))
    out["notes"] = notes
    return out[schemas.audit_spec(std, scale).names]


def simulate_audit_returns(manifest: Mapping[str, Any], truth: pd.DataFrame, seed: int,
                           kind: str = "tier2", standards: schemas.Standards | None = None,
                           scale: schemas.Scale | None = None,
                           year_end: date | str | None = None) -> pd.DataFrame:
    """Play the auditors for the cases of a sample manifest (in memory).

    ``manifest["cases"]`` lists ``{"case_id": <pseudonymised id>, ...}``; ``truth`` is the
    hidden truth keyed by raw ``case_id`` (``truth.parquet``), whose ids are pseudonymised with
    ``privacy.DEMO_KEY`` to join.  Returns one row per case per auditor in the audit contract
    (``schemas.audit_spec``), the case ids as in the manifest.  The error model is in the
    package docstring (``AUDITOR_ERROR``, ``AUDITOR_INSUFFICIENT``, ``TIER_JUDGED_ERROR``,
    ``TRIAGE_JUDGED_ERROR``, ``THEME_SENSITIVITY``, ``THEME_FALSE_POSITIVE``).  With a
    board's own ``standards`` and ``scale`` the answers follow ``to_board``.  The audit
    dates are ``AUDIT_DATES`` moved into the synthetic year ending ``year_end`` (``_dated``;
    None: the demo year).
    """
    if kind not in ("tier2", "threshold"):
        raise SynthError(f"kind must be 'tier2' or 'threshold', not {kind!r}")
    try:
        wanted = [str(c["case_id"]) for c in manifest["cases"]]
    except (KeyError, TypeError) as exc:
        raise SynthError("the sample manifest has no list of cases with case_id (expected "
                         "{'cases': [{'case_id': ...}, ...]}); draw the sample again with "
                         "`sqa sample`") from exc
    missing_cols = {"case_id", "true_level", *(f"std_{k}" for k in STANDARD_KEYS)} - set(
        truth.columns)
    if missing_cols:
        raise SynthError(f"the truth table lacks column(s) {sorted(missing_cols)}; regenerate "
                         "it with `sqa synth`")
    key = privacy.DEMO_KEY
    pseud = privacy.pseudonymise_series(truth["case_id"].astype("object"), key, "case")
    t = truth.assign(_pid=pseud.to_numpy(dtype=object)).drop_duplicates("_pid").set_index("_pid")
    missing = [c for c in wanted if c not in t.index]
    if missing:
        raise SynthError(f"{len(missing)} of {len(wanted)} sampled case(s) are not in the truth "
                         f"table (e.g. {missing[0]}): the sample was not drawn from the demo "
                         "data written with the same seed. Re-run `sqa synth` and the sample.")
    rows = t.loc[wanted].reset_index(drop=True)
    for col in ("true_triage_grade", *(f"theme_{k}" for k in THEME_KEYS)):
        if col not in rows.columns:
            rows[col] = None if col == "true_triage_grade" else False
    rng = np.random.default_rng([int(seed), STREAMS[f"audit_{kind}"]])
    dates = None if year_end is None else _dated(AUDIT_DATES[kind], year_end)
    return to_board(_returns(rng, rows, np.array(wanted, dtype=object), kind, dates),
                    standards, scale)


def write_audit_returns(manifest_path: str | Path, truth_path: str | Path,
                        out_path: str | Path, seed: int, kind: str = "tier2",
                        standards: schemas.Standards | None = None,
                        scale: schemas.Scale | None = None,
                        year_end: date | str | None = None) -> Path:
    """Read a sample manifest and the truth, play the auditors, write the returns CSV.

    See ``simulate_audit_returns`` (``year_end``: the synthetic year the audit is dated in).
    Raises ``FileNotFoundError`` for a missing file and
    ``SynthError`` for a manifest that does not match the truth.
    """
    manifest_path, truth_path, out_path = Path(manifest_path), Path(truth_path), Path(out_path)
    for p in (manifest_path, truth_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: not found. Run `sqa synth` (truth.parquet) and "
                                    "`sqa sample` (manifest.json) first.")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise SynthError(f"{manifest_path}: not valid JSON ({exc.msg} at line {exc.lineno}); "
                         "draw the sample again with `sqa sample`") from None
    truth = pd.read_parquet(truth_path)
    returns = simulate_audit_returns(manifest, truth, seed, kind, standards, scale, year_end)
    return write_csv(returns, out_path)


# ======================================================================================
# Vignette ratings
# ======================================================================================


def generate_ratings(seed: int, n_subjects: int = 40,
                     agencies: Sequence[str] | Mapping[str, Mapping[str, float]] | None = None,
                     raters_per_agency: int | Mapping[str, int] | None = None
                     ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A threshold-consistency vignette exercise: every rater grades every vignette.

    Vignettes get a reference level (``REFERENCE_MIX``) and a difficulty; raters of agency
    ``a`` grade at the reference level with expected probability ``accuracy_a``, misgrades
    falling one level up with probability ``p_up_a`` (see the package docstring).  ``agencies``
    is a list of names from ``AGENCY_MODEL`` or a mapping name -> {"accuracy", "p_up"};
    ``raters_per_agency`` an int or a mapping (default ``RATERS_PER_AGENCY``).

    Returns (ratings, truth): ratings has subject_id ("V01"...), rater_id ("SCH03"...),
    rater_agency, level and reference_level (codes of the hackney scale); truth holds the
    levels, each agency's accuracy, p_up and rater count, the reference mix and difficulty.
    Vectorised: 1,000 vignettes by two dozen raters take milliseconds.
    """
    if isinstance(agencies, Mapping):
        model = {str(a): {"accuracy": float(v["accuracy"]), "p_up": float(v["p_up"])}
                 for a, v in agencies.items()}
    else:
        names = list(agencies) if agencies is not None else list(AGENCY_MODEL)
        unknown = [a for a in names if a not in AGENCY_MODEL]
        if unknown:
            raise SynthError(f"no rater model for agency {unknown}; give a mapping "
                             "{agency: {'accuracy': p, 'p_up': q}} or use "
                             f"{', '.join(AGENCY_MODEL)}")
        model = {a: dict(AGENCY_MODEL[a]) for a in names}
    if n_subjects < 1:
        raise SynthError(f"n_subjects must be at least 1, not {n_subjects}")
    counts = {a: (raters_per_agency if isinstance(raters_per_agency, int) else
                  (raters_per_agency or RATERS_PER_AGENCY).get(a, 4)) for a in model}
    rng = _rng(seed, "ratings")
    k = len(LEVELS)
    ref = _draw(rng, REFERENCE_MIX, n_subjects)
    dvals = np.asarray(VIGNETTE_DIFFICULTY["values"], dtype=float)
    diff = dvals[_draw(rng, np.asarray(VIGNETTE_DIFFICULTY["probs"]), n_subjects)]
    rater_agency = [a for a in model for _ in range(int(counts[a]))]
    rater_ids = [f"{RATER_PREFIX.get(a, a[:3].upper())}{j + 1:02d}" for a in model
                 for j in range(int(counts[a]))]
    r = len(rater_ids)
    acc = np.array([model[a]["accuracy"] for a in rater_agency])
    up = np.array([model[a]["p_up"] for a in rater_agency])
    error = np.clip((1 - acc)[None, :] * diff[:, None], 0.0, 1.0)  # subjects x raters
    true_pos = np.repeat(ref[:, None], r, axis=1)
    given = _misgrade(rng, true_pos.ravel(), error.ravel(), np.tile(up, n_subjects), k)
    width = max(2, len(str(n_subjects)))
    subj = np.array([f"V{i + 1:0{width}d}" for i in range(n_subjects)], dtype=object)
    lv = np.array(LEVELS, dtype=object)
    ratings = pd.DataFrame({"subject_id": np.repeat(subj, r),
                            "rater_id": np.tile(np.array(rater_ids, dtype=object), n_subjects),
                            "rater_agency": np.tile(np.array(rater_agency, dtype=object),
                                                    n_subjects),
                            "level": lv[given], "reference_level": lv[true_pos.ravel()]})
    truth = {"levels": list(LEVELS),
             "agencies": {a: {"accuracy": model[a]["accuracy"], "p_up": model[a]["p_up"],
                              "raters": int(counts[a])} for a in model},
             "reference_mix": dict(zip(LEVELS, REFERENCE_MIX.tolist(), strict=True)),
             "vignette_difficulty": {"values": list(VIGNETTE_DIFFICULTY["values"]),
                                     "probs": list(VIGNETTE_DIFFICULTY["probs"])},
             "n_subjects": int(n_subjects), "n_raters": r}
    return ratings, truth
