"""The shop's checkout: a thin layer in front of the channel-neutral order service
(``app/orders/service.py``). What only the shop decides happens here — prices from the shop's
policy, the village station (routing, with its recorded reason) or the home-delivery fee, pay at
pickup or online — and ``service.create_order`` writes the order and holds its stock.

Pay at pickup: the order is confirmed at once (unpaid) and its stock is held without a deadline
until the parcel is handed over (or the order cancelled). Online payment (Stripe): the order waits
in ``pending_payment`` and its stock is held for the shop's unpaid hold (``RESERVATION_TTL_MINUTES``);
the expiry task releases both when no payment arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.catalog import pricing
from app.channels import SalesChannel
from app.kit.urls import same_site_url
from app.orders import errors, payments, repository, schemas, service, views
from app.orders.models import (
    DeliveryMethod,
    Order,
    PaymentMethod,
)
from app.orders.notices import send_order_notice
from app.orders.providers import Declined, OnlinePaymentProvider, ProviderUnavailable
from app.shop import delivery
from app.stations import routing
from app.streamers import service as streamers
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
    # A live-stream seller's code typed at checkout, and the first-touch cookie of a seller's link
    # (``app.streamers.service``: the typed code wins).
    referral_code: str | None = None
    referral_cookie: str | None = None


async def place_order(
    session: AsyncSession,
    data: PlaceOrder,
    *,
    stripe_enabled: bool,
    announce: bool = False,
    answer: Callable[[Order], Awaitable[None]] | None = None,
) -> Order:
    """Price, route and write the order, holding its stock last. ``announce``: also tell the
    customer (an online order is announced once paid instead); ``answer``: the caller's writes of
    its answer. Both are written before the stock is held (see ``service.create_order``)."""
    # Checked first: an unknown typed referral code refuses the order before anything is written.
    referral = (
        await streamers.resolve_referral(session, data.referral_code, data.referral_cookie)
        if data.referral_code or data.referral_cookie
        else None
    )

    async def before_hold(order: Order) -> None:
        if referral is not None:
            await streamers.attribute(session, order.id, referral)
        if announce:
            await send_order_notice(session, order, "order_placed")
        if answer is not None:
            await answer(order)

    if data.payment_method not in (PaymentMethod.pay_at_pickup, PaymentMethod.stripe):
        raise errors.PaymentNotAllowed("网店订单只支持到站付款或在线支付")
    if data.payment_method is PaymentMethod.stripe and not stripe_enabled:
        raise errors.PaymentProviderUnavailable()
    if data.payment_method is PaymentMethod.pay_at_pickup and data.delivery_method is not DeliveryMethod.station_pickup:
        raise errors.PaymentNotAllowed("到站付款只适用于村站自提")
    priced = await pricing.price_lines(session, data.lines, channel=SalesChannel.shop)
    subtotal = sum(line.line_total_minor for line in priced)

    station, station_reason, address, fee = None, "", None, 0
    if data.delivery_method is DeliveryMethod.station_pickup:
        if not data.station_code:
            # The schema refuses this for the API and the form; a service caller gets the same word.
            raise errors.StationNotChosen(detail={"field": "delivery.station_code"})
        routed = await routing.route(
            session, chosen_code=data.station_code, township=data.township, village=data.village, near=data.near
        )
        if routed is None:
            raise errors.StationUnavailable()
        station, station_reason = routed.station, routed.reason
    elif data.delivery_method is DeliveryMethod.home_delivery:
        if data.address is None:
            raise errors.DeliveryAreaNotServed("送货上门需要填写地址")
        county = delivery.CountyPlace.from_settings()
        # An address that leaves out its province and city is in the county's own.
        province, city = data.address.province or county.province, data.address.city or county.city
        quote = delivery.quote(province, city, data.address.township, subtotal, county)
        fee = quote.fee_minor
        address = {
            "province": province,
            "city": city,
            "township": data.address.township,
            "village": data.address.village,
            "detail": data.address.detail,
            "area": quote.area,
        }
    else:
        raise errors.PaymentNotAllowed("网店订单只支持村站自提或送货上门")

    online = data.payment_method is PaymentMethod.stripe
    return await service.create_order(
        session,
        service.NewOrder(
            channel=SalesChannel.shop,
            lines=priced,
            location_id=await supply_service.warehouse_id(session),
            contact_name=data.contact_name,
            contact_phone=data.contact_phone,
            payment_method=data.payment_method,
            delivery_method=data.delivery_method,
            awaiting_payment=online,
            customer_user_id=data.customer_user_id,
            station_id=station.id if station is not None else None,
            station=station,
            station_reason=station_reason,
            delivery_address=address,
            delivery_fee_minor=fee,
            note=data.note,
            placed_message_zh="订单已提交" + ("，等待在线支付" if online else "，到站付款"),
            event_detail={"station_reason": station_reason} if station_reason else {},
        ),
        before_hold=before_hold,
    )


def to_place_order(
    body: schemas.OrderIn, principal: Principal | None, *, referral_cookie: str | None = None
) -> PlaceOrder:
    """The API's (and the checkout form's) order body as checkout's input."""
    d = body.delivery
    address = Address(**d.address.model_dump()) if d.address else None
    near = (d.latitude, d.longitude) if d.latitude is not None and d.longitude is not None else None
    return PlaceOrder(
        lines=[pricing.LineRequest(line.sku, str(line.quantity)) for line in body.lines],
        delivery_method=DeliveryMethod(d.method),
        contact_name=body.contact.name,
        contact_phone=body.contact.phone,
        payment_method=PaymentMethod(body.payment_method),
        station_code=d.station_code,
        township=d.township,
        village=d.village,
        near=near,
        address=address,
        note=body.note,
        customer_user_id=principal.user_id if principal is not None and principal.role.value == "customer" else None,
        referral_code=body.referral_code,
        referral_cookie=referral_cookie,
    )


async def place_and_announce(
    session: AsyncSession,
    body: schemas.OrderIn,
    principal: Principal | None,
    *,
    stripe_enabled: bool,
    answer: Callable[[Order], Awaitable[None]] | None = None,
    referral_cookie: str | None = None,
) -> Order:
    """Place the API's (or the checkout form's) order and tell the customer (an online order is
    announced once paid instead); ``answer`` as in :func:`place_order`; ``referral_cookie``: the
    caller's seller-link cookie (``app.streamers.service.LINK_COOKIE``), if any."""
    return await place_order(
        session,
        to_place_order(body, principal, referral_cookie=referral_cookie),
        stripe_enabled=stripe_enabled,
        announce=True,
        answer=answer,
    )


async def pay_order(
    session: AsyncSession,
    order: Order,
    body: schemas.PaymentIn,
    *,
    provider: OnlinePaymentProvider | None,
    base_url: str,
) -> JSONResponse:
    """Start the online payment of an order the caller was shown to see, locked ``FOR UPDATE``: the
    answer of ``POST /api/v1/orders/{number}/payments``, which the pay page reads too. It commits
    twice — the attempt before Stripe hears of it, the outcome after."""
    if provider is None:
        raise errors.PaymentProviderUnavailable()
    return_url = same_site_url(body.return_url, base_url) if body.return_url else None
    if body.return_url and return_url is None:
        raise errors.ReturnUrlNotAllowed(detail={"field": "return_url"})
    # The order row stays locked until the commit below: two payment starts at once take turns.
    payment = await payments.prepare_online_payment(session, order, method=body.method)
    # A recovery point: the attempt (and its idempotency key) is stored before Stripe hears of it,
    # and no transaction stays open while we wait for Stripe.
    await session.commit()
    return_url = return_url or f"{base_url.rstrip('/')}/orders/{order.number}"
    try:
        result = await provider.create_intent(
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            method=payment.method,
            order_number=order.number,
            idempotency_key=payment.idempotency_key,
            payment_method_id=body.payment_method_id,
            return_url=return_url,
        )
    except Declined as declined:
        await payments.record_decline(session, payment, str(declined), declined.result)
        await session.commit()
        error = errors.PaymentDeclined(
            detail={
                "order": (await views.order_out(session, await _reload(session, order.number))).model_dump(mode="json")
            }
        )
        return JSONResponse(error.to_body(), status_code=error.status_code)
    except ProviderUnavailable as exc:
        raise errors.PaymentProviderError(detail={"retry": True}) from exc
    await payments.record_intent(session, payment, result)
    return JSONResponse((await views.order_out(session, await _reload(session, order.number))).model_dump(mode="json"))


async def _reload(session: AsyncSession, number: str) -> Order:
    order = await repository.order_by_number(session, number)
    assert order is not None
    return order
