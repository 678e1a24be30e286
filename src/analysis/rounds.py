"""Round files: what a round is (``Round``), the checks that refuse a bad one before anything
runs (``load_round``), its prepare steps in order (``prepare_steps``), and writing a new one
(``new_round``, ``sqa new-round NAME``).

A round file is the analyst's whole recipe for one audit round (see ``rounds/demo.yml`` and
``rounds/example.yml``); ``analysis.pipeline.run_round`` runs it. A new one is written from
the commented template ``templates/round.yml``: inputs under ``data/raw/<name>/`` (ignored by
git), ``demo: false``, the prepare steps in the order an analyst meets them and every key
explained. It never overwrites a round file, and the file it writes passes ``load_round``.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import yaml

from . import yamlfile

__all__ = ["NAME_RE", "PREPARE_STEPS", "RESERVED_ROUNDS", "ROUND_KEYS", "TARGET_SENSES",
           "NotebookSpec", "Round", "RoundError", "find_root", "load_round", "new_round",
           "prepare_steps", "previous_chain", "returns_manifest", "sample_dir",
           "schemas_shipped"]


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
    prepare: Any
    notebooks: list[NotebookSpec]
    parameters: dict[str, Any]
    publish: dict[str, Any]
    previous: Round | None = None  # the round before this one (``previous:``), parsed
    targets: dict[str, dict[str, float]] = field(default_factory=dict)
    actions: Path | None = None  # the round's actions file (``actions:``); may not exist yet

    @property
    def report_dir(self) -> Path:
        return self.root / "reports" / self.name

    @property
    def processed_dir(self) -> Path:
        return self.root / "data" / "processed" / self.name

    def resolve(self, p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.root / p


def find_root(start: Path) -> Path:
    """The project root: the nearest folder (from ``start`` up) holding ``_quarto.yml``."""
    for folder in [start, *start.parents]:
        if (folder / "_quarto.yml").exists():
            return folder
    return Path.cwd()


ROUND_KEYS = ("round", "title", "date", "demo", "scale", "standards", "prepare", "notebooks",
              "parameters", "publish", "allow_outside", "previous", "targets", "actions")
STEP_KEYS: dict[str, tuple[str, ...]] = {
    "synth": ("out", "seed", "contacts", "shift", "assessment_shift", "year_end"),
    "ingest": ("kind", "file", "files", "manifest", "due", "agencies", "mapping", "name",
               "sheet", "out", "cases"),
    "sample": ("design", "name", "seed", "cases", "previous"),
    "simulate_audit": ("sample", "kind", "out", "truth", "seed"),
}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_ROUNDS = ("site",)  # reports/site/ is the served site


def _unknown(path: Path, where: str, keys: Any, allowed: tuple[str, ...]) -> None:
    """Refuse a key the round file does not know, naming it and the nearest known key."""
    import difflib

    for key in keys:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean '{near[0]}:'?" if near else ""
            raise RoundError(f"{path}: {where}unknown key {key!r}.{hint} The keys are: "
                             f"{', '.join(allowed)}.")


def _parameters(path: Path, where: str, value: Any) -> dict[str, Any]:
    """A parameters mapping whose names are Python identifiers (papermill writes them into
    the notebook as code) and whose dates are ISO strings."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RoundError(f"{path}: {where}'parameters:' must be a mapping of name: value, "
                         f"not {type(value).__name__}.")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k.isidentifier() or keyword.iskeyword(k):
            raise RoundError(f"{path}: {where}parameter name {k!r} is not a name a notebook "
                             "can take: use letters, digits and underscores, not starting "
                             "with a digit (e.g. min_audited).")
        out[k] = v.isoformat() if isinstance(v, date) else v
    return out


def _inside(path: Path, root: Path, where: str, value: Any, allow: bool = False) -> None:
    if allow or value is None:
        return
    p = Path(str(value))
    full = (p if p.is_absolute() else root / p).resolve()
    if not full.is_relative_to(root.resolve()):
        raise RoundError(f"{path}: {where}{value} is outside the project ({root}). Keep the "
                         "round's files inside it (raw exports under data/raw/); for raw "
                         "inputs elsewhere set 'allow_outside: true'.")


def _writes_data(rnd: Round, where: str, value: Any) -> None:
    """A prepare step writes under ``data/`` only (never ``data/published/``, the code, the
    notebooks or ``reports/``, where the served site and the executed notebooks live)."""
    if value is None:
        return
    p = Path(str(value))
    full = (p if p.is_absolute() else rnd.root / p).resolve()
    data = (rnd.root / "data").resolve()
    if not full.is_relative_to(data) or full.is_relative_to(data / "published"):
        raise RoundError(f"{rnd.path}: {where}{value} is not a place a round may write. A "
                         "step's output goes under data/ (e.g. data/processed/<round>/ or "
                         "data/synthetic/<round>/), never into data/published/, reports/ "
                         "or the code.")


def _check_steps(rnd: Round, allow_outside: bool) -> None:
    """Every prepare step's keys known, its kind valid and its paths inside the project.

    ``schemas`` (and with it pandas) is imported only when a round has an ingest step, so a
    no-change ``sqa run`` stays quick.
    """
    for i, (step, cfg) in enumerate(prepare_steps(rnd)):
        where = f"prepare[{i}] ({step}): "
        _unknown(rnd.path, where, cfg, STEP_KEYS[step])
        if step == "synth":
            _check_synth(rnd, where, cfg)
        if step == "ingest" and cfg.get("kind") is not None:
            from .schemas import KINDS

            if cfg["kind"] not in (*KINDS, "annex-a"):
                raise RoundError(f"{rnd.path}: {where}kind {cfg['kind']!r} is not one of "
                                 f"{', '.join((*KINDS, 'annex-a'))}.")
            if cfg["kind"] == "annex-a":
                if "cases" in cfg and not NAME_RE.match(str(cfg["cases"])):
                    raise RoundError(f"{rnd.path}: {where}cases: {cfg['cases']!r} names a table "
                                     "file in the round's processed folder: use letters, "
                                     "digits, '_', '.' or '-' (e.g. annex_a_cases).")
                for k in ("mapping", "sheet", "name"):
                    if k in cfg:
                        raise RoundError(
                            f"{rnd.path}: {where}an annex-a step reads every sheet with the "
                            f"shipped Annex A headers: leave out '{k}:' (the front-door "
                            "table's name is 'cases:').")
            elif "cases" in cfg:
                raise RoundError(f"{rnd.path}: {where}'cases:' names the front-door table of "
                                 "an annex-a step; use 'name:' for a table of kind "
                                 f"{cfg['kind']}.")
        if step == "simulate_audit" and cfg.get("kind", "tier2") not in ("tier2", "threshold"):
            raise RoundError(f"{rnd.path}: {where}kind {cfg['kind']!r} is not one of tier2, "
                             "threshold.")
        for key in ("out", "truth", "file"):
            _inside(rnd.path, rnd.root, f"{where}{key}: ", cfg.get(key),
                    allow=allow_outside and key == "file")
        if step == "ingest" and ("files" in cfg or "manifest" in cfg):
            _check_returns_step(rnd, where, cfg, allow_outside)
        for key in ("out", "truth"):  # what a step writes stays in data/, off the site
            _writes_data(rnd, f"{where}{key}: ", cfg.get(key))
        for key in ("design", "mapping"):  # a YAML path (not a built-in name) stays inside
            value = str(cfg.get(key, ""))
            if value.endswith((".yml", ".yaml")):
                _inside(rnd.path, rnd.root, f"{where}{key}: ", value)
        for prev in cfg.get("previous") or []:
            _inside(rnd.path, rnd.root, f"{where}previous: ", prev)


def _check_synth(rnd: Round, where: str, cfg: dict[str, Any]) -> None:
    """A synth step's ``shift:`` (a number: tier-2 P(met) lower by it, ``synth.demo_frames``),
    ``assessment_shift:`` (the front door's P(assessment on time) lower by it) and
    ``year_end:`` (the last day of the synthetic year, a date)."""
    for name, what in (("shift", "tier-2 P(met) lower by it, e.g. shift: 0.06"),
                       ("assessment_shift", "P(assessment within 45 working days) lower by "
                        "it, e.g. assessment_shift: 0.05")):
        shift = cfg.get(name, 0.0)
        if isinstance(shift, bool) or not isinstance(shift, int | float) or not -1 < shift < 1:
            raise RoundError(f"{rnd.path}: {where}{name}: {shift!r} must be a number between "
                             f"-1 and 1 ({what}).")
    _check_date(rnd, where, "year_end", cfg.get("year_end"),
                " (the last day of the synthetic year, e.g. 2025-03-31)")


def _check_date(rnd: Round, where: str, key: str, value: Any, hint: str = "") -> None:
    """A date key of a step (None: absent): a date, or text in ISO form."""
    if value is not None and not isinstance(value, date):
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise RoundError(f"{rnd.path}: {where}{key}: {value!r} is not a date; write it as "
                             f"YYYY-MM-DD{hint}.") from None


def _check_returns_step(rnd: Round, where: str, cfg: dict[str, Any],
                        allow_outside: bool) -> None:
    """An ingest step of returned audit workbooks (``files:`` and ``manifest:``): kind audit,
    a list of files or folders inside the project, a manifest, a due date, agency names."""
    if cfg.get("kind") != "audit":
        raise RoundError(f"{rnd.path}: {where}'files:' and 'manifest:' are for returned audit "
                         "workbooks: set 'kind: audit'.")
    if "file" in cfg and "files" in cfg:
        raise RoundError(f"{rnd.path}: {where}give 'file:' or 'files:', not both.")
    files = cfg.get("files", [cfg.get("file")] if "file" in cfg else None)
    if not isinstance(files, list) or not files or not all(
            isinstance(f, str) and f.strip() for f in files):
        raise RoundError(f"{rnd.path}: {where}'files:' must be a list of returned workbooks or "
                         "folders of them, e.g. files: [data/raw/<round>/returns/].")
    if not cfg.get("manifest"):
        raise RoundError(f"{rnd.path}: {where}returned workbooks are checked against their "
                         "sample: add 'manifest:' (a sample drawn earlier in the round, e.g. "
                         "hackney_2011, or a manifest.json path).")
    for f in files:
        _inside(rnd.path, rnd.root, f"{where}files: ", f, allow=allow_outside)
    if str(cfg["manifest"]).endswith(".json"):
        _inside(rnd.path, rnd.root, f"{where}manifest: ", cfg["manifest"])
    _check_date(rnd, where, "due", cfg.get("due"))
    agencies = cfg.get("agencies")
    if agencies is not None and (not isinstance(agencies, list) or not all(
            isinstance(a, str) and a.strip() for a in agencies)):
        raise RoundError(f"{rnd.path}: {where}agencies: must be a list of agency names, e.g. "
                         "[police, health, csc].")


def returns_manifest(rnd: Round, value: Any) -> Path:
    """The manifest an ingest step of returned workbooks names: a sample drawn in the round
    (``data/processed/<round>/samples/<name>/manifest.json``) or a path to a manifest."""
    drawn = sample_dir(rnd, str(value)) / "manifest.json"
    if not str(value).endswith(".json") and drawn.is_file():
        return drawn
    path = rnd.resolve(str(value))
    if not path.is_file():
        raise RoundError(f"{rnd.path}: ingest: manifest {value!r} is neither a sample drawn "
                         f"earlier in this round ({_rel(rnd, drawn)} is not there: add a sample "
                         "step before this one) nor a manifest file.")
    return path


def load_round(path: str | Path, _after: tuple[Path, ...] = ()) -> Round:
    """Parse and check a round file; every problem names the file and the key.

    Unknown keys (a typo such as ``paramters:``) are refused with the nearest known key; the
    round's name must be a plain folder name (not ``..``, not ``site``); parameter names must
    be Python identifiers; notebooks, designs, standards and outputs must lie inside the
    project (raw inputs may lie outside only with ``allow_outside: true``).

    ``previous:`` names the round file of the round before this one (``_previous``): it must
    be inside the project, parse, be dated earlier, and not lead back to a round already in
    the chain (``_after``: the later rounds whose ``previous:`` led here).  ``targets:`` and
    ``actions:`` are checked by ``_targets`` and ``_inside``.
    """
    path = Path(path).resolve()
    if not path.exists():
        raise RoundError(f"{path}: round file not found. Rounds live in rounds/, e.g. "
                         "`sqa run rounds/demo.yml`.")
    try:
        d = yamlfile.load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RoundError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(d, dict):
        raise RoundError(f"{path}: a round file is a YAML mapping with round:, notebooks: ...")
    root = find_root(path.parent)
    _unknown(path, "", d, ROUND_KEYS)
    name = str(d.get("round") or "")
    if not NAME_RE.match(name) or name in RESERVED_ROUNDS:
        raise RoundError(f"{path}: 'round: {name}' must be a short name without spaces or "
                         "slashes, starting with a letter or digit, and not 'site' (it names "
                         "the folders reports/<round>/ and data/processed/<round>/).")
    try:
        when = d.get("date") or date.today()
        when = when if isinstance(when, date) else date.fromisoformat(str(when))
    except ValueError:
        raise RoundError(f"{path}: 'date:' must be an ISO date such as 2026-03-31.") from None
    nbs = []
    items = d.get("notebooks") or []
    if not isinstance(items, list):
        raise RoundError(f"{path}: 'notebooks:' must be a list of notebooks.")
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"notebook": item}
        if not isinstance(item, dict) or "notebook" not in item:
            raise RoundError(f"{path}: notebooks[{i}] needs a 'notebook:' path.")
        _unknown(path, f"notebooks[{i}]: ", item, ("notebook", "parameters"))
        _inside(path, root, f"notebooks[{i}]: ", item["notebook"])
        nb = root / item["notebook"]
        if not nb.exists():
            raise RoundError(f"{path}: notebooks[{i}]: {item['notebook']} does not exist.")
        if not nb.is_file() or nb.suffix != ".ipynb":
            raise RoundError(f"{path}: notebooks[{i}]: {item['notebook']} is not a notebook "
                             "file (.ipynb).")
        try:
            json.loads(nb.read_text("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RoundError(f"{path}: notebooks[{i}]: {item['notebook']} is not a valid "
                             "notebook (not JSON); save it again from Jupyter.") from None
        nbs.append(NotebookSpec(nb, _parameters(path, f"notebooks[{i}]: ",
                                                item.get("parameters"))))
    if not nbs:
        raise RoundError(f"{path}: the round lists no notebooks (add a 'notebooks:' list).")
    std = d.get("standards")
    from . import schemas

    shipped = schemas.shipped_standards(str(std)) if std else None
    if not shipped:
        _inside(path, root, "standards: ", std)
        if std and not (root / str(std)).is_file():
            raise RoundError(f"{path}: 'standards: {std}' is neither a shipped audit template "
                             f"({', '.join(schemas.SHIPPED_STANDARDS)}) nor a YAML file of the "
                             "project; give one of those names or the template's path.")
        if std:
            try:
                schemas.load_standards(root / str(std))
            except (ValueError, KeyError, TypeError) as exc:
                raise RoundError(f"{path}: 'standards: {std}': {exc}") from None
    scale = d.get("scale")
    if scale is not None:
        try:
            schemas.load_scale(str(scale))
        except ValueError as exc:
            raise RoundError(f"{path}: scale: {exc}.") from None
    rnd = Round(path=path, root=root, name=name, title=str(d.get("title") or name), date=when,
                demo=bool(d.get("demo", False)), scale=scale,
                standards=shipped or (root / std if std else None), prepare=d.get("prepare") or [],
                notebooks=nbs, parameters=_parameters(path, "", d.get("parameters")),
                publish=dict(d.get("publish") or {}),
                targets=_targets(path, d.get("targets")))
    if d.get("actions") is not None:
        if not isinstance(d["actions"], str) or not d["actions"].strip():
            raise RoundError(f"{path}: 'actions:' is the path of the round's actions file, "
                             f"e.g. actions: rounds/actions/{name}.yml.")
        _inside(path, root, "actions: ", d["actions"])
        rnd.actions = root / d["actions"]
    _check_steps(rnd, bool(d.get("allow_outside", False)))
    if d.get("previous") is not None:
        rnd.previous = _previous(rnd, d["previous"], (*_after, path))
    return rnd


def _previous(rnd: Round, value: Any, chain: tuple[Path, ...]) -> Round:
    """The round named by ``previous:`` (the round before ``rnd``), parsed and checked.

    It must be a round file inside the project that ``load_round`` accepts, dated before
    ``rnd``, and not one of ``chain`` (``rnd`` and the later rounds that led to it): a
    ``previous:`` that comes back round would make ``sqa run`` run for ever.
    """
    where = f"{rnd.path}: previous: "
    if not isinstance(value, str) or not value.strip():
        raise RoundError(f"{where}give the round file of the round before this one, e.g. "
                         "previous: rounds/demo-2025.yml.")
    _inside(rnd.path, rnd.root, "previous: ", value)
    prev_path = (rnd.root / value).resolve()
    if not prev_path.is_file():
        raise RoundError(f"{where}{value} does not exist. Give the round file of the round "
                         "before this one (a path from the project root, e.g. "
                         "rounds/demo-2025.yml), or leave 'previous:' out for a first round.")
    if prev_path in chain:
        loop = " -> ".join(_rel(rnd, p) for p in (*chain, prev_path))
        raise RoundError(f"{where}{value} leads back to a round already in the chain ({loop}). "
                         "Each round names the one before it, ending with a round without "
                         "'previous:'; remove the 'previous:' that closes the loop.")
    try:
        prev = load_round(prev_path, chain)
    except RoundError as exc:
        raise RoundError(f"{where}{value} is not a round that can run: {exc}") from None
    if prev.date >= rnd.date:
        raise RoundError(f"{where}{value} (round {prev.name}) is dated {prev.date.isoformat()}, "
                         f"not before this round's date {rnd.date.isoformat()}. The previous "
                         "round must be an earlier one: fix its 'date:' or this one's.")
    if prev.name == rnd.name:
        raise RoundError(f"{where}{value} is round {prev.name} too; a round cannot be its own "
                         "previous round (give each round its own 'round:' name).")
    return prev


def previous_chain(rnd: Round) -> list[Round]:
    """The rounds before ``rnd`` by their ``previous:`` keys, oldest first (``rnd`` not in it).

    ``load_round`` has already refused a chain with a loop or out of date order."""
    chain: list[Round] = []
    p = rnd.previous
    while p is not None:
        chain.append(p)
        p = p.previous
    return chain[::-1]


TARGET_SENSES = ("at_least", "at_most")


def _targets(path: Path, value: Any) -> dict[str, dict[str, float]]:
    """The round's ``targets:``, normalised to ``{key: {"at_least" | "at_most": x}}``.

    A target is a share in [0, 1]: a bare number means "at least this share"
    (``referral_appropriate: 0.8``); ``{at_least: x}`` or ``{at_most: x}`` says which way
    (``rereferral: {at_most: 0.22}``).  The keys (a standard or measure) are recorded as
    written; what they mean is for the summary page to say.
    """
    if value is None:
        return {}
    example = ("e.g. targets: {referral_appropriate: 0.8, rereferral: {at_most: 0.22}}")
    if not isinstance(value, dict):
        raise RoundError(f"{path}: 'targets:' must be a mapping of a standard or measure to a "
                         f"share between 0 and 1, {example}.")
    out: dict[str, dict[str, float]] = {}
    for key, target in value.items():
        where = f"{path}: targets: {key}: "
        if not isinstance(key, str) or not key.strip():
            raise RoundError(f"{path}: targets: the key {key!r} must be the name of a standard "
                             f"or measure (text), {example}.")
        if isinstance(target, dict):
            if len(target) != 1 or next(iter(target)) not in TARGET_SENSES:
                raise RoundError(f"{where}give one of at_least: or at_most: with a share "
                                 f"between 0 and 1 (e.g. {key}: {{at_least: 0.8}}), not "
                                 f"{target!r}.")
            (sense, x), = target.items()
        else:
            sense, x = "at_least", target
        if isinstance(x, bool) or not isinstance(x, int | float) or not 0 <= x <= 1:
            raise RoundError(f"{where}{x!r} is not a share between 0 and 1; write 80% as "
                             f"0.8 (e.g. {key}: {{{sense}: 0.8}}).")
        out[key] = {sense: float(x)}
    return out


PREPARE_STEPS = ("synth", "ingest", "sample", "simulate_audit")


def prepare_steps(rnd: Round) -> list[tuple[str, dict[str, Any]]]:
    """The round's prepare steps in order, as (step, settings) pairs.

    ``prepare:`` is a list of one-key mappings run in the order written, e.g.
    ``- ingest: {kind: cases, file: data/raw/q1.xlsx, mapping: annex_a}``.  The older mapping
    form (``synth:``, ``ingest: [...]``, ``sample: [...]``) is still read, in that order.
    """
    raw = rnd.prepare
    steps: list[tuple[str, dict[str, Any]]] = []
    if isinstance(raw, dict):
        for name in PREPARE_STEPS:
            value = raw.get(name)
            for item in (value if isinstance(value, list) else [value] if value else []):
                if item is not None and not isinstance(item, dict):
                    raise RoundError(f"{rnd.path}: prepare: {name}: the settings must be a "
                                     f"mapping, not {type(item).__name__}.")
                steps.append((name, dict(item or {})))
        return steps
    for i, item in enumerate(raw or []):
        if not isinstance(item, dict) or len(item) != 1:
            raise RoundError(f"{rnd.path}: prepare[{i}] must be one step such as "
                             "'- ingest: {kind: cases, file: ...}'.")
        (name, settings), = item.items()
        if name not in PREPARE_STEPS:
            raise RoundError(f"{rnd.path}: prepare[{i}]: unknown step {name!r}; the steps are "
                             f"{', '.join(PREPARE_STEPS)}.")
        if settings is not None and not isinstance(settings, dict):
            raise RoundError(f"{rnd.path}: prepare[{i}] ({name}): the settings must be a "
                             "mapping such as {kind: cases, file: ...}, not "
                             f"{type(settings).__name__}.")
        steps.append((name, dict(settings or {})))
    return steps


def schemas_shipped() -> tuple[str, ...]:
    """Names of the shipped audit templates (``schemas.SHIPPED_STANDARDS``)."""
    from . import schemas

    return tuple(schemas.SHIPPED_STANDARDS)


def _rel(rnd: Round, p: Path) -> str:
    return str(p.relative_to(rnd.root)) if p.is_relative_to(rnd.root) else str(p)


def sample_dir(rnd: Round, name: str) -> Path:
    """Where a round keeps a drawn sample: ``data/processed/<round>/samples/<name>/``."""
    return rnd.processed_dir / "samples" / name



def new_round(root: Path, name: str, scale: str | None = None, standards: str | None = None,
              design: str | None = None, today: date | None = None) -> Path:
    """Write ``rounds/<name>.yml`` under ``root`` from the template and return its path.

    ``scale`` is a shipped levels-of-need scale (``hackney``, ``four_level``); ``standards`` a
    path (inside the project) of the board's audit template YAML; ``design`` a shipped sample
    design name or a design YAML path. Each is checked before anything is written, and an
    existing round file is never overwritten (:class:`~analysis.pipeline.RoundError`).
    """
    from . import schemas
    from .sampling import DesignError, load_design

    root = root.resolve()
    if not NAME_RE.match(name) or name in RESERVED_ROUNDS:
        raise RoundError(f"round name {name!r}: use a short name without spaces or slashes, "
                         "starting with a letter or digit, and not 'site' (e.g. 2026-q1).")
    path = root / "rounds" / f"{name}.yml"
    if path.exists():
        raise RoundError(f"{path} already exists; a round file is never overwritten. Edit it, "
                         "or choose another name.")
    try:
        scale_name = schemas.load_scale(scale).name
    except ValueError as exc:
        raise RoundError(f"--scale: {exc}") from None
    if standards is not None and schemas.shipped_standards(standards) is not None:
        pass  # a shipped template by name (hackney, graded): written as the name
    elif standards is not None:
        spath = Path(standards)
        full = (spath if spath.is_absolute() else root / spath).resolve()
        if not full.is_file():
            raise RoundError(f"--standards: {standards} is not a file or a shipped template "
                             f"({', '.join(schemas.SHIPPED_STANDARDS)}). Give the path of the "
                             "board's audit template YAML, inside the project.")
        if not full.is_relative_to(root):
            raise RoundError(f"--standards: {standards} is outside the project ({root}); "
                             "copy the template into it (e.g. config/).")
        try:
            schemas.load_standards(full)
        except (ValueError, KeyError, TypeError) as exc:
            raise RoundError(f"--standards: {standards}: {exc}") from None
        standards = full.relative_to(root).as_posix()
    design = design or "hackney_2011"
    try:
        load_design(root / design if design.endswith((".yml", ".yaml")) else design)
    except DesignError as exc:
        raise RoundError(f"--design: {exc}") from None
    when = today or date.today()
    text = Template(resources.files("analysis").joinpath("templates", "round.yml")
                    .read_text("utf-8")).substitute(
        name=name, title=f"Audit round {name}", date=when.isoformat(),
        today=when.isoformat(), scale=scale_name, standards=standards or "null",
        design=design, design_name=Path(design).stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
        fh.write(text)
    try:
        load_round(path)
    except RoundError:
        path.unlink()
        raise
    return path
