"""SQL of stock levels, count sheets and transfers: the conditional level updates and the
compare-and-set status changes that ``stock``, ``counts`` and ``transfers`` are built on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.supply.models import (
    LedgerKind,
    Location,
    Lot,
    StockCount,
    StockCountStatus,
    StockLedgerEntry,
    StockLevel,
    Transfer,
    TransferStatus,
)
from app.supply.reservation_queries import FEFO_MOVED, FEFO_TAKE

# ---- levels -------------------------------------------------------------------------------------


async def add_to_level(session: AsyncSession, *, location_id: int, lot: Lot, quantity: Decimal) -> None:
    """Put ``quantity`` of a lot on hand at a location, making its level row if there is none."""
    stmt = insert(StockLevel).values(
        location_id=location_id,
        lot_id=lot.id,
        variant_id=lot.variant_id,
        best_before=lot.best_before,
        on_hand=quantity,
        reserved=Decimal(0),
    )
    stmt = stmt.on_conflict_do_update(
        constraint="uq_stock_levels_location_lot", set_={"on_hand": StockLevel.on_hand + stmt.excluded.on_hand}
    )
    await session.execute(stmt)


async def take_from_level_if_free(session: AsyncSession, *, location_id: int, lot_id: int, quantity: Decimal) -> bool:
    """Take ``quantity`` off a lot's level only if that much is on hand and not reserved (one
    conditional update: a concurrent writer can never push it below what is reserved)."""
    result = await session.execute(
        update(StockLevel)
        .where(
            StockLevel.location_id == location_id,
            StockLevel.lot_id == lot_id,
            StockLevel.on_hand - StockLevel.reserved >= quantity,
        )
        .values(on_hand=StockLevel.on_hand - quantity)
        .returning(StockLevel.id)
    )
    return result.scalar_one_or_none() is not None


async def free_in_level(session: AsyncSession, location_id: int, lot_id: int) -> Decimal:
    """On hand minus reserved of a lot at a location (0 without a level row)."""
    value = await session.scalar(
        select(StockLevel.on_hand - StockLevel.reserved).where(
            StockLevel.location_id == location_id, StockLevel.lot_id == lot_id
        )
    )
    return Decimal(value or 0)


async def level_lock_keys(
    session: AsyncSession, location_id: int, lot_ids: Sequence[int]
) -> dict[int, tuple[int, date, int]]:
    """Lot id → (variant, best-before, level id) of the lots' level rows at a location."""
    rows = await session.execute(
        select(StockLevel.lot_id, StockLevel.variant_id, StockLevel.best_before, StockLevel.id).where(
            StockLevel.location_id == location_id, StockLevel.lot_id.in_(list(lot_ids))
        )
    )
    return {lot_id: (variant_id, best_before, level_id) for lot_id, variant_id, best_before, level_id in rows}


# A counter sale takes one line off the shelf: the variant's sellable lot rows at the location are
# locked in FEFO order (best-before, level id — the order reservations lock them in; the caller runs
# its lines by variant, so the whole sale locks in reservations' order), only what is free (on hand −
# reserved) is taken, earliest best-before first, and each take writes its ``sale`` ledger row in
# the same statement. What the rows do not hold is simply not taken: the caller records it short.
_TAKE_FOR_SALE = text(
    "WITH"
    + FEFO_TAKE
    + """, upd AS (
    UPDATE stock_levels s SET on_hand = s.on_hand - take.q
    FROM take WHERE s.id = take.id AND s.on_hand - s.reserved >= take.q
    RETURNING s.id, s.lot_id, s.variant_id, s.location_id, s.best_before, take.q
), ledger AS (
    INSERT INTO stock_ledger (kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta,
                              actor_user_id, reason, document_type, document_ref, channel)
    SELECT 'sale', variant_id, location_id, lot_id, -q, 0, :actor_user_id, :reason, :document_type,
           :document_ref, :channel
    FROM upd ORDER BY best_before, id
)
"""
    + FEFO_MOVED
).bindparams(bindparam("need", type_=Numeric(12, 3)))


async def take_for_sale_fefo(
    session: AsyncSession,
    *,
    location_id: int,
    variant_id: int,
    quantity: Decimal,
    min_best_before: date,
    document_type: str,
    document_ref: str,
    channel: str,
    actor_user_id: int | None,
    reason: str = "",
) -> list[tuple[int, str, Decimal]]:
    """Take up to ``quantity`` of a variant off the location's free stock, earliest best-before
    first, with a ``sale`` ledger row per lot; (lot id, lot code, quantity taken) per lot."""
    params = {
        "variant_id": variant_id,
        "location_id": location_id,
        "min_best_before": min_best_before,
        "need": quantity,
        "actor_user_id": actor_user_id,
        "reason": reason[:200],
        "document_type": document_type,
        "document_ref": document_ref,
        "channel": channel,
    }
    return [(lot_id, code, Decimal(q)) for lot_id, code, q in (await session.execute(_TAKE_FOR_SALE, params)).all()]


async def ledger_takes(
    session: AsyncSession, *, document_type: str, document_ref: str
) -> list[tuple[int, str, Decimal]]:
    """(variant id, lot code, quantity) of each ``sale`` ledger row of a document, in the order written."""
    rows = await session.execute(
        select(StockLedgerEntry.variant_id, Lot.code, -StockLedgerEntry.on_hand_delta)
        .join(Lot, Lot.id == StockLedgerEntry.lot_id)
        .where(
            StockLedgerEntry.document_type == document_type,
            StockLedgerEntry.document_ref == document_ref,
            StockLedgerEntry.kind == LedgerKind.sale,
        )
        .order_by(StockLedgerEntry.id)
    )
    return [(variant_id, code, Decimal(quantity)) for variant_id, code, quantity in rows.all()]


# ---- count sheets -------------------------------------------------------------------------------


async def count_with_lines(session: AsyncSession, number: str) -> StockCount | None:
    """A count sheet and its lines, read afresh (a sheet is re-read after every change)."""
    return await session.scalar(
        select(StockCount)
        .where(StockCount.number == number)
        .options(selectinload(StockCount.lines))
        .execution_options(populate_existing=True)
    )


async def lock_location(session: AsyncSession, location_id: int) -> None:
    """Serialise the opening of count sheets at one location."""
    await session.execute(select(Location.id).where(Location.id == location_id).with_for_update())


async def open_count_number(session: AsyncSession, location_id: int) -> str | None:
    """The number of the location's open count sheet, if it has one."""
    return await session.scalar(
        select(StockCount.number).where(
            StockCount.location_id == location_id, StockCount.status == StockCountStatus.open
        )
    )


async def mark_count_posted(session: AsyncSession, count_id: int, *, posted_at: datetime, posted_by_id: int) -> bool:
    """Compare-and-set an open sheet to posted; False when it was no longer open."""
    return await _move_status(
        session,
        StockCount,
        count_id,
        StockCountStatus.open,
        status=StockCountStatus.posted,
        posted_at=posted_at,
        posted_by_id=posted_by_id,
    )


# ---- transfers ----------------------------------------------------------------------------------


async def transfer_with_lines(session: AsyncSession, number: str) -> Transfer | None:
    return await session.scalar(select(Transfer).where(Transfer.number == number).options(selectinload(Transfer.lines)))


async def recent_transfers(session: AsyncSession, limit: int) -> Sequence[Transfer]:
    """Transfers with their lines, newest first."""
    return (
        await session.scalars(
            select(Transfer).options(selectinload(Transfer.lines)).order_by(Transfer.id.desc()).limit(limit)
        )
    ).all()


async def mark_transfer_received(
    session: AsyncSession, transfer_id: int, *, received_at: datetime, received_by_id: int
) -> bool:
    """Compare-and-set an in-transit transfer to received; False when it was not in transit."""
    return await _move_status(
        session,
        Transfer,
        transfer_id,
        TransferStatus.in_transit,
        status=TransferStatus.received,
        received_at=received_at,
        received_by_id=received_by_id,
    )


async def _move_status(
    session: AsyncSession,
    model: type[StockCount] | type[Transfer],
    row_id: int,
    expected: StockCountStatus | TransferStatus,
    **values: object,
) -> bool:
    """Update the row only while its status is still ``expected``: of two racing callers one wins."""
    won = await session.execute(
        update(model).where(model.id == row_id, model.status == expected).values(**values).returning(model.id)
    )
    return won.scalar_one_or_none() is not None
