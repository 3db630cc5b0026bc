"""Order lines that take capacity instead of stock (``app.orders.capacity``), on committed
PostgreSQL: concurrent orders never take more than the cap, an order gives its places back once,
a capacity line never shares an order with goods from stock, and money that arrives after an
order gave its places back takes them again or is refunded."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog.models import PriceListKind
from app.catalog.pricing import PricedLine, PriceRule
from app.channels import SalesChannel
from app.db import create_sessionmaker
from app.kit import clock
from app.kit.quantities import Unit
from app.orders import capacity, errors, expiry, payments, service
from app.orders.models import (
    Capacity,
    CapacityHold,
    DeliveryMethod,
    Order,
    OrderEvent,
    OrderStatus,
    PaymentMethod,
    Refund,
)
from app.supply.models import Reservation
from tests.fixtures.builders import ensure_price_list, ensure_warehouse, make_product, make_station, make_variant

RULE = PriceRule("retail", PriceListKind.retail, None)


def _line(variant_id: int, sku: str, quantity: str = "1") -> PricedLine:
    q = Decimal(quantity)
    return PricedLine(
        variant_id=variant_id,
        sku=sku,
        quantity=q,
        unit=Unit.box,
        unit_price_minor=8800,
        line_total_minor=int(8800 * q),
        currency="CNY",
        rule=RULE,
        min_quantity=Decimal(1),
        increment=Decimal(1),
        name_zh="枇杷预售 5kg",
    )


def _new_order(
    location_id: int, lines: list[PricedLine], capacity_lines: dict[int, int], station_id: int
) -> service.NewOrder:
    return service.NewOrder(
        channel=SalesChannel.shop,
        lines=lines,
        location_id=location_id,
        contact_name="测试",
        contact_phone="13800138000",
        payment_method=PaymentMethod.stripe,
        delivery_method=DeliveryMethod.station_pickup,
        awaiting_payment=True,
        station_id=station_id,
        capacity_lines=capacity_lines,
    )


async def _setup(session: AsyncSession) -> tuple[int, int, str, int, int]:
    tag = uuid.uuid4().hex[:6].upper()
    await ensure_price_list(session, "retail", PriceListKind.retail)
    location = await ensure_warehouse(session)
    variant = await make_variant(
        session, product=await make_product(session, slug=f"cap-{tag.lower()}"), unit=Unit.box, sku=f"CAP-{tag}"
    )
    wave = await capacity.open_capacity(session, kind="presale_wave", label=f"测试 {tag}", cap=Decimal(10))
    station = await make_station(session, code=f"ST-C{tag}", latitude=Decimal("24.9"), longitude=Decimal("114.1"))
    await session.commit()
    return location.id, variant.id, variant.sku, wave.id, station.id


async def test_forty_concurrent_orders_on_a_cap_of_ten_take_exactly_ten(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        location_id, variant_id, sku, capacity_id, station_id = await _setup(session)

    async def place() -> bool:
        async with sessionmaker() as session:
            try:
                await service.create_order(
                    session, _new_order(location_id, [_line(variant_id, sku)], {0: capacity_id}, station_id)
                )
                await session.commit()
                return True
            except errors.CapacityExhausted as exc:
                assert exc.detail == {
                    "lines": [{"sku": sku, "capacity_id": capacity_id, "requested": "1", "left": "0"}]
                }
                return False

    results = await asyncio.gather(*(place() for _ in range(40)))
    assert results.count(True) == 10
    async with sessionmaker() as session:
        row = await session.get(Capacity, capacity_id)
        assert row is not None and row.used == Decimal(10)
        holds = await session.scalar(
            select(func.count()).select_from(CapacityHold).where(CapacityHold.capacity_id == capacity_id)
        )
        assert holds == 10
        orders = list(
            await session.scalars(
                select(Order)
                .join(CapacityHold, CapacityHold.order_id == Order.id)
                .where(CapacityHold.capacity_id == capacity_id)
            )
        )
        # No stock was reserved for them: capacity-only orders hold no reservation.
        assert all(order.reservation_reference is None for order in orders)
        reservations = await session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.reference.in_([f"order:{o.number}" for o in orders]))
        )
        assert reservations == 0

        # Cancelling gives the places back once, however many times it is asked.
        first = orders[0]
        assert await capacity.release(session, first.id) == Decimal(1)
        assert await capacity.release(session, first.id) == Decimal(0)
        await session.commit()
        assert await capacity.left(session, capacity_id) == Decimal(1)

        # Late money for an order whose places went back never takes one again, even with one
        # free: it is refunded in full, the order expires and the capacity does not move.
        assert not await capacity.holds_intact(session, first.id)
        payment = await payments.prepare_online_payment(session, first, method="card")
        await session.commit()
        await expiry.expire_unpaid(session, now=clock.now() + timedelta(hours=1))  # the other nine too
        await session.commit()
        assert await capacity.left(session, capacity_id) == Decimal(10)
        assert await payments.mark_paid(session, payment, first.total_minor)
        await session.commit()
        await session.refresh(first)
        assert first.status is OrderStatus.expired
        refunds = list(await session.scalars(select(Refund).where(Refund.order_id == first.id)))
        assert [r.amount_minor for r in refunds] == [first.total_minor]
        assert await capacity.left(session, capacity_id) == Decimal(10)
        assert not await capacity.holds_intact(session, first.id)
        kinds = await session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == first.id))
        assert "late_payment_refunded" in list(kinds)


async def test_a_capacity_line_never_shares_an_order_with_goods_from_stock(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        location_id, variant_id, sku, capacity_id, station_id = await _setup(session)
        lines = [_line(variant_id, sku), _line(variant_id, sku, "2")]
        with pytest.raises(errors.CapacityLinesSeparate):
            await service.create_order(session, _new_order(location_id, lines, {0: capacity_id}, station_id))
        await session.rollback()
        row = await session.get(Capacity, capacity_id)
        assert row is not None and row.used == Decimal(0)
