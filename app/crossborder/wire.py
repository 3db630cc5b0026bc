"""The ICBU wire format of a listing: the gateway's paths, the payloads built from a
:class:`ListingSnapshot` (USD ladder, V2 ``product_info``, photo-bank image) and the readers of
its replies. No I/O here: the engine (``sync``) sends what this builds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from app.crossborder.client import BusinessError, CallResult
from app.crossborder.listings import ListingEdit
from app.crossborder.models import Listing

LISTING_PATH: Final[str] = "/alibaba/icbu/product/listing/v2"
UPDATE_PATH: Final[str] = "/alibaba/icbu/product/update/v2"
GET_PATH: Final[str] = "/alibaba/icbu/product/get/v2"
SEARCH_PATH: Final[str] = "/alibaba/icbu/product/search/v2"
STATUS_PATH: Final[str] = "/alibaba/icbu/product/batch/update/status"
PRICE_PATH: Final[str] = "/icbu/product/edit-price"
INVENTORY_PATH: Final[str] = "/icbu/product/edit-inventory"
PHOTOBANK_METHOD: Final[str] = "alibaba.icbu.photobank.upload"

# The V2 family's documented "not found" code. A search that matches nothing may come back as
# ``success:false`` with it instead of an empty list (reference §5): that is "no match".
NOT_FOUND_CODE: Final[str] = "B_PRODUCT_NOT_FOUND"
_NAME_UNSAFE = re.compile(r"[^0-9A-Za-z]")
_IMAGE_TYPES: Final[dict[str, str]] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}


@dataclass(frozen=True)
class ListingSnapshot(ListingEdit):
    """What a pass reads of a listing before talking to the gateway (no ORM object crosses awaits):
    the listing as edited, plus its identity, stock figure and sync state."""

    id: int
    model_number: str
    inventory: int | None  # None: no stock figure yet (no county warehouse): not sent
    remote_product_id: str | None
    photobank: dict[str, Any]
    content_version: int
    price_version: int
    inventory_version: int
    content_due: bool
    price_due: bool
    inventory_due: bool
    create_attempt: dict[str, Any] | None = None

    @classmethod
    def of(cls, listing: Listing) -> ListingSnapshot:
        return cls(
            id=listing.id,
            model_number=listing.model_number,
            title_en=listing.title_en,
            description_en=listing.description_en,
            keywords=list(listing.keywords),
            category_id=listing.category_id,
            attributes=list(listing.attributes),
            image_paths=list(listing.image_paths),
            price_tiers=list(listing.price_tiers),
            moq=listing.moq,
            unit=listing.unit,
            lead_time_days=listing.lead_time_days,
            weight_kg=listing.weight_kg,
            size_cm=dict(listing.size_cm),
            shipping_template_id=listing.shipping_template_id,
            desired_online=listing.desired_online,
            inventory=listing.inventory_quantity,
            remote_product_id=listing.remote_product_id,
            photobank=dict(listing.photobank),
            content_version=listing.content_version,
            price_version=listing.price_version,
            inventory_version=listing.inventory_version,
            content_due=listing.synced_content_version < listing.content_version,
            price_due=listing.synced_price_version < listing.price_version,
            inventory_due=listing.synced_inventory_version < listing.inventory_version,
            create_attempt=dict(listing.create_attempt) if listing.create_attempt else None,
        )


def _usd(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _size(value: Any) -> Any:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def price_payload(snapshot: ListingSnapshot) -> dict[str, Any]:
    """The USD ladder as ``edit-price`` and the V2 listing take it (2 decimals, as strings)."""
    return {
        "price_type": "TIERED",
        "currency": "USD",
        "tiered_price": [
            {"quantity": tier["min_quantity"], "price": _usd(tier["price_cents"])} for tier in snapshot.price_tiers
        ],
    }


def product_info(snapshot: ListingSnapshot, images: Sequence[str], *, for_create: bool) -> dict[str, Any]:
    """The V2 ``product_info``: the whole listing, price and stock included, on create and on a
    content update (``basic_info.product_id`` then names the product)."""
    basic: dict[str, Any] = {
        "title": snapshot.title_en,
        "description": snapshot.description_en,
        "keywords": " ".join(snapshot.keywords),
        "language": "en_US",
        "product_image": [{"image_url": url} for url in images],
        "model_number": snapshot.model_number,
    }
    brand = next(
        (a.get("attribute_value") for a in snapshot.attributes if a.get("attribute_name") == "Brand Name"), None
    )
    if brand:
        basic["brand_name"] = brand
    else:
        basic["brand_name"] = ""  # V2 update keeps fields not sent: send the clear explicitly
    if not for_create:
        basic["product_id"] = snapshot.remote_product_id
    # Price and stock travel with every create and content update: one write, one audit window.
    trade: dict[str, Any] = {
        "moq": snapshot.moq,
        "unit": snapshot.unit,
        "price": price_payload(snapshot),
    }
    if snapshot.inventory is not None:
        trade["inventory"] = snapshot.inventory
    logistics: dict[str, Any] = {
        "tiered_lead_time": [{"quantity": snapshot.moq, "lead_time": snapshot.lead_time_days}],
    }
    if snapshot.size_cm:
        logistics["dimension"] = {
            k: _size(snapshot.size_cm[k]) for k in ("length", "width", "height") if k in snapshot.size_cm
        }
    if snapshot.weight_kg is not None:
        logistics["weight"] = float(snapshot.weight_kg)
    logistics["shipping_template_id"] = snapshot.shipping_template_id  # None clears it
    return {
        "basic_info": basic,
        "category_info": {"category_id": snapshot.category_id},
        "attributes": snapshot.attributes,
        "trade_info": trade,
        "logistics_info": logistics,
    }


def photobank_image(model_number: str, index: int, suffix: str, content: bytes) -> tuple[str, bytes, str]:
    """The ``(file name, bytes, content type)`` of a listing's ``index``-th image for the photo
    bank, whose names allow letters, digits and CJK only (reference §9.7)."""
    name = f"{_NAME_UNSAFE.sub('', model_number)}{index}{suffix}"
    return name, content, _IMAGE_TYPES.get(suffix, "application/octet-stream")


def product_id_of(result: CallResult) -> str:
    """V2 create answers ``result.data`` = the plain product id (a string: 13+ digits)."""
    inner = result.data.get("result")
    value = inner.get("data") if isinstance(inner, dict) else None
    if isinstance(value, dict):
        value = value.get("product_id")
    if value in (None, ""):
        raise BusinessError("listing reply without a product id", code="0", api=result.api)
    return str(value)


def reply_body(result: CallResult) -> dict[str, Any]:
    inner = result.data.get("result")
    return inner if isinstance(inner, dict) else result.data
