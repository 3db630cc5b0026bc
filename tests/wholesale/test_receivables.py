"""Money on account through the service (rolled back per test): payments set against invoices
oldest due first, the rest applied to the next invoice, a transfer entered twice, overdue invoices
holding the next on-account order, the monthly statement against figures worked out by hand, and a
prepay order's pro-forma and confirmed transfer.

Orders are placed on Sunday 6 December 2026, noon in China (trip Tuesday 8 December, cut-off Monday
7 December 18:00); a case of the SKU is ¥200.00 (20 × ¥10.00)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PaymentTerms, Role
from app.kit import clock
from app.orders import repository as orders_repository
from app.orders.models import OrderStatus
from app.supply import reservations
from app.supply.models import ReservationStatus
from app.wholesale import receivable_errors, receivables
from app.wholesale import receivable_queries as queries
from app.wholesale.document_data import EntryKind
from app.wholesale.invoice_pdf import invoice_pdf
from app.wholesale.invoicing import ageing, statement_figures
from app.wholesale.models import CreditState
from app.wholesale.ordering import BasketLine
from app.wholesale.statement import statement_xlsx
from tests.fixtures.builders import make_user
from tests.fixtures.receivables import issue_credit_note, issue_invoice, order_of
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.helpers import as_principal

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


def at(day: date) -> datetime:
    """Noon in China on ``day``."""
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)


async def staff(session: AsyncSession):  # type: ignore[no-untyped-def]
    return await as_principal(session, await make_user(session, Role.admin))


async def test_a_payment_settles_the_oldest_due_first_and_the_rest_waits_for_the_next_invoice(
    db_session: AsyncSession,
) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session)
    first = await order_of(db_session, ours.principal, ours.address.id, sku, 2)  # ¥400
    second = await order_of(db_session, ours.principal, ours.address.id, sku, 1)  # ¥200
    third = await order_of(db_session, ours.principal, ours.address.id, sku, 1)
    later = await issue_invoice(db_session, second, issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31))
    older = await issue_invoice(db_session, first, issue_date=date(2026, 12, 2), due_date=date(2026, 12, 20))

    payment = await receivables.record_payment(
        db_session,
        await staff(db_session),
        ours.company.id,
        receivables.NewPayment(70_000, date(2026, 12, 5), " HX-001 ", "十二月货款"),
    )

    assert payment.reference == "HX-001"
    assert (older.settled_minor, later.settled_minor) == (40_000, 20_000)  # due 12-20 first, then 12-31
    assert older.settled_at is not None and older.outstanding_minor == 0
    assert payment.allocated_minor == 60_000 and payment.unallocated_minor == 10_000
    allocations = await queries.allocations_of_payments(db_session, [payment.id])
    assert [(n, a) for _, n, a, _ in allocations] == [(older.number, 40_000), (later.number, 20_000)]

    # The next invoice takes what was left, when the issuing code calls apply_unallocated.
    nxt = await issue_invoice(db_session, third, issue_date=date(2026, 12, 6), due_date=date(2027, 1, 5))
    assert await receivables.apply_unallocated(db_session, ours.company.id) == 10_000
    await db_session.refresh(payment)
    assert nxt.settled_minor == 10_000 and nxt.outstanding_minor == 10_000
    assert payment.unallocated_minor == 0
    assert await receivables.apply_unallocated(db_session, ours.company.id) == 0


async def test_a_transfer_entered_twice_is_refused_naming_it(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    actor = await staff(db_session)
    new = receivables.NewPayment(5_000, date(2026, 12, 4), "CMB20261204-77")
    await receivables.record_payment(db_session, actor, ours.company.id, new)

    with pytest.raises(receivable_errors.PaymentReferenceTaken) as refused:
        await receivables.record_payment(db_session, actor, ours.company.id, new)
    assert refused.value.status_code == 409
    assert "CMB20261204-77" in refused.value.text
    # Another company may quote the same reference (it is its own bank's).
    other = await buyer(db_session)
    await receivables.record_payment(db_session, actor, other.company.id, new)
    with pytest.raises(receivable_errors.PaymentAmountInvalid):
        await receivables.record_payment(
            db_session, actor, ours.company.id, receivables.NewPayment(0, date(2026, 12, 4), "X")
        )
    with pytest.raises(receivable_errors.PaymentDateInvalid):
        await receivables.record_payment(
            db_session, actor, ours.company.id, receivables.NewPayment(100, date(2026, 12, 7), "Y")
        )


async def test_an_overdue_invoice_holds_the_next_order_until_it_is_paid(db_session: AsyncSession) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session)
    delivered = await order_of(db_session, ours.principal, ours.address.id, sku, 3)
    invoice = await issue_invoice(db_session, delivered, issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1))
    from app.wholesale import ordering

    held = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id
    )
    assert held.wholesale.credit_state == CreditState.held.value
    assert held.order.status is OrderStatus.pending_payment
    assert invoice.number in held.message_zh and "¥600.00" in held.message_zh and "逾期" in held.message_zh

    # Due today is not late; paid in full, the next order goes straight through.
    await receivables.record_payment(
        db_session, await staff(db_session), ours.company.id, receivables.NewPayment(60_000, date(2026, 12, 6), "PAY-1")
    )
    clear = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id
    )
    assert clear.wholesale.credit_state == CreditState.clear.value
    assert clear.order.status is OrderStatus.confirmed


async def test_the_statement_figures_are_the_ones_worked_out_by_hand(db_session: AsyncSession) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session)
    actor = await staff(db_session)
    o1, o2, o3, o4 = [await order_of(db_session, ours.principal, ours.address.id, sku, n) for n in (2, 3, 1, 5)]
    pay = receivables.record_payment
    i1 = await issue_invoice(db_session, o1, issue_date=date(2026, 10, 20), due_date=date(2026, 11, 5))  # ¥400
    with clock.pinned(at(date(2026, 10, 25))):
        await pay(db_session, actor, ours.company.id, receivables.NewPayment(15_000, date(2026, 10, 25), "P0"))
    i2 = await issue_invoice(db_session, o2, issue_date=date(2026, 11, 5), due_date=date(2026, 11, 10))  # ¥600
    cn = await issue_credit_note(db_session, i2, Decimal(10), issue_date=date(2026, 11, 8))  # −¥100
    with clock.pinned(at(date(2026, 11, 20))):
        await pay(
            db_session, actor, ours.company.id, receivables.NewPayment(30_000, date(2026, 11, 20), "P1", "十一月")
        )
    i3 = await issue_invoice(db_session, o3, issue_date=date(2026, 11, 25), due_date=date(2026, 12, 25))  # ¥200
    i4 = await issue_invoice(db_session, o4, issue_date=date(2026, 12, 2), due_date=date(2027, 1, 1))  # ¥1000
    with clock.pinned(at(date(2026, 12, 3))):
        await pay(db_session, actor, ours.company.id, receivables.NewPayment(10_000, date(2026, 12, 3), "P2"))

    # November, worked out by hand:
    #   opening  = I1 400.00 − P0 150.00                              = 250.00
    #   entries  = I2 600.00, CN 100.00, P1 300.00, I3 200.00
    #   closing  = 250.00 + 600.00 + 200.00 − 100.00 − 300.00         = 650.00
    #   P1 paid the rest of I1 (250.00, due 11-05, the oldest) then 50.00 of I2.
    #   open on 11-30: I2 600 − 100 − 50 = 450.00 (20 days late), I3 200.00 (not due)
    november = await receivables.statement_data(db_session, ours.company.id, date(2026, 11, 1))
    assert (november.period_start, november.period_end, november.as_of) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        date(2026, 11, 30),
    )
    assert november.opening_balance_minor == 25_000
    assert [(e.day, e.kind, e.reference, e.amount_minor) for e in november.entries] == [
        (date(2026, 11, 5), EntryKind.invoice, i2.number, 60_000),
        (date(2026, 11, 8), EntryKind.credit_note, cn.number, 10_000),
        (date(2026, 11, 20), EntryKind.payment, "P1", 30_000),
        (date(2026, 11, 25), EntryKind.invoice, i3.number, 20_000),
    ]
    figures = statement_figures(november.opening_balance_minor, november.entries)
    assert (figures.invoiced_minor, figures.credited_minor, figures.paid_minor, figures.closing_minor) == (
        80_000,
        10_000,
        30_000,
        65_000,
    )
    assert [(i.number, i.outstanding_minor) for i in november.open_items] == [(i2.number, 45_000), (i3.number, 20_000)]
    assert ageing(november.open_items, november.as_of).buckets == (20_000, 45_000, 0, 0, 0)
    assert i1.number not in [i.number for i in november.open_items]

    # December so far (as of today, 12-06): P2 went to I2 (oldest due).
    #   opening 650.00; + I4 1000.00 − P2 100.00 = 1550.00
    #   open: I2 350.00 (26 days late), I3 200.00, I4 1000.00 (not due)
    december = await receivables.statement_data(db_session, ours.company.id, date(2026, 12, 1))
    assert december.as_of == date(2026, 12, 6)
    assert december.opening_balance_minor == 65_000
    assert statement_figures(december.opening_balance_minor, december.entries).closing_minor == 155_000
    assert [(i.number, i.outstanding_minor) for i in december.open_items] == [
        (i2.number, 35_000),
        (i3.number, 20_000),
        (i4.number, 100_000),
    ]
    assert ageing(december.open_items, december.as_of).buckets == (120_000, 35_000, 0, 0, 0)

    # The workbook holds the same figures, as numbers.
    sheet = load_workbook(io.BytesIO(statement_xlsx(november))).active
    assert sheet is not None
    numbers = {
        round(Decimal(str(c.value)), 2) for row in sheet.iter_rows() for c in row if isinstance(c.value, int | float)
    }
    texts = {str(c.value) for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    for yuan in ("250.00", "600.00", "100.00", "300.00", "200.00", "650.00", "450.00"):
        assert Decimal(yuan) in numbers, yuan
    assert {i2.number, cn.number, "P1", i3.number} <= {t.strip() for t in texts} | {
        part for t in texts for part in t.split()
    }


async def test_months_are_china_time_months_up_to_this_one(db_session: AsyncSession) -> None:
    assert receivables.parse_month("2026-11") == date(2026, 11, 1)
    assert receivables.parse_month("2026-12") == date(2026, 12, 1)
    for bad in ("2027-01", "2026-13", "2026-1", "abc", ""):
        with pytest.raises(receivable_errors.StatementMonthInvalid):
            receivables.parse_month(bad)
    assert receivables.recent_months(3) == [date(2026, 12, 1), date(2026, 11, 1), date(2026, 10, 1)]


async def test_a_prepay_order_gets_a_proforma_and_is_confirmed_when_staff_see_the_transfer(
    db_session: AsyncSession,
) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, terms=PaymentTerms.prepay)
    order = await order_of(db_session, ours.principal, ours.address.id, sku, 2)
    assert order.status is OrderStatus.pending_payment

    document = await receivables.proforma_document(db_session, ours.principal, order.number)
    assert document.number == f"PF{order.number}"
    assert document.due_date == date(2026, 12, 7)  # the trip's cut-off day
    assert sum(line.unit_price_minor * line.quantity for line in document.lines) == order.total_minor == 40_000
    assert order.number in document.payment_instructions
    assert invoice_pdf(document).startswith(b"%PDF")
    other = await buyer(db_session)
    with pytest.raises(Exception) as hidden:
        await receivables.proforma_document(db_session, other.principal, order.number)
    assert getattr(hidden.value, "status_code", None) == 404

    actor = await staff(db_session)
    with pytest.raises(receivable_errors.TransferShort) as short:
        await receivables.confirm_transfer(
            db_session, actor, order.number, receivables.NewPayment(39_000, date(2026, 12, 6), "BOC-9")
        )
    assert short.value.detail["short_minor"] == 1_000 and "¥10.00" in short.value.text
    assert await queries.payment_with_reference(db_session, ours.company.id, "BOC-9") is None

    confirmed, payment = await receivables.confirm_transfer(
        db_session, actor, order.number, receivables.NewPayment(40_000, date(2026, 12, 6), "BOC-9")
    )
    assert confirmed.status is OrderStatus.confirmed and confirmed.payment_due_at is None
    assert payment.unallocated_minor == 40_000  # no invoice yet
    held = await reservations.by_reference(db_session, confirmed.reservation_reference or "")
    assert held is not None and held.status is ReservationStatus.active and held.expires_at is None
    with pytest.raises(receivable_errors.OrderNotAwaitingTransfer):
        await receivables.confirm_transfer(
            db_session, actor, order.number, receivables.NewPayment(40_000, date(2026, 12, 6), "BOC-10")
        )

    # Delivered: its invoice is settled by the money already received.
    reloaded = await orders_repository.order_by_number(db_session, order.number)
    assert reloaded is not None
    invoice = await issue_invoice(db_session, reloaded, issue_date=date(2026, 12, 8), due_date=date(2026, 12, 8))
    assert await receivables.apply_unallocated(db_session, ours.company.id) == 40_000
    assert invoice.outstanding_minor == 0


async def test_an_invoiced_order_counts_once_in_the_credit_exposure_and_paying_it_frees_the_limit(
    db_session: AsyncSession,
) -> None:
    from app.wholesale import ordering

    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, credit_limit_minor=100_000)  # ¥1,000
    delivered = await order_of(db_session, ours.principal, ours.address.id, sku, 3)  # ¥600
    assert await ordering.owed_minor(db_session, ours.company.id) == 60_000
    await issue_invoice(db_session, delivered, issue_date=date(2026, 12, 6), due_date=date(2027, 1, 5))
    assert await ordering.owed_minor(db_session, ours.company.id) == 60_000  # the invoice, not the order too

    held = await order_of(db_session, ours.principal, ours.address.id, sku, 3)  # ¥600 more: over ¥1,000
    assert held.status is OrderStatus.pending_payment
    actor = await staff(db_session)
    await receivables.record_payment(
        db_session, actor, ours.company.id, receivables.NewPayment(70_000, date(2026, 12, 6), "PAY-X")
    )
    # The invoice is paid and ¥100 waits for the next one: it lowers what the company owes.
    assert await ordering.owed_minor(db_session, ours.company.id) == -10_000
    clear = await order_of(db_session, ours.principal, ours.address.id, sku, 3)
    assert clear.status is OrderStatus.confirmed
