"""The order routes every channel shares: a customer cancels or lists their orders (and downloads
their personal data), the Stripe
webhook, and the staff order API. Placing, reading and paying a shop order are the shop channel's
routes (``app/shop/endpoints.py``). Endpoints stay thin: access, one service call, a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from app.accounts.access import AdminUser, BackOfficeUser, CustomerUser, MaybeUser, PublicAccess, Role
from app.db import DbSession
from app.kit.http import client_address
from app.orders import access, errors, payments, personal_data, repository, schemas, service, views, webhooks
from app.orders.access import OrderPhone
from app.orders.models import OrderStatus
from app.orders.notices import send_order_notice
from app.orders.providers import BadSignature, OnlinePaymentProvider

router = APIRouter(prefix="/api/v1", tags=["orders"])
admin = APIRouter(prefix="/api/v1/admin", tags=["orders admin"])
hooks = APIRouter(tags=["webhooks"])


def _ip(request: Request) -> str:
    return client_address(request)


@router.post(
    "/orders/{number}/cancel",
    response_model=schemas.OrderOut,
    responses={404: {"description": "order_not_found"}, 409: {"description": "transition_not_allowed"}},
)
async def cancel_order(
    number: str,
    body: schemas.CancelIn,
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    phone: OrderPhone = None,
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


@router.get(
    "/me/data",
    responses={
        200: {"description": "JSON 附件 my-data-<日期>.json：账户资料、全部订单、发给本人的通知"},
        403: {"description": "role_not_allowed（仅顾客本人）"},
    },
)
async def my_data(session: DbSession, principal: CustomerUser) -> JSONResponse:
    """The signed-in customer's personal data as a download (PIPL): profile, orders, notices."""
    return views.data_download(await personal_data.export_customer_data(session, principal.user_id))


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
    # A list is the back office's working view: names and phones masked (the README's 个人信息 table).
    return views.orders_out(orders, view=views.ContactView.back_office)


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
    reloaded = await repository.order_by_number(session, number)
    assert reloaded is not None
    return await views.order_out(session, reloaded)
