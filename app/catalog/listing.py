"""Read models of the catalog: products with their variants and the prices a given viewer may see.

Everyone sees retail prices. An approved buyer also sees wholesale prices (its company's own list
where it has one, else the wholesale list); staff see the wholesale list. Prices for all listed
variants are loaded in one query, so a listing costs the same few queries however long it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository, schemas
from app.catalog.models import PriceListKind, Product, Variant
from app.catalog.repository import PriceCandidate
from app.catalog.service import in_season
from app.channels import SalesChannel
from app.kit import clock
from app.kit.money import format_minor
from app.kit.quantities import Unit, format_quantity
from app.supply.repository import suppliers_by_ids

MEDIA_PREFIX = "/media/"


@dataclass(frozen=True)
class Viewer:
    """What a caller may see: wholesale prices for approved buyers (their company) and staff; stock
    state for the channel they buy through; exact quantities for staff only."""

    sees_wholesale: bool = False
    company_id: int | None = None
    stock_channel: SalesChannel = SalesChannel.shop
    sees_quantities: bool = False


ANONYMOUS = Viewer()


def price_out(candidate: PriceCandidate, unit: Unit) -> schemas.PriceOut:
    item = candidate.item
    return schemas.PriceOut(
        price_list=candidate.code,
        kind=candidate.kind.value,
        currency=candidate.currency,
        unit_price_minor=item.unit_price_minor,
        unit_price_display=f"{format_minor(item.unit_price_minor, candidate.currency)}/{unit.label_zh}",
        per_unit=unit.value,
        min_quantity=item.min_quantity,
        increment=item.increment,
        tiers=[
            schemas.TierOut(min_quantity=t.min_quantity, unit_price_minor=t.unit_price_minor)
            for t in sorted(item.tiers, key=lambda t: t.min_quantity)
        ],
    )


def _pick(candidates: list[PriceCandidate], kinds: Sequence[PriceListKind]) -> PriceCandidate | None:
    for kind in kinds:
        for candidate in candidates:
            if candidate.kind is kind:
                return candidate
    return None


def variant_out(variant: Variant, candidates: list[PriceCandidate], viewer: Viewer) -> schemas.VariantOut:
    unit = Unit(variant.unit)
    retail = _pick(candidates, [PriceListKind.retail])
    wholesale = _pick(candidates, [PriceListKind.company, PriceListKind.wholesale]) if viewer.sees_wholesale else None
    return schemas.VariantOut(
        id=variant.id,
        sku=variant.sku,
        barcode=variant.barcode,
        name_zh=variant.name_zh,
        name_en=variant.name_en,
        unit=unit,
        unit_label_zh=unit.label_zh,
        net_weight_grams=variant.net_weight_grams,
        case_pack=variant.case_pack,
        grade=variant.grade,
        is_supply_sku=variant.is_supply_sku,
        is_active=variant.is_active,
        price=price_out(retail, unit) if retail else None,
        wholesale_price=price_out(wholesale, unit) if wholesale else None,
    )


async def products_out(
    session: AsyncSession,
    products: Sequence[Product],
    viewer: Viewer,
    *,
    include_inactive_variants: bool = False,
    today: date | None = None,
) -> list[schemas.ProductOut]:
    variant_ids = [v.id for p in products for v in p.variants]
    # The shop's prices for everyone; the wholesale channel's too for approved buyers and staff.
    shown = [SalesChannel.shop, SalesChannel.wholesale] if viewer.sees_wholesale else [SalesChannel.shop]
    codes = [code for channel in shown for code in channel.policy.price_lists]
    prices = await repository.price_items_for(session, variant_ids, list_codes=codes, company_id=viewer.company_id)
    suppliers = await suppliers_by_ids(session, [p.supplier_id for p in products if p.supplier_id])
    today = today or clock.today()
    result = []
    for product in products:
        supplier = suppliers.get(product.supplier_id) if product.supplier_id else None
        result.append(
            schemas.ProductOut(
                id=product.id,
                slug=product.slug,
                category=schemas.CategoryOut.model_validate(product.category),
                name_zh=product.name_zh,
                name_en=product.name_en,
                description_zh=product.description_zh,
                description_en=product.description_en,
                origin_township=product.origin_township,
                origin_village=product.origin_village,
                growing_base=product.growing_base,
                supplier_code=supplier.code if supplier else None,
                season_months=list(product.season_months or []),
                in_season=in_season(product, today),
                storage_class=product.storage_class,
                storage_class_label_zh=product.storage_class.label_zh,
                shelf_life_days=product.shelf_life_days,
                certifications=[schemas.Certification.model_validate(c) for c in product.certifications],
                is_active=product.is_active,
                images=[
                    schemas.ImageOut(
                        id=i.id,
                        url=MEDIA_PREFIX + i.path,
                        thumb_url=MEDIA_PREFIX + i.thumb_path if i.thumb_path else None,
                        width=i.width,
                        height=i.height,
                        alt_zh=i.alt_zh or product.name_zh,
                    )
                    for i in product.images
                ],
                variants=[
                    variant_out(v, prices.get(v.id, []), viewer)
                    for v in product.variants
                    if v.is_active or include_inactive_variants
                ],
            )
        )
    return result


# A variant is "low" when fewer than this many minimum orders remain.
LOW_STOCK_MULTIPLE = 5


def stock_state(available: Decimal, minimum: Decimal) -> str:
    if available < minimum:
        return "out_of_stock"
    if available < minimum * LOW_STOCK_MULTIPLE:
        return "low_stock"
    return "in_stock"


async def with_stock(session: AsyncSession, products: list[dict[str, Any]], viewer: Viewer) -> list[dict[str, Any]]:
    """Add each variant's stock state (and, for staff, its available quantity) to listing dicts.

    Prices and texts are cached per catalog version; stock moves all day, so it is read fresh on
    every request in one aggregate query and merged into shallow copies of the cached dicts.
    """
    from app.supply import service as supply_service
    from app.supply.errors import LocationNotFound

    variant_ids = [v["id"] for p in products for v in p["variants"]]
    try:
        available = await supply_service.available_to_sell(session, variant_ids, channel=viewer.stock_channel)
    except LocationNotFound:
        available = {}
    price_key = "wholesale_price" if viewer.stock_channel is SalesChannel.wholesale else "price"
    result = []
    for product in products:
        variants = []
        for variant in product["variants"]:
            price = variant.get(price_key)
            minimum = Decimal(price["min_quantity"]) if price else Unit(variant["unit"]).default_step
            qty = available.get(variant["id"], Decimal(0))
            patched = {**variant, "stock_state": stock_state(qty, minimum)}
            if viewer.sees_quantities:
                patched["available"] = format_quantity(qty)
            variants.append(patched)
        result.append({**product, "variants": variants})
    return result
