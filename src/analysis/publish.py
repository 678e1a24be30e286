"""Publish: the versioned, citable, accessible report site.

``sqa publish --version X`` is the release process of the report:

1. collect the executed notebooks of the rounds under ``reports/<round>/`` (a round whose
   notebook failed is refused) and the static pages of ``site/``;
2. render them (:mod:`analysis.render`) with **Quarto** when ``quarto`` is on PATH (a staged
   website project, execution disabled: papermill already executed the notebooks), or with
   **nbconvert** otherwise (same pages, plainer layout; the provenance footer names the engine);
   unchanged pages come from a content-keyed render cache; the engine's own output is kept in
   a log next to the release;
3. add to every page: the release's version and date (rendered as placeholders), version
    switcher, old-release notice, ``rel=canonical`` to the latest copy, "how to cite" link,
    links from the first use of each glossary term to the Glossary page and abbreviations
    spelled out on first use (:mod:`analysis.glossary`), a provenance footer (release, git
    commit, SHA-256 of inputs, parameters, run time, package versions, engine); the page's
    round and citation template for the "Copy citation" button of each finding
    (:func:`finding_citation`: id, round and release; none on a preview, which is never
    citable), the header of every printed page, and Quarto's citation appendix put right;
4. verify the release (:mod:`analysis.verify`): every page listed exists, is whole and has
   its title, finding ids and figures; every local reference resolves; Quarto's search index
   lists every page. Any problem refuses the release (exit 1), naming each page;
5. the publication gate: the release-wide disclosure audit (no suppressed count about
   children can be worked out from everything the release publishes: ``gate.disclosure_audit``)
   and a scan of every file of the rendered site for every raw and pseudonymised id, date of
   birth and free-text note of the rounds' inputs; any problem refuses the release, naming
   the table or file and the kind of problem, never the value;
6. move into place: ``reports/site/v/<version>/`` (never overwritten without ``--force``,
   which is recorded), ``reports/site/latest/``, the root redirect and
   ``reports/site/versions.json``, as a transaction (:mod:`analysis.sitetx`).  A failure at
   any earlier step leaves the previous site byte-identical; a publish killed during the move
   is repaired by the next one.

Before step 1 the publish takes ``reports/.publish.lock`` and repairs what a killed publish
left (:func:`analysis.sitetx.recover`); in step 1 it takes the run lock of every round it
releases and refuses a round whose last run did not finish or whose executed notebooks are
not the ones that finished run recorded (:func:`check_finished`), and a release without
round pages.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import gate, glossary, locks, pipeline, sitetx, verify, yamlfile
from . import render as rendering
from .citation import (  # re-exported: analysis.publish.finding_citation and the rest
    CITABLE_END,
    CITABLE_START,
    CITE_FINDING,
    PREVIEW,
    author_names,
    citable,
    cite_markdown,
    finding_citation,
    page_bibtex,
    release_name,
    round_label,
)
from .decorate import (  # re-exported: analysis.publish.decorate and the rest
    changelog_markdown,
    decorate,
    fill_release,
    long_date,
    print_header_css,
    releases_html,
)
from .gate import Sensitive, public_dates, scan_site, sensitive_values
from .provenance import (
    cached_text,
    git_commit,
    package_versions,
    sha256_file,
    timestamp,
    write_text_atomic,
)
from .render import (
    VERSION_TOKEN,
    Page,
    RenderError,
)

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$")


class PublishError(Exception):
    """A release that cannot go ahead (reported without traceback; the site is untouched).
    The command's input or the project is wrong: exit code 2."""

    exit_code = 2


class ReleaseCheckError(PublishError):
    """The rendered release failed a check (a page missing or broken, personal data found):
    refused with every problem named; exit code 1."""

    exit_code = 1


@dataclass
class Release:
    version: str
    title: str
    date: str
    commit: str
    engine: str
    rounds: list[dict[str, Any]] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    forced: bool = False
    notes: str = ""


# --------------------------------------------------------------------------------------
# Discovering what to publish
# --------------------------------------------------------------------------------------


def quarto_config(root: Path) -> dict[str, Any]:
    cfg = root / "_quarto.yml"
    if not cfg.exists():
        raise PublishError(f"{cfg}: not found. The site's title, navbar and theme live there.")
    try:
        return yamlfile.load(cfg.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PublishError(f"{cfg}: not valid YAML: {exc}") from None


def discover_rounds(root: Path, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Rounds under reports/ with a round.json; refuse any with a failed notebook."""
    reports = root / "reports"
    found = []
    for rj in sorted(reports.glob("*/round.json")):
        try:
            data = json.loads(rj.read_text("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("notebooks"), list):
                raise ValueError("not a round record")
        except ValueError as exc:
            raise PublishError(f"{rj}: unreadable ({exc.__class__.__name__}): the run that "
                               f"wrote it did not finish. Run `sqa run rounds/{rj.parent.name}"
                               ".yml` again before publishing.") from None
        data.setdefault("round", rj.parent.name)
        if names and data["round"] not in names:
            continue
        failed = [n["name"] for n in data["notebooks"] if not n["ok"]]
        if failed:
            raise PublishError(f"round {data['round']}: notebook(s) {', '.join(failed)} failed; "
                               f"fix them and `sqa run` the round again before publishing.")
        found.append(data)
    if names:
        missing = set(names) - {d["round"] for d in found}
        if missing:
            raise PublishError(f"no executed round named {', '.join(sorted(missing))} under "
                               f"{reports}; run `sqa run rounds/<round>.yml` first.")
    if not found or not any(rd["notebooks"] for rd in found):
        raise PublishError(f"nothing to publish: no executed notebooks of any round under "
                           f"{reports}, so the release would have no pages. Run "
                           "`sqa run rounds/<name>.yml` (e.g. rounds/demo.yml) first.")
    return found


def check_finished(root: Path, rounds: list[dict[str, Any]]) -> None:
    """Refuse a round whose last run did not finish, or whose executed notebooks are not the
    ones that run recorded: a run killed (or still running) leaves half-executed notebooks,
    which must never become a permanent release. Call it holding the rounds' run locks."""
    for rd in rounds:
        name = rd["round"]
        again = f"Run `sqa run {rd.get('round_file') or f'rounds/{name}.yml'}` again"
        mark = root / "reports" / name / pipeline.RUNNING_MARK
        if mark.exists() or not rd.get("finished"):
            raise PublishError(f"round {name}: its last run did not finish (it was stopped "
                               "or is still running; or round.json is from an older sqa), so "
                               f"its notebooks may be half executed. {again}, to the end, "
                               "before publishing.")
        for nb in rd["notebooks"]:
            out = root / nb["output"]
            recorded = (nb.get("files") or {}).get(nb["output"])
            if not out.is_file():
                raise PublishError(f"round {name}: the executed notebook {nb['output']} is "
                                   f"missing. {again} before publishing.")
            if not recorded or sha256_file(out) != recorded:
                raise PublishError(
                    f"round {name}: the executed notebook {nb['output']} is not the one its "
                    "finished run recorded in round.json (its SHA-256 differs: changed or half "
                    f"executed since). {again} before publishing.")


def _hold(stack: ExitStack, path: Path, what: str, busy: str) -> None:
    """Take the lock ``path`` for the rest of the publish, or refuse with ``busy``."""
    try:
        stack.enter_context(locks.hold(path, what))
    except locks.LockBusy as exc:
        raise PublishError(f"{busy} (lock held by {exc.who}: {exc.path}). Wait for it to "
                           "finish, then publish.") from None


def collect_pages(root: Path, rounds: list[dict[str, Any]],
                  versions: dict[str, str] | None = None) -> list[Page]:
    """Static pages of site/, generated pages (the trends and actions pages among them), and
    for each round, newest first, its summary page then one page per executed notebook.

    The board's pages (issue 14: each round's summary, the trends and actions pages) come
    from ``analysis.reporting.board.board_pages``, kept in the render cache by the content of
    everything they are built from (``versions``: the libraries', for their key)."""
    from . import board as bd
    from .reporting import board as words

    pages: list[Page] = []
    site_src = root / "site"
    for p in sorted(site_src.glob("*.qmd")) + sorted(site_src.glob("*.md")):
        pages.append(Page(out=p.stem + ".html", title=_front_title(p) or p.stem, source=p))
    cache = root / "reports" / rendering.RENDER_CACHE
    pages.append(Page(out="dictionary.html", title="Data dictionary",
                      text=dictionary_markdown(cache)))
    pages.append(Page(out=glossary.GLOSSARY_PAGE, title="Glossary",
                      text=glossary.glossary_markdown()))
    try:
        board = words.board_pages(root, rounds, cache, versions)
    except bd.BoardError as exc:
        raise PublishError(str(exc)) from None
    pages += board.pop("site")
    for rd in sorted(rounds, key=lambda r: str(r.get("date", "")), reverse=True):
        pages += board.get(rd["round"], [])
        for nb in rd["notebooks"]:
            src = root / nb["output"]
            pages.append(Page(out=f"rounds/{rd['round']}/{Path(nb['output']).stem}.html",
                              title=_notebook_title(src), source=src, round=rd["round"]))
    return pages


def dictionary_markdown(cache_dir: Path) -> str:
    """The data dictionary page, generated from the contracts (``schemas.py`` and the shipped
    configuration), kept in the render cache under their digest: a publish that changes
    neither does not import the schemas (and pandas with them): ``dictionary-<key>.md``,
    ``provenance.cached_text`` over each file's name and bytes."""
    pkg = Path(__file__).parent
    parts: list[str | bytes] = []
    for f in [pkg / "schemas.py", *sorted((pkg / "config").glob("*.yml"))]:
        parts += [f.name, f.read_bytes()]

    def make() -> str:
        from .schemas import data_dictionary_markdown

        return data_dictionary_markdown()

    return cached_text(cache_dir, "dictionary-{key}.md", parts, make)


def _front_title(path: Path) -> str:
    text = path.read_text("utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    if m:
        meta = yaml.safe_load(m.group(1)) or {}
        return str(meta.get("title", ""))
    m = re.search(r"^#\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else ""


def _notebook_title(path: Path) -> str:
    # Plain JSON, not nbformat: importing nbformat costs over a second (its jsonschema import
    # compiles grammars), which a publish whose pages are all in the render cache never pays.
    nb = json.loads(path.read_text("utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            m = re.search(r"^#\s+(.+)$", "".join(src) if isinstance(src, list) else src, re.M)
            if m:
                return m.group(1).strip()
    return path.stem.replace("_", " ").capitalize()


# --------------------------------------------------------------------------------------
# Generated pages: findings index, how to cite, changelog
# --------------------------------------------------------------------------------------


def findings_table(root: Path, rounds: list[dict[str, Any]]) -> list[dict[str, str]]:
    """All findings rows (stable id, round, page, text) from the rounds' findings CSVs."""
    import csv

    rows: list[dict[str, str]] = []
    for rd in rounds:
        outputs = root / "reports" / rd["round"] / "outputs"
        for path in sorted(outputs.glob("*findings*.csv")):
            with path.open(encoding="utf-8", newline="") as fh:
                for rec in csv.DictReader(fh):
                    rec = {k: v or "" for k, v in rec.items()}
                    rec.setdefault("round", rd["round"])
                    rows.append(rec)
    return rows


#: Where a release keeps each round's findings as files: ``downloads/findings-<round>.csv``
#: and ``.xlsx`` (``write_findings_downloads``).
DOWNLOADS_DIR = "downloads"
FINDINGS_COLUMNS = ("finding_id", "round", "page", "topic", "group", "measure", "successes",
                    "n", "estimate", "ci_low", "ci_high", "method", "reason", "text")


def findings_downloads(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The findings rows of each round, in page order, for its download files."""
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r.get("round", ""), []).append(r)
    return out


def write_findings_downloads(out_dir: Path, rows: list[dict[str, str]], version: str
                             ) -> list[Path]:
    """Each round's findings as ``downloads/findings-<round>.csv`` and ``.xlsx`` in the
    release, for panels that work in Excel (issue 14, item 5).

    The rows are the findings the round's pages state, as its notebooks wrote them through
    the reporting layer (``analysis.findings.FindingsLog``): a group under the round's minimum
    has no count, share or interval and its ``reason`` says why, and counts about children
    went through the disclosure ledger; nothing is added here but the ``release`` column, so
    a finding can be cited from the file (finding ID, report version). The publication gate
    reads both files as it reads the pages. The workbook has a sheet "About" saying what the
    columns are."""
    import pandas as pd

    from .export import write_csv, write_xlsx

    written = []
    folder = out_dir / DOWNLOADS_DIR
    about = pd.DataFrame({
        "column": ["release", *FINDINGS_COLUMNS],
        "meaning": [
            "the report version to cite with the finding id",
            "stable identifier of the finding (cite it with the release)",
            "the audit round", "the page stating it", "what it is about",
            "the group it describes", "what is measured",
            "cases or contacts meeting it (blank: too few to report, see reason)",
            "cases or contacts it rests on (blank: too few to report)",
            "the estimate (a share from 0 to 1, or the statistic named in measure)",
            "lower end of the 95% interval", "upper end of the 95% interval",
            "the method, with its source", "why a figure is not given, if it is not",
            "the finding in words, as the page states it"]})
    for rnd, recs in findings_downloads(rows).items():
        df = pd.DataFrame([{c: r.get(c, "") for c in FINDINGS_COLUMNS} for r in recs],
                          columns=list(FINDINGS_COLUMNS))
        df.insert(0, "release", version)
        written.append(write_csv(df, folder / f"findings-{rnd}.csv"))
        written.append(write_xlsx({"Findings": df, "About": about},
                                  folder / f"findings-{rnd}.xlsx"))
    return written


#: The page of the 2011 reproduction: listed apart, at the end of the findings index (it
#: re-derives a published report's figures, not the round's own audit).
REPRODUCTION_PAGE = "hackney_2011_reproduction"

_SENTENCE_END = re.compile(r"(?<!\bp\.)(?<=[.!?])\s+(?=[A-Z])")


def finding_headline(text: str) -> str:
    """The first sentence of a finding, for the findings index (the whole finding is on its
    page). A reproduction finding opens with the report's own words ("The report: “…”
    (p. 5).") and is listed by what its numbers support, the sentence after the quote."""
    text = " ".join(str(text).split())
    quoted = re.match(r"The report: “[^”]*” \(p\. [^)]*\)\.\s+", text)
    if quoted and len(text) > quoted.end():
        text = text[quoted.end():]
    return _SENTENCE_END.split(text, maxsplit=1)[0]


def findings_markdown(rows: list[dict[str, str]], rounds: list[dict[str, str]] | None = None,
                      titles: dict[tuple[str, str], str] | None = None) -> str:
    """The findings index (the release's version is filled in after rendering), with each
    round's findings offered as CSV and Excel files (``write_findings_downloads``).

    Grouped as readers need it (issue 15): by round, the latest-dated round first (``rounds``:
    ``{round, title, date}`` of ``round.json``), and within a round by page (``titles``: a
    page's title by (round, page)), the Hackney 2011 reproduction apart at the end; each group
    a heading, each finding its id (a link to it on its page) and its first sentence
    (:func:`finding_headline`)."""
    lines = ["---", "title: Findings index", "---", "",
             f"Every finding of report version **{VERSION_TOKEN}** with its stable identifier, "
             "the latest round first. Each line gives a finding's first sentence; the link opens "
             "the whole finding on its page. Cite a finding as *finding ID, report version X* "
             "(see [How to cite](cite.html)).", ""]
    if not rows:
        return "\n".join(lines + ["No findings were recorded by the rounds in this release."])
    lines += ["Each round's findings as a file, with the same rules as the pages (a group too "
              "small to report has no figures, and the file says why):", ""]
    for rnd in findings_downloads(rows):
        name = html.escape(rnd)
        lines.append(f"- Round {name}: [findings as CSV]({DOWNLOADS_DIR}/findings-{rnd}.csv), "
                     f"[findings as Excel]({DOWNLOADS_DIR}/findings-{rnd}.xlsx)")
    lines.append("")
    info = {r["round"]: r for r in rounds or []}
    titles = dict(titles or {})
    order = sorted(findings_downloads(rows), key=lambda r: (info.get(r, {}).get("date", ""), r),
                   reverse=True)

    def heading(rnd: str) -> str:
        r = info.get(rnd, {})
        what = r.get("title") or f"Round {rnd}"
        return html.escape(f"{what} ({r['date'][:10]})" if r.get("date") else what)

    def group(rnd: str, page: str, found: list[dict[str, str]], level: str) -> list[str]:
        title = titles.get((rnd, page), page.replace("_", " ").capitalize() if page else "")
        out = [f"{level} {html.escape(title)}", ""] if title else []
        for r in found:
            fid = html.escape(r.get("finding_id", ""))
            link = f"[{fid}](rounds/{rnd}/{page}.html#{fid})" if page else fid
            out.append(f"- {link}: {html.escape(finding_headline(r.get('text', '')))}")
        return out + [""]

    by: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        by.setdefault((r.get("round", ""), r.get("page", "")), []).append(r)
    for rnd in order:
        pages = [pg for (rd, pg) in by if rd == rnd and pg != REPRODUCTION_PAGE]
        if not pages:
            continue
        lines += [f"## {heading(rnd)}", ""]
        for pg in pages:
            lines += group(rnd, pg, by[(rnd, pg)], "###")
    again = [rd for rd in order if (rd, REPRODUCTION_PAGE) in by]
    if again:
        lines += ["## The Hackney 2011 reproduction", "",
                  "The 2011 report's own figures re-derived with this project's methods: not "
                  "findings of a round's audit.", ""]
        for rnd in again:
            title = f"{titles.get((rnd, REPRODUCTION_PAGE), 'Reproduction')}, round {rnd}"
            titles[(rnd, REPRODUCTION_PAGE)] = title
            lines += group(rnd, REPRODUCTION_PAGE, by[(rnd, REPRODUCTION_PAGE)], "###")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The release
# --------------------------------------------------------------------------------------


def load_versions(site_dir: Path) -> list[dict[str, Any]]:
    """The releases of ``versions.json``; rebuilt from the releases in ``v/`` when the file is
    missing or unreadable (a publish repairs it first: see :func:`sitetx.recover`)."""
    releases, _ = sitetx.read_versions(site_dir)
    return releases if releases is not None else list(sitetx.releases_on_disk(site_dir).values())




def publish(root: Path, version: str | None = None, title: str | None = None,
            notes: Path | None = None, engine: str = "auto", force: bool = False,
            rounds: list[str] | None = None, say=print, progress: bool = False,
            jobs: int | None = None) -> Release:
    """Build, check and move a release into ``reports/site/``; return what was released.

    The publish holds ``reports/.publish.lock`` throughout, and first repairs what a publish
    that was killed left behind (:func:`sitetx.recover`, each repair said)."""
    root = root.resolve()
    with ExitStack() as held:
        _hold(held, root / "reports" / ".publish.lock", "sqa publish",
              "another `sqa publish` of this project is running")
        try:
            stages = [rendering.staging_parent(root), root / "reports"]
        except RenderError:
            stages = [root / "reports"]
        for line in sitetx.recover(root / "reports" / "site", stages):
            say(f"recovered: {line}")
        return _publish(root, version, title, notes, engine, force, rounds, say, progress,
                        jobs, held)


def _publish(root: Path, version: str | None, title: str | None, notes: Path | None,
             engine: str, force: bool, rounds: list[str] | None, say: Any, progress: bool,
             jobs: int | None, held: ExitStack) -> Release:
    """The body of :func:`publish`, run holding the publish lock (``held`` takes more)."""
    preview = version is None
    if preview:  # `sqa publish` without --version: a preview, replaced on every run
        version, force = "preview", True
    if not VERSION_RE.match(version):
        raise PublishError(f"version {version!r}: use letters, digits, dots, dashes or "
                           "underscores (e.g. 2026.1 or 1.2.0).")
    cfg = quarto_config(root)
    site_dir = root / "reports" / "site"
    releases = load_versions(site_dir)
    existing = next((r for r in releases if r["version"] == version), None)
    if existing is None and (site_dir / "v" / version).is_dir():
        existing = sitetx.releases_on_disk(site_dir).get(version)
    if existing and not force:
        raise PublishError(f"version {version} was already published on {existing['date'][:10]}; "
                           "a release is never overwritten. Publish a new version, or pass "
                           "--force (it is recorded in versions.json).")
    asked = engine
    try:
        engine = rendering.choose_engine(engine)
    except RenderError as exc:
        raise PublishError(str(exc)) from None
    rds = discover_rounds(root, rounds)
    for rd in rds:  # no run may rewrite a notebook while it is checked and rendered
        _hold(held, locks.run_lock_path(root / "reports" / rd["round"]), "sqa publish",
              f"round {rd['round']} is being run")
    check_finished(root, rds)
    notes_text = notes.read_text("utf-8") if notes else ""
    when = timestamp()
    site_url = str(cfg.get("website", {}).get("site-url", "")).rstrip("/")
    release = Release(version=version, title=title or cfg.get("website", {}).get(
        "title", "Report"), date=when, commit=git_commit(root), engine=engine, forced=bool(
        existing) and not preview, notes=notes_text)
    for rd in rds:
        release.inputs.update(rd.get("inputs", {}))
        release.rounds.append({"round": rd["round"], "title": rd.get("title", ""),
                               "date": rd.get("date", "")})
    all_releases = [r for r in releases if r["version"] != version]
    versions = package_versions()
    pages = collect_pages(root, rds, versions)
    findings = findings_table(root, rds)
    pages += [
        Page(out="findings.html", title="Findings index",
             text=findings_markdown(findings, release.rounds,
                                    {(p.round, Path(p.out).stem): p.title for p in pages
                                     if p.round})),
        Page(out="cite.html", title="How to cite this report",
             text=cite_markdown(cfg, f"{site_url}/v/{VERSION_TOKEN}/")),
        Page(out="changelog.html", title="Versions", text=changelog_markdown()),
    ]
    release.pages = sorted(p.out for p in pages)
    if not any(p.round for p in pages):
        raise PublishError("nothing to publish: the rounds have no executed notebooks, so the "
                           "release would have no pages. Run `sqa run rounds/<name>.yml` first.")
    site_dir.mkdir(parents=True, exist_ok=True)
    try:
        stage = Path(tempfile.mkdtemp(prefix="sqa-release-", dir=rendering.staging_parent(root)))
    except RenderError as exc:
        raise PublishError(str(exc)) from None
    held.enter_context(locks.hold(stage / ".lock", "sqa publish"))  # recover() keeps it
    failed_log = root / "reports" / f"publish-{version}.failed.log"
    try:
        sitetx.fault("staged")
        out_dir = stage / "out"
        out_dir.mkdir()
        why = {("auto", "quarto"): " (found on PATH)",
               ("auto", "nbconvert"): " (Quarto not found on PATH: plain nbconvert rendering)",
               }.get((asked, engine), f" (--engine {engine})")
        say(f"rendering {len(pages)} pages with {engine}{why}")
        try:
            report = rendering.render(engine, pages, out_dir, cfg, site_url, root, jobs=jobs,
                                      progress=progress)
        except RenderError as exc:
            raise PublishError(str(exc)) from None
        write_findings_downloads(out_dir, findings, version)
        log = render_log(release, report)
        prov = {"rounds": [{"round": r["round"], "started": r.get("started", ""),
                            "parameters": {n["name"]: n.get("parameters", {})
                                           for n in r["notebooks"]}} for r in rds],
                "versions": versions}
        cache = root / "reports" / rendering.RENDER_CACHE
        try:
            index = gate.gate_index(root, rds, cache)
        except gate.GateError as exc:
            raise ReleaseCheckError(f"publication gate refused the release: {exc} The "
                                    "previous site is unchanged.") from None
        pre_hits = gate.check(out_dir, index, cache)  # the rendered pages, before the release
        entry = {**release.__dict__, "name": release_name(version)}
        added = decorate(out_dir, release, site_url, prov, engine,
                         [*all_releases, entry], site_dir, pages=pages,
                         site_title=cfg.get("website", {}).get("title", release.title),
                         author=author_names(cfg), cache_dir=cache / "glossary")
        problems = [f"{out}: {why}" for out, why in report.failed.items()]
        problems += [p for p in verify.check_release(
            out_dir, release.pages, verify.expectations(pages, findings), engine, site_dir,
            {r["version"] for r in all_releases}, version)
            if p.split(":", 1)[0] not in report.failed]
        if problems:
            write_text_atomic(failed_log, log + "\n== release check\n" + "\n".join(problems) + "\n")
            raise ReleaseCheckError(
                f"release check refused version {version} ({engine}): {len(problems)} "
                "problem(s):\n  " + "\n  ".join(problems) + "\nThe previous site is unchanged."
                f" The render log is in {failed_log}.")
        leaks = gate.disclosure_audit(root, rds, cache)
        if leaks:
            raise ReleaseCheckError(
                "publication gate refused the release: a suppressed count about children can "
                f"be worked out ({len(leaks)}):\n  " + "\n  ".join(leaks)
                + "\nThe previous site is unchanged. Show the count that gives it away as "
                "'c' too (analysis.reporting.Ledger.count), then run the round again.")
        hits = pre_hits + gate.check_text(
            "the release's own text (title, notes, provenance, list of releases)",
            added.replace(release.date, " ").replace(release.date[:10], " "), index)
        if hits:
            raise ReleaseCheckError(
                "publication gate refused the release: personal data found in "
                f"{len(hits)} file(s):\n  " + "\n  ".join(hits)
                + "\nThe previous site is unchanged. Remove case-level output "
                "from the notebook(s) and run the round again.")
        sitetx.move_into_place(site_dir, out_dir, entry, all_releases)
        write_text_atomic(site_dir / "v" / f"{version}.render.log", log)
        failed_log.unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    reused = f", {len(report.reused)} from the render cache" if report.reused else ""
    say(f"published version {version} to {site_dir / 'v' / version} "
        f"({len(release.pages)} pages with {engine}{reused}); latest -> {version}")
    return release


def render_log(release: Release, report: rendering.RenderReport) -> str:
    """The render log kept next to the release: what was rendered, what was reused, and the
    engine's own output and warnings."""
    lines = [f"release {release.version} ({release.date}), engine {report.engine}, "
             f"{report.seconds:.1f} s",
             f"rendered ({len(report.rendered)}): {', '.join(report.rendered) or '-'}",
             f"reused from the render cache ({len(report.reused)}): "
             f"{', '.join(report.reused) or '-'}"]
    if report.failed:
        lines += ["failed:"] + [f"  {k}: {v}" for k, v in report.failed.items()]
    return "\n".join(lines) + "\n" + (report.log.strip() + "\n" if report.log.strip() else "")


def cli_publish(a: Any) -> int:
    """Entry point of `sqa publish`: exit 0 published, 1 a check refused the release, 2 the
    command or the project is wrong."""
    import sys

    try:
        publish(Path(a.root), version=a.release, title=a.title, notes=a.notes, engine=a.engine,
                force=a.force, rounds=a.rounds, progress=True, jobs=getattr(a, "jobs", None))
    except ReleaseCheckError as exc:
        print(f"sqa: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


__all__ = ["CITABLE_END", "CITABLE_START", "CITE_FINDING", "PREVIEW", "Page", "PublishError",
           "Release", "ReleaseCheckError", "Sensitive", "author_names", "changelog_markdown",
           "citable", "cite_markdown", "decorate", "fill_release", "finding_citation",
           "long_date", "page_bibtex", "print_header_css", "public_dates", "publish",
           "release_name", "releases_html", "round_label", "scan_site", "sensitive_values",
           "sha256_file"]
