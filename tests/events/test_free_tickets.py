"""Free events: places cost nothing, so they are booked by signed-in customers only, at most 20
standing places per customer and slot — also when one customer's bookings race (committed
PostgreSQL, the slot's row lock)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.events import errors, service
from app.events.models import Ticket
from app.orders.models import OrderStatus
from tests.events.builders import Setup, make_event
from tests.fixtures.builders import make_user


async def _free_event(session: AsyncSession, places: int) -> Setup:
    setup = await make_event(session, places=places)
    setup.event.adult_price_minor = setup.event.child_price_minor = 0
    await session.flush()
    return setup


def _booking(slot_id: int, user_id: int | None, adults: int) -> service.TicketPurchase:
    return service.TicketPurchase(
        slot_id=slot_id,
        adults=adults,
        children=0,
        contact_name="陈女士",
        contact_phone="+8613800138000",
        customer_user_id=user_id,
    )


async def test_a_guest_cannot_book_free_places(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    setup = await _free_event(db_session, places=100)
    body = {"slot_id": setup.slot.id, "adults": 20, "contact": {"name": "陈", "phone": "13800138000"}}
    answer = await client.post("/api/v1/events/tickets", json=body)
    assert answer.status_code == 401 and answer.json()["error"] == "free_tickets_need_sign_in"
    with pytest.raises(errors.FreeTicketsNeedSignIn):
        await service.buy_tickets(db_session, _booking(setup.slot.id, None, 1), stripe_enabled=False)
    assert await db_session.scalar(select(func.count()).select_from(Ticket).where(Ticket.slot_id == setup.slot.id)) == 0


async def test_one_customers_racing_free_bookings_stop_at_twenty_places(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await _free_event(session, places=100)
        customer = await make_user(session, Role.customer)
        other = await make_user(session, Role.customer)
        await session.commit()
        slot_id, customer_id, other_id = setup.slot.id, customer.id, other.id

    async def book(user_id: int) -> str:
        async with sessionmaker() as session:
            try:
                order = await service.buy_tickets(session, _booking(slot_id, user_id, 4), stripe_enabled=False)
            except errors.FreeTicketsLimit as exc:
                return exc.code
            assert order.status is OrderStatus.confirmed  # free: confirmed at once
            await session.commit()
            return "booked"

    outcomes = await asyncio.gather(*(book(customer_id) for _ in range(10)))
    assert Counter(outcomes) == {"booked": 5, "free_tickets_limit": 5}
    assert await book(other_id) == "booked"  # the limit is each customer's
    async with sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.slot_id == slot_id))
        assert count == 24
