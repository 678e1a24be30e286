"""The release checker reads pages and CSVs as a reader would and names every breach of rules
1, 3 and 5 (``analysis.reporting.check.release_problems``): each rule planted once, seen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.reporting import release_problems

HEADER = "finding_id,round,page,successes,n,estimate,ci_low,ci_high,reason,text\n"


def notebook(path: Path, outputs: list[dict], markdown: str = "") -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [markdown]},
             {"cell_type": "code", "metadata": {}, "source": ["x"], "execution_count": 1,
              "outputs": outputs}]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}), "utf-8")
    return path


def md(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": [text]}}


def page(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><head><script>var s = '2 of 3 no difference';</script></head>"
                    f"<body>{body}</body></html>", "utf-8")
    return path


def test_a_clean_round_has_no_problems(tmp_path: Path) -> None:
    notebook(tmp_path / "review.ipynb", [md("12 of 20 cases met the standard (60%).")],
             "The data cannot tell whether the share changed.")
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "review_findings.csv").write_text(
        HEADER + "A,r,review,,3,,,,fewer than 5 cases audited: too few to report,"
        "3 cases audited: too few to report\n"
        "B,r,review,12,20,0.6,0.39,0.78,,12 of 20 cases\n", "utf-8")
    assert release_problems(tmp_path) == []


@pytest.mark.parametrize("column", ["successes", "estimate", "ci_low", "ci_high"])
def test_a_findings_row_under_five_with_a_count_share_or_interval_is_a_breach(
        tmp_path: Path, column: str) -> None:
    values = {"successes": "", "estimate": "", "ci_low": "", "ci_high": ""}
    values[column] = "1"
    row = f"A,r,review,{values['successes']},3,{values['estimate']},{values['ci_low']}," \
          f"{values['ci_high']},too few,3 cases audited\n"
    (tmp_path / "f.csv").write_text(HEADER + row, "utf-8")
    problems = release_problems(tmp_path)
    assert len(problems) == 1 and "rule 1" in problems[0] and column in problems[0]
    assert "f.csv row 2 (A)" in problems[0]


def test_a_findings_row_under_five_without_a_reason_is_a_breach(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(HEADER + "A,r,review,,2,,,,,2 cases audited\n", "utf-8")
    assert ["no reason" in p for p in release_problems(tmp_path)] == [True]


def test_the_minimum_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(HEADER + "A,r,review,6,8,0.75,0.4,0.9,,6 of 8\n", "utf-8")
    assert release_problems(tmp_path) == []
    assert len(release_problems(tmp_path, min_audited=10)) == 3  # values, reason, text


def test_the_reproduction_page_may_quote_a_small_group(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text(
        HEADER + "H,r,hackney_2011_reproduction,3,4,0.75,0.3,0.95,,3 of 4 cases\n", "utf-8")
    notebook(tmp_path / "hackney_2011_reproduction.ipynb", [md("3 of 4 cases met")])
    page(tmp_path / "findings.html",
         '<table><tr><td><a href="rounds/r/hackney_2011_reproduction.html#H">H</a></td>'
         "<td>3 of 4 cases met</td></tr></table>")
    assert release_problems(tmp_path) == []


def test_a_small_count_in_a_sentence_a_table_cell_or_alt_text_is_a_breach(tmp_path: Path
                                                                          ) -> None:
    notebook(tmp_path / "a.ipynb", [md("Route: 2 of 3 were appropriate (67%).")])
    page(tmp_path / "b.html", "<table><tr><td>Housing</td><td>1 of 1 (100%)</td></tr></table>")
    page(tmp_path / "c.html", '<img alt="Bar chart: school 0 of 1" src="x.png">')
    problems = release_problems(tmp_path)
    assert [p.split(":")[0] for p in problems] == ["a.ipynb", "b.html", "c.html"]
    assert all("rule 1" in p for p in problems)


def test_script_and_style_are_not_read_as_page_text(tmp_path: Path) -> None:
    page(tmp_path / "a.html", "<p>Nothing to see.</p><style>.x{content:'1 of 1'}</style>")
    assert release_problems(tmp_path) == []


@pytest.mark.parametrize("text", [
    "an odds ratio of 0.57 (0.01 to 23), which means no difference",
    "There was no significant difference between the rounds.",
    "Most tier-2 cases are never referred on.",
    "audited by 1 auditors from 1 agencies",
])
def test_a_banned_wording_is_a_rule_3_breach(tmp_path: Path, text: str) -> None:
    notebook(tmp_path / "a.ipynb", [md(text)])
    problems = release_problems(tmp_path)
    assert problems and all("rule 3" in p for p in problems), problems


def test_a_wording_quoted_to_say_it_is_never_used_is_not_a_breach(tmp_path: Path) -> None:
    page(tmp_path / "methods.html", "<p>An interval that includes no effect never reads as "
                                    "“no difference”.</p>")
    assert release_problems(tmp_path) == []


@pytest.mark.parametrize("output", [
    {"output_type": "error", "ename": "LinAlgError", "evalue": "Singular matrix",
     "traceback": []},
    {"output_type": "stream", "name": "stderr",
     "text": ["Traceback (most recent call last):\n", "ValueError: x\n"]},
    {"output_type": "stream", "name": "stderr",
     "text": ["/x.py:3: RuntimeWarning: invalid value encountered in divide\n"]},
    md("Agreement was nan% (nan to nan)."),
])
def test_an_error_a_warning_or_a_nan_on_the_page_is_a_rule_5_breach(tmp_path: Path,
                                                                     output: dict) -> None:
    notebook(tmp_path / "a.ipynb", [output])
    problems = release_problems(tmp_path)
    assert problems and all("rule 5" in p for p in problems), problems


def test_words_that_merely_contain_nan_or_inf_are_not_read_as_numbers(tmp_path: Path) -> None:
    notebook(tmp_path / "a.ipynb", [md("Finance, infants, nannies and info-graphics; "
                                       "a maintenance plan.")])
    assert release_problems(tmp_path) == []


def test_site_libraries_and_hidden_folders_are_not_read(tmp_path: Path) -> None:
    page(tmp_path / "site_libs" / "x.html", "<p>2 of 3 no difference</p>")
    page(tmp_path / ".render-cache" / "y.html", "<p>2 of 3</p>")
    assert release_problems(tmp_path) == []


def test_x_of_y_about_something_other_than_cases_is_not_a_small_group(tmp_path: Path) -> None:
    notebook(tmp_path / "a.ipynb", [md("0 of 4 odds ratios have intervals that exclude 1; "
                                       "2 of 3 services met the target.")])
    assert release_problems(tmp_path) == []


def test_sqa_check_lists_the_breaches_and_exits_one(tmp_path: Path, capsys) -> None:
    from analysis import cli

    notebook(tmp_path / "a.ipynb", [md("Route: 2 of 3 were appropriate.")])
    assert cli.main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "a.ipynb: rule 1" in out and "1 breach(es)" in out
    assert cli.main(["check", str(tmp_path), "--min-audited", "3"]) == 0
    assert cli.main(["check", str(tmp_path / "missing")]) == 2


def test_a_small_count_of_children_in_a_sentence_is_a_rule_1_breach(tmp_path: Path) -> None:
    """Issue 12, case 3: "3 children were not seen" names a group under the minimum as
    plainly as "3 of 3"; the rule's own wording for such a group, and a small count within a
    group of at least the minimum, are not breaches."""
    notebook(tmp_path / "a.ipynb", [md("3 children were not seen within timescales.")])
    page(tmp_path / "b.html", "<p>We found one family where the plan lapsed.</p>")
    notebook(tmp_path / "c.ipynb", [md("Housing: 3 cases audited: too few to report. The "
                                       "auditors agreed on 25 of 29 cases; on 4 cases they "
                                       "split. 2 agencies took part.")])
    problems = release_problems(tmp_path)
    assert [p.split(":")[0] for p in problems] == ["a.ipynb", "b.html"]
    assert all("rule 1" in p and "a count of children under 5" in p for p in problems)


def test_x_of_y_under_five_is_named_once_not_also_as_a_small_count(tmp_path: Path) -> None:
    notebook(tmp_path / "a.ipynb", [md("2 of 3 cases were appropriate.")])
    assert len(release_problems(tmp_path)) == 1


def test_a_findings_workbook_exempts_the_reproduction_pages_rows_as_its_csv_does() -> None:
    from analysis.reporting.check import small_counts_in_file

    text = ("release\tfinding_id\tpage\ttext\n"
            "1.0\tHK-1\thackney_2011_reproduction\t3 children were seen by the panel\n"
            "1.0\tTC-1\tthreshold_consistency\t3 children were seen by the panel")
    assert len(small_counts_in_file("downloads/findings-demo.xlsx", text)) == 1
