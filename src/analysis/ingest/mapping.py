"""Column mappings: local headers (and local words for codes) onto the canonical table.

A mapping (YAML; ``mappings/annex_a.yml`` is shipped) names, for each canonical column, the
headers a local export may use; headers are compared ignoring case, spaces and punctuation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import schemas, yamlfile
from .common import InputError, _norm_header, column_letter, short

HEADERS = "headers"  # DataFrame.attrs key: the header as written (pandas renames duplicates)
LETTERS = "letters"  # DataFrame.attrs key: each frame column's spreadsheet letter
SOURCES = "sources"  # DataFrame.attrs key of a renamed frame: {file column: canonical column}

@dataclass
class Mapping:
    """A column mapping: local headers -> canonical columns (see mappings/annex_a.yml)."""

    name: str
    kind: str | None = None
    sheet: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    compose: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""



def builtin_mappings() -> list[str]:
    """Names of the mappings shipped with the package."""
    folder = resources.files("analysis").joinpath("mappings")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".yml"))


def load_mapping(name_or_path: str | Path | Mapping | None) -> Mapping | None:
    """Load a mapping file, or a shipped mapping by name (e.g. ``annex_a``); a ``Mapping``
    already built (``analysis.returns`` makes one from the audit template, ``analysis.annex_a``
    one per list) is passed through."""
    if name_or_path is None or isinstance(name_or_path, Mapping):
        return name_or_path
    p = Path(name_or_path)
    if p.suffix.lower() in {".yml", ".yaml"} or p.exists():
        if not p.exists():
            raise InputError(f"{p}: mapping file not found. Shipped mappings: "
                             f"{', '.join(builtin_mappings())}.")
        text = p.read_text("utf-8")
        label = str(p)
    else:
        res = resources.files("analysis").joinpath("mappings", f"{name_or_path}.yml")
        if not res.is_file():
            raise InputError(f"no mapping named {name_or_path!r}. Shipped mappings: "
                             f"{', '.join(builtin_mappings())}; or give a path to a YAML file.")
        text = res.read_text("utf-8")
        label = str(name_or_path)
    try:
        d = yamlfile.load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{label}: mapping is not valid YAML ({exc}).") from None
    if not isinstance(d, dict):
        raise InputError(f"{label}: mapping must be a YAML mapping with 'columns:'.")
    if "lists" in d and "columns" not in d:
        raise InputError(f"{label}: holds the headers of every Ofsted Annex A list, for a whole "
                         "workbook: use --kind annex-a (or kind: annex-a in a round), or the "
                         "single-list mapping annex_a.")
    cols = {k: ([v] if isinstance(v, str) else list(v))
            for k, v in (d.get("columns") or {}).items()}
    values = {k: {str(a).strip().lower(): str(b) for a, b in (v or {}).items()}
              for k, v in (d.get("values") or {}).items()}
    return Mapping(name=str(d.get("name", label)), kind=d.get("kind"), sheet=d.get("sheet"),
                   columns=cols, values=values, constants=dict(d.get("constants") or {}),
                   compose={k: list(v) for k, v in (d.get("compose") or {}).items()},
                   source=label)


def _lookup(spec: schemas.TableSpec, mapping: Mapping | None) -> dict[str, str]:
    """Normalised header -> canonical column, from the contract and the mapping's variants."""
    lookup: dict[str, str] = {}
    for c in [*spec.columns, *spec.inputs]:
        lookup[_norm_header(c.name)] = c.name
    if mapping:
        for canon, variants in mapping.columns.items():
            for v in variants:
                lookup[_norm_header(v)] = canon
    return lookup


def _headers(df: pd.DataFrame) -> list[str]:
    """The frame's headers as written in the file (pandas numbers duplicates 'x.1')."""
    written = df.attrs.get(HEADERS)
    if written is not None and len(written) == df.shape[1]:
        return [str(h) for h in written]
    return [str(c) for c in df.columns]


def _rename(df: pd.DataFrame, spec: schemas.TableSpec, mapping: Mapping | None
            ) -> tuple[pd.DataFrame, list[str]]:
    """Rename local headers to canonical names; return the frame and ignored headers.

    A second column with the same header as a used one (ignoring case, spaces and
    punctuation) is not ignored: ``_duplicate_columns`` compares it with the first."""
    lookup = _lookup(spec, mapping)
    rename: dict[str, str] = {}
    ignored: list[str] = []
    taken: dict[str, str] = {}  # canonical -> normalised header of the column that holds it
    for col, written in zip(df.columns, _headers(df), strict=True):
        norm = _norm_header(written)
        canon = lookup.get(norm)
        if canon and canon not in taken:
            rename[col] = canon
            taken[canon] = norm
        elif not (canon and taken.get(canon) == norm):
            ignored.append(str(col))
    out = df[list(rename)].rename(columns=rename)
    out.attrs = {SOURCES: {str(k): v for k, v in rename.items()}}
    return out, ignored


def _duplicate_columns(df: pd.DataFrame, spec: schemas.TableSpec, mapping: Mapping | None
                       ) -> list[tuple[str, Any, str, Any, str]]:
    """(canonical, first column, its label, later column, its label) for every later column
    whose header is the same as that of the column read for a canonical one (ignoring case,
    spaces and punctuation). pandas renamed the copy 'x.1' and the first silently won (issue
    12, case 14); now each row where the two disagree is quarantined."""
    lookup = _lookup(spec, mapping)
    letters = df.attrs.get(LETTERS) or [column_letter(i) for i in range(df.shape[1])]
    first: dict[str, tuple[Any, str, str]] = {}
    out = []
    for i, (col, written) in enumerate(zip(df.columns, _headers(df), strict=True)):
        norm = _norm_header(written)
        canon = lookup.get(norm)
        if not canon:
            continue
        label = f"{short(written, 40)!r} (column {letters[i]})"
        if canon not in first:
            first[canon] = (col, label, norm)
        elif first[canon][2] == norm:
            out.append((canon, first[canon][0], first[canon][1], col, label))
    return out
