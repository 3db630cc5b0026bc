"""All SQL of the supply domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.supply.models import Supplier


async def supplier_by_code(session: AsyncSession, code: str) -> Supplier | None:
    return await session.scalar(select(Supplier).where(Supplier.code == code))


async def suppliers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Supplier]:
    if not ids:
        return {}
    return {s.id: s for s in await session.scalars(select(Supplier).where(Supplier.id.in_(set(ids))))}


async def list_suppliers(session: AsyncSession) -> Sequence[Supplier]:
    return (await session.scalars(select(Supplier).order_by(Supplier.code))).all()
