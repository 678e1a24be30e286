"""Publish: versioned releases, refusal to overwrite, the publication gate, safe failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import pipeline, publish
from tests.test_pipeline import notebook

ROOT = Path(__file__).resolve().parents[1]
CASES = ("case_id,child_id,gender,contact_date,referral_source,route,service,level_of_need,"
         "outcome,domestic_abuse,previous_csc,date_of_birth\n"
         "CN0000001,0012345,Female,01/04/2025,police,single,front_door,2A,nfa,n,n,2015-03-02\n"
         "CN0000002,0012346,Male,02/04/2025,school,single,front_door,3,assessment,n,y,"
         "2012-11-30\n")


def make_project(tmp: Path, leak: str = "") -> Path:
    """A one-notebook project, run; ``leak`` makes its notebook print a child's
    ``pseudonym`` or ``raw`` id."""
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "_quarto.yml", tmp / "_quarto.yml")
    shutil.copytree(ROOT / "site", tmp / "site")
    (tmp / "data").mkdir()
    (tmp / "data" / "cases.csv").write_text(CASES)
    code = ("import pandas as pd\nt = pd.read_parquet(processed_dir + '/cases.parquet')\n"
            "print('cases:', len(t))")
    if leak == "pseudonym":
        code += "\nprint(t.child_id.iloc[0])"
    elif leak == "raw":
        code += ("\nraw = pd.read_csv(processed_dir + '/../../cases.csv', dtype=str)"
                 "\nprint('child', raw.child_id.iloc[0])")
    notebook(tmp / "notebooks" / "summary.ipynb", ("markdown", "# Summary of the round"),
             ("code", code), params="processed_dir = ''")
    (tmp / "rounds").mkdir()
    (tmp / "rounds" / "r.yml").write_text(
        "round: r1\ndate: 2026-03-31\ndemo: true\nprepare:\n  ingest:\n"
        "    - {kind: cases, file: data/cases.csv}\nnotebooks:\n  - notebooks/summary.ipynb\n")
    outcomes = pipeline.run_round(tmp / "rounds" / "r.yml", say=lambda s: None, progress=False)
    assert all(o.ok for o in outcomes)
    return tmp


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path)


def quiet(*a, **k):
    return None


def test_two_releases_live_side_by_side_with_latest_and_versions_json(project: Path) -> None:
    publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    site = project / "reports" / "site"
    for v in ("1.0", "1.1"):
        assert (site / "v" / v / "rounds" / "r1" / "summary.html").exists()
    versions = json.loads((site / "versions.json").read_text())
    assert versions["latest"] == "1.1"
    assert [r["version"] for r in versions["releases"]] == ["1.0", "1.1"]
    rel = versions["releases"][1]
    assert {"version", "title", "date", "commit", "inputs", "engine"} <= set(rel)
    assert rel["engine"] == "nbconvert"
    latest = (site / "latest" / "index.html").read_text()
    assert 'name="sqa-version" content="1.1"' in latest
    assert "latest/index.html" in (site / "index.html").read_text()


def test_every_page_has_switcher_canonical_citation_and_provenance(project: Path) -> None:
    publish.publish(project, "2.0", engine="nbconvert", say=quiet)
    page = (project / "reports" / "site" / "v" / "2.0" / "rounds" / "r1" / "summary.html"
            ).read_text()
    assert 'rel="canonical" href="https://example.org/safeguarding-qa/latest/rounds/r1/' in page
    assert "data-sqa-switcher" in page and "data-sqa-notice" in page
    assert "How to cite" in page and "Provenance of this page" in page
    assert "rendered with nbconvert because Quarto was not available" in page
    assert "cases: 2" in page  # real output of the executed notebook
    cite = (project / "reports" / "site" / "v" / "2.0" / "cite.html").read_text()
    assert "@techreport" in cite and "version = {2.0}" in cite


def test_republishing_a_version_is_refused_unless_forced(project: Path) -> None:
    publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    with pytest.raises(publish.PublishError, match="never overwritten"):
        publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    publish.publish(project, "1.0", engine="nbconvert", force=True, say=quiet)
    versions = json.loads((project / "reports" / "site" / "versions.json").read_text())
    assert versions["releases"][0]["forced"] is True


def test_gate_refuses_a_page_that_prints_a_child_id_and_keeps_the_old_site(tmp_path: Path
                                                                          ) -> None:
    good = make_project(tmp_path / "p")
    publish.publish(good, "1.0", engine="nbconvert", say=quiet)
    site = good / "reports" / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    leaky = tmp_path / "leak"
    leaky.mkdir()
    make_project(leaky, leak="pseudonym")
    shutil.rmtree(good / "reports" / "r1")
    shutil.copytree(leaky / "reports" / "r1", good / "reports" / "r1")
    with pytest.raises(publish.PublishError) as err:
        publish.publish(good, "1.1", engine="nbconvert", say=quiet)
    msg = str(err.value)
    assert "publication gate refused" in msg and "rounds/r1/summary.html" in msg
    assert "pseudonymised id" in msg
    assert "ch_" not in msg  # names the kind of hit, never the value
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert before == after
    assert not list(site.parent.glob(".staging-*"))


def test_gate_refuses_a_page_that_prints_a_raw_child_id(tmp_path: Path) -> None:
    leaky = make_project(tmp_path / "raw", leak="raw")
    with pytest.raises(publish.PublishError) as err:
        publish.publish(leaky, "1.0", engine="nbconvert", say=quiet)
    assert "raw id" in str(err.value) and "0012345" not in str(err.value)
    assert not (leaky / "reports" / "site" / "v").exists()


def test_gate_finds_raw_ids_dates_of_birth_and_notes(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "a.html").write_text("<p>Child 0012345 born 02/03/2015</p>")
    (out / "b.html").write_text("<p>The family moved &amp; the school was told</p>")
    (out / "c.html").write_text("<p>Nothing to see: 29 cases, 95% CI 70% to 100%</p>")
    sens = publish.Sensitive(ids={"0012345"}, dobs={"02/03/2015"},
                             notes=["The family moved & the school was told"])
    hits = publish.scan_site(out, sens)
    assert hits == ["a.html: 1 raw id(s), 1 date(s) of birth", "b.html: 1 free-text note(s)"]


def test_cli_publish_refusal_exits_2_without_traceback(project: Path) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no quarto: nbconvert fallback
    first = subprocess.run([sys.executable, "-m", "analysis", "publish", "--version", "3.0"],
                           cwd=project, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert "nbconvert" in first.stdout
    again = subprocess.run([sys.executable, "-m", "analysis", "publish", "--version", "3.0"],
                           cwd=project, capture_output=True, text=True, env=env)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "never overwritten" in again.stderr


def test_failed_round_is_not_published(project: Path) -> None:
    rec = project / "reports" / "r1" / "round.json"
    data = json.loads(rec.read_text())
    data["notebooks"][0]["ok"] = False
    rec.write_text(json.dumps(data))
    with pytest.raises(publish.PublishError, match="failed"):
        publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    assert not (project / "reports" / "site" / "v").exists()


@pytest.mark.quarto
@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not on PATH")
def test_quarto_renders_the_same_pages(project: Path) -> None:
    publish.publish(project, "q1", engine="quarto", say=quiet)
    v = project / "reports" / "site" / "v" / "q1"
    assert (v / "rounds" / "r1" / "summary.html").exists()
    assert (v / "search.json").exists()
    assert 'name="citation_title"' in (v / "index.html").read_text()
