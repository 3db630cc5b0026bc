"""Ops console orders (/admin/orders): find an order, read its history, cancel it, refund it.

Admin role only. The list masks the customer's name and phone; the order's page shows them in
full (the README's 个人信息 / Personal data table). Thin: reads through ``app.orders`` views and
repository, writes through ``service.cancel`` and ``payments.request_refund`` — the same calls as
the staff JSON API. The refund form carries an idempotency key rendered with the page, so a double click refunds once.
"""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import uuid4

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.access import AdminUser
from app.channels import CHANNEL_LABELS_ZH, SalesChannel
from app.db import DbSession
from app.kit.errors import AppError, IdempotencyKeyReused
from app.kit.idempotency import run_idempotent
from app.kit.money import parse_major
from app.kit.personal import is_erased_phone, mask_name
from app.kit.phones import mask_phone
from app.orders import payments, repository, service, views
from app.orders.errors import OrderNotFound
from app.orders.models import FulfilmentStatus, Order, OrderStatus
from app.orders.notices import send_order_notice
from app.web.errors import FormError
from app.web.orders import order_labels
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50
CANCELLABLE = (OrderStatus.pending_payment, OrderStatus.confirmed, OrderStatus.ready_for_pickup)
REFUND_STATE_ZH = {"pending": "待处理", "submitted": "已提交", "succeeded": "已退款", "failed": "失败"}
NOTICES = {"cancelled": "订单已取消，已通知顾客。", "refunded": "退款已登记。"}


@router.get("/orders")
async def orders_page(
    request: Request,
    session: DbSession,
    _: AdminUser,
    status: str = "",
    channel: str = "",
    q: Annotated[str, Query(max_length=30)] = "",
    before_id: int | None = None,
) -> Response:
    status_filter = OrderStatus(status) if status in OrderStatus.__members__ else None
    channel_filter = channel if channel in SalesChannel.__members__ else None
    orders = await repository.list_orders(
        session, status=status_filter, channel=channel_filter, q=q.strip() or None, before_id=before_id, limit=PAGE_SIZE
    )
    older = None
    if len(orders) == PAGE_SIZE:
        params = {"status": status, "channel": channel, "q": q, "before_id": orders[-1].id}
        older = "/admin/orders?" + urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        "admin/orders.html",
        {
            "orders": orders,
            "filters": {
                "status": status_filter.value if status_filter else "",
                "channel": channel_filter or "",
                "q": q,
            },
            "statuses": list(OrderStatus),
            "channels": CHANNEL_LABELS_ZH,
            "older": older,
            # A list shows whose order it is only as far as telling them apart needs (name and phone
            # masked); the order's own page has the contact in full.
            "masked": {o.id: f"{mask_name(o.contact_name)} {mask_phone(o.contact_phone)}" for o in orders},
            **order_labels(),
        },
    )


async def _order(session: DbSession, number: str) -> Order:
    order = await repository.order_by_number(session, number.strip().upper())
    if order is None:
        raise OrderNotFound()
    return order


async def _render_detail(
    request: Request,
    session: DbSession,
    order: Order,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    out = await views.order_out(session, order)
    erased = is_erased_phone(order.contact_phone)
    return render(
        request,
        "admin/order.html",
        {
            "order": out,
            # Admins call the customer about a problem with this order: the number in full, here only.
            "phone": "" if erased else order.contact_phone,
            "phone_shown": mask_phone(order.contact_phone) if erased else order.contact_phone,
            "refunds": await repository.refunds_for(session, order.id),
            "refundable_minor": await payments.refundable_minor(session, order),
            "can_cancel": out.status in CANCELLABLE and out.fulfilment_status == FulfilmentStatus.unfulfilled,
            "channels": CHANNEL_LABELS_ZH,
            "refund_states": REFUND_STATE_ZH,
            "notice": notice,
            "errors": errors or [],
            "values": values or {},
            "idempotency_key": uuid4().hex,
            **order_labels(),
        },
        status_code=status_code,
    )


@router.get("/orders/{number}")
async def order_page(request: Request, number: str, session: DbSession, _: AdminUser, done: str = "") -> Response:
    return await _render_detail(request, session, await _order(session, number), notice=NOTICES.get(done, ""))


@router.post("/orders/{number}/cancel", dependencies=[CsrfProtected])
async def cancel_order(
    request: Request,
    number: str,
    session: DbSession,
    principal: AdminUser,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    order = await _order(session, number)
    try:
        if not reason.strip():
            raise FormError("取消原因：必填")
        order = await service.cancel(session, order, reason=reason.strip(), actor_user_id=principal.user_id)
        await send_order_notice(session, order, "order_cancelled")
    except AppError as exc:
        await session.rollback()
        return await _render_detail(
            request,
            session,
            await _order(session, number),
            errors=[exc.text],
            values={"cancel_reason": reason},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/admin/orders/{order.number}?done=cancelled", status_code=303)


@router.post("/orders/{number}/refund", dependencies=[CsrfProtected])
async def refund_order(
    request: Request,
    number: str,
    session: DbSession,
    principal: AdminUser,
    amount: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    idempotency_key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A full or partial refund in yuan. Cash taken at a station is recorded as refunded at once
    (staff hand it back), which also sends the customer's refund notice; a Stripe refund is sent
    by a task after this commits."""
    order = await _order(session, number)

    async def work() -> dict[str, Any]:
        if not reason.strip():
            raise FormError("退款原因：必填")
        try:
            amount_minor = parse_major(amount or "")
        except (ValueError, InvalidOperation) as exc:  # parse_major's refusals: not an amount in yuan
            raise FormError("退款金额：请填写元，例如 12.50") from exc
        refund = await payments.request_refund(
            session, order, amount_minor=amount_minor, reason=reason.strip(), actor_user_id=principal.user_id
        )
        return {"refund_id": refund.id}

    try:
        await run_idempotent(
            session,
            scope=f"user:{principal.user_id}",
            key=idempotency_key.strip() or None,
            method="POST",
            path=request.url.path,
            body={"amount": amount.strip(), "reason": reason.strip()},
            work=work,
        )
    except AppError as exc:
        await session.rollback()
        if isinstance(exc, IdempotencyKeyReused):
            message = "这张退款表单已经提交过，请刷新页面后再填写。"
        elif isinstance(exc.detail, dict) and "refundable_minor" in exc.detail:
            message = f"{exc.text}（最多可退 {int(exc.detail['refundable_minor']) / 100:.2f} 元）"
        else:
            message = exc.text
        return await _render_detail(
            request,
            session,
            await _order(session, number),
            errors=[message],
            values={"refund_amount": amount, "refund_reason": reason},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/admin/orders/{order.number}?done=refunded", status_code=303)
