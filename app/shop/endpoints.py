"""The shop's customer-facing order API: place an order (station pickup or home delivery), read it
with its pickup block, pay it online, and the stations a customer picks from. The order routes every
channel shares (cancel, my orders, the staff API, the Stripe webhook) are in
``app/orders/endpoints.py``. Endpoints stay thin: access, one service call, a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse

from app.accounts.access import MaybeUser, PublicAccess
from app.db import DbSession
from app.kit.http import client_address
from app.kit.idempotency import EarlyAnswer, idempotent_json
from app.kit.urls import same_site_url
from app.orders import access, errors, schemas, views
from app.orders.access import OrderPhone
from app.orders.models import Order
from app.shop import checkout
from app.stations import routing
from app.stations.views import customer_pickup
from app.streamers.service import LINK_COOKIE

router = APIRouter(prefix="/api/v1", tags=["orders"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="重试下单时带上同一个键，只会生成一个订单")
]
ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "insufficient_stock（detail.lines 列出每一条缺货行）"},
    422: {
        "description": "validation_error（如 delivery.station_code 未填、contact.phone 不是大陆手机号）/ "
        "unknown_station（detail.field = delivery.station_code）/ quantity_not_positive / invalid_quantity / "
        "quantity_above_line_maximum / unknown_sku / below_minimum_order / unknown_referral_code / ..."
    },
}


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

    async def work(answer_early: EarlyAnswer) -> None:
        # The answer is stored before the stock is held: nothing the hold does changes it.
        async def answer(order: Order) -> None:
            await answer_early((await views.new_order_out(session, order)).model_dump(mode="json"))

        await checkout.place_and_announce(
            session,
            body,
            principal,
            stripe_enabled=request.app.state.payment_provider is not None,
            answer=answer,
            referral_cookie=request.cookies.get(LINK_COOKIE),
        )

    scope = f"user:{principal.user_id}" if principal else "guest"
    return await idempotent_json(
        session, request, scope=scope, key=idempotency_key, body=body, work=work, answers_early=True
    )


@router.get("/orders/{number}", response_model=schemas.OrderOut, responses={404: {"description": "order_not_found"}})
async def get_order(
    number: str, request: Request, session: DbSession, principal: MaybeUser, phone: OrderPhone = None
) -> schemas.OrderOut:
    """An order, for its customer, staff, its station — or a guest giving the order's phone. Staff
    and stations see the customer's name, phone and address only as far as their work needs
    (``access.contact_view``)."""
    order = await access.visible_order(
        session, number, principal, phone, limiter=request.app.state.lookup_limiter, client_ip=client_address(request)
    )
    # Only the customer is shown the pickup code and QR while the parcel waits (staff never are).
    pickup = await customer_pickup(session, order) if access.is_customer_view(order, principal, phone) else None
    return await views.order_out(session, order, pickup=pickup, view=access.contact_view(order, principal, phone))


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
    phone: OrderPhone = None,
) -> JSONResponse:
    """Start (or resume) the online payment of a pending order. The answer's latest payment carries
    what the buyer does next: a redirect URL (Alipay), a QR code (WeChat Pay), or nothing (card
    confirmed). Safe to retry: the same attempt reuses the same Stripe idempotency key.

    ``return_url`` (where Stripe sends the payer back, with the payment's client secret in the
    query) must be on ``PUBLIC_BASE_URL``; it is checked before anything is stored."""
    if request.app.state.payment_provider is None:
        raise errors.PaymentProviderUnavailable()
    base_url: str = request.app.state.settings.public_base_url
    if body.return_url and same_site_url(body.return_url, base_url) is None:
        raise errors.ReturnUrlNotAllowed(detail={"field": "return_url"})
    order = await access.visible_order(
        session,
        number,
        principal,
        phone,
        limiter=request.app.state.lookup_limiter,
        client_ip=client_address(request),
        for_update=True,
    )
    return await checkout.pay_order(
        session, order, body, provider=request.app.state.payment_provider, base_url=base_url
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
