"""Audit rounds: one YAML file says what a round reads, prepares and runs.

``run_round("rounds/demo.yml")`` (``sqa run``) does, in order:

1. ``prepare``: optional steps that make the round's inputs: ``synth`` (demo data), ``ingest``
   (raw exports -> canonical tables, with quarantine) and ``sample`` (draw the audit sample
   and write its manifest and auditor workbook);
2. ``notebooks``: executes each notebook with papermill into ``reports/<round>/``, injecting
   the round's parameters into the cell tagged ``parameters``.  A failing notebook gives a
   message naming notebook and cell, the other notebooks still run and keep their outputs,
   and the run exits non-zero;
3. writes ``reports/<round>/round.json``: provenance (inputs' SHA-256, parameters, git commit,
   package versions, timings).

Paths in a round file are relative to the project root (the folder holding ``_quarto.yml``).
The round's ``date`` sets ``SOURCE_DATE_EPOCH`` so that reruns give byte-identical outputs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from .provenance import git_commit, package_versions, sha256_file, timestamp, write_json


class RoundError(Exception):
    """A problem with the round file or one of its steps (reported without traceback)."""


@dataclass
class NotebookSpec:
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.notebook.stem


@dataclass
class Round:
    """A parsed round file."""

    path: Path
    root: Path
    name: str
    title: str
    date: date
    demo: bool
    scale: str | None
    standards: Path | None
    prepare: dict[str, Any]
    notebooks: list[NotebookSpec]
    parameters: dict[str, Any]
    publish: dict[str, Any]

    @property
    def report_dir(self) -> Path:
        return self.root / "reports" / self.name

    @property
    def processed_dir(self) -> Path:
        return self.root / "data" / "processed" / self.name

    def resolve(self, p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.root / p


@dataclass
class NotebookOutcome:
    name: str
    source: Path
    output: Path
    ok: bool
    seconds: float
    error: str = ""


def find_root(start: Path) -> Path:
    """The project root: the nearest folder (from ``start`` up) holding ``_quarto.yml``."""
    for folder in [start, *start.parents]:
        if (folder / "_quarto.yml").exists():
            return folder
    return Path.cwd()


def load_round(path: str | Path) -> Round:
    """Parse and check a round file; every problem names the file and the key."""
    path = Path(path).resolve()
    if not path.exists():
        raise RoundError(f"{path}: round file not found. Rounds live in rounds/, e.g. "
                         "`sqa run rounds/demo.yml`.")
    try:
        d = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RoundError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(d, dict):
        raise RoundError(f"{path}: a round file is a YAML mapping with round:, notebooks: ...")
    root = find_root(path.parent)
    name = str(d.get("round") or "")
    if not name or any(ch in name for ch in "/\\ "):
        raise RoundError(f"{path}: 'round:' must be a short name without spaces or slashes "
                         "(it names the folder reports/<round>/).")
    try:
        when = d.get("date") or date.today()
        when = when if isinstance(when, date) else date.fromisoformat(str(when))
    except ValueError:
        raise RoundError(f"{path}: 'date:' must be an ISO date such as 2026-03-31.") from None
    nbs = []
    for i, item in enumerate(d.get("notebooks") or []):
        if isinstance(item, str):
            item = {"notebook": item}
        if not isinstance(item, dict) or "notebook" not in item:
            raise RoundError(f"{path}: notebooks[{i}] needs a 'notebook:' path.")
        nb = root / item["notebook"]
        if not nb.exists():
            raise RoundError(f"{path}: notebooks[{i}]: {item['notebook']} does not exist.")
        nbs.append(NotebookSpec(nb, dict(item.get("parameters") or {})))
    if not nbs:
        raise RoundError(f"{path}: the round lists no notebooks (add a 'notebooks:' list).")
    std = d.get("standards")
    return Round(path=path, root=root, name=name, title=str(d.get("title") or name), date=when,
                 demo=bool(d.get("demo", False)), scale=d.get("scale"),
                 standards=root / std if std else None, prepare=dict(d.get("prepare") or {}),
                 notebooks=nbs, parameters=dict(d.get("parameters") or {}),
                 publish=dict(d.get("publish") or {}))


@contextmanager
def source_date(when: date):
    """Set SOURCE_DATE_EPOCH to the round's date for the duration of the run."""
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(datetime(when.year, when.month, when.day,
                                                       tzinfo=UTC).timestamp()))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def base_parameters(rnd: Round) -> dict[str, Any]:
    """Parameters every notebook of a round receives (it may ignore those it lacks)."""
    return {
        "round_name": rnd.name, "round_title": rnd.title, "round_date": rnd.date.isoformat(),
        "project_root": str(rnd.root), "processed_dir": str(rnd.processed_dir),
        "output_dir": str(rnd.report_dir / "outputs"), "scale": rnd.scale or "hackney",
        "standards_file": str(rnd.standards) if rnd.standards else "",
    }


def prepare(rnd: Round, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the round's prepare steps (synth, ingest, sample); return what they recorded."""
    from . import ingest as ingest_mod
    from . import schemas

    record: dict[str, Any] = {}
    steps = rnd.prepare
    if "synth" in steps:
        from . import synth

        cfg = dict(steps["synth"] or {})
        out = rnd.resolve(cfg.get("out", f"data/synthetic/{rnd.name}"))
        t0 = time.perf_counter()
        paths = synth.write_demo(out, seed=int(cfg.get("seed", 20161)),
                                 contacts=cfg.get("contacts"))
        say(f"synth: wrote demo data to {out.relative_to(rnd.root)} "
            f"({time.perf_counter() - t0:.1f} s)")
        record["synth"] = {"out": str(out), "seed": cfg.get("seed", 20161),
                           "files": sorted(str(Path(p).name) for p in paths.values()
                                           if isinstance(p, (str, Path)))}
    standards = schemas.load_standards(rnd.standards) if rnd.standards else None
    scale = schemas.load_scale(rnd.scale) if rnd.scale else None
    record["ingest"] = []
    for item in steps.get("ingest") or []:
        src = rnd.resolve(item["file"])
        out = rnd.resolve(item.get("out", rnd.processed_dir))
        res = ingest_mod.ingest(src, item["kind"], item.get("mapping"), demo_key=rnd.demo,
                                sheet=item.get("sheet"), standards=standards, scale=scale,
                                today=rnd.date if rnd.demo else None)
        ingest_mod.write_outputs(res, out)
        say(f"ingest {item['kind']}: {src.relative_to(rnd.root) if src.is_relative_to(rnd.root) else src}: "
            f"{res.rows_read} read, {res.rows_accepted} accepted, {res.rows_quarantined} quarantined")
        record["ingest"].append({"kind": item["kind"], "file": str(src),
                                 "sha256": res.input_sha256, "rows_read": res.rows_read,
                                 "rows_accepted": res.rows_accepted,
                                 "rows_quarantined": res.rows_quarantined})
    return record


def execute_notebook(rnd: Round, spec: NotebookSpec, params: dict[str, Any]) -> NotebookOutcome:
    """Execute one notebook with papermill; never raises for a failing cell."""
    import papermill as pm

    out = rnd.report_dir / f"{spec.name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(str(spec.notebook), str(out), parameters=params, cwd=str(rnd.root),
                            progress_bar=False, log_output=False, kernel_name="python3",
                            language="python")
    except pm.PapermillExecutionError as exc:
        where = _failed_cell(out, spec.notebook)
        msg = (f"{spec.notebook.relative_to(rnd.root)} failed in {where}: {exc.ename}: "
               f"{exc.evalue}. The partly executed notebook is {out.relative_to(rnd.root)}.")
        return NotebookOutcome(spec.name, spec.notebook, out, False, time.perf_counter() - t0, msg)
    except Exception as exc:  # kernel died, missing kernel...
        msg = f"{spec.notebook.relative_to(rnd.root)} could not run: {exc.__class__.__name__}: {exc}"
        return NotebookOutcome(spec.name, spec.notebook, out, False, time.perf_counter() - t0, msg)
    return NotebookOutcome(spec.name, spec.notebook, out, True, time.perf_counter() - t0)


def _failed_cell(executed: Path, source: Path) -> str:
    """'code cell N (`first line`)' of the cell that raised, numbered as in the source notebook."""
    import nbformat

    try:
        nb = nbformat.read(executed, as_version=4)
        src = nbformat.read(source, as_version=4)
    except Exception:
        return "a cell"
    for cell in nb.cells:
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            first = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            code = [c for c in src.cells if c.cell_type == "code"]
            for n, c in enumerate(code, start=1):
                if c.source == cell.source:
                    return f"code cell {n} (`{first}`)"
            return f"the cell `{first}`"
    return "a cell"


def run_round(path: str | Path, only: list[str] | None = None, skip_prepare: bool = False,
              say: Callable[[str], None] = print, progress: bool = True) -> list[NotebookOutcome]:
    """Prepare and execute a round; return one outcome per notebook."""
    from tqdm import tqdm

    rnd = load_round(path)
    with source_date(rnd.date):
        started = timestamp()
        prep = {} if skip_prepare else prepare(rnd, say)
        base = base_parameters(rnd)
        specs = [s for s in rnd.notebooks if not only or s.name in only]
        outcomes: list[NotebookOutcome] = []
        bar = tqdm(specs, desc=f"round {rnd.name}", unit="notebook", disable=not progress,
                   leave=True)
        for spec in bar:
            bar.set_postfix_str(spec.name)
            params = {**_known(spec.notebook, base), **rnd.parameters,
                      **_resolve_params(rnd, spec.parameters)}
            outcome = execute_notebook(rnd, spec, params)
            outcomes.append(outcome)
            say(f"{'ok  ' if outcome.ok else 'FAIL'} {spec.name} ({outcome.seconds:.1f} s)"
                + ("" if outcome.ok else f"\n     {outcome.error}"))
        write_json({
            "round": rnd.name, "title": rnd.title, "date": rnd.date.isoformat(),
            "round_file": str(rnd.path.relative_to(rnd.root)),
            "round_file_sha256": sha256_file(rnd.path), "git_commit": git_commit(rnd.root),
            "versions": package_versions(), "started": started, "prepare": prep,
            "inputs": _input_hashes(rnd),
            "notebooks": [{"name": o.name, "ok": o.ok, "output": str(o.output.relative_to(rnd.root)),
                           "parameters": {**rnd.parameters, **spec.parameters}, "error": o.error}
                          for o, spec in zip(outcomes, specs, strict=True)],
        }, rnd.report_dir / "round.json")
    return outcomes


def _known(notebook: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of the round-wide parameters that the notebook's parameters cell declares."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    return {k: v for k, v in params.items() if k in declared}


def _resolve_params(rnd: Round, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters ending in _file/_dir/_path are paths relative to the project root."""
    out = {}
    for k, v in params.items():
        if isinstance(v, str) and k.endswith(("_file", "_dir", "_path")) and v:
            out[k] = str(rnd.resolve(v))
        else:
            out[k] = v
    return out


def _input_hashes(rnd: Round) -> dict[str, str]:
    """SHA-256 of every file the round's notebooks read (processed tables, designs...)."""
    hashes: dict[str, str] = {}
    folders = [rnd.processed_dir]
    for folder in folders:
        if folder.exists():
            for f in sorted(folder.rglob("*")):
                if f.is_file() and f.suffix in {".parquet", ".json", ".csv", ".yml"}:
                    hashes[str(f.relative_to(rnd.root))] = sha256_file(f)
    for spec in rnd.notebooks:
        for k, v in spec.parameters.items():
            if isinstance(v, str) and k.endswith(("_file", "_path")) and v:
                p = rnd.resolve(v)
                if p.is_file():
                    hashes[str(p.relative_to(rnd.root))] = sha256_file(p)
    return hashes
