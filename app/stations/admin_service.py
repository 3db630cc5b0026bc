"""Rules for editing stations and delivery routes from the ops console.

A station's edit is validated whole before anything is written (bad input changes nothing), and
its shelf capacity may not drop below the parcels on its shelf right now — the row is locked
``FOR UPDATE`` while that is checked, so a scan-in that takes the row lock to give out a shelf
slot cannot slip between the count and the write.

A station belongs to at most one route (``route_stops.station_id`` is unique). Editing a route
locks the route row, refuses stations that are on another route (naming them and their route),
then replaces the stops in the order given. Two admins putting one station on two routes at the
same moment both pass the check; the unique constraint stops the second, whose insert runs in a
savepoint and is turned into the same clear error.

Services flush; the request commits.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import Conflict, InvalidInput
from app.stations import admin_queries, errors
from app.stations.models import DeliveryRoute, Station

MAX_VILLAGES = 30
MAX_STOPS = 60
CODE_PATTERN = r"[A-Z0-9][A-Z0-9-]{1,19}"
_SPLIT = re.compile(r"[\s,，、;；]+")
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*[-–—~至]\s*(\d{1,2}):(\d{2})")


class StationOnOtherRoute(Conflict):
    code = "station_on_other_route"
    message = "村站已在其他路线上，一个村站只能属于一条路线"


class UnknownStations(InvalidInput):
    code = "unknown_stations"
    message = "找不到这些村站编号"


class DuplicateStops(InvalidInput):
    code = "duplicate_stops"
    message = "同一村站在路线中出现了多次"


class CapacityBelowLoad(Conflict):
    code = "capacity_below_load"
    message = "货架容量不能小于当前在架包裹数"


class RouteCodeTaken(Conflict):
    code = "route_code_taken"
    message = "该路线编号已存在"


def split_list(text: str) -> list[str]:
    """Items typed one per line or separated by commas / 顿号, trimmed, blanks and repeats dropped."""
    return list(dict.fromkeys(part for part in _SPLIT.split(text or "") if part))


def _hours(value: str) -> str:
    """``8:00-12:00，14:00-20:00`` → ``08:00-12:00, 14:00-20:00``; each range a valid, forward span."""
    text = (value or "").strip()
    spans = []
    position = 0
    for match in _HOURS.finditer(text):
        if text[position : match.start()].strip(" ,，、;；"):
            raise ValueError("营业时间格式应为 08:00-20:00，多个时段用逗号分隔")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError("营业时间中的时刻无效")
        if (h2, m2) <= (h1, m1):
            raise ValueError("营业时间的结束须晚于开始")
        spans.append(f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}")
        position = match.end()
    if not spans or text[position:].strip(" ,，、;；"):
        raise ValueError("营业时间格式应为 08:00-20:00，多个时段用逗号分隔")
    return ", ".join(spans)


def _villages(value: object) -> object:
    return split_list(value) if isinstance(value, str) else value


class StationEdit(BaseModel):
    """What the console may change on a station (code, township, village and coordinates are
    fixed: they identify it and place it on the map)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=2, max_length=100)
    address: str = Field(default="", max_length=200)
    villages_served: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=50)]],
        BeforeValidator(_villages),
        Field(min_length=1, max_length=MAX_VILLAGES),
    ]
    opening_hours: str = Field(max_length=100)
    shelf_capacity: int = Field(ge=1, le=5000)
    retention_days: int = Field(ge=1, le=30)
    shelves: int = Field(ge=1, le=50)
    layers_per_shelf: int = Field(ge=1, le=20)
    is_demonstration: bool = False
    is_open: bool = True

    @field_validator("opening_hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        return _hours(value)


async def update_station(session: AsyncSession, code: str, edit: StationEdit) -> Station:
    station = await admin_queries.station_by_code(session, code, for_update=True)
    if station is None:
        raise errors.StationNotFound(detail={"station": code})
    held = await admin_queries.parcels_on_shelf(session, station.id)
    if edit.shelf_capacity < held:
        raise CapacityBelowLoad(
            f"货架容量不能小于当前在架包裹数（{held} 件）",
            detail={"station": code, "on_shelf": held, "shelf_capacity": edit.shelf_capacity},
        )
    villages = list(edit.villages_served)
    if station.village not in villages:
        # The station's own village is always served; keep it first.
        villages.insert(0, station.village)
    for name, value in edit.model_dump().items():
        setattr(station, name, villages if name == "villages_served" else value)
    await session.flush()
    return station


class RouteEdit(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=2, max_length=100)
    is_active: bool = True
    station_codes: list[Annotated[str, Field(pattern=rf"^{CODE_PATTERN}$")]] = Field(max_length=MAX_STOPS)


class RouteNew(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    code: str = Field(pattern=rf"^{CODE_PATTERN}$")
    name: str = Field(min_length=2, max_length=100)


def parse_codes(text: str) -> list[str]:
    """Station codes typed one per line (commas work too), upper-cased, order kept, repeats kept
    (a repeat is refused by :func:`set_route`, not silently dropped)."""
    return [part.upper() for part in _SPLIT.split(text or "") if part]


async def set_route(session: AsyncSession, route_code: str, edit: RouteEdit) -> DeliveryRoute:
    """Rename / (de)activate a route and make its stops exactly ``edit.station_codes``, in order."""
    route = await admin_queries.route_by_code(session, route_code, for_update=True)
    if route is None:
        raise errors.RouteNotFound(detail={"route": route_code})
    codes = edit.station_codes
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise DuplicateStops(f"同一村站在路线中出现了多次：{'、'.join(repeated)}", detail={"stations": repeated})
    stations = await admin_queries.stations_by_codes(session, codes)
    unknown = [c for c in codes if c not in stations]
    if unknown:
        raise UnknownStations(f"找不到这些村站编号：{'、'.join(unknown)}", detail={"stations": unknown})
    ids = [stations[c].id for c in codes]
    taken = await admin_queries.stops_on_other_routes(session, ids, route.id)
    if taken:
        raise _on_other_route(taken)
    try:
        async with session.begin_nested():
            await admin_queries.replace_stops(session, route.id, ids)
    except IntegrityError as exc:
        # Lost a race with another route edit that took one of these stations first.
        taken = await admin_queries.stops_on_other_routes(session, ids, route.id)
        raise _on_other_route(taken) from exc
    route.name = edit.name
    route.is_active = edit.is_active
    await session.flush()
    return route


def _on_other_route(taken: list[tuple[str, str]]) -> StationOnOtherRoute:
    named = "、".join(f"{station}（{route}）" for station, route in taken)
    return StationOnOtherRoute(
        f"这些村站已在其他路线上，请先从原路线移除：{named}" if named else None,
        detail={"stations": [{"station": s, "route": r} for s, r in taken]},
    )


async def create_route(session: AsyncSession, new: RouteNew) -> DeliveryRoute:
    route = await admin_queries.insert_route(session, new.code, new.name)
    if route is None:
        raise RouteCodeTaken(detail={"route": new.code})
    return route
