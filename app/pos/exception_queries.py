"""SQL of stock exceptions: the console's list, the compare-and-set that resolves one, and the
documents a resolution may name (a posted count, a received transfer of the store's location)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Product, Variant
from app.kit.models import in_statement
from app.kit.quantities import Unit
from app.pos import console_queries
from app.pos.models import Store
from app.pos.sale_models import Sale, StockException, StockExceptionResolution, StockExceptionStatus
from app.supply.models import StockCount, StockCountStatus, Transfer, TransferStatus


@dataclass(frozen=True)
class ExceptionRow:
    exception: StockException
    store: Store
    sale_number: str
    sold_at: datetime
    sku: str
    name_zh: str
    unit: str


def _rows_query() -> Select[StockException, Store, str, datetime, str, str, str, Unit]:
    return (
        select(
            StockException,
            Store,
            Sale.number,
            Sale.sold_at,
            Variant.sku,
            Product.name_zh,
            Variant.name_zh,
            Variant.unit,
        )
        .join(Store, Store.id == StockException.store_id)
        .join(Sale, Sale.id == StockException.sale_id)
        .join(Variant, Variant.id == StockException.variant_id)
        .join(Product, Product.id == Variant.product_id)
    )


def _row(values: Sequence[Any]) -> ExceptionRow:
    exc, store, number, sold_at, sku, product_zh, variant_zh, unit = values
    return ExceptionRow(
        exception=exc,
        store=store,
        sale_number=str(number),
        sold_at=sold_at,
        sku=str(sku),
        name_zh=f"{product_zh} · {variant_zh}",
        unit=str(unit),
    )


async def list_exceptions(
    session: AsyncSession,
    *,
    store_ids: Collection[int] | None,
    status: StockExceptionStatus | None,
    sale_id: int | None = None,
    limit: int = 200,
) -> list[ExceptionRow]:
    """Newest first; ``store_ids`` None: every store."""
    stmt = _rows_query().order_by(StockException.created_at.desc(), StockException.id.desc()).limit(limit)
    if store_ids is not None:
        stmt = stmt.where(StockException.store_id.in_(list(store_ids)))
    if status is not None:  # written into the SQL: the open ones are a partial index's (below)
        stmt = stmt.where(StockException.status == in_statement(status))
    if sale_id is not None:
        stmt = stmt.where(StockException.sale_id == sale_id)
    return [_row(values) for values in (await session.execute(stmt)).all()]


async def exception_row(session: AsyncSession, exception_id: int) -> ExceptionRow | None:
    found = (await session.execute(_rows_query().where(StockException.id == exception_id))).first()
    return None if found is None else _row(found)


async def mark_resolved(
    session: AsyncSession,
    exception_id: int,
    *,
    resolution: str,
    reference: str,
    note: str,
    user_id: int,
    at: datetime,
) -> bool:
    """Open → resolved, once: two managers resolving at the same moment get one success."""
    result = await session.execute(
        update(StockException)
        .where(StockException.id == exception_id, StockException.status == StockExceptionStatus.open.value)
        .values(
            status=StockExceptionStatus.resolved.value,
            resolution=resolution,
            resolution_ref=reference,
            note=note,
            resolved_by_id=user_id,
            resolved_at=at,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reference_time(
    session: AsyncSession, resolution: StockExceptionResolution, number: str, location_id: int
) -> tuple[bool, datetime | None]:
    """Whether the count (or transfer) ``number`` exists, and when it was posted at (received into)
    ``location_id`` — None when it is of another location or not posted (received) yet."""
    if resolution is StockExceptionResolution.stock_count:
        done = (StockCount.location_id == location_id) & (StockCount.status == StockCountStatus.posted)
        stmt = select(case((done, StockCount.posted_at), else_=None)).where(StockCount.number == number)
    else:
        done = (Transfer.to_location_id == location_id) & (Transfer.status == TransferStatus.received)
        stmt = select(case((done, Transfer.received_at), else_=None)).where(Transfer.number == number)
    found = (await session.execute(stmt)).first()
    return (False, None) if found is None else (True, found[0])


async def open_counts_by_store(session: AsyncSession, store_ids: Collection[int] | None) -> dict[int, int]:
    # The status written into the SQL, so that the generic plan of the prepared statement reads
    # ``ix_pos_stock_exceptions_open``, not every exception the stores ever had.
    return await console_queries.count_per_store(
        session, StockException.store_id, StockException.status == in_statement(StockExceptionStatus.open), store_ids
    )
