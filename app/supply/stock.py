"""Stock levels and the ledger: the only code that changes ``stock_levels``.

Every change is one conditional statement on the level row plus one ledger row, in the caller's
transaction. Decrements are conditional (``WHERE on_hand + :delta >= reserved``), so a concurrent
writer can never push a level below what is reserved; the table's CHECK constraints
(``0 <= reserved <= on_hand``) are the last line of defence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.quantities import format_quantity
from app.supply import errors, stock_queries
from app.supply.models import LedgerKind, Lot, StockLedgerEntry, StockLevel

ZERO = Decimal(0)


@dataclass(frozen=True)
class Movement:
    """Who did what, why, and for which document: written on every ledger row."""

    kind: LedgerKind
    document_type: str
    document_ref: str
    actor_user_id: int | None = None
    reason: str = ""
    channel: str | None = None


def ledger_row(
    movement: Movement,
    *,
    level: StockLevel | None = None,
    location_id: int | None = None,
    lot_id: int | None = None,
    variant_id: int | None = None,
    on_hand_delta: Decimal = ZERO,
    reserved_delta: Decimal = ZERO,
) -> StockLedgerEntry:
    return StockLedgerEntry(
        kind=movement.kind,
        variant_id=variant_id if level is None else level.variant_id,
        location_id=location_id if level is None else level.location_id,
        lot_id=lot_id if level is None else level.lot_id,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        actor_user_id=movement.actor_user_id,
        reason=movement.reason[:200],
        document_type=movement.document_type,
        document_ref=movement.document_ref,
        channel=movement.channel,
    )


async def add_on_hand(
    session: AsyncSession, *, location_id: int, lot: Lot, quantity: Decimal, movement: Movement
) -> None:
    """Stock arrives (receipt, transfer in, return, upward count): upsert the level, write the ledger."""
    if quantity <= 0:
        raise errors.InvalidStockQuantity("入库数量必须大于 0")
    await stock_queries.add_to_level(session, location_id=location_id, lot=lot, quantity=quantity)
    session.add(
        ledger_row(movement, location_id=location_id, lot_id=lot.id, variant_id=lot.variant_id, on_hand_delta=quantity)
    )


async def remove_on_hand(
    session: AsyncSession, *, location_id: int, lot: Lot, quantity: Decimal, movement: Movement
) -> None:
    """Unreserved stock leaves (transfer out, spoilage, downward adjustment or count)."""
    if quantity <= 0:
        raise errors.InvalidStockQuantity("出库数量必须大于 0")
    if not await stock_queries.take_from_level_if_free(
        session, location_id=location_id, lot_id=lot.id, quantity=quantity
    ):
        available = await available_in_level(session, location_id, lot.id)
        raise errors.InsufficientStock(
            detail={
                "lines": [
                    {
                        "lot": lot.code,
                        "requested": format_quantity(quantity),
                        "available": format_quantity(available),
                        "message": f"批次 {lot.code} 可用 {format_quantity(available)}，"
                        f"需要 {format_quantity(quantity)}",
                    }
                ]
            }
        )
    session.add(
        ledger_row(movement, location_id=location_id, lot_id=lot.id, variant_id=lot.variant_id, on_hand_delta=-quantity)
    )


async def available_in_level(session: AsyncSession, location_id: int, lot_id: int) -> Decimal:
    return await stock_queries.free_in_level(session, location_id, lot_id)


async def lock_order(session: AsyncSession, location_id: int, lot_ids: list[int]) -> dict[int, tuple[int, date, int]]:
    """The key that orders a location's lot rows the way reservations lock them — variant, then
    best-before, then level id — so transfers, counts and reservations never wait on each other
    in a cycle. Lots without a level there sort last."""
    return await stock_queries.level_lock_keys(session, location_id, lot_ids)


def lock_key(keys: dict[int, tuple[int, date, int]], lot_id: int) -> tuple[int, date, int]:
    return keys.get(lot_id, (2**62, date.max, lot_id))
