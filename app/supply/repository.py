"""All SQL of the supply domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import BigInteger, Date, Integer, Numeric, Select, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Category, Product, Variant
from app.kit.models import any_of
from app.supply.models import (
    LedgerKind,
    Location,
    LocationKind,
    Lot,
    StockCount,
    StockLedgerEntry,
    StockLevel,
    Supplier,
    SupplierKind,
    SupplierProduct,
    Transfer,
)


async def supplier_by_code(session: AsyncSession, code: str) -> Supplier | None:
    return await session.scalar(select(Supplier).where(Supplier.code == code))


async def suppliers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Supplier]:
    if not ids:
        return {}
    return {s.id: s for s in await session.scalars(select(Supplier).where(Supplier.id.in_(set(ids))))}


async def list_suppliers(session: AsyncSession) -> Sequence[Supplier]:
    return (await session.scalars(select(Supplier).order_by(Supplier.code))).all()


async def is_registered_grower(session: AsyncSession, supplier_id: int, product_id: int) -> bool:
    found = await session.scalar(
        select(SupplierProduct.supplier_id).where(
            SupplierProduct.supplier_id == supplier_id, SupplierProduct.product_id == product_id
        )
    )
    return found is not None


async def register_growers(session: AsyncSession, supplier_id: int, product_ids: Sequence[int]) -> None:
    """Record that the supplier grows these products (already registered ones are left as they are)."""
    if product_ids:
        await session.execute(
            pg_insert(SupplierProduct)
            .values([{"supplier_id": supplier_id, "product_id": pid} for pid in sorted(set(product_ids))])
            .on_conflict_do_nothing()
        )


async def set_grown_products(session: AsyncSession, supplier_id: int, product_ids: Sequence[int]) -> None:
    """Make exactly these products the supplier's registered ones."""
    await session.execute(
        delete(SupplierProduct).where(
            SupplierProduct.supplier_id == supplier_id, SupplierProduct.product_id.not_in(set(product_ids))
        )
    )
    await register_growers(session, supplier_id, product_ids)


async def product_ids_by_slugs(session: AsyncSession, slugs: Sequence[str]) -> dict[str, int]:
    if not slugs:
        return {}
    return dict((await session.execute(select(Product.slug, Product.id).where(Product.slug.in_(set(slugs))))).all())


async def grown_product_slugs(session: AsyncSession, supplier_ids: Sequence[int]) -> dict[int, list[str]]:
    """Slugs of the products each supplier is registered for, in slug order."""
    result: dict[int, list[str]] = {supplier_id: [] for supplier_id in supplier_ids}
    if supplier_ids:
        rows = await session.execute(
            select(SupplierProduct.supplier_id, Product.slug)
            .join(Product, Product.id == SupplierProduct.product_id)
            .where(SupplierProduct.supplier_id.in_(set(supplier_ids)))
            .order_by(Product.slug)
        )
        for supplier_id, slug in rows:
            result[supplier_id].append(slug)
    return result


async def location_by_id(session: AsyncSession, location_id: int) -> Location | None:
    return await session.get(Location, location_id)


async def location_by_code(session: AsyncSession, code: str) -> Location | None:
    return await session.scalar(select(Location).where(Location.code == code))


_LOCATIONS_OF_KIND = (  # built once: every order looks up the warehouse it ships from
    select(Location)
    .where(Location.kind == bindparam("location_kind"), Location.is_active.is_(True))
    .order_by(Location.id)
)


async def locations_of_kind(session: AsyncSession, kind: LocationKind) -> Sequence[Location]:
    return (await session.scalars(_LOCATIONS_OF_KIND, {"location_kind": kind})).all()


async def list_locations(session: AsyncSession) -> Sequence[Location]:
    return (await session.scalars(select(Location).order_by(Location.kind, Location.code))).all()


async def location_for_station(session: AsyncSession, station_id: int) -> Location | None:
    return await session.scalar(select(Location).where(Location.station_id == station_id))


async def add_station_location(session: AsyncSession, *, station_id: int, code: str, name: str) -> Location | None:
    """The station's stock location, inserted when missing. ``ON CONFLICT DO NOTHING`` so two first
    consignments at one station racing each other both end up with the one location instead of one
    of them failing on the unique ``station_id``. None when another location already holds the code."""
    await session.execute(
        pg_insert(Location)
        .values(code=code, name=name, kind=LocationKind.station, station_id=station_id, is_active=True)
        .on_conflict_do_nothing()
    )
    return await session.scalar(select(Location).where(Location.station_id == station_id))


async def household_supplier_by_phone(session: AsyncSession, phone: str) -> Supplier | None:
    """A farmer household already registered with this phone (E.164)."""
    return await session.scalar(
        select(Supplier)
        .where(Supplier.kind == SupplierKind.household, Supplier.contact_phone == phone)
        .order_by(Supplier.id)
        .limit(1)
    )


async def location_for_store(session: AsyncSession, store_id: int) -> Location | None:
    return await session.scalar(select(Location).where(Location.store_id == store_id))


async def lot_by_code(session: AsyncSession, code: str) -> Lot | None:
    return await session.scalar(select(Lot).where(Lot.code == code))


async def lots_by_codes(session: AsyncSession, codes: Sequence[str]) -> dict[str, Lot]:
    if not codes:
        return {}
    return {lot.code: lot for lot in await session.scalars(select(Lot).where(Lot.code.in_(set(codes))))}


async def list_lots(
    session: AsyncSession, *, variant_id: int | None = None, with_stock_only: bool = False, limit: int = 200
) -> Sequence[tuple[Lot, Decimal]]:
    """Lots with their total on hand, expiring soonest first."""
    on_hand = func.coalesce(func.sum(StockLevel.on_hand), 0)
    stmt = (
        select(Lot, on_hand)
        .outerjoin(StockLevel, StockLevel.lot_id == Lot.id)
        .group_by(Lot.id)
        .order_by(Lot.best_before, Lot.id)
        .limit(limit)
    )
    if variant_id is not None:
        stmt = stmt.where(Lot.variant_id == variant_id)
    if with_stock_only:
        stmt = stmt.having(on_hand > 0)
    return [(lot, Decimal(qty)) for lot, qty in (await session.execute(stmt)).all()]


async def stock_rows(
    session: AsyncSession,
    *,
    variant_id: int | None = None,
    location_id: int | None = None,
    lot_id: int | None = None,
    only_nonzero: bool = True,
) -> Sequence[tuple[StockLevel, Lot, Location]]:
    stmt = (
        select(StockLevel, Lot, Location)
        .join(Lot, Lot.id == StockLevel.lot_id)
        .join(Location, Location.id == StockLevel.location_id)
        .order_by(StockLevel.variant_id, Location.code, StockLevel.best_before, StockLevel.id)
    )
    if variant_id is not None:
        stmt = stmt.where(StockLevel.variant_id == variant_id)
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    if lot_id is not None:
        stmt = stmt.where(StockLevel.lot_id == lot_id)
    if only_nonzero:
        stmt = stmt.where(StockLevel.on_hand > 0)
    return (await session.execute(stmt)).all()


async def ledger_entries(
    session: AsyncSession,
    *,
    variant_id: int | None = None,
    location_id: int | None = None,
    lot_id: int | None = None,
    kind: LedgerKind | None = None,
    document_ref: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[StockLedgerEntry]:
    """Newest first; ``before_id`` pages backwards (keyset pagination)."""
    stmt = select(StockLedgerEntry).order_by(StockLedgerEntry.id.desc()).limit(limit)
    filters = {
        StockLedgerEntry.variant_id: variant_id,
        StockLedgerEntry.location_id: location_id,
        StockLedgerEntry.lot_id: lot_id,
        StockLedgerEntry.kind: kind,
        StockLedgerEntry.document_ref: document_ref,
    }
    for column, value in filters.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(StockLedgerEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(StockLedgerEntry.created_at < until)
    if before_id is not None:
        stmt = stmt.where(StockLedgerEntry.id < before_id)
    return (await session.scalars(stmt)).all()


async def lot_journey(session: AsyncSession, lot_id: int) -> Sequence[tuple[StockLedgerEntry, Location]]:
    return (
        await session.execute(
            select(StockLedgerEntry, Location)
            .join(Location, Location.id == StockLedgerEntry.location_id)
            .where(StockLedgerEntry.lot_id == lot_id)
            .order_by(StockLedgerEntry.id)
        )
    ).all()


async def sold_per_lot(session: AsyncSession, document_ref: str) -> list[tuple[int, Decimal]]:
    """Per lot, the on-hand change the sales of a document made (negative: what left as sold)."""
    rows = await session.execute(
        select(StockLedgerEntry.lot_id, func.sum(StockLedgerEntry.on_hand_delta))
        .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == document_ref)
        .group_by(StockLedgerEntry.lot_id)
        .order_by(StockLedgerEntry.lot_id)
    )
    return [(int(lot_id), Decimal(delta)) for lot_id, delta in rows.all()]


async def rebuilt_levels(session: AsyncSession) -> dict[tuple[int, int], tuple[Decimal, Decimal]]:
    """(location, lot) → (on hand, reserved) summed from the ledger alone."""
    rows = await session.execute(
        select(
            StockLedgerEntry.location_id,
            StockLedgerEntry.lot_id,
            func.sum(StockLedgerEntry.on_hand_delta),
            func.sum(StockLedgerEntry.reserved_delta),
        ).group_by(StockLedgerEntry.location_id, StockLedgerEntry.lot_id)
    )
    return {(loc, lot): (Decimal(on_hand), Decimal(reserved)) for loc, lot, on_hand, reserved in rows}


async def stored_levels(session: AsyncSession) -> dict[tuple[int, int], tuple[Decimal, Decimal]]:
    rows = await session.execute(
        select(StockLevel.location_id, StockLevel.lot_id, StockLevel.on_hand, StockLevel.reserved)
    )
    return {(loc, lot): (Decimal(on_hand), Decimal(reserved)) for loc, lot, on_hand, reserved in rows}


async def available_by_variant(
    session: AsyncSession,
    *,
    variant_ids: Sequence[int],
    location_ids: Sequence[int],
    today: date,
    min_remaining_fraction: Decimal,
) -> dict[int, Decimal]:
    """Sellable on hand minus reserved per variant: lots not expired and, for channels that ask,
    with at least that fraction of the product's shelf life left."""
    if not variant_ids or not location_ids:
        return {}
    rows = await session.execute(
        _available_by_variant(),
        {
            "variant_ids": list(variant_ids),
            "location_ids": list(location_ids),
            "today": today,
            "min_remaining_fraction": min_remaining_fraction,
        },
    )
    return {variant_id: Decimal(qty) for variant_id, qty in rows}


@cache
def _available_by_variant() -> Select[int, Decimal]:
    """Built once with bound parameters: every order of every channel checks its basket with it,
    and building the statement cost more CPU than PostgreSQL takes to answer it."""
    fraction = bindparam("min_remaining_fraction", type_=Numeric(6, 4))
    min_days = func.ceil(Product.shelf_life_days * fraction).cast(Integer)
    return (
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(Variant, Variant.id == StockLevel.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(
            any_of(StockLevel.variant_id, "variant_ids", BigInteger()),
            any_of(StockLevel.location_id, "location_ids", BigInteger()),
            StockLevel.best_before >= bindparam("today", type_=Date) + min_days,
        )
        .group_by(StockLevel.variant_id)
    )


async def lot_with_context(session: AsyncSession, code: str) -> tuple[Lot, Variant, Product, Category, Supplier] | None:
    """A lot with what its label and trace page show: SKU, product, category and grower, in one query."""
    row = (
        await session.execute(
            select(Lot, Variant, Product, Category, Supplier)
            .join(Variant, Variant.id == Lot.variant_id)
            .join(Product, Product.id == Variant.product_id)
            .join(Category, Category.id == Product.category_id)
            .join(Supplier, Supplier.id == Lot.supplier_id)
            .where(Lot.code == code)
        )
    ).first()
    if row is None:
        return None
    lot, variant, product, category, supplier = row
    return lot, variant, product, category, supplier


async def transfers_by_numbers(session: AsyncSession, numbers: Sequence[str]) -> dict[str, Transfer]:
    """Transfer headers (no lines) by number."""
    if not numbers:
        return {}
    return {t.number: t for t in await session.scalars(select(Transfer).where(Transfer.number.in_(set(numbers))))}


async def locations_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Location]:
    if not ids:
        return {}
    return {loc.id: loc for loc in await session.scalars(select(Location).where(Location.id.in_(set(ids))))}


async def recent_counts(session: AsyncSession, *, limit: int = 20) -> list[tuple[StockCount, Location]]:
    """Count sheets, newest first, with their location (the ops console lists open and posted ones)."""
    rows = await session.execute(
        select(StockCount, Location)
        .join(Location, Location.id == StockCount.location_id)
        .order_by(StockCount.id.desc())
        .limit(limit)
    )
    return [(count, location) for count, location in rows]


async def location_codes_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict((await session.execute(select(Location.id, Location.code).where(Location.id.in_(wanted)))).all())


async def lot_codes_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict((await session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(wanted)))).all())
