"""Allocation of a wave's harvest when it comes short by 10 %: 50 boxes ordered online, 45
received — orders are filled in order of placement (FEFO across the lots), the order at the edge
is partly filled and refunded the rest, the orders after it are cancelled and refunded in full,
each refund exactly once (a second run changes nothing), every customer told, every stock move a
ledger row; the filled orders then go to their stations in per-station batches on the route runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderEvent, OrderStatus, Refund
from app.presales import allocation, errors, repository, service
from app.presales.models import Outcome, WaveStatus
from app.stations import parcels, run_queries
from app.stations.models import Parcel
from app.supply.models import LedgerKind, StockLedgerEntry
from tests.fixtures.builders import make_route, receive
from tests.presales.helpers import make_wave, order_in, pay

PRICE = 8800
# 12 orders of 4 boxes and one of 2: 50 boxes, the wave's whole cap.
QUANTITIES = ["4"] * 12 + ["2"]


async def test_a_harvest_short_by_ten_percent_fills_in_order_of_placement_and_refunds_the_rest_once(
    db_session: AsyncSession,
) -> None:
    session = db_session
    start = clock.now()
    setup = await make_wave(session, cap=50, price_minor=PRICE, pay_at_pickup=False, cutoff_in=timedelta(hours=2))
    numbers: list[str] = []
    for i, quantity in enumerate(QUANTITIES):
        # Placed a second apart, alternately for the two stations.
        with clock.pinned(start + timedelta(seconds=i)):
            order = await service.place(session, order_in(setup, quantity, station=i % 2, i=i), stripe_enabled=True)
            await pay(session, order)
        numbers.append(order.number)
    left = await repository.wave_row(session, setup.wave.code)
    assert left is not None and left.left == Decimal(0)
    # Nothing to pack before the harvest: a pre-sale holds no stock until it is allocated.
    waiting = {o.number for o, _ in await run_queries.orders_awaiting_dispatch(session)}
    assert waiting.isdisjoint(numbers)

    # The harvest: 45 boxes in two lots; the one that keeps less long goes out first (FEFO).
    later = await receive(session, setup.variant, "25", best_before=clock.today() + timedelta(days=18))
    sooner = await receive(session, setup.variant, "20", best_before=clock.today() + timedelta(days=12))

    with clock.pinned(start + timedelta(hours=1)), pytest.raises(errors.WaveNotClosed):
        await allocation.allocate(session, setup.wave.code, actor_user_id=None)

    with clock.pinned(start + timedelta(hours=3)):
        done = await allocation.allocate(session, setup.wave.code, actor_user_id=None)
    assert done.available == Decimal(45)
    assert done.filled == numbers[:11]
    assert done.partial == [numbers[11]]
    assert done.unfilled == [numbers[12]]
    assert done.boxes == Decimal(45)
    assert done.refund_minor == 3 * PRICE + 2 * PRICE

    orders = {o.number: o for o in await session.scalars(select(Order).where(Order.number.in_(numbers)))}
    for number in numbers[:11]:
        order = orders[number]
        await session.refresh(order)
        assert order.status is OrderStatus.confirmed
        assert order.reservation_reference == f"order:{number}"
        assert order.total_minor == 4 * PRICE
    edge = orders[numbers[11]]
    await session.refresh(edge)
    assert edge.status is OrderStatus.confirmed
    assert (edge.subtotal_minor, edge.total_minor, edge.paid_minor) == (PRICE, PRICE, 4 * PRICE)
    last = orders[numbers[12]]
    await session.refresh(last)
    assert last.status is OrderStatus.cancelled

    async def refunds() -> list[tuple[str, int]]:
        rows = await session.execute(
            select(Order.number, Refund.amount_minor)
            .join(Order, Order.id == Refund.order_id)
            .where(Order.number.in_(numbers))
            .order_by(Order.number)
        )
        return sorted((number, amount) for number, amount in rows.all())

    expected_refunds = sorted([(numbers[11], 3 * PRICE), (numbers[12], 2 * PRICE)])
    assert await refunds() == expected_refunds

    # The stock: 45 boxes sold (paid online: sold at allocation), the sooner lot first, as ledger rows.
    sold = dict(
        (
            await session.execute(
                select(StockLedgerEntry.lot_id, func.sum(StockLedgerEntry.on_hand_delta))
                .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref.in_(numbers))
                .group_by(StockLedgerEntry.lot_id)
            )
        ).all()
    )
    assert sold == {sooner.id: Decimal(-20), later.id: Decimal(-25)}
    first_lots = await session.scalars(
        select(StockLedgerEntry.lot_id).where(
            StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == numbers[0]
        )
    )
    assert set(first_lots) == {sooner.id}

    # The customers are told: 12 allocation notices, the last order's cancellation.
    notices = (
        await session.execute(
            select(NotificationMessage.reference, NotificationMessage.template).where(
                NotificationMessage.reference.in_(numbers),
                NotificationMessage.template.in_(["presale_allocated", "order_cancelled"]),
            )
        )
    ).all()
    assert sorted(notices) == sorted(
        [(n, "presale_allocated") for n in numbers[:12]] + [(numbers[12], "order_cancelled")]
    )
    edge_notice = await session.scalar(
        select(NotificationMessage.body).where(
            NotificationMessage.reference == numbers[11], NotificationMessage.template == "presale_allocated"
        )
    )
    assert edge_notice is not None and "订4份配到1份" in edge_notice and "¥264.00" in edge_notice
    assert (
        await session.scalar(
            select(func.count())
            .select_from(OrderEvent)
            .where(OrderEvent.order_id == edge.id, OrderEvent.kind == "presale_partial")
        )
        == 1
    )

    # A second run (the button clicked again) is refused and refunds nothing more.
    with clock.pinned(start + timedelta(hours=4)), pytest.raises(errors.WaveStateConflict):
        await allocation.allocate(session, setup.wave.code, actor_user_id=None)
    assert await refunds() == expected_refunds
    outcomes = [wo.outcome for wo, _ in await repository.orders_of_wave(session, setup.wave.id)]
    assert outcomes == [Outcome.filled] * 11 + [Outcome.partial, Outcome.unfilled]

    # Per-station batches: 12 orders now wait for their stations' runs; one run packs them.
    batches = {b.station_code: (b.orders, b.boxes) for b in await repository.batches(session, setup.wave.id)}
    assert batches == {setup.stations[0].code: (6, Decimal(24)), setup.stations[1].code: (6, Decimal(21))}
    waiting = {o.number for o, _ in await run_queries.orders_awaiting_dispatch(session)}
    assert set(numbers[:12]) <= waiting and numbers[12] not in waiting
    route = await make_route(session, *setup.stations)
    run = await parcels.plan_run(session, route_code=route.code, run_date=clock.today(), actor_user_id=None)
    packed = dict(
        (
            await session.execute(
                select(Parcel.station_id, func.count())
                .join(Order, Order.id == Parcel.order_id)
                .where(Parcel.run_id == run.id, Order.number.in_(numbers))
                .group_by(Parcel.station_id)
            )
        ).all()
    )
    assert packed == {setup.stations[0].id: 6, setup.stations[1].id: 6}
    coming = await repository.coming_to_station(session, setup.stations[1].id)
    assert [(c.wave_code, c.status, c.orders, c.boxes, c.in_parcels) for c in coming] == [
        (setup.wave.code, WaveStatus.allocated, 6, Decimal(21), 6)
    ]
