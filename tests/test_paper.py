"""The board paper (``analysis.paper``, ``sqa paper``; issue 14, item 4).

A sample paper (a title, headline findings each with its finding id, a 30-row table, a short
table and two trend thumbnails made with matplotlib) is rendered to PDF by headless Chromium
and to DOCX by pandoc, then read back as a reader's tools would: ``pdftotext`` and ``pdfinfo``
(Debian ``poppler-utils``) and ``pypdf`` for the PDF; the DOCX's parts (``word/document.xml``,
``docProps/core.xml``) with the standard library (python-docx would bring lxml, which changes
how openpyxl writes workbooks in other tests). The PDF tests skip, saying why, where Chromium
or poppler-utils is not installed (``bash scripts/install.sh test`` installs both). The
command is tested with a stand-in for ``analysis.board.paper_content``. Nothing here touches
the network.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from analysis import cli, paper
from analysis.paper import PaperError, format_for, render_paper

TITLE = "Safeguarding QA: board paper, demo round"
VERSION = "2026.1"
IDS = ["T2-ALL-REFERRAL-APPROPRIATE", "T2-ALL-VOICE-OF-CHILD", "FD-POLICE-CONVERSION",
       "T2-HEALTH-PLAN-SMART"]
IMAGES = [f"trend-{IDS[0]}.png", f"trend-{IDS[1]}.png"]

CHROMIUM = paper.chromium_path()
POPPLER = shutil.which("pdftotext") and shutil.which("pdfinfo")
MISSING = [what for what, found in (("chromium (apt-get install chromium)", CHROMIUM),
                                    ("pdftotext and pdfinfo (apt-get install poppler-utils)",
                                     POPPLER)) if not found]
WHY = f"the PDF tests need {' and '.join(MISSING)}"
needs_pdf = pytest.mark.skipif(bool(MISSING), reason=WHY)


def _png(seed: int) -> bytes:
    """A small trend thumbnail, as analysis.board will draw them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 1.8), dpi=80)
    ax.plot([1, 2, 3], [0.6 + 0.05 * seed, 0.7, 0.75 - 0.05 * seed], marker="o")
    ax.set_ylim(0, 1)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def sample_markdown() -> str:
    """A paper shaped like analysis.board's: title, findings with ids, tables, thumbnails."""
    findings = "\n".join(f"- **{i}**: finding {n} in one sentence, with its interval."
                         for n, i in enumerate(IDS, 1))
    rows = "\n".join(f"| M{n:02d} | Measure number {n} | consistently meets | improving |"
                     for n in range(1, 31))
    actions = "\n".join(f"| A{n} | Action {n} | Police | 2026-0{n}-01 | `{IDS[n - 1]}` | open |"
                        for n in range(1, 4))
    return f"""# {TITLE}

## Headline findings

{findings}

## Assurance

| Measure | Name | Against target | Change |
|---|---|---|---|
{rows}

## Trends

![Trend of {IDS[0]} across three rounds]({IMAGES[0]})

![Trend of {IDS[1]} across three rounds]({IMAGES[1]})

## Actions

| Action | What | Owner | Due | Findings | Status |
|---|---|---|---|---|---|
{actions}
"""


def images() -> dict[str, bytes]:
    return {name: _png(n) for n, name in enumerate(IMAGES)}


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if MISSING:
        pytest.skip(WHY)
    out = tmp_path_factory.mktemp("paper") / "paper.pdf"
    return render_paper(sample_markdown(), images(), out, "pdf", title=TITLE, version=VERSION,
                        say=lambda s: None)


@pytest.fixture(scope="module")
def docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("paper") / "paper.docx"
    return render_paper(sample_markdown(), images(), out, "docx", title=TITLE,
                        version=VERSION, say=lambda s: None)


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CORE = {"dc": "http://purl.org/dc/elements/1.1/"}


def docx_text(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    """The DOCX's body paragraphs (outside tables) and tables (rows of cell texts), as Word
    shows them (ECMA-376 Part 1, 17.3.1 paragraphs, 17.4 tables)."""
    from xml.etree import ElementTree

    with zipfile.ZipFile(path) as z:
        body = ElementTree.fromstring(z.read("word/document.xml")).find(f"{W}body")

    def text(el: ElementTree.Element) -> str:
        return "".join(t.text or "" for t in el.iter(f"{W}t"))

    paragraphs = [text(p) for p in body.findall(f"{W}p")]
    tables = [[[text(c) for c in r.findall(f"{W}tc")] for r in t.findall(f"{W}tr")]
              for t in body.findall(f"{W}tbl")]
    return paragraphs, tables


def docx_core(path: Path, name: str) -> str | None:
    """A core property of the DOCX (``dc:title``, ``dc:language``; ECMA-376 Part 2, 11)."""
    from xml.etree import ElementTree

    with zipfile.ZipFile(path) as z:
        core = ElementTree.fromstring(z.read("docProps/core.xml"))
    return core.findtext(name, namespaces=CORE)


def pdftotext(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pdfinfo(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines())}


# --- PDF -------------------------------------------------------------------------------------

@needs_pdf
def test_pdf_text_holds_the_title_the_release_and_every_headline_finding_id(pdf: Path) -> None:
    text = pdftotext(pdf)
    for finding in IDS:
        assert finding in text
    assert TITLE in text and f"Release {VERSION}" in text


@needs_pdf
def test_pdf_metadata_has_the_title_a4_pages_and_is_tagged(pdf: Path) -> None:
    info = pdfinfo(pdf)
    assert info["Title"] == TITLE
    assert int(info["Pages"]) >= 1
    assert "(A4)" in info["Page size"]
    assert info["Tagged"] == "yes"


@needs_pdf
def test_pdf_catalog_carries_the_language_and_a_document_outline(pdf: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf is a test extra")
    root = pypdf.PdfReader(pdf).trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert "/Outlines" in root


@needs_pdf
def test_pdf_prints_the_release_and_page_numbers_on_every_page(pdf: Path) -> None:
    pages = int(pdfinfo(pdf)["Pages"])
    for page in range(1, pages + 1):
        text = pdftotext(pdf, page)
        assert f"release {VERSION}" in text, f"page {page} has no running footer"
        assert f"Page {page} of {pages}" in text


@needs_pdf
def test_pdf_keeps_a_table_that_fits_on_a_page_whole(pdf: Path) -> None:
    # The 30-row assurance table fits on one A4 page: all its rows are on the same page.
    pages = int(pdfinfo(pdf)["Pages"])
    holding = [p for p in range(1, pages + 1)
               if re.search(r"\bM(01|30)\b", pdftotext(pdf, p))]
    assert len(holding) == 1, f"the assurance table is split over pages {holding}"
    text = pdftotext(pdf, holding[0])
    assert all(f"M{n:02d}" in text for n in range(1, 31))
    actions = [p for p in range(1, pages + 1) if re.search(r"\bA[123]\b", pdftotext(pdf, p))]
    assert len(actions) == 1, f"the actions table is split over pages {actions}"


@needs_pdf
def test_pdf_never_breaks_a_finding_id_written_as_code_inside_a_table_cell(pdf: Path) -> None:
    # The actions table's narrow Findings column holds ids as `code`: each stays on one line.
    text = "\n".join(pdftotext(pdf, p) for p in range(1, int(pdfinfo(pdf)["Pages"]) + 1))
    row = {ln.split()[0]: ln for ln in text.splitlines() if re.match(r"\s*A[123]\s", ln)}
    for n in (1, 2, 3):
        assert IDS[n - 1] in row[f"A{n}"]


@needs_pdf
def test_pdf_embeds_both_thumbnails(pdf: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf is a test extra")
    found = sum(len(page.images) for page in pypdf.PdfReader(pdf).pages)
    assert found == len(IMAGES)


def test_a_missing_chromium_is_named_with_what_to_install(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(paper, "chromium_path", lambda: None)
    with pytest.raises(PaperError, match=r"apt-get install chromium.*--format docx"):
        render_paper(sample_markdown(), images(), tmp_path / "p.pdf", title=TITLE,
                     version=VERSION, say=lambda s: None)
    assert not (tmp_path / "p.pdf").exists()


# --- DOCX ------------------------------------------------------------------------------------

def test_docx_text_holds_the_title_the_release_and_every_headline_finding_id(docx: Path
                                                                              ) -> None:
    paragraphs, tables = docx_text(docx)
    text = "\n".join(paragraphs)
    cells = "\n".join(c for t in tables for r in t for c in r)
    assert all(finding in text for finding in IDS)
    assert all(finding in cells for finding in IDS[:3]), "the actions table's linked findings"
    assert TITLE in text and f"Release {VERSION}" in text
    assert text.count(TITLE) == 1, "a first heading repeating the title is printed once"
    assert len(tables) == 2 and len(tables[0]) == 31 and tables[0][30][0] == "M30"


def test_docx_core_properties_carry_the_title_and_language(docx: Path) -> None:
    assert docx_core(docx, "dc:title") == TITLE
    assert docx_core(docx, "dc:language") == "en-GB"


def test_docx_embeds_both_thumbnails(docx: Path) -> None:
    with zipfile.ZipFile(docx) as z:
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert len(media) == len(IMAGES)


def test_docx_of_the_same_content_and_date_is_the_same_file(tmp_path: Path) -> None:
    import datetime as dt

    when = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    a, b = (render_paper(sample_markdown(), images(), tmp_path / f"{n}.docx", "docx",
                         title=TITLE, version=VERSION, created=when, say=lambda s: None)
            for n in "ab")
    assert a.read_bytes() == b.read_bytes()


# --- what is refused -------------------------------------------------------------------------

def test_an_image_the_markdown_shows_but_not_given_is_refused(tmp_path: Path) -> None:
    given = images()
    del given[IMAGES[1]]
    with pytest.raises(PaperError, match=IMAGES[1]):
        render_paper(sample_markdown(), given, tmp_path / "p.docx", "docx", title=TITLE,
                     version=VERSION, say=lambda s: None)


def test_a_remote_image_is_refused_before_anything_is_fetched(tmp_path: Path) -> None:
    md = sample_markdown() + "\n![x](https://example.org/x.png)\n"
    with pytest.raises(PaperError, match="example.org"):
        render_paper(md, images(), tmp_path / "p.docx", "docx", title=TITLE, version=VERSION,
                     say=lambda s: None)


def test_an_image_name_with_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PaperError, match="plain file names"):
        render_paper("x", {"../x.png": b""}, tmp_path / "p.docx", "docx", title=TITLE,
                     version=VERSION, say=lambda s: None)


@pytest.mark.parametrize(("out", "fmt", "expected"), [
    ("paper.pdf", None, "pdf"), ("paper.docx", None, "docx"), ("paper.DOCX", None, "docx"),
    ("paper", None, "pdf"), ("paper", "docx", "docx"), ("paper.pdf", "pdf", "pdf")])
def test_the_format_comes_from_the_out_suffix_else_pdf(out: str, fmt: str | None,
                                                       expected: str) -> None:
    assert format_for(Path(out), fmt) == expected


@pytest.mark.parametrize(("out", "fmt", "message"), [
    ("paper.pdf", "docx", r"name it paper\.docx or use --format pdf"),
    ("paper.docx", "pdf", r"name it paper\.pdf or use --format docx"),
    ("paper.odt", None, r"\.pdf or \.docx"),
    ("paper", "odt", "pdf or docx")])
def test_a_suffix_that_does_not_match_the_format_is_refused(out: str, fmt: str | None,
                                                            message: str) -> None:
    with pytest.raises(PaperError, match=message):
        format_for(Path(out), fmt)


# --- the command -----------------------------------------------------------------------------

@pytest.fixture
def board(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """``analysis.board`` with ``paper_content`` replaced by a stand-in returning the sample
    paper (a stub module where analysis.board does not exist yet)."""
    try:
        from analysis import board as module
    except ImportError:
        module = types.ModuleType("analysis.board")
        monkeypatch.setitem(sys.modules, "analysis.board", module)
        import analysis

        monkeypatch.setattr(analysis, "board", module, raising=False)

    class BoardError(Exception):
        pass

    calls: list[tuple[Path, str]] = []

    def paper_content(root: Path, round_name: str) -> types.SimpleNamespace:
        calls.append((root, round_name))
        if round_name != "demo":
            raise BoardError(f"reports/{round_name}: no such round; run `sqa run "
                             f"rounds/{round_name}.yml` first")
        return types.SimpleNamespace(markdown=sample_markdown(), images=images(), title=TITLE,
                                     version=VERSION, finding_ids=list(IDS))

    monkeypatch.setattr(module, "paper_content", paper_content, raising=False)
    monkeypatch.setattr(module, "BoardError", BoardError, raising=False)
    monkeypatch.setattr(module, "calls", calls, raising=False)
    return module


def test_sqa_paper_writes_a_docx_named_by_its_suffix_and_lists_the_ids(
        board: types.ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "papers" / "paper.docx"
    assert cli.main(["paper", "demo", "--out", str(out), "--root", str(tmp_path)]) == 0
    assert board.calls == [(tmp_path, "demo")]
    with zipfile.ZipFile(out) as z:
        xml = z.read("word/document.xml").decode()
    assert all(i in xml for i in IDS)
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and all(i in printed for i in IDS)


@needs_pdf
def test_sqa_paper_writes_a_pdf_by_default(board: types.ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "paper"
    assert cli.main(["paper", "demo", "--out", str(out), "--root", str(tmp_path)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")


def test_sqa_paper_refuses_an_unknown_round_in_one_line(
        board: types.ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "paper.docx"
    assert cli.main(["paper", "nosuch", "--out", str(out)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("sqa: error: reports/nosuch: no such round") and err.count("\n") == 1
    assert "Traceback" not in err and not out.exists()


def test_sqa_paper_refuses_a_format_that_does_not_match_the_out_suffix(
        board: types.ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "paper.pdf"
    assert cli.main(["paper", "demo", "--format", "docx", "--out", str(out)]) == cli.EXIT_USAGE
    assert "name it" in capsys.readouterr().err and not out.exists()
    assert board.calls == [], "the file name is checked before the paper is made"


def test_sqa_paper_refuses_an_unknown_format(board: types.ModuleType, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["paper", "demo", "--format", "odt", "--out", str(tmp_path / "p.odt")])
    assert exc.value.code == cli.EXIT_USAGE
    assert "invalid choice: 'odt'" in capsys.readouterr().err


def test_sqa_paper_without_the_board_module_says_so_in_one_line(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import analysis

    monkeypatch.delattr(analysis, "board", raising=False)
    monkeypatch.setitem(sys.modules, "analysis.board", None)  # import fails as if absent
    assert cli.main(["paper", "demo", "--out", str(tmp_path / "p.pdf")]) == cli.EXIT_USAGE
    assert "no board content (analysis.board" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("pdftotext") is None or paper.chromium_path() is None,
                    reason="pdftotext (poppler-utils) or chromium is not installed")
def test_the_demo_board_paper_holds_every_headline_finding_id_in_pdf_and_docx(
        demo_site: Path, tmp_path: Path) -> None:
    """Issue 14's done-when: `sqa paper demo --out paper.pdf` and `--format docx` give files
    whose text holds every headline finding id, with the release to cite."""
    from analysis.reporting.board import paper as content

    project = demo_site.parents[1]
    ids = content(project, "demo").finding_ids
    assert 5 <= len(ids) <= 8
    pdf, docx = tmp_path / "paper.pdf", tmp_path / "paper.docx"
    for args in (["--out", str(pdf)], ["--format", "docx", "--out", str(docx)]):
        done = subprocess.run([sys.executable, "-m", "analysis", "paper", "demo", *args],
                              cwd=project, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    xml = zipfile.ZipFile(docx).read("word/document.xml").decode("utf-8")
    for fid in ids:
        assert fid in text and fid in xml, fid
    assert "2026.2" in text  # the release to cite
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert 2 <= int(re.search(r"Pages:\s+(\d+)", pages).group(1)) <= 4
