"""SQL of the run board (``app.stations.run_board``): orders waiting for a run, and a day's runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Order
from app.stations.models import DeliveryRoute, DispatchRun, Parcel, Station
from app.stations.parcel_queries import awaiting_dispatch


async def orders_awaiting_dispatch(session: AsyncSession) -> Sequence[tuple[Order, Station]]:
    """Every order a run would pack now, with its station, oldest first."""
    rows = await session.execute(
        select(Order, Station)
        .join(Station, Station.id == Order.station_id)
        .where(awaiting_dispatch())
        .order_by(Order.id)
    )
    return [(order, station) for order, station in rows]


async def runs_on(session: AsyncSession, day: date) -> Sequence[tuple[DispatchRun, DeliveryRoute]]:
    rows = await session.execute(
        select(DispatchRun, DeliveryRoute)
        .join(DeliveryRoute, DeliveryRoute.id == DispatchRun.route_id)
        .where(DispatchRun.run_date == day)
        .order_by(DeliveryRoute.code)
    )
    return [(run, route) for run, route in rows]


async def parcels_of_runs(session: AsyncSession, run_ids: Sequence[int]) -> Sequence[tuple[Parcel, Order]]:
    if not run_ids:
        return []
    rows = await session.execute(
        select(Parcel, Order).join(Order, Order.id == Parcel.order_id).where(Parcel.run_id.in_(list(run_ids)))
    )
    return [(parcel, order) for parcel, order in rows]


async def parcels_in_run(session: AsyncSession, *, route_code: str, day: date) -> int:
    """How many parcels the route's run of ``day`` holds (0 when there is no run yet)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Parcel)
        .join(DispatchRun, DispatchRun.id == Parcel.run_id)
        .join(DeliveryRoute, DeliveryRoute.id == DispatchRun.route_id)
        .where(DeliveryRoute.code == route_code, DispatchRun.run_date == day)
    )
    return int(count or 0)
