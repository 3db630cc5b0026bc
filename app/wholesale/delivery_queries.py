"""All SQL of proof of delivery and of issuing invoices and credit notes: the trip and order rows
locked while a stop is recorded, a stop's delivery, the trip's stops still to deliver, the next
document number of a China-time day, and the rows written."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.models import Base
from app.orders.models import Order, OrderStatus
from app.wholesale.invoice_models import DeliveryIssue, StopDelivery
from app.wholesale.models import WholesaleOrder
from app.wholesale.trip_models import WholesaleTrip

# Orders that travel with their trip: confirmed ones (on account, paid, or approved over the
# limit). Cancelled, expired and still-unconfirmed (unpaid prepay, held) orders are no stops.
TRAVELLING = (OrderStatus.confirmed, OrderStatus.completed)


async def lock_trip(session: AsyncSession, trip_id: int) -> WholesaleTrip | None:
    """The trip row, locked: one stop of a trip is recorded at a time, so the last one sees all the others."""
    found: WholesaleTrip | None = await session.scalar(
        select(WholesaleTrip)
        .where(WholesaleTrip.id == trip_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found


async def stop_delivery(session: AsyncSession, order_id: int) -> StopDelivery | None:
    found: StopDelivery | None = await session.scalar(
        select(StopDelivery).where(StopDelivery.order_id == order_id).execution_options(populate_existing=True)
    )
    return found


async def issues_of(session: AsyncSession, order_id: int) -> Sequence[DeliveryIssue]:
    return (
        await session.scalars(
            select(DeliveryIssue).where(DeliveryIssue.order_id == order_id).order_by(DeliveryIssue.id)
        )
    ).all()


async def undelivered_stops(session: AsyncSession, trip_id: int) -> int:
    """Orders travelling on the trip without a proof of delivery."""
    count = await session.scalar(
        select(func.count())
        .select_from(WholesaleOrder)
        .join(Order, Order.id == WholesaleOrder.order_id)
        .outerjoin(StopDelivery, StopDelivery.order_id == WholesaleOrder.order_id)
        .where(WholesaleOrder.trip_id == trip_id, Order.status.in_(TRAVELLING), StopDelivery.order_id.is_(None))
    )
    return int(count or 0)


async def delivered_order_ids(session: AsyncSession, trip_ids: Sequence[int]) -> set[int]:
    """The orders of ``trip_ids`` that have a proof of delivery (the trip board's, in one statement)."""
    if not trip_ids:
        return set()
    return set((await session.scalars(select(StopDelivery.order_id).where(StopDelivery.trip_id.in_(trip_ids)))).all())


async def lock_numbering(session: AsyncSession, prefix: str) -> None:
    """Serialise the numbering of one prefix and day until the transaction ends (an advisory lock)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(prefix))))


async def last_number(session: AsyncSession, model: type[Base], prefix: str) -> str | None:
    """The highest ``number`` of ``model`` starting with ``prefix`` (numbers of one day sort as text)."""
    column = model.__table__.c.number
    found: str | None = await session.scalar(select(func.max(column)).where(column.startswith(prefix)))
    return found


async def add_all(session: AsyncSession, rows: Sequence[Base]) -> None:
    session.add_all(rows)
    await session.flush()
