"""Stock pages of the ops console: levels, ledger, lots, receiving, transfers, adjustments and counts.

Warehouse staff and admins only. Thin: each page reads through ``app.supply`` views and each form
post is one service call. A form that moves stock carries an idempotency key generated when the
form was rendered, so a double-clicked or re-sent form moves stock once and the repeat lands on the
same result page. A refused form is rolled back and shown again with the reasons in Chinese.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import uuid4

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.accounts.access import Principal, WarehouseUser
from app.catalog import repository as catalog_repository
from app.catalog.errors import VariantNotFound
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError, IdempotencyKeyReused, InvalidInput
from app.kit.idempotency import run_idempotent
from app.kit.quantities import QuantityError, Unit, format_quantity, parse_quantity
from app.kit.validation import field_name, zh_message
from app.supply import counts, repository, schemas, service, transfers, views
from app.supply.errors import InsufficientStock, SupplierNotGrower
from app.supply.models import LedgerKind, Location, LocationKind
from app.web.admin import form_errors
from app.web.templating import CHINA_TZ, CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

IDEMPOTENCY_FIELD = "idempotency_key"
LEDGER_PAGE = 50
SHIP_ROWS = 6
ADJUSTMENT_KINDS = {"adjustment": "调整", "spoilage": "损耗", "return": "退货"}
ADJUSTMENT_LEDGER_KINDS = (LedgerKind.adjustment, LedgerKind.spoilage, LedgerKind.return_)
DOCUMENT_TYPES = {"lot": "收货", "transfer": "调拨单", "adjustment": "库存调整", "count": "盘点单", "order": "订单"}
FIELD_LABELS = {
    "sku": "商品",
    "supplier_code": "供应商",
    "quantity": "数量",
    "harvest_date": "采收日期",
    "best_before": "保质期至",
    "grade": "等级",
    "certificate_no": "承诺达标合格证编号",
    "quality_notes": "质量备注",
    "location_code": "库位",
    "grower_exception_reason": "例外原因",
    "lot_code": "批次号",
    "kind": "类型",
    "reason": "原因",
    "note": "备注",
    "from_location": "调出库位",
    "to_location": "调入库位",
    "lines": "调拨明细",
}
# Which keys of an error's ``detail`` name the thing that was not found or was refused.
NAMED_DETAIL = ("sku", "lot", "lots", "location", "supplier_code", "transfer", "count")


# ---- shared helpers -----------------------------------------------------------------------------


def page_errors(exc: ValidationError | AppError | ValueError) -> list[str]:
    """Chinese lines for the page: stock-form field labels, short stock named per lot, and the code
    that was not found; everything else as the other console pages word it."""
    if isinstance(exc, ValidationError):
        return [f"{_label(field_name(e))}：{_validation_message(e)}" for e in exc.errors()]
    if isinstance(exc, IdempotencyKeyReused):
        # The same rendered form was sent again with other values (back button, edit, resubmit).
        return ["这张表单已经提交过，内容又被改动了。请核对下面的内容后再提交一次。"]
    if isinstance(exc, InsufficientStock):
        lines = exc.detail.get("lines", []) if isinstance(exc.detail, dict) else []
        return [exc.text] + [
            f"批次 {line['lot']}：需要 {_plain(line['requested'])}，可用 {_plain(line['available'])}" for line in lines
        ]
    if isinstance(exc, SupplierNotGrower):
        return [exc.text]  # already names the supplier and the product
    if isinstance(exc, AppError) and isinstance(exc.detail, dict):
        named = [_named(exc.detail[key]) for key in NAMED_DETAIL if key in exc.detail]
        if named:
            return [f"{exc.text}：{'、'.join(named)}"]
        return [exc.text]
    return form_errors(exc)


def _label(name: str) -> str:
    head, _, rest = name.partition(".")
    if head == "lines" and rest:
        index, _, sub = rest.partition(".")
        return f"第 {int(index) + 1} 行{FIELD_LABELS.get(sub, sub)}" if index.isdigit() else FIELD_LABELS["lines"]
    return FIELD_LABELS.get(name, name)


def _validation_message(error: Any) -> str:
    if error.get("type") == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "必填"
    return zh_message(error)


def _named(value: Any) -> str:
    return "、".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _plain(raw: Any) -> str:
    try:
        return format_quantity(Decimal(str(raw)))
    except ArithmeticError:
        return str(raw)


def _status(exc: Exception) -> int:
    return exc.status_code if isinstance(exc, AppError) else 422


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)]


def _quantity(raw: str, label: str) -> Decimal:
    """A quantity typed into a form: exact Decimal (to the gram), never float."""
    if not raw:
        raise ValueError(f"{label}：请填写")
    try:
        return parse_quantity(raw)
    except QuantityError as exc:
        raise ValueError(f"{label}：{exc}") from exc


def _date(raw: str, label: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{label}：日期格式应为 年-月-日，例如 {clock.today().isoformat()}") from exc


def _url(path: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def _new_key() -> str:
    return uuid4().hex


async def _once(
    session: DbSession, request: Request, principal: Principal, form: FormData, work: Callable[[], Awaitable[str]]
) -> Response:
    """Run a stock-moving form post once per rendered form: ``work`` returns where to go next, and a
    repeat with the same idempotency key goes there again without moving stock a second time."""
    key = _text(form, IDEMPOTENCY_FIELD) or None
    body = {k: _texts(form, k) for k in sorted(set(form.keys())) if k not in ("csrf_token", IDEMPOTENCY_FIELD)}

    async def run() -> dict[str, str]:
        return {"redirect": await work()}

    _, payload = await run_idempotent(
        session,
        scope=f"user:{principal.user_id}",
        key=key,
        method=request.method,
        path=request.url.path,
        body=body,
        work=run,
        status_code=303,
    )
    return RedirectResponse(str(payload["redirect"]), status_code=303)


@dataclass(frozen=True)
class VariantChoice:
    sku: str
    barcode: str
    label: str
    unit: str
    unit_zh: str
    is_weight: bool
    supplier_code: str
    active: bool
    product_slug: str = ""


async def _variant_choices(session: DbSession) -> list[VariantChoice]:
    products = await catalog_repository.list_products(session, include_inactive=True)
    suppliers = await repository.suppliers_by_ids(
        session, [p.supplier_id for p in products if p.supplier_id is not None]
    )
    choices = []
    for product in products:
        supplier = suppliers.get(product.supplier_id) if product.supplier_id is not None else None
        for variant in sorted(product.variants, key=lambda v: (v.sort_order, v.id)):
            unit = Unit(variant.unit)
            choices.append(
                VariantChoice(
                    sku=variant.sku,
                    barcode=variant.barcode or "",
                    label=f"{product.name_zh} · {variant.name_zh}",
                    unit=unit.value,
                    unit_zh=unit.label_zh,
                    is_weight=unit.is_weight,
                    supplier_code=supplier.code if supplier else "",
                    active=variant.is_active and product.is_active,
                    product_slug=product.slug,
                )
            )
    return choices


async def _variant_id(session: DbSession, sku: str) -> int:
    variant = await catalog_repository.variant_by_sku(session, sku)
    if variant is None:
        raise VariantNotFound(detail={"sku": sku})
    return variant.id


@dataclass
class LocationGroup:
    label: str
    locations: list[Location] = field(default_factory=list)


async def _locations(session: DbSession, *, with_transit: bool = False) -> list[Location]:
    return [
        loc
        for loc in await repository.list_locations(session)
        if loc.is_active and (with_transit or loc.kind is not LocationKind.in_transit)
    ]


def _grouped(locations: Iterable[Location]) -> list[LocationGroup]:
    """For ``<optgroup>``: warehouse, stores, stations, in transit — in that order."""
    groups: dict[LocationKind, LocationGroup] = {}
    for loc in locations:
        groups.setdefault(LocationKind(loc.kind), LocationGroup(LocationKind(loc.kind).label_zh)).locations.append(loc)
    return [groups[kind] for kind in LocationKind if kind in groups]


async def _default_location(session: DbSession) -> str:
    try:
        return (await service.warehouse(session)).code
    except AppError:
        return ""


async def _lots_in_stock(session: DbSession) -> list[schemas.LotOut]:
    """For the lot-code suggestions of the transfer and adjustment forms."""
    return await views.lots_out(session, await repository.list_lots(session, with_stock_only=True))


# ---- levels -------------------------------------------------------------------------------------


@dataclass
class LocationStock:
    code: str
    name: str
    kind: str
    rows: list[schemas.StockRowOut] = field(default_factory=list)
    # unit → (on hand, reserved, available): a box and a kilo do not add up.
    totals: dict[str, list[Decimal]] = field(default_factory=dict)


@router.get("/stock")
async def stock_levels(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    sku: Annotated[str, Query(max_length=40)] = "",
    location: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """On hand, reserved and available per location and lot; expired lots are on hand, not available."""
    sku, location = sku.strip(), location.strip()
    choices = await _variant_choices(session)
    locations = await _locations(session, with_transit=True)
    errors: list[str] = []
    status_code = 200
    places: list[LocationStock] = []
    try:
        variant_id = await _variant_id(session, sku) if sku else None
        location_id = (await service.location_or_404(session, location)).id if location else None
        stock = await views.stock_out(session, sku or None, variant_id, location_id=location_id)
    except AppError as exc:
        errors, status_code = page_errors(exc), exc.status_code
    else:
        units = {c.sku: c.unit for c in choices}
        by_code = {loc.code: loc for loc in locations}
        found: dict[str, LocationStock] = {}
        for row in stock.rows:
            loc = by_code.get(row.location)
            place = found.setdefault(
                row.location,
                LocationStock(row.location, row.location_name, LocationKind(loc.kind).label_zh if loc else ""),
            )
            place.rows.append(row)
            total = place.totals.setdefault(units.get(row.sku, ""), [Decimal(0), Decimal(0), Decimal(0)])
            total[0] += row.on_hand
            total[1] += row.reserved
            if not row.expired:
                total[2] += row.available
        order = {loc.code: i for i, loc in enumerate(locations)}
        places = sorted(found.values(), key=lambda p: order.get(p.code, len(order)))
    return render(
        request,
        "admin/stock_levels.html",
        {
            "places": places,
            "variants": choices,
            "names": {c.sku: c.label for c in choices},
            "unit_names": {u.value: u.label_zh for u in Unit},
            "soon_until": clock.today() + timedelta(days=2),
            "location_groups": _grouped(locations),
            "sku": sku,
            "location": location,
            "errors": errors,
            "notice": "",
        },
        status_code=status_code,
    )


# ---- ledger -------------------------------------------------------------------------------------


@router.get("/ledger")
async def ledger_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    sku: Annotated[str, Query(max_length=40)] = "",
    location: Annotated[str, Query(max_length=30)] = "",
    lot: Annotated[str, Query(max_length=30)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    document: Annotated[str, Query(max_length=60)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Every stock change, newest first; "older" pages back by id (keyset), so new rows arriving
    while someone reads never shift a page."""
    filters = {
        "sku": sku.strip(),
        "location": location.strip(),
        "lot": lot.strip().upper(),
        "kind": kind.strip(),
        "document": document.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    errors: list[str] = []
    status_code = 200
    entries: list[schemas.LedgerEntryOut] = []
    older_url = ""
    try:
        start = _date(filters["since"], "起始日期")
        end = _date(filters["until"], "截止日期")
        try:
            ledger_kind = LedgerKind(filters["kind"]) if filters["kind"] else None
        except ValueError as exc:
            raise ValueError("类型：取值无效") from exc
        rows = await repository.ledger_entries(
            session,
            variant_id=await _variant_id(session, filters["sku"]) if filters["sku"] else None,
            location_id=(await service.location_or_404(session, filters["location"])).id
            if filters["location"]
            else None,
            lot_id=(await service.lot_or_404(session, filters["lot"])).id if filters["lot"] else None,
            kind=ledger_kind,
            document_ref=filters["document"] or None,
            # Dates are China dates: a day starts at 00:00 Beijing time.
            since=datetime.combine(start, datetime.min.time(), CHINA_TZ) if start else None,
            until=datetime.combine(end + timedelta(days=1), datetime.min.time(), CHINA_TZ) if end else None,
            before_id=before_id,
            limit=LEDGER_PAGE + 1,
        )
    except (AppError, ValueError) as exc:
        errors, status_code = page_errors(exc), _status(exc)
    else:
        entries = await views.ledger_out(session, rows[:LEDGER_PAGE])
        if len(rows) > LEDGER_PAGE:
            older_url = _url("/admin/ledger", **filters, before_id=entries[-1].id)
    choices = await _variant_choices(session)
    return render(
        request,
        "admin/stock_ledger.html",
        {
            "entries": entries,
            "filters": filters,
            "before_id": before_id,
            "older_url": older_url,
            "newest_url": _url("/admin/ledger", **filters),
            "kinds": list(LedgerKind),
            "variants": choices,
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "location_groups": _grouped(await _locations(session, with_transit=True)),
            "document_types": DOCUMENT_TYPES,
            "errors": errors,
            "notice": "",
        },
        status_code=status_code,
    )


# ---- lots ---------------------------------------------------------------------------------------


@router.get("/lots")
async def lots_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    sku: Annotated[str, Query(max_length=40)] = "",
    scope: Annotated[str, Query(max_length=10)] = "stock",
    lot: Annotated[str, Query(max_length=30)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Lots expiring soonest first, each with its trace page and label; ``lot`` names a lot just
    received, whose label is offered straight away."""
    sku = sku.strip()
    errors: list[str] = []
    status_code = 200
    lots: list[schemas.LotOut] = []
    try:
        variant_id = await _variant_id(session, sku) if sku else None
        lots = await views.lots_out(
            session, await repository.list_lots(session, variant_id=variant_id, with_stock_only=scope != "all")
        )
    except AppError as exc:
        errors, status_code = page_errors(exc), exc.status_code
    new_lot = None
    if lot:
        found = await repository.lot_by_code(session, lot.strip())
        if found is not None:
            new_lot = (await views.lots_out(session, [(found, found.quantity_received)]))[0]
    choices = await _variant_choices(session)
    return render(
        request,
        "admin/stock_lots.html",
        {
            "lots": lots,
            "new_lot": new_lot,
            "sku": sku,
            "scope": "all" if scope == "all" else "stock",
            "variants": choices,
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "errors": errors,
            "notice": notice,
        },
        status_code=status_code,
    )


# ---- receiving ----------------------------------------------------------------------------------

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
    choices = await _variant_choices(session)
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
            "location_groups": _grouped(await _locations(session)),
            "today": clock.today().isoformat(),
            "idempotency_key": key or _new_key(),
            "errors": errors or [],
            "notice": "",
        },
        status_code=status_code,
    )


@router.get("/lots/receive")
async def receive_page(request: Request, session: DbSession, _: WarehouseUser) -> Response:
    values = {"harvest_date": clock.today().isoformat(), "location_code": await _default_location(session)}
    return await _render_receive(request, session, values)


async def _resolve_variant(session: DbSession, code: str) -> str:
    """What a keyboard-wedge scanner or a person typed: an EAN-13 barcode or a SKU → the SKU."""
    variant = None
    if code.isdigit():
        variant = await catalog_repository.variant_by_barcode(session, code)
    if variant is None:
        variant = await catalog_repository.variant_by_sku(session, code.upper())
    if variant is None:
        raise InvalidInput(f"没有找到条码或 SKU 为 {code} 的商品规格")
    if not variant.is_active:
        raise InvalidInput(f"规格 {variant.sku} 已停用，不能收货")
    return variant.sku


@router.post("/lots/receive", dependencies=[CsrfProtected])
async def receive_lot(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    form = await request.form()
    values = {name: _text(form, name) for name in RECEIPT_FIELDS}

    async def work() -> str:
        code = values["scan"] or values["sku"]
        if not code:
            raise ValueError("商品：请选择规格，或扫描条码 / 输入 SKU")
        sku = await _resolve_variant(session, code)
        if not values["supplier_code"]:
            raise ValueError("供应商：请选择")
        harvest = _date(values["harvest_date"], "采收日期")
        if harvest is None:
            raise ValueError("采收日期：请填写")
        body = schemas.LotReceiptIn.model_validate(
            {
                "sku": sku,
                "supplier_code": values["supplier_code"],
                "quantity": _quantity(values["quantity"], "数量"),
                "harvest_date": harvest,
                "best_before": _date(values["best_before"], "保质期至"),
                "grade": values["grade"],
                "certificate_no": values["certificate_no"],
                "quality_notes": values["quality_notes"],
                "location_code": values["location_code"] or None,
                "grower_exception": values["grower_exception"] == "1",
                "grower_exception_reason": values["grower_exception_reason"],
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
        return _url("/admin/lots", lot=lot.code, notice=notice)

    try:
        return await _once(session, request, principal, form, work)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        if values["scan"] and not values["sku"]:
            # Keep what the scanner read visible, and pre-select it when it resolved.
            try:
                values["sku"] = await _resolve_variant(session, values["scan"])
            except AppError:
                pass
        return await _render_receive(
            request,
            session,
            values,
            errors=page_errors(exc),
            status_code=_status(exc),
            exception_open=isinstance(exc, SupplierNotGrower),
        )


# ---- transfers ----------------------------------------------------------------------------------


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
    all_locations = await _locations(session, with_transit=True)
    listed = [await views.transfer_out(session, t) for t in await transfers.list_transfers(session, limit=50)]
    choices = await _variant_choices(session)
    default_from = await _default_location(session)
    rows = (ship_values or {}).get("rows") or []
    return render(
        request,
        "admin/stock_transfers.html",
        {
            "in_transit": [t for t in listed if t.status == "in_transit"],
            "received": [t for t in listed if t.status != "in_transit"],
            "location_names": {loc.code: loc.name for loc in all_locations},
            "location_groups": _grouped(loc for loc in all_locations if loc.kind is not LocationKind.in_transit),
            "lots_in_stock": await _lots_in_stock(session),
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "ship": {"from_location": default_from, "to_location": "", "note": "", **(ship_values or {})},
            "ship_rows": rows + [("", "")] * max(0, SHIP_ROWS - len(rows)),
            "receive_values": receive_values or {},
            "failed": failed,
            "ship_key": _new_key(),
            "receive_keys": {t.number: _new_key() for t in listed if t.status == "in_transit"},
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
    rows = list(zip(_texts(form, "lot_code"), _texts(form, "quantity"), strict=False))
    values: dict[str, Any] = {
        "from_location": _text(form, "from_location"),
        "to_location": _text(form, "to_location"),
        "note": _text(form, "note"),
        "rows": [(code.upper(), qty) for code, qty in rows if code or qty],
    }

    async def work() -> str:
        lines = []
        for number, (code, raw) in enumerate(rows, start=1):
            if not code and not raw:
                continue
            if not code:
                raise ValueError(f"第 {number} 行：请填写批次号")
            lines.append({"lot_code": code.upper(), "quantity": _quantity(raw, f"第 {number} 行数量")})
        if not lines:
            raise ValueError("调拨明细：至少填写一行批次号和数量")
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
        return _url("/admin/transfers", notice=f"调拨单 {transfer.number} 已发出，{len(body.lines)} 行在途")

    try:
        return await _once(session, request, principal, form, work)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        return await _render_transfers(
            request, session, ship_values=values, errors=page_errors(exc), status_code=_status(exc)
        )


@router.post("/transfers/{number}/receive", dependencies=[CsrfProtected])
async def receive_transfer(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """Arrival: every line with what actually came; a shortfall needs its reason."""
    form = await request.form()
    rows = list(zip(_texts(form, "lot_code"), _texts(form, "received"), _texts(form, "reason"), strict=False))

    async def work() -> str:
        lines = [
            {"lot_code": code, "quantity": _quantity(raw, f"批次 {code} 实收数量"), "reason": reason}
            for code, raw, reason in rows
        ]
        body = schemas.TransferReceiveIn.model_validate({"lines": lines})
        transfer = await transfers.receive(
            session,
            number,
            actor_user_id=principal.user_id,
            received=[transfers.ReceivedLine(line.lot_code, line.quantity, line.reason) for line in body.lines],
        )
        short = sum(
            1
            for line in transfer.lines
            if line.quantity_received is not None and line.quantity_received < line.quantity_shipped
        )
        notice = f"调拨单 {transfer.number} 已签收" + (f"，{short} 行差异已记为在途损耗" if short else "，全数到货")
        return _url("/admin/transfers", notice=notice)

    try:
        return await _once(session, request, principal, form, work)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        return await _render_transfers(
            request,
            session,
            receive_values={number: {code: (raw, reason) for code, raw, reason in rows}},
            failed=number,
            errors=[line if number in line else f"调拨单 {number}：{line}" for line in page_errors(exc)],
            status_code=_status(exc),
        )


# ---- adjustments --------------------------------------------------------------------------------


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
    choices = await _variant_choices(session)
    return render(
        request,
        "admin/stock_adjustments.html",
        {
            "values": values,
            "kinds": ADJUSTMENT_KINDS,
            "location_groups": _grouped(await _locations(session)),
            "lots_in_stock": await _lots_in_stock(session),
            "recent": await views.ledger_out(session, recent),
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "document_types": DOCUMENT_TYPES,
            "idempotency_key": _new_key(),
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
        "location_code": location.strip() or await _default_location(session),
        "lot_code": lot.strip(),
        "kind": "spoilage",
    }
    return await _render_adjustments(request, session, values, notice=notice)


@router.post("/adjustments", dependencies=[CsrfProtected])
async def adjust_stock(request: Request, session: DbSession, principal: WarehouseUser) -> Response:
    """A correction with a reason: 调整 (±), 损耗 (−) or 退货 (+); one ledger row."""
    form = await request.form()
    values = {name: _text(form, name) for name in ("location_code", "lot_code", "kind", "quantity", "reason")}
    values["lot_code"] = values["lot_code"].upper()

    async def work() -> str:
        body = schemas.AdjustmentIn.model_validate(
            {
                "location_code": values["location_code"],
                "lot_code": values["lot_code"],
                "kind": values["kind"],
                "quantity": _quantity(values["quantity"], "数量"),
                "reason": values["reason"],
            }
        )
        await service.adjust(
            session,
            location_code=body.location_code,
            lot_code=body.lot_code,
            kind=body.kind,
            quantity=body.quantity,
            reason=body.reason,
            actor_user_id=principal.user_id,
        )
        sign = "" if body.kind == "adjustment" else ("−" if body.kind == "spoilage" else "+")
        notice = f"已记录{ADJUSTMENT_KINDS[body.kind]}：批次 {body.lot_code} {sign}{format_quantity(body.quantity)}"
        return _url("/admin/adjustments", notice=notice, location=body.location_code)

    try:
        return await _once(session, request, principal, form, work)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        return await _render_adjustments(request, session, values, errors=page_errors(exc), status_code=_status(exc))


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
            "location_groups": _grouped(await _locations(session)),
            "location_code": location_code or await _default_location(session),
            "idempotency_key": _new_key(),
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
    location_code = _text(form, "location_code")

    async def work() -> str:
        body = schemas.CountOpenIn.model_validate({"location_code": location_code})
        count = await counts.open_count(session, location_code=body.location_code, actor_user_id=principal.user_id)
        return _url(
            f"/admin/counts/{count.number}", notice=f"盘点单 {count.number} 已创建，共 {len(count.lines)} 个批次"
        )

    try:
        return await _once(session, request, principal, form, work)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        return await _render_counts(
            request, session, location_code=location_code, errors=page_errors(exc), status_code=_status(exc)
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
    choices = await _variant_choices(session)
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
            "idempotency_key": _new_key(),
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
    entered = dict(zip(_texts(form, "lot_code"), _texts(form, "counted"), strict=False))
    extra = (_text(form, "extra_lot").upper(), _text(form, "extra_counted"))
    counted = {code: _quantity(raw, f"批次 {code} 实盘数量") for code, raw in entered.items() if raw}
    if extra[0] or extra[1]:
        if not extra[0]:
            raise ValueError("新增批次：请填写批次号")
        counted[extra[0]] = _quantity(extra[1], f"批次 {extra[0]} 实盘数量")
    return counted, entered, extra


@router.post("/counts/{number}/save", dependencies=[CsrfProtected])
async def save_count(request: Request, number: str, session: DbSession, _: WarehouseUser) -> Response:
    """Save counted quantities; saving again overwrites (nothing moves until the sheet is posted)."""
    form = await request.form()
    entered: dict[str, str] = dict(zip(_texts(form, "lot_code"), _texts(form, "counted"), strict=False))
    extra = (_text(form, "extra_lot").upper(), _text(form, "extra_counted"))
    try:
        counted, entered, extra = _counted(form)
        sheet = await counts.record_counts(session, number, schemas.CountLinesIn(counted=counted).counted)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        return await _render_count(
            request, session, number, entered=entered, extra=extra, errors=page_errors(exc), status_code=_status(exc)
        )
    left = sum(1 for line in sheet.lines if line.counted is None)
    notice = f"已保存 {len(counted)} 个批次的实盘数量" + (f"，还有 {left} 个批次未录入" if left else "，可以过账")
    return RedirectResponse(_url(f"/admin/counts/{number}", notice=notice), status_code=303)


@router.post("/counts/{number}/post", dependencies=[CsrfProtected])
async def post_count(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """Save what is on the sheet, then write every difference to the ledger (kind 盘点差异)."""
    form = await request.form()
    entered: dict[str, str] = dict(zip(_texts(form, "lot_code"), _texts(form, "counted"), strict=False))
    extra = (_text(form, "extra_lot").upper(), _text(form, "extra_counted"))

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
        return _url(f"/admin/counts/{number}", notice=notice)

    try:
        return await _once(session, request, principal, form, work)
    except (ValidationError, AppError, ValueError) as exc:
        await session.rollback()
        return await _render_count(
            request, session, number, entered=entered, extra=extra, errors=page_errors(exc), status_code=_status(exc)
        )
