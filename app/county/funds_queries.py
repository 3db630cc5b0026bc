"""SQL of the plan's funds: budget categories and lines, spending against them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.county.models import BudgetCategory, BudgetLine, Spending


async def all_categories(session: AsyncSession) -> Sequence[BudgetCategory]:
    return (await session.scalars(select(BudgetCategory).order_by(BudgetCategory.position, BudgetCategory.id))).all()


async def all_lines(session: AsyncSession) -> Sequence[BudgetLine]:
    """Every line with its category, in the table's order."""
    return (
        await session.scalars(
            select(BudgetLine)
            .options(selectinload(BudgetLine.category))
            .join(BudgetCategory, BudgetCategory.id == BudgetLine.category_id)
            .order_by(BudgetCategory.position, BudgetLine.position, BudgetLine.id)
        )
    ).all()


async def line_by_code(session: AsyncSession, code: str) -> BudgetLine | None:
    return await session.scalar(
        select(BudgetLine).options(selectinload(BudgetLine.category)).where(BudgetLine.code == code)
    )


async def line_by_id(session: AsyncSession, line_id: int) -> BudgetLine | None:
    return await session.get(BudgetLine, line_id)


async def spent_per_line(session: AsyncSession, first: date | None, last: date) -> dict[int, int]:
    """Fen spent per line with ``spent_on`` up to ``last`` (and from ``first`` when given)."""
    stmt = select(Spending.line_id, func.sum(Spending.amount_fen)).where(Spending.spent_on <= last)
    if first is not None:
        stmt = stmt.where(Spending.spent_on >= first)
    rows = await session.execute(stmt.group_by(Spending.line_id))
    return {line_id: int(total) for line_id, total in rows}


async def spending_of_line(session: AsyncSession, line_id: int) -> Sequence[Spending]:
    return (
        await session.scalars(
            select(Spending).where(Spending.line_id == line_id).order_by(Spending.spent_on.desc(), Spending.id.desc())
        )
    ).all()


async def spending_by_id(session: AsyncSession, spending_id: int) -> Spending | None:
    return await session.get(Spending, spending_id)


async def voucher_taken(session: AsyncSession, line_id: int, voucher: str, *, other_than: int | None = None) -> bool:
    stmt = select(Spending.id).where(Spending.line_id == line_id, Spending.voucher_number == voucher)
    if other_than is not None:
        stmt = stmt.where(Spending.id != other_than)
    return await session.scalar(stmt) is not None
