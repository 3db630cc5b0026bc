"""The order rows the hot statements write on the table (``app.kit.stored_rows``) leave the session
as the ORM's own ``RETURNING`` of the entity left it."""

from __future__ import annotations

import httpx
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders import repository
from tests.fixtures.shop import Shop, order_body


async def test_a_payment_counted_refreshes_the_order_and_unloads_its_relations(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    placed = await client.post("/api/v1/orders", json=order_body(shop))
    assert placed.status_code == 201, placed.text
    order = await repository.order_by_number(db_session, placed.json()["number"])
    assert order is not None and "lines" not in inspect(order).unloaded

    counted = await repository.add_paid_returning(db_session, order.id, 500)

    # The same object, its columns as stored and nothing pending; the lines and events it had
    # loaded are read afresh by whoever shows the order next (a payment goes on to write events).
    assert counted is order and order.paid_minor == 500 and order not in db_session.dirty
    assert {"lines", "events", "payments"} <= inspect(order).unloaded
