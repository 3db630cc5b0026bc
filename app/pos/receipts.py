"""A counter sale's receipt: what the customer takes home, as a PDF for a 80 mm (or 58 mm) roll, and
the sale's public page its QR code opens.

The receipt (``receipt_for`` → ``Receipt``, drawn by ``app.pos.receipt_pdf``) carries the brand, the
store with its address, the till, the clerk, the sale number and its time in China time, every line
with what was weighed (grams, and the quantity in the unit it was priced in: 斤 or kg), the subtotal,
the basket discount with its reason, the total, each payment, the change, what has been refunded
since, and one QR code: ``{PUBLIC_BASE_URL}/r/{client_id}``, the sale's public page. The page is
long as the content needs (a roll has no page size), in the embedded document font.

The public page (``public_sale``) is for the customer, reached by the QR alone (the sale's client
id is a random UUID, so it cannot be guessed): the store, the day, the lines and the total, and for
each line the lots it was taken from, each linking to its trace page ``/t/{lot}``. A line the
store's book could not cover when it was sold says so rather than inventing a lot. Nothing about
the clerk or the payments is shown there.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.accounts.access import Principal
from app.config import Settings
from app.kit import clock
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
    # The drawing (and reportlab) is imported when a receipt is made: a web worker that never
    # prints one does not carry it (issue 15).
    from app.pos.receipt_pdf import receipt_pdf

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
