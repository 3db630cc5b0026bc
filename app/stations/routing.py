"""Which village station a pickup order goes to, and why.

The customer's choice when that station is open and has room; else the station that serves the
customer's village; else the nearest open station with room (from the browser's location, or the
centre of the chosen township). "Room" compares the parcels a station is holding or expecting —
pickup orders routed to it and not yet collected, cancelled or expired — with its shelf capacity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.stations.models import Station

# Statuses of pickup orders that occupy (or will occupy) a shelf slot.
HOLDING_STATUSES = ("pending_payment", "confirmed", "ready_for_pickup")


@dataclass(frozen=True)
class Routed:
    station: Station
    reason: str


@dataclass(frozen=True)
class StationDistance:
    station: Station
    km: float | None
    load: int

    @property
    def has_room(self) -> bool:
        return self.load < self.station.shelf_capacity


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


async def station_loads(session: AsyncSession) -> dict[int, int]:
    from app.orders.models import DeliveryMethod, Order

    rows = await session.execute(
        select(Order.station_id, func.count())
        .where(Order.delivery_method == DeliveryMethod.station_pickup, Order.status.in_(HOLDING_STATUSES))
        .group_by(Order.station_id)
    )
    return {station_id: int(count) for station_id, count in rows if station_id is not None}


async def open_stations(session: AsyncSession) -> Sequence[Station]:
    return (await session.scalars(select(Station).where(Station.is_open.is_(True)).order_by(Station.code))).all()


def township_centre(stations: Sequence[Station], township: str) -> tuple[float, float] | None:
    points = [(float(s.latitude), float(s.longitude)) for s in stations if s.township == township]
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


async def nearest_first(
    session: AsyncSession,
    *,
    near: tuple[float, float] | None = None,
    township: str | None = None,
    village: str | None = None,
) -> list[StationDistance]:
    """Open stations, nearest first: from ``near`` when given, else from the township's centre;
    stations serving ``village`` come first."""
    stations = await open_stations(session)
    loads = await station_loads(session)
    origin = near or (township_centre(stations, township) if township else None)
    result = []
    for station in stations:
        km = haversine_km(origin[0], origin[1], float(station.latitude), float(station.longitude)) if origin else None
        result.append(StationDistance(station, km, loads.get(station.id, 0)))

    def key(item: StationDistance) -> tuple[int, float, str]:
        serves = bool(village) and (village in (item.station.villages_served or []) or item.station.village == village)
        return (0 if serves else 1, item.km if item.km is not None else 0.0, item.station.code)

    return sorted(result, key=key)


async def route(
    session: AsyncSession,
    *,
    chosen_code: str | None,
    township: str | None = None,
    village: str | None = None,
    near: tuple[Decimal, Decimal] | tuple[float, float] | None = None,
) -> Routed | None:
    """Pick the station for a pickup order and say why (the reason is stored on the order)."""
    candidates = await nearest_first(
        session, near=(float(near[0]), float(near[1])) if near else None, township=township, village=village
    )
    by_code = {c.station.code: c for c in candidates}
    chosen_note = ""
    if chosen_code:
        chosen = by_code.get(chosen_code)
        if chosen is not None and chosen.has_room:
            return Routed(chosen.station, "顾客选择的自提点")
        chosen_note = f"所选村站 {chosen_code} " + ("已满" if chosen is not None else "未开放或不存在") + "，"
    if village:
        for candidate in candidates:
            serves = village in (candidate.station.villages_served or []) or candidate.station.village == village
            if serves and candidate.has_room:
                return Routed(candidate.station, f"{chosen_note}改派服务{village}的村站")
    for candidate in candidates:
        if candidate.has_room:
            where = "离您最近" if near else (f"离{township}最近" if township else "默认")
            return Routed(candidate.station, f"{chosen_note}{where}的可用村站")
    return None
