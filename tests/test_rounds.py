"""`sqa new-round NAME`: a round file for real data from a commented template (issue 13)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from analysis import pipeline
from analysis.rounds import new_round

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "_quarto.yml").write_text("project: {type: website}\n")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    return tmp_path


def test_a_new_round_is_real_data_with_raw_inputs_and_passes_the_round_checks(project: Path
                                                                               ) -> None:
    path = new_round(project, "2026-q1", today=date(2026, 6, 30))
    assert path == project / "rounds" / "2026-q1.yml"
    d = yaml.safe_load(path.read_text())
    assert d["round"] == "2026-q1" and d["demo"] is False and str(d["date"]) == "2026-06-30"
    [ingest, sample] = d["prepare"]
    assert ingest["ingest"]["file"].startswith("data/raw/2026-q1/")
    assert sample == {"sample": {"design": "hackney_2011"}}
    rnd = pipeline.load_round(path)
    assert rnd.name == "2026-q1" and not rnd.demo


def test_every_key_of_the_new_round_is_explained_in_a_comment(project: Path) -> None:
    text = new_round(project, "q1").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")) and ":" in line:
            assert lines[i - 1].startswith("#"), f"key without a comment above it: {line}"


def test_scale_standards_and_design_are_written_and_checked(project: Path) -> None:
    (project / "config").mkdir()
    (project / "config" / "ours.yml").write_text(
        (ROOT / "src" / "analysis" / "config" / "standards.yml").read_text())
    path = new_round(project, "q2", scale="four_level", standards="config/ours.yml",
                     design="threshold_audit")
    d = yaml.safe_load(path.read_text())
    assert d["scale"] == "four_level" and d["standards"] == "config/ours.yml"
    assert d["prepare"][1] == {"sample": {"design": "threshold_audit"}}
    assert "samples/threshold_audit/" in path.read_text()


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "../x"}, "short name"),
    ({"name": "site"}, "not 'site'"),
    ({"name": "q", "scale": "three_level"}, "--scale: unknown levels-of-need scale"),
    ({"name": "q", "design": "nope"}, "--design: no design named 'nope'"),
    ({"name": "q", "standards": "missing.yml"}, "--standards: missing.yml is not a file"),
])
def test_a_bad_name_or_option_is_refused_before_anything_is_written(project: Path, kwargs,
                                                                    message: str) -> None:
    with pytest.raises(pipeline.RoundError, match=message):
        new_round(project, **kwargs)
    assert not (project / "rounds").exists() or not list((project / "rounds").iterdir())


def test_an_existing_round_file_is_never_overwritten(project: Path) -> None:
    path = new_round(project, "q1")
    path.write_text("# the analyst's edits\n" + path.read_text())
    before = path.read_text()
    with pytest.raises(pipeline.RoundError, match="never overwritten"):
        new_round(project, "q1")
    assert path.read_text() == before


def test_cli_new_round_prints_the_next_step_and_refuses_a_second_time_with_exit_2(
        project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = [sys.executable, "-m", "analysis", "new-round", "q1"]
    first = subprocess.run(run, capture_output=True, text=True, cwd=project, env=env)
    assert first.returncode == 0, first.stderr
    assert "wrote rounds/q1.yml" in first.stdout and "sqa run rounds/q1.yml" in first.stdout
    again = subprocess.run(run, capture_output=True, text=True, cwd=project, env=env)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "never overwritten" in again.stderr


def test_a_shipped_template_is_named_by_name(project: Path) -> None:
    path = new_round(project, "q3", scale="four_level", standards="graded",
                     today=date(2026, 6, 1))
    assert yaml.safe_load(path.read_text())["standards"] == "graded"
    pipeline.load_round(path)
