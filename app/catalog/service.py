"""Catalog rules: editing categories, products, variants, prices and images. Services only flush."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.repository import company_by_id
from app.catalog import errors, images, repository, schemas
from app.catalog.models import (
    Category,
    PriceList,
    PriceListItem,
    PriceListKind,
    PriceTier,
    Product,
    ProductImage,
    Variant,
)
from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.files import save_upload, write_whole
from app.kit.outbox import enqueue
from app.kit.quantities import Unit

THUMBNAIL_TASK = "catalog.make_thumbnail"
# Product lists show a card at most ~300 CSS px wide: 480 px covers 1.5–2× screens at a fraction
# of the original's bytes.
THUMBNAIL_SIZE = 480


def in_season(product: Product, today: date | None = None) -> bool:
    return (today or clock.today()).month in (product.season_months or [])


# ---- categories ---------------------------------------------------------------------------------


async def create_category(session: AsyncSession, data: schemas.CategoryIn) -> Category:
    if await repository.slug_exists(session, Category, data.slug):
        raise errors.SlugTaken()
    category = Category(**data.model_dump())
    session.add(category)
    await session.flush()
    return category


async def update_category(session: AsyncSession, category_id: int, data: schemas.CategoryPatch) -> Category:
    category = await repository.category_by_id(session, category_id)
    if category is None:
        raise errors.CategoryNotFound()
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(category, key, value)
    await session.flush()
    return category


# ---- products -----------------------------------------------------------------------------------


# A product may name its usual supplier by code. Suppliers are the supply domain's (which depends
# on the catalog, not the other way round), so whoever edits a product passes the look-up that
# turns a code into a supplier id (None: no such supplier); ``app.supply.products`` does.
SupplierIdFor = Callable[[str], Awaitable[int | None]]


async def _resolve_refs(
    session: AsyncSession, values: dict[str, Any], supplier_id_for: SupplierIdFor
) -> dict[str, Any]:
    """Turn the category slug and supplier code of an input into ids."""
    if "category_slug" in values:
        slug = values.pop("category_slug")
        if slug is not None:
            category = await repository.category_by_slug(session, slug)
            if category is None:
                raise errors.CategoryNotFound()
            values["category_id"] = category.id
    if "supplier_code" in values:
        code = values.pop("supplier_code")
        if code:
            supplier_id = await supplier_id_for(code)
            if supplier_id is None:
                raise InvalidInput("供应商编码不存在", detail={"supplier_code": code})
            values["supplier_id"] = supplier_id
        else:
            values["supplier_id"] = None
    return values


async def create_product(session: AsyncSession, data: schemas.ProductIn, *, supplier_id_for: SupplierIdFor) -> Product:
    if await repository.slug_exists(session, Product, data.slug):
        raise errors.SlugTaken()
    values = await _resolve_refs(session, data.model_dump(mode="json"), supplier_id_for)
    product = Product(**values)
    session.add(product)
    await session.flush()
    return await get_product(session, product.id)


async def update_product(
    session: AsyncSession, product_id: int, data: schemas.ProductPatch, *, supplier_id_for: SupplierIdFor
) -> Product:
    product = await repository.product_by_id(session, product_id)
    if product is None:
        raise errors.ProductNotFound()
    values = await _resolve_refs(session, data.model_dump(mode="json", exclude_unset=True), supplier_id_for)
    for key, value in values.items():
        if value is None and key not in ("supplier_id",):
            continue
        setattr(product, key, value)
    await session.flush()
    return await get_product(session, product_id)


async def get_product(session: AsyncSession, product_id: int) -> Product:
    product = await repository.product_by_id(session, product_id, refresh=True)
    if product is None:
        raise errors.ProductNotFound()
    return product


# ---- variants -----------------------------------------------------------------------------------


def check_barcode(barcode: str | None) -> str | None:
    if barcode is None or barcode == "":
        return None
    from stdnum import ean  # on first use: python-stdnum imports pydoc and its whole tree (issue 15's memory)

    if len(barcode) != 13 or not ean.is_valid(barcode):
        raise errors.InvalidBarcode(detail={"barcode": barcode})
    return barcode


async def create_variant(session: AsyncSession, product_id: int, data: schemas.VariantIn) -> Variant:
    product = await repository.product_by_id(session, product_id)
    if product is None:
        raise errors.ProductNotFound()
    barcode = check_barcode(data.barcode)
    if await repository.variant_by_sku(session, data.sku) is not None:
        raise errors.SkuTaken()
    if barcode and await repository.variant_by_barcode(session, barcode) is not None:
        raise errors.BarcodeTaken()
    if data.plu is not None and await repository.variant_by_plu(session, data.plu) is not None:
        raise errors.PluTaken()
    values = data.model_dump()
    values["barcode"] = barcode
    if values["net_weight_grams"] is None and data.unit.is_weight:
        values["net_weight_grams"] = 1000 if data.unit.value == "kg" else 500
    variant = Variant(product_id=product_id, **values)
    session.add(variant)
    await session.flush()
    return variant


async def update_variant(session: AsyncSession, variant_id: int, data: schemas.VariantPatch) -> Variant:
    variant = await repository.variant_by_id(session, variant_id)
    if variant is None:
        raise errors.VariantNotFound()
    values = data.model_dump(exclude_unset=True)
    if "barcode" in values:
        barcode = check_barcode(values["barcode"])
        if barcode and barcode != variant.barcode and await repository.variant_by_barcode(session, barcode):
            raise errors.BarcodeTaken()
        variant.barcode = barcode
        values.pop("barcode")
    if "plu" in values:
        plu = values.pop("plu")
        if plu is not None and plu != variant.plu and await repository.variant_by_plu(session, plu):
            raise errors.PluTaken()
        variant.plu = plu
    if "reorder_point" in values:
        # Given as null it clears the point (the other fields ignore a null).
        point = values.pop("reorder_point")
        if point is not None and point < 0:
            raise InvalidInput("补货点不能为负数", detail={"field": "reorder_point"})
        variant.reorder_point = point
    for key, value in values.items():
        if value is not None:
            setattr(variant, key, value)
    await session.flush()
    return variant


# ---- prices -------------------------------------------------------------------------------------


async def create_price_list(session: AsyncSession, data: schemas.PriceListIn) -> PriceList:
    if await repository.price_list_by_code(session, data.code) is not None:
        raise errors.SlugTaken("价目表编码已被使用")
    if (data.kind == "company") != (data.company_id is not None):
        raise InvalidInput("客户协议价目表必须指定采购商企业，其他价目表不能指定")
    if data.company_id is not None and await repository.price_list_for_company(session, data.company_id):
        raise errors.SlugTaken("该企业已有协议价目表")
    if data.company_id is not None and await company_by_id(session, data.company_id) is None:
        raise InvalidInput("采购商企业不存在", detail={"company_id": data.company_id})
    price_list = PriceList(code=data.code, name=data.name, kind=PriceListKind(data.kind), company_id=data.company_id)
    session.add(price_list)
    await session.flush()
    return price_list


def check_tiers(base_price: int, min_quantity: Any, tiers: list[schemas.TierIn]) -> None:
    """Tiers rise in quantity, start above the MOQ, and never raise the price."""
    previous_quantity, previous_price = min_quantity, base_price
    for tier in sorted(tiers, key=lambda t: t.min_quantity):
        if tier.min_quantity <= previous_quantity or tier.unit_price_minor > previous_price:
            raise errors.InvalidTiers(detail={"min_quantity": str(tier.min_quantity)})
        previous_quantity, previous_price = tier.min_quantity, tier.unit_price_minor


async def set_price(session: AsyncSession, list_code: str, sku: str, data: schemas.PriceItemIn) -> PriceListItem:
    """Create or replace one variant's price on one list (its tiers are replaced whole)."""
    price_list = await repository.price_list_by_code(session, list_code)
    if price_list is None:
        raise errors.PriceListNotFound()
    variant = await repository.variant_by_sku(session, sku)
    if variant is None:
        raise errors.VariantNotFound()
    unit = Unit(variant.unit)
    # Defaults: retail sells by the unit's smallest step; wholesale by whole cases.
    increment = data.increment or (
        unit.default_step if price_list.kind is PriceListKind.retail or unit.is_weight else Decimal(variant.case_pack)
    )
    min_quantity = data.min_quantity or increment
    if min_quantity <= 0 or increment <= 0:
        raise InvalidInput("起订量和订购倍数必须大于 0")
    if min_quantity % increment != 0:
        raise InvalidInput(
            "最小起订量须为订购倍数的整数倍", detail={"min_quantity": str(min_quantity), "increment": str(increment)}
        )
    check_tiers(data.unit_price_minor, min_quantity, data.tiers)
    item = await repository.price_item(session, price_list.id, variant.id)
    if item is None:
        item = PriceListItem(
            price_list_id=price_list.id,
            variant_id=variant.id,
            unit_price_minor=data.unit_price_minor,
            min_quantity=min_quantity,
            increment=increment,
            tiers=[],
        )
        session.add(item)
    else:
        item.unit_price_minor = data.unit_price_minor
        item.min_quantity = min_quantity
        item.increment = increment
        item.tiers.clear()
        await session.flush()
    for tier in data.tiers:
        item.tiers.append(PriceTier(min_quantity=tier.min_quantity, unit_price_minor=tier.unit_price_minor))
    await session.flush()
    return item


# ---- images -------------------------------------------------------------------------------------


async def add_image(
    session: AsyncSession,
    product_id: int,
    *,
    content: bytes,
    uploads_dir: Path,
    max_bytes: int,
    alt_zh: str = "",
    thumbnail_now: bool = False,
) -> ProductImage:
    """Store an uploaded product photo, re-encoded without metadata (``images.clean_upload``: real
    type, size and pixel count checked, EXIF orientation applied, GPS and the rest dropped);
    the thumbnail follows in a background task (asked for in this transaction through the outbox),
    or is made here with ``thumbnail_now`` (the demo loader, which may run without a worker)."""
    product = await repository.product_by_id(session, product_id)
    if product is None:
        raise errors.ProductNotFound()
    # Decoding and encoding a large photo takes a while: off the event loop.
    clean = await asyncio.to_thread(images.clean_upload, content, max_bytes)
    # Written whole before the row that names it: a full disk is a 507 with nothing kept.
    relative = await save_upload(uploads_dir, Path("products") / str(product_id), clean.data, clean.ext)
    image = ProductImage(
        product_id=product_id,
        path=relative.as_posix(),
        content_type=clean.content_type,
        width=clean.width,
        height=clean.height,
        byte_size=len(clean.data),
        alt_zh=alt_zh[:100],
        sort_order=len(product.images),
    )
    session.add(image)
    await session.flush()
    if thumbnail_now:
        thumb = thumbnail_path(image.path)
        await asyncio.to_thread(make_thumbnail, uploads_dir / image.path, uploads_dir / thumb)
        image.thumb_path = thumb
        await session.flush()
    else:
        await enqueue(session, THUMBNAIL_TASK, image_id=image.id)
    return image


async def remove_image(session: AsyncSession, product_id: int, image_id: int) -> None:
    image = await repository.image_by_id(session, image_id)
    if image is None or image.product_id != product_id:
        raise errors.ImageNotFound()
    await session.delete(image)
    await session.flush()


def thumbnail_path(image_path: str, size: int = THUMBNAIL_SIZE) -> str:
    """Where an image's thumbnail lives: next to it, ``…/name-480.jpg``."""
    path = Path(image_path)
    return path.with_name(f"{path.stem}-{size}.jpg").as_posix()


def make_thumbnail(source: Path, target: Path, size: int = THUMBNAIL_SIZE) -> None:
    from PIL import Image  # only when a picture is uploaded: a web worker does not carry Pillow

    with Image.open(source) as opened:
        opened.thumbnail((size, size))
        img: Image.Image = opened if opened.mode in ("RGB", "L") else opened.convert("RGB")
        encoded = io.BytesIO()
        img.save(encoded, "JPEG", quality=82, optimize=True)
    write_whole(target, encoded.getvalue())
