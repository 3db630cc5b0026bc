"""Stock counts: a count sheet lists what the books expect at a location, counted quantities are
entered, and posting writes each difference to the ledger (kind ``count``).

When a counted figure is entered the book quantity of that moment is kept beside it; posting
applies ``counted − book_at_count``. Stock keeps moving while a sheet is open (the shop sells, a
transfer arrives), and this way those movements are neither lost nor corrected a second time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.numbers import add_with_unique_number
from app.kit.quantities import format_quantity
from app.supply import errors, repository, stock_queries
from app.supply.models import LedgerKind, Lot, StockCount, StockCountLine, StockCountStatus
from app.supply.service import location_or_404
from app.supply.stock import Movement, add_on_hand, lock_key, lock_order, remove_on_hand


async def get_count(session: AsyncSession, number: str) -> StockCount:
    count = await stock_queries.count_with_lines(session, number)
    if count is None:
        raise errors.CountNotFound(detail={"count": number})
    return count


def new_count_number() -> str:
    return f"PD{clock.today():%y%m%d}-{secrets.token_hex(3).upper()}"


async def open_count(session: AsyncSession, *, location_code: str, actor_user_id: int) -> StockCount:
    location = await location_or_404(session, location_code)
    # One open sheet per location: two sheets would each post the same difference.
    await stock_queries.lock_location(session, location.id)
    already = await stock_queries.open_count_number(session, location.id)
    if already is not None:
        raise InvalidInput(f"该库位已有未过账的盘点单 {already}", detail={"count": already})
    count = StockCount(number=new_count_number(), location_id=location.id, created_by_id=actor_user_id)
    await add_with_unique_number(session, count, field="number", draw=new_count_number)
    for level, lot, _ in await repository.stock_rows(session, location_id=location.id):
        session.add(StockCountLine(count_id=count.id, lot_id=lot.id, variant_id=lot.variant_id, expected=level.on_hand))
    await session.flush()
    return await get_count(session, count.number)


async def record_counts(session: AsyncSession, number: str, counted: Mapping[str, Decimal]) -> StockCount:
    """Enter counted quantities by lot code; a lot found on the shelf but not on the sheet is added."""
    count = await get_count(session, number)
    if count.status is not StockCountStatus.open:
        raise errors.CountNotOpen()
    lots = await repository.lots_by_codes(session, list(counted))
    missing = [code for code in counted if code not in lots]
    if missing:
        raise errors.LotNotFound(detail={"lots": missing})
    lines = {line.lot_id: line for line in count.lines}
    books = {
        level.lot_id: level.on_hand
        for level, _, _ in await repository.stock_rows(session, location_id=count.location_id, only_nonzero=False)
    }
    for code, quantity in counted.items():
        if quantity < 0:
            raise errors.InvalidStockQuantity("盘点数量不能为负", detail={"lot": code})
        lot = lots[code]
        line = lines.get(lot.id)
        if line is None:
            line = StockCountLine(count_id=count.id, lot_id=lot.id, variant_id=lot.variant_id, expected=Decimal(0))
            session.add(line)
        line.counted = quantity
        line.book_at_count = books.get(lot.id, Decimal(0))
    await session.flush()
    return await get_count(session, number)


async def post_count(session: AsyncSession, number: str, *, actor_user_id: int) -> StockCount:
    """Write every difference (counted − book at counting time) to the ledger, once."""
    count = await get_count(session, number)
    if count.status is not StockCountStatus.open:
        raise errors.CountNotOpen()
    uncounted = sum(1 for line in count.lines if line.counted is None)
    if uncounted:
        raise InvalidInput("还有批次未录入盘点数量", detail={"uncounted": uncounted})
    if not await stock_queries.mark_count_posted(session, count.id, posted_at=clock.now(), posted_by_id=actor_user_id):
        raise errors.CountNotOpen()
    keys = await lock_order(session, count.location_id, [line.lot_id for line in count.lines])
    for line in sorted(count.lines, key=lambda item: lock_key(keys, item.lot_id)):
        assert line.counted is not None and line.book_at_count is not None
        difference = line.counted - line.book_at_count
        if difference == 0:
            continue
        lot = await session.get(Lot, line.lot_id)
        assert lot is not None
        movement = Movement(
            LedgerKind.stock_count,
            "count",
            count.number,
            actor_user_id,
            f"盘点差异：账面 {format_quantity(line.book_at_count)}，实盘 {format_quantity(line.counted)}",
        )
        if difference > 0:
            await add_on_hand(session, location_id=count.location_id, lot=lot, quantity=difference, movement=movement)
        else:
            await remove_on_hand(
                session, location_id=count.location_id, lot=lot, quantity=-difference, movement=movement
            )
    await session.flush()
    return await get_count(session, number)
