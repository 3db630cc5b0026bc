"""Concurrent wholesale orders, for real: sessions on one PostgreSQL, each placing and committing at
once. Each order is written first and then takes its turn on the company's row for the credit check
(so each check sees the orders committed before it) and on the trip's row for its room; an order
whose turn says otherwise (held, or the truck filled up) is written again.

- Ten orders of one company against a limit that fits exactly four: four are confirmed and six
  held. Each goes to its own city on its own truck, so only the company's turn orders them.
- Five companies' orders for one Tuesday truck with room for three: three go on it, two on
  Thursday's, told why, and every order holds its stock once.
- A company suspended while its order is written: the order's turn reads it again and refuses.
- An approval racing the sweep that lapses the same hold waits for it and is refused.

Rows stay in the committed database, so each test has its own cities, routes and companies."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import BuyerCompany, CompanyStatus, Role
from app.db import create_sessionmaker
from app.kit import clock
from app.orders.models import Order, OrderStatus
from app.supply.models import StockLevel
from app.wholesale import errors, order_queries, ordering, service
from app.wholesale.models import CreditState, WholesaleOrder
from app.wholesale.ordering import BasketLine
from app.wholesale.trip_models import WholesaleTrip
from tests.fixtures.builders import make_user
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import SUNDAY_NOON, add_address, buyer, buyer_of_own_city, supply_sku
from tests.wholesale.helpers import as_principal

TUESDAY, THURSDAY = date(2026, 12, 8), date(2026, 12, 10)


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


async def test_orders_for_a_full_truck_go_on_the_next_one_each_holding_its_stock_once(
    committed_engine: AsyncEngine,
) -> None:
    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            # Tuesday's truck takes three orders of 100 cases (10 kg a case, 1,000 kg an order).
            await make_prd_route(session, cities=(city,), weekdays=(2, 4), capacity_kg="10000", capacity_cases=300)
            sausage = await supply_sku(session, wholesale_minor=1000, case_pack=1, net_weight_grams=10_000, stock="600")
            buyers = [await buyer(session, city=city) for _ in range(5)]
            await session.commit()
        start = asyncio.Event()

        async def one_order(who: int) -> ordering.PlacedOrder:
            async with sessionmaker() as session:
                await start.wait()
                placed = await ordering.place_order(
                    session,
                    buyers[who].principal,
                    [BasketLine(sausage.sku, cases=100)],
                    address_id=buyers[who].address.id,
                    requested_trip_date=TUESDAY,
                )
                await session.commit()
                return placed

        tasks = [asyncio.create_task(one_order(who)) for who in range(5)]
        await asyncio.sleep(0.05)
        start.set()
        placed = await asyncio.gather(*tasks)

    assert Counter(p.trip.trip.departure_date for p in placed) == Counter({TUESDAY: 3, THURSDAY: 2})
    moved = [p for p in placed if p.trip.trip.departure_date == THURSDAY]
    assert {p.wholesale.trip_reason_code for p in moved} == {"trip_full"}
    assert all("trip_assigned" in [e.kind for e in p.order.events] for p in placed)
    async with sessionmaker() as session:
        for who in buyers:
            (order,) = await order_queries.company_orders(session, who.company.id)
            assert order[0].total_minor == 100 * 1000
        held = await session.scalar(select(func.sum(StockLevel.reserved)).where(StockLevel.variant_id == sausage.id))
        assert held == Decimal(500)  # five orders of 100, each held once
        booked = sorted(
            (t.departure_date, t.booked_cases)
            for t in {
                o[2].id: o[2] for who in buyers for o in await order_queries.company_orders(session, who.company.id)
            }.values()
        )
        assert booked == [(TUESDAY, 300), (THURSDAY, 200)]


async def test_a_suspension_decided_while_an_order_is_written_stops_it_at_its_turn(
    committed_engine: AsyncEngine,
) -> None:
    """The order's transaction read the company (approved) with the caller's token; the centre
    suspends it before the order's turn. The turn reads the company again, in the statement that
    would write the wholesale row and book the truck: 403, and nothing of the order is kept."""
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            ours, sku = await buyer_of_own_city(session)
            await session.commit()
        async with sessionmaker() as session:
            # Read as the request's token check reads it (kept: the identity map holds it weakly).
            company = await service.ordering_company(session, ours.principal)
            assert company.status is CompanyStatus.approved
            async with sessionmaker() as centre:
                await centre.execute(
                    update(BuyerCompany)
                    .where(BuyerCompany.id == ours.company.id)
                    .values(status=CompanyStatus.suspended)
                )
                await centre.commit()
            with pytest.raises(errors.CompanySuspended):
                await ordering.place_order(
                    session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id
                )
            assert company.status is CompanyStatus.suspended  # the session's company, as its turn read it
            await session.rollback()

    async with sessionmaker() as session:
        assert await order_queries.company_orders(session, ours.company.id) == []
        assert await ordering.owed_minor(session, ours.company.id) == 0


async def test_an_approval_racing_the_lapse_of_its_hold_waits_for_it_and_is_refused(
    committed_engine: AsyncEngine,
) -> None:
    """The beat's sweep has locked a held order past its deadline (its trip's row and its order's,
    then its wholesale row) when the centre approves it. The approval locks the rows in the same order, so it waits
    for the sweep and then finds the hold lapsed (409); when it took the wholesale row first, the
    two deadlocked and PostgreSQL cancelled one of them."""
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            ours, sku = await buyer_of_own_city(session, credit_limit_minor=10_000)  # less than a case
            held = await ordering.place_order(
                session, ours.principal, [BasketLine(sku, cases=1)], address_id=ours.address.id
            )
            assert held.wholesale.credit_state == CreditState.held.value
            # Its deadline an hour ago: the only lapsed hold (other tests' stay in this database).
            await session.execute(
                update(WholesaleOrder)
                .where(WholesaleOrder.order_id == held.order.id)
                .values(credit_hold_until=SUNDAY_NOON - timedelta(hours=1))
            )
            admin = await as_principal(session, await make_user(session, Role.admin))
            await session.commit()
        number = held.order.number

        async def approve() -> None:
            async with sessionmaker() as centre:
                await ordering.approve_held_order(centre, number, actor=admin)
                await centre.commit()

        async with sessionmaker() as sweep:
            # The sweep's first locks: the trip's row, then the order's.
            trip_id = await order_queries.trip_id_of(sweep, number=number)
            await sweep.execute(select(WholesaleTrip.id).where(WholesaleTrip.id == trip_id).with_for_update())
            await sweep.execute(select(Order.id).where(Order.number == number).with_for_update())
            approval = asyncio.create_task(approve())
            await asyncio.sleep(0.5)  # the approval is now waiting for a row the sweep holds
            assert await ordering.release_lapsed_hold(sweep, now=SUNDAY_NOON) == [number]
            await sweep.commit()
        with pytest.raises(errors.OrderNotHeld):
            await approval

    async with sessionmaker() as session:
        found = await order_queries.order_of_company(session, number, None)
        assert found is not None
        assert (found[0].status, found[1].credit_state) == (OrderStatus.expired, CreditState.lapsed.value)
