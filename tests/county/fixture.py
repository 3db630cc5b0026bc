"""A hand-computed fixture across every channel for the county dashboard's figures.

The business days are Saturday 5 and Sunday 6 December 2026 in China; their boundary is
2026-12-05 16:00 UTC. Rows are written with the times given (not the database clock), so the
figures below are exact whatever day the suite runs:

=========================  ============  =============================================
row                        China day     counts as
=========================  ============  =============================================
shop A paid 23:59:30       12-05         1 order, ¥100.00
shop B placed 23:50,       12-06         1 order, ¥200.00 paid − ¥50.00 refunded = ¥150.00
  paid 00:00:00 (16:00Z)
shop C cancelled unpaid    —             nowhere
shop E paid 12-05 10:00,   12-05         no order (cancelled), ¥60.00 paid − ¥60.00 refunded = ¥0.00
  cancelled and refunded
shop D paid at pickup      12-06         1 order, ¥80.00; its parcel arrived and was collected
shop F paid 12-04          12-04         outside the two days
shop G waiting at station  —             unpaid; its parcel arrived 12-05 23:00, overdue
POS S1 sold 23:59          12-05         1 sale, ¥12.00
POS S2 sold 00:01          12-06         1 sale, ¥30.00 − ¥10.00 returned = ¥20.00
wholesale W invoiced       12-06         1 order, invoice − credit note (computed), load kg
cross-border T1 paid 23:30 12-05         1 order, US$50.00
cross-border T2 unpaid     —             nowhere
cross-border T3 00:30      12-06         1 order, US$70.00
consignment K 10:00        12-06         12.500 kg, ¥250.00, station ST1
lot L1 10 boxes × 5 kg     12-05         50.000 kg, 10 × ¥12.34 = ¥123.40
lot L2 2.5 kg, no price    12-06         2.500 kg, ¥0.00
service case (phone P3)    12-06         one more person served
=========================  ============  =============================================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.channels import SalesChannel
from app.crossborder.models import AlibabaOrder
from app.kit import clock
from app.kit.quantities import Unit
from app.orders.models import (
    DeliveryMethod,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentState,
    PaymentStatus,
    Refund,
    RefundState,
)
from app.stations.models import CaseKind, Consignment, Parcel, ParcelStatus, ServiceCase, Station
from app.supply.models import Lot, LotOrigin
from app.wholesale.models import WholesaleOrder
from tests.fixtures.builders import ensure_warehouse, make_station, make_supplier, make_user, make_variant, seq
from tests.fixtures.pos_console import Line, make_sale, store_with_location
from tests.fixtures.receivables import issue_credit_note, issue_invoice, order_of
from tests.fixtures.trips import make_prd_route
from tests.fixtures.wholesale_orders import SUNDAY_NOON, buyer, supply_sku

SAT = date(2026, 12, 5)
SUN = date(2026, 12, 6)
MIDNIGHT = datetime(2026, 12, 5, 16, 0, tzinfo=UTC)  # 00:00 Sunday in China
P1 = "+8613800138101"  # collects D's parcel
P2 = "+8613800138102"  # G's, waiting at the station
P3 = "+8613800138103"  # served at a station (a case)
NAME_A = "欧阳春花"
NAME_D = "李秋菊"
NAME_G = "张冬梅"


@dataclass
class Fixture:
    station: Station
    other_station: Station
    order_a: Order
    order_b: Order
    order_d: Order
    order_e: Order
    wholesale_net_minor: int
    wholesale_kg: Decimal


async def shop_order(
    session: AsyncSession,
    *,
    total: int,
    placed_at: datetime,
    paid_at: datetime | None,
    status: OrderStatus = OrderStatus.confirmed,
    name: str = "王小明",
    phone: str = "+8613800138000",
    station: Station | None = None,
    method: PaymentMethod = PaymentMethod.stripe,
) -> Order:
    """A shop order as the order service leaves it, paid (one succeeded payment) at ``paid_at``."""
    location = await ensure_warehouse(session)
    order = Order(
        number=f"NPT{seq():06d}",
        channel=SalesChannel.shop,
        status=status,
        payment_status=PaymentStatus.paid if paid_at else PaymentStatus.unpaid,
        contact_name=name,
        contact_phone=phone,
        delivery_method=DeliveryMethod.station_pickup if station else DeliveryMethod.home_delivery,
        station_id=station.id if station else None,
        payment_method=method,
        subtotal_minor=total,
        total_minor=total,
        paid_minor=total if paid_at else 0,
        location_id=location.id,
        placed_at=placed_at,
    )
    session.add(order)
    await session.flush()
    if paid_at is not None:
        session.add(
            Payment(
                order_id=order.id,
                provider="stripe" if method is PaymentMethod.stripe else "pay_at_pickup",
                method="card" if method is PaymentMethod.stripe else "cash",
                state=PaymentState.succeeded,
                amount_minor=total,
                currency="CNY",
                idempotency_key=f"test:{order.number}",
                succeeded_at=paid_at,
            )
        )
        await session.flush()
    return order


async def refund(session: AsyncSession, order: Order, amount: int) -> None:
    """A settled refund: the refund row and the order's running total (as the refund service does)."""
    payment = await session.scalar(select(Payment).where(Payment.order_id == order.id))
    assert payment is not None
    session.add(
        Refund(
            payment_id=payment.id, order_id=order.id, amount_minor=amount, state=RefundState.succeeded, reason="测试"
        )
    )
    await session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(refunded_minor=Order.refunded_minor + amount, payment_status=PaymentStatus.partially_refunded)
    )
    await session.flush()
    await session.refresh(order)


async def lot(
    session: AsyncSession, variant_id: int, quantity: str, created_at: datetime, price: int | None, **kw: object
) -> Lot:
    supplier = await make_supplier(session)
    location = await ensure_warehouse(session)
    row = Lot(
        code=f"LT-T{seq()}",
        variant_id=variant_id,
        supplier_id=supplier.id,
        harvest_date=date(2026, 12, 1),
        best_before=date(2027, 1, 31),
        quantity_received=Decimal(quantity),
        received_location_id=location.id,
        purchase_price_minor=price,
        created_at=created_at,
        updated_at=created_at,
        **kw,
    )
    session.add(row)
    await session.flush()
    return row


async def build(session: AsyncSession) -> Fixture:
    # Wholesale first (its SKU's stock is received at the database's "now": moved out of the way).
    await make_prd_route(session, cities=("广州", "佛山"), weekdays=(2, 4, 6))
    with clock.pinned(SUNDAY_NOON):
        sku = await supply_sku(session, wholesale_minor=1000, net_weight_grams=500, case_pack=20)
        ours = await buyer(session)
        wholesale = await order_of(session, ours.principal, ours.address.id, sku.sku, 2)  # 40 × ¥10.00
        invoice = await issue_invoice(session, wholesale, issue_date=SUN, due_date=SUN + timedelta(days=30))
        # A shortage found at delivery on Monday is credited against Sunday's invoice.
        note = await issue_credit_note(session, invoice, Decimal(3), issue_date=SUN + timedelta(days=1))
    await session.execute(
        update(Lot).where(Lot.variant_id == sku.id).values(created_at=datetime(2026, 11, 1, tzinfo=UTC))
    )
    load = await session.scalar(select(WholesaleOrder.weight_kg).where(WholesaleOrder.order_id == wholesale.id))
    assert load is not None

    station = await make_station(session, village="澄江村")
    other = await make_station(session, village="马市村")
    order_a = await shop_order(
        session,
        total=10_000,
        placed_at=MIDNIGHT - timedelta(minutes=5),
        paid_at=MIDNIGHT - timedelta(seconds=30),
        name=NAME_A,
    )
    order_b = await shop_order(session, total=20_000, placed_at=MIDNIGHT - timedelta(minutes=10), paid_at=MIDNIGHT)
    await refund(session, order_b, 5_000)
    await shop_order(
        session, total=9_900, placed_at=MIDNIGHT + timedelta(hours=1), paid_at=None, status=OrderStatus.cancelled
    )
    # E: paid on Saturday morning, then cancelled and refunded in full: no order, no money.
    order_e = await shop_order(
        session,
        total=6_000,
        placed_at=MIDNIGHT - timedelta(hours=14),
        paid_at=MIDNIGHT - timedelta(hours=14),
        status=OrderStatus.cancelled,
    )
    await refund(session, order_e, 6_000)
    # F: its hold lapsed, the money came late and was refunded in full (``_refund_late_payment``):
    # expired, no order, no money — like E.
    order_f = await shop_order(
        session,
        total=7_000,
        placed_at=MIDNIGHT - timedelta(hours=13),
        paid_at=MIDNIGHT - timedelta(hours=12),
        status=OrderStatus.expired,
    )
    await refund(session, order_f, 7_000)
    order_d = await shop_order(
        session,
        total=8_000,
        placed_at=MIDNIGHT - timedelta(days=2),
        paid_at=MIDNIGHT + timedelta(hours=11),
        status=OrderStatus.completed,
        name=NAME_D,
        phone=P1,
        station=station,
        method=PaymentMethod.pay_at_pickup,
    )
    await shop_order(
        session, total=3_000, placed_at=MIDNIGHT - timedelta(days=2), paid_at=MIDNIGHT - timedelta(days=1, hours=14)
    )
    order_g = await shop_order(
        session,
        total=4_500,
        placed_at=MIDNIGHT - timedelta(days=3),
        paid_at=None,
        status=OrderStatus.ready_for_pickup,
        name=NAME_G,
        phone=P2,
        station=station,
        method=PaymentMethod.pay_at_pickup,
    )
    session.add_all(
        [
            Parcel(
                tracking_number=f"PT{seq():08d}",
                order_id=order_d.id,
                station_id=station.id,
                status=ParcelStatus.handed_over,
                arrived_at=MIDNIGHT + timedelta(hours=9),
                handed_over_at=MIDNIGHT + timedelta(hours=11),
                retention_until=MIDNIGHT + timedelta(days=7),
            ),
            Parcel(
                tracking_number=f"PT{seq():08d}",
                order_id=order_g.id,
                station_id=station.id,
                status=ParcelStatus.at_station,
                arrived_at=MIDNIGHT - timedelta(hours=1),
                retention_until=MIDNIGHT + timedelta(minutes=30),
                shelf_slot="1-1",
                pickup_code="123456",
            ),
            ServiceCase(
                station_id=other.id,
                kind=CaseKind.convenience,
                title="代缴电费",
                person_phone=P3,
                created_at=MIDNIGHT + timedelta(hours=8),
            ),
        ]
    )

    store, location = await store_with_location(session)
    goods = await make_variant(session, unit=Unit.piece)
    await make_sale(session, store, location, [Line(goods, "1", 1_200)], sold_at=MIDNIGHT - timedelta(minutes=1))
    later = await make_sale(
        session, store, location, [Line(goods, "1", 3_000)], sold_at=MIDNIGHT + timedelta(minutes=1)
    )
    later.sale.refunded_minor = 1_000  # a return at the till (app.pos.returns keeps this total)

    for trade, status, amount, at in (
        ("T1", "paid", 5_000, MIDNIGHT - timedelta(minutes=30)),
        ("T2", "unpay", 6_000, MIDNIGHT + timedelta(hours=2)),
        ("T3", "trade_success", 7_000, MIDNIGHT + timedelta(minutes=30)),
    ):
        session.add(
            AlibabaOrder(
                trade_id=f"{trade}-{uuid.uuid4().hex[:8]}",
                status=status,
                amount_minor=amount,
                currency="USD",
                buyer_country="US",
                created_remote_at=at,
            )
        )

    boxes = await make_variant(session, unit=Unit.box, net_weight_grams=5000)
    loose = await make_variant(session, unit=Unit.kg, net_weight_grams=1000)
    await lot(session, boxes.id, "10", MIDNIGHT - timedelta(hours=6), 1_234)
    await lot(session, loose.id, "2.5", MIDNIGHT + timedelta(hours=3), None)
    farmer = await make_supplier(session)
    upstream = await lot(session, loose.id, "12.5", MIDNIGHT + timedelta(hours=2), None, origin=LotOrigin.upstream)
    session.add(
        Consignment(
            number=f"UP-T{seq()}",
            station_id=station.id,
            supplier_id=farmer.id,
            lot_id=upstream.id,
            weight_kg=Decimal("12.500"),
            value_minor=25_000,
            created_at=MIDNIGHT + timedelta(hours=2),
        )
    )
    await session.flush()
    await make_user(session, Role.county_official, username=f"official{seq()}")
    return Fixture(
        station=station,
        other_station=other,
        order_a=order_a,
        order_b=order_b,
        order_d=order_d,
        order_e=order_e,
        wholesale_net_minor=invoice.total_minor + note.total_minor,
        wholesale_kg=load,
    )
