"""Ops console of the brand stores' trading: the store manager's home (/admin/pos), stock
exceptions (/admin/pos/exceptions, resolved here) and sales (/admin/pos/sales, one sale).

Admins see every store; a store manager (signed in on a page) only the stores it runs — the
services check the store (``app.pos.console_access``), the pages only render what they answer.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.access import StoreConsoleUser
from app.db import DbSession
from app.pos import sales_console, stock_exceptions, stores
from app.pos.models import Store
from app.pos.sale_models import StockExceptionResolution, StockExceptionStatus
from app.web import forms
from app.web.admin import form_errors
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/pos", include_in_schema=False)

STATUS_LABELS = {"open": "待处理", "resolved": "已处理", "all": "全部"}


async def _store_filter(session: DbSession, code: str) -> Store | None:
    return await stores.store_or_404(session, code) if code else None


# ---- the manager's home ----------------------------------------------------------------------------


@router.get("")
async def home(request: Request, session: DbSession, principal: StoreConsoleUser) -> Response:
    """The stores the user runs (an admin: all) with today's sales and what waits for them."""
    return render(request, "admin/pos_home.html", {"cards": await sales_console.home(session, principal)})


# ---- stock exceptions --------------------------------------------------------------------------------


async def _exceptions_page(
    request: Request,
    session: DbSession,
    principal: StoreConsoleUser,
    *,
    store_code: str,
    status: str,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    store = await _store_filter(session, store_code)
    chosen = None if status == "all" else forms.choice(StockExceptionStatus, status or "open", "状态")
    rows = await stock_exceptions.list_for(session, principal, store_id=store.id if store else None, status=chosen)
    return render(
        request,
        "admin/pos_exceptions.html",
        {
            "rows": rows,
            "stores": await sales_console.stores_in_reach(session, principal),
            "filters": {"store": store.code if store else "", "status": status or "open"},
            "status_labels": STATUS_LABELS,
            "resolution_labels": stock_exceptions.RESOLUTION_LABELS_ZH,
            "names": await sales_console.people_named(session, [r.exception.resolved_by_id for r in rows]),
            "keys": {r.exception.id: forms.new_key() for r in rows},
            "values": values or {},
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/exceptions")
async def exceptions_page(
    request: Request,
    session: DbSession,
    principal: StoreConsoleUser,
    store: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=10)] = "open",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _exceptions_page(request, session, principal, store_code=store, status=status, notice=notice)


@router.post("/exceptions/{exception_id}/resolve", dependencies=[CsrfProtected])
async def resolve_exception(
    request: Request, exception_id: int, session: DbSession, principal: StoreConsoleUser
) -> Response:
    """Resolve one exception by a count, a late transfer or a write-off with a note."""
    form = await request.form()
    resolution, reference, note = (
        forms.text(form, "resolution"),
        forms.text(form, "reference", 40),
        forms.text(form, "note", 200),
    )
    values: dict[str, Any] = {"id": exception_id, "resolution": resolution, "reference": reference, "note": note}
    store_code = forms.text(form, "store", 20)

    async def work() -> str:
        kind = forms.choice(StockExceptionResolution, resolution, "处理方式", "请选择处理方式")
        row = await stock_exceptions.resolve(
            session, principal, exception_id, stock_exceptions.Resolution(kind, reference, note)
        )
        label = stock_exceptions.RESOLUTION_LABELS_ZH[kind.value]
        return forms.url(
            "/admin/pos/exceptions",
            store=store_code,
            notice=f"销售单 {row.sale_number} 的 {row.sku} 短缺已处理：{label}",
        )

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(
                _exceptions_page, request, session, principal, store_code=store_code, status="open", values=values
            ),
            form_errors,
        ),
    )


# ---- sales -------------------------------------------------------------------------------------------


@router.get("/sales")
async def sales_page(
    request: Request,
    session: DbSession,
    principal: StoreConsoleUser,
    store: Annotated[str, Query(max_length=20)] = "",
    till: Annotated[str, Query(max_length=20)] = "",
    date: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Sales newest first, by store, till and China date (today when no date is given)."""
    chosen = await _store_filter(session, store)
    day = forms.chosen_day(date)
    return render(
        request,
        "admin/pos_sales.html",
        {
            "items": await sales_console.sales(session, principal, store=chosen, till_code=till.upper(), day=day),
            "stores": await sales_console.stores_in_reach(session, principal),
            "filters": {"store": chosen.code if chosen else "", "till": till.upper(), "date": day.isoformat()},
        },
    )


@router.get("/sales/{number}")
async def sale_page(request: Request, number: str, session: DbSession, principal: StoreConsoleUser) -> Response:
    detail = await sales_console.sale(session, principal, number)
    return render(
        request,
        "admin/pos_sale.html",
        {
            "d": detail,
            "resolution_labels": stock_exceptions.RESOLUTION_LABELS_ZH,
            "tender_label": sales_console.tender_label,
        },
    )
