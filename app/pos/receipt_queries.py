"""SQL of the console's receipts and shifts: a sale by its number in any store."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.pos.sale_models import Sale


async def sale_by_number(session: AsyncSession, number: str) -> Sale | None:
    return await session.scalar(select(Sale).where(Sale.number == number))
