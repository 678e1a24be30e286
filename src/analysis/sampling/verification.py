"""Verifying a sample: draw it again from the cases table and compare with its manifest.

``verify(manifest, cases)`` passes only when the input (its canonical SHA-256, or its file's),
the design and the selection (cases, strata, selection probabilities, weights) are all
identical, and says why not otherwise; ``cli_verify`` is ``sqa sample --verify MANIFEST
--cases FILE`` (exit 0 or 1), and ``cli_sample`` dispatches ``sqa sample`` to it or to
``cli_draw``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import engine
from .cases import (
    DIGEST_CHARS,
    _canonical_identity,
    _file_identity,
    _file_inputs,
    _Identity,
    _open_input,
)
from .design import DesignError, _json_sha, design_from_dict, load_design
from .drawing import _draw
from .manifest import check_manifest, read_manifest
from .output import cli_draw


@dataclass
class VerifyResult:
    """Outcome of ``verify``: ``ok`` and, when not, the reasons in plain words."""

    ok: bool
    reasons: list[str]
    checks: list[str]
    notes: list[str]
    manifest: dict[str, Any]

    def report(self) -> str:
        m = self.manifest
        head = "VERIFIED" if self.ok else "NOT VERIFIED"
        lines = [f"{head}: sample {m.get('design_name')!r}, seed {m.get('seed')}, "
                 f"{len(m.get('cases', []))} cases in {len(m.get('strata', []))} strata",
                 f"  drawn   {m.get('created')} by code at git commit {m.get('git_commit')}"]
        lines += [f"  ok      {c}" for c in self.checks]
        lines += [f"  FAILED  {r}" for r in self.reasons]
        lines += [f"  note    {n}" for n in self.notes]
        return "\n".join(lines)


def _row_difference(old: str | None, new_hashes: list[str], old_rows: int) -> str:
    if not old:
        return f"{old_rows:,} rows then, {len(new_hashes):,} now"
    k = DIGEST_CHARS
    before = Counter(old[i:i + k] for i in range(0, len(old), k))
    after = Counter(h[:k] for h in new_hashes)
    removed = sum((before - after).values())
    added = sum((after - before).values())
    changed = min(removed, added)
    differ = changed + (added - changed) + (removed - changed)
    return (f"{differ:,} row{'s' if differ != 1 else ''} differ{'s' if differ == 1 else ''}: "
            f"{changed:,} changed, {added - changed:,} added, {removed - changed:,} removed; "
            f"{old_rows:,} rows then, {len(new_hashes):,} now")


#: ``provenance.git_commit``'s forms: a SHA-1 (or SHA-256) commit, ``+dirty`` when the tree
#: had uncommitted changes, or ``unknown`` outside a git checkout.
GIT_COMMIT_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})(?:\+dirty)?$")


def _provenance_checks(m: Mapping[str, Any], reasons: list[str], checks: list[str],
                       notes: list[str]) -> None:
    """``created`` and ``git_commit`` cannot be reproduced by a re-draw, but a manifest
    written by ``draw`` has both, in the forms ``provenance`` writes: an ISO 8601 date-time
    with its time zone, and a commit (or ``unknown``).  A value of another form means the
    manifest was edited or made by something else, so it fails verification."""
    created, commit = m["created"], m["git_commit"]
    try:
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError
    except ValueError:
        reasons.append(f"created {created!r} is not an ISO 8601 date-time with a time zone "
                       "(sqa writes e.g. 2026-03-31T00:00:00Z): the manifest has been edited")
    else:
        if when > datetime.now(when.tzinfo):
            notes.append(f"created {created} lies in the future: a sample drawn by `sqa run` "
                         "is stamped with its round's date (SOURCE_DATE_EPOCH)")
        checks.append(f"created: {created} is a valid timestamp (it is recorded, not "
                      "reproduced)")
    if commit == "unknown":
        notes.append("the code version was not recorded (the sample was not drawn from a git "
                      "checkout)")
    elif GIT_COMMIT_RE.match(commit):
        checks.append(f"git_commit: {commit} is a commit id (recorded, not reproduced)")
        if commit.endswith("+dirty"):
            notes.append("drawn from code with uncommitted changes: the commit alone does not "
                         "say which code drew it")
    else:
        reasons.append(f"git_commit {commit!r} is neither a git commit id (40 hex digits, "
                       "optionally +dirty) nor 'unknown': the manifest has been edited")


def verify(manifest: str | Path | Mapping[str, Any], cases: str | Path | pd.DataFrame,
           design: str | Path | None = None) -> VerifyResult:
    """Re-draw the sample of ``manifest`` from ``cases`` and compare.

    Passes only when the canonical input hash, the design and the selection (cases, strata,
    selection probabilities, weights) are all identical.  ``design`` optionally names the
    design file to compare with the one recorded in the manifest.  The git commit, package
    versions and timestamp are reported when they differ but do not fail the check.

    Also checked (issue 12, case 16): no case listed twice; the row counts (``rows``: read,
    filtered, in the frame, sampled) and the planned margin (``planning``, computed from the
    strata as ``draw`` computes it) equal the re-draw's; ``created`` is an ISO 8601
    date-time and ``git_commit`` a commit id or ``unknown`` (they cannot be reproduced, so
    they are checked for form and shown).  A manifest of the wrong shape (a key missing or of
    the wrong type) raises ``DesignError`` naming the file and the key (``check_manifest``).
    """
    m = read_manifest(manifest)
    label = str(manifest) if not isinstance(manifest, Mapping) else "manifest"
    reasons: list[str] = []
    checks: list[str] = []
    notes: list[str] = []
    check_manifest(m, label)
    _provenance_checks(m, reasons, checks, notes)
    twice = {c: k for c, k in Counter(c["case_id"] for c in m["cases"]).items() if k > 1}
    if twice:
        named = ", ".join(f"{c} ({k} times)" for c, k in sorted(twice.items())[:3])
        more = f" and {len(twice) - 3} more" if len(twice) > 3 else ""
        reasons.append(f"the manifest lists {len(twice)} case(s) more than once: {named}{more}; "
                       "a sample is drawn without replacement, so the manifest has been edited")
    design_edited = _json_sha(m["design"]) != m["design_sha256"]
    if design_edited:
        reasons.append("design differs: the design recorded in the manifest has been edited "
                       "since the sample was drawn (its SHA-256 no longer matches)")
    try:
        d = design_from_dict(m["design"], origin=f"{label} (design)")
    except DesignError as exc:
        reasons.append(f"design differs: the design recorded in the manifest is no longer valid "
                       f"({exc})")
        return VerifyResult(False, reasons, checks, notes, m)
    if not design_edited:
        checks.append(f"design: {d.name!r} unchanged (SHA-256 {d.sha256[:12]}...)")
    if design is not None:
        other = load_design(design)
        a, b = d.to_dict(), other.to_dict()
        diff = sorted(k for k in a if a[k] != b.get(k))
        if diff:
            reasons.append(f"design differs: {', '.join(diff)} differ between the manifest and "
                           f"{other.origin}")
        else:
            checks.append(f"design: same as {other.origin}")

    by_file = m.get("input_sha256") is None and isinstance(m.get("input_file_sha256"), str)
    con = engine.connect()
    try:
        inp = _open_input(cases, con)
        inp.trust_log = False  # verification hashes the file itself
        if by_file and inp.path is None:
            reasons.append("the manifest identifies its input by the SHA-256 of a file "
                           "(input_file_sha256); verify it against that file, not a table in "
                           "memory")
            return VerifyResult(False, reasons, checks, notes, m)
        draw_error: DesignError | None = None
        try:
            again, ident = _draw(inp, d, seed=int(m["seed"]),
                                 excluded_ids=m["exclusions"].get("excluded_case_ids", []),
                                 reference_date=m["exclusions"].get("reference_date"),
                                 with_rows=False, identify="file" if by_file else "canonical")
        except DesignError as exc:
            draw_error = exc
            ident = (_Identity(_file_inputs(inp, _file_identity(inp))) if by_file
                     else _canonical_identity(inp, None))
    finally:
        con.close()
    rows_then = int(m.get("rows", {}).get("input", 0))
    if by_file:
        new_sha = ident.inputs["input_file_sha256"]
        changed = new_sha != m["input_file_sha256"]
        if changed:
            reasons.append(f"input file differs: the SHA-256 of {cases} has changed since the "
                           f"sample was drawn ({rows_then:,} rows then, {inp.n_rows:,} now; "
                           "the manifest records the file's hash, not row digests, so the rows "
                           "that changed cannot be named)")
        else:
            checks.append(f"input: file SHA-256 matches ({new_sha[:12]}...; "
                          f"{inp.n_rows:,} rows)")
    else:
        new_sha = ident.inputs["input_sha256"]
        changed = new_sha != m["input_sha256"]
        if changed:
            reasons.append("input hash differs: the cases file has changed since the sample "
                           "was drawn (" + _row_difference(m.get("input_row_digests"),
                                                           ident.row_hashes or [], rows_then)
                           + ")")
        else:
            checks.append(f"input: canonical SHA-256 matches ({new_sha[:12]}...; "
                          f"{inp.n_rows:,} rows)")
    if draw_error is not None:
        reasons.append(f"the design can no longer be drawn from this file: {draw_error}")
        return VerifyResult(False, reasons, checks, notes, m)
    a2 = again.manifest
    if changed and not by_file and a2["frame_sha256"] == m.get("frame_sha256"):
        notes.append("the rows eligible for this design are unchanged: the change lies outside "
                     "the sample frame")
    old_cases = {c["case_id"]: c for c in m["cases"]}
    new_cases = {c["case_id"]: c for c in a2["cases"]}
    if old_cases == new_cases and _strata_key(m["strata"]) == _strata_key(a2["strata"]):
        if not twice:  # else the same cases, but not the same list: said above
            checks.append(f"selection: the same {len(new_cases)} cases, strata, selection "
                          "probabilities and design weights")
    else:
        gone = sorted(set(old_cases) - set(new_cases))
        came = sorted(set(new_cases) - set(old_cases))
        moved = sum(1 for c in set(old_cases) & set(new_cases) if old_cases[c] != new_cases[c])
        reasons.append(f"selection differs: {len(gone)} case(s) of the manifest are no longer "
                       f"selected, {len(came)} other case(s) are, and {moved} case(s) have a "
                       "different stratum or weight")
    rows_old, rows_new = m["rows"], a2["rows"]
    differ = [k for k in rows_new if rows_old.get(k) != rows_new[k]]
    if differ:
        reasons.append("row counts differ: " + "; ".join(
            f"rows.{k} is {rows_old.get(k)} in the manifest, {rows_new[k]} on re-drawing"
            for k in differ))
    else:
        checks.append(f"rows: the same counts ({rows_new['input']:,} read, "
                      f"{rows_new['frame']:,} in the frame, {rows_new['sampled']} sampled)")
    plan_old, plan_new = m["planning"], a2["planning"]
    moe_old, moe_new = plan_old["overall_margin_of_error"], plan_new["overall_margin_of_error"]
    same_moe = math.isclose(moe_old, moe_new, rel_tol=1e-9, abs_tol=1e-12)
    if not same_moe or any(plan_old[k] != plan_new[k] for k in ("p", "confidence",
                                                                  "n_from_margin")):
        reasons.append(f"planned margin differs: the manifest records +/-{moe_old:.6f} (p "
                       f"{plan_old['p']}, confidence {plan_old['confidence']}); the design "
                       f"and strata give +/-{moe_new:.6f} (p {plan_new['p']}, confidence "
                       f"{plan_new['confidence']})")
    else:
        checks.append(f"planned margin: +/-{moe_new:.4f} overall, as recorded")
    if a2["versions"] != m.get("versions"):
        changed = sorted(k for k in set(a2["versions"]) | set(m.get("versions", {}))
                         if a2["versions"].get(k) != m.get("versions", {}).get(k))
        notes.append(f"package versions differ from the draw ({', '.join(changed)})")
    if a2["git_commit"] != m.get("git_commit"):
        notes.append(f"code version differs: drawn at {m.get('git_commit')}, verified at "
                     f"{a2['git_commit']}")
    return VerifyResult(not reasons, reasons, checks, notes, m)


def _strata_key(strata: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((s["stratum"], s["population"], s["sampled"]) for s in strata)


def cli_verify(manifest: str | Path, cases: str | Path) -> int:
    """``sqa sample --verify MANIFEST --cases FILE``: 0 when verified, 1 when not."""
    res = verify(manifest, cases)
    print(f"manifest: {manifest}\ncases:    {cases}")
    print(res.report())
    return 0 if res.ok else 1


def cli_sample(args: Any) -> int:
    """Dispatch an argparse namespace (cases, design, seed, out, verify[, previous,
    standards]) to ``cli_verify`` or ``cli_draw``."""
    if getattr(args, "verify", None):
        return cli_verify(args.verify, args.cases)
    if not getattr(args, "design", None) or not getattr(args, "out", None):
        raise DesignError("sample needs --design and --out (or --verify MANIFEST)")
    return cli_draw(args.cases, args.design, getattr(args, "seed", None), args.out,
                    getattr(args, "previous", None) or [], getattr(args, "standards", None),
                    getattr(args, "scale", None))
