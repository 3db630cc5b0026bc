"""Transfers between locations: shipped now, in transit until received line by line."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.accounts.access import WarehouseUser
from app.db import DbSession
from app.supply import schemas, transfers, views
from app.supply.models import LocationKind
from app.web import forms
from app.web.errors import FormError
from app.web.stock import common
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

SHIP_ROWS = 6


async def _render_transfers(
    request: Request,
    session: DbSession,
    *,
    ship_values: dict[str, Any] | None = None,
    receive_values: dict[str, dict[str, tuple[str, str]]] | None = None,
    failed: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    all_locations = await common.locations(session, with_transit=True)
    listed = [await views.transfer_out(session, t) for t in await transfers.list_transfers(session, limit=50)]
    choices = await forms.variant_choices(session)
    default_from = await common.default_location(session)
    rows = (ship_values or {}).get("rows") or []
    return render(
        request,
        "admin/stock_transfers.html",
        {
            "in_transit": [t for t in listed if t.status == "in_transit"],
            "received": [t for t in listed if t.status != "in_transit"],
            "location_names": {loc.code: loc.name for loc in all_locations},
            "location_groups": common.grouped(loc for loc in all_locations if loc.kind is not LocationKind.in_transit),
            "lots_in_stock": await common.lots_in_stock(session),
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "ship": {"from_location": default_from, "to_location": "", "note": "", **(ship_values or {})},
            "ship_rows": rows + [("", "")] * max(0, SHIP_ROWS - len(rows)),
            "receive_values": receive_values or {},
            "failed": failed,
            "ship_key": forms.new_key(),
            "receive_keys": {t.number: forms.new_key() for t in listed if t.status == "in_transit"},
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/transfers")
async def transfers_page(
    request: Request, session: DbSession, _: WarehouseUser, notice: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return await _render_transfers(request, session, notice=notice)


@router.post("/transfers", dependencies=[CsrfProtected])
async def ship_transfer(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    """Ship stock to another location: it leaves now and stays in transit until received."""
    form = await request.form()
    rows = list(zip(forms.texts(form, "lot_code"), forms.texts(form, "quantity"), strict=False))
    values: dict[str, Any] = {
        "from_location": forms.text(form, "from_location"),
        "to_location": forms.text(form, "to_location"),
        "note": forms.text(form, "note"),
        "rows": [(code.upper(), qty) for code, qty in rows if code or qty],
    }

    async def work() -> str:
        lines = []
        for number, (code, raw) in enumerate(rows, start=1):
            if not code and not raw:
                continue
            if not code:
                raise FormError(f"第 {number} 行：请填写批次号")
            lines.append(
                {"lot_code": code.upper(), "quantity": forms.parse_decimal_quantity(raw, f"第 {number} 行数量")}
            )
        if not lines:
            raise FormError("调拨明细：至少填写一行批次号和数量")
        body = schemas.TransferIn.model_validate(
            {
                "from_location": values["from_location"],
                "to_location": values["to_location"],
                "note": values["note"],
                "lines": lines,
            }
        )
        transfer = await transfers.ship(
            session,
            from_code=body.from_location,
            to_code=body.to_location,
            note=body.note,
            lines=[transfers.ShipLine(line.lot_code, line.quantity) for line in body.lines],
            actor_user_id=principal.user_id,
        )
        return forms.url("/admin/transfers", notice=f"调拨单 {transfer.number} 已发出，{len(body.lines)} 行在途")

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_render_transfers, request, session, ship_values=values),
            common.page_errors,
        ),
    )


def received_rows(form: FormData) -> list[tuple[str, str, str]]:
    """The receiving table's rows as typed: (lot code, quantity received, reason)."""
    return list(
        zip(forms.texts(form, "lot_code"), forms.texts(form, "received"), forms.texts(form, "reason"), strict=False)
    )


def received_lines(rows: list[tuple[str, str, str]]) -> list[transfers.ReceivedLine]:
    """What the receiving table says came (``partials/transfer_receive_table.html``), checked."""
    lines = [
        {"lot_code": code, "quantity": forms.parse_decimal_quantity(raw, f"批次 {code} 实收数量"), "reason": reason}
        for code, raw, reason in rows
    ]
    body = schemas.TransferReceiveIn.model_validate({"lines": lines})
    return [transfers.ReceivedLine(line.lot_code, line.quantity, line.reason) for line in body.lines]


@router.post("/transfers/{number}/receive", dependencies=[CsrfProtected])
async def receive_transfer(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """Arrival: every line with what actually came; a shortfall needs its reason."""
    form = await request.form()
    rows = received_rows(form)

    async def work() -> str:
        transfer = await transfers.receive(
            session, number, actor_user_id=principal.user_id, received=received_lines(rows)
        )
        short = sum(
            1
            for line in transfer.lines
            if line.quantity_received is not None and line.quantity_received < line.quantity_shipped
        )
        notice = f"调拨单 {transfer.number} 已签收" + (f"，{short} 行差异已记为在途损耗" if short else "，全数到货")
        return forms.url("/admin/transfers", notice=notice)

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(
                _render_transfers,
                request,
                session,
                receive_values={number: {code: (raw, reason) for code, raw, reason in rows}},
                failed=number,
            ),
            # Several transfers are listed on the page: each message says which one it is about.
            lambda exc: [line if number in line else f"调拨单 {number}：{line}" for line in common.page_errors(exc)],
        ),
    )
