"""Products as the supply side completes them: each with its usual supplier's code and each
variant's stock state, and product edits that register the usual supplier as a grower.

The catalog knows products, variants and prices; suppliers, growers and stock are this domain's.
Supply depends on the catalog (never the reverse), so what needs both is composed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import listing, schemas
from app.catalog import service as catalog_service
from app.catalog.models import Product
from app.channels import SalesChannel
from app.kit.quantities import Unit, format_quantity
from app.supply import repository, service
from app.supply.errors import LocationNotFound

# A variant is "low" when fewer than this many minimum orders remain.
LOW_STOCK_MULTIPLE = 5


async def products_out(
    session: AsyncSession,
    products: Sequence[Product],
    viewer: listing.Viewer,
    *,
    include_inactive_variants: bool = False,
    today: date | None = None,
) -> list[schemas.ProductOut]:
    """The catalog's product views with each product's usual supplier named by its code."""
    suppliers = await repository.suppliers_by_ids(session, [p.supplier_id for p in products if p.supplier_id])
    return await listing.products_out(
        session,
        products,
        viewer,
        supplier_codes={supplier_id: supplier.code for supplier_id, supplier in suppliers.items()},
        include_inactive_variants=include_inactive_variants,
        today=today,
    )


def stock_state(available: Decimal, minimum: Decimal) -> str:
    if available < minimum:
        return "out_of_stock"
    if available < minimum * LOW_STOCK_MULTIPLE:
        return "low_stock"
    return "in_stock"


async def with_stock(
    session: AsyncSession, products: list[dict[str, Any]], viewer: listing.Viewer
) -> list[dict[str, Any]]:
    """Add each variant's stock state (and, for staff, its available quantity) to listing dicts.

    Prices and texts are cached per catalog version; stock moves all day, so it is read fresh on
    every request in one aggregate query and merged into shallow copies of the cached dicts.
    """
    variant_ids = [v["id"] for p in products for v in p["variants"]]
    try:
        available = await service.available_to_sell(session, variant_ids, channel=viewer.stock_channel)
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


async def create_product(session: AsyncSession, data: schemas.ProductIn) -> Product:
    product = await catalog_service.create_product(session, data, supplier_id_for=_supplier_id_for(session))
    await _register_usual_supplier(session, product)
    return product


async def update_product(session: AsyncSession, product_id: int, data: schemas.ProductPatch) -> Product:
    product = await catalog_service.update_product(session, product_id, data, supplier_id_for=_supplier_id_for(session))
    await _register_usual_supplier(session, product)
    return product


def _supplier_id_for(session: AsyncSession) -> catalog_service.SupplierIdFor:
    async def supplier_id(code: str) -> int | None:
        supplier = await repository.supplier_by_code(session, code)
        return supplier.id if supplier else None

    return supplier_id


async def _register_usual_supplier(session: AsyncSession, product: Product) -> None:
    """The supplier a product names as its usual one grows it: lots of it may be received from
    that supplier (``app.supply.service.grower_exception``)."""
    if product.supplier_id is not None:
        await repository.register_growers(session, product.supplier_id, [product.id])
