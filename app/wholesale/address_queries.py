"""SQL of the centre's changes to a company's delivery addresses: one address (active or not), the
same place already on record, and the open orders still going to an address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import FulfilmentStatus, Order, OrderStatus
from app.wholesale.models import DeliveryAddress, WholesaleOrder

# An order still to be delivered: not cancelled, expired or completed, and not delivered yet.
UNDELIVERED = (OrderStatus.pending_payment, OrderStatus.confirmed, OrderStatus.ready_for_pickup)


async def address(
    session: AsyncSession, company_id: int, address_id: int, *, for_update: bool = False
) -> DeliveryAddress | None:
    """The company's address ``address_id``, active or not (another company's id finds nothing)."""
    stmt = select(DeliveryAddress).where(DeliveryAddress.id == address_id, DeliveryAddress.company_id == company_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def same_place(session: AsyncSession, company_id: int, text: str) -> DeliveryAddress | None:
    """The company's address row with exactly this text, active or not (one row per place)."""
    return await session.scalar(
        select(DeliveryAddress).where(DeliveryAddress.company_id == company_id, DeliveryAddress.address == text)
    )


async def undelivered_orders(session: AsyncSession, address_id: int, limit: int = 20) -> list[str]:
    """Numbers of the open orders still to be delivered to ``address_id``, oldest first."""
    rows = await session.scalars(
        select(Order.number)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .where(
            WholesaleOrder.delivery_address_id == address_id,
            Order.status.in_(UNDELIVERED),
            Order.fulfilment_status != FulfilmentStatus.delivered,
        )
        .order_by(Order.id)
        .limit(limit)
    )
    return list(rows)


async def add(session: AsyncSession, row: DeliveryAddress) -> None:
    session.add(row)
    await session.flush()
