"""SQL of pre-sale waves (``app.presales``): the waves with what is left, the wave's orders in
placement order, the compare-and-sets on a wave's status and an order's outcome, the per-phone
pay-at-pickup allowance, and the per-station batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Product, Variant
from app.kit.quantities import Unit
from app.orders.models import Capacity, Order, OrderStatus
from app.presales.models import Outcome, PhoneAllowance, Wave, WaveOrder, WaveStatus
from app.stations.models import Parcel, Station


@dataclass(frozen=True)
class WaveRow:
    wave: Wave
    cap: Decimal
    used: Decimal
    sku: str
    product_name: str
    variant_name: str
    product_slug: str

    @property
    def left(self) -> Decimal:
        return max(self.cap - self.used, Decimal(0))


def _wave_rows() -> Any:
    return (
        select(Wave, Capacity.cap, Capacity.used, Variant.sku, Product.name_zh, Variant.name_zh, Product.slug)
        .join(Capacity, Capacity.id == Wave.capacity_id)
        .join(Variant, Variant.id == Wave.variant_id)
        .join(Product, Product.id == Variant.product_id)
    )


async def wave_row(session: AsyncSession, code: str) -> WaveRow | None:
    row = (await session.execute(_wave_rows().where(Wave.code == code))).one_or_none()
    return WaveRow(*row) if row is not None else None


async def wave_rows(
    session: AsyncSession,
    *,
    statuses: Sequence[WaveStatus] | None = None,
    cutoff_after: datetime | None = None,
    product_slug: str | None = None,
) -> list[WaveRow]:
    statement = _wave_rows().order_by(Wave.cutoff_at, Wave.id)
    if product_slug is not None:
        statement = statement.where(Product.slug == product_slug)
    if statuses is not None:
        statement = statement.where(Wave.status.in_(statuses))
    if cutoff_after is not None:
        statement = statement.where(Wave.cutoff_at > cutoff_after)
    return [WaveRow(*row) for row in (await session.execute(statement)).all()]


async def wave_for_share(session: AsyncSession, code: str) -> Wave | None:
    """The wave, share-locked until the caller's commit: orders placed at once share the lock, while
    a cancellation or an allocation (an UPDATE of the row) waits for them — so neither can miss an
    order that commits after it listed the wave's orders."""
    return await session.scalar(select(Wave).where(Wave.code == code).with_for_update(read=True))


async def wave_for_update(session: AsyncSession, code: str) -> Wave | None:
    """The wave, locked for update until the caller's commit and read afresh (its status is the
    committed one): an edit waits for orders in flight (they share-lock the row first, then take
    the capacity — the same order, so no deadlock) and for a cancellation or an allocation."""
    return await session.scalar(
        select(Wave).where(Wave.code == code).with_for_update().execution_options(populate_existing=True)
    )


async def wave_by_code(session: AsyncSession, code: str) -> Wave | None:
    return await session.scalar(select(Wave).where(Wave.code == code))


async def code_taken(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(Wave.id).where(Wave.code == code)) is not None


async def move_status(
    session: AsyncSession, wave_id: int, *, expected: Sequence[WaveStatus], to: WaveStatus, **values: Any
) -> bool:
    """Compare-and-set the wave's status; False when it was not in ``expected`` (someone else won)."""
    won = await session.execute(
        update(Wave)
        .where(Wave.id == wave_id, Wave.status.in_(expected))
        .values(status=to, **values)
        .returning(Wave.id)
        .execution_options(synchronize_session=False)
    )
    return won.scalar_one_or_none() is not None


async def take_allowance(session: AsyncSession, wave_id: int, phone: str, boxes: int, limit: int) -> bool:
    """Add ``boxes`` to the phone's pay-at-pickup count for the wave only if it stays within
    ``limit`` (one upsert: the first order inserts, later ones update under the row's lock)."""
    if boxes > limit:
        return False
    statement = insert(PhoneAllowance).values(wave_id=wave_id, phone=phone, boxes=boxes)
    upsert = statement.on_conflict_do_update(
        index_elements=[PhoneAllowance.wave_id, PhoneAllowance.phone],
        set_={"boxes": PhoneAllowance.boxes + statement.excluded.boxes},
        where=PhoneAllowance.boxes + statement.excluded.boxes <= limit,
    ).returning(PhoneAllowance.boxes)
    return (await session.execute(upsert)).scalar_one_or_none() is not None


async def allowance(session: AsyncSession, wave_id: int, phone: str) -> int:
    used = await session.scalar(
        select(PhoneAllowance.boxes).where(PhoneAllowance.wave_id == wave_id, PhoneAllowance.phone == phone)
    )
    return int(used or 0)


async def orders_of_wave(
    session: AsyncSession, wave_id: int, *, for_update: bool = False
) -> list[tuple[WaveOrder, Order]]:
    """The wave's orders in placement order (the order of the shortfall rule)."""
    statement = (
        select(WaveOrder, Order)
        .join(Order, Order.id == WaveOrder.order_id)
        .where(WaveOrder.wave_id == wave_id)
        .order_by(WaveOrder.placed_at, WaveOrder.id)
    )
    if for_update:
        # The orders too: a payment or the expiry sweep settling one of them waits for the caller's
        # commit and then sees what allocation or cancellation made of it.
        statement = statement.with_for_update()
    return [(wave_order, order) for wave_order, order in (await session.execute(statement)).all()]


async def settle(
    session: AsyncSession, wave_order_id: int, *, outcome: Outcome, filled: Decimal, refund_minor: int, now: datetime
) -> bool:
    """Compare-and-set an order's outcome from ``waiting``: False when it was settled already."""
    won = await session.execute(
        update(WaveOrder)
        .where(WaveOrder.id == wave_order_id, WaveOrder.outcome == Outcome.waiting)
        .values(outcome=outcome, filled=filled, refund_minor=refund_minor, settled_at=now)
        .returning(WaveOrder.id)
        .execution_options(synchronize_session=False)
    )
    return won.scalar_one_or_none() is not None


LIVE = (OrderStatus.pending_payment, OrderStatus.confirmed, OrderStatus.ready_for_pickup, OrderStatus.completed)


@dataclass(frozen=True)
class Batch:
    """One station's share of a wave: its orders and boxes, and how many are on a route run."""

    station_id: int
    station_code: str
    station_name: str
    township: str
    orders: int
    boxes: Decimal
    in_parcels: int


async def batches(session: AsyncSession, wave_id: int) -> list[Batch]:
    """The wave's live orders per station: boxes ordered while waiting, boxes filled once allocated."""
    boxes = func.sum(
        func.coalesce(
            func.nullif(WaveOrder.filled, Decimal(0)),
            WaveOrder.quantity,
        )
    )
    rows = await session.execute(
        select(
            Station.id,
            Station.code,
            Station.name,
            Station.township,
            func.count(WaveOrder.id),
            boxes,
            func.count(Parcel.id),
        )
        .join(WaveOrder, WaveOrder.station_id == Station.id)
        .join(Order, Order.id == WaveOrder.order_id)
        .outerjoin(Parcel, Parcel.order_id == Order.id)
        .where(WaveOrder.wave_id == wave_id, Order.status.in_(LIVE))
        .group_by(Station.id)
        .order_by(Station.township, Station.code)
    )
    return [Batch(*row) for row in rows.all()]


@dataclass(frozen=True)
class Coming:
    """A wave's batch for one station, as the station console shows it."""

    wave_code: str
    title: str
    status: WaveStatus
    harvest_from: date
    harvest_to: date
    orders: int
    boxes: Decimal
    in_parcels: int


async def coming_to_station(session: AsyncSession, station_id: int) -> list[Coming]:
    """Open and allocated waves with live orders for ``station_id`` whose parcels have not all
    reached a run yet (what the station will receive), soonest harvest first."""
    rows = await session.execute(
        select(
            Wave.code,
            Wave.title,
            Wave.status,
            Wave.harvest_from,
            Wave.harvest_to,
            func.count(WaveOrder.id),
            func.sum(func.coalesce(func.nullif(WaveOrder.filled, Decimal(0)), WaveOrder.quantity)),
            func.count(Parcel.id),
        )
        .join(WaveOrder, and_(WaveOrder.wave_id == Wave.id, WaveOrder.station_id == station_id))
        .join(Order, Order.id == WaveOrder.order_id)
        .outerjoin(Parcel, Parcel.order_id == Order.id)
        .where(
            Wave.status.in_((WaveStatus.open, WaveStatus.allocated)),
            Order.status.in_((OrderStatus.pending_payment, OrderStatus.confirmed)),
        )
        .group_by(Wave.id)
        .order_by(Wave.harvest_from, Wave.id)
    )
    return [Coming(*row) for row in rows.all()]


async def wave_of_order(session: AsyncSession, order_id: int) -> tuple[WaveOrder, Wave] | None:
    row = (
        await session.execute(
            select(WaveOrder, Wave).join(Wave, Wave.id == WaveOrder.wave_id).where(WaveOrder.order_id == order_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def presale_variants(session: AsyncSession) -> list[tuple[int, str, str]]:
    """Active variants a wave can sell (counted by the piece or box, not weighed): id, SKU, product
    and variant name."""
    rows = await session.execute(
        select(Variant.id, Variant.sku, Product.name_zh + " " + Variant.name_zh)
        .join(Product, Product.id == Variant.product_id)
        .where(Variant.is_active.is_(True), Variant.unit.in_([Unit.piece, Unit.box]))
        .order_by(Product.name_zh, Variant.sku)
    )
    return [(variant_id, sku, name) for variant_id, sku, name in rows.all()]


async def set_cap(session: AsyncSession, capacity_id: int, cap: Decimal) -> bool:
    """A wave's new cap, only if it still covers what is taken (False: nothing changed)."""
    won = await session.execute(
        update(Capacity).where(Capacity.id == capacity_id, Capacity.used <= cap).values(cap=cap).returning(Capacity.id)
    )
    return won.scalar_one_or_none() is not None


async def set_refund(session: AsyncSession, wave_order_id: int, refund_minor: int) -> None:
    await session.execute(update(WaveOrder).where(WaveOrder.id == wave_order_id).values(refund_minor=refund_minor))
