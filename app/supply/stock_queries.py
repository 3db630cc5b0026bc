"""SQL of stock levels, count sheets and transfers: the conditional level updates and the
compare-and-set status changes that ``stock``, ``counts`` and ``transfers`` are built on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.supply.models import (
    Location,
    Lot,
    StockCount,
    StockCountStatus,
    StockLevel,
    Transfer,
    TransferStatus,
)

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
