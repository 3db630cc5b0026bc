"""The beat's sweeps of unpaid orders (their expiry and the reminder before it) and of lapsed
stock holds read their partial indexes in PostgreSQL's generic plans too (``tests/fixtures/plans.py``):
with the status bound as a parameter, such a plan read every order or every reservation ever made,
at each sweep (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.orders import repository
from app.supply import reservation_queries
from tests.fixtures.plans import partial_index_misses, plan_counts


async def test_the_sweeps_read_their_partial_indexes_in_generic_plans(db_session: AsyncSession) -> None:
    before = await plan_counts(db_session)
    now = clock.now()
    for _ in range(7):  # past PostgreSQL's five custom plans
        await repository.overdue_orders(db_session, now, 10)
        await repository.orders_due_soon(db_session, now, now + timedelta(hours=1), 10)
        await reservation_queries.lock_expired_holds(db_session, now=now, limit=10)
    misses = await partial_index_misses(db_session, since=before)
    assert misses == [], "\n\n".join(map(str, misses))
