"""Issue 15 (item 1, POS uploads): a run of sales in one upload is recorded at once
(``app.pos.sale_batch``) with the same outcome, sale by sale, as recording them one at a time —
stock taken FEFO in the sales' order across lots, shortfalls as stock exceptions, a refused sale
recording nothing and not stopping the others, duplicates and clashing numbers answered — and
with a number of SQL statements that does not grow with the number of sales."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.kit import clock
from app.orders.models import Order, OrderLine
from app.pos.sale_models import Sale, SaleLine, StockException, Tender
from app.supply import counter_sales
from app.supply.counter_sales import CounterLine
from app.supply.models import StockLevel
from tests.fixtures.builders import receive
from tests.fixtures.pos_sales import T0, book_agrees, line, make_shop, sale, shift_open, sign_in, upload


async def test_a_batch_takes_the_lots_fefo_in_the_sales_order_and_records_what_is_short(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session, box_stock="0")
        early = await receive(
            db_session, shop.box, "3", location=shop.location, best_before=T0.date() + timedelta(days=20)
        )
        late = await receive(
            db_session, shop.box, "4", location=shop.location, best_before=T0.date() + timedelta(days=40)
        )
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sid = opened["client_id"]
        # 4 sales of 2 boxes from 7 on the book: 2 + 2 (the early lot's 3, then 1 of the late one),
        # 2, then 1 left and 1 short.
        sales = [sale(shop, sid, [line(shop.box, "2", 1280), line(shop.jin, "0.5", 1680)]) for _ in range(4)]
        results = await upload(client, clerk, opened, *sales)
    assert [r["outcome"] for r in results] == ["recorded"] * 5, results
    ids = {s["number"]: (await db_session.scalar(select(Sale.id).where(Sale.number == s["number"]))) for s in sales}
    short = (
        await db_session.execute(
            select(Sale.number, StockException.variant_id, StockException.quantity).join(
                Sale, Sale.id == StockException.sale_id
            )
        )
    ).all()
    assert [(n, v, q) for n, v, q in short if n in ids] == [(sales[3]["number"], shop.box.id, Decimal("1.000"))]
    levels = dict(
        (
            await db_session.execute(
                select(StockLevel.lot_id, StockLevel.on_hand).where(StockLevel.location_id == shop.location.id)
            )
        ).all()
    )
    assert (levels[early.id], levels[late.id]) == (Decimal(0), Decimal(0))
    # What each sale's receipt names, read back from its ledger rows: FEFO across the sales.
    taken: list[list[tuple[str, Decimal]]] = []
    for s in sales:
        rows = (
            await db_session.execute(
                select(OrderLine.id, OrderLine.variant_id, OrderLine.quantity, SaleLine.short_quantity)
                .join(SaleLine, SaleLine.order_line_id == OrderLine.id)
                .where(SaleLine.sale_id == ids[s["number"]])
                .order_by(OrderLine.id)
            )
        ).all()
        lots = await counter_sales.lots_of_counter_sale(
            db_session, s["number"], [(CounterLine(i, v, q), short_q) for i, v, q, short_q in rows]
        )
        taken.append([(lot.lot_code, lot.quantity) for lot in lots[rows[0][0]]])
    assert taken == [
        [(early.code, Decimal(2))],
        [(early.code, Decimal(1)), (late.code, Decimal(1))],
        [(late.code, Decimal(2))],
        [(late.code, Decimal(1))],
    ]
    assert (
        await db_session.scalar(select(func.count()).select_from(Tender).where(Tender.sale_id.in_(ids.values()))) == 4
    )
    await book_agrees(db_session, shop.location.id)


async def test_in_a_batch_a_refused_sale_records_nothing_and_the_others_are_answered_each(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sid = opened["client_id"]
        first = sale(shop, sid, [line(shop.box, "1", 1280)])
        assert [r["outcome"] for r in await upload(client, clerk, opened, first)] == ["recorded", "recorded"]
        wrong_sum = sale(
            shop, sid, [line(shop.box, "1", 1280)], tenders=[{"method": "cash", "amount_minor": 1000}], change_minor=0
        )
        taken_number = sale(shop, sid, [line(shop.box, "1", 1280)], number=first["number"])
        good = [sale(shop, sid, [line(shop.jin, "1", 1680)]) for _ in range(3)]
        results = await upload(client, clerk, good[0], first, wrong_sum, good[1], taken_number, good[2])
    assert [(r["outcome"], (r.get("error") or {}).get("code")) for r in results] == [
        ("recorded", None),
        ("duplicate", None),
        ("rejected", "sale_arithmetic_wrong"),
        ("recorded", None),
        ("rejected", "sale_number_taken"),
        ("recorded", None),
    ]
    numbers = (
        await db_session.scalars(select(Order.number).where(Order.number.like(f"{shop.till.sale_prefix}-%")))
    ).all()
    assert sorted(numbers) == sorted([first["number"]] + [s["number"] for s in good])
    assert (
        await db_session.scalar(select(func.count()).select_from(Sale).where(Sale.client_id == wrong_sum["client_id"]))
        == 0
    )
    await book_agrees(db_session, shop.location.id)


async def test_a_sale_repeated_within_one_batch_is_recorded_once(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        again = sale(shop, opened["client_id"], [line(shop.box, "1", 1280)])
        results = await upload(
            client, clerk, opened, again, dict(again), sale(shop, opened["client_id"], [line(shop.box, "1", 1280)])
        )
    assert [r["outcome"] for r in results] == ["recorded", "recorded", "duplicate", "recorded"], results
    on_hand = await db_session.scalar(
        select(func.sum(StockLevel.on_hand)).where(
            StockLevel.location_id == shop.location.id, StockLevel.variant_id == shop.box.id
        )
    )
    assert on_hand == Decimal("18.000")


async def test_a_batch_runs_as_many_statements_for_40_sales_as_for_4(
    client: httpx.AsyncClient, db_session: AsyncSession, db_connection: AsyncConnection
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async def batch_of(shop: Any, clerk: dict[str, str], sid: str, n: int) -> int:
        ops = [sale(shop, sid, [line(shop.box, "1", 1280), line(shop.jin, "0.5", 1680)]) for _ in range(n)]
        statements.clear()
        event.listen(db_connection.sync_connection, "before_cursor_execute", count)
        try:
            results = await upload(client, clerk, *ops)
        finally:
            event.remove(db_connection.sync_connection, "before_cursor_execute", count)
        assert [r["outcome"] for r in results] == ["recorded"] * n, results
        return len(statements)

    with clock.pinned(T0):
        shop = await make_shop(db_session, box_stock="100", jin_stock="100")
        clerk = await sign_in(client, shop)
        opened = shift_open()
        assert [r["outcome"] for r in await upload(client, clerk, opened)] == ["recorded"]
        four = await batch_of(shop, clerk, opened["client_id"], 4)
        forty = await batch_of(shop, clerk, opened["client_id"], 40)
    assert forty == four, (four, forty)
    assert forty <= 40  # one sale alone runs about 20
    await book_agrees(db_session, shop.location.id)
