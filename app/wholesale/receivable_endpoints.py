"""A company's money on account for its purchasing system (a buyer signed in, or the company's API
key with scope ``wholesale``): the monthly statement as JSON figures, PDF or XLSX, and the
pro-forma of a prepay order. Only the principal's own company: there is no company parameter, and
another company's order is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from app.accounts.access import BuyerUser
from app.db import DbSession
from app.wholesale import receivables
from app.wholesale.document_data import StatementData
from app.wholesale.invoicing import AGEING_BUCKETS, ageing, days_overdue, statement_figures
from app.wholesale.receivable_schemas import AgeingOut, OpenItemOut, StatementEntryOut, StatementOut

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
