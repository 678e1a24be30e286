"""The report site's glossary: one list of terms, a Glossary page, and links on first use.

Readers of the site are committee members, councillors and analysts, not statisticians
(issue 15, item 3: "a glossary page linked from first use of each term; abbreviations
expanded on first use on every page"). The terms live in one file,
``analysis/config/glossary.yml`` (term, the forms that mean it on the pages, a definition of
one to three sentences in plain English, its source). From it:

* :func:`glossary_markdown` writes the Glossary page (``glossary.html``), one entry per term
  with the anchor ``glossary.html#<id>``, grouped by section;
* :func:`link_terms` rewrites one rendered HTML page (either engine): in the page's main text
  the **first** use of each term becomes a link to its entry, and the first use of each
  abbreviation is expanded in words, "multi-agency team (MAT)", the letters marked
  ``<abbr title="...">`` and linked to the entry. ``publish.decorate`` runs it on every page
  of a release but those of :data:`UNLINKED_PAGES` (the glossary, and the pages that quote
  titles as they must be cited).

Only text in ``<main>`` is touched, and never text in headings, links, code, table headers,
navigation, headers and footers (the provenance footer among them), buttons, summaries,
abbreviations already marked, elements hidden from screen readers or the version bar; image
alt text is an attribute, never text, so it is never touched either. A text node with no
match is left byte for byte as it was, and no element is added, removed or re-ordered, so
finding anchors, headings, figures and Quarto's search index (built before this step) are
unaffected.

The page is scanned with a tokenizer over the HTML (comments, ``<script>``/``<style>`` and
other raw-text elements, tags with quoted attributes, text), not re-serialised by a parser:
a tree library (BeautifulSoup, lxml) would rewrite every attribute and entity of pages that
Quarto and nbconvert wrote, which the release checks and the render cache then see as
different pages. The standard library's ``html.parser`` reports text but not where it is in
the file, which a rewrite needs.

Abbreviation expansion follows the convention of the Government Digital Service style guide
("Abbreviations and acronyms": spell out on first use, abbreviation in brackets) and WCAG 2.2
technique H28 (``<abbr title>``) for success criterion 3.1.4.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = ["GLOSSARY_FILE", "GLOSSARY_PAGE", "SKIP_CLASSES", "SKIP_IDS", "SKIP_TAGS", "Term",
           "UNLINKED_PAGES", "glossary_markdown", "link_terms", "load_glossary", "terms_pattern"]

#: The glossary's data file in the package's configuration.
GLOSSARY_FILE = "glossary.yml"
#: The Glossary page of a release (at its top level).
GLOSSARY_PAGE = "glossary.html"

#: Pages never linked: the glossary itself, and the pages that quote the report's title and the
#: releases' titles as they must be cited ("How to cite", "Versions").
UNLINKED_PAGES = frozenset({GLOSSARY_PAGE, "cite.html", "changelog.html"})
#: Elements whose text is never linked or expanded.
SKIP_TAGS = frozenset({
    "a", "abbr", "button", "code", "dfn", "dt", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "head", "header", "kbd", "label", "math", "nav", "option", "pre",
    "samp", "script", "select", "style", "summary", "svg", "textarea", "th", "thead",
    "title", "var"})
#: Elements with any of these classes are never linked either (the version bar, the
#: provenance footer, Quarto's appendix and citation box, screen-reader-only text).
SKIP_CLASSES = frozenset({"sqa-version-bar", "sqa-provenance", "quarto-appendix",
                          "appendix", "visually-hidden", "sr-only", "finding-id",
                          "sqa-no-gloss"})
#: ... and elements with these ids (Quarto's title block, appendix and table of contents).
SKIP_IDS = frozenset({"title-block-header", "quarto-appendix", "quarto-citation", "TOC",
                      "quarto-margin-sidebar"})
#: Void elements: never have an end tag.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                   "meta", "param", "source", "track", "wbr"})
#: Block-level elements: a sentence starts again after one opens or closes.
_BLOCK = frozenset({"p", "li", "td", "th", "div", "section", "article", "main", "dd", "dt",
                    "blockquote", "figcaption", "caption", "table", "tr", "ul", "ol", "dl",
                    "details", "aside", "br"})

# Tokens of an HTML page: comment, raw-text element (whole), tag (attribute values quoted with
# either quote may hold ">"), other markup declaration, or text up to the next "<".
_TOKEN_RE = re.compile(
    r"(?P<comment><!--.*?-->)"
    r"|(?P<raw><(?P<rawtag>script|style|textarea|title)\b[^>]*>.*?</(?P=rawtag)\s*>)"
    r"|(?P<tag></?[A-Za-z][^\s/>]*(?:[^\"'>]|\"[^\"]*\"|'[^']*')*>)"
    r"|(?P<decl><[!?][^>]*>)"
    r"|(?P<text>[^<]+|<)",
    re.S | re.I)
# A count just before an abbreviation: its words go after the letters, so that "3 CIN" never
# reads "3 child in need (CIN)", a count of children (``analysis.reporting.check``'s rule 1).
_COUNTED_RE = re.compile(r"(?<![\w.,])(\d+|one|two|three|four|five|six|seven|eight|nine|ten|"
                         r"eleven|twelve)\s*$", re.I)
_TAG_NAME_RE = re.compile(r"</?([A-Za-z][^\s/>]*)")
_ATTR_RE = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")


@dataclass(frozen=True)
class Term:
    """One entry of the glossary."""

    id: str
    term: str
    definition: str
    source: str
    section: str
    forms: tuple[str, ...] = ()
    abbr: str = ""
    expansion: str = ""
    plural: str = ""
    exclude: tuple[str, ...] = ()

    @property
    def is_abbreviation(self) -> bool:
        return bool(self.abbr)


@functools.cache
def load_glossary(text: str | None = None) -> tuple[Term, ...]:
    """The glossary's terms, in the order of the file (``text``: a YAML text to read instead of
    the package's ``config/glossary.yml``). Refuses a file with a duplicate id or form, an
    entry without a definition or source, or an abbreviation without its expansion. An entry's
    ``exclude`` phrases are uses of its words in another sense, never linked."""
    if text is None:
        text = resources.files("analysis").joinpath("config", GLOSSARY_FILE).read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text) or {}
    sections = list(data.get("sections") or [])
    terms: list[Term] = []
    seen_ids: set[str] = set()
    seen_forms: dict[str, str] = {}
    for raw in data.get("terms") or []:
        t = Term(id=str(raw["id"]), term=str(raw["term"]),
                 definition=" ".join(str(raw.get("definition", "")).split()),
                 source=" ".join(str(raw.get("source", "")).split()),
                 section=str(raw.get("section", "")),
                 forms=tuple(str(f) for f in raw.get("forms") or ()),
                 abbr=str(raw.get("abbr") or ""), expansion=str(raw.get("expansion") or ""),
                 plural=str(raw.get("plural") or ""),
                 exclude=tuple(str(f) for f in raw.get("exclude") or ()))
        problems = []
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", t.id):
            problems.append("an id of lower-case letters, digits and dashes")
        if t.id in seen_ids:
            problems.append("an id of its own (it is used twice)")
        if not t.definition or not t.source:
            problems.append("a definition and a source")
        if t.abbr and not t.expansion:
            problems.append("an expansion of its abbreviation")
        if not t.abbr and not t.forms:
            problems.append("forms (the words that mean it on the pages)")
        if sections and t.section not in sections:
            problems.append(f"a section among {sections}")
        for f in (*t.forms, t.abbr):
            key = f if f == t.abbr else f.casefold()
            if f and key in seen_forms:
                problems.append(f"forms of its own ({f!r} is also a form of "
                                f"{seen_forms[key]!r})")
            seen_forms[key] = t.id
        if problems:
            raise ValueError(f"{GLOSSARY_FILE}: entry {t.id!r} needs " + "; ".join(problems))
        seen_ids.add(t.id)
        terms.append(t)
    return tuple(terms)


def _form_regex(form: str) -> str:
    """A form as a regular expression: any apostrophe, any dash, any run of spaces."""
    out = []
    for ch in form:
        if ch in "'\u2019":
            out.append("['\u2019]")
        elif ch in "-\u2010\u2011\u2013":
            out.append("[-\u2010\u2011\u2013]")
        elif ch.isspace():
            out.append(r"\s+")
        else:
            out.append(re.escape(ch))
    return "".join(out)


@functools.cache
def terms_pattern(terms: tuple[Term, ...]) -> tuple[re.Pattern[str], dict[str, Term]]:
    """One regular expression matching every form of every term (longest first, so "weighted
    kappa" wins over "weighted"), whole words only; and the term of each named group.
    Forms match in any case; abbreviations exactly as written, singular or plural, and never
    inside a hyphenated code such as a finding id (``T2-FRT-REFERRAL``)."""
    alts: list[tuple[int, str]] = []
    groups: dict[str, Term] = {}
    for i, t in enumerate(terms):
        if t.abbr:
            name = f"a{i}"
            alts.append((len(t.abbr) + 1, rf"(?<![\w-])(?P<{name}>{re.escape(t.abbr)}s?)"
                                          rf"(?![\w-])"))
            groups[name] = t
        for j, form in enumerate(t.forms):
            name = f"t{i}_{j}"
            alts.append((len(form), rf"(?<![\w-])(?P<{name}>(?i:{_form_regex(form)}))(?!\w)"))
            groups[name] = t
    alts.sort(key=lambda a: -a[0])
    return re.compile("|".join(a for _, a in alts)), groups


def _classes(tag: str) -> set[str]:
    for name, value in _ATTR_RE.findall(tag):
        if name.lower() == "class":
            return set(html.unescape(value.strip("\"'")).split())
    return set()


def _attr(tag: str, attr: str) -> str | None:
    for name, value in _ATTR_RE.findall(tag[1:]):
        if name.lower() == attr:
            return html.unescape(value.strip("\"'"))
    return None


def _skips(tag: str, name: str) -> bool:
    if name in SKIP_TAGS:
        return True
    if _attr(tag, "aria-hidden") == "true" or _attr(tag, "hidden") is not None:
        return True
    if _attr(tag, "id") in SKIP_IDS:
        return True
    return bool(_classes(tag) & SKIP_CLASSES)


def _excluded(t: Term, text: str, start: int, end: int) -> bool:
    """Whether the match ``text[start:end]`` is part of one of the term's ``exclude`` phrases
    (the "Assurance" of "Quality Assurance Sub-committee" is not Making Data Count's)."""
    for phrase in t.exclude:
        for m in re.finditer(_form_regex(phrase), text, re.I):
            if m.start() <= start and end <= m.end():
                return True
    return False


class LinkCache:
    """:func:`link_terms` of whole pages, kept in ``folder`` by the key of what the result
    depends on (the page as given, the glossary's address, and ``salt``: the package's
    fingerprint, which covers the glossary file and this code), so that a publish whose pages
    are unchanged does not link them again (linking is most of a no-change publish's time).
    :meth:`prune` removes the entries this publish did not use, so the folder holds one
    release's pages, not every day's. A ``provenance.ContentCache`` of ``<key>.html``."""

    def __init__(self, folder: Path, salt: str) -> None:
        from .provenance import ContentCache

        self.folder, self.salt = folder, salt
        self.store = ContentCache(folder, "{key}.html")

    def link(self, page: str, glossary_href: str) -> str:
        return self.store.text([self.salt, glossary_href, page],
                               lambda: link_terms(page, glossary_href))

    @property
    def used(self) -> set[str]:
        """The names of the entries this cache read or wrote (those :meth:`prune` keeps)."""
        return self.store.used

    def prune(self) -> None:
        self.store.prune()


def link_terms(page: str, glossary_href: str, terms: tuple[Term, ...] | None = None) -> str:
    """``page`` (a whole HTML page) with the first use of each glossary term in its main text
    linked to ``glossary_href#<id>``, and each abbreviation's first use expanded: "expansion
    (ABBR)" with ``<abbr title="expansion">`` linked to its entry. Where the page already
    spells the expansion out just before the abbreviation ("multi-agency team (MAT)"), the
    letters are linked and marked without repeating the words. Text outside ``<main>``, and
    in the elements of :data:`SKIP_TAGS` / :data:`SKIP_CLASSES`, is left alone; so is a page
    without ``<main>``."""
    terms = load_glossary() if terms is None else terms
    if "<main" not in page.lower():
        return page
    pattern, groups = terms_pattern(terms)
    done: set[str] = set()
    out: list[str] = []
    in_main = 0
    skip: list[list[Any]] = []  # [tag name, nesting depth] of the skipped elements we are in
    tail = ""  # the main text just before the current position (for sentence starts)
    for m in _TOKEN_RE.finditer(page):
        tok = m.group(0)
        if m.group("tag"):
            closing = tok.startswith("</")
            name = _TAG_NAME_RE.match(tok).group(1).lower()  # type: ignore[union-attr]
            if name in _BLOCK:
                tail = ""
            if name == "main":
                in_main += -1 if closing else 1
            elif closing:
                for k in range(len(skip) - 1, -1, -1):
                    if skip[k][0] == name:
                        skip[k][1] -= 1
                        if skip[k][1] == 0:
                            del skip[k:]
                        break
            elif name not in _VOID and not tok.endswith("/>"):
                for s in skip:
                    if s[0] == name:
                        s[1] += 1
                if _skips(tok, name) and not any(s[0] == name for s in skip):
                    skip.append([name, 1])
            out.append(tok)
            continue
        if not m.group("text") or in_main <= 0 or skip:
            if m.group("text") and in_main > 0:
                tail = (tail + html.unescape(tok))[-40:]
            out.append(tok)
            continue
        text = html.unescape(tok)
        pieces: list[str] = []
        pos = 0
        for hit in pattern.finditer(text):
            t = groups.get(hit.lastgroup or "")
            if t is None or t.id in done or _excluded(t, text, hit.start(), hit.end()):
                continue
            done.add(t.id)
            before = text[pos:hit.start()]
            pieces.append(html.escape(before, quote=False))
            word = hit.group(0)
            href = html.escape(f"{glossary_href}#{t.id}")
            if t.abbr:
                plural = word.endswith("s") and word != t.abbr
                words = (t.plural or t.expansion + "s") if plural else t.expansion
                said = (tail + text[:hit.start()]).rstrip()
                spelled = re.search(_form_regex(words) + r"\s*\($", said, re.I) or re.search(
                    _form_regex(t.expansion) + r"s?\s*\($", said, re.I)
                link = (f'<a class="sqa-gloss" href="{href}"><abbr title="'
                        f'{html.escape(t.expansion)}">{html.escape(word)}</abbr></a>')
                if spelled:
                    pieces.append(link)
                elif _COUNTED_RE.search(said):  # "3 CIN plans": "3 CIN (child in need) plans"
                    pieces.append(f"{link} ({html.escape(words, quote=False)})")
                else:
                    if not said or said[-1] in ".!?:" or said.endswith(("\u2022", "-")):
                        words = words[:1].upper() + words[1:]
                    pieces.append(f"{html.escape(words, quote=False)} ({link})")
            else:
                pieces.append(f'<a class="sqa-gloss" href="{href}">'
                              f"{html.escape(word, quote=False)}</a>")
            pos = hit.end()
        tail = (tail + text)[-40:]
        if not pieces:
            out.append(tok)
            continue
        pieces.append(html.escape(text[pos:], quote=False))
        out.append("".join(pieces))
    return "".join(out)


def glossary_markdown(terms: tuple[Term, ...] | None = None) -> str:
    """The Glossary page: an introduction, then each section's terms as a definition list
    (raw HTML, the same with Quarto and nbconvert), each with its anchor and source."""
    terms = load_glossary() if terms is None else terms
    lines = ["---", "title: Glossary", "---", "",
             "The words this report uses that have a special meaning, in plain English. The "
             "first time a page uses one of them, it links here; abbreviations are spelled "
             "out the first time a page uses them. How each method is applied, with its "
             "source, is on the [Methods](methods.html) page.", ""]
    sections: dict[str, list[Term]] = {}
    for t in terms:
        sections.setdefault(t.section or "Other terms", []).append(t)
    for section, items in sections.items():
        lines += [f"## {section}", "", '<dl class="sqa-glossary">']
        for t in sorted(items, key=lambda t: t.term.casefold()):
            lines.append(f'<dt id="{t.id}">{html.escape(t.term, quote=False)}</dt>')
            lines.append(f"<dd><p>{html.escape(t.definition, quote=False)}</p>"
                         f"<p class=\"sqa-glossary-source\">Source: "
                         f"{html.escape(t.source, quote=False)}</p></dd>")
        lines += ["</dl>", ""]
    return "\n".join(lines)
