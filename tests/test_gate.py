"""The publication gate's digest index: what it finds, what it stores, when it is rebuilt."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from analysis import gate
from analysis.gate import GateIndex, Sensitive

NOTE = "Mother reported the bruising to the school nurse on Monday morning"
SENS = Sensitive(ids={"00412345"}, pseudonyms={"c9f2a1b07e"}, dobs={"2017-02-14"},
                 notes=[NOTE])


def test_index_finds_each_kind_of_value_and_names_the_kind_never_the_value() -> None:
    idx = GateIndex.build(SENS)
    page = ("<p>Case 00412345 (c9f2a1b07e), born 2017-02-14.</p>"
            f"<p>{NOTE}</p>")
    kinds = idx.scan(page)
    assert kinds == ["1 pseudonymised id(s)", "1 raw id(s)", "1 date(s) of birth",
                     "1 free-text note(s)"]
    assert not any(v in " ".join(kinds) for v in ("00412345", "c9f2a1b07e", "2017", "bruising"))


def test_a_note_is_found_across_markup_case_line_breaks_and_json_escapes() -> None:
    idx = GateIndex.build(SENS)
    marked = ("<td>MOTHER reported the <em>bruising</em> to the\nschool nurse, on "
              "Monday&nbsp;morning.</td>")
    assert idx.scan(marked) == ["1 free-text note(s)"]
    assert idx.scan(json.dumps({"text": NOTE.replace(" the school", "\nthe school")})) == [
        "1 free-text note(s)"]
    assert idx.scan("Mother reported the bruising to the school nurse") == []


def test_a_lower_case_raw_id_is_still_a_raw_id() -> None:
    idx = GateIndex.build(Sensitive(ids={"AB12345"}))
    assert idx.scan("<p>ab12345</p>") == ["1 raw id(s)"]


def test_quarto_libraries_are_exempt_from_id_and_date_checks_but_not_from_pseudonyms(
        tmp_path: Path) -> None:
    idx = GateIndex.build(SENS)
    (tmp_path / "site_libs").mkdir()
    (tmp_path / "site_libs" / "lib.js").write_text("v 00412345 2017-02-14", "utf-8")
    (tmp_path / "site_libs" / "leak.js").write_text("c9f2a1b07e", "utf-8")
    assert gate.scan_site(tmp_path, idx) == ["site_libs/leak.js: 1 pseudonymised id(s)"]


def test_the_index_stores_digests_only_and_round_trips() -> None:
    idx = GateIndex.build(SENS)
    text = idx.to_json()
    for value in ("00412345", "c9f2a1b07e", "2017-02-14", "bruising", "Mother"):
        assert value not in text
    again = GateIndex.from_json(text)
    assert again is not None and again.scan(f"x {NOTE} 00412345") == idx.scan(
        f"x {NOTE} 00412345")
    assert GateIndex.from_json("{not json") is None
    assert GateIndex.from_json(json.dumps({"format": "other"})) is None


def _project(tmp_path: Path) -> tuple[Path, list[dict]]:
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "cases.csv").write_text(
        "case_id,child_id,contact_date,date_of_birth\n"
        "K10001,00412345,2025-01-02,2017-02-14\nK10002,00498765,2025-01-03,2016-05-06\n",
        "utf-8")
    rounds = [{"round": "r1", "date": "2025-03-31", "processed_dir": str(tmp_path / "none"),
               "prepare": {"ingest": [{"file": str(raw / "cases.csv"), "kind": "cases"}]}}]
    return tmp_path, rounds


def test_the_index_is_cached_private_and_rebuilt_when_an_input_changes(tmp_path: Path) -> None:
    root, rounds = _project(tmp_path)
    cache = tmp_path / "cache"
    first = gate.gate_index(root, rounds, cache)
    files = list((cache / "gate").glob("*.json"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert first.scan("<p>00412345</p>") == ["1 raw id(s)"]
    again = gate.gate_index(root, rounds, cache)
    assert again.salt == first.salt  # read back, not rebuilt
    raw = Path(rounds[0]["prepare"]["ingest"][0]["file"])
    raw.write_text(raw.read_text("utf-8") + "K10003,00455555,2025-01-04,2015-07-08\n", "utf-8")
    changed = gate.gate_index(root, rounds, cache)
    assert changed.salt != first.salt
    assert changed.scan("<p>00455555</p>") == ["1 raw id(s)"]


def test_a_clean_file_is_not_scanned_again_but_a_changed_one_is(tmp_path: Path) -> None:
    idx = GateIndex.build(SENS)
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    (site / "a.html").write_text("<p>nothing personal</p>", "utf-8")
    assert gate.check(site, idx, cache) == []
    verdicts = next((cache / "gate").glob("clean-*.json"))
    assert len(json.loads(verdicts.read_text("utf-8"))) == 1
    (site / "a.html").write_text("<p>child 00412345</p>", "utf-8")
    assert gate.check(site, idx, cache) == ["a.html: 1 raw id(s)"]


def test_verdicts_belong_to_one_index_so_new_inputs_rescan_every_page(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    (site / "a.html").write_text("<p>child 00477777</p>", "utf-8")
    assert gate.check(site, GateIndex.build(SENS), cache) == []
    newer = GateIndex.build(Sensitive(ids={"00477777"}))
    assert gate.check(site, newer, cache) == ["a.html: 1 raw id(s)"]


def test_text_the_release_adds_is_checked_too() -> None:
    idx = GateIndex.build(SENS)
    assert gate.check_text("release notes", "see case 00412345", idx) == [
        "release notes: 1 raw id(s)"]
    assert gate.check_text("release notes", "all clear", idx) == []


def test_each_round_is_audited_on_its_own_so_two_rounds_never_contradict(tmp_path) -> None:
    """Two rounds' pages name their tables alike ("page/table"); audited as one they would
    look like one count published with two values. Each round is audited alone, and a leak
    is named with its round."""
    import pandas as pd

    from analysis.reporting import Ledger

    for name, first in (("r1", 40), ("r2", 55)):
        led = Ledger("summary")
        led.table("grading", pd.DataFrame([[first, 6], [4, 9]], index=["a", "b"],
                                          columns=["x", "y"]))
        if name == "r2":
            led.sums.append({"name": "summary/leak", "value": 4, "shown": True,
                             "parts": [["summary/grading", "b", "x"]]})
        led.write(tmp_path / "reports" / name / "outputs")
    problems = gate.disclosure_audit(tmp_path, [{"round": "r1"}, {"round": "r2"}])
    assert problems and all(p.startswith("round r2: ") for p in problems)
    assert not any("inconsistent" in p for p in problems)
    assert gate.disclosure_audit(tmp_path, [{"round": "r1"}]) == []


def test_a_missing_raw_export_stops_the_gate_rather_than_being_skipped(tmp_path: Path) -> None:
    """Issue 12, case 2: a moved or deleted export used to be skipped, and the release went
    out unchecked against it."""
    import pytest

    root, rounds = _project(tmp_path)
    Path(rounds[0]["prepare"]["ingest"][0]["file"]).unlink()
    with pytest.raises(gate.GateError, match="not there any more"):
        gate.gate_index(root, rounds, tmp_path / "cache")


def test_an_annex_a_workbook_is_read_with_its_mapping_and_sheet(tmp_path: Path) -> None:
    """Issue 12, case 1: the gate read an Annex A workbook without the mapping's headers, so
    under its title rows it found no id or date-of-birth column, and a page printing both was
    published."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Cover"
    ws = wb.create_sheet("List 1")
    ws.append(["Annex A list 1: contacts"])
    ws.append(["Produced for inspection"])
    ws.append(["Child Unique ID", "Contact ID", "Gender", "Date of Birth", "Date of Contact"])
    ws.append(["00412345", "CN77001", "b) Female", "14/02/2017", "02/01/2025"])
    path = tmp_path / "annex_a.xlsx"
    wb.save(path)
    rounds = [{"round": "r1", "date": "2025-03-31", "processed_dir": str(tmp_path / "none"),
               "prepare": {"ingest": [{"file": str(path), "kind": "cases",
                                       "mapping": "annex_a", "sheet": "List 1"}]}}]
    index = gate.gate_index(tmp_path, rounds)
    assert index.scan("<p>child 00412345 born 14/02/2017</p>") == [
        "1 raw id(s)", "1 date(s) of birth"]
