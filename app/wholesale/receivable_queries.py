"""The SQL of receivables: payments, allocations, open and overdue invoices, statement sums,
ageing across companies, pro-formas (see ``app.wholesale.receivables`` for the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ScalarSelect

from app.accounts.models import BuyerCompany
from app.kit.models import in_statement
from app.orders.models import Order, OrderStatus
from app.supply.models import Reservation, ReservationStatus
from app.wholesale.invoice_models import (
    Allocation,
    DocumentKind,
    WholesaleInvoice,
    WholesaleInvoiceLine,
    WholesalePayment,
)
from app.wholesale.models import CreditState, WholesaleOrder

INVOICE = DocumentKind.invoice.value
CREDIT_NOTE = DocumentKind.credit_note.value
PROFORMA = DocumentKind.proforma.value


async def payment_with_reference(session: AsyncSession, company_id: int, reference: str) -> WholesalePayment | None:
    return await session.scalar(
        select(WholesalePayment).where(
            WholesalePayment.company_id == company_id, WholesalePayment.reference == reference
        )
    )


async def add(session: AsyncSession, row: WholesalePayment | WholesaleInvoice | WholesaleInvoiceLine) -> None:
    session.add(row)
    await session.flush()


async def open_invoices(
    session: AsyncSession, company_id: int, *, for_update: bool = False
) -> Sequence[WholesaleInvoice]:
    """The company's invoices not paid in full, oldest due first (then issued, then id)."""
    stmt = (
        select(WholesaleInvoice)
        .where(
            WholesaleInvoice.company_id == company_id,
            # Written into the SQL, as in the credit check's sums: the open invoices' partial
            # index, not the company's whole history, in the generic plan (a payment's allocation).
            WholesaleInvoice.kind == in_statement(DocumentKind.invoice),
            WholesaleInvoice.settled_minor < WholesaleInvoice.total_minor,
        )
        .order_by(WholesaleInvoice.due_date, WholesaleInvoice.issue_date, WholesaleInvoice.id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).all()


async def unapplied_credit_notes(session: AsyncSession, company_id: int) -> Sequence[WholesaleInvoice]:
    """Credit notes with some of their amount not yet set against an invoice, oldest first, locked."""
    return (
        await session.scalars(
            select(WholesaleInvoice)
            .where(
                WholesaleInvoice.company_id == company_id,
                WholesaleInvoice.kind == in_statement(DocumentKind.credit_note),  # its partial index
                WholesaleInvoice.settled_minor < -WholesaleInvoice.total_minor,
            )
            .order_by(WholesaleInvoice.issue_date, WholesaleInvoice.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()


async def unallocated_payments(session: AsyncSession, company_id: int) -> Sequence[WholesalePayment]:
    """Payments with money not yet set against an invoice, oldest received first, locked."""
    return (
        await session.scalars(
            select(WholesalePayment)
            .where(
                WholesalePayment.company_id == company_id,
                WholesalePayment.allocated_minor < WholesalePayment.amount_minor,
            )
            .order_by(WholesalePayment.received_on, WholesalePayment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()


async def allocate(
    session: AsyncSession,
    invoice: WholesaleInvoice,
    source: WholesalePayment | WholesaleInvoice,
    amount_minor: int,
    *,
    on: date,
    now: datetime,
) -> None:
    """Set ``amount_minor`` of a payment or credit note against ``invoice``: the allocation row and
    both running figures move together (the checks on the tables refuse any overshoot)."""
    settled = invoice.settled_minor + amount_minor
    await session.execute(
        update(WholesaleInvoice)
        .where(WholesaleInvoice.id == invoice.id)
        .values(
            settled_minor=WholesaleInvoice.settled_minor + amount_minor,
            settled_at=now if settled >= invoice.total_minor else None,
        )
    )
    if isinstance(source, WholesalePayment):
        await session.execute(
            update(WholesalePayment)
            .where(WholesalePayment.id == source.id)
            .values(allocated_minor=WholesalePayment.allocated_minor + amount_minor)
        )
        row = Allocation(invoice_id=invoice.id, payment_id=source.id, amount_minor=amount_minor, allocated_on=on)
    else:
        await session.execute(
            update(WholesaleInvoice)
            .where(WholesaleInvoice.id == source.id)
            .values(settled_minor=WholesaleInvoice.settled_minor + amount_minor)
        )
        row = Allocation(invoice_id=invoice.id, credit_note_id=source.id, amount_minor=amount_minor, allocated_on=on)
    session.add(row)
    await session.flush()


def _overdue(
    company_id: int | ColumnElement[int], today: date | ColumnElement[date]
) -> tuple[ColumnElement[bool], ...]:
    """The company's invoices due before ``today`` with something left to pay (on the table's
    columns, so a Core statement built from it stays off the ORM's execution)."""
    invoices = _invoices()
    return (
        invoices.c.company_id == company_id,
        invoices.c.kind == in_statement(DocumentKind.invoice),  # the open invoices' partial index
        invoices.c.settled_minor < invoices.c.total_minor,
        invoices.c.due_date < today,
    )


def _invoices() -> Table:
    return cast(Table, WholesaleInvoice.__table__)


async def overdue_invoices(session: AsyncSession, company_id: int, today: date) -> Sequence[WholesaleInvoice]:
    return (
        await session.scalars(
            select(WholesaleInvoice)
            .where(*_overdue(company_id, today))
            .order_by(WholesaleInvoice.due_date, WholesaleInvoice.id)
        )
    ).all()


def overdue_count_of(company_id: int | ColumnElement[int], today: date | ColumnElement[date]) -> ScalarSelect[int]:
    """How many of the company's invoices are overdue (:func:`overdue_invoices`), as an expression."""
    return select(func.count()).where(*_overdue(company_id, today)).scalar_subquery()


def balance_owed_of(company_id: int | ColumnElement[int]) -> ColumnElement[int]:
    """What the company's invoices still owe, less money it has with the centre not yet set against
    one (unallocated payments, credit notes not applied): one SQL expression (three sums), so the
    credit check of an order reads it in the same statement as the company's open orders (on the
    tables' columns, as :func:`_overdue`)."""
    table = _invoices()
    payments = cast(Table, WholesalePayment.__table__)
    # Each sum reads only the rows with something left (a settled invoice, an applied credit note,
    # an allocated payment adds 0), through a partial index of those rows with the kind written in
    # the SQL: reading every invoice and payment of the company's history, under its turn, grew with
    # each delivery (issue 15; ``tests/wholesale/test_generic_plans.py``).
    invoices = (
        select(func.coalesce(func.sum(table.c.total_minor - table.c.settled_minor), 0))
        .where(
            table.c.company_id == company_id,
            table.c.kind == in_statement(DocumentKind.invoice),
            table.c.settled_minor < table.c.total_minor,
        )
        .scalar_subquery()
    )
    credits = (
        select(func.coalesce(func.sum(-table.c.total_minor - table.c.settled_minor), 0))
        .where(
            table.c.company_id == company_id,
            table.c.kind == in_statement(DocumentKind.credit_note),
            table.c.settled_minor < -table.c.total_minor,
        )
        .scalar_subquery()
    )
    unallocated = (
        select(func.coalesce(func.sum(payments.c.amount_minor - payments.c.allocated_minor), 0))
        .where(payments.c.company_id == company_id, payments.c.allocated_minor < payments.c.amount_minor)
        .scalar_subquery()
    )
    return invoices - credits - unallocated


# ---- statements -----------------------------------------------------------------------------------


async def balance_before(session: AsyncSession, company_id: int, day: date) -> int:
    """Invoices − credit notes − payments dated before ``day`` (credit note totals are negative)."""
    documents = await session.scalar(
        select(func.coalesce(func.sum(WholesaleInvoice.total_minor), 0)).where(
            WholesaleInvoice.company_id == company_id,
            WholesaleInvoice.kind.in_((INVOICE, CREDIT_NOTE)),
            WholesaleInvoice.issue_date < day,
        )
    )
    paid = await session.scalar(
        select(func.coalesce(func.sum(WholesalePayment.amount_minor), 0)).where(
            WholesalePayment.company_id == company_id, WholesalePayment.received_on < day
        )
    )
    return int(documents or 0) - int(paid or 0)


async def documents_between(
    session: AsyncSession, company_id: int, first: date, last: date
) -> Sequence[WholesaleInvoice]:
    return (
        await session.scalars(
            select(WholesaleInvoice)
            .where(
                WholesaleInvoice.company_id == company_id,
                WholesaleInvoice.kind.in_((INVOICE, CREDIT_NOTE)),
                WholesaleInvoice.issue_date.between(first, last),
            )
            .order_by(WholesaleInvoice.issue_date, WholesaleInvoice.id)
        )
    ).all()


async def payments_between(
    session: AsyncSession, company_id: int, first: date, last: date
) -> Sequence[WholesalePayment]:
    return (
        await session.scalars(
            select(WholesalePayment)
            .where(WholesalePayment.company_id == company_id, WholesalePayment.received_on.between(first, last))
            .order_by(WholesalePayment.received_on, WholesalePayment.id)
        )
    ).all()


async def open_as_of(
    session: AsyncSession, as_of: date, company_id: int | None = None
) -> Sequence[tuple[WholesaleInvoice, int]]:
    """Invoices issued by ``as_of`` with something left on that day (total less what was set
    against them by then), with that amount; oldest due first. One company, or all of them."""
    settled = (
        select(Allocation.invoice_id, func.sum(Allocation.amount_minor).label("amount"))
        .where(Allocation.allocated_on <= as_of)
        .group_by(Allocation.invoice_id)
        .subquery()
    )
    left = WholesaleInvoice.total_minor - func.coalesce(settled.c.amount, 0)
    stmt = (
        select(WholesaleInvoice, left)
        .outerjoin(settled, settled.c.invoice_id == WholesaleInvoice.id)
        .where(WholesaleInvoice.kind == INVOICE, WholesaleInvoice.issue_date <= as_of, left > 0)
        .order_by(WholesaleInvoice.company_id, WholesaleInvoice.due_date, WholesaleInvoice.id)
    )
    if company_id is not None:
        stmt = stmt.where(WholesaleInvoice.company_id == company_id)
    return [(invoice, int(amount)) for invoice, amount in (await session.execute(stmt)).all()]


async def companies_named(session: AsyncSession, ids: Sequence[int]) -> Sequence[BuyerCompany]:
    if not ids:
        return []
    return (
        await session.scalars(select(BuyerCompany).where(BuyerCompany.id.in_(ids)).order_by(BuyerCompany.name))
    ).all()


async def unallocated_by_company(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(WholesalePayment.company_id, func.sum(WholesalePayment.amount_minor - WholesalePayment.allocated_minor))
        .where(WholesalePayment.allocated_minor < WholesalePayment.amount_minor)
        .group_by(WholesalePayment.company_id)
    )
    return {company_id: int(amount) for company_id, amount in rows.all()}


# ---- the company's account page ----------------------------------------------------------------


async def company_payments(session: AsyncSession, company_id: int, limit: int = 50) -> Sequence[WholesalePayment]:
    return (
        await session.scalars(
            select(WholesalePayment)
            .where(WholesalePayment.company_id == company_id)
            .order_by(WholesalePayment.received_on.desc(), WholesalePayment.id.desc())
            .limit(limit)
        )
    ).all()


async def allocations_of_payments(
    session: AsyncSession, payment_ids: Sequence[int]
) -> Sequence[tuple[int, str, int, date]]:
    """(payment id, invoice number, amount, day) of each allocation of the given payments."""
    if not payment_ids:
        return []
    rows = await session.execute(
        select(Allocation.payment_id, WholesaleInvoice.number, Allocation.amount_minor, Allocation.allocated_on)
        .join(WholesaleInvoice, WholesaleInvoice.id == Allocation.invoice_id)
        .where(Allocation.payment_id.in_(payment_ids))
        .order_by(Allocation.id)
    )
    return [(int(p or 0), n, int(a), d) for p, n, a, d in rows.all()]


# ---- pro-formas ----------------------------------------------------------------------------------


async def document_of_order(session: AsyncSession, order_id: int, kind: str) -> WholesaleInvoice | None:
    return await session.scalar(
        select(WholesaleInvoice).where(WholesaleInvoice.order_id == order_id, WholesaleInvoice.kind == kind)
    )


async def lines_of(session: AsyncSession, invoice_id: int) -> Sequence[WholesaleInvoiceLine]:
    return (
        await session.scalars(
            select(WholesaleInvoiceLine)
            .where(WholesaleInvoiceLine.invoice_id == invoice_id)
            .order_by(WholesaleInvoiceLine.position)
        )
    ).all()


async def awaiting_transfer(session: AsyncSession, company_id: int) -> Sequence[Order]:
    """The company's wholesale orders waiting for their bank transfer (prepay, not held over credit)."""
    return (
        await session.scalars(
            select(Order)
            .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
            .where(
                Order.company_id == company_id,
                Order.status == OrderStatus.pending_payment,
                WholesaleOrder.credit_state == CreditState.clear.value,
            )
            .order_by(Order.id)
        )
    ).all()


async def keep_hold_for_trip(session: AsyncSession, reference: str) -> None:
    """A paid order's stock stays held, without a deadline, until the trip sells it at dispatch."""
    await session.execute(
        update(Reservation)
        .where(Reservation.reference == reference, Reservation.status == ReservationStatus.active)
        .values(expires_at=None)
    )
