"""Publish: versioned releases, refusal to overwrite, the publication gate, safe failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis import pipeline, publish
from tests.test_pipeline import notebook

ROOT = Path(__file__).resolve().parents[1]
FIGURE_ALT = "Bar chart of two made-up counts: a 1, b 2."
QUARTO = pytest.mark.skipif(
    shutil.which("quarto") is None,
    reason="quarto is not on PATH (install it from quarto.org or conda-forge; on the "
    "development machines: bash ../shared/tools/quarto/install.sh)")
ENGINES = [pytest.param("quarto", marks=[pytest.mark.quarto, QUARTO]), "nbconvert"]
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
    figure = ("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
              "from analysis.figures import show_figure\n"
              "from analysis.findings import Finding, FindingsLog\n"
              "log = FindingsLog(round_name, 'summary')\n"
              "log.add(Finding('SUM-CASES', 'The cases table of the round was read.'))\n"
              "fig, ax = plt.subplots(figsize=(3, 2))\nax.bar(['a', 'b'], [1, 2])\n"
              f"show_figure(fig, alt={FIGURE_ALT!r}, caption='Two counts.')\n"
              "log.write(output_dir)")
    if leak == "pseudonym":
        code += "\nprint(t.child_id.iloc[0])"
    elif leak == "raw":
        code += ("\nraw = pd.read_csv(processed_dir + '/../../cases.csv', dtype=str)"
                 "\nprint('child', raw.child_id.iloc[0])")
    notebook(tmp / "notebooks" / "summary.ipynb", ("markdown", "# Summary of the round"),
             ("code", code), ("code", figure),
             params="processed_dir = ''\noutput_dir = ''\nround_name = ''")
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
    assert "Quarto was not available" not in page and "sqa-engine-notice" not in page
    assert "cases: 2" in page  # real output of the executed notebook
    cite = (project / "reports" / "site" / "v" / "2.0" / "cite.html").read_text()
    assert "@techreport" in cite and "version = {2.0}" in cite


@pytest.mark.parametrize("engine", ENGINES)
def test_a_release_has_a_glossary_and_its_pages_link_their_first_use_of_each_term(
        project: Path, engine: str) -> None:
    """Issue 15, items 3 and 7: ``glossary.html`` has an entry per term of
    ``config/glossary.yml``; a page links its first use of a term there (the release check,
    which follows every link to its anchor, passed); nothing on a page is addressed to
    developers."""
    from analysis.glossary import load_glossary

    publish.publish(project, "3.0", engine=engine, say=quiet)
    out = project / "reports" / "site" / "v" / "3.0"
    gloss = (out / "glossary.html").read_text()
    for t in load_glossary():
        assert f'id="{t.id}"' in gloss, t.id
    assert 'class="sqa-gloss"' not in gloss  # the glossary does not link to itself
    cite = (out / "cite.html").read_text()
    assert 'class="sqa-gloss"' not in cite  # a citation is quoted as it must be cited
    methods = (out / "methods.html").read_text()
    assert methods.count('href="glossary.html#kappa"') == 1
    assert methods.count('href="glossary.html#wilson-interval"') == 1
    assert "How to rerun this round" in methods
    for rel in ("index.html", "methods.html", "rounds/r1/summary.html", "glossary.html"):
        text = (out / rel).read_text()
        main = text[text.index("<main"):text.index("</main>")]
        for words in ("papermill", "Quarto was not", "TODO", "sqa-engine-notice"):
            assert words not in main, (rel, words)


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


def snapshot(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*")
            if p.is_file()}


def executed(project: Path) -> Path:
    return project / "reports" / "r1" / "summary.ipynb"


def record_run(project: Path) -> None:
    """Record the executed notebook's current bytes in round.json, as a finished run that
    wrote it would (tests that edit the notebook stand for such a run)."""
    rec = project / "reports" / "r1" / "round.json"
    data = json.loads(rec.read_text())
    for nb in data["notebooks"]:
        nb["files"][nb["output"]] = publish.sha256_file(project / nb["output"])
    rec.write_text(json.dumps(data))


def add_output(project: Path, html_text: str) -> None:
    """Give the executed notebook one more HTML output (as a notebook would display it)."""
    path = executed(project)
    nb = json.loads(path.read_text())
    nb["cells"][-1]["outputs"].append({"output_type": "display_data", "metadata": {},
                                       "data": {"text/html": html_text}})
    path.write_text(json.dumps(nb))
    record_run(project)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_release_holds_every_listed_page_with_its_title_findings_and_figures(
        project: Path, engine: str) -> None:
    said: list[str] = []
    publish.publish(project, "1.0", engine=engine, say=said.append)
    assert f"with {engine}" in said[-1]
    site = project / "reports" / "site"
    v = site / "v" / "1.0"
    listed = json.loads((site / "versions.json").read_text())["releases"][0]["pages"]
    assert {"index.html", "findings.html", "cite.html", "changelog.html",
            "rounds/r1/summary.html"} <= set(listed)
    for rel in listed:
        assert (v / rel).stat().st_size > 500, rel
    page = (v / "rounds" / "r1" / "summary.html").read_text()
    assert "<title>A test notebook" in page or "A test notebook" in page.split("</title>")[0]
    assert 'id="SUM-CASES"' in page and 'href="#SUM-CASES"' in page  # finding, linkable
    assert f'alt="{FIGURE_ALT}"' in page and "data:image/png;base64," in page
    assert "rounds/r1/summary.html#SUM-CASES" in (v / "findings.html").read_text()
    assert (site / "v" / "1.0.render.log").is_file()  # the engine's log, next to the release
    for f in v.rglob("*.html"):  # the site loads nothing from elsewhere
        text = f.read_text()
        assert "cdn.jsdelivr" not in text and "fonts.googleapis" not in text, f
    if engine == "quarto":
        hrefs = {e["href"].split("#")[0] for e in json.loads((v / "search.json").read_text())}
        assert set(listed) <= hrefs
        # the package's figure as it wrote it (issue 15), not turned into a Quarto figure
        # (Quarto's own script adds its "figure" classes, nothing else)
        assert '<figure class="sqa-figure' in page and 'class="sqa-figure-scroll"' in page
        assert "quarto-float" not in page and "quarto-figure" not in page


@pytest.mark.parametrize("engine", ENGINES)
def test_each_rounds_findings_are_offered_as_csv_and_excel_with_the_release_to_cite(
        project: Path, engine: str) -> None:
    import openpyxl
    import pandas as pd

    publish.publish(project, "1.0", engine=engine, say=lambda s: None)
    v = project / "reports" / "site" / "v" / "1.0"
    index = (v / "findings.html").read_text()
    assert 'href="downloads/findings-r1.csv"' in index
    assert 'href="downloads/findings-r1.xlsx"' in index
    written = pd.read_csv(next((project / "reports" / "r1" / "outputs").glob("*findings.csv")),
                          dtype=str, keep_default_na=False)
    offered = pd.read_csv(v / "downloads" / "findings-r1.csv", dtype=str,
                          keep_default_na=False)
    assert set(offered["release"]) == {"1.0"}
    assert list(offered["finding_id"]) == list(written["finding_id"])
    assert list(offered["text"]) == list(written["text"])  # the page's words, nothing more
    book = openpyxl.load_workbook(v / "downloads" / "findings-r1.xlsx", read_only=True)
    assert book.sheetnames == ["Findings", "About"]
    rows = list(book["Findings"].iter_rows(values_only=True))
    assert rows[0][:2] == ("release", "finding_id") and len(rows) == len(written) + 1


@pytest.mark.quarto
@QUARTO
def test_quarto_pages_cite_themselves_with_the_release_version_date_and_address(
        project: Path) -> None:
    release = publish.publish(project, "2.0", engine="quarto", say=quiet)
    page = (project / "reports" / "site" / "v" / "2.0" / "rounds" / "r1" / "summary.html"
            ).read_text()
    day = release.date[:10]
    url = "https://example.org/safeguarding-qa/v/2.0/rounds/r1/summary.html"
    assert f'name="citation_fulltext_html_url" content="{url}"' in page
    assert f'name="citation_publication_date" content="{day}"' in page
    assert f'name="citation_year" content="{day[:4]}"' in page
    assert "@report{rounds-r1-summary-2.0," in page and "version = {2.0}" in page
    assert "Safeguarding Children Partnership, Quality Assurance" in page
    assert "Children Partnership, Quality Assurance Sub-committee, Safeguarding" not in page
    # Quarto's citation box: the page's title as written (no citation style's title case),
    # the round and the release's one name
    title = re.search(r'name="citation_title" content="([^"]*)"', page).group(1)
    assert f"title = {{{{{title}}}}}" in page and "note = {Round r1}" in page
    assert f"<em>{title}</em>" in page and "Round r1, Safeguarding QA reports, version 2.0." in page
    cite = re.sub(r"<[^>]+>", "", (project / "reports" / "site" / "v" / "2.0" / "cite.html"
                                   ).read_text())  # the words, without the code's highlighting
    assert "How to Cite" not in cite and "Safeguarding {QA} Reports" not in cite
    assert cite.count("@techreport{") == 1 and "title = {{Safeguarding QA reports}}" in cite
    assert 'id="TOC"' in page or 'id="toc-title"' in page or "quarto-toc" in page


@pytest.mark.parametrize("engine", ENGINES)
def test_a_no_change_publish_renders_no_notebook_again(project: Path, engine: str) -> None:
    said: list[str] = []
    publish.publish(project, "1.0", engine=engine, say=said.append)
    publish.publish(project, "1.1", engine=engine, say=said.append)
    log = (project / "reports" / "site" / "v" / "1.1.render.log").read_text()
    assert "rounds/r1/summary.html" in log.split("reused from the render cache")[1]
    # every page, generated and Markdown ones included, comes from the cache (nbconvert's
    # Markdown pages: render._markdown_body)
    assert "rendered (0)" in log
    v10, v11 = (project / "reports" / "site" / "v" / v / "cite.html" for v in ("1.0", "1.1"))
    assert "version 1.1" in v11.read_text() and "version 1.1" not in v10.read_text()


def test_a_no_change_publish_reuses_the_board_pages_and_the_release_is_byte_identical(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import board

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")  # one date for every release
    publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    other = tmp_path / "without-board-cache"
    shutil.copytree(project, other)
    shutil.rmtree(other / "reports" / ".render-cache" / "board")

    def unread(*a, **k):
        raise AssertionError("the board was read again, though nothing changed")

    with monkeypatch.context() as m:
        m.setattr(board, "load_board", unread)
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    publish.publish(other, "1.1", engine="nbconvert", say=quiet)  # the board built afresh
    built = snapshot(other / "reports" / "site" / "v" / "1.1")
    assert {"trends.html", "actions.html", "rounds/r1/round-summary.html"} <= set(built)
    assert snapshot(project / "reports" / "site" / "v" / "1.1") == built


@pytest.mark.quarto
@QUARTO
def test_a_page_quarto_cannot_render_refuses_the_release_and_names_it(project: Path) -> None:
    publish.publish(project, "1.0", engine="quarto", say=quiet)
    site = project / "reports" / "site"
    before = snapshot(site)
    nb = json.loads(executed(project).read_text())
    nb["cells"].insert(0, {"cell_type": "raw", "metadata": {},
                           "source": "---\ntitle: [not closed\n---\n"})
    executed(project).write_text(json.dumps(nb))
    record_run(project)
    with pytest.raises(publish.ReleaseCheckError) as err:
        publish.publish(project, "1.1", engine="quarto", say=quiet)
    msg = str(err.value)
    assert "rounds/r1/summary.html: Quarto could not render it" in msg
    assert "index.html" not in msg.split("problem(s)")[1].split("The previous")[0].replace(
        "rounds/r1/summary.html", "")  # only the broken page is named
    assert err.value.exit_code == 1
    assert snapshot(site) == before
    assert (project / "reports" / "publish-1.1.failed.log").is_file()
    assert not list((project / "reports").glob(".staging-*"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_image_refuses_the_release_and_keeps_the_site(project: Path, engine: str
                                                                ) -> None:
    publish.publish(project, "1.0", engine=engine, say=quiet)
    site = project / "reports" / "site"
    before = snapshot(site)
    add_output(project, '<p><img src="figure-9.png" alt="A chart that was never saved"></p>')
    with pytest.raises(publish.ReleaseCheckError) as err:
        publish.publish(project, "1.1", engine=engine, say=quiet)
    msg = str(err.value)
    assert "rounds/r1/summary.html" in msg and "figure-9.png" in msg
    assert snapshot(site) == before


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_render_refuses_the_release_and_names_every_page(
        project: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import render

    publish.publish(project, "1.0", engine=engine, say=quiet)
    site = project / "reports" / "site"
    before = snapshot(site)
    if engine == "quarto":  # the original fault: staged under a dot-folder, Quarto renders
        hidden = project / ".hidden-stage"  # nothing and exits 0
        hidden.mkdir()
        monkeypatch.setattr(render, "staging_parent", lambda root: hidden)
        shutil.rmtree(project / "reports" / render.RENDER_CACHE)
    else:
        monkeypatch.setattr(render, "render_nbconvert",
                            lambda *a, **k: render.RenderReport(engine="nbconvert"))
    with pytest.raises(publish.ReleaseCheckError) as err:
        publish.publish(project, "1.1", engine=engine, say=quiet)
    msg = str(err.value)
    for page in ("index.html", "cite.html", "findings.html", "rounds/r1/summary.html"):
        assert f"\n  {page}: " in msg, page
    assert snapshot(site) == before


def test_cli_refused_release_exits_1_names_the_page_without_traceback(project: Path) -> None:
    add_output(project, '<img src="lost.png" alt="A chart">')
    proc = subprocess.run([sys.executable, "-m", "analysis", "publish", "--version", "1.0",
                           "--engine", "nbconvert"], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "rounds/r1/summary.html" in proc.stderr and "lost.png" in proc.stderr
    assert not (project / "reports" / "site" / "versions.json").exists()


@pytest.mark.quarto
@QUARTO
def test_quarto_staging_never_sits_under_a_dot_folder(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis import render

    hidden = tmp_path / ".cache" / "tmp"
    hidden.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(hidden))
    monkeypatch.setattr(render.tempfile, "tempdir", None)
    parent = render.staging_parent(tmp_path / "project")
    assert render.hidden_component(parent) is None
    assert parent == tmp_path / "project" / "reports"


def test_gate_refuses_a_release_whose_counts_give_a_suppressed_count_away(tmp_path: Path
                                                                          ) -> None:
    """A planted leak: a page's ledger hides a count of 4 in a table, and a sentence states a
    sum that pins it down. The release-wide audit refuses, naming the table, not the value."""
    import pandas as pd

    from analysis.reporting import Ledger

    good = make_project(tmp_path / "p")
    publish.publish(good, "1.0", engine="nbconvert", say=quiet)
    site = good / "reports" / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    led = Ledger("summary")
    led.table("grading", pd.DataFrame([[40, 6, 0], [4, 9, 7], [0, 8, 11]],
                                      index=["standard", "medium", "high"],
                                      columns=["standard", "medium", "high"]))
    led.sums.append({"name": "summary/undergraded", "value": 4, "shown": True,
                     "parts": [["summary/grading", "medium", "standard"],
                               ["summary/grading", "high", "standard"]]})
    led.write(good / "reports" / "r1" / "outputs")
    with pytest.raises(publish.ReleaseCheckError) as err:
        publish.publish(good, "1.1", engine="nbconvert", say=quiet)
    msg = str(err.value)
    assert "suppressed count about children can be worked out" in msg
    assert "summary/grading" in msg and "'medium', column 'standard'" in msg
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert before == after


def test_publish_refuses_when_a_raw_export_the_gate_must_read_is_gone(project: Path) -> None:
    """Issue 12, case 2: the gate cannot check pages against an export that has been moved or
    deleted, so the release is refused (it used to be published unchecked)."""
    (project / "data" / "cases.csv").unlink()
    with pytest.raises(publish.ReleaseCheckError, match="not there any more"):
        publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    assert not (project / "reports" / "site" / "versions.json").exists()


def test_the_findings_index_is_grouped_by_round_latest_first_then_page_reproduction_last(
        ) -> None:
    rows = [{"finding_id": "HK2011-FRT-X", "round": "new", "page": "hackney_2011_reproduction",
             "text": "The report: “In all cases” (p. 7). All 6 cases met it. True of them."},
            {"finding_id": "T2-OLD", "round": "old", "page": "tier2_case_review",
             "text": "3 of 9 met it. Weighted to all: 40%."},
            {"finding_id": "T2-NEW", "round": "new", "page": "tier2_case_review",
             "text": "5 of 9 met it (56%, 95% CI 27% to 81%). Second sentence."}]
    rounds = [{"round": "old", "title": "Old round", "date": "2025-03-31"},
              {"round": "new", "title": "New round", "date": "2026-03-31"}]
    titles = {("new", "tier2_case_review"): "Tier-2 case review",
              ("old", "tier2_case_review"): "Tier-2 case review",
              ("new", "hackney_2011_reproduction"): "Reproducing Hackney 2011"}
    md = publish.findings_markdown(rows, rounds, titles)
    new, old, again = (md.index("## New round (2026-03-31)"), md.index("## Old round (2025-03-31)"),
                       md.index("## The Hackney 2011 reproduction"))
    assert new < old < again
    assert "### Tier-2 case review" in md and "findings-new.csv" in md
    assert "- [T2-NEW](rounds/new/tier2_case_review.html#T2-NEW): 5 of 9 met it (56%, 95% CI " \
           "27% to 81%)." in md and "Second sentence" not in md
    assert "(rounds/new/hackney_2011_reproduction.html#HK2011-FRT-X): All 6 cases met it." in md
# --------------------------------------------------------------------------------------
# Citation that survives time (issue 15, item 2)
# --------------------------------------------------------------------------------------

URL = "https://example.org/safeguarding-qa"


def test_a_finding_citation_pairs_the_id_with_its_round_and_its_release() -> None:
    page = f"{URL}/v/2026.2/rounds/demo/tier2_case_review.html"
    got = publish.finding_citation(
        "T2-FRT-REFERRAL-APPROPRIATE", "demo", "Demonstration round (synthetic data), 2025/26",
        "Safeguarding QA reports", "2026.2", page)
    assert got == ("Finding T2-FRT-REFERRAL-APPROPRIATE, round demo (Demonstration round "
                   "(synthetic data), 2025/26), Safeguarding QA reports, version 2026.2, "
                   f"{page}#T2-FRT-REFERRAL-APPROPRIATE")
    earlier = publish.finding_citation(
        "T2-FRT-REFERRAL-APPROPRIATE", "demo-2025", "", "Safeguarding QA reports", "2026.2",
        f"{URL}/v/2026.2/rounds/demo-2025/tier2_case_review.html")
    assert earlier != got and ", round demo-2025, " in earlier


def test_a_preview_is_never_citable_and_every_release_has_one_name() -> None:
    assert publish.citable("2026.2") and not publish.citable(publish.PREVIEW)
    assert publish.release_name("2026.2") == "version 2026.2"
    assert publish.release_name("preview") == "preview (not citable)"
    with pytest.raises(ValueError, match="preview"):
        publish.finding_citation("X-1", "demo", "", "T", "preview", f"{URL}/v/preview/a.html")


def test_the_cite_page_explains_id_round_and_release_and_cites_the_report_not_itself(
        ) -> None:
    cfg = publish.quarto_config(ROOT)
    text = publish.cite_markdown(cfg, f"{URL}/v/{publish.VERSION_TOKEN}/")
    assert "the round" in text and "Copy citation" in text
    assert (f"round demo (Demonstration round (synthetic data), 2025/26), Safeguarding QA "
            f"reports, version {publish.VERSION_TOKEN}, ") in text
    front = yaml.safe_load(text.split("---")[1])
    assert front["citation"] == {"title": "Safeguarding QA reports",
                                 "url": f"{URL}/v/{publish.VERSION_TOKEN}/"}
    citable = "".join(re.findall(re.escape(publish.CITABLE_START) + ".*?"
                                 + re.escape(publish.CITABLE_END), text, re.S))
    assert "@techreport" in citable and "Finding T2-FRT-REFERRAL-APPROPRIATE, " in citable


def test_every_printed_page_is_headed_by_the_release_its_date_and_address() -> None:
    release = publish.Release(version="2026.2", title="T", date="2026-11-29T12:00:00Z",
                              commit="", engine="nbconvert")
    css = publish.print_header_css(release, f"{URL}/v/2026.2/index.html")
    assert '<style media="print">@page' in css and "@top-left" in css
    assert (f'content: "version 2026.2, published 29 November 2026, {URL}/v/2026.2/'
            'index.html"') in css


def test_versions_json_the_version_bar_and_the_versions_page_name_a_release_alike(
        project: Path) -> None:
    publish.publish(project, "2.0", engine="nbconvert", say=quiet)
    site = project / "reports" / "site"
    entry = json.loads((site / "versions.json").read_text())["releases"][0]
    assert entry["name"] == "version 2.0"
    page = (site / "v" / "2.0" / "rounds" / "r1" / "summary.html").read_text()
    assert "Report <strong>version 2.0</strong>" in page
    assert "Report version 2.0</h2>" in (site / "v" / "2.0" / "changelog.html").read_text()
    assert 'name="sqa-citable" content="true"' in page
    assert 'name="sqa-round" content="r1"' in page
    assert ('name="sqa-cite" content="Finding SQAFINDINGID, round r1, Safeguarding QA reports,'
            f' version 2.0, {URL}/v/2.0/rounds/r1/summary.html#SQAFINDINGID"') in page


@pytest.mark.parametrize("engine", ENGINES)
def test_a_preview_offers_no_citation_and_says_it_is_not_citable(project: Path,
                                                                engine: str) -> None:
    publish.publish(project, None, engine=engine, say=quiet)
    site = project / "reports" / "site" / "v" / "preview"
    page = (site / "rounds" / "r1" / "summary.html").read_text()
    assert 'name="sqa-citable" content="false"' in page and 'name="sqa-cite"' not in page
    assert "preview (not citable)" in page and "A preview is not citable" in page
    assert 'name="citation_' not in page and "@report{" not in page
    cite = (site / "cite.html").read_text()
    assert "a preview is not citable" in cite and "@techreport" not in cite
    entry = json.loads((site.parents[1] / "versions.json").read_text())["releases"][0]
    assert entry["name"] == "preview (not citable)"


def test_a_markdown_page_body_comes_from_the_render_cache_only_while_its_text_is_the_same(
        tmp_path: Path) -> None:
    from analysis import render

    made: list[str] = []

    def maker():  # the renderer, counted: asked for only when a page is rendered
        import mistune

        made.append("md")
        return mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])

    first, cached = render._markdown_body("Some *text*.", "A page", maker, tmp_path)
    assert not cached and "<h1>A page</h1>" in first and "<em>text</em>" in first
    again, cached = render._markdown_body("Some *text*.", "A page", maker, tmp_path)
    assert cached and again == first and made == ["md"]
    other, cached = render._markdown_body("Other *text*.", "A page", maker, tmp_path)
    assert not cached and "Other" in other
    retitled, cached = render._markdown_body("Some *text*.", "Another", maker, tmp_path)
    assert not cached and "<h1>Another</h1>" in retitled
