"""A company's money on account for its purchasing system (a buyer signed in, or the company's API
key with scope ``wholesale``): the monthly statement as JSON figures, PDF or XLSX, and the
pro-forma of a prepay order. Only the principal's own company: there is no company parameter, and
another company's order is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from app.accounts.access import AdminUser, BuyerUser
from app.db import DbSession
from app.wholesale import receivables
from app.wholesale.document_data import StatementData
from app.wholesale.invoice_models import WholesalePayment
from app.wholesale.invoicing import AGEING_BUCKETS, ageing, days_overdue, statement_figures
from app.wholesale.receivable_schemas import (
    AgeingOut,
    AllocationOut,
    OpenItemOut,
    PaymentIn,
    PaymentOut,
    ReceivableRowOut,
    ReceivablesOut,
    StatementEntryOut,
    StatementOut,
    TransferConfirmedOut,
)

router = APIRouter(prefix="/api/v1/wholesale", tags=["wholesale money"])

Month = Annotated[str, Query(max_length=7, description="YYYY-MM（中国时间的月份，不晚于本月）")]
STATEMENT_ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "statement_month_invalid"}}
PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}


def statement_out(data: StatementData) -> StatementOut:
    figures = statement_figures(data.opening_balance_minor, data.entries)
    aged = ageing(data.open_items, data.as_of)
    return StatementOut(
        number=data.number,
        month=f"{data.period_start:%Y-%m}",
        period_start=data.period_start,
        period_end=data.period_end,
        currency=data.currency,
        payment_terms=data.payment_terms,
        credit_limit_minor=data.credit_limit_minor,
        opening_balance_minor=figures.opening_minor,
        invoiced_minor=figures.invoiced_minor,
        credited_minor=figures.credited_minor,
        paid_minor=figures.paid_minor,
        closing_balance_minor=figures.closing_minor,
        unallocated_minor=figures.closing_minor - aged.total_minor,
        entries=[
            StatementEntryOut(
                day=row.entry.day,
                kind=row.entry.kind.value,
                kind_label=row.entry.kind.label_zh,
                reference=row.entry.reference,
                due_date=row.entry.due_date,
                debit_minor=row.debit_minor,
                credit_minor=row.credit_minor,
                balance_minor=row.balance_minor,
                note=row.entry.note,
            )
            for row in figures.rows
        ],
        open_items=[
            OpenItemOut(
                number=item.number,
                issue_date=item.issue_date,
                due_date=item.due_date,
                outstanding_minor=item.outstanding_minor,
                days_overdue=days_overdue(item.due_date, data.as_of),
            )
            for item in data.open_items
        ],
        ageing=AgeingOut(
            as_of=aged.as_of,
            labels=list(AGEING_BUCKETS),
            buckets_minor=list(aged.buckets),
            total_minor=aged.total_minor,
            overdue_minor=aged.overdue_minor,
        ),
    )


def file_response(file: receivables.DocumentFile) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{file.filename}"'}
    return Response(file.content, media_type=file.media_type, headers=headers)


@router.get("/statement", response_model=StatementOut, responses=STATEMENT_ERRORS)
async def statement(session: DbSession, principal: BuyerUser, month: Month) -> StatementOut:
    """月度对账单 of the company: opening balance, the month's invoices, credit notes and payments with
    the running balance, the closing balance, and the open invoices aged on the month's last day
    (today, for the current month)."""
    return statement_out(await receivables.statement_for(session, principal, month))


@router.get(
    "/statement.{fmt}",
    response_class=Response,
    responses={
        **STATEMENT_ERRORS,
        404: {"description": "statement_format_unknown"},
        200: {"content": {"application/pdf": {}, receivables.XLSX_TYPE: {}}},
    },
)
async def statement_document(fmt: str, session: DbSession, principal: BuyerUser, month: Month) -> Response:
    """The statement as ``statement.pdf`` or ``statement.xlsx`` (amounts are numbers in the workbook)."""
    data = await receivables.statement_for(session, principal, month)
    return file_response(await run_in_threadpool(receivables.statement_file, data, fmt))


@router.get(
    "/orders/{number}/proforma.pdf",
    response_class=Response,
    responses={404: {"description": "wholesale_order_not_found / proforma_not_found"}, **PDF},
)
async def proforma(number: str, session: DbSession, principal: BuyerUser) -> Response:
    """形式发票 of a prepay order: the amount to transfer by the trip's cut-off day, and where to."""
    document = await receivables.proforma_document(session, principal, number)
    return file_response(await run_in_threadpool(receivables.proforma_file, document))


# ---- the centre (admins) ------------------------------------------------------------------------

admin = APIRouter(prefix="/api/v1/admin/wholesale", tags=["wholesale admin"])
PAYMENT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "company_not_found"},
    409: {"description": "payment_reference_taken（同一笔转账已登记过）"},
    422: {"description": "payment_date_invalid / payment_amount_invalid / validation_error"},
}


def new_payment(body: PaymentIn) -> receivables.NewPayment:
    return receivables.NewPayment(body.amount_minor, body.received_on, body.reference, body.note)


async def payment_out(session: DbSession, payment: WholesalePayment) -> PaymentOut:
    views = await receivables.payment_views(session, [payment])
    return PaymentOut(
        id=payment.id,
        company_id=payment.company_id,
        received_on=payment.received_on,
        amount_minor=payment.amount_minor,
        reference=payment.reference,
        allocated_minor=payment.allocated_minor,
        unallocated_minor=payment.unallocated_minor,
        note=payment.note,
        allocations=[AllocationOut(invoice=n, amount_minor=a, allocated_on=d) for n, a, d in views[0].allocations],
    )


@admin.get("/receivables", response_model=ReceivablesOut)
async def aged_receivables(session: DbSession, _: AdminUser) -> ReceivablesOut:
    """Every company's open invoices by days past due today (China time), with the totals."""
    report = await receivables.aged_receivables(session)
    return ReceivablesOut(
        as_of=report.as_of,
        labels=list(AGEING_BUCKETS),
        rows=[
            ReceivableRowOut(
                company_id=row.company.id,
                company=row.company.name,
                buckets_minor=list(row.ageing.buckets),
                total_minor=row.ageing.total_minor,
                overdue_minor=row.ageing.overdue_minor,
                unallocated_minor=row.unallocated_minor,
                oldest_due=row.oldest_due,
            )
            for row in report.rows
        ],
        totals_minor=list(report.totals.buckets),
        total_minor=report.totals.total_minor,
        unallocated_minor=report.unallocated_minor,
    )


@admin.post(
    "/companies/{company_id}/payments",
    response_model=PaymentOut,
    status_code=status.HTTP_201_CREATED,
    responses=PAYMENT_ERRORS,
)
async def record_payment(company_id: int, body: PaymentIn, session: DbSession, actor: AdminUser) -> PaymentOut:
    """Record a bank transfer of the company: set against its open invoices oldest due first in the
    same transaction; what is left waits for the next invoice."""
    payment = await receivables.record_payment(session, actor, company_id, new_payment(body))
    return await payment_out(session, payment)


@admin.get("/companies/{company_id}/statement", response_model=StatementOut, responses=STATEMENT_ERRORS)
async def company_statement(company_id: int, session: DbSession, _: AdminUser, month: Month) -> StatementOut:
    return statement_out(await receivables.statement_data(session, company_id, receivables.parse_month(month)))


@admin.post(
    "/orders/{number}/transfer",
    response_model=TransferConfirmedOut,
    responses={
        **PAYMENT_ERRORS,
        404: {"description": "wholesale_order_not_found"},
        409: {"description": "order_not_awaiting_transfer / payment_reference_taken"},
        422: {"description": "transfer_short（detail.short_minor = 还差的金额）/ validation_error"},
    },
)
async def confirm_transfer(number: str, body: PaymentIn, session: DbSession, actor: AdminUser) -> TransferConfirmedOut:
    """A prepay order's transfer arrived: record it and confirm the order (its stock stays held for the trip)."""
    order, payment = await receivables.confirm_transfer(session, actor, number, new_payment(body))
    return TransferConfirmedOut(
        order=order.number, status=order.status.value, payment=await payment_out(session, payment)
    )
