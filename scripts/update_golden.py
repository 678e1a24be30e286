"""Rewrite the golden findings and figure data of the demo round, and show what changed.

A changed number is a decision: run this only when a change to the package or a notebook is
meant to change what the demo round finds, then read the diff it prints and commit the file
with the change.

    .venv/bin/python scripts/update_golden.py            # runs the demo round (and the rounds
                                                         # before it) in a scratch copy
    .venv/bin/python scripts/update_golden.py --from reports/demo/outputs   # an executed round
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "demo_findings.csv"
GOLDEN_FIGURES = ROOT / "tests" / "golden" / "demo_figures.json"


def main(argv: list[str] | None = None) -> int:
    from analysis import figures, findings, pipeline

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--from", dest="source", type=Path,
                   help="outputs folder of an executed demo round (default: run it afresh)")
    a = p.parse_args(argv)
    scratch = None
    if a.source is None:
        scratch = Path(tempfile.mkdtemp(prefix="sqa-golden-"))  # removed at the end
        project = pipeline.copy_project(ROOT, scratch / "project")
        runs = pipeline.run_chain(project / "rounds" / "demo.yml", say=print,
                                  progress=False)  # its previous rounds first, as `sqa run`
        if not all(o.ok for _, outcomes in runs for o in outcomes):
            print("the demo round failed; golden file not changed", file=sys.stderr)
            return 1
        a.source = project / "reports" / "demo" / "outputs"
    current = findings.collect(a.source)
    plotted = figures.collect_plotted(a.source.parent)
    if scratch is not None:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    if GOLDEN.exists():
        import pandas as pd

        old = pd.read_csv(GOLDEN, dtype=str, keep_default_na=False)
        diff = findings.compare(old, current)
        print("\n".join(diff) if diff else "no change")
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    current.to_csv(GOLDEN, index=False, lineterminator="\n")  # a test fixture, as read
    print(f"wrote {GOLDEN.relative_to(ROOT)} ({len(current)} findings)")
    if GOLDEN_FIGURES.exists():
        old_fig = json.loads(GOLDEN_FIGURES.read_text("utf-8"))
        print("\n".join(figures.compare_plotted(old_fig, plotted)) or "figures: no change")
    GOLDEN_FIGURES.write_text(json.dumps(plotted, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {GOLDEN_FIGURES.relative_to(ROOT)} "
          f"({sum(len(v) for v in plotted.values())} figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
