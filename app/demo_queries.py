"""The SQL of demo data loading (``app/demo.py``): natural-key lookups and insert-if-missing.

Demo seeding writes rows of every domain straight from its seed tables, so these statements are
generic over the model where they can be; the domains' own repositories are for the app's rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.accounts.models import User
from app.catalog.models import ProductImage
from app.kit.models import IdMixin
from app.stations.models import RouteStop
from app.supply.models import Location, Lot, StockLevel, Transfer

M = TypeVar("M", bound=IdMixin)


async def id_by_key(session: AsyncSession, model: type[M], key: Mapping[str, Any]) -> int | None:
    """The id of the ``model`` row whose columns equal ``key`` (a natural key)."""
    where = [getattr(model, column) == value for column, value in key.items()]
    return await session.scalar(select(model.id).where(*where))


async def insert_by_key(session: AsyncSession, model: type[M], row: Mapping[str, Any], key: list[str]) -> int | None:
    """Insert ``row``; its id, or None when a row with the same ``key`` columns exists
    (``ON CONFLICT DO NOTHING``: a concurrent seeder's insert is harmless, not a unique violation)."""
    stmt = insert(model).values(dict(row)).on_conflict_do_nothing(index_elements=key)
    return await session.scalar(stmt.returning(model.id))


async def insert_if_absent(
    session: AsyncSession, model: type[Any], returning: InstrumentedAttribute[Any], **values: Any
) -> bool:
    """Insert one row unless any unique constraint already holds it; True when inserted."""
    stmt = insert(model).values(**values).on_conflict_do_nothing().returning(returning)
    return await session.scalar(stmt) is not None


async def lot_count(session: AsyncSession, variant_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(Lot).where(Lot.variant_id == variant_id)) or 0


async def location_id(session: AsyncSession, code: str) -> int | None:
    return await session.scalar(select(Location.id).where(Location.code == code))


async def transfers_to_with_note(session: AsyncSession, location_id: int | None, note: str) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.to_location_id == location_id, Transfer.note == note)
        )
        or 0
    )


async def first_expiring_lot_code(
    session: AsyncSession, location_id: int | None, variant_id: int, quantity: Decimal, today: date
) -> str | None:
    """The lot a picker would take: sellable, enough left, earliest best-before first."""
    return await session.scalar(
        select(Lot.code)
        .join(StockLevel, StockLevel.lot_id == Lot.id)
        .where(
            StockLevel.location_id == location_id,
            StockLevel.variant_id == variant_id,
            StockLevel.best_before >= today,
            StockLevel.on_hand - StockLevel.reserved >= quantity,
        )
        .order_by(StockLevel.best_before, StockLevel.id)
        .limit(1)
    )


async def stop_count(session: AsyncSession, route_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(RouteStop).where(RouteStop.route_id == route_id)) or 0


async def stations_on_routes(session: AsyncSession) -> set[int]:
    return set(await session.scalars(select(RouteStop.station_id)))


async def any_user(session: AsyncSession) -> bool:
    return await session.scalar(select(User.id).limit(1)) is not None


async def image_paths(session: AsyncSession, product_id: int) -> list[str]:
    """The product's image paths, in display order."""
    return list(
        await session.scalars(
            select(ProductImage.path)
            .where(ProductImage.product_id == product_id)
            .order_by(ProductImage.sort_order, ProductImage.id)
        )
    )
