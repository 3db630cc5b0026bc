"""Read models of orders for the API and the pages."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.personal import ERASED_PHONE_SHOWN, is_erased_phone, mask_name, phone_last4
from app.orders import repository, schemas
from app.orders.models import Order, OrderStatus, Payment, StationCard


def mask_phone(e164: str) -> str:
    """``+8613812345678`` → ``138****5678`` (an erased customer's placeholder: ``已注销``)."""
    if is_erased_phone(e164):
        return ERASED_PHONE_SHOWN
    digits = e164.removeprefix("+86")
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


class ContactView(StrEnum):
    """How much of the customer's name, phone and address a reader of an order is shown (the
    README's table 个人信息 / Personal data says who gets which)."""

    full = "full"  # the customer (or its company's buyer); an admin on the order's own page
    # Staff working through many orders (lists, the warehouse): the name masked to its first
    # character, the phone to ``138****5678``; the address only for home delivery, which the
    # warehouse ships to.
    back_office = "back_office"
    # The station handing the parcel over: the masked name and the phone's last four digits,
    # never an address.
    station = "station"


def _contact(order: Order, view: ContactView) -> tuple[str, str, dict[str, Any] | None]:
    """(name, masked phone, address) of ``order`` as ``view`` shows them."""
    if view is ContactView.full:
        return order.contact_name, mask_phone(order.contact_phone), order.delivery_address
    name = mask_name(order.contact_name)
    if view is ContactView.station:
        last4 = phone_last4(order.contact_phone)
        return name, ERASED_PHONE_SHOWN if last4 == "—" else f"*******{last4}", None
    return name, mask_phone(order.contact_phone), order.delivery_address


async def order_out(
    session: AsyncSession,
    order: Order,
    *,
    pickup: schemas.PickupOut | None = None,
    view: ContactView = ContactView.full,
) -> schemas.OrderOut:
    """The order as the API shows it; reloaded with its lines, events, payments and station, since
    transitions refresh the row and leave its relations unloaded. ``pickup``: the pickup code and QR,
    given only when the caller is the customer and the parcel waits at the station (the stations
    domain reads it: ``app.stations.views.customer_pickup``)."""
    reloaded = await repository.order_for_read_model(session, order.number)
    assert reloaded is not None
    return _order_out(reloaded, reloaded.station, reloaded.payments, pickup, view)


async def new_order_out(session: AsyncSession, order: Order) -> schemas.OrderOut:
    """A just-placed order as the API shows it, from what ``service.create_order`` wrote (its
    lines, its event, no payment, its station): nothing is read again. Falls back to
    :func:`order_out`'s read when a relation is not there (a caller that did not pass the station)."""
    if inspect(order).unloaded & {"lines", "events", "payments", "station"}:
        return await order_out(session, order)
    return _order_out(order, order.station, order.payments, None, ContactView.full)


def orders_out(orders: Sequence[Order], *, view: ContactView = ContactView.full) -> list[schemas.OrderOut]:
    """A list of orders as the API shows them, from orders loaded by ``repository.list_orders``
    with ``for_read_model=True`` (lines, events, payments and station already there): no statement
    per order. A list never carries the pickup code — staff never see it, and a customer's list
    leaves it to the order's own page, as it always has."""
    return [_order_out(order, order.station, order.payments, None, view) for order in orders]


def _order_out(
    order: Order,
    station: StationCard | None,
    payments: Sequence[Payment],
    pickup: schemas.PickupOut | None,
    view: ContactView,
) -> schemas.OrderOut:
    contact_name, contact_phone_masked, delivery_address = _contact(order, view)
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
        delivery_address=delivery_address,
        contact_name=contact_name,
        contact_phone_masked=contact_phone_masked,
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


def data_download(document: dict[str, Any]) -> JSONResponse:
    """A customer's data export (``personal_data.export_customer_data``) as the attachment both the
    account page and the API answer: named by today's date in China, never cached on the way."""
    name = f"my-data-{clock.today().isoformat()}.json"
    return JSONResponse(
        document,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
