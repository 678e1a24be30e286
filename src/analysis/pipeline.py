"""Audit rounds: one YAML file says what a round reads, prepares and runs.

``run_round("rounds/demo.yml")`` does, in order (``sqa run`` is ``run_chain``: first the
rounds named by ``previous:``, oldest first, each as ``run_round`` runs it alone):

1. ``prepare``: ordered steps that make the round's inputs: ``synth`` (demo data),
   ``ingest`` (raw exports -> canonical tables, with quarantine), ``sample`` (draw an audit
   sample and write its manifest and auditor workbook) and, in demo rounds only,
   ``simulate_audit`` (synthetic auditors complete a drawn sample);
2. ``notebooks``: executes each notebook with papermill into ``reports/<round>/``, injecting
   the round's parameters into the cell tagged ``parameters``.  A failing notebook gives a
   message naming notebook and cell, the other notebooks still run and keep their outputs,
   and the run exits non-zero;
3. writes ``reports/<round>/round.json``: provenance (inputs' SHA-256, parameters, git commit,
   package versions, timings), the round before it (``previous``), its ``targets`` and its
   ``actions`` file.

Paths in a round file are relative to the project root (the folder holding ``_quarto.yml``).
The round's ``date`` sets ``SOURCE_DATE_EPOCH`` so that reruns give byte-identical outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from . import interrupt, locks
from .prepare import _is_dir, _is_file, prepare
from .provenance import (
    git_commit,
    package_fingerprint,
    package_versions,
    sha256_file,
    timestamp,
    write_json,
)
from .rounds import (  # the round file: its model and checks (re-exported here)
    PREPARE_STEPS,
    NotebookSpec,
    Round,
    RoundError,
    _rel,
    find_root,
    load_round,
    prepare_steps,
    previous_chain,
    sample_dir,
    schemas_shipped,
)

__all__ = ["KERNEL_START_ATTEMPTS", "NotebookOutcome", "NotebookSpec", "PREPARE_STEPS",
           "PROJECT_FILES", "Round", "RoundError", "TIMING_KEYS", "base_parameters",
           "copy_project", "declared_parameters", "execute_notebook", "find_root", "load_round",
           "normalise_executed", "notebook_key", "package_fingerprint", "prepare", "prepare_steps",
           "previous_chain", "previous_record", "project_path", "run_chain", "run_round",
           "sample_dir", "source_date"]


@dataclass
class NotebookOutcome:
    name: str
    source: Path
    output: Path
    ok: bool
    seconds: float
    error: str = ""
    cached: bool = False


def project_path(relative: str | Path = ".") -> Path:
    """An absolute path under the project root found from the working directory.

    Notebooks use it for their demo defaults, so they run both from JupyterLab (working
    directory ``notebooks/``) and under papermill (working directory = project root).
    """
    return find_root(Path.cwd().resolve()) / relative


PROJECT_FILES = ("_quarto.yml", "rounds", "notebooks", "site", "data/published", "data/examples")


def copy_project(root: Path, dest: Path) -> Path:
    """A scratch copy of a project's inputs (configuration, rounds, notebooks, static pages,
    published figures), not its data or reports: where the tests and benchmarks run a round
    without touching the working project."""
    for name in PROJECT_FILES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / name)
    return dest


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
        "output_dir": str(rnd.report_dir / "outputs"),
        "internal_dir": str(rnd.processed_dir / "internal"), "scale": rnd.scale or "hackney",
        "standards_file": _standards_name(rnd),
        # the round before this one, named and dated on the pages ("" for a first round)
        "previous_round_title": rnd.previous.title if rnd.previous else "",
        "previous_round_date": rnd.previous.date.isoformat() if rnd.previous else "",
    }


def _standards_name(rnd: Round) -> str:
    """How the notebooks are told the round's audit template: a shipped template by its name
    (``graded``: no machine path in the executed pages), a project file by its path, "" for
    the default."""
    from . import schemas

    if not rnd.standards:
        return ""
    for name in schemas.SHIPPED_STANDARDS:
        if rnd.standards == schemas.shipped_standards(name):
            return name
    return str(rnd.standards)


KERNEL_START_ATTEMPTS = 3


def execute_notebook(root: Path, report_dir: Path, notebook: Path, name: str,
                     params: dict[str, Any]) -> NotebookOutcome:
    """Execute ``notebook`` with papermill into ``report_dir/<name>.ipynb``; never raises for a
    failing cell (a plain function of paths, so worker processes can run it)."""
    import papermill as pm

    out = report_dir / f"{name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        for attempt in range(KERNEL_START_ATTEMPTS):
            try:
                pm.execute_notebook(str(notebook), str(out), parameters=params, cwd=str(root),
                                    progress_bar=False, log_output=False, kernel_name="python3",
                                    language="python",
                                    # the kernel's start-up chatter would break the
                                    # progress bar; on Ctrl-C it logged a traceback
                                    extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
                break
            except RuntimeError as exc:
                # Kernels started at the same moment by parallel workers (or another program)
                # can draw the same free port (jupyter_client picks ports, then the kernel
                # binds them): the loser fails to bind ("Address already in use") and dies
                # before it answers, or never answers at all: start it again.
                if not _kernel_failed_to_start(exc) or attempt == KERNEL_START_ATTEMPTS - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
    except pm.PapermillExecutionError as exc:
        where = _failed_cell(out, notebook)
        msg = (f"{notebook.relative_to(root)} failed in {where}: {exc.ename}: "
               f"{exc.evalue}. The partly executed notebook is {out.relative_to(root)}.")
        return NotebookOutcome(name, notebook, out, False, time.perf_counter() - t0, msg)
    except Exception as exc:  # kernel died, missing kernel...
        msg = f"{notebook.relative_to(root)} could not run: {exc.__class__.__name__}: {exc}"
        return NotebookOutcome(name, notebook, out, False, time.perf_counter() - t0, msg)
    normalise_executed(out)
    return NotebookOutcome(name, notebook, out, True, time.perf_counter() - t0)


#: How jupyter_client says a kernel did not start (it died, or never answered).
KERNEL_START_FAILURES = ("before replying to kernel_info", "didn't respond in")


def _kernel_failed_to_start(exc: BaseException) -> bool:
    """True when ``exc`` is jupyter_client's report of a kernel that did not start."""
    return any(m in str(exc) for m in KERNEL_START_FAILURES)


TIMING_KEYS = ("start_time", "end_time", "duration")


def normalise_executed(path: Path) -> None:
    """Drop run times from an executed notebook so that a rerun gives identical bytes.

    papermill and nbclient stamp start and end times and durations into the notebook and cell
    metadata, and a random id to the cell of injected parameters; they change on every run and
    say nothing about the result (the round's timings are kept in ``round.json``).
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    for k in TIMING_KEYS:
        meta.pop(k, None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"  # papermill gives it a random id
    nbformat.write(nb, path)


# --------------------------------------------------------------------------------------
# Execution cache
# --------------------------------------------------------------------------------------


def notebook_key(rnd: Round, spec: NotebookSpec, params: dict[str, Any], package: str,
                 inputs: dict[str, str] | None = None) -> str:
    """The cache key of one notebook run: a content hash, never file times.

    It covers the notebook's source, its parameters, the content of every input of the round
    (``_input_hashes``: canonical tables, samples, published figures, the audit template, and
    every file named by a round-level or notebook parameter, or lying in a folder named by
    one) and the package fingerprint.  The pseudonymisation key enters through the tables:
    a new key re-runs ingest (``prepare``), whose tables and logs then differ.
    """
    import hashlib

    h = hashlib.sha256()
    h.update(spec.notebook.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    for rel, digest in sorted((inputs if inputs is not None else _input_hashes(rnd)).items()):
        h.update(f"{rel}={digest}\n".encode())
    h.update(package.encode())
    return h.hexdigest()


def _last_record(rnd: Round) -> dict[str, Any]:
    """The last run's ``round.json`` (empty when there is none or it is unreadable)."""

    try:
        return json.loads((rnd.report_dir / "round.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _load_cache(rnd: Round) -> dict[str, Any]:
    """The last run's successful notebook records (with their keys and output hashes)."""
    return {n["name"]: n for n in _last_record(rnd).get("notebooks", [])
            if n.get("ok") and n.get("key")}


def _outputs_intact(rnd: Round, entry: dict[str, Any]) -> bool:
    files = entry.get("files") or {}
    if not files or not (rnd.root / entry.get("output", "")).is_file():
        return False
    return all((rnd.root / rel).is_file() and sha256_file(rnd.root / rel) == digest
               for rel, digest in files.items())


def _outputs_of(rnd: Round, name: str) -> dict[str, str]:
    """The files a notebook wrote: its executed copy and its ``outputs/<name>_*`` files."""
    files = [rnd.report_dir / f"{name}.ipynb",
             *sorted((rnd.report_dir / "outputs").glob(f"{name}_*"))]
    return {str(f.relative_to(rnd.root)): sha256_file(f) for f in files if f.is_file()}


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


RUNNING_MARK = ".running"


def run_round(path: str | Path, only: list[str] | None = None, skip_prepare: bool = False,
              say: Callable[[str], None] = print, progress: bool = True,
              jobs: int | None = None, force: bool = False) -> list[NotebookOutcome]:
    """Prepare and execute a round; return one outcome per notebook, in the round's order.

    * **Lock.** The run holds the round's lock (``reports/<round>/.run.lock``) from start to
      end, so a second run of the round, or a publish of it, is refused while it works; and
      it leaves ``reports/<round>/.running`` until ``round.json`` is written (atomically, with
      ``finished``), so a run that was killed is seen as unfinished by ``sqa publish``.

    * **Cache.** A notebook is re-executed only when its cache key (``notebook_key``: source,
      parameters, content of the round's inputs, package fingerprint) differs from that of
      its last successful run, or its outputs are missing or changed; ``force=True`` ignores
      the cache.  Prepare steps are deterministic: rerunning them rewrites identical bytes,
      so the keys hold.
    * **Parallel.** The notebooks that need running are executed ``jobs`` at a time (default:
      the number of cores) in worker processes, with one progress bar; outputs do not depend
      on the order in which they finish.
    """
    rnd = load_round(path)
    try:
        with locks.hold(locks.run_lock_path(rnd.report_dir), f"sqa run {rnd.path.name}"):
            mark = rnd.report_dir / RUNNING_MARK
            write_json({"pid": os.getpid(), "started": timestamp()}, mark)
            with run_log(rnd, say) as logged:
                outcomes = _run_locked(rnd, only, skip_prepare, logged, progress, jobs, force)
                _log_outcomes(outcomes)
            mark.unlink(missing_ok=True)
            return outcomes
    except locks.LockBusy as busy:
        raise RoundError(f"round {rnd.name} is being run or published ({busy.who} holds "
                         f"{busy.path}); wait for it to finish, then run it again.") from None


#: The run log of a round, beside its ``round.json`` (issue 16: RAP logging).
RUN_LOG = "run.log"


@contextmanager
def run_log(rnd: Round, say: Callable[[str], None]):
    """Log the run to ``reports/<round>/run.log`` with the standard library's ``logging``
    (logger ``sqa.run``; appended, one block per run, each line timed): every line the run
    says, each notebook's outcome and any failure with its error. Yields the ``say`` to use.
    The log is a record of the run, not an output: it is not in ``round.json``, the cache
    keys or the site, so reruns stay byte-identical."""
    import logging

    rnd.report_dir.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("sqa.run")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(rnd.report_dir / RUN_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.info("run of round %s (%s) started, package %s", rnd.name,
                rnd.path.name, _package_version())

    def logged(line: str) -> None:
        logger.info(line)
        say(line)

    try:
        yield logged
    except BaseException as exc:
        logger.error("run stopped: %s: %s", type(exc).__name__, exc)
        raise
    finally:
        logger.info("run of round %s ended", rnd.name)
        logger.removeHandler(handler)
        handler.close()


def _package_version() -> str:
    from . import __version__

    return str(__version__)


def _log_outcomes(outcomes: list[NotebookOutcome]) -> None:
    import logging

    logger = logging.getLogger("sqa.run")
    for o in outcomes:
        if o.ok:
            logger.info("notebook %s: ok%s (%.1f s)", o.name, ", reused" if o.cached else "",
                        o.seconds)
        else:
            logger.error("notebook %s failed: %s", o.name, o.error)


def _run_locked(rnd: Round, only: list[str] | None, skip_prepare: bool,
                say: Callable[[str], None], progress: bool, jobs: int | None, force: bool
                ) -> list[NotebookOutcome]:
    """The body of :func:`run_round`, run while holding the round's lock."""
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from tqdm import tqdm

    jobs = max(1, jobs or os.cpu_count() or 1)
    with source_date(rnd.date):
        started = timestamp()
        t_prep = time.perf_counter()
        last = _last_record(rnd)
        # --skip-prepare keeps the last run's record of its inputs: the publication gate
        # reads it to know which raw files hold the ids it must look for.
        prep = last.get("prepare", {}) if skip_prepare else prepare(rnd, say, force, last)
        prep_seconds = time.perf_counter() - t_prep
        base = base_parameters(rnd)
        specs = [s for s in rnd.notebooks if not only or s.name in only]
        previous = _load_cache(rnd)
        cache = {} if force else previous
        package = package_fingerprint()
        inputs = _input_hashes(rnd)
        params = {s.name: {**_known(s.notebook, base), **rnd.parameters,
                           **_resolve_params(rnd, s.parameters)} for s in specs}
        keys = {s.name: notebook_key(rnd, s, params[s.name], package, inputs) for s in specs}
        results: dict[str, NotebookOutcome] = {}
        todo: list[NotebookSpec] = []
        for s in specs:
            hit = cache.get(s.name)
            if hit and hit.get("key") == keys[s.name] and _outputs_intact(rnd, hit):
                results[s.name] = NotebookOutcome(s.name, s.notebook, rnd.root / hit["output"],
                                                  True, 0.0, cached=True)
                say(f"ok   {s.name} (unchanged since the last run: reused)")
            else:
                todo.append(s)
        bar = tqdm(total=len(todo), desc=f"round {rnd.name}", unit="notebook",
                   disable=not progress or not todo, leave=True)

        tell = bar.write if say is print and not bar.disable else say  # keep the bar intact

        def finished(outcome: NotebookOutcome) -> None:
            results[outcome.name] = outcome
            bar.update(1)
            tell(f"{'ok  ' if outcome.ok else 'FAIL'} {outcome.name} ({outcome.seconds:.1f} s)"
                 + ("" if outcome.ok else f"\n     {outcome.error}"))

        if jobs == 1 or len(todo) <= 1:
            for s in todo:
                bar.set_postfix_str(s.name)
                finished(execute_notebook(rnd.root, rnd.report_dir, s.notebook, s.name,
                                          params[s.name]))
        else:
            ctx = get_context("spawn")  # a clean interpreter per worker: no inherited threads
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx,
                                     initializer=interrupt.ignore_sigint) as pool:
                futures = [pool.submit(execute_notebook, rnd.root, rnd.report_dir, s.notebook,
                                       s.name, params[s.name]) for s in todo]
                try:
                    for fut in as_completed(futures):
                        finished(fut.result())
                except KeyboardInterrupt:  # Ctrl-C: the workers ignore it; end them here
                    interrupt.stop_pool(pool)
                    raise
        bar.close()
        outcomes = [results[s.name] for s in specs]
        records = []
        for o, s in zip(outcomes, specs, strict=True):
            rec: dict[str, Any] = {
                "name": o.name, "ok": o.ok, "output": str(o.output.relative_to(rnd.root)),
                "parameters": {**rnd.parameters, **s.parameters}, "error": o.error,
                "key": keys[s.name] if o.ok else "", "cached": o.cached,
                "seconds": round(o.seconds, 1)}
            if o.ok:
                rec["files"] = previous[o.name]["files"] if o.cached else _outputs_of(rnd, o.name)
            records.append(rec)
        if only:  # notebooks not run this time keep their last record, in the round's order
            kept = {n["name"]: n for n in last.get("notebooks", [])}
            kept.update({r["name"]: r for r in records})
            records = [kept[s.name] for s in rnd.notebooks if s.name in kept]
        write_json({
            "round": rnd.name, "title": rnd.title, "date": rnd.date.isoformat(),
            "round_file": str(rnd.path.relative_to(rnd.root)),
            "round_file_sha256": sha256_file(rnd.path), "git_commit": git_commit(rnd.root),
            "versions": package_versions(), "started": started, "prepare": prep,
            "prepare_seconds": round(prep_seconds, 1), "inputs": inputs, "jobs": jobs,
            "notebooks": records, "previous": previous_record(rnd),
            "targets": rnd.targets,
            "actions": _rel(rnd, rnd.actions) if rnd.actions else None,
            "finished": timestamp(),
        }, rnd.report_dir / "round.json")
    return outcomes


def previous_record(rnd: Round) -> dict[str, str] | None:
    """What ``round.json`` says of the round before ``rnd`` (its ``previous:``): name, round
    file (relative to the project root), ISO date and title; None for a first round."""
    p = rnd.previous
    if p is None:
        return None
    return {"round": p.name, "file": _rel(rnd, p.path), "date": p.date.isoformat(),
            "title": p.title}


def run_chain(path: str | Path, previous: bool = True, say: Callable[[str], None] = print,
              **options: Any) -> list[tuple[Round, list[NotebookOutcome]]]:
    """``sqa run ROUNDFILE``: the rounds before it first (its ``previous:`` chain, oldest
    first), each run exactly as ``run_round`` runs it alone, then the round itself.

    ``options`` (``only``, ``skip_prepare``, ``progress``, ``jobs``, ``force``) go to every
    round's ``run_round`` except ``only`` and ``skip_prepare``, which are the named round's
    alone.  A previous round that is up to date costs little: its prepare steps and notebooks
    are reused from its last run (the content-hash cache).  ``previous=False``
    (``sqa run --no-previous``) runs the named round only.  A round file error anywhere in the
    chain is raised (``RoundError``) before anything runs; a failing notebook of an earlier
    round does not stop the later ones (their outcomes say so).  Returns (round, outcomes)
    per round, in the order run.
    """
    rnd = load_round(path)
    chain = previous_chain(rnd) if previous else []
    later = {k: v for k, v in options.items() if k not in ("only", "skip_prepare")}
    done: list[tuple[Round, list[NotebookOutcome]]] = []
    for p in chain:
        say(f"round {p.name} ({_rel(rnd, p.path)}), a round before {rnd.name}:")
        done.append((p, run_round(p.path, say=say, **later)))
    if chain:
        say(f"round {rnd.name} ({_rel(rnd, rnd.path)}):")
    done.append((rnd, run_round(rnd.path, say=say, **options)))
    return done


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (read with ``ast``).

    The same names papermill's ``inspect_notebook`` reports, without importing papermill
    (whose import alone takes seconds, too long for a no-change rebuild).
    """
    import ast

    nb = json.loads(notebook.read_text("utf-8"))
    names: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get(
                "tags", []):
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            for node in ast.parse(src).body:
                targets = (node.targets if isinstance(node, ast.Assign) else
                           [node.target] if isinstance(node, ast.AnnAssign) else [])
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _known(notebook: Path, params: dict[str, Any]) -> dict[str, Any]:
    """The subset of the round-wide parameters that the notebook's parameters cell declares."""
    declared = declared_parameters(notebook)
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
    """SHA-256 of every file the round's notebooks read.

    The canonical tables, samples and logs under ``data/processed/<round>/`` (except its
    ``internal/`` folder, which notebooks write), the published figures under
    ``data/published/``, the audit template, and every file named by a parameter, round-level
    or a notebook's own, with every file inside a folder named by one (``_parameter_files``).
    """
    hashes: dict[str, str] = {}
    internal = rnd.processed_dir / "internal"
    for folder in (rnd.processed_dir, rnd.root / "data" / "published"):
        if folder.exists():
            for f in sorted(folder.rglob("*")):
                if (f.is_file() and f.suffix in {".parquet", ".json", ".csv", ".yml"}
                        and not f.is_relative_to(internal)):
                    hashes[str(f.relative_to(rnd.root))] = sha256_file(f)
    if rnd.standards and rnd.standards.is_file():
        name = _standards_name(rnd)
        key = (f"analysis/config/{rnd.standards.name}" if name in schemas_shipped()
               else _rel(rnd, rnd.standards))
        hashes[key] = sha256_file(rnd.standards)
    hashes.update(_parameter_files(rnd, rnd.parameters))
    for spec in rnd.notebooks:
        hashes.update(_parameter_files(rnd, spec.parameters))
    return hashes


SKIPPED_NAMES = ("__pycache__",)


def _skipped(name: str) -> bool:
    """Files and folders a parameter folder's key leaves out: hidden ones (``.git``,
    ``.ipynb_checkpoints``, ``.DS_Store``), Python caches and Office lock files (``~$x.xlsx``,
    there while someone has the workbook open).  None of them is data a notebook reads, and
    keying them would re-run notebooks whenever an editor or a viewer touched the folder."""
    return name.startswith((".", "~$")) or name in SKIPPED_NAMES


def _parameter_files(rnd: Round, params: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of every file a round's parameters name (path -> digest, for a notebook key).

    A parameter whose value (or an item of a list, or a value of a mapping, as a value) names
    an existing file relative to the project root, or an absolute one, gives that file.  A
    folder gives every file under it, by relative path, sorted, skipping ``_skipped`` names:
    a parameter ending ``_dir`` names a folder wherever it is; any other parameter whose value
    is an existing folder inside the project counts too; never the project root or a folder
    above it (a notebook reading the project names its files), nor a folder the notebooks write
    (``reports/<round>/`` and ``data/processed/<round>/internal/``), whose files change with
    every run.  So adding, removing or editing a file a notebook reads re-executes it.
    """
    out: dict[str, str] = {}
    written = (rnd.report_dir, rnd.processed_dir / "internal")

    def folder(d: Path) -> None:
        for top, dirs, files in os.walk(d):
            dirs[:] = sorted(x for x in dirs if not _skipped(x))
            for name in sorted(files):
                f = Path(top) / name
                if not _skipped(name) and f.is_file() and not any(
                        f.is_relative_to(w) for w in written):
                    out[_rel(rnd, f)] = sha256_file(f)

    def visit(name: str, value: Any) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                visit(name, item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(name, item)
        elif isinstance(value, str) and value.strip():
            path = rnd.resolve(value)
            if _is_file(path):
                out[_rel(rnd, path)] = sha256_file(path)
            elif _is_dir(path):
                full, root = path.resolve(), rnd.root.resolve()
                if root.is_relative_to(full):  # the project root or above it: not an input
                    return
                if name.endswith("_dir") or full.is_relative_to(root):
                    folder(path)

    for k, v in params.items():
        visit(k, v)
    return out
