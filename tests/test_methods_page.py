"""The Methods page (issue 15, item 4): every technique used on any page, with its source, why
change is compared unweighted while headlines are weighted, and how to rerun a round."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = (ROOT / "site" / "methods.qmd").read_text("utf-8")

#: (technique as the page names it, its source as the page cites it)
TECHNIQUES = [
    ("Wilson score interval", "Wilson 1927"),
    ("design-weighted shares", "Kish 1965"),
    ("Kish's effective sample size", "Kish 1965"),
    ("Newcombe's hybrid score interval", "Newcombe 1998"),
    ("MOVER", "Zou & Donner 2008"),
    ("Fisher's exact test", "Newcombe 1998"),
    ("Fleiss' kappa", "Fleiss 1971"),
    ("Gwet's AC1", "Gwet 2008"),
    ("Krippendorff's alpha", "Krippendorff 2011"),
    ("Cohen's weighted kappa", "Cohen 1968"),
    ("funnel plot", "Spiegelhalter 2005"),
    ("exact binomial", "Spiegelhalter 2005"),
    ("XmR charts", "Wheeler & Chambers 1992"),
    ("Making\nData Count", "NHS England / NHS Improvement"),
    ("Kaplan-Meier", "Kaplan & Meier 1958"),
    ("censored", "Kaplan & Meier 1958"),
    ("odds ratios", "Firth 1993"),
    ("Firth's penalised\nlikelihood", "Heinze & Schemper 2002"),
    ("stratified random samples", "Cochran 1977"),
    ("sample fingerprint", "SHA-256"),
    ("disclosure-control convention", "Department for Education"),
    ("minimum group size", "too few to report"),
    ("consistently meets", "NHS England / NHS Improvement 2019"),
]


def section(title: str) -> str:
    """The text of the section ``## title`` of the Methods page."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", METHODS, re.M | re.S)
    assert m, f"the Methods page has no section {title!r}"
    return m.group(1)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", ""))


@pytest.mark.parametrize(("technique", "source"), TECHNIQUES)
def test_the_methods_page_names_each_technique_with_its_source(technique: str,
                                                              source: str) -> None:
    paragraphs = [flat(p) for p in METHODS.split("\n\n")]
    found = [p for p in paragraphs if flat(technique).casefold() in p.casefold()]
    assert found, f"the Methods page does not name {technique!r}"
    sections = [flat(s) for s in re.split(r"^## ", METHODS, flags=re.M)]
    home = [s for s in sections if flat(technique).casefold() in s.casefold()]
    assert any(source in s for s in home), f"{technique!r} is named without {source!r}"


def test_the_methods_page_says_why_change_is_unweighted_and_headlines_weighted() -> None:
    text = flat(section("Weighted headlines, unweighted change"))
    for words in ("weighted", "unweighted", "Change since the last audit", "compare_rounds",
                  "same design", "MOVER", "published 95% intervals"):
        assert words in text, words


def test_the_methods_page_says_how_to_rerun_a_round() -> None:
    text = section("How to rerun this round")
    for words in ("sqa run rounds/<round>.yml", "sqa publish --version X", "rounds/demo.yml",
                  "`previous`", "`targets`", "`prepare`", "parameters", "src/analysis/",
                  "schemas.py", "[Data dictionary](dictionary.qmd)", "round.json"):
        assert words in text, words


def test_the_methods_page_links_the_glossary() -> None:
    assert "[Glossary](glossary.qmd)" in METHODS
