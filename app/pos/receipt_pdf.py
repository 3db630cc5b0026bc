"""A counter sale's receipt drawn as a PDF for a 80 mm (or 58 mm) roll (``app.pos.receipts`` gathers
what it says). Apart from the data module so that reportlab is imported only when a receipt is
printed."""

from __future__ import annotations

import io
from collections.abc import Callable

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.kit import pdf
from app.kit.money import format_minor
from app.pos.receipts import Receipt


class _Roll:
    """Lays a receipt out top-down on a roll of unknown length: each step records a drawing at a
    distance from the top and moves the cursor; the page is then made as long as the cursor went."""

    def __init__(self, width: float, margin: float) -> None:
        self.width = width
        self.margin = margin
        self.y = margin
        self.ops: list[Callable[[Canvas, float], None]] = []

    @property
    def inner(self) -> float:
        return self.width - 2 * self.margin

    def text(self, text: str, size: float, *, align: str = "left", gap: float = 1.35) -> None:
        """``text`` wrapped to the roll's width, one line after another."""
        for line in wrap(text, size, self.inner):
            self.y += size * gap
            self._line(line, size, align, self.y)

    def pair(self, left: str, right: str, size: float, *, gap: float = 1.35) -> None:
        """``left`` (ellipsised to leave room) and ``right`` flush right, on one line."""
        self.y += size * gap
        room = self.inner - pdf.width(right, size) - 2 * mm
        self._line(pdf.ellipsised(left, size, room), size, "left", self.y)
        self._line(right, size, "right", self.y)

    def _line(self, text: str, size: float, align: str, y: float) -> None:
        x = {"left": self.margin, "center": self.width / 2, "right": self.width - self.margin}[align]

        def draw(canvas: Canvas, height: float) -> None:
            canvas.setFont(pdf.register(), size)
            draw_at = {"left": canvas.drawString, "center": canvas.drawCentredString, "right": canvas.drawRightString}
            draw_at[align](x, height - y, text)

        self.ops.append(draw)

    def rule(self, *, dashed: bool = True) -> None:
        self.y += 2.2 * mm
        y = self.y

        def draw(canvas: Canvas, height: float) -> None:
            canvas.setLineWidth(0.5)
            canvas.setDash(2, 2) if dashed else canvas.setDash()
            canvas.line(self.margin, height - y, self.width - self.margin, height - y)
            canvas.setDash()

        self.ops.append(draw)
        self.y += 0.6 * mm

    def qr(self, value: str, size: float) -> None:
        self.y += 2 * mm
        top = self.y
        x = (self.width - size) / 2

        def draw(canvas: Canvas, height: float) -> None:
            widget = QrCodeWidget(value, barLevel="M", barBorder=2, barWidth=size, barHeight=size)
            # The drawing's own text state would otherwise select Helvetica (never embedded).
            drawing = Drawing(size, size, initialFontName=pdf.register())
            drawing.add(widget)
            renderPDF.draw(drawing, canvas, x, height - top - size)

        self.ops.append(draw)
        self.y += size

    def render(self, title: str) -> bytes:
        height = self.y + self.margin + 2 * mm
        buffer = io.BytesIO()
        canvas = pdf.new_canvas(buffer, (self.width, height))
        canvas.setTitle(title)
        for op in self.ops:
            op(canvas, height)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()


def wrap(text: str, size: float, max_width: float) -> list[str]:
    """``text`` broken into lines that fit ``max_width`` (character by character: Chinese has no
    spaces to break at; a Latin word may split, which a receipt can live with)."""
    lines: list[str] = []
    current = ""
    for char in text:
        if current and pdf.width(current + char, size) > max_width:
            lines.append(current)
            current = char.lstrip()
        else:
            current += char
    return [*lines, current] if current or not lines else lines


def receipt_pdf(receipt: Receipt, *, width_mm: int = 80) -> bytes:
    """The receipt on a ``width_mm`` roll (80 or 58), as long as it needs to be."""
    narrow = width_mm < 70
    roll = _Roll(width_mm * mm, (3 if narrow else 4) * mm)
    small, body, big = (6.5, 7.5, 10) if narrow else (7.5, 8.5, 12)
    roll.text(receipt.brand, big + 2, align="center")
    roll.text(receipt.store_name, body + 1, align="center")
    if receipt.store_address:
        roll.text(receipt.store_address, small, align="center")
    if receipt.store_phone:
        roll.text(f"电话 {receipt.store_phone}", small, align="center")
    roll.rule()
    roll.text(f"单号 {receipt.number}", body)
    roll.text(f"时间 {receipt.sold_at:%Y-%m-%d %H:%M}", small)
    roll.text(f"收银机 {receipt.till_name}　收银员 {receipt.clerk_name}", small)
    if receipt.made_offline:
        roll.text("（离线销售，已补传）", small)
    roll.rule()
    for line in receipt.lines:
        roll.text(line.name, body)
        roll.pair(
            f"  {line.quantity_label} × {format_minor(line.unit_price_minor)}/{line.unit_label}",
            format_minor(line.line_total_minor),
            small,
        )
    roll.rule()
    roll.pair("小计", format_minor(receipt.subtotal_minor), body)
    if receipt.discount_minor:
        reason = f"（{receipt.discount_reason}）" if receipt.discount_reason else ""
        roll.pair(f"优惠{reason}", f"-{format_minor(receipt.discount_minor)}", body)
    roll.pair("合计", format_minor(receipt.total_minor), big, gap=1.5)
    for payment in receipt.payments:
        roll.pair(payment.label, format_minor(payment.amount_minor), body)
    if receipt.change_minor:
        roll.pair("找零", format_minor(receipt.change_minor), body)
    if receipt.refunded_minor:
        roll.pair("已退款", f"-{format_minor(receipt.refunded_minor)}", body)
    roll.rule()
    roll.qr(receipt.public_url, (24 if narrow else 30) * mm)
    roll.text("扫码查看购买明细与产品溯源", small, align="center")
    roll.text(f"谢谢惠顾 · {receipt.service_line}", small - 0.5, align="center")
    return roll.render(f"{receipt.brand} 小票 {receipt.number}")


