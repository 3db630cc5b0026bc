"""A company's invoices and credit notes for its buyers and purchasing systems (a buyer signed in,
or the company's API key with scope ``wholesale``): the list, one document with its lines, credit
notes and outstanding amount, and its PDF. Another company's document is a 404, as a missing one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from app.accounts.access import BuyerUser
from app.db import DbSession
from app.kit import clock
from app.wholesale import invoice_schemas as schemas
from app.wholesale import invoices
from app.wholesale.invoice_models import DocumentKind

router = APIRouter(prefix="/api/v1/wholesale/invoices", tags=["wholesale invoices"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "invoice_not_found"}}


def summary_out(doc: invoices.DocumentSummary) -> schemas.InvoiceSummaryOut:
    invoice = doc.invoice
    return schemas.InvoiceSummaryOut(
        number=invoice.number,
        kind=invoice.kind,
        kind_label=doc.kind_zh,
        order=doc.order_number,
        against_invoice=doc.against_number or None,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        total_minor=invoice.total_minor,
        tax_minor=invoice.tax_minor,
        tax_rate_percent=invoice.tax_rate_percent,
        settled_minor=invoice.settled_minor,
        outstanding_minor=doc.outstanding_minor,
        overdue=doc.is_overdue(clock.today()),
    )


@router.get("", response_model=list[schemas.InvoiceSummaryOut])
async def list_invoices(
    session: DbSession,
    principal: BuyerUser,
    kind: Annotated[DocumentKind | None, Query(description="invoice / credit_note；默认两种都列")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[schemas.InvoiceSummaryOut]:
    """The company's own invoices and credit notes, newest first, with what is left to pay."""
    if kind is DocumentKind.proforma:
        return []
    return [summary_out(d) for d in await invoices.company_documents(session, principal, kind=kind, limit=limit)]


# Before "/{number}": a path parameter would take "JS-….pdf" whole.
@router.get(
    "/{number}.pdf", response_class=Response, responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}}}}
)
async def invoice_document(number: str, session: DbSession, principal: BuyerUser) -> Response:
    """销售结算单 / 红字结算单 (A4 PDF) of one of the company's documents."""
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.invoice_pdf import invoice_pdf

    view = await invoices.document_for(session, principal, number)
    pdf = await run_in_threadpool(invoice_pdf, invoices.pdf_data(view))
    headers = {"Content-Disposition": f'inline; filename="{view.invoice.number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/{number}", response_model=schemas.InvoiceOut, responses=NOT_FOUND)
async def get_invoice(number: str, session: DbSession, principal: BuyerUser) -> schemas.InvoiceOut:
    """One of the company's documents with its lines; an invoice with its credit notes."""
    view = await invoices.document_for(session, principal, number)
    return schemas.InvoiceOut(
        **summary_out(view.summary).model_dump(),
        buyer={k: str(v) for k, v in view.invoice.buyer.items()},
        lines=[
            schemas.InvoiceLineOut(
                position=line.position,
                sku=line.sku,
                name=line.name,
                unit=line.unit,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                amount_minor=line.amount_minor,
                note=line.note,
            )
            for line in view.lines
        ],
        credit_notes=[summary_out(n) for n in view.credit_notes],
    )
