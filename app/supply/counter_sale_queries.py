"""SQL of the counter sales of a whole upload taken off a store location's book at once: its
sellable level rows locked in one statement, in the order every stock writer locks them (variant,
best-before, level id), then one update of the levels and one multi-row insert of the ``sale``
ledger rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import bulk_queries as bulk
from app.supply.models import Lot, StockLedgerEntry, StockLevel


@dataclass
class SellableLevel:
    level_id: int
    lot_id: int
    lot_code: str
    variant_id: int
    best_before: date
    free: Decimal  # on hand − reserved


async def lock_sellable_levels(
    session: AsyncSession, location_id: int, variant_ids: Sequence[int]
) -> list[SellableLevel]:
    """The location's level rows of the variants with free stock, locked, by variant then FEFO."""
    if not variant_ids:
        return []
    rows = await session.execute(
        select(
            StockLevel.id,
            StockLevel.lot_id,
            Lot.code,
            StockLevel.variant_id,
            StockLevel.best_before,
            StockLevel.on_hand - StockLevel.reserved,
        )
        .join(Lot, Lot.id == StockLevel.lot_id)
        .where(
            StockLevel.location_id == location_id,
            StockLevel.variant_id.in_(sorted(set(variant_ids))),
            StockLevel.on_hand > StockLevel.reserved,
        )
        .order_by(StockLevel.variant_id, StockLevel.best_before, StockLevel.id)
        .with_for_update(of=StockLevel)
    )
    return [SellableLevel(*row) for row in rows.all()]


_TAKE = text("""
UPDATE stock_levels s SET on_hand = s.on_hand - t.q
FROM unnest(CAST(:ids AS bigint[]), CAST(:qs AS numeric[])) AS t(id, q)
WHERE s.id = t.id AND s.on_hand - s.reserved >= t.q
RETURNING s.id
""")


async def take_from_levels(session: AsyncSession, takes: Mapping[int, Decimal]) -> int:
    """Take each quantity off its level row (level id → quantity), only where that much is free;
    how many rows were taken from (the caller holds their locks: all of them, unless the book moved)."""
    if not takes:
        return 0
    ids = list(takes)
    result = await session.execute(_TAKE, {"ids": ids, "qs": [takes[i] for i in ids]})
    return len(result.all())


async def insert_sale_ledger(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """The ``sale`` ledger rows, written in the order given."""
    await bulk.insert_rows(session, StockLedgerEntry, rows)
