"""The till's catalog snapshot: what the store sells, at what price, under which barcode or PLU,
and how much the store's book says it has — what the till keeps (IndexedDB) to sell offline.

Prices come from the one pricing function's price items for the POS channel (the retail list, with
its tiers); a variant the list does not price is not sellable and is left out. Stock is the
store location's available quantity (on hand − reserved), for information only: a sale is never
refused for it.

The snapshot also carries the scale-label layout (``scale_layout``), so the till decodes labels
offline exactly as ``app.pos.scanning`` does.

The snapshot's ``version`` is the SHA-256 of its canonical JSON content (prices, barcodes,
PLUs, names and stock included), so any change to what the till would show changes it; the API
serves it as a strong ``ETag`` and answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import pricing
from app.channels import SalesChannel
from app.kit.quantities import Unit, format_quantity
from app.pos import repository, scanning


@dataclass(frozen=True)
class Snapshot:
    version: str
    content: dict[str, Any]  # JSON-ready: {"version", "currency", "items": [...]}

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


async def snapshot(session: AsyncSession, store_id: int) -> Snapshot:
    rows = await repository.sellable_variants(session)
    prices = await pricing.price_items(session, [variant.id for variant, _ in rows], channel=SalesChannel.pos)
    location = await repository.location_of_store(session, store_id)
    stock = await repository.stock_at(session, location.id) if location is not None else {}
    items: list[dict[str, Any]] = []
    currency = "CNY"
    for variant, product in rows:
        candidate = prices.get(variant.id)
        if candidate is None:
            continue
        currency = candidate.currency
        unit = Unit(variant.unit)
        items.append(
            {
                "variant_id": variant.id,
                "sku": variant.sku,
                "barcode": variant.barcode,
                "plu": variant.plu,
                "product_name_zh": product.name_zh,
                "product_name_en": product.name_en,
                "name_zh": variant.name_zh,
                "name_en": variant.name_en,
                "unit": unit.value,
                "unit_label_zh": unit.label_zh,
                "weighed": unit.is_weight,
                "unit_price_minor": candidate.item.unit_price_minor,
                "tiers": [
                    {"min_quantity": format_quantity(tier.min_quantity), "unit_price_minor": tier.unit_price_minor}
                    for tier in sorted(candidate.item.tiers, key=lambda t: t.min_quantity)
                ],
                "stock": format_quantity(stock.get(variant.id, Decimal(0))),
            }
        )
    body = {"currency": currency, "items": items, "scale_layout": scale_layout()}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    version = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return Snapshot(version, {"version": version, **body})


def scale_layout() -> list[dict[str, Any]]:
    """``POS_SCALE_LABEL_LAYOUT`` as the till decodes it offline (the same layouts as
    ``scanning.decode`` on the server); part of the content, so a changed layout changes the ETag."""
    return [
        {
            "prefixes": sorted(layout.prefixes),
            "value": layout.value.value,
            "item_digits": layout.item_digits,
            "value_digits": layout.value_digits,
            "price_check": layout.price_check,
        }
        for layout in scanning.configured_layouts()
    ]


def matches(if_none_match: str, etag: str) -> bool:
    """``If-None-Match`` (a list of tags, or ``*``) names this ETag (weak comparison, RFC 9110)."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
