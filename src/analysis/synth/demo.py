"""The demo year: every frame ``write_demo`` writes (``demo_frames``), the previous tier-2
round, and writing them to disk.

Puts together the front door, the tier-2 cases, the children, the referral history, the hidden
truth, a previous round (Hackney 2011's sample composition, compliance lower by
``PREVIOUS_ROUND_SHIFT``), the vignette ratings and the Annex A workbook; the known changes of
a series of demo rounds (``shift``, ``assessment_shift``, ``year_end``) are described in
``demo_frames``.  CSV through ``analysis.export.write_csv``, so the same seed gives
byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schemas
from ..export import write_csv
from .annex import AnnexSheet, annex_a_workbook, write_annex_a_workbook
from .auditors import _is_hackney, _returns, board_levels, generate_ratings, to_board
from .calibration import (
    ASSESSMENT_LIMIT_WORKING_DAYS,
    ASSESSMENT_ON_TIME,
    CHILD_POOL_RATIO,
    CONTACTS_PER_MONTH,
    DEFAULT_STANDARD_RATE,
    ETHNICITY_MIX,
    FRONT_DOOR_RATES,
    FRONT_DOOR_THEME_RATES,
    FRONT_DOOR_TIMING,
    FY_END,
    GENDER_MIX,
    HACKNEY_SAMPLE,
    HISTORY_DA_FACTOR,
    KNOWN_BEFORE_SHARE,
    LEVELS,
    MIN_DEMO_CONTACTS,
    OUTCOME_GIVEN_LEVEL,
    OUTCOMES,
    PREVIOUS_ROUND_AUDIT_DATE,
    PREVIOUS_ROUND_SHIFT,
    REFERRAL_OUTCOMES,
    REFERRAL_UNCLEAR,
    SERVICE_PROFILES,
    SOURCES,
    STANDARD_KEYS,
    THEME_KEYS,
    TIER2_DYNAMICS,
    TIER2_SERVICES,
    TIER3_DELAY_MEAN_DAYS,
    TIER3_DELAY_THEME_DAYS,
    TIER3_ESCALATION,
    TRIAGE,
    SynthError,
)
from .draws import (
    _contact_days,
    _copula_met,
    _dated,
    _days_to_ts,
    _draw,
    _draw_rows,
    _holidays,
    _misgrade,
    _rng,
    _year,
    demo_calendar,
    referrals_in_previous_year,
)
from .model import (
    FrontDoor,
    _children,
    _front_door,
    _std_frame,
    _team_names,
    _tier2_core,
    _tier2_themes,
)

# ======================================================================================
# The demo year
# ======================================================================================


@dataclass
class DemoData:
    """Everything ``write_demo`` writes, as frames (raw ids)."""

    cases: pd.DataFrame
    truth: pd.DataFrame
    ratings: pd.DataFrame
    previous_returns: pd.DataFrame
    annex_a: list[AnnexSheet]  # the Annex A workbook's sheets (lists 1-8): synth.annex
    annex_a_bad: dict[str, dict[str, int]]  # table -> kind of bad row -> sheet row number


def demo_frames(seed: int = 20161, contacts: int | None = None, shift: float = 0.0,
                year_end: date | str | None = None, assessment_shift: float = 0.0
                ) -> DemoData:
    """Generate the demo year in memory (see the package docstring); ``write_demo`` writes it.

    Two stated, known changes make a series of demo rounds (issue 14: a baseline, a repeat and
    a re-repeat whose changes the trends page must recover):

    * ``shift``: every tier-2 service's P(met) of every standard is lower by ``shift``
      (absolute, clipped to [0.01, 0.99]: ``_tier2_core``); the synthetic previous round is
      lower by ``shift + PREVIOUS_ROUND_SHIFT``.
    * ``assessment_shift``: the front door's P(assessment completed within 45 working days)
      is ``ASSESSMENT_ON_TIME - assessment_shift`` (the same random draws, so 0 leaves the
      demo byte-identical): a change in a monthly measure that the XmR chart of the rounds'
      months should find.
    * ``year_end``: the last day of the synthetic financial year (``demo_calendar``): contacts,
      referrals, assessments, the Annex A workbook and the audit dates are dated in the year
      to it.  None is the demo round's year (1 April 2025 to 31 March 2026).

    With the defaults the output is the demo round's, byte for byte.
    """
    fy_start, fy_end, history_start = demo_calendar(year_end)
    hol = _holidays(_year(fy_end) - 2, _year(fy_end) + 1)
    rng = _rng(seed, "front_door")
    # History year then the current year; DA and other contacts as separate Poisson streams.
    if contacts is None:
        da_cur = _contact_days(rng, fy_start, fy_end, CONTACTS_PER_MONTH["domestic_abuse"])
        ot_cur = _contact_days(rng, fy_start, fy_end, CONTACTS_PER_MONTH["other"])
    else:
        if contacts < MIN_DEMO_CONTACTS:
            raise SynthError(f"--contacts {contacts}: the demo year needs at least "
                             f"{MIN_DEMO_CONTACTS:,} contacts (100 a month) so that the Annex A "
                             "list and the threshold-audit sample can be drawn; leave it out "
                             "for the default of about 800 a month.")
        share = CONTACTS_PER_MONTH["domestic_abuse"] / sum(CONTACTS_PER_MONTH.values())
        n_da = int(rng.binomial(contacts, share))
        da_cur = _contact_days(rng, fy_start, fy_end, total=n_da)
        ot_cur = _contact_days(rng, fy_start, fy_end, total=contacts - n_da)
    scale = (len(da_cur) + len(ot_cur)) / (12 * sum(CONTACTS_PER_MONTH.values()))
    da_hist = _contact_days(rng, history_start, fy_start - 1,
                            CONTACTS_PER_MONTH["domestic_abuse"] * HISTORY_DA_FACTOR * scale)
    ot_hist = _contact_days(rng, history_start, fy_start - 1, CONTACTS_PER_MONTH["other"] * scale)
    day = np.concatenate([da_hist, ot_hist, da_cur, ot_cur])
    da = np.concatenate([np.ones(len(da_hist), bool), np.zeros(len(ot_hist), bool),
                         np.ones(len(da_cur), bool), np.zeros(len(ot_cur), bool)])
    order = np.lexsort((rng.random(len(day)), day))
    day, da = day[order], da[order]
    n_children = max(int(len(day) * CHILD_POOL_RATIO), 1)
    fd = _front_door(rng, day, da, fy_end, hol, n_children, float(assessment_shift))

    # Tier-2 cases (current year only); some First Response Team and tier-2 social work
    # children are front-door children.
    trng = _rng(seed, "tier2")
    t_services = np.array([s for s in TIER2_SERVICES
                           for _ in range(SERVICE_PROFILES[s].population)], dtype=object)
    t = _tier2_core(trng, t_services, float(shift))
    nt = len(t)
    t_day = fy_start + (trng.random(nt) * ((fy_end - fy_start).astype(int) + 1)).astype(
        np.int64)
    shared = np.isin(t_services, ["first_response_team", "tier2_social_work"]) & (
        trng.random(nt) < TIER2_DYNAMICS["shared_child"])
    t_child = np.where(shared, fd.child[trng.integers(0, len(fd.child), nt)],
                       n_children + np.arange(nt))

    # Children: front-door pool and tier-2-only children together, ages by service.
    crng = _rng(seed, "children")
    all_child = np.concatenate([fd.child, t_child])
    all_day = np.concatenate([fd.day, t_day.astype("datetime64[D]")])
    kids = _children(crng, all_child, all_day)
    own = ~shared
    for s in TIER2_SERVICES:  # tier-2-only children get the service's age range
        sel = np.flatnonzero((t_services == s) & own)
        if len(sel):
            ages = SERVICE_PROFILES[s].ages
            k2 = _children(crng, t_child[sel], t_day[sel].astype("datetime64[D]"), ages)
            kids["dob"][len(fd.child) + sel] = k2["dob"]
            kids["gender"][len(fd.child) + sel] = k2["gender"]
            kids["ethnicity"][len(fd.child) + sel] = k2["ethnicity"]

    t_profile = [SERVICE_PROFILES[s] for s in t_services]
    t_source = np.array([SOURCES.index(list(p.sources)[_draw(trng, p.sources, 1)[0]])
                         for p in t_profile])
    t_route = (trng.random(nt) < np.array([p.multi_agency for p in t_profile])).astype(np.int64)
    t_da = trng.random(nt) < np.array([p.domestic_abuse for p in t_profile])
    t_team = np.array([p.teams[trng.integers(0, len(p.teams))] for p in t_profile],
                      dtype=object)
    true_pos = np.array([LEVELS.index(v) for v in t["true_level"]])
    frt = t_services == "first_response_team"
    # Level held: tier-2 services hold tier 2 (a tier-3 case held at 2B is held too low); the
    # First Response Team decides on the level with 90% accuracy (Hackney 2011: thresholds
    # "accurately applied" in all FRT cases).
    held_t2 = np.where(true_pos >= 2, 2, 1)
    held_t2 = np.where(trng.random(nt) < TIER2_DYNAMICS["held_sublevel_swap"], 3 - held_t2,
                       held_t2)
    held_frt = _misgrade(trng, true_pos, TIER2_DYNAMICS["frt_decision_error"], 0.5, len(LEVELS))
    t_level = np.where(frt, held_frt, held_t2)
    t_outcome = np.where(frt, _draw_rows(trng, OUTCOME_GIVEN_LEVEL[held_frt]),
                         np.where(t_services == "early_help", OUTCOMES.index("early_help"),
                                  OUTCOMES.index("tier2_service")))
    t_referred = frt & np.isin(t_outcome, [OUTCOMES.index(o) for o in REFERRAL_OUTCOMES])
    # First concern and escalation to tier 3.
    fc = TIER2_DYNAMICS["first_concern"]
    concern_p = np.select([true_pos >= 2, true_pos == 1], [fc["2B+"], fc["2A"]], fc["1"])
    has_concern = ~frt & (trng.random(nt) < concern_p)
    concern_day = np.minimum(t_day + trng.exponential(
        TIER2_DYNAMICS["first_concern_mean_days"], nt).astype(np.int64).astype(
        "timedelta64[D]"), fy_end)
    esc_p = np.select([true_pos == 3, true_pos == 2], [TIER3_ESCALATION["3"],
                                                       TIER3_ESCALATION["2B"]], 0.0)
    t_prev_known = trng.random(nt) < np.array([p.previous_csc for p in t_profile])
    mean_delay = np.where(t_prev_known, TIER3_DELAY_MEAN_DAYS[True],
                          TIER3_DELAY_MEAN_DAYS[False])
    delay = np.round(trng.gamma(2.0, mean_delay / 2.0)).astype(np.int64)
    escalate = has_concern & (trng.random(nt) < esc_p)
    tier3_day = concern_day + delay.astype("timedelta64[D]")
    has_tier3 = escalate & (tier3_day <= fy_end)
    delay_theme = (escalate & (delay > TIER3_DELAY_THEME_DAYS)) | (has_concern & (true_pos == 3)
                                                                   & ~escalate)

    # Referral history: front-door referrals (history + current) and FRT referrals.
    ref_child = np.concatenate([fd.child[fd.referred], t_child[t_referred]])
    ref_day = np.concatenate([fd.referral_day[fd.referred],
                              t_day[t_referred].astype("datetime64[D]")])
    counts = referrals_in_previous_year(ref_child, ref_day)
    n_fd_ref = int(fd.referred.sum())
    fd_count = np.full(len(fd.day), -1)
    fd_count[np.flatnonzero(fd.referred)] = counts[:n_fd_ref]
    t_count = np.full(nt, -1)
    t_count[np.flatnonzero(t_referred)] = counts[n_fd_ref:]
    # Previously known to CSC: an earlier referral of the child, or known before the history.
    known_before = crng.random(n_children + nt) < KNOWN_BEFORE_SHARE
    first_ref = np.full(n_children + nt, np.iinfo(np.int64).max)
    np.minimum.at(first_ref, ref_child, ref_day.astype(np.int64))
    fd_prev = known_before[fd.child] | (first_ref[fd.child] < fd.day.astype(np.int64))
    t_prev = (t_prev_known | known_before[t_child]
              | (first_ref[t_child] < t_day.astype(np.int64)))
    themes_t = _tier2_themes(trng, t, t_da, t_prev, delay_theme)

    # FRT assessments.
    t_start = np.busday_offset(np.minimum(t_day.astype("datetime64[D]") + trng.integers(
        0, 4, nt).astype("timedelta64[D]"), fy_end), 0, roll="forward", holidays=hol)
    t_wd = np.where(trng.random(nt) < ASSESSMENT_ON_TIME,
                    trng.integers(5, ASSESSMENT_LIMIT_WORKING_DAYS + 1, nt),
                    ASSESSMENT_LIMIT_WORKING_DAYS + 1 + trng.integers(
                        0, FRONT_DOOR_TIMING["frt_late_overrun_max"], nt))
    t_finish = np.busday_offset(t_start, t_wd, holidays=hol)
    t_has_start = t_referred & (t_start <= fy_end)
    t_has_end = t_has_start & (t_finish <= fy_end)

    # An unborn child's expected date of delivery is capped at the round date (nothing in the
    # demo data is dated after it).
    kids["dob"] = np.minimum(kids["dob"], fy_end)

    # ---- assemble the cases table (current year only) ----
    cur = fd.day >= fy_start
    idx = np.flatnonzero(cur)
    lv = np.array(LEVELS, dtype=object)
    fd_frame = pd.DataFrame({
        "_order": 0, "_day": fd.day[idx], "_child": fd.child[idx],
        "date_of_birth": _days_to_ts(kids["dob"][idx]),
        "gender": np.array(list(GENDER_MIX), dtype=object)[kids["gender"][idx]],
        "ethnicity": np.array(list(ETHNICITY_MIX), dtype=object)[kids["ethnicity"][idx]],
        "contact_date": _days_to_ts(fd.day[idx]),
        "referral_date": _days_to_ts(fd.referral_day[idx], fd.referred[idx]),
        "referral_source": np.array(SOURCES, dtype=object)[fd.source[idx]],
        "route": np.array(["single_agency", "multi_agency_forum"], dtype=object)[fd.route[idx]],
        "service": "front_door",
        "level_of_need": lv[fd.level[idx]],
        "referrer_level": np.where(fd.referrer_level[idx] >= 0,
                                   lv[np.maximum(fd.referrer_level[idx], 0)], None),
        "outcome": np.array(OUTCOMES, dtype=object)[fd.outcome[idx]],
        "domestic_abuse": fd.da[idx],
        "triage_grade": np.where(fd.da[idx], np.array(TRIAGE, dtype=object)[
            np.maximum(fd.grade[idx], 0)], None),
        "previous_csc": fd_prev[idx],
        "team": np.array(_team_names(), dtype=object)[fd.team[idx]],
        "referrals_last_12m": pd.array(np.where(fd_count[idx] >= 0, fd_count[idx], 0),
                                       dtype="Int64"),
        "first_concern_date": pd.NaT, "tier3_referral_date": pd.NaT,
        "assessment_start_date": _days_to_ts(fd.assess_start[idx], fd.has_start[idx]),
        "assessment_end_date": _days_to_ts(fd.assess_end[idx], fd.has_end[idx]),
    })
    fd_frame.loc[fd_count[idx] < 0, "referrals_last_12m"] = pd.NA
    off = len(fd.child)
    t_frame = pd.DataFrame({
        "_order": 1, "_day": t_day.astype("datetime64[D]"), "_child": t_child,
        "date_of_birth": _days_to_ts(kids["dob"][off:]),
        "gender": np.array(list(GENDER_MIX), dtype=object)[kids["gender"][off:]],
        "ethnicity": np.array(list(ETHNICITY_MIX), dtype=object)[kids["ethnicity"][off:]],
        "contact_date": _days_to_ts(t_day.astype("datetime64[D]")),
        "referral_date": _days_to_ts(t_day.astype("datetime64[D]"), t_referred),
        "referral_source": np.array(SOURCES, dtype=object)[t_source],
        "route": np.array(["single_agency", "multi_agency_forum"], dtype=object)[t_route],
        "service": t_services,
        "level_of_need": lv[t_level],
        "referrer_level": None,
        "outcome": np.array(OUTCOMES, dtype=object)[t_outcome],
        "domestic_abuse": t_da, "triage_grade": None, "previous_csc": t_prev, "team": t_team,
        "referrals_last_12m": pd.array(np.where(t_count >= 0, t_count, 0), dtype="Int64"),
        "first_concern_date": _days_to_ts(concern_day, has_concern),
        "tier3_referral_date": _days_to_ts(tier3_day, has_tier3),
        "assessment_start_date": _days_to_ts(t_start, t_has_start),
        "assessment_end_date": _days_to_ts(t_finish, t_has_end),
    })
    t_frame.loc[t_count < 0, "referrals_last_12m"] = pd.NA
    cases = pd.concat([fd_frame, t_frame], ignore_index=True)
    order = np.lexsort((np.arange(len(cases)), cases["_order"].to_numpy(),
                        cases["_day"].to_numpy()))
    cases = cases.iloc[order].reset_index(drop=True)
    cases.insert(0, "case_id", [f"CN{i:07d}" for i in range(1, len(cases) + 1)])
    cases.insert(1, "child_id", [f"{c + 10000:07d}" for c in cases["_child"]])

    # ---- truth ----
    frng = _rng(seed, "front_door_truth")
    fdt = _front_door_truth(frng, fd, idx)
    fdt["service"] = "front_door"
    tt = t.drop(columns=["_z"]).copy()
    tt["true_triage_grade"] = None
    for k, v in themes_t.items():
        tt[f"theme_{k}"] = v
    truth_rows = pd.concat([fdt, tt], ignore_index=True).iloc[order].reset_index(drop=True)
    truth_rows.insert(0, "case_id", cases["case_id"].to_numpy())
    truth_rows.insert(1, "round", "current")
    truth_rows = truth_rows.rename(columns={"appropriate": "truly_appropriate"})
    truth_rows = truth_rows[["case_id", "round", "service", "true_level", "true_triage_grade",
                             "truly_appropriate", *[f"std_{k}" for k in STANDARD_KEYS],
                             *[f"theme_{k}" for k in THEME_KEYS]]]

    prev_truth, prev_returns = _previous_round(seed, float(shift), fy_end)
    truth = pd.concat([truth_rows, prev_truth], ignore_index=True)
    truth["truly_appropriate"] = truth["truly_appropriate"].astype(bool)

    cases = cases.drop(columns=["_order", "_day", "_child"])
    ratings, _ = generate_ratings(seed=int(seed), n_subjects=40)
    ratings = ratings.copy()
    annex, bad = annex_a_workbook(_rng(seed, "annex_a_lists"), cases, fy_end)
    return DemoData(cases=cases, truth=truth, ratings=ratings, previous_returns=prev_returns,
                    annex_a=annex, annex_a_bad=bad)


def _front_door_truth(rng: np.random.Generator, fd: FrontDoor, idx: np.ndarray
                      ) -> pd.DataFrame:
    """True answers and themes for the front-door contacts ``idx``."""
    n = len(idx)
    true_level, level = fd.true_level[idx], fd.level[idx]
    da = fd.da[idx]
    under_grade = da & (fd.grade[idx] < fd.true_grade[idx])
    held_low = level < true_level
    z = rng.standard_normal(n)
    met: dict[str, np.ndarray] = {}
    for k in STANDARD_KEYS:
        met[k] = _copula_met(rng, z, np.full(n, FRONT_DOOR_RATES.get(k, DEFAULT_STANDARD_RATE)))
    met["referral_appropriate"] = fd.appropriate[idx]
    met["threshold_applied"] = level == true_level
    met["appropriate_tier"] = (level == true_level) | ((level >= 1) & (level <= 2) & (
        true_level >= 1) & (true_level <= 2))
    met["risk_assessed"] = met["risk_assessed"] & ~under_grade
    met["actions_proportionate"] = met["actions_proportionate"] & ~held_low
    met["safeguarding_acted_on"] = met["safeguarding_acted_on"] & ~((true_level == 3) & held_low)
    applicable = {k: np.ones(n, dtype=bool) for k in STANDARD_KEYS}
    applicable["tier3_consultation"] = np.zeros(n, dtype=bool)  # the front door is the door
    out = pd.DataFrame({"appropriate": fd.appropriate[idx],
                        "true_level": np.array(LEVELS, dtype=object)[true_level],
                        "true_triage_grade": np.where(da, np.array(TRIAGE, dtype=object)[
                            np.maximum(fd.true_grade[idx], 0)], None)})
    for col, v in _std_frame({k: met[k] for k in STANDARD_KEYS}, applicable).items():
        out[col] = v
    unclear = rng.random(n) < np.where(fd.appropriate[idx], REFERRAL_UNCLEAR[True],
                                       REFERRAL_UNCLEAR[False])
    themes = {"da_risk_not_recognised": da & (under_grade | held_low),
              "adult_mh_input_missing": rng.random(n) < FRONT_DOOR_THEME_RATES[
                  "adult_mh_input_missing"],
              "unaware_previous_csc": np.zeros(n, dtype=bool),
              "referral_unclear": unclear & ~da,  # a police DA notification is a set form
              "delay_referring_tier3": np.zeros(n, dtype=bool),
              "siblings_not_considered": rng.random(n) < FRONT_DOOR_THEME_RATES[
                  "siblings_not_considered"]}
    for k in THEME_KEYS:
        out[f"theme_{k}"] = themes.get(k, np.zeros(n, dtype=bool))
    return out


def _previous_round(seed: int, shift: float = 0.0, year_end: np.datetime64 = FY_END
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A previous tier-2 round: the Hackney sample composition, raw ids PRV0001..., compliance
    lower by ``shift + PREVIOUS_ROUND_SHIFT``, audited a year before the round's audit
    (``PREVIOUS_ROUND_AUDIT_DATE`` in the demo year); truth rows and the auditors' returns (raw
    ids)."""
    rng = _rng(seed, "previous")
    services = np.array([s for s, k in HACKNEY_SAMPLE.items() for _ in range(k)], dtype=object)
    t = _tier2_core(rng, services, shift + PREVIOUS_ROUND_SHIFT).drop(columns=["_z"])
    n = len(t)
    prof = [SERVICE_PROFILES[s] for s in services]
    da = rng.random(n) < np.array([p.domestic_abuse for p in prof])
    prev = rng.random(n) < np.array([p.previous_csc for p in prof])
    delay = (t["true_level"].to_numpy() == "3") & (
        rng.random(n) < TIER2_DYNAMICS["previous_round_delay_theme"])
    for k, v in _tier2_themes(rng, t, da, prev, delay).items():
        t[f"theme_{k}"] = v
    t.insert(0, "case_id", [f"PRV{i:04d}" for i in range(1, n + 1)])
    t.insert(1, "round", "previous")
    t["true_triage_grade"] = None
    t = t.rename(columns={"appropriate": "truly_appropriate"})
    returns = _returns(rng, t, t["case_id"].to_numpy(), "tier2",
                       dates=_dated((PREVIOUS_ROUND_AUDIT_DATE,), year_end, 1))
    return t, returns


# ======================================================================================
# Writing the demo data
# ======================================================================================


def write_demo(out: str | Path, seed: int = 20161, contacts: int | None = None,
               standards: schemas.Standards | None = None, scale: schemas.Scale | None = None,
               shift: float = 0.0, year_end: date | str | None = None,
               assessment_shift: float = 0.0) -> dict[str, Path]:
    """Write the demo data (raw files, raw ids) into ``out`` and return name -> path.

    Files: ``cases.csv`` (front-door contacts and tier-2 cases), ``ratings.csv`` (vignette
    exercise), ``annex_a.xlsx`` (a messy Ofsted Annex A workbook, lists 1-8, with planted bad
    rows per list: ``annex_a_workbook``),
    ``audit_returns_tier2_previous.csv`` (the previous tier-2 round), ``truth.parquet`` (hidden
    truth, never ingested or published).  Current audit returns are made after a sample is
    drawn, by ``write_audit_returns`` for its manifest (the demo round's ``simulate_audit``
    step), as auditors complete the workbook of a real sample.
    ``contacts=None`` means a year at about 800 contacts a month (WSCB 2016/17, App. 6).
    The same seed gives byte-identical files.  A board's own ``standards`` (audit template)
    and ``scale`` (levels of need) put the levels and the previous returns in its words by the
    rule of ``to_board`` (the hidden truth stays in the Hackney vocabulary).  ``shift`` and
    ``year_end`` are the known changes of a series of demo rounds (``demo_frames``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    d = demo_frames(seed, contacts, shift=shift, year_end=year_end,
                    assessment_shift=assessment_shift)
    cases, ratings = d.cases, d.ratings
    if not _is_hackney(None, scale):
        lv = board_levels(scale)

        def relevel(col: pd.Series) -> pd.Series:
            return col.map(lambda v: lv.get(v, v) if isinstance(v, str) else v).astype(object)

        cases = cases.assign(**{c: relevel(cases[c]) for c in ("level_of_need",
                                                               "referrer_level")})
        ratings = ratings.assign(**{c: relevel(ratings[c]) for c in ("level",
                                                                     "reference_level")})
    paths = {"cases": write_csv(cases, out / "cases.csv"),
             "ratings": write_csv(ratings, out / "ratings.csv"),
             "annex_a": write_annex_a_workbook(d.annex_a, out / "annex_a.xlsx"),
             "audit_returns_tier2_previous": write_csv(
                 to_board(d.previous_returns, standards, scale),
                 out / "audit_returns_tier2_previous.csv")}
    truth_path = out / "truth.parquet"
    d.truth.to_parquet(truth_path, index=False)
    paths["truth"] = truth_path
    return paths
