"""The child journey: Annex A lists linked by pseudonymised child and date.

``build_journey(tables)`` gives one row per contact of list 1 with the episodes that
followed it:

    contact -> early help (list 2) or referral (list 3) -> assessment (list 4)
            -> section 47 enquiry (list 5) -> child protection plan (list 7)

**Linking rule.** Every link is the *first* episode of the *same pseudonymised child* dated
on or after the earlier step, within a window, and before that child's next earlier-step
episode (so two contacts never claim the same referral):

* referral: the first list-3 referral dated on or after the contact, before the child's next
  contact, within ``CONTACT_WINDOW_DAYS`` (7) days: a contact becomes a referral within
  one working day (Working Together to Safeguard Children 2023, para 150 ff.), and a week
  allows for a weekend and recording lag;
* early help: the first list-2 early help assessment started on or after the contact,
  before the child's next contact, within ``CONTACT_WINDOW_DAYS`` days;
* assessment: the first list-4 assessment started on or after the referral, before the
  child's next referral, within ``ASSESSMENT_WINDOW_DAYS`` (15) days;
* section 47: the first list-5 enquiry (strategy discussion) on or after the referral, before
  the child's next referral, within ``S47_WINDOW_DAYS`` (45: the assessment's own limit);
* plan: the first list-7 plan started on or after the section 47 enquiry within
  ``PLAN_WINDOW_DAYS`` (30: the ICPC is due within 15 working days of the strategy
  discussion, Working Together 2023).

A referral, assessment or plan with no contact in list 1 (before the list's period, or
through another route) is in its own list's table but not on the journey.

``front_door_cases`` turns the journey into the canonical ``cases`` contract (service
``front_door``; outcome: a referral -> ``assessment``, else early help -> ``early_help``,
else ``nfa``) plus each early help episode of list 2 as service ``early_help``, so that the
sampling designs, ``analysis.thresholds.monthly_series`` and the notebooks read it like any
cases table. ``plans`` gives list 7 with the repeat-plan flag for the repeat-plan measure.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd

from . import privacy, schemas

__all__ = ["ASSESSMENT_WINDOW_DAYS", "CONTACT_WINDOW_DAYS", "JOURNEY_COLUMNS",
           "PLAN_WINDOW_DAYS", "S47_WINDOW_DAYS", "build_journey", "front_door_cases",
           "front_door_rows", "link", "plans", "trend_inputs"]

CONTACT_WINDOW_DAYS = 7
ASSESSMENT_WINDOW_DAYS = 15
S47_WINDOW_DAYS = 45
PLAN_WINDOW_DAYS = 30

JOURNEY_COLUMNS = ("child_id", "contact_date", "referral_source", "age_band", "gender",
                   "ethnicity", "early_help_start_date", "referral_date", "referral_nfa",
                   "referrals_last_12m", "team", "assessment_start_date",
                   "assessment_end_date", "s47_start_date", "icpc_date", "plan_start_date",
                   "previous_plans", "repeat_plan")


def _next_same_child(df: pd.DataFrame, date_col: str) -> pd.Series:
    """For each row, the child's next date in ``date_col`` (NaT for the last)."""
    order = df.sort_values(["child_id", date_col], kind="stable")
    nxt = order.groupby("child_id", sort=False)[date_col].shift(-1)
    return nxt.reindex(df.index)


def link(left: pd.DataFrame, on: str, right: pd.DataFrame | None, right_on: str,
         days: int, columns: list[str], before: pd.Series | None = None) -> pd.DataFrame:
    """For each row of ``left``, the first row of ``right`` of the same ``child_id`` dated on
    or after ``left[on]``, at most ``days`` days later and (when ``before`` is given) strictly
    before ``before``; returns ``right``'s ``right_on`` and ``columns`` aligned to ``left``'s
    index (missing where nothing links)."""
    cols = [right_on, *[c for c in columns if c != right_on]]
    empty = pd.DataFrame({c: (right[c] if right is not None and c in right.columns
                              else pd.Series(dtype="object")).iloc[:0] for c in cols})
    out = empty.reindex(left.index)
    if right is not None and right_on in right.columns:
        out[right_on] = out[right_on].astype("datetime64[ns]")
    if right is None or not len(right) or not len(left):
        return out
    lhs = left.loc[left[on].notna() & left["child_id"].notna(), ["child_id", on]].copy()
    lhs["_i"] = lhs.index
    right = right.assign(**{c: pd.NA for c in cols if c not in right.columns})
    rhs = right.loc[right[right_on].notna(), ["child_id", *cols]].copy()
    rhs["_at"] = rhs[right_on].astype("datetime64[ns]")
    lhs[on] = lhs[on].astype("datetime64[ns]")
    if not len(lhs) or not len(rhs):
        return out
    m = pd.merge_asof(lhs.sort_values(on, kind="stable"), rhs.sort_values("_at", kind="stable"),
                      left_on=on, right_on="_at", by="child_id", direction="forward",
                      tolerance=pd.Timedelta(days=days)).set_index("_i")
    if before is not None:
        stop = before.reindex(m.index)
        late = (stop.notna() & (m["_at"] >= stop)).to_numpy()
        for c in cols:
            m[c] = m[c].astype("object").where(~late, None)
    for c in cols:
        out[c] = m[c].reindex(left.index)
        if c in right.columns:
            with contextlib.suppress(TypeError, ValueError):
                out[c] = out[c].astype(right[c].dtype)
    return out


def plans(list7: pd.DataFrame | None) -> pd.DataFrame | None:
    """List 7 with ``repeat_plan``: a second or subsequent child protection plan (DfE,
    "Characteristics of children in need": plans that were a second or subsequent plan for the
    child). From ``previous_plans`` (Annex A "Number of Previous Child Protection Plans") where
    recorded: at least 1; else from the history of the list: an earlier plan of the same
    child (a lower bound: the list holds only recent plans)."""
    if list7 is None:
        return None
    p = list7.copy()
    earlier = p.groupby("child_id")["plan_start_date"].transform("min") < p["plan_start_date"]
    count = p["previous_plans"] if "previous_plans" in p.columns else pd.Series(
        pd.NA, index=p.index, dtype="Int64")
    p["repeat_plan"] = (count >= 1).astype("boolean").where(count.notna(), earlier).astype(
        "boolean")
    return p


def build_journey(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per list-1 contact with its linked early help, referral, assessment, section
    47 enquiry and plan (see the module docstring for the rule and the windows). Sorted by
    contact date and child; only pseudonymised ids."""
    contacts = tables.get("list1_contacts")
    if contacts is None:  # no list 1: no journeys, but the same columns and types
        contacts = pd.DataFrame({
            "child_id": pd.Series(dtype="string"),
            "contact_date": pd.Series(dtype="datetime64[ns]"),
            **{c: pd.Series(dtype="string")
               for c in ("referral_source", "age_band", "gender", "ethnicity")}})
    j = contacts[["child_id", "contact_date", "referral_source", "age_band", "gender",
                  "ethnicity"]].copy().reset_index(drop=True)
    next_contact = _next_same_child(j, "contact_date")
    eh = link(j, "contact_date", tables.get("list2_early_help"), "eh_start_date",
              CONTACT_WINDOW_DAYS, [], next_contact)
    j["early_help_start_date"] = eh["eh_start_date"].astype("datetime64[ns]")
    refs = tables.get("list3_referrals")
    if refs is not None:
        refs = refs.copy()
        refs["_next_referral"] = _next_same_child(refs, "referral_date")
    r = link(j, "contact_date", refs, "referral_date", CONTACT_WINDOW_DAYS,
             ["referral_nfa", "referrals_last_12m", "team", "_next_referral"], next_contact)
    j["referral_date"] = r["referral_date"].astype("datetime64[ns]")
    j["referral_nfa"] = r["referral_nfa"].astype("boolean")
    j["referrals_last_12m"] = pd.to_numeric(r["referrals_last_12m"]).astype("Int64")
    j["team"] = r["team"].astype("string")
    next_ref = pd.to_datetime(r["_next_referral"])
    a = link(j, "referral_date", tables.get("list4_assessments"), "assessment_start_date",
             ASSESSMENT_WINDOW_DAYS, ["assessment_end_date"], next_ref)
    j["assessment_start_date"] = a["assessment_start_date"].astype("datetime64[ns]")
    j["assessment_end_date"] = a["assessment_end_date"].astype("datetime64[ns]")
    s = link(j, "referral_date", tables.get("list5_section47"), "s47_start_date",
             S47_WINDOW_DAYS, ["icpc_date"], next_ref)
    j["s47_start_date"] = s["s47_start_date"].astype("datetime64[ns]")
    j["icpc_date"] = s["icpc_date"].astype("datetime64[ns]")
    p = link(j, "s47_start_date", plans(tables.get("list7_cp_plans")), "plan_start_date",
             PLAN_WINDOW_DAYS, ["previous_plans", "repeat_plan"])
    j["plan_start_date"] = p["plan_start_date"].astype("datetime64[ns]")
    j["previous_plans"] = pd.to_numeric(p["previous_plans"]).astype("Int64")
    j["repeat_plan"] = p["repeat_plan"].astype("boolean")
    j = j.sort_values(["contact_date", "child_id"], kind="stable").reset_index(drop=True)
    return j[list(JOURNEY_COLUMNS)]


def _case_ids(child: pd.Series, day: pd.Series, key: bytes, tag: str) -> pd.Series:
    """A pseudonymised case id per (child pseudonym, date): keyed HMAC of the pair, so the
    same contact gets the same id on every run with the same key."""
    text = tag + "|" + child.astype(str) + "|" + day.dt.strftime("%Y-%m-%d")
    return privacy.pseudonymise_series(text, key, "case")


def front_door_rows(journey: pd.DataFrame) -> pd.DataFrame:
    """The contacts of the journey as front-door rows of the cases contract (no case id):
    service ``front_door``; ``outcome`` a linked referral -> ``assessment``, else a linked
    early help assessment -> ``early_help``, else ``nfa``; the referral's date, count of
    referrals in the last 12 months and team; the linked assessment's dates. The one
    derivation behind ``front_door_cases`` and the trend measures (``trend_inputs``)."""
    outcome = np.where(journey["referral_date"].notna(), "assessment",
                       np.where(journey["early_help_start_date"].notna(), "early_help", "nfa"))
    return pd.DataFrame({
        "child_id": journey["child_id"].astype("string"),
        "age_band": journey["age_band"].astype("string"),
        "gender": journey["gender"].astype("string"),
        "ethnicity": journey["ethnicity"].astype("string"),
        "contact_date": journey["contact_date"],
        "referral_date": journey["referral_date"],
        "referral_source": journey["referral_source"].astype("string"),
        "service": pd.Series(["front_door"] * len(journey), dtype="string",
                             index=journey.index),
        "outcome": pd.Series(outcome, dtype="string", index=journey.index),
        "team": journey["team"].astype("string"),
        "referrals_last_12m": journey["referrals_last_12m"],
        "assessment_start_date": journey["assessment_start_date"],
        "assessment_end_date": journey["assessment_end_date"],
    })


def trend_inputs(journey_file: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """What the threshold notebook's trends read when the Annex A journey exists: the
    front-door rows of ``journey.parquet`` (``front_door_rows``) and, for repeat plans, list 7
    (``list7_cp_plans.parquet`` beside it; ``None`` when there is none)."""
    path = Path(journey_file)
    plans_file = path.parent / "list7_cp_plans.parquet"
    return (front_door_rows(pd.read_parquet(path)),
            pd.read_parquet(plans_file) if plans_file.exists() else None)


def front_door_cases(journey: pd.DataFrame, tables: dict[str, pd.DataFrame], key: bytes,
                     scale: schemas.Scale | None = None) -> pd.DataFrame:
    """The journey as a canonical ``cases`` table (validated against its contract).

    Contacts (list 1) are service ``front_door`` with ``outcome`` from the journey: a linked
    referral -> ``assessment``, else a linked early help assessment -> ``early_help``, else
    ``nfa``; ``referral_date``, ``referrals_last_12m``, ``team`` and the assessment dates come
    from the linked lists 3 and 4. Each early help episode of list 2 is a row of service
    ``early_help`` (contact date = its start). Columns Annex A does not hold (route, level of
    need, domestic abuse, previously known) are empty."""
    spec = schemas.cases_spec(scale)
    fd = front_door_rows(journey)
    fd.insert(0, "case_id", _case_ids(journey["child_id"], journey["contact_date"], key,
                                      "contact"))
    frames = [fd]
    eh = tables.get("list2_early_help")
    if eh is not None and len(eh):
        e = eh.reset_index(drop=True)
        frames.append(pd.DataFrame({
            "case_id": _case_ids(e["child_id"], e["eh_start_date"], key, "early_help"),
            "child_id": e["child_id"].astype("string"),
            "age_band": e["age_band"].astype("string"),
            "gender": e["gender"].astype("string"),
            "ethnicity": e["ethnicity"].astype("string"),
            "contact_date": e["eh_start_date"],
            "service": pd.Series(["early_help"] * len(e), dtype="string"),
            "outcome": pd.Series(["early_help"] * len(e), dtype="string"),
        }))
    out = pd.concat(frames, ignore_index=True)
    dtypes = {"date": "datetime64[ns]", "bool": "boolean", "int": "Int64"}
    for c in spec.columns:
        if c.name not in out.columns:
            out[c.name] = pd.Series(pd.NA, index=out.index, dtype=dtypes.get(c.type, "string"))
        else:
            out[c.name] = out[c.name].astype(dtypes.get(c.type, "string"))
    out = out[spec.names].sort_values("case_id", kind="stable").reset_index(drop=True)
    schemas.pandera_schema(spec).validate(out, lazy=True)
    return out
