"""Two staff record payments for one company at the same moment, for real: two sessions on one
PostgreSQL, each committing. The company row is locked first, so the second allocation reads what
the first committed: the ¥400 invoice is settled exactly, the rest of the second payment waits.

Rows stay in the committed database, so the test has its own city, route and company."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.kit import clock
from app.wholesale import receivable_queries as queries
from app.wholesale import receivables
from tests.fixtures.builders import make_user
from tests.fixtures.receivables import issue_invoice, order_of
from tests.fixtures.wholesale_orders import SUNDAY_NOON, buyer_of_own_city
from tests.wholesale.helpers import as_principal


async def test_two_payments_recorded_at_once_never_over_allocate_an_invoice(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            ours, sku = await buyer_of_own_city(session)
            order = await order_of(session, ours.principal, ours.address.id, sku, 2)  # ¥400
            invoice = await issue_invoice(session, order, issue_date=date(2026, 12, 1), due_date=date(2026, 12, 31))
            actor = await as_principal(session, await make_user(session, Role.admin))
            await session.commit()
        start = asyncio.Event()

        async def pay(reference: str) -> None:
            async with sessionmaker() as session:
                await start.wait()
                await receivables.record_payment(
                    session, actor, ours.company.id, receivables.NewPayment(30_000, date(2026, 12, 6), reference)
                )
                await session.commit()

        tasks = [asyncio.create_task(pay(reference)) for reference in ("A-1", "A-2")]
        await asyncio.sleep(0.05)
        start.set()
        await asyncio.gather(*tasks)

    async with sessionmaker() as session:
        assert not await queries.open_invoices(session, ours.company.id)
        payments = await queries.company_payments(session, ours.company.id)
        assert sorted(p.allocated_minor for p in payments) == [10_000, 30_000]
        allocations = await queries.allocations_of_payments(session, [p.id for p in payments])
        assert sum(amount for _, number, amount, _ in allocations if number == invoice.number) == 40_000
