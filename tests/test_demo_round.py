"""The demo round end to end: what it draws, and that running it again changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

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
    import pandas as pd

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
