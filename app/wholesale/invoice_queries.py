"""All SQL of reading stored invoices and credit notes: one document by number (a company's own
only, when given), its lines and credit notes, the invoice of an order, the lists of the portal
and the console, and a company's unpaid invoice balances for its credit exposure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.accounts.models import BuyerCompany
from app.orders.models import Order
from app.wholesale.invoice_models import DocumentKind, WholesaleInvoice, WholesaleInvoiceLine

# A document with its order's number, the number of the invoice it reduces ("" for an invoice)
# and its company's name.
DocumentRow = tuple[WholesaleInvoice, str, str, str]

_Against = aliased(WholesaleInvoice)
# What the portal, the API and the console show: invoices and credit notes (pro-formas are not debts).
LISTED_KINDS = (DocumentKind.invoice.value, DocumentKind.credit_note.value)


def _documents() -> Select[WholesaleInvoice, str, str, str]:
    return (
        select(WholesaleInvoice, Order.number, func.coalesce(_Against.number, ""), BuyerCompany.name)
        .join(Order, Order.id == WholesaleInvoice.order_id)
        .join(BuyerCompany, BuyerCompany.id == WholesaleInvoice.company_id)
        .outerjoin(_Against, _Against.id == WholesaleInvoice.against_invoice_id)
        .execution_options(populate_existing=True)
    )


def _rows(result: Sequence[Row[WholesaleInvoice, str, str, str]]) -> list[DocumentRow]:
    return [(doc, order, against, company) for doc, order, against, company in result]


async def document(session: AsyncSession, number: str, company_id: int | None) -> DocumentRow | None:
    """One invoice or credit note by number — of ``company_id`` only when given (a buyer)."""
    stmt = _documents().where(WholesaleInvoice.number == number, WholesaleInvoice.kind.in_(LISTED_KINDS))
    if company_id is not None:
        stmt = stmt.where(WholesaleInvoice.company_id == company_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def lines_of(session: AsyncSession, invoice_id: int) -> Sequence[WholesaleInvoiceLine]:
    return (
        await session.scalars(
            select(WholesaleInvoiceLine)
            .where(WholesaleInvoiceLine.invoice_id == invoice_id)
            .order_by(WholesaleInvoiceLine.position)
        )
    ).all()


async def credit_notes_of(session: AsyncSession, invoice_id: int) -> list[DocumentRow]:
    stmt = _documents().where(WholesaleInvoice.against_invoice_id == invoice_id).order_by(WholesaleInvoice.id)
    return _rows((await session.execute(stmt)).all())


async def invoice_of_order(session: AsyncSession, order_id: int) -> WholesaleInvoice | None:
    found: WholesaleInvoice | None = await session.scalar(
        select(WholesaleInvoice).where(
            WholesaleInvoice.order_id == order_id, WholesaleInvoice.kind == DocumentKind.invoice.value
        )
    )
    return found


async def documents(
    session: AsyncSession,
    *,
    company_id: int | None,
    kind: DocumentKind | None = None,
    open_only: bool = False,
    overdue_on: date | None = None,
    limit: int = 200,
) -> list[DocumentRow]:
    """Invoices and credit notes, newest first: of one company when given; ``open_only`` keeps
    invoices with something left to pay, ``overdue_on`` those of them due before that date."""
    stmt = _documents().where(WholesaleInvoice.kind.in_(LISTED_KINDS))
    if company_id is not None:
        stmt = stmt.where(WholesaleInvoice.company_id == company_id)
    if kind is not None:
        stmt = stmt.where(WholesaleInvoice.kind == kind.value)
    if open_only or overdue_on is not None:
        stmt = stmt.where(
            WholesaleInvoice.kind == DocumentKind.invoice.value,
            WholesaleInvoice.settled_minor < WholesaleInvoice.total_minor,
        )
    if overdue_on is not None:
        stmt = stmt.where(WholesaleInvoice.due_date < overdue_on)
    stmt = stmt.order_by(WholesaleInvoice.issue_date.desc(), WholesaleInvoice.id.desc()).limit(limit)
    return _rows((await session.execute(stmt)).all())


async def company_choices(session: AsyncSession) -> list[tuple[int, str]]:
    """Companies with invoices, by name (the console's company filter)."""
    stmt = (
        select(BuyerCompany.id, BuyerCompany.name)
        .where(BuyerCompany.id.in_(select(WholesaleInvoice.company_id).distinct()))
        .order_by(BuyerCompany.name)
    )
    return [(i, n) for i, n in (await session.execute(stmt)).all()]
