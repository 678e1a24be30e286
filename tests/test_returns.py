"""Returned auditor workbooks, many at once (analysis.returns): every row checked against the
sample's manifest, rows read = accepted + quarantined, and the analyst's returns report."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis import cli, ingest, privacy, reporting, returns, sampling
from tests.test_sampling import make_cases

DUE = "2026-05-31"
AGENCIES = ["police", "health", "csc"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two samples of the same cases: this round's (seed 2011) and an older one (seed 7)."""
    root = tmp_path_factory.mktemp("returns")
    cases = root / "cases.parquet"
    make_cases().to_parquet(cases, index=False)
    out = {}
    for label, seed in (("this", None), ("older", 7)):
        folder = root / f"sample_{label}"
        assert sampling.cli_draw(cases, "hackney_2011", seed, folder) == 0
        out[label] = folder / "manifest.json"
    out["cases"] = cases
    return out


def _fill(book: Path, out: Path, auditor: str, agency: str, *, reverse: bool = False,
          drop: int = 0, rename: dict[str, str] | None = None, extra_column: str | None = None,
          sheet_title: str | None = None, extra_rows: list[dict[str, object]] = (),
          returned_on: date | None = None, answer: dict[int, str] | None = None,
          audit_day: date = date(2026, 5, 20)) -> list[dict[str, object]]:
    """Complete the auditor workbook as an agency would; return the rows written (in order)."""
    wb = openpyxl.load_workbook(book)
    ws = wb["Audit"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r], strict=True))
            for r in ws.iter_rows(min_row=2) if r[0].value]
    for i, r in enumerate(rows):
        r.update({"auditor_id": auditor, "auditor_agency": agency, "audit_date": audit_day,
                  "overall_grade": "good", "tier_judged": "2A"})
        for h in header:
            if h.startswith("std_"):
                r[h] = "yes" if i % 3 else "partly"
            elif h.startswith("theme_"):
                r[h] = "no"
    for i, value in (answer or {}).items():
        rows[i]["std_risk_assessed"] = value
    rows = rows[drop:]
    rows += [dict(r) for r in extra_rows]
    if reverse:
        rows = rows[::-1]
    names = [rename.get(h, h) if rename else h for h in header]
    if extra_column:
        names.append(extra_column)
    ws.delete_rows(1, ws.max_row)
    ws.append(names)
    for r in rows:
        ws.append([r.get(h) for h in header] + (["checked"] if extra_column else []))
    if sheet_title:
        ws.title = sheet_title
    if returned_on:
        info = wb["Instructions"]
        for row in info.iter_rows():
            if row[0].value == sampling.RETURNED_LABEL:
                row[1].value = returned_on
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return rows


@pytest.fixture(scope="module")
def returned(samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, object]:
    """Three agencies' returns in one folder, as they come back by email."""
    folder = tmp_path_factory.mktemp("inbox") / "returns"
    this = samples["this"].parent / "auditor_workbook.xlsx"
    older = samples["older"].parent / "auditor_workbook.xlsx"
    m = sampling.read_manifest(samples["this"])
    ids = sorted(c["case_id"] for c in m["cases"])
    not_sampled = privacy.pseudonymise("NOT-IN-SAMPLE-1", privacy.DEMO_KEY, "case")
    # police: renamed file, rows re-sorted, an extra column, two headers renamed (the
    # standard's label and its question text), the Audit sheet renamed, the first case left
    # out, one answer outside the template's list, and the same auditor twice on one case
    police = _fill(this, folder / "Police audit FINAL v2.xlsx", "PA1", "police", reverse=True,
                   drop=1, extra_column="Checked by manager", sheet_title="Returned",
                   rename={"std_referral_appropriate": "Referral appropriate",
                           "std_risk_assessed": "Were risk factors appropriately identified "
                                                "and assessed?"},
                   answer={5: "maybe"},
                   extra_rows=[{"case_id": ids[10], "auditor_id": "PA1",
                                "auditor_agency": "police", "audit_date": date(2026, 5, 21),
                                "std_referral_appropriate": "no", "std_risk_assessed": "no",
                                "overall_grade": "good"}])
    # health: a case not in the sample; the police auditor's row for a case sent again
    # (the same auditor twice, across files); returned after the due date
    health = _fill(this, folder / "health.xlsx", "HV1", "health", returned_on=date(2026, 6, 9),
                   extra_rows=[{"case_id": not_sampled, "auditor_id": "HV1",
                                "auditor_agency": "health", "audit_date": date(2026, 5, 20),
                                "overall_grade": "good"},
                               {"case_id": ids[3], "auditor_id": "PA1",
                                "auditor_agency": "police", "audit_date": date(2026, 5, 20),
                                "overall_grade": "good"}])
    # csc: the workbook of the older sample
    csc = _fill(older, folder / "csc_returns.xlsx", "CS1", "csc")
    (folder / "~$health.xlsx").write_bytes(b"lock")
    (folder / ".DS_Store").write_bytes(b"\0")
    return {"folder": folder, "police": police, "health": health, "csc": csc, "ids": ids,
            "not_sampled": not_sampled}


def _sheet_rows(rows: list[dict[str, object]], case_id: str, auditor: str) -> list[int]:
    """Spreadsheet row numbers (header = row 1) of a case and auditor in a filled workbook."""
    return [i + 2 for i, r in enumerate(rows)
            if r["case_id"] == case_id and r["auditor_id"] == auditor]


@pytest.fixture(scope="module")
def result(samples: dict[str, Path], returned: dict[str, object]) -> returns.ReturnsResult:
    return returns.ingest_returns([returned["folder"]], samples["this"], demo_key=True,
                                  due=DUE, agencies=AGENCIES, today=date(2026, 6, 30))


def _q(res: returns.ReturnsResult, file: str) -> pd.DataFrame:
    return res.quarantine[res.quarantine["file"].str.endswith(file)]


# --------------------------------------------------------------------------------------


def test_a_folder_is_read_in_name_order_skipping_lock_and_hidden_files(
        result: returns.ReturnsResult) -> None:
    assert [Path(f.file).name for f in result.files] == [
        "Police audit FINAL v2.xlsx", "csc_returns.xlsx", "health.xlsx"]


def test_rows_read_equal_accepted_plus_quarantined_per_file_and_in_total(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    by_name = {Path(f.file).name: f for f in result.files}
    assert by_name["Police audit FINAL v2.xlsx"].rows_read == len(returned["police"])
    assert by_name["health.xlsx"].rows_read == len(returned["health"])
    assert by_name["csc_returns.xlsx"].rows_read == len(returned["csc"])
    for f in result.files:
        assert f.rows_accepted + f.rows_quarantined == f.rows_read
    assert result.rows_accepted + result.rows_quarantined == result.rows_read
    assert result.rows_read == sum(len(returned[k]) for k in ("police", "health", "csc"))


def test_renamed_file_sheet_headers_extra_column_and_resorted_rows_are_fine(
        result: returns.ReturnsResult) -> None:
    police = next(f for f in result.files if f.file.endswith("FINAL v2.xlsx"))
    assert police.sheets == ["Returned"]
    assert "Checked by manager" in police.ignored_columns
    # the renamed standards were read (label and question text): police answers are in
    accepted = result.accepted[result.accepted["auditor_id"] == "PA1"]
    assert accepted["std_referral_appropriate"].notna().all()
    assert accepted["std_risk_assessed"].notna().all()
    assert police.rows_accepted == police.rows_read - police.rows_quarantined
    assert police.rows_quarantined == 2  # the answer "maybe" and the auditor twice


def test_an_answer_outside_the_template_list_is_quarantined_with_file_sheet_and_row(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    q = _q(result, "FINAL v2.xlsx")
    bad = q[q["value"] == "maybe"]
    assert len(bad) == 1
    assert bad.iloc[0]["sheet"] == "Returned" and bad.iloc[0]["column"] == "std_risk_assessed"
    assert bad.iloc[0]["rule"].startswith("not an allowed value")
    expected_row = [i + 2 for i, r in enumerate(returned["police"])
                    if r.get("std_risk_assessed") == "maybe"]
    assert [int(bad.iloc[0]["row"])] == expected_row


def test_the_same_auditor_twice_in_one_file_names_the_row_kept(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    case = returned["ids"][10]
    rows = _sheet_rows(returned["police"], case, "PA1")
    q = _q(result, "FINAL v2.xlsx")
    twice = q[q["column"] == "case_id+auditor_id"]
    assert len(twice) == 1
    assert int(twice.iloc[0]["row"]) == max(rows)
    assert "the same auditor twice" in twice.iloc[0]["rule"]
    assert f"sheet 'Returned', row {min(rows)}" in twice.iloc[0]["rule"]
    assert "FINAL v2.xlsx" in twice.iloc[0]["rule"]


def test_the_same_auditor_twice_across_files_names_both_files_and_rows(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    case = returned["ids"][3]
    q = _q(result, "health.xlsx")
    twice = q[q["column"] == "case_id+auditor_id"]
    assert len(twice) == 1
    assert int(twice.iloc[0]["row"]) == _sheet_rows(returned["health"], case, "PA1")[0]
    police_row = _sheet_rows(returned["police"], case, "PA1")[0]
    assert f"Police audit FINAL v2.xlsx, sheet 'Returned', row {police_row}" in \
        twice.iloc[0]["rule"]


def test_a_case_not_in_the_sample_is_quarantined_and_listed_as_unexpected(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    q = _q(result, "health.xlsx")
    out = q[q["rule"].str.startswith("case not in the sample")]
    assert len(out) == 1
    row = _sheet_rows(returned["health"], returned["not_sampled"], "HV1")[0]
    assert int(out.iloc[0]["row"]) == row and out.iloc[0]["sheet"] == "Audit"
    assert out.iloc[0]["value"] == returned["not_sampled"]
    assert "hackney_2011, seed 2011" in out.iloc[0]["rule"]
    u = result.unexpected
    hit = u[u["case_id"] == returned["not_sampled"]]
    assert len(hit) == 1 and hit.iloc[0]["why"] == "case not in the sample"
    assert int(hit.iloc[0]["row"]) == row and hit.iloc[0]["file"].endswith("health.xlsx")


def test_a_workbook_of_another_sample_is_quarantined_whole_naming_its_sample_and_the_fix(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    csc = next(f for f in result.files if f.file.endswith("csc_returns.xlsx"))
    assert csc.other_sample and csc.rows_accepted == 0
    assert csc.rows_quarantined == csc.rows_read == len(returned["csc"])
    q = _q(result, "csc_returns.xlsx")
    whole = q[q["column"] == "(whole workbook)"]
    assert sorted(whole["row"].astype(int)) == list(range(2, len(returned["csc"]) + 2))
    rule = whole.iloc[0]["rule"]
    assert "workbook of another sample (hackney_2011 (seed 7)" in rule
    assert "not of this one (hackney_2011, seed 2011" in rule
    assert "ingest it with the manifest of the sample it was drawn for" in rule
    assert (result.unexpected["why"].str.startswith("workbook of another sample")).sum() == \
        len(returned["csc"])


def test_the_workbook_records_the_sample_fingerprint_and_the_manifest_not_the_workbook(
        samples: dict[str, Path]) -> None:
    manifest = samples["this"]
    wb = openpyxl.load_workbook(manifest.parent / "auditor_workbook.xlsx")
    facts = {r[0].value: r[1].value for r in wb["Instructions"].iter_rows() if r[0].value}
    assert facts[sampling.SAMPLE_FINGERPRINT_LABEL] == sampling.sample_fingerprint(manifest)
    assert facts[sampling.SAMPLE_FINGERPRINT_LABEL] == \
        sampling.sample_fingerprint(sampling.read_manifest(manifest))
    text = manifest.read_text("utf-8")
    from analysis.provenance import sha256_file

    assert sha256_file(manifest.parent / "auditor_workbook.xlsx") not in text
    assert "workbook" not in json.loads(text)


def test_the_returns_report_lists_each_case_and_agency_with_missing_and_late(
        result: returns.ReturnsResult, returned: dict[str, object]) -> None:
    report = result.report
    ids = returned["ids"]
    assert len(report) == len(ids) * 3
    assert list(report.columns) == ["case_id", "stratum", "agency", "status", "auditors",
                                    "files"]
    status = report.set_index(["case_id", "agency"])["status"]
    first_police = returned["police"][-1]["case_id"]  # what was dropped is not there
    dropped = (set(ids) - {r["case_id"] for r in returned["police"]}).pop()
    assert first_police != dropped
    assert status[(dropped, "police")] == "missing"
    assert (status.xs("csc", level="agency") == "missing").all()  # another sample's workbook
    assert (status.xs("health", level="agency") == "late").all()  # returned 9 June
    assert status[(ids[20], "police")] == "returned"
    s = result.summary
    assert s["sampled"] == 29 and s["complete"] == 0 and s["partial"] == 29
    assert s["unexpected_rows"] == 1 + len(returned["csc"])


def test_completeness_counts_cases_with_every_expected_agency(
        result: returns.ReturnsResult, samples: dict[str, Path]) -> None:
    # police left one case out and one police row was quarantined ("maybe")
    counts = returns.completeness(result.accepted, samples["this"], ["police", "health"])
    assert counts == {"sampled": 29, "complete": 27, "partial": 2, "none": 0}
    assert returns.completeness(result.accepted, samples["this"]) == {
        "sampled": 29, "complete": 29, "partial": 0, "none": 0}
    few = result.accepted[result.accepted["case_id"].isin(
        sorted(result.accepted["case_id"].unique())[:3])]
    assert returns.completeness(few, samples["this"]) == {
        "sampled": 29, "complete": 3, "partial": 0, "none": 26}


def test_the_returns_sentence_reads_all_cases_or_says_how_many_and_hides_counts_under_5(
) -> None:
    assert reporting.returns_sentence({"sampled": 29, "complete": 29, "partial": 0,
                                       "none": 0}) == "Returns were in for all 29 sampled cases."
    text = reporting.returns_sentence({"sampled": 29, "complete": 20, "partial": 6, "none": 3})
    assert text.startswith("Returns were complete for 20 of the 29 sampled cases")
    assert "9 cases had some or all returns missing" in text
    assert " 3 " not in text and " 6 " not in text
    near = reporting.returns_sentence({"sampled": 29, "complete": 26, "partial": 3, "none": 0})
    assert "all but fewer than 5 of the 29 sampled cases" in near
    assert "26" not in near and " 3 " not in near
    few = reporting.returns_sentence({"sampled": 29, "complete": 3, "partial": 0, "none": 26})
    assert "fewer than 5 of the 29 sampled cases" in few and "26" not in few
    small = reporting.returns_sentence({"sampled": 4, "complete": 4, "partial": 0, "none": 0})
    assert "4" not in small and "fewer than 5" in small
    for t in (text, near, few, small):
        assert not reporting.check.small_counts(t)


def test_write_returns_writes_the_table_quarantine_log_and_internal_report(
        result: returns.ReturnsResult, tmp_path: Path, returned: dict[str, object]) -> None:
    paths = returns.write_returns(result, tmp_path / "processed", "audit_tier2")
    assert {p.name for p in paths.values()} == {
        "audit_tier2.parquet", "audit_tier2_quarantine.csv", "audit_tier2_ingest.json",
        "audit_tier2_returns_report.csv", "audit_tier2_returns_report.xlsx",
        "audit_tier2_returns.json"}
    table = ingest.read_table(paths["table"], "audit")
    assert len(table) == result.rows_accepted
    log = json.loads(paths["log"].read_text("utf-8"))
    assert log["sample_fingerprint"] == result.sample_fingerprint
    assert log["rows_read"] == log["rows_accepted"] + log["rows_quarantined"]
    assert [f["rows_read"] for f in log["files"]] == [f.rows_read for f in result.files]
    q = pd.read_csv(paths["quarantine"])
    assert list(q.columns) == ["file", "sheet", "row", "column", "value", "rule"]
    report = pd.read_csv(paths["report"], dtype=str, keep_default_na=False)
    assert set(report["status"]) == {"returned", "late", "missing", "unexpected"}
    unexpected = report[report["status"] == "unexpected"]
    assert returned["not_sampled"] in set(unexpected["case_id"])
    assert openpyxl.load_workbook(paths["report_xlsx"]).sheetnames == [
        "Returns", "Unexpected", "Summary"]
    summary = json.loads(paths["summary"].read_text("utf-8"))
    assert summary["sampled"] == 29 and summary["agencies"] == AGENCIES
    assert returns.expected_agencies(paths["summary"]) == AGENCIES
    again = returns.write_returns(result, tmp_path / "again", "audit_tier2")
    for k in ("table", "quarantine", "report", "report_xlsx"):
        assert paths[k].read_bytes() == again[k].read_bytes()


# --------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------


def test_the_cli_prints_each_file_totals_and_the_returns_summary_and_exits_0(
        samples: dict[str, Path], returned: dict[str, object], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ingest", "--kind", "audit", str(returned["folder"]), "--manifest",
                     str(samples["this"]), "--out", str(tmp_path / "out"), "--demo-key",
                     "--due", DUE, "--agencies", "police,health,csc", "--name", "audit_tier2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Police audit FINAL v2.xlsx" in out and "csc_returns.xlsx" in out
    assert "workbook of another sample" in out
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()}
    total = lines["total"]
    assert int(total[1]) == int(total[2]) + int(total[3])
    assert "returns: 29 sampled cases; 0 with complete returns; 29 with some returns missing" \
        in out
    assert "for cases not in the sample" in out
    assert (tmp_path / "out" / "audit_tier2_returns_report.csv").is_file()


def test_the_cli_refuses_a_missing_manifest_with_a_clear_message(
        returned: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ingest", "--kind", "audit", str(returned["folder"]), "--manifest",
                     str(tmp_path / "nowhere" / "manifest.json"), "--out", str(tmp_path),
                     "--demo-key"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "manifest.json: sample manifest not found" in err and "Traceback" not in err


def test_the_cli_refuses_a_folder_with_no_workbooks(
        samples: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "~$locked.xlsx").write_bytes(b"lock")
    code = cli.main(["ingest", "--kind", "audit", str(empty), "--manifest",
                     str(samples["this"]), "--out", str(tmp_path / "out"), "--demo-key"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "no returned workbooks in this folder" in err


def test_other_kinds_take_exactly_one_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ingest", "--kind", "cases", "a.csv", "b.csv", "--out", str(tmp_path)])
    assert code == cli.EXIT_USAGE
    assert "reads one file, not 2" in capsys.readouterr().err
    code = cli.main(["ingest", "--kind", "cases", "a.csv", "--manifest", "m.json", "--out",
                     str(tmp_path)])
    assert code == cli.EXIT_USAGE
    assert "are for returned audit workbooks" in capsys.readouterr().err


def test_without_a_manifest_one_audit_file_is_read_as_before(
        samples: dict[str, Path], returned: dict[str, object], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ingest", "--kind", "audit", str(returned["folder"] / "health.xlsx"),
                     "--out", str(tmp_path), "--demo-key"])
    assert code == 0
    assert "rows read:" in capsys.readouterr().out
    assert (tmp_path / "audit.parquet").is_file()


# --------------------------------------------------------------------------------------
# A round step
# --------------------------------------------------------------------------------------


def test_a_round_ingests_a_folder_of_returns_against_a_sample_drawn_in_the_round(
        samples: dict[str, Path], returned: dict[str, object], tmp_path: Path) -> None:
    import shutil

    from analysis import gate, pipeline
    from tests.test_pipeline import notebook

    project = tmp_path / "project"
    (project / "rounds").mkdir(parents=True)
    (project / "_quarto.yml").write_text("project:\n  type: website\n")
    notebook(project / "notebooks" / "ok.ipynb", ("code", "print(round_name)"),
             params="round_name = ''")
    shutil.copytree(samples["this"].parent,
                    project / "data" / "processed" / "r1" / "samples" / "hackney_2011")
    inbox = project / "data" / "raw" / "r1" / "returns"
    shutil.copytree(returned["folder"], inbox)
    rf = project / "rounds" / "r1.yml"
    rf.write_text("round: r1\ndate: 2026-06-30\ndemo: true\nprepare:\n"
                  "  - ingest: {kind: audit, files: [data/raw/r1/returns], "
                  "manifest: hackney_2011, name: audit_tier2, due: 2026-05-31, "
                  "agencies: [police, health, csc]}\n"
                  "notebooks:\n  - notebooks/ok.ipynb\n")
    said: list[str] = []
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("3 file(s): 89 read" in s and "0 of 29 sampled cases" in s for s in said), said
    processed = project / "data" / "processed" / "r1"
    for name in ("audit_tier2.parquet", "audit_tier2_quarantine.csv",
                 "audit_tier2_returns_report.csv", "audit_tier2_returns.json"):
        assert (processed / name).is_file()
    rec = json.loads((project / "reports" / "r1" / "round.json").read_text())
    item = rec["prepare"]["ingest"][0]
    assert [Path(f["file"]).name for f in item["files"]] == [
        "Police audit FINAL v2.xlsx", "csc_returns.xlsx", "health.xlsx"]
    assert item["files"][0]["sheets"] == ["Returned"]
    assert item["manifest"].endswith("samples/hackney_2011/manifest.json")
    assert item["rows_read"] == item["rows_accepted"] + item["rows_quarantined"]
    assert [p for _, p, _ in gate.raw_inputs(rec)] == [Path(f["file"]) for f in item["files"]]
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("unchanged, reused" in s and "returns" in s for s in said), said
    # a workbook added to the folder is part of the step's key
    shutil.copy(inbox / "health.xlsx", inbox / "health (2).xlsx")
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("4 file(s)" in s for s in said), said


@pytest.mark.parametrize("step, message", [
    ("{kind: cases, files: [data/raw], manifest: m}", "set 'kind: audit'"),
    ("{kind: audit, files: [data/raw]}", "add 'manifest:'"),
    ("{kind: audit, files: data/raw, manifest: m}", "must be a list"),
    ("{kind: audit, files: [data/raw], manifest: m, due: 31/05/2026}", "not a date"),
    ("{kind: audit, file: a.xlsx, files: [data/raw], manifest: m}", "not both"),
])
def test_a_returns_step_is_checked_before_anything_runs(tmp_path: Path, step: str,
                                                        message: str) -> None:
    from analysis import pipeline
    from tests.test_pipeline import notebook

    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\n")
    (tmp_path / "rounds").mkdir()
    notebook(tmp_path / "notebooks" / "ok.ipynb")
    rf = tmp_path / "rounds" / "r.yml"
    rf.write_text(f"round: r\ndate: 2026-06-30\ndemo: true\nprepare:\n  - ingest: {step}\n"
                  "notebooks:\n  - notebooks/ok.ipynb\n")
    with pytest.raises(pipeline.RoundError, match=message):
        pipeline.load_round(rf)


# --------------------------------------------------------------------------------------
# Smaller cases
# --------------------------------------------------------------------------------------


def test_a_csv_return_without_instructions_is_read_and_late_rows_go_by_audit_date(
        samples: dict[str, Path], tmp_path: Path) -> None:
    m = sampling.read_manifest(samples["this"])
    ids = [c["case_id"] for c in m["cases"]]
    from analysis import schemas

    labels = [s["label"] for s in schemas.load_standards().standards]
    lines = ["Case ID,Auditor ID,Auditor agency,Audit date," + ",".join(labels)]
    lines += [f"{c},ED{i % 2},Education,{'15/06/2026' if i == 0 else '20/05/2026'},"
              + ",".join(["Yes"] * len(labels)) for i, c in enumerate(ids)]
    path = tmp_path / "education.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = returns.ingest_returns(path, samples["this"], demo_key=True, due=DUE,
                                 today=date(2026, 6, 30))
    f = res.files[0]
    assert f.sheets == [""] and f.sample_fingerprint is None and not f.other_sample
    assert f.rows_read == f.rows_accepted == 29 and f.late is True
    assert res.agencies == ["education"]  # every agency seen, when none are named
    status = res.report.set_index("case_id")["status"]
    assert status[ids[0]] == "late" and (status.drop(ids[0]) == "returned").all()
    assert res.summary["complete"] == 29


def test_a_workbook_with_no_audit_sheet_is_refused_naming_its_sheets(
        samples: dict[str, Path], tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Nothing to see"])
    path = tmp_path / "empty return.xlsx"
    wb.save(path)
    with pytest.raises(ingest.InputError, match=r"no sheet holds the audit table.*'Notes'"):
        returns.ingest_returns([path], samples["this"], demo_key=True)


def test_expand_paths_reads_folders_in_name_order_and_a_path_named_twice_once(
        tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/z.xlsx", "a.csv", "~$a.xlsx", ".hidden.csv", "notes.txt", "b/c.XLSM"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.csv").write_bytes(b"x")
    got = returns.expand_paths([tmp_path, tmp_path / "a.csv"])
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["a.csv", "b/c.XLSM",
                                                                 "b/z.xlsx"]
    with pytest.raises(ingest.InputError, match="no such file or folder"):
        returns.expand_paths([tmp_path / "missing"])


def test_the_sample_fingerprint_ignores_when_and_by_which_version_the_sample_was_drawn(
        samples: dict[str, Path]) -> None:
    """A round's sample step re-runs after a package upgrade and rewrites manifest.json with
    the new commit and versions: the workbooks already with the auditors must still match."""
    m = sampling.read_manifest(samples["this"])
    redrawn = {**m, "git_commit": "0" * 40, "created": "2030-01-01T00:00:00Z",
               "versions": {"analysis": "9.9"}}
    assert sampling.sample_fingerprint(redrawn) == sampling.sample_fingerprint(m)
    other = {**m, "cases": m["cases"][1:]}
    assert sampling.sample_fingerprint(other) != sampling.sample_fingerprint(m)
