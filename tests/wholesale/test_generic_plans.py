"""Placing wholesale orders and reading a company's credit read their partial indexes in
PostgreSQL's generic plans too (``tests/fixtures/plans.py``; the credit sum's own test is in
``test_open_owed.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.wholesale import order_queries, ordering, receivable_queries
from app.wholesale.ordering import BasketLine
from tests.fixtures.plans import generic_plan_of, generic_plan_of_company_sum, partial_index_misses, plan_counts
from tests.fixtures.wholesale_orders import buyer, supply_sku

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


async def test_placing_orders_reads_the_partial_indexes_in_generic_plans(db_session: AsyncSession) -> None:
    before = await plan_counts(db_session)
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, credit_limit_minor=10**9)
    for _ in range(7):  # past PostgreSQL's five custom plans
        await ordering.place_order(db_session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id)
        await ordering.owed_minor(db_session, ours.company.id)
    misses = await partial_index_misses(db_session, since=before)
    assert misses == [], "\n\n".join(map(str, misses))


async def test_the_credit_checks_sums_read_only_the_open_items(db_session: AsyncSession) -> None:
    """What a company owes is read from the partial indexes of its open invoices, credit notes not
    applied and payments not allocated (migration 0044), in a generic plan: not from its whole
    history through the company's index. That index is dropped for the test's transaction and
    sequential scans are off, so the plan names the partial indexes only if the statement matches
    their predicates."""
    plan = await generic_plan_of_company_sum(
        db_session,
        receivable_queries.balance_owed_of,
        drop_indexes=("ix_wholesale_invoices_company_id", "ix_wholesale_payments_company_id"),
    )
    for index in (
        "ix_wholesale_invoices_open ",
        "ix_wholesale_invoices_open_credit",
        "ix_wholesale_payments_unallocated",
    ):
        assert index in plan, plan


async def test_the_truck_room_sweep_reads_the_trips_that_have_not_left(db_session: AsyncSession) -> None:
    """The beat's sweep matches the partial index of the trips still planned or loading (migration
    0045) in its generic plan, so it can find ended orders with booked load from those trips: the
    old statement read every wholesale order not marked released, which every delivered order stays
    (issue 15). Only that the plan reads the index is asserted: which side it starts from is the
    planner's choice on a test database's few rows (CI's first run started from the orders' key;
    on a history of delivered orders the trips are the cheap side). What the sweep reads and leaves
    is tested in ``test_ordering.py`` (a loading trip, a dispatched one)."""
    plan = await generic_plan_of(db_session, order_queries.ENDED_WITH_BOOKED_LOAD, {"limit": 1}, drop_indexes=())
    assert "ix_wholesale_trips_taking_load" in plan, plan


async def test_a_payments_allocation_reads_the_open_items_in_generic_plans(db_session: AsyncSession) -> None:
    """Recording a payment sets it against the company's open invoices and applies its credit
    notes: both read the open items' partial indexes, not every document the company ever had."""
    ours = await buyer(db_session)
    before = await plan_counts(db_session)
    for _ in range(7):  # past PostgreSQL's five custom plans
        await receivable_queries.open_invoices(db_session, ours.company.id, for_update=True)
        await receivable_queries.unapplied_credit_notes(db_session, ours.company.id)
    misses = await partial_index_misses(db_session, since=before)
    assert misses == [], "\n\n".join(map(str, misses))
