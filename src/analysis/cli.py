"""The ``sqa`` command (also ``python -m analysis``).

Subcommands: ingest, synth, sample, run, publish, check, paper, new-round, dictionary, pool.  Every
subcommand has ``--help``.  A user's mistake (bad file, missing key, bad round file) prints
one message naming the file and the fix, and exits 2 with no traceback; a check that fails (a sample
that does not verify, a notebook that fails) exits 1. Ctrl-C prints one line saying what was
left behind and exits 130 (workers of parallel steps ignore it: ``analysis.interrupt``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from . import __version__

__all__ = ["COMMANDS", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "cmd_dictionary",
           "cmd_ingest", "cmd_new_round", "cmd_paper", "cmd_pool", "cmd_publish", "cmd_run",
           "cmd_sample", "cmd_synth", "main", "user_errors"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def _err(msg: str) -> None:
    print(f"sqa: error: {msg}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sqa",
        description="safeguarding-qa: reproducible multi-agency case-file audits, "
        "threshold-consistency analyses and tier-2 case reviews for children's safeguarding "
        "partnerships.",
        epilog="Typical use: `sqa run rounds/demo.yml && sqa publish`. "
        "See README.md for the data contracts.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    # ingest
    s = sub.add_parser(
        "ingest", help="read a local export into a canonical table (pseudonymise, quarantine)",
        description=textwrap.fill(
            "Read a CSV, XLSX or Parquet export, map it onto the canonical cases, audit "
            "or ratings table, pseudonymise identifiers (keyed HMAC-SHA256), reduce dates of birth "
        "to age bands, and quarantine bad rows with file, row, column, value and rule. Prints "
        "rows read / accepted / quarantined (accepted + quarantined = read, always). Writes "
        "OUT/<kind>.parquet, OUT/<kind>_quarantine.csv and OUT/<kind>_ingest.json. "
        "--kind annex-a reads a whole Ofsted Annex A workbook (every list, printed list by "
        "list, and the child journey); --kind audit --manifest reads the auditors' returned "
        "workbooks, checks every row against the sample and writes the returns report.", 79),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Key: set SQA_PSEUDONYM_KEY or SQA_PSEUDONYM_KEY_FILE (a file outside the "
        "repository);\n--demo-key uses the public demo key, for invented or synthetic data "
        "only.\n\nExamples (README, 'Run your own round'):\n"
        "  sqa ingest --kind annex-a data/raw/q1/annex_a.xlsx --out data/processed/q1\n"
        "  sqa ingest --kind audit data/raw/q1/returns --manifest "
        "data/processed/q1/samples/threshold_audit/manifest.json --out data/processed/q1 "
        "--due 2026-05-15 --agencies police,health,csc\n"
        "  sqa ingest --kind cases contacts.xlsx --mapping annex_a --out data/processed/q1")
    s.add_argument("file", type=Path, nargs="+", metavar="PATH",
                   help="CSV (UTF-8), XLSX or Parquet file; with --kind audit --manifest, one "
                   "or more returned workbooks or folders of them (.xlsx, .xlsm, .csv)")
    s.add_argument("--kind", required=True, choices=["cases", "audit", "ratings", "annex-a"],
                   help="which canonical table the file holds; annex-a: a whole Ofsted Annex "
                   "A workbook, every list recognised by its headers (one table per list, "
                   "journey.parquet and a front-door cases table)")
    s.add_argument("--mapping", help="column mapping: a YAML file, or a shipped name "
                   "(annex_a = Ofsted Annex A lists 1-3)")
    s.add_argument("--out", type=Path, required=True, help="output folder (keep it under "
                   "data/processed/ or data/raw/, which git ignores)")
    s.add_argument("--sheet", help="worksheet name for XLSX files (default: the first sheet)")
    s.add_argument("--encoding", help="CSV encoding (default utf-8; e.g. cp1252)")
    s.add_argument("--demo-key", action="store_true",
                   help="use the public demo pseudonymisation key (synthetic data only)")
    s.add_argument("--standards", type=Path, help="audit template: a YAML path or a shipped name "
                   "(hackney, graded; default hackney)")
    s.add_argument("--scale", help="levels-of-need scale: hackney (1, 2A, 2B, 3) or four_level")
    s.add_argument("--manifest", type=Path, metavar="MANIFEST",
                   help="--kind audit: the sample's manifest.json; every returned row is "
                   "checked against it (cases not in the sample, workbooks of another sample, "
                   "the same auditor twice) and a returns report is written")
    s.add_argument("--name", help="with --manifest: the table's name (default audit)")
    s.add_argument("--due", metavar="YYYY-MM-DD", help="with --manifest: the date returns were "
                   "due; later returns are marked late")
    s.add_argument("--agencies", metavar="A,B,C", help="with --manifest: the agencies expected "
                   "to return each case (default: every agency seen in the returns)")
    s.add_argument("--cases-name", default="cases", metavar="NAME",
                   help="annex-a only: name of the front-door table in the cases contract "
                   "derived from the journey (default cases: OUT/cases.parquet)")
    s.add_argument("--out-of-core", choices=["auto", "yes", "no"], default="auto",
                   help=argparse.SUPPRESS)  # kept as a no-op: every file is read in batches

    # synth
    s = sub.add_parser(
        "synth", help="generate the seeded synthetic demo data",
        description="Write a seeded, deterministic synthetic local-authority year (front-door "
        "contacts, domestic-abuse triage, tier-2 cases), completed audit returns for the "
        "demo samples, a threshold-consistency rating exercise and a messy Ofsted Annex A "
        "workbook. With --contacts of a million or more, writes only the contacts table, to "
        "Parquet, for performance work.")
    s.add_argument("--out", type=Path, required=True, help="output folder")
    s.add_argument("--seed", type=int, default=20161, help="random seed (default 20161)")
    s.add_argument("--contacts", type=int, help="number of front-door contacts (default: a "
                   "year at ~800 a month); 1,000,000 or more writes Parquet (scale mode)")
    s.add_argument("--shift", type=float, default=0.0, help="a known change: every tier-2 "
                   "standard's P(met) lower by this much (absolute; default 0)")
    s.add_argument("--assessment-shift", type=float, default=0.0, help="a known change at "
                   "the front door: P(assessment within 45 working days) lower by this much "
                   "(absolute; default 0)")
    s.add_argument("--year-end", metavar="YYYY-MM-DD", help="last day of the synthetic "
                   "financial year (default 2026-03-31, the demo round's date)")

    # sample
    s = sub.add_parser(
        "sample", help="draw (or verify) a reproducible audit sample",
        description="Draw a stratified audit sample from the canonical cases table with a "
        "design YAML and a seed, and write the manifest (design, seed, SHA-256 of the "
        "canonicalised input, counts, versions and every sampled case's pseudonymised id, "
        "stratum, selection probability and design weight), the public design table and the "
        "auditor workbook (XLSX). With --verify, re-draw from a manifest and confirm the "
        "selection is identical (exit 0) or say why not (exit 1).",
        epilog="Examples: sqa sample --cases data/processed/demo/cases.parquet --design "
        "designs/hackney_2011.yml --seed 2011 --out data/processed/demo/sample ; "
        "sqa sample --verify data/processed/demo/sample/manifest.json --cases "
        "data/processed/demo/cases.parquet")
    s.add_argument("--cases", type=Path, required=True, help="canonical cases table (Parquet "
                   "from `sqa ingest`, or CSV)")
    s.add_argument("--design", type=Path, help="sample design YAML (see designs/)")
    s.add_argument("--seed", type=int, help="seed (default: the design's seed)")
    s.add_argument("--out", type=Path, help="output folder for manifest, design table, workbook")
    s.add_argument("--previous", type=Path, nargs="*", default=[],
                   help="earlier manifests whose cases are excluded (see the design's "
                   "exclude_previous)")
    s.add_argument("--verify", type=Path, metavar="MANIFEST",
                   help="verify this manifest against --cases instead of drawing")
    s.add_argument("--standards", help="audit template for the workbook: a YAML path or a "
                   "shipped name (hackney, graded)")
    s.add_argument("--scale", help="levels of need for the workbook's drop-down: hackney "
                   "(1, 2A, 2B, 3) or four_level (default: the design's, else hackney)")

    # run
    s = sub.add_parser(
        "run", help="prepare and execute an audit round's notebooks with papermill",
        description="Run an audit round: the prepare steps of ROUND.yml (synth, ingest, "
        "sample), then every notebook it lists, executed by papermill into reports/<round>/ "
        "with the round's parameters injected into the cell tagged 'parameters'. A failing "
        "notebook is named with its cell; the others still run; the exit code is then 1. "
        "Notebooks whose source, parameters, inputs and package are unchanged since their last "
        "successful run are not executed again (--force to override). A round whose file "
        "names the round before it ('previous:') runs that chain first, oldest first, each "
        "round as `sqa run` runs it alone (--no-previous: this round only).")
    s.add_argument("round", type=Path, help="round file, e.g. rounds/demo.yml")
    s.add_argument("--only", nargs="*", help="run only these notebooks (by name)")
    s.add_argument("--skip-prepare", action="store_true", help="skip the prepare steps")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="notebooks to execute at once (default: the number of cores)")
    s.add_argument("--force", action="store_true",
                   help="re-execute every notebook, ignoring the cache (by default a notebook "
                   "runs again only when its source, parameters, inputs or the package changed)"
                   "; with previous rounds, theirs too")
    s.add_argument("--no-previous", action="store_true",
                   help="run only this round, not the rounds before it named by 'previous:' "
                   "(--only and --skip-prepare always apply to this round only)")

    # publish
    s = sub.add_parser(
        "publish", help="render the executed notebooks into the report site",
        description="Render the executed notebooks of the rounds under reports/ into the "
        "report site under reports/site/, with Quarto when it is on PATH and with nbconvert "
        "otherwise (said in the output and on every page). Unchanged pages are reused from "
        "the render cache (reports/.render-cache/). Before anything moves into place the "
        "release is checked: every page exists with its title, finding ids and figures, "
        "every local link resolves, Quarto's search index lists every page, and no personal "
        "data is on any page. A refused release names each problem, leaves the site as it was "
        "and exits 1; the render log is kept next to the release (reports/site/v/X.render.log)"
        " or, when refused, in reports/publish-X.failed.log.")
    s.add_argument("--rounds", nargs="*", help="round names to include (default: all under "
                   "reports/)")
    s.add_argument("--version", dest="release", help="release version, e.g. 2026.1; a "
                   "release is never overwritten. Without it, publishes a 'preview' that is "
                   "replaced on every run")
    s.add_argument("--title", help="release title")
    s.add_argument("--notes", type=Path, help="release notes (Markdown file)")
    s.add_argument("--engine", choices=["auto", "quarto", "nbconvert"], default="auto",
                   help="renderer (default auto: quarto if on PATH, else nbconvert)")
    s.add_argument("--force", action="store_true", help="overwrite an existing release "
                   "(recorded in versions.json)")
    s.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="Quarto processes to render with at once (default: the number of "
                   "cores)")
    s.add_argument("--root", type=Path, default=Path("."), help="project root (default .)")

    # check
    s = sub.add_parser(
        "check", help="read a built round or site back and list every breach of the "
        "reporting rules",
        description="Read an executed round (reports/<round>/) or a published site "
        "(reports/site/latest/) as a reader would: every page's text, table cells, alt text "
        "and findings CSV. Lists each breach of rule 1 (a group under the minimum of audited "
        "cases with a count, share or interval), rule 3 (wording the statistics do not allow, "
        "such as 'no difference') and rule 5 (an error, warning or nan on a page), naming the "
        "file, row and rule; exit 1 when there is any. Rule 2 (no suppressed count can be "
        "worked out) is audited by `sqa publish`.")
    s.add_argument("folder", type=Path, help="a round's report folder or a site folder")
    s.add_argument("--min-audited", type=int, default=None, metavar="N",
                   help="the minimum group of audited cases (default 5)")

    # paper
    s = sub.add_parser(
        "paper", help="write a round's board paper (PDF or DOCX) for committee papers",
        description="Write the board paper of a published round: a two-to-four-page summary "
        "for committee papers (headline findings with their finding ids, the assurance table, "
        "trends thumbnails, actions), with the release version on every page so it can be "
        "cited. PDF is printed by headless Chromium (Debian chromium); DOCX is written by "
        "pandoc (PyPI pypandoc-binary, installed with the package).",
        epilog="Examples: sqa paper demo --out paper.pdf ; sqa paper demo --format docx "
        "--out paper.docx")
    s.add_argument("round", help="the round's name, as under reports/ (e.g. demo)")
    s.add_argument("--format", choices=["pdf", "docx"], default=None,
                   help="pdf or docx (default: from the --out suffix, else pdf)")
    s.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="the file to write (.pdf or .docx)")
    s.add_argument("--root", type=Path, default=Path("."), help="project root (default .)")

    # new-round
    s = sub.add_parser(
        "new-round", help="write rounds/NAME.yml for a new audit round from a commented template",
        description="Write rounds/NAME.yml: a round file for real data (demo: false) with its "
        "inputs under data/raw/NAME/ (ignored by git), the prepare steps in the order an "
        "analyst meets them (ingest the council's export, draw the sample, ingest the "
        "returned auditor workbooks) and every key explained in a comment. Never overwrites "
        "a round file; the file written passes the checks `sqa run` makes.",
        epilog="Example: sqa new-round 2026-q1 --scale four_level --design threshold_audit")
    s.add_argument("name", help="the round's short name (e.g. 2026-q1): names reports/NAME/ "
                   "and data/processed/NAME/")
    s.add_argument("--scale", help="levels of need: hackney (1, 2A, 2B, 3; the default) or "
                   "four_level")
    s.add_argument("--standards", help="the board's audit template YAML, inside the project "
                   "(default: the Hackney 2011 standards)")
    s.add_argument("--design", help="sample design: a shipped name (hackney_2011, the "
                   "default, or threshold_audit) or a design YAML path")
    s.add_argument("--root", type=Path, default=Path("."), help="project root (default .)")

    # dictionary
    s = sub.add_parser("dictionary", help="write the data dictionary page from the contracts",
                       description="Write the data dictionary (Markdown) generated from the "
                       "table contracts in src/analysis/schemas.py.")
    s.add_argument("--out", type=Path, help="output file (default: print to stdout)")
    s.add_argument("--standards", type=Path, help="audit template YAML")
    s.add_argument("--scale", help="levels-of-need scale")

    # pool
    s = sub.add_parser(
        "pool", help="combine several councils' cases tables into one regional pool",
        description=textwrap.fill(
            "Combine several councils' canonical cases tables (each cases.parquet written by "
            "`sqa ingest`, pseudonymised with the council's own key) into one out-of-core "
            "dataset: OUT/council=<CODE>/*.parquet (hive-partitioned) with case_id and "
            "child_id prefixed '<CODE>:' so that no child is linked across councils, and "
            "OUT/pool.json (councils, rows, each input's SHA-256 and key fingerprint). Two "
            "councils with the same (non-demo) key fingerprint are refused. The threshold "
            "notebook runs on the pool (cases_file=OUT) with a funnel plot by council.", 79),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example:\n  sqa pool data/processed/region --council E09000012="
        "data/processed/hackney/cases.parquet --council E09000030=data/processed/"
        "towerhamlets/cases.parquet")
    s.add_argument("out", type=Path, metavar="OUT", help="the pool's folder (new, empty, or "
                   "an earlier pool, which is replaced)")
    s.add_argument("--council", action="append", required=True, metavar="CODE=PATH",
                   help="a council's code (letters, digits, _ or -) and its cases.parquet (or "
                   "its processed folder); give once per council, at least two")
    s.add_argument("--memory-limit", help="DuckDB's memory limit, e.g. 2GB (spills beyond)")
    return p


def cmd_ingest(a: argparse.Namespace) -> int:
    from . import ingest, schemas

    standards = schemas.load_standards(a.standards) if a.standards else None
    scale = schemas.load_scale(a.scale) if a.scale else None
    if a.manifest or a.name or a.due or a.agencies:
        if a.kind != "audit" or not a.manifest:
            _err("--manifest, --name, --due and --agencies are for returned audit workbooks: "
                 "sqa ingest --kind audit PATH... --manifest MANIFEST --out DIR")
            return EXIT_USAGE
        from .returns import cli_returns

        return cli_returns(a, standards, scale)
    if len(a.file) != 1:
        _err(f"--kind {a.kind} reads one file, not {len(a.file)}; several returned audit "
             "workbooks are read with --kind audit --manifest MANIFEST")
        return EXIT_USAGE
    a.file = a.file[0]
    if a.kind == "annex-a":
        return _ingest_annex_a(a, scale)
    # Every file is read in Arrow batches (a Parquet file never whole), staged beside the
    # outputs so that the table is moved there, not copied.
    made = not a.out.exists()
    a.out.mkdir(parents=True, exist_ok=True)
    try:
        res = ingest.ingest(a.file, a.kind, a.mapping, demo_key=a.demo_key, sheet=a.sheet,
                            encoding=a.encoding, standards=standards, scale=scale,
                            workdir=a.out, progress=_progress(a.file))
    except BaseException:
        if made and not any(a.out.iterdir()):
            a.out.rmdir()
        raise
    paths = ingest.write_outputs(res, a.out)
    top = (res.quarantine.groupby(["column", "rule"]).size().sort_values(ascending=False)
           if res.rows_quarantined else None)
    reasons = [] if top is None else [(n, col, rule) for (col, rule), n in top.items()]
    _report(a.file, res.kind, res.rows_read, res.rows_accepted, res.rows_quarantined,
            res.ignored_columns, reasons, paths)
    return EXIT_OK


def _ingest_annex_a(a: argparse.Namespace, scale: object) -> int:
    """``sqa ingest --kind annex-a``: every list of the workbook, printed list by list; a
    workbook with no recognised list exits 2 (wrong input) with one message
    (``annex_a.NoListError``)."""
    from . import annex_a

    if a.mapping or a.sheet:
        _err("--kind annex-a reads every sheet with the shipped Annex A headers "
             "(mappings/annex_a_lists.yml): leave out --mapping and --sheet")
        return EXIT_USAGE
    from .rounds import NAME_RE

    if not NAME_RE.match(a.cases_name):
        _err(f"--cases-name {a.cases_name!r}: a table name (letters, digits, '_', '.' or "
             "'-'), written as OUT/NAME.parquet")
        return EXIT_USAGE
    try:
        res = annex_a.read_workbook(a.file, demo_key=a.demo_key, scale=scale)
    except annex_a.NoListError as exc:
        _err(str(exc))
        return EXIT_USAGE
    paths = annex_a.write_outputs(res, a.out, cases_name=a.cases_name)
    for line in annex_a.summary_lines(res):
        print(line)
    quarantined = [r.table for r in res.sheets if r.result is not None
                   and r.result.rows_quarantined]
    if quarantined:
        print(f"  quarantine files: {', '.join(f'{t}_quarantine.csv' for t in quarantined)} "
              f"in {a.out} (they hold raw values: keep them off shared drives)")
    print(f"  wrote {len(res.tables)} list tables, {paths.get('journey')} and "
          f"{paths.get(a.cases_name)}")
    return EXIT_OK


def _progress(file: Path) -> bool:
    """Show a progress bar for a Parquet file of 1,000,000 rows or more."""
    if file.suffix.lower() not in {".parquet", ".pq"}:
        return False
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(file).metadata.num_rows >= 1_000_000
    except Exception:  # unreadable: ingest reports it clearly
        return False


def _report(file: Path, kind: str, read: int, accepted: int, quarantined: int,
            ignored: list[str], reasons: list[tuple[int, str, str]], paths: dict) -> None:
    """Print the row accounting of an ingest (accepted + quarantined = read, always)."""
    print(f"{file}: {kind} table")
    print(f"  rows read:        {read}")
    print(f"  rows accepted:    {accepted}")
    print(f"  rows quarantined: {quarantined}")
    if ignored:
        from .ingest import short_list

        print(f"  columns ignored:  {short_list(ignored)}")
    if quarantined:
        print("  quarantine reasons:")
        for n, col, rule in reasons[:10]:
            print(f"    {n:>6}  {col + ': ' if col else ''}{rule}")
        print(f"  quarantine file:  {paths['quarantine']} (holds raw values: keep it off "
              "shared drives)")
    print(f"  wrote {paths['table']}")


def cmd_synth(a: argparse.Namespace) -> int:
    from . import synth

    if a.contacts and a.contacts >= 1_000_000:
        path = a.out / "contacts.parquet"
        a.out.mkdir(parents=True, exist_ok=True)
        synth.generate_population_parquet(path, contacts=a.contacts, seed=a.seed, progress=True)
        print(f"wrote {a.contacts:,} contacts to {path}")
        return EXIT_OK
    if a.year_end is not None:
        from datetime import date

        try:
            date.fromisoformat(a.year_end)
        except ValueError:
            _err(f"--year-end {a.year_end!r} is not a date; write it as YYYY-MM-DD (e.g. "
                 "2025-03-31)")
            return EXIT_USAGE
    paths = synth.write_demo(a.out, seed=a.seed, contacts=a.contacts, shift=a.shift,
                             year_end=a.year_end, assessment_shift=a.assessment_shift)
    for name, p in paths.items():
        if isinstance(p, (str, Path)):
            print(f"  {name}: {p}")
    return EXIT_OK


def cmd_sample(a: argparse.Namespace) -> int:
    from . import sampling

    if a.verify:
        return sampling.cli_verify(a.verify, a.cases)
    if not a.design or not a.out:
        _err("sample needs --design and --out (or --verify MANIFEST)")
        return EXIT_USAGE
    return sampling.cli_draw(a.cases, a.design, a.seed, a.out, a.previous, a.standards,
                             a.scale)


def cmd_run(a: argparse.Namespace) -> int:
    from . import pipeline

    runs = pipeline.run_chain(a.round, previous=not a.no_previous, only=a.only,
                              skip_prepare=a.skip_prepare, progress=not a.no_progress,
                              jobs=a.jobs, force=a.force)
    any_failed = False
    for rnd, outcomes in runs:
        failed = [o for o in outcomes if not o.ok]
        any_failed = any_failed or bool(failed)
        reused = sum(o.cached for o in outcomes)
        print((f"round {rnd.name}: " if len(runs) > 1 else "")
              + f"{len(outcomes) - len(failed)} of {len(outcomes)} notebooks ok"
              + (f" ({reused} unchanged, reused)" if reused else "")
              + f"; outputs in {outcomes[0].output.parent if outcomes else 'reports/'}")
    return EXIT_FAILED if any_failed else EXIT_OK


def cmd_publish(a: argparse.Namespace) -> int:
    from . import publish

    return publish.cli_publish(a)


def cmd_check(a: argparse.Namespace) -> int:
    from .reporting import MIN_AUDITED, release_problems

    if not a.folder.is_dir():
        raise FileNotFoundError(f"{a.folder}: no such folder. Give a round's report folder "
                                "(reports/<round>) or a site folder (reports/site/latest).")
    minimum = MIN_AUDITED if a.min_audited is None else a.min_audited
    problems = release_problems(a.folder, minimum)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} breach(es) of the reporting rules in {a.folder}")
        return EXIT_FAILED
    print(f"{a.folder}: no breach of rules 1, 3 or 5 (minimum audited group {minimum})")
    return EXIT_OK


def cmd_paper(a: argparse.Namespace) -> int:
    from . import paper

    return paper.cli_paper(a)


def cmd_dictionary(a: argparse.Namespace) -> int:
    from . import schemas

    standards = schemas.load_standards(a.standards) if a.standards else None
    scale = schemas.load_scale(a.scale) if a.scale else None
    text = schemas.data_dictionary_markdown(standards, scale)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text, encoding="utf-8")
        print(f"wrote {a.out}")
    else:
        print(text)
    return EXIT_OK


def cmd_new_round(a: argparse.Namespace) -> int:
    from .rounds import new_round

    path = new_round(Path(a.root), a.name, scale=a.scale, standards=a.standards,
                     design=a.design)
    rel = path.relative_to(Path(a.root).resolve()).as_posix()
    print(f"wrote {rel}\nnext: put the council's export at data/raw/{a.name}/annex_a.xlsx (or "
          f"edit the file: names in {rel}), set SQA_PSEUDONYM_KEY, then `sqa run {rel}`")
    return EXIT_OK


def cmd_pool(a: argparse.Namespace) -> int:
    from . import pool

    pairs = [pool.parse_council(t) for t in a.council]
    rec = pool.pool_cases(pairs, a.out, memory_limit=a.memory_limit)
    for c in rec["councils"]:
        key = ("demo key" if c["demo_key"] else
               f"key {c['key_fingerprint']}" if c["key_fingerprint"] else "key not recorded")
        print(f"  {c['code']}: {c['rows']:,} rows from {c['source']} ({key})")
    print(f"pooled {len(rec['councils'])} councils, {rec['rows']:,} rows into {a.out}/"
          f"council=<code>/ ; record: {a.out / pool.POOL_JSON}")
    return EXIT_OK


COMMANDS = {"ingest": cmd_ingest, "synth": cmd_synth, "sample": cmd_sample, "run": cmd_run,
            "publish": cmd_publish, "check": cmd_check, "paper": cmd_paper,
            "dictionary": cmd_dictionary, "new-round": cmd_new_round, "pool": cmd_pool}


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'the user's input is wrong' (message, no traceback)."""
    from .ingest import InputError
    from .pipeline import RoundError
    from .privacy import KeyError_

    errors: list[type[BaseException]] = [InputError, RoundError, KeyError_, FileNotFoundError]
    try:
        from .sampling import DesignError  # type: ignore[attr-defined]

        errors.append(DesignError)
    except ImportError:
        pass
    try:
        from .publish import PublishError

        errors.append(PublishError)
    except ImportError:
        pass
    from .paper import PaperError
    from .pool import PoolError

    errors.extend([PaperError, PoolError])
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except user_errors() as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"sqa: interrupted; {_interrupted(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _interrupted(a: argparse.Namespace) -> str:
    """What a Ctrl-C left behind, in one line (workers ignore Ctrl-C and print nothing)."""
    if a.command == "run":
        try:
            from .pipeline import load_round

            where = f"{load_round(a.round).report_dir}/"
        except Exception:  # the round file itself may be what was being read
            where = "reports/<round>/"
        return (f"nothing was published; notebooks finished so far are in {where} "
                "(round.json not updated). Run the round again.")
    if a.command == "publish":
        return "nothing was published unless it was already being moved into place. Run " \
               "`sqa publish` again."
    if a.command in {"ingest", "synth", "sample"} and getattr(a, "out", None):
        return f"outputs in {a.out} may be partial. Run the command again."
    return "nothing was changed."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
