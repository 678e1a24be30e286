"""Charts that read at any size (issue 15, item 5): the figure HTML of analysis.figures.

Rules: alt text is at most 250 characters, the numbers in a table that the chart links to;
the image carries its natural size, scales down to the page but never below a readable
width, inside its own box that scrolls sideways (so the page never does).
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis import figures  # noqa: E402


def _chart(width: float = 8, height: float = 4) -> Figure:
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [0.2, 0.3, 0.25], label="Share")
    ax.set_title("A chart")
    return fig


def test_alt_text_longer_than_250_characters_is_refused() -> None:
    assert figures.ALT_MAX == 250
    figures.figure_html(_chart(), alt="x" * 250)
    with pytest.raises(ValueError, match="more than 250"):
        figures.figure_html(_chart(), alt="x" * 251)
    with pytest.raises(ValueError, match="needs alt text"):
        figures.figure_html(_chart(), alt="  ")


def test_png_size_reads_width_and_height_from_the_png_header() -> None:
    png = figures.figure_png(_chart(4, 2), dpi=100)
    w, h = figures.png_size(png)
    assert 300 < w < 420 and 150 < h < 240  # about 4 x 2 inches at 100 dpi (tight box)
    with pytest.raises(ValueError):
        figures.png_size(b"GIF89a" + bytes(30))


def test_the_image_has_its_natural_size_scales_down_but_never_below_a_readable_width() -> None:
    html = figures.figure_html(_chart(8, 4), alt="A line chart.")
    img = re.search(r"<img [^>]*>", html).group(0)
    w, h = (int(re.search(rf'{k}="(\d+)"', img).group(1)) for k in ("width", "height"))
    assert w > figures.READABLE_WIDTH and h > 0
    assert "max-width:100%" in img and "height:auto" in img
    assert f"min-width:{figures.READABLE_WIDTH}px" in img
    small = figures.figure_html(_chart(3, 2), alt="A small chart.")
    sw = int(re.search(r'width="(\d+)"', small).group(1))
    assert sw < figures.READABLE_WIDTH and f"min-width:{sw}px" in small  # never upscaled


def test_the_chart_scrolls_sideways_in_its_own_box_that_the_keyboard_can_reach() -> None:
    html = figures.figure_html(_chart(), alt="A line chart.")
    box = re.search(r'<div class="sqa-figure-scroll"[^>]*>', html).group(0)
    assert "overflow-x:auto" in box and 'tabindex="0"' in box
    assert 'role="group"' in box and "aria-label=" in box
    assert box in html.split("<img", 1)[0]  # the image is inside the box


def test_a_chart_links_to_the_table_of_its_data_and_is_described_by_that_link() -> None:
    html = figures.figure_html(_chart(), alt="A line chart. The figures are in the table below.",
                               data_id="monthly-table", data_label="the table of months")
    fid = re.search(r'<figure class="sqa-figure" id="([^"]+)"', html).group(1)
    assert f'aria-describedby="{fid}-data"' in html
    note = re.search(rf'<p class="sqa-figure-data" id="{fid}-data">(.*?)</p>', html).group(1)
    assert note.startswith("Data: ") and '<a href="#monthly-table">the table of months</a>' in note
    plain = figures.figure_html(_chart(), alt="A line chart.")
    assert "aria-describedby" not in plain and "sqa-figure-data" not in plain


def test_a_table_takes_an_id_for_the_chart_that_links_to_it() -> None:
    import pandas as pd

    html = figures.table_html(pd.DataFrame({"a": [1]}), "Caption", table_id="t-1")
    assert html.startswith('<div id="t-1" class="sqa-data-table"><table><caption>Caption<')
    assert html.endswith("</table></div>")
    assert figures.table_html(pd.DataFrame({"a": [1]}), "Caption").startswith("<table><caption>")


def test_the_png_still_carries_every_text_the_chart_draws() -> None:
    """The publication gate reads the chart's text from the PNG (issue 12)."""
    import base64
    import io

    from PIL import Image

    html = figures.figure_html(_chart(), alt="A line chart.")
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    text = Image.open(io.BytesIO(base64.b64decode(data))).text[figures.FIGURE_TEXT_KEY]
    assert "A chart" in text
