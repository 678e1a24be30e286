"""Page furniture: what a release adds to every rendered page.

Step 3 of ``sqa publish`` (:mod:`analysis.publish`): the release's version and date filled
in for the placeholders the pages were rendered with (:mod:`analysis.render`), the version bar
and switcher, the old-release notice, ``rel=canonical`` to the latest copy, the "How to cite"
link, the print header, glossary links (:mod:`analysis.glossary`), the citation template of
each finding and Quarto's citation appendix put right (:mod:`analysis.citation`), tables that
scroll on their own, and the provenance footer; and the Versions page.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import glossary
from .citation import (
    CITE_FINDING,
    _correct_quarto_citation,
    _preview_cite_page,
    _uncite,
    citable,
    finding_citation,
    release_name,
    round_label,
)
from .render import DATE_TOKEN, DATE_TOKEN_LONG, RELEASES_TOKEN, VERSION_TOKEN, Page

if TYPE_CHECKING:
    from .publish import Release


def changelog_markdown() -> str:
    """The "Versions" page; the list of releases is filled in after rendering."""
    return "\n".join(["---", "title: Versions", "---", "",
                      "Every release of this report stays online, unchanged, at its own "
                      "address.", "", RELEASES_TOKEN, ""])


def releases_html(releases: list[dict[str, Any]], online: set[str] | None = None
                  ) -> tuple[str, str]:
    """The list of releases (newest first) as HTML for the Versions page, and as plain text
    for its search entry; a release not in ``online`` (its pages are gone) gets no link."""
    import mistune

    md = mistune.create_markdown(escape=True)
    parts, text = [], []
    for r in sorted(releases, key=lambda r: r["date"], reverse=True):
        forced = " (re-published with --force)" if r.get("forced") else ""
        v = html.escape(r["version"])
        name = html.escape(release_name(r["version"]))
        parts.append(
            f'<section class="sqa-release" id="version-{v}"><h2>Report {name}{forced}</h2>'
            f"<p><em>{html.escape(r['title'])}</em>, published {html.escape(r['date'][:10])}, "
            f"engine {html.escape(r['engine'])}, commit <code>{html.escape(r['commit'][:12])}"
            "</code>. " + (f'<a href="../../v/{v}/index.html">Read {name}</a>'
                           if online is None or r["version"] in online
                           else "Its pages are no longer online.") + "</p>"
            + (md(r["notes"].strip()) if r.get("notes") else "") + "</section>")
        text.append(f"Report {release_name(r['version'])}{forced}: {r['title']}, published "
                    f"{r['date'][:10]}.")
    return "\n".join(parts), " ".join(text)


def long_date(iso: str) -> str:
    d = datetime.fromisoformat(iso[:10])
    return f"{d.day} {d:%B %Y}"


def fill_release(text: str, release: Release, listing: tuple[str, str], json_text: bool = False
                 ) -> str:
    """Replace the release placeholders the pages were rendered with by the release's values:
    version, date (ISO, long form, and the year of Quarto's citation) and list of releases."""
    day, year = release.date[:10], release.date[:4]
    text = text.replace(VERSION_TOKEN, release.version)
    text = text.replace(DATE_TOKEN_LONG, long_date(day)).replace(DATE_TOKEN, day)
    token_year = DATE_TOKEN[:4]
    text = text.replace(f'name="citation_year" content="{token_year}"',
                        f'name="citation_year" content="{year}"')
    # Quarto's "cite this work as" line: "Author.\n<year>. <em>Title</em>. Version ..."
    text = re.sub(rf"(cite this work as:.*?)(?<![0-9]){token_year}(?=\.)",
                  lambda m: m.group(1) + year, text, flags=re.S)
    if json_text:
        text = text.replace(RELEASES_TOKEN, json.dumps(listing[1])[1:-1])
    else:
        text = re.sub(rf"<p>\s*{RELEASES_TOKEN}\s*</p>", lambda m: listing[0], text)
        text = text.replace(RELEASES_TOKEN, listing[0])
    return text


TABLE_RE = re.compile(r"(<table\b.*?</table>)", re.S)


def _wrap_tables(text: str) -> str:
    """Each table in a box of its own that scrolls sideways when the table is wider than the
    screen (the page itself never needs to); focusable and named, so keyboard users can
    scroll it (WCAG 2.1.1, axe ``scrollable-region-focusable``)."""
    def wrap(m: re.Match[str]) -> str:
        cap = re.search(r"<caption[^>]*>(.*?)</caption>", m.group(1), re.S)
        name = html.unescape(re.sub(r"<[^>]+>|\s+", " ", cap.group(1))).strip() if cap else ""
        label = html.escape(name[:120] or "Table", quote=True)
        return (f'<div class="sqa-table-wrap" tabindex="0" role="region" '
                f'aria-label="{label}">{m.group(1)}</div>')

    return TABLE_RE.sub(wrap, text)


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def print_header_css(release: Release, page_url: str) -> str:
    """The header of every printed page (issue 15): the release, its date and the page's
    address, in a page-margin box of CSS Paged Media (``@page { @top-left {...} }``, supported
    by Chromium since version 131; https://www.w3.org/TR/css-page-3/#margin-boxes). A preview
    says it is not citable."""
    line = (f"{release_name(release.version)}, published {long_date(release.date)}, "
            f"{page_url}")
    return ("<style media=\"print\">@page { margin: 18mm 14mm 16mm; "
            f"@top-left {{ content: {_css_string(line)}; font: 8pt/1.2 system-ui, sans-serif; "
            "color: #1b1b1b; vertical-align: bottom; padding-bottom: 3mm; } "
            "@bottom-right { content: \"Page \" counter(page) \" of \" counter(pages); "
            "font: 8pt system-ui, sans-serif; color: #4a4a4a; } }</style>\n")


# A finding id as inline code (findings index, summaries): kept whole by site.css.
ID_CODE_RE = re.compile(r"<code>([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)</code>")
# ... and in a finding's own "Finding ID" link (notebooks executed before findings.Finding.html
# marked it): the id kept whole, "Finding" free to wrap before it.
ID_LINK_RE = re.compile(r'(<p class="finding-id"><a href="#([A-Za-z0-9_-]+)">Finding )\2(</a>)')


def decorate(out_dir: Path, release: Release, site_url: str, provenance: dict[str, Any],
             engine: str, releases: list[dict[str, Any]], site_dir: Path | None = None,
             pages: list[Page] | None = None, site_title: str = "", author: str = "",
             cache_dir: Path | None = None) -> str:
    """Fill in the release's values and insert the version furniture and provenance into
    every page of a release (``site_dir``: the live site, to link only releases online), and
    link each page's first use of every glossary term (``glossary.link_terms``: not on the
    pages of ``glossary.UNLINKED_PAGES``, and before the furniture, which is never linked).

    Each page names its release, and a round's page its round (``pages``: ``Page.round``;
    the round's title from ``release.rounds``), in meta tags ``site.js`` reads to offer a
    "Copy citation" button on each finding (:func:`finding_citation`, as a template in the
    ``sqa-cite`` meta tag); a preview offers none, and says so. Every page gets its print
    header (:func:`print_header_css`), and Quarto's citation appendix is put right
    (:func:`_correct_quarto_citation`) or, on a preview, taken out (:func:`_uncite`).
    ``cache_dir``: where the glossary-linked pages are kept by their content
    (:class:`analysis.glossary.LinkCache`; None: every page is linked anew).
    Returns the text the release adds to the rendered pages (its values, the list of releases,
    the provenance), for the publication gate."""
    js = resources.files("analysis").joinpath("templates", "site.js").read_text("utf-8")
    (out_dir / "sqa-site.js").write_text(js, encoding="utf-8")
    css = resources.files("analysis").joinpath("templates", "site.css").read_text("utf-8")
    (out_dir / "sqa-site.css").write_text(css, encoding="utf-8")
    online = None
    if site_dir is not None:
        online = {r["version"] for r in releases if r["version"] == release.version
                  or (site_dir / "v" / r["version"] / "index.html").is_file()}
    listing = releases_html(releases, online)
    is_citable = citable(release.version)
    name = release_name(release.version)
    page_round = {p.out: p.round for p in pages or [] if p.round}
    titles = {r["round"]: r.get("title", "") for r in release.rounds}
    for f in sorted(out_dir.rglob("*")):
        if f.is_file() and f.suffix in (".json", ".xml", ".txt"):
            text = f.read_text("utf-8")
            filled = fill_release(text, release, listing, json_text=f.suffix == ".json")
            if filled != text:
                f.write_text(filled, encoding="utf-8")
    foot = _provenance_html(release, provenance, engine)
    links = None
    if cache_dir is not None:
        from .provenance import package_fingerprint

        links = glossary.LinkCache(cache_dir, package_fingerprint())
    base = f"{site_url.rstrip('/')}/v/{release.version}/" if site_url else ""
    for f in sorted(out_dir.rglob("*.html")):
        rel = f.relative_to(out_dir).as_posix()
        if rel.startswith("site_libs/"):
            continue
        text = _wrap_tables(f.read_text("utf-8"))
        text = ID_CODE_RE.sub(r'<code class="finding-code">\1</code>', text)
        text = ID_LINK_RE.sub(r'\1<span class="finding-code">\2</span>\3', text)
        # Quarto marks its "cite this work as" entry as a list item outside any list (axe
        # aria-required-parent, WCAG 1.3.1); it is a paragraph of its own.
        text = text.replace('quarto-appendix-citeas" role="listitem"', 'quarto-appendix-citeas"')
        rnd = page_round.get(rel) or (rel.split("/")[1] if rel.startswith("rounds/")
                                      and rel.count("/") >= 2 else "")
        depth = rel.count("/")
        if rel not in glossary.UNLINKED_PAGES:  # first use of each term linked, abbr. said
            # before the release's values are filled in (never glossary terms), so the page
            # is the same text in every release and its linking is kept by content
            href = f"{'../' * depth}{glossary.GLOSSARY_PAGE}"
            text = (links.link(text, href) if links is not None
                    else glossary.link_terms(text, href))
        text = fill_release(text, release, listing)
        if not is_citable:
            text = _uncite(text)
            if rel == "cite.html":
                text = _preview_cite_page(text)
        else:
            text = _correct_quarto_citation(
                text, author, site_title or release.title, release,
                round_label(rnd, titles.get(rnd, "")) if rnd else "")
        to_release = "../" * depth or "./"
        to_site = "../" * (depth + 2)
        page_url = base + rel
        meta = {"sqa-version": release.version, "sqa-version-name": name,
                "sqa-citable": "true" if is_citable else "false",
                "sqa-page": rel, "sqa-site-root": to_site}
        if rnd:
            meta["sqa-round"] = rnd
            meta["sqa-round-title"] = titles.get(rnd, "")
            if is_citable:
                meta["sqa-cite"] = finding_citation(
                    CITE_FINDING, rnd, titles.get(rnd, ""), site_title or release.title,
                    release.version, page_url)
        head = "".join(f'<meta name="{k}" content="{html.escape(v)}">\n'
                       for k, v in meta.items())
        head += (f'<link rel="canonical" href="{html.escape(site_url.rstrip("/"))}/latest/{rel}">\n'
                 f'<link rel="stylesheet" href="{to_release}sqa-site.css">\n'
                 + print_header_css(release, page_url or rel)
                 + f'<script src="{to_release}sqa-site.js" defer></script>\n')
        if 'rel="icon"' not in text:  # no favicon request, so no 404 in the console
            head += '<link rel="icon" href="data:,">\n'
        status = ("" if is_citable else
                  ' <span class="sqa-preview-note">A preview is not citable: cite a numbered '
                  f'release (<a href="{to_release}changelog.html">Versions</a>).</span>')
        bar = (f'<div class="sqa-version-bar" role="region" aria-label="Report version">'
               f'<span>Report <strong>{html.escape(name)}</strong>, published '
               f'{html.escape(long_date(release.date))}.{status}</span> '
               f'<span class="sqa-switcher" data-sqa-switcher></span> '
               f'<a class="sqa-cite-link" href="{to_release}cite.html">How to cite</a>'
               f'<div class="sqa-old-notice" data-sqa-notice hidden></div>'
               f'<noscript><a href="{to_site}latest/{rel}">Read the latest version</a>'
               f'</noscript></div>\n')
        text = text.replace("</head>", head + "</head>", 1)
        text = re.sub(r"(<body[^>]*>)", lambda m, bar=bar: m.group(1) + "\n" + bar, text,
                      count=1)
        text = text.replace("</body>", foot + "</body>", 1)
        f.write_text(text, encoding="utf-8")
    if links is not None:
        links.prune()
    return "\n".join([release.version, release.title, release.notes, *listing, foot])


def _provenance_html(release: Release, prov: dict[str, Any], engine: str) -> str:
    inputs = "".join(f"<li><code>{html.escape(k)}</code>: <code>{v}</code></li>"
                     for k, v in sorted(release.inputs.items()))
    params = "".join(
        f"<li>{html.escape(r['round'])}: <code>"
        f"{html.escape(json.dumps(r.get('parameters', {}), sort_keys=True))}</code></li>"
        for r in prov.get("rounds", []))
    runs = ", ".join(r["round"] + " at " + r.get("started", "") for r in prov.get("rounds", []))
    versions = ", ".join(f"{html.escape(k)} {html.escape(v)}"
                         for k, v in sorted(prov.get("versions", {}).items()))
    return (f'<footer class="sqa-provenance" aria-label="Provenance"><details><summary>'
            f"Provenance of this page</summary><ul>"
            f"<li>Release: {html.escape(release.version)} ({html.escape(release.date)})</li>"
            f"<li>Git commit: <code>{html.escape(release.commit)}</code></li>"
            f"<li>Rendering engine: {html.escape(engine)}</li>"
            f"<li>Rounds run: {html.escape(runs)}</li>"
            f"<li>Inputs (SHA-256):<ul>{inputs}</ul></li>"
            f"<li>Parameters:<ul>{params}</ul></li>"
            f"<li>Package versions: {versions}</li>"
            f"</ul></details></footer>\n")


__all__ = ["changelog_markdown", "decorate", "fill_release", "long_date", "print_header_css",
           "releases_html"]
