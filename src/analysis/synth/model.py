"""The generating model of the synthetic year (the "truth"): front-door contacts and their
children, and the tier-2 cases' true levels, answers to the standards and themes.

Front door: DA notifications' true and recorded triage grades, appropriateness by route and
source on the log-odds scale, the front door's decision, the referrer's suggested level, the
outcome and assessment dates (WSCB 2016/17; Hackney 2011).  Tier 2: P(met) per service and
standard from ``SERVICE_STANDARD_RATES`` through a Gaussian copula with a case latent, the
true level by appropriateness (``TIER2_LEVELS``) and the themes of CHSCB 2011.  The model is
stated in full in ``analysis.synth``'s docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .calibration import (
    AGE_MIX,
    AGE_RANGE,
    AGENCY_MODEL,
    ASSESSMENT_LIMIT_WORKING_DAYS,
    ASSESSMENT_ON_TIME,
    CHILD_PROPENSITY_SHAPE,
    ETHNICITY_MIX,
    FRONT_DOOR_APPROPRIATE,
    FRONT_DOOR_DECISION,
    FRONT_DOOR_TEAMS,
    FRONT_DOOR_TIMING,
    GENDER_MIX,
    LEVEL_GIVEN_APPROPRIATE,
    LEVEL_GIVEN_TRUE_GRADE,
    LEVELS,
    MULTI_AGENCY_SHARE,
    NON_DA_SOURCE_MIX,
    OUTCOME_GIVEN_LEVEL,
    OUTCOMES,
    REFERRAL_OUTCOMES,
    SERVICE_PROFILES,
    SERVICE_STANDARD_RATES,
    SOURCE_AGENCY,
    SOURCE_APPROPRIATE_ODDS,
    SOURCES,
    STANDARD_KEYS,
    STREAMS,
    THEME_KEYS,
    THEME_RATES,
    TIER2_LEVELS,
    TRIAGE_GRADING_ERROR,
    TRUE_TRIAGE_MIX,
    SynthError,
)
from .draws import _copula_met, _draw, _draw_rows, _misgrade

# ======================================================================================
# Front door
# ======================================================================================


@dataclass
class FrontDoor:
    """Front-door contacts as integer-coded arrays (one element per contact)."""

    day: np.ndarray
    da: np.ndarray
    source: np.ndarray
    route: np.ndarray  # 0 single agency, 1 multi-agency forum
    true_grade: np.ndarray  # -1 not a DA notification
    grade: np.ndarray
    appropriate: np.ndarray
    true_level: np.ndarray
    level: np.ndarray
    referrer_level: np.ndarray  # -1 none suggested
    outcome: np.ndarray
    referral_day: np.ndarray
    referred: np.ndarray
    assess_start: np.ndarray
    assess_end: np.ndarray
    has_start: np.ndarray
    has_end: np.ndarray
    team: np.ndarray
    child: np.ndarray


def _front_door(rng: np.random.Generator, day: np.ndarray, da: np.ndarray, end: np.datetime64,
                holidays: np.ndarray, n_children: int, assessment_shift: float = 0.0
                ) -> FrontDoor:
    """Attributes of front-door contacts (see the package docstring for the model)."""
    n = len(day)
    src_names = list(NON_DA_SOURCE_MIX)
    source = np.where(da, SOURCES.index("police"),
                      np.array([SOURCES.index(s) for s in src_names])[
                          _draw(rng, NON_DA_SOURCE_MIX, n)])
    multi = np.array([MULTI_AGENCY_SHARE[s] for s in SOURCES])[source]
    route = np.where(da, 0, (rng.random(n) < multi).astype(np.int64))

    true_grade = np.where(da, _draw(rng, TRUE_TRIAGE_MIX, n), -1)
    grade = np.where(da, _draw_rows(rng, TRIAGE_GRADING_ERROR[np.maximum(true_grade, 0)]), -1)

    # Non-DA: appropriate by route and source, then the level; DA: level from the grade.
    base = np.array([FRONT_DOOR_APPROPRIATE["single_agency"],
                     FRONT_DOOR_APPROPRIATE["multi_agency_forum"]])[route]
    odds = np.array([SOURCE_APPROPRIATE_ODDS[s] for s in SOURCES])[source]
    logit = np.log(base / (1 - base)) + np.log(odds)
    p_app = 1 / (1 + np.exp(-logit))
    app_draw = rng.random(n) < p_app
    lvl_app = _draw_rows(rng, np.tile(LEVEL_GIVEN_APPROPRIATE[True], (n, 1)))
    lvl_not = _draw_rows(rng, np.tile(LEVEL_GIVEN_APPROPRIATE[False], (n, 1)))
    lvl_da = _draw_rows(rng, LEVEL_GIVEN_TRUE_GRADE[np.maximum(true_grade, 0)])
    true_level = np.where(da, lvl_da, np.where(app_draw, lvl_app, lvl_not))
    appropriate = true_level >= 2

    dec = FRONT_DOOR_DECISION
    shift = _draw(rng, np.array([dec["one_lower"], dec["exact"], dec["one_higher"]]), n) - 1
    level = np.clip(true_level + shift, 0, 3)
    under = da & (grade < true_grade)
    level = np.where(under, np.clip(np.minimum(level, true_level - 1), 0, 3), level)

    agency = [SOURCE_AGENCY.get(s) for s in SOURCES]
    acc = np.array([AGENCY_MODEL[a]["accuracy"] if a else 1.0 for a in agency])[source]
    up = np.array([AGENCY_MODEL[a]["p_up"] if a else 0.5 for a in agency])[source]
    referrer_level = _misgrade(rng, true_level, 1 - acc, up, len(LEVELS))
    no_suggestion = np.isin(source, [SOURCES.index("self_family"), SOURCES.index("anonymous")])
    referrer_level = np.where(no_suggestion, -1, referrer_level)

    outcome = _draw_rows(rng, OUTCOME_GIVEN_LEVEL[level])
    referred = np.isin(outcome, [OUTCOMES.index(o) for o in REFERRAL_OUTCOMES])
    lag = _draw(rng, np.array(FRONT_DOOR_TIMING["referral_lag"]), n).astype("timedelta64[D]")
    referral_day = np.minimum(day + lag, end)

    # Assessments (section 17 / 47): start within 0-3 days of referral; working days to
    # completion <= 45 with probability ASSESSMENT_ON_TIME.
    start = np.busday_offset(np.minimum(referral_day + _draw(
        rng, np.array(FRONT_DOOR_TIMING["assessment_lag"]), n).astype("timedelta64[D]"), end), 0,
        roll="forward", holidays=holidays)
    on_time = rng.random(n) < ASSESSMENT_ON_TIME - assessment_shift
    wd = np.where(on_time, rng.integers(5, ASSESSMENT_LIMIT_WORKING_DAYS + 1, n),
                  ASSESSMENT_LIMIT_WORKING_DAYS + 1 + np.minimum(
                      rng.exponential(FRONT_DOOR_TIMING["late_mean_overrun"], n).astype(
                          np.int64), FRONT_DOOR_TIMING["late_max_overrun"]))
    finish = np.busday_offset(start, wd, holidays=holidays)
    has_start = referred & (start <= end)
    has_end = has_start & (finish <= end)

    area = rng.integers(0, len(FRONT_DOOR_TEAMS["assessment"]), n)
    team = np.where(referred | (outcome == OUTCOMES.index("open_case")), area + 2,
                    np.where(outcome == OUTCOMES.index("early_help"), 1, 0))

    # Children: gamma propensities, so some children have many contacts.
    w = rng.gamma(CHILD_PROPENSITY_SHAPE, size=n_children)
    child = rng.choice(n_children, size=n, p=w / w.sum())
    return FrontDoor(day=day, da=da, source=source, route=route, true_grade=true_grade,
                     grade=grade, appropriate=appropriate, true_level=true_level, level=level,
                     referrer_level=referrer_level, outcome=outcome, referral_day=referral_day,
                     referred=referred, assess_start=start, assess_end=finish,
                     has_start=has_start, has_end=has_end, team=team, child=child)


def _team_names() -> list[str]:
    return [FRONT_DOOR_TEAMS["contact"], FRONT_DOOR_TEAMS["early_help"],
            *FRONT_DOOR_TEAMS["assessment"]]


def _children(rng: np.random.Generator, child: np.ndarray, day: np.ndarray,
              ages: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Per-child attributes for the children in ``child`` (any integer labels): date of birth
    consistent with every contact (unborn at most ~220 days before birth, under 18 at the last
    contact), gender and ethnicity codes.  Returns arrays indexed like ``child``."""
    uniq, inv = np.unique(child, return_inverse=True)
    m = len(uniq)
    d = day.astype(np.int64)
    first = np.full(m, np.iinfo(np.int64).max)
    last = np.full(m, np.iinfo(np.int64).min)
    np.minimum.at(first, inv, d)
    np.maximum.at(last, inv, d)
    span = (last - first) / 365.25
    if ages is None:
        band = _draw(rng, AGE_MIX, m)
        lo = np.array([AGE_RANGE[b][0] for b in AGE_MIX])[band]
        hi = np.array([AGE_RANGE[b][1] for b in AGE_MIX])[band]
    else:
        lo, hi = np.full(m, ages[0]), np.full(m, ages[1])
    age_first = lo + rng.random(m) * (hi - lo)
    age_first = np.clip(age_first, -0.6, np.maximum(17.95 - span, -0.6))
    dob = first - np.round(age_first * 365.25).astype(np.int64)
    gender = _draw(rng, GENDER_MIX, m)
    gender = np.where(age_first < 0, np.where(rng.random(m) < 0.6, 2, gender), gender)
    ethnicity = _draw(rng, ETHNICITY_MIX, m)
    return {"dob": dob[inv].astype("datetime64[D]"), "gender": gender[inv],
            "ethnicity": ethnicity[inv], "first": first[inv], "index": inv}


# ======================================================================================
# Truth: standards and themes
# ======================================================================================


def _std_frame(met: dict[str, np.ndarray], applicable: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in STANDARD_KEYS:
        out[f"std_{k}"] = np.where(~applicable[k], "not_applicable",
                                   np.where(met[k], "met", "not_met"))
    return out


def tier2_truth(services: Sequence[str], seed: int, shift: float = 0.0) -> pd.DataFrame:
    """True level and true answers to the standards for tier-2 cases of the given services.

    The model of the package docstring: P(met) = ``SERVICE_STANDARD_RATES[service][standard]
    - shift`` with a Gaussian-copula case latent; the true level follows the referral's
    appropriateness (``TIER2_LEVELS``); tier-3 consultation is not applicable below level 2B
    and for the First Response Team (already tier 3).  Columns: service, appropriate,
    true_level, std_<key> (met / not_met / not_applicable).
    """
    return _tier2_core(np.random.default_rng([int(seed), STREAMS["tier2"], 99]),
                       np.asarray(services, dtype=object), shift)


def _tier2_core(rng: np.random.Generator, services: np.ndarray, shift: float) -> pd.DataFrame:
    n = len(services)
    unknown = sorted(set(services) - set(SERVICE_STANDARD_RATES))
    if unknown:
        raise SynthError(f"no calibration for tier-2 service(s) {unknown}; known: "
                         f"{', '.join(SERVICE_STANDARD_RATES)}")
    z = rng.standard_normal(n)
    met: dict[str, np.ndarray] = {}
    for k in STANDARD_KEYS:
        rate = np.array([SERVICE_STANDARD_RATES[s][k] for s in services], dtype=float) - shift
        met[k] = _copula_met(rng, z, np.clip(rate, 0.01, 0.99))
    appropriate = met.get("referral_appropriate", np.ones(n, dtype=bool))
    frt = services == "first_response_team"
    mix = np.array([SERVICE_PROFILES[s].level_mix for s in services], dtype=float)
    lvl_app = np.where(rng.random(n) < mix[:, 0] / mix.sum(axis=1), 1, 2)
    lvl_not = _draw_rows(rng, np.tile(TIER2_LEVELS["inappropriate"], (n, 1)))
    lvl_frt_not = _draw_rows(rng, np.tile(TIER2_LEVELS["frt_inappropriate"], (n, 1)))
    true_level = np.where(frt, np.where(appropriate, 3, lvl_frt_not),
                          np.where(appropriate, lvl_app, lvl_not))
    applicable = {k: np.ones(n, dtype=bool) for k in STANDARD_KEYS}
    if "tier3_consultation" in applicable:
        applicable["tier3_consultation"] = (true_level >= 2) & ~frt
    out = pd.DataFrame({"service": services.astype(str), "appropriate": appropriate,
                        "true_level": np.array(LEVELS, dtype=object)[true_level]})
    for col, v in _std_frame(met, applicable).items():
        out[col] = v
    out["_z"] = z
    return out


def _tier2_themes(rng: np.random.Generator, t: pd.DataFrame, da: np.ndarray,
                  previous_csc: np.ndarray, delay_theme: np.ndarray) -> dict[str, np.ndarray]:
    n = len(t)
    s = t["service"].to_numpy()

    def not_met(k: str) -> np.ndarray:
        col = f"std_{k}"
        return (t[col] == "not_met").to_numpy() if col in t.columns else np.zeros(n, bool)

    forum = np.isin(s, ["partnership_triage", "mat_panel", "yprrp", "school_map"])
    r = THEME_RATES
    sib = np.array([r["siblings_not_considered"].get(x, r["siblings_not_considered"]["other"])
                    for x in s])
    themes = {
        "da_risk_not_recognised": da & (not_met("risk_assessed") | not_met(
            "safeguarding_acted_on") | not_met("threshold_applied") | not_met(
            "appropriate_tier") | (rng.random(n) < r["da_base"])),
        "adult_mh_input_missing": rng.random(n) < np.where(forum, r["adult_mh_input_missing"][
            "forum"], r["adult_mh_input_missing"]["other"]),
        "unaware_previous_csc": previous_csc & (rng.random(n) < r["unaware_previous_csc"]),
        "referral_unclear": rng.random(n) < np.where(t["appropriate"].to_numpy(),
                                                     r["referral_unclear"][True],
                                                     r["referral_unclear"][False]),
        "delay_referring_tier3": delay_theme,
        "siblings_not_considered": rng.random(n) < sib,
    }
    return {k: themes.get(k, np.zeros(n, dtype=bool)) for k in THEME_KEYS}
