"""Whole-site property tests: rounds from other seeds and awkward small rounds build, publish
and keep rules 1, 3 and 5 on every page and CSV (``analysis.reporting.check``), and pass the
publication gate's rule-2 audit (``sqa publish`` refuses a release otherwise).

By default this runs the demo round's folder and site, one other seed (7, the seed that once
stopped the threshold notebook with a singular matrix) and the awkward round with only three
contacts in a stratum. ``SQA_ALL_SEEDS=1`` (marker ``seeds``) runs them all: synthetic seeds
1 to 20 and 2024, and six awkward rounds (one auditor, one agency, a service with no cases,
all met, none met, three contacts in a stratum), about a quarter of an hour:

    SQA_ALL_SEEDS=1 .venv/bin/python -m pytest tests/test_site_rules.py -m seeds

Each round is built as an analyst would: ``rounds/<name>.yml`` from the demo's with its own
seed, its prepare steps run, the awkward rounds' raw exports or audit returns edited between
the steps (as a council's data would differ), then ``sqa run`` and ``sqa publish``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from analysis import pipeline, publish
from analysis.reporting import release_problems

ROOT = Path(__file__).resolve().parents[1]
ALL = os.environ.get("SQA_ALL_SEEDS") == "1"
QUIET: Callable[[str], None] = lambda s: None  # noqa: E731


# -- the awkward rounds: edits to the raw exports (after synth) or the returns (after the
#    synthetic auditors), as a council's data might differ from the demo's ------------------

def _one_auditor(d: Path) -> None:
    for f in ("audit_returns_tier2.csv", "audit_returns_threshold.csv"):
        r = pd.read_csv(d / f, dtype=str, keep_default_na=False)
        r = r.drop_duplicates("case_id").assign(auditor_id="AA", auditor_agency="social_care")
        r.to_csv(d / f, index=False)


def _one_agency(d: Path) -> None:
    for f in ("audit_returns_tier2.csv", "audit_returns_threshold.csv"):
        r = pd.read_csv(d / f, dtype=str, keep_default_na=False)
        r.assign(auditor_agency="social_care").to_csv(d / f, index=False)
    rt = pd.read_csv(d / "ratings.csv", dtype=str, keep_default_na=False)
    rt.assign(rater_agency="police").to_csv(d / "ratings.csv", index=False)


def _answers(value: str) -> Callable[[Path], None]:
    def edit(d: Path) -> None:
        for f in ("audit_returns_tier2.csv", "audit_returns_threshold.csv"):
            r = pd.read_csv(d / f, dtype=str, keep_default_na=False)
            for c in [c for c in r.columns if c.startswith("std_")]:
                r[c] = value
            r.to_csv(d / f, index=False)
    return edit


def _no_health_visiting(d: Path) -> None:
    c = pd.read_csv(d / "cases.csv", dtype=str, keep_default_na=False)
    c[c["service"] != "health_visiting"].to_csv(d / "cases.csv", index=False)


def _three_early_help_contacts(d: Path) -> None:
    """The threshold audit's early-help stratum (front door, January to March 2026) holds
    three contacts: fewer than the 20 the design asks for."""
    c = pd.read_csv(d / "cases.csv", dtype=str, keep_default_na=False)
    day = pd.to_datetime(c["contact_date"], errors="coerce")
    stratum = ((c["service"] == "front_door") & (c["outcome"] == "early_help")
               & (day >= "2026-01-01") & (day <= "2026-03-31"))
    drop = c.index[stratum][3:]
    c.drop(index=drop).to_csv(d / "cases.csv", index=False)


def _own_design(design: str, change: Callable[[dict[str, Any]], None]
                ) -> Callable[[Path, list[dict[str, Any]]], None]:
    """What the analyst does when a shipped design does not fit the round's data (the sample
    step says so and stops): a round-specific copy of the design, named as the shipped one so
    the notebooks find the sample."""
    def steps_edit(project: Path, steps: list[dict[str, Any]]) -> None:
        spec = yaml.safe_load((ROOT / "src" / "analysis" / "designs" / f"{design}.yml"
                               ).read_text("utf-8"))
        change(spec)
        path = project / "rounds" / f"{design}_own.yml"
        path.write_text(yaml.safe_dump(spec), "utf-8")
        for step in steps:
            if step.get("sample", {}).get("design") == design:
                step["sample"] = {"design": f"rounds/{design}_own.yml", "name": design}
    return steps_edit


STEPS: dict[str, Callable[[Path, list[dict[str, Any]]], None]] = {
    # the design asks 20 of a stratum that holds 3: take all three
    "three_contacts": _own_design("threshold_audit",
                                  lambda d: d["counts"].update(early_help=3)),
    # no health-visiting cases this round: the design no longer asks for one
    "no_cases_in_a_service": _own_design("hackney_2011",
                                         lambda d: d["counts"].pop("health_visiting")),
}

AWKWARD: dict[str, tuple[str, Callable[[Path], None]]] = {
    # name: (when the edit is made: after "synth" or after the synthetic "audit", the edit)
    "one_auditor": ("audit", _one_auditor),
    "one_agency": ("audit", _one_agency),
    "all_met": ("audit", _answers("yes")),
    "none_met": ("audit", _answers("no")),
    "no_cases_in_a_service": ("synth", _no_health_visiting),
    "three_contacts": ("synth", _three_early_help_contacts),
}


def _round_file(project: Path, name: str, seed: int, steps: list[dict[str, Any]]) -> Path:
    demo = yaml.safe_load((ROOT / "rounds" / "demo.yml").read_text("utf-8"))
    text = yaml.safe_dump(demo).replace("data/synthetic/demo", f"data/synthetic/{name}")
    spec = yaml.safe_load(text)
    spec["round"] = name
    spec.pop("previous", None)  # a property-test round stands alone
    spec["title"] = f"Property-test round {name} (synthetic data)"
    spec["prepare"] = steps
    for step in spec["prepare"]:
        if "synth" in step:
            step["synth"]["seed"] = seed
    path = project / "rounds" / f"{name}.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), "utf-8")
    return path


def build(project: Path, name: str, seed: int = 20161,
          awkward: tuple[str, Callable[[Path], None]] | None = None) -> Path:
    """Run round ``name`` (the demo's steps, synth ``seed``) in ``project``, edited by
    ``awkward`` between the steps; publish it; return the round's report folder."""
    demo = yaml.safe_load((ROOT / "rounds" / "demo.yml").read_text("utf-8"))
    text = yaml.safe_dump(demo["prepare"]).replace("data/synthetic/demo",
                                                   f"data/synthetic/{name}")
    steps: list[dict[str, Any]] = yaml.safe_load(text)
    for step in steps:  # no round before it: its repeat comparison reads synth's previous round
        if "ingest" in step and step["ingest"].get("name") == "audit_tier2_previous":
            step["ingest"]["file"] = f"data/synthetic/{name}/audit_returns_tier2_previous.csv"
    if name in STEPS:
        STEPS[name](project, steps)
    raw = project / "data" / "synthetic" / name
    if awkward:
        when, edit = awkward
        synth = [s for s in steps if "synth" in s]
        middle = [s for s in steps if "synth" not in s and "simulate_audit" not in s
                  and not ("ingest" in s and s["ingest"]["kind"] == "audit")]
        middle += [s for s in steps if "simulate_audit" in s]
        later = [s for s in steps if "synth" not in s and "simulate_audit" not in s]
        rnd = pipeline.load_round(_round_file(project, name, seed, synth))
        with pipeline.source_date(rnd.date):
            pipeline.prepare(rnd, QUIET)
            if when == "synth":
                edit(raw)
            rnd = pipeline.load_round(_round_file(project, name, seed, middle))
            pipeline.prepare(rnd, QUIET)
            if when == "audit":
                edit(raw)
        steps = later
    path = _round_file(project, name, seed, steps)
    outcomes = pipeline.run_round(path, say=QUIET, progress=False)
    failed = [o.error for o in outcomes if not o.ok]
    assert not failed, f"round {name}: " + "\n".join(failed)
    publish.publish(project, f"1.0-{name}".replace("_", "-"), engine="nbconvert",
                    say=QUIET, rounds=[name])
    return project / "reports" / name


ROUNDS = ([(f"seed{s}", s, None) for s in [*range(1, 21), 2024]]
          + [(k, 20161, v) for k, v in AWKWARD.items()]) if ALL else [
    ("seed7", 7, None), ("three_contacts", 20161, AWKWARD["three_contacts"])]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipeline.copy_project(ROOT, tmp_path_factory.mktemp("rounds"))


def _published(project: Path, name: str) -> Path:
    version = f"1.0-{name}".replace("_", "-")
    return project / "reports" / "site" / "v" / version


@pytest.mark.parametrize(("name", "seed", "awkward"),
                         [pytest.param(*r, id=r[0], marks=pytest.mark.seeds) for r in ROUNDS])
def test_a_round_from_any_seed_builds_publishes_and_keeps_the_rules(
        project: Path, name: str, seed: int,
        awkward: tuple[str, Callable[[Path], None]] | None) -> None:
    """Every notebook runs, the gate's rule-2 audit lets the release through (``publish``
    raises otherwise), and no page, CSV or alt text of the round or its site breaks rules 1,
    3 or 5."""
    report = build(project, name, seed, awkward)
    problems = release_problems(report)
    site = _published(project, name)
    problems += release_problems(site / "rounds" / name)
    assert not problems, f"round {name}: {len(problems)} breach(es):\n" + "\n".join(
        problems[:30])
    if os.environ.get("SQA_KEEP_ROUNDS"):
        shutil.copytree(report, Path(os.environ["SQA_KEEP_ROUNDS"]) / name,
                        dirs_exist_ok=True)


def test_the_demo_round_keeps_the_rules_on_every_page_and_csv(demo_project: Path) -> None:
    assert release_problems(demo_project / "reports" / "demo") == []


def test_the_demo_site_keeps_the_rules_on_every_page(demo_site: Path) -> None:
    assert release_problems(demo_site / "latest") == []


def test_no_round_page_of_the_demo_site_is_over_the_word_budget(demo_site: Path) -> None:
    """Issue 15: a round page opens with what it found and stays short enough to read; the
    words of its main content (``analysis.verify.main_words``) are at most
    ``analysis.verify.WORD_BUDGET`` on every round page of the latest release, with each
    engine."""
    from analysis.verify import WORD_BUDGET, main_words

    pages = sorted((demo_site / "latest" / "rounds").rglob("*.html"))
    assert len(pages) >= 8  # three rounds, each with its review pages
    over = {str(p.relative_to(demo_site / "latest")): n for p in pages
            if (n := main_words(p.read_text(encoding="utf-8"))) > WORD_BUDGET}
    assert over == {}
