"""SQL of the shifts console: the shifts of the stores a user may see, newest first, with their
till, who opened them and their sales so far."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.pos.models import Store, Till
from app.pos.sale_models import Sale, Shift


@dataclass(frozen=True)
class ShiftRow:
    shift: Shift
    store_code: str
    store_name: str
    till_code: str
    till_name: str
    opened_by: str
    sales_count: int
    net_minor: int


async def list_shifts(
    session: AsyncSession,
    *,
    store_ids: Collection[int] | None,
    start: datetime | None,
    end: datetime | None,
    limit: int = 200,
) -> list[ShiftRow]:
    """Shifts opened in [start, end) of ``store_ids`` (None: every store), newest first."""
    totals = (
        select(
            Sale.shift_id.label("shift_id"),
            func.count().label("n"),
            func.sum(Sale.total_minor - Sale.refunded_minor).label("net"),
        )
        .group_by(Sale.shift_id)
        .subquery()
    )
    stmt = (
        select(
            Shift,
            Store.code,
            Store.name,
            Till.code,
            Till.name,
            func.coalesce(func.nullif(User.display_name, ""), User.username),
            func.coalesce(totals.c.n, 0),
            func.coalesce(totals.c.net, 0),
        )
        .join(Store, Store.id == Shift.store_id)
        .join(Till, Till.id == Shift.till_id)
        .join(User, User.id == Shift.opened_by_id)
        .outerjoin(totals, totals.c.shift_id == Shift.id)
        .order_by(Shift.opened_at.desc(), Shift.id.desc())
        .limit(limit)
    )
    if store_ids is not None:
        stmt = stmt.where(Shift.store_id.in_(list(store_ids)))
    if start is not None:
        stmt = stmt.where(Shift.opened_at >= start)
    if end is not None:
        stmt = stmt.where(Shift.opened_at < end)
    return [
        ShiftRow(shift, store_code, store_name, till_code, till_name, opened_by, int(count), int(net))
        for shift, store_code, store_name, till_code, till_name, opened_by, count, net in (
            await session.execute(stmt)
        ).all()
    ]
