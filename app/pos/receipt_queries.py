"""SQL of what a receipt and a sale's public page show: the sale with its store, till and clerk,
its lines and tenders, and the lots its ``sale`` ledger rows took."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.catalog.models import Product, Variant
from app.orders.models import OrderLine
from app.pos.models import Store, Till
from app.pos.sale_models import Sale, SaleLine, Tender
from app.supply.models import LedgerKind, Lot, StockLedgerEntry


async def sale_by_number(session: AsyncSession, number: str) -> Sale | None:
    return await session.scalar(select(Sale).where(Sale.number == number))


async def sale_by_client_id(session: AsyncSession, client_id: uuid.UUID) -> Sale | None:
    return await session.scalar(select(Sale).where(Sale.client_id == client_id))


async def sale_places(session: AsyncSession, sale: Sale) -> tuple[Store, Till, User]:
    """The store, till and clerk of a sale."""
    row = (
        await session.execute(
            select(Store, Till, User)
            .join(Till, Till.store_id == Store.id)
            .join(User, User.id == sale.clerk_id)
            .where(Store.id == sale.store_id, Till.id == sale.till_id)
        )
    ).one()
    return row[0], row[1], row[2]


async def receipt_lines(session: AsyncSession, sale_id: int) -> list[tuple[OrderLine, SaleLine, str]]:
    """The sale's lines as rung up, each with its counter extras and its product's name."""
    rows = await session.execute(
        select(OrderLine, SaleLine, Product.name_zh)
        .join(SaleLine, SaleLine.order_line_id == OrderLine.id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(SaleLine.sale_id == sale_id)
        .order_by(OrderLine.id)
    )
    return [(order_line, sale_line, str(product)) for order_line, sale_line, product in rows.all()]


async def tenders_of(session: AsyncSession, sale_id: int) -> list[Tender]:
    return list((await session.scalars(select(Tender).where(Tender.sale_id == sale_id).order_by(Tender.id))).all())


async def sold_lots(session: AsyncSession, sale_number: str) -> list[tuple[int, str, Decimal]]:
    """(variant, lot code, quantity) the sale's ``sale`` ledger rows took, earliest lot first."""
    rows = await session.execute(
        select(StockLedgerEntry.variant_id, Lot.code, -func.sum(StockLedgerEntry.on_hand_delta))
        .join(Lot, Lot.id == StockLedgerEntry.lot_id)
        .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == sale_number)
        .group_by(StockLedgerEntry.variant_id, Lot.code, Lot.best_before, Lot.id)
        .order_by(Lot.best_before, Lot.id)
    )
    return [(int(variant_id), str(code), Decimal(quantity)) for variant_id, code, quantity in rows.all()]
