"""Ops console: village stations (list with the route sand table, edit form) and delivery routes.

Admin only. Thin: each page reads through ``app.stations.admin_queries`` / ``map`` and each form
post is one ``admin_service`` call. A refused form is rolled back and shown again, with what was
typed and the reasons in Chinese, under a 4xx status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from app.accounts.access import AdminUser
from app.db import DbSession
from app.kit.errors import AppError
from app.kit.validation import field_name, zh_message
from app.stations import admin_queries, admin_service, errors
from app.stations.map import network_svg
from app.stations.models import Station
from app.web import forms
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

FIELD_LABELS = {
    "name": "名称",
    "address": "地址",
    "villages_served": "服务村组",
    "opening_hours": "营业时间",
    "shelf_capacity": "货架容量",
    "retention_days": "滞留天数",
    "shelves": "货架数",
    "layers_per_shelf": "每架层数",
    "is_demonstration": "示范站",
    "is_open": "营业状态",
    "station_codes": "村站编号",
    "code": "路线编号",
}
STATION_FIELDS = ("name", "address", "opening_hours", "shelf_capacity", "retention_days", "shelves", "layers_per_shelf")


def _errors(exc: ValidationError | AppError) -> list[str]:
    if isinstance(exc, ValidationError):
        lines = []
        for e in exc.errors():
            name = field_name(e)
            head = name.split(".")[0]
            label = FIELD_LABELS.get(head, head)
            if head == "station_codes" and isinstance(e.get("input"), str):
                label = f"{label} {e['input']}"
            lines.append(f"{label}：{zh_message(e)}")
        return lines
    return [exc.text]


def _back(url: str, notice: str) -> Response:
    return RedirectResponse(f"{url}?notice={quote(notice)}", status_code=303)


# ---- stations -------------------------------------------------------------------------------------


@router.get("/stations")
async def stations_page(request: Request, session: DbSession, _: AdminUser, notice: str = "") -> Response:
    stations = await admin_queries.list_stations(session)
    return render(
        request,
        "admin/stations.html",
        {
            "stations": stations,
            "operators": await admin_queries.operators_by_station(session),
            "stops": await admin_queries.stop_of_stations(session),
            "on_shelf": await admin_queries.shelf_counts(session),
            # Built from escaped text by app.stations.map, so it can go into the page as it is.
            "map_svg": Markup(await network_svg(session)),  # noqa: S704  # nosec B704
            "notice": notice,
        },
    )


async def _station_page(
    request: Request,
    session: DbSession,
    station: Station,
    *,
    values: dict[str, Any] | None = None,
    errors_: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    if values is None:
        values = {name: getattr(station, name) for name in STATION_FIELDS}
        values.update(
            villages_served="、".join(station.villages_served or []),
            is_demonstration=station.is_demonstration,
            is_open=station.is_open,
        )
    operators = (await admin_queries.operators_by_station(session)).get(station.id, [])
    stop = (await admin_queries.stop_of_stations(session)).get(station.id)
    return render(
        request,
        "admin/station_edit.html",
        {
            "station": station,
            "values": values,
            "errors": errors_ or [],
            "notice": notice,
            "operators": operators,
            "stop": stop,
            "on_shelf": await admin_queries.parcels_on_shelf(session, station.id),
        },
        status_code=status_code,
    )


async def _station(session: DbSession, code: str) -> Station:
    station = await admin_queries.station_by_code(session, code)
    if station is None:
        raise errors.StationNotFound(detail={"station": code})
    return station


@router.get("/stations/{code}")
async def station_page(request: Request, code: str, session: DbSession, _: AdminUser, notice: str = "") -> Response:
    return await _station_page(request, session, await _station(session, code), notice=notice)


@router.post("/stations/{code}", dependencies=[CsrfProtected])
async def update_station(request: Request, code: str, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values: dict[str, Any] = {name: forms.text(form, name) for name in (*STATION_FIELDS, "villages_served")}
    values["is_demonstration"] = form.get("is_demonstration") == "on"
    values["is_open"] = form.get("is_open") == "on"
    try:
        edit = admin_service.StationEdit.model_validate(values)
        await admin_service.update_station(session, code, edit)
    except (ValidationError, AppError) as exc:
        if isinstance(exc, errors.StationNotFound):
            raise
        await session.rollback()
        status = exc.status_code if isinstance(exc, AppError) else 422
        station = await _station(session, code)
        return await _station_page(request, session, station, values=values, errors_=_errors(exc), status_code=status)
    return _back(f"/admin/stations/{code}", "村站信息已保存")


# ---- routes ---------------------------------------------------------------------------------------


async def _routes_page(
    request: Request,
    session: DbSession,
    *,
    notice: str = "",
    errors_: list[str] | None = None,
    edited: str | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    routes = await admin_queries.list_routes(session)
    on_route = {s.id for _, stations in routes for s in stations}
    unrouted = [s for s in await admin_queries.list_stations(session) if s.id not in on_route]
    return render(
        request,
        "admin/routes.html",
        {
            "routes": routes,
            "unrouted": unrouted,
            "notice": notice,
            "errors": errors_ or [],
            "edited": edited,
            "typed": typed or {},
        },
        status_code=status_code,
    )


@router.get("/routes")
async def routes_page(request: Request, session: DbSession, _: AdminUser, notice: str = "") -> Response:
    return await _routes_page(request, session, notice=notice)


@router.post("/routes", dependencies=[CsrfProtected])
async def create_route(request: Request, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    typed = {
        "code": forms.text(form, "code").upper(),
        "name": forms.text(form, "name", strip=False),
    }
    try:
        route = await admin_service.create_route(session, admin_service.RouteNew.model_validate(typed))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        status = exc.status_code if isinstance(exc, AppError) else 422
        return await _routes_page(request, session, errors_=_errors(exc), edited="new", typed=typed, status_code=status)
    return _back("/admin/routes", f"路线 {route.code} 已创建，请在下方排入村站")


@router.post("/routes/{code}", dependencies=[CsrfProtected])
async def update_route(request: Request, code: str, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    typed = {"name": forms.text(form, "name", strip=False), "stations": forms.text(form, "stations", strip=False)}
    values = {
        "name": typed["name"],
        "is_active": form.get("is_active") == "on",
        "station_codes": admin_service.parse_codes(typed["stations"]),
    }
    try:
        route = await admin_service.set_route(session, code, admin_service.RouteEdit.model_validate(values))
    except (ValidationError, AppError) as exc:
        if isinstance(exc, errors.RouteNotFound):
            raise
        await session.rollback()
        status = exc.status_code if isinstance(exc, AppError) else 422
        return await _routes_page(request, session, errors_=_errors(exc), edited=code, typed=typed, status_code=status)
    return _back("/admin/routes", f"路线 {route.code} 已保存")
