"""Accessible figures and tables for the report pages.

* ``show_figure`` displays a matplotlib figure as an HTML ``<figure>`` with alt text and a
  caption, which both renderers (Quarto and nbconvert) keep, so every image on the site has
  alt text (WCAG 2.2 success criterion 1.1.1).
* ``PALETTE`` is the Okabe & Ito (2008) colour-blind-safe palette; charts also use markers
  or labels so that colour is never the only cue (WCAG 1.4.1).
* ``plotted_data`` reads back what a chart plots (lines, points, bars, labels), kept in the
  executed notebook's output metadata (never on the page) so that tests compare the data of
  every chart, not only that an image exists.
* ``show_table`` displays a small aggregate table as accessible HTML (a caption, header
  cells with scope), with every cell escaped.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd

from .reporting import number

__all__ = ["FIGURE_TEXT_KEY", "PALETTE", "SEQUENTIAL", "collect_plotted", "compare_plotted",
           "figure_html", "figure_png", "figure_text", "plotted_data", "show_figure",
           "show_table", "show_text", "table_html"]

# Okabe, M. & Ito, K. (2008) "Color Universal Design (CUD): how to make figures and
# presentations that are friendly to colorblind people".
PALETTE = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
           "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
           "purple": "#CC79A7", "grey": "#7F7F7F"}
SEQUENTIAL = "cividis"  # perceptually uniform and colour-blind safe (Nuñez et al. 2018)
# The PNG text chunk that holds a figure's text, for the publication gate (analysis.gate)
FIGURE_TEXT_KEY = "sqa:text"


def figure_text(fig) -> str:
    """Every text a figure draws, one per line, in drawing order: titles, axis labels, tick
    labels, legend entries, annotations and table cells (tick labels as the figure's
    formatters write them, so the figure is laid out first)."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    return "\n".join(t.get_text() for t in fig.findobj(Text)
                     if t.get_visible() and t.get_text().strip())


def figure_png(fig, dpi: int = 110) -> bytes:
    """The figure as PNG bytes, reproducible (no timestamp or version) and carrying every text
    it draws in its :data:`FIGURE_TEXT_KEY` chunk (see :func:`figure_html`)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight",
                metadata={"Software": None, FIGURE_TEXT_KEY: figure_text(fig)})
    return buf.getvalue()


def figure_html(fig, alt: str, caption: str = "", dpi: int = 110) -> str:
    """A self-contained ``<figure>`` with a PNG, alt text and caption (alt is required).

    The PNG carries every text the chart draws (:func:`figure_text`) in its
    :data:`FIGURE_TEXT_KEY` text chunk: the publication gate reads it to find an id or a date
    of birth drawn in a chart, which it could not read from the pixels (issue 12, case 3).
    Every figure of the project passes through here (``show_figure``)."""
    if not alt or not alt.strip():
        raise ValueError("every figure needs alt text describing what it shows")
    data = base64.b64encode(figure_png(fig, dpi)).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
            f"{cap}</figure>")


def _num(v: object) -> object:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    if f != f or f in (float("inf"), float("-inf")):
        return str(f)
    return float(f"{f:.6g}")


def _nums(values: object) -> list:
    import numpy as np

    arr = np.asarray(values, dtype=object).ravel()
    return [_num(v) for v in arr]


def plotted_data(fig) -> list[dict]:
    """What each axes of a matplotlib figure plots: title, axis labels, tick labels, every
    line (label, x, y), every set of points (offsets), every bar (x, y, width, height) and
    every text label, numbers to 6 significant figures."""
    from matplotlib.patches import Rectangle

    out = []
    for ax in fig.axes:
        bars = [[_num(p.get_x()), _num(p.get_y()), _num(p.get_width()), _num(p.get_height())]
                for p in ax.patches if isinstance(p, Rectangle)]
        out.append({
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "lines": [[ln.get_label(), _nums(ln.get_xdata()), _nums(ln.get_ydata())]
                      for ln in ax.get_lines()],
            "points": [_nums(c.get_offsets()) for c in ax.collections
                       if len(getattr(c, "get_offsets", lambda: [])())],
            "bars": bars,
            "texts": [t.get_text() for t in ax.texts],
            "yticklabels": [t.get_text() for t in ax.get_yticklabels()],
        })
    return out


def show_figure(fig, alt: str, caption: str = "") -> None:
    """Display a figure with alt text in a notebook, then close it. What it plots
    (``plotted_data``) goes into the output's metadata for the tests, not onto the page."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    display(HTML(figure_html(fig, alt, caption)),
            metadata={"sqa": {"alt": alt, "plotted": plotted_data(fig)}})
    plt.close(fig)


def table_html(df: pd.DataFrame, caption: str, index: bool = False) -> str:
    """An accessible HTML table of an aggregate frame; every value is escaped."""
    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in cols)
    rows = []
    for idx, row in df.iterrows():
        cells = [f'<th scope="row">{html.escape(str(idx))}</th>'] if index else []
        cells += [f"<td>{html.escape(_fmt(v))}</td>" for v in row]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def show_table(df: pd.DataFrame, caption: str, index: bool = False) -> None:
    from IPython.display import HTML, display

    display(HTML(table_html(df, caption, index)))


def show_text(markdown_text: str) -> None:
    """Display generated narrative (Markdown) in a notebook."""
    from IPython.display import Markdown, display

    display(Markdown(markdown_text))


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return number(v, 1, grouping=True) if abs(v) >= 1 or v == 0 else number(v, 3)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def collect_plotted(report_dir: str | Path) -> dict[str, list[dict]]:
    """The plotted data of every figure of every executed notebook in ``report_dir``
    (``show_figure`` keeps it in the output metadata), by notebook, in page order."""
    import json

    out: dict[str, list[dict]] = {}
    for path in sorted(Path(report_dir).glob("*.ipynb")):
        nb = json.loads(path.read_text("utf-8"))
        figs = []
        for cell in nb.get("cells", []):
            for o in cell.get("outputs", []) or []:
                meta = (o.get("metadata") or {}).get("sqa")
                if meta and "plotted" in meta:
                    figs.append(meta)
        out[path.stem] = figs
    return out


def compare_plotted(golden: dict[str, list[dict]], current: dict[str, list[dict]]
                    ) -> list[str]:
    """Differences between two ``collect_plotted`` results: a figure added or removed, or
    one whose plotted data changed (named by its notebook, number and alt text)."""
    out = []
    for nb in sorted(set(golden) | set(current)):
        g, c = golden.get(nb, []), current.get(nb, [])
        if len(g) != len(c):
            out.append(f"{nb}: {len(g)} figure(s) before, {len(c)} now")
        for i, (a, b) in enumerate(zip(g, c, strict=False), 1):
            if a.get("plotted") != b.get("plotted"):
                out.append(f"{nb} figure {i} ({str(b.get('alt', ''))[:70]}...): plotted data "
                           "changed")
    return out
