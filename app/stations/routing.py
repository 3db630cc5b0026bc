"""Which village station a pickup order goes to, and why.

The customer always names the station (there is no default station: a missing or unknown code is
refused before this runs, or here with ``UnknownStation``). When the chosen station is open and has
room the order goes there; when its shelves are full the order is re-routed — to the station that
serves the customer's village, else the nearest open station with room (from the browser's
location, else the centre of the customer's township, else the chosen station itself) — and the
reason is stored on the order. "Room" compares the parcels a station is holding or expecting —
pickup orders routed to it and not yet collected, cancelled or expired — with its shelf capacity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.stations import errors, repository
from app.stations.models import Station


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
    """Parcels each station holds or expects: its pickup orders not yet collected, cancelled or expired."""
    return await repository.pickup_orders_per_station(session)


def township_centre(stations: Sequence[Station], township: str) -> tuple[float, float] | None:
    points = [(float(s.latitude), float(s.longitude)) for s in stations if s.township == township]
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


CHOSEN_REASON = "顾客选择的自提点"


async def remembered_station_code(session: AsyncSession, customer_user_id: int) -> str | None:
    """The open station of the customer's latest pickup order that went where they chose it to
    (a re-routed order says nothing about their choice): the signed-in customer's remembered
    station, on any device. The orders are the record of it, so nothing else is stored."""
    return await repository.latest_station_code_chosen(session, customer_user_id, reason=CHOSEN_REASON)


def _rank(
    stations: Sequence[Station],
    loads: dict[int, int],
    origin: tuple[float, float] | None,
    village: str | None,
) -> list[StationDistance]:
    result = []
    for station in stations:
        km = haversine_km(origin[0], origin[1], float(station.latitude), float(station.longitude)) if origin else None
        result.append(StationDistance(station, km, loads.get(station.id, 0)))

    def key(item: StationDistance) -> tuple[int, float, str]:
        return (0 if serves(item.station, village) else 1, item.km if item.km is not None else 0.0, item.station.code)

    return sorted(result, key=key)


def serves(station: Station, village: str | None) -> bool:
    return bool(village) and (village in (station.villages_served or []) or station.village == village)


async def nearest_first(
    session: AsyncSession,
    *,
    near: tuple[float, float] | None = None,
    township: str | None = None,
    village: str | None = None,
) -> list[StationDistance]:
    """Open stations, nearest first: from ``near`` when given, else from the township's centre;
    stations serving ``village`` come first."""
    stations = await repository.open_stations(session)
    origin = near or (township_centre(stations, township) if township else None)
    return _rank(stations, await station_loads(session), origin, village)


async def route(
    session: AsyncSession,
    *,
    chosen_code: str,
    township: str | None = None,
    village: str | None = None,
    near: tuple[Decimal, Decimal] | tuple[float, float] | None = None,
) -> Routed | None:
    """Route to the chosen station, or re-route when it is full, and say why (the reason is
    stored on the order). None: no open station has room. Raises ``UnknownStation`` when the
    code is not an open station — never a silent default."""
    found = await repository.open_station_with_load(session, chosen_code)
    if found is None:
        raise errors.UnknownStation(
            f"所选自提村站 {chosen_code} 不存在或未开放，请重新选择",
            detail={"field": "delivery.station_code", "station_code": chosen_code},
        )
    chosen, load = found
    if load < chosen.shelf_capacity:
        return Routed(chosen, CHOSEN_REASON)
    # Full (rare): only now read every open station and its load to re-route.
    stations = await repository.open_stations(session)
    loads = await station_loads(session)
    point = (float(near[0]), float(near[1])) if near else None
    centre = township_centre(stations, township) if township and not point else None
    origin = point or centre or (float(chosen.latitude), float(chosen.longitude))
    candidates = _rank(stations, loads, origin, village)
    note = f"所选村站 {chosen_code} 已满，"
    if village:
        for candidate in candidates:
            if serves(candidate.station, village) and candidate.has_room:
                return Routed(candidate.station, f"{note}改派服务{village}的村站")
    where = "离您最近" if point else (f"离{township}最近" if centre else "离所选村站最近")
    for candidate in candidates:
        if candidate.has_room:
            return Routed(candidate.station, f"{note}改派{where}的可用村站")
    return None
