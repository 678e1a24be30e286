"""Shared fixtures: the demo round, run once per test session in a scratch copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say in the test log which real parts the publishing and browser tests will use (and
    which of them will skip, and why)."""
    import subprocess

    quarto = shutil.which("quarto")
    version = ""
    if quarto:
        try:
            version = subprocess.run([quarto, "--version"], capture_output=True, text=True,
                                     timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            version = "?"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    axe = (ROOT / "node_modules" / "axe-core" / "axe.min.js").exists()
    pdftotext = shutil.which("pdftotext")
    return [f"quarto: {quarto} {version} (Quarto tests run)" if quarto
            else "quarto: not on PATH (Quarto tests skip)",
            f"chromium: {chromium} (browser tests run)" if chromium
            else "chromium: not installed (browser tests skip)",
            f"pdftotext: {pdftotext} (board-paper PDF tests run)" if pdftotext
            else "pdftotext: not installed (board-paper PDF tests skip)",
            "axe-core: installed" if axe else "axe-core: not installed (axe test skips)"]


ENGINES = [
    pytest.param("quarto", marks=pytest.mark.skipif(shutil.which("quarto") is None,
                                                    reason="quarto is not on PATH")),
    "nbconvert",
]


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo executed end to end as `sqa run rounds/demo.yml` runs it: the rounds before it
    (demo-2024, the baseline, then demo-2025), then round demo (synth, ingest, sample, every
    notebook)."""
    from analysis import pipeline

    project = pipeline.copy_project(ROOT, tmp_path_factory.mktemp("demo"))
    runs = pipeline.run_chain(project / "rounds" / "demo.yml", say=lambda s: None,
                              progress=False)
    assert [rnd.name for rnd, _ in runs] == ["demo-2024", "demo-2025", "demo"]
    failed = [o.error for _, outcomes in runs for o in outcomes if not o.ok]
    assert not failed, "\n".join(failed)
    return project


@pytest.fixture(scope="session", params=ENGINES)
def demo_site(request: pytest.FixtureRequest, demo_project: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two releases of the demo site ("2026.1" then "2026.2"), published one after the other
    with one engine (the fixture's parameter: ``quarto``, ``nbconvert``) in a copy of the
    executed demo project of its own, so the engines' sites never mix."""
    from analysis import publish

    engine = request.param
    project = tmp_path_factory.mktemp(f"site-{engine}") / "project"
    shutil.copytree(demo_project, project,
                    ignore=lambda d, names: ["site"] if Path(d) == demo_project / "reports"
                    else [])
    publish.publish(project, "2026.1", title="First release", engine=engine,
                    say=lambda s: None)
    publish.publish(project, "2026.2", title="Second release", engine=engine,
                    say=lambda s: None)
    return project / "reports" / "site"
