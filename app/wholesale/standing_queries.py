"""All SQL of standing orders: the orders of a company, the active ones for the generator, a
week's occurrence (inserted at most once), the buyer who placed it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.wholesale.standing_models import StandingOccurrence, StandingOrder


async def add(session: AsyncSession, standing: StandingOrder) -> StandingOrder:
    session.add(standing)
    await session.flush()
    return standing


async def of_company(session: AsyncSession, company_id: int) -> Sequence[StandingOrder]:
    return (
        await session.scalars(
            select(StandingOrder).where(StandingOrder.company_id == company_id).order_by(StandingOrder.id)
        )
    ).all()


async def one(
    session: AsyncSession, standing_id: int, company_id: int | None, *, for_update: bool = False
) -> StandingOrder | None:
    """A standing order (of ``company_id`` only, when given)."""
    query = select(StandingOrder).where(StandingOrder.id == standing_id)
    if company_id is not None:
        query = query.where(StandingOrder.company_id == company_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def remove(session: AsyncSession, standing: StandingOrder) -> None:
    await session.execute(delete(StandingOrder).where(StandingOrder.id == standing.id))


async def active_ids(session: AsyncSession) -> list[int]:
    return list(
        (
            await session.scalars(
                select(StandingOrder.id).where(StandingOrder.is_active.is_(True)).order_by(StandingOrder.id)
            )
        ).all()
    )


async def occurrence_dates(session: AsyncSession, standing_ids: Sequence[int], since: date) -> dict[int, set[date]]:
    """The trip dates from ``since`` each standing order already has a week recorded for."""
    found: dict[int, set[date]] = {i: set() for i in standing_ids}
    if not standing_ids:
        return found
    rows = await session.execute(
        select(StandingOccurrence.standing_order_id, StandingOccurrence.trip_date).where(
            StandingOccurrence.standing_order_id.in_(standing_ids), StandingOccurrence.trip_date >= since
        )
    )
    for standing_id, day in rows.all():
        found[standing_id].add(day)
    return found


async def claim_week(
    session: AsyncSession, standing_id: int, trip_date: date, status: str
) -> StandingOccurrence | None:
    """Insert the week's row, or None when it exists already (a concurrent run waits for the
    other's commit on the unique key, then finds it)."""
    occurrence_id = await session.scalar(
        insert(StandingOccurrence)
        .values(standing_order_id=standing_id, trip_date=trip_date, status=status, reason_zh="")
        .on_conflict_do_nothing(constraint="uq_wholesale_standing_occurrences_week")
        .returning(StandingOccurrence.id)
    )
    if occurrence_id is None:
        return None
    return await session.get(StandingOccurrence, occurrence_id)


async def recent_occurrences(
    session: AsyncSession, standing_ids: Sequence[int], limit: int = 5
) -> dict[int, list[StandingOccurrence]]:
    """The latest weeks of each standing order, newest first."""
    found: dict[int, list[StandingOccurrence]] = {i: [] for i in standing_ids}
    if not standing_ids:
        return found
    rows = await session.scalars(
        select(StandingOccurrence)
        .where(StandingOccurrence.standing_order_id.in_(standing_ids))
        .order_by(StandingOccurrence.trip_date.desc())
    )
    for row in rows.all():
        if len(found[row.standing_order_id]) < limit:
            found[row.standing_order_id].append(row)
    return found


async def user_with_company(session: AsyncSession, user_id: int) -> User | None:
    return (await session.scalars(select(User).where(User.id == user_id).options(selectinload(User.company)))).first()


async def finish_week(
    session: AsyncSession,
    occurrence_id: int,
    *,
    status: str,
    reason_zh: str = "",
    order_id: int | None = None,
    order_number: str | None = None,
    total_minor: int | None = None,
) -> None:
    await session.execute(
        update(StandingOccurrence)
        .where(StandingOccurrence.id == occurrence_id)
        .values(
            status=status, reason_zh=reason_zh, order_id=order_id, order_number=order_number, total_minor=total_minor
        )
    )
