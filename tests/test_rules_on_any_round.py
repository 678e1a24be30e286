"""Property tests: the reporting rules hold on any valid round, not only the demo.

Random small and awkward tier-2 rounds (services of 0 to 9 cases, one or two auditors, all
met, none met, answers at random) over 25 seeds: every table and sentence the review makes is
checked against rules 1 and 3 of ``analysis.reporting``. Before the rules were made code, the
same checks found "1 of 1" and "0 of 1" results for single cases, "2 of 3" counts with a
percentage, and "no evidence of change" for intervals that span no change.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis import review as rv
from analysis import thresholds as th
from analysis.findings import Finding, FindingsLog
from analysis.reporting import review as rr
from analysis.reporting import thresholds as rt
from tests.test_review import SCALE, STD, frame_of, returns

SERVICES = ["partnership_triage", "first_response_team", "tier2_social_work", "mat_panel",
            "school_map", "health_visiting"]
ANSWERS = ["yes", "partly", "no", "not_applicable", "insufficient_information"]
COUNT_RE = re.compile(r"\b\d+ of (?:the )?\d+\b|\d\s*%|\bCI\b|interval")
BANNED = re.compile(r"no difference|no evidence|no clear difference|\bnever\b|\balways\b")


def random_round(seed: int, prefix: str = "") -> list[dict]:
    rng = np.random.default_rng(seed)
    mode = ["random", "all met", "none met", "one auditor"][seed % 4]
    cases = []
    for s in SERVICES:
        for i in range(int(rng.integers(0, 10))):
            auditors = 1 if mode == "one auditor" else int(rng.integers(1, 3))
            ans = {"all met": ["yes"], "none met": ["no"]}.get(mode, ANSWERS)
            cases.append({"id": f"{prefix}{s}-{seed}-{i}", "service": s, "auditors": [
                {k: str(rng.choice(ans)) for k in STD.standard_keys} for _ in range(auditors)]})
    return cases


def small_groups(results: pd.DataFrame) -> pd.DataFrame:
    return results[results["n"] < 5]


@pytest.mark.parametrize("seed", range(25))
def test_no_group_under_five_gets_a_count_met_share_or_interval(seed: int) -> None:
    fr = frame_of(random_round(seed))
    res = rv.standard_results(fr, STD)
    for r in small_groups(res).itertuples():
        assert not COUNT_RE.search(r.text), r.text
        assert "too few to report" in r.text or r.n == 0, r.text
    shown = rr.results_display(res)
    for (_, row), n in zip(shown.iterrows(), res["n"], strict=True):
        if 0 < n < 5:
            assert not COUNT_RE.search(" ".join(map(str, row.iloc[:-1]))), row.to_dict()
    matrix = rr.standards_matrix(res)
    for cell, n in zip(matrix.to_numpy().ravel(), res.pivot(
            index="group_label", columns="standard_label", values="n").reindex(
            index=matrix.index, columns=matrix.columns).to_numpy().ravel(), strict=True):
        if 0 < n < 5:
            assert not COUNT_RE.search(str(cell)), cell
    log = FindingsLog("r", "p")
    for r in res.to_dict("records"):
        log.add(Finding(r["finding_id"], text=r["text"], successes=r["successes"], n=r["n"],
                        estimate=r["estimate"], ci_low=r["ci_low"], ci_high=r["ci_high"]),
                show=False)
    df = log.frame()
    small = df[df["n"] < 5]
    assert small[["successes", "estimate", "ci_low", "ci_high"]].isna().all().all()
    assert (small["reason"] != "").all()


@pytest.mark.parametrize("seed", range(25))
def test_tier_and_theme_tables_follow_the_minimum_on_any_round(seed: int) -> None:
    fr = frame_of(random_round(seed))
    tr = rv.tier_results(fr)
    for r in tr.itertuples():
        if 0 < r.n < 5:
            assert not COUNT_RE.search(r.text), r.text
    for cell in rr.tier_display(tr).iloc[:, 2:].to_numpy().ravel():
        text = str(cell)
        if "too few" in text:
            assert not COUNT_RE.search(text.split(":")[-1]), text


@pytest.mark.parametrize("seed", range(25))
def test_change_words_follow_interval_and_test_on_any_pair_of_rounds(seed: int) -> None:
    _, a = returns(random_round(seed, "p"))
    _, b = returns(random_round(seed + 100, "c"))
    ch = rv.compare_rounds(rv.case_findings(b, STD, SCALE), rv.case_findings(a, STD, SCALE),
                           STD)
    for r in ch.itertuples():
        assert not BANNED.search(r.text), r.text
        if "rose" in r.text or "fell" in r.text:
            assert r.p_value < 0.05 and (r.ci_low > 0 or r.ci_high < 0), r.text
        if min(r.n1, r.n2) < 5:
            assert not re.search(r"\d+ of \d+", r.text), r.text


@pytest.mark.parametrize("seed", range(25))
def test_shares_by_group_follow_the_minimum_on_any_round(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for g in ["police", "school", "health", "housing", "voluntary"]:
        n = int(rng.integers(0, 12))
        rows += [{"referral_source": g, "appropriate": bool(rng.random() < 0.7),
                  "design_weight": 1.0} for _ in range(n)]
    if not rows:
        return
    df = pd.DataFrame(rows)
    by = th.appropriateness_by(df, "referral_source")
    for (_, row), n in zip(rt.share_display(by).iterrows(), by["n"], strict=True):
        if n < 5:
            assert not COUNT_RE.search(" ".join(map(str, row.iloc[1:4]))), row.to_dict()
    for r in by.itertuples():
        text = th.share_sentence(r.successes, r.n, r.estimate, r.ci_low, r.ci_high,
                                 "audited contacts were judged appropriate")
        if r.n < 5:
            assert not COUNT_RE.search(text), text
    funnel = th.funnel_table(df, "referral_source", "appropriate", min_n=5)
    assert (funnel["n"] >= 5).all()
    assert not BANNED.search(th.funnel_reading(funnel))
