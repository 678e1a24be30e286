"""The published demo site in a real browser: headless Chromium driven by Playwright.

Every test runs once per rendering engine (``quarto`` and ``nbconvert``: the ``demo_site``
fixture publishes two releases with each). Every page loads without console errors and
without a missing asset, and loads nothing from outside the site; the version switcher keeps
the reader on the same page; old releases say so; every page names its latest copy as
canonical, links to "How to cite" (a BibTeX block) and ends with a provenance footer that
expands; every image has alt text; axe-core finds no serious or critical WCAG 2.2 AA
violation; on a phone (375 px) body text never needs sideways scroll and wide tables scroll
inside their own box. Skipped where Chromium (Debian package ``chromium``) or the ``axe-core``
npm package is not installed (``bash scripts/install.sh test`` installs both). The browser
never touches the network: every request for anything outside the local server is refused
(and reported by the asset test).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
OLD, NEW = "2026.1", "2026.2"
PHONE = {"width": 375, "height": 800}
NOTEBOOK_PAGE = "rounds/demo/tier2_case_review.html"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed"),
]


@dataclass(frozen=True)
class Site:
    """A published demo site as the tests see it."""

    root: Path  # reports/site
    url: str  # where the local server serves it
    public_url: str  # the site-url of _quarto.yml (where the board publishes it)
    engine: str

    def pages(self, version: str) -> list[str]:
        """The pages of a release, relative to the release's folder."""
        base = self.root / "v" / version
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*.html")
                      if not p.relative_to(base).as_posix().startswith("site_libs/"))

    def every_page(self) -> list[str]:
        """Every page of both releases and of latest/, relative to the site root."""
        return ([f"v/{v}/{rel}" for v in (OLD, NEW) for rel in self.pages(v)]
                + [f"latest/{rel}" for rel in self.pages(NEW)])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(demo_site: Path) -> Iterator[Site]:
    handler = functools.partial(_QuietHandler, directory=str(demo_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    cfg = yaml.safe_load((demo_site.parents[1] / "_quarto.yml").read_text("utf-8"))
    releases = json.loads((demo_site / "versions.json").read_text("utf-8"))["releases"]
    engines = {r["engine"] for r in releases}
    assert len(engines) == 1, engines
    yield Site(root=demo_site, url=f"http://127.0.0.1:{httpd.server_address[1]}",
               public_url=str(cfg["website"]["site-url"]).rstrip("/"), engine=engines.pop())
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def outside() -> list[str]:
    """Requests the pages made for anything outside the local site (refused)."""
    return []


@pytest.fixture
def open_context(browser, site: Site, outside: list[str]):
    """A browser context (``viewport`` optional) that lets the pages load only from the
    local site: any other request is refused and recorded in ``outside``."""
    contexts = []

    def guard(route) -> None:
        if route.request.url.startswith(site.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    def new(**options):
        ctx = browser.new_context(**options)
        ctx.route("**/*", guard)
        contexts.append(ctx)
        return ctx

    yield new
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(open_context):
    return open_context().new_page()


def visit(page, site: Site, path: str, idle: bool = False):
    """Open a page and wait until the version switcher is in place (``versions.json`` has
    arrived and ``site.js`` has run) or, with ``idle``, until the network has been quiet for
    half a second (every request the page makes has finished)."""
    resp = page.goto(f"{site.url}/{path}")
    assert resp is not None and resp.ok, f"{path}: {resp.status if resp else 'no response'}"
    if idle:
        page.wait_for_load_state("networkidle")
    else:
        page.locator("#sqa-version-select").wait_for(state="attached")
    return resp


def test_every_page_loads_without_console_errors(page, site: Site) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error"
            else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    for path in site.every_page():
        visit(page, site, path, idle=True)
        assert not errors, f"{path}: {errors}"


def test_every_asset_of_every_page_is_served_by_the_site_itself(page, site: Site,
                                                                outside: list[str]) -> None:
    """No request of any page (styles, scripts, fonts, images, versions.json) returns an
    error status or fails, and no page asks for anything outside the site."""
    problems: list[str] = []
    current = [""]
    page.on("response", lambda r: problems.append(f"{current[0]}: {r.status} {r.url}")
            if r.status >= 400 else None)
    page.on("requestfailed", lambda r: problems.append(
        f"{current[0]}: failed ({r.failure}) {r.url}") if r.url.startswith(site.url) else None)
    for path in [*site.every_page(), "index.html"]:
        current[0] = path
        visit(page, site, path, idle=True)
    page.wait_for_url("**/latest/index.html")  # the site root leads to the latest release
    page.wait_for_load_state("networkidle")
    assert not problems, "\n".join(problems)
    assert not outside, "requests outside the site:\n" + "\n".join(sorted(set(outside)))


def test_switcher_moves_between_releases_on_the_same_page(page, site: Site) -> None:
    visit(page, site, f"v/{NEW}/{NOTEBOOK_PAGE}")
    select = page.locator("#sqa-version-select")
    select.wait_for()
    assert f"version {OLD}" in select.inner_text()
    assert f"version {NEW} (latest)" in select.inner_text()
    page.select_option("#sqa-version-select", label=f"version {OLD}")
    page.wait_for_url(f"**/v/{OLD}/{NOTEBOOK_PAGE}")
    page.locator("#sqa-version-select").wait_for()
    page.select_option("#sqa-version-select", label=f"version {NEW} (latest)")
    page.wait_for_url(f"**/v/{NEW}/{NOTEBOOK_PAGE}")


def test_old_release_says_which_version_is_latest(page, site: Site) -> None:
    visit(page, site, f"v/{OLD}/index.html")
    notice = page.locator("[data-sqa-notice]")
    notice.wait_for(state="visible")
    assert (f"You are reading version {OLD}; the latest is version {NEW}"
            in notice.inner_text())
    for path in (f"v/{NEW}/index.html", "latest/index.html"):
        visit(page, site, path)
        assert page.locator("[data-sqa-notice]").is_hidden(), path


def test_every_page_names_its_latest_copy_as_canonical(page, site: Site) -> None:
    wrong = []
    for path in site.every_page():
        page.goto(f"{site.url}/{path}", wait_until="domcontentloaded")
        rel = path.split("/", 2)[2] if path.startswith("v/") else path.split("/", 1)[1]
        hrefs = page.eval_on_selector_all(
            'link[rel="canonical"]', "els => els.map(e => e.getAttribute('href'))")
        if hrefs != [f"{site.public_url}/latest/{rel}"]:
            wrong.append(f"{path}: {hrefs}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("release", "rel", "version"), [
    (f"v/{NEW}", NOTEBOOK_PAGE, NEW), (f"v/{OLD}", "index.html", OLD),
    ("latest", NOTEBOOK_PAGE, NEW)])
def test_how_to_cite_in_the_version_bar_leads_to_a_bibtex_block(
        page, site: Site, release: str, rel: str, version: str) -> None:
    visit(page, site, f"{release}/{rel}")
    bar = page.get_by_role("region", name="Report version")
    bar.get_by_role("link", name="How to cite").click()
    page.wait_for_url(f"{site.url}/{release}/cite.html")
    bibtex = page.locator("pre").filter(has_text="@techreport{")
    assert bibtex.count() == 1
    assert bibtex.is_visible()
    text = bibtex.inner_text()
    assert f"version = {{{version}}}" in text, text
    assert f"url = {{{site.public_url}/v/{version}/}}" in text, text


def test_every_page_ends_with_a_provenance_footer_that_expands(page, site: Site) -> None:
    for rel in site.pages(NEW):
        visit(page, site, f"v/{NEW}/{rel}")
        footer = page.locator("footer.sqa-provenance")
        assert footer.count() == 1, rel
        engine = footer.get_by_text(f"Rendering engine: {site.engine}")
        assert footer.locator("summary").is_visible(), rel
        assert engine.is_hidden(), rel
        footer.locator("summary").focus()  # from the keyboard: Enter opens, Enter closes
        page.keyboard.press("Enter")
        assert engine.is_visible(), rel
        assert footer.get_by_text(f"Release: {NEW}").is_visible(), rel
        assert footer.get_by_text("Git commit:").is_visible(), rel
        page.keyboard.press("Enter")
        assert engine.is_hidden(), rel


def test_every_image_has_alt_text(page, site: Site) -> None:
    for rel in site.pages(NEW):
        visit(page, site, f"v/{NEW}/{rel}")
        missing = page.evaluate(
            "() => Array.from(document.images).filter(i => !(i.getAttribute('alt') || '')"
            ".trim()).length")
        assert missing == 0, rel


def test_every_image_alt_text_is_at_most_250_characters(page, site: Site) -> None:
    """Issue 15: one alt text was 2,463 characters. Alt text is one or two sentences; the
    chart's numbers are in a table on the page."""
    long = []
    for rel in site.pages(NEW):
        visit(page, site, f"v/{NEW}/{rel}")
        long += [f"{rel}: {n} characters" for n in page.evaluate(
            "() => Array.from(document.images).map(i => (i.getAttribute('alt') || '').length)"
            ".filter(n => n > 250)")]
    assert not long, "\n".join(long)


def test_every_chart_data_link_leads_to_a_table_on_its_own_page(page, site: Site) -> None:
    """Issue 15: the chart's numbers are in a table on its page, and the chart says where."""
    problems, links = [], 0
    for rel in site.pages(NEW):
        visit(page, site, f"v/{NEW}/{rel}")
        got = page.evaluate("""() => Array.from(document.querySelectorAll(
            'figure.sqa-figure img[aria-describedby]')).map(img => {
              const note = document.getElementById(img.getAttribute('aria-describedby'));
              // Quarto's script makes a same-page "#id" link absolute: same page, same hash
              const a = note && note.querySelector('a');
              const here = a && a.pathname === location.pathname;
              const target = here && document.getElementById(decodeURIComponent(a.hash.slice(1)));
              const table = target && (target.tagName === 'TABLE' ? target
                                       : target.querySelector('table'));
              return table ? 'table' : (a ? a.href : 'no link');
            })""")
        links += len(got)
        problems += [f"{rel}: {g}" for g in got if g != "table"]
    assert links >= 6 and not problems, "\n".join(problems)


CHART_LAYOUT = """() => Array.from(document.querySelectorAll('figure.sqa-figure')).map(f => {
  const img = f.querySelector('img'), box = f.querySelector('.sqa-figure-scroll');
  const natural = Number(img.getAttribute('width'));
  return {natural, shown: img.getBoundingClientRect().width,
          box: box.getBoundingClientRect().width, scrolls: box.scrollWidth > box.clientWidth,
          overflow: getComputedStyle(box).overflowX};
})"""


def test_on_a_phone_every_chart_keeps_a_readable_width_and_scrolls_in_its_own_box(
        open_context, site: Site) -> None:
    """Issue 15: charts shrank to unreadable on a phone. At 390 px a chart is shown at least
    600 px wide (or its own width), in a box no wider than the screen that scrolls sideways
    (that the page itself never does is the phone layout test's)."""
    from analysis.figures import READABLE_WIDTH

    phone = {"width": 390, "height": 844}  # the phone
    page = open_context(viewport=phone).new_page()
    problems, charts = [], 0
    for rel in site.pages(NEW):
        visit(page, site, f"v/{NEW}/{rel}")
        for c in page.evaluate(CHART_LAYOUT):
            charts += 1
            if c["shown"] + 1 < min(c["natural"], READABLE_WIDTH):
                problems.append(f"{rel}: a chart {c['natural']} px wide shown {c['shown']:.0f}")
            if c["box"] > phone["width"] or c["overflow"] != "auto":
                problems.append(f"{rel}: its box is {c['box']:.0f} px, overflow {c['overflow']}")
    assert charts >= 10 and not problems, "\n".join(problems)


def test_on_a_desktop_every_chart_fits_its_column_whole(open_context, site: Site) -> None:
    """Issue 15: Quarto cut wide charts off. On a desktop no chart is cut or scrolls: it
    scales down to its column."""
    page = open_context(viewport={"width": 1280, "height": 900}).new_page()
    problems = []
    for rel in site.pages(NEW):
        visit(page, site, f"v/{NEW}/{rel}")
        problems += [f"{rel}: a chart {c['natural']} px wide shown {c['shown']:.0f} px in a "
                     f"box of {c['box']:.0f} px" for c in page.evaluate(CHART_LAYOUT)
                     if c["scrolls"] or c["shown"] > c["box"] + 1]
    assert not problems, "\n".join(problems)


PHONE_LAYOUT = """() => {
  const vw = window.innerWidth;
  const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string'
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const tables = [];
  for (const t of document.querySelectorAll('table')) {
    const width = t.getBoundingClientRect().width;
    if (width <= vw) continue;
    let box = t.parentElement;
    while (box && box !== document.body && !scrolls(box)) box = box.parentElement;
    const boxWidth = box && box !== document.body ? box.getBoundingClientRect().width : null;
    if (boxWidth === null || boxWidth > vw) {
      tables.push(`table ${Math.round(width)} px wide in ${box ? name(box) : 'nothing'}`
                  + (boxWidth === null ? ' (no scrolling box)' : ` ${Math.round(boxWidth)} px`));
    }
  }
  return {vw, scrollWidth: document.documentElement.scrollWidth, tables,
          clipped: [document.documentElement, document.body].map(
            el => getComputedStyle(el).overflowX).filter(o => o === 'hidden' || o === 'clip')};
}"""


def test_on_a_phone_text_never_scrolls_sideways_and_wide_tables_scroll_in_their_own_box(
        open_context, site: Site) -> None:
    page = open_context(viewport=PHONE).new_page()
    problems = []
    for path in [f"v/{NEW}/{rel}" for rel in site.pages(NEW)] + [f"v/{OLD}/index.html"]:
        visit(page, site, path)
        got = page.evaluate(PHONE_LAYOUT)
        assert got["vw"] == PHONE["width"]
        if got["scrollWidth"] > PHONE["width"]:
            problems.append(f"{path}: the page is {got['scrollWidth']} px wide")
        if got["clipped"]:  # the page must not get narrow by cutting off what sticks out
            problems.append(f"{path}: the page clips sideways overflow ({got['clipped']})")
        problems += [f"{path}: {t}" for t in got["tables"]]
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(not AXE.exists(), reason="axe-core (npm) is not installed")
def test_axe_finds_no_serious_or_critical_wcag_violations(page, site: Site) -> None:
    problems = []
    for path in [f"v/{NEW}/{rel}" for rel in site.pages(NEW)] + [f"v/{OLD}/index.html"]:
        visit(page, site, path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
        for v in result["violations"]:
            if v["impact"] in ("serious", "critical"):
                targets = ", ".join(str(n["target"]) for n in v["nodes"][:3])
                problems.append(f"{path}: {v['id']} ({v['impact']}): {v['help']} "
                                f"[{len(v['nodes'])} node(s): {targets}]")
    assert not problems, "\n".join(problems)


def test_the_board_pages_open_with_their_findings_first_and_icons_in_words(page,
                                                                         site: Site) -> None:
    """Issue 14: a summary page per round (first among its pages in the Rounds menu) whose
    headline findings link to their evidence, and the trends and actions pages; every
    assurance or variation icon is hidden from screen readers and said in words beside it."""
    rounds = sorted(p.split("/")[1] for p in site.pages(NEW) if p.endswith("/summary.html"))
    assert len(rounds) == 3, rounds
    for rnd in rounds:
        visit(page, site, f"v/{NEW}/rounds/{rnd}/summary.html")
        items = page.locator("main ol > li, #main ol > li, article ol > li")
        assert 1 <= items.count() <= 8
        for i in range(items.count()):
            href = items.nth(i).locator("a").last.get_attribute("href") or ""
            assert ".html#" in href, href  # each headline links to its evidence
        icons = page.locator('span[aria-hidden="true"]')
        for i in range(icons.count()):  # the words follow the icon, in the same cell
            cell = icons.nth(i).evaluate("e => e.parentElement.textContent")
            assert len(cell.strip()) > 3, cell
        menu = [a.get_attribute("href") or "" for a in page.locator("nav a").all()]
        mine = [h for h in menu if f"rounds/{rnd}/" in h and "#" not in h]  # not the TOC
        assert mine and mine[0].endswith(f"rounds/{rnd}/summary.html"), mine
    visit(page, site, f"v/{NEW}/trends.html")
    assert page.locator("img").count() >= 4
    visit(page, site, f"v/{NEW}/actions.html")
    assert "Overdue" in page.locator("body").inner_text()


#: Where the glossary never links (``analysis.glossary.SKIP_TAGS``, ``SKIP_CLASSES``,
#: ``SKIP_IDS``): a word found there first is not the page's first use in its main text.
NOT_MAIN_TEXT = (
    "a, abbr, button, code, dfn, dt, footer, h1, h2, h3, h4, h5, h6, header, kbd, label, math, "
    "nav, option, pre, samp, select, summary, svg, textarea, th, thead, var, "
    "[aria-hidden='true'], [hidden], .sqa-version-bar, .sqa-provenance, .quarto-appendix, "
    ".appendix, .visually-hidden, .sr-only, .finding-id, .sqa-no-gloss, #title-block-header, "
    "#quarto-appendix, #quarto-citation, #TOC, #quarto-margin-sidebar")

FIRST_USE = """([source, flags, skip]) => {
  const re = new RegExp(source, flags);
  const main = document.querySelector('main');
  const walk = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!re.test(n.data)) continue;
    const el = n.parentElement;
    const link = el.closest('a.sqa-gloss');
    if (link) {
      const abbr = el.closest('abbr');
      return {linked: true, href: link.href,
              title: abbr ? abbr.getAttribute('title') : null,
              before: link.previousSibling ? link.previousSibling.textContent.slice(-60) : ''};
    }
    if (el.closest(skip)) continue;
    return {linked: false, text: n.data.slice(0, 120)};
  }
  return null;
}"""


def test_glossary_terms_are_linked_and_abbreviations_spelled_out_on_first_use(
        page, site: Site) -> None:
    """Issue 15, item 3: on every round page of the latest release, the first use of a term in
    the main text links to its glossary entry, and an abbreviation's first use is spelled out
    ("multi-agency team (MAT)") and marked; every glossary link lands on an entry."""
    from analysis.glossary import load_glossary

    terms = load_glossary()
    visit(page, site, f"v/{NEW}/glossary.html")
    anchors = set(page.eval_on_selector_all("dt[id]", "els => els.map(e => e.id)"))
    assert anchors == {t.id for t in terms}
    words = {"kappa": (r"(?<![\w-])kappa(?!\w)", "i"), "MAT": (r"(?<![\w-])MATs?(?![\w-])", ""),
             "YPRRP": (r"(?<![\w-])YPRRP(?![\w-])", ""), "XmR": (r"(?<![\w-])XmR(?!\w)", "i"),
             "censored": (r"(?<![\w-])censored(?!\w)", "i")}
    expansion = {t.abbr: t.expansion for t in terms if t.abbr}
    found = dict.fromkeys(words, 0)
    problems = []
    rounds = [rel for rel in site.pages(NEW) if rel.startswith("rounds/")]
    for rel in rounds:
        visit(page, site, f"v/{NEW}/{rel}")
        for word, (source, flags) in words.items():
            first = page.evaluate(FIRST_USE, [source, flags, NOT_MAIN_TEXT])
            if first is None:
                continue
            found[word] += 1
            if not first["linked"]:
                problems.append(f"{rel}: the first {word!r} is not linked: {first['text']!r}")
                continue
            if not first["href"].startswith(f"{site.url}/v/{NEW}/glossary.html#"):
                problems.append(f"{rel}: {word!r} links to {first['href']}")
            if word in expansion:
                if first["title"] != expansion[word]:
                    problems.append(f"{rel}: {word!r} is not marked as an abbreviation")
                if expansion[word].casefold() not in first["before"].casefold():
                    problems.append(f"{rel}: {word!r} is not spelled out ({first['before']!r})")
        hrefs = page.eval_on_selector_all(
            "main a.sqa-gloss", "els => els.map(e => e.href)")  # resolved: Quarto's JS
        problems += [f"{rel}: a glossary link leads to {h}" for h in hrefs  # rewrites hrefs
                     if not h.startswith(f"{site.url}/v/{NEW}/glossary.html#")]
        ids = [h.split("#", 1)[1] for h in hrefs]
        problems += [f"{rel}: {i} linked twice" for i in set(ids) if ids.count(i) > 1]
        problems += [f"{rel}: link to a missing entry {i}" for i in set(ids) - anchors]
    assert not problems, "\n".join(problems)
    assert all(found.values()), found  # each word is used on some round page
# --------------------------------------------------------------------------------------
# Citation that survives time, and print (issue 15, items 2 and 6)
# --------------------------------------------------------------------------------------

CITED = "T2-FRT-REFERRAL-APPROPRIATE"  # the same finding id on every round's tier-2 page
ROUND_PAGE = "rounds/{}/tier2_case_review.html"
PHONE_390 = {"width": 390, "height": 844}
NAVIGATION = ("Data dictionary", "How to cite", "Versions", "Other versions", "Findings index",
              "Skip to main content", "Copy citation", "Rounds")


def _copy_citation(page, fid: str) -> str:
    """Press the finding's "Copy citation" button from the keyboard; the citation as the
    clipboard holds it, after checking the confirmation shows it."""
    finding = page.locator(f'[id="{fid}"]')
    button = finding.get_by_role("button", name="Copy citation")
    assert button.count() == 1
    button.focus()
    page.keyboard.press("Enter")
    status = finding.get_by_role("status")
    status.wait_for(state="visible")
    assert status.get_attribute("aria-live") == "polite"
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert status.inner_text() == f"Citation copied: {copied}"
    return copied


def test_a_findings_citation_names_its_round_and_release_and_leads_back_to_it(
        open_context, site: Site) -> None:
    """The done-when of issue 15: the same finding id on two rounds' pages of one release
    gives two different citations (each names its round, with its title, and the release),
    and the address in each opens the right page at the finding."""
    ctx = open_context(permissions=["clipboard-read", "clipboard-write"])
    page = ctx.new_page()
    rounds = json.loads((site.root / "v" / NEW / "release.json").read_text("utf-8"))["rounds"]
    titles = {r["round"]: r["title"] for r in rounds}
    cited = {}
    for rnd in ("demo", "demo-2025"):
        rel = ROUND_PAGE.format(rnd)
        visit(page, site, f"v/{NEW}/{rel}")
        citation = _copy_citation(page, CITED)
        url = f"{site.public_url}/v/{NEW}/{rel}#{CITED}"
        assert citation == (f"Finding {CITED}, round {rnd} ({titles[rnd]}), "
                            f"Safeguarding QA reports, version {NEW}, {url}")
        cited[rnd] = (citation, page.locator(f'[id="{CITED}"] > p').first.inner_text())
    assert cited["demo"][0] != cited["demo-2025"][0]
    for rnd, (citation, words) in cited.items():
        url = citation.rsplit(", ", 1)[1]
        page.goto(url.replace(site.public_url, site.url))
        assert page.url.endswith(f"/v/{NEW}/{ROUND_PAGE.format(rnd)}#{CITED}")
        target = page.locator(f'[id="{CITED}"]')
        assert target.count() == 1 and "finding" in (target.get_attribute("class") or "")
        assert target.locator("p").first.inner_text() == words
        assert f"Finding {CITED}" in target.inner_text()
        assert page.locator('meta[name="sqa-round"]').get_attribute("content") == rnd


def test_a_finding_id_is_never_broken_across_lines_on_a_phone(open_context,
                                                              site: Site) -> None:
    page = open_context(viewport=PHONE_390).new_page()
    seen = 0
    for rel in (ROUND_PAGE.format("demo"), "findings.html", "rounds/demo/summary.html"):
        visit(page, site, f"v/{NEW}/{rel}")
        seen += page.locator(".finding-code").count()
        broken = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.finding-code')).filter(e => e.getClientRects().length > 1
            || e.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(e).fontSize))
            .map(e => e.textContent)""")
        assert not broken, f"{rel}: ids broken across lines: {broken[:5]}"
    assert seen > 0


def _pdf_pages(pdf: bytes) -> list[str]:
    import io

    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]


def test_a_printed_round_page_is_headed_by_its_release_and_has_no_navigation(
        page, site: Site) -> None:
    """Printing a round page of the latest numbered release (headless Chromium, A4): every
    printed page starts with the release, and names the page's address and the date; no
    navigation, search, version switcher, anchor link or "Copy citation" button prints."""
    rel = ROUND_PAGE.format("demo")
    visit(page, site, f"v/{NEW}/{rel}")
    page.locator(".sqa-cite-button").first.wait_for(state="attached")
    page.emulate_media(media="print")
    texts = _pdf_pages(page.pdf(format="A4", print_background=True))
    assert len(texts) >= 2
    address = f"{site.public_url}/v/{NEW}/{rel}"
    date = json.loads((site.root / "v" / NEW / "release.json").read_text("utf-8"))["date"]
    problems = []
    for n, text in enumerate(texts, 1):
        flat = " ".join(text.split())
        if not flat.startswith(f"version {NEW}, published "):
            problems.append(f"page {n} starts {flat[:80]!r}")
        if address not in "".join(text.split()):
            problems.append(f"page {n} does not give the address {address}")
        if str(int(date[8:10])) not in flat or date[:4] not in flat:
            problems.append(f"page {n} does not give the date")
        problems += [f"page {n} prints {word!r}" for word in NAVIGATION if word in text]
        problems += [f"page {n} prints a pilcrow" for mark in ("¶", "§") if mark in text]
    assert not problems, "\n".join(problems)
