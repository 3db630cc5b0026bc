"""SQL of the Alibaba.com domain: listings, the sync log and pulled orders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.catalog.models import Product, ProductImage, Variant
from app.crossborder.models import AlibabaConnection, AlibabaOrder, Listing, SyncLogEntry


async def listing(session: AsyncSession, listing_id: int) -> Listing | None:
    return await session.get(Listing, listing_id)


async def listing_for_update(session: AsyncSession, listing_id: int) -> Listing | None:
    return await session.get(Listing, listing_id, with_for_update=True, populate_existing=True)


async def listings_for_update(session: AsyncSession, listing_ids: Sequence[int] | None = None) -> list[Listing]:
    query = select(Listing).order_by(Listing.id).with_for_update().execution_options(populate_existing=True)
    if listing_ids is not None:
        query = query.where(Listing.id.in_(listing_ids))
    return list((await session.scalars(query)).all())


async def all_listings(session: AsyncSession) -> list[Listing]:
    return list((await session.scalars(select(Listing).order_by(Listing.id))).all())


async def listing_overview(session: AsyncSession) -> list[tuple[Listing, str, str]]:
    """Every listing with its catalog product name (zh) and the SKU whose stock it sells."""
    rows = await session.execute(
        select(Listing, Product.name_zh, Variant.sku)
        .join(Product, Product.id == Listing.product_id)
        .join(Variant, Variant.id == Listing.variant_id)
        .order_by(Listing.id)
    )
    return [(row[0], row[1], row[2]) for row in rows.all()]


async def due_listing_ids(
    session: AsyncSession, *, now: datetime, listing_ids: Sequence[int] | None = None, limit: int = 1000
) -> list[int]:
    """Listings whose next attempt has come, earliest first (``listing_ids`` narrows the choice)."""
    query = (
        select(Listing.id)
        .where(Listing.next_attempt_at.is_not(None), Listing.next_attempt_at <= now)
        .order_by(Listing.next_attempt_at, Listing.id)
        .limit(limit)
    )
    if listing_ids is not None:
        query = query.where(Listing.id.in_(listing_ids))
    return list((await session.scalars(query)).all())


async def variants_of_listings(session: AsyncSession) -> list[tuple[int, int]]:
    """(listing id, variant id) of every listing."""
    rows = await session.execute(select(Listing.id, Listing.variant_id).order_by(Listing.id))
    return [(int(a), int(b)) for a, b in rows.all()]


async def add_log_entries(session: AsyncSession, entries: Sequence[SyncLogEntry]) -> None:
    session.add_all(entries)
    await session.flush()


async def sync_log(session: AsyncSession, *, listing_id: int | None = None, limit: int = 200) -> list[SyncLogEntry]:
    """Newest calls first; for one listing, or every call when ``listing_id`` is None."""
    query = select(SyncLogEntry).order_by(SyncLogEntry.created_at.desc(), SyncLogEntry.id.desc()).limit(limit)
    if listing_id is not None:
        query = query.where(SyncLogEntry.listing_id == listing_id)
    return list((await session.scalars(query)).all())


async def upsert_orders(session: AsyncSession, orders: Sequence[dict[str, Any]]) -> int:
    """Insert or refresh pulled orders by trade id; returns how many rows were written."""
    if not orders:
        return 0
    statement = insert(AlibabaOrder).values(list(orders))
    statement = statement.on_conflict_do_update(
        index_elements=[AlibabaOrder.trade_id],
        set_={
            "status": statement.excluded.status,
            "amount_minor": statement.excluded.amount_minor,
            "currency": statement.excluded.currency,
            "buyer_country": statement.excluded.buyer_country,
            "buyer_company": statement.excluded.buyer_company,
            "created_remote_at": statement.excluded.created_remote_at,
            "modified_remote_at": statement.excluded.modified_remote_at,
            "raw": statement.excluded.raw,
            "pulled_at": func.now(),
        },
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def orders(session: AsyncSession, *, limit: int = 200, offset: int = 0) -> list[AlibabaOrder]:
    query = (
        select(AlibabaOrder)
        .order_by(AlibabaOrder.created_remote_at.desc().nulls_last(), AlibabaOrder.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(query)).all())


async def count_orders(session: AsyncSession) -> int:
    return int((await session.scalar(select(func.count()).select_from(AlibabaOrder))) or 0)


# ---- ops console reads ----------------------------------------------------------------------------


async def listing_detail(session: AsyncSession, listing_id: int) -> tuple[Listing, str, str] | None:
    """One listing with its catalog product name (zh) and the SKU whose stock it sells."""
    row = (
        await session.execute(
            select(Listing, Product.name_zh, Variant.sku)
            .join(Product, Product.id == Listing.product_id)
            .join(Variant, Variant.id == Listing.variant_id)
            .where(Listing.id == listing_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


async def product_images(session: AsyncSession, product_id: int) -> list[ProductImage]:
    """The catalog product's images in display order: what a listing may choose from."""
    query = (
        select(ProductImage)
        .where(ProductImage.product_id == product_id)
        .order_by(ProductImage.sort_order, ProductImage.id)
    )
    return list((await session.scalars(query)).all())


async def paused_until(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(AlibabaConnection.paused_until).where(AlibabaConnection.id == 1))


async def set_paused_until(session: AsyncSession, until: datetime) -> None:
    await session.execute(
        update(AlibabaConnection)
        .where(AlibabaConnection.id == 1)
        .values(paused_until=func.greatest(func.coalesce(AlibabaConnection.paused_until, until), until))
    )


async def listing_counts_by_state(session: AsyncSession) -> dict[str, int]:
    """How many listings are in each state (states with none are absent)."""
    rows = await session.execute(select(Listing.state, func.count()).group_by(Listing.state))
    return {str(state): int(n) for state, n in rows.all()}


async def model_numbers(session: AsyncSession) -> dict[int, str]:
    """Listing id → model number (names the listing of a sync-log row)."""
    rows = await session.execute(select(Listing.id, Listing.model_number))
    return {int(listing_id): str(model) for listing_id, model in rows.all()}


async def try_advisory_lock(conn: AsyncConnection | AsyncSession, key: int) -> bool:
    """Take the session-level advisory lock ``key`` on this connection unless another holds it."""
    return bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))


async def advisory_unlock(conn: AsyncConnection | AsyncSession, key: int) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
