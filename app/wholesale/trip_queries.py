"""The SQL of PRD routes and trips.

The booked counters change only here, by conditional UPDATEs: PostgreSQL re-checks the WHERE of a
concurrent UPDATE on the row version the other transaction committed, so two bookings racing for
the last 50 cases cannot both pass ``booked_cases + :cases <= capacity_cases``. Status changes are
compare-and-set on the status the caller saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Integer,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import stored_rows
from app.wholesale.trip_models import TripStatus, WholesaleRoute, WholesaleTrip

# ---- routes -------------------------------------------------------------------------------------


async def list_routes(session: AsyncSession) -> list[WholesaleRoute]:
    return list(await session.scalars(select(WholesaleRoute).order_by(WholesaleRoute.code)))


async def route_by_code(session: AsyncSession, code: str) -> WholesaleRoute | None:
    found: WholesaleRoute | None = await session.scalar(select(WholesaleRoute).where(WholesaleRoute.code == code))
    return found


async def insert_route(session: AsyncSession, values: dict[str, Any]) -> WholesaleRoute | None:
    """The new route, or None when its code is taken (by a concurrent form too)."""
    new_id = await session.scalar(
        pg_insert(WholesaleRoute)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(WholesaleRoute.id)
    )
    return None if new_id is None else await session.get(WholesaleRoute, new_id)


async def active_routes(
    session: AsyncSession, *, city: str | None = None, cold_chain_only: bool = False
) -> list[WholesaleRoute]:
    """Active routes, those reaching ``city`` when given, cold-chain ones only when asked."""
    params = {} if city is None else {"city": city}
    stmt = _active_routes(to_city=city is not None, cold_chain_only=cold_chain_only)
    return list(await session.scalars(stmt, params))


@cache
def _active_routes(*, to_city: bool, cold_chain_only: bool) -> Select[WholesaleRoute]:
    # Built once per shape (every wholesale order looks up the routes to its city).
    stmt = select(WholesaleRoute).where(WholesaleRoute.is_active.is_(True))
    if to_city:
        stmt = stmt.where(bindparam("city", type_=String) == any_(WholesaleRoute.cities))
    if cold_chain_only:
        stmt = stmt.where(WholesaleRoute.cold_chain.is_(True))
    return stmt.order_by(WholesaleRoute.code)


# ---- trips --------------------------------------------------------------------------------------


async def ensure_trips(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the trips that do not exist yet; an existing one (a cancelled one too) is left alone,
    and a concurrent request inserting the same trip makes this a no-op, not a unique violation."""
    if not rows:
        return
    await session.execute(
        pg_insert(WholesaleTrip)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["route_id", "departure_date"])
    )


@dataclass(frozen=True)
class RouteRow:
    """A route as an order's look at its city's trips reads it: plain values, not an entity."""

    id: int
    code: str
    name: str
    cities: list[str]
    weekdays: list[int]
    cutoff_time: time
    cutoff_days_before: int
    capacity_kg: Decimal
    capacity_cases: int
    cold_chain: bool


@dataclass(frozen=True)
class TripRow:
    """A trip as an order's look at its city's trips reads it: plain values, not an entity."""

    id: int
    number: str
    route_id: int
    departure_date: date
    status: TripStatus
    cold_chain: bool
    cutoff_at: datetime
    capacity_kg: Decimal
    capacity_cases: int
    booked_kg: Decimal
    booked_cases: int


_ROUTE_FIELDS = tuple(f.name for f in fields(RouteRow))
_TRIP_FIELDS = tuple(f.name for f in fields(TripRow))


async def routes_to_city_with_trips(
    session: AsyncSession, city: str, first: date, last: date, *, cold_chain_only: bool = False
) -> list[tuple[RouteRow, TripRow | None]]:
    """The active routes reaching ``city`` (cold-chain ones only when asked), each with its trips
    departing ``first``..``last`` (a route with none: one row with None), earliest first. One
    statement: every wholesale order looks at its city's trips, and makes the ones that do not
    exist yet. Read as plain rows on the tables, read afresh every time: a horizon is a route's
    row repeated with each of its ~14 trips, and as entities (the route's refreshed once per row)
    they were much of the ~1.5 ms of Python between this statement and the order's next one
    (PostgreSQL's statement log of a wholesale order at a time, issue 15)."""
    rows = await session.execute(
        _routes_with_trips(cold_chain_only=cold_chain_only), {"city": city, "first": first, "last": last}
    )
    routes: dict[int, RouteRow] = {}
    found: list[tuple[RouteRow, TripRow | None]] = []
    for row in rows:
        route = routes.get(row[0])
        if route is None:
            route = routes[row[0]] = RouteRow(*row[: len(_ROUTE_FIELDS)])
        trip = TripRow(*row[len(_ROUTE_FIELDS) :]) if row[len(_ROUTE_FIELDS)] is not None else None
        found.append((route, trip))
    return found


@cache
def _routes_with_trips(*, cold_chain_only: bool) -> Select[Any]:
    # Built once per shape: the route's columns, then the trip's, in the rows' field order.
    routes = cast(Table, WholesaleRoute.__table__)
    trips = cast(Table, WholesaleTrip.__table__)
    stmt = (
        select(*(routes.c[name] for name in _ROUTE_FIELDS), *(trips.c[name] for name in _TRIP_FIELDS))
        .select_from(routes)
        .outerjoin(
            trips,
            and_(
                trips.c.route_id == routes.c.id,
                trips.c.departure_date.between(bindparam("first", type_=Date), bindparam("last", type_=Date)),
            ),
        )
        .where(routes.c.is_active.is_(True), bindparam("city", type_=String) == any_(routes.c.cities))
    )
    if cold_chain_only:
        stmt = stmt.where(routes.c.cold_chain.is_(True))
    return stmt.order_by(trips.c.departure_date, trips.c.cutoff_at, routes.c.code)


async def trips_on(session: AsyncSession, day: date) -> list[tuple[WholesaleTrip, WholesaleRoute]]:
    rows = await session.execute(
        select(WholesaleTrip, WholesaleRoute)
        .join(WholesaleRoute, WholesaleRoute.id == WholesaleTrip.route_id)
        .where(WholesaleTrip.departure_date == day)
        .order_by(WholesaleTrip.cutoff_at, WholesaleRoute.code)
        .execution_options(populate_existing=True)
    )
    return [(trip, route) for trip, route in rows]


async def trip_by_id(session: AsyncSession, trip_id: int, *, for_update: bool = False) -> WholesaleTrip | None:
    """``for_update`` locks the trip row: packing, dispatch and a buyer's cancel of one trip's
    orders take it first, so they happen one after the other."""
    stmt = select(WholesaleTrip).where(WholesaleTrip.id == trip_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    found: WholesaleTrip | None = await session.scalar(stmt)
    return found


async def trip_by_number(session: AsyncSession, number: str) -> WholesaleTrip | None:
    found: WholesaleTrip | None = await session.scalar(
        select(WholesaleTrip).where(WholesaleTrip.number == number).execution_options(populate_existing=True)
    )
    return found


async def book(session: AsyncSession, trip_id: int, weight_kg: Decimal, cases: int, *, now: datetime) -> bool:
    """Add a load to a trip still taking orders, if it fits: one conditional UPDATE, no lock held
    beyond it. False: the trip is full for this load, past its cut-off, or no longer planned. A trip
    the session has loaded takes the new totals."""
    booked = (
        await session.execute(_BOOK, {"trip_id": trip_id, "now": now, "weight_kg": weight_kg, "cases": cases})
    ).first()
    if booked is None:
        return False
    keep_booked(session, trip_id, booked.booked_kg, booked.booked_cases)
    return True


def keep_booked(session: AsyncSession, trip_id: int, booked_kg: Decimal, booked_cases: int) -> None:
    """A trip the session has loaded takes the totals a booking returned (:func:`booking_statement`)."""
    stored_rows.refresh_loaded(session, WholesaleTrip, trip_id, {"booked_kg": booked_kg, "booked_cases": booked_cases})


def booking_statement() -> Any:
    """A load added to a trip still taking orders, if it fits (parameters ``trip_id``, ``now``,
    ``weight_kg``, ``cases``), returning the trip's new totals. Built once with bound parameters, on
    the table: every wholesale order books its load with it (inside its company's turn:
    ``order_queries.take_turn_and_book``), and the ORM's execution of a statement naming the class
    costs about half a millisecond more (``app.kit.stored_rows``)."""
    trips = cast(Table, WholesaleTrip.__table__)
    weight_kg = bindparam("weight_kg", type_=trips.c.booked_kg.type)
    cases = bindparam("cases", type_=Integer)
    return (
        update(trips)
        .where(
            trips.c.id == bindparam("trip_id", type_=BigInteger),
            trips.c.status == TripStatus.planned,
            trips.c.cutoff_at > bindparam("now", type_=DateTime(timezone=True)),
            trips.c.booked_kg + weight_kg <= trips.c.capacity_kg,
            trips.c.booked_cases + cases <= trips.c.capacity_cases,
        )
        .values(booked_kg=trips.c.booked_kg + weight_kg, booked_cases=trips.c.booked_cases + cases)
        .returning(trips.c.id, trips.c.booked_kg, trips.c.booked_cases)
    )


_BOOK = booking_statement()


# A load taken off a trip that has already left stays in its history (what the truck carried).
RELEASABLE = (TripStatus.planned, TripStatus.loading, TripStatus.cancelled)


async def release(session: AsyncSession, trip_id: int, weight_kg: Decimal, cases: int) -> bool:
    """Take a load off a trip that has not left; False when the trip never held that much."""
    released = await session.scalar(
        update(WholesaleTrip)
        .where(
            WholesaleTrip.id == trip_id,
            WholesaleTrip.status.in_(RELEASABLE),
            WholesaleTrip.booked_kg >= weight_kg,
            WholesaleTrip.booked_cases >= cases,
        )
        .values(
            booked_kg=WholesaleTrip.booked_kg - weight_kg,
            booked_cases=WholesaleTrip.booked_cases - cases,
        )
        .returning(WholesaleTrip.id)
    )
    return released is not None


async def set_status(
    session: AsyncSession,
    trip_id: int,
    *,
    expected: TripStatus,
    new: TripStatus,
    actor_user_id: int | None,
    now: datetime,
    require_empty: bool = False,
) -> bool:
    """Compare-and-set the trip's status; False when it was not ``expected`` (or, with
    ``require_empty``, when a load was booked on it meanwhile)."""
    conditions = [WholesaleTrip.id == trip_id, WholesaleTrip.status == expected]
    if require_empty:
        conditions.append(and_(WholesaleTrip.booked_kg == 0, WholesaleTrip.booked_cases == 0))
    changed = await session.scalar(
        update(WholesaleTrip)
        .where(*conditions)
        .values(status=new, status_changed_at=now, status_changed_by_id=actor_user_id)
        .returning(WholesaleTrip.id)
    )
    return changed is not None
