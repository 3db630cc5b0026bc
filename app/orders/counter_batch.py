"""Counter orders of a whole batch of sales at once (a till's upload): what
``service.create_counter_order`` writes for one sale — the order with the till's number,
completed, paid and handed over, its lines and its ``placed`` event — written for many with one
multi-row statement per table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.pricing import order_line_name
from app.orders import counter_queries
from app.orders.models import OrderStatus
from app.orders.service import CounterSale, NewOrder, counter_order_values


@dataclass(frozen=True)
class CounterOrder:
    order_id: int
    line_ids: list[int]  # in the order of the sale's lines


async def create_counter_orders(
    session: AsyncSession, sales: Sequence[tuple[NewOrder, CounterSale]]
) -> list[CounterOrder | None]:
    """The orders of ``sales`` (each with its variants given), in their order; None, writing
    nothing for it, where an order already has the sale's number (see ``create_counter_order``)."""
    rows = [counter_order_values(new, sale) for new, sale in sales]
    if len({frozenset(row) for row in rows}) > 1:  # one multi-row insert needs the same columns
        raise ValueError("counter orders with different columns")
    ids = await counter_queries.insert_orders_if_numbers_free(session, rows)
    line_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for new, sale in sales:
        order_id = ids.get(sale.number)
        if order_id is None:
            continue
        assert sale.variants is not None
        for line in new.lines:
            variant = sale.variants[line.sku]
            line_rows.append(
                {
                    "order_id": order_id,
                    "variant_id": line.variant_id,
                    "sku": line.sku,
                    "name_zh": order_line_name(variant),
                    "unit": line.unit.value,
                    "quantity": line.quantity,
                    "unit_price_minor": line.unit_price_minor,
                    "line_total_minor": line.line_total_minor,
                    "price_list": line.rule.price_list_code,
                    "price_rule": line.rule.description_zh,
                }
            )
        event_rows.append(
            {
                "order_id": order_id,
                "kind": "placed",
                "to_status": OrderStatus.completed.value,
                "actor_user_id": sale.sold_by_user_id,
                "message_zh": new.placed_message_zh,
                "detail": new.event_detail,
            }
        )
    line_ids = iter(await counter_queries.insert_lines(session, line_rows))
    await counter_queries.insert_events(session, event_rows)
    out: list[CounterOrder | None] = []
    for new, sale in sales:
        order_id = ids.get(sale.number)
        out.append(None if order_id is None else CounterOrder(order_id, [next(line_ids) for _ in new.lines]))
    return out
