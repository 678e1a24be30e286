"""Release verification: a rendered release goes live only when every page is whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import verify
from analysis.render import VERSION_TOKEN

PNG = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4" * 2


def page(title: str, body: str = "", head: str = "") -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><title>{title} – Site</title>{head}</head>"
            f"<body><main>{body}</main></body></html>")


@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, Path, dict[str, verify.Expectation]]:
    """A small good release: an index and one round page with a finding and a figure."""
    out = tmp_path / "stage" / "out"
    (out / "rounds" / "r1").mkdir(parents=True)
    (out / "style.css").write_text("body { background: url(bg.png); }")
    (out / "bg.png").write_bytes(b"\x89PNG")
    (out / "index.html").write_text(page(
        "Home", '<a href="rounds/r1/summary.html#F-1">a finding</a>'
                '<a href="../../versions.json">versions</a>'
                '<a href="../../latest/index.html">latest</a>',
        '<link rel="stylesheet" href="style.css"><link rel="canonical" '
        'href="https://example.org/latest/index.html">'))
    (out / "rounds" / "r1" / "summary.html").write_text(page(
        "Summary of the round",
        f'<div class="finding" id="F-1"><p>Text</p><a href="#F-1">Finding F-1</a></div>'
        f'<figure><img src="{PNG}" alt="A bar chart"></figure>'
        '<a href="../../index.html">home</a>'))
    (out / "search.json").write_text(json.dumps(
        [{"href": "index.html"}, {"href": "rounds/r1/summary.html#f-1"}]))
    expect = {"index.html": verify.Expectation("index.html", "Home"),
              "rounds/r1/summary.html": verify.Expectation(
                  "rounds/r1/summary.html", "Summary of the round", ["F-1"], figures=1)}
    return out, tmp_path / "site", expect


def check(out: Path, site: Path, expect: dict, engine: str = "quarto") -> list[str]:
    return verify.check_release(out, sorted(expect), expect, engine, site, set(), "1.0")


def test_a_whole_release_passes(release) -> None:
    assert check(*release) == []


def test_a_missing_or_empty_page_is_named(release) -> None:
    out, site, expect = release
    (out / "index.html").unlink()
    (out / "rounds" / "r1" / "summary.html").write_text("  \n")
    problems = check(out, site, expect)
    assert "index.html: missing: the renderer wrote no page" in problems
    assert "rounds/r1/summary.html: empty file" in problems


def test_a_page_without_its_title_findings_or_figures_is_named(release) -> None:
    out, site, expect = release
    (out / "rounds" / "r1" / "summary.html").write_text(page("Untitled", "<p>Nothing</p>"))
    problems = " | ".join(check(out, site, expect))
    assert "does not name the page ('Summary of the round')" in problems
    assert "1 finding id(s) missing: F-1" in problems
    assert "1 of 1 figure(s) missing" in problems


def test_an_image_with_no_data_or_no_alt_text_is_a_broken_figure(release) -> None:
    out, site, expect = release
    (out / "rounds" / "r1" / "summary.html").write_text(page(
        "Summary of the round", '<div id="F-1"></div><img src="data:image/png;base64,">'))
    problems = " | ".join(check(out, site, expect))
    assert "1 of 1 figure(s) missing" in problems
    assert "1 image(s) without alt text" in problems


def test_a_reference_that_does_not_resolve_inside_the_release_is_named(release) -> None:
    out, site, expect = release
    (out / "index.html").write_text(page(
        "Home", '<img src="figure-9.png" alt="x"><a href="nowhere.html">x</a>'
                '<a href="rounds/r1/summary.html#NO-SUCH-FINDING">x</a>'
                '<a href="../../../outside.html">x</a><a href="#gone">x</a>',
        '<script src="lib/missing.js"></script>'))
    (out / "style.css").write_text("@font-face { src: url(fonts/gone.woff); }")
    problems = " | ".join(check(out, site, expect))
    for bad in ("image figure-9.png", "link nowhere.html", "#NO-SUCH-FINDING",
                "../../../outside.html", "link #gone", "script lib/missing.js",
                "style.css: 1 broken url(): fonts/gone.woff"):
        assert bad in problems, bad


def test_links_to_an_earlier_release_must_find_it_on_the_site(release) -> None:
    out, site, expect = release
    (out / "index.html").write_text(page("Home", '<a href="../../v/0.9/index.html">old</a>'))
    assert "link ../../v/0.9/index.html" in " ".join(check(out, site, expect))
    (site / "v" / "0.9").mkdir(parents=True)
    (site / "v" / "0.9" / "index.html").write_text(page("Old"))
    assert verify.check_release(out, sorted(expect), expect, "quarto", site, {"0.9"},
                                "1.0") == []


def test_a_page_that_loads_a_script_or_font_from_another_site_is_refused(release) -> None:
    out, site, expect = release
    (out / "index.html").write_text(page(
        "Home", head='<script src="https://cdn.jsdelivr.net/npm/jquery.min.js"></script>'))
    (out / "style.css").write_text('@import "https://fonts.googleapis.com/css2?family=X";')
    problems = " | ".join(check(out, site, expect))
    assert "index.html: loads a script from another site" in problems
    assert "style.css: imports a stylesheet from another site" in problems


def test_an_unfilled_release_placeholder_is_refused(release) -> None:
    out, site, expect = release
    (out / "index.html").write_text(page("Home", f"<p>Version {VERSION_TOKEN}</p>"))
    assert any("release placeholder(s) not filled" in p for p in check(out, site, expect))


def test_with_quarto_every_page_must_be_in_the_search_index(release) -> None:
    out, site, expect = release
    (out / "search.json").write_text(json.dumps([{"href": "index.html"}]))
    assert check(out, site, expect) == [
        "rounds/r1/summary.html: not in search.json, so site search cannot find it"]
    assert check(out, site, expect, engine="nbconvert") == []
    (out / "search.json").unlink()
    assert "search.json: missing" in check(out, site, expect)[0]


def test_a_link_to_a_missing_page_is_not_named_again_on_every_page(release) -> None:
    out, site, expect = release
    (out / "rounds" / "r1" / "summary.html").unlink()
    assert check(out, site, expect) == [
        "rounds/r1/summary.html: missing: the renderer wrote no page"]


def test_a_heading_run_into_the_paragraph_after_it_is_named(release, tmp_path: Path) -> None:
    out, site, expect = release
    nb = tmp_path / "summary.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": [
        "## What we found\n", "Most cases met the standard.\n", "```\n# not a heading\n```\n",
        "### Why it matters {#why}\n"]}]}))
    assert verify.notebook_headings(nb) == ["whatwefound", "whyitmatters"]
    expect["rounds/r1/summary.html"].headings = verify.notebook_headings(nb)
    summary = out / "rounds" / "r1" / "summary.html"
    html = summary.read_text()
    summary.write_text(html.replace("<main>", "<main><h2>What we found¶</h2>"
                                              "<h3 id='why'>Why it &lsquo;matters&rsquo;</h3>"))
    assert check(out, site, expect) == []
    summary.write_text(html.replace("<main>", "<main><h2>What we found Most cases met the "
                                              "standard. ### Why it matters</h2>"))
    assert check(out, site, expect) == [
        "rounds/r1/summary.html: 2 of 2 heading(s) of the notebook are not headings of the "
        "page (lost, or run into the text after them)"]


def test_the_words_of_a_page_are_those_of_its_main_content_without_scripts() -> None:
    from analysis.verify import WORD_BUDGET, main_words

    page = ("<html><body><nav>Home Findings Methods</nav><main><h1>Title here</h1>"
            "<p>Three more words</p><script>var a = 1;</script></main></body></html>")
    assert main_words(page) == 5
    assert main_words("<html><body><p>no main here</p></body></html>") == 3
    assert WORD_BUDGET == 6000
