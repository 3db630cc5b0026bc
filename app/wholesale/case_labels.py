"""Case labels of a packed wholesale order (100 mm × 60 mm, thermal, one page a case).

A label tells the loader and the receiver at a glance which stop and order a case belongs to and
which of how many it is: the stop number and the order number are the biggest things on it; then
the company and city, the SKU and name with what the case holds, the lot code(s) and best-before
(traceability and FEFO at the receiver), and the order number as a Code128 that the packing page's
scan box (a keyboard-wedge scanner types it and Enter) opens the order with.

Drawn like the lot and parcel labels: the embedded document font of ``app.kit.pdf``, black only,
headings thickened by fill + stroke, the Code128 module 0.25 mm (two dots of a 203 dpi head).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.config import get_settings
from app.kit import pdf
from app.kit.errors import InvalidInput
from app.wholesale.packing import CaseLabel

WIDTH = 100 * mm
HEIGHT = 60 * mm
MARGIN = 3 * mm
INNER = WIDTH - 2 * MARGIN
BAR_MODULE = 0.25 * mm
BAR_HEIGHT = 9 * mm


def _text(
    canvas: Canvas, x: float, y: float, text: str, size: float, *, bold: bool = False, room: float = INNER
) -> float:
    """Draw ``text`` (cut to ``room``) with its baseline at ``y``; returns its width."""
    shown = pdf.ellipsised(pdf.printable(text), size, room)
    body = canvas.beginText(x, y)
    body.setFont(pdf.register(), size)
    if bold:
        canvas.saveState()
        canvas.setLineWidth(size * 0.045)
        body.setTextRenderMode(2)
    body.textOut(shown)
    canvas.drawText(body)
    if bold:
        canvas.restoreState()
    return pdf.width(shown, size)


def _draw(canvas: Canvas, label: CaseLabel, brand: str) -> None:
    top = HEIGHT - MARGIN
    right = WIDTH - MARGIN
    _text(canvas, MARGIN, top - 3.2 * mm, f"{brand} · 珠三角配送", 8, bold=True, room=INNER / 2)
    trip = f"车次 {label.trip_number} · {label.trip_date.isoformat()}"
    _text(canvas, right - pdf.width(trip, 8), top - 3.2 * mm, trip, 8)
    canvas.setLineWidth(0.75)
    canvas.line(MARGIN, top - 4.6 * mm, right, top - 4.6 * mm)

    stop = f"第 {label.stop_position} 站"
    stop_w = _text(canvas, MARGIN, top - 12.5 * mm, stop, 20, bold=True)
    case = f"{label.case_number} / {label.case_count} 箱"
    _text(canvas, right - pdf.width(case, 16), top - 12 * mm, case, 16, bold=True)
    _text(canvas, MARGIN + stop_w + 3 * mm, top - 12 * mm, f"共 {label.stop_count} 站", 8)
    _text(canvas, MARGIN, top - 18 * mm, f"订单 {label.order_number}", 11, bold=True)
    _text(canvas, MARGIN, top - 23 * mm, f"{label.company}（{label.city}）", 9)
    _text(canvas, MARGIN, top - 28 * mm, f"{label.sku} {label.name} · {label.quantity}", 9)
    lots = "、".join(label.lot_codes) or "—"
    best = label.best_before.isoformat() if label.best_before else "—"
    _text(canvas, MARGIN, top - 32.5 * mm, f"批次 {lots}　保质期至 {best}", 8)

    barcode = Code128(label.order_number, barWidth=BAR_MODULE, barHeight=BAR_HEIGHT, quiet=0)
    barcode.drawOn(canvas, (WIDTH - float(barcode.width)) / 2, MARGIN + 1 * mm)


def case_labels_pdf(labels: Sequence[CaseLabel]) -> bytes:
    """Every case label of an order, in case order, one page each."""
    if not labels:
        raise InvalidInput("这单没有可打印的箱贴（打包数量都为 0）")
    brand = get_settings().brand_name
    buffer = io.BytesIO()
    canvas = pdf.new_canvas(buffer, (WIDTH, HEIGHT))
    canvas.setTitle(f"{brand} 箱贴 {labels[0].order_number}")
    canvas.setAuthor(brand)
    canvas.setFillGray(0)
    canvas.setStrokeGray(0)
    for label in labels:
        _draw(canvas, label, brand)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
