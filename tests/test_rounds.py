"""`sqa new-round NAME`: a round file for real data from a commented template (issue 13)."""

from __future__ import annotations

import json
import os
import re
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


# --------------------------------------------------------------------------------------
# previous:, targets:, actions: (issue 14: a series of rounds for the board)
# --------------------------------------------------------------------------------------


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """A project with three rounds a year apart, each naming the one before it."""
    import nbformat

    (tmp_path / "_quarto.yml").write_text("project: {type: website}\n")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("round_name = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('ran', round_name)")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "ok.ipynb")
    (tmp_path / "rounds").mkdir()
    for year, prev in ((2024, None), (2025, 2024), (2026, 2025)):
        chain_round(tmp_path, f"r{year}", f"{year}-03-31",
                    f"rounds/r{prev}.yml" if prev else None)
    return tmp_path


def chain_round(project: Path, name: str, when: str, previous: str | None,
                extra: str = "") -> Path:
    path = project / "rounds" / f"{name}.yml"
    path.write_text(f"round: {name}\ntitle: Round {name}\ndate: {when}\n"
                    + (f"previous: {previous}\n" if previous else "") + extra
                    + "notebooks:\n  - notebooks/ok.ipynb\n")
    return path


def sqa(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True,
                          text=True, cwd=project, env=env)


def test_sqa_run_runs_the_previous_chain_oldest_first_then_the_round(chain: Path) -> None:
    said: list[str] = []
    runs = pipeline.run_chain(chain / "rounds" / "r2026.yml", say=said.append, progress=False)
    assert [rnd.name for rnd, _ in runs] == ["r2024", "r2025", "r2026"]
    headers = [s for s in said if s.startswith("round ")]
    assert headers == ["round r2024 (rounds/r2024.yml), a round before r2026:",
                       "round r2025 (rounds/r2025.yml), a round before r2026:",
                       "round r2026 (rounds/r2026.yml):"]
    for name in ("r2024", "r2025", "r2026"):
        assert (chain / "reports" / name / "round.json").is_file()


def test_each_previous_round_runs_exactly_as_sqa_run_would_run_it_alone(chain: Path) -> None:
    alone = sqa(chain, "run", "rounds/r2024.yml", "--no-progress")
    assert alone.returncode == 0, alone.stderr
    record = (chain / "reports" / "r2024" / "round.json").read_text()
    alone_nb = (chain / "reports" / "r2024" / "ok.ipynb").read_bytes()
    out = sqa(chain, "run", "rounds/r2026.yml", "--no-progress", "--force")
    assert out.returncode == 0, out.stderr
    assert (chain / "reports" / "r2024" / "ok.ipynb").read_bytes() == alone_nb
    assert json.loads(record)["round_file"] == "rounds/r2024.yml"
    assert "round r2024: 1 of 1 notebooks ok" in out.stdout
    assert "round r2026: 1 of 1 notebooks ok" in out.stdout


def test_a_previous_round_already_up_to_date_is_reused_not_run_again(chain: Path) -> None:
    pipeline.run_chain(chain / "rounds" / "r2026.yml", say=lambda s: None, progress=False)
    runs = pipeline.run_chain(chain / "rounds" / "r2026.yml", say=lambda s: None,
                              progress=False)
    assert [o.cached for _, outcomes in runs for o in outcomes] == [True, True, True]


def test_no_previous_runs_only_the_named_round(chain: Path) -> None:
    out = sqa(chain, "run", "rounds/r2026.yml", "--no-previous", "--no-progress")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (chain / "reports").iterdir()) == ["r2026"]
    assert "round r2024" not in out.stdout


def test_round_json_records_the_previous_round_its_targets_and_actions(chain: Path) -> None:
    chain_round(chain, "r2026", "2026-03-31", "rounds/r2025.yml",
                "targets:\n  referral_appropriate: 0.8\n  rereferral: {at_most: 0.22}\n"
                "  conversion: {at_least: 1}\nactions: rounds/actions/r2026.yml\n")
    pipeline.run_chain(chain / "rounds" / "r2026.yml", previous=False, say=lambda s: None,
                       progress=False)
    rec = json.loads((chain / "reports" / "r2026" / "round.json").read_text())
    assert rec["previous"] == {"round": "r2025", "file": "rounds/r2025.yml",
                               "date": "2025-03-31", "title": "Round r2025"}
    assert rec["targets"] == {"referral_appropriate": {"at_least": 0.8},
                              "rereferral": {"at_most": 0.22}, "conversion": {"at_least": 1.0}}
    assert rec["actions"] == "rounds/actions/r2026.yml"  # not there yet: that is allowed
    first = json.loads((chain / "reports" / "r2024" / "round.json").read_text()) if (
        chain / "reports" / "r2024").exists() else None
    assert first is None  # previous=False ran this round only
    pipeline.run_round(chain / "rounds" / "r2024.yml", say=lambda s: None, progress=False)
    first = json.loads((chain / "reports" / "r2024" / "round.json").read_text())
    assert first["previous"] is None and first["targets"] == {} and first["actions"] is None


@pytest.mark.parametrize("previous, when, message", [
    ("rounds/nope.yml", "2026-03-31", "rounds/nope.yml does not exist"),
    ("rounds/r2026.yml", "2026-03-31", "leads back to a round already in the chain"),
    ("rounds/later.yml", "2026-03-31", "is dated 2027-03-31, not before this round's date"),
    ("rounds/same_day.yml", "2026-03-31", "not before this round's date 2026-03-31"),
    ("../outside.yml", "2026-03-31", "outside the project"),
    ("rounds/broken.yml", "2026-03-31", "rounds/broken.yml is not a round that can run"),
])
def test_a_missing_looping_later_dated_or_broken_previous_round_is_refused_with_exit_2(
        chain: Path, previous: str, when: str, message: str) -> None:
    chain_round(chain, "later", "2027-03-31", None)
    chain_round(chain, "same_day", "2026-03-31", None)
    (chain / "rounds" / "broken.yml").write_text("round: broken\nnotebooks: []\n")
    chain_round(chain, "r2026", when, previous)
    out = sqa(chain, "run", "rounds/r2026.yml", "--no-progress")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr and "previous:" in out.stderr
    assert not (chain / "reports").exists()  # refused before anything ran


def test_a_loop_further_back_in_the_chain_is_refused_naming_the_loop(chain: Path) -> None:
    chain_round(chain, "r2024", "2024-03-31", "rounds/r2026.yml")
    with pytest.raises(pipeline.RoundError, match="r2026.yml -> rounds/r2025.yml -> "
                       "rounds/r2024.yml -> rounds/r2026.yml"):
        pipeline.load_round(chain / "rounds" / "r2026.yml")


@pytest.mark.parametrize("targets, message", [
    ("[0.8]", "'targets:' must be a mapping"),
    ("{referral_appropriate: 80}", "targets: referral_appropriate: 80 is not a share"),
    ("{referral_appropriate: -0.1}", "-0.1 is not a share between 0 and 1"),
    ("{referral_appropriate: yes}", "True is not a share"),
    ("{referral_appropriate: '0.8'}", "'0.8' is not a share"),
    ("{rereferral: {at_most: 1.5}}", "targets: rereferral: 1.5 is not a share"),
    ("{rereferral: {below: 0.2}}", "give one of at_least: or at_most:"),
    ("{rereferral: {at_least: 0.1, at_most: 0.3}}", "give one of at_least: or at_most:"),
])
def test_a_target_that_is_not_a_share_with_a_direction_is_refused_naming_its_key(
        chain: Path, targets: str, message: str) -> None:
    path = chain_round(chain, "r2026", "2026-03-31", None, f"targets: {targets}\n")
    with pytest.raises(pipeline.RoundError, match=re.escape(message)):
        pipeline.load_round(path)


def test_an_actions_file_outside_the_project_is_refused(chain: Path) -> None:
    path = chain_round(chain, "r2026", "2026-03-31", None, "actions: ../actions.yml\n")
    with pytest.raises(pipeline.RoundError, match="actions: ../actions.yml is outside"):
        pipeline.load_round(path)


def test_the_demo_rounds_form_a_chain_a_year_apart_with_the_same_targets() -> None:
    demo = pipeline.load_round(ROOT / "rounds" / "demo.yml")
    chain = [*pipeline.previous_chain(demo), demo]
    assert [r.name for r in chain] == ["demo-2024", "demo-2025", "demo"]
    assert [r.date.isoformat() for r in chain] == ["2024-03-31", "2025-03-31", "2026-03-31"]
    assert all(r.targets == demo.targets for r in chain) and len(demo.targets) == 13
    assert demo.targets["held_too_low"] == {"at_most": 0.1}
    assert [r.actions.relative_to(ROOT).as_posix() for r in chain if r.actions] == [
        f"rounds/actions/{r.name}.yml" for r in chain]
    shifts = [s.get("shift", 0.0)
              for r in chain for step, s in pipeline.prepare_steps(r) if step == "synth"]
    assert shifts == [0.12, 0.06, 0.0]


def test_an_impossible_date_in_a_yaml_file_is_a_mistake_named_with_its_line() -> None:
    """A date that does not exist (day and month swapped) was a ValueError from inside PyYAML,
    shown as a traceback; every YAML file people edit is read by ``analysis.yamlfile``."""
    from analysis import yamlfile

    assert yamlfile.load("date: 2026-05-29") == {"date": date(2026, 5, 29)}
    with pytest.raises(yaml.YAMLError, match=r"'2026-29-05' is not a date \(month must be in "
                       r"1\.\.12\); write dates as YYYY-MM-DD(.|\n)*line 2"):
        yamlfile.load("round: r\ndate: 2026-29-05\n")


def test_sqa_run_of_a_round_file_with_an_impossible_date_exits_2_naming_the_line(
        tmp_path: Path) -> None:
    path = tmp_path / "rounds" / "bad.yml"
    path.parent.mkdir()
    path.write_text("round: bad\ndate: 2026-29-05\nnotebooks: []\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "analysis", "run", str(path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "is not a date" in out.stderr and "line 2" in out.stderr


@pytest.mark.parametrize(("text", "says"), [
    ("standards: [\n", "not valid YAML"),
    ("name: x\nanswers: [yes, no]\n", "audit template is missing 'standards'")])
def test_a_broken_audit_template_is_refused_when_the_round_is_read(
        tmp_path: Path, text: str, says: str) -> None:
    """A round's own audit template that is not valid YAML, or lacks its standards, was found
    only in the prepare steps, as a traceback; it is refused with the round file (exit 2)."""
    from analysis.rounds import RoundError, load_round

    (tmp_path / "_quarto.yml").write_text("project: {type: website}\n", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "std.yml").write_text(text, encoding="utf-8")
    path = tmp_path / "rounds" / "r.yml"
    path.parent.mkdir()
    path.write_text("round: r\ndate: 2026-05-29\nstandards: std.yml\n"
                    "notebooks: [{notebook: notebooks/a.ipynb}]\n", encoding="utf-8")
    with pytest.raises(RoundError, match=f"'standards: std.yml': .*std.yml: {says}"):
        load_round(path)
