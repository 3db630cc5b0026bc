"""All SQL of wholesale ordering: the order's wholesale row, a company's credit exposure, held
orders past their deadline, a company's orders, the ops console's list, the orders on a day's
trips, and the supply SKUs of the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Select,
    String,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    inspect,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.expression import ScalarSelect

from app.accounts.models import BuyerCompany
from app.catalog.models import Product, Variant
from app.channels import SalesChannel
from app.kit import stored_rows
from app.kit.models import any_of, in_statement
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.wholesale import receivable_queries, trip_queries
from app.wholesale.invoice_models import DocumentKind, WholesaleInvoice
from app.wholesale.models import CreditState, DeliveryAddress, WholesaleOrder
from app.wholesale.trip_models import TripStatus, WholesaleTrip

# Orders whose money is still owed (or will be once delivered): neither cancelled nor expired.
# Completed orders count too until they are paid — they are what the invoices will bill.
OPEN_STATUSES = (OrderStatus.confirmed, OrderStatus.ready_for_pickup, OrderStatus.completed)
COUNTED_CREDIT = (CreditState.clear.value, CreditState.approved.value)


async def supply_variants(session: AsyncSession) -> Sequence[Variant]:
    """The active supply SKUs (with their products), in catalog order."""
    return (
        await session.scalars(
            select(Variant)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.is_supply_sku.is_(True), Variant.is_active.is_(True), Product.is_active.is_(True))
            .options(selectinload(Variant.product))
            .order_by(Variant.sort_order, Variant.sku)
        )
    ).all()


async def variants_by_sku(session: AsyncSession, skus: Sequence[str]) -> dict[str, Variant]:
    """Active variants of ``skus`` (supply or not) with their products."""
    if not skus:
        return {}
    rows = await session.scalars(_variants_by_sku(), {"skus": list(skus)})
    return {v.sku: v for v in rows}


@cache
def _variants_by_sku() -> Select[Variant]:
    # Built once (every wholesale order reads its SKUs with this).
    return (
        select(Variant)
        .join(Variant.product)
        .where(any_of(Variant.sku, "skus", String()), Variant.is_active.is_(True))
        .options(contains_eager(Variant.product))
    )


async def delivery_address(session: AsyncSession, company_id: int, address_id: int) -> DeliveryAddress | None:
    """The company's own active address (another company's id finds nothing)."""
    return await session.scalar(_delivery_address(), {"address_id": address_id, "company_id": company_id})


@cache
def _delivery_address() -> Select[DeliveryAddress]:
    return select(DeliveryAddress).where(
        DeliveryAddress.id == bindparam("address_id", type_=BigInteger),
        DeliveryAddress.company_id == bindparam("company_id", type_=BigInteger),
        DeliveryAddress.is_active.is_(True),
    )


def _open_orders_owed_of(company_id: int | ColumnElement[int]) -> ScalarSelect[int]:
    """What the company's open orders within credit, not yet invoiced, still owe (total − paid):
    the sum of their ``open_owed_minor``, which the database's triggers keep (migration 0042), over
    the partial index of the orders that count (an index-only scan).

    It was a join of every open order of the company with its order and invoice rows, inside the
    company's turn: 2.4–5.1 ms at 1,200–1,800 open orders, what one buyer's order rate was bound by
    (issue 15). :func:`open_owed_disagreements` is that join, kept to check the stored figures. On
    the table's columns: the company's turn (:func:`take_turn_and_book`) is a Core statement."""
    wholesale = cast(Table, WholesaleOrder.__table__)
    return (
        select(func.coalesce(func.sum(wholesale.c.open_owed_minor), 0))
        # The index's own predicate, in the SQL: a bound 0 cannot match it in a generic plan (the
        # one PostgreSQL settles on for a statement asyncpg keeps prepared), which then read every
        # order of the company through the company index.
        .where(wholesale.c.company_id == company_id, wholesale.c.open_owed_minor != literal_column("0"))
        .scalar_subquery()
    )


async def open_owed_disagreements(session: AsyncSession) -> list[tuple[int, int, int]]:
    """Wholesale orders whose stored ``open_owed_minor`` is not what their rows say, as (order id,
    stored, recomputed): the triggers' check, recomputed here from ``OPEN_STATUSES`` and
    ``COUNTED_CREDIT`` (a change to either needs the triggers' function changed too). Empty when
    every figure is right."""
    counted = (
        (Order.channel == SalesChannel.wholesale)
        & Order.status.in_(OPEN_STATUSES)
        & (Order.payment_status != PaymentStatus.paid)
        & WholesaleOrder.credit_state.in_(COUNTED_CREDIT)
        & ~exists().where(WholesaleInvoice.order_id == Order.id, WholesaleInvoice.kind == DocumentKind.invoice.value)
    )
    recomputed = case((counted, Order.total_minor - Order.paid_minor), else_=0)
    rows = await session.execute(
        select(WholesaleOrder.order_id, WholesaleOrder.open_owed_minor, recomputed)
        .join(Order, Order.id == WholesaleOrder.order_id)
        .where(WholesaleOrder.open_owed_minor != recomputed)
        .order_by(WholesaleOrder.order_id)
    )
    return [(int(order_id), int(stored), int(right)) for order_id, stored, right in rows]


@dataclass(frozen=True)
class Turn:
    """What a wholesale order's turn on its company's row read and wrote (:func:`take_turn_and_book`)."""

    company: BuyerCompany  # as read in its turn (the session's instance, brought up to date)
    owed_minor: int  # what the company owes and has on order, this order left out (:func:`owed_minor`)
    overdue_count: int  # its invoices overdue on the day
    booked: bool  # the load went on the trip (False: full, past its cut-off or no longer planned)


async def take_turn_and_book(
    session: AsyncSession, row: WholesaleOrder, *, order_minor: int, keep_exposure: bool, today: date, now: datetime
) -> Turn | None:
    """The order's turn on its company's row, then its wholesale row and its trip's booking: two
    statements. Every order of the company waits for the one before it from the first of them to
    its commit, so a round trip saved here is saved once for every order in the queue (issue 15).

    1. The company locked. A statement that waited for the lock still reads as of before the wait,
       so what follows comes from a second one, which sees the orders committed meanwhile.
    2. One statement: the company read again (a suspension decided meanwhile counts; the session's
       company takes the values) with what it owes and how many invoices are overdue on ``today``;
       ``row`` written, its exposure the one it carries when ``keep_exposure`` (an order written
       held keeps its first check's), else what the company owes plus ``order_minor``; and the load
       booked on the trip if it is still open and fits (``trip_queries.booking_statement``), the
       trip's row locked after the company's, as packing and cancelling expect.

    The caller decides on what was read: the writes roll back with its savepoint when the check or
    the booking says otherwise. None when the company does not exist."""
    locked = await session.scalar(_company_lock(), {"company_id": row.company_id})
    if locked is None:
        return None
    values = {key: getattr(row, key) for key in _ADDED_KEYS}
    found = (
        await session.execute(
            _TURN_AND_BOOK,
            {**values, "keep_exposure": keep_exposure, "order_minor": order_minor, "today": today, "now": now},
        )
    ).one()
    company = stored_rows.as_stored(
        session, BuyerCompany, {key: found._mapping[column] for key, column in _TURN_COMPANY}, row.company_id
    )
    row.created_at, row.exposure_minor = found.wholesale_created_at, found.exposure_minor
    row.open_owed_minor = found.open_owed_minor
    stored_rows.join_as_stored(session, row)
    if found.booked_kg is not None:
        trip_queries.keep_booked(session, row.trip_id, found.booked_kg, found.booked_cases)
    return Turn(company, int(found.owed or 0), int(found.overdue or 0), found.booked_kg is not None)


@cache
def _company_lock() -> Select[int]:
    companies = cast(Table, BuyerCompany.__table__)
    return (
        select(companies.c.id)
        .where(companies.c.id == bindparam("company_id", type_=BigInteger))
        # FOR NO KEY UPDATE: the turns wait for each other, but not for the key-share locks every
        # order of the company takes on this row when written (its foreign key): with FOR UPDATE,
        # two orders written before their turns would each wait for the other.
        .with_for_update(key_share=True)
    )


def _turn_and_book() -> tuple[Select[Any], tuple[tuple[str, ColumnElement[Any]], ...]]:
    """Built once with bound parameters, on the tables (see :func:`take_turn_and_book`); with the
    company's columns in it, by attribute name."""
    companies = cast(Table, BuyerCompany.__table__)
    wholesale = cast(Table, WholesaleOrder.__table__)
    company_id = bindparam("company_id", type_=BigInteger)
    turn = (
        select(
            *companies.c,
            (_open_orders_owed_of(company_id) + receivable_queries.balance_owed_of(company_id)).label("owed"),
            receivable_queries.overdue_count_of(company_id, bindparam("today", type_=Date)).label("overdue"),
        )
        .where(companies.c.id == company_id)
        .cte("turn")
    )
    # The booking's own parameters (trip_id, weight_kg, cases) are the row's: one value each.
    booking = trip_queries.booking_statement()
    written = {key: bindparam(key, type_=wholesale.c[key].type) for key in _ADDED_KEYS if key != "exposure_minor"}
    exposure = case(
        (bindparam("keep_exposure", type_=Boolean), bindparam("exposure_minor", type_=BigInteger)),
        else_=turn.c.owed + bindparam("order_minor", type_=BigInteger),
    )
    added = (
        insert(wholesale)
        .from_select([*written, "exposure_minor"], select(*written.values(), exposure).select_from(turn))
        .returning(wholesale.c.created_at, wholesale.c.exposure_minor, wholesale.c.open_owed_minor)
        .cte("added")
    )
    booked = booking.cte("booked")
    statement = (
        select(
            turn,
            added.c.created_at.label("wholesale_created_at"),
            added.c.exposure_minor,
            added.c.open_owed_minor,
            booked.c.booked_kg,
            booked.c.booked_cases,
        )
        .select_from(turn)
        .join(added, true())
        .outerjoin(booked, true())
    )
    company = tuple((a.key, turn.c[a.columns[0].name]) for a in inspect(BuyerCompany).column_attrs)
    return statement, company


async def owed_minor(session: AsyncSession, company_id: int) -> int:
    """What the company owes and has on order, in one statement (an order's credit check): what its
    open wholesale orders within credit, not yet invoiced, still owe (total − paid), plus its
    invoices' balance (``receivable_queries.balance_owed_of``; an invoiced order's debt is its
    invoice's)."""
    owed = await session.scalar(
        select(_open_orders_owed_of(company_id) + receivable_queries.balance_owed_of(company_id))
    )
    return int(owed or 0)


async def add(session: AsyncSession, row: WholesaleOrder) -> None:
    """Write the new wholesale row (every column given but the two the server writes) with a statement
    built once, not through a flush: an order's unit of work for one row cost it more Python than
    the row, inside the company's turn (issue 15). The row joins the session as stored, as
    SQLAlchemy's own ``INSERT … RETURNING`` of an entity makes it (a rollback expires it)."""
    written = (await session.execute(_add(), {key: getattr(row, key) for key in _ADDED_KEYS})).one()
    row.created_at, row.open_owed_minor = written.created_at, written.open_owed_minor
    stored_rows.join_as_stored(session, row)


# The server writes the rest: the creation time, and the figure the triggers compute.
_SERVER_WRITTEN = ("created_at", "open_owed_minor")
_ADDED_KEYS = tuple(column.key for column in inspect(WholesaleOrder).columns if column.key not in _SERVER_WRITTEN)
_TURN_AND_BOOK, _TURN_COMPANY = _turn_and_book()


@cache
def _add() -> ReturningInsert[tuple[datetime, int]]:
    table = cast(Table, WholesaleOrder.__table__)
    return insert(table).returning(table.c.created_at, table.c.open_owed_minor)


async def of_order(session: AsyncSession, order_id: int, *, for_update: bool = False) -> WholesaleOrder | None:
    stmt = select(WholesaleOrder).where(WholesaleOrder.order_id == order_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def set_credit_state(session: AsyncSession, order_id: int, *, expected: CreditState, to: CreditState) -> bool:
    """Compare-and-set the credit state; False when another decision got there first."""
    won = await session.execute(
        update(WholesaleOrder)
        .where(WholesaleOrder.order_id == order_id, WholesaleOrder.credit_state == expected.value)
        .values(credit_state=to.value)
        .returning(WholesaleOrder.order_id)
    )
    return won.scalar_one_or_none() is not None


async def lapsed_holds(session: AsyncSession, now: datetime, limit: int) -> list[str]:
    """Numbers of held orders whose approval deadline has passed, oldest first."""
    rows = await session.scalars(
        select(Order.number)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .where(WholesaleOrder.credit_state == in_statement(CreditState.held), WholesaleOrder.credit_hold_until <= now)
        .order_by(WholesaleOrder.credit_hold_until)
        .limit(limit)
    )
    return list(rows)


# Trips whose booked load can still come off (``trip_queries.RELEASABLE`` but cancelled: only an
# empty trip is cancelled). Written into the statement for the partial index of such trips.
_TAKING_LOAD = [in_statement(TripStatus.planned), in_statement(TripStatus.loading)]
_ENDED = [in_statement(OrderStatus.expired), in_statement(OrderStatus.cancelled)]


# Orders that ended (expired unpaid, cancelled) while their load is still booked on a truck that
# has not left. Read from the trips that have not left (a partial index, migration 0045) and their
# orders, so the beat's sweep reads what is on the trucks, not every wholesale order ever delivered
# (a delivered order is never marked released). An order that ended after its truck left has
# nothing to give back and is not read.
ENDED_WITH_BOOKED_LOAD = (
    select(WholesaleOrder.order_id)
    .join(WholesaleTrip, WholesaleTrip.id == WholesaleOrder.trip_id)
    .join(Order, Order.id == WholesaleOrder.order_id)
    .where(
        WholesaleTrip.status.in_(_TAKING_LOAD),
        WholesaleOrder.trip_released_at.is_(None),
        Order.status.in_(_ENDED),
    )
    .order_by(WholesaleOrder.order_id)
    .limit(bindparam("limit", type_=BigInteger))
)


async def ended_with_booked_load(session: AsyncSession, limit: int) -> list[int]:
    """Up to ``limit`` orders whose truck room the sweep gives back (``ENDED_WITH_BOOKED_LOAD``)."""
    return list(await session.scalars(ENDED_WITH_BOOKED_LOAD, {"limit": limit}))


async def trip_id_of(session: AsyncSession, *, order_id: int | None = None, number: str | None = None) -> int | None:
    """The trip an order (by id or by number) is booked on, read without a lock: a sweep locks that
    trip's row first, as packing, dispatch and a buyer's cancel do."""
    statement = select(WholesaleOrder.trip_id)
    if number is not None:
        statement = statement.join(Order, Order.id == WholesaleOrder.order_id).where(Order.number == number)
    else:
        statement = statement.where(WholesaleOrder.order_id == order_id)
    found: int | None = await session.scalar(statement)
    return found


async def mark_trip_released(session: AsyncSession, order_id: int, now: datetime) -> bool:
    """Compare-and-set: the load comes off the truck once; False when another sweep did it."""
    won = await session.execute(
        update(WholesaleOrder)
        .where(WholesaleOrder.order_id == order_id, WholesaleOrder.trip_released_at.is_(None))
        .values(trip_released_at=now)
        .returning(WholesaleOrder.order_id)
    )
    return won.first() is not None


async def company_orders(
    session: AsyncSession,
    company_id: int,
    *,
    limit: int = 50,
    before_id: int | None = None,
    status: OrderStatus | None = None,
    placed_from: datetime | None = None,
    placed_before: datetime | None = None,
) -> Sequence[tuple[Order, WholesaleOrder, WholesaleTrip]]:
    """The company's wholesale orders, newest first, with their wholesale rows and trips; only
    those of ``status`` and placed in ``[placed_from, placed_before)`` when given."""
    stmt = (
        select(Order, WholesaleOrder, WholesaleTrip)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .join(WholesaleTrip, WholesaleTrip.id == WholesaleOrder.trip_id)
        .where(Order.company_id == company_id, Order.channel == SalesChannel.wholesale)
        .options(selectinload(Order.lines))
        .order_by(Order.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if placed_from is not None:
        stmt = stmt.where(Order.placed_at >= placed_from)
    if placed_before is not None:
        stmt = stmt.where(Order.placed_at < placed_before)
    return [(o, w, t) for o, w, t in (await session.execute(stmt)).all()]


async def order_of_company(
    session: AsyncSession, number: str, company_id: int | None
) -> tuple[Order, WholesaleOrder, WholesaleTrip, DeliveryAddress] | None:
    """One wholesale order by number — of ``company_id`` only when given (a buyer), any for staff."""
    stmt = (
        select(Order, WholesaleOrder, WholesaleTrip, DeliveryAddress)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .join(WholesaleTrip, WholesaleTrip.id == WholesaleOrder.trip_id)
        .join(DeliveryAddress, DeliveryAddress.id == WholesaleOrder.delivery_address_id)
        .where(Order.number == number, Order.channel == SalesChannel.wholesale)
        .options(selectinload(Order.lines), selectinload(Order.events))
        .execution_options(populate_existing=True)
    )
    if company_id is not None:
        stmt = stmt.where(Order.company_id == company_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


ConsoleRow = tuple[Order, WholesaleOrder, WholesaleTrip, BuyerCompany, DeliveryAddress]


async def console_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | None = None,
    held_only: bool = False,
    trip_date: date | None = None,
    company_id: int | None = None,
    limit: int = 100,
) -> list[ConsoleRow]:
    """Wholesale orders for the ops console, held ones first (soonest deadline first), then newest."""
    held_first = case((WholesaleOrder.credit_state == CreditState.held.value, 0), else_=1)
    stmt = (
        select(Order, WholesaleOrder, WholesaleTrip, BuyerCompany, DeliveryAddress)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .join(WholesaleTrip, WholesaleTrip.id == WholesaleOrder.trip_id)
        .join(BuyerCompany, BuyerCompany.id == WholesaleOrder.company_id)
        .join(DeliveryAddress, DeliveryAddress.id == WholesaleOrder.delivery_address_id)
        .where(Order.channel == SalesChannel.wholesale)
        .order_by(held_first, WholesaleOrder.credit_hold_until.asc().nulls_last(), Order.id.desc())
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if held_only:
        stmt = stmt.where(WholesaleOrder.credit_state == in_statement(CreditState.held))
    if trip_date is not None:
        stmt = stmt.where(WholesaleTrip.departure_date == trip_date)
    if company_id is not None:
        stmt = stmt.where(WholesaleOrder.company_id == company_id)
    return [(o, w, t, c, a) for o, w, t, c, a in (await session.execute(stmt)).all()]


async def orders_on_trips(
    session: AsyncSession, trip_ids: Sequence[int]
) -> list[tuple[Order, WholesaleOrder, BuyerCompany, DeliveryAddress]]:
    """The orders booked on any of ``trip_ids`` (the trip board's, in one statement), by city then
    company, with their companies and delivery addresses."""
    if not trip_ids:
        return []
    stmt = (
        select(Order, WholesaleOrder, BuyerCompany, DeliveryAddress)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .join(BuyerCompany, BuyerCompany.id == WholesaleOrder.company_id)
        .join(DeliveryAddress, DeliveryAddress.id == WholesaleOrder.delivery_address_id)
        .where(WholesaleOrder.trip_id.in_(trip_ids))
        .order_by(WholesaleOrder.trip_id, DeliveryAddress.city, BuyerCompany.name, Order.id)
    )
    return [(o, w, c, a) for o, w, c, a in (await session.execute(stmt)).all()]


async def company_choices(session: AsyncSession) -> list[tuple[int, str]]:
    """Companies that have wholesale orders, by name (the console's company filter)."""
    stmt = (
        select(BuyerCompany.id, BuyerCompany.name)
        .where(BuyerCompany.id.in_(select(WholesaleOrder.company_id).distinct()))
        .order_by(BuyerCompany.name)
    )
    return [(cid, name) for cid, name in (await session.execute(stmt)).all()]
