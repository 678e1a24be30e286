"""Audit rounds, 1: the prepare steps that make a round's inputs.

``prepare(rnd)`` runs the round file's ordered ``prepare:`` steps (``analysis.rounds``
checks them): ``synth`` (the seeded demo data), ``ingest`` (raw exports -> canonical
tables with quarantine; ``kind: annex-a`` for a whole Ofsted Annex A workbook),
``returns`` (auditors' returned workbooks against the sample's manifest), ``sample`` (draw
an audit sample, its manifest and auditor workbook) and, in demo rounds only,
``simulate_audit``.  A step whose inputs, settings and package are unchanged since the
last run is reused (its key: the SHA-256 of what it reads and how, ``_step_key``), never
judged by file times.  ``analysis.pipeline`` runs it before the notebooks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from .provenance import package_fingerprint, sha256_file
from .rounds import Round, RoundError, _rel, prepare_steps, returns_manifest, sample_dir

__all__ = ["prepare"]


def prepare(rnd: Round, say: Callable[[str], None] = print, force: bool = False,
            last: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the round's prepare steps in order; return what they recorded (for round.json).

    * ``synth``: write the seeded synthetic demo data (``analysis.synth.write_demo``);
    * ``ingest``: a raw export -> canonical table in ``data/processed/<round>/`` (quarantine
      and row accounting; pseudonymised with the round's key, the public demo key when
      ``demo: true``);
    * ``sample``: draw an audit sample with a design (shipped name or YAML path) into
      ``data/processed/<round>/samples/<name>/`` (manifest, design table, auditor workbook);
    * ``simulate_audit``: demo only: the synthetic auditors complete a drawn sample's audit
      (``analysis.synth.write_audit_returns``), giving returns to ingest as real ones would be.

    Each step is skipped when its key (settings, the content of the files it reads, the
    package fingerprint) equals that of the last run and the files it wrote are still there,
    unchanged (``force=True`` runs every step).  An ingest step reads its export, its mapping
    file (a custom YAML or the shipped one it names) and the pseudonymisation key, keyed by
    its fingerprint only (``privacy.key_fingerprint``): a new key re-pseudonymises.
    """
    # Modules are imported only by the steps that run: a no-change rebuild imports nothing.
    record: dict[str, Any] = {"ingest": [], "sample": [], "simulate_audit": [], "steps": []}
    previous_steps = {} if force else {s["key"]: s for s in (last or {}).get(
        "prepare", {}).get("steps", [])}
    package = package_fingerprint()
    common = [package, str(rnd.demo), str(rnd.scale), rnd.date.isoformat(),
              sha256_file(rnd.standards) if rnd.standards else ""]
    synth_out: Path | None = None
    synth_year_end: str | None = None  # the synthetic year the simulated audits are dated in

    def reuse(step: str, cfg: dict[str, Any], reads: list[Path],
              extra: tuple[str, ...] = ()) -> tuple[str, dict | None]:
        key = _step_key(step, cfg, reads, [*common, *extra])
        hit = previous_steps.get(key)
        if hit and all((rnd.root / p).is_file() and sha256_file(rnd.root / p) == d
                       for p, d in hit["outputs"].items()):
            return key, hit
        return key, None

    def done(step: str, key: str, entry: dict[str, Any], outputs: list[Path]) -> None:
        if step != "synth":
            record[step].append(entry)
        else:
            record["synth"] = entry
        record["steps"].append({"step": step, "key": key, "record": entry, "outputs": {
            _rel(rnd, p): sha256_file(p) for p in sorted(set(outputs)) if p.is_file()}})

    for step, cfg in prepare_steps(rnd):
        t0 = time.perf_counter()
        if step == "synth":
            synth_out = rnd.resolve(cfg.get("out", f"data/synthetic/{rnd.name}"))
            if cfg.get("year_end") is not None:
                synth_year_end = str(cfg["year_end"])
            key, hit = reuse(step, cfg, [])
            if hit:
                say(f"synth: unchanged, reused {_rel(rnd, synth_out)}")
                done(step, key, hit["record"], [rnd.root / p for p in hit["outputs"]])
                continue
            from . import synth

            seed = int(cfg.get("seed", 20161))
            from . import schemas

            paths = synth.write_demo(
                synth_out, seed=seed, contacts=cfg.get("contacts"),
                standards=schemas.load_standards(rnd.standards) if rnd.standards else None,
                scale=schemas.load_scale(rnd.scale) if rnd.scale else None,
                shift=float(cfg.get("shift", 0.0)), year_end=cfg.get("year_end"),
                assessment_shift=float(cfg.get("assessment_shift", 0.0)))
            say(f"synth: wrote demo data to {_rel(rnd, synth_out)} "
                f"({time.perf_counter() - t0:.1f} s)")
            files = [Path(p) for p in paths.values() if isinstance(p, str | Path)]
            known = {k: str(cfg[k]) if k == "year_end" else cfg[k]
                     for k in ("shift", "assessment_shift", "year_end")
                     if cfg.get(k) is not None}
            done(step, key, {"out": str(synth_out), "seed": seed, **known,
                             "files": sorted(p.name for p in files)}, files)
        elif step == "ingest" and ("files" in cfg or "manifest" in cfg):
            _prepare_returns(rnd, cfg, reuse, done, say)
        elif step == "ingest":
            for k in ("kind", "file"):
                if k not in cfg:
                    raise RoundError(f"{rnd.path}: an ingest step needs '{k}:'.")
            src = rnd.resolve(cfg["file"])
            if cfg["kind"] == "annex-a":
                _ingest_annex_a(rnd, cfg, src, reuse, done, say, step)
                continue
            mapping, mapping_file = _ingest_mapping(rnd, cfg.get("mapping"))
            pseudonym_key = _pseudonym_key(rnd)
            from .privacy import key_fingerprint

            key, hit = reuse(step, cfg, [src] + ([mapping_file] if mapping_file else []),
                             (f"key:{key_fingerprint(pseudonym_key)}",))
            if hit:
                say(f"ingest {cfg['kind']}: {_rel(rnd, src)}: unchanged, reused")
                done(step, key, hit["record"], [rnd.root / p for p in hit["outputs"]])
                continue
            from . import ingest as ingest_mod
            from . import schemas

            standards = schemas.load_standards(rnd.standards) if rnd.standards else None
            scale = schemas.load_scale(rnd.scale) if rnd.scale else None
            out = rnd.resolve(cfg.get("out", rnd.processed_dir))
            res = ingest_mod.ingest(src, cfg["kind"], mapping, key=pseudonym_key,
                                    sheet=cfg.get("sheet"), standards=standards, scale=scale,
                                    today=rnd.date if rnd.demo else None)
            written = ingest_mod.write_outputs(res, out, name=cfg.get("name"))
            say(f"ingest {cfg['kind']}: {_rel(rnd, src)}: {res.rows_read} read, "
                f"{res.rows_accepted} accepted, {res.rows_quarantined} quarantined")
            done(step, key, {"kind": cfg["kind"], "file": str(src),
                             "name": cfg.get("name") or cfg["kind"],
                             "mapping": mapping, "sheet": cfg.get("sheet"),
                             "sha256": res.input_sha256,
                             "rows_read": res.rows_read, "rows_accepted": res.rows_accepted,
                             "rows_quarantined": res.rows_quarantined},
                 list(written.values()))
        elif step == "sample":
            if "design" not in cfg:
                raise RoundError(f"{rnd.path}: a sample step needs 'design:' (a shipped design "
                                 "name such as hackney_2011, or a YAML path).")
            design = str(cfg["design"])
            design_path = rnd.resolve(design) if design.endswith((".yml", ".yaml")) else None
            name = str(cfg.get("name") or Path(design).stem)
            cases = rnd.processed_dir / f"{cfg.get('cases', 'cases')}.parquet"
            previous = [rnd.resolve(p) for p in cfg.get("previous") or []]
            reads = [cases, *previous] + ([design_path] if design_path else [])
            key, hit = reuse(step, cfg, reads)
            if hit:
                say(f"sample {name}: inputs and design unchanged, reused the drawn sample")
                done(step, key, hit["record"], [rnd.root / p for p in hit["outputs"]])
                continue
            from . import sampling

            out = sample_dir(rnd, name)
            code = sampling.cli_draw(cases, design_path or design, cfg.get("seed"), out,
                                     previous, rnd.standards, rnd.scale)
            if code != 0:
                raise RoundError(f"{rnd.path}: drawing the sample {name!r} failed (see above).")
            manifest = out / "manifest.json"
            say(f"sample {name}: drew from {_rel(rnd, cases)} -> {_rel(rnd, out)}")
            done(step, key, {"name": name, "design": design, "manifest": _rel(rnd, manifest),
                             "manifest_sha256": sha256_file(manifest)},
                 sorted(p for p in out.rglob("*") if p.is_file()))
        elif step == "simulate_audit":
            if not rnd.demo:
                raise RoundError(f"{rnd.path}: simulate_audit makes up auditors' answers and "
                                 "is for demo rounds only (set 'demo: true').")
            name = str(cfg.get("sample", ""))
            manifest = sample_dir(rnd, name) / "manifest.json"
            if not manifest.exists():
                raise RoundError(f"{rnd.path}: simulate_audit: no sample named {name!r} was "
                                 "drawn earlier in this round (add a sample step before it).")
            base = synth_out or rnd.resolve(f"data/synthetic/{rnd.name}")
            truth = rnd.resolve(cfg["truth"]) if cfg.get("truth") else base / "truth.parquet"
            out_file = rnd.resolve(cfg.get("out", base / f"audit_returns_{name}.csv"))
            key, hit = reuse(step, cfg, [manifest, truth],
                             (f"year_end:{synth_year_end}",) if synth_year_end else ())
            if hit:
                say(f"simulate_audit {name}: unchanged, reused {_rel(rnd, out_file)}")
                done(step, key, hit["record"], [rnd.root / p for p in hit["outputs"]])
                continue
            from . import schemas, synth

            synth.write_audit_returns(
                manifest, truth, out_file, seed=int(cfg.get("seed", 1)),
                kind=str(cfg.get("kind", "tier2")),
                standards=schemas.load_standards(rnd.standards) if rnd.standards else None,
                scale=schemas.load_scale(rnd.scale) if rnd.scale else None,
                year_end=synth_year_end)
            say(f"simulate_audit {name}: synthetic auditors completed the sample -> "
                f"{_rel(rnd, out_file)}")
            done(step, key, {"sample": name, "out": str(out_file)}, [out_file])
    return record


def _prepare_returns(rnd: Round, cfg: dict[str, Any], reuse: Callable[..., Any],
                     done: Callable[..., None], say: Callable[[str], None]) -> None:
    """An ingest step of returned audit workbooks (``analysis.returns``): every file of the
    folders named is part of the step's key, with the manifest and the pseudonymisation key's
    fingerprint; the round's ingest record lists the files (``files``) for the gate."""
    from .privacy import key_fingerprint
    from .returns import expand_paths

    t0 = time.perf_counter()
    manifest = returns_manifest(rnd, cfg["manifest"])
    named = cfg.get("files") or [cfg["file"]]
    files = expand_paths([rnd.resolve(f) for f in named])
    pseudonym_key = _pseudonym_key(rnd)
    key, hit = reuse("ingest", cfg, [*files, manifest],
                     (f"key:{key_fingerprint(pseudonym_key)}",
                      *(str(f.relative_to(rnd.root)) if f.is_relative_to(rnd.root) else str(f)
                        for f in files)))
    label = ", ".join(str(f) for f in named)
    if hit:
        say(f"ingest audit returns: {label}: unchanged, reused")
        done("ingest", key, hit["record"], [rnd.root / p for p in hit["outputs"]])
        return
    from . import returns, schemas

    standards = schemas.load_standards(rnd.standards) if rnd.standards else None
    scale = schemas.load_scale(rnd.scale) if rnd.scale else None
    due = cfg.get("due")
    res = returns.ingest_returns(files, manifest, key=pseudonym_key, standards=standards,
                                 scale=scale, due=due if isinstance(due, date | None) else str(due),
                                 agencies=cfg.get("agencies"),
                                 today=rnd.date if rnd.demo else None)
    out = rnd.resolve(cfg.get("out", rnd.processed_dir))
    name = cfg.get("name") or "audit"
    written = returns.write_returns(res, out, name)
    s = res.summary
    say(f"ingest audit returns: {len(files)} file(s): {res.rows_read} read, "
        f"{res.rows_accepted} accepted, {res.rows_quarantined} quarantined; "
        f"{s['complete']} of {s['sampled']} sampled cases with complete returns "
        f"({time.perf_counter() - t0:.1f} s)")
    done("ingest", key, {
        "kind": "audit", "name": name, "mapping": None, "sheet": None,
        "files": [{"file": str(f.file), "sheets": [x for x in f.sheets if x] or None,
                   "sha256": f.sha256} for f in res.files],
        "manifest": _rel(rnd, manifest), "sample_fingerprint": res.sample_fingerprint,
        "due": s["due"], "agencies": s["agencies"],
        "rows_read": res.rows_read, "rows_accepted": res.rows_accepted,
        "rows_quarantined": res.rows_quarantined}, list(written.values()))


def _ingest_annex_a(rnd: Round, cfg: dict[str, Any], src: Path, reuse: Any, done: Any,
                    say: Callable[[str], None], step: str) -> None:
    """An ``- ingest: {kind: annex-a, file: ..., cases: NAME}`` step: every list of the
    workbook (``analysis.annex_a``) into ``data/processed/<round>/``, the journey and the
    front-door table ``NAME`` (default ``cases``); round.json records the counts per list.
    Cached like any ingest: keyed by the workbook, the shipped list headers
    (``mappings/annex_a_lists.yml``) and the key's fingerprint."""
    from importlib import resources

    from .privacy import key_fingerprint

    pseudonym_key = _pseudonym_key(rnd)
    headers = Path(str(resources.files("analysis").joinpath("mappings", "annex_a_lists.yml")))
    key, hit = reuse(step, cfg, [src, headers], (f"key:{key_fingerprint(pseudonym_key)}",))
    if hit:
        say(f"ingest annex-a: {_rel(rnd, src)}: unchanged, reused")
        done(step, key, hit["record"], [rnd.root / p for p in hit["outputs"]])
        return
    from . import annex_a, schemas

    scale = schemas.load_scale(rnd.scale) if rnd.scale else None
    out = rnd.resolve(cfg.get("out", rnd.processed_dir))
    res = annex_a.read_workbook(src, key=pseudonym_key, scale=scale,
                                today=rnd.date if rnd.demo else None)
    cases_name = str(cfg.get("cases") or "cases")
    written = annex_a.write_outputs(res, out, cases_name=cases_name)
    for line in annex_a.summary_lines(res)[1:]:
        say(f"ingest annex-a: {_rel(rnd, src)}:{line}")
    lists = annex_a.counts(res)
    done(step, key, {"kind": "annex-a", "file": str(src), "name": cases_name,
                     "sha256": sha256_file(src), "lists": lists,
                     "rows_read": sum(x.get("rows_read", 0) for x in lists),
                     "rows_accepted": sum(x.get("rows_accepted", 0) for x in lists),
                     "rows_quarantined": sum(x.get("rows_quarantined", 0) for x in lists)},
         list(written.values()))


def _step_key(step: str, cfg: dict[str, Any], reads: list[Path], common: list[str]) -> str:
    """Cache key of a prepare step: its settings, the content of what it reads, and the
    package fingerprint, round settings and audit template in ``common``."""
    import hashlib

    h = hashlib.sha256(step.encode())
    h.update(json.dumps(cfg, sort_keys=True, default=str).encode())
    for part in common:
        h.update(part.encode())
    for p in reads:
        h.update(str(p.name).encode())
        h.update(sha256_file(p).encode() if p.is_file() else b"missing")
    return h.hexdigest()


def _ingest_mapping(rnd: Round, mapping: Any) -> tuple[str | None, Path | None]:
    """The mapping an ingest step names, as ingest is given it, and the file it is read from.

    A path (ending ``.yml``/``.yaml`` or naming a file) is taken relative to the project root,
    like every path in a round, and given to ingest as an absolute path (so the round reads the
    same file whatever the working directory); a shipped name (``annex_a``) stays a name and
    its file is the packaged ``analysis/mappings/<name>.yml``.  The file is part of the ingest
    step's cache key: editing a mapping re-runs the step, not only renaming it.  A mapping
    that cannot be found gives ``(value, None)`` and ingest's own message names it.
    """
    if mapping is None or mapping == "":
        return None, None
    text = str(mapping)
    path = rnd.resolve(text)
    if text.lower().endswith((".yml", ".yaml")) or _is_file(path):
        return str(path), path if _is_file(path) else None
    from importlib import resources

    packaged = Path(str(resources.files("analysis").joinpath("mappings", f"{text}.yml")))
    return text, packaged if _is_file(packaged) else None


def _pseudonym_key(rnd: Round) -> bytes:
    """The key the round's ingest steps pseudonymise with: the public demo key in a demo
    round, else ``SQA_PSEUDONYM_KEY`` or the key file (``privacy.load_key``, which refuses a
    missing, short or demo key with a message).

    Only its fingerprint (``privacy.key_fingerprint``) enters the cache key, so tables made
    with another key are never reused and the key is never written to ``round.json``.
    """
    from .privacy import load_key

    return load_key(demo=rnd.demo, repo_root=rnd.root)


def _is_file(p: Path) -> bool:
    """``p.is_file()``, False for a value that cannot be a path (too long, a NUL byte)."""
    try:
        return p.is_file()
    except (OSError, ValueError):
        return False


def _is_dir(p: Path) -> bool:
    """``p.is_dir()``, False for a value that cannot be a path."""
    try:
        return p.is_dir()
    except (OSError, ValueError):
        return False
