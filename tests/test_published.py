"""Tests of data/published: the figures from the domain documents, checked against the text.

Every row cites its document and section; the tests check that each table is tidy and
complete, that the Hackney 2011 sample adds up to the report's 29 cases and agrees with the
per-service findings, and - where the source documents are available (the project's shared
domain folder, ``../shared/domain/seeds``, or ``SQA_SEEDS_DIR``) - that every quote appears
verbatim in its document (after whitespace normalisation) and every number in its quote.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import thresholds
from analysis.reporting import thresholds as rt
from analysis.schemas import load_standards

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "data" / "published"
FILES = {
    "hackney_2011_sample.csv": ["service", "service_label", "cases_audited", "quote", "source",
                                "document", "section", "page"],
    "hackney_2011_findings.csv": ["service", "service_label", "standard", "cases_met",
                                  "cases_judged", "judgement", "reading", "quote", "source",
                                  "document", "section", "page"],
    "worcestershire_2016_17.csv": ["topic", "measure", "area", "period", "value", "unit",
                                   "numerator", "denominator", "denominator_label", "quote",
                                   "source", "document", "section"],
    "national_benchmarks.csv": ["measure", "value", "unit", "year", "area", "note", "quote",
                                "source", "document", "section"],
}
JUDGEMENTS = {"count", "no_count", "not_generalisable", "single_case_observation"}


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(PUBLISHED / name, dtype={"standard": "string"})


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def seeds_dir() -> Path | None:
    for cand in (os.environ.get("SQA_SEEDS_DIR"), ROOT.parent / "shared" / "domain" / "seeds"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


@pytest.fixture(scope="module")
def seed_text() -> dict[str, str]:
    """Normalised text of each cited document, keyed by the ``document`` column's value."""
    folder = seeds_dir()
    if folder is None:
        pytest.skip("the domain documents (shared/domain/seeds) are not available; set "
                    "SQA_SEEDS_DIR to check the quotes against them")
    out = {}
    for name in FILES:
        for doc in read(name)["document"].unique():
            path = folder / Path(doc).name
            assert path.is_file(), f"{name} cites {doc}, which is not in {folder}"
            out[doc] = path.read_text("utf-8")
    return out


# --------------------------------------------------------------------------------------
# Shape: tidy tables, every row cited
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_published_table_has_its_columns_and_every_row_cites_its_source(name: str
                                                                              ) -> None:
    df = read(name)
    assert list(df.columns) == FILES[name]
    assert len(df) > 0
    for col in ("quote", "source", "document", "section"):
        assert df[col].notna().all() and (df[col].astype(str).str.strip() != "").all(), col
    assert df["document"].str.match(r"^seeds/\d{3}_[0-9a-f]{16}\.txt$").all()


def test_readme_explains_every_file_and_the_citation_convention() -> None:
    text = (PUBLISHED / "README.md").read_text("utf-8")
    for name in FILES:
        assert name in text
    assert "document" in text and "section" in text and "quote" in text


# --------------------------------------------------------------------------------------
# Hackney 2011
# --------------------------------------------------------------------------------------


def test_hackney_sample_adds_up_to_the_29_cases_of_the_report() -> None:
    s = read("hackney_2011_sample.csv")
    assert int(s["cases_audited"].sum()) == 29
    assert dict(zip(s["service"], s["cases_audited"], strict=True)) == {
        "mat_yprrp": 5, "partnership_triage": 9, "tier2_social_work": 4,
        "first_response_team": 6, "family_intervention_project": 3, "school_map": 1,
        "health_visiting": 1}


def test_hackney_findings_use_the_standard_keys_of_the_template() -> None:
    f = read("hackney_2011_findings.csv")
    keys = set(load_standards().standard_keys)
    std = f["standard"].dropna()
    assert set(std) <= keys
    assert set(f["judgement"]) <= JUDGEMENTS
    assert f["standard"].isna().sum() == (f["judgement"] == "not_generalisable").sum()
    assert not f.duplicated(["service", "standard"]).any()


def test_hackney_counts_agree_with_the_sample_and_stay_within_it() -> None:
    f = read("hackney_2011_findings.csv")
    s = read("hackney_2011_sample.csv").set_index("service")["cases_audited"]
    counted = f[f["judgement"].isin(["count", "single_case_observation"])]
    assert counted["cases_met"].notna().all() and counted["cases_judged"].notna().all()
    assert (counted["cases_met"] <= counted["cases_judged"]).all()
    for r in counted.itertuples():
        assert r.cases_judged == s[r.service], r
    none = f[f["judgement"] == "no_count"]
    assert none["cases_met"].isna().all() and none["cases_judged"].isna().all()
    for r in f[f["judgement"] == "not_generalisable"].itertuples():
        assert r.cases_judged == s[r.service] == 1


@pytest.mark.parametrize(("service", "standard", "met", "judged"), [
    ("partnership_triage", "referral_appropriate", 8, 9),   # "all case but one case"
    ("first_response_team", "referral_appropriate", 2, 6),  # "two thirds ... not appropriate"
    ("tier2_social_work", "referral_appropriate", 3, 4),    # "most", one exception named
    ("tier2_social_work", "appropriate_tier", 3, 4),
    ("partnership_triage", "safeguarding_acted_on", 9, 9),
    ("mat_yprrp", "referral_appropriate", 5, 5),
    ("family_intervention_project", "tier3_consultation", 3, 3),
])
def test_hackney_judgements_are_encoded_as_the_report_words_them(service: str, standard: str,
                                                                 met: int, judged: int) -> None:
    f = read("hackney_2011_findings.csv")
    r = f[(f["service"] == service) & (f["standard"] == standard)].iloc[0]
    assert (int(r.cases_met), int(r.cases_judged), r.judgement) == (met, judged, "count")


def test_hackney_quotes_appear_verbatim_in_their_service_section(seed_text: dict[str, str]
                                                                 ) -> None:
    """Each quote is in the report (whitespace normalised), inside its service's section and
    on the page given (the transcription ends each page with its printed number)."""
    doc = read("hackney_2011_findings.csv")["document"].iloc[0]
    body = seed_text[doc].split("Transcription:", 1)[1]
    pages = [(int(m.group(2)), norm(m.group(1))) for m in
             re.finditer(r"(.*?) (\d)[ \t]*(?:\n|$)", body, re.S)]
    full = " ".join(t for _, t in pages)
    starts, pos = [], 0
    for num, t in pages:
        starts.append((pos, num))
        pos += len(t) + 1
    heads = {"MAT meetings and YPRRP": "MAT meetings and YPRRP A total of 5",
             "Triage": "Triage A total of 9",
             "Tier 2 Social work services": "Tier 2 Social work services A total of 4",
             "First Response Team": "Cases referred to CSC First Response Team from Tier 2",
             "YOT based FiPs": "YOT based FiPs Three cases",
             "School-based": "School-based multi-agency panel meeting Only one",
             "Health Visiting": "Health Visiting services Only one", "Process": "Process The"}
    ends = sorted(full.index(h) for h in [*heads.values(), "Recommendations for future action"])

    def check(row: pd.Series) -> None:
        key = next(k for k in heads if row["section"].endswith(k) or row["section"] == k
                   or k in row["section"].split(": ")[-1])
        i = full.index(heads[key])
        j = min(e for e in ends if e > i)
        k = full.find(norm(row["quote"]), i)
        assert 0 <= k < j, f"quote not in section {key!r}: {row['quote']}"
        page = [num for st, num in starts if st <= k][-1]
        assert page == row["page"], (row["quote"], page)

    for name in ("hackney_2011_findings.csv", "hackney_2011_sample.csv"):
        for _, row in read(name).iterrows():
            check(row)
    assert "(29 in total)" in full


def test_hackney_sample_counts_appear_in_their_quotes() -> None:
    words = {1: ("1", "one"), 3: ("3", "three"), 4: ("4",), 5: ("5",), 6: ("6",), 9: ("9",)}
    for r in read("hackney_2011_sample.csv").itertuples():
        q = r.quote.lower()
        assert any(re.search(rf"\b{w}\b", q) for w in words[r.cases_audited]), r.quote


# --------------------------------------------------------------------------------------
# Worcestershire 2016/17
# --------------------------------------------------------------------------------------


WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def number_in(value: float, text: str) -> bool:
    """The number written in the text: as digits (with or without thousands commas) or, for
    small whole numbers, as a word ("Four Multi-Agency Case File Audits")."""
    v = f"{value:g}"
    forms = {v, f"{int(value):,}" if float(value).is_integer() else v}
    if float(value).is_integer() and int(value) in WORDS:
        forms.add(WORDS[int(value)])
    return any(re.search(rf"(?<![\d.,\w]){re.escape(f)}(?![\d\w]|\.\d)", text, re.I)
               for f in forms)


def test_worcestershire_every_value_appears_in_its_quote() -> None:
    for r in read("worcestershire_2016_17.csv").itertuples():
        assert number_in(float(r.value), r.quote), (r.measure, r.value, r.quote)
        if r.unit == "percent":
            assert 0 <= r.value <= 100


def test_worcestershire_quotes_appear_verbatim_in_the_annual_report(seed_text: dict[str, str]
                                                                    ) -> None:
    w = read("worcestershire_2016_17.csv")
    text = norm(seed_text[w["document"].iloc[0]])
    for q in w["quote"]:
        assert norm(q) in text, q
    for sec in ("3.2.2 Qualitative Data", "Appendix 6 Performance Data (March 2017)"):
        assert sec in text


@pytest.mark.parametrize(("measure", "period", "value", "denominator"), [  # not Appendix 6
    ("s175 audit returns received", "2016/17", 219, None),
    ("s175 audit templates circulated to schools", "2016/17", 290, None),
    ("s175 audit return rate", "2016/17", 76, 290),
    ("Cause for Concern Notifications whose quality was graded good", "February 2017", 70, 53),
    ("survey respondents (managers and practitioners)", "2016/17", 192, None),
    ("respondents aware of the escalation guidance", "2016/17", 83, 192),
    ("respondents who had used the escalation process", "2016/17", 19, 192),
    ("concerns resolved as a result of the escalation", "2016/17", 53, None),
    ("return interviews audited (random sample)", "2016/17", 30, None),
    ("Family Front Door contacts in an average month", "year ending 31 March 2017", 800, None),
    ("domestic abuse incidents recorded in an average month", "year ending 31 March 2017", 580,
     None),
    ("children in need", "March 2017", 4067, None),
    ("looked after children", "March 2017", 764, None),
    ("children with child protection plans", "March 2017", 498, None),
])
def test_worcestershire_key_figures(measure: str, period: str, value: float,
                                    denominator: int | None) -> None:
    w = read("worcestershire_2016_17.csv")
    r = w[(w["measure"] == measure) & (w["period"] == period)]
    if len(r) > 1:  # Appendix 2 and Appendix 6 both give March 2017 figures: use Appendix 2
        r = r[r["section"].str.startswith("Appendix 2")]
    assert len(r) == 1, measure
    r = r.iloc[0]
    assert r.value == value
    if denominator is None:
        assert pd.isna(r.denominator) or r.unit == "percent"
    else:
        assert int(r.denominator) == denominator


def test_worcestershire_return_rate_is_219_of_290() -> None:
    w = read("worcestershire_2016_17.csv")
    r = w[w["measure"] == "s175 audit return rate"].iloc[0]
    assert (int(r.numerator), int(r.denominator)) == (219, 290)
    assert round(100 * 219 / 290) == r.value == 76


def test_worcestershire_assessment_timeliness_against_the_national_benchmark() -> None:
    w = read("worcestershire_2016_17.csv")
    s17 = w[w["measure"] == "Section 17 assessments completed in 45 days"].set_index("period")
    assert s17.loc["2016/17 year to date", "value"] == 68
    assert s17.loc["previous year (2015/16)", "value"] == 80
    assert s17.loc["2015/16", "value"] == 83.5
    assert s17.loc["2015/16", "area"].startswith("England")


# --------------------------------------------------------------------------------------
# National benchmarks (read by the threshold-consistency notebook)
# --------------------------------------------------------------------------------------


def test_national_benchmarks_give_the_threshold_notebook_the_45_day_figure_only() -> None:
    b = thresholds.load_benchmarks(PUBLISHED / "national_benchmarks.csv")
    got = rt.benchmark_for(b, "assessment_45")
    assert got is not None and got["value"] == pytest.approx(0.835)
    assert got["year"] == "2015/16" and "Worcestershire" in got["source"]
    # no national re-referral or conversion figure is in the documents: no line is drawn
    assert rt.benchmark_for(b, "rereferral") is None
    assert rt.benchmark_for(b, "conversion") is None


def test_national_benchmarks_match_the_figures_quoted_in_the_annual_report() -> None:
    b = read("national_benchmarks.csv").set_index("measure")
    assert b.loc["Section 17 assessments completed within 45 days", "value"] == 83.5
    assert b.loc["Children subject to a child protection plan for a second time", "value"] == 18
    for r in b.itertuples():
        assert number_in(float(r.value), r.quote) and "national benchmark" in r.quote
