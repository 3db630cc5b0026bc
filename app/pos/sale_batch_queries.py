"""SQL of a till's batch of sales recorded at once: what the batch reads once (its sales already
recorded, its shifts) and its multi-row inserts (sales ``ON CONFLICT (client_id) DO NOTHING``, as
one sale's insert is; lines, tenders, stock exceptions)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert as core_insert
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.pos.sale_models import Sale, SaleLine, Shift, StockException, Tender


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
    result = await session.execute(
        insert(Sale).on_conflict_do_nothing(index_elements=["client_id"]).returning(Sale.client_id, Sale.id),
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
    for model, rows in ((SaleLine, lines), (Tender, tenders), (StockException, exceptions)):
        if rows:
            await session.execute(core_insert(model), list(rows))
