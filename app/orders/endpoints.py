"""Orders JSON API (consumers and guests), the payment start, the Stripe webhook, and the staff
order API. Endpoints stay thin: access, one service call, a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse

from app.accounts.access import AdminUser, BackOfficeUser, CustomerUser, MaybeUser, Principal, PublicAccess, Role
from app.catalog.pricing import LineRequest
from app.db import DbSession
from app.kit.http import client_address
from app.kit.idempotency import idempotent_json
from app.kit.urls import same_site_url
from app.orders import access, checkout, errors, payments, repository, schemas, service, views, webhooks
from app.orders.models import DeliveryMethod, Order, OrderStatus, PaymentMethod
from app.orders.notices import send_order_notice
from app.orders.providers import BadSignature, Declined, OnlinePaymentProvider, ProviderUnavailable
from app.stations import routing

router = APIRouter(prefix="/api/v1", tags=["orders"])
admin = APIRouter(prefix="/api/v1/admin", tags=["orders admin"])
hooks = APIRouter(tags=["webhooks"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="重试下单时带上同一个键，只会生成一个订单")
]
# A header, not a query parameter: query strings end up in access logs, proxies and browser history.
Phone = Annotated[
    str | None, Header(alias="X-Order-Phone", max_length=20, description="游客查询：下单手机号（请求头，不放在网址里）")
]
ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "insufficient_stock（detail.lines 列出每一条缺货行）"},
    422: {
        "description": "validation_error（如 delivery.station_code 未填、contact.phone 不是大陆手机号）/ "
        "unknown_station（detail.field = delivery.station_code）/ quantity_not_positive / invalid_quantity / "
        "quantity_above_line_maximum / unknown_sku / below_minimum_order / ..."
    },
}


def _ip(request: Request) -> str:
    return client_address(request)


def to_place_order(body: schemas.OrderIn, principal: Principal | None) -> checkout.PlaceOrder:
    d = body.delivery
    address = checkout.Address(**d.address.model_dump()) if d.address else None
    near = (d.latitude, d.longitude) if d.latitude is not None and d.longitude is not None else None
    return checkout.PlaceOrder(
        lines=[LineRequest(line.sku, str(line.quantity)) for line in body.lines],
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
    )


@router.post("/orders", response_model=schemas.OrderOut, status_code=status.HTTP_201_CREATED, responses=ORDER_ERRORS)
async def place_order(
    body: schemas.OrderIn,
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Place a consumer order (customer or guest). Prices come from the server; the stock is held
    at once. Online payment (`stripe`) then starts with `POST /api/v1/orders/{number}/payments`."""

    async def work() -> Any:
        order = await checkout.place_order(
            session, to_place_order(body, principal), stripe_enabled=request.app.state.payment_provider is not None
        )
        await send_order_notice(session, order, "order_placed")
        return (await views.order_out(session, order)).model_dump(mode="json")

    scope = f"user:{principal.user_id}" if principal else "guest"
    return await idempotent_json(session, request, scope=scope, key=idempotency_key, body=body, work=work)


@router.get("/orders/{number}", response_model=schemas.OrderOut, responses={404: {"description": "order_not_found"}})
async def get_order(
    number: str, request: Request, session: DbSession, principal: MaybeUser, phone: Phone = None
) -> schemas.OrderOut:
    """An order, for its customer, staff, its station — or a guest giving the order's phone."""
    order = await access.visible_order(
        session, number, principal, phone, limiter=request.app.state.lookup_limiter, client_ip=_ip(request)
    )
    return await views.order_out(session, order, reveal_pickup=access.is_customer_view(order, principal, phone))


@router.post(
    "/orders/{number}/payments",
    response_model=schemas.OrderOut,
    responses={
        402: {"description": "payment_declined"},
        409: {"description": "payment_not_allowed"},
        422: {"description": "payment_provider_unavailable / return_url_not_allowed"},
        502: {"description": "payment_provider_error"},
    },
)
async def start_payment(
    number: str,
    body: schemas.PaymentIn,
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    phone: Phone = None,
) -> JSONResponse:
    """Start (or resume) the online payment of a pending order. The answer's latest payment carries
    what the buyer does next: a redirect URL (Alipay), a QR code (WeChat Pay), or nothing (card
    confirmed). Safe to retry: the same attempt reuses the same Stripe idempotency key.

    ``return_url`` (where Stripe sends the payer back, with the payment's client secret in the
    query) must be on ``PUBLIC_BASE_URL``; it is checked before anything is stored."""
    if request.app.state.payment_provider is None:
        raise errors.PaymentProviderUnavailable()
    if body.return_url and same_site_url(body.return_url, request.app.state.settings.public_base_url) is None:
        raise errors.ReturnUrlNotAllowed(detail={"field": "return_url"})
    order = await access.visible_order(
        session,
        number,
        principal,
        phone,
        limiter=request.app.state.lookup_limiter,
        client_ip=_ip(request),
        for_update=True,
    )
    return await pay_order(order, body, request, session)


async def pay_order(order: Order, body: schemas.PaymentIn, request: Request, session: DbSession) -> JSONResponse:
    """Start the online payment of an order the caller was shown to see, locked ``FOR UPDATE``."""
    provider: OnlinePaymentProvider | None = request.app.state.payment_provider
    if provider is None:
        raise errors.PaymentProviderUnavailable()
    base_url: str = request.app.state.settings.public_base_url
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


async def _reload(session: DbSession, number: str) -> Any:
    order = await repository.order_by_number(session, number)
    assert order is not None
    return order


@router.post(
    "/orders/{number}/cancel",
    response_model=schemas.OrderOut,
    responses={404: {"description": "order_not_found"}, 409: {"description": "transition_not_allowed"}},
)
async def cancel_order(
    number: str, body: schemas.CancelIn, request: Request, session: DbSession, principal: MaybeUser, phone: Phone = None
) -> schemas.OrderOut:
    """The customer cancels before the parcel leaves the warehouse; paid money is refunded. Staff
    cancel through the admin API (admins only), never through this route."""
    if principal is not None and principal.role is not Role.customer:
        raise errors.OrderAccessDenied("员工请在运营后台取消订单")
    order = await access.visible_order(
        session, number, principal, phone, limiter=request.app.state.lookup_limiter, client_ip=_ip(request)
    )
    order = await service.cancel(
        session, order, reason=body.reason, actor_user_id=principal.user_id if principal else None
    )
    await send_order_notice(session, order, "order_cancelled")
    return await views.order_out(session, order)


@router.get("/me/orders", response_model=list[schemas.OrderOut])
async def my_orders(session: DbSession, principal: CustomerUser) -> list[schemas.OrderOut]:
    return views.orders_out(
        await repository.list_orders(session, customer_user_id=principal.user_id, for_read_model=True)
    )


@router.get("/stations", response_model=list[schemas.StationOut], dependencies=[PublicAccess])
async def list_stations(
    session: DbSession,
    near: Annotated[str | None, Query(pattern=r"^-?\d{1,3}(\.\d+)?,-?\d{1,3}(\.\d+)?$", description="lat,lng")] = None,
    village: Annotated[str | None, Query(max_length=50)] = None,
    township: Annotated[str | None, Query(max_length=30)] = None,
) -> list[schemas.StationOut]:
    """Open village stations, nearest first (from `near`, else the township's centre); stations
    serving `village` come first."""
    point: tuple[float, float] | None = None
    if near:
        lat, lng = near.split(",")
        point = (float(lat), float(lng))
    ranked = await routing.nearest_first(
        session,
        near=point,
        township=township,
        village=village,
    )
    return [
        schemas.StationOut(
            code=r.station.code,
            name=r.station.name,
            township=r.station.township,
            village=r.station.village,
            address=r.station.address,
            opening_hours=r.station.opening_hours,
            distance_km=round(r.km, 2) if r.km is not None else None,
            has_room=r.has_room,
        )
        for r in ranked
    ]


@hooks.post(
    "/webhooks/stripe",
    dependencies=[PublicAccess],
    include_in_schema=True,
    responses={400: {"description": "invalid_signature"}, 404: {"description": "webhook_not_configured"}},
)
async def stripe_webhook(request: Request, session: DbSession) -> dict[str, bool]:
    """Stripe events, verified on the raw body, inboxed once per event id and processed by a task."""
    provider: OnlinePaymentProvider | None = request.app.state.payment_provider
    if provider is None:
        raise errors.WebhookNotConfigured()
    body = await request.body()
    try:
        event = provider.parse_webhook(body, request.headers.get("stripe-signature"))
    except (BadSignature, ValueError) as exc:
        raise errors.WebhookSignatureInvalid() from exc
    new = await webhooks.store_event(session, "stripe", event)
    return {"received": True, "duplicate": not new}


# ---- staff ------------------------------------------------------------------------------------


@admin.get("/orders", response_model=list[schemas.OrderOut])
async def staff_orders(
    session: DbSession,
    _: BackOfficeUser,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    channel: str | None = None,
    q: Annotated[str | None, Query(max_length=30)] = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[schemas.OrderOut]:
    orders = await repository.list_orders(
        session, status=status_filter, channel=channel, q=q, before_id=before_id, limit=limit, for_read_model=True
    )
    return views.orders_out(orders)


@admin.post("/orders/{number}/cancel", response_model=schemas.OrderOut)
async def staff_cancel(
    number: str, body: schemas.CancelIn, session: DbSession, principal: AdminUser
) -> schemas.OrderOut:
    order = await repository.order_by_number(session, number)
    if order is None:
        raise errors.OrderNotFound()
    order = await service.cancel(session, order, reason=body.reason, actor_user_id=principal.user_id)
    await send_order_notice(session, order, "order_cancelled")
    return await views.order_out(session, order)


@admin.post(
    "/orders/{number}/refunds",
    response_model=schemas.OrderOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "refund_too_large"}},
)
async def staff_refund(
    number: str, body: schemas.RefundIn, session: DbSession, principal: AdminUser
) -> schemas.OrderOut:
    """A full or partial refund; Stripe refunds are sent by a task once this commits."""
    order = await repository.order_by_number(session, number)
    if order is None:
        raise errors.OrderNotFound()
    await payments.request_refund(
        session, order, amount_minor=body.amount_minor, reason=body.reason, actor_user_id=principal.user_id
    )
    return await views.order_out(session, await _reload(session, number))
