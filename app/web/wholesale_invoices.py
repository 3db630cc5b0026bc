"""Buyer portal: the company's invoices and credit notes (/wholesale/invoices), one document with
its lines (an invoice with its credit notes, a credit note with the invoice it reduces) and its
PDF. A buyer sees its own company's only: another company's number is a 404, as a missing one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.accounts.access import BuyerUser
from app.db import DbSession
from app.kit import clock
from app.web.templating import render
from app.wholesale import invoices

router = APIRouter(prefix="/wholesale/invoices", include_in_schema=False)


@router.get("")
async def invoices_page(request: Request, session: DbSession, principal: BuyerUser) -> Response:
    """The company's invoices and credit notes, newest first, with what is left to pay."""
    documents = await invoices.company_documents(session, principal)
    today = clock.today()
    return render(
        request,
        "wholesale/portal_invoices.html",
        {
            "documents": documents,
            "today": today,
            "outstanding": sum(d.outstanding_minor for d in documents if d.kind.value == "invoice"),
            "overdue": sum(d.outstanding_minor for d in documents if d.is_overdue(today)),
        },
    )


# Before "/{number}": a path parameter would take "JS-….pdf" whole.
@router.get("/{number}.pdf")
async def invoice_document(number: str, session: DbSession, principal: BuyerUser) -> Response:
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.invoice_pdf import invoice_pdf

    view = await invoices.document_for(session, principal, number)
    pdf = await run_in_threadpool(invoice_pdf, invoices.pdf_data(view))
    headers = {"Content-Disposition": f'inline; filename="{view.invoice.number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/{number}")
async def invoice_page(request: Request, number: str, session: DbSession, principal: BuyerUser) -> Response:
    view = await invoices.document_for(session, principal, number)
    return render(request, "wholesale/portal_invoice.html", {"view": view, "today": clock.today()})
