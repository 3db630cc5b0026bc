"""Farm-stay and picking events (农旅活动): events and their slots, tickets bought in the shop, and
the cancellation and refund rules.

Representation of a ticket in an order: the platform's order lines need a catalog variant, so
every ticket is a line of one of two hidden variants (``EVENT-ADULT`` / ``EVENT-CHILD``, unit
piece) of one hidden product in the 农旅活动 category, created with the first event. Product and
variants are inactive: the catalog, the shop's lists, pricing, POS and wholesale never list or
sell them, and they never hold stock (a ticket line takes its slot's *capacity* instead,
``app.orders.capacity``). The line's name snapshots the event, the slot and the kind; its price
is the event's (the server prices: a client's price is never read). Ticket sales are shop-channel
sales (channel ``shop``): they count in the county's online sales like any paid shop order, under
that hidden product.

A ticket order is its own order (capacity lines never share an order with stock), has nothing to
deliver (``DeliveryMethod.none``: never routed to a station shelf nor a parcel) and is paid online
(Stripe) while its places are held for the shop's unpaid hold; unpaid, the expiry task releases
them. Pay-at-the-event is not offered: a place held by nobody who paid would be lost to the
customers who would have paid. An event whose tickets are all free confirms the order at once;
free places are booked by signed-in customers only, at most ``MAX_TICKETS`` per customer and slot
(see ``_free_allowance``).

Tickets (one row per person, a ``secrets`` token as the QR) are written with the order and are
valid only while it is ``confirmed`` (paid) — the check-in's compare-and-set reads that.

Cancellation: the customer cancels until ``cancel_hours_before`` hours before the slot starts
(refunded in full through the original payment, places given back once); later it is refused
(409 ``ticket_cancellation_too_late``) and nothing changes. The centre cancelling an event refunds
every standing order once (each order's cancel is a compare-and-set).

Lock order (no deadlock, no missed order): event row → order rows (id order) → capacity row. A
purchase holds the event ``FOR SHARE`` until commit, the event's cancellation takes it ``FOR
UPDATE`` (so it waits for purchases in flight and lists their orders), then locks the standing
orders ``FOR UPDATE`` in id order and skips one a racing cancel got to first — the event's
cancellation is never rolled back by one order. A customer's cancellation locks its order ``FOR
UPDATE`` before reading whether a ticket was used; a check-in holds the order ``FOR SHARE`` while
it sets ``checked_in_at``: a ticket is never both checked in and refunded. An order left pending by
the cancellation and paid later is refunded by the payment code (a payment of a cancelled order).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Category, PriceListKind, Product, Variant
from app.catalog.pricing import PricedLine, PriceRule
from app.channels import SalesChannel
from app.config import get_settings
from app.events import errors, repository
from app.events.models import CAPACITY_KIND, EventSlot, EventStatus, FarmEvent, Ticket, TicketKind
from app.kit import clock
from app.kit.quantities import Unit
from app.orders import capacity
from app.orders import errors as order_errors
from app.orders import service as orders
from app.orders.models import DeliveryMethod, Order, PaymentMethod
from app.orders.notices import send_order_notice
from app.supply import service as supply_service

CATEGORY_SLUG = "farm-events"
PRODUCT_SLUG = "farm-event-ticket"
SKUS = {TicketKind.adult: "EVENT-ADULT", TicketKind.child: "EVENT-CHILD"}
MAX_TICKETS = 20
MAX_PLACES = 10_000


# ---- events and slots (the centre) ------------------------------------------------------------------


@dataclass(frozen=True)
class EventData:
    title: str
    place: str
    meeting_station_code: str
    adult_price_minor: int
    child_price_minor: int
    cancel_hours_before: int = 24
    description: str = ""


def _check(data: EventData) -> None:
    if not data.title.strip() or not data.place.strip():
        raise errors.EventInvalid("请填写活动名称和地点")
    if data.adult_price_minor < 0 or data.child_price_minor < 0:
        raise errors.EventInvalid("票价不能为负数")
    if not 0 <= data.cancel_hours_before <= 24 * 60:
        raise errors.EventInvalid("退票截止时间应在活动开始前 0–1440 小时之间")


async def create_event(session: AsyncSession, data: EventData, *, actor_user_id: int | None) -> FarmEvent:
    _check(data)
    station = await repository.station_by_code(session, data.meeting_station_code.strip())
    if station is None:
        raise errors.EventInvalid("集合村站不存在")
    await ticket_variants(session)
    event = FarmEvent(
        title=data.title.strip()[:100],
        description=data.description.strip(),
        place=data.place.strip()[:200],
        meeting_station_id=station.id,
        adult_price_minor=data.adult_price_minor,
        child_price_minor=data.child_price_minor,
        cancel_hours_before=data.cancel_hours_before,
        status=EventStatus.scheduled.value,
        created_by_id=actor_user_id,
    )
    session.add(event)
    await session.flush()
    return event


async def update_event(session: AsyncSession, event_id: int, data: EventData) -> FarmEvent:
    """Edit an event's text, prices and rule: tickets sold keep the price they were bought at (the
    order lines are snapshots)."""
    _check(data)
    event = await event_or_404(session, event_id, for_update=True)
    station = await repository.station_by_code(session, data.meeting_station_code.strip())
    if station is None:
        raise errors.EventInvalid("集合村站不存在")
    event.title, event.place = data.title.strip()[:100], data.place.strip()[:200]
    event.description = data.description.strip()
    event.meeting_station_id = station.id
    event.adult_price_minor, event.child_price_minor = data.adult_price_minor, data.child_price_minor
    event.cancel_hours_before = data.cancel_hours_before
    await session.flush()
    return event


async def add_slot(
    session: AsyncSession, event_id: int, *, starts_at: datetime, ends_at: datetime, places: int
) -> EventSlot:
    event = await event_or_404(session, event_id)
    if event.status != EventStatus.scheduled.value:
        raise errors.EventAlreadyCancelled()
    if ends_at <= starts_at:
        raise errors.EventInvalid("结束时间应晚于开始时间")
    if not 1 <= places <= MAX_PLACES:
        raise errors.EventInvalid(f"名额应在 1–{MAX_PLACES} 之间")
    label = f"{event.title} {clock.local_date(starts_at):%Y-%m-%d} {starts_at.astimezone(clock.business_tz()):%H:%M}"
    cap = await capacity.open_capacity(session, kind=CAPACITY_KIND, label=label, cap=Decimal(places))
    slot = EventSlot(event_id=event.id, starts_at=starts_at, ends_at=ends_at, capacity_id=cap.id)
    session.add(slot)
    await session.flush()
    return slot


async def event_or_404(session: AsyncSession, event_id: int, *, for_update: bool = False) -> FarmEvent:
    event = await repository.event(session, event_id, for_update=for_update)
    if event is None:
        raise errors.EventNotFound()
    return event


async def ticket_variants(session: AsyncSession) -> dict[TicketKind, Variant]:
    """The two hidden ticket variants, created once (under a transaction lock) with the first event."""
    found = await repository.variants_by_sku(session, list(SKUS.values()))
    if len(found) == len(SKUS):
        return {kind: found[sku] for kind, sku in SKUS.items()}
    await repository.lock_ticket_catalog(session)
    found = await repository.variants_by_sku(session, list(SKUS.values()))
    if len(found) < len(SKUS):
        category = await repository.category_by_slug(session, CATEGORY_SLUG)
        if category is None:
            category = Category(slug=CATEGORY_SLUG, name_zh="农旅活动", name_en="Farm events", sort_order=1000)
            session.add(category)
            await session.flush()
        product = await repository.product_by_slug(session, PRODUCT_SLUG)
        if product is None:
            product = Product(
                slug=PRODUCT_SLUG,
                category_id=category.id,
                name_zh="农旅活动门票",
                name_en="Farm event ticket",
                description_zh="活动门票，只在活动页面出售，不上架、不入库。",
                origin_township=get_settings().county_name[:30],
                shelf_life_days=1,
                is_active=False,
            )
            session.add(product)
            await session.flush()
        for kind, sku in SKUS.items():
            if sku not in found:
                variant = Variant(
                    product_id=product.id,
                    sku=sku,
                    name_zh=kind.label_zh,
                    name_en=f"{kind.value} ticket",
                    unit=Unit.piece,
                    is_active=False,
                )
                session.add(variant)
                found[sku] = variant
        await session.flush()
    return {kind: found[sku] for kind, sku in SKUS.items()}


async def cancel_event(session: AsyncSession, event_id: int, *, reason: str, actor_user_id: int | None) -> int:
    """The centre cancels the event: every order still standing is cancelled and refunded once.
    The number of orders cancelled."""
    # The event row FOR UPDATE first: it waits for the purchases in flight (they hold it FOR
    # SHARE) and then lists their orders too; purchases after it see the event cancelled.
    await event_or_404(session, event_id, for_update=True)
    if not await repository.mark_cancelled(session, event_id, at=clock.now(), reason=reason or "活动取消"):
        raise errors.EventAlreadyCancelled()
    cancelled = 0
    for order in await repository.orders_to_refund(session, event_id):
        try:
            order = await orders.cancel(
                session,
                order,
                reason=f"活动取消：{reason}"[:150],
                actor_user_id=actor_user_id,
                ticket_rules_checked=True,
            )
        except (order_errors.OrderStateConflict, order_errors.TransitionNotAllowed):
            # Locked and re-read above, so this should not happen; if an order cannot be cancelled
            # any more, the event's cancellation (and the other orders') still stands.
            continue
        await send_order_notice(session, order, "order_cancelled")
        cancelled += 1
    return cancelled


# ---- buying tickets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketPurchase:
    slot_id: int
    adults: int
    children: int
    contact_name: str
    contact_phone: str  # E.164, validated by the schema
    customer_user_id: int | None = None


def _slot_label(slot: EventSlot) -> str:
    start = slot.starts_at.astimezone(clock.business_tz())
    end = slot.ends_at.astimezone(clock.business_tz())
    return f"{start:%m月%d日 %H:%M}–{end:%H:%M}"


async def buy_tickets(session: AsyncSession, purchase: TicketPurchase, *, stripe_enabled: bool) -> Order:
    """One order for ``adults`` + ``children`` places of a slot, priced by the event; the places
    are taken by the order service's conditional update (``CapacityExhausted`` when too few are
    left, nothing written), then one ticket per person is written."""
    if purchase.adults < 0 or purchase.children < 0 or purchase.adults + purchase.children == 0:
        raise errors.NoTicketsChosen()
    if purchase.adults + purchase.children > MAX_TICKETS:
        raise errors.TooManyTickets()
    slot = await repository.slot(session, purchase.slot_id)
    if slot is None:
        raise errors.SlotNotFound()
    # FOR SHARE until commit: a cancellation of the event waits for this order (see cancel_event).
    event = await repository.event_for_share(session, slot.event_id)
    if event is None:
        raise errors.EventNotFound()
    if event.status != EventStatus.scheduled.value or slot.starts_at <= clock.now():
        raise errors.SlotNotOnSale()
    variants = await ticket_variants(session)
    wanted = [(TicketKind.adult, purchase.adults, event.adult_price_minor)]
    wanted.append((TicketKind.child, purchase.children, event.child_price_minor))
    rule = PriceRule(f"event-{event.id}", PriceListKind.retail, None)
    lines = [
        PricedLine(
            variant_id=variants[kind].id,
            sku=variants[kind].sku,
            quantity=Decimal(count),
            unit=Unit.piece,
            unit_price_minor=price,
            line_total_minor=price * count,
            currency="CNY",
            rule=rule,
            min_quantity=Decimal(1),
            increment=Decimal(1),
            name_zh=f"{event.title} {_slot_label(slot)} {kind.label_zh}"[:200],
        )
        for kind, count, price in wanted
        if count > 0
    ]
    kinds = [kind for kind, count, _ in wanted if count > 0]
    total = sum(line.line_total_minor for line in lines)
    if total > 0 and not stripe_enabled:
        raise order_errors.PaymentProviderUnavailable("在线支付暂未开通，暂不能购买活动门票")
    if total == 0:
        await _free_allowance(session, slot.id, purchase)
    order = await orders.create_order(
        session,
        orders.NewOrder(
            channel=SalesChannel.shop,
            lines=lines,
            location_id=await supply_service.warehouse_id(session),
            contact_name=purchase.contact_name,
            contact_phone=purchase.contact_phone,
            payment_method=PaymentMethod.stripe,
            delivery_method=DeliveryMethod.none,
            awaiting_payment=total > 0,
            customer_user_id=purchase.customer_user_id,
            capacity_lines=dict.fromkeys(range(len(lines)), slot.capacity_id),
            note=f"活动门票：{event.title}"[:300],
            placed_message_zh="活动门票订单已提交",
            event_detail={"farm_event_id": event.id, "slot_id": slot.id},
        ),
    )
    session.add_all(
        Ticket(
            event_id=event.id,
            slot_id=slot.id,
            order_id=order.id,
            order_line_id=line.id,
            kind=kind.value,
            token=new_token(),
        )
        for line, kind in zip(order.lines, kinds, strict=True)
        for _ in range(int(line.quantity))
    )
    await session.flush()
    return order


async def _free_allowance(session: AsyncSession, slot_id: int, purchase: TicketPurchase) -> None:
    """A free booking costs nothing, so nothing stops one guest from taking every place of a slot:
    free places are booked by a signed-in customer only (401 ``free_tickets_need_sign_in``), at most
    ``MAX_TICKETS`` standing per customer and slot (409 ``free_tickets_limit``). The count and the
    order are made under the slot's row lock, so a customer's concurrent bookings cannot pass it
    together. (Chosen over a per-phone allowance: a phone number is typed, an account is not, and
    it needs no new table.)"""
    if purchase.customer_user_id is None:
        raise errors.FreeTicketsNeedSignIn()
    await repository.lock_slot(session, slot_id)
    held = await repository.customer_places(session, slot_id, purchase.customer_user_id)
    if held + purchase.adults + purchase.children > MAX_TICKETS:
        raise errors.FreeTicketsLimit(detail={"held": held, "limit": MAX_TICKETS})


async def station_events_today(session: AsyncSession, station_id: int) -> list[repository.SlotDay]:
    """Today's slots (China time) of the events meeting at the station, for its check-in page."""
    since, until = clock.day_bounds(clock.today())
    return await repository.station_slots(session, station_id, since, until)


def new_token() -> str:
    """128 random bits, URL-safe: not guessable from another ticket."""
    return secrets.token_urlsafe(16)


# ---- cancelling tickets -------------------------------------------------------------------------------


def cancel_deadline(event: FarmEvent, slot: EventSlot) -> datetime:
    return slot.starts_at - timedelta(hours=event.cancel_hours_before)


async def cancel_tickets(
    session: AsyncSession, order: Order, *, actor_user_id: int | None, reason: str = "顾客退票"
) -> Order:
    """The customer cancels a ticket order before the event's deadline: refunded, places released
    (once). After the deadline, or once a ticket was used, 409 and nothing changes."""
    first = await repository.first_ticket_of_order(session, order.id)
    if first is None:
        raise errors.TicketOrderNotFound()
    slot = await repository.slot(session, first.slot_id)
    assert slot is not None  # a ticket's slot is a foreign key
    event = await event_or_404(session, slot.event_id)
    deadline = cancel_deadline(event, slot)
    if clock.now() >= deadline:
        raise errors.CancellationTooLate(
            f"已过退票截止时间（{deadline.astimezone(clock.business_tz()):%m月%d日 %H:%M}），不能取消",
            detail={"deadline": deadline.isoformat()},
        )
    # The order FOR UPDATE before reading its tickets: a check-in holds it FOR SHARE, so a ticket
    # is never both checked in and refunded.
    locked = await repository.lock_order(session, order.id)
    assert locked is not None
    order = locked
    if any(t.checked_in_at is not None for t in await repository.tickets_of_order(session, order.id)):
        raise errors.CancellationTooLate("门票已签到使用，不能取消")
    order = await orders.cancel(session, order, reason=reason, actor_user_id=actor_user_id, ticket_rules_checked=True)
    await send_order_notice(session, order, "order_cancelled")
    return order
