"""SQL of counter orders written many at once (a till's uploaded batch of sales): multi-row inserts
of the orders, their lines and their events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Order, OrderEvent, OrderLine


async def insert_orders_if_numbers_free(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert order rows; number → id of those inserted. A number already taken (or being inserted
    by a concurrent transaction, which this one waits for) is left out, never a unique violation."""
    if not rows:
        return {}
    result = await session.execute(
        insert(Order).on_conflict_do_nothing(index_elements=["number"]).returning(Order.number, Order.id),
        list(rows),
    )
    return {number: order_id for number, order_id in result.all()}


async def insert_lines(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert order lines; their ids in the order of ``rows``."""
    if not rows:
        return []
    result = await session.execute(
        core_insert(OrderLine).returning(OrderLine.id, sort_by_parameter_order=True), list(rows)
    )
    return [line_id for (line_id,) in result.all()]


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(core_insert(OrderEvent), list(rows))
