"""All SQL of the catalog domain. Relations are loaded explicitly (no lazy loading in async code)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, String, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from app.catalog.models import (
    CatalogState,
    Category,
    PriceList,
    PriceListItem,
    PriceListKind,
    PriceTier,
    Product,
    ProductImage,
    Variant,
)
from app.kit.models import any_of


@dataclass(frozen=True)
class PriceCandidate:
    kind: PriceListKind
    code: str
    currency: str
    item: PriceListItem


def _product_options() -> list[_AbstractLoad]:
    return [
        selectinload(Product.category),
        selectinload(Product.variants),
        selectinload(Product.images),
    ]


async def list_categories(session: AsyncSession) -> Sequence[Category]:
    return (await session.scalars(select(Category).order_by(Category.sort_order, Category.id))).all()


async def category_by_id(session: AsyncSession, category_id: int) -> Category | None:
    return await session.get(Category, category_id)


async def category_by_slug(session: AsyncSession, slug: str) -> Category | None:
    return await session.scalar(select(Category).where(Category.slug == slug))


async def list_products(
    session: AsyncSession,
    *,
    q: str | None = None,
    category_slug: str | None = None,
    supply_only: bool = False,
    include_inactive: bool = False,
) -> Sequence[Product]:
    stmt = select(Product).options(*_product_options()).order_by(Product.id)
    if not include_inactive:
        stmt = stmt.where(Product.is_active.is_(True))
    if category_slug:
        stmt = stmt.join(Product.category).where(Category.slug == category_slug)
    if q:
        pattern = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                Product.name_zh.ilike(pattern),
                Product.name_en.ilike(pattern),
                Product.id.in_(
                    select(Variant.product_id).where(
                        or_(Variant.sku.ilike(pattern), Variant.barcode == q.strip(), Variant.name_zh.ilike(pattern))
                    )
                ),
            )
        )
    if supply_only:
        stmt = stmt.where(
            Product.id.in_(
                select(Variant.product_id).where(Variant.is_supply_sku.is_(True), Variant.is_active.is_(True))
            )
        )
    return (await session.scalars(stmt)).all()


async def product_by_slug(session: AsyncSession, slug: str) -> Product | None:
    return await session.scalar(select(Product).where(Product.slug == slug).options(*_product_options()))


async def product_by_id(session: AsyncSession, product_id: int, *, refresh: bool = False) -> Product | None:
    """``refresh`` reloads a product already in the session (after its variants or images changed)."""
    stmt = select(Product).where(Product.id == product_id).options(*_product_options())
    if refresh:
        stmt = stmt.execution_options(populate_existing=True)
    return await session.scalar(stmt)


async def variant_by_id(session: AsyncSession, variant_id: int) -> Variant | None:
    return await session.scalar(select(Variant).where(Variant.id == variant_id).options(selectinload(Variant.product)))


async def variant_by_sku(session: AsyncSession, sku: str) -> Variant | None:
    return await session.scalar(select(Variant).where(Variant.sku == sku).options(selectinload(Variant.product)))


async def variants_by_sku(session: AsyncSession, skus: Sequence[str]) -> dict[str, Variant]:
    """:func:`variant_by_sku` for many SKUs in one statement (products loaded by the same join)."""
    if not skus:
        return {}
    rows = await session.scalars(
        select(Variant).join(Variant.product).where(Variant.sku.in_(set(skus))).options(contains_eager(Variant.product))
    )
    return {v.sku: v for v in rows}


async def variant_by_barcode(session: AsyncSession, barcode: str) -> Variant | None:
    return await session.scalar(select(Variant).where(Variant.barcode == barcode))


async def variant_by_plu(session: AsyncSession, plu: int) -> Variant | None:
    return await session.scalar(select(Variant).where(Variant.plu == plu))


_ACTIVE_VARIANTS_BY_SKU = (  # built once: every order and counter sale prices its lines through it
    select(Variant)
    .join(Variant.product)
    .where(any_of(Variant.sku, "skus", String()), Variant.is_active.is_(True), Product.is_active.is_(True))
    .options(contains_eager(Variant.product))
)


async def active_variants_by_sku(session: AsyncSession, skus: Sequence[str]) -> dict[str, Variant]:
    """Active variants of active products by SKU, each with its product (from the same join: an
    order line is named after both and held by the product's shelf life)."""
    if not skus:
        return {}
    rows = await session.scalars(_ACTIVE_VARIANTS_BY_SKU, {"skus": sorted(set(skus))})
    return {v.sku: v for v in rows}


async def price_items_for(
    session: AsyncSession,
    variant_ids: Sequence[int],
    *,
    list_codes: Sequence[str],
    company_id: int | None,
) -> dict[int, list[PriceCandidate]]:
    """Every active price-list item that could price these variants, grouped by variant."""
    if not variant_ids:
        return {}
    params: dict[str, Any] = {"variant_ids": list(variant_ids), "list_codes": list(list_codes)}
    if company_id is not None:
        params["company_id"] = company_id
    rows = await session.execute(_price_items(with_company=company_id is not None), params)
    found: dict[int, list[PriceCandidate]] = {}
    for item, kind, code, currency in rows.unique():
        found.setdefault(item.variant_id, []).append(PriceCandidate(PriceListKind(kind), code, currency, item))
    return found


@cache
def _price_items(*, with_company: bool) -> Select[PriceListItem, str, str, str]:
    """Built once per shape with bound parameters (every order prices its lines with it). The tiers
    come in the same statement (an item has a handful at most): one round trip fewer per order."""
    list_filter: ColumnElement[bool] = any_of(PriceList.code, "list_codes", String())
    if with_company:
        list_filter = or_(list_filter, PriceList.company_id == bindparam("company_id", type_=BigInteger))
    return (
        select(PriceListItem, PriceList.kind, PriceList.code, PriceList.currency)
        .join(PriceList, PriceList.id == PriceListItem.price_list_id)
        .outerjoin(PriceListItem.tiers)
        .where(
            any_of(PriceListItem.variant_id, "variant_ids", BigInteger()),
            PriceList.is_active.is_(True),
            list_filter,
        )
        .options(contains_eager(PriceListItem.tiers))
        .order_by(PriceListItem.id, PriceTier.min_quantity)  # the tiers in the relationship's order
    )


async def price_list_by_code(session: AsyncSession, code: str) -> PriceList | None:
    return await session.scalar(select(PriceList).where(PriceList.code == code))


async def price_list_for_company(session: AsyncSession, company_id: int) -> PriceList | None:
    return await session.scalar(select(PriceList).where(PriceList.company_id == company_id))


async def list_price_lists(session: AsyncSession) -> Sequence[PriceList]:
    return (await session.scalars(select(PriceList).order_by(PriceList.kind, PriceList.code))).all()


async def price_list_items(session: AsyncSession, price_list_id: int) -> Sequence[PriceListItem]:
    return (
        await session.scalars(
            select(PriceListItem)
            .where(PriceListItem.price_list_id == price_list_id)
            .options(selectinload(PriceListItem.tiers))
            .order_by(PriceListItem.variant_id)
        )
    ).all()


async def price_item(session: AsyncSession, price_list_id: int, variant_id: int) -> PriceListItem | None:
    return await session.scalar(
        select(PriceListItem)
        .where(PriceListItem.price_list_id == price_list_id, PriceListItem.variant_id == variant_id)
        .options(selectinload(PriceListItem.tiers))
    )


async def image_by_id(session: AsyncSession, image_id: int) -> ProductImage | None:
    return await session.get(ProductImage, image_id)


async def slug_exists(
    session: AsyncSession, model: type[Product] | type[Category], slug: str, exclude_id: int | None = None
) -> bool:
    stmt = select(model.id).where(model.slug == slug)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return await session.scalar(stmt) is not None


async def active_variants_with_products(session: AsyncSession, skus: Sequence[str]) -> dict[str, Variant]:
    """Active variants of active products by SKU, each with its product loaded (cart and checkout
    pages name the product next to the variant)."""
    if not skus:
        return {}
    rows = await session.scalars(
        select(Variant)
        .join(Variant.product)
        .where(Variant.sku.in_(set(skus)), Variant.is_active.is_(True), Product.is_active.is_(True))
        .options(selectinload(Variant.product))
    )
    return {v.sku: v for v in rows}


async def shelf_life_days(session: AsyncSession, variant_ids: Sequence[int]) -> dict[int, int]:
    """Each variant's product shelf life in days (what FEFO's minimum best-before is counted from)."""
    rows = await session.execute(
        select(Variant.id, Product.shelf_life_days)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id.in_(list(variant_ids)))
    )
    return {variant_id: int(days) for variant_id, days in rows}


async def skus_by_ids(session: AsyncSession, variant_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(variant_ids)
    if not wanted:
        return {}
    return dict((await session.execute(select(Variant.id, Variant.sku).where(Variant.id.in_(wanted)))).all())


async def skus_and_product_names(session: AsyncSession, variant_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Each variant's SKU and its product's Chinese name."""
    wanted = set(variant_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Variant.id, Variant.sku, Product.name_zh)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.id.in_(wanted))
    )
    return {variant_id: (sku, name) for variant_id, sku, name in rows}


async def catalog_version(session: AsyncSession) -> int:
    """The version a trigger bumps on every write to a catalog table (``app.catalog.cache``)."""
    version = await session.scalar(select(CatalogState.version).where(CatalogState.id == 1))
    return int(version or 0)


async def count_products(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Product)) or 0)


async def count_variants(session: AsyncSession, *, supply_skus_only: bool = False) -> int:
    stmt = select(func.count()).select_from(Variant)
    if supply_skus_only:
        stmt = stmt.where(Variant.is_supply_sku)
    return int(await session.scalar(stmt) or 0)
