"""What each wholesale order counts towards its company's credit (``open_owed_minor``), kept by the
database's triggers (migration 0042) and summed by the credit check: right after every way an order's
inputs change, through the services and through hand-written SQL, against the join it replaced
(``order_queries.open_owed_disagreements``, from the Python constants).

Orders are placed on Sunday 6 December 2026, noon in China; a case of the SKU is ¥200.00."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.orders.models import Order, OrderStatus
from app.wholesale import cancelling, ordering
from app.wholesale import order_queries as queries
from tests.fixtures.builders import make_user
from tests.fixtures.plans import generic_plan_of_company_sum
from tests.fixtures.receivables import issue_invoice, order_of
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.helpers import as_principal

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

CASE = 20_000  # ¥200.00


async def stored(session: AsyncSession, order: Order) -> int:
    """The order's figure as the database holds it now (the ORM's instance may be behind)."""
    found = await session.scalar(
        text("SELECT open_owed_minor FROM wholesale_orders WHERE order_id = :id"), {"id": order.id}
    )
    assert found is not None
    return int(found)


async def agrees(session: AsyncSession) -> bool:
    await session.flush()
    return await queries.open_owed_disagreements(session) == []


async def test_each_step_of_an_order_leaves_its_figure_as_its_rows_say(db_session: AsyncSession) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, credit_limit_minor=5 * CASE)
    kept = await order_of(db_session, ours.principal, ours.address.id, sku, 2)
    cancelled = await order_of(db_session, ours.principal, ours.address.id, sku, 1)
    assert (await stored(db_session, kept), await stored(db_session, cancelled)) == (2 * CASE, CASE)
    assert await ordering.owed_minor(db_session, ours.company.id) == 3 * CASE
    assert await agrees(db_session)

    held = await order_of(db_session, ours.principal, ours.address.id, sku, 3)  # ¥600 more: over ¥1,000
    assert held.status is OrderStatus.pending_payment
    assert await stored(db_session, held) == 0  # held: no credit given yet
    assert await agrees(db_session)

    staff = await as_principal(db_session, await make_user(db_session, Role.admin))
    await ordering.approve_held_order(db_session, held.number, actor=staff)
    assert await stored(db_session, held) == 3 * CASE
    assert await ordering.owed_minor(db_session, ours.company.id) == 6 * CASE
    assert await agrees(db_session)

    await cancelling.cancel_order(db_session, ours.principal, cancelled.number, reason="下错了")
    assert await stored(db_session, cancelled) == 0
    assert await agrees(db_session)

    await issue_invoice(db_session, kept, issue_date=date(2026, 12, 8), due_date=date(2027, 1, 7))
    assert await stored(db_session, kept) == 0  # its invoice counts from now on, not the order too
    assert await ordering.owed_minor(db_session, ours.company.id) == 3 * CASE + 2 * CASE
    assert await agrees(db_session)


async def test_any_statement_that_changes_an_input_moves_the_figure(db_session: AsyncSession) -> None:
    """The triggers, not the services, keep the figure: hand-written SQL on each input moves it."""
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session)
    order = await order_of(db_session, ours.principal, ours.address.id, sku, 2)
    other = await order_of(db_session, ours.principal, ours.address.id, sku, 1)
    await db_session.flush()

    async def run(sql: str, **values: object) -> None:
        await db_session.execute(text(sql), {"id": order.id, **values})

    await run("UPDATE orders SET paid_minor = 15000 WHERE id = :id")
    assert await stored(db_session, order) == 2 * CASE - 15_000
    await run("UPDATE orders SET payment_status = 'paid', paid_minor = total_minor WHERE id = :id")
    assert await stored(db_session, order) == 0
    await run("UPDATE orders SET payment_status = 'unpaid', paid_minor = 0 WHERE id = :id")
    assert await stored(db_session, order) == 2 * CASE
    await run("UPDATE orders SET status = 'cancelled' WHERE id = :id")
    assert await stored(db_session, order) == 0
    await run("UPDATE orders SET status = 'confirmed' WHERE id = :id")
    await run("UPDATE wholesale_orders SET credit_state = 'withdrawn' WHERE order_id = :id")
    assert await stored(db_session, order) == 0
    await run("UPDATE wholesale_orders SET credit_state = 'approved' WHERE order_id = :id")
    assert await stored(db_session, order) == 2 * CASE

    invoice = await issue_invoice(db_session, order, issue_date=date(2026, 12, 8), due_date=date(2027, 1, 7))
    assert await stored(db_session, order) == 0
    await db_session.execute(
        text("UPDATE wholesale_invoices SET order_id = :other WHERE id = :invoice"),
        {
            "other": other.id,
            "invoice": invoice.id,
        },
    )
    assert (await stored(db_session, order), await stored(db_session, other)) == (2 * CASE, 0)
    await db_session.execute(
        text(
            "WITH lines AS (DELETE FROM wholesale_invoice_lines WHERE invoice_id = :invoice) "
            "DELETE FROM wholesale_invoices WHERE id = :invoice"
        ),
        {"invoice": invoice.id},
    )
    assert (await stored(db_session, order), await stored(db_session, other)) == (2 * CASE, CASE)

    # A figure written by hand does not stay: the row's own trigger computes it again (how the
    # migration filled in the orders written before it).
    await run("UPDATE wholesale_orders SET open_owed_minor = 1 WHERE order_id = :id")
    assert await stored(db_session, order) == 2 * CASE
    assert await agrees(db_session)


async def test_the_check_finds_a_figure_the_triggers_did_not_write(db_session: AsyncSession) -> None:
    """``open_owed_disagreements`` is a real check: with the row's trigger off for one statement
    (as a restore or a bulk load could leave it), the wrong figure is reported."""
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session)
    order = await order_of(db_session, ours.principal, ours.address.id, sku, 2)
    await db_session.flush()
    await db_session.execute(text("ALTER TABLE wholesale_orders DISABLE TRIGGER wholesale_orders_open_owed"))
    await db_session.execute(
        text("UPDATE wholesale_orders SET open_owed_minor = 7 WHERE order_id = :id"), {"id": order.id}
    )
    await db_session.execute(text("ALTER TABLE wholesale_orders ENABLE TRIGGER wholesale_orders_open_owed"))
    assert await queries.open_owed_disagreements(db_session) == [(order.id, 7, 2 * CASE)]


async def test_the_credit_sum_reads_its_partial_index_in_a_generic_plan(db_session: AsyncSession) -> None:
    """asyncpg keeps the turn's statement prepared, and PostgreSQL settles on a generic plan for it
    after a few runs: the sum must still read the partial index of the orders that count (with the
    index's predicate bound as a parameter it read every order of the company instead)."""
    plan = await generic_plan_of_company_sum(
        db_session, queries._open_orders_owed_of, drop_indexes=("ix_wholesale_orders_company_id",)
    )
    assert "ix_wholesale_orders_open_owed" in plan, plan
