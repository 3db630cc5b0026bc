"""Builders for farm-event tests: an event at a station with one slot, a paid ticket order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import PriceListKind
from app.events import service
from app.events.models import EventSlot, FarmEvent
from app.kit import clock
from app.orders import payments
from app.orders.models import Order
from app.orders.providers import IntentResult
from app.orders.stripe_provider import StripeProvider
from app.stations.models import Station
from tests.fixtures.builders import ensure_price_list, ensure_warehouse, make_station
from tests.fixtures.fake_stripe import FakeStripeServer

ADULT = 8800
WHSEC = "whsec_events"
CHILD = 4400


@dataclass
class Setup:
    event: FarmEvent
    slot: EventSlot
    station: Station


async def make_event(
    session: AsyncSession,
    *,
    places: int = 10,
    starts_in: timedelta = timedelta(days=3),
    starts_at: datetime | None = None,
    cancel_hours: int = 24,
    station: Station | None = None,
) -> Setup:
    await ensure_price_list(session, "retail", PriceListKind.retail)
    await ensure_warehouse(session)
    station = station or await make_station(session, code=f"ST-E{uuid.uuid4().hex[:6].upper()}")
    event = await service.create_event(
        session,
        service.EventData(
            title="枇杷采摘一日游",
            place="太平镇枇杷园",
            meeting_station_code=station.code,
            adult_price_minor=ADULT,
            child_price_minor=CHILD,
            cancel_hours_before=cancel_hours,
        ),
        actor_user_id=None,
    )
    starts: datetime = starts_at or clock.now() + starts_in
    slot = await service.add_slot(
        session, event.id, starts_at=starts, ends_at=starts + timedelta(hours=4), places=places
    )
    return Setup(event, slot, station)


async def buy(session: AsyncSession, setup: Setup, *, adults: int = 1, children: int = 0) -> Order:
    return await service.buy_tickets(
        session,
        service.TicketPurchase(
            slot_id=setup.slot.id,
            adults=adults,
            children=children,
            contact_name="陈女士",
            contact_phone="+8613800138000",
        ),
        stripe_enabled=True,
    )


async def pay(session: AsyncSession, order: Order) -> None:
    """The order paid by card, as a succeeded PaymentIntent records it."""
    payment = await payments.prepare_online_payment(session, order, method="card")
    await payments.record_intent(
        session,
        payment,
        IntentResult(
            external_id=f"pi_{uuid.uuid4().hex[:16]}",
            status="succeeded",
            amount_minor=order.total_minor,
            currency="CNY",
            next_action=None,
        ),
    )
    await session.refresh(order)


def stripe_provider(fake: FakeStripeServer) -> StripeProvider:
    """The real Stripe adapter pointed at the local fake (the caller closes it)."""
    return StripeProvider(fake.api_key, WHSEC, api_base=fake.base_url)
