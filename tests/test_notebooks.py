"""The notebooks themselves run as tests (nbval), top to bottom on their demo defaults, as an
analyst opening them in JupyterLab after ``sqa run rounds/demo.yml`` would run them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_every_notebook_runs_on_its_demo_defaults_under_nbval(demo_project: Path,
                                                              tmp_path: Path) -> None:
    pytest.importorskip("nbval")
    project = tmp_path / "project"
    shutil.copytree(demo_project, project, ignore=shutil.ignore_patterns("site", ".render-cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "notebooks/", "-q", "-p",
         "no:cacheprovider", "-o", "addopts=", "--rootdir", str(project)],
        cwd=project, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "passed" in proc.stdout
