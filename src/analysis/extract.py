"""Extract: the text a release's files hold, and the dates written in it.

What the publication gate (:mod:`analysis.gate`) reads to look for ids, dates of birth and
case notes: a page or download as text, with what it embeds split out (``data:`` URIs and a
notebook's base64 PNGs); an image by its text chunks and metadata (:func:`image_text`: the
project's figures carry every text they draw, as OCR is not available); an SVG by its
``<text>`` elements; an Excel workbook by its cells' values (:func:`file_text`); and every
date written in a form ingest reads or a person writes (:func:`dates_in`).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["IMAGE_SUFFIXES", "SKIP_SUFFIXES", "TAG_RE", "dates_in", "embedded", "file_text",
           "image_text"]

# fonts and icons carry no data; images are read by their text (image_text), not skipped
SKIP_SUFFIXES = {".woff", ".woff2", ".ttf", ".otf", ".eot", ".ico"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".bmp"}
TAG_RE = re.compile(r"<[^>]*>")
_DATA_URI_RE = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[\w.+=-]+)*),"
                          r"([^\"'()<>\s\\]+(?:(?:\\n|\\r)[^\"'()<>\s\\]*)*)")
_BARE_PNG_RE = re.compile(r"iVBORw0KGgo(?:[A-Za-z0-9+/=]|\\n|\\r|\s)+")
_SVG_TEXT_RE = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S | re.I)


# -- dates ---------------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
     ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
     ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
     ("december", "dec")), start=1) for name in names}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_YMD_RE = re.compile(r"(?<![0-9.])([12][0-9]{3})([/-])([0-9]{1,2})\2([0-9]{1,2})(?![0-9])")
_DMY_RE = re.compile(r"(?<![0-9.])([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})"
                     r"(?![0-9]|\.[0-9])")
_COMPACT_RE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})([01][0-9])([0-3][0-9])(?![0-9])")
_D_MONTH_Y_RE = re.compile(rf"\b([0-9]{{1,2}}){_ORD}(?:\s+of)?(?:\s+|-){_MONTH}(?:,?\s+|-)"
                           r"([0-9]{4}|(?<=-)[0-9]{2})\b", re.I)
_MONTH_D_Y_RE = re.compile(rf"\b{_MONTH}\s+([0-9]{{1,2}}){_ORD},?\s+([0-9]{{4}})\b", re.I)


def _day(y: int, m: int, d: int) -> date | None:
    if not 1900 <= y <= 2200:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _year(text: str) -> int:
    """A year as written: two digits read as ``strptime``'s ``%y`` does (as ingest reads
    ``14/02/17``): 69 to 99 are 1900s, 00 to 68 are 2000s."""
    y = int(text)
    if len(text) == 2:
        y += 1900 if y >= 69 else 2000
    return y


def dates_in(text: str) -> set[date]:
    """Every day that ``text`` writes in a form ingest reads or a person writes: ISO
    (``2017-02-14``, also with a time: ``2017-02-14T00:00:00``), ``2017/02/14``, compact
    ``20170214`` (only when it is a real day in 1900 to 2099), UK day first (``14/02/2017``,
    ``14/02/17``, ``14-02-2017``, ``14.02.2017``) and in words (``14 February 2017``,
    ``14th Feb 2017``, ``14-Feb-17``, ``February 14, 2017``). A day that does not exist is
    not a date; a two-digit year with dots (``1.2.24``, a version number) is not read."""
    found: set[date] = set()
    for m in _YMD_RE.finditer(text):
        found.add(_day(int(m.group(1)), int(m.group(3)), int(m.group(4))))
    for m in _DMY_RE.finditer(text):
        if len(m.group(4)) == 2 and m.group(2) == ".":
            continue
        found.add(_day(_year(m.group(4)), int(m.group(3)), int(m.group(1))))
    for m in _COMPACT_RE.finditer(text):
        found.add(_day(int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in _D_MONTH_Y_RE.finditer(text):
        found.add(_day(_year(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1))))
    for m in _MONTH_D_Y_RE.finditer(text):
        found.add(_day(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))))
    found.discard(None)  # type: ignore[arg-type]
    return found


# -- text of images and workbooks -----------------------------------------------------------

def image_text(data: bytes) -> tuple[str, bool] | None:
    """The text an image carries, and whether it has the project's figure text record.

    Every PNG text chunk (``tEXt``, ``zTXt``, ``iTXt``), every text field of the image's
    metadata and its EXIF description and comments, read with Pillow. The second value is
    True when the image holds :data:`analysis.figures.FIGURE_TEXT_KEY`, which
    :func:`analysis.figures.figure_html` writes with every text the chart draws; without it
    the text drawn in the pixels cannot be read (no OCR here). None when the bytes are not
    an image Pillow can open."""
    from PIL import Image, UnidentifiedImageError

    from .figures import FIGURE_TEXT_KEY

    try:
        with Image.open(io.BytesIO(data)) as im:
            fields: dict[str, Any] = dict(getattr(im, "text", None) or {})
            fields.update({k: v for k, v in im.info.items() if isinstance(k, str)})
            exif = im.getexif()
            for tag in (0x010E, 0x9286, 0x9C9C, 0x9C9B, 0x013B, 0x8298):
                if tag in exif:
                    fields[f"exif {tag}"] = exif[tag]
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    parts = []
    for key, value in fields.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if isinstance(value, str):  # each line apart: a tick label "2" is not "2 children"
            parts += [key, *value.splitlines()]
    return "\n\n".join(parts), FIGURE_TEXT_KEY in fields


def _xlsx_text(data: bytes) -> str:
    """Every cell value of every sheet of a workbook, as text (a date as an ISO date)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is scanned as bytes instead
        return data.decode("utf-8", errors="replace")
    lines = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            cells = [v.isoformat() if isinstance(v, datetime | date) else str(v)
                     for v in row if v is not None]
            if cells:
                lines.append("\t".join(cells))
    wb.close()
    return "\n".join(lines)


def _b64(payload: str) -> bytes | None:
    text = re.sub(r"\\n|\\r|\s|%0A", "", payload)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def embedded(text: str) -> tuple[str, list[str], int]:
    """Split out what a text embeds: ``data:`` URIs (an HTML page's images) and bare base64
    PNGs (a notebook's ``image/png`` outputs). Returns the text without them, the text read
    from each (an image's text record, an SVG's or a text URI's content), and how many of
    the images have no text record of the project's figures."""
    from urllib.parse import unquote

    inner: list[str] = []
    unread = 0

    def one(data: bytes | None, mime: str = "image/png") -> None:
        nonlocal unread
        if data is None:
            return
        if mime.startswith("image/") and mime != "image/svg+xml":
            got = image_text(data)
            if got is None:
                unread += 1
                return
            inner.append(got[0])
            unread += not got[1]
        else:
            inner.append(_svg_text(data.decode("utf-8", errors="replace")))

    def uri(m: re.Match[str]) -> str:
        mime, params, payload = m.group(1).lower(), m.group(2), m.group(3)
        one(_b64(payload) if ";base64" in params.lower() else unquote(payload).encode(), mime)
        return " "

    def bare(m: re.Match[str]) -> str:
        one(_b64(m.group(0)))
        return " "

    text = _DATA_URI_RE.sub(uri, text)
    text = _BARE_PNG_RE.sub(bare, text)
    return text, inner, unread


def _svg_text(text: str) -> str:
    """An SVG as text, with each ``<text>`` element's content joined across its inner tags
    (``<tspan>12</tspan><tspan>345</tspan>`` reads ``12345``)."""
    if "<svg" not in text and "<text" not in text:
        return text
    joined = [TAG_RE.sub("", t) for t in _SVG_TEXT_RE.findall(text)]
    return text + "\n" + "\n".join(joined)


def file_text(name: str, data: bytes) -> tuple[str, int] | None:
    """What the gate reads in one file of a release: its text (a page, a CSV or JSON
    download, an SVG), a workbook's cell values, or an image's text record; and how many of
    its images have no text record. None for a file that carries no data (a font)."""
    suffix = Path(name).suffix.lower()
    if suffix in SKIP_SUFFIXES:
        return None
    if suffix in IMAGE_SUFFIXES:
        got = image_text(data)
        if got is None:
            return "", 1
        return got[0], int(not got[1])
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_text(data), 0
    text = data.decode("utf-8", errors="replace")
    return (_svg_text(text) if suffix == ".svg" else text), 0
