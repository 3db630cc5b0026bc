"""SQL of returns at the till: the sale locked while a return is weighed against it, what its lines
sold and already took back, and the lots the goods go back into."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.orders.models import Order, OrderLine
from app.pos.sale_models import Sale, SaleLine, SaleReturn, SaleReturnLine
from app.supply.models import LedgerKind, Lot, StockLedgerEntry

RETURN_DOCUMENT = "pos_return"  # ledger rows' document_type for goods a till took back


async def return_by_client_id(session: AsyncSession, client_id: uuid.UUID) -> SaleReturn | None:
    return await session.scalar(select(SaleReturn).where(SaleReturn.client_id == client_id))


async def sale_for_update(session: AsyncSession, number: str) -> Sale | None:
    """The sale row locked until the transaction ends: two returns of one receipt weigh their
    quantities one after the other, each seeing what the other took back."""
    return await session.scalar(
        select(Sale).where(Sale.number == number).with_for_update().execution_options(populate_existing=True)
    )


async def sale_lines(session: AsyncSession, sale_id: int) -> list[tuple[OrderLine, SaleLine]]:
    """The sale's lines in the order they were rung up, each with its counter extras (fresh from
    the database: returned quantities move under the sale's lock)."""
    rows = await session.execute(
        select(OrderLine, SaleLine)
        .join(SaleLine, SaleLine.order_line_id == OrderLine.id)
        .where(SaleLine.sale_id == sale_id)
        .order_by(OrderLine.id)
        .execution_options(populate_existing=True)
    )
    return [(order_line, sale_line) for order_line, sale_line in rows.all()]


async def return_lines(session: AsyncSession, return_id: int) -> list[tuple[SaleReturnLine, OrderLine]]:
    rows = await session.execute(
        select(SaleReturnLine, OrderLine)
        .join(OrderLine, OrderLine.id == SaleReturnLine.order_line_id)
        .where(SaleReturnLine.return_id == return_id)
        .order_by(SaleReturnLine.id)
    )
    return [(line, order_line) for line, order_line in rows.all()]


async def returns_of_till(session: AsyncSession, till_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(SaleReturn.till_id == till_id)) or 0)


async def order_of(session: AsyncSession, order_id: int) -> Order:
    order = await session.get(Order, order_id, populate_existing=True)
    assert order is not None
    return order


async def returned_per_lot(session: AsyncSession, sale_id: int) -> dict[int, Decimal]:
    """Per lot, what the sale's earlier returns put back on hand."""
    numbers = select(SaleReturn.number).where(SaleReturn.sale_id == sale_id)
    rows = await session.execute(
        select(StockLedgerEntry.lot_id, func.sum(StockLedgerEntry.on_hand_delta))
        .where(
            StockLedgerEntry.kind == LedgerKind.return_,
            StockLedgerEntry.document_type == RETURN_DOCUMENT,
            StockLedgerEntry.document_ref.in_(numbers),
        )
        .group_by(StockLedgerEntry.lot_id)
    )
    return {int(lot_id): Decimal(delta) for lot_id, delta in rows.all()}


async def lots_by_id(session: AsyncSession, lot_ids: list[int]) -> dict[int, Lot]:
    if not lot_ids:
        return {}
    rows = await session.scalars(select(Lot).where(Lot.id.in_(lot_ids)))
    return {lot.id: lot for lot in rows}
