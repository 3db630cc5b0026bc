"""Customer notices for order events, through the notifications outbox (an SMS goes out only if
the change that caused it commits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.personal import is_erased_phone
from app.notifications.service import notify
from app.orders import repository
from app.orders.access import order_link
from app.orders.models import DeliveryMethod, Order, PaymentMethod


async def send_order_notice(session: AsyncSession, order: Order, template: str, **extra: Any) -> None:
    if is_erased_phone(order.contact_phone):
        # The customer deleted their account: there is no number to write to, and a refund or a
        # cancellation the centre records afterwards must not fail for want of one.
        return
    params: dict[str, Any] = {"order_number": order.number}
    if template == "order_placed":
        if not order.station_id:
            station_name = None
        elif "station" not in inspect(order).unloaded:  # a new order routed in this request
            station_name = order.station.name if order.station is not None else None
        else:
            station_name = await repository.station_name_of(session, order.id)
        params["station_name"] = station_name or "送货上门"
        params["amount_due_minor"] = (
            order.total_minor - order.paid_minor
            if order.payment_method is PaymentMethod.pay_at_pickup
            and order.delivery_method is DeliveryMethod.station_pickup
            else 0
        )
        if order.payment_method is PaymentMethod.stripe:
            return  # an online order is announced once it is paid (order_paid), not while unpaid
    elif template == "order_paid":
        params["amount_minor"] = order.paid_minor
        if order.delivery_method is DeliveryMethod.none:  # event tickets: nothing to prepare or ship
            template = "tickets_paid"
            params["order_url"] = order_link(order.number)
    elif template == "order_cancelled":
        params["refund_minor"] = order.paid_minor - order.refunded_minor
    params.update(extra)
    await notify(session, template=template, recipient=order.contact_phone, params=params, reference=order.number)
