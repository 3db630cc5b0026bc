"""Every path that changes a wholesale order after it was placed locks its rows in one order: the
trip's row, then the order's, then its wholesale row (packing and dispatch lock the trip first, so
a buyer's cancel does). The beat's sweeps used to take the trip last, to take the load off it, and
deadlocked with a buyer cancelling the same order; the centre's approval took the wholesale row
before the order's, and deadlocked with the sweep.

- Each path's statements, recorded: the tables in the order their rows are first locked.
- For real, on the committed database: a buyer's cancel and the lapse sweep of the same held order,
  both waiting for its trip while the warehouse holds it: both finish, one after the other."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.kit import clock
from app.orders.models import OrderStatus
from app.wholesale import cancelling, order_queries, ordering, trip_queries
from app.wholesale.models import CreditState, WholesaleOrder
from app.wholesale.ordering import BasketLine
from app.wholesale.trip_models import WholesaleTrip
from tests.fixtures.builders import make_user
from tests.fixtures.wholesale_orders import SUNDAY_NOON, Buyer, buyer, buyer_of_own_city, supply_sku
from tests.stations.test_handover_statements import statements
from tests.wholesale.helpers import as_principal

ROWS_IN_ORDER = ("wholesale_trips", "orders", "wholesale_orders")
_UPDATED = re.compile(r"\bUPDATE\s+(\w+)\s+SET\b")
_SELECTED_FOR_UPDATE = re.compile(r"^SELECT\b.*?\sFROM\s+(\w+)\b.*\sFOR\s+(?:NO\s+KEY\s+)?UPDATE\b", re.DOTALL)


def first_locks(sent: list[str]) -> list[str]:
    """The tables among ``ROWS_IN_ORDER`` in the order a statement first locks one of their rows
    (``SELECT … FOR UPDATE`` on it, or an ``UPDATE`` of it, a CTE's included)."""
    seen: list[str] = []
    for statement in sent:
        selected = _SELECTED_FOR_UPDATE.match(statement.strip())
        tables = [selected.group(1)] if selected else _UPDATED.findall(statement)
        seen.extend(t for t in tables if t in ROWS_IN_ORDER and t not in seen)
    return seen


def in_lock_order(tables: list[str]) -> bool:
    return tables == sorted(tables, key=ROWS_IN_ORDER.index)


async def held_order(session: AsyncSession, who: Buyer, sku: str) -> str:
    """An order over its company's limit, held, its deadline an hour before the tests' moment."""
    placed = await ordering.place_order(session, who.principal, [BasketLine(sku, cases=1)], address_id=who.address.id)
    assert placed.wholesale.credit_state == CreditState.held.value
    await session.execute(
        update(WholesaleOrder)
        .where(WholesaleOrder.order_id == placed.order.id)
        .values(credit_hold_until=SUNDAY_NOON - timedelta(hours=1))
    )
    return placed.order.number


@pytest.mark.usefixtures("sunday_noon", "guangzhou_route")
async def test_every_path_locks_the_trip_then_the_order_then_its_wholesale_row(
    db_session: AsyncSession, engine: AsyncEngine
) -> None:
    sku = (await supply_sku(db_session, wholesale_minor=1000)).sku
    ours = await buyer(db_session, credit_limit_minor=10_000)  # less than a case: every order is held
    lapsing, approved, cancelled, ended = [await held_order(db_session, ours, sku) for _ in range(4)]
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))
    await db_session.flush()

    with statements(engine) as lapse:
        assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON, limit=1) == [lapsing]
    with statements(engine) as approve:
        await ordering.approve_held_order(db_session, approved, actor=admin)
    with statements(engine) as cancel:
        await cancelling.cancel_order(db_session, ours.principal, cancelled, reason="下错了")
    # An order that ended without its load coming off (an unpaid prepay order expires so).
    await db_session.execute(text("UPDATE orders SET status = 'expired' WHERE number = :number"), {"number": ended})
    with statements(engine) as freed:
        assert await ordering.release_freed_trip_room(db_session, limit=1) == [ended]

    assert first_locks(lapse) == list(ROWS_IN_ORDER), "\n\n".join(lapse)
    assert first_locks(freed) == ["wholesale_trips", "wholesale_orders"], "\n\n".join(freed)
    assert first_locks(cancel)[:2] == ["wholesale_trips", "orders"], "\n\n".join(cancel)
    assert first_locks(approve)[:2] == ["orders", "wholesale_orders"], "\n\n".join(approve)
    for sent in (lapse, approve, cancel, freed):
        assert in_lock_order(first_locks(sent)), "\n\n".join(sent)


async def test_a_cancel_and_the_lapse_sweep_of_one_order_both_finish(committed_engine: AsyncEngine) -> None:
    """The warehouse holds the trip's row (packing); the buyer cancels the held order, then the
    sweep lapses it: both wait for the trip. When the warehouse commits, the cancel goes first and
    the sweep then finds the hold withdrawn and leaves it. With the sweep locking the trip last it
    had taken the order meanwhile, and the two deadlocked."""
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            ours, sku = await buyer_of_own_city(session, credit_limit_minor=10_000)
            number = await held_order(session, ours, sku)
            trip_id = await order_queries.trip_id_of(session, number=number)
            await session.commit()
        assert trip_id is not None

        async def cancel() -> None:
            async with sessionmaker() as buyer_session:
                await cancelling.cancel_order(buyer_session, ours.principal, number, reason="不要了")
                await buyer_session.commit()

        async def sweep() -> list[str]:
            async with sessionmaker() as beat:
                done = await ordering.release_lapsed_hold(beat, now=SUNDAY_NOON)
                await beat.commit()
                return done

        async with sessionmaker() as warehouse:
            await warehouse.execute(select(WholesaleTrip.id).where(WholesaleTrip.id == trip_id).with_for_update())
            cancelling_task = asyncio.create_task(cancel())
            await asyncio.sleep(0.3)  # the cancel waits for the trip
            sweeping = asyncio.create_task(sweep())
            await asyncio.sleep(0.3)  # and so does the sweep (before: it held the order by now)
            await warehouse.commit()
        await cancelling_task
        assert await sweeping == [number]

    async with sessionmaker() as session:
        found = await order_queries.order_of_company(session, number, None)
        assert found is not None
        assert (found[0].status, found[1].credit_state) == (OrderStatus.cancelled, CreditState.withdrawn.value)
        trip = await trip_queries.trip_by_id(session, trip_id)
        assert trip is not None and trip.booked_cases == 0  # its load came off once
