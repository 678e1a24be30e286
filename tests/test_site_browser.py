"""The published demo site in a real browser: headless Chromium driven by Playwright.

Every page loads without console errors; the version switcher keeps the reader on the same
page; old releases say so; every image has alt text; axe-core finds no serious or critical
WCAG 2.2 AA violation.  Skipped where Chromium (Debian package ``chromium``) or the
``axe-core`` npm package is not installed (``bash scripts/install.sh test`` installs both).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed"),
]


@pytest.fixture(scope="module")
def server(demo_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(demo_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def pages_of(site: Path, version: str) -> list[str]:
    base = site / "v" / version
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*.html"))


def test_every_page_loads_without_console_errors(browser, server: str, demo_site: Path) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error"
            else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    for rel in pages_of(demo_site, "2026.2"):
        resp = page.goto(f"{server}/v/2026.2/{rel}")
        assert resp is not None and resp.ok, rel
        page.wait_for_load_state("networkidle")
        assert not errors, f"{rel}: {errors}"
    page.close()


def test_switcher_moves_between_releases_on_the_same_page(browser, server: str) -> None:
    page = browser.new_page()
    page.goto(f"{server}/v/2026.2/rounds/demo/tier2_case_review.html")
    select = page.locator("#sqa-version-select")
    select.wait_for()
    assert "2026.1" in select.inner_text() and "2026.2 (latest)" in select.inner_text()
    page.select_option("#sqa-version-select", label="2026.1")
    page.wait_for_url("**/v/2026.1/rounds/demo/tier2_case_review.html")
    page.close()


def test_old_release_says_which_version_is_latest(browser, server: str) -> None:
    page = browser.new_page()
    page.goto(f"{server}/v/2026.1/index.html")
    notice = page.locator("[data-sqa-notice]")
    notice.wait_for(state="visible")
    assert "You are reading version 2026.1; the latest is 2026.2" in notice.inner_text()
    page.goto(f"{server}/v/2026.2/index.html")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-sqa-notice]").is_hidden()
    page.close()


def test_every_image_has_alt_text(browser, server: str, demo_site: Path) -> None:
    page = browser.new_page()
    for rel in pages_of(demo_site, "2026.2"):
        page.goto(f"{server}/v/2026.2/{rel}")
        missing = page.evaluate(
            "() => Array.from(document.images).filter(i => !(i.getAttribute('alt') || '')"
            ".trim()).length")
        assert missing == 0, rel
    page.close()


@pytest.mark.skipif(not AXE.exists(), reason="axe-core (npm) is not installed")
def test_axe_finds_no_serious_or_critical_wcag_violations(browser, server: str,
                                                          demo_site: Path) -> None:
    page = browser.new_page()
    problems = []
    for rel in pages_of(demo_site, "2026.2"):
        page.goto(f"{server}/v/2026.2/{rel}")
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})")
        for v in result["violations"]:
            if v["impact"] in ("serious", "critical"):
                problems.append(f"{rel}: {v['id']} ({v['impact']}): {v['help']} "
                                f"[{len(v['nodes'])} node(s)]")
    page.close()
    assert not problems, "\n".join(problems)
