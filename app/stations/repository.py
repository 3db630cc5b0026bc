"""All SQL of the stations domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, bindparam, func, literal_column, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.catalog.models import Variant
from app.kit.models import in_statement
from app.orders.models import DeliveryMethod, Order, OrderStatus
from app.stations.models import (
    CaseKind,
    Consignment,
    DispatchRun,
    Parcel,
    ServiceCase,
    Station,
    StationCashRefund,
)
from app.supply.models import Lot, Supplier, Transfer

# ---- stations and their stock location ----------------------------------------------------------


async def station_by_id(session: AsyncSession, station_id: int) -> Station | None:
    return await session.get(Station, station_id)


async def station_by_code(session: AsyncSession, code: str) -> Station | None:
    return await session.scalar(select(Station).where(Station.code == code))


async def all_stations(session: AsyncSession) -> Sequence[Station]:
    return (await session.scalars(select(Station).order_by(Station.code))).all()


# Statuses of pickup orders that occupy (or will occupy) a shelf slot: the predicate of the orders'
# partial index ``ix_orders_station_holding`` (migration 0044), written into the statements' SQL so
# that a generic plan reads the station's holding orders from it, not every order it ever had.
HOLDING_STATUSES = ("pending_payment", "confirmed", "ready_for_pickup")
_HOLDING = (
    Order.delivery_method == in_statement(DeliveryMethod.station_pickup),
    Order.status.in_([in_statement(OrderStatus(status)) for status in HOLDING_STATUSES]),
)


async def pickup_orders_per_station(session: AsyncSession) -> dict[int, int]:
    """Pickup orders each station holds or expects (not yet collected, cancelled or expired)."""
    rows = await session.execute(select(Order.station_id, func.count()).where(*_HOLDING).group_by(Order.station_id))
    return {station_id: int(count) for station_id, count in rows if station_id is not None}


_STATION_LOAD = (
    select(func.count()).where(Order.station_id == Station.id, *_HOLDING).correlate(Station).scalar_subquery()
)
# Built once: every pickup order routes through it.
_OPEN_STATION_WITH_LOAD = select(Station, _STATION_LOAD).where(
    Station.code == bindparam("station_code"), Station.is_open.is_(True)
)


async def open_station_with_load(session: AsyncSession, code: str) -> tuple[Station, int] | None:
    """The open station of that code and its pickup orders held or expected, in one statement
    (the station's own orders by its index, not a count over every open order)."""
    row = (await session.execute(_OPEN_STATION_WITH_LOAD, {"station_code": code})).first()
    return None if row is None else (row[0], int(row[1]))


async def open_stations(session: AsyncSession) -> Sequence[Station]:
    return (await session.scalars(select(Station).where(Station.is_open.is_(True)).order_by(Station.code))).all()


async def latest_station_code_chosen(session: AsyncSession, customer_user_id: int, *, reason: str) -> str | None:
    """The open station of the customer's latest pickup order routed there for ``reason``."""
    return await session.scalar(
        select(Station.code)
        .join(Order, Order.station_id == Station.id)
        .where(
            Order.customer_user_id == customer_user_id,
            Order.delivery_method == DeliveryMethod.station_pickup,
            Order.station_reason == reason,
            Station.is_open.is_(True),
        )
        .order_by(Order.id.desc())
        .limit(1)
    )


async def parcel_with_station(
    session: AsyncSession, tracking_number: str
) -> tuple[Parcel, Station, DispatchRun | None] | None:
    """A parcel by its (normalised) tracking number with its station and run, for showing only."""
    row = (
        await session.execute(
            select(Parcel, Station, DispatchRun)
            .join(Station, Station.id == Parcel.station_id)
            .outerjoin(DispatchRun, DispatchRun.id == Parcel.run_id)
            .where(Parcel.tracking_number == tracking_number)
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


# ---- upstream consignments ----------------------------------------------------------------------

ConsignmentRow = tuple[Consignment, Lot, Variant, Supplier, Transfer | None]


async def consignment_rows(
    session: AsyncSession, *, ids: Sequence[int] | None = None, station_id: int | None = None, limit: int = 100
) -> list[ConsignmentRow]:
    """Consignments with their lot, SKU, grower and transfer, newest first."""
    stmt = (
        select(Consignment, Lot, Variant, Supplier, Transfer)
        .join(Lot, Lot.id == Consignment.lot_id)
        .join(Variant, Variant.id == Lot.variant_id)
        .join(Supplier, Supplier.id == Consignment.supplier_id)
        .outerjoin(Transfer, Transfer.id == Consignment.transfer_id)
        .order_by(Consignment.id.desc())
        .limit(limit)
    )
    if ids is not None:
        stmt = stmt.where(Consignment.id.in_(list(ids)))
    if station_id is not None:
        stmt = stmt.where(Consignment.station_id == station_id)
    rows = await session.execute(stmt)
    return [(c, lot, variant, supplier, transfer) for c, lot, variant, supplier, transfer in rows]


# ---- service cases ------------------------------------------------------------------------------


async def cases_of_station(session: AsyncSession, station_id: int, *, limit: int = 100) -> Sequence[ServiceCase]:
    return (
        await session.scalars(
            select(ServiceCase)
            .where(ServiceCase.station_id == station_id)
            .order_by(ServiceCase.created_at.desc(), ServiceCase.id.desc())
            .limit(limit)
        )
    ).all()


# ---- monthly report -----------------------------------------------------------------------------


def _within(column: InstrumentedAttribute[datetime | None], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


async def parcel_counts(session: AsyncSession, start: datetime, end: datetime) -> dict[int, tuple[int, int, int]]:
    """Per station: parcels scanned in (``arrived_at``), handed over and returned in [start, end)."""
    arrived = _within(Parcel.arrived_at, start, end)
    handed = _within(Parcel.handed_over_at, start, end)
    returned = _within(Parcel.returned_at, start, end)
    rows = await session.execute(
        select(
            Parcel.station_id,
            func.count().filter(arrived),
            func.count().filter(handed),
            func.count().filter(returned),
        )
        .where(or_(arrived, handed, returned))
        .group_by(Parcel.station_id)
    )
    return {station_id: (int(a), int(h), int(r)) for station_id, a, h, r in rows}


async def upstream_totals(session: AsyncSession, start: datetime, end: datetime) -> dict[int, tuple[Decimal, int]]:
    """Per station: kg and value (fen) of the consignments recorded in [start, end)."""
    rows = await session.execute(
        select(Consignment.station_id, func.sum(Consignment.weight_kg), func.sum(Consignment.value_minor))
        .where(Consignment.created_at >= start, Consignment.created_at < end)
        .group_by(Consignment.station_id)
    )
    return {station_id: (Decimal(kg), int(value)) for station_id, kg, value in rows}


async def case_counts(session: AsyncSession, start: datetime | None, end: datetime) -> dict[tuple[int, CaseKind], int]:
    """Per station and kind: service cases recorded before ``end`` (and from ``start`` when given)."""
    stmt = select(ServiceCase.station_id, ServiceCase.kind, func.count()).where(ServiceCase.created_at < end)
    if start is not None:
        stmt = stmt.where(ServiceCase.created_at >= start)
    rows = await session.execute(stmt.group_by(ServiceCase.station_id, ServiceCase.kind))
    return {(station_id, CaseKind(kind)): int(n) for station_id, kind, n in rows}


async def cash_refund_totals(session: AsyncSession, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """Per station: (count, fen) of the cash refunds it handed back in ``[start, end)``."""
    rows = await session.execute(
        select(StationCashRefund.station_id, func.count(), func.sum(StationCashRefund.amount_minor))
        .where(StationCashRefund.created_at >= start, StationCashRefund.created_at < end)
        .group_by(StationCashRefund.station_id)
    )
    return {station_id: (int(n), int(total)) for station_id, n, total in rows}


async def served_phones(session: AsyncSession, start: datetime | None, end: datetime) -> list[tuple[int, str]]:
    """(station, phone) pairs of the people a station served before ``end`` (from ``start`` when
    given), without duplicates as stored: the contact phone of each order handed over there, the
    grower's phone of each consignment, the person's phone of each service case."""
    handed = (
        select(Parcel.station_id.label("station_id"), Order.contact_phone.label("phone"))
        .join(Order, Order.id == Parcel.order_id)
        .where(Parcel.handed_over_at < end)
    )
    consigned = (
        select(Consignment.station_id.label("station_id"), Supplier.contact_phone.label("phone"))
        .join(Supplier, Supplier.id == Consignment.supplier_id)
        .where(Consignment.created_at < end, Supplier.contact_phone.is_not(None), Supplier.contact_phone != "")
    )
    cases = select(ServiceCase.station_id.label("station_id"), ServiceCase.person_phone.label("phone")).where(
        ServiceCase.created_at < end, ServiceCase.person_phone.is_not(None), ServiceCase.person_phone != ""
    )
    if start is not None:
        handed = handed.where(Parcel.handed_over_at >= start)
        consigned = consigned.where(Consignment.created_at >= start)
        cases = cases.where(ServiceCase.created_at >= start)
    everyone = union(handed, consigned, cases).subquery()
    rows = await session.execute(
        select(everyone.c.station_id, everyone.c.phone).order_by(literal_column("1"), literal_column("2"))
    )
    return [(station_id, phone) for station_id, phone in rows]


async def consignment_number_taken(session: AsyncSession, number: str) -> bool:
    return await session.scalar(select(Consignment.id).where(Consignment.number == number)) is not None
