"""Project rules: notebooks without outputs, help on every command, the data dictionary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from analysis import schemas
from analysis.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: strip outputs before committing"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_have_a_title_and_a_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_subcommand_answers_help(command: str | None) -> None:
    args = [sys.executable, "-m", "analysis", *([command] if command else []), "--help"]
    out = subprocess.run(args, capture_output=True, text=True)
    assert out.returncode == 0 and "usage: sqa" in out.stdout


def test_every_round_lists_existing_notebooks() -> None:
    for rf in (ROOT / "rounds").glob("*.yml"):
        d = yaml.safe_load(rf.read_text())
        for item in d["notebooks"]:
            nb = item["notebook"] if isinstance(item, dict) else item
            assert (ROOT / nb).exists(), f"{rf.name}: {nb} is missing"


def test_data_dictionary_lists_every_column_of_every_table() -> None:
    text = schemas.data_dictionary_markdown()
    for kind in schemas.KINDS:
        for name in schemas.spec_for(kind).names:
            assert f"`{name}`" in text


def test_personal_columns_are_marked_in_the_dictionary() -> None:
    text = schemas.data_dictionary_markdown()
    line = next(ln for ln in text.splitlines() if ln.startswith("| `notes`"))
    assert "*personal*" in line


def test_a_board_can_swap_in_its_own_audit_template(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text(
        "name: Board template\nanswers: [yes, no, not_applicable]\n"
        "standards:\n  - {key: voice_of_child, label: Voice of the child heard}\n"
        "themes:\n  - {key: drift, label: Drift and delay}\n")
    std = schemas.load_standards(tmp_path / "t.yml")
    spec = schemas.audit_spec(std)
    assert "std_voice_of_child" in spec.names and "theme_drift" in spec.names
    assert spec.column("std_voice_of_child").allowed == ("yes", "no", "not_applicable")


def test_the_levels_of_need_scale_is_configurable() -> None:
    four = schemas.load_scale("four_level")
    assert schemas.cases_spec(four).column("level_of_need").allowed == ("1", "2", "3", "4")
    with pytest.raises(ValueError, match="unknown levels-of-need scale"):
        schemas.load_scale("five")


def test_pre_commit_runs_ruff_nbstripout_detect_secrets_and_a_large_file_check() -> None:
    """Issue 16 (RAP hygiene): the pre-commit configuration holds the four checks, and the
    secrets baseline it names exists (known non-secrets audited)."""
    import json

    import yaml

    cfg = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    hooks = {h["id"] for repo in cfg["repos"] for h in repo["hooks"]}
    assert {"ruff", "nbstripout", "detect-secrets", "check-added-large-files"} <= hooks
    baseline = json.loads((ROOT / ".secrets.baseline").read_text("utf-8"))
    assert "results" in baseline and "plugins_used" in baseline


def test_the_install_script_pins_every_dependency_with_the_lock_file() -> None:
    """Issue 16 (RAP hygiene): requirements.lock pins (==) every dependency pyproject.toml
    names, test extras included, and scripts/install.sh installs with it."""
    import re
    import tomllib

    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pinned = {m.group(1).lower().replace("_", "-")
              for m in re.finditer(r"^([A-Za-z0-9_.-]+)==\S+", lock, re.M)}
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    named = [*meta["dependencies"], *meta["optional-dependencies"]["test"]]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-")
             for d in named}
    assert names <= pinned, names - pinned
    assert "-c requirements.lock" in (ROOT / "scripts" / "install.sh").read_text("utf-8")
