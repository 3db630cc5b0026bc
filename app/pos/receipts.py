"""A counter sale's receipt: what the customer takes home, as a PDF for a 80 mm (or 58 mm) roll, and
the sale's public page its QR code opens.

The receipt (``receipt_for`` → ``Receipt``, drawn by ``receipt_pdf``) carries the brand, the store
with its address, the till, the clerk, the sale number and its time in China time, every line with
what was weighed (grams, and the quantity in the unit it was priced in: 斤 or kg), the subtotal, the
basket discount with its reason, the total, each payment, the change, what has been refunded since,
and one QR code: ``{PUBLIC_BASE_URL}/r/{client_id}``, the sale's public page. The page is long as
the content needs (a roll has no page size), in the embedded document font.

The public page (``public_sale``) is for the customer, reached by the QR alone (the sale's client
id is a random UUID, so it cannot be guessed): the store, the day, the lines and the total, and for
each line the lots it was taken from, each linking to its trace page ``/t/{lot}``. A line the
store's book could not cover when it was sold says so rather than inventing a lot. Nothing about
the clerk or the payments is shown there.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.accounts.access import Principal
from app.config import Settings
from app.kit import clock, pdf
from app.kit.money import format_minor
from app.pos import console_access, errors, receipt_queries, sale_detail, sale_queries
from app.pos.sale_detail import SaleLineOut, TenderOut
from app.pos.sale_models import Sale, TenderMethod, tender_name_zh


class RollWidth(IntEnum):
    """The receipt rolls counter printers take, in millimetres."""

    wide = 80
    narrow = 58


def tender_label(tender: TenderOut) -> str:
    name = tender_name_zh(tender.method, tender.wallet)
    if tender.method == TenderMethod.cash.value:
        return name
    label = f"扫码·{name}"
    return f"{label}（尾号 {tender.reference_tail}）" if tender.reference_tail else label


def quantity_label(line: SaleLineOut) -> str:
    """``2.5 斤（1250 克）`` for a weighed line, ``3 箱`` for counted goods."""
    text = f"{line.quantity} {line.unit_label_zh}"
    return f"{text}（{line.grams} 克）" if line.grams else text


@dataclass(frozen=True)
class ReceiptLine:
    name: str  # product and variant, as the customer recognises it
    sku: str
    quantity_label: str
    unit_label: str
    unit_price_minor: int
    line_total_minor: int


@dataclass(frozen=True)
class ReceiptPayment:
    label: str
    amount_minor: int


@dataclass(frozen=True)
class Receipt:
    brand: str
    store_name: str
    store_address: str
    store_phone: str
    till_name: str
    clerk_name: str
    number: str
    sold_at: datetime  # China time
    lines: list[ReceiptLine]
    subtotal_minor: int
    discount_minor: int
    discount_reason: str
    total_minor: int
    payments: list[ReceiptPayment]
    change_minor: int
    refunded_minor: int
    made_offline: bool
    public_url: str
    service_line: str


async def _sale(session: AsyncSession, number: str, store_id: int | None) -> Sale:
    number = number.strip()
    if store_id is None:
        sale = await receipt_queries.sale_by_number(session, number)
    else:
        sale = await sale_queries.sale_in_store(session, store_id, number)
    if sale is None:
        raise errors.SaleNotFound(detail={"number": number})
    return sale


async def receipt_for(session: AsyncSession, settings: Settings, number: str, *, store_id: int | None) -> Receipt:
    """The receipt of sale ``number``; ``store_id`` limits it to one store's sales (a till's),
    None for the console. Another store's sale is ``sale_not_found``."""
    sale = await _sale(session, number, store_id)
    store, _, _, _ = await sale_queries.sale_context(session, sale)
    detail = await sale_detail.detail_of(session, sale)
    return Receipt(
        brand=settings.brand_name,
        store_name=store.name,
        store_address=store.address,
        store_phone=store.phone or "",
        till_name=detail.till_name,
        clerk_name=detail.clerk_name,
        number=detail.number,
        sold_at=detail.sold_at.astimezone(clock.business_tz()),
        lines=[
            ReceiptLine(
                name=line.name_zh,
                sku=line.sku,
                quantity_label=quantity_label(line),
                unit_label=line.unit_label_zh,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
            )
            for line in detail.lines
        ],
        subtotal_minor=detail.subtotal_minor,
        discount_minor=detail.discount_minor,
        discount_reason=detail.discount_reason,
        total_minor=detail.total_minor,
        payments=[ReceiptPayment(tender_label(t), t.amount_minor) for t in detail.tenders],
        change_minor=detail.change_minor,
        refunded_minor=detail.refunded_minor,
        made_offline=detail.made_offline,
        public_url=detail.public_url,
        service_line=settings.service_centre_name,
    )


# ---- the PDF --------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Document:
    content: bytes
    filename: str


def inline_pdf(document: Document) -> Response:
    """A PDF the browser shows (and prints from its viewer), its name safe for the header."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", document.filename)
    headers = {"Content-Disposition": f'inline; filename="{safe}"'}
    return Response(document.content, media_type="application/pdf", headers=headers)


async def receipt_document(
    session: AsyncSession, settings: Settings, number: str, *, store_id: int | None, width_mm: int = 80
) -> Document:
    """Sale ``number``'s receipt PDF (of ``store_id``'s sales; None: any, for the console)."""
    receipt = await receipt_for(session, settings, number, store_id=store_id)
    # reportlab is pure Python: render off the event loop so a receipt never stalls other requests.
    content = await run_in_threadpool(lambda: receipt_pdf(receipt, width_mm=width_mm))
    return Document(content, f"receipt-{receipt.number}.pdf")


async def console_receipt_document(
    session: AsyncSession, principal: Principal, settings: Settings, number: str, width_mm: int = 80
) -> Document:
    """A receipt reprinted from the console: any store's for an admin, a manager's own stores'."""
    sale = await _sale(session, number, None)
    if not console_access.within(await console_access.stores_in_reach(session, principal), sale.store_id):
        raise errors.SaleNotFound(detail={"number": number})
    return await receipt_document(session, settings, number, store_id=sale.store_id, width_mm=width_mm)


# ---- the public page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LotTaken:
    code: str
    quantity: str


@dataclass(frozen=True)
class PublicLine:
    name: str
    quantity_label: str
    line_total_minor: int
    lots: list[LotTaken]
    short_quantity: str  # what the store's book could not cover when it was sold ("0": none)
    unit_label: str

    @property
    def short(self) -> bool:
        return Decimal(self.short_quantity) > 0


@dataclass(frozen=True)
class PublicSale:
    store_name: str
    store_address: str
    sold_on: datetime  # China time
    number: str
    lines: list[PublicLine]
    subtotal_minor: int
    discount_minor: int
    total_minor: int
    refunded_minor: int


async def public_sale(session: AsyncSession, client_id: uuid.UUID) -> PublicSale:
    """The sale behind a receipt's QR code (see the module's docstring); unknown → ``sale_not_found``."""
    sale = await sale_queries.sale_by_client_id(session, client_id)
    if sale is None:
        raise errors.SaleNotFound()
    store, _, _, _ = await sale_queries.sale_context(session, sale)
    detail = await sale_detail.detail_of(session, sale)
    return PublicSale(
        store_name=store.name,
        store_address=store.address,
        sold_on=detail.sold_at.astimezone(clock.business_tz()),
        number=detail.number,
        lines=[
            PublicLine(
                name=line.name_zh,
                quantity_label=quantity_label(line),
                line_total_minor=line.line_total_minor,
                lots=[LotTaken(lot.lot_code, lot.quantity) for lot in line.lots],
                short_quantity=line.short_quantity,
                unit_label=line.unit_label_zh,
            )
            for line in detail.lines
        ],
        subtotal_minor=detail.subtotal_minor,
        discount_minor=detail.discount_minor,
        total_minor=detail.total_minor,
        refunded_minor=detail.refunded_minor,
    )
