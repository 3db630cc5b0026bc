"""All SQL of the orders domain."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Enum, Select, String, Table, bindparam, case, exists, func, inspect, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.kit import stored_rows
from app.kit.models import in_statement
from app.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentState,
    PaymentStatus,
    Refund,
    RefundState,
    WebhookEvent,
)


async def order_by_number(
    session: AsyncSession, number: str, *, for_update: bool = False, with_lines_and_events: bool = True
) -> Order | None:
    """The order, afresh; without its lines and events (two statements fewer) when the caller only
    reads the row, as the payment page's status poll does."""
    found: Order | None = await session.scalar(
        _ORDER_BY_NUMBER[(with_lines_and_events, for_update)], {"order_number": number}
    )
    return found


def _order_by_number_statement(with_lines_and_events: bool, for_update: bool) -> Select[Any]:
    stmt = select(Order).where(Order.number == bindparam("order_number")).execution_options(populate_existing=True)
    if with_lines_and_events:
        stmt = stmt.options(selectinload(Order.lines), selectinload(Order.events))
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    return stmt


# Built once: every order page, status poll and lookup reads an order by its number.
_ORDER_BY_NUMBER = {
    (lines, update): _order_by_number_statement(lines, update) for lines in (True, False) for update in (True, False)
}


async def insert_order_with_lines_and_events(
    session: AsyncSession, values: dict[str, Any], lines: Sequence[OrderLine], events: Sequence[OrderEvent]
) -> Order | None:
    """Write an order row, its ``lines`` and its ``events`` (every column given but the order's id
    and their own ids and times) in one statement, each table's rows in the order given, and give
    the order as a persistent ``Order`` (server-set columns included). None, writing nothing, when
    an order with its number exists (a concurrent insert of the same number waits for the first
    transaction and then gets None): no savepoint is needed for the rare clash.

    The statement names the tables, not the mapped classes, and the objects are made from the rows
    it returns: the ORM's own execution of ``INSERT … RETURNING`` an entity costs about half a
    millisecond more, and a statement per table two round trips more, on every order (issue 15).
    They join the session as the rows stored, as that execution would make them (the order's
    relations unloaded; a rollback expires them)."""
    # An insert inside a WITH gets no Python-side column defaults from SQLAlchemy: given here.
    values = {**_ORDER_DEFAULTS, **values}
    params: dict[str, Any] = dict(values)
    for key in _LINE_KEYS[1:]:
        params[f"line_{key}"] = [getattr(line, key) for line in lines]
    for key in _EVENT_COLUMNS:
        params[f"event_{key}"] = [getattr(event, key) for event in events]
    row = (await session.execute(_order_with_lines_and_events_statement(tuple(sorted(values))), params)).one_or_none()
    if row is None:
        return None
    *order_row, line_ids, event_ids, event_times = row
    order = _order_as_stored(session, order_row)
    # The ids come from one sequence per table, taken in the order the rows were given (the
    # statement inserts them sorted by their position), so sorted ids are in that order too.
    for line, line_id in zip(lines, line_ids or (), strict=True):
        line.order_id, line.id = order.id, line_id
    for event, event_id, created_at in zip(events, event_ids or (), event_times or (), strict=True):
        event.order_id, event.id, event.created_at = order.id, event_id, created_at
    stored_rows.join_as_stored(session, *lines, *events)
    return order


def _unbounded(column_type: Any) -> Any:
    """A string column's type without its length: a value cast to ``VARCHAR(n)[]`` is cut to n
    characters without an error, where storing it in the column refuses what is too long."""
    return String() if isinstance(column_type, String) and not isinstance(column_type, Enum) else column_type


def _scalar_defaults(table: Table) -> dict[str, Any]:
    defaults = {column.key: column.default for column in table.columns if column.default is not None}
    if any(not getattr(default, "is_scalar", False) for default in defaults.values()):
        raise TypeError(f"{table.name}: only scalar Python-side defaults can be given to an insert inside a WITH")
    return {key: getattr(default, "arg") for key, default in defaults.items()}  # noqa: B009 - typed as a union


@functools.cache
def _order_with_lines_and_events_statement(keys: tuple[str, ...]) -> Any:
    """Built once per set of order columns given. The lines and events are bound as one array per
    column (``unnest … WITH ORDINALITY``): the same statement for any number of rows."""
    order = _insert_order_statement(keys).cte("new_order")

    def rows_of(table: Table, prefix: str, keys: Sequence[str]) -> Any:
        """The INSERT of ``table``'s rows given as arrays, after the order's and with its id."""
        given = (
            func.unnest(*(bindparam(f"{prefix}_{key}", type_=ARRAY(_unbounded(table.c[key].type))) for key in keys))
            .table_valued(*keys, with_ordinality="position")
            .render_derived(name=f"given_{prefix}s")
        )
        chosen = (
            select(order.c.id, *(given.c[key] for key in keys))
            .select_from(order)
            .join(given, true())
            .order_by(given.c.position)
        )
        return insert(table).from_select(["order_id", *keys], chosen)

    line_table, event_table = cast(Table, OrderLine.__table__), cast(Table, OrderEvent.__table__)
    lines = rows_of(line_table, "line", _LINE_KEYS[1:]).returning(line_table.c.id).cte("new_lines")
    events = (
        rows_of(event_table, "event", _EVENT_COLUMNS)
        .returning(event_table.c.id, event_table.c.created_at)
        .cte("new_events")
    )
    return select(
        *order.c,
        select(func.array_agg(aggregate_order_by(lines.c.id, lines.c.id))).scalar_subquery(),
        select(func.array_agg(aggregate_order_by(events.c.id, events.c.id))).scalar_subquery(),
        select(func.array_agg(aggregate_order_by(events.c.created_at, events.c.id))).scalar_subquery(),
    ).select_from(order)


def _order_as_stored(session: AsyncSession, row: Sequence[Any]) -> Order:
    """The ``Order`` of a row a statement returned with every column (in ``_ORDER_COLUMN_KEYS``'s
    order), as the ORM's ``INSERT``/``UPDATE … RETURNING`` of the entity would give it."""
    values = dict(zip(_ORDER_COLUMN_KEYS, row, strict=True))
    return stored_rows.as_stored(session, Order, values, values["id"])


@functools.cache
def _insert_order_statement(keys: tuple[str, ...]) -> Any:
    """Built once per set of columns given (a statement built per order costs Python every order)."""
    return (
        insert(_ORDERS)
        .values({key: bindparam(key, type_=_ORDERS.c[key].type) for key in keys})
        .on_conflict_do_nothing(index_elements=["number"])
        .returning(*_ORDER_TABLE_COLUMNS)
    )


_LINE_KEYS = tuple(column.key for column in OrderLine.__table__.columns if column.key != "id")


async def order_for_read_model(session: AsyncSession, number: str) -> Order | None:
    """The order with everything ``views.order_out`` shows (lines, events, payments, station), read
    afresh: a transition earlier in the request refreshes the row and leaves its relations unloaded."""
    return await session.scalar(
        select(Order)
        .where(Order.number == number)
        .options(
            selectinload(Order.lines),
            selectinload(Order.events),
            selectinload(Order.payments),
            joinedload(Order.station),
        )
        .execution_options(populate_existing=True)
    )


async def station_name_of(session: AsyncSession, order_id: int) -> str | None:
    """The name of the village station the order goes to (None for home delivery)."""
    order = await session.scalar(select(Order).where(Order.id == order_id).options(joinedload(Order.station)).limit(1))
    return order.station.name if order is not None and order.station is not None else None


async def order_by_id(session: AsyncSession, order_id: int) -> Order | None:
    return await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.events))
        .execution_options(populate_existing=True)
    )


async def list_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | None = None,
    channel: str | None = None,
    customer_user_id: int | None = None,
    company_id: int | None = None,
    q: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
    for_read_model: bool = False,
) -> Sequence[Order]:
    """Newest first. ``for_read_model``: also load everything ``views.orders_out`` shows (events,
    payments, station) up front — one statement per relation however long the page, instead of a
    reload per order — and read orders already in the session afresh, as ``order_by_number`` does
    (a transition earlier in the same request leaves them stale)."""
    stmt = select(Order).options(selectinload(Order.lines)).order_by(Order.id.desc()).limit(limit)
    if for_read_model:
        stmt = stmt.options(
            selectinload(Order.events),
            selectinload(Order.payments),
            # Many-to-one: joined into the page's own statement, so no extra round trip.
            joinedload(Order.station),
        ).execution_options(populate_existing=True)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if channel is not None:
        stmt = stmt.where(Order.channel == channel)
    if customer_user_id is not None:
        stmt = stmt.where(Order.customer_user_id == customer_user_id)
    if company_id is not None:
        stmt = stmt.where(Order.company_id == company_id)
    if q:
        stmt = stmt.where((Order.number == q.strip().upper()) | Order.contact_phone.endswith(q.strip()))
    if since is not None:
        stmt = stmt.where(Order.placed_at >= since)
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return (await session.scalars(stmt)).all()


async def payments_for(session: AsyncSession, order_id: int) -> Sequence[Payment]:
    return (await session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))).all()


async def payment_by_external_id(session: AsyncSession, external_id: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.external_id == external_id))


async def refunds_for(session: AsyncSession, order_id: int) -> Sequence[Refund]:
    return (await session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))).all()


# The status written into the SQL: the sweeps read ``ix_orders_payment_due`` (its predicate is
# ``status = 'pending_payment'``), which a bound status cannot match in the generic plan PostgreSQL
# settles on for a statement asyncpg keeps prepared: that plan read every order ever placed.
_UNPAID = in_statement(OrderStatus.pending_payment)


async def overdue_orders(session: AsyncSession, now: datetime, limit: int) -> Sequence[Order]:
    """Unpaid orders past their payment deadline; rows locked by another expirer are skipped."""
    return (
        await session.scalars(
            select(Order)
            .where(Order.status == _UNPAID, Order.payment_due_at <= now)
            .order_by(Order.payment_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def webhook_event(session: AsyncSession, event_id: int) -> WebhookEvent | None:
    return await session.get(WebhookEvent, event_id)


async def orders_due_soon(session: AsyncSession, start: datetime, end: datetime, limit: int) -> Sequence[Order]:
    """Unpaid orders whose deadline falls in [start, end) and that have not been reminded yet."""
    reminded = exists().where(OrderEvent.order_id == Order.id, OrderEvent.kind == "expiry_reminder")
    return (
        await session.scalars(
            select(Order)
            .where(
                Order.status == _UNPAID,
                Order.payment_due_at >= start,
                Order.payment_due_at < end,
                ~reminded,
            )
            .order_by(Order.payment_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


_ORDERS = cast(Table, Order.__table__)
_ORDER_COLUMN_KEYS = tuple(attr.key for attr in inspect(Order).column_attrs)
_ORDER_TABLE_COLUMNS = tuple(inspect(Order).columns[key] for key in _ORDER_COLUMN_KEYS)
_ORDER_DEFAULTS = _scalar_defaults(_ORDERS)
# Built once, on the table (the ORM's execution of a statement naming the class costs about half a
# millisecond more; ``_order_as_stored`` gives the entity): a station's handover settles the
# payment of every pay-at-pickup order with it.
_ADD_PAID_RETURNING = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("paid_order_id"))
    .values(
        paid_minor=_ORDERS.c.paid_minor + bindparam("amount", type_=_ORDERS.c.paid_minor.type),
        payment_status=PaymentStatus.paid,
    )
    .returning(*_ORDER_TABLE_COLUMNS)
)


async def move_status(
    session: AsyncSession,
    order: Order,
    *,
    expected: OrderStatus,
    to: OrderStatus,
    event: dict[str, Any],
    **values: Any,
) -> bool:
    """Compare-and-set the order from ``expected`` to ``to`` (plus other columns) and write its
    event (``event``: every ``order_events`` column but the order's id and the row's own) in the
    same statement, only if the order moved; False, writing nothing, when another transition got
    there first. The loaded ``order`` takes its columns from the statement's own RETURNING row
    (nothing is read back; relations it has loaded, such as its lines, stay). One round trip, not
    two: a PDA scan-in or handover pays every round trip (issue 15)."""
    params = {
        "order_id": order.id,
        "expected": expected,
        "to": to,
        **{f"set_{key}": value for key, value in values.items()},
        **{f"event_{key}": value for key, value in event.items()},
    }
    row = (await session.execute(_move_status_statement(tuple(sorted(values))), params)).first()
    if row is None:
        return False
    for key, value in zip(_ORDER_COLUMN_KEYS, row, strict=True):
        set_committed_value(order, key, value)
    return True


_EVENT_COLUMNS = ("kind", "from_status", "to_status", "actor_user_id", "message_zh", "detail")


async def add_event(session: AsyncSession, event: OrderEvent) -> OrderEvent:
    """Write the new ``event`` (every column given but its id and time) with one statement built
    once, not through a flush: the unit of work costs a handover or a payment more Python than the
    row itself (issue 15). The event joins the session as the row stored, as SQLAlchemy's own
    ``INSERT … RETURNING`` of an entity makes it (a rollback expires it)."""
    params = {key: getattr(event, key) for key in ("order_id", *_EVENT_COLUMNS)}
    event.id, event.created_at = (await session.execute(_ADD_EVENTS, params)).one()
    stored_rows.join_as_stored(session, event)
    return event


# Given a list of rows, one multi-row statement, its RETURNING rows in the order given.
_ADD_EVENTS = insert(cast(Table, OrderEvent.__table__)).returning(
    OrderEvent.__table__.c.id, OrderEvent.__table__.c.created_at, sort_by_parameter_order=True
)


@functools.cache
def _move_status_statement(set_keys: tuple[str, ...]) -> Select[Any]:
    """The transition's statement for the columns it sets, built once per process: a statement
    built per call costs more Python (construction, its cache key) than the round trip it saves."""
    moved = (
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("order_id"), _ORDERS.c.status == bindparam("expected"))
        .values(
            status=bindparam("to", type_=_ORDERS.c.status.type),
            **{key: bindparam(f"set_{key}", type_=_ORDERS.c[key].type) for key in set_keys},
        )
        .returning(*_ORDER_TABLE_COLUMNS)
        .cte("moved")
    )
    events = cast(Table, OrderEvent.__table__)
    written = (
        insert(events)
        .from_select(
            ["order_id", *_EVENT_COLUMNS],
            select(moved.c.id, *(bindparam(f"event_{key}", type_=events.c[key].type) for key in _EVENT_COLUMNS)),
        )
        .returning(events.c.id)
        .cte("written")
    )
    return select(*(moved.c[column.key] for column in _ORDER_TABLE_COLUMNS)).select_from(moved.join(written, true()))


async def has_event(session: AsyncSession, order_id: int, kind: str) -> bool:
    """Whether the order's timeline holds an event of ``kind``."""
    found = await session.scalar(
        select(OrderEvent.id).where(OrderEvent.order_id == order_id, OrderEvent.kind == kind).limit(1)
    )
    return found is not None


# ---- payments and refunds: compare-and-set updates ----------------------------------------------


async def set_payment_external_id(session: AsyncSession, payment_id: int, external_id: str) -> None:
    """The provider's id, kept from the first answer that carried one."""
    await session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.external_id.is_(None)).values(external_id=external_id)
    )


async def update_unsettled_payment(session: AsyncSession, payment_id: int, **values: object) -> None:
    """Update a payment that has not succeeded (a success is final)."""
    await session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.state != PaymentState.succeeded).values(**values)
    )


async def settle_payment(session: AsyncSession, payment_id: int, *, now: datetime, collected_by_id: int | None) -> bool:
    """Compare-and-set a payment to succeeded; False when it already was (money counted once)."""
    won = await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.state != PaymentState.succeeded)
        .values(state=PaymentState.succeeded, succeeded_at=now, next_action=None, collected_by_id=collected_by_id)
        .returning(Payment.id)
    )
    return won.scalar_one_or_none() is not None


async def add_paid(session: AsyncSession, order_id: int, amount_minor: int) -> None:
    """Increment in SQL: two payments settling at once must both count."""
    await session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(paid_minor=Order.paid_minor + amount_minor, payment_status=PaymentStatus.paid)
    )


async def add_paid_returning(session: AsyncSession, order_id: int, amount_minor: int) -> Order | None:
    """:func:`add_paid`, the order as the update left it (its row locked by the update; the loaded
    object refreshed from the statement's own RETURNING row): a settling payment locks, counts and
    reads the order in one round trip. Its relations are unloaded again, as the ORM's ``RETURNING``
    of the entity with ``populate_existing`` left them: what the payment goes on to write (its
    events, the payment itself) is read afresh by whoever shows the order."""
    row = (await session.execute(_ADD_PAID_RETURNING, {"paid_order_id": order_id, "amount": amount_minor})).first()
    if row is None:
        return None
    order = _order_as_stored(session, row)
    session.sync_session.expire(order, _ORDER_RELATIONS)
    return order


_ORDER_RELATIONS = [relation.key for relation in inspect(Order).relationships]


async def set_reservation_reference(session: AsyncSession, order_id: int, reference: str) -> None:
    await session.execute(update(Order).where(Order.id == order_id).values(reservation_reference=reference))


async def open_refunds_minor(session: AsyncSession, order_id: int) -> int:
    """Refunds asked for and not settled yet (pending or submitted)."""
    pending = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.order_id == order_id, Refund.state.in_([RefundState.pending, RefundState.submitted])
        )
    )
    return int(pending or 0)


async def lock_order(session: AsyncSession, order_id: int) -> None:
    """The order row is the lock two refunds (or payments) of one order take turns on."""
    await session.execute(select(Order.id).where(Order.id == order_id).with_for_update())


async def settle_refund(
    session: AsyncSession, refund_id: int, *, state: RefundState, external_id: str, failure_message: str
) -> bool:
    """Compare-and-set an open refund to the provider's word; False when it was settled already."""
    won = await session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.state.in_([RefundState.pending, RefundState.submitted]))
        .values(
            state=state,
            external_id=func.coalesce(Refund.external_id, external_id),
            failure_message=failure_message,
        )
        .returning(Refund.id)
    )
    return won.scalar_one_or_none() is not None


async def add_refunded(session: AsyncSession, order_id: int, amount_minor: int) -> None:
    """Increment in SQL: two refunds settling at once must both count."""
    refunded = Order.refunded_minor + amount_minor
    await session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(
            refunded_minor=refunded,
            payment_status=case(
                (refunded >= Order.paid_minor, PaymentStatus.refunded.value),
                else_=PaymentStatus.partially_refunded.value,
            ).cast(Order.__table__.c.payment_status.type),
        )
    )


# ---- the webhook inbox --------------------------------------------------------------------------


async def inbox_webhook_event(
    session: AsyncSession, *, provider: str, event_id: str, event_type: str, payload: dict[str, Any]
) -> int | None:
    """Store an event once (unique on provider + event id); None when it was there already."""
    inserted = await session.scalar(
        insert(WebhookEvent)
        .values(provider=provider, event_id=event_id, event_type=event_type, payload=payload)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(WebhookEvent.id)
    )
    return int(inserted) if inserted is not None else None


async def claim_webhook_event(session: AsyncSession, webhook_event_id: int) -> bool:
    """Compare-and-set: one worker processes an event, a second delivery finds it taken."""
    won = await session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == webhook_event_id, WebhookEvent.processed_at.is_(None))
        .values(processed_at=func.now())
        .returning(WebhookEvent.id)
    )
    return won.scalar_one_or_none() is not None


async def set_webhook_outcome(session: AsyncSession, webhook_event_id: int, outcome: str) -> None:
    await session.execute(update(WebhookEvent).where(WebhookEvent.id == webhook_event_id).values(outcome=outcome))


async def refund_by_external_id(session: AsyncSession, external_id: str) -> Refund | None:
    return await session.scalar(select(Refund).where(Refund.external_id == external_id))


async def unsent_refund_of_intent(session: AsyncSession, refund_id: int, payment_intent: str) -> Refund | None:
    """Our refund ``refund_id`` while it has no provider id yet and its payment is ``payment_intent``."""
    return await session.scalar(
        select(Refund)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.id == refund_id, Refund.external_id.is_(None), Payment.external_id == payment_intent)
    )


async def adopt_open_stripe_attempt(
    session: AsyncSession, order_id: int, *, external_id: str, amount_minor: int
) -> Payment | None:
    """Attach a provider id to the order's latest Stripe attempt of that amount that has none."""
    adopted = await session.scalar(
        update(Payment)
        .where(
            Payment.id
            == select(Payment.id)
            .where(
                Payment.order_id == order_id,
                Payment.provider == "stripe",
                Payment.external_id.is_(None),
                Payment.amount_minor == amount_minor,
            )
            .order_by(Payment.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        .values(external_id=external_id)
        .returning(Payment.id)
    )
    return await session.get(Payment, adopted) if adopted is not None else None


async def orders_of_customer(session: AsyncSession, user_id: int, *, for_update: bool = False) -> Sequence[Order]:
    """Every order of a signed-in customer, oldest first, with its lines, payments and station —
    what their data export lists and their account's erasure rewrites (row-locked then, so a
    concurrent transition waits for the erasure instead of writing the old contact back)."""
    stmt = (
        select(Order)
        .where(Order.customer_user_id == user_id)
        .options(selectinload(Order.lines), selectinload(Order.payments), joinedload(Order.station))
        .order_by(Order.id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    return (await session.scalars(stmt)).unique().all()
