"""SQL behind the parcel labels, the dispatch manifest and the network map (read-only).

Kept apart from ``app.stations.repository`` (the parcel flows' SQL) so the printable documents can
change without touching the scan-in / handover queries. Every query loads what it needs
explicitly: no lazy loading in async code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from app.orders.models import Order, OrderLine
from app.stations.models import DeliveryRoute, DispatchRun, Parcel, RouteStop, Station


@dataclass(frozen=True)
class ParcelRow:
    """One parcel with everything printed about it."""

    parcel: Parcel
    order: Order
    station: Station
    route: DeliveryRoute | None  # the parcel's route, else the route its station is on
    run: DispatchRun | None
    stop_position: int | None  # the station's place on that route (1 = first stop)
    stop_count: int  # stops on that route


async def parcels_by_tracking(session: AsyncSession, tracking_numbers: Sequence[str]) -> list[Parcel]:
    if not tracking_numbers:
        return []
    found = await session.scalars(select(Parcel).where(Parcel.tracking_number.in_(set(tracking_numbers))))
    by_number = {p.tracking_number: p for p in found}
    # The caller's order: labels come off the printer in the order they were asked for.
    return [by_number[n] for n in dict.fromkeys(tracking_numbers) if n in by_number]


async def run_by_number(session: AsyncSession, number: str) -> DispatchRun | None:
    return await session.scalar(select(DispatchRun).where(DispatchRun.number == number))


async def route_with_stops(session: AsyncSession, route_id: int) -> DeliveryRoute | None:
    return await session.scalar(
        select(DeliveryRoute).where(DeliveryRoute.id == route_id).options(selectinload(DeliveryRoute.stops))
    )


async def parcels_of_run(session: AsyncSession, run_id: int) -> list[Parcel]:
    return list(await session.scalars(select(Parcel).where(Parcel.run_id == run_id).order_by(Parcel.id)))


async def parcel_rows(session: AsyncSession, parcels: Sequence[Parcel]) -> list[ParcelRow]:
    """Orders, stations, routes, runs and stop positions of ``parcels``, in four queries."""
    if not parcels:
        return []
    orders = {o.id: o for o in await session.scalars(select(Order).where(Order.id.in_({p.order_id for p in parcels})))}
    stations = {
        s.id: s for s in await session.scalars(select(Station).where(Station.id.in_({p.station_id for p in parcels})))
    }
    run_ids = {p.run_id for p in parcels if p.run_id is not None}
    runs = (
        {r.id: r for r in await session.scalars(select(DispatchRun).where(DispatchRun.id.in_(run_ids)))}
        if run_ids
        else {}
    )
    # Every stop of every route that serves one of these stations (the station's own route), and
    # of every route named on a parcel or its run.
    stop_rows = await session.execute(
        select(RouteStop.station_id, RouteStop.route_id).where(RouteStop.station_id.in_(stations))
    )
    station_route = {station_id: route_id for station_id, route_id in stop_rows}
    route_ids = (
        set(station_route.values())
        | {p.route_id for p in parcels if p.route_id is not None}
        | {r.route_id for r in runs.values()}
    )
    routes: dict[int, DeliveryRoute] = {}
    if route_ids:
        routes = {
            r.id: r
            for r in await session.scalars(
                select(DeliveryRoute).where(DeliveryRoute.id.in_(route_ids)).options(selectinload(DeliveryRoute.stops))
            )
        }
    rows = []
    for parcel in parcels:
        run = runs.get(parcel.run_id) if parcel.run_id is not None else None
        route_id = parcel.route_id or (run.route_id if run else None) or station_route.get(parcel.station_id)
        route = routes.get(route_id) if route_id is not None else None
        position = None
        if route is not None:
            position = next((s.position for s in route.stops if s.station_id == parcel.station_id), None)
        rows.append(
            ParcelRow(
                parcel=parcel,
                order=orders[parcel.order_id],
                station=stations[parcel.station_id],
                route=route,
                run=run,
                stop_position=position,
                stop_count=len(route.stops) if route is not None else 0,
            )
        )
    return rows


async def lines_by_order(session: AsyncSession, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
    result: dict[int, list[OrderLine]] = defaultdict(list)
    if not order_ids:
        return result
    for line in await session.scalars(
        select(OrderLine).where(OrderLine.order_id.in_(set(order_ids))).order_by(OrderLine.order_id, OrderLine.id)
    ):
        result[line.order_id].append(line)
    return result


async def stations_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Station]:
    if not ids:
        return {}
    return {s.id: s for s in await session.scalars(select(Station).where(Station.id.in_(set(ids))))}


# ---- the network map ------------------------------------------------------------------------------


async def all_stations(session: AsyncSession) -> Sequence[Station]:
    return (await session.scalars(select(Station).order_by(Station.code))).all()


async def routes_with_station_codes(session: AsyncSession) -> list[tuple[DeliveryRoute, list[str]]]:
    """Every route (by code) with its stops' station codes in stop order."""
    routes = list(await session.scalars(select(DeliveryRoute).order_by(DeliveryRoute.code)))
    stop_station = aliased(Station)
    rows = await session.execute(
        select(RouteStop.route_id, stop_station.code)
        .join(stop_station, stop_station.id == RouteStop.station_id)
        .order_by(RouteStop.route_id, RouteStop.position)
    )
    codes: dict[int, list[str]] = defaultdict(list)
    for route_id, code in rows:
        codes[route_id].append(code)
    return [(route, codes.get(route.id, [])) for route in routes]
