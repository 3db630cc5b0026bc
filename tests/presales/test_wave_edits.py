"""Editing a wave and closed waves: an edit after a cancellation or an allocation is refused (409)
and leaves the capacity as it was; edits and orders at once on the committed PostgreSQL do not
deadlock; a partly filled order holds only its filled boxes, and places given back on an
allocated wave do not reopen it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import create_engine, create_sessionmaker
from app.kit import clock
from app.orders import service as order_service
from app.orders.models import Capacity, CapacityHold, Order, PaymentMethod, Refund
from app.presales import allocation, errors, service
from tests.fixtures.builders import receive
from tests.presales.helpers import Setup, make_wave, order_in, pay


def edit_of(setup: Setup, cap: int) -> service.WaveInput:
    """The wave as it is, with a new cap and a title naming it (so the wave row itself is updated)."""
    wave = setup.wave
    return service.WaveInput(
        title=f"{wave.title[:80]} 共{cap}份",
        sku=setup.variant.sku,
        price_minor=wave.price_minor,
        cap=cap,
        cutoff_at=wave.cutoff_at,
        harvest_from=wave.harvest_from,
        harvest_to=wave.harvest_to,
        max_per_order=wave.max_per_order,
        pay_at_pickup=wave.pay_at_pickup,
        pickup_boxes_per_phone=wave.pickup_boxes_per_phone,
    )


async def capacity_of(session: AsyncSession, setup: Setup) -> tuple[int, int]:
    """The wave capacity's (cap, used), read afresh, in whole boxes."""
    row = await session.get(Capacity, setup.wave.capacity_id, populate_existing=True)
    assert row is not None and row.cap == int(row.cap) and row.used == int(row.used)
    return int(row.cap), int(row.used)


async def test_an_edit_after_cancel_or_allocation_is_refused_and_changes_no_capacity(db_session: AsyncSession) -> None:
    session = db_session
    cancelled = await make_wave(session, cap=10)
    await service.place(session, order_in(cancelled, "2", method=PaymentMethod.pay_at_pickup), stripe_enabled=False)
    await service.cancel_wave(session, cancelled.wave.code, reason="降雨", actor_user_id=None)
    before = await capacity_of(session, cancelled)
    with pytest.raises(errors.WaveNotOpen) as refused:
        await service.edit_wave(session, cancelled.wave.code, edit_of(cancelled, 40))
    assert refused.value.status_code == 409 and await capacity_of(session, cancelled) == before == (0, 0)

    start = clock.now()
    allocated = await make_wave(session, cap=10, cutoff_in=timedelta(hours=1))
    await service.place(session, order_in(allocated, "2", method=PaymentMethod.pay_at_pickup), stripe_enabled=False)
    await receive(session, allocated.variant, "5")
    with clock.pinned(start + timedelta(hours=2)):
        await allocation.allocate(session, allocated.wave.code, actor_user_id=None)
    before = await capacity_of(session, allocated)
    assert before == (2, 2)
    with pytest.raises(errors.WaveNotOpen):
        await service.edit_wave(session, allocated.wave.code, edit_of(allocated, 40))
    assert await capacity_of(session, allocated) == before


async def test_a_partial_fill_holds_its_filled_boxes_and_a_later_cancel_keeps_the_wave_closed(
    db_session: AsyncSession,
) -> None:
    session = db_session
    start = clock.now()
    setup = await make_wave(session, cap=10, pay_at_pickup=True, per_phone=5, cutoff_in=timedelta(hours=1))
    first = await service.place(session, order_in(setup, "3"), stripe_enabled=True)
    await pay(session, first)
    with clock.pinned(start + timedelta(seconds=1)):
        edge = await service.place(
            session, order_in(setup, "4", i=1, method=PaymentMethod.pay_at_pickup), stripe_enabled=False
        )
    await receive(session, setup.variant, "5")
    with clock.pinned(start + timedelta(hours=2)):
        done = await allocation.allocate(session, setup.wave.code, actor_user_id=None)
    assert done.filled == [first.number] and done.partial == [edge.number]
    hold = await session.scalar(select(CapacityHold.quantity).where(CapacityHold.order_id == edge.id))
    assert hold == Decimal(2)
    assert await capacity_of(session, setup) == (5, 5)  # closed: cap = what is held

    loaded = await session.get(Order, edge.id, populate_existing=True)
    assert loaded is not None
    await order_service.cancel(session, loaded, reason="顾客不要了", actor_user_id=None)
    # Two places given back (the filled boxes, not the four ordered); the cap shrank with them.
    assert await capacity_of(session, setup) == (3, 3)


async def test_cancelling_a_partly_filled_paid_order_refunds_only_what_is_left(db_session: AsyncSession) -> None:
    """The partial fill's refund is still on its way to Stripe when the order is cancelled: the
    cancellation refunds the rest of the money, never the whole payment again."""
    session = db_session
    start = clock.now()
    setup = await make_wave(session, cap=10, cutoff_in=timedelta(hours=1))
    first = await service.place(session, order_in(setup, "3"), stripe_enabled=True)
    await pay(session, first)
    with clock.pinned(start + timedelta(seconds=1)):
        edge = await service.place(session, order_in(setup, "4", i=1), stripe_enabled=True)
    await pay(session, edge)
    await receive(session, setup.variant, "5")
    with clock.pinned(start + timedelta(hours=2)):
        done = await allocation.allocate(session, setup.wave.code, actor_user_id=None)
    assert done.partial == [edge.number]
    loaded = await session.get(Order, edge.id, populate_existing=True)
    assert loaded is not None
    await order_service.cancel(session, loaded, reason="顾客不要了", actor_user_id=None)
    refunds = list(await session.scalars(select(Refund.amount_minor).where(Refund.order_id == edge.id)))
    assert sum(refunds) == loaded.paid_minor and len(refunds) == 2


async def test_an_edit_after_a_cancellation_committed_elsewhere_is_refused(committed_engine: AsyncEngine) -> None:
    """The editor read the wave while it was open; another session cancels it and commits before
    the edit is saved: the edit re-reads the status under its own lock and is refused."""
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_wave(session, cap=10)
        await session.commit()
    async with sessionmaker() as editor:
        await service.wave_or_404(editor, setup.wave.code)  # the edit form's read, status open
        async with sessionmaker() as other:
            await service.cancel_wave(other, setup.wave.code, reason="降雨", actor_user_id=None)
            await other.commit()
        with pytest.raises(errors.WaveNotOpen):
            await service.edit_wave(editor, setup.wave.code, edit_of(setup, 40))
        await editor.rollback()
    async with sessionmaker() as session:
        assert await capacity_of(session, setup) == (0, 0)


async def test_edits_and_orders_at_once_do_not_deadlock(committed_database_url: str) -> None:
    engine = create_engine(committed_database_url, pool_size=40)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        setup = await make_wave(session, cap=100, pay_at_pickup=True, per_phone=5)
        await session.commit()

    async def order(i: int) -> str:
        async with sessionmaker() as session:
            data = replace(order_in(setup, "1", i=9000 + i, method=PaymentMethod.pay_at_pickup))
            await service.place(session, data, stripe_enabled=False)
            await session.commit()
            return "placed"

    async def edit(cap: int) -> str:
        async with sessionmaker() as session:
            await service.edit_wave(session, setup.wave.code, edit_of(setup, cap))
            await session.commit()
            return "edited"

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(order(i) for i in range(30)), *(edit(cap) for cap in (60, 70, 80)), return_exceptions=True),
        timeout=120,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not failures, failures
    assert outcomes.count("placed") == 30 and outcomes.count("edited") == 3
    async with sessionmaker() as session:
        cap, used = await capacity_of(session, setup)
        assert used == 30 and cap in (60, 70, 80)
    await engine.dispose()
