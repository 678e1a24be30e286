"""The board's view (issue 14): assurance against targets, headline findings by a stated rule,
trends across rounds and actions tracked to impact, on small hand-made rounds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from analysis import board as bd
from analysis.proportions import mover_difference, newcombe_interval
from analysis.reporting import board as words

COLUMNS = ["finding_id", "round", "page", "topic", "group", "measure", "successes", "n",
           "estimate", "ci_low", "ci_high", "method", "reason", "text"]


def _round(root: Path, name: str, date: str, rows: list[dict], previous: str | None = None,
           targets: dict | None = None, actions: list | None = None,
           series: list[dict] | None = None) -> None:
    out = root / "reports" / name / "outputs"
    out.mkdir(parents=True)
    rd = {"round": name, "title": f"Round {name}", "date": date, "notebooks": [],
          "previous": {"round": previous} if previous else None, "targets": targets or {},
          "actions": None}
    if actions is not None:
        (root / "rounds" / "actions").mkdir(parents=True, exist_ok=True)
        path = root / "rounds" / "actions" / f"{name}.yml"
        import yaml

        path.write_text(yaml.safe_dump(actions), "utf-8")
        rd["actions"] = f"rounds/actions/{name}.yml"
    (root / "reports" / name / "round.json").write_text(json.dumps(rd), "utf-8")
    with (out / "tier2_case_review_findings.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({"round": name, "page": "tier2_case_review", **r})
    if series is not None:
        with (out / "threshold_consistency_series.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, ["measure", "month", "numerator", "denominator", "rate"])
            w.writeheader()
            w.writerows(series)


def _f(fid: str, est: float | None, low: float | None, high: float | None, n: int = 30,
       measure: str = "", reason: str = "") -> dict:
    return {"finding_id": fid, "measure": measure or fid, "n": n,
            "estimate": "" if est is None else est, "ci_low": "" if low is None else low,
            "ci_high": "" if high is None else high, "reason": reason, "text": "t"}


TARGETS = {"referral_appropriate": {"at_least": 0.8}, "risk_assessed": {"at_least": 0.8},
           "held_too_low": {"at_most": 0.1}, "threshold_applied": {"at_least": 0.5}}


@pytest.fixture
def three_rounds(tmp_path: Path) -> Path:
    base = [_f("T2-ALL-REFERRAL-APPROPRIATE", 0.30, 0.18, 0.46, measure="Referral appropriate"),
            _f("T2-ALL-RISK-ASSESSED", 0.60, 0.42, 0.75),
            _f("T2-ALL-THRESHOLD-APPLIED", 0.90, 0.75, 0.97),
            _f("T2-TIER-HELD-TOO-LOW", 0.20, 0.09, 0.38),
            _f("T2-FRT-REFERRAL-APPROPRIATE", None, None, None, n=3,
               reason="fewer than 5 cases audited: too few to report")]
    _round(tmp_path, "r1", "2024-03-31", base, targets=TARGETS, actions=[
        {"id": "A1", "recommendation": "Referrals state the concern", "action": "A guide",
         "owner": "Early help", "due": "2024-09-30", "findings": ["T2-ALL-REFERRAL-APPROPRIATE"],
         "status": "completed"},
        {"id": "A2", "recommendation": "Risk assessed", "action": "Training",
         "owner": "Police", "due": "2024-12-31", "findings": ["T2-ALL-RISK-ASSESSED"],
         "status": "in progress"}])
    mid = [dict(r) for r in base]
    _round(tmp_path, "r2", "2025-03-31", mid, previous="r1", targets=TARGETS)
    last = [_f("T2-ALL-REFERRAL-APPROPRIATE", 0.85, 0.70, 0.93, measure="Referral appropriate"),
            _f("T2-ALL-RISK-ASSESSED", 0.62, 0.44, 0.77),
            _f("T2-ALL-THRESHOLD-APPLIED", 0.90, 0.75, 0.97),
            _f("T2-TIER-HELD-TOO-LOW", 0.20, 0.09, 0.38),
            _f("T2-FRT-REFERRAL-APPROPRIATE", None, None, None, n=3,
               reason="fewer than 5 cases audited: too few to report")]
    _round(tmp_path, "r3", "2026-03-31", last, previous="r2", targets=TARGETS)
    return tmp_path


def test_mover_difference_from_two_wilson_intervals_is_newcombes_method_10() -> None:
    from analysis.proportions import effective_interval

    l1, u1 = effective_interval(12, 30)
    l2, u2 = effective_interval(20, 25)
    assert mover_difference(0.4, l1, u1, 0.8, l2, u2) == pytest.approx(
        newcombe_interval(0.4, 30, 0.8, 25))


@pytest.mark.parametrize(("low", "high", "target", "status"), [
    (0.82, 0.95, ("at_least", 0.8), "meets"),
    (0.50, 0.79, ("at_least", 0.8), "misses"),
    (0.70, 0.90, ("at_least", 0.8), "hit_and_miss"),
    (0.02, 0.09, ("at_most", 0.1), "meets"),
    (0.11, 0.30, ("at_most", 0.1), "misses"),
    (0.05, 0.30, ("at_most", 0.1), "hit_and_miss"),
    (0.05, 0.30, None, "no_target"),
    (None, None, ("at_least", 0.8), "too_few"),
])
def test_assurance_is_read_from_the_whole_range_against_the_target(low, high, target,
                                                                   status) -> None:
    assert bd.assurance_of(low, high, target) == status


def test_each_round_is_compared_with_the_round_its_file_names_as_previous(three_rounds) -> None:
    board = bd.load_board(three_rounds)
    assert [r["round"] for r in board.rounds] == ["r1", "r2", "r3"]
    assert board.previous("r3")["round"] == "r2"
    assert board.previous("r1") is None
    assert board.next("r1")["round"] == "r2"


def test_a_supported_change_is_called_improving_and_an_unsupported_one_no_change(
        three_rounds) -> None:
    board = bd.load_board(three_rounds)
    st = {s.tracked.key: s for s in board.statuses["r3"]}
    assert st["referral_appropriate"].variation == "improving"
    assert st["risk_assessed"].variation == "no_change"
    assert st["referral_appropriate"].assurance == "hit_and_miss"
    assert {s.variation for s in board.statuses["r1"]} <= {"no_previous", "too_few"}


def test_headlines_follow_the_rule_risk_held_too_low_then_shortfalls_then_changes(
        three_rounds) -> None:
    board = bd.load_board(three_rounds)
    picked = [s.tracked.key for s in bd.headlines(board.statuses["r1"])]
    assert picked[0] == "held_too_low"  # interval above zero: risk held too low
    assert picked[1] == "referral_appropriate"  # whole interval below 80%: largest shortfall
    assert "risk_assessed" in picked
    assert len(picked) == len(set(picked)) <= 8
    r3 = [s.tracked.key for s in bd.headlines(board.statuses["r3"])]
    # misses its target, then a supported change, then (to make five) one that meets
    assert r3 == ["held_too_low", "risk_assessed", "referral_appropriate", "threshold_applied"]


def test_a_group_too_small_to_report_has_no_figures_on_the_board_pages(three_rounds) -> None:
    board = bd.load_board(three_rounds)
    for text in (words.summary_markdown(board, "r3"), words.trends_markdown(board)):
        assert "T2-FRT" not in text  # a service row is not tracked, and never a headline
    held = [s for s in board.statuses["r3"] if s.tracked.key == "held_too_low"][0]
    assert held.point.reportable


def test_summary_names_and_dates_the_previous_round_and_links_each_headline(
        three_rounds) -> None:
    board = bd.load_board(three_rounds)
    text = words.summary_markdown(board, "r3")
    assert "Round r2 (31 March 2025)" in text
    for s in bd.headlines(board.statuses["r3"]):
        fid = s.point.finding_id
        assert f"(tier2_case_review.html#{fid})" in text
    for code in ("meets", "hit_and_miss"):
        icon, said = words.ASSURANCE_WORDS[code]
        if any(s.assurance == code for s in board.statuses["r3"]):
            assert f'<span aria-hidden="true">{icon}</span> {said}' in text  # icon and words
    first = words.summary_markdown(board, "r1")
    assert "first round published" in first


def test_trends_show_every_round_with_intervals_and_the_change_since_the_baseline(
        three_rounds) -> None:
    board = bd.load_board(three_rounds)
    text = words.trends_markdown(board)
    assert text.count("## ") == 4  # four tracked measures
    assert "Since the baseline, Round r1 (31 March 2024): 30% then 85%; rose" in text
    assert "rounds/r3/tier2_case_review.html#T2-ALL-RISK-ASSESSED" in text
    assert text.count("<img") == 4


def test_front_door_measures_use_an_xmr_chart_once_twelve_months_are_published(
        tmp_path) -> None:
    months = [{"measure": "assessment_45", "month": f"{2024 + (m // 12)}-{m % 12 + 1:02d}-01",
               "numerator": 80 + (m % 3), "denominator": 100, "rate": (80 + (m % 3)) / 100}
              for m in range(14)]
    row = {"finding_id": "TC-TREND-ASSESSMENT-45", "measure": "x", "n": 1400,
           "successes": 1130, "estimate": 0.807, "ci_low": "", "ci_high": "", "reason": "",
           "text": "t"}
    _round(tmp_path, "r1", "2025-03-31", [row], targets={"assessment_45": {"at_least": 0.7}},
           series=months)
    board = bd.load_board(tmp_path)
    st = board.statuses["r1"][0]
    assert st.basis == "xmr" and st.assurance == "meets" and st.point.low is not None
    assert "XmR chart" in words.trends_markdown(board)


def test_overdue_actions_are_flagged_and_their_findings_change_shown_at_the_next_round(
        three_rounds) -> None:
    board = bd.load_board(three_rounds)
    acts = board.actions["r1"]
    assert [a.overdue(board.as_at) for a in acts] == [False, True]
    text = words.actions_markdown(board)
    assert "**Overdue** (in progress)" in text
    assert "T2-ALL-REFERRAL-APPROPRIATE: 30% then 30%; the data cannot tell" in text


@pytest.mark.parametrize(("change", "message"), [
    ({"status": "finished"}, "status 'finished'; use one of not started, in progress"),
    ({"due": "next spring"}, "due 'next spring' is not a date"),
    ({"findings": ["T2-NOPE"]}, "finding(s) T2-NOPE are not findings of round r1"),
    ({"owner": None}, "missing owner"),
    ({"colour": "red"}, "unknown key(s) colour"),
])
def test_a_bad_actions_file_is_refused_naming_the_file_the_action_and_the_fix(
        tmp_path, change, message) -> None:
    action = {"id": "A1", "recommendation": "r", "action": "a", "owner": "o",
              "due": "2024-09-30", "findings": ["T2-ALL-RISK-ASSESSED"], "status": "completed"}
    _round(tmp_path, "r1", "2024-03-31", [_f("T2-ALL-RISK-ASSESSED", 0.5, 0.3, 0.7)],
           actions=[{**action, **change}])
    with pytest.raises(bd.BoardError) as err:
        bd.load_board(tmp_path)
    assert "rounds/actions/r1.yml: action A1" in str(err.value)
    assert message in str(err.value)


def test_the_board_paper_holds_every_headline_finding_id_and_the_release(three_rounds) -> None:
    p = words.paper(three_rounds, "r3")
    assert p.finding_ids and all(fid in p.markdown for fid in p.finding_ids)
    assert "Report version **unpublished**" in p.markdown
    assert p.images and all(name in p.markdown for name in p.images)
    with pytest.raises(bd.BoardError, match="no published round named 'nope'"):
        words.paper(three_rounds, "nope")
