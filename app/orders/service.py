"""The channel-neutral order service: what every sales channel does with an order, whatever sells
it (the shop's checkout today; the wholesale portal and the brand-store tills next).

An order of any channel holds its stock through :func:`hold_stock` — the one reservation path —
with the channel's policy (``app.channels``) deciding the shelf life a lot must still have (FEFO)
and, through :func:`hold_deadline`, how long an unpaid order may keep it. Channel-specific layers
(station routing, delivery fees, payment choice) sit in front and call in here.

Lines that take *capacity* instead of stock (a harvest pre-sale wave, an event ticket) are named in
``NewOrder.capacity_lines`` and taken by :mod:`app.orders.capacity` next to :func:`hold_stock`;
they hold no stock, and an order made only of such lines holds no reservation.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.catalog import repository as catalog_repository
from app.catalog.models import Variant
from app.catalog.pricing import PricedLine, order_line_name
from app.channels import SalesChannel
from app.kit import clock
from app.orders import capacity, errors, repository, states
from app.orders.models import (
    DeliveryMethod,
    FulfilmentStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    StationCard,
)
from app.supply import reservations
from app.supply import service as supply_service

NUMBER_ATTEMPTS = 5  # draws of an order number before giving up (a clash is one in a million per day)


def new_order_number(today: date) -> str:
    """``NP`` + the China date + 6 random digits: not guessable from one another."""
    return f"NP{today:%y%m%d}{secrets.randbelow(10**6):06d}"


@dataclass(frozen=True)
class EventNote:
    """An order event without a status change, as ``states.record`` writes one."""

    kind: str
    message_zh: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewOrder:
    """An order of any channel, its lines priced already by the channel's policy."""

    channel: SalesChannel
    lines: Sequence[PricedLine]
    location_id: int  # where its stock is held
    contact_name: str
    contact_phone: str
    payment_method: PaymentMethod
    delivery_method: DeliveryMethod
    # Waits for its money (``pending_payment``), its stock held until the channel's deadline; else
    # confirmed at once (paid, paid at pickup or on account) and held without a deadline.
    awaiting_payment: bool
    # Waits for a decision other than money (a wholesale order over its credit limit): placed as
    # ``pending_payment`` without a payment deadline, its stock held until the channel's own sweep
    # lets it go.
    awaiting_approval: bool = False
    # The day the lots must still have the channel's shelf life on (a wholesale trip's date); None: today.
    shelf_life_on: date | None = None
    customer_user_id: int | None = None
    company_id: int | None = None
    station_id: int | None = None
    # The station itself, when the caller routed the order (it becomes the order's loaded ``station``).
    station: StationCard | None = None
    station_reason: str = ""
    delivery_address: dict[str, Any] | None = None
    delivery_fee_minor: int = 0
    # Lines that take capacity instead of stock: index in ``lines`` → capacity id (app.orders.capacity).
    capacity_lines: Mapping[int, int] = field(default_factory=dict)
    note: str = ""
    placed_message_zh: str = "订单已提交"
    event_detail: dict[str, Any] = field(default_factory=dict)
    # Events the channel records at placing beyond ``placed`` (a wholesale order's trip), written
    # with it in one statement, after it.
    more_events: Sequence[EventNote] = ()


async def create_order(
    session: AsyncSession, new: NewOrder, *, before_hold: Callable[[Order], Awaitable[None]] | None = None
) -> Order:
    """Write the order, its lines (a snapshot of what was bought and at which price) and its
    ``placed`` event, then hold its stock — last, so the hot stock rows are locked only for the
    reservation statements and the commit that follows. ``before_hold``: the caller's other writes
    for the order (the customer's notice), made before the hold for the same reason: under load every
    statement inside the lock also waits its turn on a busy worker, and the next order for that stock
    waits for all of it."""
    if new.capacity_lines and len(new.capacity_lines) != len(new.lines):
        # A pre-sale or a ticket is paid, kept and refunded on its own terms: never in one order
        # with goods from stock (the payment and expiry paths treat an order as one or the other).
        raise errors.CapacityLinesSeparate()
    now = clock.now()
    due = hold_deadline(new.channel, now, unpaid=new.awaiting_payment)
    status = OrderStatus.pending_payment if new.awaiting_payment or new.awaiting_approval else OrderStatus.confirmed
    lines, events = await _lines_and_events(session, new, status)
    order = await _insert_with_unique_number(
        session,
        # The business clock's time, not the database's: the order's number, its payment deadline
        # and the China date it is listed and reported under all come from this one instant.
        lambda number: _present(
            {**_order_values(new, number=number, status=status, payment_due_at=due), "placed_at": now}
        ),
        clock.local_date(now),
        lines,
        events,
    )
    _set_written_relations(order, lines, events, new)
    if before_hold is not None:
        await before_hold(order)
    if new.capacity_lines:
        await capacity.take(session, order.id, lines, new.capacity_lines)
    stock_lines = [
        StockLine(line.variant_id, line.quantity, line.shelf_life_days)
        for index, line in enumerate(new.lines)
        if index not in new.capacity_lines
    ]
    if stock_lines:
        await hold_stock(
            session,
            channel=new.channel,
            reference=order.reservation_reference or "",
            location_id=new.location_id,
            expires_at=due,
            actor_user_id=new.customer_user_id,
            lines=stock_lines,
            shelf_life_on=new.shelf_life_on,
        )
    return order


@dataclass(frozen=True)
class CounterSale:
    """What a counter sale adds to an order: it is paid and handed over as it is made."""

    number: str  # the till's sale number (its prefix + its own sequence)
    discount_minor: int
    sold_by_user_id: int  # the clerk: the order's events name them
    # The lines' variants with their products, when the caller has them already (names the lines).
    variants: Mapping[str, Variant] | None = None


async def create_counter_order(session: AsyncSession, new: NewOrder, sale: CounterSale) -> Order | None:
    """A sale over a store's counter, on the order pipeline: the order row with the till's number,
    completed, paid in full and handed over at once (there is nothing to wait for: no reservation,
    no hold time), its lines and its event. Its stock is taken by the caller (the book follows the
    goods, ``app.supply.counter_sales``). None, writing nothing, when an order already has that
    number: the caller tells a duplicate upload (a concurrent one waits here for the first to
    commit) from a clash."""
    values = counter_order_values(new, sale)
    lines, events = await _lines_and_events(
        session, new, OrderStatus(values["status"]), actor_user_id=sale.sold_by_user_id, variants=sale.variants
    )
    order = await repository.insert_order_with_lines_and_events(session, values, lines, events)
    if order is None:
        return None
    _set_written_relations(order, lines, events, new)
    return order


def counter_order_values(new: NewOrder, sale: CounterSale) -> dict[str, Any]:
    """The order row of a counter sale: completed, paid in full, handed over. Columns left empty
    stay SQL NULL (a JSON column given None would store JSON null)."""
    subtotal = sum(line.line_total_minor for line in new.lines)
    total = subtotal - sale.discount_minor + new.delivery_fee_minor
    values = _order_values(new, number=sale.number, status=OrderStatus.completed, payment_due_at=None)
    values.update(
        payment_status=PaymentStatus.paid,
        fulfilment_status=FulfilmentStatus.handed_over,
        discount_minor=sale.discount_minor,
        total_minor=total,
        paid_minor=total,
        reservation_reference=None,
    )
    return _present(values)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Columns left empty stay SQL NULL: a JSON column given None would store JSON null."""
    return {key: value for key, value in values.items() if value is not None}


def _order_values(
    new: NewOrder, *, number: str, status: OrderStatus, payment_due_at: datetime | None
) -> dict[str, Any]:
    subtotal = sum(line.line_total_minor for line in new.lines)
    return {
        "number": number,
        "channel": new.channel,
        "status": status,
        "payment_status": PaymentStatus.unpaid,
        "fulfilment_status": FulfilmentStatus.unfulfilled,
        "customer_user_id": new.customer_user_id,
        "company_id": new.company_id,
        "contact_name": new.contact_name,
        "contact_phone": new.contact_phone,
        "delivery_method": new.delivery_method,
        "station_id": new.station_id,
        "station_reason": new.station_reason,
        "delivery_address": new.delivery_address,
        "payment_method": new.payment_method,
        "currency": "CNY",
        "subtotal_minor": subtotal,
        "delivery_fee_minor": new.delivery_fee_minor,
        "total_minor": subtotal + new.delivery_fee_minor,
        "location_id": new.location_id,
        # An order of capacity lines only holds no stock: no reservation to name.
        "reservation_reference": None if new.capacity_lines else f"order:{number}",
        "payment_due_at": payment_due_at,
        "note": new.note[:300],
    }


async def _lines_and_events(
    session: AsyncSession,
    new: NewOrder,
    status: OrderStatus,
    *,
    actor_user_id: int | None = None,
    variants: Mapping[str, Variant] | None = None,
) -> tuple[list[OrderLine], list[OrderEvent]]:
    """The new order's lines (a snapshot of what was bought and at which price) and its events
    (``placed``, then the channel's), every column given but the order's id and their own."""
    if variants is not None:
        names = {sku: order_line_name(v) for sku, v in variants.items()}
    elif all(line.name_zh for line in new.lines):  # named by pricing, which read the products
        names = {line.sku: line.name_zh for line in new.lines}
    else:
        read = await catalog_repository.active_variants_with_products(session, [line.sku for line in new.lines])
        names = {sku: order_line_name(v) for sku, v in read.items()}
    lines = [
        OrderLine(
            variant_id=line.variant_id,
            sku=line.sku,
            # Snapshot what was bought as people say it: the product's name, then the variant's.
            name_zh=names[line.sku],
            unit=line.unit.value,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            line_total_minor=line.line_total_minor,
            price_list=line.rule.price_list_code,
            price_rule=line.rule.description_zh,
            packed_quantity=None,  # every column given: the rows join the session as stored
        )
        for line in new.lines
    ]
    actor = actor_user_id if actor_user_id is not None else new.customer_user_id
    placed = OrderEvent(
        kind="placed",
        from_status=None,
        to_status=status.value,
        actor_user_id=actor,
        message_zh=new.placed_message_zh,
        detail=new.event_detail,
    )
    events = [placed] + [
        OrderEvent(
            kind=note.kind,
            from_status=None,
            to_status=None,
            actor_user_id=actor,
            message_zh=note.message_zh,
            detail=note.detail,
        )
        for note in new.more_events
    ]
    return lines, events


def _set_written_relations(order: Order, lines: list[OrderLine], events: list[OrderEvent], new: NewOrder) -> None:
    """The new order's relations are what was just written (their ids and times came back with the
    inserts): the answer to the request is built without reading them again."""
    set_committed_value(order, "lines", lines)
    set_committed_value(order, "events", events)
    set_committed_value(order, "payments", [])
    if new.station is not None or new.station_id is None:
        set_committed_value(order, "station", new.station)


@dataclass(frozen=True)
class StockLine:
    """A line to hold: which variant, how much."""

    variant_id: int
    quantity: Decimal
    shelf_life_days: int | None = None  # the product's, when the caller read it already


def hold_deadline(channel: SalesChannel, placed_at: datetime, *, unpaid: bool) -> datetime | None:
    """Until when an order placed at ``placed_at`` holds its stock unpaid; None when it does not
    wait for money (paid, on account, or a channel whose policy holds nothing)."""
    hold = SalesChannel(channel).policy.hold_for()
    return placed_at + hold if unpaid and hold is not None else None


async def hold_stock(
    session: AsyncSession,
    *,
    channel: SalesChannel,
    reference: str,
    location_id: int,
    lines: Sequence[StockLine],
    expires_at: datetime | None,
    actor_user_id: int | None = None,
    shelf_life_on: date | None = None,
) -> reservations.Held:
    """Hold ``lines`` at ``location_id`` for an order of ``channel`` (FEFO by the channel's shelf-life
    rule, counted on ``shelf_life_on``, default today), all or nothing: ``InsufficientStock`` names
    every short line. Called last in the transaction: the hot stock rows stay locked until it commits."""
    lives = {line.variant_id: line.shelf_life_days for line in lines if line.shelf_life_days is not None}
    if len(lives) < len({line.variant_id for line in lines}):
        lives = await catalog_repository.shelf_life_days(session, [line.variant_id for line in lines])
    return await reservations.reserve(
        session,
        reference=reference,
        channel=SalesChannel(channel),
        location_id=location_id,
        expires_at=expires_at,
        actor_user_id=actor_user_id,
        lines=[
            reservations.ReserveLine(
                line.variant_id,
                line.quantity,
                supply_service.min_best_before(SalesChannel(channel), lives[line.variant_id], shelf_life_on),
            )
            for line in lines
        ],
    )


async def cancel(
    session: AsyncSession, order: Order, *, reason: str, actor_user_id: int | None, ticket_rules_checked: bool = False
) -> Order:
    """Cancel before the parcel leaves: release the held stock; a paid order is refunded in full
    (the refund itself is sent by a task after commit). An event-ticket order (nothing to deliver)
    is cancelled only through ``app.events``, which checks the event's refund deadline first
    (``ticket_rules_checked``)."""
    from app.orders import payments

    if order.delivery_method is DeliveryMethod.none and not ticket_rules_checked:
        raise errors.TransitionNotAllowed("活动门票请在订单页按活动的退票规则退票")
    if order.fulfilment_status not in (FulfilmentStatus.unfulfilled,):
        raise errors.TransitionNotAllowed("订单已发货，不能取消")
    if await repository.has_event(session, order.id, PACKED):
        raise errors.TransitionNotAllowed("订单已打包待发车，不能取消；请联系客服")
    order = await states.transition(
        session,
        order,
        OrderStatus.cancelled,
        kind="cancelled",
        message_zh=f"订单已取消：{reason}",
        actor_user_id=actor_user_id,
    )
    await release_held_stock(session, order, reason=f"订单取消：{reason}", actor_user_id=actor_user_id)
    # What is left of the money: less what was refunded and what a refund still on its way holds
    # (a partial refund sent to Stripe and not yet confirmed would otherwise be refunded twice).
    left = await payments.refundable_minor(session, order)
    if left > 0:
        await payments.request_refund(
            session,
            order,
            amount_minor=left,
            reason=f"订单取消：{reason}",
            actor_user_id=actor_user_id,
        )
    return order


# The event a fulfilling domain records when it packs the order (stations, into a delivery run):
# from then on the order is not cancelled by its customer.
PACKED = "packed"


async def record_packed(session: AsyncSession, order: Order, *, message_zh: str, actor_user_id: int | None) -> None:
    """The order was packed for delivery (a parcel of a station run): cancel refuses it from now on."""
    await states.record(session, order, kind=PACKED, message_zh=message_zh, actor_user_id=actor_user_id)


async def record_dispatched(session: AsyncSession, order: Order, *, message_zh: str, actor_user_id: int | None) -> None:
    """The order's parcel left the warehouse (a station run was dispatched)."""
    order.fulfilment_status = FulfilmentStatus.dispatched
    await states.record(session, order, kind="dispatched", message_zh=message_zh, actor_user_id=actor_user_id)


async def release_held_stock(session: AsyncSession, order: Order, *, reason: str, actor_user_id: int | None) -> None:
    """Release what the order holds: its stock reservation and the places its capacity lines took
    (each once, whoever releases first)."""
    from app.supply.errors import ReservationNotActive

    await capacity.release(session, order.id)
    held = await reservations.by_reference(session, order.reservation_reference or "")
    if held is None:
        return
    try:
        await reservations.release(session, held.id, reason=reason, actor_user_id=actor_user_id)
    except ReservationNotActive:
        pass  # already released (expiry task) or sold: nothing is held any more


async def _insert_with_unique_number(
    session: AsyncSession,
    values_for: Callable[[str], dict[str, Any]],
    today: date,
    lines: Sequence[OrderLine],
    events: Sequence[OrderEvent],
) -> Order:
    """The order with its ``lines`` and ``events``. Order numbers are random (not guessable from one
    another); on the rare clash with an existing number another is drawn (its reservation reference
    with it). One statement per try, no savepoint: the insert skips a taken number, and then writes
    no line or event, instead of failing (``insert_order_with_lines_and_events``)."""
    for _ in range(NUMBER_ATTEMPTS):
        order = await repository.insert_order_with_lines_and_events(
            session, values_for(new_order_number(today)), lines, events
        )
        if order is not None:
            return order
    raise errors.OrderStateConflict("订单号生成冲突，请重试")
