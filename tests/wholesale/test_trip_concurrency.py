"""PRD trips under concurrency, for real: many sessions on one PostgreSQL, each committing.

Rows stay in the committed database, so each test has its own route and city.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.kit import clock
from app.wholesale import trips
from app.wholesale.trip_models import WholesaleTrip
from tests.fixtures.trips import make_prd_route, unique_city

SUNDAY_NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 Sunday 6 December 2026 in China
TUE, THU = date(2026, 12, 8), date(2026, 12, 10)


async def _route(engine: AsyncEngine, city: str, *, capacity_kg: str, capacity_cases: int) -> int:
    async with create_sessionmaker(engine)() as session:
        route = await make_prd_route(
            session, cities=(city,), weekdays=(2, 4, 6), capacity_kg=capacity_kg, capacity_cases=capacity_cases
        )
        await session.commit()
        return route.id


async def test_twenty_concurrent_bookings_never_overfill_a_trip(committed_engine: AsyncEngine) -> None:
    """Room for exactly 7 loads of 10 cases / 150 kg: of 20 simultaneous bookings, exactly 7 fit and
    the counters are their sum."""
    city = unique_city()
    await _route(committed_engine, city, capacity_kg="1050", capacity_cases=70)
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            trip = (await trips.upcoming_trips(session, city, days=3))[0]
            await session.commit()
        start = asyncio.Event()

        async def one_booking() -> bool:
            async with sessionmaker() as session:
                await start.wait()
                fitted = await trips.book(session, trip.trip_id, Decimal("150"), 10)
                await session.commit()
                return fitted

        tasks = [asyncio.create_task(one_booking()) for _ in range(20)]
        await asyncio.sleep(0.05)
        start.set()
        results = await asyncio.gather(*tasks)

    assert Counter(results) == Counter({True: 7, False: 13})
    async with sessionmaker() as session:
        row = await session.get(WholesaleTrip, trip.trip_id)
        assert row is not None
        assert (row.booked_kg, row.booked_cases) == (Decimal("1050.000"), 70)


async def test_concurrent_first_looks_make_each_trip_once(committed_engine: AsyncEngine) -> None:
    city = unique_city()
    route_id = await _route(committed_engine, city, capacity_kg="12000", capacity_cases=400)
    sessionmaker = create_sessionmaker(committed_engine)

    async def look() -> list[int]:
        async with sessionmaker() as session:
            slots = await trips.upcoming_trips(session, city, days=14)
            await session.commit()
            return [s.trip_id for s in slots]

    with clock.pinned(SUNDAY_NOON):
        seen = await asyncio.gather(*(look() for _ in range(10)))

    assert all(ids == seen[0] for ids in seen)
    assert len(seen[0]) == 6  # Tue, Thu, Sat of two weeks
    async with sessionmaker() as session:
        made = await session.scalar(
            select(func.count()).select_from(WholesaleTrip).where(WholesaleTrip.route_id == route_id)
        )
    assert made == 6


async def test_concurrent_orders_for_one_trip_spill_to_the_next_with_the_reason(committed_engine: AsyncEngine) -> None:
    """Tuesday's trip has room for 3 orders of 100 cases; 5 buyers ask for it at once: 3 get it,
    2 go on Thursday's and are told Tuesday's is full."""
    city = unique_city()
    await _route(committed_engine, city, capacity_kg="10000", capacity_cases=300)
    sessionmaker = create_sessionmaker(committed_engine)

    async def order() -> trips.TripChoice:
        async with sessionmaker() as session:
            choice = await trips.assign(session, city=city, weight_kg=Decimal("1000"), cases=100, requested_date=TUE)
            await session.commit()
            return choice

    with clock.pinned(SUNDAY_NOON):
        choices = await asyncio.gather(*(order() for _ in range(5)))
        async with sessionmaker() as session:
            tuesday, thursday, _ = await trips.upcoming_trips(session, city, days=7)

    assert Counter(c.trip.departure_date for c in choices) == Counter({TUE: 3, THU: 2})
    assert {c.reason_code for c in choices if c.trip.departure_date == TUE} == {"as_requested"}
    moved = [c for c in choices if c.trip.departure_date == THU]
    assert {c.reason_code for c in moved} == {"trip_full"}
    assert all(c.reason_zh.endswith("改为周四（12月10日）的车次") for c in moved)
    assert (tuesday.booked_cases, tuesday.booked_kg) == (300, Decimal("3000.000"))
    assert (thursday.booked_cases, thursday.booked_kg) == (200, Decimal("2000.000"))
