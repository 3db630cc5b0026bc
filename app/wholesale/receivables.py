"""Money on account: payments staff record, how they are set against invoices, overdue invoices,
monthly statements, aged receivables, and the pro-forma a prepay order is paid against.

- **Payments** (:func:`record_payment`): amount, the China-time date it arrived, the bank transfer
  reference (unique per company: the same transfer entered twice is a 409 naming it) and a note.
  In the same transaction the company's unallocated money is set against its open invoices,
  **oldest due first** (then oldest issued) — staff do not pick invoices; a payment meant for a
  particular invoice is the oldest one in practice, and FIFO is what the statement's ageing
  assumes. What is left stays on the payment (``allocated_minor`` < ``amount_minor``) and is set
  against the next invoice by :func:`apply_unallocated`, which the invoice issuing code calls after
  it issues one. Credit notes with some amount not set against their own invoice are applied the
  same way, before payments.
- **Concurrency**: every path that moves money locks the company row ``FOR UPDATE`` first (as
  ordering does), then the open invoices and the sources, so two staff recording payments for one
  company at once run one after the other and never over-allocate an invoice.
- **Overdue** (:func:`overdue_invoices`): an invoice due before today (China time) with something
  left. Ordering holds a new on-account order of a company with one for the centre's approval.
- **Statements** (:func:`statement_data`): for a China-time month, opening balance = invoices −
  credit notes − payments dated before it; the month's entries; open invoices aged as of the
  month's last day (today for the current month), counting what had been set against them by then.
- **Pro-forma** (:func:`create_proforma`): a prepay order's request for the transfer, total = the
  order's, due on the trip's cut-off day; never a debt (no statement, no ageing).
  :func:`confirm_transfer` records the transfer as a payment and confirms the order; its stock stays
  held for the trip (sold at dispatch); the payment later settles the real invoice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import errors as accounts_errors
from app.accounts.access import Principal
from app.accounts.models import BuyerCompany, PaymentTerms
from app.config import get_settings
from app.kit import clock
from app.kit.quantities import Unit
from app.orders import repository as orders_repository
from app.orders import states
from app.orders.models import Order, OrderStatus
from app.wholesale import errors, order_queries, repository, service
from app.wholesale import receivable_errors as money_errors
from app.wholesale import receivable_queries as queries
from app.wholesale.document_data import (
    EntryKind,
    InvoiceDocument,
    InvoiceKind,
    InvoiceLine,
    OpenItem,
    Party,
    StatementData,
    StatementEntry,
    service_centre_party,
)
from app.wholesale.invoice_models import DocumentKind, WholesaleInvoice, WholesaleInvoiceLine, WholesalePayment
from app.wholesale.invoicing import Ageing, ageing, included_tax_minor, tax_rate_percent
from app.wholesale.models import CreditState


def yuan(minor: int) -> str:
    return f"¥{Decimal(minor) / 100:,.2f}"


async def _locked_company(session: AsyncSession, company_id: int) -> BuyerCompany:
    company = await repository.company_for_update(session, company_id)
    if company is None:
        raise accounts_errors.CompanyNotFound(detail={"company_id": company_id})
    return company


# ---- payments and allocation -------------------------------------------------------------------


@dataclass(frozen=True)
class NewPayment:
    amount_minor: int
    received_on: date
    reference: str
    note: str = ""


async def record_payment(session: AsyncSession, actor: Principal, company_id: int, new: NewPayment) -> WholesalePayment:
    """Record a bank transfer the company made and set it (and any money still unallocated)
    against its open invoices, oldest due first. See the module's rules."""
    reference = new.reference.strip()
    if not reference:
        raise money_errors.PaymentReferenceMissing(detail={"field": "reference"})
    if new.amount_minor <= 0:
        raise money_errors.PaymentAmountInvalid(detail={"field": "amount"})
    if new.received_on > clock.today():
        raise money_errors.PaymentDateInvalid(detail={"field": "received_on"})
    await _locked_company(session, company_id)
    if await queries.payment_with_reference(session, company_id, reference) is not None:
        raise money_errors.PaymentReferenceTaken(
            f"转账参考号 {reference} 已登记过，同一笔转账不能重复登记", detail={"reference": reference}
        )
    payment = WholesalePayment(
        company_id=company_id,
        received_on=new.received_on,
        amount_minor=new.amount_minor,
        reference=reference[:60],
        allocated_minor=0,
        note=new.note.strip()[:300],
        recorded_by_id=actor.user_id,
    )
    await queries.add(session, payment)
    await apply_unallocated(session, company_id)
    await session.refresh(payment)
    return payment


async def apply_unallocated(session: AsyncSession, company_id: int) -> int:
    """Set the company's unapplied credit notes, then its unallocated payments (oldest first),
    against its open invoices (oldest due first). Returns the amount set against invoices now.
    Locks the company row first: call it inside the transaction that issued the invoice."""
    await _locked_company(session, company_id)
    invoices = list(await queries.open_invoices(session, company_id, for_update=True))
    if not invoices:
        return 0
    sources: list[tuple[WholesalePayment | WholesaleInvoice, int]] = [
        (note, -note.total_minor - note.settled_minor)
        for note in await queries.unapplied_credit_notes(session, company_id)
    ]
    sources += [(p, p.unallocated_minor) for p in await queries.unallocated_payments(session, company_id)]
    today, now = clock.today(), clock.now()
    moved = 0
    left = {invoice.id: invoice.outstanding_minor for invoice in invoices}
    position = 0
    for source, available in sources:
        while available > 0 and position < len(invoices):
            invoice = invoices[position]
            amount = min(available, left[invoice.id])
            await queries.allocate(session, invoice, source, amount, on=today, now=now)
            left[invoice.id] -= amount
            available -= amount
            moved += amount
            if left[invoice.id] == 0:
                position += 1
    if moved:
        for invoice in invoices:
            await session.refresh(invoice)
    return moved


async def overdue_invoices(session: AsyncSession, company_id: int) -> Sequence[WholesaleInvoice]:
    """The company's invoices due before today (China time) with something left to pay."""
    return await queries.overdue_invoices(session, company_id, clock.today())


def overdue_text(invoices: Sequence[WholesaleInvoice]) -> str:
    """ "结算单 A（到期 12-01，未付 ¥120.00）、…，合计 ¥…"."""
    named = "、".join(f"{i.number}（{i.due_date:%m-%d} 到期，未付 {yuan(i.outstanding_minor)}）" for i in invoices)
    return f"{named}，逾期合计 {yuan(sum(i.outstanding_minor for i in invoices))}"


# ---- statements ----------------------------------------------------------------------------------

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(raw: str) -> date:
    """``YYYY-MM`` → its first day; a month after the current China-time month is refused."""
    match = MONTH.match(raw.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise money_errors.StatementMonthInvalid(detail={"month": raw})
    first = date(int(match.group(1)), int(match.group(2)), 1)
    if first > clock.today():
        raise money_errors.StatementMonthInvalid(detail={"month": raw})
    return first


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def recent_months(count: int = 12) -> list[date]:
    """The first days of the current China-time month and the ``count - 1`` before it, newest first."""
    first = clock.today().replace(day=1)
    months = [first]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months


async def statement_data(session: AsyncSession, company_id: int, first: date) -> StatementData:
    """The company's statement of the China-time month starting ``first``."""
    company = await repository.company(session, company_id)
    if company is None:
        raise accounts_errors.CompanyNotFound(detail={"company_id": company_id})
    last = month_end(first)
    as_of = min(last, clock.today())
    entries = [
        StatementEntry(
            day=doc.issue_date,
            kind=EntryKind.invoice if doc.kind == DocumentKind.invoice.value else EntryKind.credit_note,
            reference=doc.number,
            amount_minor=abs(doc.total_minor),
            due_date=doc.due_date,
            note=doc.note,
        )
        for doc in await queries.documents_between(session, company_id, first, last)
    ]
    entries += [
        StatementEntry(
            day=p.received_on, kind=EntryKind.payment, reference=p.reference, amount_minor=p.amount_minor, note=p.note
        )
        for p in await queries.payments_between(session, company_id, first, last)
    ]
    entries.sort(key=lambda e: e.day)  # stable: documents before payments within a day
    return StatementData(
        number=f"ST{first:%Y%m}-{company_id:05d}",
        company=service.buyer_party(company),
        seller=service_centre_party(get_settings()),
        period_start=first,
        period_end=last,
        as_of=as_of,
        opening_balance_minor=await queries.balance_before(session, company_id, first),
        entries=tuple(entries),
        open_items=tuple(_open_item(i, left) for i, left in await queries.open_as_of(session, as_of, company_id)),
        payment_terms=PaymentTerms(company.payment_terms).label_zh,
        credit_limit_minor=company.credit_limit_minor
        if PaymentTerms(company.payment_terms) is not PaymentTerms.prepay
        else None,
    )


def _open_item(invoice: WholesaleInvoice, left: int) -> OpenItem:
    return OpenItem(invoice.number, invoice.issue_date, invoice.due_date or invoice.issue_date, left)


def own_company(principal: Principal) -> int:
    """The company a buyer or its API key reads money of: only its own (none: 404)."""
    if principal.company_id is None:
        raise accounts_errors.CompanyNotFound()
    return principal.company_id


async def statement_for(session: AsyncSession, principal: Principal, month: str) -> StatementData:
    return await statement_data(session, own_company(principal), parse_month(month))


# ---- aged receivables (the console) ---------------------------------------------------------------


@dataclass(frozen=True)
class CompanyAgeing:
    company: BuyerCompany
    ageing: Ageing
    unallocated_minor: int
    oldest_due: date | None

    @property
    def is_overdue(self) -> bool:
        return self.ageing.overdue_minor > 0


@dataclass(frozen=True)
class Receivables:
    as_of: date
    rows: tuple[CompanyAgeing, ...]
    totals: Ageing
    unallocated_minor: int


async def aged_receivables(session: AsyncSession) -> Receivables:
    """Every company with an open invoice or unallocated money, its open invoices aged today."""
    today = clock.today()
    items: dict[int, list[OpenItem]] = {}
    for invoice, left in await queries.open_as_of(session, today):
        items.setdefault(invoice.company_id, []).append(_open_item(invoice, left))
    unallocated = await queries.unallocated_by_company(session)
    companies = await queries.companies_named(session, sorted(set(items) | set(unallocated)))
    rows = tuple(
        CompanyAgeing(
            company=c,
            ageing=ageing(items.get(c.id, []), today),
            unallocated_minor=unallocated.get(c.id, 0),
            oldest_due=min((i.due_date for i in items.get(c.id, [])), default=None),
        )
        for c in companies
    )
    every = [item for group in items.values() for item in group]
    return Receivables(today, rows, ageing(every, today), sum(unallocated.values()))


@dataclass(frozen=True)
class PaymentView:
    payment: WholesalePayment
    allocations: tuple[tuple[str, int, date], ...]  # invoice number, amount, day


@dataclass(frozen=True)
class CompanyAccount:
    company: BuyerCompany
    open_invoices: tuple[OpenItem, ...]
    ageing: Ageing
    payments: tuple[PaymentView, ...]
    awaiting_transfer: tuple[tuple[Order, int], ...]  # prepay orders waiting, and what each still needs

    @property
    def unallocated_minor(self) -> int:
        return sum(p.payment.unallocated_minor for p in self.payments)


async def payment_views(session: AsyncSession, payments: Sequence[WholesalePayment]) -> list[PaymentView]:
    """Each payment with the invoices it was set against."""
    allocations: dict[int, list[tuple[str, int, date]]] = {}
    for payment_id, number, amount, day in await queries.allocations_of_payments(session, [p.id for p in payments]):
        allocations.setdefault(payment_id, []).append((number, amount, day))
    return [PaymentView(p, tuple(allocations.get(p.id, []))) for p in payments]


async def company_account(session: AsyncSession, company_id: int) -> CompanyAccount:
    company = await repository.company(session, company_id)
    if company is None:
        raise accounts_errors.CompanyNotFound(detail={"company_id": company_id})
    today = clock.today()
    items = tuple(_open_item(i, left) for i, left in await queries.open_as_of(session, today, company_id))
    payments = await payment_views(session, await queries.company_payments(session, company_id))
    waiting = tuple((o, o.total_minor - o.paid_minor) for o in await queries.awaiting_transfer(session, company_id))
    return CompanyAccount(
        company=company,
        open_invoices=items,
        ageing=ageing(items, today),
        payments=tuple(payments),
        awaiting_transfer=waiting,
    )


# ---- pro-formas and confirming a prepay order's transfer ----------------------------------------


def proforma_number(order_number: str) -> str:
    return f"PF{order_number}"


def seller_with_bank() -> Party:
    """The centre, with the bank account a buyer pays into (when set)."""
    settings = get_settings()
    return replace(
        service_centre_party(settings),
        bank_name=settings.wholesale_bank_name,
        bank_account=settings.wholesale_bank_account_number,
    )


def payment_instructions(order_number: str) -> str:
    """Where to send the money and what to quote, from the centre's bank settings."""
    settings = get_settings()
    name = settings.wholesale_bank_account_name or settings.service_centre_name
    if settings.wholesale_bank_account_number:
        bank = f"{settings.wholesale_bank_name} " if settings.wholesale_bank_name else ""
        account = f"收款户名：{name}；{bank}账号：{settings.wholesale_bank_account_number}"
    else:
        account = f"收款户名：{name}；收款账号请向服务中心索取"
    return f"{account}。转账附言请注明订单号 {order_number}，到账后服务中心确认发货。"


async def create_proforma(
    session: AsyncSession, order: Order, company: BuyerCompany, *, cutoff_at: datetime, actor_user_id: int | None
) -> WholesaleInvoice:
    """The pro-forma of a prepay company's order just placed (``order`` with its lines loaded): its
    lines and total as ordered, due on the day of the trip's cut-off (China time)."""
    proforma = WholesaleInvoice(
        number=proforma_number(order.number),
        kind=DocumentKind.proforma.value,
        company_id=company.id,
        order_id=order.id,
        issue_date=clock.today(),
        due_date=clock.local_date(cutoff_at),
        total_minor=order.total_minor,
        tax_minor=0,
        tax_rate_percent=tax_rate_percent(),
        settled_minor=0,
        buyer=_buyer_block(company),
        issued_by_id=actor_user_id,
    )
    proforma.tax_minor = included_tax_minor(order.total_minor, proforma.tax_rate_percent)
    await queries.add(session, proforma)
    await add_lines_as_ordered(session, proforma, order)
    return proforma


async def add_lines_as_ordered(session: AsyncSession, document: WholesaleInvoice, order: Order) -> None:
    """``document``'s lines: the order's lines as ordered (quantities and unit prices)."""
    for position, line in enumerate(order.lines, start=1):
        await queries.add(
            session,
            WholesaleInvoiceLine(
                invoice_id=document.id,
                position=position,
                order_line_id=line.id,
                sku=line.sku,
                name=line.name_zh,
                unit=line.unit,
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
                amount_minor=line.line_total_minor,
            ),
        )


def _buyer_block(company: BuyerCompany) -> dict[str, str]:
    party = service.buyer_party(company)
    return {
        "name": party.name,
        "tax_id": party.tax_id,
        "address": party.address,
        "phone": party.phone,
        "bank_name": party.bank_name,
        "bank_account": party.bank_account,
        "contact": party.contact,
    }


async def proforma_document(session: AsyncSession, principal: Principal, order_number: str) -> InvoiceDocument:
    """The pro-forma of one of the principal's company's orders, to print (another company's: 404)."""
    company_id = own_company(principal)
    found = await order_queries.order_of_company(session, order_number, company_id)
    if found is None:
        raise errors.WholesaleOrderNotFound(detail={"order": order_number})
    return await document_of(session, found[0])


async def document_of(session: AsyncSession, order: Order) -> InvoiceDocument:
    proforma = await queries.document_of_order(session, order.id, DocumentKind.proforma.value)
    if proforma is None:
        raise money_errors.ProformaNotFound(detail={"order": order.number})
    return InvoiceDocument(
        kind=InvoiceKind.proforma,
        number=proforma.number,
        issue_date=proforma.issue_date,
        seller=seller_with_bank(),
        buyer=Party(**{k: str(v) for k, v in proforma.buyer.items() if k in Party.__dataclass_fields__}),
        order_number=order.number,
        lines=tuple(
            InvoiceLine(
                sku=line.sku,
                name=line.name,
                unit=Unit(line.unit),
                quantity=line.quantity,
                unit_price_minor=line.unit_price_minor,
            )
            for line in await queries.lines_of(session, proforma.id)
        ),
        tax_rate_percent=proforma.tax_rate_percent,
        due_date=proforma.due_date,
        payment_instructions=payment_instructions(order.number),
    )


async def confirm_transfer(
    session: AsyncSession, actor: Principal, order_number: str, new: NewPayment
) -> tuple[Order, WholesalePayment]:
    """Staff saw a prepay order's transfer arrive: record it as the company's payment and confirm
    the order, whose stock stays held for its trip. Less than the order still needs is refused with
    the difference; an order not waiting for its transfer (confirmed, expired, held over credit) is
    refused too."""
    found = await order_queries.order_of_company(session, order_number, None)
    if found is None:
        raise errors.WholesaleOrderNotFound(detail={"order": order_number})
    order, wholesale = found[0], found[1]
    await _locked_company(session, wholesale.company_id)
    locked = await orders_repository.order_by_number(session, order_number, for_update=True)
    assert locked is not None
    order = locked
    if order.status is not OrderStatus.pending_payment or wholesale.credit_state != CreditState.clear.value:
        raise money_errors.OrderNotAwaitingTransfer(
            f"订单 {order_number} 现在是“{order.status.label_zh}”，不在等待银行转账", detail={"order": order_number}
        )
    needed = order.total_minor - order.paid_minor
    if new.amount_minor < needed:
        short = needed - new.amount_minor
        raise money_errors.TransferShort(
            f"转账金额不足：订单应付 {yuan(needed)}，到账 {yuan(new.amount_minor)}，还差 {yuan(short)}",
            detail={
                "order": order_number,
                "needed_minor": needed,
                "received_minor": new.amount_minor,
                "short_minor": short,
            },
        )
    payment = await record_payment(session, actor, wholesale.company_id, new)
    await orders_repository.add_paid(session, order.id, new.amount_minor)
    await states.transition(
        session,
        order,
        OrderStatus.confirmed,
        kind="transfer_confirmed",
        message_zh=f"服务中心已确认银行转账 {yuan(new.amount_minor)}（参考号 {payment.reference}），订单已确认",
        actor_user_id=actor.user_id,
        detail={"payment_id": payment.id, "amount_minor": new.amount_minor, "reference": payment.reference},
        payment_due_at=None,
    )
    await queries.keep_hold_for_trip(session, order.reservation_reference or "")
    return order, payment


# ---- files ---------------------------------------------------------------------------------------

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class DocumentFile:
    content: bytes
    media_type: str
    filename: str


def statement_file(data: StatementData, fmt: str) -> DocumentFile:
    """The statement as ``pdf`` or ``xlsx`` (anything else: 404, as a path that does not exist).
    CPU-bound: run it in a thread pool."""
    # reportlab is imported when a statement is made: a web worker does not carry it (issue 15).
    from app.wholesale.statement import statement_pdf, statement_xlsx

    name = f"statement-{data.period_start:%Y-%m}"
    if fmt == "pdf":
        return DocumentFile(statement_pdf(data), "application/pdf", f"{name}.pdf")
    if fmt == "xlsx":
        return DocumentFile(statement_xlsx(data), XLSX_TYPE, f"{name}.xlsx")
    raise money_errors.StatementFormatUnknown(detail={"format": fmt})


def proforma_file(document: InvoiceDocument) -> DocumentFile:
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.invoice_pdf import invoice_pdf

    return DocumentFile(invoice_pdf(document), "application/pdf", f"proforma-{document.order_number}.pdf")
