"""SQL of replenishment requests: numbering, the list, one request with its lines, the
compare-and-set of the warehouse's answer, and the warehouse's lots in FEFO order."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.catalog.models import Product, Variant
from app.pos import console_queries
from app.pos.models import Store
from app.pos.sale_models import ReplenishmentLine, ReplenishmentRequest, ReplenishmentStatus
from app.supply.models import Lot, StockLevel, Transfer


@dataclass(frozen=True)
class LineRow:
    line: ReplenishmentLine
    sku: str
    name_zh: str
    unit: str


@dataclass(frozen=True)
class RequestRow:
    request: ReplenishmentRequest
    store: Store
    requested_by: str
    transfer_number: str | None


async def lock_numbering(session: AsyncSession, stem: str) -> None:
    """Serialise the numbering of one day until the transaction ends (an advisory lock)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(stem))))


async def last_number(session: AsyncSession, stem: str) -> str | None:
    """The day's highest number so far (numbers of one day sort as text)."""
    found: str | None = await session.scalar(
        select(func.max(ReplenishmentRequest.number)).where(ReplenishmentRequest.number.startswith(stem))
    )
    return found


async def add(session: AsyncSession, request: ReplenishmentRequest, lines: Sequence[tuple[int, Decimal]]) -> None:
    session.add(request)
    await session.flush()
    session.add_all(ReplenishmentLine(request_id=request.id, variant_id=v, quantity=q) for v, q in lines)
    await session.flush()


async def list_requests(
    session: AsyncSession, *, store_ids: Collection[int] | None, number: str | None = None, limit: int = 100
) -> list[RequestRow]:
    """Waiting requests first (oldest waiting first: first come, first shipped), then the answered
    ones newest first."""
    waiting = ReplenishmentRequest.status == ReplenishmentStatus.requested.value
    stmt = (
        select(
            ReplenishmentRequest,
            Store,
            func.coalesce(func.nullif(User.display_name, ""), User.username),
            Transfer.number,
        )
        .join(Store, Store.id == ReplenishmentRequest.store_id)
        .join(User, User.id == ReplenishmentRequest.requested_by_id)
        .outerjoin(Transfer, Transfer.id == ReplenishmentRequest.transfer_id)
        .order_by(
            case((waiting, 0), else_=1),
            case((waiting, ReplenishmentRequest.id), else_=-ReplenishmentRequest.id),
        )
        .limit(limit)
    )
    if store_ids is not None:
        stmt = stmt.where(ReplenishmentRequest.store_id.in_(list(store_ids)))
    if number is not None:
        stmt = stmt.where(ReplenishmentRequest.number == number)
    return [RequestRow(r, s, name or "", t) for r, s, name, t in (await session.execute(stmt)).all()]


async def lines_of(session: AsyncSession, request_ids: Collection[int]) -> dict[int, list[LineRow]]:
    if not request_ids:
        return {}
    rows = await session.execute(
        select(ReplenishmentLine, Variant.sku, Product.name_zh, Variant.name_zh, Variant.unit)
        .join(Variant, Variant.id == ReplenishmentLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(ReplenishmentLine.request_id.in_(list(request_ids)))
        .order_by(ReplenishmentLine.id)
    )
    found: dict[int, list[LineRow]] = {}
    for line, sku, product_zh, variant_zh, unit in rows.all():
        found.setdefault(line.request_id, []).append(LineRow(line, sku, f"{product_zh} · {variant_zh}", str(unit)))
    return found


async def request_for_update(session: AsyncSession, number: str) -> ReplenishmentRequest | None:
    return await session.scalar(
        select(ReplenishmentRequest).where(ReplenishmentRequest.number == number).with_for_update()
    )


async def mark_decided(
    session: AsyncSession,
    request_id: int,
    *,
    status: ReplenishmentStatus,
    user_id: int,
    at: datetime,
    transfer_id: int | None = None,
    reason: str = "",
) -> bool:
    """Requested → shipped / declined, once."""
    result = await session.execute(
        update(ReplenishmentRequest)
        .where(
            ReplenishmentRequest.id == request_id,
            ReplenishmentRequest.status == ReplenishmentStatus.requested.value,
        )
        .values(
            status=status.value, decided_by_id=user_id, decided_at=at, transfer_id=transfer_id, decline_reason=reason
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def free_lots_fefo(
    session: AsyncSession, location_id: int, variant_id: int, today: date
) -> list[tuple[str, Decimal]]:
    """(lot code, unreserved on hand) of a variant at a location, not past best-before, soonest first."""
    free = StockLevel.on_hand - StockLevel.reserved
    rows = await session.execute(
        select(Lot.code, free)
        .join(Lot, Lot.id == StockLevel.lot_id)
        .where(
            StockLevel.location_id == location_id,
            StockLevel.variant_id == variant_id,
            StockLevel.best_before >= today,
            free > 0,
        )
        .order_by(StockLevel.best_before, StockLevel.id)
    )
    return [(code, Decimal(quantity)) for code, quantity in rows.all()]


async def open_counts_by_store(session: AsyncSession, store_ids: Collection[int] | None) -> dict[int, int]:
    return await console_queries.count_per_store(
        session,
        ReplenishmentRequest.store_id,
        ReplenishmentRequest.status == ReplenishmentStatus.requested.value,
        store_ids,
    )
