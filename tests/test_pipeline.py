"""Rounds: papermill execution, parameters injection, clear failures, provenance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis import pipeline


def notebook(path: Path, *cells: tuple[str, str], params: str = "x = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A test notebook"), p]
    for kind, src in cells:
        nb.cells.append(nbformat.v4.new_code_cell(src) if kind == "code"
                        else nbformat.v4.new_markdown_cell(src))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "_quarto.yml").write_text("project:\n  type: website\n")
    notebook(tmp_path / "notebooks" / "ok.ipynb", ("code", "print('x is', x, round_name)"),
             params="x = 1\nround_name = ''")
    notebook(tmp_path / "notebooks" / "fails.ipynb", ("code", "y = 2"),
             ("code", "raise ValueError('the data are wrong')"))
    (tmp_path / "rounds").mkdir()
    return tmp_path


def write_round(project: Path, text: str, name: str = "r.yml") -> Path:
    p = project / "rounds" / name
    p.write_text(text)
    return p


def test_round_injects_parameters_into_the_tagged_cell(project: Path) -> None:
    rf = write_round(project, "round: t1\ndate: 2026-01-31\nnotebooks:\n"
                     "  - notebook: notebooks/ok.ipynb\n    parameters: {x: 41}\n")
    outcomes = pipeline.run_round(rf, say=lambda s: None, progress=False)
    assert [o.ok for o in outcomes] == [True]
    nb = nbformat.read(project / "reports" / "t1" / "ok.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "x = 41" in injected[0].source
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                  for o in c.get("outputs", []))
    assert "x is 41 t1" in out


def test_failing_notebook_is_named_with_its_cell_and_others_still_run(project: Path) -> None:
    rf = write_round(project, "round: t2\nnotebooks:\n  - notebooks/fails.ipynb\n"
                     "  - notebooks/ok.ipynb\n")
    outcomes = pipeline.run_round(rf, say=lambda s: None, progress=False)
    assert [o.ok for o in outcomes] == [False, True]
    err = outcomes[0].error
    assert "notebooks/fails.ipynb" in err and "code cell 3" in err
    assert "ValueError: the data are wrong" in err
    assert (project / "reports" / "t2" / "ok.ipynb").exists()
    record = json.loads((project / "reports" / "t2" / "round.json").read_text())
    assert [n["ok"] for n in record["notebooks"]] == [False, True]


def test_cli_run_exits_non_zero_when_a_notebook_fails(project: Path) -> None:
    rf = write_round(project, "round: t3\nnotebooks:\n  - notebooks/fails.ipynb\n")
    out = subprocess.run([sys.executable, "-m", "analysis", "run", str(rf), "--no-progress"],
                         capture_output=True, text=True, cwd=project)
    assert out.returncode == 1
    assert "FAIL fails" in out.stdout and "Traceback" not in out.stderr


def test_round_records_provenance(project: Path) -> None:
    rf = write_round(project, "round: t4\ndate: 2026-02-28\nnotebooks:\n  - notebooks/ok.ipynb\n")
    pipeline.run_round(rf, say=lambda s: None, progress=False)
    rec = json.loads((project / "reports" / "t4" / "round.json").read_text())
    assert rec["round"] == "t4" and rec["date"] == "2026-02-28"
    assert len(rec["round_file_sha256"]) == 64
    assert {"python", "pandas", "papermill"} <= set(rec["versions"])
    assert rec["started"] == "2026-02-28T00:00:00Z"  # SOURCE_DATE_EPOCH from the round date


@pytest.mark.parametrize("text, message", [
    ("round: a b\nnotebooks: [notebooks/ok.ipynb]\n", "short name without spaces"),
    ("round: t\nnotebooks: [notebooks/missing.ipynb]\n", "does not exist"),
    ("round: t\n", "lists no notebooks"),
    ("round: t\ndate: 31/01/2026\nnotebooks: [notebooks/ok.ipynb]\n", "ISO date"),
    ("round: [unclosed\n", "not valid YAML"),
])
def test_bad_round_files_get_a_clear_message(project: Path, text: str, message: str) -> None:
    rf = write_round(project, text)
    with pytest.raises(pipeline.RoundError, match=message):
        pipeline.load_round(rf)


@pytest.mark.parametrize("text, message", [
    # issue 12, case 11: a typo is refused and the nearest key named
    ("round: t\nparamters: {x: 2}\nnotebooks: [notebooks/ok.ipynb]\n",
     "unknown key 'paramters'. Did you mean 'parameters:'"),
    ("round: t\nnotebooks:\n  - notebook: notebooks/ok.ipynb\n    parameter: {x: 2}\n",
     "notebooks\\[0\\]: unknown key 'parameter'. Did you mean 'parameters:'"),
    ("round: t\nprepare:\n  - ingest: {kind: cases, fiel: a.csv}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "unknown key 'fiel'. Did you mean 'file:'"),
    # case 9: a round name that leaves reports/ or writes into the served site
    ("round: ..\nnotebooks: [notebooks/ok.ipynb]\n", "short name"),
    ("round: site\nnotebooks: [notebooks/ok.ipynb]\n", "not 'site'"),
    ("round: .hidden\nnotebooks: [notebooks/ok.ipynb]\n", "short name"),
    # case 8: a parameter name is written into the notebook as code
    ("round: t\nparameters: {'x = 1; import os; os.system(\"echo hi\") #': 1}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "is not a name a notebook can take"),
    ("round: t\nnotebooks:\n  - notebook: notebooks/ok.ipynb\n    parameters: {class: 1}\n",
     "is not a name a notebook can take"),
    # case 10: paths outside the project
    ("round: t\nnotebooks: [../outside.ipynb]\n", "outside the project"),
    ("round: t\nprepare:\n  - ingest: {kind: cases, file: a.csv, out: ../../tmp/x}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "outside the project"),
    ("round: t\nprepare:\n  - ingest: {kind: cases, file: a.csv, out: reports/site/v}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "not a place a round may write"),
    ("round: t\nprepare:\n  - synth: {out: src/analysis}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "not a place a round may write"),
    ("round: t\nprepare:\n  - synth: {out: data/published}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "not a place a round may write"),
    ("round: t\nprepare:\n  - ingest: {kind: cases, file: a.csv, mapping: /tmp/m.yml}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "mapping: .*outside the project"),
    ("round: t\nprepare:\n  - ingest: {kind: cases, file: /etc/passwd}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "allow_outside"),
    # case 17: what gave a traceback
    ("round: t\nprepare:\n  - ingest: {kind: bogus, file: a.csv}\n"
     "notebooks: [notebooks/ok.ipynb]\n", "kind 'bogus' is not one of cases, audit, ratings"),
    ("round: t\nparameters: [1, 2]\nnotebooks: [notebooks/ok.ipynb]\n",
     "must be a mapping of name: value, not list"),
    ("round: t\nnotebooks: [notebooks]\n", "is not a notebook file"),
    ("round: t\nnotebooks: [notebooks/bad.ipynb]\n", "not a valid notebook"),
    ("round: t\nprepare:\n  - ingest: data.csv\nnotebooks: [notebooks/ok.ipynb]\n",
     "must be a mapping"),
])
def test_round_files_are_checked_key_by_key_before_anything_runs(project: Path, text: str,
                                                                 message: str) -> None:
    (project / "notebooks" / "bad.ipynb").write_text("not json {", "utf-8")
    (project.parent / "outside.ipynb").write_text("{}", "utf-8")
    rf = write_round(project, text)
    with pytest.raises(pipeline.RoundError, match=message):
        pipeline.load_round(rf)


def test_raw_inputs_outside_the_project_need_allow_outside(project: Path) -> None:
    rf = write_round(project, "round: t\nallow_outside: true\nprepare:\n"
                     "  - ingest: {kind: cases, file: /data/export.csv}\n"
                     "notebooks: [notebooks/ok.ipynb]\n")
    assert pipeline.load_round(rf).name == "t"


def test_a_date_parameter_reaches_the_notebook_as_an_iso_string(project: Path) -> None:
    rf = write_round(project, "round: t\nparameters: {x: 2026-03-31}\n"
                     "notebooks: [notebooks/ok.ipynb]\n")
    assert pipeline.load_round(rf).parameters == {"x": "2026-03-31"}


def test_cli_bad_round_file_exits_2_without_traceback(project: Path) -> None:
    rf = write_round(project, "round: t\n")
    out = subprocess.run([sys.executable, "-m", "analysis", "run", str(rf)], capture_output=True,
                         text=True, cwd=project)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "lists no notebooks" in out.stderr


# --------------------------------------------------------------------------------------
# Execution cache and parallel rounds
# --------------------------------------------------------------------------------------


def two_notebook_round(project: Path, x: int = 1, y: int = 2) -> Path:
    notebook(project / "notebooks" / "other.ipynb", ("code", "print('y is', y)"), params="y = 0")
    return write_round(project, "round: c1\ndate: 2026-01-31\nnotebooks:\n"
                       f"  - notebook: notebooks/ok.ipynb\n    parameters: {{x: {x}}}\n"
                       f"  - notebook: notebooks/other.ipynb\n    parameters: {{y: {y}}}\n",
                       name="c.yml")


def test_an_unchanged_round_reuses_every_executed_notebook(project: Path) -> None:
    rf = two_notebook_round(project)
    first = pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=1)
    assert [o.cached for o in first] == [False, False]
    again = pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=1)
    assert [o.cached for o in again] == [True, True] and all(o.ok for o in again)


def test_changing_one_parameter_re_executes_that_notebook_alone(project: Path) -> None:
    pipeline.run_round(two_notebook_round(project, y=2), say=lambda s: None, progress=False)
    rerun = pipeline.run_round(two_notebook_round(project, y=3), say=lambda s: None,
                               progress=False)
    assert {o.name: o.cached for o in rerun} == {"ok": True, "other": False}


def test_force_ignores_the_cache(project: Path) -> None:
    rf = two_notebook_round(project)
    pipeline.run_round(rf, say=lambda s: None, progress=False)
    forced = pipeline.run_round(rf, say=lambda s: None, progress=False, force=True)
    assert [o.cached for o in forced] == [False, False]


def test_a_changed_output_file_is_not_trusted(project: Path) -> None:
    rf = two_notebook_round(project)
    pipeline.run_round(rf, say=lambda s: None, progress=False)
    executed = project / "reports" / "c1" / "other.ipynb"
    executed.write_text(executed.read_text().replace("y is", "y was"))
    rerun = pipeline.run_round(rf, say=lambda s: None, progress=False)
    assert {o.name: o.cached for o in rerun} == {"ok": True, "other": False}


def test_parallel_and_serial_runs_give_byte_identical_notebooks(project: Path) -> None:
    rf = two_notebook_round(project)
    pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=1, force=True)
    serial = {p.name: p.read_bytes() for p in (project / "reports" / "c1").glob("*.ipynb")}
    out = pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=2, force=True)
    assert all(o.ok for o in out), [o.error for o in out]
    parallel = {p.name: p.read_bytes() for p in (project / "reports" / "c1").glob("*.ipynb")}
    assert serial == parallel and len(serial) == 2


@pytest.mark.parametrize("message", [
    "Kernel died before replying to kernel_info",
    "Kernel didn't respond in 60 seconds"])
def test_a_kernel_that_did_not_start_is_started_again(project: Path, monkeypatch,
                                                       message: str) -> None:
    # two kernels started at the same moment can draw the same port: one dies at once
    # ("before replying"), or never answers ("didn't respond"); both are started again
    import papermill as pm

    real, calls = pm.execute_notebook, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(message)
        return real(*args, **kwargs)

    monkeypatch.setattr(pm, "execute_notebook", flaky)
    monkeypatch.setattr(pipeline.time, "sleep", lambda s: None)
    nb = project / "notebooks" / "ok.ipynb"
    out = pipeline.execute_notebook(project, project / "reports" / "t", nb, "ok", {"x": 2})
    assert out.ok and len(calls) == 2


def test_running_only_some_notebooks_keeps_the_others_in_the_round_record(project: Path
                                                                          ) -> None:
    rf = two_notebook_round(project)
    pipeline.run_round(rf, say=lambda s: None, progress=False)
    pipeline.run_round(rf, only=["other"], skip_prepare=True, say=lambda s: None,
                       progress=False, force=True)
    rec = json.loads((project / "reports" / "c1" / "round.json").read_text())
    assert [n["name"] for n in rec["notebooks"]] == ["ok", "other"]


CASES_CSV = ("case_id,child_id,gender,contact_date,referral_source,route,service,level_of_need,"
             "outcome,domestic_abuse,previous_csc,date_of_birth\n"
             "CN1,001,Female,01/04/2025,police,single,front_door,2A,nfa,n,n,2015-03-02\n")


def ingest_round(project: Path) -> Path:
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "cases.csv").write_text(CASES_CSV)
    return write_round(project, "round: i1\ndate: 2026-03-31\ndemo: true\nprepare:\n"
                       "  - ingest: {kind: cases, file: data/cases.csv}\n"
                       "notebooks:\n  - notebooks/ok.ipynb\n", name="i.yml")


def test_an_unchanged_prepare_step_is_reused_and_a_changed_input_reruns_it(project: Path
                                                                           ) -> None:
    rf = ingest_round(project)
    said: list[str] = []
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("1 read, 1 accepted" in s for s in said)
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("cases.csv: unchanged, reused" in s for s in said)
    (project / "data" / "cases.csv").write_text(CASES_CSV + CASES_CSV.splitlines()[1].replace(
        "CN1", "CN2") + "\n")
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("2 read, 2 accepted" in s for s in said)
    rec = json.loads((project / "reports" / "i1" / "round.json").read_text())
    assert rec["prepare"]["ingest"][0]["rows_read"] == 2


# --------------------------------------------------------------------------------------
# Cache keys cover every byte a step reads (issue 12, case 7)
# --------------------------------------------------------------------------------------

MAPPED_CSV = CASES_CSV.replace("case_id,", "Case reference,", 1)
MAPPING = "kind: cases\ncolumns:\n  case_id: ['Case reference']\n"


def mapped_round(project: Path) -> Path:
    (project / "data").mkdir()
    (project / "data" / "cases.csv").write_text(MAPPED_CSV)
    (project / "data" / "local.yml").write_text(MAPPING)
    return write_round(project, "round: m1\ndate: 2026-03-31\ndemo: true\nprepare:\n"
                       "  - ingest: {kind: cases, file: data/cases.csv, mapping: data/local.yml}\n"
                       "notebooks:\n  - notebooks/ok.ipynb\n")


def test_changing_the_content_of_a_custom_mapping_reruns_ingest(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    rf = mapped_round(project)
    mapping = project / "data" / "local.yml"
    said: list[str] = []
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("1 read, 1 accepted" in s for s in said)
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("unchanged, reused" in s for s in said)
    # same name, new content: a second header variant
    mapping.write_text(MAPPING.replace("['Case reference']", "['Case reference', 'Case ref']"))
    said.clear()
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("1 read, 1 accepted" in s for s in said)
    assert not any("unchanged, reused" in s for s in said)


def test_a_mapping_path_in_a_round_is_relative_to_the_project_root(project: Path) -> None:
    # run from another working directory (pytest's): the round still finds its mapping
    rf = mapped_round(project)
    said: list[str] = []
    pipeline.run_round(rf, say=said.append, progress=False)
    assert any("1 read, 1 accepted" in s for s in said)
    rec = json.loads((project / "reports" / "m1" / "round.json").read_text())
    assert rec["prepare"]["ingest"][0]["mapping"] == str(project / "data" / "local.yml")


def param_round(project: Path, parameters: str) -> Path:
    return write_round(project, f"round: p1\ndate: 2026-01-31\nparameters: {parameters}\n"
                       "notebooks:\n  - notebooks/ok.ipynb\n")


def cached(rf: Path) -> bool:
    [outcome] = pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=1)
    assert outcome.ok
    return outcome.cached


def test_changing_a_file_named_by_a_round_level_parameter_reruns_the_notebook(project: Path
                                                                              ) -> None:
    (project / "data").mkdir()
    lookup = project / "data" / "lookup.csv"
    lookup.write_text("code,label\n1,one\n")
    rf = param_round(project, "{lookup_file: data/lookup.csv}")
    assert cached(rf) is False
    assert cached(rf) is True
    lookup.write_text("code,label\n1,uno\n")
    assert cached(rf) is False
    rec = json.loads((project / "reports" / "p1" / "round.json").read_text())
    assert "data/lookup.csv" in rec["inputs"]


def test_adding_or_changing_a_file_inside_a_dir_parameter_reruns_the_notebook(project: Path
                                                                              ) -> None:
    folder = project / "data" / "extra"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    rf = param_round(project, "{extra_dir: data/extra}")
    assert cached(rf) is False
    (folder / "sub").mkdir()
    (folder / "sub" / "b.csv").write_text("x\n2\n")
    assert cached(rf) is False  # a file added, in a sub-folder
    (folder / "a.csv").write_text("x\n3\n")
    assert cached(rf) is False  # a file changed
    (folder / ".DS_Store").write_text("finder")
    (folder / "~$book.xlsx").write_text("lock")
    assert cached(rf) is True  # hidden files and Office lock files are not inputs


def non_demo_round(project: Path) -> Path:
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "cases.csv").write_text(CASES_CSV)
    return write_round(project, "round: k1\ndate: 2026-03-31\nprepare:\n"
                       "  - ingest: {kind: cases, file: data/cases.csv}\n"
                       "notebooks:\n  - notebooks/ok.ipynb\n", name="k.yml")


KEY_1 = "first-secret-key-0123456789abcdef"
KEY_2 = "second-secret-key-fedcba9876543210"


def test_changing_the_pseudonym_key_reruns_ingest_and_changes_the_pseudonyms(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    monkeypatch.delenv("SQA_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.setenv("SQA_PSEUDONYM_KEY", KEY_1)
    rf = non_demo_round(project)
    table = project / "data" / "processed" / "k1" / "cases.parquet"
    said: list[str] = []
    pipeline.run_round(rf, say=said.append, progress=False)
    first = pd.read_parquet(table)["case_id"].tolist()
    said.clear()
    [same] = pipeline.run_round(rf, say=said.append, progress=False)
    assert any("unchanged, reused" in s for s in said) and same.cached
    monkeypatch.setenv("SQA_PSEUDONYM_KEY", KEY_2)
    said.clear()
    [after] = pipeline.run_round(rf, say=said.append, progress=False)
    assert any("1 read, 1 accepted" in s for s in said)
    second = pd.read_parquet(table)["case_id"].tolist()
    assert first != second and all(p.startswith("cs_") for p in first + second)
    assert not after.cached  # the notebook reads the re-pseudonymised table


def test_the_pseudonym_key_is_never_written_to_round_json_or_any_cache_file(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQA_PSEUDONYM_KEY_FILE", raising=False)
    rf = non_demo_round(project)
    for key in (KEY_1, KEY_2):
        monkeypatch.setenv("SQA_PSEUDONYM_KEY", key)
        pipeline.run_round(rf, say=lambda s: None, progress=False)
    written = [f for d in ("reports", "data/processed") for f in (project / d).rglob("*")
               if f.is_file()]
    assert any(f.name == "round.json" for f in written)
    for f in written:
        data = f.read_bytes()
        for key in (KEY_1, KEY_2):
            assert key.encode() not in data, f"{f} holds the key"
            assert key.encode().hex().encode() not in data, f"{f} holds the key in hex"


# --------------------------------------------------------------------------------------
# Ctrl-C (issue 12, case 17): one line, exit 130, no traceback from any worker
# --------------------------------------------------------------------------------------


def sleepy_round(project: Path, n: int) -> Path:
    """``n`` notebooks that each write a marker file, then sleep for a minute."""
    lines = []
    for i in range(n):
        notebook(project / "notebooks" / f"slow{i}.ipynb",
                 ("code", "import pathlib, time\npathlib.Path(marker).write_text('started')\n"
                  "time.sleep(60)"), params="marker = ''")
        lines.append(f"  - notebook: notebooks/slow{i}.ipynb\n"
                     f"    parameters: {{marker: '{project / f'started{i}'}'}}\n")
    return write_round(project, "round: slow\ndate: 2026-01-31\nnotebooks:\n" + "".join(lines),
                       name="slow.yml")


@pytest.mark.parametrize("jobs", [3, 1], ids=["parallel", "serial"])
def test_ctrl_c_during_a_run_prints_one_line_and_exits_130_without_tracebacks(
        project: Path, jobs: int) -> None:
    """The terminal sends SIGINT to the whole process group: to the parent and every worker.
    Each worker printed its own KeyboardInterrupt traceback; now workers ignore it, the
    parent ends them and says in one line what was left behind."""
    import os
    import signal
    import time

    import analysis

    rf = sleepy_round(project, 3)
    env = {**os.environ, "PYTHONPATH": str(Path(analysis.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "analysis", "run", str(rf), "--jobs",
                             str(jobs), "--no-progress"], cwd=project, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,  # its own group, as a terminal's job
                            # as from a terminal: a background job (CI, `cmd &`) starts with
                            # SIGINT ignored, and Python keeps it ignored
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        markers = [project / f"started{i}" for i in range(jobs)]
        deadline = time.monotonic() + 120
        while not all(m.exists() for m in markers) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        assert all(m.exists() for m in markers), "the notebooks never started"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip().splitlines() == [
        f"sqa: interrupted; nothing was published; notebooks finished so far are in "
        f"{project / 'reports' / 'slow'}/ (round.json not updated). Run the round again."]
    assert not (project / "reports" / "slow" / "round.json").exists()


def test_every_run_is_logged_to_run_log_beside_round_json_with_each_notebooks_outcome(
        project: Path) -> None:
    """Issue 16 (RAP logging): the standard library's logging writes each run of a round to
    reports/<round>/run.log, next to round.json: what the run said, each notebook's outcome,
    a failure with its error; a second run appends its own block."""
    rf = write_round(project, "round: logged\nnotebooks:\n  - notebook: notebooks/ok.ipynb\n"
                              "  - notebook: notebooks/fails.ipynb\n")
    pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=1)
    log = project / "reports" / "logged" / pipeline.RUN_LOG
    assert (log.parent / "round.json").is_file()
    text = log.read_text("utf-8")
    assert "run of round logged (r.yml) started" in text and "run of round logged ended" in text
    assert "INFO notebook ok: ok" in text
    assert "ERROR notebook fails failed:" in text and "the data are wrong" in text
    pipeline.run_round(rf, say=lambda s: None, progress=False, jobs=1)
    again = log.read_text("utf-8")
    assert again.startswith(text) and again.count("started, package") == 2
    assert "notebook ok: ok, reused" in again
