"""Provenance: what every output records about how it was made.

Inputs' SHA-256, the git commit, package versions and a timestamp.  Timestamps follow the
reproducible-builds.org ``SOURCE_DATE_EPOCH`` convention so that a rerun with the same
inputs gives byte-identical outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__

__all__ = ["KEY_PACKAGES", "git_commit", "package_fingerprint", "package_versions", "sha256_file",
           "timestamp", "write_json", "write_text_atomic"]

KEY_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "papermill", "pandera", "duckdb",
                "pyarrow", "matplotlib", "openpyxl")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def git_commit(cwd: str | Path | None = None) -> str:
    """The current git commit (with ``+dirty`` if the tree has changes), or ``unknown``."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    """Versions of Python, this package and the key libraries."""
    out = {"python": platform.python_version(), "safeguarding-qa": __version__}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def timestamp() -> str:
    """UTC timestamp, from SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_json(data: Any, path: str | Path) -> Path:
    """Write canonical JSON (sorted keys, 2-space indent, trailing newline), atomically: the
    text goes to a temporary file that replaces ``path`` in one step, so a process killed
    while writing never leaves a truncated file (``round.json`` must be whole or absent)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, json.dumps(data, sort_keys=True, indent=2,
                                              ensure_ascii=False, default=str) + "\n")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and replace ``path`` with it in one
    step (``os.replace``): a reader, or a process killed mid-write, never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def package_fingerprint() -> str:
    """SHA-256 over the package version and the source of every module and config file.

    Part of every cache key, so an upgrade or an edit of the analysis code re-executes.
    """
    from importlib import resources

    h = hashlib.sha256(__version__.encode())
    base = Path(str(resources.files("analysis")))
    for f in sorted(base.rglob("*")):
        if f.is_file() and f.suffix in {".py", ".yml", ".yaml", ".css", ".js"}:
            h.update(f.relative_to(base).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()
