"""Editing a listing locally and telling the sync engine what changed.

Alibaba.com is told about a change by version counters, not by a queue of calls: an edit bumps
``content_version`` and/or ``price_version`` (stock changes bump ``inventory_version``, see
``sync.refresh_inventory``) and schedules the listing ``ALIBABA_DEBOUNCE_SECONDS`` ahead. The engine
pushes whatever versions are ahead of what Alibaba.com acknowledged, so ten edits in a minute are
one push, and an edit made while a push is on the wire stays due afterwards.

What goes where on Alibaba.com (reference §7.4): title, description, keywords, category,
attributes, images, MOQ, unit, lead time, weight, size and shipping template go with the V2
listing update (``/alibaba/icbu/product/update/v2``); the USD ladder goes with
``/icbu/product/edit-price``; stock with ``/icbu/product/edit-inventory``; ``desired_online`` with
the batch status call.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.crossborder import repository
from app.crossborder.models import Listing, ListingState
from app.crossborder.validation import validate_listing
from app.kit.errors import InvalidInput, NotFound

# Fields that travel with the V2 content update; the price ladder travels on its own.
CONTENT_FIELDS: tuple[str, ...] = (
    "title_en",
    "description_en",
    "keywords",
    "category_id",
    "attributes",
    "image_paths",
    "moq",
    "unit",
    "lead_time_days",
    "weight_kg",
    "size_cm",
    "shipping_template_id",
)
PRICE_FIELDS: tuple[str, ...] = ("price_tiers",)


class ListingNotFound(NotFound):
    code = "listing_not_found"
    message = "找不到该国际站商品"


class ListingInvalid(InvalidInput):
    code = "listing_invalid"
    message = "国际站商品信息不完整或不符合阿里巴巴国际站的要求"


@dataclass(frozen=True)
class ListingEdit:
    """A whole listing as the editor submits it (every field; unchanged ones are simply equal)."""

    title_en: str
    description_en: str
    keywords: list[str]
    category_id: str | None
    attributes: list[dict[str, Any]]
    image_paths: list[str]
    price_tiers: list[dict[str, int]]
    moq: int
    unit: str
    lead_time_days: int
    weight_kg: Decimal | None
    size_cm: dict[str, Any]
    shipping_template_id: str | None
    desired_online: bool


def schedule(listing: Listing, *, delay_seconds: float, now: datetime | None = None) -> None:
    """Ask the engine to look at ``listing`` in ``delay_seconds``: moves an attempt planned later
    (say a back-off) forward, never pushes an earlier one back."""
    when = (now or datetime.now(UTC)) + timedelta(seconds=delay_seconds)
    if listing.next_attempt_at is None or when < listing.next_attempt_at:
        listing.next_attempt_at = when


def apply_edit(listing: Listing, edit: ListingEdit, *, debounce_seconds: float, now: datetime | None = None) -> bool:
    """Copy ``edit`` onto ``listing``, bump the versions of what changed and schedule a push.
    True when anything changed. An error or rejection message is cleared by a change, since the
    change is normally the fix (the engine sets it again if Alibaba.com still refuses)."""
    content_changed = any(getattr(listing, name) != getattr(edit, name) for name in CONTENT_FIELDS)
    price_changed = any(getattr(listing, name) != getattr(edit, name) for name in PRICE_FIELDS)
    online_changed = listing.desired_online != edit.desired_online
    for item in fields(edit):
        setattr(listing, item.name, getattr(edit, item.name))
    if content_changed:
        listing.content_version += 1
    if price_changed:
        listing.price_version += 1
    changed = content_changed or price_changed or online_changed
    if changed:
        if listing.state in (ListingState.error, ListingState.rejected):
            listing.state_message = ""
        listing.failed_attempts = 0
        # Trailing debounce: each edit moves the push to ``debounce`` after itself, so a burst of
        # edits (each of which would open an audit window on Alibaba.com) goes out as one.
        listing.next_attempt_at = (now or datetime.now(UTC)) + timedelta(seconds=debounce_seconds)
    return changed


async def update_listing(
    session: AsyncSession, listing_id: int, edit: ListingEdit, *, debounce_seconds: float
) -> tuple[Listing, list[str]]:
    """Save an edit from the ops console. Refuses (changing nothing) what Alibaba.com would refuse,
    with every reason in Chinese in ``detail``; returns the listing and the (empty) problem list."""
    problems = validate_listing(edit)
    if problems:
        raise ListingInvalid(detail={"problems": problems})
    listing = await repository.listing_for_update(session, listing_id)
    if listing is None:
        raise ListingNotFound()
    apply_edit(listing, edit, debounce_seconds=debounce_seconds)
    await session.flush()
    return listing, problems


async def request_sync(session: AsyncSession, listing_ids: list[int] | None = None) -> int:
    """Make listings due now ("sync now" in the console, ``app alibaba sync``): also those the
    engine stopped on (configuration errors, Alibaba.com refusals), which are never retried on
    their own. Returns how many listings were scheduled."""
    listings = await repository.listings_for_update(session, listing_ids)
    if listing_ids is not None and len(listings) != len(set(listing_ids)):
        raise ListingNotFound()
    now = datetime.now(UTC)
    for listing in listings:
        listing.next_attempt_at = now
        listing.failed_attempts = 0
    await session.flush()
    return len(listings)
