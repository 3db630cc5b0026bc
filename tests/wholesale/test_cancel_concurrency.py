"""A buyer's cancel racing the warehouse's packing of the same order, for real (two sessions on one
PostgreSQL, committing at once): exactly one wins, the other is refused and changes nothing —
never a cancelled order that was packed. The packing is the warehouse's own service; both lock the
trip row first, so one waits for the other. Two cancels of one
order (two browsers): one cancels, the other is refused, the truck room is given back once.

Rows stay in the committed database, so the test has its own city, route and company."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import create_sessionmaker
from app.kit import clock
from app.kit.errors import AppError
from app.orders import repository as orders_repository
from app.orders import service as order_service
from app.orders.models import OrderStatus
from app.wholesale import cancelling, packing, trip_queries
from app.wholesale import order_queries as queries
from app.wholesale.ordering import BasketLine, place_order
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import SUNDAY_NOON, Buyer, buyer, supply_sku

ROUNDS = 6


async def pack(session: AsyncSession, number: str) -> None:
    """The warehouse packs an order with the real packing service (it locks the trip row first)."""
    order = await orders_repository.order_by_number(session, number)
    assert order is not None
    found = await queries.of_order(session, order.id)
    assert found is not None
    trip = await trip_queries.trip_by_id(session, found.trip_id)
    assert trip is not None
    await packing.pack_order(session, trip.number, number, {}, actor_user_id=None)


async def setup(sessionmaker: async_sessionmaker[AsyncSession], orders: int) -> tuple[Buyer, list[str]]:
    city = unique_city()
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(2, 4, 6))
        sku = (await supply_sku(session, wholesale_minor=1000, stock="2000")).sku
        ours = await buyer(session, city=city)
        numbers = [
            (
                await place_order(session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id)
            ).order.number
            for _ in range(orders)
        ]
        await session.commit()
    return ours, numbers


async def race(sessionmaker: async_sessionmaker[AsyncSession], *steps: tuple[str, object]) -> list[str]:
    """Run each step in its own session, started together; each answers "won" or its error code."""
    start = asyncio.Event()

    async def one(step: object) -> str:
        async with sessionmaker() as session:
            await start.wait()
            try:
                await step(session)  # type: ignore[operator]
                await session.commit()
                return "won"
            except AppError as exc:
                await session.rollback()
                # A cancel that lost is a 409; packing an order cancelled first finds no live order on the trip.
                assert exc.status_code == 409 or exc.code == "trip_order_not_found", exc
                return exc.code

    tasks = [asyncio.create_task(one(step)) for _, step in steps]
    await asyncio.sleep(0.05)
    start.set()
    return list(await asyncio.gather(*tasks))


async def test_cancel_and_packing_never_both_win(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        ours, numbers = await setup(sessionmaker, ROUNDS)
        for number in numbers:

            async def cancel(session: AsyncSession, number: str = number) -> None:
                await cancelling.cancel_order(session, ours.principal, number)

            async def packing(session: AsyncSession, number: str = number) -> None:
                await pack(session, number)

            cancelled, packed = await race(sessionmaker, ("cancel", cancel), ("pack", packing))

            assert [cancelled, packed].count("won") == 1, (cancelled, packed)
            async with sessionmaker() as session:
                order = await orders_repository.order_by_number(session, number)
                assert order is not None
                was_packed = any(e.kind == order_service.PACKED for e in order.events)
                if cancelled == "won":
                    assert order.status is OrderStatus.cancelled and not was_packed
                    assert packed == "trip_order_not_found"
                else:
                    assert order.status is OrderStatus.confirmed and was_packed
                    # Packed, or its trip is loading since an earlier round's order was packed.
                    assert cancelled in ("wholesale_order_packed", "wholesale_cancel_after_cutoff")


async def test_two_cancels_of_one_order_release_the_truck_room_once(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        ours, (number, kept) = await setup(sessionmaker, 2)

        async def cancel(session: AsyncSession) -> None:
            await cancelling.cancel_order(session, ours.principal, number)

        answers = await race(sessionmaker, ("a", cancel), ("b", cancel))

    assert sorted(answers) == ["wholesale_order_not_cancellable", "won"]
    async with sessionmaker() as session:
        found = await queries.order_of_company(session, kept, ours.company.id)
        assert found is not None
        trip = await trip_queries.trip_by_id(session, found[1].trip_id)
        assert trip is not None and trip.booked_cases == 1  # the other order's case only
