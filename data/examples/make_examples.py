"""How the fake Exampleshire exports in this folder were made (run once; the files are committed).

Not part of the package and not the demo's synthetic data (``analysis.synth``): this is a small,
hand-shaped Ofsted Annex A workbook laid out as a council's case-management system exports it,
so that ``rounds/example.yml`` shows a real round's path on files the project did not design
for itself. Everything in it is invented: "Exampleshire" is not a council, the children and
their dates of birth are made up.

What makes it council-shaped (the things a reader of a real export has to cope with):

* a cover sheet ("Read me") and a lookups sheet that are not lists;
* sheets named the way performance teams name them ("L1 Contacts", "Referrals (L3)", "CP"), in
  an order that is not the list order;
* three title rows above each header; on list 1 a two-row header with merged cells (the child
  id's header is merged down over both rows; "Child details" and "Contact" merged across);
* Ofsted's coded values ("a) Male", "b) Female", "5A: Police", "a) Yes", "b) No"), CIN census
  ethnicity codes and their long names, blanks, "#N/A", dates as dates, as text and as Excel
  serial numbers;
* a few rows a council would have to fix (an impossible date, a missing child id, a duplicate).

It also writes ``vignette_ratings.csv``: a threshold-consistency exercise in which practitioners
from four agencies graded the same twelve written case vignettes on Exampleshire's four levels
of need, with the level the multi-agency panel agreed for each (the reference), as the board
would collect it on a form.

Finally ``returns/`` holds the auditors' workbooks as three agencies sent them back, made from
the blank auditor workbook that ``sqa run rounds/example.yml`` writes when it draws the sample
(``data/processed/example/samples/threshold_audit/auditor_workbook.xlsx``): the police return
renamed, its rows re-sorted, a column of its own added and two headers written in words; the
health return late, one case short and one answer typed as "G" (not on the list); the social care return on a renamed sheet with a case
that was not in the sample.

Usage: ``python data/examples/make_examples.py`` (the Annex A workbook and the vignette
exercise), then ``python data/examples/make_examples.py returns BLANK_WORKBOOK``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START, END = date(2025, 4, 1), date(2026, 3, 31)
COUNCIL = "Exampleshire County Council"
EPOCH = date(1899, 12, 30)

SOURCES = ["5A: Police", "5A: Police", "5A: Police", "2A: Schools", "2A: Schools",
           "3A: Health services - GP", "3C: Health visitor", "1B: Family member", "4: LA services",
           "10: Housing", "8: Anonymous", "Voluntary sector"]
ETHNICITY = ["WBRI", "WBRI", "WBRI", "White British", "WOTH", "MWBC", "APKN", "Pakistani", "BAFR",
             "AIND", "#N/A", ""]
GENDER = ["a) Male", "b) Female", "a) Male", "b) Female", "Male", "Female", "c) Not known"]
TEAMS = ["Front Door North", "Front Door South", "Assessment Team 1", "Assessment Team 2"]
ABUSE = ["Neglect", "Emotional abuse", "Physical abuse", "Sexual abuse", "Multiple"]


def _serial(d: date) -> int:
    return (d - EPOCH).days


def _as_cell(d: date | None, style: int) -> object:
    """A date as a council export holds it: a real date, text, or an Excel serial number."""
    if d is None:
        return None
    return [datetime(d.year, d.month, d.day), d.strftime("%d/%m/%Y"), _serial(d)][style % 3]


def _working_days_after(d: date, n: int) -> date:
    out = d
    while n > 0:
        out += timedelta(days=1)
        if out.weekday() < 5:
            n -= 1
    return out


def make_children(rng: np.random.Generator, n: int = 150) -> list[dict]:
    children = []
    for i in range(n):
        age_days = int(rng.integers(-100, 17 * 365))
        children.append({
            "id": f"{int(rng.integers(1000, 99999)):06d}" if i % 2 else f"EX{i + 1:05d}",
            "gender": GENDER[int(rng.integers(len(GENDER)))],
            "ethnicity": ETHNICITY[int(rng.integers(len(ETHNICITY)))],
            "dob": date(2026, 1, 1) - timedelta(days=age_days),
            "disability": ["a) Yes", "b) No", "b) No", "b) No", ""][int(rng.integers(5))],
        })
    return children


def make_journeys(rng: np.random.Generator, children: list[dict]) -> dict[str, list[dict]]:
    """Contacts and what followed them, one record per list row."""
    lists: dict[str, list[dict]] = {k: [] for k in
                                    ("contacts", "early_help", "referrals", "assessments",
                                     "s47", "cin", "cp", "cla")}
    days = (END - START).days
    referrals_by_child: dict[str, list[date]] = {}
    for child in children:
        for _ in range(int(rng.choice([1, 1, 1, 2, 2, 3]))):
            contact = START + timedelta(days=int(rng.integers(0, days)))
            if child["dob"] > contact + timedelta(days=200):
                continue
            source = SOURCES[int(rng.integers(len(SOURCES)))]
            lists["contacts"].append({"child": child, "date": contact, "source": source})
            u = rng.random()
            if u < 0.45:
                continue  # no further action
            if u < 0.70:
                start = contact + timedelta(days=int(rng.integers(1, 8)))
                if start <= END:
                    end = start + timedelta(days=int(rng.integers(40, 200)))
                    lists["early_help"].append({"child": child, "start": start,
                                                "end": end if end <= END else None,
                                                "org": ["School", "Children's centre",
                                                        "Early Help Hub"][int(rng.integers(3))]})
                continue
            ref = contact + timedelta(days=int(rng.integers(0, 2)))
            if ref > END:
                continue
            prior = [d for d in referrals_by_child.get(child["id"], [])
                     if ref - timedelta(days=365) <= d < ref]
            referrals_by_child.setdefault(child["id"], []).append(ref)
            nfa = rng.random() < 0.12
            lists["referrals"].append({"child": child, "date": ref, "source": source,
                                       "nfa": "a) Yes" if nfa else "b) No",
                                       "last12": len(prior),
                                       "team": TEAMS[int(rng.integers(2, 4))]})
            if nfa:
                continue
            a_start = ref + timedelta(days=int(rng.integers(0, 4)))
            a_end = _working_days_after(a_start, int(rng.integers(8, 60)))
            support = rng.random() < 0.55
            lists["assessments"].append({"child": child, "start": a_start,
                                         "end": a_end if a_end <= END else None,
                                         "support": "a) Yes" if support else "b) No",
                                         "team": TEAMS[int(rng.integers(2, 4))]})
            if support and a_end <= END:
                lists["cin"].append({"child": child, "start": a_end,
                                     "need": f"N{int(rng.integers(1, 9))}"})
            if rng.random() < 0.25:
                s47 = a_start + timedelta(days=int(rng.integers(0, 10)))
                icpc = s47 + timedelta(days=int(rng.integers(8, 20))) if rng.random() < 0.6 \
                    else None
                plan = icpc is not None and rng.random() < 0.8 and icpc <= END
                lists["s47"].append({"child": child, "start": s47, "icpc": icpc,
                                     "plan": "a) Yes" if plan else ("b) No" if icpc else "")})
                if plan:
                    lists["cp"].append({"child": child, "start": icpc,
                                        "category": ABUSE[int(rng.integers(len(ABUSE)))],
                                        "previous": int(rng.choice([0, 0, 0, 1, 2]))})
    for child in children[:: 25]:
        start = START + timedelta(days=int(rng.integers(0, days)))
        lists["cla"].append({"child": child, "start": start,
                             "status": ["C2", "V2", "J1", "E1"][int(rng.integers(4))]})
    return lists


CHILD_HEADER = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
                "Age of Child (Years)", "Disability"]


def _child_cells(child: dict, when: date, k: int) -> list[object]:
    age = (when - child["dob"]).days // 365
    dob = _as_cell(child["dob"], k) if k % 11 else "#N/A"
    return [child["id"], child["gender"], child["ethnicity"], dob,
            age if age >= 0 else None, child["disability"]]


def write_workbook(lists: dict[str, list[dict]], path: Path) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "Read me"
    for line in [COUNCIL, "Ofsted Annex A return (ILACS), lists 1 to 8",
                 f"Period {START:%d/%m/%Y} to {END:%d/%m/%Y}", "",
                 "OFFICIAL-SENSITIVE: contains personal data. Do not forward.",
                 "Prepared by the Performance and Intelligence Team."]:
        cover.append([line])

    def sheet(title: str, list_name: str, header: list[str], rows: list[list[object]],
              two_row: bool = False) -> None:
        ws = wb.create_sheet(title)
        ws.append([COUNCIL])
        ws.append([f"Annex A {list_name}"])
        ws.append([f"Extract run 02/04/2026; period {START:%d/%m/%Y} - {END:%d/%m/%Y}"])
        if two_row:
            # Group row over a header row; the id header merged down over both rows.
            ws.append([header[0], "Child details", None, None, None, None, "Contact", None])
            ws.append([None, *header[1:]])
            ws.merge_cells("A4:A5")
            ws.merge_cells("B4:F4")
            ws.merge_cells("G4:H4")
        else:
            ws.append(header)
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True)
        for r in rows:
            ws.append(r)

    contacts = sorted(lists["contacts"], key=lambda c: (c["date"], c["child"]["id"]))
    rows = []
    for k, c in enumerate(contacts):
        rows.append([*_child_cells(c["child"], c["date"], k), _as_cell(c["date"], k + 1),
                     c["source"]])
    # Rows a council would have to fix.
    rows[17][6] = "31/02/2026"                 # impossible date
    rows[40][0] = None                         # missing child id
    rows.append(list(rows[60]))                # the same contact exported twice
    lookups = wb.create_sheet("Lookups")
    for code in ("a) Male", "b) Female", "c) Not known"):
        lookups.append([code])
    sheet("L1 Contacts", "List 1: Contacts", [*CHILD_HEADER, "Date of Contact", "Contact Source"],
          rows, two_row=True)

    refs = sorted(lists["referrals"], key=lambda r: (r["date"], r["child"]["id"]))
    sheet("Referrals (L3)", "List 3: Referrals",
          [*CHILD_HEADER, "Date of Referral", "Referral Source", "Referral NFA?",
           "Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"],
          [[*_child_cells(r["child"], r["date"], k), _as_cell(r["date"], k), r["source"],
            r["nfa"], r["last12"], r["team"], f"SW{100 + k % 37}"] for k, r in enumerate(refs)])

    eh = sorted(lists["early_help"], key=lambda r: (r["start"], r["child"]["id"]))
    sheet("List 2 - EH", "List 2: Early help",
          [*CHILD_HEADER, "Date EH started", "Date EH ended",
           "Organisation completing EH assessment"],
          [[*_child_cells(r["child"], r["start"], k), _as_cell(r["start"], k),
            _as_cell(r["end"], k + 1), r["org"]] for k, r in enumerate(eh)])

    ass = sorted(lists["assessments"], key=lambda r: (r["start"], r["child"]["id"]))
    sheet("Assessments", "List 4: Assessments",
          [*CHILD_HEADER, "Continuous Assessment Start Date",
           "Continuous Assessment Date of Authorisation",
           "Was the child assessed as requiring LA children's social care support?",
           "Allocated Team", "Allocated Worker"],
          [[*_child_cells(r["child"], r["start"], k), _as_cell(r["start"], k),
            _as_cell(r["end"], k + 2), r["support"] if r["end"] else "", r["team"],
            f"SW{100 + k % 37}"] for k, r in enumerate(ass)])

    s47 = sorted(lists["s47"], key=lambda r: (r["start"], r["child"]["id"]))
    sheet("S47", "List 5: Section 47 enquiries and ICPCs",
          [*CHILD_HEADER, "Strategy discussion initiating Section 47 Enquiry Start Date",
           "Was an Initial Child Protection Conference deemed unnecessary?",
           "Date of Initial Child Protection Conference",
           "Did the Initial Child Protection Conference Result in a Child Protection Plan",
           "Allocated Team"],
          [[*_child_cells(r["child"], r["start"], k), _as_cell(r["start"], k),
            "b) No" if r["icpc"] else "a) Yes", _as_cell(r["icpc"], k), r["plan"],
            TEAMS[2 + k % 2]] for k, r in enumerate(s47)])

    cin = sorted(lists["cin"], key=lambda r: (r["start"], r["child"]["id"]))
    sheet("CIN", "List 6: Children in need",
          [*CHILD_HEADER, "Case Status", "CIN Start Date", "Primary Need Code",
           "CIN Closure Date", "Allocated Team"],
          [[*_child_cells(r["child"], r["start"], k), "b) Child in need plan",
            _as_cell(r["start"], k), r["need"], None, TEAMS[2 + k % 2]]
           for k, r in enumerate(cin)])

    cp = sorted(lists["cp"], key=lambda r: (r["start"], r["child"]["id"]))
    sheet("CP", "List 7: Child protection",
          [*CHILD_HEADER, "Child Protection Plan Start Date", "Initial Category of Abuse",
           "Latest Category of Abuse", "Child Protection Plan End Date",
           "Number of Previous Child Protection Plans", "Allocated Team"],
          [[*_child_cells(r["child"], r["start"], k), _as_cell(r["start"], k), r["category"],
            r["category"], None, r["previous"], TEAMS[2 + k % 2]] for k, r in enumerate(cp)])

    cla = sorted(lists["cla"], key=lambda r: (r["start"], r["child"]["id"]))
    sheet("CLA", "List 8: Children in care",
          [*CHILD_HEADER, "UASC", "Date Started to be Looked After", "Child's Legal Status",
           "Date ceased to be looked after", "Allocated Team"],
          [[*_child_cells(r["child"], r["start"], k), "b) No", _as_cell(r["start"], k),
            r["status"], None, "Children in Care Team"] for k, r in enumerate(cla)])
    wb.save(path)
    from analysis.export import deterministic_xlsx  # fixed zip times: the same bytes each run

    return deterministic_xlsx(path)


def write_ratings(rng: np.random.Generator, path: Path) -> Path:
    """Twelve vignettes graded by 24 practitioners (six from each of four agencies)."""
    import csv

    reference = [1, 2, 2, 3, 3, 4, 2, 3, 4, 1, 3, 2]
    # How far each agency tends to grade from the panel: police and education a little high.
    lean = {"Police": 0.35, "Health": 0.0, "Education": 0.25, "Children's Social Care": -0.2}
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Vignette", "Practitioner", "Agency", "Level given", "Panel level"])
        for agency, shift in lean.items():
            for p in range(6):
                who = f"{agency[:3].upper()}-{p + 1:02d}"
                for v, ref in enumerate(reference, start=1):
                    given = int(np.clip(np.rint(ref + shift + rng.normal(0, 0.6)), 1, 4))
                    out.writerow([f"V{v:02d}", who, agency, f"Level {given}", f"Level {ref}"])
    return path


GRADES = {"good": ["Good", "good"], "requires_improvement": ["Requires improvement", "RI"],
          "inadequate": ["Inadequate"], "not_applicable": ["N/A"]}


def _grade(rng: np.random.Generator, quality: float) -> str:
    u = rng.random()
    code = ("good" if u < quality else "requires_improvement" if u < quality + 0.7 * (1 - quality)
            else "inadequate")
    words = GRADES[code]
    return words[int(rng.integers(len(words)))]


def write_returns(blank: Path, out: Path) -> list[Path]:
    """Three agencies' completed copies of the blank auditor workbook ``blank``."""
    import openpyxl

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20260515)
    level_for = {"nfa": (1, 2), "early_help": (2, 3), "assessment": (3, 4)}
    agencies = [  # agency, auditor, audit day, returned, file name, quality of practice seen
        ("Police", "PS-0417", date(2026, 5, 6), date(2026, 5, 8),
         "Front door audit - Police (final).xlsx", 0.55),
        ("Health", "HV-12", date(2026, 5, 19), date(2026, 5, 22),
         "FDaudit_health_v2.xlsx", 0.45),
        ("CSC", "TM-3", date(2026, 5, 12), date(2026, 5, 13),
         "CSC returns.xlsx", 0.5)]
    written = []
    for agency, auditor, day, returned, name, quality in agencies:
        wb = openpyxl.load_workbook(blank)
        ws = wb["Audit"]
        header = [c.value for c in ws[1]]
        col = {h: j + 1 for j, h in enumerate(header)}
        rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
        for r in rows:
            stratum = ws.cell(r, col["stratum"]).value
            ws.cell(r, col["auditor_id"]).value = auditor
            ws.cell(r, col["auditor_agency"]).value = agency
            ws.cell(r, col["audit_date"]).value = datetime(day.year, day.month, day.day)
            for h in header:
                if str(h).startswith("std_"):
                    ws.cell(r, col[h]).value = (_grade(rng, quality) if rng.random() > 0.05
                                                else "N/A")
            ws.cell(r, col["overall_grade"]).value = _grade(rng, quality)
            lo, hi = level_for.get(stratum, (1, 4))
            given = int(rng.integers(lo, hi + 1))
            ws.cell(r, col["tier_judged"]).value = f"Level {given}" if rng.random() < 0.5 \
                else given
            for h in header:
                if str(h).startswith("theme_"):
                    ws.cell(r, col[h]).value = "yes" if rng.random() < 0.2 else None
        info = wb["Instructions"]
        for r in range(1, info.max_row + 1):
            if info.cell(r, 1).value == "Date returned":
                info.cell(r, 2).value = datetime(returned.year, returned.month, returned.day)
        if agency == "Police":
            # Re-sorted by contact date, newest first; two headers in words; a column added.
            body = [[c.value for c in ws[r]] for r in rows]
            body.sort(key=lambda v: v[col["contact_date"] - 1], reverse=True)
            for i, values in enumerate(body):
                for j, v in enumerate(values, start=1):
                    ws.cell(rows[i], j).value = v
            ws.cell(1, col["auditor_id"]).value = "Auditor ID"
            ws.cell(1, col["std_threshold_applied"]).value = "Levels of Need applied correctly"
            extra = len(header) + 1
            ws.cell(1, extra).value = "Police reference (internal)"
            for r in rows:
                ws.cell(r, extra).value = f"PND/{int(rng.integers(10000, 99999))}"
        elif agency == "Health":
            ws.delete_rows(rows[4])  # one case never audited
            ws.cell(rows[7], col["std_voice_of_child"]).value = "G"  # not on the list
        else:
            ws.title = "Audit (completed)"
            last = rows[-1] + 1
            for j in range(1, len(header) + 1):
                ws.cell(last, j).value = ws.cell(rows[0], j).value
            ws.cell(last, 1).value = "cs_0f1e2d3c4b5a6978"  # a contact not in the sample
        path = out / name
        wb.save(path)
        from analysis.export import deterministic_xlsx

        written.append(deterministic_xlsx(path))
    return written


def main() -> None:
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "returns":
        for p in write_returns(Path(sys.argv[2]), HERE / "returns"):
            print(p)
        return
    rng = np.random.default_rng(20260402)
    children = make_children(rng)
    lists = make_journeys(rng, children)
    out = write_workbook(lists, HERE / "annex_a_exampleshire.xlsx")
    print(out, {k: len(v) for k, v in lists.items()})
    print(write_ratings(np.random.default_rng(20260403), HERE / "vignette_ratings.csv"))


if __name__ == "__main__":
    main()
