"""Receiving a lot: scanned or picked variant, supplier (a registered grower, or an exception with
its reason), harvest date and quantity; the label is offered on the lots page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import WarehouseUser
from app.catalog import repository as catalog_repository
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.kit.quantities import Unit, format_quantity
from app.supply import repository, schemas, service
from app.supply.errors import SupplierNotGrower
from app.web import forms
from app.web.errors import FormError
from app.web.stock import common
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)


RECEIPT_FIELDS = (
    "scan",
    "sku",
    "supplier_code",
    "quantity",
    "harvest_date",
    "best_before",
    "grade",
    "certificate_no",
    "quality_notes",
    "location_code",
    "grower_exception",
    "grower_exception_reason",
    "purchase_price",
)


async def _render_receive(
    request: Request,
    session: DbSession,
    values: dict[str, str],
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
    key: str | None = None,
    exception_open: bool = False,
) -> Response:
    choices = await forms.variant_choices(session)
    suppliers = await repository.list_suppliers(session)
    return render(
        request,
        "admin/stock_receive.html",
        {
            "values": values,
            "variants": [c for c in choices if c.active],
            "suppliers": suppliers,
            # Product slugs each supplier is a registered grower of: the page says who grows the
            # chosen product (stock.js); the server checks it again on receipt.
            "grows": await repository.grown_product_slugs(session, [s.id for s in suppliers]),
            "exception_open": exception_open
            or values.get("grower_exception") == "1"
            or bool(values.get("grower_exception_reason")),
            "location_groups": common.grouped(await common.locations(session)),
            "today": clock.today().isoformat(),
            "idempotency_key": key or forms.new_key(),
            "errors": errors or [],
            "notice": "",
        },
        status_code=status_code,
    )


@router.get("/lots/receive")
async def receive_page(request: Request, session: DbSession, _: WarehouseUser) -> Response:
    values = {"harvest_date": clock.today().isoformat(), "location_code": await common.default_location(session)}
    return await _render_receive(request, session, values)


@router.post("/lots/receive", dependencies=[CsrfProtected])
async def receive_lot(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in RECEIPT_FIELDS}

    async def work() -> str:
        code = values["scan"] or values["sku"]
        if not code:
            raise FormError("商品：请选择规格，或扫描条码 / 输入 SKU")
        sku = await forms.scanned_sku(session, code, refused_for="收货")
        if not values["supplier_code"]:
            raise FormError("供应商：请选择")
        harvest = forms.parse_required_date(values["harvest_date"], "采收日期")
        body = schemas.LotReceiptIn.model_validate(
            {
                "sku": sku,
                "supplier_code": values["supplier_code"],
                "quantity": forms.parse_decimal_quantity(values["quantity"], "数量"),
                "harvest_date": harvest,
                "best_before": forms.parse_date(values["best_before"], "保质期至"),
                "grade": values["grade"],
                "certificate_no": values["certificate_no"],
                "quality_notes": values["quality_notes"],
                "location_code": values["location_code"] or None,
                "grower_exception": values["grower_exception"] == "1",
                "grower_exception_reason": values["grower_exception_reason"],
                "purchase_price_minor": (
                    forms.parse_fen(values["purchase_price"], "收购单价") if values["purchase_price"] else None
                ),
            }
        )
        lot = await service.receive_lot(
            session, service.ReceiptInput(**body.model_dump()), actor_user_id=principal.user_id
        )
        variant = await catalog_repository.variant_by_sku(session, sku)
        assert variant is not None
        what = f"{variant.product.name_zh} {variant.name_zh}"
        amount = f"{format_quantity(lot.quantity_received)} {Unit(variant.unit).label_zh}"
        notice = f"已收货入库：{what} {amount}，批次 {lot.code}"
        if lot.grower_exception_reason:
            notice += f"（例外收货：{lot.grower_exception_reason}）"
        return forms.url("/admin/lots", lot=lot.code, notice=notice)

    async def refused(exc: forms.Refusal) -> Response:
        if values["scan"] and not values["sku"]:
            # Keep what the scanner read visible, and pre-select it when it resolved.
            try:
                values["sku"] = await forms.scanned_sku(session, values["scan"], refused_for="收货")
            except AppError:
                pass
        return await _render_receive(
            request,
            session,
            values,
            errors=common.page_errors(exc),
            status_code=forms.error_status(exc),
            exception_open=isinstance(exc, SupplierNotGrower),
        )

    return await forms.submit(session, lambda: forms.once(session, request, principal, form, work), refused)
