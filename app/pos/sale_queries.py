"""SQL of the till's upload and its figures: shifts, cash movements, sales, tenders, the sums a
shift's expected cash and its X / Z report are made of.

Each operation's own row is inserted with ``ON CONFLICT (client_id) DO NOTHING RETURNING id``: a
second upload of the same operation — from a retry, or from another connection at the same moment,
which waits on the unique index until the first transaction ends — gets no id and answers
``duplicate``; there is never a second row nor a unique violation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.kit.models import in_statement
from app.orders.models import Order, OrderLine
from app.pos.models import Store, Till
from app.pos.sale_models import (
    CashMovement,
    Sale,
    SaleLine,
    SaleReturn,
    Shift,
    ShiftStatus,
    StockException,
    Tender,
)

# ---- shifts -------------------------------------------------------------------------------------


async def lock_till(session: AsyncSession, till_id: int) -> None:
    """Serialise the opening of shifts on one till: a second open (or the same one uploaded from
    another connection) waits here for the first transaction and then sees its shift. ``FOR NO KEY
    UPDATE``: the sales' foreign keys to the till (``KEY SHARE``) do not wait on it."""
    await session.execute(select(Till.id).where(Till.id == till_id).with_for_update(key_share=True))


async def insert_shift(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """A new shift's id; None when one with this client id exists. A second open shift of the till
    raises the partial unique index's violation (the caller's savepoint takes it back)."""
    return await session.scalar(
        insert(Shift).values(**values).on_conflict_do_nothing(index_elements=["client_id"]).returning(Shift.id)
    )


async def shift_by_client_id(session: AsyncSession, client_id: uuid.UUID) -> Shift | None:
    return await session.scalar(
        select(Shift).where(Shift.client_id == client_id).execution_options(populate_existing=True)
    )


async def shift_by_id(session: AsyncSession, shift_id: int) -> Shift | None:
    return await session.scalar(select(Shift).where(Shift.id == shift_id).execution_options(populate_existing=True))


# In the statement's text: a generic plan then reads the till's one open shift from its partial
# unique index, not every shift the till ever had (``app.kit.models.in_statement``).
_OPEN = in_statement(ShiftStatus.open)


async def open_shift_of_till(session: AsyncSession, till_id: int) -> Shift | None:
    return await session.scalar(select(Shift).where(Shift.till_id == till_id, Shift.status == _OPEN))


async def close_shift_if_open(session: AsyncSession, shift_id: int, **values: Any) -> bool:
    """Compare-and-set open → closed; False when it was closed already (a concurrent close of the
    same shift waits for the first and then finds it closed)."""
    won = await session.execute(
        update(Shift)
        .where(Shift.id == shift_id, Shift.status == ShiftStatus.open.value)
        .values(status=ShiftStatus.closed.value, **values)
        .returning(Shift.id)
    )
    return won.scalar_one_or_none() is not None


async def confirm_pending_variance(session: AsyncSession, shift_id: int, manager_user_id: int) -> bool:
    won = await session.execute(
        update(Shift)
        .where(Shift.id == shift_id, Shift.variance_status == "pending")
        .values(variance_status="approved", variance_approved_by_id=manager_user_id)
        .returning(Shift.id)
    )
    return won.scalar_one_or_none() is not None


async def cash_sums(session: AsyncSession, shift_id: int) -> tuple[int, int, int, int, int]:
    """(cash tendered, change given, cash in, cash out, cash refunded by returns) of a shift."""
    tendered = (
        select(func.coalesce(func.sum(Tender.amount_minor), 0))
        .join(Sale, Sale.id == Tender.sale_id)
        .where(Sale.shift_id == shift_id, Tender.method == "cash")
        .scalar_subquery()
    )
    change = select(func.coalesce(func.sum(Sale.change_minor), 0)).where(Sale.shift_id == shift_id).scalar_subquery()
    moved_in = (
        select(func.coalesce(func.sum(CashMovement.amount_minor), 0))
        .where(CashMovement.shift_id == shift_id, CashMovement.direction == "in")
        .scalar_subquery()
    )
    moved_out = (
        select(func.coalesce(func.sum(CashMovement.amount_minor), 0))
        .where(CashMovement.shift_id == shift_id, CashMovement.direction == "out")
        .scalar_subquery()
    )
    refunded = (
        select(func.coalesce(func.sum(SaleReturn.refund_minor), 0))
        .where(SaleReturn.shift_id == shift_id)
        .scalar_subquery()
    )
    row = (await session.execute(select(tendered, change, moved_in, moved_out, refunded))).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])


# ---- cash movements -----------------------------------------------------------------------------


async def cash_movement_by_client_id(session: AsyncSession, client_id: uuid.UUID) -> CashMovement | None:
    return await session.scalar(select(CashMovement).where(CashMovement.client_id == client_id))


async def insert_cash_movement(session: AsyncSession, values: dict[str, Any]) -> int | None:
    return await session.scalar(
        insert(CashMovement)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["client_id"])
        .returning(CashMovement.id)
    )


async def cash_movements_of(session: AsyncSession, shift_id: int) -> Sequence[CashMovement]:
    return (
        await session.scalars(
            select(CashMovement)
            .where(CashMovement.shift_id == shift_id)
            .order_by(CashMovement.moved_at, CashMovement.id)
        )
    ).all()


# ---- sales --------------------------------------------------------------------------------------


async def sale_by_client_id(session: AsyncSession, client_id: uuid.UUID) -> Sale | None:
    return await session.scalar(select(Sale).where(Sale.client_id == client_id))


async def sale_in_store(session: AsyncSession, store_id: int, number: str) -> Sale | None:
    return await session.scalar(select(Sale).where(Sale.number == number, Sale.store_id == store_id))


async def insert_sale(session: AsyncSession, values: dict[str, Any]) -> int | None:
    return await session.scalar(
        insert(Sale).values(**values).on_conflict_do_nothing(index_elements=["client_id"]).returning(Sale.id)
    )


async def highest_sale_seq(session: AsyncSession, till_id: int, prefix: str) -> int:
    """The highest numeric suffix of the till's sale numbers ``{prefix}-{seq}`` (0 without any)."""
    suffix = func.substr(Sale.number, len(prefix) + 2)
    value = await session.scalar(
        select(func.max(cast(suffix, Integer))).where(
            Sale.till_id == till_id,
            Sale.number.startswith(f"{prefix}-", autoescape=True),
            suffix.regexp_match("^[0-9]{1,9}$"),
        )
    )
    return int(value or 0)


async def order_line_ids(session: AsyncSession, order_id: int) -> list[int]:
    """An order's line ids in the order they were written (the till's line order)."""
    return list(
        (await session.scalars(select(OrderLine.id).where(OrderLine.order_id == order_id).order_by(OrderLine.id))).all()
    )


async def lines_of_sale(session: AsyncSession, sale: Sale) -> Sequence[tuple[OrderLine, SaleLine]]:
    rows = await session.execute(
        select(OrderLine, SaleLine)
        .join(SaleLine, SaleLine.order_line_id == OrderLine.id)
        .where(SaleLine.sale_id == sale.id)
        .order_by(OrderLine.id)
    )
    return [(line, extra) for line, extra in rows.all()]


async def tenders_of(session: AsyncSession, sale_ids: Sequence[int]) -> Sequence[Tender]:
    if not sale_ids:
        return []
    return (await session.scalars(select(Tender).where(Tender.sale_id.in_(list(sale_ids))).order_by(Tender.id))).all()


async def sale_context(session: AsyncSession, sale: Sale) -> tuple[Store, Till, User, Order]:
    """The store, till, clerk and order of a sale."""
    store = await session.get(Store, sale.store_id)
    till = await session.get(Till, sale.till_id)
    clerk = await session.get(User, sale.clerk_id)
    order = await session.get(Order, sale.order_id)
    assert store is not None and till is not None and clerk is not None and order is not None
    return store, till, clerk, order


def add_stock_exception(session: AsyncSession, **values: Any) -> None:
    session.add(StockException(**values))


# ---- a shift's figures --------------------------------------------------------------------------


async def shift_people(session: AsyncSession, shift: Shift) -> tuple[Store, Till, dict[int, User]]:
    """The shift's store and till, and the users it names (opened, closed, approved by)."""
    store = await session.get(Store, shift.store_id)
    till = await session.get(Till, shift.till_id)
    assert store is not None and till is not None
    ids = {i for i in (shift.opened_by_id, shift.closed_by_id, shift.variance_approved_by_id) if i is not None}
    users = (await session.scalars(select(User).where(User.id.in_(ids)))).all() if ids else []
    return store, till, {user.id: user for user in users}


async def sale_totals(session: AsyncSession, shift_id: int) -> tuple[int, int, int, int]:
    """(sales count, Σ subtotals, Σ discounts, Σ totals) of a shift."""
    row = (
        await session.execute(
            select(
                func.count(Sale.id),
                func.coalesce(func.sum(Sale.subtotal_minor), 0),
                func.coalesce(func.sum(Sale.discount_minor), 0),
                func.coalesce(func.sum(Sale.total_minor), 0),
            ).where(Sale.shift_id == shift_id)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def takings_by_wallet(session: AsyncSession, shift_id: int) -> dict[str, int]:
    """Σ QR tenders per wallet of a shift."""
    rows = await session.execute(
        select(Tender.wallet, func.sum(Tender.amount_minor))
        .join(Sale, Sale.id == Tender.sale_id)
        .where(Sale.shift_id == shift_id, Tender.method == "qr")
        .group_by(Tender.wallet)
    )
    return {str(wallet): int(amount) for wallet, amount in rows.all()}


async def qr_tenders(session: AsyncSession, shift_id: int) -> Sequence[tuple[datetime, str, str, int, str]]:
    """(sold at, sale number, wallet, amount, reference tail) of each QR tender of a shift."""
    rows = await session.execute(
        select(Sale.sold_at, Sale.number, Tender.wallet, Tender.amount_minor, Tender.reference_tail)
        .join(Sale, Sale.id == Tender.sale_id)
        .where(Sale.shift_id == shift_id, Tender.method == "qr")
        .order_by(Sale.sold_at, Sale.id, Tender.id)
    )
    return [(at, number, str(wallet), int(amount), tail) for at, number, wallet, amount, tail in rows.all()]


async def by_sku(session: AsyncSession, shift_id: int) -> Sequence[tuple[str, str, str, Decimal, int]]:
    """(sku, name, unit, Σ quantity, Σ line totals) per SKU sold in a shift, by SKU."""
    rows = await session.execute(
        select(
            OrderLine.sku,
            func.min(OrderLine.name_zh),
            func.min(OrderLine.unit),
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.line_total_minor),
        )
        .join(Sale, Sale.order_id == OrderLine.order_id)
        .where(Sale.shift_id == shift_id)
        .group_by(OrderLine.sku)
        .order_by(OrderLine.sku)
    )
    return [(sku, name, unit, Decimal(q), int(amount)) for sku, name, unit, q, amount in rows.all()]


async def refund_totals(session: AsyncSession, shift_id: int) -> tuple[int, int]:
    """(count, Σ refunded) of the returns taken in a shift."""
    row = (
        await session.execute(
            select(func.count(SaleReturn.id), func.coalesce(func.sum(SaleReturn.refund_minor), 0)).where(
                SaleReturn.shift_id == shift_id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def shift_in_store(session: AsyncSession, store_id: int, client_id: uuid.UUID) -> Shift | None:
    return await session.scalar(select(Shift).where(and_(Shift.client_id == client_id, Shift.store_id == store_id)))
