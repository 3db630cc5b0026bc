"""Ops console of the tills' shifts: the list (/admin/pos/shifts, by store and China date, newest
first, open ones marked), one shift's X / Z report (/admin/pos/shifts/{id}) and its A4 PDF, a store
manager confirming a variance left pending by an offline close, and any sale's receipt PDF
(/admin/pos/sales/{number}/receipt.pdf, reprinted from the console).

Admins see every store; a store manager (signed in on a page) only the stores it runs — the
services refuse another store's shift or sale (``app.pos.console_access``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.accounts.access import StoreConsoleUser
from app.db import DbSession
from app.kit.errors import AppError
from app.pos import receipts, sales_console, shift_console, shift_labels, stores
from app.pos.sale_models import TENDER_NAMES_ZH
from app.web import forms
from app.web.admin import back
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/pos", include_in_schema=False)


@router.get("/shifts")
async def shifts_page(
    request: Request,
    session: DbSession,
    principal: StoreConsoleUser,
    store: Annotated[str, Query(max_length=20)] = "",
    date: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    chosen = await stores.store_or_404(session, store) if store else None
    day = forms.parse_date(date.strip(), "日期")
    return render(
        request,
        "admin/pos_shifts.html",
        {
            "rows": await shift_console.shift_list(session, principal, store=chosen, day=day),
            "stores": await sales_console.stores_in_reach(session, principal),
            "filters": {"store": chosen.code if chosen else "", "date": day.isoformat() if day else ""},
        },
    )


async def _shift_page(
    request: Request,
    session: DbSession,
    principal: StoreConsoleUser,
    shift_id: int,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/pos_shift.html",
        {
            "report": await shift_console.report(session, principal, shift_id),
            "variance_labels": shift_labels.VARIANCE_ZH,
            "wallets": TENDER_NAMES_ZH,
            "units": shift_labels.UNITS_ZH,
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/shifts/{shift_id}")
async def shift_page(
    request: Request,
    shift_id: int,
    session: DbSession,
    principal: StoreConsoleUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _shift_page(request, session, principal, shift_id, notice=notice)


@router.get("/shifts/{shift_id}/z.pdf")
async def shift_pdf(request: Request, shift_id: int, session: DbSession, principal: StoreConsoleUser) -> Response:
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.pos import z_report

    found = await shift_console.report(session, principal, shift_id)
    settings = request.app.state.settings
    content = await run_in_threadpool(z_report.z_report_pdf, found.figures, settings)
    return receipts.inline_pdf(receipts.Document(content, f"shift-{found.figures.shift_number}.pdf"))


@router.post("/shifts/{shift_id}/confirm-variance", dependencies=[CsrfProtected])
async def confirm_variance(
    request: Request, shift_id: int, session: DbSession, principal: StoreConsoleUser
) -> Response:
    """A manager of the store confirms the variance an offline close left pending (idempotent)."""
    try:
        await shift_console.confirm_variance(session, principal, shift_id)
    except AppError as exc:
        await session.rollback()
        return await _shift_page(request, session, principal, shift_id, errors=[exc.text], status_code=exc.status_code)
    return back(f"/admin/pos/shifts/{shift_id}", "差额已确认")


@router.get("/sales/{number}/receipt.pdf")
async def sale_receipt_pdf(
    request: Request,
    number: str,
    session: DbSession,
    principal: StoreConsoleUser,
    width: Annotated[receipts.RollWidth, Query()] = receipts.RollWidth.wide,
) -> Response:
    """Reprint any receipt the user may see (a manager: its stores' sales)."""
    settings = request.app.state.settings
    return receipts.inline_pdf(await receipts.console_receipt_document(session, principal, settings, number, width))
