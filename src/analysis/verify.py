"""Release verification: prove a rendered release is whole before it goes live.

``sqa publish`` runs :func:`check_release` on the staged release, whichever engine rendered
it, before anything is moved into ``reports/site/``. A release passes only when

* every page it lists (``versions.json`` ``pages``) exists and is a real HTML page: not empty,
  with ``<html>`` and ``<body>``, a ``<title>`` that names the page, every finding id the
  page's notebook recorded (as an element id, so ``page.html#ID`` lands on it), every heading
  of its Markdown cells as a heading (not run into the paragraph after it), and at least as
  many images as the executed notebook has figures, each with alt text;
* every local link, image, stylesheet and script of every page (and every ``url()`` of every
  stylesheet) resolves to a file inside the release, or to the site root's own files
  (``versions.json``, ``latest/``, an earlier release under ``v/``), and every ``#fragment``
  of a link to a page of the release names an element of that page;
* no page loads a script or stylesheet from another site (the report works offline and tells
  no third party who reads it);
* no placeholder of the release (version, date, list of releases) is left unfilled;
* with Quarto, ``search.json`` lists every page.

Otherwise the release is refused and every problem is named with its page. This is the
"smoke test" of a static site build (cf. ``linkchecker``, Sphinx's ``-W --keep-going`` and
``linkcheck`` builder), done offline on the files themselves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from .render import TOKENS, Page

__all__ = ["CSS_URL_RE", "DATA_RE", "Expectation", "FENCE_RE", "HEADING_RE", "SCHEME_RE",
           "TEXT_SUFFIXES", "WORD_BUDGET", "check_release", "expectations", "main_words",
           "notebook_figures", "notebook_headings"]

TEXT_SUFFIXES = {".html", ".json", ".xml", ".txt", ".css", ".js"}
SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
CSS_URL_RE = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


@dataclass
class Expectation:
    """What one page must contain."""

    out: str
    title: str
    finding_ids: list[str] = field(default_factory=list)
    figures: int = 0
    headings: list[str] = field(default_factory=list)


#: The most words a round page's main content may hold (issue 15: a committee member with ten
#: minutes reads the opening of a page; the tier-2 page had 11,000 words). The browser tests
#: check every round page of the demo site, with each engine, against it (:func:`main_words`).
WORD_BUDGET = 6000


class _MainText(HTMLParser):
    """The text inside a page's ``<main>`` (both engines give one), without scripts and
    styles."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = self.skip = 0
        self.found = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.depth += 1
            self.found = True
        elif self.depth and tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self.depth -= 1
        elif self.depth and tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and not self.skip:
            self.text.append(data)


def main_words(html_text: str) -> int:
    """The number of words (whitespace-separated) of a page's main content: the text inside
    ``<main>``, scripts and styles left out; the whole body's text when a page has no
    ``<main>``."""
    parser = _MainText()
    parser.feed(html_text)
    if not parser.found:
        body = re.split(r"<body[^>]*>", html_text, maxsplit=1)[-1]
        return len(re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", body,
                          flags=re.S).split())
    return len(" ".join(parser.text).split())


HEADING_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")


def _alnum(text: str) -> str:
    """A heading's letters and digits only: markup, punctuation and typography (Quarto's
    curly quotes, nbconvert's pilcrow anchors) do not count."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def notebook_headings(path: Path) -> list[str]:
    """The Markdown headings of a notebook's Markdown cells, as letters and digits, with link
    targets dropped (a heading's text, not its URLs)."""
    nb = json.loads(path.read_text("utf-8"))
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        src = cell.get("source", "")
        fenced = False
        for line in ("".join(src) if isinstance(src, list) else src).splitlines():
            if FENCE_RE.match(line):
                fenced = not fenced
                continue
            m = None if fenced else HEADING_RE.match(line)
            if m:
                text = re.sub(r"\]\([^)]*\)", "]", re.sub(r"\{[^}]*\}\s*$", "", m.group(2)))
                if _alnum(text):
                    found.append(_alnum(text))
    return found


def notebook_figures(path: Path) -> int:
    """Figures in an executed notebook: images in its HTML outputs, plus image outputs that
    have no HTML form."""
    nb = json.loads(path.read_text("utf-8"))
    n = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            if "text/html" in data:
                src = data["text/html"]
                n += len(re.findall(r"<img\b", "".join(src) if isinstance(src, list) else src))
            elif any(k.startswith("image/") for k in data):
                n += 1
    return n


def expectations(pages: list[Page], findings: list[dict[str, str]]) -> dict[str, Expectation]:
    """What each page of the release must contain, from its source and the findings CSVs."""
    exp = {}
    for page in pages:
        e = Expectation(out=page.out, title=page.title)
        if page.round and page.source is not None and page.source.suffix == ".ipynb":
            e.figures = notebook_figures(page.source)
            e.headings = notebook_headings(page.source)
            stem = Path(page.out).stem
            e.finding_ids = [r["finding_id"] for r in findings
                             if r.get("round") == page.round and r.get("page") == stem
                             and r.get("finding_id")]
        exp[page.out] = e
    return exp


class _Page(HTMLParser):
    """What the check needs from one HTML file (stdlib parser: no dependency)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False
        self.headings: list[str] = []
        self._heading: list[str] | None = None
        self.images: list[tuple[str, str | None]] = []  # (src, alt)
        self.refs: list[tuple[str, str]] = []  # (what, url)
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        self.tags.add(tag)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "title":
            self._in_title = True
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = []
        if tag == "img":
            self.images.append((a.get("src", ""), dict(attrs).get("alt")))
            self.refs.append(("image", a.get("src", "")))
        elif tag == "a" and "href" in a:
            self.refs.append(("link", a["href"]))
        elif tag == "script" and a.get("src"):
            self.refs.append(("script", a["src"]))
            if _external(a["src"]):
                self.external.append(f"script {a['src']}")
        elif tag == "link" and a.get("href"):
            rel = a.get("rel", "").lower().split()
            if "canonical" in rel or "alternate" in rel:
                return
            self.refs.append(("stylesheet" if "stylesheet" in rel else "link", a["href"]))
            if _external(a["href"]) and ({"stylesheet", "preload", "modulepreload"} & set(rel)):
                self.external.append(f"stylesheet {a['href']}")
        elif tag in ("source", "iframe", "embed", "video", "audio") and a.get("src"):
            self.refs.append((tag, a["src"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self._heading is not None:
            self.headings.append(_alnum("".join(self._heading)))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._heading is not None:
            self._heading.append(data)


def _external(url: str) -> bool:
    return url.startswith("//") or bool(re.match(r"^https?:", url, re.I))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


DATA_RE = re.compile(r"(data:[^,\"'\s]*,)([A-Za-z0-9+/=%]{16,})")


def _parse(path: Path) -> _Page:
    p = _Page()
    # Embedded images are most of a page's bytes and none of its structure: parse without
    # them (a non-empty payload stays non-empty).
    p.feed(DATA_RE.sub(r"\1AAAAAAAAAAAAAAAA", path.read_text("utf-8", errors="replace")))
    p.close()
    return p


def check_release(out_dir: Path, listed: list[str], expect: dict[str, Expectation],
                  engine: str, site_dir: Path, versions: set[str], version: str
                  ) -> list[str]:
    """Every problem of the staged release in ``out_dir`` (empty: it may go live).

    ``listed`` are the pages the release will list in ``versions.json``; ``site_dir`` the
    live site and ``versions`` its releases (links to other releases must resolve there).
    """
    problems: list[str] = []
    parsed: dict[str, _Page] = {}
    for f in sorted(out_dir.rglob("*.html")):
        rel = f.relative_to(out_dir).as_posix()
        parsed[rel] = _parse(f)
    for rel in listed:
        f = out_dir / rel
        if not f.is_file():
            problems.append(f"{rel}: missing: the renderer wrote no page")
            continue
        if not f.read_text("utf-8", errors="replace").strip():
            problems.append(f"{rel}: empty file")
            continue
        page = parsed[rel]
        if not {"html", "body"} <= page.tags:
            problems.append(f"{rel}: not an HTML page (no <html> or <body>)")
            continue
        e = expect.get(rel)
        if e is None:
            continue
        if _norm(e.title) not in _norm(page.title):
            problems.append(f"{rel}: its <title> ({page.title.strip()!r}) does not name the "
                            f"page ({e.title!r})")
        lost = [i for i in e.finding_ids if i not in page.ids]
        if lost:
            problems.append(f"{rel}: {len(lost)} finding id(s) missing: "
                            + ", ".join(lost[:8]) + (" ..." if len(lost) > 8 else ""))
        real = [src for src, _ in page.images
                if src.strip() and not (src.startswith("data:")
                                        and len(src.split(",", 1)[-1].strip()) < 16)]
        if len(real) < e.figures:
            problems.append(f"{rel}: {e.figures - len(real)} of {e.figures} figure(s) missing")
        lost = [h for h in e.headings if h not in page.headings]
        if lost:
            problems.append(f"{rel}: {len(lost)} of {len(e.headings)} heading(s) of the notebook "
                            "are not headings of the page (lost, or run into the text after "
                            "them)")
        no_alt = sum(1 for _, alt in page.images if alt is None or not alt.strip())
        if no_alt:
            problems.append(f"{rel}: {no_alt} image(s) without alt text")
    absent = {rel for rel in listed if not (out_dir / rel).is_file()}
    for rel, page in parsed.items():
        for what in page.external:
            problems.append(f"{rel}: loads a {what.split(' ', 1)[0]} from another site "
                            f"({what.split(' ', 1)[1][:80]})")
        bad = [f"{what} {url[:100]}" for what, url in page.refs
               if not _resolves(url, rel, out_dir, parsed, site_dir, versions, version)
               and _target(url, rel) not in absent]  # a missing page is named once
        if bad:
            problems.append(f"{rel}: {len(bad)} broken local reference(s): " + "; ".join(
                sorted(set(bad))[:6]) + (" ..." if len(set(bad)) > 6 else ""))
    for css in sorted(out_dir.rglob("*.css")):
        rel = css.relative_to(out_dir).as_posix()
        text = css.read_text("utf-8", errors="replace")
        bad = [u for u in CSS_URL_RE.findall(text)
               if not _external(u) and not u.startswith(("data:", "#"))
               and not _resolves(u, rel, out_dir, parsed, site_dir, versions, version)]
        if bad:
            problems.append(f"{rel}: {len(bad)} broken url(): {', '.join(sorted(set(bad))[:4])}")
        if re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text):
            problems.append(f"{rel}: imports a stylesheet from another site")
    for f in sorted(out_dir.rglob("*")):
        if f.is_file() and f.suffix in TEXT_SUFFIXES:
            text = f.read_text("utf-8", errors="replace")
            left = [t for t in TOKENS if t in text]
            if left:
                problems.append(f"{f.relative_to(out_dir).as_posix()}: release placeholder(s) "
                                f"not filled: {', '.join(left)}")
    if engine == "quarto":
        problems += _check_search(out_dir, listed)
    return problems


def _check_search(out_dir: Path, listed: list[str]) -> list[str]:
    path = out_dir / "search.json"
    try:
        entries: Any = json.loads(path.read_text("utf-8"))
        hrefs = {str(e.get("href", "")).split("#")[0] for e in entries}
    except (OSError, ValueError, AttributeError, TypeError):
        return ["search.json: missing or not valid JSON, so site search finds nothing"]
    return [f"{rel}: not in search.json, so site search cannot find it"
            for rel in listed if (out_dir / rel).is_file() and rel not in hrefs]


def _target(url: str, rel: str) -> str | None:
    """The release-relative path a local reference from page ``rel`` points at, or None."""
    path = unquote(urlsplit(url.strip()).path)
    if not path or SCHEME_RE.match(url.strip()) or url.strip().startswith("//"):
        return None
    stack: list[str] = []
    for part in (PurePosixPath(rel).parent / path).parts:
        if part == "..":
            if not stack:
                return None
            stack.pop()
        elif part not in ("", "."):
            stack.append(part)
    return "/".join(stack)


def _resolves(url: str, rel: str, out_dir: Path, parsed: dict[str, _Page], site_dir: Path,
              versions: set[str], version: str) -> bool:
    """Whether a reference from page ``rel`` resolves inside the release or the site root."""
    url = url.strip()
    if not url or url.startswith(("data:", "javascript:")):
        return True  # an image's data must not be empty: checked with the figures
    if SCHEME_RE.match(url) or url.startswith("//"):
        return True  # links to other sites are the reader's to follow
    parts = urlsplit(url)
    path, frag = unquote(parts.path), unquote(parts.fragment)
    if not path:  # "#id" on the same page
        return not frag or frag in parsed.get(rel, _Page()).ids or frag == "top"
    target = PurePosixPath(rel).parent / path
    stack: list[str] = []
    for part in target.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                stack.append("..")
                continue
            if stack[-1] == "..":
                stack.append("..")
            else:
                stack.pop()
        else:
            stack.append(part)
    ups = 0
    while stack and stack[0] == "..":
        ups += 1
        stack.pop(0)
    inner = "/".join(stack)
    if ups == 0:
        f = out_dir / inner
        if f.is_dir():
            f, inner = f / "index.html", (inner.rstrip("/") + "/index.html").lstrip("/")
        if not f.is_file():
            return False
        if frag and inner in parsed:
            return frag in parsed[inner].ids
        return True
    if ups != 2:  # a release is v/<version>/: two levels below the site root
        return False
    if inner in ("versions.json", "index.html", "") or inner.startswith("latest/"):
        return True
    m = re.match(r"^v/([^/]+)(/(.*))?$", inner)
    if not m:
        return False
    if m.group(1) == version:
        return (out_dir / (m.group(3) or "index.html")).exists()
    return m.group(1) in versions and (site_dir / inner).exists()
