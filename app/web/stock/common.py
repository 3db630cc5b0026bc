"""What the stock pages share: the Chinese error lines with stock-form field labels, the location
pickers (the form toolkit is ``app.web.forms``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from app.catalog import repository as catalog_repository
from app.catalog.errors import VariantNotFound
from app.db import DbSession
from app.kit.errors import AppError, IdempotencyKeyReused
from app.kit.quantities import format_quantity
from app.kit.validation import field_name, zh_message
from app.supply import repository, schemas, service, views
from app.supply.errors import InsufficientStock, SupplierNotGrower
from app.supply.models import Location, LocationKind
from app.web import forms
from app.web.admin import form_errors

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


def page_errors(exc: forms.Refusal) -> list[str]:
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


async def variant_id(session: DbSession, sku: str) -> int:
    variant = await catalog_repository.variant_by_sku(session, sku)
    if variant is None:
        raise VariantNotFound(detail={"sku": sku})
    return variant.id


@dataclass
class LocationGroup:
    label: str
    locations: list[Location] = field(default_factory=list)


async def locations(session: DbSession, *, with_transit: bool = False) -> list[Location]:
    return [
        loc
        for loc in await repository.list_locations(session)
        if loc.is_active and (with_transit or loc.kind is not LocationKind.in_transit)
    ]


def grouped(locations: Iterable[Location]) -> list[LocationGroup]:
    """For ``<optgroup>``: warehouse, stores, stations, in transit — in that order."""
    groups: dict[LocationKind, LocationGroup] = {}
    for loc in locations:
        groups.setdefault(LocationKind(loc.kind), LocationGroup(LocationKind(loc.kind).label_zh)).locations.append(loc)
    return [groups[kind] for kind in LocationKind if kind in groups]


async def default_location(session: DbSession) -> str:
    try:
        return (await service.warehouse(session)).code
    except AppError:
        return ""


async def lots_in_stock(session: DbSession) -> list[schemas.LotOut]:
    """For the lot-code suggestions of the transfer and adjustment forms."""
    return await views.lots_out(session, await repository.list_lots(session, with_stock_only=True))


# ---- levels -------------------------------------------------------------------------------------
