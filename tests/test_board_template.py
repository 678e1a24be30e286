"""A board's own audit template and levels of need, end to end (issue 13, item 4).

One round with ``scale: four_level`` and ``standards: graded`` (the shipped front-door audit
graded good / requires improvement / inadequate) is prepared like the demo (synth, ingest,
sample, simulate_audit) and every listed notebook is run once (a module-scoped fixture); the
tests read what the pages and the findings say.  No code is edited for the board: only the
round file names its template and scale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis import ingest, pipeline, privacy, schemas, synth
from analysis import review as rv

ROOT = Path(__file__).resolve().parents[1]

BOARD_ROUND = """\
round: board
title: "A board's own template and levels (synthetic data)"
date: 2026-03-31
demo: true
scale: four_level
standards: graded
prepare:
  - synth: {out: data/synthetic/board, seed: 20161}
  - ingest: {kind: cases, file: data/synthetic/board/cases.csv}
  - ingest: {kind: ratings, file: data/synthetic/board/ratings.csv}
  - sample: {design: hackney_2011}
  - sample: {design: threshold_audit}
  - simulate_audit: {sample: hackney_2011, kind: tier2,
                     out: data/synthetic/board/audit_returns_tier2.csv}
  - simulate_audit: {sample: threshold_audit, kind: threshold,
                     out: data/synthetic/board/audit_returns_threshold.csv}
  - ingest: {kind: audit, file: data/synthetic/board/audit_returns_tier2.csv, name: audit_tier2}
  - ingest: {kind: audit, file: data/synthetic/board/audit_returns_threshold.csv,
             name: audit_threshold}
  - ingest: {kind: audit, file: data/synthetic/board/audit_returns_tier2_previous.csv,
             name: audit_tier2_previous}
notebooks:
  - notebook: notebooks/audit_sample.ipynb
  - notebook: notebooks/tier2_case_review.ipynb
  - notebook: notebooks/threshold_consistency.ipynb
"""

NOTEBOOKS = ("audit_sample", "tier2_case_review", "threshold_consistency")
#: Words only the Hackney template and tiers use: none may reach a page of this round.
HACKNEY_ONLY = ("2A", "2B", "Tier 3 child protection", "Partly")


@pytest.fixture(scope="module")
def board_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The board round executed end to end in a scratch copy of the project."""
    project = pipeline.copy_project(ROOT, tmp_path_factory.mktemp("board"))
    (project / "rounds" / "board.yml").write_text(BOARD_ROUND, "utf-8")
    outcomes = pipeline.run_round(project / "rounds" / "board.yml", say=lambda s: None,
                                  progress=False)
    failed = [o.error for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
    return project


def _page_text(path: Path) -> str:
    """What a reader sees of an executed notebook: markdown and the text of its outputs (not
    the code, not the images)."""
    nb = json.loads(path.read_text("utf-8"))
    parts = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            for kind in ("text/markdown", "text/html", "text/plain"):
                if kind in data:
                    parts.append("".join(data[kind]))
                    break
            if "text" in out:
                parts.append("".join(out["text"]))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def pages(board_project: Path) -> dict[str, str]:
    report = board_project / "reports" / "board"
    return {name: _page_text(report / f"{name}.ipynb") for name in NOTEBOOKS}


@pytest.fixture(scope="module")
def findings(board_project: Path) -> str:
    outputs = board_project / "reports" / "board" / "outputs"
    return "\n".join(p.read_text("utf-8") for p in sorted(outputs.glob("*_findings.*")))


# --------------------------------------------------------------------------------------
# The template and the scale, without a round
# --------------------------------------------------------------------------------------


def test_a_shipped_template_loads_by_name_as_well_as_by_path() -> None:
    by_name = schemas.load_standards("graded")
    by_path = schemas.load_standards(schemas.shipped_standards("graded"))
    assert by_name == by_path
    assert by_name.answers == ("good", "requires_improvement", "inadequate", "not_applicable")
    assert by_name.met == ("good",) and by_name.not_met == ("requires_improvement", "inadequate")
    assert "Worcestershire" in by_name.source
    assert schemas.load_standards("hackney") == schemas.load_standards()


def test_a_round_file_may_name_a_shipped_template_and_a_mistyped_one_is_refused(
        tmp_path: Path) -> None:
    project = pipeline.copy_project(ROOT, tmp_path / "p")
    path = project / "rounds" / "board.yml"
    path.write_text(BOARD_ROUND, "utf-8")
    rnd = pipeline.load_round(path)
    assert rnd.standards == schemas.shipped_standards("graded")
    params = pipeline.base_parameters(rnd)
    assert params["scale"] == "four_level"
    assert params["standards_file"] == "graded"  # a name: no machine path in the pages
    path.write_text(BOARD_ROUND.replace("standards: graded", "standards: graeded"), "utf-8")
    with pytest.raises(pipeline.RoundError, match="graded"):
        pipeline.load_round(path)


def test_graded_answer_words_are_read_at_ingest_whatever_their_spelling(tmp_path: Path) -> None:
    std = schemas.load_standards("graded")
    keys = std.standard_keys
    words = ["Good", "RI", "Requires improvement", "Inadequate", "requires improvement to be "
             "good", "N/A"]
    rows = [",".join(["case_id", "auditor_id", *(f"std_{k}" for k in keys)])]
    for i, w in enumerate(words):
        rows.append(",".join([f"C{i}", "AB", *([w] * len(keys))]))
    rows.append(",".join(["C9", "AB", *(["partly"] * len(keys))]))  # not a graded answer
    path = tmp_path / "returns.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    res = ingest.ingest(path, "audit", key=privacy.DEMO_KEY, standards=std,
                        scale=schemas.load_scale("four_level"))
    got = sorted(res.accepted[f"std_{keys[0]}"].astype(str))  # rows come back by pseudonym
    assert got == sorted(["good", "requires_improvement", "requires_improvement", "inadequate",
                          "requires_improvement", "not_applicable"])
    assert res.rows_quarantined == 1 and res.rows_read == 7


def test_synthetic_truth_maps_onto_a_board_template_and_scale_by_the_stated_rule() -> None:
    std = schemas.load_standards("graded")
    four = schemas.load_scale("four_level")
    assert synth.board_levels(four) == {"1": "1", "2A": "2", "2B": "3", "3": "4"}
    assert synth.board_answers(std) == {"yes": "good", "partly": "requires_improvement",
                                        "no": "inadequate", "not_applicable": "not_applicable",
                                        "insufficient_information": None}
    sources, themes = synth.board_sources(std)
    assert sources["threshold_applied"] == "threshold_applied"  # the same key keeps its truth
    assert set(sources) == set(std.standard_keys) and set(themes) == set(std.theme_keys)
    assert themes["da_risk_not_recognised"] == "da_risk_not_recognised"


def test_the_hackney_template_and_scale_leave_synthetic_returns_unchanged() -> None:
    frame = pd.DataFrame({"x": [1]})
    assert synth.to_board(frame, schemas.load_standards(), schemas.load_scale("hackney")) is frame
    assert synth.to_board(frame) is frame


def test_naming_the_hackney_template_and_scale_changes_no_byte_of_the_demo_data(
        tmp_path: Path) -> None:
    plain = synth.write_demo(tmp_path / "plain", seed=20161)
    named = synth.write_demo(tmp_path / "named", seed=20161,
                             standards=schemas.load_standards("hackney"),
                             scale=schemas.load_scale("hackney"))
    for name in ("cases", "ratings", "audit_returns_tier2_previous"):
        assert plain[name].read_bytes() == named[name].read_bytes(), name


def test_the_case_rule_is_written_in_the_templates_answer_words() -> None:
    text = rv.case_rule(schemas.load_standards("graded"), schemas.load_scale("four_level"))
    assert "*good*" in text and "*requires improvement*" in text and "partly" not in text
    assert "different levels" in text
    assert rv.case_rule(schemas.load_standards(), schemas.load_scale("hackney")) == rv.CASE_RULE


# --------------------------------------------------------------------------------------
# The round, end to end
# --------------------------------------------------------------------------------------


def test_every_notebook_of_a_board_round_runs_and_writes_findings(board_project: Path) -> None:
    record = json.loads((board_project / "reports" / "board" / "round.json").read_text())
    assert [n["ok"] for n in record["notebooks"]] == [True] * len(NOTEBOOKS)
    outputs = board_project / "reports" / "board" / "outputs"
    for name in NOTEBOOKS:
        assert (outputs / f"{name}_findings.csv").stat().st_size > 200, name


def test_synthetic_auditors_answer_in_the_templates_words_and_levels(board_project: Path
                                                                      ) -> None:
    std = schemas.load_standards("graded")
    for name in ("audit_tier2", "audit_threshold", "audit_tier2_previous"):
        audit = pd.read_parquet(board_project / "data" / "processed" / "board"
                                / f"{name}.parquet")
        answers = set(pd.unique(audit[[f"std_{k}" for k in std.standard_keys]].to_numpy(
            dtype=object).ravel())) - {None}
        answers = {a for a in answers if isinstance(a, str)}
        assert answers <= set(std.answers) and {"good", "requires_improvement"} <= answers
        assert set(audit["tier_judged"].dropna().astype(str)) <= {"1", "2", "3", "4"}
    cases = pd.read_parquet(board_project / "data" / "processed" / "board" / "cases.parquet")
    assert set(cases["level_of_need"].dropna().astype(str)) == {"1", "2", "3", "4"}


def test_the_auditor_workbook_offers_the_templates_answers_and_levels(board_project: Path
                                                                      ) -> None:
    path = (board_project / "data" / "processed" / "board" / "samples" / "hackney_2011"
            / "auditor_workbook.xlsx")
    wb = openpyxl.load_workbook(path)
    lists = {dv.formula1 for dv in wb["Audit"].data_validations.dataValidation}
    assert '"good,requires_improvement,inadequate,not_applicable"' in lists
    assert '"1,2,3,4"' in lists
    info = "\n".join(str(v) for row in wb["Instructions"].iter_rows(values_only=True)
                     for v in row if v)
    assert "requires_improvement = Requires improvement" in info
    assert "Level 4 child protection" in info and "2A" not in info
    assert "insufficient_information" not in info


def test_pages_use_the_templates_labels_and_answer_words(pages: dict[str, str],
                                                         findings: str) -> None:
    std = schemas.load_standards("graded")
    review = pages["tier2_case_review"]
    for label in ("Decision made in time", "Voice of the child recorded",
                  "Management oversight evident"):
        assert label in review and label in findings, label
    assert std.label("voice_of_child") in findings
    assert "requires improvement" in review and "*good*" in review
    assert "held at a lower level than the auditors judged right" in findings


def test_pages_use_the_four_level_labels(pages: dict[str, str]) -> None:
    text = "\n".join(pages.values())
    for label in schemas.load_scale("four_level").labels.values():
        assert label in text, label


def test_no_hackney_only_word_reaches_a_page_or_a_finding(pages: dict[str, str],
                                                          findings: str) -> None:
    for name, text in [*pages.items(), ("findings", findings)]:
        for word in HACKNEY_ONLY:
            assert not re.search(rf"\b{re.escape(word)}\b", text), (name, word)


def test_a_part_whose_standard_the_template_lacks_says_so_and_the_page_goes_on(
        pages: dict[str, str]) -> None:
    text = pages["threshold_consistency"]
    assert 'has no standard "Referral appropriate"' in text
    assert "## 4. Trends month by month" in text  # the page went on past the skipped part
