"""Placing a consumer order: price on the server, route to a station or quote delivery, write the
order, then reserve its stock — last, so the hot stock rows are locked only for the reservation
statements and the commit that follows.

Pay at pickup: the order is confirmed at once (unpaid) and its stock is held without a deadline
until the parcel is handed over (or the order cancelled). Online payment (Stripe): the order waits
in ``pending_payment`` and its stock is held for ``RESERVATION_TTL_MINUTES``; the expiry task
releases both when no payment arrives.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import pricing
from app.catalog import repository as catalog_repository
from app.channels import SalesChannel
from app.kit import clock
from app.kit.numbers import NumberClash, add_with_unique_number
from app.orders import delivery, errors, service, states
from app.orders.models import (
    DeliveryMethod,
    FulfilmentStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
)
from app.stations import routing
from app.supply import reservations
from app.supply import service as supply_service


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    township: str
    village: str
    detail: str


@dataclass(frozen=True)
class PlaceOrder:
    lines: Sequence[pricing.LineRequest]
    delivery_method: DeliveryMethod
    contact_name: str
    contact_phone: str  # E.164, validated by the schema
    payment_method: PaymentMethod
    station_code: str | None = None
    township: str | None = None
    village: str | None = None
    near: tuple[Decimal, Decimal] | None = None
    address: Address | None = None
    note: str = ""
    customer_user_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def new_order_number(today: date) -> str:
    return f"NP{today:%y%m%d}{secrets.randbelow(10**6):06d}"


async def place_order(session: AsyncSession, data: PlaceOrder, *, stripe_enabled: bool) -> Order:
    if data.payment_method not in (PaymentMethod.pay_at_pickup, PaymentMethod.stripe):
        raise errors.PaymentNotAllowed("网店订单只支持到站付款或在线支付")
    if data.payment_method is PaymentMethod.stripe and not stripe_enabled:
        raise errors.PaymentProviderUnavailable()
    if data.payment_method is PaymentMethod.pay_at_pickup and data.delivery_method is not DeliveryMethod.station_pickup:
        raise errors.PaymentNotAllowed("到站付款只适用于村站自提")
    priced = await pricing.price_lines(session, data.lines, channel=SalesChannel.shop)
    subtotal = sum(line.line_total_minor for line in priced)

    station_id, station_reason, address, fee = None, "", None, 0
    if data.delivery_method is DeliveryMethod.station_pickup:
        if not data.station_code:
            # The schema refuses this for the API and the form; a service caller gets the same word.
            raise errors.StationNotChosen(detail={"field": "delivery.station_code"})
        routed = await routing.route(
            session, chosen_code=data.station_code, township=data.township, village=data.village, near=data.near
        )
        if routed is None:
            raise errors.StationUnavailable()
        station_id, station_reason = routed.station.id, routed.reason
    elif data.delivery_method is DeliveryMethod.home_delivery:
        if data.address is None:
            raise errors.DeliveryAreaNotServed("送货上门需要填写地址")
        quote = delivery.quote(data.address.province, data.address.city, data.address.township, subtotal)
        fee = quote.fee_minor
        address = {
            "province": data.address.province,
            "city": data.address.city,
            "township": data.address.township,
            "village": data.address.village,
            "detail": data.address.detail,
            "area": quote.area,
        }
    else:
        raise errors.PaymentNotAllowed("网店订单只支持村站自提或送货上门")

    warehouse = await supply_service.warehouse(session)
    online = data.payment_method is PaymentMethod.stripe
    now = clock.now()
    due = service.hold_deadline(SalesChannel.shop, now, unpaid=online)
    number = new_order_number(clock.local_date(now))
    order = Order(
        number=number,
        channel=SalesChannel.shop,
        status=OrderStatus.pending_payment if online else OrderStatus.confirmed,
        payment_status=PaymentStatus.unpaid,
        fulfilment_status=FulfilmentStatus.unfulfilled,
        customer_user_id=data.customer_user_id,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        delivery_method=data.delivery_method,
        station_id=station_id,
        station_reason=station_reason,
        delivery_address=address,
        payment_method=data.payment_method,
        currency="CNY",
        subtotal_minor=subtotal,
        delivery_fee_minor=fee,
        total_minor=subtotal + fee,
        location_id=warehouse.id,
        reservation_reference=f"order:{number}",
        payment_due_at=due,
        note=data.note[:300],
    )
    await _insert_with_unique_number(session, order, clock.local_date(now))
    variants = await catalog_repository.active_variants_with_products(session, [line.sku for line in priced])
    for line in priced:
        variant = variants[line.sku]
        session.add(
            OrderLine(
                order_id=order.id,
                variant_id=line.variant_id,
                sku=line.sku,
                # Snapshot what was bought as people say it: product and variant (始兴枇杷 一级 5 千克箱装).
                name_zh=f"{variant.product.name_zh} {variant.name_zh}"[:200],
                unit=line.unit.value,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                line_total_minor=line.line_total_minor,
                price_list=line.rule.price_list_code,
                price_rule=line.rule.description_zh,
            )
        )
    session.add(
        OrderEvent(
            order_id=order.id,
            kind="placed",
            to_status=order.status.value,
            actor_user_id=data.customer_user_id,
            message_zh="订单已提交" + ("，等待在线支付" if online else "，到站付款"),
            detail={"station_reason": station_reason} if station_reason else {},
        )
    )
    await session.flush()
    # Last: the reservation locks the hot stock rows until this transaction commits.
    await service.hold_stock(
        session,
        channel=SalesChannel.shop,
        reference=order.reservation_reference or "",
        location_id=warehouse.id,
        expires_at=due,
        actor_user_id=data.customer_user_id,
        lines=[service.StockLine(line.variant_id, line.quantity) for line in priced],
    )
    return order


async def cancel(session: AsyncSession, order: Order, *, reason: str, actor_user_id: int | None) -> Order:
    """Cancel before the parcel leaves: release the held stock; a paid order is refunded in full
    (the refund itself is sent by a task after commit)."""
    from app.orders import payments

    if order.fulfilment_status not in (FulfilmentStatus.unfulfilled,):
        raise errors.TransitionNotAllowed("订单已发货，不能取消")
    from app.stations.models import Parcel  # the parcel belongs to the stations domain

    if await session.scalar(select(Parcel.id).where(Parcel.order_id == order.id)) is not None:
        raise errors.TransitionNotAllowed("订单已打包待发车，不能取消；请联系客服")
    order = await states.transition(
        session,
        order,
        OrderStatus.cancelled,
        kind="cancelled",
        message_zh=f"订单已取消：{reason}",
        actor_user_id=actor_user_id,
    )
    await release_held_stock(session, order, reason=f"订单取消：{reason}", actor_user_id=actor_user_id)
    if order.paid_minor > order.refunded_minor:
        await payments.request_refund(
            session,
            order,
            amount_minor=order.paid_minor - order.refunded_minor,
            reason=f"订单取消：{reason}",
            actor_user_id=actor_user_id,
        )
    return order


async def release_held_stock(session: AsyncSession, order: Order, *, reason: str, actor_user_id: int | None) -> None:
    from app.supply.errors import ReservationNotActive

    held = await reservations.by_reference(session, order.reservation_reference or "")
    if held is None:
        return
    try:
        await reservations.release(session, held.id, reason=reason, actor_user_id=actor_user_id)
    except ReservationNotActive:
        pass  # already released (expiry task) or sold: nothing is held any more


async def _insert_with_unique_number(session: AsyncSession, order: Order, today: date) -> None:
    """Order numbers are random (not guessable from one another); on the rare clash with an
    existing number another is drawn (``add_with_unique_number``), its reservation reference with it."""

    def redraw() -> str:
        number = new_order_number(today)
        order.reservation_reference = f"order:{number}"
        return number

    try:
        await add_with_unique_number(session, order, field="number", draw=redraw)
    except NumberClash as exc:
        raise errors.OrderStateConflict("订单号生成冲突，请重试") from exc
