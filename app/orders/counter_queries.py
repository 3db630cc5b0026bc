"""SQL of counter orders written many at once (a till's uploaded batch of sales): multi-row inserts
of the orders, their lines and their events, as Core statements on the session's connection (the
ORM's bulk path costs more per row than the statements themselves)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy import insert as core_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import bulk_queries as bulk
from app.orders.models import Order, OrderEvent, OrderLine

_ORDERS = cast(Table, Order.__table__)
_LINES = cast(Table, OrderLine.__table__)


async def insert_orders_if_numbers_free(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert order rows; number → id of those inserted. A number already taken (or being inserted
    by a concurrent transaction, which this one waits for) is left out, never a unique violation."""
    if not rows:
        return {}
    orders = _ORDERS
    result = await (await session.connection()).execute(
        insert(orders).on_conflict_do_nothing(index_elements=["number"]).returning(orders.c.number, orders.c.id),
        list(rows),
    )
    return {number: order_id for number, order_id in result.all()}


async def insert_lines(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert order lines; their ids in the order of ``rows``."""
    if not rows:
        return []
    lines = _LINES
    result = await (await session.connection()).execute(
        core_insert(lines).returning(lines.c.id, sort_by_parameter_order=True), list(rows)
    )
    return [line_id for (line_id,) in result.all()]


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await bulk.insert_rows(session, OrderEvent, rows)
