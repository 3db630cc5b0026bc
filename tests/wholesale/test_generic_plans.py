"""Placing wholesale orders and reading a company's credit read their partial indexes in
PostgreSQL's generic plans too (``tests/fixtures/plans.py``; the credit sum's own test is in
``test_open_owed.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.wholesale import ordering
from app.wholesale.ordering import BasketLine
from tests.fixtures.plans import partial_index_misses, plan_counts
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
