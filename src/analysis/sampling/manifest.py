"""The sample manifest: what a draw records, reading it back and checking its shape.

``manifest_body`` is the manifest of a drawn sample (its fields are listed in the docstring
of ``analysis.sampling``); ``read_manifest`` reads one; ``check_manifest`` refuses one whose
shape is not what ``draw`` writes before ``verify`` re-draws it; ``sample_fingerprint``
identifies the sample on its auditor workbook; ``attach_weights`` hands each sampled case's
design weight ``N_h / n_h`` to the analyses (Horvitz & Thompson 1952).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..provenance import git_commit, package_versions, timestamp
from .design import Design, DesignError, stratified_margin

MANIFEST_VERSION = 1


def manifest_body(d: Design, seed: int, rows: dict[str, int], ref: str,
                  prev_record: list[dict[str, Any]], excluded: list[str],
                  strata_rows: list[dict[str, Any]], case_rows: list[dict[str, Any]],
                  inputs: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a drawn sample (``draw``, ``verify``); ``inputs`` holds how the input
    was identified (hashes)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "design_name": d.name, "design": d.to_dict(), "design_sha256": d.sha256,
        "seed": seed, **inputs, "rows": rows,
        "exclusions": {"previous_months": d.exclude_previous_months,
                       "reference_date": ref if (prev_record or excluded) else None,
                       "previous_manifests": prev_record, "excluded_case_ids": excluded},
        "planning": {"p": d.p, "confidence": d.confidence,
                     "n_from_margin": d.margin is not None and d.allocation != "fixed",
                     "overall_margin_of_error": stratified_margin(
                         [r["population"] for r in strata_rows],
                         [r["sampled"] for r in strata_rows], d.p, d.confidence)},
        "method": ("stratified random sampling without replacement; allocation "
                   f"{d.allocation}, largest-remainder rounding; per-stratum numpy "
                   "default_rng(SeedSequence([seed, sha256(stratum)])), smallest random keys"),
        "strata": strata_rows, "cases": case_rows,
        "versions": package_versions(), "git_commit": git_commit(Path(__file__).parent.parent),
        "created": timestamp(),
    }


def read_manifest(manifest: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A sample manifest as a dict (from a JSON path, or passed through)."""
    if isinstance(manifest, Mapping):
        return dict(manifest)
    p = Path(manifest)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: sample manifest not found (it is written by `sqa sample` "
                                "as <out>/manifest.json).")
    try:
        data = json.loads(p.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DesignError(f"{p}: not a sample manifest (invalid JSON, truncated or edited: "
                          f"{exc}). Give the manifest.json written by `sqa sample`.") from None
    except OSError as exc:
        raise DesignError(f"{p}: the sample manifest cannot be read ({exc.strerror}).") from None
    if not isinstance(data, dict) or "cases" not in data or "seed" not in data:
        raise DesignError(f"{p}: not a sample manifest (no 'cases' or 'seed'). Give the "
                          "manifest.json written by `sqa sample`.")
    return data


def sample_fingerprint(manifest: str | Path | Mapping[str, Any]) -> str:
    """SHA-256 of what makes a drawn sample the sample it is: the design's name, the seed and
    the sampled cases with their strata (canonical JSON, cases sorted).

    Not the SHA-256 of ``manifest.json``: the manifest also records when and by which commit
    and package versions it was drawn, so the same sample drawn again after an upgrade (a
    round's sample step re-runs when the package changes) has another file hash, and every
    workbook already sent to the auditors would be refused as "another sample" on return.
    """
    m = read_manifest(manifest)
    ident = {"design_name": str(m.get("design_name", "")), "seed": m.get("seed"),
             "cases": sorted([str(c["case_id"]), str(c.get("stratum", ""))]
                             for c in m.get("cases", []))}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode("utf-8")).hexdigest()


def attach_weights(frame: pd.DataFrame, manifest: str | Path | Mapping[str, Any]
                   ) -> pd.DataFrame:
    """``case_id``, ``stratum`` and ``design_weight`` for each row of ``frame``.

    Rows whose case is not in the sample get missing stratum and weight.  The frame's index
    and row order are kept (an audit table with several auditors per case gets the case's
    weight on each row).  Design weight = ``N_h / n_h`` (Horvitz & Thompson 1952).
    """
    if "case_id" not in frame.columns:
        raise ValueError("attach_weights needs a frame with a case_id column")
    m = read_manifest(manifest)
    w = pd.DataFrame(m["cases"], columns=["case_id", "stratum", "selection_probability",
                                          "design_weight"])
    w = w.astype({"case_id": str, "stratum": str, "design_weight": float})
    left = pd.DataFrame({"case_id": frame["case_id"].astype(object).to_numpy()})
    out = left.merge(w[["case_id", "stratum", "design_weight"]], on="case_id", how="left",
                     validate="many_to_one")
    out.index = frame.index
    return out


#: What ``verify`` reads from a manifest, with the JSON type each must have (``int`` excludes
#: booleans, ``float`` takes any number).  Keys in ``*_OPTIONAL`` may be absent.
MANIFEST_SHAPE: dict[str, tuple[type, ...]] = {
    "design": (dict,), "design_sha256": (str,), "seed": (int,),
    "input_sha256": (str, type(None)),
    "rows": (dict,), "exclusions": (dict,), "planning": (dict,), "strata": (list,),
    "cases": (list,), "versions": (dict,), "created": (str,), "git_commit": (str,)}
MANIFEST_OPTIONAL: dict[str, tuple[type, ...]] = {
    "frame_sha256": (str, type(None)), "input_row_digests": (str, type(None)),
    "design_name": (str,), "input_file_sha256": (str,)}
ROWS_SHAPE = {"input": (int,), "frame": (int,), "sampled": (int,)}
EXCLUSIONS_OPTIONAL = {"excluded_case_ids": (list,), "reference_date": (str, type(None))}
PLANNING_SHAPE = {"p": (float,), "confidence": (float,), "n_from_margin": (bool,),
                  "overall_margin_of_error": (float,)}
STRATUM_SHAPE = {"stratum": (str,), "population": (int,), "sampled": (int,)}
CASE_SHAPE = {"case_id": (str,), "stratum": (str,), "selection_probability": (float,),
              "design_weight": (float,)}
JSON_TYPE_NAMES: dict[type, str] = {bool: "true/false", int: "a whole number",
                                     float: "a number", str: "text", list: "a list",
                                     dict: "a mapping", type(None): "null"}


def _json_type(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _has_type(value: object, types: tuple[type, ...]) -> bool:
    """JSON typing: a bool is not a number; an int is a float."""
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _check_fields(label: str, where: str, d: Mapping[str, Any],
                  shape: Mapping[str, tuple[type, ...]], required: bool = True) -> None:
    for key, types in shape.items():
        name = f"{where}{key}"
        if key not in d:
            if required:
                raise DesignError(f"{label}: not a complete sample manifest: no {name!r}. Give "
                                  "the manifest.json written by `sqa sample` (draw the sample "
                                  "again if the file was damaged).")
            continue
        if not _has_type(d[key], types):
            want = " or ".join(JSON_TYPE_NAMES[t] for t in types)
            raise DesignError(f"{label}: not a valid sample manifest: {name!r} must be {want}, "
                              f"not {_json_type(d[key])}. Give the manifest.json written by "
                              "`sqa sample` (draw the sample again if the file was damaged).")


def check_manifest(m: Mapping[str, Any], label: str) -> None:
    """Refuse a manifest whose shape is not what ``draw`` writes: every key ``verify`` reads
    present, with its JSON type, down to each stratum and case.

    A damaged or hand-edited manifest then gives one message naming the file and the key
    (a ``DesignError``: exit 2) instead of a traceback half-way through the re-draw.  Whether
    the values are *right* is the re-draw's business (``verify``).
    """
    _check_fields(label, "", m, MANIFEST_SHAPE)
    _check_fields(label, "", m, MANIFEST_OPTIONAL, required=False)
    if m["input_sha256"] is None and not isinstance(m.get("input_file_sha256"), str):
        raise DesignError(f"{label}: not a complete sample manifest: 'input_sha256' is null and "
                          "there is no 'input_file_sha256', so nothing identifies the cases "
                          "table it was drawn from. Give the manifest.json written by `sqa "
                          "sample` (draw the sample again if the file was damaged).")
    _check_fields(label, "rows.", m["rows"], ROWS_SHAPE)
    for key, value in m["rows"].items():
        _check_fields(label, "rows.", {key: value}, {key: (int,)})
    _check_fields(label, "exclusions.", m["exclusions"], EXCLUSIONS_OPTIONAL, required=False)
    for i, cid in enumerate(m["exclusions"].get("excluded_case_ids") or []):
        _check_fields(label, f"exclusions.excluded_case_ids[{i}]", {"": cid}, {"": (str,)})
    _check_fields(label, "planning.", m["planning"], PLANNING_SHAPE)
    for part, shape in (("strata", STRATUM_SHAPE), ("cases", CASE_SHAPE)):
        for i, item in enumerate(m[part]):
            if not isinstance(item, dict):
                raise DesignError(f"{label}: not a valid sample manifest: '{part}[{i}]' must be "
                                  f"a mapping, not {_json_type(item)}. Give the manifest.json "
                                  "written by `sqa sample`.")
            _check_fields(label, f"{part}[{i}].", item, shape)
