"""The glossary (issue 15, item 3): one list of terms, a Glossary page with an anchor per term,
and on every page the first use of each term linked to it and each abbreviation spelled out
on its first use; nothing else on the page changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import glossary as g

GLOSS = "../../glossary.html"


def page(main: str, before: str = "", after: str = "") -> str:
    return (f"<!DOCTYPE html><html><head><title>Kappa page</title></head><body>{before}"
            f"<main id=\"main\">{main}</main>{after}</body></html>")


def links(html_text: str) -> list[tuple[str, str]]:
    """(href, text) of the glossary links of a page, in order."""
    return re.findall(r'<a class="sqa-gloss" href="([^"]+)">(.*?)</a>', html_text)


# ------------------------------------------------------------------ the list of terms


def test_every_term_has_an_id_a_definition_a_source_and_a_section() -> None:
    terms = g.load_glossary()
    assert len({t.id for t in terms}) == len(terms)
    for t in terms:
        assert t.definition and t.source and t.section, t.id
        sentences = len(re.findall(r"[.!?](\s|$)", t.definition))
        assert 1 <= sentences <= 4, (t.id, t.definition)
        assert t.forms or (t.abbr and t.expansion), t.id


def test_the_glossary_covers_the_terms_and_abbreviations_the_pages_use() -> None:
    ids = {t.id for t in g.load_glossary()}
    assert {"kappa", "weighted-kappa", "gwet-ac1", "confidence-interval",
            "effective-sample-size", "design-weight", "censored", "kaplan-meier",
            "xmr-chart", "common-cause-variation", "special-cause-variation",
            "process-limits", "funnel-plot", "odds-ratio", "level-of-need", "mover-interval",
            "assurance", "re-referral", "section-47", "child-protection-plan", "annex-a",
            "early-help"} <= ids
    abbrs = {t.abbr: t.expansion for t in g.load_glossary() if t.abbr}
    assert abbrs["MAT"] == "multi-agency team"  # Hackney 2011: "Multi-Agency Team Panels"
    assert abbrs["YPRRP"] == "Youth Partnership Resource and Review Panel"
    assert {"FRT", "FiP", "MAP", "CSC", "LADO", "DASH", "MASH", "CIN", "CP", "EH", "ILACS",
            "SPC"} <= set(abbrs)


@pytest.mark.parametrize(("yml", "why"), [
    ("terms: [{id: a, term: A, forms: [x], definition: d, source: s},"
     " {id: a, term: B, forms: [y], definition: d, source: s}]", "used twice"),
    ("terms: [{id: a, term: A, forms: [x], definition: d}]", "a definition and a source"),
    ("terms: [{id: a, term: A, abbr: AB, definition: d, source: s}]", "an expansion"),
    ("terms: [{id: a, term: A, forms: [Kappa], definition: d, source: s},"
     " {id: b, term: B, forms: [kappa], definition: d, source: s}]", "also a form of 'a'"),
])
def test_a_broken_glossary_file_is_refused_saying_why(yml: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        g.load_glossary(yml)


def test_the_glossary_page_has_an_anchor_a_definition_and_a_source_for_every_term() -> None:
    md = g.glossary_markdown()
    assert md.startswith("---\ntitle: Glossary\n---")
    for t in g.load_glossary():
        assert md.count(f'<dt id="{t.id}">') == 1, t.id
    assert md.count("Source: ") == len(g.load_glossary())
    assert "## Abbreviations" in md and "(methods.html)" in md


# ------------------------------------------------------------------ links on first use


def test_the_first_use_of_a_term_links_to_its_entry_and_later_uses_do_not() -> None:
    out = g.link_terms(page("<p>Fleiss' kappa was 0.41.</p><p>The kappa of triage.</p>"), GLOSS)
    assert links(out) == [(f"{GLOSS}#kappa", "Fleiss' kappa")]
    assert "<p>The kappa of triage.</p>" in out


def test_a_linked_page_is_kept_by_its_content_and_unused_entries_are_pruned(tmp_path) -> None:
    """A no-change publish links nothing again: the cache gives exactly what ``link_terms``
    gives, a changed page is linked anew, and what a publish did not use is removed."""
    one = page("<p>Fleiss' kappa was 0.41.</p>")
    two = page("<p>The multi-agency team (MAT) met.</p>")
    cache = g.LinkCache(tmp_path / "links", "salt")
    assert cache.link(one, GLOSS) == g.LinkCache(tmp_path / "links", "salt").link(one, GLOSS) \
        == g.link_terms(one, GLOSS)
    assert cache.link(two, GLOSS) == g.link_terms(two, GLOSS)
    assert len(list((tmp_path / "links").glob("*.html"))) == 2
    later = g.LinkCache(tmp_path / "links", "salt")
    later.link(two, GLOSS)
    later.prune()
    assert len(list((tmp_path / "links").glob("*.html"))) == 1
    other = g.LinkCache(tmp_path / "links", "other code")
    assert other.link(two, GLOSS) == g.link_terms(two, GLOSS)


def test_a_link_cache_entry_of_the_older_key_scheme_is_a_miss_never_a_wrong_hit(
        tmp_path: Path) -> None:
    import hashlib

    one = page("<p>Fleiss' kappa was 0.41.</p>")
    h = hashlib.sha256(b"salt")
    for part in (GLOSS, one):
        h.update(b"\0" + part.encode())
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / f"{h.hexdigest()}.html").write_text("<p>stale</p>", "utf-8")
    cache = g.LinkCache(tmp_path / "links", "salt")
    assert cache.link(one, GLOSS) == g.link_terms(one, GLOSS)
    cache.prune()
    assert [p.read_text("utf-8") for p in (tmp_path / "links").iterdir()] == [
        g.link_terms(one, GLOSS)]


def test_the_longest_form_wins_and_each_term_is_linked_once() -> None:
    out = g.link_terms(page("<p>Weighted kappa, then kappa, then weighted shares.</p>"), GLOSS)
    assert links(out) == [(f"{GLOSS}#weighted-kappa", "Weighted kappa"),
                          (f"{GLOSS}#kappa", "kappa"),
                          (f"{GLOSS}#design-weight", "weighted shares")]


def test_forms_match_whole_words_in_any_case_with_either_apostrophe() -> None:
    out = g.link_terms(page("<p>Unweighted counts. Gwet&rsquo;s AC1 and XMR CHART.</p>"), GLOSS)
    assert links(out) == [(f"{GLOSS}#gwet-ac1", "Gwet\u2019s AC1"),
                          (f"{GLOSS}#xmr-chart", "XMR CHART")]


def test_an_abbreviation_is_spelled_out_on_its_first_use_and_marked() -> None:
    out = g.link_terms(page("<p>Cases from MAT panels and the YPRRP. MAT again.</p>"), GLOSS)
    assert ('Cases from multi-agency team (<a class="sqa-gloss" href="../../glossary.html#mat">'
            '<abbr title="multi-agency team">MAT</abbr></a>) panels') in out
    assert ("the Youth Partnership Resource and Review Panel (<a class=\"sqa-gloss\" "
            'href="../../glossary.html#yprrp"><abbr') in out
    assert out.count("multi-agency team") == 2  # the words and the abbr title, once
    assert "MAT again." in out


def test_an_abbreviation_starting_a_sentence_starts_it_with_a_capital() -> None:
    out = g.link_terms(page("<p>FiPs held three cases.</p><ul><li>MAT: five cases</li></ul>"),
                       GLOSS)
    assert "<p>Family intervention projects (" in out and "<abbr title=\"family " in out
    assert "<li>Multi-agency team (" in out


def test_an_abbreviation_already_spelled_out_is_not_spelled_out_twice() -> None:
    out = g.link_terms(page("<p>Multi-agency team (MAT) panel, then MAT.</p>"), GLOSS)
    assert out.count("ulti-agency team") == 2  # the page's words, the abbr title
    assert 'Multi-agency team (<a class="sqa-gloss"' in out


def test_abbreviations_match_exactly_and_never_inside_a_finding_id() -> None:
    out = g.link_terms(page("<p>A map of T2-FRT-REFERRAL and mat. FRT.</p>"), GLOSS)
    assert links(out) == [(f"{GLOSS}#frt", '<abbr title="First Response Team">FRT</abbr>')]
    assert "A map of T2-FRT-REFERRAL and mat. First Response Team (" in out


@pytest.mark.parametrize("markup", [
    "<h2>Kappa</h2>", "<h3 id='x'>MAT panels</h3>", "<a href='#k'>kappa</a>",
    "<code>kappa</code>", "<pre>kappa</pre>", "<table><thead><tr><th>kappa</th></tr></thead>"
    "</table>", "<nav><ul><li>kappa</li></ul></nav>", "<header><p>kappa</p></header>",
    "<footer class='sqa-provenance'><p>kappa</p></footer>",
    "<div class='sqa-version-bar'><span>kappa</span></div>",
    "<span aria-hidden=\"true\">kappa</span>", "<span class=\"visually-hidden\">kappa</span>",
    "<p class=\"finding-id\">Finding T2-MAT-KAPPA</p>", "<button>kappa</button>",
    "<script>var kappa = 1 < 2;</script>", "<!-- kappa -->", "<img alt=\"kappa\" src=\"k.png\">",
])
def test_text_outside_the_main_text_is_never_linked(markup: str) -> None:
    doc = page(markup + "<p>Then kappa.</p>")
    out = g.link_terms(doc, GLOSS)
    assert links(out) == [(f"{GLOSS}#kappa", "kappa")]  # the one in the paragraph after
    assert out.replace(f'<a class="sqa-gloss" href="{GLOSS}#kappa">kappa</a>', "kappa") == doc


def test_text_outside_main_is_left_alone_and_a_page_without_main_unchanged() -> None:
    doc = page("<p>Text.</p>", before="<p>kappa MAT</p>", after="<p>kappa</p>")
    assert g.link_terms(doc, GLOSS) == doc
    bare = "<html><body><p>kappa MAT</p></body></html>"
    assert g.link_terms(bare, GLOSS) == bare


def test_a_page_with_nothing_to_link_is_unchanged_byte_for_byte() -> None:
    doc = page('<div class="finding" id="T2-ALL-X"><p>Text &amp; more &#39;here&#39;, '
               '<img src="data:image/png;base64,AAAA" alt="a > b"></p></div>')
    assert g.link_terms(doc, GLOSS) == doc


def test_elements_and_ids_survive_linking() -> None:
    doc = page('<div class="finding" id="T2-ALL-REFERRAL"><p>In 6 of 9 cases (weighted) the '
               'MAT &amp; FRT agreed &lt;kappa&gt;.</p><p class="finding-id"><a '
               'href="#T2-ALL-REFERRAL">Finding T2-ALL-REFERRAL</a></p></div>')
    out = g.link_terms(doc, GLOSS)
    assert 'id="T2-ALL-REFERRAL"' in out and 'href="#T2-ALL-REFERRAL"' in out
    assert "&amp; First Response Team (" in out and "&lt;<a class" in out
    stripped = re.sub(r"<[^>]+>", "", out)
    assert "In 6 of 9 cases (weighted) the multi-agency team (MAT) & First Response Team" \
        in stripped.replace("&amp;", "&")


def test_words_used_in_another_sense_are_not_linked() -> None:
    out = g.link_terms(page("<p>The Quality Assurance Sub-committee reads each measure's "
                            "assurance.</p>"), GLOSS)
    assert links(out) == [(f"{GLOSS}#assurance", "assurance")]


def test_quartos_title_block_and_citation_appendix_are_not_linked() -> None:
    doc = page('<header id="title-block-header"><p>Kappa, MAT</p></header>'
               '<div id="quarto-appendix" class="default"><p>Quality Assurance, kappa</p></div>')
    assert g.link_terms(doc, GLOSS) == doc


def test_a_tier_is_linked_whole() -> None:
    out = g.link_terms(page("<p>Tier-2 services and tier 3.</p>"), GLOSS)
    assert links(out) == [(f"{GLOSS}#level-of-need", "Tier-2")]


def test_after_a_count_the_words_follow_the_letters_so_no_count_of_children_appears() -> None:
    """"3 CIN plans" must not become "3 child in need (CIN) plans", which reads as a count of
    three children (``analysis.reporting.check``, rule 1)."""
    from analysis.reporting.check import small_counts

    out = g.link_terms(page("<p>In 3 CIN plans and 4 CP plans.</p>"), GLOSS)
    text = re.sub(r"<[^>]+>", "", out)
    assert "3 CIN (child in need) plans and 4 CP (child protection) plans" in text
    assert not small_counts(text, 5)
