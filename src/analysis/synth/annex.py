"""The synthetic Ofsted Annex A workbook of the demo (lists 1-8), derived from the synthetic
year of ``analysis.synth`` (split from it to keep modules small).

``annex_a_workbook`` draws the sheets from the synthetic cases table with its own random
stream (``synth.STREAMS["annex_a_lists"]``), so every other demo file stays byte-identical;
``write_annex_a_workbook`` writes them as a council's messy export: a cover sheet that is no
list, sheets named and ordered as a council might, title rows (merged) above the headers, a
merged header cell, Annex A codes ("b) Female", "q) 6: Police", "a) Yes"), dates as Excel
serials, text and date cells, blanks, and a few planted bad rows per list whose sheet rows are
returned so that a test checks exactly those are quarantined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..export import cell_value, deterministic_xlsx
from .calibration import EXCEL_EPOCH, FY_END
from .draws import _draw, _holidays, demo_calendar

__all__ = ["ANNEX_COMMON", "ANNEX_COVER", "ANNEX_GENDER", "ANNEX_LIST_BAD_ROWS",
           "ANNEX_NO", "ANNEX_SOURCE_CODES", "ANNEX_YES", "AnnexSheet", "ICPC_PLAN_SHARE",
           "PREVIOUS_PLANS_MIX", "S47_NO_ICPC_SHARE", "annex_a_workbook",
           "write_annex_a_workbook"]

# ======================================================================================
# The full Ofsted Annex A workbook (lists 1-8), derived from the synthetic year
# ======================================================================================

#: Annex A code forms of the contact/referral source (Ofsted Annex A; liia-tools
#: Annex_A_schema.yml): "q) 6: Police" and the like, with some plain variants.
ANNEX_SOURCE_CODES = {
    "police": ("q) 6: Police", "6: Police", "Police"),
    "school": ("e) 2A: Schools", "2A: Schools", "Schools"),
    "health": ("g) 3A: Health services", "h) 3B: Health services", "GP"),
    "la_services": ("n) 5A: LA services", "LA"), "self_family": ("a) 1A: Individual",
                                                              "c) 1C: Individual"),
    "voluntary": ("Voluntary sector",), "housing": ("m) 4: Housing",),
    "other_legal": ("r) 7: Other legal agency",), "anonymous": ("t) 9: Anonymous",),
    "other": ("s) 8: Other",)}
ANNEX_GENDER = {"Male": ("a) Male", "Male", "M"), "Female": ("b) Female", "Female", "F"),
                "Not known": ("c) Not stated/recorded", "Not known")}
ANNEX_YES, ANNEX_NO = ("a) Yes", "Yes", "Y"), ("b) No", "No", "N")
#: Share of child protection plans that are a second or subsequent plan: about the national
#: benchmark of 18% (Worcestershire SCB annual report 2016/17, Appendix 6; DfE
#: "Characteristics of children in need"), as 0, 1 or 2 previous plans.
PREVIOUS_PLANS_MIX = {0: 0.81, 1: 0.15, 2: 0.04}
#: Section 47 enquiries: share with no initial conference (DfE children in need statistics
#: 2023: about a third of section 47 enquiries lead to an ICPC), and share of ICPCs that
#: lead to a plan (about 3 in 4... rounded up for a small synthetic year).
S47_NO_ICPC_SHARE = 0.62
ICPC_PLAN_SHARE = 0.8
#: Planted bad rows per list: table -> {kind: the rule the quarantine gives}.
ANNEX_LIST_BAD_ROWS = {
    "list1_contacts": {"impossible_date": "not a valid date", "missing_child_id":
                       "required value is missing", "unknown_gender": "not an allowed value",
                       "duplicate": "duplicate of row"},
    "list2_early_help": {"bad_start_date": "not a valid date"},
    "list3_referrals": {"negative_count": "negative count",
                        "missing_referral_date": "required value is missing"},
    "list4_assessments": {"ends_before_start": "assessment ends before it starts"},
    "list5_section47": {"not_yes_no": "not yes/no"},
    "list6_children_in_need": {"bad_start_date": "not a valid date"},
    "list7_cp_plans": {"not_a_count": "not a whole number"},
    "list8_looked_after": {"missing_start_date": "required value is missing"},
}


@dataclass
class AnnexSheet:
    """One sheet of the synthetic Annex A workbook: its name, title rows, header and rows."""

    name: str
    table: str
    title: str | None
    header: list[str]
    rows: list[list[Any]]
    merge_header: tuple[int, int] | None = None  # 1-based columns of a merged header cell

    @property
    def first_row(self) -> int:
        """The sheet row of the first data row (title and a blank row above the header)."""
        return 4 if self.title else 2


def _serial(ts: pd.Timestamp) -> int:
    """An Excel serial date (days since 1899-12-30)."""
    return (ts.date() - EXCEL_EPOCH).days


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(0, len(options)))]


def _date_cell(rng: np.random.Generator, ts: Any) -> Any:
    """A date as a council's export writes it: an Excel serial, text, or a date cell."""
    if ts is None or pd.isna(ts):
        return None
    ts = pd.Timestamp(ts)
    u = rng.random()
    if u < 0.35:
        return _serial(ts)
    if u < 0.75:
        return ts.strftime("%d/%m/%Y")
    return ts.to_pydatetime()


def _person(rng: np.random.Generator, r: Any) -> list[Any]:
    """Child Unique ID, Gender, Ethnicity, Date of Birth, Age of Child (Years)."""
    child = f" {r.child_id} " if rng.random() < 0.05 else r.child_id
    gender = _pick(rng, ANNEX_GENDER[r.gender])
    u = rng.random()
    eth: Any = (f"a) {r.ethnicity}" if u < 0.3 else "#N/A" if u < 0.33 else r.ethnicity)
    return [child, gender, eth, _date_cell(rng, r.date_of_birth), None]


ANNEX_COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
                "Age of Child (Years)"]


def annex_a_workbook(rng: np.random.Generator, cases: pd.DataFrame,
                     year_end: np.datetime64 = FY_END
                     ) -> tuple[list[AnnexSheet], dict[str, dict[str, int]]]:
    """The sheets of a messy Ofsted Annex A workbook (lists 1-8) for the synthetic year's
    front-door contacts, in the order and under the names a council might use, with a few
    planted bad rows per list; returns the sheets and, per table, each bad row's sheet row.

    List 1 holds every front-door contact (one per child and day); list 2 an early help
    assessment for each contact that went to early help; list 3 each referral, with the case
    system's count of referrals in the last 12 months; list 4 each assessment; list 5 a
    section 47 enquiry for each referral to a strategy discussion, with initial conferences
    (``S47_NO_ICPC_SHARE``, ``ICPC_PLAN_SHARE``); list 6 a child in need episode for each
    completed assessment that found a need; list 7 a plan from each conference that made
    one (``PREVIOUS_PLANS_MIX``); list 8 a few children who became looked after.  Every date
    lies in the synthetic year ending ``year_end`` (``synth.demo_calendar``), the title of
    list 1 and the planted bad dates included."""
    start_day, end_day, _ = demo_calendar(year_end)
    year = int(str(end_day)[:4])
    hol = _holidays(year - 1, year + 1)
    end = pd.Timestamp(end_day)
    first = pd.Timestamp(start_day).strftime("%d/%m/%Y")
    fd = cases[cases["service"] == "front_door"].drop_duplicates(["child_id", "contact_date"])
    fd = fd.sort_values(["contact_date", "case_id"], kind="stable").reset_index(drop=True)
    sheets: list[AnnexSheet] = []

    def busday(ts: pd.Timestamp, n: int) -> pd.Timestamp:
        d = np.busday_offset(np.datetime64(ts.date(), "D"), int(n), roll="forward",
                             holidays=hol)
        return pd.Timestamp(d)

    # List 1: contacts
    rows = [[*_person(rng, r), _date_cell(rng, r.contact_date),
             _pick(rng, ANNEX_SOURCE_CODES[r.referral_source])] for r in fd.itertuples()]
    sheets.append(AnnexSheet("Contacts", "list1_contacts",
                             f"Annex A list 1: contacts, {first} to {end.strftime('%d/%m/%Y')} "
                             "(OFFICIAL-SENSITIVE)",
                             [*ANNEX_COMMON, "Date of Contact", "Contact Source"], rows))
    # List 2: early help assessments
    eh = fd[fd["outcome"] == "early_help"]
    rows = []
    for r in eh.itertuples():
        start = r.contact_date + pd.Timedelta(days=int(rng.integers(0, 6)))
        done = start + pd.Timedelta(days=int(rng.integers(15, 60)))
        rows.append([*_person(rng, r), _date_cell(rng, min(start, end)),
                     _date_cell(rng, done if done <= end else None),
                     _pick(rng, ("School", "Family Support Service", "Health visiting",
                                 "Children's centre"))])
    sheets.append(AnnexSheet("EH", "list2_early_help", None,
                             [*ANNEX_COMMON, "Assessment start date",
                              "Assessment completion date",
                              "Organisation completing assessment"], rows))
    # List 3: referrals
    # one referral (and one assessment) per child and day, as a case system holds them
    ref = fd[fd["referral_date"].notna()].drop_duplicates(["child_id", "referral_date"])
    rows = []
    for r in ref.itertuples():
        rows.append([*_person(rng, r), _date_cell(rng, r.referral_date),
                     _pick(rng, ANNEX_SOURCE_CODES[r.referral_source]),
                     _pick(rng, ANNEX_NO if pd.notna(r.assessment_start_date) else ANNEX_YES),
                     None if pd.isna(r.referrals_last_12m) else int(r.referrals_last_12m),
                     r.team, f"SW{int(rng.integers(100, 999))}"])
    sheets.append(AnnexSheet("Sheet3", "list3_referrals",
                             "Referrals to children's social care (Annex A list 3)",
                             [*ANNEX_COMMON, "Date of referral", "Referral Source",
                              "Referral NFA?", "Number of Referrals in Last 12 Months",
                              "Allocated Team", "Allocated Worker"], rows))
    # List 4: assessments (the "Allocated Team" header cell merged over a spare column)
    asm = ref[ref["assessment_start_date"].notna()].drop_duplicates(
        ["child_id", "assessment_start_date"])
    rows, cin = [], []
    for r in asm.itertuples():
        need = rng.random() < 0.55
        rows.append([*_person(rng, r), _pick(rng, ("b) No", "b) No", "a) Yes", "c) Unknown")),
                     _date_cell(rng, r.assessment_start_date), _pick(rng, ANNEX_YES),
                     _date_cell(rng, r.assessment_end_date),
                     (_pick(rng, ANNEX_YES) if need else _pick(rng, ANNEX_NO))
                     if pd.notna(r.assessment_end_date) else None, r.team, None,
                     f"SW{int(rng.integers(100, 999))}"])
        if need and pd.notna(r.assessment_end_date):
            cin.append(r)
    sheets.append(AnnexSheet("Assessments", "list4_assessments",
                             "Annex A list 4: assessments",
                             [*ANNEX_COMMON, "Does the Child have a Disability",
                              "Continuous Assessment Start Date",
                              "Child Seen During Continuous Assessment",
                              "Continuous Assessment Date of Authorisation",
                              "Was the child assessed as requiring LA children's social care "
                              "support?", "Allocated Team", None, "Allocated Worker"], rows,
                             merge_header=(11, 12)))
    # List 5: section 47 enquiries; list 7: plans from the conferences that made one
    s47 = ref[ref["outcome"] == "strategy_discussion"]
    rows, plans = [], []
    for r in s47.itertuples():
        start = r.referral_date + pd.Timedelta(days=int(rng.integers(0, 3)))
        icpc = rng.random() >= S47_NO_ICPC_SHARE
        icpc_day = busday(start, int(rng.integers(8, 16))) if icpc else None
        if icpc_day is not None and icpc_day > end:
            icpc, icpc_day = False, None
        plan = icpc and rng.random() < ICPC_PLAN_SHARE
        rows.append([*_person(rng, r), _pick(rng, ("b) No", "a) Yes", "c) Unknown")),
                     _date_cell(rng, min(start, end)),
                     _pick(rng, ANNEX_NO if icpc else ANNEX_YES), _date_cell(rng, icpc_day),
                     (_pick(rng, ANNEX_YES if plan else ANNEX_NO)) if icpc else None,
                     int(rng.integers(1, 3)), int(icpc) + int(rng.random() < 0.1), r.team,
                     f"SW{int(rng.integers(100, 999))}"])
        if plan:
            plans.append((r, icpc_day))
    sheets.append(AnnexSheet("S47 & ICPC", "list5_section47", "Annex A list 5",
                             [*ANNEX_COMMON, "Does the Child have a Disability",
                              "Strategy discussion initiating Section 47 Enquiry Start Date",
                              "Was an Initial Child Protection Conference deemed unnecessary?",
                              "Date of Initial Child Protection Conference",
                              "Did the Initial Child Protection Conference Result in a Child "
                              "Protection Plan",
                              "Number of Section 47 Enquiries in the last 12 months",
                              "Number of ICPCs in the last 12 months", "Allocated Team",
                              "Allocated Worker"], rows))
    # List 6: children in need
    rows = [[*_person(rng, r), "b) No", _date_cell(rng, r.assessment_end_date),
             _pick(rng, ("N1 - Abuse or neglect", "N4 - Family in acute stress",
                         "N5 - Family dysfunction", "N3 - Parental disability or illness")),
             None, None, "c) Child in need plan", r.team, f"SW{int(rng.integers(100, 999))}"]
            for r in cin]
    sheets.append(AnnexSheet("CIN", "list6_children_in_need", "Annex A list 6: children in need",
                             [*ANNEX_COMMON, "Does the Child have a Disability",
                              "CIN Start Date", "Primary Need Code", "Date Child Was Last Seen",
                              "CIN Closure Date", "Case Status", "Allocated Team",
                              "Allocated Worker"], rows))
    # List 7: child protection plans
    prev = np.array(list(PREVIOUS_PLANS_MIX))
    rows, cla = [], []
    for r, day in plans:
        n_prev = int(prev[_draw(rng, PREVIOUS_PLANS_MIX, 1)[0]])
        cat = _pick(rng, ("a) Neglect", "d) Emotional abuse", "b) Physical abuse",
                          "c) Sexual abuse"))
        rows.append([*_person(rng, r), "b) No", _date_cell(rng, day), cat, cat, None, None,
                     None, _pick(rng, ANNEX_NO), n_prev, r.team,
                     f"SW{int(rng.integers(100, 999))}"])
        if rng.random() < 0.12:
            cla.append((r, day))
    sheets.append(AnnexSheet("CP", "list7_cp_plans", "Annex A list 7: child protection",
                             [*ANNEX_COMMON, "Does the Child have a Disability",
                              "Child Protection Plan Start Date", "Initial Category of Abuse",
                              "Latest Category of Abuse", "Date of latest review conference",
                              "Child Protection Plan End Date", "Was the Child Seen Alone?",
                              "Subject to Emergency Protection Order or Protected Under Police "
                              "Powers in Last Six Months (Y/N)",
                              "Number of Previous Child Protection Plans", "Allocated Team",
                              "Allocated Worker"], rows))
    # List 8: children looked after
    rows = []
    for r, day in cla:
        start = min(day + pd.Timedelta(days=int(rng.integers(20, 120))), end)
        rows.append([*_person(rng, r), "b) No", "b) No", _date_cell(rng, start),
                     _pick(rng, ("C1: ICO", "V2: Single period under S20", "C2: FCO")),
                     int(rng.integers(1, 3)), None, r.team])
    sheets.append(AnnexSheet("Looked after", "list8_looked_after", "Annex A list 8",
                             [*ANNEX_COMMON, "Unaccompanied Asylum Seeking Child (UASC) within "
                              "the Last 12 Months (Y/N)", "Does the Child have a Disability",
                              "Date Started to be Looked After", "Child's Legal Status",
                              "Number of Placements in the Last 12 months",
                              "Date Ceased to be Looked After", "Allocated Team"], rows))

    # Planted bad rows: (column of the header, value) per kind; the row is drawn at random.
    plant = {
        "list1_contacts": {"impossible_date": ("Date of Contact", f"31/02/{year}"),
                           "missing_child_id": ("Child Unique ID", None),
                           "unknown_gender": ("Gender", "z) Other")},
        "list2_early_help": {"bad_start_date": ("Assessment start date", "not known")},
        "list3_referrals": {"negative_count": ("Number of Referrals in Last 12 Months", -1),
                            "missing_referral_date": ("Date of referral", None)},
        "list4_assessments": {"ends_before_start": (
            "Continuous Assessment Date of Authorisation", first)},
        "list5_section47": {"not_yes_no": (
            "Was an Initial Child Protection Conference deemed unnecessary?", "maybe")},
        "list6_children_in_need": {"bad_start_date": ("CIN Start Date", f"{year}-13-01")},
        "list7_cp_plans": {"not_a_count": ("Number of Previous Child Protection Plans",
                                           "two")},
        "list8_looked_after": {"missing_start_date": ("Date Started to be Looked After", None)},
    }
    bad: dict[str, dict[str, int]] = {}
    for sh in sheets:
        kinds = plant[sh.table]
        n = len(sh.rows)
        at = rng.choice(np.arange(n), size=len(kinds), replace=False)
        bad[sh.table] = {}
        for (kind, (col, value)), i in zip(kinds.items(), at, strict=True):
            sh.rows[int(i)][sh.header.index(col)] = value
            bad[sh.table][kind] = int(i) + sh.first_row
        if sh.table == "list1_contacts":  # and a duplicate of a good row at the end
            good = [i for i in range(n) if i not in set(at.tolist())]
            sh.rows.append(list(sh.rows[int(rng.choice(good))]))
            bad[sh.table]["duplicate"] = n + sh.first_row
    # Reorder as a council might: a cover sheet first, referrals before early help.
    order = ["list1_contacts", "list3_referrals", "list2_early_help", "list4_assessments",
             "list5_section47", "list6_children_in_need", "list7_cp_plans",
             "list8_looked_after"]
    sheets.sort(key=lambda s: order.index(s.table))
    return sheets, bad


ANNEX_COVER = ("Annex A data for the inspection of local authority children's services. "
               "Synthetic data for the safeguarding-qa demonstration: no real child.")


def write_annex_a_workbook(sheets: list[AnnexSheet], path: Path) -> Path:
    """Write the Annex A sheets after a cover sheet (no list); title rows are merged across
    the header's width, dates stay serials, text or date cells as drawn."""
    import openpyxl

    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Cover"
    cover.append([ANNEX_COVER])
    for sh in sheets:
        ws = wb.create_sheet(sh.name)
        if sh.title:
            ws.append([sh.title])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(sh.header))
            ws.append([])
        ws.append(sh.header)
        if sh.merge_header:
            hr = sh.first_row - 1
            ws.merge_cells(start_row=hr, start_column=sh.merge_header[0], end_row=hr,
                           end_column=sh.merge_header[1])
        for r in sh.rows:
            ws.append([cell_value(v) if not isinstance(v, datetime) else v for v in r])
        for row in ws.iter_rows(min_row=sh.first_row):
            for cell in row:
                if isinstance(cell.value, datetime):
                    cell.number_format = "DD/MM/YYYY"
    wb.save(path)
    return deterministic_xlsx(path)
