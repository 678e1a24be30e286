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

Charts that read at any size (issue 15, item 5):

* **Short alt text, data in a table.** Alt text is one or two sentences, at most
  :data:`ALT_MAX` characters (WebAIM and the W3C alt decision tree advise a short
  alternative and a longer description elsewhere, linked: W3C WAI "Complex images" tutorial);
  the numbers go in a table on the page, whose id ``figure_html`` takes as ``data_id``: the
  image is then ``aria-describedby`` a visible line linking to that table.
* **Images that scale and stay readable.** The ``<img>`` carries its natural width and height
  (the browser reserves the space and keeps the aspect ratio), scales down to the page width
  (``max-width: 100%``) but never below :data:`READABLE_WIDTH` CSS pixels (or its natural
  width when smaller): on a phone the chart keeps readable text and scrolls sideways inside
  its own focusable box, never the page. Inline styles, so both renderers (Quarto and
  nbconvert) and any site stylesheet keep it (W3C WCAG 2.2 SC 1.4.10 Reflow allows
  two-dimensional scrolling for images "which require two-dimensional layout for usage or
  meaning").
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import struct
from pathlib import Path

import pandas as pd

from .reporting import number

__all__ = ["ALT_MAX", "FIGURE_TEXT_KEY", "PALETTE", "READABLE_WIDTH", "SEQUENTIAL",
           "collect_plotted", "compare_plotted", "figure_html", "figure_png", "figure_text",
           "plotted_data", "png_size", "show_figure", "show_table", "show_text", "table_html"]

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


# At most this many characters of alt text: one or two sentences (the data go in a table).
ALT_MAX = 250
# A chart is never shown narrower than this (CSS pixels) unless its natural width is smaller:
# at the charts' 110 dpi, 600 px keeps 10-point chart text at about 10 CSS px or more (an
# 8-inch chart is 880 px wide), and fits an A4 page in print (about 640 px wide).
READABLE_WIDTH = 600


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels of a PNG, from its IHDR chunk (PNG specification, W3C
    2003, section 11.2.2: width and height are the first two 4-byte big-endian integers)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", png[16:24])


def figure_html(fig, alt: str, caption: str = "", dpi: int = 110, data_id: str | None = None,
                data_label: str | None = None) -> str:
    """A self-contained ``<figure>`` with a PNG, alt text and caption (alt is required, at
    most :data:`ALT_MAX` characters: one or two sentences, the numbers in a table).

    ``data_id``: the id of the table on the page holding the chart's data (``table_html``'s
    ``table_id``). The figure then shows a line linking to it (``data_label``: the table's
    name, in the reporting layer's words: :func:`analysis.reporting.chart_data_note`), and
    the image is ``aria-describedby`` that line, so a screen reader hears the short alt text,
    then where the numbers are.

    The image scales to the page and stays readable on a phone (module docstring): width and
    height attributes, ``max-width: 100%`` and a ``min-width`` of :data:`READABLE_WIDTH`
    pixels (or its natural width), inside a box that scrolls sideways and takes keyboard
    focus (WCAG 2.2 SC 2.1.1: a scrolling region must be reachable from the keyboard).

    The PNG carries every text the chart draws (:func:`figure_text`) in its
    :data:`FIGURE_TEXT_KEY` text chunk: the publication gate reads it to find an id or a date
    of birth drawn in a chart, which it could not read from the pixels (issue 12, case 3).
    Every figure of the project passes through here (``show_figure``)."""
    from .reporting import chart_data_note, chart_scroll_label

    if not alt or not alt.strip():
        raise ValueError("every figure needs alt text describing what it shows")
    if len(alt) > ALT_MAX:
        raise ValueError(f"alt text is {len(alt)} characters, more than {ALT_MAX}: say what "
                         "the chart shows in one or two sentences and put its numbers in a "
                         f"table (data_id): {alt[:80]}...")
    png = figure_png(fig, dpi)
    width, height = png_size(png)
    fid = "fig-" + hashlib.sha1(png + alt.encode("utf-8")).hexdigest()[:10]
    data = base64.b64encode(png).decode("ascii")
    note, described = "", ""
    if data_id:
        note = (f'<p class="sqa-figure-data" id="{fid}-data">'
                f"{chart_data_note(data_id, data_label)}</p>")
        described = f' aria-describedby="{fid}-data"'
    style = (f"max-width:100%;height:auto;min-width:{min(width, READABLE_WIDTH)}px;"
             "display:block")
    img = (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
           f'width="{width}" height="{height}" style="{style}"{described}>')
    scroll = (f'<div class="sqa-figure-scroll" tabindex="0" role="group" '
              f'aria-label="{html.escape(chart_scroll_label())}" '
              f'style="overflow-x:auto;max-width:100%">{img}</div>')
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="sqa-figure" id="{fid}">{scroll}{note}{cap}</figure>'


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


def show_figure(fig, alt: str, caption: str = "", data_id: str | None = None,
                data_label: str | None = None) -> None:
    """Display a figure with alt text in a notebook, then close it (``data_id``: the id of
    the table holding its data, see :func:`figure_html`). What it plots (``plotted_data``)
    goes into the output's metadata for the tests, not onto the page."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    display(HTML(figure_html(fig, alt, caption, data_id=data_id, data_label=data_label)),
            metadata={"sqa": {"alt": alt, "plotted": plotted_data(fig)}})
    plt.close(fig)


def table_html(df: pd.DataFrame, caption: str, index: bool = False,
               table_id: str | None = None) -> str:
    """An accessible HTML table of an aggregate frame; every value is escaped. ``table_id``:
    an id (on a ``<div>`` around the table), so that a chart can link to the table holding
    its data (``figure_html``)."""
    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in cols)
    rows = []
    for idx, row in df.iterrows():
        cells = [f'<th scope="row">{html.escape(str(idx))}</th>'] if index else []
        cells += [f"<td>{html.escape(_fmt(v))}</td>" for v in row]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr>"
             f"</thead><tbody>{''.join(rows)}</tbody></table>")
    if not table_id:
        return table
    # The id on a wrapper, not the table: Quarto turns a table with an id into a
    # cross-reference float and gives that float the same id (two elements, one id).
    return f'<div id="{html.escape(table_id)}" class="sqa-data-table">{table}</div>'


def show_table(df: pd.DataFrame, caption: str, index: bool = False,
               table_id: str | None = None) -> None:
    """Display ``table_html`` in a notebook (``table_id``: for a chart's data link)."""
    from IPython.display import HTML, display

    display(HTML(table_html(df, caption, index, table_id)))


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
