"""The whole Ofsted Annex A workbook (analysis.annex_a, analysis.journey): each test name
states its rule."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from analysis import annex_a, cli, ingest, journey, privacy, schemas
from analysis import thresholds as th

TODAY = date(2026, 3, 31)
COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
CONTACTS = [*COMMON, "Date of Contact", "Contact Source"]
EARLY_HELP = [*COMMON, "Assessment start date", "Assessment completion date",
              "Organisation completing assessment"]
REFERRALS = [*COMMON, "Date of referral", "Referral Source", "Referral NFA?",
             "Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"]
ASSESSMENTS = [*COMMON, "Does the Child have a Disability", "Continuous Assessment Start Date",
               "Child Seen During Continuous Assessment",
               "Continuous Assessment Date of Authorisation", "Allocated Team"]
S47 = [*COMMON, "Strategy discussion initiating Section 47 Enquiry Start Date",
       "Was an Initial Child Protection Conference deemed unnecessary?",
       "Date of Initial Child Protection Conference"]
PLANS = [*COMMON, "Child Protection Plan Start Date", "Initial Category of Abuse",
         "Number of Previous Child Protection Plans"]


def person(child: str, gender: str = "b) Female") -> list[Any]:
    return [child, gender, "a) WBRI", "01/02/2015", None]


def workbook(path: Path, sheets: dict[str, tuple[list[str] | None, list[list[Any]]]],
             titles: int = 0) -> Path:
    """A workbook with the given sheets (header None: a sheet of notes), ``titles`` title
    rows above each header (the first merged across three cells)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name)
        for t in range(titles):
            ws.append([f"Annex A export, title row {t + 1}"])
        if titles:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=3)
        if header is not None:
            ws.append(header)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def read(path: Path) -> annex_a.AnnexAResult:
    return annex_a.read_workbook(path, demo_key=True, today=TODAY)


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """Sheets renamed and reordered, headers under two title rows, codes and mixed dates."""
    return workbook(tmp_path / "annex.xlsx", {
        "Read me": (None, [["This workbook holds the council's Annex A lists."]]),
        "Sheet9": (REFERRALS, [
            [*person("C1"), "05/01/2026", "q) 6: Police", "b) No", 0, "Team A", "SW1"],
            [*person("C2", "a) Male"), 46030, "e) 2A: Schools", "a) Yes", 1, "Team B", "SW2"],
            [*person("C3"), "06/01/2026", "q) 6: Police", "b) No", -1, "Team A", "SW3"]]),
        "cp": (PLANS, [[*person("C1"), "20/02/2026", "a) Neglect", 0],
                       [*person("C2"), datetime(2026, 2, 21), "b) Physical abuse", 1]]),
        "Front door": (CONTACTS, [
            [*person("C1"), "04/01/2026", "q) 6: Police"],
            [*person("C2", "a) Male"), 46028, "e) 2A: Schools"],
            [*person("C3", "z) Other"), "06/01/2026", "Police"],
            [*person("C4", "c) Not stated/recorded"), "31/02/2026", "a) 1A: Individual"]]),
    }, titles=2)


def test_lists_are_recognised_by_their_headers_whatever_the_sheets_are_called_or_where(
        messy: Path) -> None:
    res = read(messy)
    found = {s.sheet: s.table for s in res.sheets}
    assert found == {"Read me": None, "Sheet9": "list3_referrals", "cp": "list7_cp_plans",
                     "Front door": "list1_contacts"}
    notes = next(s for s in res.sheets if s.sheet == "Read me")
    assert "no child id column" in notes.skipped


def test_annex_a_codes_and_dates_in_every_form_are_read(messy: Path) -> None:
    res = read(messy)
    refs = res.tables["list3_referrals"].accepted.set_index("referral_source")
    assert set(refs.index) == {"police", "school"}
    contacts = res.tables["list1_contacts"].accepted
    assert sorted(contacts["contact_date"].dt.strftime("%Y-%m-%d")) == ["2026-01-04",
                                                                       "2026-01-06"]
    assert set(contacts["gender"]) == {"female", "male"}
    assert set(contacts["ethnicity"]) == {"white"}
    assert refs["referral_nfa"].to_dict() == {"police": False, "school": True}
    plans = res.tables["list7_cp_plans"].accepted
    assert sorted(plans["previous_plans"].tolist()) == [0, 1]
    assert "date_of_birth" not in contacts.columns and contacts["age_band"].eq("10_to_15").all()


def test_every_list_accounts_for_every_row_read(messy: Path) -> None:
    res = read(messy)
    for table, r in res.tables.items():
        assert r.rows_accepted + r.rows_quarantined == r.rows_read, table
    assert res.tables["list1_contacts"].rows_read == 4
    assert res.tables["list1_contacts"].rows_quarantined == 2


def test_bad_rows_are_quarantined_with_file_sheet_row_column_and_rule(messy: Path) -> None:
    q = read(messy).tables["list1_contacts"].quarantine
    assert list(q.columns[:3]) == ["file", "sheet", "row"]
    got = {(r.sheet, r.row, r.column) for r in q.itertuples()}
    # header on row 3 (two title rows): data rows 4 to 7
    assert got == {("Front door", 6, "gender"), ("Front door", 7, "contact_date")}
    assert set(q["file"]) == {str(messy)}
    neg = read(messy).tables["list3_referrals"].quarantine
    assert neg[["row", "column", "rule"]].values.tolist() == [
        [6, "referrals_last_12m", "negative count"]]


def test_child_ids_are_pseudonymised_the_same_in_every_list(messy: Path) -> None:
    res = read(messy)
    c1 = privacy.pseudonymise("C1", privacy.DEMO_KEY, "child")
    for table in ("list1_contacts", "list3_referrals", "list7_cp_plans"):
        ids = set(res.tables[table].accepted["child_id"])
        assert c1 in ids and not any(i.startswith("C") for i in ids), table


def test_outputs_are_written_per_list_as_ingest_writes_them(messy: Path, tmp_path: Path
                                                            ) -> None:
    res = read(messy)
    paths = annex_a.write_outputs(res, tmp_path / "out", cases_name="annex_a_cases")
    names = sorted(p.name for p in paths.values())
    for table in ("list1_contacts", "list3_referrals", "list7_cp_plans"):
        assert {f"{table}.parquet", f"{table}_quarantine.csv", f"{table}_ingest.json"} <= set(
            names)
    assert "journey.parquet" in names and "annex_a_cases.parquet" in names
    cases = pd.read_parquet(tmp_path / "out" / "annex_a_cases.parquet")
    schemas.validate(cases, "cases")


def test_a_workbook_with_no_list_is_refused_naming_every_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "x.xlsx", {"Notes": (["Name", "Team"], [["a", "b"]]),
                                          "Blank": (None, [])})
    with pytest.raises(annex_a.NoListError) as err:
        read(path)
    msg = str(err.value)
    assert "'Notes'" in msg and "'Blank': empty" in msg and "first ten rows" in msg


def test_the_cli_prints_every_list_with_read_accepted_and_quarantined(
        messy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ingest", "--kind", "annex-a", str(messy), "--out", str(tmp_path / "o"),
                     "--demo-key", "--cases-name", "front"])
    out = capsys.readouterr().out
    assert code == 0
    assert "sheet 'Front door': list 1 -> list1_contacts: 4 read, 2 accepted, 2 quarantined" \
        in out
    assert "sheet 'Sheet9': list 3 -> list3_referrals: 3 read, 2 accepted, 1 quarantined" in out
    assert "sheet 'cp': list 7 -> list7_cp_plans: 2 read, 2 accepted, 0 quarantined" in out
    assert "sheet 'Read me': skipped" in out
    assert (tmp_path / "o" / "front.parquet").is_file()


def test_a_workbook_without_list_1_is_read_with_no_journeys_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A workbook sent without its contacts list (list 1) was a traceback from inside the
    journey; its other lists are read, the journey is empty (with its columns and types) and
    the summary says why."""
    path = workbook(tmp_path / "nolist1.xlsx", {
        "Sheet9": (REFERRALS, [[*person("C1"), "05/01/2026", "q) 6: Police", "b) No", 0,
                                "Team A", "SW1"]])})
    res = read(path)
    assert "list1_contacts" not in res.tables and len(res.journey) == 0
    assert str(res.journey["contact_date"].dtype) == "datetime64[ns]"
    code = cli.main(["ingest", "--kind", "annex-a", str(path), "--out", str(tmp_path / "o"),
                     "--demo-key"])
    assert code == 0
    assert "no list 1 (contacts) in the workbook: no child journeys" in capsys.readouterr().out


def test_the_cli_exits_2_with_one_message_for_an_unrecognised_or_empty_workbook(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workbook(tmp_path / "empty.xlsx", {"Sheet1": (None, []), "Sheet2": (None, [])})
    code = cli.main(["ingest", "--kind", "annex-a", str(path), "--out", str(tmp_path / "o"),
                     "--demo-key"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no Ofsted Annex A list was recognised" in err and "Traceback" not in err
    assert err.count("\n") == 1


# --------------------------------------------------------------------------------------
# The journey and the measures, on tiny hand-made tables
# --------------------------------------------------------------------------------------


def pid(child: str) -> str:
    """The pseudonym of a hand-made child id, as ingest would write it."""
    return privacy.pseudonymise(child, privacy.DEMO_KEY, "child") or ""


NAMES = {pid(c): c for c in "abc"}


def _t(rows: list[dict[str, Any]], dates: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["child_id"] = df["child_id"].map(pid).astype("string")
    for d in dates:
        df[d] = pd.to_datetime(df[d])
    for c in ("referral_source", "age_band", "gender", "ethnicity"):
        if c not in df.columns:
            df[c] = pd.Series(pd.NA, index=df.index, dtype="string")
    return df


def contacts(*pairs: tuple[str, str]) -> pd.DataFrame:
    return _t([{"child_id": c, "contact_date": d} for c, d in pairs], ("contact_date",))


def referrals(*rows: tuple[str, str, int | None]) -> pd.DataFrame:
    df = _t([{"child_id": c, "referral_date": d, "referrals_last_12m": n, "referral_nfa": False,
              "team": "T"} for c, d, n in rows], ("referral_date",))
    df["referrals_last_12m"] = df["referrals_last_12m"].astype("Int64")
    return df


def test_a_contact_links_to_the_first_referral_within_the_window_and_before_the_next_contact(
        ) -> None:
    j = journey.build_journey({
        "list1_contacts": contacts(("a", "2026-01-05"), ("a", "2026-01-06"), ("b", "2026-01-05"),
                                   ("c", "2026-01-05")),
        "list3_referrals": referrals(("a", "2026-01-07", 0), ("b", "2026-01-04", 0),
                                     ("c", "2026-01-20", 0))})
    got = dict(zip(j["child_id"].map(NAMES) + " " + j["contact_date"].dt.strftime("%m-%d"),
                   j["referral_date"].dt.strftime("%m-%d").fillna("-"), strict=True))
    # a's first contact: the referral is after a's next contact, so it belongs to the second;
    # b's referral is before the contact; c's is outside the 7-day window
    assert got == {"a 01-05": "-", "a 01-06": "01-07", "b 01-05": "-", "c 01-05": "-"}


def test_the_front_door_table_derives_outcomes_from_the_journey() -> None:
    tables = {
        "list1_contacts": contacts(("a", "2026-01-05"), ("b", "2026-01-05"), ("c", "2026-01-05")),
        "list2_early_help": _t([{"child_id": "b", "eh_start_date": "2026-01-07"}],
                               ("eh_start_date",)),
        "list3_referrals": referrals(("a", "2026-01-05", 1))}
    j = journey.build_journey(tables)
    fd = journey.front_door_cases(j, tables, privacy.DEMO_KEY)
    front = fd[fd["service"] == "front_door"].assign(
        child=lambda d: d["child_id"].map(NAMES)).set_index("child")
    assert front["outcome"].to_dict() == {"a": "assessment", "b": "early_help", "c": "nfa"}
    assert (fd["service"] == "early_help").sum() == 1
    schemas.validate(fd, "cases")


def _series(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    j = journey.build_journey(tables)
    return th.monthly_series(journey.front_door_rows(j), plans=journey.plans(
        tables.get("list7_cp_plans")))


def _measure(series: pd.DataFrame, measure: str) -> tuple[int, int]:
    s = series[series["measure"] == measure]
    return int(s["numerator"].sum()), int(s["denominator"].sum())


def test_conversion_counts_contacts_with_and_without_a_referral() -> None:
    s = _series({"list1_contacts": contacts(("a", "2026-01-05"), ("b", "2026-01-05")),
                 "list3_referrals": referrals(("a", "2026-01-06", 0))})
    assert _measure(s, "conversion") == (1, 2)


def test_a_re_referral_inside_12_months_counts_and_one_outside_does_not() -> None:
    tables = {"list1_contacts": contacts(("a", "2025-01-10"), ("a", "2026-01-05"),
                                         ("b", "2024-12-01"), ("b", "2026-01-05")),
              "list3_referrals": referrals(("a", "2025-01-10", None), ("a", "2026-01-05", None),
                                           ("b", "2024-12-01", None), ("b", "2026-01-05", None))}
    s = _series(tables)
    jan = s[(s["measure"] == "rereferral") & (s["month"] == "2026-01-01")]
    assert (int(jan["numerator"].iloc[0]), int(jan["denominator"].iloc[0])) == (1, 2)


def test_an_assessment_of_45_working_days_is_in_time_and_46_is_not() -> None:
    tables = {"list1_contacts": contacts(("a", "2025-09-01"), ("b", "2025-09-01")),
              "list3_referrals": referrals(("a", "2025-09-01", 0), ("b", "2025-09-01", 0)),
              "list4_assessments": _t([
                  {"child_id": "a", "assessment_start_date": "2025-09-01",
                   "assessment_end_date": "2025-11-03"},   # 45 working days
                  {"child_id": "b", "assessment_start_date": "2025-09-01",
                   "assessment_end_date": "2025-11-04"}],  # 46
                  ("assessment_start_date", "assessment_end_date"))}
    assert list(th.working_days(["2025-09-01"] * 2, ["2025-11-03", "2025-11-04"])) == [45, 46]
    assert _measure(_series(tables), "assessment_45") == (1, 2)


def test_a_first_plan_is_not_a_repeat_and_a_second_or_subsequent_plan_is() -> None:
    plans = _t([{"child_id": "a", "plan_start_date": "2026-02-01", "previous_plans": 0},
                {"child_id": "b", "plan_start_date": "2026-02-02", "previous_plans": 1},
                {"child_id": "c", "plan_start_date": "2026-02-03", "previous_plans": 2}],
               ("plan_start_date",))
    plans["previous_plans"] = plans["previous_plans"].astype("Int64")
    s = _series({"list1_contacts": contacts(("a", "2026-01-05")), "list7_cp_plans": plans})
    assert _measure(s, "repeat_plan") == (2, 3)
    assert journey.plans(plans)["repeat_plan"].tolist() == [False, True, True]


def test_without_a_count_a_repeat_plan_is_read_from_the_history_of_list_7() -> None:
    plans = _t([{"child_id": "a", "plan_start_date": "2023-02-01"},
                {"child_id": "a", "plan_start_date": "2026-02-01"},
                {"child_id": "b", "plan_start_date": "2026-02-02"}], ("plan_start_date",))
    s = _series({"list1_contacts": contacts(("a", "2026-01-05")), "list7_cp_plans": plans})
    feb = s[(s["measure"] == "repeat_plan") & (s["month"] == "2026-02-01")]
    assert (int(feb["numerator"].iloc[0]), int(feb["denominator"].iloc[0])) == (1, 2)
    assert bool(feb["lookback_complete"].iloc[0])


def test_each_list_has_a_contract_in_the_data_dictionary() -> None:
    text = schemas.data_dictionary_markdown()
    for table in schemas.ANNEX_A_TABLES:
        assert f"## {table}" in text
        schemas.pandera_schema(schemas.spec_for(table))


def test_the_single_list_mapping_is_unchanged_and_reads_annex_a_codes(tmp_path: Path) -> None:
    path = workbook(tmp_path / "l1.xlsx", {"L1": (CONTACTS, [
        [*person("C1"), "04/01/2026", "q) 6: Police"]])})
    res = ingest.ingest(path, "cases", "annex_a", demo_key=True, today=TODAY)
    assert res.rows_accepted == 1 and res.accepted["referral_source"].iloc[0] == "police"


def _notebook(root: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("round_name = ''")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(round_name)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (root / "notebooks").mkdir(exist_ok=True)
    nbformat.write(nb, root / "notebooks" / "ok.ipynb")


def test_a_round_step_of_kind_annex_a_records_each_lists_counts_and_is_cached(
        messy: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from analysis import pipeline

    root = tmp_path / "proj"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "_quarto.yml").write_text("project:\n  type: website\n")
    shutil.copy(messy, root / "data" / "raw" / "annex.xlsx")
    rf = root / "rounds" / "a.yml"
    rf.parent.mkdir()
    _notebook(root)
    rf.write_text("round: a1\ndate: 2026-03-31\ndemo: true\nprepare:\n"
                  "  - ingest: {kind: annex-a, file: data/raw/annex.xlsx, cases: front}\n"
                  "notebooks:\n  - notebooks/ok.ipynb\n")
    said: list[str] = []
    pipeline.run_round(rf, say=said.append, progress=False)
    rec = json.loads((root / "reports" / "a1" / "round.json").read_text())
    [step] = rec["prepare"]["ingest"]
    lists = {x["table"]: x for x in step["lists"] if x.get("rows_read") is not None}
    assert lists["list1_contacts"]["rows_read"] == 4
    assert lists["list1_contacts"]["rows_quarantined"] == 2
    assert step["name"] == "front" and step["kind"] == "annex-a"
    assert (root / "data" / "processed" / "a1" / "front.parquet").is_file()
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("ingest annex-a" in s and "unchanged, reused" in s for s in said)


def test_a_round_step_of_kind_annex_a_refuses_a_mapping(tmp_path: Path) -> None:
    from analysis import pipeline

    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\n")
    _notebook(tmp_path)
    rf = tmp_path / "r.yml"
    rf.write_text("round: a1\ndate: 2026-03-31\nprepare:\n"
                  "  - ingest: {kind: annex-a, file: x.xlsx, mapping: annex_a}\n"
                  "notebooks:\n  - notebooks/ok.ipynb\n")
    with pytest.raises(pipeline.RoundError, match="leave out 'mapping:'"):
        pipeline.load_round(rf)
    rf.write_text("round: a1\ndate: 2026-03-31\nprepare:\n"
                  "  - ingest: {kind: annex-a, file: x.xlsx, cases: ../cases}\n"
                  "notebooks:\n  - notebooks/ok.ipynb\n")
    with pytest.raises(pipeline.RoundError, match="names a table file"):
        pipeline.load_round(rf)


def test_header_variants_and_later_lists_are_recognised_and_list_11_is_skipped_by_name(
        tmp_path: Path) -> None:
    path = workbook(tmp_path / "v.xlsx", {
        "a": (["CHILD UID", "Sex", "DOB", "Contact Date", "Source of Contact"],
              [["X1", "F", "01/02/2015", "04/01/2026", "q) 6: Police"]]),
        "b": (["Child Unique ID", "Date of Birth", "Date the Child Entered Care",
               "Date of Decision that Child Should be Placed for Adoption",
               "Date of Adoption Order"], [["X2", "01/02/2020", "01/03/2024", "01/06/2024",
                                            None]]),
        "c": (["Child ID", "Eligibility Category", "In Touch Category", "Activity Status"],
              [["X3", "Relevant", "a) Yes", "Education"]]),
        "d": (["Adopter ID", "Date of Initial Enquiry", "Date Stage 1 Started"],
              [["AD1", "01/01/2026", "02/01/2026"]]),
    })
    res = read(path)
    assert {s.sheet: s.table for s in res.sheets} == {
        "a": "list1_contacts", "b": "list10_adoption", "c": "list9_care_leavers",
        "d": "list11_adopters"}
    adopters = next(s for s in res.sheets if s.sheet == "d")
    assert adopters.result is None and "adopters, not children" in adopters.skipped
    contacts = res.tables["list1_contacts"].accepted
    assert contacts["gender"].tolist() == ["female"]
    assert contacts["referral_source"].tolist() == ["police"]
    assert res.tables["list10_adoption"].rows_accepted == 1


def test_two_sheets_of_one_list_read_the_first_and_name_the_second(tmp_path: Path) -> None:
    rows = [[*person("C1"), "04/01/2026", "q) 6: Police"]]
    res = read(workbook(tmp_path / "t.xlsx", {"L1": (CONTACTS, rows), "L1 again": (CONTACTS,
                                                                                   rows)}))
    again = next(s for s in res.sheets if s.sheet == "L1 again")
    assert again.result is None and "already read from sheet 'L1'" in again.skipped
