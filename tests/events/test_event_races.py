"""Races of an event's cancellation with purchases, customers' refunds and check-ins, on committed
PostgreSQL. Each interleaving is forced: one transaction is left open at the point that matters
while the other runs, then committed.

- a purchase in flight when the centre cancels the event is cancelled too (the event row: FOR
  SHARE by purchases, FOR UPDATE by the cancellation);
- a ticket order left pending by the cancellation and paid late is refunded, never confirmed;
- a customer's refund in flight does not abort the event's cancellation (orders locked in id order
  and re-read; one no longer standing is skipped);
- a ticket is never both checked in and refunded (the order row: FOR SHARE by check-ins, FOR
  UPDATE by the customer's cancellation)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.events import checkin, errors, repository, service
from app.events.models import Ticket
from app.orders import payments
from app.orders.models import Capacity, Order, OrderStatus, Refund
from app.orders.providers import IntentResult
from tests.events.builders import ADULT, Setup, buy, make_event, pay
from tests.fixtures.builders import make_user

WAIT = 0.5  # long enough for the other transaction to reach its lock and wait (or, unfixed, to finish)


async def _used(sessionmaker: async_sessionmaker[AsyncSession], capacity_id: int) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(Capacity.used).where(Capacity.id == capacity_id)) or 0)


async def _order(sessionmaker: async_sessionmaker[AsyncSession], order_id: int) -> Order:
    async with sessionmaker() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        return order


async def _cancel_event(sessionmaker: async_sessionmaker[AsyncSession], event_id: int) -> int:
    async with sessionmaker() as session:
        count = await service.cancel_event(session, event_id, reason="暴雨", actor_user_id=None)
        await session.commit()
        return count


async def test_a_purchase_in_flight_when_the_event_is_cancelled_is_cancelled_too(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_event(session)
        await session.commit()
        event_id, capacity_id = setup.event.id, setup.slot.capacity_id

    async with sessionmaker() as buyer:
        order = await buy(buyer, Setup(setup.event, setup.slot, setup.station), adults=2)
        order_id = order.id
        cancelling = asyncio.create_task(_cancel_event(sessionmaker, event_id))
        await asyncio.sleep(WAIT)
        await buyer.commit()
    assert await cancelling == 1  # it waited for the purchase and cancelled its order
    assert (await _order(sessionmaker, order_id)).status is OrderStatus.cancelled
    assert await _used(sessionmaker, capacity_id) == 0


async def test_a_late_payment_of_a_ticket_order_of_a_cancelled_event_is_refunded(db_session: AsyncSession) -> None:
    setup = await make_event(db_session)
    order = await buy(db_session, setup, adults=1)
    payment = await payments.prepare_online_payment(db_session, order, method="card")  # the customer is paying
    assert await service.cancel_event(db_session, setup.event.id, reason="暴雨", actor_user_id=None) == 1
    await payments.record_intent(  # Stripe reports the card payment succeeded after the cancellation
        db_session,
        payment,
        IntentResult(
            external_id=f"pi_{uuid.uuid4().hex[:16]}",
            status="succeeded",
            amount_minor=ADULT,
            currency="CNY",
            next_action=None,
        ),
    )
    await db_session.refresh(order)
    assert order.status is OrderStatus.cancelled and order.paid_minor == ADULT
    refunds = list(await db_session.scalars(select(Refund).where(Refund.order_id == order.id)))
    assert [r.amount_minor for r in refunds] == [ADULT]


async def test_a_customer_refund_in_flight_does_not_abort_the_event_cancellation(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_event(session)
        first = await buy(session, setup, adults=1)
        second = await buy(session, setup, adults=2)
        await pay(session, first)
        await pay(session, second)
        await session.commit()
        event_id, capacity_id, first_id, second_id = setup.event.id, setup.slot.capacity_id, first.id, second.id

    async with sessionmaker() as customer:
        order = await customer.get(Order, first_id)
        assert order is not None
        await service.cancel_tickets(customer, order, actor_user_id=None)
        cancelling = asyncio.create_task(_cancel_event(sessionmaker, event_id))
        await asyncio.sleep(WAIT)
        await customer.commit()
    assert await cancelling == 1  # the customer's order was cancelled by the customer, once
    for order_id in (first_id, second_id):
        assert (await _order(sessionmaker, order_id)).status is OrderStatus.cancelled
    assert await _used(sessionmaker, capacity_id) == 0
    async with sessionmaker() as session:
        refunds = list(await session.scalars(select(Refund).where(Refund.order_id.in_([first_id, second_id]))))
        assert sorted((r.order_id, r.amount_minor) for r in refunds) == [(first_id, ADULT), (second_id, 2 * ADULT)]


async def _checked_in(sessionmaker: async_sessionmaker[AsyncSession], order_id: int) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.order_id == order_id, Ticket.checked_in_at.is_not(None))
            )
            or 0
        )


async def _ticket_setup(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int, list[str]]:
    """A paid order of 3 tickets for a slot starting in an hour, refundable until it starts."""
    async with sessionmaker() as session:
        setup = await make_event(session, starts_in=timedelta(hours=1), cancel_hours=0)
        order = await buy(session, setup, adults=3)
        await pay(session, order)
        operator = await make_user(session, Role.station_operator, station_id=setup.station.id)
        await session.commit()
        tokens = [t.token for t in await repository.tickets_of_order(session, order.id)]
        return setup.station.id, operator.id, order.id, tokens


async def _cancel_tickets(sessionmaker: async_sessionmaker[AsyncSession], order_id: int) -> str:
    async with sessionmaker() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        try:
            await service.cancel_tickets(session, order, actor_user_id=None)
        except errors.CancellationTooLate:
            return "refused"
        await session.commit()
        return "cancelled"


async def test_a_check_in_in_flight_makes_the_refund_wait_and_refuses_it(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    station_id, operator_id, order_id, tokens = await _ticket_setup(sessionmaker)
    async with sessionmaker() as gate:
        await checkin.check_in_online(
            gate, scanned=tokens[0], station_id=station_id, operator_id=operator_id, device="gate"
        )
        cancelling = asyncio.create_task(_cancel_tickets(sessionmaker, order_id))
        await asyncio.sleep(WAIT)
        await gate.commit()
    assert await cancelling == "refused"
    assert (await _order(sessionmaker, order_id)).status is OrderStatus.confirmed
    assert await _checked_in(sessionmaker, order_id) == 1


async def test_many_check_ins_racing_a_refund_never_both_admit_and_refund(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    station_id, operator_id, order_id, tokens = await _ticket_setup(sessionmaker)

    async def scan(gate: int) -> str:
        async with sessionmaker() as session:
            try:
                await checkin.check_in_online(
                    session, scanned=tokens[gate % 3], station_id=station_id, operator_id=operator_id, device=f"g{gate}"
                )
            except (errors.TicketNotValid, errors.TicketAlreadyCheckedIn) as exc:
                return exc.code
            await session.commit()
            return "admitted"

    outcomes = await asyncio.gather(*(scan(gate) for gate in range(12)), _cancel_tickets(sessionmaker, order_id))
    cancel, scans = outcomes[-1], Counter(outcomes[:-1])
    status = (await _order(sessionmaker, order_id)).status
    attended = await _checked_in(sessionmaker, order_id)
    if cancel == "cancelled":
        assert status is OrderStatus.cancelled and attended == 0 and scans["admitted"] == 0
    else:
        assert status is OrderStatus.confirmed and attended == 3 and scans["admitted"] == 3
