"""SQL of the ops console's station and route pages (the rules are in ``admin_service``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.kit.models import in_statement
from app.stations.models import DeliveryRoute, Parcel, ParcelStatus, RouteStop, Station


async def list_stations(session: AsyncSession) -> Sequence[Station]:
    return (await session.scalars(select(Station).order_by(Station.code))).all()


async def station_by_code(session: AsyncSession, code: str, *, for_update: bool = False) -> Station | None:
    stmt = select(Station).where(Station.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def stations_by_codes(session: AsyncSession, codes: Sequence[str]) -> dict[str, Station]:
    if not codes:
        return {}
    return {s.code: s for s in await session.scalars(select(Station).where(Station.code.in_(set(codes))))}


async def operators_by_station(session: AsyncSession) -> dict[int, list[User]]:
    """Users attached to a station (its operators), by station id."""
    result: dict[int, list[User]] = defaultdict(list)
    for user in await session.scalars(select(User).where(User.station_id.is_not(None)).order_by(User.username)):
        if user.station_id is not None:
            result[user.station_id].append(user)
    return result


async def parcels_on_shelf(session: AsyncSession, station_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Parcel)
            .where(Parcel.station_id == station_id, Parcel.status == in_statement(ParcelStatus.at_station))
        )
        or 0
    )


async def shelf_counts(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(Parcel.station_id, func.count())
        .where(Parcel.status == in_statement(ParcelStatus.at_station))
        .group_by(Parcel.station_id)
    )
    return {station_id: int(n) for station_id, n in rows}


async def stop_of_stations(session: AsyncSession) -> dict[int, tuple[str, int]]:
    """station id → (route code, position) for every station on a route."""
    rows = await session.execute(
        select(RouteStop.station_id, DeliveryRoute.code, RouteStop.position).join(
            DeliveryRoute, DeliveryRoute.id == RouteStop.route_id
        )
    )
    return {station_id: (code, position) for station_id, code, position in rows}


async def list_routes(session: AsyncSession) -> list[tuple[DeliveryRoute, list[Station]]]:
    """Every route with its stations in stop order."""
    routes = list(await session.scalars(select(DeliveryRoute).order_by(DeliveryRoute.code)))
    rows = await session.execute(
        select(RouteStop.route_id, Station)
        .join(Station, Station.id == RouteStop.station_id)
        .order_by(RouteStop.route_id, RouteStop.position)
    )
    stations: dict[int, list[Station]] = defaultdict(list)
    for route_id, station in rows:
        stations[route_id].append(station)
    return [(route, stations.get(route.id, [])) for route in routes]


async def route_by_code(session: AsyncSession, code: str, *, for_update: bool = False) -> DeliveryRoute | None:
    stmt = select(DeliveryRoute).where(DeliveryRoute.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def stops_on_other_routes(
    session: AsyncSession, station_ids: Sequence[int], route_id: int
) -> list[tuple[str, str]]:
    """(station code, route code) for each of ``station_ids`` already on a route other than this one."""
    if not station_ids:
        return []
    rows = await session.execute(
        select(Station.code, DeliveryRoute.code)
        .join(RouteStop, RouteStop.station_id == Station.id)
        .join(DeliveryRoute, DeliveryRoute.id == RouteStop.route_id)
        .where(RouteStop.station_id.in_(set(station_ids)), RouteStop.route_id != route_id)
        .order_by(Station.code)
    )
    return [(station, route) for station, route in rows]


async def replace_stops(session: AsyncSession, route_id: int, station_ids: Sequence[int]) -> None:
    """The route's stops become ``station_ids`` in this order (positions 1..n).

    The old stops are deleted first: ``(route_id, position)`` is unique and not deferrable, so
    renumbering in place would collide with itself.
    """
    await session.execute(delete(RouteStop).where(RouteStop.route_id == route_id))
    if station_ids:
        await session.execute(
            pg_insert(RouteStop).values(
                [{"route_id": route_id, "station_id": sid, "position": i} for i, sid in enumerate(station_ids, 1)]
            )
        )


async def insert_route(session: AsyncSession, code: str, name: str) -> DeliveryRoute | None:
    """A new route, or None when the code is taken (also by a concurrent insert)."""
    new_id = await session.scalar(
        pg_insert(DeliveryRoute)
        .values(code=code, name=name, is_active=True)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(DeliveryRoute.id)
    )
    return None if new_id is None else await session.get(DeliveryRoute, new_id)
