"""Shared fixtures: the demo round, run once per test session in a scratch copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("_quarto.yml", "rounds", "notebooks", "designs", "site", "data/published")


def copy_project(dest: Path) -> Path:
    """A scratch copy of the project's inputs (not its data or reports)."""
    for name in PROJECT_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / name)
    return dest


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo round executed end to end (synth, ingest, sample, every notebook)."""
    from analysis import pipeline

    project = copy_project(tmp_path_factory.mktemp("demo"))
    outcomes = pipeline.run_round(project / "rounds" / "demo.yml", say=lambda s: None,
                                  progress=False)
    failed = [o.error for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
    return project


@pytest.fixture(scope="session")
def demo_site(demo_project: Path) -> Path:
    """Two releases of the demo site, published one after the other (nbconvert engine)."""
    from analysis import publish

    publish.publish(demo_project, "2026.1", title="First release", engine="nbconvert",
                    say=lambda s: None)
    publish.publish(demo_project, "2026.2", title="Second release", engine="nbconvert",
                    say=lambda s: None)
    return demo_project / "reports" / "site"
