"""Publish: the versioned, citable, accessible report site.

``sqa publish --version X`` is the release process of the report:

1. collect the executed notebooks of the rounds under ``reports/<round>/`` (a round whose
   notebook failed is refused) and the static pages of ``site/``;
2. build a staging project in a temporary folder and render it with **Quarto** when
   ``quarto`` is on PATH (``quarto render`` with execution disabled: papermill already
   executed the notebooks), or with **nbconvert** otherwise (same pages and layout, navigation
   read from ``_quarto.yml``, a notice on every page saying so);
3. add to every page: version switcher, old-release notice, ``rel=canonical`` to the latest
   copy, "how to cite" link and a provenance footer (release, git commit, SHA-256 of inputs,
   parameters, run time, package versions, engine);
4. the publication gate: scan every file of the rendered site for every raw and pseudonymised
   id, date of birth and free-text note of the rounds' inputs; any hit refuses the release,
   naming the file and the kind of hit, never the value;
5. move into place atomically: ``reports/site/v/<version>/`` (never overwritten without
   ``--force``, which is recorded), ``reports/site/latest/``, the root redirect and
   ``reports/site/versions.json``.  A failure at any step leaves the previous site untouched.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .provenance import git_commit, package_versions, sha256_file, timestamp

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$")
ENGINE_NOTICE = ("This page was rendered with nbconvert because Quarto was not available on the "
                 "machine that built it; content and figures are the same, the layout is plainer.")


class PublishError(Exception):
    """A release that cannot go ahead (reported without traceback; the site is untouched)."""


@dataclass
class Page:
    """One page of the site: its output path (relative, .html) and where it comes from."""

    out: str
    title: str
    source: Path | None = None  # .ipynb / .qmd / .md ; None = generated markdown in `text`
    text: str = ""
    round: str = ""


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
        return yaml.safe_load(cfg.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PublishError(f"{cfg}: not valid YAML: {exc}") from None


def discover_rounds(root: Path, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Rounds under reports/ with a round.json; refuse any with a failed notebook."""
    reports = root / "reports"
    found = []
    for rj in sorted(reports.glob("*/round.json")):
        data = json.loads(rj.read_text("utf-8"))
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
    if not found:
        raise PublishError(f"nothing to publish: no executed rounds under {reports}. Run "
                           "`sqa run rounds/demo.yml` first.")
    return found


def collect_pages(root: Path, rounds: list[dict[str, Any]]) -> list[Page]:
    """Static pages of site/, generated pages, and one page per executed notebook."""
    from .schemas import data_dictionary_markdown

    pages: list[Page] = []
    site_src = root / "site"
    for p in sorted(site_src.glob("*.qmd")) + sorted(site_src.glob("*.md")):
        pages.append(Page(out=p.stem + ".html", title=_front_title(p) or p.stem, source=p))
    pages.append(Page(out="dictionary.html", title="Data dictionary",
                      text=data_dictionary_markdown()))
    for rd in rounds:
        for nb in rd["notebooks"]:
            src = root / nb["output"]
            pages.append(Page(out=f"rounds/{rd['round']}/{Path(nb['output']).stem}.html",
                              title=_notebook_title(src), source=src, round=rd["round"]))
    return pages


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
    import pandas as pd

    rows: list[dict[str, str]] = []
    for rd in rounds:
        outputs = root / "reports" / rd["round"] / "outputs"
        for csv in sorted(outputs.glob("*findings*.csv")):
            df = pd.read_csv(csv, dtype=str, keep_default_na=False)
            for rec in df.to_dict("records"):
                rec.setdefault("round", rd["round"])
                rows.append(rec)
    return rows


def findings_markdown(rows: list[dict[str, str]], version: str) -> str:
    lines = ["---", "title: Findings index", "---", "",
             f"Every finding of report version **{version}** with its stable identifier. Cite a "
             "finding as *finding ID, report version X* (see [How to cite](cite.html)).", ""]
    if not rows:
        return "\n".join(lines + ["No findings were recorded by the rounds in this release."])
    lines += ["| finding | round | statement |", "|---|---|---|"]
    for r in rows:
        fid = html.escape(r.get("finding_id", ""))
        page = r.get("page", "")
        link = f"[{fid}](rounds/{r.get('round', '')}/{page}.html#{fid})" if page else fid
        text = html.escape(r.get("text", "")).replace("|", "&#124;")
        lines.append(f"| {link} | {html.escape(r.get('round', ''))} | {text} |")
    return "\n".join(lines)


def cite_markdown(cfg: dict[str, Any], version: str, date: str, url: str) -> str:
    site = cfg.get("website", {})
    title = site.get("title", "Safeguarding QA reports")
    authors = cfg.get("author") or [{"name": "Safeguarding Children Partnership"}]
    author = "; ".join(a["name"] if isinstance(a, dict) else str(a) for a in authors)
    year = date[:4]
    key = re.sub(r"[^a-z0-9]", "", title.lower())[:20] + year
    bib = (f"@techreport{{{key},\n  author = {{{{{author}}}}},\n  title = {{{title}}},\n"
           f"  year = {{{year}}},\n  version = {{{version}}},\n  date = {{{date}}},\n"
           f"  url = {{{url}}},\n  note = {{Version {version}}}\n}}")
    return "\n".join([
        "---", "title: How to cite this report", "---", "",
        f"**{author}** ({year}). *{title}*, version {version} ({date}). {url}", "",
        "To cite one finding, give its identifier and the version, e.g. *finding "
        f"T2-FRT-REFERRAL-APPROPRIATE, {title}, version {version}*. Identifiers are stable "
        "between versions; each release stays online unchanged at its own address.", "",
        "BibTeX:", "", "```bibtex", bib, "```", ""])


def changelog_markdown(releases: list[dict[str, Any]]) -> str:
    lines = ["---", "title: Versions", "---", "",
             "Every release of this report stays online, unchanged, at its own address.", ""]
    for r in sorted(releases, key=lambda r: r["date"], reverse=True):
        forced = " (re-published with --force)" if r.get("forced") else ""
        lines += [f"## Version {r['version']}{forced}", "",
                  f"*{html.escape(r['title'])}*, published {r['date'][:10]}, engine "
                  f"{r['engine']}, commit `{r['commit'][:12]}`. "
                  f"[Read this version](../../v/{r['version']}/index.html)", ""]
        if r.get("notes"):
            lines += [r["notes"].strip(), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------


def choose_engine(engine: str) -> str:
    if engine == "auto":
        return "quarto" if shutil.which("quarto") else "nbconvert"
    if engine == "quarto" and not shutil.which("quarto"):
        raise PublishError("--engine quarto: `quarto` is not on PATH. Install it from "
                           "https://quarto.org or conda-forge (environment.yml), or use "
                           "--engine nbconvert.")
    return engine


def _navbar(cfg: dict[str, Any], rounds: list[dict[str, Any]], pages: list[Page]
            ) -> list[tuple[str, str]]:
    """(href, text) pairs of the navbar: _quarto.yml's items plus one per notebook page."""
    nav = cfg.get("website", {}).get("navbar", {})
    items: list[tuple[str, str]] = []
    for side in ("left", "right"):
        for it in nav.get(side, []) or []:
            if isinstance(it, str):
                it = {"href": it}
            href = re.sub(r"\.(qmd|md|ipynb)$", ".html", str(it.get("href", "")))
            items.append((href, str(it.get("text") or Path(href).stem.capitalize())))
    for p in pages:
        if p.round:
            items.append((p.out, p.title))
    return items


RENDER_CACHE = ".render-cache"


def _render_key(source: Path) -> str:
    """Cache key of a notebook's rendered body: the executed notebook's bytes, this module's
    source (exporter settings, cell filtering) and the nbconvert version."""
    import hashlib
    from importlib import metadata

    h = hashlib.sha256(source.read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(metadata.version("nbconvert").encode())
    return h.hexdigest()


def _notebook_body(source: Path, exporter: Any) -> str:
    """The HTML body of an executed notebook, reused from ``reports/.render-cache/`` when the
    notebook (and the renderer) are unchanged since it was last rendered ("quick renders")."""
    cache = source.parent.parent / RENDER_CACHE / f"{_render_key(source)}.html"
    if cache.is_file():
        return cache.read_text("utf-8")
    import nbformat

    nb = nbformat.read(source, as_version=4)
    nb.cells = [c for c in nb.cells if "parameters" not in c.metadata.get("tags", [])
                and "injected-parameters" not in c.metadata.get("tags", [])]
    body, _ = exporter().from_notebook_node(nb)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, cache)
    return body


def render_nbconvert(pages: list[Page], out_dir: Path, cfg: dict[str, Any],
                     rounds: list[dict[str, Any]], progress: bool = False) -> None:
    """Render pages with nbconvert (notebooks) and mistune (Markdown), one template.

    A notebook's rendered body is cached under ``reports/.render-cache/``, keyed by the
    SHA-256 of the executed notebook and of the renderer, so an unchanged page is not
    rendered again (the publication gate still scans every page of the release).
    """
    import functools

    import mistune

    @functools.cache
    def exporter() -> Any:
        from nbconvert import HTMLExporter

        return HTMLExporter(template_name="basic", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)

    md = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])
    nav = _navbar(cfg, rounds, pages)
    site_title = cfg.get("website", {}).get("title", "Report")
    css = resources.files("analysis").joinpath("templates", "site.css").read_text("utf-8")
    (out_dir / "sqa-site.css").write_text(css, encoding="utf-8")
    from tqdm import tqdm

    for page in tqdm(pages, desc="render", unit="page", disable=not progress, leave=False):
        if page.source is not None and page.source.suffix == ".ipynb":
            body = _notebook_body(page.source, exporter)
        else:
            text = page.text if page.source is None else page.source.read_text("utf-8")
            text = re.sub(r"^---\n.*?\n---\n", "", text, count=1, flags=re.S)
            text = re.sub(r"\]\(([^)#]+)\.(qmd|md)(#[^)]*)?\)", r"](\1.html\3)", text)
            body = f"<h1>{html.escape(page.title)}</h1>\n" + md(text)
        depth = page.out.count("/")
        prefix = "../" * depth
        current = ' aria-current="page"'
        links = "".join(
            f'<li><a href="{prefix}{h}"{current if h == page.out else ""}>'
            f"{html.escape(t)}</a></li>" for h, t in nav)
        doc = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page.title)} – {html.escape(site_title)}</title>
<link rel="stylesheet" href="{prefix}sqa-site.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header">
<p class="site-title"><a href="{prefix}index.html">{html.escape(site_title)}</a></p>
<nav aria-label="Site"><ul>{links}</ul></nav>
</header>
<main id="main">
<div class="sqa-engine-notice" role="note">{html.escape(ENGINE_NOTICE)}</div>
{body}
</main>
</body>
</html>
"""
        dest = out_dir / page.out
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(doc, encoding="utf-8")


def render_quarto(pages: list[Page], stage: Path, out_dir: Path, cfg: dict[str, Any],
                  rounds: list[dict[str, Any]], site_url: str, release_date: str,
                  version: str) -> None:
    """Build a staging Quarto website project and run `quarto render` on it."""
    proj = stage / "project"
    proj.mkdir(parents=True)
    conf = json.loads(json.dumps(cfg))  # deep copy
    conf.setdefault("project", {})["type"] = "website"
    conf["project"]["output-dir"] = "_site"
    conf.setdefault("execute", {})["enabled"] = False
    site = conf.setdefault("website", {})
    site["site-url"] = site_url
    nav = site.setdefault("navbar", {})
    menu = [{"href": p.out.replace(".html", ".ipynb"), "text": p.title} for p in pages if p.round]
    if menu:
        nav.setdefault("left", []).append({"text": "Rounds", "menu": menu})
    fmt = conf.setdefault("format", {}).setdefault("html", {})
    fmt.setdefault("google-scholar", True)
    conf["date"] = release_date
    conf["citation"] = {"type": "report", "version": version}
    (proj / "_quarto.yml").write_text(yaml.safe_dump(conf, sort_keys=False), encoding="utf-8")
    for page in pages:
        if page.source is None:
            dest = proj / page.out.replace(".html", ".qmd")  # as _quarto.yml's navbar names it
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(page.text, encoding="utf-8")
        else:
            dest = proj / (page.out[: -len(".html")] + page.source.suffix)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page.source, dest)
    proc = subprocess.run(["quarto", "render", str(proj), "--no-execute"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise PublishError(f"quarto render failed (exit {proc.returncode}):\n{tail}")
    shutil.copytree(proj / "_site", out_dir, dirs_exist_ok=True)


# --------------------------------------------------------------------------------------
# Page furniture: switcher, notice, canonical, provenance
# --------------------------------------------------------------------------------------


def decorate(out_dir: Path, pages: list[Page], release: Release, site_url: str,
             provenance: dict[str, Any], engine: str) -> None:
    """Insert the version furniture and provenance into every HTML page of a release."""
    js = resources.files("analysis").joinpath("templates", "site.js").read_text("utf-8")
    (out_dir / "sqa-site.js").write_text(js, encoding="utf-8")
    css = resources.files("analysis").joinpath("templates", "site.css").read_text("utf-8")
    if not (out_dir / "sqa-site.css").exists():
        (out_dir / "sqa-site.css").write_text(css, encoding="utf-8")
    for f in sorted(out_dir.rglob("*.html")):
        rel = f.relative_to(out_dir).as_posix()
        text = f.read_text("utf-8")
        depth = rel.count("/")
        to_release = "../" * depth or "./"
        to_site = "../" * (depth + 2)
        head = (f'<meta name="sqa-version" content="{html.escape(release.version)}">\n'
                f'<meta name="sqa-page" content="{html.escape(rel)}">\n'
                f'<meta name="sqa-site-root" content="{to_site}">\n'
                f'<link rel="canonical" href="{html.escape(site_url.rstrip("/"))}/latest/{rel}">\n'
                f'<link rel="stylesheet" href="{to_release}sqa-site.css">\n'
                f'<script src="{to_release}sqa-site.js" defer></script>\n')
        if 'rel="icon"' not in text:  # no favicon request, so no 404 in the console
            head += '<link rel="icon" href="data:,">\n'
        bar = (f'<div class="sqa-version-bar" role="region" aria-label="Report version">'
               f'<span>Report version <strong>{html.escape(release.version)}</strong> '
               f'({html.escape(release.date[:10])})</span> '
               f'<span class="sqa-switcher" data-sqa-switcher></span> '
               f'<a href="{to_release}cite.html">How to cite</a>'
               f'<div class="sqa-old-notice" data-sqa-notice hidden></div>'
               f'<noscript><a href="{to_site}latest/{rel}">Read the latest version</a>'
               f'</noscript></div>\n')
        foot = _provenance_html(release, provenance, engine)
        text = text.replace("</head>", head + "</head>", 1)
        text = re.sub(r"(<body[^>]*>)", lambda m, bar=bar: m.group(1) + "\n" + bar, text,
                      count=1)
        text = text.replace("</body>", foot + "</body>", 1)
        f.write_text(text, encoding="utf-8")


def _provenance_html(release: Release, prov: dict[str, Any], engine: str) -> str:
    inputs = "".join(f"<li><code>{html.escape(k)}</code>: <code>{v}</code></li>"
                     for k, v in sorted(release.inputs.items()))
    params = "".join(
        f"<li>{html.escape(r['round'])}: <code>"
        f"{html.escape(json.dumps(r.get('parameters', {}), sort_keys=True))}</code></li>"
        for r in prov.get("rounds", []))
    runs = ", ".join(r["round"] + " at " + r.get("started", "") for r in prov.get("rounds", []))
    versions = ", ".join(f"{html.escape(k)} {html.escape(v)}"
                         for k, v in sorted(prov.get("versions", {}).items()))
    return (f'<footer class="sqa-provenance" aria-label="Provenance"><details><summary>'
            f"Provenance of this page</summary><ul>"
            f"<li>Release: {html.escape(release.version)} ({html.escape(release.date)})</li>"
            f"<li>Git commit: <code>{html.escape(release.commit)}</code></li>"
            f"<li>Rendering engine: {html.escape(engine)}</li>"
            f"<li>Rounds run: {html.escape(runs)}</li>"
            f"<li>Inputs (SHA-256):<ul>{inputs}</ul></li>"
            f"<li>Parameters:<ul>{params}</ul></li>"
            f"<li>Package versions: {versions}</li>"
            f"</ul></details></footer>\n")


# --------------------------------------------------------------------------------------
# The publication gate
# --------------------------------------------------------------------------------------


@dataclass
class Sensitive:
    """What must never reach the site, by kind."""

    ids: set[str] = field(default_factory=set)
    pseudonyms: set[str] = field(default_factory=set)
    dobs: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*[A-Za-z0-9]")


def sensitive_values(root: Path, rounds: list[dict[str, Any]]) -> Sensitive:
    """Collect raw ids, pseudonyms, dates of birth and notes from the rounds' inputs."""
    import pandas as pd

    from . import ingest, schemas

    sens = Sensitive()
    for rd in rounds:
        for item in rd.get("prepare", {}).get("ingest", []):
            path = Path(item["file"])
            if not path.exists():
                continue
            spec = schemas.spec_for(item["kind"])
            raw, _ = ingest.read_raw(path)
            df, _ = ingest._rename(raw, spec, ingest.load_mapping(item.get("mapping")))
            for col in ("case_id", "child_id", "subject_id"):
                if col in df.columns:
                    vals = {ingest.privacy.normalise_id(v) for v in df[col].dropna()}
                    sens.ids |= {v for v in vals if v and len(v) >= 5}
                    sens.ids |= {str(v).strip() for v in df[col].dropna()
                                 if len(str(v).strip()) >= 5}
            if "date_of_birth" in df.columns:
                dob, _ = ingest._parse_date(ingest._to_text(df["date_of_birth"]))
                for d in dob.dropna():
                    sens.dobs |= {d.strftime("%Y-%m-%d"), d.strftime("%d/%m/%Y"),
                                  d.strftime("%d-%m-%Y"), d.strftime("%d.%m.%Y")}
            if "notes" in df.columns:
                sens.notes += [re.sub(r"\s+", " ", str(n)).strip() for n in df["notes"].dropna()
                               if len(str(n).strip()) >= 12]
        processed = Path(rd.get("processed_dir") or root / "data" / "processed" / rd["round"])
        for pq in processed.glob("*.parquet"):
            t = pd.read_parquet(pq)
            for col in ("case_id", "child_id", "subject_id"):
                if col in t.columns:
                    sens.pseudonyms |= set(t[col].dropna().astype(str))
            if "notes" in t.columns:
                sens.notes += [re.sub(r"\s+", " ", str(n)).strip() for n in t["notes"].dropna()
                               if len(str(n).strip()) >= 12]
    sens.notes = sorted(set(sens.notes))
    sens.dobs -= public_dates(root, rounds)
    return sens


def public_dates(root: Path, rounds: list[dict[str, Any]]) -> set[str]:
    """Dates a report states on purpose: each round's reference date and the date windows of
    its samples.  A child's date of birth that happens to fall on one of them is not a leak
    when the page names that date (the round closing on 31 March, say), so the gate does not
    count it; every other date of birth in the inputs still refuses a release."""
    days: set[str] = set()
    for rd in rounds:
        found = [rd.get("date")]
        for item in rd.get("prepare", {}).get("sample", []):
            try:
                manifest = json.loads((root / item["manifest"]).read_text("utf-8"))
            except (OSError, ValueError, KeyError):
                continue
            window = (manifest.get("design") or {}).get("date_window") or {}
            found += [window.get("start"), window.get("end")]
        for d in found:
            try:
                when = datetime.fromisoformat(str(d))
            except ValueError:
                continue
            days |= {when.strftime(f) for f in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")}
    return days


def scan_site(out_dir: Path, sens: Sensitive) -> list[str]:
    """Every (file, kind of hit) in the rendered site; the values themselves are never named."""
    hits: list[str] = []
    for f in sorted(out_dir.rglob("*")):
        if not f.is_file() or f.suffix.lower() in {".png", ".jpg", ".jpeg", ".gif", ".woff",
                                                   ".woff2", ".ttf", ".ico"}:
            continue
        raw = f.read_text("utf-8", errors="replace")
        text = html.unescape(raw)
        tokens = set(TOKEN_RE.findall(text)) | set(TOKEN_RE.findall(raw))
        upper = {t.upper() for t in tokens}
        rel = f.relative_to(out_dir).as_posix()
        kinds = []
        if tokens & sens.pseudonyms:
            kinds.append(f"{len(tokens & sens.pseudonyms)} pseudonymised id(s)")
        if upper & sens.ids or tokens & sens.ids:
            kinds.append(f"{len((upper | tokens) & sens.ids)} raw id(s)")
        if tokens & sens.dobs:
            kinds.append(f"{len(tokens & sens.dobs)} date(s) of birth")
        flat = re.sub(r"\s+", " ", text)
        n_notes = sum(1 for n in sens.notes if n in flat)
        if n_notes:
            kinds.append(f"{n_notes} free-text note(s)")
        if kinds:
            hits.append(f"{rel}: {', '.join(kinds)}")
    return hits


# --------------------------------------------------------------------------------------
# The release
# --------------------------------------------------------------------------------------


def load_versions(site_dir: Path) -> list[dict[str, Any]]:
    vf = site_dir / "versions.json"
    if not vf.exists():
        return []
    return json.loads(vf.read_text("utf-8"))["releases"]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def publish(root: Path, version: str | None = None, title: str | None = None,
            notes: Path | None = None, engine: str = "auto", force: bool = False,
            rounds: list[str] | None = None, say=print, progress: bool = False) -> Release:
    """Build, check and move a release into ``reports/site/``; return what was released."""
    root = root.resolve()
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
    if existing and not force:
        raise PublishError(f"version {version} was already published on {existing['date'][:10]}; "
                           "a release is never overwritten. Publish a new version, or pass "
                           "--force (it is recorded in versions.json).")
    engine = choose_engine(engine)
    rds = discover_rounds(root, rounds)
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
    pages = collect_pages(root, rds)
    findings = findings_table(root, rds)
    url = f"{site_url}/v/{version}/"
    pages += [
        Page(out="findings.html", title="Findings index",
             text=findings_markdown(findings, version)),
        Page(out="cite.html", title="How to cite this report",
             text=cite_markdown(cfg, version, when[:10], url)),
        Page(out="changelog.html", title="Versions", text=changelog_markdown(
            [*all_releases, {**release.__dict__}])),
    ]
    release.pages = sorted(p.out for p in pages)
    site_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=site_dir.parent))
    try:
        out_dir = stage / "out"
        out_dir.mkdir()
        say(f"rendering {len(pages)} pages with {engine}"
            + (" (Quarto not found on PATH: plain nbconvert rendering)" if engine == "nbconvert"
               else ""))
        if engine == "quarto":
            render_quarto(pages, stage, out_dir, cfg, rds, url, when[:10], version)
        else:
            render_nbconvert(pages, out_dir, cfg, rds, progress=progress)
        prov = {"rounds": [{"round": r["round"], "started": r.get("started", ""),
                            "parameters": {n["name"]: n.get("parameters", {})
                                           for n in r["notebooks"]}} for r in rds],
                "versions": package_versions()}
        decorate(out_dir, pages, release, site_url, prov, engine)
        hits = scan_site(out_dir, sensitive_values(root, rds))
        if hits:
            raise PublishError("publication gate refused the release: personal data found in "
                               f"{len(hits)} file(s):\n  " + "\n  ".join(hits)
                               + "\nThe previous site is unchanged. Remove case-level output "
                               "from the notebook(s) and run the round again.")
        _move_into_place(site_dir, out_dir, release, all_releases)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    say(f"published version {version} to {site_dir / 'v' / version} "
        f"({len(release.pages)} pages); latest -> {version}")
    return release


def _move_into_place(site_dir: Path, out_dir: Path, release: Release,
                     others: list[dict[str, Any]]) -> None:
    vdir = site_dir / "v" / release.version
    vdir.parent.mkdir(parents=True, exist_ok=True)
    if vdir.exists():  # only with --force
        trash = vdir.with_name(vdir.name + ".old")
        os.replace(vdir, trash)
        shutil.rmtree(trash)
    shutil.copytree(out_dir, vdir)
    entry = {k: v for k, v in release.__dict__.items()}
    releases = [*others, entry]
    releases.sort(key=lambda r: r["date"])
    latest = releases[-1]["version"]
    # latest/: a full copy of the newest release, swapped in with one rename.
    new_latest = site_dir / ".latest.new"
    shutil.rmtree(new_latest, ignore_errors=True)
    shutil.copytree(site_dir / "v" / latest, new_latest)
    _rebase_latest(new_latest)
    old_latest = site_dir / "latest"
    if old_latest.exists():
        os.replace(old_latest, site_dir / ".latest.old")
    os.replace(new_latest, old_latest)
    shutil.rmtree(site_dir / ".latest.old", ignore_errors=True)
    _atomic_write(site_dir / "index.html",
                  '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
                  '<title>Safeguarding QA reports</title>'
                  '<meta http-equiv="refresh" content="0; url=latest/index.html">'
                  '<link rel="canonical" href="latest/index.html"></head><body><main>'
                  '<p><a href="latest/index.html">Go to the latest report</a></p></main>'
                  '</body></html>\n')
    _atomic_write(site_dir / "versions.json", json.dumps(
        {"latest": latest, "generated": datetime.now(UTC).isoformat(timespec="seconds"),
         "releases": releases}, indent=2, sort_keys=True) + "\n")


def _rebase_latest(latest_dir: Path) -> None:
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


def cli_publish(a: Any) -> int:
    """Entry point of `sqa publish`."""
    publish(Path(a.root), version=a.release, title=a.title, notes=a.notes, engine=a.engine,
            force=a.force, rounds=a.rounds, progress=True)
    return 0


__all__ = ["PublishError", "publish", "scan_site", "sensitive_values", "sha256_file"]
