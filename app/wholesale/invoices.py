"""Reading stored invoices and credit notes: a buyer's (or its company key's) own only — another
company's document is a 404, as a missing one — and the console's list of every company's.

A document's **outstanding** is abs(total) − settled; an invoice is **overdue** when its due date
is before today (China time) and something is outstanding. A credit note shows the invoice it
reduces; an invoice lists its credit notes. The PDF prints what was stored (the buyer's 发票
details as they were when issued).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.config import get_settings
from app.kit import clock
from app.kit.quantities import Unit
from app.wholesale import invoice_queries as queries
from app.wholesale.document_data import InvoiceDocument, InvoiceKind, InvoiceLine, Party, service_centre_party
from app.wholesale.invoice_errors import InvoiceNotFound
from app.wholesale.invoice_models import DocumentKind, WholesaleInvoice, WholesaleInvoiceLine

PARTY_FIELDS = frozenset(f.name for f in fields(Party))
KIND_ZH = {DocumentKind.invoice.value: "销售结算单", DocumentKind.credit_note.value: "红字结算单"}


@dataclass(frozen=True)
class DocumentSummary:
    """One invoice or credit note as lists show it."""

    invoice: WholesaleInvoice
    order_number: str
    against_number: str  # the invoice a credit note reduces; "" for an invoice
    company_name: str

    @property
    def number(self) -> str:
        return self.invoice.number

    @property
    def kind(self) -> DocumentKind:
        return DocumentKind(self.invoice.kind)

    @property
    def kind_zh(self) -> str:
        return KIND_ZH[self.invoice.kind]

    @property
    def outstanding_minor(self) -> int:
        """What is left to pay of an invoice; what is left to set against invoices of a credit note."""
        return self.invoice.outstanding_minor

    def is_overdue(self, today: date | None = None) -> bool:
        due = self.invoice.due_date
        return (
            self.kind is DocumentKind.invoice
            and due is not None
            and due < (today or clock.today())
            and self.outstanding_minor > 0
        )


@dataclass(frozen=True)
class DocumentView:
    summary: DocumentSummary
    lines: tuple[WholesaleInvoiceLine, ...]
    credit_notes: tuple[DocumentSummary, ...]  # of an invoice

    @property
    def invoice(self) -> WholesaleInvoice:
        return self.summary.invoice


def _summary(row: queries.DocumentRow) -> DocumentSummary:
    return DocumentSummary(*row)


async def _view(session: AsyncSession, row: queries.DocumentRow) -> DocumentView:
    summary = _summary(row)
    notes = await queries.credit_notes_of(session, summary.invoice.id)
    return DocumentView(
        summary,
        tuple(await queries.lines_of(session, summary.invoice.id)),
        tuple(_summary(n) for n in notes),
    )


async def company_documents(
    session: AsyncSession, principal: Principal, *, kind: DocumentKind | None = None, limit: int = 200
) -> list[DocumentSummary]:
    """The principal's company's invoices and credit notes, newest first (only its own)."""
    if principal.company_id is None:
        return []
    rows = await queries.documents(session, company_id=principal.company_id, kind=kind, limit=limit)
    return [_summary(row) for row in rows]


async def document_for(session: AsyncSession, principal: Principal, number: str) -> DocumentView:
    """One invoice or credit note of the principal's company; another company's is a 404."""
    row = await queries.document(session, number, principal.company_id) if principal.company_id else None
    if row is None:
        raise InvoiceNotFound(detail={"invoice": number})
    return await _view(session, row)


async def staff_document(session: AsyncSession, number: str) -> DocumentView:
    row = await queries.document(session, number, None)
    if row is None:
        raise InvoiceNotFound(detail={"invoice": number})
    return await _view(session, row)


async def invoice_of_order(session: AsyncSession, order_id: int) -> WholesaleInvoice | None:
    """The invoice of a delivered order (None before delivery)."""
    return await queries.invoice_of_order(session, order_id)


def pdf_data(view: DocumentView) -> InvoiceDocument:
    """The stored document as the renderer (``invoice_pdf``) prints it."""
    invoice = view.invoice
    kind = InvoiceKind(invoice.kind)
    return InvoiceDocument(
        kind=kind,
        number=invoice.number,
        issue_date=invoice.issue_date,
        seller=service_centre_party(get_settings()),
        buyer=Party(**{k: str(v) for k, v in invoice.buyer.items() if k in PARTY_FIELDS}),
        order_number=view.summary.order_number,
        lines=tuple(
            InvoiceLine(
                sku=line.sku,
                name=line.name,
                unit=Unit(line.unit),
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                note=line.note,
            )
            for line in view.lines
        ),
        tax_rate_percent=invoice.tax_rate_percent,
        due_date=invoice.due_date,
        against_number=view.summary.against_number,
        payment_instructions=(
            f"付款时请在银行转账附言中注明结算单号 {invoice.number}" if kind is InvoiceKind.invoice else ""
        ),
    )


# ---- the console --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleList:
    documents: tuple[DocumentSummary, ...]
    invoiced_minor: int  # the listed invoices' totals
    credited_minor: int  # the listed credit notes' amounts (positive)
    outstanding_minor: int  # what is left to pay of the listed invoices
    overdue_minor: int


async def console_documents(
    session: AsyncSession,
    *,
    company_id: int | None = None,
    kind: DocumentKind | None = None,
    state: str = "",
    limit: int = 500,
) -> ConsoleList:
    """Every company's invoices and credit notes, newest first; ``state`` ``open`` keeps invoices
    with something left to pay, ``overdue`` those past their due date. With the list's totals."""
    today = clock.today()
    rows = await queries.documents(
        session,
        company_id=company_id,
        kind=kind,
        open_only=state == "open",
        overdue_on=today if state == "overdue" else None,
        limit=limit,
    )
    docs = tuple(_summary(row) for row in rows)
    invoices = [d for d in docs if d.kind is DocumentKind.invoice]
    return ConsoleList(
        documents=docs,
        invoiced_minor=sum(d.invoice.total_minor for d in invoices),
        credited_minor=sum(-d.invoice.total_minor for d in docs if d.kind is DocumentKind.credit_note),
        outstanding_minor=sum(d.outstanding_minor for d in invoices),
        overdue_minor=sum(d.outstanding_minor for d in invoices if d.is_overdue(today)),
    )


async def company_choices(session: AsyncSession) -> list[tuple[int, str]]:
    return await queries.company_choices(session)
