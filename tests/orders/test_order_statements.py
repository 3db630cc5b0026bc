"""A shop order through the API is a fixed, small number of SQL statements (issue 15): the order row,
its lines and its events are written by one of them, each table's rows in the order given."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.orders.models import Order, OrderEvent, OrderLine
from tests.fixtures.shop import Shop, order_body
from tests.stations.test_handover_statements import statements

# The idempotency claim, the variants with their products, their price lists, the station with its
# load; the order with its lines and its event; the customer's notice with its send task, the
# idempotent answer; then the stock's turn (the reservation opened with its FEFO hold).
SHOP_ORDER_STATEMENTS = 8


async def test_a_shop_order_is_a_fixed_number_of_statements(
    client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine, shop: Shop
) -> None:
    warm = await client.post("/api/v1/orders", json=order_body(shop))  # the station's first read
    assert warm.status_code == 201, warm.text
    with statements(engine) as sent:
        placed = await client.post("/api/v1/orders", json=order_body(shop))
    assert placed.status_code == 201, placed.text
    assert len(sent) <= SHOP_ORDER_STATEMENTS, "\n\n".join(sent)
    assert sum("INSERT INTO order" in s for s in sent) == 1, "\n\n".join(sent)

    # What the statement wrote, read back: the lines in the order given, the event's detail a JSON
    # object, and the answer's ids the rows' own.
    answer = placed.json()
    order = await db_session.scalar(select(Order).where(Order.number == answer["number"]))
    assert order is not None
    lines = (
        await db_session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id))
    ).all()
    assert [(line.sku, str(line.quantity)) for line in lines] == [(shop.box_sku, "2.000"), (shop.taro_sku, "1.235")]
    assert [line["sku"] for line in answer["lines"]] == [line.sku for line in lines]
    events = (await db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))).all()
    assert [(event.kind, event.to_status) for event in events] == [("placed", "confirmed")]
    assert isinstance(events[0].detail, dict)
