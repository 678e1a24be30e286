"""Ingest: canonical tables from messy exports; nothing lost, nothing personal kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
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
