"""Builders of the county register's tests: rows inserted with the China times a test needs."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ApiToken, Role, TokenKind, User
from app.catalog.models import Variant
from app.channels import SalesChannel
from app.county.models import Asset, AssetKind, Evidence, EvidenceKind
from app.crossborder.models import Listing, ListingState
from app.orders.models import DeliveryMethod, Order, OrderLine, OrderStatus, PaymentMethod
from app.pos.models import Store
from app.pos.sale_models import Sale, Shift
from app.stations.models import Station
from tests.fixtures.builders import ensure_warehouse, make_user
from tests.fixtures.pos import make_till

CST = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def cst(y: int, m: int, d: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=CST)


async def pda_token(
    session: AsyncSession,
    station: Station,
    user: User,
    *,
    created: datetime,
    revoked: datetime | None = None,
    expires: datetime | None = None,
) -> ApiToken:
    n = next(_serial)
    token = ApiToken(
        user_id=user.id,
        token_hash=f"{n:064d}",
        prefix=f"np_{n:05d}",
        kind=TokenKind.station_pda,
        label=f"PDA {n}",
        scopes=["pda"],
        station_id=station.id,
        created_at=created,
        expires_at=expires or created + timedelta(days=3650),
        revoked_at=revoked,
    )
    session.add(token)
    await session.flush()
    return token


async def asset(
    session: AsyncSession,
    kind: AssetKind,
    station: Station,
    deployed: date,
    *,
    retired: date | None = None,
    token: ApiToken | None = None,
) -> Asset:
    row = Asset(
        kind=kind,
        serial=f"SN-{kind.value}-{next(_serial):05d}",
        station_id=station.id,
        deployed_on=deployed,
        retired_on=retired,
        api_token_id=token.id if token else None,
    )
    session.add(row)
    await session.flush()
    return row


async def evidence(session: AsyncSession, kind: EvidenceKind, day: date, title: str = "活动", **kw: object) -> Evidence:
    row = Evidence(
        kind=kind,
        happened_on=day,
        title=title,
        place=str(kw.get("place", "中心")),
        **{k: v for k, v in kw.items() if k != "place"},
    )
    session.add(row)
    await session.flush()
    return row


async def listing(session: AsyncSession, variant: Variant, state: ListingState, created: datetime) -> Listing:
    row = Listing(
        product_id=variant.product_id,
        variant_id=variant.id,
        model_number=f"NP-T-{next(_serial)}",
        title_en="Test listing",
        state=state,
        created_at=created,
    )
    session.add(row)
    await session.flush()
    return row


async def wholesale_sale(
    session: AsyncSession, variant: Variant, placed: datetime, status: OrderStatus = OrderStatus.completed
) -> Order:
    warehouse = await ensure_warehouse(session)
    n = next(_serial)
    order = Order(
        number=f"CTW{n:06d}",
        channel=SalesChannel.wholesale,
        status=status,
        contact_name="采购",
        contact_phone="+8613800000000",
        delivery_method=DeliveryMethod.home_delivery,
        payment_method=PaymentMethod.bank_transfer,
        subtotal_minor=1000,
        total_minor=1000,
        location_id=warehouse.id,
        placed_at=placed,
    )
    session.add(order)
    await session.flush()
    session.add(
        OrderLine(
            order_id=order.id,
            variant_id=variant.id,
            sku=variant.sku,
            name_zh="供货",
            unit=variant.unit,
            quantity=Decimal(1),
            unit_price_minor=1000,
            line_total_minor=1000,
            price_list="wholesale",
            price_rule="test",
        )
    )
    await session.flush()
    return order


async def store_sale(session: AsyncSession, store: Store, sold: datetime) -> Sale:
    """A POS sale at ``store`` (its order, till and shift made for it)."""
    warehouse = await ensure_warehouse(session)
    till = await make_till(session, store)
    clerk = await make_user(session, Role.admin)
    shift = Shift(
        client_id=uuid.uuid4(), store_id=store.id, till_id=till.id, opened_by_id=clerk.id, opened_at=sold, float_minor=0
    )
    n = next(_serial)
    order = Order(
        number=f"CTP{n:06d}",
        channel=SalesChannel.pos,
        status=OrderStatus.completed,
        contact_name="门店顾客",
        contact_phone="",
        delivery_method=DeliveryMethod.counter,
        payment_method=PaymentMethod.pos_cash,
        subtotal_minor=500,
        total_minor=500,
        location_id=warehouse.id,
        placed_at=sold,
    )
    session.add_all([shift, order])
    await session.flush()
    sale = Sale(
        client_id=uuid.uuid4(),
        number=f"CTS{n:06d}",
        order_id=order.id,
        store_id=store.id,
        till_id=till.id,
        shift_id=shift.id,
        clerk_id=clerk.id,
        sold_at=sold,
        subtotal_minor=500,
        total_minor=500,
        tendered_minor=500,
    )
    session.add(sale)
    await session.flush()
    return sale
