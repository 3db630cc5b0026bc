"""Ops console: replenishment requests (补货申请). A store manager asks for goods on
/admin/pos/stores/{code}/replenishment/new (a till asks through the POS API); the warehouse sees
/admin/pos/replenishment, waiting requests first, and ships one — a transfer from the warehouse,
FEFO lots — or declines it with a reason. Managers see only their stores' requests."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.access import Scope, StoreConsoleUser, StoreOrWarehouseUser, WarehouseUser
from app.accounts.models import Role
from app.db import DbSession
from app.pos import console_access, replenishment, sales_console, stores
from app.pos.models import Store
from app.web import forms
from app.web.admin import form_errors
from app.web.errors import FormError
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/pos", include_in_schema=False)

ROWS = 6


async def _list_page(
    request: Request,
    session: DbSession,
    principal: StoreOrWarehouseUser,
    *,
    store_code: str = "",
    failed: str = "",
    reason: str = "",
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    store = await stores.store_or_404(session, store_code) if store_code else None
    views = await replenishment.list_for(session, principal, store_id=store.id if store else None)
    return render(
        request,
        "admin/pos_replenishment.html",
        {
            "views": views,
            "stores": await sales_console.stores_in_reach(session, principal),
            "filters": {"store": store.code if store else ""},
            "can_ship": principal.role in (Role.admin, Role.warehouse) and principal.has_scope(Scope.stock),
            "names": await sales_console.people_named(session, [v.request.decided_by_id for v in views]),
            "keys": {v.request.number: forms.new_key() for v in views},
            "failed": failed,
            "reason": reason,
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/replenishment")
async def replenishment_page(
    request: Request,
    session: DbSession,
    principal: StoreOrWarehouseUser,
    store: Annotated[str, Query(max_length=20)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _list_page(request, session, principal, store_code=store, notice=notice)


@router.post("/replenishment/{number}/ship", dependencies=[CsrfProtected])
async def ship(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """Ship the request: a transfer from the warehouse to the store, lots FEFO."""
    form = await request.form()

    async def work() -> str:
        transfer = await replenishment.ship(session, principal, number)
        return forms.url(
            "/admin/pos/replenishment",
            notice=f"补货申请 {number} 已发货：调拨单 {transfer.number} 在途，门店签收后入账",
        )

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_list_page, request, session, principal, failed=number), form_errors),
    )


@router.post("/replenishment/{number}/decline", dependencies=[CsrfProtected])
async def decline(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    form = await request.form()
    reason = forms.text(form, "reason", 200)

    async def work() -> str:
        await replenishment.decline(session, principal, number, reason)
        return forms.url("/admin/pos/replenishment", notice=f"补货申请 {number} 已拒绝")

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_list_page, request, session, principal, failed=number, reason=reason), form_errors
        ),
    )


# ---- a store manager's request --------------------------------------------------------------------


async def _own_store(session: DbSession, principal: StoreConsoleUser, code: str) -> Store:
    """The store of the URL, refused (403) to a manager who does not run it."""
    store = await stores.store_or_404(session, code)
    await console_access.check_store(session, principal, store.id)
    return store


async def _new_page(
    request: Request,
    session: DbSession,
    principal: StoreConsoleUser,
    code: str,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    store = await _own_store(session, principal, code)
    rows = (values or {}).get("rows") or []
    return render(
        request,
        "admin/pos_replenishment_new.html",
        {
            "store": store,
            "choices": await forms.variant_choices(session, include_inactive=False),
            "rows": rows + [("", "")] * max(0, ROWS - len(rows)),
            "note": (values or {}).get("note", ""),
            "key": forms.new_key(),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/stores/{code}/replenishment/new")
async def new_request_page(request: Request, code: str, session: DbSession, principal: StoreConsoleUser) -> Response:
    return await _new_page(request, session, principal, code)


@router.post("/stores/{code}/replenishment", dependencies=[CsrfProtected])
async def create_request(request: Request, code: str, session: DbSession, principal: StoreConsoleUser) -> Response:
    store = await _own_store(session, principal, code)
    form = await request.form()
    rows = [
        (sku.upper(), raw) for sku, raw in zip(forms.texts(form, "sku"), forms.texts(form, "quantity"), strict=False)
    ]
    values: dict[str, Any] = {"rows": [(s, q) for s, q in rows if s or q], "note": forms.text(form, "note", 200)}

    async def work() -> str:
        lines = []
        for n, (sku, raw) in enumerate(rows, start=1):
            if not sku and not raw:
                continue
            if not sku:
                raise FormError(f"第 {n} 行：请选择商品规格")
            lines.append({"sku": sku, "quantity": forms.parse_decimal_quantity(raw, f"第 {n} 行数量")})
        if not lines:
            raise FormError("补货明细：至少填写一行商品和数量")
        body = replenishment.ReplenishmentIn.model_validate({"lines": lines, "note": values["note"]})
        made = await replenishment.request(session, principal, store, body)
        return forms.url(
            "/admin/pos/replenishment",
            store=store.code,
            notice=f"补货申请 {made.request.number} 已提交，{len(made.lines)} 种商品，等待仓库发货",
        )

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_new_page, request, session, principal, code, values=values), form_errors),
    )
