"""The worked example, end to end, exactly as README.md's "Run your own round" walks through it:
Exampleshire's hand-made Annex A workbook, its vignette exercise and three agencies' returned
workbooks (data/examples/, not written by synth), through the CLI, into a published site.

One copy of the project runs every step once (a module fixture); each test checks what one step
printed or wrote.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import pipeline

ROOT = Path(__file__).resolve().parents[1]
PKG_PARENT = str(ROOT / "src")
README_STEPS = {  # the commands of README.md's "Run your own round", in its order
    "new-round": ["new-round", "exampleshire", "--scale", "four_level", "--standards", "graded",
                  "--design", "data/examples/front_door_audit.yml"],
    "annex-a": ["ingest", "--kind", "annex-a", "data/examples/annex_a_exampleshire.xlsx",
                "--out", "data/processed/example", "--demo-key", "--scale", "four_level"],
    "sample": ["sample", "--cases", "data/processed/example/cases.parquet", "--design",
               "data/examples/front_door_audit.yml", "--standards", "graded", "--scale",
               "four_level", "--out", "data/processed/example/samples/threshold_audit"],
    "returns": ["ingest", "--kind", "audit", "data/examples/returns", "--manifest",
                "data/processed/example/samples/threshold_audit/manifest.json", "--out",
                "data/processed/example", "--name", "audit_threshold", "--due", "2026-05-15",
                "--agencies", "police,health,csc", "--standards", "graded", "--scale",
                "four_level", "--demo-key"],
    "run": ["run", "rounds/example.yml", "--no-progress"],
    "publish": ["publish", "--version", "2026.1", "--title", "Exampleshire worked example"],
}


def sqa(project: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=project,
                          capture_output=True, text=True, env=env, timeout=1200)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    project = pipeline.copy_project(ROOT, tmp_path_factory.mktemp("example"))
    done: dict[str, object] = {"project": project}
    for step, args in README_STEPS.items():
        done[step] = sqa(project, args)
    return done


def test_every_command_of_run_your_own_round_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Run your own round", 1)[1].split("\n## ", 1)[0]
    commands = [shlex.split(line)[1:] for line in section.splitlines()
                if line.startswith("sqa ")]
    assert commands == list(README_STEPS.values())


def test_every_step_of_the_example_exits_0(example: dict) -> None:
    for step in README_STEPS:
        res = example[step]
        assert res.returncode == 0, f"{step}:\n{res.stdout}\n{res.stderr}"


def test_the_new_round_names_a_shipped_template_and_the_four_levels(example: dict) -> None:
    text = (example["project"] / "rounds" / "exampleshire.yml").read_text("utf-8")
    assert re.search(r"^standards: graded", text, re.M)
    assert re.search(r"^scale: four_level", text, re.M)


def test_annex_a_prints_read_accepted_quarantined_for_every_list_and_they_add_up(
        example: dict) -> None:
    out = example["annex-a"].stdout
    lines = re.findall(r"list (\d+) -> (\w+): (\d+) read, (\d+) accepted, (\d+) quarantined",
                       out)
    assert sorted(int(n) for n, *_ in lines) == list(range(1, 9))
    for _, table, read, accepted, quarantined in lines:
        assert int(read) == int(accepted) + int(quarantined), table
        log = json.loads((example["project"] / "data" / "processed" / "example"
                          / f"{table}_ingest.json").read_text())
        assert (log["rows_read"], log["rows_accepted"], log["rows_quarantined"]) == (
            int(read), int(accepted), int(quarantined))
    assert "'Read me': skipped" in out and "'Lookups': skipped" in out
    # the three rows a council would have to fix, and nothing else
    assert re.search(r"list1_contacts: 255 read, 252 accepted, 3 quarantined", out)


def test_the_returns_report_lists_the_missing_and_the_unexpected_returns(example: dict
                                                                         ) -> None:
    out = example["returns"].stdout
    assert "case not in the sample" in out and "not an allowed value" in out
    assert re.search(r"18 sampled cases; 16 with complete returns", out)
    report = pd.read_csv(example["project"] / "data" / "processed" / "example"
                         / "audit_threshold_returns_report.csv")
    missing = report[report["status"] == "missing"]
    assert len(missing) == 2 and set(missing["agency"]) == {"health"}
    unexpected = report[report["status"] == "unexpected"]
    assert len(unexpected) == 1 and unexpected["files"].iloc[0].endswith("CSC returns.xlsx")
    assert (report["status"] == "late").sum() == 16  # health returned after the due date
    assert set(report.loc[report["status"] == "late", "agency"]) == {"health"}


def test_the_round_runs_every_notebook_and_says_how_complete_the_returns_were(
        example: dict) -> None:
    assert "2 of 2 notebooks ok" in example["run"].stdout
    page = (example["project"] / "reports" / "example" / "threshold_consistency.ipynb"
            ).read_text("utf-8")
    assert "Returns were complete for all but fewer than 5 of the 18 sampled cases" in page
    assert "Four levels of need" in page and "the Ofsted Annex A workbook" in page
    # the round names its own standard for "appropriate" (appropriate_standard)
    assert 'the standard \\"levels of need applied correctly\\" met' in page


def test_the_example_publishes_and_the_returns_report_stays_off_the_site(example: dict
                                                                         ) -> None:
    project = example["project"]
    assert "published version 2026.1" in example["publish"].stdout
    site = project / "reports" / "site" / "v" / "2026.1"
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert any("example" in p and "threshold_consistency" in p for p in pages), pages
    text = " ".join(p.read_text("utf-8", errors="replace") for p in site.rglob("*.html"))
    report = pd.read_csv(project / "data" / "processed" / "example"
                         / "audit_threshold_returns_report.csv")
    assert not [c for c in report["case_id"].dropna() if c in text]
    assert not list(site.rglob("*returns_report*"))


def test_the_example_files_are_not_written_by_synth() -> None:
    src = (ROOT / "src" / "analysis").rglob("*.py")
    assert not [p for p in src if "data/examples" in p.read_text("utf-8")
                and "annex_a_exampleshire" in p.read_text("utf-8")]
    assert shutil.which("git") is None or "data/examples/annex_a_exampleshire.xlsx" in \
        subprocess.run(["git", "ls-files", "data/examples"], cwd=ROOT, capture_output=True,
                       text=True).stdout
