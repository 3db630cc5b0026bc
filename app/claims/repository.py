"""All SQL of after-sales claims: claims and their lines, lots and photos, the order's completion
time and sale rows, the review's compare-and-set, claim rates per lot and per supplier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Subquery, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.catalog.models import Variant
from app.claims.models import Claim, ClaimLine, ClaimLineLot, ClaimPhoto, ClaimStatus
from app.orders.models import Order, OrderEvent, OrderStatus
from app.stations.models import StationCashRefund
from app.supply.models import LedgerKind, Lot, StockLedgerEntry, Supplier

APPROVED = (ClaimStatus.approved, ClaimStatus.partly_approved)


async def completed_at(session: AsyncSession, order_id: int) -> datetime | None:
    """When the order was first completed (handed over at the station or delivered): the order
    event that moved it to ``completed`` — the same instant the streamers' statement counts from."""
    found: datetime | None = await session.scalar(
        select(func.min(OrderEvent.created_at)).where(
            OrderEvent.order_id == order_id, OrderEvent.to_status == OrderStatus.completed.value
        )
    )
    return found


async def sold_lots(session: AsyncSession, order_number: str, variant_id: int) -> list[tuple[int, Decimal]]:
    """(lot id, quantity) the order's ``sale`` ledger rows took of one variant, in the order written."""
    rows = await session.execute(
        select(StockLedgerEntry.lot_id, func.sum(-StockLedgerEntry.on_hand_delta))
        .where(
            StockLedgerEntry.document_type == "order",
            StockLedgerEntry.document_ref == order_number,
            StockLedgerEntry.kind == LedgerKind.sale,
            StockLedgerEntry.variant_id == variant_id,
        )
        .group_by(StockLedgerEntry.lot_id)
        .order_by(func.min(StockLedgerEntry.id))
    )
    return [(lot_id, Decimal(quantity)) for lot_id, quantity in rows.all() if quantity and quantity > 0]


async def taken_per_line(session: AsyncSession, order_id: int) -> dict[int, Decimal]:
    """Per order line, what earlier claims hold of it: a waiting claim its claimed quantity, a
    reviewed one what was approved (a refused part may be claimed again, with new photos)."""
    held = func.coalesce(ClaimLine.approved_quantity, ClaimLine.quantity)
    rows = await session.execute(
        select(ClaimLine.order_line_id, func.sum(held))
        .join(Claim, Claim.id == ClaimLine.claim_id)
        .where(Claim.order_id == order_id)
        .group_by(ClaimLine.order_line_id)
    )
    return {line_id: Decimal(total) for line_id, total in rows.all()}


def _with_parts() -> tuple[ExecutableOption, ...]:
    return (selectinload(Claim.lines).selectinload(ClaimLine.lots), selectinload(Claim.photos))


async def claim_by_id(session: AsyncSession, claim_id: int) -> Claim | None:
    found: Claim | None = await session.scalar(
        select(Claim).where(Claim.id == claim_id).options(*_with_parts()).execution_options(populate_existing=True)
    )
    return found


async def claims_of_order(session: AsyncSession, order_id: int) -> list[Claim]:
    rows = await session.scalars(
        select(Claim)
        .where(Claim.order_id == order_id)
        .options(*_with_parts())
        .order_by(Claim.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


@dataclass(frozen=True)
class ClaimRow:
    claim: Claim
    order_number: str
    contact_name: str


async def list_claims(session: AsyncSession, *, status: ClaimStatus | None, limit: int = 200) -> list[ClaimRow]:
    query = (
        select(Claim, Order.number, Order.contact_name)
        .join(Order, Order.id == Claim.order_id)
        .options(selectinload(Claim.lines), selectinload(Claim.photos))
        .order_by(Claim.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Claim.status == status)
    return [ClaimRow(claim, number, name) for claim, number, name in (await session.execute(query)).all()]


async def order_of(session: AsyncSession, order_id: int) -> Order | None:
    found: Order | None = await session.scalar(
        select(Order).where(Order.id == order_id).options(selectinload(Order.lines))
    )
    return found


async def settle_review(
    session: AsyncSession,
    claim_id: int,
    *,
    status: ClaimStatus,
    approved_minor: int,
    note: str,
    reviewer_id: int | None,
    now: datetime,
) -> bool:
    """Compare-and-set a waiting claim to its review; False when it was reviewed already (a second
    reviewer, a double click): that caller must change nothing and refund nothing."""
    result = await session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.status == ClaimStatus.submitted)
        .values(
            status=status, approved_minor=approved_minor, review_note=note, reviewed_by_id=reviewer_id, reviewed_at=now
        )
        .returning(Claim.id)
    )
    return result.scalar_one_or_none() is not None


async def set_line_approval(session: AsyncSession, line_id: int, quantity: Decimal, amount_minor: int) -> None:
    await session.execute(
        update(ClaimLine).where(ClaimLine.id == line_id).values(approved_quantity=quantity, approved_minor=amount_minor)
    )


async def set_lot_approval(session: AsyncSession, line_lot_id: int, quantity: Decimal) -> None:
    await session.execute(update(ClaimLineLot).where(ClaimLineLot.id == line_lot_id).values(approved_quantity=quantity))


async def set_refund(session: AsyncSession, claim_id: int, refund_id: int) -> None:
    await session.execute(update(Claim).where(Claim.id == claim_id).values(refund_id=refund_id))


async def add_cash_refund(session: AsyncSession, row: StationCashRefund) -> None:
    session.add(row)
    await session.flush()


async def photo_by_path(session: AsyncSession, claim_id: int, relative: str) -> ClaimPhoto | None:
    found: ClaimPhoto | None = await session.scalar(
        select(ClaimPhoto).where(
            ClaimPhoto.claim_id == claim_id, (ClaimPhoto.path == relative) | (ClaimPhoto.thumb_path == relative)
        )
    )
    return found


# ---- claim rates --------------------------------------------------------------------------------


def _approved_per_lot() -> Subquery:
    return (
        select(ClaimLineLot.lot_id.label("lot_id"), func.sum(ClaimLineLot.approved_quantity).label("approved"))
        .join(ClaimLine, ClaimLine.id == ClaimLineLot.claim_line_id)
        .join(Claim, Claim.id == ClaimLine.claim_id)
        .where(Claim.status.in_(APPROVED))
        .group_by(ClaimLineLot.lot_id)
        .subquery()
    )


def _sold_per_lot() -> Subquery:
    return (
        select(StockLedgerEntry.lot_id.label("lot_id"), func.sum(-StockLedgerEntry.on_hand_delta).label("sold"))
        .where(StockLedgerEntry.kind == LedgerKind.sale)
        .group_by(StockLedgerEntry.lot_id)
        .subquery()
    )


async def lot_claim_figures(session: AsyncSession, lot_codes: list[str]) -> dict[str, tuple[Decimal, Decimal]]:
    """lot code → (approved claimed quantity, sold quantity), for the lots given."""
    if not lot_codes:
        return {}
    approved = _approved_per_lot()
    sold = _sold_per_lot()
    rows = await session.execute(
        select(Lot.code, func.coalesce(approved.c.approved, 0), func.coalesce(sold.c.sold, 0))
        .outerjoin(approved, approved.c.lot_id == Lot.id)
        .outerjoin(sold, sold.c.lot_id == Lot.id)
        .where(Lot.code.in_(lot_codes))
    )
    return {code: (Decimal(a), Decimal(s)) for code, a, s in rows.all()}


@dataclass(frozen=True)
class LotFigure:
    lot_id: int
    code: str
    sku: str
    name_zh: str
    unit: str
    harvest_date: date
    approved: Decimal
    sold: Decimal


async def supplier_by_code(session: AsyncSession, code: str) -> Supplier | None:
    found: Supplier | None = await session.scalar(select(Supplier).where(Supplier.code == code))
    return found


async def supplier_lot_figures(session: AsyncSession, supplier_id: int) -> list[LotFigure]:
    """Every lot of the supplier with its approved claimed and sold quantities, newest harvest first."""
    approved = _approved_per_lot()
    sold = _sold_per_lot()
    rows = await session.execute(
        select(
            Lot.id,
            Lot.code,
            Variant.sku,
            Variant.name_zh,
            Variant.unit,
            Lot.harvest_date,
            func.coalesce(approved.c.approved, 0),
            func.coalesce(sold.c.sold, 0),
        )
        .join(Variant, Variant.id == Lot.variant_id)
        .outerjoin(approved, approved.c.lot_id == Lot.id)
        .outerjoin(sold, sold.c.lot_id == Lot.id)
        .where(Lot.supplier_id == supplier_id)
        .order_by(Lot.harvest_date.desc(), Lot.id.desc())
    )
    return [
        LotFigure(lot_id, code, sku, name, str(unit), harvest, Decimal(a), Decimal(s))
        for lot_id, code, sku, name, unit, harvest, a, s in rows.all()
    ]


async def claim_lot_codes(session: AsyncSession, lot_ids: list[int]) -> dict[int, str]:
    if not lot_ids:
        return {}
    rows = await session.execute(select(Lot.id, Lot.code).where(Lot.id.in_(lot_ids)))
    return {lot_id: code for lot_id, code in rows.all()}
