"""SQL of the brand-store console: which stores a manager runs, the day's figures per store (the
manager's home), the sales list with its filters and one sale with what it took from the books."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from app.accounts.models import User
from app.kit.models import in_statement
from app.orders.models import Order, OrderLine
from app.pos.models import Store, StoreManager, Till
from app.pos.sale_models import (
    Sale,
    SaleReturn,
    SaleReturnLine,
    Shift,
    ShiftStatus,
)


async def managed_store_ids(session: AsyncSession, user_id: int) -> list[int]:
    return list((await session.scalars(select(StoreManager.store_id).where(StoreManager.user_id == user_id))).all())


async def store_by_id(session: AsyncSession, store_id: int) -> Store | None:
    return await session.get(Store, store_id)


async def stores(session: AsyncSession, store_ids: Collection[int] | None) -> Sequence[Store]:
    stmt = select(Store).order_by(Store.code)
    if store_ids is not None:
        stmt = stmt.where(Store.id.in_(list(store_ids)))
    return (await session.scalars(stmt)).all()


async def count_per_store(
    session: AsyncSession,
    store_column: InstrumentedAttribute[int],
    condition: ColumnElement[bool],
    store_ids: Collection[int] | None,
) -> dict[int, int]:
    """How many rows meet ``condition`` per store (``store_column`` names the row's store)."""
    stmt = select(store_column, func.count()).where(condition).group_by(store_column)
    if store_ids is not None:
        stmt = stmt.where(store_column.in_(list(store_ids)))
    return {store_id: int(n) for store_id, n in (await session.execute(stmt)).all()}


async def takings_by_store(
    session: AsyncSession, store_ids: Collection[int] | None, start: datetime, end: datetime
) -> dict[int, tuple[int, int]]:
    """(sales, takings net of refunds in fen) per store for sales made in [start, end)."""
    stmt = (
        select(Sale.store_id, func.count(), func.coalesce(func.sum(Sale.total_minor - Sale.refunded_minor), 0))
        .where(Sale.sold_at >= start, Sale.sold_at < end)
        .group_by(Sale.store_id)
    )
    if store_ids is not None:
        stmt = stmt.where(Sale.store_id.in_(list(store_ids)))
    return {store_id: (int(n), int(total)) for store_id, n, total in (await session.execute(stmt)).all()}


async def open_shifts_by_store(session: AsyncSession, store_ids: Collection[int] | None) -> dict[int, list[str]]:
    """The tills (codes) with an open shift, per store."""
    stmt = (
        select(Shift.store_id, Till.code)
        .join(Till, Till.id == Shift.till_id)
        # Written into the SQL: the generic plan then reads the open shifts' partial index
        # (``uq_pos_shifts_one_open_per_till``), not every shift the stores ever had.
        .where(Shift.status == in_statement(ShiftStatus.open))
        .order_by(Till.code)
    )
    if store_ids is not None:
        stmt = stmt.where(Shift.store_id.in_(list(store_ids)))
    found: dict[int, list[str]] = {}
    for store_id, code in (await session.execute(stmt)).all():
        found.setdefault(store_id, []).append(code)
    return found


@dataclass(frozen=True)
class SaleRow:
    sale: Sale
    store_code: str
    store_name: str
    till_code: str
    till_name: str
    clerk: str
    order_number: str


_Clerk = aliased(User)


async def list_sales(
    session: AsyncSession,
    *,
    store_ids: Collection[int] | None,
    till_code: str | None,
    start: datetime | None,
    end: datetime | None,
    number: str | None = None,
    limit: int = 200,
) -> list[SaleRow]:
    """Newest first."""
    stmt = (
        select(
            Sale,
            Store.code,
            Store.name,
            Till.code,
            Till.name,
            func.coalesce(func.nullif(_Clerk.display_name, ""), _Clerk.username),
            Order.number,
        )
        .join(Store, Store.id == Sale.store_id)
        .join(Till, Till.id == Sale.till_id)
        .join(_Clerk, _Clerk.id == Sale.clerk_id)
        .join(Order, Order.id == Sale.order_id)
        .order_by(Sale.sold_at.desc(), Sale.id.desc())
        .limit(limit)
    )
    if store_ids is not None:
        stmt = stmt.where(Sale.store_id.in_(list(store_ids)))
    if till_code:
        stmt = stmt.where(Till.code == till_code)
    if start is not None and end is not None:
        stmt = stmt.where(Sale.sold_at >= start, Sale.sold_at < end)
    if number is not None:
        stmt = stmt.where(Sale.number == number)
    return [SaleRow(*values) for values in (await session.execute(stmt)).all()]


async def returned_sale_ids(session: AsyncSession, sale_ids: Collection[int]) -> set[int]:
    if not sale_ids:
        return set()
    return set((await session.scalars(select(SaleReturn.sale_id).where(SaleReturn.sale_id.in_(list(sale_ids))))).all())


async def returns_of(session: AsyncSession, sale_id: int) -> list[tuple[SaleReturn, list[tuple[SaleReturnLine, str]]]]:
    """The sale's returns, each with its lines (and the line's SKU)."""
    returns = (
        await session.scalars(select(SaleReturn).where(SaleReturn.sale_id == sale_id).order_by(SaleReturn.id))
    ).all()
    if not returns:
        return []
    rows = await session.execute(
        select(SaleReturnLine, OrderLine.sku)
        .join(OrderLine, OrderLine.id == SaleReturnLine.order_line_id)
        .where(SaleReturnLine.return_id.in_([r.id for r in returns]))
        .order_by(SaleReturnLine.id)
    )
    lines: dict[int, list[tuple[SaleReturnLine, str]]] = {}
    for line, sku in rows.all():
        lines.setdefault(line.return_id, []).append((line, sku))
    return [(r, lines.get(r.id, [])) for r in returns]


async def user_names(session: AsyncSession, user_ids: Collection[int]) -> dict[int, str]:
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)).where(User.id.in_(wanted))
    )
    return {user_id: name for user_id, name in rows.all()}
