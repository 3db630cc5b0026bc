"""Corrections of the books: adjustments with a reason, and count sheets whose differences are
posted to the ledger."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from app.accounts.access import WarehouseUser
from app.db import DbSession
from app.kit.quantities import format_quantity
from app.supply import counts, repository, schemas, service, views
from app.supply.models import LedgerKind
from app.web import forms
from app.web.errors import FormError
from app.web.stock import common
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

ADJUSTMENT_KINDS = {"adjustment": "调整", "spoilage": "损耗", "return": "退货"}
ADJUSTMENT_LEDGER_KINDS = (LedgerKind.adjustment, LedgerKind.spoilage, LedgerKind.return_)


async def _render_adjustments(
    request: Request,
    session: DbSession,
    values: dict[str, str],
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    recent: list[Any] = []
    for kind in ADJUSTMENT_LEDGER_KINDS:
        recent.extend(await repository.ledger_entries(session, kind=kind, limit=20))
    recent = sorted(recent, key=lambda e: e.id, reverse=True)[:20]
    choices = await forms.variant_choices(session)
    return render(
        request,
        "admin/stock_adjustments.html",
        {
            "values": values,
            "kinds": ADJUSTMENT_KINDS,
            "location_groups": common.grouped(await common.locations(session)),
            "lots_in_stock": await common.lots_in_stock(session),
            "recent": await views.ledger_out(session, recent),
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "document_types": common.DOCUMENT_TYPES,
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/adjustments")
async def adjustments_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    lot: Annotated[str, Query(max_length=30)] = "",
    location: Annotated[str, Query(max_length=30)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    values = {
        "location_code": location.strip() or await common.default_location(session),
        "lot_code": lot.strip(),
        "kind": "spoilage",
    }
    return await _render_adjustments(request, session, values, notice=notice)


@router.post("/adjustments", dependencies=[CsrfProtected])
async def adjust_stock(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    """A correction with a reason: 调整 (±), 损耗 (−) or 退货 (+); one ledger row."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in ("location_code", "lot_code", "kind", "quantity", "reason")}
    values["lot_code"] = values["lot_code"].upper()

    async def work() -> str:
        body = schemas.AdjustmentIn.model_validate(
            {
                "location_code": values["location_code"],
                "lot_code": values["lot_code"],
                "kind": values["kind"],
                "quantity": forms.parse_decimal_quantity(values["quantity"], "数量"),
                "reason": values["reason"],
            }
        )
        await service.adjust(session, **body.model_dump(), actor_user_id=principal.user_id)
        sign = "" if body.kind == "adjustment" else ("−" if body.kind == "spoilage" else "+")
        notice = f"已记录{ADJUSTMENT_KINDS[body.kind]}：批次 {body.lot_code} {sign}{format_quantity(body.quantity)}"
        return forms.url("/admin/adjustments", notice=notice, location=body.location_code)

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_render_adjustments, request, session, values),
            common.page_errors,
        ),
    )


# ---- counts -------------------------------------------------------------------------------------


async def _render_counts(
    request: Request,
    session: DbSession,
    *,
    location_code: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    return render(
        request,
        "admin/stock_counts.html",
        {
            "counts": await repository.recent_counts(session, limit=30),
            "location_groups": common.grouped(await common.locations(session)),
            "location_code": location_code or await common.default_location(session),
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/counts")
async def counts_page(
    request: Request, session: DbSession, _: WarehouseUser, notice: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return await _render_counts(request, session, notice=notice)


@router.post("/counts", dependencies=[CsrfProtected])
async def open_count(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    """Open a count sheet: what the books expect per lot at the location, frozen now."""
    form = await request.form()
    location_code = forms.text(form, "location_code")

    async def work() -> str:
        body = schemas.CountOpenIn.model_validate({"location_code": location_code})
        count = await counts.open_count(session, location_code=body.location_code, actor_user_id=principal.user_id)
        return forms.url(
            f"/admin/counts/{count.number}", notice=f"盘点单 {count.number} 已创建，共 {len(count.lines)} 个批次"
        )

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_render_counts, request, session, location_code=location_code),
            common.page_errors,
        ),
    )


async def _render_count(
    request: Request,
    session: DbSession,
    number: str,
    *,
    entered: dict[str, str] | None = None,
    extra: tuple[str, str] = ("", ""),
    errors: list[str] | None = None,
    status_code: int = 200,
    notice: str = "",
) -> Response:
    count = await counts.get_count(session, number)
    sheet = await views.count_out(session, count)
    location = await repository.location_by_id(session, count.location_id)
    lots = await views.lots_out(
        session,
        [(lot, Decimal(0)) for lot in (await repository.lots_by_codes(session, [x.lot for x in sheet.lines])).values()],
    )
    choices = await forms.variant_choices(session)
    return render(
        request,
        "admin/stock_count.html",
        {
            "count": sheet,
            "created_at": count.created_at,
            "posted_at": count.posted_at,
            "location": location,
            "best_before": {lot.code: lot for lot in lots},
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "entered": entered or {},
            "extra": extra,
            "uncounted": sum(1 for line in sheet.lines if line.counted is None),
            "idempotency_key": forms.new_key(),
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/counts/{number}")
async def count_page(
    request: Request,
    number: str,
    session: DbSession,
    _: WarehouseUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _render_count(request, session, number, notice=notice)


def _counted(form: FormData) -> tuple[dict[str, Decimal], dict[str, str], tuple[str, str]]:
    """Counted quantities typed on the sheet (blank = not counted yet) plus one lot found on the
    shelf that the sheet did not expect."""
    entered = dict(zip(forms.texts(form, "lot_code"), forms.texts(form, "counted"), strict=False))
    extra = (forms.text(form, "extra_lot").upper(), forms.text(form, "extra_counted"))
    counted = {code: forms.parse_decimal_quantity(raw, f"批次 {code} 实盘数量") for code, raw in entered.items() if raw}
    if extra[0] or extra[1]:
        if not extra[0]:
            raise FormError("新增批次：请填写批次号")
        counted[extra[0]] = forms.parse_decimal_quantity(extra[1], f"批次 {extra[0]} 实盘数量")
    return counted, entered, extra


@router.post("/counts/{number}/save", dependencies=[CsrfProtected])
async def save_count(request: Request, number: str, session: DbSession, _: WarehouseUser) -> Response:
    """Save counted quantities; saving again overwrites (nothing moves until the sheet is posted)."""
    form = await request.form()
    entered: dict[str, str] = dict(zip(forms.texts(form, "lot_code"), forms.texts(form, "counted"), strict=False))
    extra = (forms.text(form, "extra_lot").upper(), forms.text(form, "extra_counted"))

    async def save() -> Response:
        counted, _, _ = _counted(form)
        sheet = await counts.record_counts(session, number, schemas.CountLinesIn(counted=counted).counted)
        left = sum(1 for line in sheet.lines if line.counted is None)
        notice = f"已保存 {len(counted)} 个批次的实盘数量" + (f"，还有 {left} 个批次未录入" if left else "，可以过账")
        return RedirectResponse(forms.url(f"/admin/counts/{number}", notice=notice), status_code=303)

    return await forms.submit(
        session,
        save,
        forms.show_again(
            functools.partial(_render_count, request, session, number, entered=entered, extra=extra),
            common.page_errors,
        ),
    )


@router.post("/counts/{number}/post", dependencies=[CsrfProtected])
async def post_count(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """Save what is on the sheet, then write every difference to the ledger (kind 盘点差异)."""
    form = await request.form()
    entered: dict[str, str] = dict(zip(forms.texts(form, "lot_code"), forms.texts(form, "counted"), strict=False))
    extra = (forms.text(form, "extra_lot").upper(), forms.text(form, "extra_counted"))

    async def work() -> str:
        counted, _, _ = _counted(form)
        if counted:
            await counts.record_counts(session, number, schemas.CountLinesIn(counted=counted).counted)
        posted = await counts.post_count(session, number, actor_user_id=principal.user_id)
        changed = sum(1 for line in posted.lines if line.counted is not None and line.counted != line.expected)
        notice = (
            f"盘点单 {number} 已过账：{changed} 个批次有差异并已写入台账"
            if changed
            else f"盘点单 {number} 已过账：账实相符"
        )
        return forms.url(f"/admin/counts/{number}", notice=notice)

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(
            functools.partial(_render_count, request, session, number, entered=entered, extra=extra),
            common.page_errors,
        ),
    )
