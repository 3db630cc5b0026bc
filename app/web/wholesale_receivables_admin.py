"""Ops console: money on account (/admin/wholesale/receivables), for admins (the centre's staff who
handle money).

- The aged receivables: every company with an open invoice or money not yet set against one, its
  open invoices by days past due (``invoicing.ageing`` buckets), a totals row, overdue highlighted.
- A company's account (/admin/wholesale/receivables/{company_id}): open invoices, payments with
  what each was set against, the record-payment form (allocated oldest due first, automatically),
  the prepay orders waiting for their transfer with a confirm form each, and statement downloads.

Each form post runs once per rendered form (its idempotency key); a refusal (a transfer entered
twice, a short transfer with the difference, a bad amount) shows the page again with what was typed.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.accounts.access import AdminUser
from app.db import DbSession
from app.kit import clock
from app.web import forms
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render
from app.web.wholesale_money_portal import document_response
from app.wholesale import receivables
from app.wholesale.invoicing import AGEING_BUCKETS, days_overdue

router = APIRouter(prefix="/admin/wholesale/receivables", include_in_schema=False)
PAYMENT_FIELDS = ("amount", "received_on", "reference", "note")


@router.get("")
async def receivables_page(request: Request, session: DbSession, _: AdminUser) -> Response:
    """Aged receivables per company, with a totals row."""
    return render(
        request,
        "admin/wholesale_receivables.html",
        {"report": await receivables.aged_receivables(session), "buckets": AGEING_BUCKETS},
    )


async def _render_account(
    request: Request,
    session: DbSession,
    company_id: int,
    *,
    typed: dict[str, str] | None = None,
    transfer_typed: dict[str, dict[str, str]] | None = None,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    account = await receivables.company_account(session, company_id)
    today = clock.today()
    return render(
        request,
        "admin/wholesale_receivable_company.html",
        {
            "account": account,
            "buckets": AGEING_BUCKETS,
            "today": today,
            "days_overdue": days_overdue,
            "months": [f"{m:%Y-%m}" for m in receivables.recent_months()],
            "typed": typed or {"received_on": today.isoformat()},
            "transfer_typed": transfer_typed or {},
            "payment_key": forms.new_key(),
            "transfer_keys": {order.number: forms.new_key() for order, _ in account.awaiting_transfer},
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/{company_id}")
async def account_page(
    request: Request,
    company_id: int,
    session: DbSession,
    _: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _render_account(request, session, company_id, notice=notice)


def _payment(form: FormData) -> receivables.NewPayment:
    received = forms.parse_required_date(forms.text(form, "received_on", 10), "到账日期")
    return receivables.NewPayment(
        amount_minor=forms.parse_fen(forms.text(form, "amount", 20), "金额"),
        received_on=received,
        reference=forms.required(forms.text(form, "reference", 60), "转账参考号"),
        note=forms.text(form, "note", 300),
    )


def _typed(form: FormData) -> dict[str, str]:
    return {name: forms.text(form, name, 300) for name in PAYMENT_FIELDS}


@router.post("/{company_id}/payments", dependencies=[CsrfProtected])
async def record_payment(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    """Record a bank transfer of the company; it is set against its open invoices, oldest due first."""
    form = await request.form()

    async def work() -> str:
        payment = await receivables.record_payment(session, principal, company_id, _payment(form))
        notice = (
            f"已登记收款 {receivables.yuan(payment.amount_minor)}（{payment.reference}），"
            f"冲抵结算单 {receivables.yuan(payment.allocated_minor)}，"
            f"未冲抵 {receivables.yuan(payment.unallocated_minor)}"
        )
        return forms.url(f"/admin/wholesale/receivables/{company_id}", notice=notice)

    rerender = functools.partial(_render_account, request, session, company_id, typed=_typed(form))
    return await forms.submit(
        session, lambda: forms.once(session, request, principal, form, work), forms.show_again(rerender, page_errors)
    )


@router.post("/{company_id}/transfers/{number}", dependencies=[CsrfProtected])
async def confirm_transfer(
    request: Request, company_id: int, number: str, session: DbSession, principal: AdminUser
) -> Response:
    """Staff saw a prepay order's transfer arrive: record it and confirm the order."""
    form = await request.form()

    async def work() -> str:
        order, payment = await receivables.confirm_transfer(session, principal, number, _payment(form))
        notice = f"订单 {order.number} 已确认：收到转账 {receivables.yuan(payment.amount_minor)}（{payment.reference}）"
        return forms.url(f"/admin/wholesale/receivables/{company_id}", notice=notice)

    rerender = functools.partial(_render_account, request, session, company_id, transfer_typed={number: _typed(form)})
    return await forms.submit(
        session, lambda: forms.once(session, request, principal, form, work), forms.show_again(rerender, page_errors)
    )


@router.get("/{company_id}/statements/{month}.{fmt}")
async def statement_document(company_id: int, month: str, fmt: str, session: DbSession, _: AdminUser) -> Response:
    data = await receivables.statement_data(session, company_id, receivables.parse_month(month))
    return document_response(await run_in_threadpool(receivables.statement_file, data, fmt))
