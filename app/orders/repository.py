"""All SQL of the orders domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from app.orders.models import DeliveryMethod, Order, OrderStatus, Payment, Refund, WebhookEvent


async def order_by_number(session: AsyncSession, number: str, *, for_update: bool = False) -> Order | None:
    stmt = (
        select(Order)
        .where(Order.number == number)
        .options(selectinload(Order.lines), selectinload(Order.events))
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    return await session.scalar(stmt)


async def order_by_id(session: AsyncSession, order_id: int) -> Order | None:
    return await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.events))
        .execution_options(populate_existing=True)
    )


async def list_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | None = None,
    channel: str | None = None,
    customer_user_id: int | None = None,
    company_id: int | None = None,
    q: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
    for_read_model: bool = False,
) -> Sequence[Order]:
    """Newest first. ``for_read_model``: also load everything ``views.orders_out`` shows (events,
    payments, station) up front — one statement per relation however long the page, instead of a
    reload per order — and read orders already in the session afresh, as ``order_by_number`` does
    (a transition earlier in the same request leaves them stale)."""
    stmt = select(Order).options(selectinload(Order.lines)).order_by(Order.id.desc()).limit(limit)
    if for_read_model:
        stmt = stmt.options(
            selectinload(Order.events),
            selectinload(Order.payments),
            # Many-to-one: joined into the page's own statement, so no extra round trip.
            joinedload(Order.station),
        ).execution_options(populate_existing=True)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if channel is not None:
        stmt = stmt.where(Order.channel == channel)
    if customer_user_id is not None:
        stmt = stmt.where(Order.customer_user_id == customer_user_id)
    if company_id is not None:
        stmt = stmt.where(Order.company_id == company_id)
    if q:
        stmt = stmt.where((Order.number == q.strip().upper()) | Order.contact_phone.endswith(q.strip()))
    if since is not None:
        stmt = stmt.where(Order.placed_at >= since)
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return (await session.scalars(stmt)).all()


async def payments_for(session: AsyncSession, order_id: int) -> Sequence[Payment]:
    return (await session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))).all()


async def payment_by_external_id(session: AsyncSession, external_id: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.external_id == external_id))


async def refunds_for(session: AsyncSession, order_id: int) -> Sequence[Refund]:
    return (await session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))).all()


async def overdue_orders(session: AsyncSession, now: datetime, limit: int) -> Sequence[Order]:
    """Unpaid orders past their payment deadline; rows locked by another expirer are skipped."""
    return (
        await session.scalars(
            select(Order)
            .where(Order.status == OrderStatus.pending_payment, Order.payment_due_at <= now)
            .order_by(Order.payment_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def webhook_event(session: AsyncSession, event_id: int) -> WebhookEvent | None:
    return await session.get(WebhookEvent, event_id)


async def orders_due_soon(session: AsyncSession, start: datetime, end: datetime, limit: int) -> Sequence[Order]:
    """Unpaid orders whose deadline falls in [start, end) and that have not been reminded yet."""
    from sqlalchemy import exists

    from app.orders.models import OrderEvent

    reminded = exists().where(OrderEvent.order_id == Order.id, OrderEvent.kind == "expiry_reminder")
    return (
        await session.scalars(
            select(Order)
            .where(
                Order.status == OrderStatus.pending_payment,
                Order.payment_due_at >= start,
                Order.payment_due_at < end,
                ~reminded,
            )
            .order_by(Order.payment_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def last_chosen_station_code(session: AsyncSession, customer_user_id: int) -> str | None:
    """The open station of the customer's latest pickup order that went where they chose it to
    (a re-routed order says nothing about their choice): the signed-in customer's remembered
    station, on any device. The orders are the record of it, so nothing else is stored."""
    from app.stations.models import Station
    from app.stations.routing import CHOSEN_REASON

    return await session.scalar(
        select(Station.code)
        .join(Order, Order.station_id == Station.id)
        .where(
            Order.customer_user_id == customer_user_id,
            Order.delivery_method == DeliveryMethod.station_pickup,
            Order.station_reason == CHOSEN_REASON,
            Station.is_open.is_(True),
        )
        .order_by(Order.id.desc())
        .limit(1)
    )
