"""Read models of the catalog: products with their variants and the prices a given viewer may see.

Everyone sees retail prices. An approved buyer also sees wholesale prices (its company's own list
where it has one, else the wholesale list); staff see the wholesale list. Prices for all listed
variants are loaded in one query, so a listing costs the same few queries however long it is.

What a listing shows from the supply domain (each product's usual supplier, each variant's stock)
is added by ``app.supply.products``: supply depends on the catalog, never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal, Role
from app.catalog import repository, schemas
from app.catalog.models import PriceListKind, Product, Variant
from app.catalog.repository import PriceCandidate
from app.catalog.service import in_season
from app.channels import SalesChannel
from app.kit import clock
from app.kit.money import format_minor
from app.kit.quantities import Unit

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


def viewer_for(principal: Principal | None) -> Viewer:
    if principal is None:
        return ANONYMOUS
    if principal.role is Role.buyer and principal.company_approved:
        return Viewer(sees_wholesale=True, company_id=principal.company_id, stock_channel=SalesChannel.wholesale)
    if principal.role in (Role.admin, Role.warehouse, Role.clerk):
        return Viewer(sees_wholesale=True, sees_quantities=True)
    return ANONYMOUS


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
        plu=variant.plu,
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
    supplier_codes: Mapping[int, str],
    include_inactive_variants: bool = False,
    today: date | None = None,
) -> list[schemas.ProductOut]:
    """``supplier_codes``: the code of each product's usual supplier by supplier id (the supply
    domain's data, given by ``app.supply.products``)."""
    variant_ids = [v.id for p in products for v in p.variants]
    # The shop's prices for everyone; the wholesale channel's too for approved buyers and staff.
    shown = [SalesChannel.shop, SalesChannel.wholesale] if viewer.sees_wholesale else [SalesChannel.shop]
    codes = [code for channel in shown for code in channel.policy.price_lists]
    prices = await repository.price_items_for(session, variant_ids, list_codes=codes, company_id=viewer.company_id)
    today = today or clock.today()
    result = []
    for product in products:
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
                supplier_code=supplier_codes.get(product.supplier_id) if product.supplier_id else None,
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
