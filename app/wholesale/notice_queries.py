"""SQL of the wholesale buyer notices: who at a company is told about one of its orders."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import BuyerCompany, Role, User


async def phones_to_tell(session: AsyncSession, company_id: int, placed_by: int | None) -> list[str | None]:
    """The phones of the active buyer who placed the order and of the company's owner(s); the
    placer first."""
    who = User.is_company_owner.is_(True) if placed_by is None else or_(User.id == placed_by, User.is_company_owner)
    rows = await session.scalars(
        select(User.phone)
        .where(User.company_id == company_id, User.role == Role.buyer, User.is_active.is_(True), who)
        .order_by((User.id == placed_by).desc() if placed_by is not None else User.id, User.id)
    )
    return list(rows)


async def company_phone(session: AsyncSession, company_id: int) -> str | None:
    return await session.scalar(select(BuyerCompany.contact_phone).where(BuyerCompany.id == company_id))
