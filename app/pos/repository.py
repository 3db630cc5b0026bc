"""All SQL of the brand-store channel so far: stores, their location, managers, tills, till tokens,
the till's catalog (variants by barcode / PLU, stock at the store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, Role, TokenKind, User
from app.accounts.repository import works_at_store
from app.catalog.models import Product, Variant
from app.pos.models import Store, StoreManager, Till
from app.supply.models import Location, StockLevel


async def list_stores(session: AsyncSession) -> Sequence[Store]:
    return (await session.scalars(select(Store).order_by(Store.code))).all()


async def store_by_code(session: AsyncSession, code: str) -> Store | None:
    return await session.scalar(select(Store).where(Store.code == code))


async def location_of_store(session: AsyncSession, store_id: int) -> Location | None:
    return await session.scalar(select(Location).where(Location.store_id == store_id))


async def locations_by_store(session: AsyncSession) -> dict[int, Location]:
    rows = await session.scalars(select(Location).where(Location.store_id.is_not(None)))
    return {row.store_id: row for row in rows if row.store_id is not None}


async def location_code_taken(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(Location.id).where(Location.code == code)) is not None


async def tills_of(session: AsyncSession, store_id: int) -> Sequence[Till]:
    return (await session.scalars(select(Till).where(Till.store_id == store_id).order_by(Till.code))).all()


async def till_counts(session: AsyncSession) -> dict[int, int]:
    """Active tills per store."""
    rows = await session.execute(
        select(Till.store_id, func.count()).where(Till.is_active.is_(True)).group_by(Till.store_id)
    )
    return {store_id: count for store_id, count in rows}


async def till_by_code(session: AsyncSession, store_id: int, code: str) -> Till | None:
    return await session.scalar(select(Till).where(Till.store_id == store_id, Till.code == code))


async def till_by_id(session: AsyncSession, till_id: int) -> Till | None:
    return await session.get(Till, till_id)


async def sale_prefix_taken(session: AsyncSession, prefix: str) -> bool:
    return await session.scalar(select(Till.id).where(Till.sale_prefix == prefix)) is not None


async def revoke_till_tokens(session: AsyncSession, till_id: int, now: datetime) -> int:
    """Revoke a till's device tokens and the clerk sessions on them."""
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.till_id == till_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def staff_of(session: AsyncSession, store_id: int) -> Sequence[User]:
    """The store's clerks and managers, managers first."""
    return (
        await session.scalars(select(User).where(works_at_store(store_id)).order_by(User.role.desc(), User.username))
    ).all()


async def manager_candidates(session: AsyncSession, store_id: int) -> Sequence[User]:
    """Active store managers not yet managing this store."""
    managing = select(StoreManager.user_id).where(StoreManager.store_id == store_id)
    return (
        await session.scalars(
            select(User)
            .where(User.role == Role.store_manager, User.is_active.is_(True), User.id.not_in(managing))
            .order_by(User.username)
        )
    ).all()


async def add_manager(session: AsyncSession, store_id: int, user_id: int) -> None:
    await session.execute(insert(StoreManager).values(store_id=store_id, user_id=user_id).on_conflict_do_nothing())


async def remove_manager(session: AsyncSession, store_id: int, user_id: int) -> bool:
    result = await session.execute(
        delete(StoreManager).where(StoreManager.store_id == store_id, StoreManager.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def staff_member(session: AsyncSession, store_id: int, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id, works_at_store(store_id)).with_for_update())


async def live_till_token(session: AsyncSession, digest: str, now: datetime) -> ApiToken | None:
    """A till's device token, live, of an active till (whoever enrolled it)."""
    return await session.scalar(
        select(ApiToken)
        .join(Till, Till.id == ApiToken.till_id)
        .where(
            ApiToken.token_hash == digest,
            ApiToken.kind == TokenKind.pos_till,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            Till.is_active.is_(True),
        )
    )


async def clerk_session(session: AsyncSession, token_id: int) -> ApiToken | None:
    return await session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.kind == TokenKind.pos_clerk))


async def end_clerk_sessions(session: AsyncSession, device_token_id: int, now: datetime) -> int:
    result = await session.execute(
        update(ApiToken)
        .where(
            ApiToken.device_token_id == device_token_id,
            ApiToken.kind == TokenKind.pos_clerk,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def sellable_variant(
    session: AsyncSession, *, barcode: str | None = None, plu: int | None = None
) -> tuple[Variant, Product] | None:
    """An active variant of an active product (with it), by its barcode (13-digit form) or PLU."""
    query = select(Variant, Product).join(Product, Product.id == Variant.product_id)
    query = query.where(Variant.is_active.is_(True), Product.is_active.is_(True))
    query = query.where(Variant.barcode == barcode) if barcode is not None else query.where(Variant.plu == plu)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def sellable_variants(session: AsyncSession) -> Sequence[tuple[Variant, Product]]:
    """Every active variant of an active product, in catalog order (the till's catalog)."""
    rows = await session.execute(
        select(Variant, Product)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.is_active.is_(True), Product.is_active.is_(True))
        .order_by(Product.slug, Variant.sort_order, Variant.sku)
    )
    return [(variant, product) for variant, product in rows]


async def stock_at(session: AsyncSession, location_id: int) -> dict[int, Decimal]:
    """Available (on hand − reserved) per variant at one location."""
    rows = await session.execute(
        select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .where(StockLevel.location_id == location_id)
        .group_by(StockLevel.variant_id)
    )
    return {variant_id: Decimal(amount or 0) for variant_id, amount in rows}
