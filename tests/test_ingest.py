"""Ingest: canonical tables from messy exports; nothing lost, nothing personal kept."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import ingest, privacy, schemas
from analysis.ingest import InputError

CASES_HEADER = ("case_id,child_id,gender,contact_date,referral_source,route,service,"
                "level_of_need,outcome,domestic_abuse,previous_csc,date_of_birth")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, env=env)


@pytest.fixture
def cases_csv(tmp_path: Path) -> Path:
    return write(tmp_path, "cases.csv", "\n".join([
        CASES_HEADER,
        "A1, 00123 ,b) Female,01/04/2025,5A,single,front_door,2A,nfa,yes,no,2015-03-02",
        "A2,00124,Male,45810,Police,single agency,front_door,tier 3,Assessment,n,y,2014-01-01",
        "A3,,Male,31/02/2025,Police,single agency,front_door,3,nfa,n,y,2014-01-01",
        "A1,00123,z) Other,2025-04-02,Police,single agency,front_door,3,nfa,n,y,#N/A",
        "A5,00125,#N/A,2025-04-03,2A,multi-agency,triage,2B,early help,no,no,2019-07-07",
    ]) + "\n")


def test_rows_accepted_plus_quarantined_equals_rows_read(cases_csv: Path) -> None:
    res = ingest.ingest(cases_csv, "cases", demo_key=True)
    assert res.rows_read == 5
    assert res.rows_accepted + res.rows_quarantined == res.rows_read
    assert (res.rows_accepted, res.rows_quarantined) == (3, 2)


def test_quarantine_names_file_row_column_value_and_rule(cases_csv: Path) -> None:
    q = ingest.ingest(cases_csv, "cases", demo_key=True).quarantine
    assert list(q.columns) == ["file", "row", "column", "value", "rule"]
    bad_date = q[q["column"] == "contact_date"].iloc[0]
    assert bad_date["row"] == 4 and bad_date["value"] == "31/02/2025"
    assert "not a valid date" in bad_date["rule"]
    assert bad_date["file"] == str(cases_csv)
    assert {"required value is missing", "duplicate of row 2"} <= set(q["rule"])
    gender = q[q["column"] == "gender"].iloc[0]
    assert gender["row"] == 5 and gender["value"] == "z) Other"


def test_messy_codes_are_normalised(cases_csv: Path) -> None:
    acc = ingest.ingest(cases_csv, "cases", demo_key=True).accepted.set_index("level_of_need")
    assert acc.loc["2A", "gender"] == "female"  # "b) Female"
    assert acc.loc["2A", "referral_source"] == "police"  # CIN code 5A
    assert acc.loc["3", "outcome"] == "assessment"  # "Assessment", "tier 3"
    assert acc.loc["2B", "service"] == "partnership_triage"  # "triage"
    assert acc.loc["2B", "route"] == "multi_agency_forum"
    assert acc.loc["2B", "referral_source"] == "school"  # CIN code 2A
    assert pd.isna(acc.loc["2B", "gender"])  # "#N/A" is missing, not a value


def test_excel_serial_dates_are_read(cases_csv: Path) -> None:
    acc = ingest.ingest(cases_csv, "cases", demo_key=True).accepted
    assert pd.Timestamp("2025-06-02") in set(acc["contact_date"])  # serial 45810


def test_ids_are_pseudonymised_and_dates_of_birth_dropped(cases_csv: Path) -> None:
    acc = ingest.ingest(cases_csv, "cases", demo_key=True).accepted
    assert "date_of_birth" not in acc.columns
    assert acc["case_id"].str.match(r"^cs_[0-9a-f]{16}$").all()
    assert acc["child_id"].str.match(r"^ch_[0-9a-f]{16}$").all()
    text = acc.to_csv()
    for raw in ("A1", "00123", "2015-03-02"):
        assert raw not in text
    assert set(acc["age_band"]) == {"10_to_15", "5_to_9"}


def test_leading_zeros_and_spaces_in_ids_do_not_change_the_pseudonym() -> None:
    key = privacy.DEMO_KEY
    assert privacy.pseudonymise(" 00123 ", key, "child") == privacy.pseudonymise("00123", key,
                                                                                  "child")
    assert privacy.pseudonymise("00123", key, "child") != privacy.pseudonymise("123", key,
                                                                                "child")


def test_pseudonyms_are_keyed_and_idempotent() -> None:
    a = privacy.pseudonymise("CN0000001", b"k" * 32, "case")
    b = privacy.pseudonymise("CN0000001", b"j" * 32, "case")
    assert a != b
    assert privacy.pseudonymise(a, b"j" * 32, "case") == a


def test_age_band_follows_dfe_bands_and_marks_unborn() -> None:
    on = pd.Series(pd.to_datetime(["2025-04-01"] * 5))
    dob = pd.Series(pd.to_datetime(["2025-06-01", "2024-10-01", "2021-04-02", "2009-04-01",
                                    "2009-04-02"]))
    assert list(privacy.age_bands(dob, on)) == ["unborn", "under_1", "1_to_4", "16_and_over",
                                               "10_to_15"]


def test_missing_required_column_is_one_clear_message(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "child_id,gender\n1,Male\n")
    with pytest.raises(InputError) as err:
        ingest.ingest(p, "cases", demo_key=True)
    msg = str(err.value)
    assert str(p) in msg and "missing required column" in msg and "'contact_date'" in msg
    assert "--mapping" in msg


def test_wrong_encoding_names_the_fix(tmp_path: Path) -> None:
    p = write(tmp_path, "latin.csv", CASES_HEADER + "\nA1,1,Fémale,01/04/2025,police,single,"
              "front_door,1,nfa,n,n,2015-01-01\n", encoding="cp1252")
    with pytest.raises(InputError) as err:
        ingest.ingest(p, "cases", demo_key=True)
    assert "CSV UTF-8" in str(err.value) and "--encoding cp1252" in str(err.value)
    res = ingest.ingest(p, "cases", demo_key=True, encoding="cp1252")
    assert res.rows_read == 1


def test_unreadable_and_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        ingest.ingest(tmp_path / "nope.csv", "cases", demo_key=True)
    bad = write(tmp_path, "bad.xlsx", "this is not a workbook")
    with pytest.raises(InputError, match="not a readable Excel workbook"):
        ingest.ingest(bad, "cases", demo_key=True)
    with pytest.raises(InputError, match="cannot read '.pdf' files"):
        ingest.ingest(write(tmp_path, "x.pdf", "%PDF"), "cases", demo_key=True)


def test_wrong_sheet_lists_the_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Contacts"
    p = tmp_path / "book.xlsx"
    wb.save(p)
    with pytest.raises(InputError) as err:
        ingest.ingest(p, "cases", demo_key=True, sheet="List 1")
    assert "no sheet named 'List 1'" in str(err.value) and "'Contacts'" in str(err.value)


def annex_a_workbook(path: Path) -> Path:
    """A small Ofsted Annex A list 1 export with the usual messiness."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "List 1"
    ws.append(["Annex A list 1: contacts (export 2025-06-30)"])  # title row above the header
    ws.append([" Child Unique ID", "Gender", "Ethnicity", "Date of Birth",
               "Age of Child (Years)", " date of contact ", "Contact Source",
               "Number of Referrals in Last 12 Months", "Allocated Team", "Allocated Worker"])
    ws.append(["0012345", "b) Female", "WBRI", 43831, None, "01/04/2025", "5A", 0, "Team A",
               "J Smith"])
    ws.append(["0012346", "a) Male", "#N/A", None, 7, 45748, "Schools", 1, " Team B ", "x"])
    ws.append([None, "Male", "MWBC", "2012-01-01", None, "02/04/2025", "Police", 0, "A", "y"])
    ws.append(["0012347", "Female", "APKN", "2013-05-05", None, "31/02/2025", "3A", 0, "A", "z"])
    ws.append(["0012348", "z) Other", "BAFR", "2016-01-01", None, "03/04/2025", "Police", -1,
               "A", "w"])
    wb.save(path)
    return path


def test_annex_a_mapping_copes_with_a_messy_export(tmp_path: Path) -> None:
    p = annex_a_workbook(tmp_path / "annex_a.xlsx")
    res = ingest.ingest(p, "cases", "annex_a", demo_key=True)
    assert res.rows_read == 5
    assert res.rows_accepted + res.rows_quarantined == 5
    assert res.rows_accepted == 2
    acc = res.accepted.sort_values("contact_date")
    assert list(acc["gender"]) == ["female", "male"]
    assert list(acc["age_band"]) == ["5_to_9", "5_to_9"]
    assert list(acc["referral_source"]) == ["police", "school"]
    assert acc["ethnicity"].iloc[0] == "white" and pd.isna(acc["ethnicity"].iloc[1])
    assert list(acc["team"]) == ["Team A", "Team B"]
    assert set(acc["service"]) == {"front_door"}
    q = res.quarantine
    assert set(q["row"]) == {5, 6, 7}  # spreadsheet rows: title row 1, header row 2
    assert "Allocated Worker" in res.ignored_columns


def test_a_header_cell_merged_down_over_a_two_row_header_keeps_its_name(tmp_path: Path
                                                                        ) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Exampleshire County Council: Annex A list 1"])
    ws.append(["Child Unique ID", "Child details", None, "Contact", None])
    ws.append([None, "Gender", "Age of Child (Years)", "Date of Contact", "Contact Source"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:C2")
    ws.merge_cells("D2:E2")
    ws.append(["000123", "b) Female", 7, "01/04/2025", "5A: Police"])
    ws.append(["000124", "a) Male", 3, "02/04/2025", "3A: Health services - GP"])
    p = tmp_path / "two_row_header.xlsx"
    wb.save(p)
    res = ingest.ingest(p, "cases", "annex_a", demo_key=True)
    assert res.rows_accepted == 2 and res.rows_quarantined == 0
    assert list(res.accepted.sort_values("contact_date")["referral_source"]) == ["police",
                                                                                 "health"]


@pytest.mark.parametrize("written", ["5A: Police", "q) 5A: Police", "5A - Police", "Police",
                                     "5a", "a) Police"])
def test_a_code_written_with_its_label_reads_as_the_code(written: str) -> None:
    col = schemas.cases_spec().column("referral_source")
    parsed, bad = ingest._parse_code(pd.Series([written], dtype="string"), col, None)
    assert not bad.any() and parsed.iloc[0] == "police"


def test_audit_returns_keep_pseudonymised_case_ids(tmp_path: Path) -> None:
    spec = schemas.audit_spec()
    pid = privacy.pseudonymise("CN1", privacy.DEMO_KEY, "case")
    row = {c: "" for c in spec.names}
    row.update({"case_id": pid, "auditor_id": "AB", "overall_grade": "RI", "notes": "fine"})
    for k in schemas.load_standards().standard_keys:
        row[f"std_{k}"] = "Yes"
    row["std_tier3_consultation"] = "N/A"
    row["theme_siblings_not_considered"] = "yes"
    df = pd.DataFrame([row])
    p = tmp_path / "returns.csv"
    df.to_csv(p, index=False)
    acc = ingest.ingest(p, "audit", demo_key=True).accepted
    assert acc.loc[0, "case_id"] == pid
    assert acc.loc[0, "std_tier3_consultation"] == "not_applicable"
    assert acc.loc[0, "overall_grade"] == "requires_improvement"
    assert bool(acc.loc[0, "theme_siblings_not_considered"])
    assert not bool(acc.loc[0, "theme_da_risk_not_recognised"])  # blank = not flagged


def test_ingest_output_validates_against_the_pandera_contract(cases_csv: Path, tmp_path: Path
                                                              ) -> None:
    res = ingest.ingest(cases_csv, "cases", demo_key=True)
    paths = ingest.write_outputs(res, tmp_path / "out")
    table = ingest.read_table(paths["table"], "cases")
    assert len(table) == res.rows_accepted


def test_ingest_is_deterministic(cases_csv: Path, tmp_path: Path) -> None:
    a = ingest.write_outputs(ingest.ingest(cases_csv, "cases", demo_key=True), tmp_path / "a")
    b = ingest.write_outputs(ingest.ingest(cases_csv, "cases", demo_key=True), tmp_path / "b")
    assert a["table"].read_bytes() == b["table"].read_bytes()
    assert a["quarantine"].read_bytes() == b["quarantine"].read_bytes()


def test_cli_prints_read_accepted_quarantined(cases_csv: Path, tmp_path: Path) -> None:
    out = run_cli("ingest", "--kind", "cases", str(cases_csv), "--out", str(tmp_path / "o"),
                  "--demo-key")
    assert out.returncode == 0, out.stderr
    assert "rows read:        5" in out.stdout
    assert "rows accepted:    3" in out.stdout
    assert "rows quarantined: 2" in out.stdout


def test_cli_bad_input_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "child_id\n1\n")
    out = run_cli("ingest", "--kind", "cases", str(p), "--out", str(tmp_path / "o"),
                  "--demo-key")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "missing required column" in out.stderr and str(p) in out.stderr


def test_cli_without_a_key_says_how_to_set_one(cases_csv: Path, tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SQA_PSEUDONYM")}
    out = run_cli("ingest", "--kind", "cases", str(cases_csv), "--out", str(tmp_path / "o"),
                  env=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "SQA_PSEUDONYM_KEY" in out.stderr


def test_key_file_inside_the_repository_is_refused(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".git").mkdir()
    key = tmp_path / "k.key"
    key.write_text("x" * 40)
    monkeypatch.setenv("SQA_PSEUDONYM_KEY_FILE", str(key))
    monkeypatch.delenv("SQA_PSEUDONYM_KEY", raising=False)
    with pytest.raises(privacy.KeyError_, match="inside the repository"):
        privacy.load_key(repo_root=tmp_path)


def test_a_date_outside_any_plausible_range_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    p = write(tmp_path, "typo.csv", CASES_HEADER + "\n"
              "A1,1,Male,01/01/0201,police,single,front_door,1,nfa,n,n,2015-01-01\n"
              "A2,2,Male,01/01/2025,police,single,front_door,1,nfa,n,n,9999-01-01\n")
    res = ingest.ingest(p, "cases", demo_key=True)
    assert (res.rows_read, res.rows_quarantined) == (2, 2)
    assert set(res.quarantine["value"]) == {"01/01/0201", "9999-01-01"}


def test_an_excel_date_time_after_midday_keeps_its_date() -> None:
    """Issue 12, case 13: serial 45810.75 is 2 June 2025 at 18:00, not 3 June."""
    parsed, bad = ingest._parse_date(pd.Series(["45810.75", "45810.25", "45810"]))
    assert list(parsed) == [pd.Timestamp("2025-06-02")] * 3 and not bad.any()


@pytest.mark.parametrize("where", ["env", "file"])
def test_the_public_demo_key_is_refused_for_real_data(tmp_path: Path, monkeypatch,
                                                      where: str) -> None:
    """Issue 12, case 15: the demo key is public; wherever it comes from, real data (anything
    not marked demo) refuses it."""
    monkeypatch.delenv("SQA_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("SQA_PSEUDONYM_KEY_FILE", raising=False)
    if where == "env":
        monkeypatch.setenv("SQA_PSEUDONYM_KEY", privacy.DEMO_KEY.decode())
    else:
        key = tmp_path / "k.key"
        key.write_bytes(privacy.DEMO_KEY + b"\n")
        monkeypatch.setenv("SQA_PSEUDONYM_KEY_FILE", str(key))
    with pytest.raises(privacy.KeyError_, match="public demo key"):
        privacy.load_key(repo_root=tmp_path / "repo")
    assert privacy.load_key(demo=True) == privacy.DEMO_KEY


def test_a_row_with_an_extra_field_is_quarantined_and_never_shifts_the_columns(tmp_path: Path
                                                                               ) -> None:
    """Issue 12, case 12: one extra field on the first data row made pandas take the first
    column as an index, shifting every value one column left, and every row was accepted."""
    good = "A2,2,Male,01/01/2025,police,single,front_door,1,nfa,n,n,2015-01-01\n"
    p = write(tmp_path, "extra.csv", CASES_HEADER + "\n"
              "A1,1,Male,01/01/2025,police,single,front_door,1,nfa,n,n,2015-01-01,EXTRA\n"
              + good + "\n" + good.replace("A2,2", "A3,3")
              + "A4,4,Male,01/01/2025,police\n")
    res = ingest.ingest(p, "cases", demo_key=True)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (4, 2, 2)
    whole = res.quarantine[res.quarantine["column"] == "(whole row)"]
    assert list(whole["row"]) == [2, 5]
    assert "has 13 fields but the header has 12" in whole["rule"].iloc[0]
    assert set(res.accepted["referral_source"]) == {"police"}  # nothing shifted


def test_a_well_formed_csv_reads_as_before(tmp_path: Path) -> None:
    p = write(tmp_path, "ok.csv", CASES_HEADER + "\n"
              "A2,2,Male,01/01/2025,police,single,front_door,1,nfa,n,n,2015-01-01\n")
    assert ingest.read_raw(p)[0].attrs.get(ingest.FIELD_PROBLEMS) is None


# --------------------------------------------------------------------------------------
# Issue 12, cases 14, 17 and 18: workbook cells, nested columns, clearer messages
# --------------------------------------------------------------------------------------

CASE_ROW = ["A1", "001", "Female", "2025-04-01", "Police", "single agency", "front_door", "2A",
            "nfa", "no", "no", "2015-03-02"]


def cases_workbook(path: Path, rows: int = 5, header: list[str] | None = None,
                   extra: list[object] | None = None) -> tuple[Path, openpyxl.Workbook]:
    """A cases workbook with a title row above the header (so the header is sheet row 2 and
    data start at row 3), rows A0, A1... and nothing wrong in it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contacts"
    ws.append(["Contacts export"])
    ws.append(header or CASES_HEADER.split(","))
    for i in range(rows):
        ws.append([f"A{i}", *CASE_ROW[1:], *(extra or [])])
    return path, wb


def test_merged_cells_quarantine_each_blanked_row_naming_the_sheet_cell_and_range(
        tmp_path: Path) -> None:
    """Issue 12, case 14: a merged range reads as its top-left value and blanks below it; the
    rows below were accepted with a blank gender (or 'required value is missing')."""
    path, wb = cases_workbook(tmp_path / "merged.xlsx")
    wb.active.merge_cells("C4:C6")  # gender of A1 (row 4) over A2 and A3
    wb.active.merge_cells("A1:F1")  # the title row: not data, not a problem
    wb.save(path)
    res = ingest.ingest(path, "cases", demo_key=True)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (5, 3, 2)
    q = res.quarantine
    assert list(q["row"]) == [5, 6] and set(q["column"]) == {"gender"}
    assert q["rule"].iloc[0] == ("sheet 'Contacts': cell C5 is in the merged range C4:C6 and "
                                 "reads as blank; unmerge it and fill every row")


def test_a_merged_range_in_a_column_the_table_does_not_use_quarantines_nothing(
        tmp_path: Path) -> None:
    header = [*CASES_HEADER.split(","), "Notes"]
    path, wb = cases_workbook(tmp_path / "notes.xlsx", header=header, extra=["see file"])
    wb.active.merge_cells("M3:M7")
    wb.save(path)
    res = ingest.ingest(path, "cases", demo_key=True)
    assert (res.rows_accepted, res.rows_quarantined) == (5, 0)


def test_a_formula_without_a_saved_value_is_quarantined_naming_the_cell(tmp_path: Path) -> None:
    """openpyxl saves formulas without results: read for values they are blank, and a
    required column said 'required value is missing' with no hint why."""
    path, wb = cases_workbook(tmp_path / "formula.xlsx")
    wb.active["D5"] = "=DATE(2025,4,1)"  # contact_date of A2 (required)
    wb.active["I6"] = '=IF(TRUE,"nfa","")'  # outcome of A3 (optional)
    wb.save(path)
    res = ingest.ingest(path, "cases", demo_key=True)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (5, 3, 2)
    q = res.quarantine.set_index("row")
    assert q.loc[5, "column"] == "contact_date" and q.loc[5, "value"] == "=DATE(2025,4,1)"
    assert q.loc[5, "rule"] == ("sheet 'Contacts': cell D5 holds a formula with no saved value; "
                                "open the workbook in Excel and save it, or paste values")
    assert q.loc[6, "column"] == "outcome" and "cell I6 holds a formula" in q.loc[6, "rule"]
    assert "required value is missing" not in set(q["rule"])


def test_a_sheet_read_twice_is_parsed_once_until_the_file_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An Annex A sheet is read to recognise its list and again to ingest it (the gate does
    the same): the second read comes from the sheet cache; a file saved again is read anew."""
    import os

    from analysis.ingest import read

    path, wb = cases_workbook(tmp_path / "twice.xlsx")
    wb.save(path)
    opened = []
    real = read.open_workbook
    monkeypatch.setattr(read, "open_workbook", lambda p: opened.append(p) or real(p))
    first = ingest.ingest(path, "cases", demo_key=True)
    again = ingest.ingest(path, "cases", demo_key=True)
    assert len(opened) == 1
    pd.testing.assert_frame_equal(first.accepted, again.accepted)
    wb.active["C3"] = "Male"
    wb.save(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    changed = ingest.ingest(path, "cases", demo_key=True)
    assert len(opened) == 2 and changed.accepted["gender"].iloc[0] == "male"


def test_formulas_with_saved_values_are_read_as_their_values(tmp_path: Path) -> None:
    """A workbook saved by Excel keeps each formula's value: nothing to quarantine. (The
    cached value is written into the sheet XML as Excel does.)"""
    import zipfile

    path, wb = cases_workbook(tmp_path / "saved.xlsx")
    wb.active["I6"] = '=IF(TRUE,"nfa","")'
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    cell = b'<c r="I6"><f>IF(TRUE,"nfa","")</f><v /></c>'
    assert cell in parts[sheet]
    parts[sheet] = parts[sheet].replace(cell, b'<c r="I6" t="str"><f>IF(TRUE,"nfa","")</f>'
                                              b'<v>nfa</v></c>')
    with zipfile.ZipFile(path, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    res = ingest.ingest(path, "cases", demo_key=True)
    assert (res.rows_accepted, res.rows_quarantined) == (5, 0)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_duplicate_headers_that_disagree_quarantine_the_row_naming_both_columns(
        tmp_path: Path, fmt: str) -> None:
    """Issue 12, case 14: pandas renamed the second 'gender' to 'gender.1' and the first
    silently won; now a row where the two differ is quarantined, one where they agree is
    accepted."""
    header = [*CASES_HEADER.split(","), "Gender"]
    rows = [["A1", *CASE_ROW[1:], "Female"], ["A2", *CASE_ROW[1:], "Male"],
            ["A3", *CASE_ROW[1:], ""]]
    if fmt == "csv":
        path = write(tmp_path, "dup.csv", "\n".join(",".join(r) for r in [header, *rows]) + "\n")
    else:
        wb = openpyxl.Workbook()
        for r in [header, *rows]:
            wb.active.append([v or None for v in r])
        path = tmp_path / "dup.xlsx"
        wb.save(path)
    res = ingest.ingest(path, "cases", demo_key=True)
    assert (res.rows_read, res.rows_accepted, res.rows_quarantined) == (3, 1, 2)
    q = res.quarantine
    assert list(q["row"]) == [3, 4] and set(q["column"]) == {"gender"}
    assert q["rule"].iloc[0] == ("columns 'gender' (column C) and 'Gender' (column M) have the "
                                 "same header but different values; delete one or make them "
                                 "agree")
    assert list(q["value"]) == ["Female | Male", "Female | (blank)"]
    assert "Gender" not in res.ignored_columns and "Gender.1" not in res.ignored_columns


def test_a_password_protected_workbook_is_named_as_such(tmp_path: Path) -> None:
    """Issue 12, case 18: an encrypted .xlsx is an OLE2 compound file; it was reported as
    'BadZipFile'."""
    path = tmp_path / "locked.xlsx"
    path.write_bytes(ingest.OLE2_SIGNATURE + b"\0" * 2048)
    with pytest.raises(InputError, match="password-protected") as err:
        ingest.ingest(path, "cases", demo_key=True)
    assert "BadZipFile" not in str(err.value) and "unprotected copy" in str(err.value)
    out = run_cli("ingest", "--kind", "cases", str(path), "--out", str(tmp_path / "o"),
                  "--demo-key")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "password-protected" in out.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_csv_is_read_as_utf16(tmp_path: Path, encoding: str) -> None:
    """Issue 12, case 18: a UTF-16 CSV (Excel's 'Unicode Text', with or without a byte-order
    mark) was told to try cp1252; it is now read."""
    p = write(tmp_path, "u16.csv", CASES_HEADER + "\nA1,1,Female,01/04/2025,police,single,"
              "front_door,1,nfa,n,n,2015-01-01\nA2,2,Male,02/04/2025,police,single,"
              "front_door,1,nfa,n,n,2016-01-01\n", encoding=encoding)
    res = ingest.ingest(p, "cases", demo_key=True)
    assert (res.rows_read, res.rows_accepted) == (2, 2)
    assert res.accepted["gender"].nunique() == 2
    with pytest.raises(InputError, match="is UTF-16 text, not utf-8. Leave out --encoding"):
        ingest.ingest(p, "cases", demo_key=True, encoding="utf-8")


@pytest.mark.parametrize(("sep", "suffix"), [(";", ".csv"), ("\t", ".txt"), ("|", ".csv")])
def test_a_csv_separated_by_semicolons_tabs_or_bars_reads_as_the_comma_one(
        tmp_path: Path, sep: str, suffix: str) -> None:
    """Excel saves "CSV" with semicolons where the decimal mark is a comma, and case systems
    export "Text (Tab delimited)": the header tells the separator, and the rows read are the
    same as from the comma-separated file (a semicolon inside a quoted value stays in it)."""
    rows = [CASES_HEADER, "A1,1,Female,01/04/2025,police,single,front_door,1,nfa,n,n,2015-01-01",
            'A2,2,Male,02/04/2025,"police",single,front_door,1,nfa,n,n,2016-01-01']
    comma = write(tmp_path, "comma.csv", "\n".join(rows) + "\n")
    other = write(tmp_path, f"other{suffix}", "\n".join(r.replace(",", sep) for r in rows) + "\n")
    a = ingest.ingest(comma, "cases", demo_key=True)
    b = ingest.ingest(other, "cases", demo_key=True)
    assert (b.rows_read, b.rows_accepted) == (2, 2)
    pd.testing.assert_frame_equal(a.accepted, b.accepted)


def test_a_table_on_another_sheet_is_told_to_pass_sheet(tmp_path: Path) -> None:
    """Without --sheet the first sheet is read; when it is not the table, the message names
    the sheet read and every sheet of the workbook."""
    path = tmp_path / "two.xlsx"
    rows = [r.split(",") for r in (CASES_HEADER,
            "A1,1,Female,01/04/2025,police,single,front_door,1,nfa,n,n,2015-01-01")]
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"notes": ["read me"]}).to_excel(w, sheet_name="Notes", index=False)
        pd.DataFrame(rows[1:], columns=rows[0]).to_excel(w, sheet_name="Contacts", index=False)
    with pytest.raises(InputError, match="pass --sheet with the sheet that holds the table "
                       r"\(the first, 'Notes', was read; the workbook has 'Notes', 'Contacts'\)"):
        ingest.ingest(path, "cases", demo_key=True)
    assert ingest.ingest(path, "cases", demo_key=True, sheet="Contacts").rows_accepted == 1


def test_a_csv_named_xlsx_is_told_to_rename_it(tmp_path: Path) -> None:
    path = write(tmp_path, "export.xlsx", CASES_HEADER + "\n")
    with pytest.raises(InputError, match="is a text \\(CSV\\) file, not an Excel workbook"):
        ingest.ingest(path, "cases", demo_key=True)


def test_the_separator_is_read_from_the_header_line() -> None:
    from analysis.ingest.read import sniff_separator

    assert sniff_separator("case_id,child_id,notes") == ","
    assert sniff_separator("case_id;child_id;notes") == ";"
    assert sniff_separator("case_id\tchild_id") == "\t"
    assert sniff_separator('"id; raw",child_id') == ","  # a comma outside quotes wins
    assert sniff_separator("case_id") == ","  # one column: nothing to tell


def test_a_date_of_birth_in_1850_is_told_to_check_the_year(tmp_path: Path) -> None:
    """Issue 12, case 18: a well-formed date with an impossible year was 'not a valid
    date'; the rule now says what is wrong."""
    p = write(tmp_path, "old.csv", CASES_HEADER + "\n"
              "A1,1,Male,01/04/2025,police,single,front_door,1,nfa,n,n,01/03/1850\n"
              "A2,2,Male,01/04/2025,police,single,front_door,1,nfa,n,n,31/02/2015\n"
              "A3,3,Male,01/04/2025,police,single,front_door,1,nfa,n,n,2999-01-01\n")
    q = ingest.ingest(p, "cases", demo_key=True).quarantine.set_index("row")
    assert q.loc[2, "rule"] == "year 1850 is before 1900: check the year"
    assert q.loc[3, "rule"] == ingest.DATE_RULE
    assert q.loc[4, "rule"] == "year 2999 is after 2200: check the year"


def test_a_file_with_more_than_1000_columns_is_refused_in_one_short_line(tmp_path: Path
                                                                          ) -> None:
    """Issue 12, case 18: a 100,000-column header printed a 789 KB line."""
    header = CASES_HEADER + "," + ",".join(f"extra column number {i}" for i in range(100_000))
    p = write(tmp_path, "wide.csv", header + "\n")
    out = run_cli("ingest", "--kind", "cases", str(p), "--out", str(tmp_path / "o"),
                  "--demo-key")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "has 100,012 columns" in out.stderr
    assert len(out.stderr) < 400 and out.stderr.count("\n") == 1


def test_long_values_in_messages_are_cut_with_their_length() -> None:
    assert ingest.short("x" * 100_000) == "x" * 80 + "... (100,000 characters)"
    assert ingest.short("short") == "short"
    listed = ingest.short_list([f"c{i}" for i in range(50)])
    assert listed.endswith("and 40 more") and "'c9'" in listed and "'c10'" not in listed


def test_a_missing_column_message_stays_short_with_huge_headers(tmp_path: Path) -> None:
    p = write(tmp_path, "big.csv", ",".join(["y" * 50_000, *(f"h{i}" for i in range(500))])
              + "\n1" + ",1" * 500 + "\n")
    with pytest.raises(InputError) as err:
        ingest.ingest(p, "cases", demo_key=True)
    assert len(str(err.value)) < 1000 and "(50,000 characters)" in str(err.value)


def nested_parquet(path: Path, nested: str = "gender") -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, object] = {h: [v] for h, v in zip(CASES_HEADER.split(","), CASE_ROW,
                                                          strict=True)}
    cols[nested] = pa.array([{"code": "F", "label": "Female"}])
    cols["tags"] = pa.array([["a", "b"]])  # nested but not used by the table: harmless
    pq.write_table(pa.table(cols), path)
    return path


def test_a_nested_parquet_column_is_refused_by_name(tmp_path: Path) -> None:
    """Issue 12, case 17: a struct column crashed pandas with 'unhashable type: dict'."""
    p = nested_parquet(tmp_path / "nested.parquet")
    with pytest.raises(InputError) as err:
        ingest.ingest(p, "cases", demo_key=True)
    assert str(p) in str(err.value) and "column 'gender' holds nested values" in str(err.value)
    assert "tags" not in str(err.value)
    out = run_cli("ingest", "--kind", "cases", str(p), "--out", str(tmp_path / "o"),
                  "--demo-key", "--out-of-core", "no")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "column 'gender' holds nested values" in out.stderr


def test_a_nested_column_the_table_does_not_use_is_ignored(tmp_path: Path) -> None:
    p = nested_parquet(tmp_path / "tags.parquet", nested="team_notes")
    res = ingest.ingest(p, "cases", demo_key=True)
    assert res.rows_accepted == 1 and "tags" in res.ignored_columns


# --------------------------------------------------------------------------------------
# One engine at every size: Parquet read in Arrow batches, duplicates and the sort by DuckDB
# (the specification of the large path, formerly analysis.scale.ingest_parquet)
# --------------------------------------------------------------------------------------

TODAY = date(2026, 3, 31)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 synthetic contacts (scale mode of the generator), in row groups of 2,500."""
    from analysis import synth

    path = tmp_path_factory.mktemp("pop") / "contacts.parquet"
    return synth.generate_population_parquet(path, contacts=6_000, seed=3, chunk_rows=2_500)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, dates as dd/mm/yyyy: a raw export."""
    return pd.DataFrame({c: df[c].astype(object).map(
        lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v))
        else (v.strftime("%d/%m/%Y") if isinstance(v, pd.Timestamp) else str(v)))
        for c in df.columns})


@pytest.fixture(scope="module")
def messy(population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A raw Parquet export with every kind of problem ingest knows, all columns as text."""
    df = pd.read_parquet(population).head(3000).reset_index(drop=True)
    raw = _as_text(df).rename(columns={"case_id": "Case ID", "child_id": "Child ID"})
    raw["notes_free"] = "not read"
    rng = np.random.default_rng(7)
    dob = pd.to_datetime(df["contact_date"]) - pd.to_timedelta(rng.integers(-100, 6000, len(df)),
                                                               unit="D")
    raw["date_of_birth"] = dob.dt.strftime("%Y-%m-%d")
    raw = raw.drop(columns=["age_band"])
    edits = {
        ("Case ID", 10): raw.at[3, "Case ID"].lower(), ("Case ID", 12): "#N/A",
        ("Case ID", 13): "", ("Case ID", 15): "000123.0", ("Case ID", 16): "CN\u0663\u0664",
        ("Case ID", 17): "cs_0123456789abcdef", ("Case ID", 18): raw.at[5, "Case ID"],
        ("Child ID", 22): None, ("Child ID", 24): " 0042 ", ("Child ID", 25): "00042",
        ("gender", 31): "b) Female", ("gender", 33): "xyz", ("referral_source", 34): "5A",
        ("contact_date", 41): "45000", ("contact_date", 42): "31/02/2024",
        ("contact_date", 43): "2030-01-01", ("contact_date", 44): "1985-05-05",
        ("referral_date", 46): "01/01/2020", ("date_of_birth", 47): "2040-01-01",
        ("date_of_birth", 48): "1950-01-01",
        ("assessment_start_date", 50): "10/03/2025", ("assessment_end_date", 50): "01/03/2025",
        ("domestic_abuse", 53): "maybe", ("referrals_last_12m", 55): "-1",
        ("referrals_last_12m", 56): "1.5", ("team", 59): "=cmd|' /C calc'!A0",
    }
    for (col, row), value in edits.items():
        raw.at[row, col] = value
    path = tmp_path_factory.mktemp("messy") / "messy.parquet"
    raw.to_parquet(path, index=False)
    return path


def test_a_messy_parquet_export_is_quarantined_rule_by_rule(messy: Path) -> None:
    res = ingest.ingest(messy, "cases", demo_key=True, today=TODAY)
    assert res.rows_accepted + res.rows_quarantined == res.rows_read == 3000
    q = res.quarantine.set_index(["row", "column"])["rule"]  # Parquet rows: data row 0 is row 1
    assert q[(11, "case_id")] == "duplicate of row 4"
    assert q[(19, "case_id")] == "duplicate of row 6"
    assert q[(13, "case_id")] == q[(14, "case_id")] == "required value is missing"
    assert q[(23, "child_id")] == "required value is missing"
    assert q[(34, "gender")].startswith("not an allowed value")
    assert q[(43, "contact_date")] == ingest.DATE_RULE
    assert q[(44, "contact_date")] == "date is in the future"
    assert q[(45, "contact_date")] == "date before 1990"
    assert q[(48, "date_of_birth")] == "birth more than 40 weeks after the contact"
    assert q[(49, "date_of_birth")] == "child over 25 at the contact"
    assert q[(51, "assessment_end_date")] == "assessment ends before it starts"
    assert q[(54, "domestic_abuse")] == "not yes/no"
    assert q[(56, "referrals_last_12m")] == "negative count"
    assert q[(57, "referrals_last_12m")] == "not a whole number"
    acc = res.accepted
    schemas.pandera_schema(schemas.cases_spec()).validate(acc)  # the contract holds
    assert list(acc["case_id"]) == sorted(acc["case_id"])  # sorted by the unique key
    assert "date_of_birth" not in acc and acc["age_band"].notna().all()
    assert res.ignored_columns == ["notes_free"]


def test_batches_are_bounded_and_do_not_change_the_output(messy: Path, tmp_path: Path) -> None:
    one = ingest.ingest(messy, "cases", demo_key=True, today=TODAY)
    many = ingest.ingest(messy, "cases", demo_key=True, today=TODAY, batch_rows=700, workers=2)
    assert one.batches == 1 and many.batches == 5 and many.largest_batch <= 700
    a = ingest.write_outputs(one, tmp_path / "a")
    b = ingest.write_outputs(many, tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_parquet(a["table"]), pd.read_parquet(b["table"]))
    assert a["quarantine"].read_bytes() == b["quarantine"].read_bytes()
    assert one.source_rows == many.source_rows


def test_duplicates_are_found_across_batches(population: Path, tmp_path: Path) -> None:
    df = pd.read_parquet(population).head(3000)
    df.loc[df.index[2500], "case_id"] = df["case_id"].iloc[10]
    df.loc[df.index[2900], "case_id"] = df["case_id"].iloc[10].lower()
    path = tmp_path / "dups.parquet"
    df.to_parquet(path, index=False)
    res = ingest.ingest(path, "cases", demo_key=True, today=TODAY, batch_rows=1000)
    assert res.quarantine[["row", "column", "rule"]].values.tolist() == [
        [2501, "case_id", "duplicate of row 11"], [2901, "case_id", "duplicate of row 11"]]


def test_native_parquet_types_read_as_their_text_would(population: Path, tmp_path: Path
                                                       ) -> None:
    df = pd.read_parquet(population).head(2000)
    df["child_id"] = pd.array([int(x) if i % 50 else None for i, x in
                               enumerate(df["child_id"])], dtype="Int64")
    df.loc[df.index[7], "contact_date"] = pd.NaT
    df["domestic_abuse"] = df["domestic_abuse"].astype("boolean")
    df.loc[df.index[11], "domestic_abuse"] = pd.NA
    df.loc[df.index[12], "referrals_last_12m"] = -2
    df.loc[df.index[13], "contact_date"] = pd.Timestamp("2027-05-01 13:45")
    native = tmp_path / "native.parquet"
    df.to_parquet(native, index=False)
    text = tmp_path / "text.csv"
    _as_text(df).assign(contact_date=df["contact_date"].dt.strftime("%Y-%m-%d")).to_csv(
        text, index=False)
    a = ingest.ingest(native, "cases", demo_key=True, today=TODAY, batch_rows=600)
    b = ingest.ingest(text, "cases", demo_key=True, today=TODAY)
    pd.testing.assert_frame_equal(a.accepted, b.accepted)
    qa, qb = a.quarantine.drop(columns="file"), b.quarantine.drop(columns="file")
    assert qa.assign(row=qa["row"] + 1).values.tolist() == qb.values.tolist()  # CSV: header
    assert set(a.quarantine["rule"]) == {"required value is missing", "date is in the future",
                                         "negative count"}


def test_pseudonyms_of_a_column_equal_privacy_pseudonymise() -> None:
    from analysis.ingest import pseudonyms

    raw = ["CN0000000001", "cn0000000001", "00042", "123.0", "a b", "cs_0123456789abcdef",
           "\u00e9t\u00e9", "x" * 80, "#N/A", "", None, " CN 1 ", "00042"]
    hasher = pseudonyms._Hasher(privacy.DEMO_KEY, 1)
    text = ingest._to_text(pd.Series(raw, dtype=object))
    want = [None if pd.isna(t) else privacy.pseudonymise(t, privacy.DEMO_KEY, "child")
            for t in text]
    for distinct in (True, False):
        got = pseudonyms.pseudonymise_column(pa.array(raw, pa.string()), privacy.DEMO_KEY,
                                             "child", hasher, distinct)().to_pylist()
        assert got == want
    ints = pseudonyms.pseudonymise_column(pa.array([7, None, 42]), privacy.DEMO_KEY, "case",
                                          hasher)().to_pylist()
    assert ints == [privacy.pseudonymise(7, privacy.DEMO_KEY, "case"), None,
                    privacy.pseudonymise(42, privacy.DEMO_KEY, "case")]


def test_the_hashing_pool_gives_the_same_pseudonyms_and_ignores_ctrl_c() -> None:
    """Issue 12, case 17: Ctrl-C reached every worker of the pool, and each printed its own
    KeyboardInterrupt traceback. A worker now ignores SIGINT; the parent stops the pool."""
    import os
    import signal
    import time

    from analysis.ingest import pseudonyms

    msgs = [f"case:C{i}".encode() for i in range(60_000)]
    pool = pseudonyms._Hasher(privacy.DEMO_KEY, 2)
    try:
        expected = pseudonyms._hmac8(msgs, pseudonyms._hmac_pads(privacy.DEMO_KEY))
        assert pool.submit(pa.array(msgs, pa.binary()))() == expected
        pids = [p.pid for p in pool.pool._pool]
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        assert [p.pid for p in pool.pool._pool] == pids
        assert pool.submit(pa.array(msgs, pa.binary()))() == expected
    finally:
        pool.close(stop=True)
    assert pool.pool is None


def test_an_unreadable_parquet_file_and_a_missing_column_are_refused(population: Path,
                                                                     tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="not a readable Parquet"):
        ingest.ingest(broken, "cases", demo_key=True)
    path = tmp_path / "nogender.parquet"
    pd.read_parquet(population).head(10).drop(columns=["gender"]).to_parquet(path)
    with pytest.raises(InputError, match="'gender'"):
        ingest.ingest(path, "cases", demo_key=True)


def test_a_nested_parquet_column_the_table_uses_is_refused_by_name(population: Path,
                                                                   tmp_path: Path) -> None:
    """Issue 12, case 17: a struct column raised ArrowNotImplementedError, with a traceback."""
    table = pa.Table.from_pandas(pd.read_parquet(population).head(10), preserve_index=False)
    i = table.schema.get_field_index("service")
    path = tmp_path / "nested.parquet"
    pq.write_table(table.set_column(i, "service", pa.array(
        [{"code": v} for v in table.column("service").to_pylist()])), path)
    with pytest.raises(InputError, match="column 'service' holds nested values"):
        ingest.ingest(path, "cases", demo_key=True)
    run = run_cli("ingest", "--kind", "cases", str(path), "--out", str(tmp_path / "cli"),
                  "--demo-key")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "column 'service' holds nested values" in run.stderr and str(path) in run.stderr
    assert not (tmp_path / "cli").exists()


def test_an_implausible_year_is_told_to_check_the_year(tmp_path: Path) -> None:
    """Issue 12, case 18: a date of birth in 1850 is 'year 1850 is before 1900'."""
    df = pd.DataFrame({"case_id": ["A1", "A2", "A3", "A4"], "child_id": ["1", "2", "3", "4"],
                       "gender": "Male", "contact_date": "01/04/2025", "referral_source": "police",
                       "route": "single", "service": "front_door", "level_of_need": "1",
                       "outcome": "nfa", "domestic_abuse": "n", "previous_csc": "n",
                       "date_of_birth": ["01/03/1850", "31/02/2015", "2999-01-01", "01/01/2015"]})
    path = tmp_path / "years.parquet"
    df.to_parquet(path, index=False)
    res = ingest.ingest(path, "cases", demo_key=True, today=TODAY)
    assert res.quarantine["rule"].tolist() == ["year 1850 is before 1900: check the year",
                                               ingest.DATE_RULE,
                                               "year 2999 is after 2200: check the year"]


def test_duplicate_headers_in_a_parquet_file_are_compared_row_by_row(population: Path,
                                                                     tmp_path: Path) -> None:
    df = pd.read_parquet(population).head(10)
    df["gender"] = df["gender"].astype(str)
    df["Gender"] = df["gender"]
    df.loc[df.index[3], "Gender"] = "Other" if df["gender"].iloc[3] != "Other" else "Male"
    path = tmp_path / "dup.parquet"
    df.to_parquet(path, index=False)
    q = ingest.ingest(path, "cases", demo_key=True, today=TODAY).quarantine
    assert q[["row", "column"]].values.tolist() == [[4, "gender"]]
    assert q["rule"].iloc[0].startswith("columns 'gender' (column D) and 'Gender' (column W) "
                                        "have the same header but different values")


def test_a_parquet_file_with_more_than_1000_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [1] for i in range(1001)}), path)
    with pytest.raises(InputError, match="has 1,001 columns"):
        ingest.ingest(path, "cases", demo_key=True)


def test_the_accepted_table_stays_on_disk_until_asked_for(messy: Path, tmp_path: Path) -> None:
    res = ingest.ingest(messy, "cases", demo_key=True, today=TODAY, workdir=tmp_path)
    stage = res.table_path.parent
    assert res._accepted is None and stage.parent == tmp_path
    paths = ingest.write_outputs(res, tmp_path / "out")
    assert res.table_path == paths["table"]  # moved, not copied
    assert len(res.accepted) == res.rows_accepted == len(res.source_rows)
    del res
    import gc

    gc.collect()
    assert not stage.exists()


def test_cli_ingest_reads_a_large_parquet_file_and_out_of_core_is_a_no_op(tmp_path: Path
                                                                         ) -> None:
    from analysis import synth

    raw = synth.generate_population_parquet(tmp_path / "pop.parquet", contacts=5_000, seed=3)
    outs = {}
    for extra in ([], ["--out-of-core", "yes"]):
        out = tmp_path / ("yes" if extra else "plain")
        run = run_cli("ingest", "--kind", "cases", str(raw), "--out", str(out), "--demo-key",
                      *extra)
        assert run.returncode == 0, run.stderr
        assert "rows read:        5000" in run.stdout
        assert sorted(p.name for p in out.iterdir()) == [
            "cases.parquet", "cases_ingest.json", "cases_quarantine.csv"]
        outs[out.name] = pd.read_parquet(out / "cases.parquet")
    pd.testing.assert_frame_equal(outs["yes"], outs["plain"])


def test_the_value_rules_enforce_the_contract_so_skipping_pandera_changes_nothing(
        messy: Path, tmp_path: Path) -> None:
    """Above ``CONTRACT_MAX_ROWS`` rows the per-batch pandera check is skipped: the value rules
    quarantine everything it would reject (allowed codes, pseudonym form, non-negative
    counts, required values, types) and the duplicate rule its uniqueness."""
    checked = ingest.ingest(messy, "cases", demo_key=True, today=TODAY, contract=True)
    skipped = ingest.ingest(messy, "cases", demo_key=True, today=TODAY, contract=False)
    pd.testing.assert_frame_equal(checked.accepted, skipped.accepted)
    pd.testing.assert_frame_equal(checked.quarantine, skipped.quarantine)
    schemas.pandera_schema(schemas.cases_spec()).validate(skipped.accepted, lazy=True)


def test_pseudonym_sort_keys_sort_as_the_text_does() -> None:
    """The two integers the accepted rows are sorted by give the order of the pseudonym text
    (mixed prefixes, missing values last), and anything not of pseudonym form is refused."""
    from analysis.ingest.pseudonyms import pseudonym_sort_keys

    rng = np.random.default_rng(7)
    values = [f"{p}_{rng.integers(0, 2**63):016x}" for p in ("cs", "ch", "zz", "aa")
              for _ in range(50)]
    values += [None, "cs_0000000000000000", "cs_ffffffffffffffff", "cs_000000000000000a",
               "cs_0000000000000009", "cs_0000000000000000"]
    keys = pseudonym_sort_keys(pa.array(values, pa.large_string()))
    assert keys is not None
    prefix, number = (k.to_pylist() for k in keys)
    rows = range(len(values))
    by_text = sorted(rows, key=lambda i: (values[i] is None, values[i] or ""))
    by_keys = sorted(rows, key=lambda i: (prefix[i] is None, prefix[i] or 0, number[i] or 0))
    assert by_text == by_keys
    for bad in ("cs_000000000000000A", "cs_00", "Cs_0000000000000000", "cs-0000000000000000"):
        assert pseudonym_sort_keys(pa.array([bad])) is None


def test_hmac_with_a_head_is_the_hmac_of_the_concatenation() -> None:
    import hashlib
    import hmac

    from analysis.ingest.pseudonyms import _hmac8, _hmac_pads

    key = b"a-key-for-the-test"
    msgs = [b"CN0001", b"", b"12345678901"]
    want = b"".join(hmac.new(key, b"case:" + m, hashlib.sha256).digest()[:8] for m in msgs)
    assert _hmac8(msgs, _hmac_pads(key), b"case:") == want
    assert _hmac8([b"case:" + m for m in msgs], _hmac_pads(key)) == want


def test_the_canonical_table_reads_back_with_the_contract_dtypes(tmp_path: Path) -> None:
    """DuckDB writes the table (codes as ENUM values, the pandas schema in the footer): read
    back it has the contract's dtypes, with rows and without (every row quarantined)."""
    good = write(tmp_path, "good.csv", CASES_HEADER + "\n"
                 "A1,00123,Female,2025-04-01,Police,single,front_door,2A,nfa,yes,no,2015-03-02\n")
    empty = write(tmp_path, "empty.csv", CASES_HEADER + "\n"
                  "A1,00123,zz,2025-04-01,Police,single,front_door,2A,nfa,yes,no,2015-03-02\n")
    want = {c.name: ingest._EMPTY_DTYPE.get(c.type, "string")
            for c in schemas.spec_for("cases").columns}
    for path, rows in ((good, 1), (empty, 0)):
        res = ingest.ingest(path, "cases", demo_key=True, today=TODAY, workdir=tmp_path)
        got = pd.read_parquet(res.table_path)
        assert len(got) == rows == len(res.source_rows)
        assert {c: str(t) for c, t in got.dtypes.items()} == {
            c: str(pd.Series(dtype=t).dtype) for c, t in want.items()}


def test_key_range_staging_and_duckdb_fallback_write_the_same_bytes(
        population: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two ways a cases table is written: staged in ranges of the key and handed to
    DuckDB already sorted (``_Buckets``, ``_write_sorted``), or staged as one Parquet file
    that DuckDB sorts (``_sort_and_write``, the fallback for copies of the key).  Forced
    each way on one table (missing ids, quarantined rows, several batches and ranges), they
    write the same bytes and name the same file rows."""
    from analysis.ingest import core

    df = pd.read_parquet(population).head(4000)
    df.loc[df.index[[3, 700, 2222]], "case_id"] = None
    df["gender"] = df["gender"].astype(object)
    df.loc[df.index[[5, 1500]], "gender"] = "xyz"
    path = tmp_path / "awkward.parquet"
    df.to_parquet(path, index=False)
    ranged: list[bool] = []
    write_sorted = core._write_sorted

    def spy(*args: object) -> object:
        done = write_sorted(*args)  # type: ignore[arg-type]
        ranged.append(done is not None)
        return done

    def run(name: str) -> tuple[bytes, bytes, list[int]]:
        res = ingest.ingest(path, "cases", demo_key=True, today=TODAY, batch_rows=900,
                            workdir=tmp_path / name)
        out = ingest.write_outputs(res, tmp_path / name)
        return out["table"].read_bytes(), out["quarantine"].read_bytes(), res.source_rows

    monkeypatch.setattr(core, "_write_sorted", spy)
    in_ranges = run("ranges")
    monkeypatch.setattr(core, "_write_sorted", lambda *args: None)  # the fallback
    by_duckdb = run("duckdb")
    assert ranged == [True]
    assert in_ranges == by_duckdb
    assert len(in_ranges[2]) == 4000 - 5


def test_sort_keys_from_the_hash_output_equal_those_read_from_the_text() -> None:
    """A column whose every id is hashed gives its sort keys from the digests; they equal
    ``pseudonym_sort_keys`` of the pseudonyms' text (missing where an id is), and a column
    with an id not hashed (kept, or the slow path) gives none."""
    from analysis.ingest import pseudonyms

    hasher = pseudonyms._Hasher(privacy.DEMO_KEY, 1)
    ids = [f"CN{i:010d}" for i in range(300)]
    for raw, distinct in ((ids, False), (ids, True), ([*ids, None, ids[4]], True)):
        job = pseudonyms.pseudonymise_column(pa.array(raw, pa.large_string()),
                                             privacy.DEMO_KEY, "case", hasher, distinct)
        text = job()
        assert job.sort_keys is not None
        want = pseudonyms.pseudonym_sort_keys(text)
        assert want is not None
        assert [k.to_pylist() for k in job.sort_keys] == [k.to_pylist() for k in want]
    for odd in ("cs_0123456789abcdef", "a b"):
        job = pseudonyms.pseudonymise_column(pa.array([*ids, odd], pa.large_string()),
                                             privacy.DEMO_KEY, "case", hasher, False)
        job()
        assert job.sort_keys is None


def test_coded_columns_taken_by_index_equal_their_codes_row_by_row() -> None:
    """A coded column, dictionary-encoded (with missing cells and an unknown value) or
    plain text, parses to the contract's codes row by row."""
    from analysis.ingest.parse import parse_column

    col = schemas.spec_for("cases").column("gender")
    raw = ["Male", None, "female", "xyz", "b) Female", None, "unknown", "Male"]
    want = ["male", None, "female", None, "female", None, "unknown", "male"]
    for arr in (pa.array(raw, pa.large_string()), pa.array(raw).dictionary_encode(),
                pa.array([v or "Male" for v in raw]).dictionary_encode()):
        p = parse_column(arr, col, None)
        got = p.values.to_pylist()
        expect = want if arr.null_count else [w or "male" if r is None else w
                                               for r, w in zip(raw, want, strict=True)]
        assert got == expect
        assert p.bad.tolist() == [v == "xyz" for v in raw]


def test_masked_arrays_equal_arrow_s_own_masked_conversion() -> None:
    from analysis.ingest.parse import masked

    values = np.array([5, -1, 7, 0, -1] * 7, dtype=np.int8)
    for missing in (values < 0, np.zeros(len(values), bool), None):
        got = masked(values, pa.int8(), missing)
        assert got.equals(pa.array(values, pa.int8(), mask=missing))
        assert got.null_count == (0 if missing is None else int(missing.sum()))
