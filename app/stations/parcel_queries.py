"""The SQL of parcels and delivery runs: what a run packs, the parcels of a run, a station's shelf,
the parcels due back, and the locks that serialise scans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, ColumnElement, Integer, Table, and_, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.kit.models import in_statement
from app.orders.models import DeliveryMethod, FulfilmentStatus, Order, OrderStatus
from app.stations.models import DeliveryRoute, DispatchRun, Parcel, ParcelStatus, RunStatus, Station


def awaiting_dispatch() -> ColumnElement[bool]:
    """Orders a run packs: confirmed pickup orders not yet fulfilled nor in a parcel (the run board
    lists them with the same condition). An order holding no stock (a pre-sale before its harvest
    is allocated to it, an event ticket) has nothing to pack: it waits for a reservation.

    The status and the delivery method are in the statement's text (the predicates of the orders'
    partial indexes), and "not in a parcel" an anti-join on the parcel's order key: ``NOT IN
    (SELECT order_id FROM parcels)`` hashed every parcel ever made, for each run and each view of
    the board."""
    return and_(
        Order.status == in_statement(OrderStatus.confirmed),
        Order.reservation_reference.is_not(None),
        Order.delivery_method == in_statement(DeliveryMethod.station_pickup),
        Order.fulfilment_status == FulfilmentStatus.unfulfilled,
        ~exists().where(Parcel.order_id == Order.id),
    )


# ---- routes and runs ------------------------------------------------------------------------------


async def route_with_stops(session: AsyncSession, route_code: str) -> DeliveryRoute | None:
    return await session.scalar(
        select(DeliveryRoute).where(DeliveryRoute.code == route_code).options(selectinload(DeliveryRoute.stops))
    )


async def routes_with_stops(session: AsyncSession) -> Sequence[DeliveryRoute]:
    """Every delivery route with its stops, by code."""
    return (
        await session.scalars(
            select(DeliveryRoute).options(selectinload(DeliveryRoute.stops)).order_by(DeliveryRoute.code)
        )
    ).all()


async def station_codes(session: AsyncSession) -> dict[int, str]:
    """Every station's code by its id."""
    return {station_id: code for station_id, code in (await session.execute(select(Station.id, Station.code))).all()}


async def run_of_route(session: AsyncSession, route_id: int, run_date: date) -> DispatchRun | None:
    return await session.scalar(
        select(DispatchRun).where(DispatchRun.route_id == route_id, DispatchRun.run_date == run_date)
    )


async def run_by_number(session: AsyncSession, run_number: str) -> DispatchRun | None:
    return await session.scalar(select(DispatchRun).where(DispatchRun.number == run_number))


async def lock_orders_to_pack(session: AsyncSession, station_ids: Sequence[int]) -> Sequence[Order]:
    """The orders awaiting dispatch to ``station_ids``, oldest first, locked; rows another packer
    holds are skipped (it packs them)."""
    return (
        await session.scalars(
            select(Order)
            .where(awaiting_dispatch(), Order.station_id.in_(station_ids))
            .order_by(Order.id)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def mark_run_dispatched(session: AsyncSession, run_id: int) -> bool:
    """Compare-and-set a packing run to dispatched; False when it had left already."""
    won = await session.execute(
        update(DispatchRun)
        .where(DispatchRun.id == run_id, DispatchRun.status == RunStatus.packing)
        .values(status=RunStatus.dispatched, dispatched_at=func.now())
        .returning(DispatchRun.id)
    )
    return won.scalar_one_or_none() is not None


async def parcels_of_run(session: AsyncSession, run_id: int, *, status: ParcelStatus | None = None) -> Sequence[Parcel]:
    """A run's parcels in packing order (only those in ``status`` when given)."""
    stmt = select(Parcel).where(Parcel.run_id == run_id).order_by(Parcel.id)
    if status is not None:
        stmt = stmt.where(Parcel.status == status)
    return (await session.scalars(stmt)).all()


# ---- parcels --------------------------------------------------------------------------------------


async def lock_parcel(session: AsyncSession, tracking_number: str) -> Parcel | None:
    """The parcel by its normalised tracking number, locked and read afresh."""
    return await session.scalar(
        select(Parcel)
        .where(Parcel.tracking_number == tracking_number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class StationShelf:
    """What a scan or a handover needs of the parcel's station, read with the parcel: its code,
    name, shelf layout and retention (the capacity is read under the station's lock instead)."""

    code: str
    name: str
    shelves: int
    layers_per_shelf: int
    retention_days: int


_SHELF_COLUMNS = (Station.code, Station.name, Station.shelves, Station.layers_per_shelf, Station.retention_days)
_parcels = cast(Table, Parcel.__table__)
_held = _parcels.alias("held")
# In the statement's text, so that a generic plan reads the partial indexes of the shelf (see
# ``in_statement``); written as a value (``.values(status=…)``), it is bound as usual.
_AT_STATION = in_statement(ParcelStatus.at_station)

# The statements of a scan and a handover, built once (parameters bound at each call): on the PDA's
# path building and keying them again per call cost as much as running them.
_LOCK_PARCEL_WITH_ORDER = (
    select(Parcel, Order, *_SHELF_COLUMNS)
    .join(Order, Order.id == Parcel.order_id)
    .join(Station, Station.id == Parcel.station_id)
    .where(Parcel.tracking_number == bindparam("tracking_number"))
    .with_for_update(of=Parcel)
    .execution_options(populate_existing=True)
)
_slot_loads = (
    select(_parcels.c.shelf_slot.label("slot"), func.count().label("n"))
    .where(
        _parcels.c.station_id == bindparam("station_id"),
        _parcels.c.status == _AT_STATION,
        _parcels.c.shelf_slot.is_not(None),
    )
    .group_by(_parcels.c.shelf_slot)
    .subquery()
)
_SLOT_LOADS_CLAIMING_SECRET = select(
    func.pg_try_advisory_xact_lock(bindparam("station_id", type_=Integer), bindparam("secret_key", type_=Integer)),
    select(func.json_object_agg(_slot_loads.c.slot, _slot_loads.c.n, type_=JSON)).scalar_subquery(),
)
_SHELVE_PARCEL = (
    update(_parcels)
    .where(
        _parcels.c.id == bindparam("parcel_id"),
        ~exists().where(
            _held.c.station_id == bindparam("at_station_id"),
            _held.c.status == _AT_STATION,
            _held.c.pickup_code == bindparam("secret"),
        ),
    )
    .values(
        status=ParcelStatus.at_station,
        shelf_slot=bindparam("slot"),
        pickup_code=bindparam("secret"),
        arrived_at=bindparam("arrived"),
        retention_until=bindparam("until"),
        failed_code_attempts=0,
    )
    .returning(_parcels.c.id)
)
_locked_station = (
    select(Station.__table__.c.id, Station.__table__.c.shelf_capacity)
    .where(Station.__table__.c.id == bindparam("station_id"))
    .with_for_update()
    .cte("locked_station")
)
# The count is a VOLATILE function's (migration 0046): it runs in a snapshot taken once the lock is
# granted, where a subquery of this statement would read as of before the wait.
_LOCK_STATION_AND_COUNT_SHELF = select(
    _locked_station.c.shelf_capacity,
    func.station_parcels_on_shelf(_locked_station.c.id, type_=BigInteger),
)


async def lock_parcel_with_order(
    session: AsyncSession, tracking_number: str
) -> tuple[Parcel, Order, StationShelf] | None:
    """The parcel by its normalised tracking number, locked and read afresh, with its order (read
    afresh, not locked: order changes are compare-and-set) and its station, in one statement."""
    row = (await session.execute(_LOCK_PARCEL_WITH_ORDER, {"tracking_number": tracking_number})).first()
    if row is None:
        return None
    parcel, order, code, name, shelves, layers, retention_days = row
    return parcel, order, StationShelf(code, name, shelves, layers, retention_days)


async def slot_loads_claiming_secret(
    session: AsyncSession, station_id: int, secret: str
) -> tuple[dict[str, int], bool]:
    """Parcels per shelf slot held at the station, and whether this transaction now holds the
    secret against every other scan in flight (a transaction-scoped advisory lock on the pair
    station, secret; False: another scan is giving out that secret right now). One statement."""
    claimed, counts = (
        await session.execute(_SLOT_LOADS_CLAIMING_SECRET, {"station_id": station_id, "secret_key": int(secret)})
    ).one()
    return {str(slot): int(n) for slot, n in (counts or {}).items()}, bool(claimed)


async def shelve_parcel(
    session: AsyncSession,
    parcel_id: int,
    station_id: int,
    *,
    slot: str,
    secret: str,
    arrived_at: datetime,
    retention_until: datetime,
) -> bool:
    """Put a parcel on the shelf with ``secret``, unless a parcel held at the station has it
    (False). Run after :func:`slot_loads_claiming_secret` claimed the secret: this statement's
    snapshot is newer than the claim, so it sees every parcel that took the secret before. The
    caller sets the same values on its loaded parcel (this is a Core statement)."""
    done = await session.execute(
        _SHELVE_PARCEL,
        {
            "parcel_id": parcel_id,
            "at_station_id": station_id,
            "secret": secret,
            "slot": slot,
            "arrived": arrived_at,
            "until": retention_until,
        },
    )
    return done.scalar_one_or_none() is not None


async def lock_station_and_count_shelf(session: AsyncSession, station_id: int) -> tuple[int, int]:
    """The station's shelf capacity and the parcels on its shelf (this transaction's included), its
    row locked until commit, in one statement: the last step of a scan-in, so scans at one station
    take turns only for this statement and the commit. The count sees every scan committed before
    the lock was granted (``station_parcels_on_shelf``, migration 0046)."""
    capacity, held = (await session.execute(_LOCK_STATION_AND_COUNT_SHELF, {"station_id": station_id})).one()
    return int(capacity), int(held)


async def parcel_of_order(session: AsyncSession, order_id: int) -> Parcel | None:
    return await session.scalar(select(Parcel).where(Parcel.order_id == order_id))


_SHELF_ROWS = (
    select(
        Parcel.tracking_number,
        Parcel.status,
        Parcel.shelf_slot,
        Parcel.arrived_at,
        Parcel.retention_until,
        Order.number,
        Order.contact_name,
        Order.contact_phone,
        Order.payment_method,
        Order.total_minor,
        Order.paid_minor,
        Station.code,
    )
    .join(Order, Order.id == Parcel.order_id)
    .join(Station, Station.id == Parcel.station_id)
    .where(Parcel.station_id == bindparam("station_id"), Parcel.status == _AT_STATION)
    .order_by(Parcel.shelf_slot, Parcel.arrived_at)
)


async def shelf_rows(session: AsyncSession, station_id: int) -> Sequence[Any]:
    """What the PDA lists of a station's shelf, by slot then arrival: one row per parcel with the
    columns of its order and station that the list shows (Core rows, no ORM objects)."""
    return (await session.execute(_SHELF_ROWS, {"station_id": station_id})).all()


async def shelf_of_station(session: AsyncSession, station_id: int) -> Sequence[tuple[Parcel, Order]]:
    """The parcels on a station's shelf with their orders, by slot then arrival."""
    rows = await session.execute(
        select(Parcel, Order)
        .join(Order, Order.id == Parcel.order_id)
        .where(Parcel.station_id == station_id, Parcel.status == _AT_STATION)
        .order_by(Parcel.shelf_slot, Parcel.arrived_at)
    )
    return [(parcel, order) for parcel, order in rows.all()]


async def lock_overdue_parcels(session: AsyncSession, now: datetime, limit: int) -> Sequence[Parcel]:
    """Parcels on a shelf past their retention, oldest first, locked; locked rows are skipped."""
    return (
        await session.scalars(
            select(Parcel)
            .where(Parcel.status == _AT_STATION, Parcel.retention_until <= now)
            .order_by(Parcel.retention_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()


async def station_day_counts(
    session: AsyncSession, station_id: int, *, since: datetime, now: datetime
) -> tuple[int, int, int, int]:
    """On the shelf now, arrived since, handed over since, and held past retention."""
    held = Parcel.status == ParcelStatus.at_station
    on_shelf, arrived, handed, overdue = (
        await session.execute(
            select(
                func.count().filter(held),
                func.count().filter(Parcel.arrived_at >= since),
                func.count().filter(Parcel.handed_over_at >= since),
                func.count().filter(held, Parcel.retention_until <= now),
            ).where(Parcel.station_id == station_id)
        )
    ).one()
    return int(on_shelf), int(arrived), int(handed), int(overdue)


async def latest_parcel_of_order_at(
    session: AsyncSession, order_number: str, station_id: int
) -> tuple[Parcel, Order] | None:
    """The latest parcel of the order at the station, with its order."""
    row = (
        await session.execute(
            select(Parcel, Order)
            .join(Order, Order.id == Parcel.order_id)
            .where(Order.number == order_number, Parcel.station_id == station_id)
            .order_by(Parcel.id.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def parcel_and_order(session: AsyncSession, tracking_number: str) -> tuple[Parcel, Order] | None:
    """A parcel and its order by normalised tracking number, unlocked."""
    row = (
        await session.execute(
            select(Parcel, Order)
            .join(Order, Order.id == Parcel.order_id)
            .where(Parcel.tracking_number == tracking_number)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
