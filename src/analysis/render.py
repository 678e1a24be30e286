"""Render the report site's pages: with Quarto (the publisher) or nbconvert (the fallback).

Both engines take the same :class:`Page` list and write HTML pages into one output folder;
``publish`` then adds the release furniture, verifies the release and moves it into place.

**Release-independent rendering.** A page is rendered without knowing which release it will
belong to: the release version, date and list of releases appear in the rendered text as
the tokens :data:`VERSION_TOKEN`, :data:`DATE_TOKEN` (and its long form) and
:data:`RELEASES_TOKEN`, which ``publish.decorate`` replaces with the real values. So an
unchanged page is never rendered again for a new release: its rendered HTML is reused from a
content-keyed cache under ``reports/.render-cache/`` (the "quick renders" of a build system:
keys are SHA-256 digests of everything the output depends on, never file times).

**Quarto** (https://quarto.org/docs/websites/). The pages are staged as a Quarto website
project in a folder that Quarto accepts: Quarto silently renders nothing when any folder of
the project's path starts with a dot (``reports/.staging-x`` rendered an empty site), so
the staging folder is chosen, and checked, to have no such component. Notebooks are staged
with their saved outputs (papermill executed them; ``execute: enabled: false``); each HTML
output of the package is handed to Quarto as Markdown (a raw HTML block; a figure of the
package's own older form, a bare ``<figure><img>``, as a Quarto figure whose ``fig-alt`` is
its alt text), which keeps Quarto from loading require.js and jQuery from a CDN for
"JavaScript widgets" the pages do not have. Figures from ``figures.figure_html`` (issue 15:
their natural size, a readable minimum width, a scrolling box and a link to their data) pass
as raw HTML, so both engines show exactly the same figure.
Pages missing from the cache are rendered by up to ``jobs`` ``quarto render`` processes at
once, each on its own shard of the pages; a shard that fails is re-rendered one page at a
time so that the page Quarto cannot render is named. Quarto's output and warnings go to a
log that ``publish`` keeps next to the release.

**nbconvert** (https://nbconvert.readthedocs.io/): the same pages in a plainer template,
navigation read from ``_quarto.yml``. Nothing on a page tells the reader which engine drew
it (a note to developers, not to readers: issue 15, item 7); the provenance footer names it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DATE_FORMAT", "DATE_TOKEN", "DATE_TOKEN_LONG", "FIGURE_RE",
           "FRONT_RE", "Page", "QUARTO_THEME", "QUARTO_TIMEOUT", "RELEASES_TOKEN", "RENDER_CACHE",
           "RenderError", "RenderReport", "TOKENS", "VERSION_TOKEN", "choose_engine",
           "citation_id", "hidden_component", "html_link", "navbar", "quarto_config",
           "quarto_version", "render", "render_cost", "render_nbconvert", "render_quarto",
           "stage_markdown", "stage_notebook", "staged_inputs", "staging_parent"]

# Placeholders rendered in place of the release's own values (filled by publish.decorate).
VERSION_TOKEN = "SQARELEASEVERSION"
DATE_TOKEN = "1901-02-03"
DATE_TOKEN_LONG = "3 February 1901"
DATE_FORMAT = "D MMMM YYYY"  # Quarto's date-format (dayjs) for DATE_TOKEN_LONG
RELEASES_TOKEN = "SQARELEASELIST"
TOKENS = (VERSION_TOKEN, DATE_TOKEN, DATE_TOKEN_LONG, RELEASES_TOKEN)

RENDER_CACHE = ".render-cache"
QUARTO_THEME = "sqa-theme.scss"
QUARTO_TIMEOUT = 900  # seconds for one `quarto render`; a hung render is a failed page


class RenderError(Exception):
    """Rendering cannot start (no engine, no usable staging folder)."""


@dataclass
class Page:
    """One page of the site: its output path (relative, .html) and where it comes from."""

    out: str
    title: str
    source: Path | None = None  # .ipynb / .qmd / .md ; None = generated markdown in `text`
    text: str = ""
    round: str = ""


@dataclass
class RenderReport:
    """What a render did: pages rendered now, pages reused from the cache, pages that failed
    (output path -> reason), and the engine's own output (the render log)."""

    engine: str
    rendered: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0


def choose_engine(engine: str) -> str:
    """``auto``: Quarto when ``quarto`` is on PATH, nbconvert otherwise."""
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "nbconvert"
    if engine == "quarto" and not shutil.which("quarto"):
        raise RenderError("--engine quarto: `quarto` is not on PATH. Install it from "
                          "https://quarto.org or conda-forge (environment.yml), or use "
                          "--engine nbconvert.")
    return engine


def navbar(cfg: dict[str, Any], pages: list[Page]) -> list[tuple[str, str]]:
    """(href, text) pairs of the navbar: _quarto.yml's items plus one per notebook page."""
    nav = cfg.get("website", {}).get("navbar", {})
    items: list[tuple[str, str]] = []
    for side in ("left", "right"):
        for it in nav.get(side, []) or []:
            if isinstance(it, str):
                it = {"href": it}
            href = html_link(str(it.get("href", "")))
            items.append((href, str(it.get("text") or Path(href).stem.capitalize())))
    items += [(href, text) for href, text in round_menu(pages)]
    return items


def round_menu(pages: list[Page]) -> list[tuple[str, str]]:
    """(href, text) of the round pages for the "Rounds" menu, in page order; with more than
    one round each text names its round, so three rounds' "Tier-2 case review" differ."""
    rounds = {p.round for p in pages if p.round}
    return [(p.out, p.title if len(rounds) == 1 or p.title.startswith("Summary: ")
             else f"{p.title} ({p.round})") for p in pages if p.round]


def html_link(href: str) -> str:
    """A link to a source page (``.qmd``, ``.md``, ``.ipynb``) as a link to its HTML page."""
    return re.sub(r"\.(qmd|md|ipynb)(#|$)", r".html\2", href)


def _markdown_links_to_html(text: str) -> str:
    return re.sub(r"\]\(([^)#\s:]+)\.(qmd|md|ipynb)(#[^)]*)?\)", r"](\1.html\3)", text)


@functools.cache
def _module_digest() -> str:
    """SHA-256 of this module's source, read once per process (the code that runs is the code
    imported; every page's cache key holds it)."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _atomic_dir(tmp: Path, dest: Path) -> None:
    """Move a finished folder into the cache in one rename (a crash leaves no half entry)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        os.replace(tmp, dest)
    except OSError:  # another publish stored it first
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------
# nbconvert
# --------------------------------------------------------------------------------------


def _nbconvert_key(source: Path) -> list[str | bytes]:
    """What a notebook's rendered body depends on (its ``provenance.content_key`` parts): the
    executed notebook's bytes, this module's source (exporter settings, cell filtering) and
    the nbconvert version."""
    from importlib import metadata

    return [source.read_bytes(), _module_digest(), metadata.version("nbconvert")]


def _notebook_body(source: Path, exporter: Callable[[], Any], cache_dir: Path
                   ) -> tuple[str, bool]:
    """The HTML body of an executed notebook and whether it came from the cache
    (``cache_dir/nbconvert/<key>.html``, a ``provenance.ContentCache`` entry)."""
    from .provenance import ContentCache

    def make() -> str:
        import nbformat

        nb = nbformat.read(source, as_version=4)
        nb.cells = [c for c in nb.cells if not _is_parameters_cell(c)]
        return exporter().from_notebook_node(nb)[0]

    return ContentCache(cache_dir / "nbconvert", "{key}.html").lookup(_nbconvert_key(source),
                                                                      make)


def _markdown_body(text: str, title: str, make: Callable[[], Any], cache_dir: Path
                   ) -> tuple[str, bool]:
    """The HTML body of a Markdown page (its title as a heading, then the text through
    mistune, ``make()`` giving the renderer) and whether it came from the cache
    (``cache_dir/nbconvert/md-<key>.html``, a ``provenance.ContentCache`` entry keyed by the
    text, the title, this module's source and the mistune version)."""
    from importlib import metadata

    from .provenance import ContentCache

    return ContentCache(cache_dir / "nbconvert", "md-{key}.html").lookup(
        [text, title, _module_digest(), metadata.version("mistune")],
        lambda: f"<h1>{html.escape(title)}</h1>\n" + make()(_markdown_links_to_html(text)))


def _is_parameters_cell(cell: dict[str, Any]) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return "parameters" in tags or "injected-parameters" in tags


def render_nbconvert(pages: list[Page], out_dir: Path, cfg: dict[str, Any], cache_dir: Path,
                     progress: bool = False) -> RenderReport:
    """Render pages with nbconvert (notebooks) and mistune (Markdown), one template.

    A notebook's rendered body is cached under ``cache_dir/nbconvert/``, keyed by the SHA-256
    of the executed notebook and of the renderer, and a Markdown page's by its text
    (``_markdown_body``), so an unchanged page is not rendered again.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    report = RenderReport(engine="nbconvert")

    @functools.cache
    def markdown() -> Any:
        import mistune

        return mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])

    @functools.cache
    def exporter() -> Any:
        from nbconvert import HTMLExporter

        return HTMLExporter(template_name="basic", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)

    nav = navbar(cfg, pages)
    site_title = cfg.get("website", {}).get("title", "Report")
    css = resources.files("analysis").joinpath("templates", "plain.css").read_text("utf-8")
    (out_dir / "sqa-plain.css").write_text(css, encoding="utf-8")
    for page in tqdm(pages, desc="render", unit="page", disable=not progress, leave=False):
        try:
            if page.source is not None and page.source.suffix == ".ipynb":
                body, cached = _notebook_body(page.source, exporter, cache_dir)
            else:
                text = page.text if page.source is None else page.source.read_text("utf-8")
                text = re.sub(r"^---\n.*?\n---\n", "", text, count=1, flags=re.S)
                body, cached = _markdown_body(text, page.title, markdown, cache_dir)
        except Exception as exc:  # noqa: BLE001 - a page that cannot be rendered is reported
            report.failed[page.out] = f"nbconvert could not render it: {exc}"
            continue
        (report.reused if cached else report.rendered).append(page.out)
        prefix = "../" * page.out.count("/")
        current = ' aria-current="page"'
        links = "".join(
            f'<li><a href="{prefix}{h}"{current if h == page.out else ""}>'
            f"{html.escape(t)}</a></li>" for h, t in nav)
        doc = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page.title)} – {html.escape(site_title)}</title>
<link rel="stylesheet" href="{prefix}sqa-plain.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
<p class="site-title"><a href="{prefix}index.html">{html.escape(site_title)}</a></p>
<nav aria-label="Site"><ul>{links}</ul></nav>
</header>
<main id="main">
{body}
</main>
</body>
</html>
"""
        dest = out_dir / page.out
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(doc, encoding="utf-8")
    report.seconds = time.perf_counter() - t0
    return report


# --------------------------------------------------------------------------------------
# Quarto: staging
# --------------------------------------------------------------------------------------


def quarto_version() -> str:
    proc = subprocess.run(["quarto", "--version"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def hidden_component(path: Path) -> str | None:
    """The first folder of ``path`` whose name starts with a dot (Quarto renders nothing in
    such a project), or None."""
    for part in path.resolve().parts:
        if part.startswith(".") and part not in (".", ".."):
            return part
    return None


def staging_parent(root: Path) -> Path:
    """A folder for Quarto staging projects whose path Quarto accepts: the system temporary
    folder, else ``reports/`` of the project; refuse when neither will do."""
    candidates = [Path(tempfile.gettempdir()), root / "reports"]
    for c in candidates:
        if hidden_component(c) is None:
            c.mkdir(parents=True, exist_ok=True)
            return c
    raise RenderError(
        "Quarto renders nothing in a folder whose path has a component starting with a dot, "
        f"and both {candidates[0]} and {candidates[1]} have one. Set TMPDIR to a folder "
        "without one (e.g. `TMPDIR=/tmp sqa publish ...`).")


def quarto_config(cfg: dict[str, Any], pages: list[Page], site_url: str) -> dict[str, Any]:
    """The staged ``_quarto.yml``: the board's configuration plus what publishing needs, with
    the release's values as tokens (so the rendered pages do not depend on the release)."""
    conf = copy.deepcopy(cfg)
    project = conf.setdefault("project", {})
    project.update({"type": "website", "output-dir": "_site"})
    project.pop("render", None)
    conf.setdefault("execute", {})["enabled"] = False
    site = conf.setdefault("website", {})
    if site_url:
        site["site-url"] = f"{site_url.rstrip('/')}/v/{VERSION_TOKEN}"
    else:
        site.pop("site-url", None)
    site.setdefault("search", True)
    site.pop("page-navigation", None)  # needs a sidebar; the site has a navbar only
    nav = site.setdefault("navbar", {})
    for side in ("left", "right"):
        for it in nav.get(side, []) or []:
            if isinstance(it, dict) and "href" in it:
                it["href"] = html_link(str(it["href"]))
    menu = [{"href": href, "text": text} for href, text in round_menu(pages)]
    if menu:
        nav.setdefault("left", []).append({"text": "Rounds", "menu": menu})
    fmt = conf.setdefault("format", {}).setdefault("html", {})
    fmt.setdefault("toc", True)
    fmt.setdefault("google-scholar", True)
    fmt.setdefault("lang", "en-GB")
    fmt["date-format"] = DATE_FORMAT
    theme = fmt.get("theme", "cosmo")
    fmt["theme"] = [*(theme if isinstance(theme, list) else [theme]), QUARTO_THEME]
    conf["date"] = DATE_TOKEN
    conf["citation"] = {"type": "report", **(conf.get("citation") or {}),
                        "version": VERSION_TOKEN}
    authors = conf.get("author") or []
    conf["author"] = [_literal_author(a) for a in (authors if isinstance(authors, list)
                                                    else [authors])]
    return conf


def _literal_author(author: Any) -> Any:
    """An organisation's name is one literal name: Quarto would otherwise read
    "Safeguarding Children Partnership, Quality Assurance Sub-committee" as family, given."""
    if isinstance(author, str):
        return {"name": {"literal": author}}
    if isinstance(author, dict) and isinstance(author.get("name"), str):
        return {**author, "name": {"literal": author["name"]}}
    return author


FIGURE_RE = re.compile(r'\s*<figure><img src="(data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+)" '
                       r'alt="([^"]*)">(?:<figcaption>(.*?)</figcaption>)?</figure>\s*', re.S)


def _markdown_text(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|$@~^])", r"\\\1", text)


def _quarto_output(out: dict[str, Any]) -> dict[str, Any]:
    """A notebook output as Quarto should see it: the package's HTML (a figure, a table, a
    finding) as Markdown, so that it passes through unchanged and Quarto does not treat it as
    a "JavaScript widget" (which loads require.js and jQuery from a CDN)."""
    data = out.get("data")
    if not data or "text/html" not in data:
        return out
    src = data["text/html"]
    text = "".join(src) if isinstance(src, list) else str(src)
    fig = FIGURE_RE.fullmatch(text)
    if fig:
        uri, alt, caption = fig.group(1), html.unescape(fig.group(2)), fig.group(3) or ""
        alt_attr = alt.replace("\\", "\\\\").replace('"', '\\"')
        md = (f"![{_markdown_text(html.unescape(caption))}]({uri})"
              f'{{fig-alt="{alt_attr}"}}')
    else:
        md = "```{=html}\n" + text.strip("\n") + "\n```"
    return {**out, "data": {"text/markdown": md}, "metadata": {}}


def citation_id(out: str) -> str:
    """The BibTeX key of a page's citation: its path and the release, e.g.
    ``rounds-demo-tier2-case-review-1.0.0`` (Quarto's own key, from an organisation's name,
    has a comma in it, which BibTeX does not allow)."""
    return re.sub(r"[^a-z0-9]+", "-", out[: -len(".html")].lower()).strip("-") \
        + "-" + VERSION_TOKEN


FRONT_RE = re.compile(r"^---\n(.*?)\n---\n?", re.S)


def _with_front_matter(text: str, extra: dict[str, Any]) -> str:
    """``text`` with ``extra`` merged into its YAML front matter (added when it has none)."""
    m = FRONT_RE.match(text)
    try:
        meta = (yaml.safe_load(m.group(1)) or {}) if m else {}
    except yaml.YAMLError:
        return text  # Quarto will report it, naming the page
    if not isinstance(meta, dict):
        return text
    for k, v in extra.items():
        meta[k] = {**v, **(meta.get(k) or {})} if isinstance(v, dict) else meta.get(k, v)
    body = text[m.end():] if m else text
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + body


def _lines(text: Any) -> Any:
    return text.splitlines(keepends=True) if isinstance(text, str) else text


def _as_lines(cell: dict[str, Any]) -> dict[str, Any]:
    """A cell with its source and text outputs as lists of lines, as nbformat writes them:
    Quarto reads a Markdown cell held as one string without its line breaks, so a heading
    swallows the paragraph after it."""
    cell = {**cell, "source": _lines(cell.get("source", ""))}
    if "outputs" in cell:
        outs = []
        for o in cell["outputs"]:
            o = dict(o)
            if "text" in o:
                o["text"] = _lines(o["text"])
            if isinstance(o.get("data"), dict):
                o["data"] = {k: _lines(v) if k.startswith("text/") else v
                             for k, v in o["data"].items()}
            outs.append(o)
        cell["outputs"] = outs
    return cell


def stage_notebook(source: Path, out: str) -> bytes:
    """The executed notebook as staged for Quarto (parameters cells dropped, HTML outputs as
    Markdown, Markdown links to source pages as links to HTML pages, the page's citation key
    in its front matter)."""
    nb = json.loads(source.read_text("utf-8"))
    front = {"citation": {"id": citation_id(out)}}
    first = nb.get("cells", [{}])[0] if nb.get("cells") else {}
    first_src = first.get("source", "")
    first_src = "".join(first_src) if isinstance(first_src, list) else first_src
    if first.get("cell_type") == "raw" and FRONT_RE.match(first_src):
        nb["cells"][0] = {**first, "source": _with_front_matter(first_src, front)}
    else:
        nb["cells"] = [{"cell_type": "raw", "metadata": {},
                        "source": _with_front_matter("", front)}, *nb.get("cells", [])]
    cells = []
    for cell in nb.get("cells", []):
        if _is_parameters_cell(cell):
            continue
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"] = [_quarto_output(o) for o in cell.get("outputs", [])]
        elif cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            cell["source"] = _markdown_links_to_html("".join(src) if isinstance(src, list)
                                                     else src)
        cells.append(_as_lines(cell))
    nb["cells"] = cells
    return json.dumps(nb, sort_keys=True, ensure_ascii=False).encode("utf-8")


def stage_markdown(text: str, out: str) -> bytes:
    text = _with_front_matter(text, {"citation": {"id": citation_id(out)}})
    return _markdown_links_to_html(text).encode("utf-8")


def staged_inputs(pages: list[Page]) -> dict[str, tuple[Page, str, bytes]]:
    """page output path -> (page, its input path in the Quarto project, staged bytes)."""
    staged = {}
    for page in pages:
        stem = page.out[: -len(".html")]
        if page.source is not None and page.source.suffix == ".ipynb":
            staged[page.out] = (page, stem + ".ipynb", stage_notebook(page.source, page.out))
        else:
            text = page.text if page.source is None else page.source.read_text("utf-8")
            staged[page.out] = (page, stem + ".qmd", stage_markdown(text, page.out))
    return staged


# --------------------------------------------------------------------------------------
# Quarto: render cache and shards
# --------------------------------------------------------------------------------------


def _quarto_keys(conf_text: str, theme: str, staged: dict[str, tuple[Page, str, bytes]]
                 ) -> tuple[str, dict[str, str]]:
    """(key of the site-wide files, key of each page): SHA-256 of the Quarto version, the
    staged configuration and theme, this module, and (per page) its input path and bytes."""
    base = hashlib.sha256()
    for part in ("quarto", quarto_version(), conf_text, theme, _module_digest()):
        base.update(part.encode("utf-8"))
        base.update(b"\0")
    shared = base.hexdigest()
    keys = {}
    for out, (_, rel, data) in staged.items():
        h = base.copy()
        h.update(rel.encode("utf-8") + b"\0")
        h.update(data)
        keys[out] = h.hexdigest()
    return shared, keys


def _write_project(proj: Path, conf: dict[str, Any], theme: str,
                   files: list[tuple[str, bytes]]) -> None:
    proj.mkdir(parents=True)
    (proj / "_quarto.yml").write_text(yaml.safe_dump(conf, sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")
    (proj / QUARTO_THEME).write_text(theme, encoding="utf-8")
    for rel, data in files:
        dest = proj / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


def _start_quarto(proj: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(["quarto", "render", str(proj), "--no-execute"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=QUARTO_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return -1, (out or "") + f"\nquarto render timed out after {QUARTO_TIMEOUT} s"
    return proc.returncode, out or ""


def render_cost(data: bytes) -> float:
    """Estimated seconds for Quarto to render one staged page, measured on the demo pages
    (2 cores): about 0.6 s a page, plus 1 s per 40 kB of text (pandoc's work grows with the
    document's elements, tables above all) and 1 s per 700 kB of embedded images."""
    images = sum(len(m) for m in re.findall(rb"base64,[A-Za-z0-9+/=]+", data))
    return 0.6 + (len(data) - images) / 40_000 + images / 700_000


def _shards(items: list[tuple[str, float]], n: int) -> list[list[str]]:
    """Split (name, size) items into n shards of about equal size (largest first)."""
    shards: list[list[str]] = [[] for _ in range(max(1, n))]
    loads = [0.0] * len(shards)
    for name, size in sorted(items, key=lambda x: (-x[1], x[0])):
        i = loads.index(min(loads))
        shards[i].append(name)
        loads[i] += size
    return [s for s in shards if s]


def _clean_log(text: str, stage: Path) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colour codes
    return text.replace(str(stage), "<staging>")


def render_quarto(pages: list[Page], out_dir: Path, cfg: dict[str, Any], site_url: str,
                  root: Path, cache_dir: Path, jobs: int | None = None,
                  progress: bool = False) -> RenderReport:
    """Render the pages as a Quarto website into ``out_dir``, reusing cached pages.

    Pages whose key is in the cache are not rendered; the others are rendered by up to
    ``jobs`` Quarto processes at once (default: the number of cores).  The site-wide files
    (``site_libs/``, ``robots.txt``) come from the cache too; ``search.json`` is assembled
    from each page's entries, in page order, and ``sitemap.xml`` is written from the pages.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    report = RenderReport(engine="quarto")
    conf = quarto_config(cfg, pages, site_url)
    conf_text = yaml.safe_dump(conf, sort_keys=False, allow_unicode=True)
    theme = resources.files("analysis").joinpath("templates", "quarto-theme.scss"
                                                  ).read_text("utf-8")
    staged = staged_inputs(pages)
    shared_key, keys = _quarto_keys(conf_text, theme, staged)
    qcache = cache_dir / "quarto"
    shared_dir = qcache / f"site-{shared_key}"
    missing = [out for out in staged if not (qcache / keys[out] / "page.html").is_file()]
    if not shared_dir.is_dir() and not missing:
        missing = [min(staged, key=lambda o: len(staged[o][2]))]  # cheapest page brings them
    report.reused = [out for out in staged if out not in missing]
    logs: list[str] = []
    if missing:
        running: list[subprocess.Popen[str]] = []
        stage = Path(tempfile.mkdtemp(prefix="sqa-quarto-", dir=staging_parent(root)))
        try:
            n = min(len(missing), jobs or os.cpu_count() or 1)
            shards = _shards([(o, render_cost(staged[o][2])) for o in missing], n)
            bar = tqdm(total=len(missing), desc="render (quarto)", unit="page",
                       disable=not progress, leave=False)
            procs = []
            for i, shard in enumerate(shards):
                proj = stage / f"shard{i}"
                _write_project(proj, conf, theme, [(staged[o][1], staged[o][2]) for o in shard])
                procs.append((shard, proj, _start_quarto(proj)))
            running.extend(proc for _, _, proc in procs)
            for shard, proj, proc in procs:
                rc, out = _finish(proc)
                logs.append(f"== quarto render ({len(shard)} page(s): {', '.join(shard)}) "
                            f"exit {rc}\n{_clean_log(out, stage)}")
                done = _collect(proj, shard, staged, keys, qcache, shared_dir) if rc == 0 else []
                bar.update(len(done))
                lost = [o for o in shard if o not in done]
                if rc == 0 or len(shard) == 1:  # nothing to separate: name them as they are
                    report.failed.update({o: _failure_reason(rc, _clean_log(out, stage))
                                          for o in lost})
                    continue
                for o in lost:  # Quarto stopped at one page: render each alone to name it
                    one = stage / f"page-{len(logs)}"
                    _write_project(one, conf, theme, [(staged[o][1], staged[o][2])])
                    rc1, out1 = _finish(_start_quarto(one))
                    logs.append(f"== quarto render ({o} alone) exit {rc1}\n"
                                f"{_clean_log(out1, stage)}")
                    ok = rc1 == 0 and _collect(one, [o], staged, keys, qcache, shared_dir)
                    if ok:
                        bar.update(1)
                    else:
                        report.failed[o] = _failure_reason(rc1, _clean_log(out1, stage))
            bar.close()
        except BaseException:  # Ctrl-C or an error: no Quarto left rendering into the stage
            for proc in running:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            raise
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    report.rendered = [o for o in missing if o not in report.failed]
    report.log = "\n".join(logs)
    _assemble(out_dir, pages, staged, keys, qcache, shared_dir, conf)
    report.seconds = time.perf_counter() - t0
    return report


def _failure_reason(rc: int, log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR") or "Error" in ln]
    detail = errors[0] if errors else (lines[-1] if lines else "no output")
    if rc == 0:
        detail = "quarto exited 0 but wrote no page"
    return f"Quarto could not render it (exit {rc}): {detail[:300]}"


def _collect(proj: Path, shard: list[str], staged: dict[str, tuple[Page, str, bytes]],
             keys: dict[str, str], qcache: Path, shared_dir: Path) -> list[str]:
    """Store each page a shard rendered (its HTML, its ``_files`` folder, its search
    entries) under its key, and the site-wide files; return the pages found."""
    site = proj / "_site"
    try:
        entries = json.loads((site / "search.json").read_text("utf-8"))
    except (OSError, ValueError):
        entries = []
    done = []
    page_owned: set[Path] = set()
    for out in shard:
        html_file = site / out
        if not html_file.is_file() or html_file.stat().st_size == 0:
            continue
        files_dir = site / (out[: -len(".html")] + "_files")
        tmp = qcache / f".tmp-{keys[out]}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copyfile(html_file, tmp / "page.html")
        if files_dir.is_dir():
            shutil.copytree(files_dir, tmp / "files")
            page_owned.add(files_dir)
        mine = [e for e in entries if str(e.get("href", "")).split("#")[0] == out]
        (tmp / "search.json").write_text(json.dumps(mine, ensure_ascii=False), "utf-8")
        _atomic_dir(tmp, qcache / keys[out])
        page_owned.add(html_file)
        done.append(out)
    # site-wide files: everything else Quarto wrote (site_libs/, robots.txt, ...), merged
    tmp = qcache / f".tmp-site-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    if shared_dir.is_dir():
        shutil.copytree(shared_dir, tmp)
    for f in sorted(site.rglob("*")):
        if not f.is_file() or f.name in ("search.json", "sitemap.xml"):
            continue
        if f in page_owned or any(d in f.parents for d in page_owned):
            continue
        if f.suffix == ".html":  # a page of another shard never lands here; skip strays
            continue
        dest = tmp / f.relative_to(site)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
    tmp.mkdir(parents=True, exist_ok=True)
    old = shared_dir.with_name(shared_dir.name + f".old-{os.getpid()}")
    if shared_dir.exists():
        os.replace(shared_dir, old)
    os.replace(tmp, shared_dir)
    shutil.rmtree(old, ignore_errors=True)
    return done


def _assemble(out_dir: Path, pages: list[Page], staged: dict[str, tuple[Page, str, bytes]],
              keys: dict[str, str], qcache: Path, shared_dir: Path, conf: dict[str, Any]
              ) -> None:
    """Write the release's pages from the cache into ``out_dir`` (missing pages stay missing:
    the release check names them)."""
    if shared_dir.is_dir():
        shutil.copytree(shared_dir, out_dir, dirs_exist_ok=True)
    search: list[dict[str, Any]] = []
    for page in pages:
        entry = qcache / keys[page.out]
        if not (entry / "page.html").is_file():
            continue
        dest = out_dir / page.out
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(entry / "page.html", dest)
        if (entry / "files").is_dir():
            shutil.copytree(entry / "files", out_dir / (page.out[: -len(".html")] + "_files"),
                            dirs_exist_ok=True)
        search += json.loads((entry / "search.json").read_text("utf-8"))
    (out_dir / "search.json").write_text(json.dumps(search, indent=1, ensure_ascii=False),
                                         encoding="utf-8")
    url = str(conf.get("website", {}).get("site-url", "")).rstrip("/")
    if url:
        locs = "".join(f"  <url>\n    <loc>{html.escape(url)}/{html.escape(p.out)}</loc>\n"
                       f"    <lastmod>{DATE_TOKEN}</lastmod>\n  </url>\n"
                       for p in pages if (out_dir / p.out).is_file())
        (out_dir / "sitemap.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">\n{locs}</urlset>\n', encoding="utf-8")


def render(engine: str, pages: list[Page], out_dir: Path, cfg: dict[str, Any], site_url: str,
           root: Path, jobs: int | None = None, progress: bool = False) -> RenderReport:
    """Render ``pages`` into ``out_dir`` with ``engine`` (``quarto`` or ``nbconvert``)."""
    cache_dir = root / "reports" / RENDER_CACHE
    if engine == "quarto":
        return render_quarto(pages, out_dir, cfg, site_url, root, cache_dir, jobs=jobs,
                             progress=progress)
    return render_nbconvert(pages, out_dir, cfg, cache_dir, progress=progress)
