"""A recorded counter sale as the till, the receipt and the console show it: lines with the lots
they took (each with its public trace page), tenders, change, discount, who sold it where, and
the sale's public page (the receipt's QR code)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.quantities import Unit, format_quantity
from app.pos import errors, sale_queries, selling
from app.pos.sale_models import Sale
from app.supply import counter_sales
from app.supply.label_content import trace_url


@dataclass(frozen=True)
class LotOut:
    lot_code: str
    quantity: str
    trace_url: str


@dataclass(frozen=True)
class SaleLineOut:
    order_line_id: int
    variant_id: int
    sku: str
    name_zh: str
    unit: str
    unit_label_zh: str
    quantity: str
    returned_quantity: str
    unit_price_minor: int
    line_total_minor: int
    source: str
    code: str | None
    grams: int | None
    # The retail list's price on the server when the sale landed, when it differed from the till's.
    list_unit_price_minor: int | None
    list_line_total_minor: int | None
    short_quantity: str  # what the store's book could not cover (a stock exception)
    lots: list[LotOut]


@dataclass(frozen=True)
class TenderOut:
    method: str
    wallet: str | None
    amount_minor: int
    reference_tail: str


@dataclass(frozen=True)
class SaleDetail:
    number: str
    client_id: uuid.UUID
    public_url: str
    order_number: str
    store_code: str
    store_name: str
    till_code: str
    till_name: str
    clerk_username: str
    clerk_name: str
    sold_at: datetime
    recorded_at: datetime
    made_offline: bool
    subtotal_minor: int
    discount_minor: int
    discount_reason: str
    total_minor: int
    tendered_minor: int
    change_minor: int
    refunded_minor: int
    price_differs: bool
    lines: list[SaleLineOut]
    tenders: list[TenderOut]


async def sale_detail(session: AsyncSession, store_id: int, number: str) -> SaleDetail:
    """A sale of this store by its number; ``sale_not_found`` for any other (another store's too)."""
    sale = await sale_queries.sale_in_store(session, store_id, number)
    if sale is None:
        raise errors.SaleNotFound(detail={"number": number})
    return await detail_of(session, sale)


async def sale_by_client_id(session: AsyncSession, client_id: uuid.UUID) -> SaleDetail | None:
    """A sale by the till's id for it (the receipt's public page ``/r/{client_id}``), or None."""
    sale = await sale_queries.sale_by_client_id(session, client_id)
    return None if sale is None else await detail_of(session, sale)


async def detail_of(session: AsyncSession, sale: Sale) -> SaleDetail:
    store, till, clerk, order = await sale_queries.sale_context(session, sale)
    lines = await sale_queries.lines_of_sale(session, sale)
    lots = await counter_sales.lots_of_counter_sale(
        session,
        sale.number,
        [
            (counter_sales.CounterLine(line.id, line.variant_id, line.quantity), extra.short_quantity)
            for line, extra in lines
        ],
    )
    return SaleDetail(
        number=sale.number,
        client_id=sale.client_id,
        public_url=selling.public_url(sale.client_id),
        order_number=order.number,
        store_code=store.code,
        store_name=store.name,
        till_code=till.code,
        till_name=till.name,
        clerk_username=clerk.username,
        clerk_name=clerk.display_name or clerk.username,
        sold_at=sale.sold_at,
        recorded_at=sale.recorded_at,
        made_offline=sale.made_offline,
        subtotal_minor=sale.subtotal_minor,
        discount_minor=sale.discount_minor,
        discount_reason=sale.discount_reason,
        total_minor=sale.total_minor,
        tendered_minor=sale.tendered_minor,
        change_minor=sale.change_minor,
        refunded_minor=sale.refunded_minor,
        price_differs=sale.price_differs,
        lines=[
            SaleLineOut(
                order_line_id=line.id,
                variant_id=line.variant_id,
                sku=line.sku,
                name_zh=line.name_zh,
                unit=line.unit,
                unit_label_zh=Unit(line.unit).label_zh,
                quantity=format_quantity(line.quantity),
                returned_quantity=format_quantity(extra.returned_quantity),
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
                source=extra.source,
                code=extra.code,
                grams=extra.grams,
                list_unit_price_minor=extra.list_unit_price_minor,
                list_line_total_minor=extra.list_line_total_minor,
                short_quantity=format_quantity(extra.short_quantity),
                lots=[
                    LotOut(lot.lot_code, format_quantity(lot.quantity), trace_url(lot.lot_code))
                    for lot in lots.get(line.id, [])
                ],
            )
            for line, extra in lines
        ],
        tenders=[
            TenderOut(t.method, t.wallet, t.amount_minor, t.reference_tail)
            for t in await sale_queries.tenders_of(session, [sale.id])
        ],
    )
