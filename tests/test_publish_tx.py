"""Releases are transactions (issue 12, cases 4-6): only notebooks of a finished run are
published, runs and publishes lock each other out, an empty release is refused, and a publish
killed at any step leaves a site that the next publish repairs, the earlier releases
byte-identical; versions.json is rebuilt from the releases on disk and never loses one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import locks, pipeline, publish, render, sitetx
from tests.test_publish import make_project, quiet, snapshot

PKG_PARENT = str(Path(publish.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-notebook project, run, with release 1.0 published (copied by every test)."""
    project = make_project(tmp_path_factory.mktemp("tx") / "p")
    publish.publish(project, "1.0", engine="nbconvert", say=quiet)
    return project


@pytest.fixture
def project(base: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "p"
    shutil.copytree(base, dest, symlinks=True)
    return dest


def site(project: Path) -> Path:
    return project / "reports" / "site"


def v10(project: Path) -> dict[str, bytes]:
    return snapshot(site(project) / "v" / "1.0")


def sqa(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m analysis ...` in the project, importing this checkout's package."""
    full = {**os.environ, **env,
            "PYTHONPATH": os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=project,
                          capture_output=True, text=True, env=full, timeout=600)


def test_a_finished_run_records_finished_and_leaves_no_running_mark(base: Path) -> None:
    record = json.loads((base / "reports" / "r1" / "round.json").read_text())
    assert record["finished"]
    assert record["notebooks"][0]["files"]["reports/r1/summary.ipynb"]
    assert not (base / "reports" / "r1" / pipeline.RUNNING_MARK).exists()
    assert locks.holder(base / "reports" / "r1" / ".run.lock") is None


def test_publish_refuses_a_half_executed_notebook(project: Path) -> None:
    before = snapshot(site(project))
    nb = project / "reports" / "r1" / "summary.ipynb"
    data = json.loads(nb.read_text())
    del data["cells"][-1]["outputs"][:]  # as a run killed before the last cell would leave it
    nb.write_text(json.dumps(data))
    with pytest.raises(publish.PublishError) as err:
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    msg = str(err.value)
    assert "round r1" in msg and "reports/r1/summary.ipynb" in msg and "SHA-256" in msg
    assert "sqa run rounds/r.yml" in msg
    assert snapshot(site(project)) == before


def test_publish_refuses_a_round_whose_last_run_did_not_finish(project: Path) -> None:
    mark = project / "reports" / "r1" / pipeline.RUNNING_MARK
    mark.write_text('{"pid": 1}')  # a run killed: its mark stays, its lock does not
    with pytest.raises(publish.PublishError, match="round r1: its last run did not finish"):
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    mark.unlink()
    rec = project / "reports" / "r1" / "round.json"
    data = json.loads(rec.read_text())
    del data["finished"]
    rec.write_text(json.dumps(data))
    with pytest.raises(publish.PublishError, match="did not finish"):
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    rec.write_text(rec.read_text()[:40])  # truncated
    with pytest.raises(publish.PublishError, match="round.json: unreadable"):
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    assert json.loads((site(project) / "versions.json").read_text())["latest"] == "1.0"


def test_publish_refuses_a_round_whose_executed_notebook_is_missing(project: Path) -> None:
    (project / "reports" / "r1" / "summary.ipynb").unlink()
    with pytest.raises(publish.PublishError, match="summary.ipynb is missing"):
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)


def test_publish_refuses_while_a_run_holds_the_round_lock(project: Path) -> None:
    before = snapshot(site(project))
    with (locks.hold(project / "reports" / "r1" / ".run.lock", "sqa run r.yml"),
          pytest.raises(publish.PublishError) as err):
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    msg = str(err.value)
    assert "round r1 is being run" in msg and f"pid {os.getpid()} (sqa run r.yml)" in msg
    assert snapshot(site(project)) == before
    publish.publish(project, "1.1", engine="nbconvert", say=quiet)  # the lock died with it


def test_a_run_is_refused_while_the_round_is_run_or_published(project: Path) -> None:
    with (locks.hold(project / "reports" / "r1" / ".run.lock", "sqa publish"),
          pytest.raises(pipeline.RoundError, match="round r1 is being run or published")):
        pipeline.run_round(project / "rounds" / "r.yml", say=quiet, progress=False)


def test_a_second_publish_is_refused_while_one_is_running(project: Path) -> None:
    with locks.hold(project / "reports" / ".publish.lock", "sqa publish"):
        proc = sqa(project, "publish", "--version", "1.1", "--engine", "nbconvert")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "another `sqa publish` of this project is running" in proc.stderr


def test_a_release_with_no_pages_is_refused(project: Path) -> None:
    rec = project / "reports" / "r1" / "round.json"
    data = json.loads(rec.read_text())
    data["notebooks"] = []
    rec.write_text(json.dumps(data))
    before = snapshot(site(project))
    proc = sqa(project, "publish", "--version", "1.1", "--engine", "nbconvert")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "nothing to publish" in proc.stderr and "sqa run rounds/" in proc.stderr
    shutil.rmtree(project / "reports" / "r1")
    with pytest.raises(publish.PublishError, match="nothing to publish"):
        publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    assert snapshot(site(project)) == before


def test_a_lost_versions_json_is_rebuilt_and_a_release_is_never_overwritten(
        project: Path) -> None:
    before = v10(project)
    listed = json.loads((site(project) / "versions.json").read_text())["releases"]
    (site(project) / "versions.json").unlink()
    said: list[str] = []
    with pytest.raises(publish.PublishError, match="never overwritten"):
        publish.publish(project, "1.0", engine="nbconvert", say=said.append)
    assert any("rebuilt versions.json from the 1 release(s)" in s for s in said)
    assert json.loads((site(project) / "versions.json").read_text())["releases"] == listed
    publish.publish(project, "1.1", engine="nbconvert", say=quiet)
    versions = json.loads((site(project) / "versions.json").read_text())
    assert [r["version"] for r in versions["releases"]] == ["1.0", "1.1"]
    assert v10(project) == before


def test_a_truncated_versions_json_is_rebuilt_without_a_traceback(project: Path) -> None:
    vf = site(project) / "versions.json"
    vf.write_text(vf.read_text()[:100])
    proc = sqa(project, "publish", "--version", "1.1", "--engine", "nbconvert")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "recovered: rebuilt versions.json" in proc.stdout
    versions = json.loads(vf.read_text())
    assert [r["version"] for r in versions["releases"]] == ["1.0", "1.1"]


def test_leftover_staging_folders_are_removed_unless_a_live_publish_holds_them(
        tmp_path: Path) -> None:
    parent, reports = tmp_path / "tmp", tmp_path / "reports"
    dead, live, legacy, young = (parent / "sqa-release-dead", parent / "sqa-release-live",
                                 reports / ".staging-old", parent / "sqa-release-young")
    for d in (dead, live, legacy, young):
        (d / "out").mkdir(parents=True)
    (dead / ".lock").write_text("pid 1 (sqa publish)\n")
    (live / ".lock").write_text("")
    os.utime(legacy, (0, 0))  # an old staging folder of an older sqa, no lock file
    with locks.hold(live / ".lock", "sqa publish"):
        done = sitetx.recover(reports / "site", [parent, reports])
    assert not dead.exists() and not legacy.exists()
    assert live.exists() and young.exists()  # in use, or being set up
    assert len(done) == 2


def test_a_release_renamed_aside_by_a_killed_force_publish_comes_back(project: Path) -> None:
    before = v10(project)
    v = site(project) / "v"
    os.rename(v / "1.0", v / ".1.0.old-4242")
    done = sitetx.recover(site(project), [])
    assert "put back v/1.0" in done[0]
    assert v10(project) == before


def kill_at(project: Path, step: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run `sqa publish` killed (SIGKILL) at ``step``; --force of 1.0 for the step only a
    forced re-publish reaches, a new version 1.1 otherwise."""
    args = ["--version", "1.0", "--force"] if step == "release-aside" else ["--version", "1.1"]
    tmp.mkdir(exist_ok=True)
    return sqa(project, "publish", *args, "--engine", "nbconvert",
               **{sitetx.FAULT_ENV: step, "TMPDIR": str(tmp)})


@pytest.mark.parametrize("step", sitetx.STEPS)
def test_a_publish_killed_at_any_step_is_recovered_with_earlier_releases_unchanged(
        project: Path, step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = v10(project)
    tmp = tmp_path / "stage"
    proc = kill_at(project, step, tmp)
    assert proc.returncode == -9, (proc.returncode, proc.stderr)
    s = site(project)
    # Until the next publish repairs it, the site still serves a whole latest release (only
    # between the two renames of the swap is it under its aside name).
    serving = s / (".latest.old" if step == "latest-aside" else "latest")
    assert (serving / "index.html").is_file()
    if step != "release-aside":
        assert v10(project) == before
    if step == "staged":
        assert list(tmp.glob("sqa-release-*"))  # the killed publish's staging folder
    monkeypatch.setattr(render.tempfile, "tempdir", str(tmp))
    said: list[str] = []
    publish.publish(project, "1.2", engine="nbconvert", say=said.append)
    assert v10(project) == before
    assert not list(tmp.glob("sqa-release-*"))
    assert not [p.name for p in (s / "v").iterdir() if p.name.startswith(".")]
    assert not (s / ".latest.new").exists() and not (s / ".latest.old").exists()
    on_disk = {p.name for p in (s / "v").iterdir() if p.is_dir()}
    versions = json.loads((s / "versions.json").read_text())
    assert {r["version"] for r in versions["releases"]} == on_disk
    assert versions["latest"] == "1.2"
    assert json.loads((s / "latest" / "release.json").read_text()) == json.loads(
        (s / "v" / "1.2" / "release.json").read_text())
    assert set(snapshot(s / "latest")) == set(snapshot(s / "v" / "1.2"))
    if step in ("release-renamed", "mid-latest", "latest-built", "latest-aside",
                "latest-swapped", "before-versions", "published"):
        assert on_disk == {"1.0", "1.1", "1.2"}  # a whole release in v/ is kept and listed
    else:
        assert on_disk == {"1.0", "1.2"}
