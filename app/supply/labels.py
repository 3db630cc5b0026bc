"""Lot labels for the thermal label printer: one 70 mm × 50 mm page per lot, PDF, black only.

What a label carries: the brand 南岭明珠, the product name (zh), the SKU's name and grade, the grower
with its township and village, harvest date, best-before, the compliance certificate number
(承诺达标合格证), and the lot code three ways — as text for people, as a Code128 barcode for the
warehouse scanners, and inside a QR code of the absolute trace URL ``{PUBLIC_BASE_URL}/t/{code}``
that consumers scan (DESIGN.md §7: the path is fixed because printed labels outlive deployments).

Font: the embedded document font of ``app.kit.pdf`` (Noto Sans SC, TrueType outlines), so the
label prints the same on any printer and viewer, whatever fonts they have. It has one weight;
headings are thickened with fill+stroke text rendering instead.

Barcode sizing: the Code128 module is 0.25 mm — exactly two dots on a 203 dpi thermal head, so
every bar prints at the same width — and the whole code fits the page with a quiet zone of at
least ten modules on each side; the QR code uses error correction level M (a smudged label still
scans) and a two-module border plus the label's white margin.

What is printed (``LotLabel``, ``lot_label``, ``trace_url``) is gathered in
``app.supply.label_content`` and re-exported here; this module draws, loading reportlab, so it is
imported only when a label is printed (issue 15).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.config import get_settings
from app.kit import pdf
from app.supply.label_content import LotLabel, lot_label, trace_url

PAGE_WIDTH = 70 * mm
PAGE_HEIGHT = 50 * mm
MARGIN = 2.5 * mm
FONT = pdf.FONT

QR_SIZE = 23 * mm
BAR_MODULE = 0.25 * mm
BAR_HEIGHT = 8 * mm
BAR_Y = MARGIN + 3.6 * mm  # the barcode's foot: clear of the lot code printed under it

__all__ = ["LotLabel", "lot_label", "lot_label_pdf", "trace_url"]


def _width(text: str, size: float) -> float:
    return pdf.width(text, size)


def _fit(text: str, size: float, max_width: float, min_size: float) -> float:
    """The largest font size ≤ ``size`` (down to ``min_size``) at which ``text`` fits."""
    while size > min_size and _width(text, size) > max_width:
        size -= 0.25
    return size


def _cut(text: str, size: float, max_width: float) -> str:
    """``text`` as it fits ``max_width``, ellipsised when it does not: nothing may run into the QR."""
    if _width(text, size) <= max_width:
        return text
    while text and _width(text + "…", size) > max_width:
        text = text[:-1]
    return text + "…"


def _wrap(text: str, size: float, max_width: float, max_lines: int) -> list[str]:
    """Break by character (Chinese has no spaces); the last line is ellipsised if it overflows."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and _width(current + char, size) > max_width:
            lines.append(current)
            current = ""
        current += char
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _cut("".join(lines[max_lines - 1 :]), size, max_width)]
    return lines


def _draw(canvas: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False) -> None:
    body = canvas.beginText(x, y)
    body.setFont(FONT, size)
    if not bold:
        body.textOut(text)
        canvas.drawText(body)
        return
    # Fill and stroke: a thin outline thickens the strokes of a face that has no bold. The text
    # render mode is graphics state that outlives the text object (and reportlab does not write
    # "0 Tr" back), so the bold run is fenced in save/restore.
    canvas.saveState()
    canvas.setLineWidth(size * 0.045)
    body.setTextRenderMode(2)
    body.textOut(text)
    canvas.drawText(body)
    canvas.restoreState()


@dataclass(frozen=True)
class _Line:
    label: str
    value: str


def _field(canvas: Canvas, x: float, y: float, line: _Line, size: float, max_width: float) -> None:
    """``label`` then ``value`` on one line; the value shrinks a little, then is ellipsised."""
    _draw(canvas, x, y, line.label, size)
    offset = _width(line.label, size)
    room = max_width - offset
    value_size = _fit(line.value, size, room, size * 0.8)
    _draw(canvas, x + offset, y, _cut(line.value, value_size, room), value_size)


def _date(value: date) -> str:
    return value.isoformat()


def lot_label_pdf(info: LotLabel) -> bytes:
    """Render one label as a one-page PDF (70 mm × 50 mm): header, QR top right, the facts left of
    it, the lot's barcode across the bottom."""
    brand = get_settings().brand_name
    buffer = io.BytesIO()
    canvas = pdf.new_canvas(buffer, (PAGE_WIDTH, PAGE_HEIGHT))
    canvas.setTitle(f"{brand} 批次标签 {info.code}")
    canvas.setAuthor(brand)
    canvas.setFillGray(0)
    canvas.setStrokeGray(0)
    top = PAGE_HEIGHT - MARGIN
    qr_x = PAGE_WIDTH - MARGIN - QR_SIZE
    _draw_header(canvas, brand, top)
    _draw_qr(canvas, info.trace_url, qr_x, top - 5.1 * mm)
    _draw_facts(canvas, info, top, column=qr_x - MARGIN - 1 * mm)
    _draw_lot_barcode(canvas, info.code)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_header(canvas: Canvas, brand: str, top: float) -> None:
    """Brand on the left, what the QR is for on the right, a rule under both."""
    right = PAGE_WIDTH - MARGIN
    _draw(canvas, MARGIN, top - 3.4 * mm, brand, 10, bold=True)
    hint = "扫码查看产地与流转"
    _draw(canvas, right - _width(hint, 6), top - 3.1 * mm, hint, 6)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN, top - 4.6 * mm, right, top - 4.6 * mm)


def _draw_qr(canvas: Canvas, url: str, x: float, top: float) -> None:
    qr = QrCodeWidget(url, barLevel="M", barBorder=2, barWidth=QR_SIZE, barHeight=QR_SIZE)
    # The drawing's own text state would otherwise select Helvetica (never embedded) on the page.
    drawing = Drawing(QR_SIZE, QR_SIZE, initialFontName=FONT)
    drawing.add(qr)
    renderPDF.draw(drawing, canvas, x, top - QR_SIZE)


def _draw_facts(canvas: Canvas, info: LotLabel, top: float, *, column: float) -> None:
    """The product name (one line, or two when long), then the facts. Leading tightens when a long
    name or grower needs more lines, so nothing reaches the barcode below."""
    left = MARGIN
    name = info.product_name_zh
    name_size = _fit(name, 12, column, 9)
    names = [name] if _width(name, name_size) <= column else _wrap(name, 9, column, 2)
    y = top - 9.4 * mm
    for i, part in enumerate(names):
        _draw(canvas, left, y - i * name_size * 1.15, part, name_size, bold=True)
    y -= (len(names) - 1) * name_size * 1.15

    size = 7.0
    spec = info.variant_name_zh
    if info.grade and info.grade not in spec:
        spec = f"{spec} · {info.grade}"
    # A dealer's or collector's place is where the lot came from, not where it grew.
    if info.supplier_grew_it:
        source, place = f"生产者：{info.supplier_name}", "产地："
    else:
        source, place = f"供货方（经销/代收）：{info.supplier_name}", "所在地："
    grower = _wrap(source, size, column, 2 if len(names) == 1 else 1)
    lines = [
        _Line("规格：", spec),
        *(_Line("", part) for part in grower),
        _Line(place, f"{get_settings().county_name}{info.township}{info.village}"),
        _Line("采收：", _date(info.harvest_date)),
        _Line("保质期至：", _date(info.best_before)),
        _Line("合格证：", info.certificate_no or "—"),
    ]
    first = y - 4.0 * mm
    lowest = BAR_Y + BAR_HEIGHT + 1.4 * mm
    leading = min(3.05 * mm, (first - lowest) / (len(lines) - 1))
    for i, line in enumerate(lines):
        _field(canvas, left, first - i * leading, line, size, column)


def _draw_lot_barcode(canvas: Canvas, code: str) -> None:
    """Code128 of the lot code across the bottom, its text centred under it."""
    barcode = Code128(code, barWidth=BAR_MODULE, barHeight=BAR_HEIGHT, quiet=0)
    bar_width = float(barcode.width)
    if bar_width > PAGE_WIDTH - 2 * 10 * BAR_MODULE:
        # A longer code than ours: narrow the module rather than lose the quiet zones.
        module = BAR_MODULE * (PAGE_WIDTH - 2 * 10 * BAR_MODULE) / bar_width
        barcode = Code128(code, barWidth=module, barHeight=BAR_HEIGHT, quiet=0)
        bar_width = float(barcode.width)
    barcode.drawOn(canvas, (PAGE_WIDTH - bar_width) / 2, BAR_Y)
    code_text = f"批次 {code}"
    code_size = 8.0
    _draw(canvas, (PAGE_WIDTH - _width(code_text, code_size)) / 2, MARGIN + 0.6 * mm, code_text, code_size, bold=True)
