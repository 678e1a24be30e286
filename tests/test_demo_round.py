"""The demo round end to end: what it draws, and that running it again changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis import pipeline

HACKNEY_2011 = {"mat_yprrp": 5, "partnership_triage": 9, "tier2_social_work": 4,
                "first_response_team": 6, "family_intervention_project": 3, "school_map": 1,
                "health_visiting": 1}


def test_the_demo_round_reproduces_the_hackney_2011_sample_composition(demo_project: Path
                                                                       ) -> None:
    manifest = json.loads((demo_project / "data" / "processed" / "demo" / "samples"
                           / "hackney_2011" / "manifest.json").read_text())
    drawn: dict[str, int] = {}
    for case in manifest["cases"]:
        drawn[case["stratum"]] = drawn.get(case["stratum"], 0) + 1
    assert drawn == HACKNEY_2011 and sum(drawn.values()) == 29


def test_every_notebook_of_the_demo_round_ran_and_wrote_citable_findings(demo_project: Path
                                                                          ) -> None:
    record = json.loads((demo_project / "reports" / "demo" / "round.json").read_text())
    assert [n["ok"] for n in record["notebooks"]] == [True] * 4
    outputs = demo_project / "reports" / "demo" / "outputs"
    for name in ("audit_sample", "tier2_case_review", "hackney_2011_reproduction",
                 "threshold_consistency"):
        assert (outputs / f"{name}_findings.csv").stat().st_size > 200, name


def test_running_the_demo_round_again_serially_gives_byte_identical_outputs(
        demo_project: Path) -> None:
    report = demo_project / "reports" / "demo"
    files = sorted([*report.glob("*.ipynb"), *(report / "outputs").glob("*")])
    before = {f.name: f.read_bytes() for f in files}
    outcomes = pipeline.run_round(demo_project / "rounds" / "demo.yml", say=lambda s: None,
                                  progress=False, jobs=1, force=True)
    assert all(o.ok and not o.cached for o in outcomes)
    after = {f.name: f.read_bytes() for f in files}
    assert [n for n in before if before[n] != after[n]] == []


def test_the_demo_findings_match_the_golden_file_value_by_value(demo_project: Path) -> None:
    """A changed number is a visible decision: ``scripts/update_golden.py`` rewrites
    ``tests/golden/demo_findings.csv`` and prints what changed."""
    from analysis import findings

    golden = pd.read_csv(Path(__file__).parent / "golden" / "demo_findings.csv", dtype=str,
                         keep_default_na=False)
    current = findings.collect(demo_project / "reports" / "demo" / "outputs")
    diff = findings.compare(golden, current)
    assert not diff, ("the demo round's findings changed (if meant, run "
                      "scripts/update_golden.py and commit the file):\n" + "\n".join(diff[:40]))


def test_every_chart_of_the_demo_plots_the_golden_data(demo_project: Path) -> None:
    """Snapshot of what each chart plots (points, lines, bars, labels), not only that a PNG
    exists; ``scripts/update_golden.py`` rewrites ``tests/golden/demo_figures.json``."""
    from analysis import figures

    golden = json.loads((Path(__file__).parent / "golden" / "demo_figures.json").read_text())
    current = figures.collect_plotted(demo_project / "reports" / "demo")
    assert sum(len(v) for v in current.values()) >= 10
    diff = figures.compare_plotted(golden, current)
    assert not diff, ("a chart of the demo round plots different data (if meant, run "
                      "scripts/update_golden.py and commit the file):\n" + "\n".join(diff))


def _all_services(project: Path, name: str) -> pd.Series:
    f = pd.read_csv(project / "reports" / name / "outputs" / "tier2_case_review_findings.csv")
    rows = f[f["finding_id"].str.startswith("T2-ALL-")].set_index("finding_id")
    return rows["estimate"]


def test_the_planted_change_is_recovered_tier2_compliance_rises_from_baseline_to_demo(
        demo_project: Path) -> None:
    """The demo's three rounds are made with tier-2 P(met) 0.12, 0.06 and 0 below the demo
    calibration (``rounds/demo-2024.yml``, ``demo-2025.yml``, ``demo.yml``): a planted rise
    of 6 points a year.  The all-services estimates (T2-ALL-<STANDARD>) must rise on average
    from the baseline to the re-repeat, by about the planted 12 points."""
    base, repeat, now = (_all_services(demo_project, r) for r in
                         ("demo-2024", "demo-2025", "demo"))
    assert list(base.index) == list(now.index) and len(base) == 7
    assert base.mean() < repeat.mean() < now.mean()
    assert 0.03 < now.mean() - base.mean() < 0.25


def test_the_planted_front_door_change_is_found_assessments_on_time_improving(
        demo_project: Path) -> None:
    """Assessments within 45 working days are planted at 60%, 65% and 70% in the three
    rounds (``assessment_shift``): the board's XmR chart of every month published finds the
    improvement by the demo round, and the round estimates rise."""
    from analysis import board

    view = board.load_board(demo_project)
    est = [view.points[(r, "TC-TREND-ASSESSMENT-45")].estimate
           for r in ("demo-2024", "demo-2025", "demo")]
    assert est[0] < est[1] < est[2]
    [status] = [s for s in view.statuses["demo"] if s.tracked.key == "assessment_45"]
    assert status.basis == "xmr" and status.variation == "improving"


def test_each_repeat_compares_with_the_round_the_site_publishes_before_it(
        demo_project: Path) -> None:
    """Round demo's change since the last audit reads demo-2025's tier-2 returns, demo-2025's
    reads demo-2024's, and the baseline says it has no previous round to compare with."""
    for name, previous, label in (("demo", "demo-2025", "the repeat round (2024/25)"),
                                  ("demo-2025", "demo-2024", "the baseline round (2023/24)")):
        record = json.loads((demo_project / "reports" / name / "round.json").read_text())
        assert record["previous"]["round"] == previous
        [step] = [s for s in record["prepare"]["ingest"] if s["name"] == "audit_tier2_previous"]
        assert step["file"].endswith(f"data/synthetic/{previous}/audit_returns_tier2.csv")
        f = pd.read_csv(demo_project / "reports" / name / "outputs"
                        / "tier2_case_review_findings.csv")
        change = f[f["finding_id"].str.startswith("T2-CHANGE-")]
        assert len(change) == 7 and change["text"].str.contains(f"at {label}",
                                                                regex=False).all()
    baseline = demo_project / "reports" / "demo-2024"
    assert json.loads((baseline / "round.json").read_text())["previous"] is None
    nb = json.loads((baseline / "tier2_case_review.ipynb").read_text())
    shown = json.dumps([c.get("outputs", []) for c in nb["cells"]])
    assert "No previous audit round was supplied" in shown
    f = pd.read_csv(baseline / "outputs" / "tier2_case_review_findings.csv")
    assert not f["finding_id"].str.startswith("T2-CHANGE-").any()
