"""A shop order through the API is a fixed, small number of SQL statements (issue 15): the order row,
its lines and its events are written by one of them, each table's rows in the order given."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog.models import Variant
from app.orders import repository
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
    # object.
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


async def _values_of_a_placed_order(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> dict[str, Any]:
    """The columns of an order the API placed, as a new order's values (another number)."""
    placed = await client.post("/api/v1/orders", json=order_body(shop))
    assert placed.status_code == 201, placed.text
    orders = cast(Table, Order.__table__)
    row = (await db_session.execute(select(orders).where(orders.c.number == placed.json()["number"]))).one()
    values = {key: value for key, value in row._mapping.items() if key not in ("id", "created_at", "updated_at")}
    return {**values, "number": "NP991231000777", "reservation_reference": "order:NP991231000777"}


async def test_the_lines_and_events_written_carry_their_own_ids(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    """Each line and event the statement wrote is the session's object of that row (its id and
    time): later steps key on them (a capacity line records its order line's id)."""
    values = await _values_of_a_placed_order(client, db_session, shop)
    box, taro = (await db_session.scalars(select(Variant).where(Variant.sku.in_([shop.box_sku, shop.taro_sku])))).all()
    lines = [
        _line(variant, quantity)
        for variant, quantity in ((taro, "3.5"), (box, "1"), (taro, "0.75"), (box, "4"))  # a variant twice
    ]
    events = [
        OrderEvent(kind=kind, to_status=None, from_status=None, actor_user_id=None, message_zh=kind, detail={"n": n})
        for n, kind in enumerate(("placed", "trip_assigned", "credit_hold"))
    ]
    order = await repository.insert_order_with_lines_and_events(db_session, values, lines, events)
    assert order is not None
    lines_table, events_table = cast(Table, OrderLine.__table__), cast(Table, OrderEvent.__table__)
    stored_lines = dict(
        (
            await db_session.execute(
                select(lines_table.c.id, lines_table.c.quantity).where(lines_table.c.order_id == order.id)
            )
        ).all()
    )
    assert {line.id: line.quantity for line in lines} == stored_lines
    assert [line.order_id for line in lines] == [order.id] * 4
    stored_events = {
        row.id: (row.kind, row.detail, row.created_at)
        for row in await db_session.execute(select(events_table).where(events_table.c.order_id == order.id))
    }
    assert {event.id: (event.kind, event.detail, event.created_at) for event in events} == stored_events


async def test_a_value_too_long_for_its_column_is_refused_not_cut(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    """The rows are bound as arrays: a string array cast to its column's length would cut an
    over-long value without a word; stored in the column, it is refused as before."""
    values = await _values_of_a_placed_order(client, db_session, shop)
    too_long = OrderEvent(
        kind="placed", to_status=None, from_status=None, actor_user_id=None, message_zh="长" * 301, detail={}
    )
    with pytest.raises(DBAPIError, match="too long"):
        await repository.insert_order_with_lines_and_events(db_session, values, [], [too_long])


def _line(variant: Variant, quantity: str) -> OrderLine:
    return OrderLine(
        variant_id=variant.id,
        sku=variant.sku,
        name_zh=variant.name_zh,
        unit=variant.unit,
        quantity=Decimal(quantity),
        unit_price_minor=100,
        line_total_minor=100,
        price_list="retail",
        price_rule="零售价",
        packed_quantity=None,
    )
