"""The till's upload (issue 14, items 3, 5, 7, 8, 9): ``POST /api/v1/pos/sync`` records a shift's
opening, cash in and out, sales and the close, each exactly once per client id; a refused
operation records nothing and does not stop the ones after it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.orders.models import Order, OrderLine
from app.pos.sale_models import CashMovement, Sale, SaleLine, Shift, StockException, Tender
from app.supply.models import StockLevel
from tests.fixtures.pos_sales import (
    T0,
    book_agrees,
    cash,
    line,
    make_shop,
    sale,
    shift_close,
    shift_open,
    sign_in,
    upload,
)


async def test_a_shift_with_a_sale_is_recorded_on_the_order_pipeline(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(20000)
        sold = sale(
            shop,
            opened["client_id"],
            [line(shop.box, "2", 1280), line(shop.jin, "1.5", 1680, source="plu_key", grams=750)],
            tenders=[{"method": "cash", "amount_minor": 10000}],
        )
        results = await upload(client, clerk, opened, sold)
    assert [r["outcome"] for r in results] == ["recorded", "recorded"], results
    assert results[1]["number"] == sold["number"]
    assert results[1]["public_url"].endswith(f"/r/{sold['client_id']}")
    row = await db_session.scalar(select(Sale).where(Sale.number == sold["number"]))
    assert row is not None
    assert (row.subtotal_minor, row.total_minor, row.tendered_minor, row.change_minor) == (5080, 5080, 10000, 4920)
    order = await db_session.get(Order, row.order_id)
    assert order is not None
    assert (order.channel, order.status, order.payment_status, order.fulfilment_status, order.payment_method) == (
        "pos",
        "completed",
        "paid",
        "handed_over",
        "pos_cash",
    )
    assert order.number == sold["number"] and order.paid_minor == 5080 and order.location_id == shop.location.id
    lines = (await db_session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    assert [(ln.sku, ln.quantity, ln.line_total_minor) for ln in lines] == [
        (shop.box.sku, Decimal("2.000"), 2560),
        (shop.jin.sku, Decimal("1.500"), 2520),
    ]
    assert await db_session.scalar(select(func.count()).select_from(SaleLine).where(SaleLine.sale_id == row.id)) == 2
    assert await db_session.scalar(select(func.count()).select_from(Tender).where(Tender.sale_id == row.id)) == 1
    on_hand = await db_session.scalar(
        select(func.sum(StockLevel.on_hand)).where(
            StockLevel.location_id == shop.location.id, StockLevel.variant_id == shop.box.id
        )
    )
    assert on_hand == Decimal("18.000")
    await book_agrees(db_session, shop.location.id)


async def test_cash_in_and_a_balanced_close_close_the_shift(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(10000)
        sid = opened["client_id"]
        sold = sale(shop, sid, [line(shop.box, "1", 1280)], tenders=[{"method": "cash", "amount_minor": 2000}])
        # float 100.00 + 12.80 + cash in 50.00 = 162.80
        results = await upload(
            client,
            clerk,
            opened,
            sold,
            cash("in", 5000, sid),
            shift_close(sid, {10000: 1, 5000: 1, 1000: 1, 100: 2, 50: 1, 10: 3}),
        )
    assert [r["outcome"] for r in results] == ["recorded"] * 4, results
    shift = await db_session.scalar(select(Shift).where(Shift.client_id == uuid.UUID(sid)))
    assert shift is not None
    assert (shift.status, shift.expected_cash_minor, shift.counted_cash_minor, shift.variance_minor) == (
        "closed",
        16280,
        16280,
        0,
    )
    assert await db_session.scalar(select(func.count()).select_from(CashMovement)) >= 1
    assert await db_session.scalar(select(func.count()).select_from(StockException)) == 0
