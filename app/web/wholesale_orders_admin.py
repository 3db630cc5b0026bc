"""Ops console: wholesale orders (/admin/wholesale/orders).

Admins and warehouse staff see the list (filtered by status, held credit, trip date, company),
held orders first with their exposure against the company's credit limit. Only an admin approves a
held order — one ``ordering.approve_held_order`` call, run once per rendered form (its idempotency
key); a refusal (the order is no longer held: approved by someone else, or lapsed) shows the list
again with the reason.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.access import AdminUser, WarehouseUser
from app.db import DbSession
from app.orders.models import OrderStatus
from app.web import forms
from app.web.errors import FormError
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render
from app.wholesale import ordering
from app.wholesale.models import CreditState

router = APIRouter(prefix="/admin/wholesale", include_in_schema=False)
FILTERS = ("status", "credit", "trip_date", "company")


def _filters(status: str, credit: str, trip_date: str, company: str) -> dict[str, Any]:
    """The list's filters as typed (bad values are refused as a form message)."""
    return {
        "status": forms.choice(OrderStatus, status, "订单状态") if status else None,
        "held_only": credit == CreditState.held.value,
        "trip_date": forms.parse_date(trip_date, "发车日期"),
        "company_id": forms.choice(int, company, "采购商") if company else None,
    }


async def _render_orders(
    request: Request,
    session: DbSession,
    typed: dict[str, str],
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    errors = list(errors or [])
    try:
        chosen = _filters(typed["status"], typed["credit"], typed["trip_date"], typed["company"])
    except FormError as exc:
        errors.append(exc.text)
        status_code = exc.status_code
        chosen = _filters("", "", "", "")
    rows = await ordering.console_orders(session, **chosen)
    return render(
        request,
        "admin/wholesale_orders.html",
        {
            "rows": rows,
            "typed": typed,
            "statuses": list(OrderStatus),
            "companies": await ordering.company_choices(session),
            "held_count": sum(1 for r in rows if r.is_held),
            # One key per approve form: a re-sent form repeats its own answer only.
            "keys": {r.order.number: forms.new_key() for r in rows if r.is_held},
            "notice": notice,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get("/orders")
async def orders_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    status: Annotated[str, Query(max_length=20)] = "",
    credit: Annotated[str, Query(max_length=20)] = "",
    trip_date: Annotated[str, Query(max_length=10)] = "",
    company: Annotated[str, Query(max_length=12)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Wholesale orders, held ones first with their exposure against the credit limit."""
    typed = {"status": status, "credit": credit, "trip_date": trip_date, "company": company}
    return await _render_orders(request, session, typed, notice=notice)


@router.post("/orders/{number}/approve", dependencies=[CsrfProtected])
async def approve(request: Request, number: str, session: DbSession, principal: AdminUser) -> Response:
    """The centre accepts a held order over its company's limit (admins only)."""
    form = await request.form()
    note = forms.text(form, "note", 200)
    # The list's filters, sent back with the form: the list comes back as it was filtered.
    typed = {name: forms.text(form, name, 20) for name in FILTERS}

    async def work() -> str:
        view = await ordering.approve_held_order(session, number, actor=principal, note=note)
        notice = f"订单 {view.order.number} 已审批：{view.order.status.label_zh}"
        return forms.url("/admin/wholesale/orders", **typed, notice=notice)

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_render_orders, request, session, typed), page_errors),
    )
