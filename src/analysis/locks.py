"""Advisory locks between `sqa run` and `sqa publish` (``fcntl.flock``, non-blocking).

A run holds ``reports/<round>/.run.lock`` while it rewrites the round's notebooks, and a
publish holds the same lock of every round it releases (so no run can change a notebook
half-way through a release) plus ``reports/.publish.lock`` (one publish of a project at a
time).  The kernel drops a ``flock`` lock when its holder dies, however it dies, so a killed
run or publish never leaves a stale lock behind: the file stays, the lock does not.

The holder writes its pid and what it is into the file, for the message of whoever is
refused; the text of a free lock file is meaningless and never read.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["LockBusy", "hold", "holder", "run_lock_path"]


class LockBusy(Exception):
    """The lock is held by another live process; ``who`` says which (pid and command)."""

    def __init__(self, path: Path, who: str) -> None:
        super().__init__(f"{path} is held by {who}")
        self.path = path
        self.who = who


def run_lock_path(report_dir: Path) -> Path:
    """The lock file of a round's report folder (``reports/<round>/.run.lock``)."""
    return report_dir / ".run.lock"


def _who(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 200).decode("utf-8", "replace").strip()
    return text or "another process"


@contextmanager
def hold(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block, or raise
    :class:`LockBusy` at once if a live process holds it. ``what`` (e.g. ``sqa run``) is
    written with the pid for the message of a process that is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(path, _who(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({what})\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def holder(path: Path) -> str | None:
    """Who holds the lock on ``path`` now, or None when nobody does (or there is no file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _who(fd)
        return None
    finally:
        os.close(fd)
