"""Shared fixtures: the demo round, run once per test session in a scratch copy of the project."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo round executed end to end (synth, ingest, sample, every notebook)."""
    from analysis import pipeline

    project = pipeline.copy_project(ROOT, tmp_path_factory.mktemp("demo"))
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
