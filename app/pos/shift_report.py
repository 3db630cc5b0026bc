"""A shift's figures: the X report (the open shift so far) and the Z report (the closed shift, with
the drawer as counted) are the same :func:`shift_figures`.

- sales: count, gross (Σ subtotals), discounts, net (Σ totals);
- takings by method: cash (tendered − change), QR WeChat, QR Alipay;
- per SKU: name, unit, quantity, amount (the lines' totals, before the basket discount);
- refunds (the returns taken in this shift): count, amount;
- cash in / cash out, each with its reason;
- expected cash (``shifts.expected_cash``, the formula the close used), and once closed: counted
  by denomination, variance, its status;
- every QR tender (time, sale number, wallet, amount, reference tail) to tick off against the
  WeChat / Alipay merchant bill.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.quantities import format_quantity
from app.pos import errors, sale_queries, shifts
from app.pos.sale_models import ShiftStatus


@dataclass(frozen=True)
class SkuFigure:
    sku: str
    name_zh: str
    unit: str
    quantity: str
    amount_minor: int


@dataclass(frozen=True)
class CashMovementFigure:
    direction: str  # in / out
    amount_minor: int
    reason: str
    moved_at: datetime


@dataclass(frozen=True)
class QrTenderFigure:
    sold_at: datetime
    sale_number: str
    wallet: str
    amount_minor: int
    reference_tail: str


@dataclass(frozen=True)
class DenominationFigure:
    denomination_minor: int
    count: int
    amount_minor: int


@dataclass(frozen=True)
class ShiftFigures:
    shift_client_id: uuid.UUID
    shift_number: str
    status: str  # open (X report) / closed (Z report)
    store_code: str
    store_name: str
    till_code: str
    till_name: str
    opened_by: str
    opened_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    closed_offline: bool
    float_minor: int
    sales_count: int
    gross_minor: int
    discounts_minor: int
    net_minor: int
    cash_minor: int  # cash tendered − change
    qr_wechat_minor: int
    qr_alipay_minor: int
    by_sku: list[SkuFigure]
    refunds_count: int
    refunds_minor: int
    cash_in_minor: int
    cash_out_minor: int
    cash_movements: list[CashMovementFigure]
    expected_cash_minor: int
    counted_cash_minor: int | None
    counted: list[DenominationFigure]
    variance_minor: int | None
    variance_status: str
    variance_approved_by: str | None
    qr_tenders: list[QrTenderFigure]


async def shift_figures(session: AsyncSession, shift_id: int) -> ShiftFigures:
    shift = await sale_queries.shift_by_id(session, shift_id)
    if shift is None:
        raise errors.ShiftUnknown()
    store, till, people = await sale_queries.shift_people(session, shift)

    def name(user_id: int | None) -> str | None:
        user = people.get(user_id) if user_id is not None else None
        return None if user is None else (user.display_name or user.username)

    count, gross, discounts, net = await sale_queries.sale_totals(session, shift.id)
    wallets = await sale_queries.takings_by_wallet(session, shift.id)
    refunds_count, refunds_minor = await sale_queries.refund_totals(session, shift.id)
    cash = await shifts.expected_cash(session, shift)
    movements = await sale_queries.cash_movements_of(session, shift.id)
    closed = shift.status == ShiftStatus.closed.value
    counted = {int(key): int(value) for key, value in (shift.counted_denominations or {}).items()}
    return ShiftFigures(
        shift_client_id=shift.client_id,
        shift_number=shifts.shift_number(shift),
        status=shift.status,
        store_code=store.code,
        store_name=store.name,
        till_code=till.code,
        till_name=till.name,
        opened_by=name(shift.opened_by_id) or "",
        opened_at=shift.opened_at,
        closed_by=name(shift.closed_by_id),
        closed_at=shift.closed_at,
        closed_offline=shift.closed_offline,
        float_minor=shift.float_minor,
        sales_count=count,
        gross_minor=gross,
        discounts_minor=discounts,
        net_minor=net,
        cash_minor=cash.cash_sales_minor,
        qr_wechat_minor=wallets.get("wechat", 0),
        qr_alipay_minor=wallets.get("alipay", 0),
        by_sku=[
            SkuFigure(sku, name_zh, unit, format_quantity(quantity), amount)
            for sku, name_zh, unit, quantity, amount in await sale_queries.by_sku(session, shift.id)
        ],
        refunds_count=refunds_count,
        refunds_minor=refunds_minor,
        cash_in_minor=cash.cash_in_minor,
        cash_out_minor=cash.cash_out_minor,
        cash_movements=[CashMovementFigure(m.direction, m.amount_minor, m.reason, m.moved_at) for m in movements],
        # A closed shift shows what its close computed; an open one what it would be now.
        expected_cash_minor=(
            shift.expected_cash_minor if closed and shift.expected_cash_minor is not None else cash.expected_minor
        ),
        counted_cash_minor=shift.counted_cash_minor if closed else None,
        counted=[
            DenominationFigure(value, counted[value], value * counted[value])
            for value in shifts.DENOMINATIONS
            if counted.get(value)
        ],
        variance_minor=shift.variance_minor if closed else None,
        variance_status=shift.variance_status,
        variance_approved_by=name(shift.variance_approved_by_id),
        qr_tenders=[
            QrTenderFigure(at, number, wallet, amount, tail)
            for at, number, wallet, amount, tail in await sale_queries.qr_tenders(session, shift.id)
        ],
    )


async def open_shift_figures(session: AsyncSession, till_id: int) -> ShiftFigures:
    """The X report of the till's open shift; ``shift_unknown`` when none is open."""
    shift = await sale_queries.open_shift_of_till(session, till_id)
    if shift is None:
        raise errors.ShiftUnknown("本收银机没有未结的班次")
    return await shift_figures(session, shift.id)


async def store_shift_figures(session: AsyncSession, store_id: int, client_id: uuid.UUID) -> ShiftFigures:
    """The figures of a shift of this store (any of its tills); ``shift_unknown`` otherwise."""
    shift = await sale_queries.shift_in_store(session, store_id, client_id)
    if shift is None:
        raise errors.ShiftUnknown()
    return await shift_figures(session, shift.id)
