"""SQL of farm events (``app.events``): events and slots with their places left, tickets, the
check-in compare-and-set and the idempotent check-in log, and the hidden ticket catalog rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Category, Product, Variant
from app.events.models import CheckIn, EventSlot, EventStatus, FarmEvent, Ticket
from app.orders.models import Capacity, Order, OrderStatus
from app.stations.models import Station

# The orders whose tickets are valid: paid (or, for a free event, accepted) and not cancelled.
VALID_ORDER_STATUSES = (OrderStatus.confirmed, OrderStatus.completed)


@dataclass(frozen=True)
class SlotRow:
    slot: EventSlot
    cap: Decimal
    used: Decimal

    @property
    def left(self) -> int:
        return max(int(self.cap - self.used), 0)


async def event(session: AsyncSession, event_id: int, *, for_update: bool = False) -> FarmEvent | None:
    stmt = select(FarmEvent).where(FarmEvent.id == event_id)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def event_for_share(session: AsyncSession, event_id: int) -> FarmEvent | None:
    """The event, share-locked until the caller's commit: ticket purchases at once share the lock,
    while a cancellation (which takes the row ``FOR UPDATE``) waits for them — so it cannot miss an
    order that commits after it listed the event's orders, and no order starts after it."""
    return await session.scalar(
        select(FarmEvent)
        .where(FarmEvent.id == event_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )


async def lock_order(session: AsyncSession, order_id: int) -> Order | None:
    """The ticket order, locked ``FOR UPDATE`` and read as it now is (a customer's cancellation:
    check-ins of its tickets hold the row ``FOR SHARE``, so one of the two waits for the other)."""
    return await session.scalar(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    )


async def lock_slot(session: AsyncSession, slot_id: int) -> None:
    """The slot row ``FOR NO KEY UPDATE`` until commit: free bookings of a slot one at a time (a
    ticket's insert only takes ``KEY SHARE`` on it, which this does not block)."""
    await session.execute(select(EventSlot.id).where(EventSlot.id == slot_id).with_for_update(key_share=True))


async def customer_places(session: AsyncSession, slot_id: int, user_id: int) -> int:
    """Tickets of the slot in the customer's orders that still stand."""
    standing = (OrderStatus.pending_payment, OrderStatus.confirmed, OrderStatus.completed)
    count = await session.scalar(
        select(func.count(Ticket.id))
        .join(Order, Order.id == Ticket.order_id)
        .where(Ticket.slot_id == slot_id, Order.customer_user_id == user_id, Order.status.in_(standing))
    )
    return int(count or 0)


async def station(session: AsyncSession, station_id: int) -> Station | None:
    return await session.get(Station, station_id)


async def station_by_code(session: AsyncSession, code: str) -> Station | None:
    return await session.scalar(select(Station).where(Station.code == code))


async def slots(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[SlotRow]]:
    rows = await session.execute(
        select(EventSlot, Capacity.cap, Capacity.used)
        .join(Capacity, Capacity.id == EventSlot.capacity_id)
        .where(EventSlot.event_id.in_(list(event_ids)))
        .order_by(EventSlot.starts_at, EventSlot.id)
    )
    found: dict[int, list[SlotRow]] = {event_id: [] for event_id in event_ids}
    for slot, cap, used in rows.all():
        found[slot.event_id].append(SlotRow(slot, cap, used))
    return found


async def slot(session: AsyncSession, slot_id: int) -> EventSlot | None:
    return await session.get(EventSlot, slot_id)


async def upcoming_events(session: AsyncSession, now: datetime) -> list[FarmEvent]:
    """Scheduled events with a slot that has not started yet, the soonest first."""
    soonest = (
        select(EventSlot.event_id, func.min(EventSlot.starts_at).label("first"))
        .where(EventSlot.starts_at > now)
        .group_by(EventSlot.event_id)
        .subquery()
    )
    rows = await session.scalars(
        select(FarmEvent)
        .join(soonest, soonest.c.event_id == FarmEvent.id)
        .where(FarmEvent.status == EventStatus.scheduled.value)
        .order_by(soonest.c.first, FarmEvent.id)
    )
    return list(rows)


async def all_events(session: AsyncSession, limit: int = 200) -> list[FarmEvent]:
    return list(await session.scalars(select(FarmEvent).order_by(FarmEvent.id.desc()).limit(limit)))


# ---- tickets ----------------------------------------------------------------------------------------


async def tickets_of_order(session: AsyncSession, order_id: int) -> list[Ticket]:
    return list(
        await session.scalars(
            select(Ticket)
            .where(Ticket.order_id == order_id)
            .order_by(Ticket.id)
            .execution_options(populate_existing=True)
        )
    )


async def first_ticket_of_order(session: AsyncSession, order_id: int) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.order_id == order_id).order_by(Ticket.id).limit(1))


@dataclass(frozen=True)
class TicketFound:
    ticket: Ticket
    event: FarmEvent
    order_status: OrderStatus
    order_number: str
    slot: EventSlot


async def ticket_by_token(session: AsyncSession, token: str) -> TicketFound | None:
    row = (
        await session.execute(
            select(Ticket, FarmEvent, Order.status, Order.number, EventSlot)
            .join(FarmEvent, FarmEvent.id == Ticket.event_id)
            .join(Order, Order.id == Ticket.order_id)
            .join(EventSlot, EventSlot.id == Ticket.slot_id)
            .where(Ticket.token == token)
        )
    ).first()
    return TicketFound(row[0], row[1], OrderStatus(row[2]), row[3], row[4]) if row is not None else None


async def check_in(
    session: AsyncSession, ticket_id: int, *, at: datetime, operator_id: int, device: str
) -> datetime | None:
    """The compare-and-set: set ``checked_in_at`` only if it is still empty and the ticket's order
    is valid. The time it was set, or None when another scan (or an invalid order) got there."""
    # The order row FOR SHARE first: a cancellation (``lock_order``, FOR UPDATE) waits until this
    # check-in commits and then sees the ticket used; a check-in after a cancellation sees it cancelled.
    order_id = select(Ticket.order_id).where(Ticket.id == ticket_id).scalar_subquery()
    await session.execute(select(Order.id).where(Order.id == order_id).with_for_update(read=True))
    valid = select(Order.id).where(Order.id == Ticket.order_id, Order.status.in_(VALID_ORDER_STATUSES)).exists()
    result = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.checked_in_at.is_(None), valid)
        .values(checked_in_at=at, checked_in_by_id=operator_id, checked_in_device=device[:60])
        .returning(Ticket.checked_in_at)
    )
    return result.scalar_one_or_none()


async def record_check_in(session: AsyncSession, values: dict[str, object]) -> int | None:
    """Insert the device's check-in once: None when this device already sent this client id."""
    result = await session.execute(
        insert(CheckIn)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["device_id", "client_id"])
        .returning(CheckIn.id)
    )
    return result.scalar_one_or_none()


async def check_in_by_client(session: AsyncSession, device_id: str, client_id: str) -> CheckIn | None:
    return await session.scalar(select(CheckIn).where(CheckIn.device_id == device_id, CheckIn.client_id == client_id))


async def set_outcome(session: AsyncSession, check_in_id: int, outcome: str, message_zh: str) -> None:
    await session.execute(
        update(CheckIn).where(CheckIn.id == check_in_id).values(outcome=outcome, message_zh=message_zh[:200])
    )


@dataclass(frozen=True)
class TicketRow:
    ticket: Ticket
    order_number: str
    order_status: OrderStatus
    contact_name: str


async def event_tickets(session: AsyncSession, event_id: int) -> list[TicketRow]:
    rows = await session.execute(
        select(Ticket, Order.number, Order.status, Order.contact_name)
        .join(Order, Order.id == Ticket.order_id)
        .where(Ticket.event_id == event_id)
        .order_by(Ticket.slot_id, Ticket.id)
    )
    return [TicketRow(t, number, OrderStatus(status), name) for t, number, status, name in rows.all()]


async def duplicates(session: AsyncSession, event_id: int) -> list[CheckIn]:
    return list(
        await session.scalars(
            select(CheckIn)
            .where(CheckIn.event_id == event_id, CheckIn.outcome == "duplicate")
            .order_by(CheckIn.synced_at, CheckIn.id)
        )
    )


async def orders_to_refund(session: AsyncSession, event_id: int) -> list[Order]:
    """Orders with tickets of the event that still stand (waiting for money or confirmed), locked
    ``FOR UPDATE`` in id order and read as they now are: an order a racing cancel (the customer's,
    the expiry sweep) changed meanwhile is left out once its lock is released (PostgreSQL rechecks
    the status of a row it waited for). Everyone locks an order before its slot's capacity row."""
    ids = select(Ticket.order_id).where(Ticket.event_id == event_id).distinct()
    return list(
        await session.scalars(
            select(Order)
            .where(Order.id.in_(ids), Order.status.in_((OrderStatus.pending_payment, OrderStatus.confirmed)))
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


async def mark_cancelled(session: AsyncSession, event_id: int, *, at: datetime, reason: str) -> bool:
    """Compare-and-set: only the first of two concurrent cancellations wins."""
    result = await session.execute(
        update(FarmEvent)
        .where(FarmEvent.id == event_id, FarmEvent.status == EventStatus.scheduled.value)
        .values(status=EventStatus.cancelled.value, cancelled_at=at, cancel_reason=reason[:200])
        .returning(FarmEvent.id)
    )
    return result.scalar_one_or_none() is not None


# ---- the hidden ticket catalog rows ---------------------------------------------------------------


async def category_by_slug(session: AsyncSession, slug: str) -> Category | None:
    return await session.scalar(select(Category).where(Category.slug == slug))


async def product_by_slug(session: AsyncSession, slug: str) -> Product | None:
    return await session.scalar(select(Product).where(Product.slug == slug))


async def variants_by_sku(session: AsyncSession, skus: Sequence[str]) -> dict[str, Variant]:
    rows = await session.scalars(select(Variant).where(Variant.sku.in_(list(skus))))
    return {v.sku: v for v in rows}


async def lock_ticket_catalog(session: AsyncSession) -> None:
    """Two first sales at once create the hidden ticket rows once: a transaction-scoped lock."""
    await session.execute(select(func.pg_advisory_xact_lock(0x4E50_4556)))


@dataclass(frozen=True)
class SlotDay:
    title: str
    starts_at: datetime
    ends_at: datetime
    sold: int
    attended: int


async def station_slots(session: AsyncSession, station_id: int, since: datetime, until: datetime) -> list[SlotDay]:
    """The slots of the station's events starting in ``[since, until)``: valid tickets, checked in."""
    valid = Order.status.in_(VALID_ORDER_STATUSES)
    rows = await session.execute(
        select(
            FarmEvent.title,
            EventSlot.starts_at,
            EventSlot.ends_at,
            func.count(Ticket.id).filter(valid),
            func.count(Ticket.id).filter(valid, Ticket.checked_in_at.is_not(None)),
        )
        .join(EventSlot, EventSlot.event_id == FarmEvent.id)
        .outerjoin(Ticket, Ticket.slot_id == EventSlot.id)
        .outerjoin(Order, Order.id == Ticket.order_id)
        .where(
            FarmEvent.meeting_station_id == station_id,
            FarmEvent.status == EventStatus.scheduled.value,
            EventSlot.starts_at >= since,
            EventSlot.starts_at < until,
        )
        .group_by(FarmEvent.id, EventSlot.id)
        .order_by(EventSlot.starts_at)
    )
    return [SlotDay(title, start, end, int(sold), int(came)) for title, start, end, sold, came in rows.all()]
