"""Unpaid online orders expire with their stock hold, and the customer is told."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.orders import repository, states
from app.orders.models import OrderStatus
from app.orders.notices import send_order_notice
from app.orders.service import release_held_stock


async def expire_unpaid(session: AsyncSession, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Expire pending-payment orders past their deadline and release their stock. Locked rows are
    skipped and each order moves by compare-and-set, so a racing payment wins or loses cleanly:
    a payment that lands afterwards goes down the late-payment path."""
    now = now or clock.now()
    expired = []
    for order in await repository.overdue_orders(session, now, limit):
        await states.transition(
            session, order, OrderStatus.expired, kind="expired", message_zh="超时未支付，订单已自动取消，库存已释放"
        )
        await release_held_stock(session, order, reason="订单超时未支付", actor_user_id=None)
        await send_order_notice(session, order, "order_expired")
        expired.append(order.number)
    return expired


REMINDER_LEAD = timedelta(minutes=5)


async def remind_expiring(session: AsyncSession, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Tell customers whose online order will be cancelled within ``REMINDER_LEAD`` — once per order
    (the reminder is an order event, and orders that already have one are not picked again)."""
    now = now or clock.now()
    reminded = []
    for order in await repository.orders_due_soon(session, now, now + REMINDER_LEAD, limit):
        minutes = max(1, int((order.payment_due_at - now).total_seconds() // 60)) if order.payment_due_at else 1
        await states.record(
            session, order, kind="expiry_reminder", message_zh=f"提醒顾客：{minutes} 分钟后未支付将自动取消"
        )
        await send_order_notice(session, order, "order_expiring", minutes=minutes)
        reminded.append(order.number)
    return reminded
