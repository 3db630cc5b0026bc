"""SQL of capacities (``app.orders.capacity``): the conditional take, the once-only release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, select, update
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
    """Give ``quantity`` places back; on a closed capacity the cap shrinks too (it stays full)."""
    await session.execute(
        update(Capacity)
        .where(Capacity.id == capacity_id)
        .values(
            used=Capacity.used - quantity,
            cap=case((Capacity.closed_at.is_not(None), Capacity.cap - quantity), else_=Capacity.cap),
        )
    )


async def reduce_hold(session: AsyncSession, order_line_id: int, quantity: Decimal) -> Released | None:
    """Shrink the line's unreleased hold to ``quantity``; what it gave up (None: no such hold or
    already no larger). The caller gives that back (``give_back``)."""
    hold = await session.scalar(
        select(CapacityHold)
        .where(CapacityHold.order_line_id == order_line_id, CapacityHold.released_at.is_(None))
        .with_for_update()
    )
    if hold is None or hold.quantity <= quantity:
        return None
    given = hold.quantity - quantity
    hold.quantity = quantity
    await session.flush()
    return Released(hold.capacity_id, given)


async def any_released(session: AsyncSession, order_id: int) -> bool:
    found = await session.scalar(
        select(CapacityHold.id).where(CapacityHold.order_id == order_id, CapacityHold.released_at.is_not(None)).limit(1)
    )
    return found is not None


async def close(session: AsyncSession, capacity_id: int, now: datetime) -> None:
    await session.execute(update(Capacity).where(Capacity.id == capacity_id).values(cap=Capacity.used, closed_at=now))
