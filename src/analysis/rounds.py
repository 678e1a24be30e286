"""Writing a new round file: ``sqa new-round NAME``.

A round file is the analyst's whole recipe for one audit round (see ``rounds/demo.yml`` and
:func:`analysis.pipeline.load_round`, which checks it key by key). A new one is written from
the commented template ``templates/round.yml``: inputs under ``data/raw/<name>/`` (ignored by
git), ``demo: false``, the prepare steps in the order an analyst meets them and every key
explained. It never overwrites a round file, and the file it writes passes
:func:`~analysis.pipeline.load_round`.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from string import Template

from .pipeline import NAME_RE, RESERVED_ROUNDS, RoundError, load_round

__all__ = ["new_round"]


def new_round(root: Path, name: str, scale: str | None = None, standards: str | None = None,
              design: str | None = None, today: date | None = None) -> Path:
    """Write ``rounds/<name>.yml`` under ``root`` from the template and return its path.

    ``scale`` is a shipped levels-of-need scale (``hackney``, ``four_level``); ``standards`` a
    path (inside the project) of the board's audit template YAML; ``design`` a shipped sample
    design name or a design YAML path. Each is checked before anything is written, and an
    existing round file is never overwritten (:class:`~analysis.pipeline.RoundError`).
    """
    from . import schemas
    from .sampling import DesignError, load_design

    root = root.resolve()
    if not NAME_RE.match(name) or name in RESERVED_ROUNDS:
        raise RoundError(f"round name {name!r}: use a short name without spaces or slashes, "
                         "starting with a letter or digit, and not 'site' (e.g. 2026-q1).")
    path = root / "rounds" / f"{name}.yml"
    if path.exists():
        raise RoundError(f"{path} already exists; a round file is never overwritten. Edit it, "
                         "or choose another name.")
    try:
        scale_name = schemas.load_scale(scale).name
    except ValueError as exc:
        raise RoundError(f"--scale: {exc}") from None
    if standards is not None and schemas.shipped_standards(standards) is not None:
        pass  # a shipped template by name (hackney, graded): written as the name
    elif standards is not None:
        spath = Path(standards)
        full = (spath if spath.is_absolute() else root / spath).resolve()
        if not full.is_file():
            raise RoundError(f"--standards: {standards} is not a file or a shipped template "
                             f"({', '.join(schemas.SHIPPED_STANDARDS)}). Give the path of the "
                             "board's audit template YAML, inside the project.")
        if not full.is_relative_to(root):
            raise RoundError(f"--standards: {standards} is outside the project ({root}); "
                             "copy the template into it (e.g. config/).")
        try:
            schemas.load_standards(full)
        except (ValueError, KeyError, TypeError) as exc:
            raise RoundError(f"--standards: {standards}: {exc}") from None
        standards = full.relative_to(root).as_posix()
    design = design or "hackney_2011"
    try:
        load_design(root / design if design.endswith((".yml", ".yaml")) else design)
    except DesignError as exc:
        raise RoundError(f"--design: {exc}") from None
    when = today or date.today()
    text = Template(resources.files("analysis").joinpath("templates", "round.yml")
                    .read_text("utf-8")).substitute(
        name=name, title=f"Audit round {name}", date=when.isoformat(),
        today=when.isoformat(), scale=scale_name, standards=standards or "null",
        design=design, design_name=Path(design).stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
        fh.write(text)
    try:
        load_round(path)
    except RoundError:
        path.unlink()
        raise
    return path
