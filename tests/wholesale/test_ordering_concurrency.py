"""Concurrent on-account orders of one company, for real: ten sessions on one PostgreSQL, each
placing and committing at once. The company's row is locked first, so each credit check sees the
orders committed before it: against a limit that fits exactly four, four are confirmed and six held.
Each order goes to its own city on its own truck, so nothing but the company's lock (not a shared
trip row) puts them one after the other.

Rows stay in the committed database, so the test has its own city, route and company."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.kit import clock
from app.wholesale import order_queries, ordering
from app.wholesale.models import CreditState
from app.wholesale.ordering import BasketLine
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import SUNDAY_NOON, add_address, buyer, supply_sku


async def test_ten_concurrent_orders_never_pass_the_credit_limit_together(committed_engine: AsyncEngine) -> None:
    cities = [unique_city() for _ in range(10)]
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            for city in cities:
                await make_prd_route(session, cities=(city,), weekdays=(2, 4, 6))
            skus = [(await supply_sku(session, wholesale_minor=1000)).sku for _ in cities]  # ¥200.00 a case
            ours = await buyer(session, city=cities[0], credit_limit_minor=80_000)  # exactly four cases
            addresses = [ours.address.id]
            for city in cities[1:]:
                addresses.append((await add_address(session, ours.company, city)).id)
            await session.commit()
        start = asyncio.Event()

        async def one_order(sku: str, address_id: int) -> str:
            async with sessionmaker() as session:
                await start.wait()
                placed = await ordering.place_order(
                    session, ours.principal, [BasketLine(sku, cases=1)], address_id=address_id
                )
                await session.commit()
                return placed.wholesale.credit_state

        tasks = [asyncio.create_task(one_order(sku, a)) for sku, a in zip(skus, addresses, strict=True)]
        await asyncio.sleep(0.05)
        start.set()
        states = await asyncio.gather(*tasks)

    assert Counter(states) == Counter({CreditState.clear.value: 4, CreditState.held.value: 6})
    async with sessionmaker() as session:
        assert await ordering.owed_minor(session, ours.company.id) == 80_000  # no invoices: its open orders only
        orders = await order_queries.company_orders(session, ours.company.id)
        assert len(orders) == 10
        held = [w for _, w, _ in orders if w.credit_state == CreditState.held.value]
        # Each held order saw the four confirmed ones: ¥800 owed + its own ¥200.
        assert {w.exposure_minor for w in held} == {100_000}
