"""The board paper (issue 14, item 4): ``sqa paper ROUND [--format pdf|docx] --out FILE``.

``analysis.board.paper_content`` writes the paper's content (a Markdown document: summary of
headline findings with their ids, assurance table, trends thumbnails as PNG images, actions
table); this module renders it, as a committee paper of a few pages that can be cited by its
release version and finding ids:

- **DOCX** through pandoc (``pypandoc.convert_file``; the pandoc binary comes with the PyPI
  package ``pypandoc-binary``), the images embedded from ``--resource-path``; the title and
  language are the document's core properties (``dc:title``, ``dc:language``). Pandoc takes
  the file's dates from ``SOURCE_DATE_EPOCH`` (pandoc manual, "Reproducible builds"), which
  ``render_paper`` always sets: the same content on the same day gives the same bytes.
- **PDF** through pandoc to one standalone HTML5 file (``--embed-resources``: images and the
  stylesheet inside; ``<title>`` and ``<html lang>`` from the metadata), printed by headless
  Chromium (Debian ``chromium``; ``--print-to-pdf``, ``--no-pdf-header-footer``,
  ``--generate-pdf-document-outline``). The print stylesheet (``templates/paper.css``) sets
  A4, keeps tables and figures whole where they fit on a page (CSS Fragmentation Level 3,
  ``break-inside: avoid``) and repeats a long table's header row; the running footer with the
  release version and "page X of Y" is a CSS Paged Media ``@page`` margin box, which Chromium
  prints from version 131 on. Chromium writes the HTML title as the PDF's ``/Title``, the
  ``lang`` as the catalog's ``/Lang``, a tagged (structure tree) PDF with real text, and its
  own ``/CreationDate`` and ``/ModDate`` (the time of printing; there is no flag to fix them,
  so two PDFs of the same content differ in those dates only).

Chromium loads nothing from outside the file: the page carries a Content-Security-Policy
allowing only its own inline styles and ``data:`` images, and every image the Markdown names
must be one of the images given (a remote or missing image is refused before pandoc runs).

Quarto is not used for the PDF: its PDF route needs a LaTeX engine (or Typst), which the
project's machines do not have; Chromium is already the browser tests' browser.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path, PurePosixPath

__all__ = ["FORMATS", "PaperError", "chromium_path", "cli_paper", "format_for", "image_targets",
           "render_paper"]

FORMATS = ("pdf", "docx")
CHROMIUM_TIMEOUT = 180  # seconds; a two-to-four-page paper prints in about one
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-extensions", "--no-pdf-header-footer",
                 "--generate-pdf-document-outline"]
# Only the page's own inline styles and embedded (data:) images and fonts: nothing is fetched.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:")


class PaperError(Exception):
    """The paper cannot be made as asked (wrong format or file name, an unknown round, a
    missing tool); the message names the file or the tool and the fix. ``analysis.board``'s
    ``BoardError`` is turned into this by ``cli_paper``."""


def format_for(out: Path, fmt: str | None) -> str:
    """The format to write ``out`` in: ``fmt`` when given, else from the suffix (``.pdf``,
    ``.docx``), else ``pdf``. A suffix other than the format's (``--format docx --out
    paper.pdf``, or ``--out paper.odt``) is refused with the file name to use."""
    suffix = out.suffix.lower()
    if fmt is not None and fmt not in FORMATS:
        raise PaperError(f"--format {fmt}: the paper is written as pdf or docx")
    chosen = fmt or (suffix[1:] if suffix in {".pdf", ".docx"} else "pdf")
    if suffix and suffix != f".{chosen}":
        if suffix in {".pdf", ".docx"}:
            raise PaperError(f"--out {out}: a .{suffix[1:]} file cannot hold a {chosen} paper; "
                             f"name it {out.with_suffix('.' + chosen)} or use --format "
                             f"{suffix[1:]}")
        raise PaperError(f"--out {out}: the paper is written as .pdf or .docx; name it "
                         f"{out.with_suffix('.pdf')} or {out.with_suffix('.docx')}")
    return chosen


def chromium_path() -> str | None:
    """Debian's ``chromium`` (or ``chromium-browser``) on PATH, else ``/usr/bin/chromium`` if
    it exists, else None (the same lookup as the browser tests)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def image_targets(markdown: str) -> list[str]:
    """Every image the Markdown shows (``![alt](target)``), in order, read by pandoc itself
    (its JSON AST), so reference-style images and attributes count too."""
    import json

    import pypandoc

    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("t") == "Image":
                found.append(node["c"][2][0])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(pypandoc.convert_text(markdown, "json", format="markdown")))
    return found


def _check_images(markdown: str, images: dict[str, bytes]) -> None:
    """Refuse an image name that is not a plain file name, and an image the Markdown shows
    that is not among ``images`` (a remote URL, a path elsewhere, a missing thumbnail)."""
    for name in images:
        if PurePosixPath(name).name != name or name in {"", ".", ".."} or "\\" in name:
            raise PaperError(f"image {name!r}: image names are plain file names (like "
                             "trend-T2-ALL-REFERRAL-APPROPRIATE.png), written beside the paper")
    missing = [t for t in image_targets(markdown) if t not in images]
    if missing:
        raise PaperError(f"the paper's Markdown shows {', '.join(repr(m) for m in missing)}, "
                         f"not among the {len(images)} image(s) given ({', '.join(images)}); "
                         "every image must be given by file name to be embedded")


def _drop_title_heading(markdown: str, title: str) -> str:
    """The Markdown without a first level-1 heading that repeats the title (the title is
    printed once, from the metadata, which also gives the PDF and DOCX their title)."""
    lines = markdown.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        text = line.strip()
        if text.startswith("# ") and text[2:].strip().rstrip("#").strip() == title.strip():
            return "".join(lines[:i] + lines[i + 1:])
        break
    return markdown


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (CSS Syntax Level 3, 4.3.5: escape quote, backslash
    and line ends)."""
    out = []
    for ch in text:
        if ch in {'"', "\\"}:
            out.append("\\" + ch)
        elif ch in {"\n", "\r", "\f"}:
            out.append("\\a ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _source_date_epoch(created: dt.datetime | None) -> str:
    """The ``SOURCE_DATE_EPOCH`` given to pandoc: ``created``; else the environment's
    ``SOURCE_DATE_EPOCH`` (the Reproducible Builds convention); else the start of today
    (UTC), so a paper made twice in a day is the same file."""
    if created is not None:
        return str(int(created.timestamp()))
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        return os.environ["SOURCE_DATE_EPOCH"].strip()
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return str(int(today.timestamp()))


def _pandoc(source: Path, to: str, outputfile: Path, extra: list[str], epoch: str) -> None:
    import pypandoc

    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = epoch  # pypandoc passes the environment to pandoc
    try:
        pypandoc.convert_file(str(source), to, format="markdown", outputfile=str(outputfile),
                              extra_args=extra, cworkdir=str(source.parent))
    except RuntimeError as exc:  # pypandoc's way of saying pandoc failed
        raise PaperError(f"pandoc could not convert the paper: {str(exc).strip()}") from exc
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def _print_pdf(html: Path, pdf: Path, work: Path) -> None:
    """Print ``html`` to ``pdf`` with headless Chromium, in a fresh profile under ``work``."""
    chromium = chromium_path()
    if chromium is None:
        raise PaperError("the PDF is printed by Chromium, which is not installed: "
                         "apt-get install chromium (Debian), or write the paper with "
                         "--format docx")
    cmd = [chromium, *CHROMIUM_ARGS, f"--user-data-dir={work / 'chromium-profile'}",
           f"--print-to-pdf={pdf}", html.resolve().as_uri()]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT,
                             stdin=subprocess.DEVNULL, cwd=work)
    except subprocess.TimeoutExpired as exc:
        raise PaperError(f"Chromium ({chromium}) did not print the paper within "
                         f"{CHROMIUM_TIMEOUT} s; try again, or use --format docx") from exc
    if run.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = " | ".join(line for line in run.stderr.strip().splitlines()[-3:])
        raise PaperError(f"Chromium ({chromium}) could not print the paper (exit "
                         f"{run.returncode}): {tail or 'no message'}; or use --format docx")


def render_paper(markdown: str, images: dict[str, bytes], out: Path, fmt: str = "pdf", *,
                 title: str, version: str, lang: str = "en-GB",
                 created: dt.datetime | None = None,
                 say: Callable[[str], None] = print) -> Path:
    """Render the board paper's ``markdown`` (with ``images``, PNG bytes by the file name the
    Markdown shows them by) to ``out`` as ``fmt`` (``pdf`` or ``docx``) and return ``out``.

    The title and ``lang`` (a BCP 47 tag) are the document's metadata (PDF ``/Title`` and
    ``/Lang``; DOCX core properties); the release ``version`` is printed under the title
    ("Release 2026.1") and, in the PDF, in the running footer of every page. The file is
    written whole or not at all (a temporary file moved into place). ``created`` dates the
    DOCX (default: ``SOURCE_DATE_EPOCH``, else the start of today, UTC); the PDF's dates are
    Chromium's, the time of printing.
    """
    if fmt not in FORMATS:
        raise PaperError(f"format {fmt!r}: the paper is written as pdf or docx")
    if not title.strip():
        raise PaperError("the paper needs a title (its PDF /Title and DOCX core title)")
    _check_images(markdown, images)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    epoch = _source_date_epoch(created)
    meta = ["--metadata", f"title={title}", "--metadata", f"subtitle=Release {version}",
            "--metadata", f"lang={lang}"]
    with tempfile.TemporaryDirectory(prefix="sqa-paper-") as tmp:
        work = Path(tmp)
        for name, data in images.items():
            (work / name).write_bytes(data)
        source = work / "paper.md"
        source.write_text(_drop_title_heading(markdown, title), encoding="utf-8")
        part = work / f"paper.{fmt}"
        if fmt == "docx":
            _pandoc(source, "docx", part, [*meta, f"--resource-path={work}"], epoch)
        else:
            css = work / "paper.css"
            css.write_text(resources.files("analysis").joinpath("templates/paper.css")
                           .read_text(encoding="utf-8") + _running_footer(title, version),
                           encoding="utf-8")
            head = work / "head.html"
            head.write_text(f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n',
                            encoding="utf-8")
            html = work / "paper.html"
            _pandoc(source, "html5", html,
                    [*meta, "--standalone", "--embed-resources", f"--resource-path={work}",
                     f"--css={css}", f"--include-in-header={head}"], epoch)
            _print_pdf(html, part, work)
        shutil.move(part, out.with_name(f".{out.name}.part"))
        os.replace(out.with_name(f".{out.name}.part"), out)
    say(f"wrote {out} ({fmt.upper()}, {out.stat().st_size // 1024 + 1} KB; release {version})")
    return out


def _running_footer(title: str, version: str) -> str:
    """The ``@page`` margin boxes: the title and release bottom left, "Page X of Y" bottom
    right (CSS Paged Media Level 3, 5: page-margin boxes; 4.3: the page counters)."""
    left = _css_string(f"{title} · release {version}")
    return ("\n@page {\n"
            f"  @bottom-left {{ content: {left}; font: 8pt \"Liberation Sans\", sans-serif;"
            " color: #444; }\n"
            "  @bottom-right { content: \"Page \" counter(page) \" of \" counter(pages);"
            " font: 8pt \"Liberation Sans\", sans-serif; color: #444; }\n}\n")


def cli_paper(a) -> int:
    """``sqa paper ROUND [--format pdf|docx] --out FILE [--root DIR]``: the round's paper
    content from ``analysis.board.paper_content`` rendered to FILE; prints what was written
    and the headline finding ids it holds. An unknown round (``board.BoardError``), a wrong
    format or file name, or a missing Chromium raise ``PaperError`` (exit 2)."""
    fmt = format_for(Path(a.out), a.format)
    try:
        board = importlib.import_module("analysis.board")
    except ModuleNotFoundError as exc:
        if exc.name != "analysis.board":
            raise
        raise PaperError("this copy of the package has no board content (analysis.board, "
                         "issue 14 items 1-3) to make a paper from; update the package") from exc

    board_error = getattr(board, "BoardError", PaperError)
    try:
        content = board.paper_content(Path(a.root), a.round)
    except board_error as exc:
        raise PaperError(str(exc)) from exc
    render_paper(content.markdown, content.images, Path(a.out), fmt, title=content.title,
                 version=content.version)
    ids = list(content.finding_ids)
    print(f"{len(ids)} headline finding(s): {', '.join(ids) if ids else 'none'}")
    return 0
