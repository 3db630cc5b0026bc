"""Supply rules: receiving harvest lots, adjustments, availability per channel, the trace of a lot.

Reservations, transfers and counts have their own modules; every stock change goes through
``app.supply.stock`` so it is one level update plus one ledger row.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog_repository
from app.catalog.errors import VariantNotFound
from app.catalog.models import Product
from app.channels import SalesChannel
from app.db import process_memo
from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.numbers import add_with_unique_number
from app.kit.quantities import Unit
from app.supply import errors, repository
from app.supply.models import LedgerKind, Location, LocationKind, Lot, LotOrigin, Supplier, SupplierKind
from app.supply.stock import Movement, add_on_hand, remove_on_hand

LOT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: codes are read aloud and typed


def min_remaining_fraction(channel: SalesChannel) -> Decimal:
    """The share of its shelf life a lot must still have to be sold through ``channel`` (its
    policy: wholesale and cross-border buyers need produce that keeps; the shop and the counter
    sell anything not yet past its best-before)."""
    return SalesChannel(channel).policy.min_remaining_fraction()


def min_best_before(channel: SalesChannel, shelf_life_days: int, today: date | None = None) -> date:
    from math import ceil

    today = today or clock.today()
    return today + timedelta(days=ceil(shelf_life_days * min_remaining_fraction(channel)))


def new_lot_code(today: date) -> str:
    return f"LT{today:%y%m%d}-" + "".join(secrets.choice(LOT_ALPHABET) for _ in range(6))


def check_quantity_for_unit(quantity: Decimal, unit: Unit) -> None:
    """Pieces and boxes are whole; weights are exact to the gram (kg) or 0.1 斤 steps of 50 g."""
    if quantity <= 0:
        raise errors.InvalidStockQuantity("数量必须大于 0")
    if unit in (Unit.piece, Unit.box) and quantity != quantity.to_integral_value():
        raise errors.InvalidStockQuantity(f"按{unit.label_zh}计的商品数量必须是整数")


async def warehouse(session: AsyncSession) -> Location:
    """The county warehouse, from which the shop, wholesale and cross-border channels ship."""
    found = await repository.locations_of_kind(session, LocationKind.warehouse)
    if not found:
        raise errors.LocationNotFound("尚未设置县级仓库库位")
    session.info[_WAREHOUSE_ID] = found[0].id
    return found[0]


_WAREHOUSE_ID = "supply.warehouse_id"


async def warehouse_id(session: AsyncSession) -> int:
    """The county warehouse's location id, read once per web process (every order of the shop,
    wholesale and cross-border channels needs it; locations are never deleted, so the id of the one
    found stays right: replacing the warehouse by hand in the database needs the web processes
    restarted) or, outside a request, once per unit of work. Only the id is kept: it stays
    valid after a rollback, which expires the ORM objects the session holds."""
    memo = process_memo(session)
    known = session.info.get(_WAREHOUSE_ID) or (memo.get(_WAREHOUSE_ID) if memo is not None else None)
    if known is None:
        known = (await warehouse(session)).id
        if memo is not None:
            memo[_WAREHOUSE_ID] = known
    return int(known)


async def in_transit(session: AsyncSession) -> Location:
    found = await repository.locations_of_kind(session, LocationKind.in_transit)
    if not found:
        raise errors.LocationNotFound("尚未设置在途库位")
    return found[0]


async def location_or_404(session: AsyncSession, code: str) -> Location:
    location = await repository.location_by_code(session, code)
    if location is None:
        raise errors.LocationNotFound(detail={"location": code})
    return location


async def lot_or_404(session: AsyncSession, code: str) -> Lot:
    lot = await repository.lot_by_code(session, code)
    if lot is None:
        raise errors.LotNotFound(detail={"lot": code})
    return lot


@dataclass(frozen=True)
class ReceiptInput:
    sku: str
    supplier_code: str
    quantity: Decimal
    harvest_date: date
    best_before: date | None = None
    grade: str = ""
    certificate_no: str = ""
    quality_notes: str = ""
    location_code: str | None = None
    origin: LotOrigin = LotOrigin.receipt
    # The supplier is not a registered grower of the product and the receiving warehouse user
    # takes the lot in anyway (dealer, produce collected for others), with the reason.
    grower_exception: bool = False
    grower_exception_reason: str = ""
    # What the centre paid per unit, in fen (optional): the upward flow's value (app.county).
    purchase_price_minor: int | None = None


async def grower_exception(
    session: AsyncSession, supplier: Supplier, product: Product, data: ReceiptInput, actor_user_id: int | None
) -> str | None:
    """The exception reason to record on the lot, or None when the supplier grows the product.

    A lot names its supplier as the producer on the public trace page, so produce is received only
    from a registered grower of it (``supplier_products``). Otherwise a person has to confirm the
    exception and say why; without a confirming user (the demo seeder, a task) there is none.
    A confirmation sent for a registered grower is not needed and not recorded: the lot is an
    ordinary one and its page names the grower.
    """
    if await repository.is_registered_grower(session, supplier.id, product.id):
        return None
    if not data.grower_exception or actor_user_id is None:
        raise errors.SupplierNotGrower(
            f"供应商“{supplier.name}”（{supplier.code}）未登记为“{product.name_zh}”的生产者。"
            "请选择该商品的登记生产者；如确为经销或代收，请勾选“按例外收货”并填写原因",
            detail={
                "supplier_code": supplier.code,
                "supplier_name": supplier.name,
                "product": product.slug,
                "product_name_zh": product.name_zh,
            },
        )
    reason = data.grower_exception_reason.strip()
    if not reason:
        raise errors.GrowerExceptionReasonRequired(detail={"field": "grower_exception_reason"})
    return reason


async def receive_lot(
    session: AsyncSession, data: ReceiptInput, *, actor_user_id: int | None, today: date | None = None
) -> Lot:
    """Produce enters stock as a lot: supplier, harvest date, grade, best-before (from the
    product's shelf life unless given), compliance certificate (承诺达标合格证) number."""
    today = today or clock.today()
    variant = await catalog_repository.variant_by_sku(session, data.sku)
    if variant is None:
        raise VariantNotFound(detail={"sku": data.sku})
    supplier = await repository.supplier_by_code(session, data.supplier_code)
    if supplier is None:
        raise errors.SupplierNotFound(detail={"supplier_code": data.supplier_code})
    check_quantity_for_unit(data.quantity, Unit(variant.unit))
    if data.harvest_date > today:
        raise InvalidInput("采收日期不能晚于今天", detail={"harvest_date": data.harvest_date.isoformat()})
    best_before = data.best_before or data.harvest_date + timedelta(days=variant.product.shelf_life_days)
    if best_before < data.harvest_date:
        raise InvalidInput("保质期截止日不能早于采收日期")
    if best_before < today:
        raise InvalidInput("该批次已过保质期，不能入库", detail={"best_before": best_before.isoformat()})
    location = await (location_or_404(session, data.location_code) if data.location_code else warehouse(session))
    if location.kind is LocationKind.in_transit and data.origin is not LotOrigin.upstream:
        raise InvalidInput("入库库位不能是在途库位")
    exception_reason = await grower_exception(session, supplier, variant.product, data, actor_user_id)
    lot = Lot(
        code=new_lot_code(today),
        variant_id=variant.id,
        supplier_id=supplier.id,
        harvest_date=data.harvest_date,
        best_before=best_before,
        grade=data.grade or variant.grade,
        certificate_no=data.certificate_no,
        quality_notes=data.quality_notes,
        quantity_received=data.quantity,
        purchase_price_minor=data.purchase_price_minor,
        origin=data.origin,
        received_location_id=location.id,
        received_by_id=actor_user_id,
        grower_exception_reason=exception_reason,
        grower_exception_by_id=actor_user_id if exception_reason is not None else None,
    )
    await add_with_unique_number(session, lot, field="code", draw=lambda: new_lot_code(today))
    await add_on_hand(
        session,
        location_id=location.id,
        lot=lot,
        quantity=data.quantity,
        movement=Movement(
            LedgerKind.receipt,
            "lot",
            lot.code,
            actor_user_id,
            f"收货：{supplier.name}"
            + (f"，合格证 {data.certificate_no}" if data.certificate_no else "")
            + (f"，非登记生产者（{exception_reason}）" if exception_reason else ""),
        ),
    )
    await session.flush()
    return lot


ADJUSTMENT_KINDS = {"adjustment": LedgerKind.adjustment, "spoilage": LedgerKind.spoilage, "return": LedgerKind.return_}


async def adjust(
    session: AsyncSession,
    *,
    location_code: str,
    lot_code: str,
    kind: str,
    quantity: Decimal,
    reason: str,
    actor_user_id: int,
) -> None:
    """A correction with a reason: ``adjustment`` takes a signed quantity, ``spoilage`` (损耗)
    removes and ``return`` adds back."""
    if kind not in ADJUSTMENT_KINDS:
        raise InvalidInput("调整类型须为 adjustment、spoilage 或 return")
    if not reason.strip():
        raise InvalidInput("库存调整必须填写原因")
    if quantity == 0:
        raise errors.InvalidStockQuantity("调整数量不能为 0")
    if kind != "adjustment" and quantity < 0:
        raise errors.InvalidStockQuantity("损耗和退货数量请填正数")
    location = await location_or_404(session, location_code)
    lot = await lot_or_404(session, lot_code)
    variant = await catalog_repository.variant_by_id(session, lot.variant_id)
    assert variant is not None
    check_quantity_for_unit(abs(quantity), Unit(variant.unit))
    movement = Movement(
        ADJUSTMENT_KINDS[kind],
        "adjustment",
        f"ADJ{clock.today():%y%m%d}-{secrets.token_hex(3).upper()}",
        actor_user_id,
        reason.strip(),
    )
    adds = kind == "return" or (kind == "adjustment" and quantity > 0)
    if adds:
        await add_on_hand(session, location_id=location.id, lot=lot, quantity=abs(quantity), movement=movement)
    else:
        await remove_on_hand(session, location_id=location.id, lot=lot, quantity=abs(quantity), movement=movement)
    await session.flush()


async def return_sale(
    session: AsyncSession,
    *,
    sale_ref: str,
    location_id: int,
    document_type: str,
    document_ref: str,
    actor_user_id: int | None,
    reason: str,
) -> None:
    """Goods sold under ``sale_ref`` (an order number) came back: each lot the sale took is put back
    on hand at ``location_id`` as a ``return`` ledger row of the returning document."""
    for lot_id, delta in await repository.sold_per_lot(session, sale_ref):
        lot = await session.get(Lot, lot_id)
        assert lot is not None
        await add_on_hand(
            session,
            location_id=location_id,
            lot=lot,
            quantity=-delta,
            movement=Movement(LedgerKind.return_, document_type, document_ref, actor_user_id, reason),
        )
    await session.flush()


async def station_location(session: AsyncSession, *, station_id: int, code: str, name: str) -> Location | None:
    """A village station's stock location (kind ``station``, the station's code), created on first
    use; None when another location already holds that code."""
    location = await repository.location_for_station(session, station_id)
    if location is None:
        location = await repository.add_station_location(session, station_id=station_id, code=code, name=name)
    return location


def new_household_code(today: date) -> str:
    return f"HH{today:%y%m%d}-{secrets.token_hex(3).upper()}"


async def household_supplier(
    session: AsyncSession, *, name: str, phone: str, township: str, village: str, today: date
) -> Supplier:
    """The farmer household registered with ``phone`` (E.164), registered now when it is new: a
    second delivery by the same family does not create a second grower."""
    existing = await repository.household_supplier_by_phone(session, phone)
    if existing is not None:
        return existing
    supplier = Supplier(
        code=new_household_code(today),
        name=name,
        kind=SupplierKind.household,
        township=township,
        village=village,
        contact_name=name,
        contact_phone=phone,
        certifications=[],
    )
    await add_with_unique_number(session, supplier, field="code", draw=lambda: new_household_code(today))
    return supplier


async def register_grower(session: AsyncSession, supplier_id: int, product_id: int) -> None:
    """Record that the supplier grows the product (kept when it was known already)."""
    await repository.register_growers(session, supplier_id, [product_id])


async def available_to_sell(
    session: AsyncSession,
    variant_ids: list[int],
    *,
    channel: SalesChannel,
    location_ids: list[int] | None = None,
    today: date | None = None,
) -> dict[int, Decimal]:
    """What a channel can sell now, per variant, from the locations given or else the channel's
    own (its policy: the county warehouse for the shop, wholesale and cross-border; a store's
    counter names its store's location)."""
    if location_ids is None:
        kind = SalesChannel(channel).policy.stock_location_kind
        if kind != LocationKind.warehouse:
            raise ValueError(f"channel {channel} sells from a {kind} location: name it")
        location_ids = [await warehouse_id(session)]
    return await repository.available_by_variant(
        session,
        variant_ids=variant_ids,
        location_ids=location_ids,
        today=today or clock.today(),
        min_remaining_fraction=min_remaining_fraction(channel),
    )


async def create_supplier(session: AsyncSession, supplier: Supplier, grows: Sequence[str] = ()) -> Supplier:
    """A new supplier, registered as a grower of the products whose slugs are in ``grows``."""
    if await repository.supplier_by_code(session, supplier.code) is not None:
        from app.kit.errors import Conflict

        raise Conflict("供应商编码已存在")
    product_ids = await _product_ids(session, grows)
    session.add(supplier)
    await session.flush()
    await repository.register_growers(session, supplier.id, product_ids)
    return supplier


async def set_grown_products(session: AsyncSession, supplier_code: str, grows: Sequence[str]) -> Supplier:
    """Replace what the supplier is registered to grow. Lots already received keep what was
    recorded on them when they came in."""
    supplier = await repository.supplier_by_code(session, supplier_code)
    if supplier is None:
        raise errors.SupplierNotFound(detail={"supplier_code": supplier_code})
    await repository.set_grown_products(session, supplier.id, await _product_ids(session, grows))
    await session.flush()
    return supplier


async def _product_ids(session: AsyncSession, slugs: Sequence[str]) -> list[int]:
    found = await repository.product_ids_by_slugs(session, slugs)
    missing = sorted(set(slugs) - found.keys())
    if missing:
        raise errors.ProductsNotFound(f"找不到这些商品：{'、'.join(missing)}", detail={"products": missing})
    return list(found.values())
