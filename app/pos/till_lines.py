"""A line for the till's basket from what was scanned or keyed, priced by the one pricing function
(``app.catalog.pricing``, the POS channel's retail list) and rounded once to the fen.

- a product barcode → 1 unit of its variant;
- a weight label → the weight in the variant's unit of sale (``scanning.quantity_from_grams``);
- a price label → the label's price is the line total (the scale computed it); the quantity is
  label price ÷ the list's unit price, half-up to 3 decimals (``scanning.quantity_from_price``);
- a PLU key with a typed weight → the weight must be typed in the unit the price is shown in
  (the variant's unit: 斤 or kg); another unit is refused, never converted silently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import pricing
from app.catalog.models import Product, Variant
from app.channels import SalesChannel
from app.kit.quantities import QuantityError, Unit, parse_quantity
from app.pos import errors, repository, scanning
from app.pos.scanning import ScanKind


class LineSource(StrEnum):
    product = "product"
    weight_label = "weight_label"
    price_label = "price_label"
    plu_key = "plu_key"


@dataclass(frozen=True)
class TillLine:
    source: LineSource
    code: str | None  # the scanned code, 13-digit form
    variant_id: int
    sku: str
    product_name_zh: str
    product_name_en: str
    name_zh: str
    name_en: str
    unit: Unit
    quantity: Decimal
    unit_price_minor: int
    line_total_minor: int
    currency: str
    plu: int | None
    grams: int | None  # weighed lines
    label_price_minor: int | None  # price labels


async def line_for_scan(session: AsyncSession, raw: str) -> TillLine:
    """Decode what the scanner typed and price it, or a 4xx naming what is wrong."""
    scan = scanning.decode(raw)
    if scan.kind is ScanKind.product:
        found = await repository.sellable_variant(session, barcode=scan.code)
        if found is None:
            raise errors.BarcodeUnknown(detail={"code": scan.code})
        return await _line(session, found, Decimal(1), LineSource.product, code=scan.code)
    assert scan.plu is not None
    variant, product = await _by_plu(session, scan.plu)
    unit = _weighed_unit(variant)
    if scan.kind is ScanKind.weight_label:
        assert scan.grams is not None
        quantity = scanning.quantity_from_grams(scan.grams, unit)
        return await _line(
            session, (variant, product), quantity, LineSource.weight_label, code=scan.code, grams=scan.grams
        )
    assert scan.price_minor is not None
    at_one = await pricing.price_counter_line(session, variant.sku, Decimal(1), channel=SalesChannel.pos)
    quantity = scanning.quantity_from_price(scan.price_minor, at_one.unit_price_minor)
    line = await _line(session, (variant, product), quantity, LineSource.price_label, code=scan.code)
    return dataclasses.replace(line, line_total_minor=scan.price_minor, label_price_minor=scan.price_minor)


async def line_for_plu(session: AsyncSession, plu: int, weight: str | Decimal, unit: Unit) -> TillLine:
    """A PLU key with the weight typed in ``unit``, which must be the variant's unit of sale."""
    variant, product = await _by_plu(session, plu)
    sold_by = _weighed_unit(variant)
    if unit is not sold_by:
        raise errors.WeightUnitMismatch(detail={"plu": plu, "unit": unit.value, "price_unit": sold_by.value})
    try:
        quantity = parse_quantity(weight)
    except QuantityError as exc:
        raise errors.WeightInvalid(str(exc)) from exc
    grams = int(quantity * scanning.GRAMS_PER_UNIT[sold_by])
    return await _line(session, (variant, product), quantity, LineSource.plu_key, grams=grams)


async def _by_plu(session: AsyncSession, plu: int) -> tuple[Variant, Product]:
    found = await repository.sellable_variant(session, plu=plu)
    if found is None:
        raise errors.PluUnknown(detail={"plu": plu})
    return found


def _weighed_unit(variant: Variant) -> Unit:
    unit = Unit(variant.unit)
    if not unit.is_weight:
        raise errors.ScaleItemNotWeighed(detail={"sku": variant.sku, "unit": unit.value})
    return unit


async def _line(
    session: AsyncSession,
    found: tuple[Variant, Product],
    quantity: Decimal,
    source: LineSource,
    *,
    code: str | None = None,
    grams: int | None = None,
) -> TillLine:
    variant, product = found
    priced = await pricing.price_counter_line(session, variant.sku, quantity, channel=SalesChannel.pos)
    return TillLine(
        source=source,
        code=code,
        variant_id=variant.id,
        sku=variant.sku,
        product_name_zh=product.name_zh,
        product_name_en=product.name_en,
        name_zh=variant.name_zh,
        name_en=variant.name_en,
        unit=priced.unit,
        quantity=priced.quantity,
        unit_price_minor=priced.unit_price_minor,
        line_total_minor=priced.line_total_minor,
        currency=priced.currency,
        plu=variant.plu,
        grams=grams,
        label_price_minor=None,
    )
