"""Upstream (上行): farm produce a household or co-operative brings to its village station.

The station weighs it and records it; the produce enters stock as a lot (origin ``upstream``) at
the station's own stock location and leaves at once on a transfer to the county warehouse, so it
travels as an inbound lot in transit and the warehouse receives it with the ordinary transfer
receive flow (shortfalls written off with their reason there). The lot label the station prints
carries the lot code, whose QR opens the trace page naming the grower. A household becomes a
registered grower of what it brings; a co-operative or farm chosen by code must already be one
(a station cannot confirm a grower exception: that is the warehouse's call).

Quantities stay exact: the weight is Decimal kg to the gram; a kg variant's lot holds that weight,
a 斤 variant's lot twice it (1 kg = 2 斤, so still exact); piece and box variants need the whole
count the farmer brought, since a weight cannot be turned into pieces.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog_repository
from app.catalog.errors import VariantNotFound
from app.kit import clock
from app.kit.errors import Conflict, InvalidInput
from app.kit.numbers import NumberClash
from app.kit.phones import normalise_cn_phone
from app.kit.quantities import QUANTITY_QUANTUM, Unit
from app.stations import repository
from app.stations.errors import StationNotFound
from app.stations.models import Consignment, Station
from app.supply import repository as supply_repository
from app.supply import service as supply_service
from app.supply import transfers
from app.supply.errors import SupplierNotFound
from app.supply.models import Location, LotOrigin, Supplier, SupplierKind

JIN_PER_KG = Decimal(2)


class InvalidWeight(InvalidInput):
    code = "invalid_weight"
    message = "重量须大于 0，以千克计，最多三位小数（精确到克）"


class SupplierChoiceInvalid(InvalidInput):
    code = "supplier_choice_invalid"
    message = "请填写供应商编码，或填写新农户的姓名、村与电话（二选一）"


class WholeCountRequired(InvalidInput):
    code = "whole_count_required"
    message = "按个或按箱计的商品须填写整数数量"


class StationLocationTaken(Conflict):
    code = "station_location_taken"
    message = "村站编码已被其他库位占用，无法建立村站库位"


@dataclass(frozen=True)
class NewHousehold:
    """A farmer household not yet registered as a supplier."""

    name: str
    phone: str
    village: str = ""


def new_consignment_number(today: date) -> str:
    return f"UP{today:%y%m%d}-{secrets.token_hex(3).upper()}"


async def _unused_consignment_number(session: AsyncSession, today: date) -> str:
    """The number is printed into the lot's notes and the transfer before the consignment row
    exists, so a clash is avoided up front (the unique constraint still guards the race)."""
    for _ in range(5):
        number = new_consignment_number(today)
        if not await repository.consignment_number_taken(session, number):
            return number
    raise NumberClash()


def check_weight(weight_kg: Decimal) -> Decimal:
    if not weight_kg.is_finite() or weight_kg <= 0 or weight_kg != weight_kg.quantize(QUANTITY_QUANTUM):
        raise InvalidWeight(detail={"weight_kg": str(weight_kg)})
    return weight_kg.quantize(QUANTITY_QUANTUM)


def lot_quantity(unit: Unit, weight_kg: Decimal, quantity: Decimal | None) -> Decimal:
    """What the lot holds in the variant's own unit: the weight for kg, twice it for 斤, the given
    whole count for pieces and boxes. A count that contradicts the weight is refused, not ignored."""
    if unit is Unit.kg or unit is Unit.jin:
        derived = weight_kg if unit is Unit.kg else weight_kg * JIN_PER_KG
        if quantity is not None and quantity != derived:
            raise InvalidInput(
                f"按{unit.label_zh}计的商品数量由重量得出（{derived}），无需另填",
                detail={"quantity": str(quantity), "expected": str(derived)},
            )
        return derived
    if quantity is None or quantity <= 0 or quantity != quantity.to_integral_value():
        raise WholeCountRequired(detail={"unit": unit.value, "quantity": None if quantity is None else str(quantity)})
    return quantity


async def station_or_404(session: AsyncSession, station_id: int) -> Station:
    station = await repository.station_by_id(session, station_id)
    if station is None:
        raise StationNotFound(detail={"station_id": station_id})
    return station


async def station_location(session: AsyncSession, station: Station) -> Location:
    """The station's stock location (kind ``station``), created on first use."""
    location = await supply_service.station_location(
        session, station_id=station.id, code=station.code, name=station.name
    )
    if location is None:
        raise StationLocationTaken(detail={"code": station.code})
    return location


async def _supplier(
    session: AsyncSession, station: Station, supplier_code: str | None, household: NewHousehold | None, today: date
) -> Supplier:
    if (supplier_code is None) == (household is None):
        raise SupplierChoiceInvalid()
    if supplier_code is not None:
        supplier = await supply_repository.supplier_by_code(session, supplier_code)
        if supplier is None:
            raise SupplierNotFound(detail={"supplier_code": supplier_code})
        return supplier
    assert household is not None
    name = household.name.strip()
    village = household.village.strip() or station.village
    if not name or len(name) > 50 or len(village) > 50:
        raise InvalidInput("农户姓名须为 1–50 个字符，村名最多 50 个字符")
    try:
        phone = normalise_cn_phone(household.phone)
    except ValueError as exc:
        raise InvalidInput(str(exc), detail={"phone": household.phone}) from exc
    return await supply_service.household_supplier(
        session, name=name, phone=phone, township=station.township, village=village, today=today
    )


async def record_consignment(
    session: AsyncSession,
    *,
    station_id: int,
    sku: str,
    weight_kg: Decimal,
    harvest_date: date,
    value_minor: int,
    actor_user_id: int,
    supplier_code: str | None = None,
    household: NewHousehold | None = None,
    quantity: Decimal | None = None,
    grade: str = "",
    certificate_no: str = "",
    today: date | None = None,
) -> Consignment:
    """Receive a farmer's produce at ``station_id`` as an upstream lot and ship it to the county
    warehouse. Give either ``supplier_code`` or ``household`` (a new household supplier, reused by
    phone on later deliveries). ``value_minor`` is what the farmer is paid or the produce is valued
    at, in fen. The returned consignment names its lot (the code the station prints on the label)
    and its transfer (what the warehouse receives)."""
    today = today or clock.today()
    weight_kg = check_weight(weight_kg)
    if isinstance(value_minor, bool) or value_minor < 0:
        raise InvalidInput("货值须为不小于 0 的整数（分）", detail={"value_minor": value_minor})
    if harvest_date > today:
        raise InvalidInput("采收日期不能晚于今天", detail={"harvest_date": harvest_date.isoformat()})
    station = await station_or_404(session, station_id)
    variant = await catalog_repository.variant_by_sku(session, sku)
    if variant is None:
        raise VariantNotFound(detail={"sku": sku})
    lot_qty = lot_quantity(Unit(variant.unit), weight_kg, quantity)
    supplier = await _supplier(session, station, supplier_code, household, today)
    if SupplierKind(supplier.kind) is SupplierKind.household:
        # A household brings its own harvest to its village station, where the operator sees
        # the produce and registers the household: it is the grower of what it brings. Other
        # suppliers must already be registered growers of the product (supply_service.receive_lot).
        await supply_service.register_grower(session, supplier.id, variant.product_id)
    source = await station_location(session, station)
    warehouse = await supply_service.warehouse(session)
    number = await _unused_consignment_number(session, today)
    lot = await supply_service.receive_lot(
        session,
        supply_service.ReceiptInput(
            sku=sku,
            supplier_code=supplier.code,
            quantity=lot_qty,
            harvest_date=harvest_date,
            grade=grade,
            certificate_no=certificate_no,
            quality_notes=f"村站上行 {number}（{station.name}）",
            location_code=source.code,
            origin=LotOrigin.upstream,
        ),
        actor_user_id=actor_user_id,
        today=today,
    )
    transfer = await transfers.ship(
        session,
        from_code=source.code,
        to_code=warehouse.code,
        lines=[transfers.ShipLine(lot.code, lot_qty)],
        note=f"上行 {number}：{station.name} → {warehouse.name}",
        actor_user_id=actor_user_id,
    )
    consignment = Consignment(
        number=number,
        station_id=station.id,
        supplier_id=supplier.id,
        lot_id=lot.id,
        transfer_id=transfer.id,
        weight_kg=weight_kg,
        value_minor=value_minor,
        created_by_id=actor_user_id,
    )
    session.add(consignment)
    await session.flush()
    return consignment
