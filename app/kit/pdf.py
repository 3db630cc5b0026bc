"""The font of every PDF the platform prints (lot labels, parcel labels, run manifests), embedded.

Why embedded: a PDF that only names a font (reportlab's CID font ``STSong-Light``, or the
standard ``Helvetica`` every canvas names by default) is drawn with whatever the viewer or the
printer driver substitutes — nothing at all on a driver without CJK fonts, and a missing-glyph box
(☒) for a character the substitute lacks, as the ``·`` separators on our labels did. So every
document draws with one TrueType font whose glyphs travel inside the file (reportlab embeds the
subset of glyphs a document uses), and every canvas starts with it, so no page names Helvetica.

The font is ``fonts/NotoSansSC-Regular-GBK.ttf``: Noto Sans SC (SIL Open Font License 1.1,
``fonts/OFL.txt``) cut down to every ideograph of GBK — the whole CJK Unified Ideographs block up
to U+9FA5, so the names of people, villages and co-operatives are covered, not only GB2312's
common characters — plus Latin, pinyin, punctuation and symbols, with its CFF outlines converted to
TrueType (``glyf``) ones, which is what reportlab can embed. ``tools/build_pdf_font.py`` rebuilds
it. A font from the system would need root to install and a CFF one cannot be embedded, so the file
ships with the code: ``make run`` needs nothing else.

A character the font lacks (an Extension-A ideograph, an emoji) is drawn and measured as 〓 (the
geta mark, the typesetter's sign for a missing character) and logged once — never left to the PDF's
``.notdef`` glyph, an empty box a reader cannot tell from a real character.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT = "NotoSansSC"
FONT_FILE = Path(__file__).with_name("fonts") / "NotoSansSC-Regular-GBK.ttf"
MISSING_MARK = "\u3013"  # 〓

log = logging.getLogger(__name__)
_lock = threading.Lock()
_reported: set[str] = set()


class _DocumentFont(TTFont):  # type: ignore[misc]
    """reportlab's embedded TrueType font, except that a character without a glyph becomes 〓
    wherever reportlab turns text into glyphs (``splitString``, used by canvases, tables and
    paragraphs alike) or measures it (``stringWidth``), so what is measured is what is drawn."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        # Layout measures the same strings again and again (shrink to fit, then cut to fit).
        self.printable = lru_cache(maxsize=4096)(self._substitute)

    def _substitute(self, text: str) -> str:
        glyphs = self.face.charToGlyph
        if all(ord(char) in glyphs or char in "\n\r\t" for char in text):
            return text
        return "".join(char if ord(char) in glyphs or char in "\n\r\t" else MISSING_MARK for char in text)

    def splitString(self, text: str | bytes, doc: Any, encoding: str = "utf-8") -> list[tuple[int, bytes]]:
        if isinstance(text, bytes):
            text = text.decode(encoding)
        shown = self.printable(text)
        if shown != text:
            _report(text)
        result: list[tuple[int, bytes]] = super().splitString(shown, doc, encoding)
        return result

    def stringWidth(self, text: str | bytes, size: float, encoding: str = "utf8") -> float:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return float(super().stringWidth(self.printable(text), size, encoding))


def _report(text: str) -> None:
    new = {char for char in text if char not in _reported and missing(char)}
    if new:
        _reported.update(new)
        log.warning("PDF font lacks %s (printed as %s) in %r", " ".join(sorted(new)), MISSING_MARK, text)


def font() -> _DocumentFont:
    """The registered document font (registered on first use, once per process)."""
    with _lock:
        if FONT not in pdfmetrics.getRegisteredFontNames():
            # reportlab also maps the family's bold and italic to this one face, so paragraph
            # markup (<b>) sets in it rather than looking for a face that does not exist.
            pdfmetrics.registerFont(_DocumentFont(FONT, str(FONT_FILE)))
        found = pdfmetrics.getFont(FONT)
    # reportlab shares one font object per face name: a plain TTFont of the same file registered
    # first would stand in for this one and draw missing characters as boxes.
    assert isinstance(found, _DocumentFont), f"{FONT_FILE.name} was registered without app.kit.pdf"
    return found


def register() -> str:
    """Register the document font if needed; returns its name for ``setFont`` and styles."""
    return font().fontName  # type: ignore[no-any-return]


def missing(text: str) -> list[str]:
    """The characters of ``text`` (in order, once each) the document font has no glyph for."""
    glyphs = font().face.charToGlyph
    seen: list[str] = []
    for char in text:
        if ord(char) not in glyphs and char not in "\n\r\t" and char not in seen:
            seen.append(char)
    return seen


def printable(text: str) -> str:
    """``text`` as it will be printed: every character the font lacks replaced by 〓."""
    return font().printable(text)


def width(text: str, size: float) -> float:
    """The width in points of ``text`` set in the document font at ``size``."""
    return float(pdfmetrics.stringWidth(text, register(), size))


def ellipsised(
    text: str, size: float, max_width: float, measure: Callable[[str, float], float] | None = None
) -> str:
    """``text`` as it fits ``max_width`` at ``size``, cut and ended with … when it does not
    (measured in the document font, or by ``measure``: an SVG's estimate of a browser's font)."""
    measure = measure or width
    if measure(text, size) <= max_width:
        return text
    while text and measure(text + "…", size) > max_width:
        text = text[:-1]
    return text + "…"


def new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], **options: Any) -> Canvas:
    """A canvas whose pages start in the document font: reportlab otherwise writes a Helvetica
    selection into every page, a font nobody embeds."""
    return Canvas(buffer, pagesize=pagesize, pageCompression=1, initialFontName=register(), **options)


class NumberedCanvas(Canvas):  # type: ignore[misc]
    """A platypus document's canvas that holds its pages back until the end, so each page's
    footer can say "第 n 页 / 共 N 页" next to ``footer``; pages start in the document font."""

    def __init__(self, *args: Any, footer: str = "", margin_x: float = 51.0, **kwargs: Any) -> None:
        # Pages start in the document font, not reportlab's default Helvetica (never embedded).
        super().__init__(*args, **{**kwargs, "initialFontName": register()})
        self._pages: list[dict[str, Any]] = []
        self.footer = footer
        self.margin_x = margin_x

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        width = self._pagesize[0]
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColorRGB(0, 0, 0)
            self.drawString(self.margin_x, 28.35, printable(self.footer))  # 10 mm above the edge
            self.drawRightString(width - self.margin_x, 28.35, f"第 {number} 页 / 共 {total} 页")
            super().showPage()
        super().save()


def numbered_canvas(footer: str, margin_x: float) -> Callable[..., NumberedCanvas]:
    """``canvasmaker`` for ``doc.build``: numbered pages with ``footer`` at the left."""

    def make_canvas(*args: Any, **kwargs: Any) -> NumberedCanvas:
        return NumberedCanvas(*args, footer=footer, margin_x=margin_x, **kwargs)

    return make_canvas
