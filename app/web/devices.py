"""PDA enrolment pages: a station's devices with their last use, a one-time code (and its QR) for
the next one, revoking a lost one. See ``app.accounts.devices`` for the rules.

Two doors onto the same page: the ops console (/admin/stations/{code}/devices, admins, any
station, choosing the operator account when a station has several) and the station console
(/station/devices, the operator, its own station and its own account). The code is put into the
page that answers the post — never into a redirect, a log or the database — and shown that once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from app.accounts import devices
from app.accounts.access import AdminUser, Principal, StationOperator
from app.accounts.models import TokenKind
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError, InvalidInput
from app.kit.qr import qr_svg
from app.stations import admin_queries
from app.stations.consignments import station_or_404
from app.stations.errors import StationNotFound
from app.stations.models import Station
from app.web.admin import back, form_errors
from app.web.station import _station as own_station
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)


async def _admin_station(session: DbSession, code: str) -> Station:
    station = await admin_queries.station_by_code(session, code)
    if station is None:
        raise StationNotFound(detail={"station": code})
    return station


def _base(principal: Principal, station: Station, what: str = "devices") -> str:
    """The URL of the page (``devices``) or of its codes (``enrolments``) behind this door."""
    return f"/station/{what}" if principal.role == "station_operator" else f"/admin/stations/{station.code}/{what}"


async def _render(
    request: Request,
    session: DbSession,
    principal: Principal,
    station: Station,
    *,
    issued: devices.IssuedEnrolment | None = None,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    found = await devices.station_devices(session, station.id)
    operator_view = principal.role == "station_operator"
    context: dict[str, Any] = {
        "station": station,
        "found": found,
        "base": _base(principal, station),
        "enrolments_base": _base(principal, station, "enrolments"),
        "operator_view": operator_view,
        "issued": issued,
        "issued_qr": _qr(request, issued) if issued else None,
        "now": clock.now(),
        "ttl_minutes": request.app.state.settings.device_enrolment_ttl_minutes,
        "notice": notice,
        "errors": errors or [],
    }
    template = "station/devices.html" if operator_view else "admin/station_devices.html"
    return render(request, template, context, status_code=status_code)


def _qr(request: Request, issued: devices.IssuedEnrolment) -> Markup:
    url = issued.qr(request.app.state.settings.public_base_url)
    return qr_svg(url, label=f"PDA 登记码 {issued.display}", css_class="qr-svg")


def _user_id(raw: object) -> int | None:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput("站长账号：请从列表中选择")
    return int(text)


async def _enrol(request: Request, session: DbSession, principal: Principal, station: Station) -> Response:
    form = await request.form()
    station_id = station.id
    try:
        issued = await devices.create_enrolment(
            session,
            principal,
            kind=TokenKind.station_pda,
            user_id=_user_id(form.get("user_id")) if principal.role == "admin" else None,
            station_id=station_id,
        )
    except AppError as exc:
        await session.rollback()
        # The rollback expired the station row: read it again before the page uses it.
        station = await station_or_404(session, station_id)
        return await _render(request, session, principal, station, errors=form_errors(exc), status_code=exc.status_code)
    return await _render(request, session, principal, station, issued=issued)


async def _revoke(session: DbSession, principal: Principal, station: Station, token_id: int) -> Response:
    record = await devices.revoke_device(session, principal, token_id, station_id=station.id)
    return back(_base(principal, station), f"设备 {record.label or record.prefix} 已吊销，下次请求即被拒绝")


async def _cancel(session: DbSession, principal: Principal, station: Station, enrolment_id: int) -> Response:
    await devices.cancel_enrolment(session, principal, enrolment_id, station_id=station.id)
    return back(_base(principal, station), "登记码已作废")


# ---- ops console --------------------------------------------------------------------------------


@router.get("/admin/stations/{code}/devices")
async def admin_devices_page(
    request: Request,
    code: str,
    session: DbSession,
    principal: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _render(request, session, principal, await _admin_station(session, code), notice=notice)


@router.post("/admin/stations/{code}/devices/enrol", dependencies=[CsrfProtected])
async def admin_enrol(request: Request, code: str, session: DbSession, principal: AdminUser) -> Response:
    return await _enrol(request, session, principal, await _admin_station(session, code))


@router.post("/admin/stations/{code}/devices/{token_id}/revoke", dependencies=[CsrfProtected])
async def admin_revoke(code: str, token_id: int, session: DbSession, principal: AdminUser) -> Response:
    return await _revoke(session, principal, await _admin_station(session, code), token_id)


@router.post("/admin/stations/{code}/enrolments/{enrolment_id}/cancel", dependencies=[CsrfProtected])
async def admin_cancel(code: str, enrolment_id: int, session: DbSession, principal: AdminUser) -> Response:
    return await _cancel(session, principal, await _admin_station(session, code), enrolment_id)


# ---- station console ----------------------------------------------------------------------------


@router.get("/station/devices")
async def station_devices_page(
    request: Request,
    session: DbSession,
    principal: StationOperator,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _render(request, session, principal, await own_station(session, principal), notice=notice)


@router.post("/station/devices/enrol", dependencies=[CsrfProtected])
async def station_enrol(request: Request, session: DbSession, principal: StationOperator) -> Response:
    return await _enrol(request, session, principal, await own_station(session, principal))


@router.post("/station/devices/{token_id}/revoke", dependencies=[CsrfProtected])
async def station_revoke(token_id: int, session: DbSession, principal: StationOperator) -> Response:
    return await _revoke(session, principal, await own_station(session, principal), token_id)


@router.post("/station/enrolments/{enrolment_id}/cancel", dependencies=[CsrfProtected])
async def station_cancel(enrolment_id: int, session: DbSession, principal: StationOperator) -> Response:
    return await _cancel(session, principal, await own_station(session, principal), enrolment_id)
