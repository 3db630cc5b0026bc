"""The standing-order generator for real on the committed database: two workers running it at the
same moment place one order, and the beat's pass run twice places one order.

Rows stay in the committed database, so the test has its own city, route and company."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.orders.models import Order
from app.wholesale import standing
from app.wholesale.ordering import BasketLine
from app.wholesale.standing_models import StandingOccurrence
from app.wholesale.tasks import standing_generation
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import SUNDAY_NOON, buyer, supply_sku

# Sunday 6 December 2026, 18:30 China time: Tuesday's trip closes Monday 18:00, inside the 24 hours.
IN_WINDOW = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)


async def _setup(engine: AsyncEngine) -> tuple[int, int]:
    city = unique_city()
    sessionmaker = create_sessionmaker(engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            await make_prd_route(session, cities=(city,), weekdays=(2, 4, 6))
            sku = (await supply_sku(session)).sku
            ours = await buyer(session, city=city)
            made = await standing.create(
                session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id, weekday=2
            )
            await session.commit()
            return made.id, ours.company.id


async def _counts(engine: AsyncEngine, standing_id: int, company_id: int) -> tuple[int, int]:
    async with create_sessionmaker(engine)() as session:
        orders = await session.scalar(select(func.count(Order.id)).where(Order.company_id == company_id))
        weeks = await session.scalar(
            select(func.count(StandingOccurrence.id)).where(StandingOccurrence.standing_order_id == standing_id)
        )
        return int(orders or 0), int(weeks or 0)


async def test_two_workers_at_once_place_one_order(committed_engine: AsyncEngine) -> None:
    standing_id, company_id = await _setup(committed_engine)
    sessionmaker = create_sessionmaker(committed_engine)
    start = asyncio.Event()

    async def one_run() -> standing.Generated | None:
        async with sessionmaker() as session:
            await start.wait()
            done = await standing.generate_for(session, standing_id)
            await session.commit()
            return done

    with clock.pinned(IN_WINDOW):
        tasks = [asyncio.create_task(one_run()) for _ in range(4)]
        await asyncio.sleep(0.05)
        start.set()
        results = await asyncio.gather(*tasks)

    assert len([r for r in results if r is not None]) == 1
    assert await _counts(committed_engine, standing_id, company_id) == (1, 1)


async def test_the_beats_pass_run_twice_places_one_order(committed_engine: AsyncEngine) -> None:
    standing_id, company_id = await _setup(committed_engine)
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(IN_WINDOW):
        # A recording sender: a real Celery connection here would stay cached for later tests.
        first = await standing_generation(sessionmaker, RecordingSender())
        second = await standing_generation(sessionmaker, RecordingSender())
    assert any(item.startswith(f"#{standing_id} ") for item in first)
    assert not any(item.startswith(f"#{standing_id} ") for item in second)
    assert await _counts(committed_engine, standing_id, company_id) == (1, 1)
