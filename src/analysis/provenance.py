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
import re
import stat
import subprocess
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__

__all__ = ["CONTENT_KEY_FORMAT", "FINGERPRINT_RACY_NS", "FINGERPRINT_SUFFIXES", "KEY_PACKAGES",
           "ContentCache", "cached_text", "content_key", "git_commit", "package_fingerprint",
           "package_versions", "sha256_file", "timestamp", "write_json", "write_text_atomic"]

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


def write_text_atomic(path: str | Path, text: str, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to a temporary file beside ``path`` and replace ``path`` with it
    in one step (``os.replace``): a reader, or a process killed mid-write, never sees half a
    file, and a write that fails leaves no temporary file behind. ``mode``: the file's
    permissions (``0o600``: the owner's only), else the umask's default as ``open`` gives."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666 if mode is None else mode)
        if mode is not None:
            os.fchmod(fd, mode)  # also when a stale temporary file was there
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


#: Part of every :func:`content_key`: changed when the way keys are made changes, so that an
#: entry stored under an older scheme is a miss, never a wrong hit.
CONTENT_KEY_FORMAT = b"sqa content key 1\0"


def content_key(parts: Iterable[str | bytes]) -> str:
    """The SHA-256 of ``parts`` in order, each preceded by its length (8 bytes), so that two
    different lists of parts never give the same stream of bytes (``["ab", "c"]`` and
    ``["a", "bc"]`` differ); a text part counts by its UTF-8 bytes (``surrogatepass``: any
    ``str``). The key of the content-addressed caches of a publish (:class:`ContentCache`),
    the "quick renders" of a build system: content only, never file times."""
    h = hashlib.sha256(CONTENT_KEY_FORMAT)
    for part in parts:
        data = part if isinstance(part, bytes) else part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class ContentCache:
    """Text files in ``folder``, each named by the :func:`content_key` of everything it was
    made from (``name``, a file name holding ``{key}`` once: ``"dictionary-{key}.md"``).

    A content-addressed store (the pattern of build systems' caches, e.g. Bazel's action
    cache or ccache): an entry is written whole or not at all (:func:`write_text_atomic`;
    ``private``: mode 0600, for entries that belong with the raw data), read back only under
    the same key, so a hit needs every part to be the same, and never invalidated in place
    (a change of any input is another key). :meth:`text` is the whole pattern; :meth:`read`
    and :meth:`write` serve a caller that checks an entry or builds several at once.
    :meth:`prune` removes the entries of the folder that this cache neither read nor wrote,
    so a folder used by every publish holds the last publish's entries, not every day's."""

    def __init__(self, folder: str | Path, name: str = "{key}.txt", *, private: bool = False
                 ) -> None:
        if name.count("{key}") != 1 or "/" in name:
            raise ValueError(f"a cache entry's name holds {{key}} once, in one folder: {name!r}")
        self.folder, self.name, self.private = Path(folder), name, private
        self.used: set[str] = set()
        head, tail = name.split("{key}")
        self._entry = re.compile(re.escape(head) + "[0-9a-f]{64}" + re.escape(tail))

    def path(self, key: str) -> Path:
        """Where the entry of ``key`` is kept."""
        return self.folder / self.name.replace("{key}", key)

    def read(self, key: str) -> str | None:
        """The text stored under ``key``, or None when there is none (or it cannot be read)."""
        path = self.path(key)
        self.used.add(path.name)
        try:
            return path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def write(self, key: str, text: str) -> Path:
        """Store ``text`` under ``key``, atomically (a reader sees the old entry or the new)."""
        path = self.path(key)
        self.used.add(path.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        return write_text_atomic(path, text, 0o600 if self.private else None)

    def text(self, parts: Iterable[str | bytes], make: Callable[[], str],
             valid: Callable[[str], bool] | None = None) -> str:
        """The text stored under the key of ``parts``; on a miss (or an entry that ``valid``
        refuses) ``make()``, stored and returned. An exception from ``make`` stores nothing."""
        return self.lookup(parts, make, valid)[0]

    def lookup(self, parts: Iterable[str | bytes], make: Callable[[], str],
               valid: Callable[[str], bool] | None = None) -> tuple[str, bool]:
        """:meth:`text`, and whether it was stored already (a hit) rather than made now."""
        key = content_key(parts)
        stored = self.read(key)
        if stored is not None and (valid is None or valid(stored)):
            return stored, True
        made = make()
        self.write(key, made)
        return made, False

    def prune(self) -> list[Path]:
        """Remove the folder's entries (files named like ``name``, any key) that this cache
        neither read nor wrote; other files, and other writers' temporary files, are left."""
        removed: list[Path] = []
        if self.folder.is_dir():
            for f in sorted(self.folder.iterdir()):
                if f.name not in self.used and self._entry.fullmatch(f.name) and f.is_file():
                    f.unlink(missing_ok=True)
                    removed.append(f)
        return removed


def cached_text(folder: str | Path, name: str, parts: Iterable[str | bytes],
                make: Callable[[], str]) -> str:
    """:meth:`ContentCache.text` of a cache used once: the text kept in ``folder`` as
    ``name`` under the key of ``parts``, made by ``make()`` when it is not there."""
    return ContentCache(folder, name).text(parts, make)


#: Package files a :func:`package_fingerprint` covers, by suffix.
FINGERPRINT_SUFFIXES = frozenset({".py", ".yml", ".yaml", ".css", ".js"})
#: A package file modified this recently (nanoseconds) keeps the fingerprint from being kept.
FINGERPRINT_RACY_NS = 2_000_000_000
_fingerprint_memo: dict[str, tuple[tuple[Any, ...], str]] = {}


def _package_files(base: Path) -> list[tuple[str, os.stat_result]]:
    """The files under ``base`` with a fingerprinted suffix: relative path (``/``) and stat,
    in the order of their path components (``os.scandir``; ``rglob`` and ``pathlib`` took
    three times as long). A dangling link is not a file."""
    found = []
    folders = [(str(base), "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):  # as rglob: no linked folders
                    folders.append((e.path, f"{prefix}{e.name}/"))
                elif os.path.splitext(e.name)[1] in FINGERPRINT_SUFFIXES:
                    try:
                        st = e.stat()
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        found.append((prefix + e.name, st))
    return sorted(found, key=lambda item: item[0].split("/"))


def package_fingerprint() -> str:
    """SHA-256 over the package version and the source of every module and config file.

    Part of every cache key, so an upgrade or an edit of the analysis code re-executes.
    Computed once per process and kept while no package file changes its size, modification
    or change time, inode or name (the stat check git's index makes before it trusts a
    stored hash): a publish asks several times, and reading the package each time cost ~5 ms.
    As in git ("racily clean" entries), the answer is not kept while a file was modified less
    than :data:`FINGERPRINT_RACY_NS` before it was computed: a file's time has a granularity,
    so a second edit of the same size within it would not show in its stat.
    """
    from importlib import resources

    base = Path(str(resources.files("analysis")))
    files = _package_files(base)
    stamp = (__version__, *((rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                            for rel, st in files))
    memo = _fingerprint_memo.get(str(base))
    if memo is not None and memo[0] == stamp:
        return memo[1]
    started = time.time_ns()
    h = hashlib.sha256(__version__.encode())
    for rel, _ in files:
        h.update(rel.encode())
        h.update((base / rel).read_bytes())
    digest = h.hexdigest()
    if all(st.st_mtime_ns < started - FINGERPRINT_RACY_NS for _, st in files):
        _fingerprint_memo[str(base)] = (stamp, digest)
    else:
        _fingerprint_memo.pop(str(base), None)
    return digest
