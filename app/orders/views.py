"""Read models of orders for the API and the pages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders import repository, schemas
from app.orders.models import Order, OrderStatus, Payment, StationCard


def mask_phone(e164: str) -> str:
    """``+8613812345678`` → ``138****5678``."""
    digits = e164.removeprefix("+86")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


async def order_out(
    session: AsyncSession, order: Order, *, pickup: schemas.PickupOut | None = None
) -> schemas.OrderOut:
    """The order as the API shows it; reloaded with its lines, events, payments and station, since
    transitions refresh the row and leave its relations unloaded. ``pickup``: the pickup code and QR,
    given only when the caller is the customer and the parcel waits at the station (the stations
    domain reads it: ``app.stations.views.customer_pickup``)."""
    reloaded = await repository.order_for_read_model(session, order.number)
    assert reloaded is not None
    return _order_out(reloaded, reloaded.station, reloaded.payments, pickup)


async def new_order_out(session: AsyncSession, order: Order) -> schemas.OrderOut:
    """A just-placed order as the API shows it, from what ``service.create_order`` wrote (its
    lines, its event, no payment, its station): nothing is read again. Falls back to
    :func:`order_out`'s read when a relation is not there (a caller that did not pass the station)."""
    if inspect(order).unloaded & {"lines", "events", "payments", "station"}:
        return await order_out(session, order)
    return _order_out(order, order.station, order.payments, None)


def orders_out(orders: Sequence[Order]) -> list[schemas.OrderOut]:
    """A list of orders as the API shows them, from orders loaded by ``repository.list_orders``
    with ``for_read_model=True`` (lines, events, payments and station already there): no statement
    per order. A list never carries the pickup code — staff never see it, and a customer's list
    leaves it to the order's own page, as it always has."""
    return [_order_out(order, order.station, order.payments, None) for order in orders]


def _order_out(
    order: Order, station: StationCard | None, payments: Sequence[Payment], pickup: schemas.PickupOut | None
) -> schemas.OrderOut:
    return schemas.OrderOut(
        number=order.number,
        channel=order.channel.value,
        status=order.status.value,
        status_zh=OrderStatus(order.status).label_zh,
        payment_status=order.payment_status.value,
        fulfilment_status=order.fulfilment_status.value,
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        delivery_fee_minor=order.delivery_fee_minor,
        total_minor=order.total_minor,
        paid_minor=order.paid_minor,
        refunded_minor=order.refunded_minor,
        payment_method=order.payment_method.value,
        payment_due_at=order.payment_due_at,
        delivery_method=order.delivery_method.value,
        station=schemas.StationOut.model_validate(station, from_attributes=True) if station else None,
        station_reason=order.station_reason,
        delivery_address=order.delivery_address,
        contact_name=order.contact_name,
        contact_phone_masked=mask_phone(order.contact_phone),
        placed_at=order.placed_at,
        lines=[
            schemas.OrderLineOut(
                sku=line.sku,
                name_zh=line.name_zh,
                unit=line.unit,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
                price_rule=line.price_rule,
            )
            for line in order.lines
        ],
        payments=[
            schemas.PaymentOut(
                id=p.id,
                provider=p.provider,
                method=p.method,
                state=p.state.value,
                amount_minor=p.amount_minor,
                currency=p.currency,
                next_action=p.next_action,
                failure_message=p.failure_message,
            )
            for p in payments
        ],
        events=[
            schemas.EventOut(at=e.created_at, kind=e.kind, status=e.to_status, message_zh=e.message_zh)
            for e in order.events
        ],
        pickup=pickup,
    )
