"""The buyer portal's 取消订单: a confirm page (the order, why it may or may not be cancelled, an
optional reason) and its post, once per rendered form. The rules are ``app.wholesale.cancelling``'s;
another company's order is a 404 as a missing one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import BuyerUser
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.web import forms
from app.web.templating import CsrfProtected, render
from app.wholesale import cancelling, ordering, trips

router = APIRouter(prefix="/wholesale", include_in_schema=False)


async def _confirm_page(
    request: Request,
    session: DbSession,
    principal: BuyerUser,
    number: str,
    *,
    reason: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    view = await ordering.order_for(session, principal, number)
    refused = cancelling.refusal(view, clock.now())
    return render(
        request,
        "wholesale/portal_cancel.html",
        {
            "view": view,
            "status_label": ordering.status_label(view.order, view.wholesale),
            "departure": trips.departure_text(view.trip.departure_date),
            "cutoff": trips.local_cutoff_text(view.trip.cutoff_at),
            "refused": refused.text if refused else "",
            "reason": reason,
            "reason_max": cancelling.REASON_MAX_CHARS,
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/orders/{number}/cancel")
async def confirm_cancel(request: Request, session: DbSession, principal: BuyerUser, number: str) -> Response:
    return await _confirm_page(request, session, principal, number)


@router.post("/orders/{number}/cancel", dependencies=[CsrfProtected])
async def cancel(request: Request, session: DbSession, principal: BuyerUser, number: str) -> Response:
    form = await request.form()
    reason = forms.text(form, "reason", cancelling.REASON_MAX_CHARS)

    async def work() -> str:
        view = await cancelling.cancel_order(session, principal, number, reason=reason)
        return f"/wholesale/orders/{view.order.number}?notice={quote('订单已取消，库存和车位已释放')}"

    async def post() -> Response:
        return await forms.once(session, request, principal, form, work)

    async def refused(exc: forms.Refusal) -> Response:
        messages = [exc.text] if isinstance(exc, AppError) else ["提交的内容无法读取"]
        return await _confirm_page(
            request, session, principal, number, reason=reason, errors=messages, status_code=forms.error_status(exc)
        )

    return await forms.submit(session, post, refused)
