"""Citation: how a release of the report, and each finding in it, is cited.

A scrutiny panel cites a finding months after it was published, so a citation names three
things: the finding's id (the same in every round: :mod:`analysis.findings`), the round (its
name and title, the period audited) and the release (its version), with the address of the
finding in that release, which never changes once published (``sqa publish`` refuses to
overwrite a release).  A preview (``sqa publish`` without ``--version``) is replaced by the
next one, so it is never citable.  This module holds those rules (:func:`citable`,
:func:`release_name`, :func:`finding_citation`), the "How to cite" page, and the repair of
Quarto's own citation appendix (Quarto title-cases a page's title and does not name the
round); :mod:`analysis.decorate` applies them to every page of a release.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import yaml

from .render import DATE_TOKEN, VERSION_TOKEN

if TYPE_CHECKING:
    from .publish import Release


def author_names(cfg: dict[str, Any]) -> str:
    """The report's author(s) from _quarto.yml: names as strings or Quarto's
    ``name: {literal: ...}`` / ``{given, family}`` forms."""
    authors = cfg.get("author") or [{"name": "Safeguarding Children Partnership"}]
    names = []
    for a in authors if isinstance(authors, list) else [authors]:
        name = a.get("name", "") if isinstance(a, dict) else a
        if isinstance(name, dict):
            name = name.get("literal") or " ".join(
                str(name[k]) for k in ("given", "family") if name.get(k))
        names.append(str(name))
    return "; ".join(n for n in names if n)


PREVIEW = "preview"  # the release `sqa publish` makes without --version: never citable
CITE_FINDING = "SQAFINDINGID"  # where a page's citation template puts the finding's id
CITABLE_START, CITABLE_END = "<!--sqa-citable-->", "<!--/sqa-citable-->"


def citable(version: str) -> bool:
    """Only a numbered release can be cited: a preview is replaced by the next ``sqa publish``
    without ``--version``, so what it says today may not be there tomorrow."""
    return version != PREVIEW


def release_name(version: str) -> str:
    """The one name of a release, the same in ``versions.json``, the version bar, the switcher,
    the Versions page, the cite page and Quarto's citation: ``version 2026.2``; a preview is
    ``preview (not citable)``."""
    return f"version {version}" if citable(version) else f"{PREVIEW} (not citable)"


def round_label(round_name: str, round_title: str = "") -> str:
    """A round as a citation names it: ``round demo (Demonstration round (synthetic data),
    2025/26)``; the name alone when the round has no title of its own."""
    own = round_title and round_title != round_name
    return f"round {round_name}" + (f" ({round_title})" if own else "")


def finding_citation(finding_id: str, round_name: str, round_title: str, site_title: str,
                     version: str, page_url: str) -> str:
    """The citation of one finding: id, round and release, then the address of the finding
    in that release, e.g. ``Finding T2-FRT-REFERRAL-APPROPRIATE, round demo (Demonstration
    round (synthetic data), 2025/26), Safeguarding QA reports, version 2026.2,
    https://example.org/safeguarding-qa/v/2026.2/rounds/demo/tier2_case_review.html#T2-FRT-
    REFERRAL-APPROPRIATE``.

    Finding ids are the same in every round (the same standard, measured again), so an id
    alone, or an id and a release, names several sentences: the round says which. A release
    never changes once published (``sqa publish`` refuses to overwrite one), so the address
    under ``/v/<version>/`` shows the same words years later. A preview is not citable
    (:func:`citable`)."""
    if not citable(version):
        raise ValueError(f"{version!r} is a preview: it cannot be cited")
    return (f"Finding {finding_id}, {round_label(round_name, round_title)}, {site_title}, "
            f"{release_name(version)}, {page_url}#{finding_id}")


def cite_markdown(cfg: dict[str, Any], url: str) -> str:
    """The "How to cite" page; version and date are the release's placeholders. What can only
    be said of a numbered release is between ``CITABLE_START`` and ``CITABLE_END`` (headings
    stay outside, for the table of contents): :func:`decorate` replaces it, on a preview, by
    why a preview is not citable.

    Quarto's own citation of this page is the report as a whole (its title, at the
    release's address), not a work called "How to cite this report"."""
    site = cfg.get("website", {})
    title = site.get("title", "Safeguarding QA reports")
    author = author_names(cfg)
    year = DATE_TOKEN[:4]
    key = re.sub(r"[^a-z0-9]", "", title.lower())[:20] + "-" + VERSION_TOKEN
    bib = (f"@techreport{{{key},\n  author = {{{{{author}}}}},\n  title = {{{title}}},\n"
           f"  year = {{{year}}},\n  version = {{{VERSION_TOKEN}}},\n"
           f"  date = {{{DATE_TOKEN}}},\n  url = {{{url}}},\n"
           f"  note = {{Version {VERSION_TOKEN}}}\n}}")
    example = finding_citation(
        "T2-FRT-REFERRAL-APPROPRIATE", "demo", "Demonstration round (synthetic data), 2025/26",
        title, VERSION_TOKEN, f"{url}rounds/demo/tier2_case_review.html")
    front = yaml.safe_dump({"title": "How to cite this report",
                            "citation": {"title": title, "url": url}},
                           sort_keys=False, allow_unicode=True)
    return "\n".join([
        "---", front.strip(), "---", "", CITABLE_START, "",
        f"This is {release_name(VERSION_TOKEN)} of *{title}*, published {DATE_TOKEN}. "
        "It stays online, unchanged, at its own address; later releases are added beside "
        "it, never over it.", "", CITABLE_END, "",
        "## The whole report", "", CITABLE_START, "",
        f"**{author}** ({year}). *{title}*, {release_name(VERSION_TOKEN)} ({DATE_TOKEN}). "
        f"{url}", "",
        "BibTeX:", "", "```bibtex", bib, "```", "", CITABLE_END, "",
        "## One finding", "", CITABLE_START, "",
        "Every finding has an identifier such as `T2-FRT-REFERRAL-APPROPRIATE` (its "
        "report, service and standard). The identifier is the same in every audit round, "
        "because the same standard is measured again: on its own, or with the release "
        "alone, it names a different figure next quarter. So a citation of a finding "
        "always gives three things:", "",
        "1. the finding's identifier;",
        "2. the round: its short name and its title, which says the period audited;",
        "3. the release (its version), with the address of the finding in that release.", "",
        "For example:", "", f"> {example}", "",
        "Each finding has a **Copy citation** button, which copies this line for that "
        "finding, round and release.", "",
        CITABLE_END, ""])


CITATION_META_RE = re.compile(r'<meta name="citation_[a-z_]+" content="[^"]*">\n?')


QUARTO_APPENDIX_RE = re.compile(
    r'<section class="quarto-appendix-contents"[^>]*id="quarto-citation".*?</section>', re.S)
QUARTO_BIBTEX_RE = re.compile(r'(<code class="sourceCode bibtex">)(.*?)(</code>)', re.S)
QUARTO_CITEAS_RE = re.compile(r'(<div id="ref-[^"]*" class="csl-entry quarto-appendix-citeas"'
                              r'[^>]*>)(.*?)(</div>)', re.S)


def page_bibtex(key: str, author: str, title: str, release: Release, url: str,
                round_text: str = "", site_title: str = "") -> str:
    """A page's BibTeX entry: the page's own title as written (double braces: no style may
    change its case), the organisation as one name, the release and its address, and on a
    round's page the round (``note``)."""
    def esc(t: str) -> str:
        return re.sub(r"([{}])", r"\\\1", t)
    lines = [f"@report{{{key},", f"  author = {{{{{esc(author)}}}}},",
             f"  title = {{{{{esc(title)}}}}},"]
    if site_title:
        lines.append(f"  institution = {{{{{esc(author)}}}}},")
        lines.append(f"  series = {{{esc(site_title)}}},")
    lines += [f"  version = {{{release.version}}},", f"  date = {{{release.date[:10]}}},",
              f"  url = {{{url}}},"]
    if round_text:
        lines.append(f"  note = {{{esc(round_text[0].upper() + round_text[1:])}}},")
    lines.append("  langid = {en-GB}")
    return "\n".join(lines) + "\n}"


def _correct_quarto_citation(text: str, author: str, site_title: str, release: Release,
                             round_text: str) -> str:
    """Quarto's citation appendix with what it gets wrong put right: its BibTeX and its
    "cite this work as" line title-case the page's title (a citation style's rule for English
    titles: "How to Cite This Report") and do not name the round. Both are rewritten from the
    page's own ``citation_*`` meta tags (title as written, the organisation as one literal
    name, the release's address) and the round; the structure (and its copy button) stays."""
    title_m = re.search(r'<meta name="citation_title" content="([^"]*)">', text)
    url_m = re.search(r'<meta name="citation_fulltext_html_url" content="([^"]*)">', text)
    box = QUARTO_APPENDIX_RE.search(text)
    key_m = re.search(r'<code class="sourceCode bibtex">@report\{([^,\s]+),',
                      box.group(0)) if box else None
    if not (title_m and url_m and box and key_m):
        return text
    title, url = html.unescape(title_m.group(1)), html.unescape(url_m.group(1))
    series = site_title if site_title != title else ""
    bib = page_bibtex(key_m.group(1), author, title, release, url, round_text, series)
    part = QUARTO_BIBTEX_RE.sub(lambda m: m.group(1) + html.escape(bib, quote=False)
                                + m.group(3), box.group(0), count=1)
    words = [html.escape(w) for w in (round_text, series) if w]
    words.append(html.escape(release_name(release.version)))
    stop = "" if title[-1:] in ".?!" else "."
    after = ", ".join(words)
    line = (f"{html.escape(author)} ({release.date[:4]}). <em>{html.escape(title)}</em>{stop} "
            f"{after[:1].upper()}{after[1:]}. <a href=\"{html.escape(url)}\">"
            f"{html.escape(url)}</a>")
    part = QUARTO_CITEAS_RE.sub(lambda m: m.group(1) + "\n" + line + "\n" + m.group(3), part,
                                count=1)
    return text[:box.start()] + part + text[box.end():]


def _uncite(text: str) -> str:
    """A page of a preview without Quarto's citation: no ``citation_*`` meta tags, no "Citation"
    appendix (a preview is not citable)."""
    text = CITATION_META_RE.sub("", text)
    return QUARTO_APPENDIX_RE.sub("", text)


def _preview_cite_page(text: str) -> str:
    """The cite page of a preview: what only a numbered release can say is replaced by why a
    preview cannot be cited and where to find one that can."""
    note = ("<p><strong>This is a preview, and a preview is not citable.</strong> It is "
            "replaced by the next preview without notice, so a citation of it would not lead "
            "to the same words later. Cite a numbered release instead: the "
            '<a href="changelog.html">Versions</a> page lists them, each at its own address '
            "that never changes.</p>")
    blocks = iter([note])  # the first block says why; the others, under their headings, less
    return re.sub(re.escape(CITABLE_START) + ".*?" + re.escape(CITABLE_END),
                  lambda m: next(blocks, "<p>Not offered in a preview.</p>"), text, flags=re.S)


__all__ = ["CITABLE_END", "CITABLE_START", "CITE_FINDING", "PREVIEW", "author_names", "citable",
           "cite_markdown", "finding_citation", "page_bibtex", "release_name", "round_label"]
