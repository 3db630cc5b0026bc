"""Read models of farm events for the JSON API and the pages (one place builds both)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.events import errors, repository, schemas, service
from app.events.checkin import qr_content
from app.events.models import EventStatus, FarmEvent, TicketKind
from app.kit import clock
from app.orders.models import Order, OrderStatus


def _slot_out(event: FarmEvent, row: repository.SlotRow) -> schemas.SlotOut:
    return schemas.SlotOut(
        id=row.slot.id,
        starts_at=row.slot.starts_at,
        ends_at=row.slot.ends_at,
        places=int(row.cap),
        left=row.left,
        cancel_until=service.cancel_deadline(event, row.slot),
    )


async def _station(session: AsyncSession, station_id: int) -> schemas.StationBrief:
    station = await repository.station(session, station_id)
    assert station is not None  # a foreign key
    return schemas.StationBrief(code=station.code, name=station.name, address=station.address)


async def event_out(session: AsyncSession, event: FarmEvent, *, upcoming_only: bool = False) -> schemas.EventOut:
    rows = (await repository.slots(session, [event.id]))[event.id]
    now = clock.now()
    return schemas.EventOut(
        id=event.id,
        title=event.title,
        description=event.description,
        place=event.place,
        meeting_station=await _station(session, event.meeting_station_id),
        adult_price_minor=event.adult_price_minor,
        child_price_minor=event.child_price_minor,
        cancel_hours_before=event.cancel_hours_before,
        status=event.status,
        slots=[_slot_out(event, row) for row in rows if not upcoming_only or row.slot.starts_at > now],
    )


async def upcoming(session: AsyncSession) -> list[schemas.EventOut]:
    return [
        await event_out(session, e, upcoming_only=True) for e in await repository.upcoming_events(session, clock.now())
    ]


async def public_event(session: AsyncSession, event_id: int) -> schemas.EventOut:
    event = await repository.event(session, event_id)
    if event is None:
        raise errors.EventNotFound()
    return await event_out(session, event, upcoming_only=True)


async def ticket_order_out(session: AsyncSession, order: Order) -> schemas.TicketOrderOut | None:
    """The tickets of ``order`` (None when it is not a ticket order). QR contents only while the
    order is valid: an unpaid or cancelled order shows no usable code. Only for its customer."""
    tickets = await repository.tickets_of_order(session, order.id)
    if not tickets:
        return None
    slot = await repository.slot(session, tickets[0].slot_id)
    event = await repository.event(session, tickets[0].event_id)
    assert slot is not None and event is not None  # foreign keys
    row = next(r for r in (await repository.slots(session, [event.id]))[event.id] if r.slot.id == slot.id)
    valid = order.status in repository.VALID_ORDER_STATUSES and event.status == EventStatus.scheduled.value
    return schemas.TicketOrderOut(
        order_number=order.number,
        order_status=order.status.value,
        event_id=event.id,
        event_title=event.title,
        slot=_slot_out(event, row),
        meeting_station=await _station(session, event.meeting_station_id),
        tickets=[
            schemas.TicketOut(
                kind=t.kind,
                kind_zh=TicketKind(t.kind).label_zh,
                qr=qr_content(t.token) if valid else "",
                checked_in_at=t.checked_in_at,
            )
            for t in tickets
        ],
        cancellable=(
            order.status in (OrderStatus.pending_payment, OrderStatus.confirmed)
            and clock.now() < service.cancel_deadline(event, slot)
            and all(t.checked_in_at is None for t in tickets)
        ),
    )
