"""The publication gate's digest index: what it finds, what it stores, when it is rebuilt."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

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
    # kept in the render cache by the ledgers' bytes: the same answer, and a changed ledger
    # is audited again
    cache = tmp_path / "cache"
    first = gate.disclosure_audit(tmp_path, [{"round": "r1"}, {"round": "r2"}], cache)
    assert first == problems and len(list((cache / "gate").glob("disclosure-*.json"))) == 2
    assert gate.disclosure_audit(tmp_path, [{"round": "r1"}, {"round": "r2"}], cache) == problems
    led = Ledger("summary")
    led.table("grading", pd.DataFrame([[40, 6], [4, 9]], index=["a", "b"], columns=["x", "y"]))
    led.write(tmp_path / "reports" / "r2" / "outputs")  # the leak mended
    assert gate.disclosure_audit(tmp_path, [{"round": "r1"}, {"round": "r2"}], cache) == []


def test_a_damaged_disclosure_audit_entry_is_audited_again_not_a_traceback(
        tmp_path: Path) -> None:
    import pandas as pd

    from analysis.reporting import Ledger

    led = Ledger("summary")
    led.table("grading", pd.DataFrame([[40, 6], [4, 9]], index=["a", "b"], columns=["x", "y"]))
    led.sums.append({"name": "summary/leak", "value": 4, "shown": True,
                     "parts": [["summary/grading", "b", "x"]]})
    led.write(tmp_path / "reports" / "r1" / "outputs")
    cache = tmp_path / "cache"
    problems = gate.disclosure_audit(tmp_path, [{"round": "r1"}], cache)
    assert problems
    [entry] = (cache / "gate").glob("disclosure-*.json")
    for damaged in ('["round', '{"not": "a list"}'):
        entry.write_text(damaged, "utf-8")
        assert gate.disclosure_audit(tmp_path, [{"round": "r1"}], cache) == problems
        assert json.loads(entry.read_text("utf-8")) == [p.split(": ", 1)[1] for p in problems]


def test_a_missing_raw_export_stops_the_gate_rather_than_being_skipped(tmp_path: Path) -> None:
    """Issue 12, case 2: a moved or deleted export used to be skipped, and the release went
    out unchecked against it."""
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


def test_an_ingest_record_that_lists_several_returned_workbooks_is_read_file_by_file(
        tmp_path: Path) -> None:
    """Returned audit workbooks (analysis.returns) are recorded as ``files`` (each with the
    sheets read, the Audit sheet perhaps renamed): the gate reads every one of them, and a
    missing one stops it as a missing ``file`` does."""
    import openpyxl

    books = []
    for i, (sheet, case, note) in enumerate([
            ("Audit", "RAWCASE0041", "Auditor PA1: father's new partner not checked by anyone"),
            ("Returned", "RAWCASE0042", "Auditor HV1: the school nurse saw the bruise first")]):
        wb = openpyxl.Workbook()
        wb.active.title = "Instructions"
        ws = wb.create_sheet(sheet)
        ws.append(["case_id", "auditor_id", "auditor_agency", "notes"])
        ws.append([case, f"A{i}", "police", note])
        path = tmp_path / f"return_{i}.xlsx"
        wb.save(path)
        books.append({"file": str(path), "sheets": [sheet], "sha256": "x"})
    csv = tmp_path / "return_2.csv"
    csv.write_text("case_id,auditor_id\nRAWCASE0043,A2\n", encoding="utf-8")
    rounds = [{"round": "r1", "date": "2026-06-30", "processed_dir": str(tmp_path / "none"),
               "prepare": {"ingest": [{"kind": "audit", "name": "audit_tier2", "mapping": None,
                                       "files": [*books, str(csv)]}]}}]
    index = gate.gate_index(tmp_path, rounds)
    assert index.scan("<p>RAWCASE0041 RAWCASE0042 RAWCASE0043</p>") == ["3 raw id(s)"]
    assert index.scan("<p>Auditor HV1: the school nurse saw the bruise first</p>") == [
        "1 free-text note(s)"]
    key = gate.index_key(tmp_path, rounds)
    csv.write_text("case_id,auditor_id\nRAWCASE0044,A2\n", encoding="utf-8")
    assert gate.index_key(tmp_path, rounds) != key
    Path(books[1]["file"]).unlink()
    with pytest.raises(gate.GateError, match="return_1.xlsx .*not there any more"):
        gate.gate_index(tmp_path, rounds)


def test_every_list_sheet_of_an_annex_a_workbook_gives_the_gate_its_ids_and_births(
        tmp_path: Path) -> None:
    """An ``annex-a`` ingest step reads every sheet: the gate reads each list sheet with its
    list's headers (under title rows, whatever the sheet is called), not only the first."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Cover"
    wb.active.append(["Annex A for the inspection"])
    ws = wb.create_sheet("Sheet2")
    ws.append(["Annex A list 1"])
    ws.append(["Child Unique ID", "Gender", "Date of Birth", "Date of Contact"])
    ws.append(["00412345", "b) Female", "14/02/2017", "02/01/2025"])
    ws = wb.create_sheet("CP")
    ws.append(["Child protection"])
    ws.append([])
    ws.append(["Child Unique ID", "Date of Birth", "Child Protection Plan Start Date",
               "Number of Previous Child Protection Plans"])
    ws.append(["00998877", "03/05/2019", "10/01/2025", 0])
    path = tmp_path / "annex_a.xlsx"
    wb.save(path)
    rounds = [{"round": "r1", "date": "2025-03-31", "processed_dir": str(tmp_path / "none"),
               "prepare": {"ingest": [{"file": str(path), "kind": "annex-a",
                                       "name": "cases"}]}}]
    sens = gate.sensitive_values(tmp_path, rounds)
    assert {"00412345", "00998877"} <= sens.ids
    assert {"2017-02-14", "2019-05-03"} <= sens.dobs
    index = gate.gate_index(tmp_path, rounds)
    assert index.scan("<p>child 00998877 born 03/05/2019</p>") == [
        "1 raw id(s)", "1 date(s) of birth"]


def test_a_count_in_one_table_cell_and_a_month_in_the_next_are_not_a_date_of_birth() -> None:
    """A monthly table whose last column ends with a count ("c of 9") and whose next row
    starts with its month ("Sep 2025") read as "9 Sep 2025" once the tags were dropped."""
    index = GateIndex.build(Sensitive(dobs={"2025-09-09"}))
    table = ("<table><tr><td>Aug 2025</td><td>c of 9</td></tr>"
             "<tr><td>Sep 2025</td><td>c of 10</td></tr></table>")
    assert index.scan(table) == []
    assert index.scan("<p>born 9 Sep 2025</p>") == ["1 date(s) of birth"]
    assert index.scan("<table><tr><td>born 9 Sep 2025</td></tr></table>") == [
        "1 date(s) of birth"]


# -- issue 12, case 3: values in other forms ------------------------------------------------

PSEUDONYM = "ch_9f2a1b07e3c4d5a6"
FORMS = GateIndex.build(Sensitive(ids={"00412345", "AB-12345", "0020261"},
                                  pseudonyms={PSEUDONYM}, dobs={"2017-02-14"}))


def test_an_id_without_its_leading_zeros_is_a_raw_id() -> None:
    assert FORMS.scan("<p>child 412345</p>") == ["1 raw id(s)"]
    assert FORMS.scan("<p>child 0412345</p>") == ["1 raw id(s)"]


def test_a_short_id_keeps_its_zeros_so_an_ordinary_number_is_not_an_id() -> None:
    """0020261 without its zeros is 20261, a five-digit number like the demo's sample seed:
    only ids of six characters or more are looked for without their zeros."""
    assert FORMS.scan("<p>sample drawn with seed 20261 from 11,278 rows</p>") == []
    assert FORMS.scan("<p>child 0020261</p>") == ["1 raw id(s)"]


def test_an_id_joined_to_other_characters_is_a_raw_id() -> None:
    for page in ("<p>CH00412345abc</p>", "<p>ref412345x</p>", "<p>see case-00412345.</p>",
                 "<p>file_00412345_notes</p>"):
        assert FORMS.scan(page) == ["1 raw id(s)"], page


def test_an_id_with_or_without_its_separators_is_a_raw_id() -> None:
    assert FORMS.scan("<p>AB12345</p>") == ["1 raw id(s)"]
    assert FORMS.scan("<p>ab/12345 and AB 12345</p>") == ["1 raw id(s)"]
    assert GateIndex.build(Sensitive(ids={"AB12345"})).scan("<p>AB-12345</p>") == [
        "1 raw id(s)"]


def test_digits_inside_a_longer_number_a_decimal_or_a_digest_are_not_an_id() -> None:
    page = ("<p>1412345 rows; kappa 0.412345; input SHA-256 8958c412345ddf3cdda152e6256a870e"
            '; <div id="cell-id=6d412345e">; 4123456</p>')
    assert FORMS.scan(page) == []


def test_an_upper_case_pseudonym_is_a_pseudonymised_id() -> None:
    assert FORMS.scan(f"<p>{PSEUDONYM.upper()}</p>") == ["1 pseudonymised id(s)"]
    assert FORMS.scan("<p>9F2A1B07E3C4D5A6</p>") == ["1 pseudonymised id(s)"]


def test_a_shortened_pseudonym_is_a_pseudonymised_id() -> None:
    assert FORMS.scan("<p>child ch_9f2a1b07 was seen</p>") == ["1 pseudonymised id(s)"]
    assert FORMS.scan("<p>child 9f2a1b07e3…</p>") == ["1 pseudonymised id(s)"]
    assert FORMS.scan("<p>colour #9f2a1b0 and 9f2a1b07ff</p>") == []  # 7 digits; another run


@pytest.mark.parametrize("written", [
    "2017-02-14", "2017-02-14T00:00:00", "2017-02-14 00:00:00", "2017/02/14", "20170214",
    "14/02/2017", "14/02/17", "14-02-2017", "14.02.2017", "14/2/2017", "14 February 2017",
    "14 Feb 2017", "14th February 2017", "14th of February 2017", "14-Feb-17",
    "February 14, 2017", "Feb 14th 2017", "14 FEBRUARY 2017", "14&nbsp;February&nbsp;2017",
    "<b>14 February</b> 2017"])
def test_a_date_of_birth_is_found_in_every_form_ingest_reads_or_a_person_writes(
        written: str) -> None:
    assert FORMS.scan(f"<p>born {written}</p>") == ["1 date(s) of birth"]


def test_other_dates_and_numbers_that_look_like_dates_are_not_dates_of_birth() -> None:
    page = ("<p>2017-02-15, 15/02/2017, 14 March 2017, 20170215, 2017 to 2018, 14/02, "
            "version 1.2.17, 14.02.17, 31/02/2017, 99999999, 12,345 contacts, 3.14</p>")
    assert FORMS.scan(page) == []


def test_a_public_date_is_allowed_in_any_form_but_another_date_of_birth_is_not(
        tmp_path: Path) -> None:
    """A child born on the round's reference date (31 March 2025): the page names the date
    on purpose, in words as in figures."""
    root, rounds = _project(tmp_path)
    raw = Path(rounds[0]["prepare"]["ingest"][0]["file"])
    raw.write_text(raw.read_text("utf-8") + "K10003,00455555,2025-01-04,2025-03-31\n", "utf-8")
    index = gate.gate_index(root, rounds)
    assert index.scan("<p>The round closed on 31 March 2025 (31/03/2025).</p>") == []
    assert index.scan("<p>Born 6 May 2016.</p>") == ["1 date(s) of birth"]


@pytest.mark.parametrize("sentence", [
    "3 children were not seen within timescales.", "Two young people went missing.",
    "We found one family where the plan lapsed.", "4 cases were stepped down.",
    "2 looked-after children moved school.", "In one case the referral was late.",
    "2 of 3 audited cases had a plan."])
def test_a_small_count_of_children_in_a_sentence_refuses_the_page(sentence: str) -> None:
    assert FORMS.scan(f"<p>{sentence}</p>") == ["1 small count(s) of children"]


@pytest.mark.parametrize("sentence", [
    "2 agencies took part; 1 auditor reviewed each case over 3 rounds.",
    "0 children were missed, and no families moved.", "29 cases were audited.",
    "Tier 3 child protection", "Health services: 3 cases audited: too few to report.",
    "One case was audited; no general finding can be drawn.",
    "True of the 4 cases audited, but too few to stand for the service.",
    "Three family intervention project (FiP) cases were audited: too few to report.",
    "The auditors gave the same answer on 25 of 29 cases; on 4 cases they split.",
    "3 case(s) in categories too small to estimate (fewer than 5) left out.",
    "12 of 40 children (30%) were seen, from 11,278 contacts."])
def test_legitimate_counts_and_the_rules_own_wording_pass(sentence: str) -> None:
    assert FORMS.scan(f"<p>{sentence}</p>") == []


def test_the_reproduction_page_may_quote_a_published_reports_small_counts(
        tmp_path: Path) -> None:
    idx = GateIndex.build(SENS)
    (tmp_path / "hackney_2011_reproduction.html").write_text(
        "<p>“4 cases held by Tier 2 Social work services” (p. 3)</p>", "utf-8")
    (tmp_path / "findings.html").write_text(
        '<table><tr><td><a href="rounds/r/hackney_2011_reproduction.html#H">H</a></td>'
        "<td>“In all case but one case the referral was appropriate”</td></tr>"
        "<tr><td>X</td><td>3 children were not seen</td></tr></table>", "utf-8")
    assert gate.scan_site(tmp_path, idx) == ["findings.html: 1 small count(s) of children"]


def _chart(title: str, record: bool = True) -> bytes:
    """A PNG chart as the project's figures draw it (with its text record) or as a bare
    ``savefig`` would (without)."""
    import base64
    import re

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.figures import figure_html

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar(["a", "b"], [1, 2])
    ax.set_title(title)
    if record:
        out = figure_html(fig, alt="Bar chart of two counts.")
        plt.close(fig)
        return base64.b64decode(re.search(r"base64,([^\"]+)", out).group(1))
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_a_figure_carries_every_text_it_draws_in_its_png() -> None:
    from analysis.gate import image_text

    text, recorded = image_text(_chart("Contacts by month"))
    assert recorded and "Contacts by month" in text and "a" in text.split("\n")


def test_an_id_or_date_of_birth_drawn_in_a_chart_refuses_the_page_and_the_png(
        tmp_path: Path) -> None:
    import base64

    png = _chart("child 00412345, born 14 February 2017")
    page = f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="chart">'
    assert FORMS.scan(page) == ["1 raw id(s) in an embedded image",
                                "1 date(s) of birth in an embedded image"]
    (tmp_path / "figure-1.png").write_bytes(png)
    (tmp_path / "clean.png").write_bytes(_chart("Contacts by month"))
    assert gate.scan_site(tmp_path, FORMS) == ["figure-1.png: 1 raw id(s), 1 date(s) of birth"]


def test_an_image_without_a_text_record_refuses_the_release_but_not_in_site_libs(
        tmp_path: Path) -> None:
    """No OCR here: an image the project's figure code did not draw cannot be read, so it
    cannot go out (Quarto's own images in site_libs/ hold no data)."""
    png = _chart("anything", record=False)
    (tmp_path / "site_libs").mkdir()
    (tmp_path / "site_libs" / "icon.png").write_bytes(png)
    (tmp_path / "plot.png").write_bytes(png)
    assert gate.scan_site(tmp_path, FORMS) == [
        "plot.png: 1 image(s) without a text record (the gate cannot read the text drawn in "
        "them: draw charts with analysis.figures.show_figure)"]


def test_a_notebooks_image_output_is_read_by_its_text_record(tmp_path: Path) -> None:
    import base64

    png = base64.b64encode(_chart("born 14/02/2017")).decode()
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data",
                                                        "data": {"image/png": png}}]}]}
    (tmp_path / "review.ipynb").write_text(json.dumps(nb, indent=1), "utf-8")
    assert gate.scan_site(tmp_path, FORMS) == [
        "review.ipynb: 1 date(s) of birth in an embedded image"]


def test_text_inside_an_svg_is_read_even_split_across_tspans(tmp_path: Path) -> None:
    from urllib.parse import quote

    (tmp_path / "a.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><text x="1"><tspan>0041</tspan>'
        "<tspan>2345</tspan></text></svg>", "utf-8")
    (tmp_path / "b.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><text>born 14 Feb 2017</text></svg>', "utf-8")
    svg = quote('<svg xmlns="http://www.w3.org/2000/svg"><text>CH_9F2A1B07</text></svg>')
    (tmp_path / "c.html").write_text(f'<img src="data:image/svg+xml;utf8,{svg}">', "utf-8")
    assert gate.scan_site(tmp_path, FORMS) == [
        "a.svg: 1 raw id(s)", "b.svg: 1 date(s) of birth",
        "c.html: 1 pseudonymised id(s) in an embedded image"]


def test_a_date_of_birth_in_a_csv_or_excel_download_is_found(tmp_path: Path) -> None:
    import datetime

    import openpyxl

    (tmp_path / "findings.csv").write_text("finding_id,text\nF1,\"born 14/02/17\"\n", "utf-8")
    wb = openpyxl.Workbook()
    wb.active.append(["child", "born"])
    wb.active.append([412345, datetime.datetime(2017, 2, 14)])
    wb.save(tmp_path / "tables.xlsx")
    (tmp_path / "data.json").write_text(json.dumps({"dob": "20170214"}), "utf-8")
    assert gate.scan_site(tmp_path, FORMS) == [
        "data.json: 1 date(s) of birth", "findings.csv: 1 date(s) of birth",
        "tables.xlsx: 1 raw id(s), 1 date(s) of birth"]


def test_every_new_form_is_kept_as_salted_digests_only() -> None:
    text = FORMS.to_json()
    for value in ("412345", "00412345", "AB12345", "12345", "20261", "9f2a1b07",
                  "9f2a1b07e3c4d5a6", "2017-02-14", "14/02/2017", "20170214"):
        assert value not in text, value
    again = GateIndex.from_json(text)
    assert again is not None
    page = "<p>ref412345x ch_9F2A1B07 born 14 February 2017; 3 children</p>"
    assert again.scan(page) == FORMS.scan(page) == [
        "1 pseudonymised id(s)", "1 raw id(s)", "1 date(s) of birth",
        "1 small count(s) of children"]


def test_quartos_search_index_puts_one_table_cell_per_line_and_a_line_end_ends_a_cell() -> None:
    """Quarto's search.json holds a monthly table as text, one cell per (JSON-escaped) line:
    "c of 9" then "Sep 2025" is not the day 9 Sep 2025; a date inside one line still is."""
    import json

    index = GateIndex.build(Sensitive(dobs={"2025-09-09"}))
    entry = [{"href": "rounds/r/page.html", "text": "Month\nAug 2025\nc of 9\n\nSep 2025\nc of 10"}]
    assert index.scan(json.dumps(entry), name="search.json") == []
    leak = [{"href": "rounds/r/page.html", "text": "Month\nborn 9 Sep 2025\nc of 10"}]
    assert index.scan(json.dumps(leak), name="search.json") == ["1 date(s) of birth"]
