"""Releases are transactions: moving a checked release into ``reports/site/`` and recovering
from a publish that was killed at any point of it.

The site is ``v/<version>/`` (one folder per release, each with its own ``release.json``),
``latest/`` (a copy of the newest release), ``index.html`` (a redirect to it) and
``versions.json`` (the list of releases). A release goes in like this
(:func:`move_into_place`), each step named for the fault-injection tests (:data:`STEPS`):

1. copy it to ``v/.<version>.partial-<pid>`` (a name no release can have: versions start
   with a letter or digit), then rename that to ``v/<version>`` in one step. A release in
   ``v/`` is therefore always whole; ``--force`` first renames the old copy aside to
   ``v/.<version>.old-<pid>``;
2. copy the newest release to ``.latest.new``, rename ``latest`` to ``.latest.old`` and
   ``.latest.new`` to ``latest``, then delete ``.latest.old`` (a folder cannot replace a
   non-empty folder in one rename);
3. write ``index.html`` and, last, ``versions.json`` (each atomically).

:func:`recover` runs at the start of every publish, under the publish lock, and repairs
whatever a killed publish left: it deletes partial copies and ``.latest.new``, puts back a
release or ``latest/`` that had been renamed aside, lists every whole release of ``v/`` in
``versions.json`` (rebuilding the file from the releases' own ``release.json`` when it is
missing or unreadable), makes ``latest/`` the newest release again, and deletes staging
folders that no live publish holds. A release already in ``v/`` is never deleted or changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import locks
from .provenance import write_text_atomic

__all__ = ["FAULT_ENV", "RELEASE_FILE", "STEPS", "fault", "latest_version", "move_into_place",
           "read_versions", "recover", "releases_on_disk", "set_latest", "write_versions"]

RELEASE_FILE = "release.json"
FAULT_ENV = "SQA_PUBLISH_FAULT"
# Points at which the fault-injection tests kill a publish (SIGKILL: nothing is cleaned up).
STEPS = ("staged", "mid-copy", "copied", "release-aside", "release-renamed", "mid-latest",
         "latest-built", "latest-aside", "latest-swapped", "before-versions", "published")
STALE_STAGE_SECONDS = 24 * 3600  # a staging folder without a lock file (older sqa)

INDEX_HTML = ('<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
              '<title>Safeguarding QA reports</title>'
              '<meta http-equiv="refresh" content="0; url=latest/index.html">'
              '<link rel="canonical" href="latest/index.html"></head><body><main>'
              '<p><a href="latest/index.html">Go to the latest report</a></p></main>'
              '</body></html>\n')


def fault(step: str) -> None:
    """Kill this process at ``step`` when the environment asks for it (``SQA_PUBLISH_FAULT``),
    as a power cut or ``kill -9`` would: the tests prove the site recovers from each step."""
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _copytree(src: Path, dst: Path, step: str) -> None:
    """``shutil.copytree`` that can be killed half-way (after its second file) at ``step``."""
    copied = 0

    def copy(s: str, d: str) -> str:
        nonlocal copied
        copied += 1
        if copied == 3:
            fault(step)
        return shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=copy)




# --------------------------------------------------------------------------------------
# versions.json and the releases on disk
# --------------------------------------------------------------------------------------


def read_versions(site_dir: Path) -> tuple[list[dict[str, Any]] | None, str]:
    """The releases listed in ``versions.json``, or None and why when it is missing or
    unreadable (truncated, not JSON, not a list of releases)."""
    vf = site_dir / "versions.json"
    try:
        data = json.loads(vf.read_text("utf-8"))
    except FileNotFoundError:
        return None, "it was missing"
    except (OSError, ValueError) as exc:
        return None, f"it was unreadable: {exc.__class__.__name__}"
    releases = data.get("releases") if isinstance(data, dict) else None
    if not isinstance(releases, list) or not all(
            isinstance(r, dict) and isinstance(r.get("version"), str)
            and isinstance(r.get("date"), str) for r in releases):
        return None, "it did not hold a list of releases"
    return releases, ""


def write_versions(site_dir: Path, releases: list[dict[str, Any]]) -> str:
    """Write ``versions.json`` (releases oldest first); return the latest version."""
    releases = sorted(releases, key=lambda r: r["date"])
    latest = releases[-1]["version"] if releases else ""
    write_text_atomic(site_dir / "versions.json", json.dumps(
        {"latest": latest, "generated": datetime.now(UTC).isoformat(timespec="seconds"),
         "releases": releases}, indent=2, sort_keys=True) + "\n")
    return latest


def _entry_of(vdir: Path) -> dict[str, Any]:
    """A release's entry for ``versions.json``: its own ``release.json``, or (a release from
    before the file existed, or with the file damaged) what its pages and files tell."""
    try:
        entry = json.loads((vdir / RELEASE_FILE).read_text("utf-8"))
        if isinstance(entry, dict) and entry.get("version") == vdir.name and entry.get("date"):
            return entry
    except (OSError, ValueError):
        pass
    index = vdir / "index.html"
    m = re.search(r"<title>(.*?)</title>", index.read_text("utf-8", "replace"), re.S)
    when = datetime.fromtimestamp(index.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return {"version": vdir.name, "title": m.group(1).strip() if m else vdir.name,
            "date": when.replace("+00:00", "Z"), "commit": "", "engine": "unknown",
            "rounds": [], "pages": [], "inputs": {}, "forced": False,
            "notes": "", "recovered": True}


def releases_on_disk(site_dir: Path) -> dict[str, dict[str, Any]]:
    """Every whole release in ``v/`` (a folder named as a version, with an ``index.html``):
    partial copies have dot-names and are never counted."""
    v = site_dir / "v"
    if not v.is_dir():
        return {}
    return {d.name: _entry_of(d) for d in sorted(v.iterdir())
            if d.is_dir() and not d.name.startswith(".") and (d / "index.html").is_file()}


def latest_version(site_dir: Path) -> tuple[str, str] | None:
    """(version, date) of the release ``latest/`` is a copy of, or None when there is none."""
    latest = site_dir / "latest"
    try:
        entry = json.loads((latest / RELEASE_FILE).read_text("utf-8"))
        return str(entry["version"]), str(entry.get("date", ""))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        m = re.search(r'name="sqa-version" content="([^"]+)"',
                      (latest / "index.html").read_text("utf-8", "replace"))
    except OSError:
        return None
    return (m.group(1), "") if m else None


# --------------------------------------------------------------------------------------
# Moving a release in
# --------------------------------------------------------------------------------------


def rebase_latest(latest_dir: Path) -> None:
    """Fix links that leave the release in the ``latest/`` copy (one folder less deep).

    A page at depth d of ``v/<version>/`` reaches the site root with d + 2 ``../``; the same
    page under ``latest/`` needs d + 1.  Links inside the release never climb that far, so
    only links to the site root (versions.json, other releases, latest/) are changed.
    """
    for f in sorted(latest_dir.rglob("*.html")):
        depth = f.relative_to(latest_dir).as_posix().count("/")
        old, new = "../" * (depth + 2), "../" * (depth + 1)
        text = f.read_text("utf-8")
        fixed = text.replace(f'"{old}', f'"{new}')
        if fixed != text:
            f.write_text(fixed, encoding="utf-8")


def set_latest(site_dir: Path, version: str) -> None:
    """Make ``latest/`` a copy of ``v/<version>/``: built aside, then swapped in with two
    renames; :func:`recover` completes or undoes a swap that was cut between them."""
    new, old, latest = (site_dir / n for n in (".latest.new", ".latest.old", "latest"))
    shutil.rmtree(new, ignore_errors=True)
    _copytree(site_dir / "v" / version, new, "mid-latest")
    rebase_latest(new)
    fault("latest-built")
    if latest.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.rename(latest, old)
        fault("latest-aside")
    os.rename(new, latest)
    fault("latest-swapped")
    shutil.rmtree(old, ignore_errors=True)


def move_into_place(site_dir: Path, out_dir: Path, entry: dict[str, Any],
                    others: list[dict[str, Any]]) -> None:
    """Move a checked release (``out_dir``, anywhere) into the site as one transaction.
    ``entry`` is its ``versions.json`` entry, written into it as ``release.json`` so the
    release can always be listed again from its own files; ``others`` are the other
    releases. Replacing an existing ``v/<version>`` is the caller's decision (``--force``)."""
    v = site_dir / "v"
    v.mkdir(parents=True, exist_ok=True)
    version = entry["version"]
    (out_dir / RELEASE_FILE).write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    partial = v / f".{version}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    _copytree(out_dir, partial, "mid-copy")
    fault("copied")
    vdir = v / version
    if vdir.exists():  # --force: the old copy goes aside, the new one in, the old one away
        aside = v / f".{version}.old-{os.getpid()}"
        os.rename(vdir, aside)
        fault("release-aside")
        os.rename(partial, vdir)
        shutil.rmtree(aside)
    else:
        os.rename(partial, vdir)
    fault("release-renamed")
    releases = sorted([*others, entry], key=lambda r: r["date"])
    set_latest(site_dir, releases[-1]["version"])
    write_text_atomic(site_dir / "index.html", INDEX_HTML)
    fault("before-versions")
    write_versions(site_dir, releases)
    fault("published")


# --------------------------------------------------------------------------------------
# Recovery
# --------------------------------------------------------------------------------------


def _recover_v(site_dir: Path, done: list[str]) -> None:
    """Partial copies go; a release renamed aside by an interrupted --force comes back."""
    v = site_dir / "v"
    if not v.is_dir():
        return
    for p in sorted(v.iterdir()):
        m = re.match(r"^\.(.+)\.(partial|old)-\d+$", p.name)
        if p.is_dir() and m and m.group(2) == "old" and not (v / m.group(1)).exists():
            os.rename(p, v / m.group(1))
            done.append(f"put back v/{m.group(1)} (a --force re-publish was interrupted)")
        elif p.is_dir() and m:
            shutil.rmtree(p)
            done.append(f"removed v/{p.name} (left by an interrupted publish)")
        elif p.is_dir() and p.name.endswith(".old") and (v / p.name[:-4]).is_dir():
            shutil.rmtree(p)  # older sqa set a forced release aside under this name
            done.append(f"removed v/{p.name} (left by an interrupted publish)")
        elif p.is_file() and p.name.startswith(".") and p.name.endswith(".tmp"):
            p.unlink()


def _recover_latest(site_dir: Path, done: list[str]) -> None:
    new, old, latest = (site_dir / n for n in (".latest.new", ".latest.old", "latest"))
    if new.exists():
        shutil.rmtree(new)
        done.append("removed .latest.new (a copy of latest/ that was never swapped in)")
    if old.exists():
        if latest.exists():
            shutil.rmtree(old)
            done.append("removed .latest.old (the swap of latest/ had finished)")
        else:
            os.rename(old, latest)
            done.append("put back latest/ from .latest.old (the swap was cut half-way)")


def _stale_stage(d: Path) -> bool:
    """A staging folder nobody uses: its lock file is free, or (older sqa wrote none) it is a
    day old. A stage being set up has no lock file yet, and is young, so it is kept."""
    lock = d / ".lock"
    if lock.exists():
        return locks.holder(lock) is None
    try:
        return time.time() - d.stat().st_mtime > STALE_STAGE_SECONDS
    except OSError:
        return False


def recover(site_dir: Path, stage_dirs: list[Path]) -> list[str]:
    """Repair what a killed publish left (see the module's text); return what was repaired,
    one line each. Call it holding the publish lock. ``stage_dirs`` are the folders where
    releases are staged (``sqa-release-*``; ``.staging-*`` from older versions)."""
    done: list[str] = []
    for parent in stage_dirs:
        for d in [*parent.glob("sqa-release-*"), *parent.glob(".staging-*")]:
            if d.is_dir() and _stale_stage(d):
                shutil.rmtree(d, ignore_errors=True)
                done.append(f"removed the staging folder {d} (left by an interrupted publish)")
    if not site_dir.is_dir():
        return done
    _recover_v(site_dir, done)
    _recover_latest(site_dir, done)
    listed, why = read_versions(site_dir)
    on_disk = releases_on_disk(site_dir)
    if listed is None:
        releases = list(on_disk.values())
        if releases or (site_dir / "versions.json").exists():
            write_versions(site_dir, releases)
            done.append(f"rebuilt versions.json from the {len(releases)} release(s) in v/ "
                        f"({why})")
    else:
        known = {r["version"] for r in listed}
        extra = [e for ver, e in on_disk.items() if ver not in known]
        releases = listed + extra
        if extra:
            write_versions(site_dir, releases)
            done.append("listed " + ", ".join(e["version"] for e in extra) + " in versions.json"
                        " (moved into v/ before the publish that made it stopped)")
    online = [r for r in releases if r["version"] in on_disk]
    if online:
        want = max(online, key=lambda r: r["date"])
        have = latest_version(site_dir)
        wanted = (want["version"], str(on_disk[want["version"]].get("date", "")))
        if have is None or have[0] != wanted[0] or (have[1] and have[1] != wanted[1]):
            set_latest(site_dir, want["version"])
            done.append(f"made latest/ a copy of v/{want['version']} again")
        if not (site_dir / "index.html").is_file():
            write_text_atomic(site_dir / "index.html", INDEX_HTML)
            done.append("wrote the root index.html again")
    return done

