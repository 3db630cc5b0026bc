"""The run board (/admin/runs): delivery runs from the county warehouse to the village stations
without the API — the waiting pickup orders per route, pack a route's run of the day, print its
parcel labels and manifest (the runs API's own PDFs), dispatch it.

Warehouse staff and admins, like the stock pages, and with their patterns: each form carries an
idempotency key generated when the page was rendered, so a double-clicked "打包" or "发车" acts
once and the repeat lands on the same result; a refused form is rolled back and the board shown
again with the reason in Chinese under the error's status.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.accounts.access import Principal, WarehouseUser
from app.db import DbSession
from app.kit import clock
from app.stations import run_board
from app.stations.models import ParcelStatus
from app.web import forms
from app.web.errors import FormError
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)


async def _render_board(
    request: Request,
    session: DbSession,
    day: date,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    found = await run_board.board(session, day)
    return render(
        request,
        "admin/runs.html",
        {
            "board": found,
            "previous_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            # One key per form on the page: a re-sent form repeats its own answer only.
            "pack_keys": {route.code: forms.new_key() for route in found.routes},
            "dispatch_keys": {route.code: forms.new_key() for route in found.routes},
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/runs")
async def runs_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    day: Annotated[str, Query(alias="date", max_length=10)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The board of one China-time day (today unless ``?date=`` names another)."""
    try:
        chosen = forms.chosen_day(day)
    except FormError as exc:
        return await _render_board(request, session, clock.today(), errors=[exc.text], status_code=exc.status_code)
    return await _render_board(request, session, chosen, notice=notice)


@router.post("/runs", dependencies=[CsrfProtected])
async def pack_run(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    """Pack a route's waiting orders into its run of the day (again: adds only new orders)."""
    form = await request.form()
    route_code, raw_day = forms.text(form, "route_code"), forms.text(form, "run_date")

    async def work() -> str:
        packed = await run_board.pack(
            session, route_code=route_code, run_date=forms.chosen_day(raw_day), actor_user_id=principal.user_id
        )
        run = packed.run
        notice = f"已打包 {packed.added} 件包裹到批次 {run.number}：请打印面单与发车清单，装车后点“发车”"
        return forms.url("/admin/runs", date=run.run_date.isoformat(), notice=notice)

    return await _once_or_board(request, session, principal, form, work, raw_day)


@router.post("/runs/{number}/dispatch", dependencies=[CsrfProtected])
async def dispatch_run(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """The truck leaves: the run's parcels are on their way and their orders say so."""
    form = await request.form()
    raw_day = forms.text(form, "run_date")

    async def work() -> str:
        sent = await run_board.dispatch(session, number, actor_user_id=principal.user_id)
        moving = sent.by_status.get(ParcelStatus.dispatched, 0)
        notice = f"批次 {sent.number} 已发车：{moving} 件包裹送往 {sent.stations} 个村站"
        if moving < sent.parcels:
            notice += f"；{sent.parcels - moving} 件的订单已取消，留在仓库"
        return forms.url("/admin/runs", date=raw_day, notice=notice)

    return await _once_or_board(request, session, principal, form, work, raw_day)


async def _once_or_board(
    request: Request,
    session: DbSession,
    principal: Principal,
    form: FormData,
    work: Callable[[], Awaitable[str]],
    raw_day: str,
) -> Response:
    """Run the form's work once; refused, roll back and show the board again with the reasons."""
    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_render_board, request, session, forms.chosen_day_or_today(raw_day)),
            page_errors,
        ),
    )
