"""A status transition is one compare-and-set statement that writes its event only when the order
moved: the loser of two concurrent transitions changes nothing, event included."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders import errors, states
from app.orders.models import FulfilmentStatus, Order, OrderEvent, OrderStatus
from tests.fixtures.shop import Shop, order_body


async def _placed(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> Order:
    body = order_body(shop, lines=[{"sku": shop.taro_sku, "quantity": "1"}])
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 201, response.text
    order = await db_session.scalar(select(Order).where(Order.number == response.json()["number"]))
    assert order is not None and order.status is OrderStatus.confirmed
    return order


async def _events(db_session: AsyncSession, order_id: int) -> list[OrderEvent]:
    return list(
        await db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    )


async def test_a_transition_moves_the_order_and_writes_its_event(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order = await _placed(client, db_session, shop)
    before = len(await _events(db_session, order.id))
    placed_update = order.updated_at

    moved = await states.transition(
        db_session,
        order,
        OrderStatus.ready_for_pickup,
        kind="arrived",
        message_zh="包裹已到站",
        detail={"station": "ST-1"},
        fulfilment_status=FulfilmentStatus.at_station,
    )

    # The order in memory is the row as the statement left it (its own RETURNING, no read back).
    assert moved is order and order.status is OrderStatus.ready_for_pickup
    assert order.fulfilment_status is FulfilmentStatus.at_station and order.updated_at >= placed_update
    stored = (await db_session.execute(select(Order.status, Order.fulfilment_status).where(Order.id == order.id))).one()
    assert tuple(stored) == (OrderStatus.ready_for_pickup, FulfilmentStatus.at_station)
    events = await _events(db_session, order.id)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.kind, event.from_status, event.to_status, event.message_zh, event.detail, event.actor_user_id) == (
        "arrived",
        "confirmed",
        "ready_for_pickup",
        "包裹已到站",
        {"station": "ST-1"},
        None,
    )


async def test_the_loser_of_two_transitions_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order = await _placed(client, db_session, shop)
    # Another transaction got there first: the order in memory still says confirmed.
    await db_session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(status=OrderStatus.cancelled)
        .execution_options(synchronize_session=False)
    )
    assert order.status is OrderStatus.confirmed
    events_before = await db_session.scalar(select(func.count()).where(OrderEvent.order_id == order.id))

    with pytest.raises(errors.OrderStateConflict):
        await states.transition(db_session, order, OrderStatus.completed, kind="handed_over", message_zh="已取件")

    assert await db_session.scalar(select(Order.status).where(Order.id == order.id)) is OrderStatus.cancelled
    assert await db_session.scalar(select(func.count()).where(OrderEvent.order_id == order.id)) == events_before


async def test_a_move_the_table_does_not_allow_is_refused_before_any_write(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    order = await _placed(client, db_session, shop)
    with pytest.raises(errors.TransitionNotAllowed):
        await states.transition(db_session, order, OrderStatus.expired, kind="expired", message_zh="过期")
    assert await db_session.scalar(select(Order.status).where(Order.id == order.id)) is OrderStatus.confirmed
