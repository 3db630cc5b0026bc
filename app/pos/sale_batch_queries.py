"""SQL of a till's batch of sales recorded at once: what the batch reads once (its sales already
recorded, its shifts) and its multi-row inserts (sales ``ON CONFLICT (client_id) DO NOTHING``, as
one sale's insert is; lines, tenders, stock exceptions), Core statements on the session's
connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import bulk_queries as bulk
from app.pos.sale_models import Sale, SaleLine, Shift, StockException, Tender

_SALES = cast(Table, Sale.__table__)


async def recorded_sales(session: AsyncSession, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, str]]:
    """client id → (till id, number) of the sales already recorded among ``client_ids``."""
    rows = await session.execute(
        select(Sale.client_id, Sale.till_id, Sale.number).where(Sale.client_id.in_(list(client_ids)))
    )
    return {client_id: (till_id, number) for client_id, till_id, number in rows.all()}


async def shifts_by_client_ids(session: AsyncSession, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Shift]:
    rows = await session.scalars(
        select(Shift).where(Shift.client_id.in_(list(set(client_ids)))).execution_options(populate_existing=True)
    )
    return {shift.client_id: shift for shift in rows}


async def insert_sales(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[uuid.UUID, int]:
    """client id → id of the sales inserted; one whose client id exists is left out."""
    sales = _SALES
    result = await (await session.connection()).execute(
        insert(sales).on_conflict_do_nothing(index_elements=["client_id"]).returning(sales.c.client_id, sales.c.id),
        list(rows),
    )
    return {client_id: sale_id for client_id, sale_id in result.all()}


async def insert_sale_rows(
    session: AsyncSession,
    lines: Sequence[dict[str, Any]],
    tenders: Sequence[dict[str, Any]],
    exceptions: Sequence[dict[str, Any]],
) -> None:
    """The sales' lines, tenders and stock exceptions."""
    await bulk.insert_rows(session, SaleLine, lines)
    await bulk.insert_rows(session, Tender, tenders)
    await bulk.insert_rows(session, StockException, exceptions)
