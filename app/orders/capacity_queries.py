"""SQL of capacities (``app.orders.capacity``): the conditional take, the once-only release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Capacity, CapacityHold


async def take(session: AsyncSession, capacity_id: int, quantity: Decimal) -> bool:
    """Add ``quantity`` to ``used`` only if it stays within ``cap``: False (nothing changed) when it
    would not. The row lock of the update makes concurrent takers queue and re-check."""
    result = await session.execute(
        update(Capacity)
        .where(Capacity.id == capacity_id, Capacity.used + quantity <= Capacity.cap)
        .values(used=Capacity.used + quantity)
        .returning(Capacity.id)
    )
    return result.scalar_one_or_none() is not None


async def left(session: AsyncSession, capacity_ids: list[int]) -> dict[int, Decimal]:
    rows = await session.execute(select(Capacity.id, Capacity.cap - Capacity.used).where(Capacity.id.in_(capacity_ids)))
    return {capacity_id: remaining for capacity_id, remaining in rows.all()}


@dataclass(frozen=True)
class Released:
    capacity_id: int
    quantity: Decimal


async def mark_released(session: AsyncSession, order_id: int, now: datetime) -> list[Released]:
    """Mark the order's unreleased holds released and return them: a second (or concurrent) call
    finds none, so a place is given back once."""
    rows = await session.execute(
        update(CapacityHold)
        .where(CapacityHold.order_id == order_id, CapacityHold.released_at.is_(None))
        .values(released_at=now)
        .returning(CapacityHold.capacity_id, CapacityHold.quantity)
    )
    return [Released(capacity_id, quantity) for capacity_id, quantity in rows.all()]


async def give_back(session: AsyncSession, capacity_id: int, quantity: Decimal) -> None:
    await session.execute(update(Capacity).where(Capacity.id == capacity_id).values(used=Capacity.used - quantity))


async def any_released(session: AsyncSession, order_id: int) -> bool:
    found = await session.scalar(
        select(CapacityHold.id).where(CapacityHold.order_id == order_id, CapacityHold.released_at.is_not(None)).limit(1)
    )
    return found is not None
