"""Ops console: PRD routes (/admin/wholesale/routes) and the trip board (/admin/wholesale/trips).

Warehouse staff and admins. Thin: each page reads through ``app.wholesale.trips`` and each post is
one service call, run once per rendered form (its idempotency key). A refused route form is rolled
back and shown again with what was typed and each message next to its field; a refused status
change shows the board again with the reason (a stale page: someone else moved the trip).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.accounts.access import WarehouseUser
from app.db import DbSession
from app.kit import clock
from app.kit.validation import field_name, zh_message
from app.web import forms
from app.web.errors import FormError
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render
from app.wholesale import ordering, trips
from app.wholesale.trip_models import TripStatus, WholesaleRoute, WholesaleTrip
from app.wholesale.trip_schemas import RouteInput

router = APIRouter(prefix="/admin/wholesale", include_in_schema=False)

FIELD_LABELS = {
    "code": "线路编号",
    "name": "线路名称",
    "cities": "到达城市",
    "weekdays": "发车日",
    "cutoff_time": "截单时间",
    "cutoff_days_before": "截单日",
    "capacity_kg": "载重",
    "capacity_cases": "箱数上限",
    "cold_chain": "冷链",
    "is_active": "启用",
}
CUTOFF_DAYS = ((0, "发车当天"), (1, "发车前一天"), (2, "发车前两天"), (3, "发车前三天"))
# The board's buttons: which transition each one asks for, with its words.
Step = Callable[..., Awaitable[WholesaleTrip]]
ACTIONS: dict[str, tuple[str, Step]] = {
    "loading": ("开始装车", trips.start_loading),
    "dispatched": ("发车", trips.dispatch),
    "cancelled": ("取消车次", trips.cancel),
}


def _action(raw: str) -> tuple[str, Step]:
    if raw not in ACTIONS:
        raise ValueError(raw)
    return ACTIONS[raw]


# ---- routes -------------------------------------------------------------------------------------


def _typed(form: FormData) -> dict[str, Any]:
    """What the route form sent, as typed (shown again on a refusal)."""
    return {
        "code": forms.text(form, "code", 20).upper(),
        "name": forms.text(form, "name", 100),
        "cities": forms.text(form, "cities", 300),
        "weekdays": [w for w in forms.texts(form, "weekdays") if w],
        "cutoff_time": forms.text(form, "cutoff_time", 8),
        "cutoff_days_before": forms.text(form, "cutoff_days_before", 2),
        "capacity_kg": forms.text(form, "capacity_kg", 20),
        "capacity_cases": forms.text(form, "capacity_cases", 10),
        "cold_chain": form.get("cold_chain") == "on",
        "is_active": form.get("is_active") == "on",
    }


def _values_of(route: WholesaleRoute) -> dict[str, Any]:
    return {
        "code": route.code,
        "name": route.name,
        "cities": "、".join(route.cities),
        "weekdays": [str(d) for d in route.weekdays],
        "cutoff_time": route.cutoff_time.strftime("%H:%M"),
        "cutoff_days_before": str(route.cutoff_days_before),
        "capacity_kg": f"{route.capacity_kg.normalize():f}",
        "capacity_cases": str(route.capacity_cases),
        "cold_chain": route.cold_chain,
        "is_active": route.is_active,
    }


BLANK_ROUTE: dict[str, Any] = {
    "code": "",
    "name": "",
    "cities": "",
    "weekdays": [],
    "cutoff_time": "18:00",
    "cutoff_days_before": "1",
    "capacity_kg": "",
    "capacity_cases": "",
    "cold_chain": False,
    "is_active": True,
}


def field_errors(exc: forms.Refusal) -> tuple[dict[str, str], list[str]]:
    """Messages by form field (shown next to it), and the ones that belong to no field."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            name = field_name(error).split(".")[0]
            if name in FIELD_LABELS:
                by_field.setdefault(name, zh_message(error))
            else:
                general.append(zh_message(error))
    elif isinstance(exc.detail, dict) and exc.detail.get("field") in FIELD_LABELS:
        by_field[exc.detail["field"]] = exc.text
    else:
        general.extend(page_errors(exc))
    summary = [f"{FIELD_LABELS[name]}：{message}" for name, message in by_field.items()] + general
    return by_field, summary


async def _routes_page(
    request: Request,
    session: DbSession,
    *,
    editing: WholesaleRoute | None = None,
    values: dict[str, Any] | None = None,
    exc: forms.Refusal | None = None,
    notice: str = "",
) -> Response:
    by_field, summary = field_errors(exc) if exc is not None else ({}, [])
    routes = await trips.list_routes(session)
    return render(
        request,
        "admin/wholesale_routes.html",
        {
            "routes": routes,
            "editing": editing,
            "values": values or (_values_of(editing) if editing else BLANK_ROUTE),
            "field_errors": by_field,
            "errors": summary,
            "notice": notice,
            "weekdays": list(enumerate(trips.WEEKDAYS_ZH, start=1)),
            "cutoff_days": CUTOFF_DAYS,
            "rule_zh": trips.cutoff_rule_zh,
            "weekdays_zh": trips.weekdays_zh,
            "form_key": forms.new_key(),
        },
        status_code=forms.error_status(exc) if exc is not None else 200,
    )


@router.get("/routes")
async def routes_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Every PRD route, and the form for a new one."""
    return await _routes_page(request, session, notice=notice)


@router.get("/routes/{code}")
async def route_page(
    request: Request,
    code: str,
    session: DbSession,
    _: WarehouseUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The list with the route's own form filled in."""
    return await _routes_page(request, session, editing=await trips.route_or_404(session, code), notice=notice)


@router.post("/routes", dependencies=[CsrfProtected])
async def create_route(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    form = await request.form()
    typed = _typed(form)

    async def work() -> str:
        route = await trips.create_route(session, RouteInput.model_validate(typed))
        return forms.url("/admin/wholesale/routes", notice=f"线路 {route.code} 已创建：从下个发车日起在车次看板中出现")

    async def refused(exc: forms.Refusal) -> Response:
        return await _routes_page(request, session, values=typed, exc=exc)

    return await forms.submit(session, lambda: forms.once(session, request, principal, form, work), refused)


@router.post("/routes/{code}", dependencies=[CsrfProtected])
async def update_route(request: Request, code: str, session: DbSession, principal: WarehouseUser) -> Response:
    route = await trips.route_or_404(session, code)
    form = await request.form()
    typed = {**_typed(form), "code": route.code}

    async def work() -> str:
        await trips.update_route(session, code, RouteInput.model_validate(typed))
        return forms.url(
            f"/admin/wholesale/routes/{code}", notice=f"线路 {code} 已保存；已排出的车次保持原来的运力与截单时间"
        )

    async def refused(exc: forms.Refusal) -> Response:
        return await _routes_page(
            request, session, editing=await trips.route_or_404(session, code), values=typed, exc=exc
        )

    return await forms.submit(session, lambda: forms.once(session, request, principal, form, work), refused)


# ---- the trip board -----------------------------------------------------------------------------


async def _render_board(
    request: Request,
    session: DbSession,
    day: date,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    slots = await trips.trips_of_day(session, day)
    return render(
        request,
        "admin/wholesale_trips.html",
        {
            "day": day,
            "today": clock.today(),
            "weekday": trips.weekday_zh(day),
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "trips": slots,
            # Every trip's orders in one read for the whole board (never one per trip).
            "orders": await ordering.orders_by_trip(session, [s.trip_id for s in slots]),
            "actions": {name: label for name, (label, _) in ACTIONS.items()},
            "next_actions": {
                TripStatus.planned: ("loading", "cancelled"),
                TripStatus.loading: ("dispatched", "cancelled"),
            },
            # One key per form on the page: a re-sent form repeats its own answer only.
            "keys": {(s.number, action): forms.new_key() for s in slots for action in ACTIONS},
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/trips")
async def trips_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    day: Annotated[str, Query(alias="date", max_length=10)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The trips departing one China-time day (today unless ``?date=`` names another): load against
    capacity, cut-off and status, its orders (the truck's stops), with the next steps as buttons."""
    try:
        chosen = forms.chosen_day(day)
    except FormError as exc:
        return await _render_board(request, session, clock.today(), errors=[exc.text], status_code=exc.status_code)
    return await _render_board(request, session, chosen, notice=notice)


@router.post("/trips/{number}/status", dependencies=[CsrfProtected])
async def change_status(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """One step of the trip: 开始装车, 发车 or 取消车次, from the status the page showed."""
    form = await request.form()
    raw_day = forms.text(form, "date", 10)

    async def work() -> str:
        action = forms.choice(_action, forms.text(form, "action"), "操作")
        expected = forms.choice(TripStatus, forms.text(form, "expected"), "车次状态")
        label, step = action
        trip = await step(session, number, expected=expected, actor_user_id=principal.user_id)
        notice = f"车次 {trip.number}：{label}完成，现在“{trip.status.label_zh}”"
        return forms.url("/admin/wholesale/trips", date=trip.departure_date.isoformat(), notice=notice)

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_render_board, request, session, forms.chosen_day_or_today(raw_day)), page_errors
        ),
    )
