"""What the dashboard needs entered and what it lists for attention: a purchase price at receiving
(form and API) gives the upward value, a reorder point set on the product page lists a variant
whose sellable stock falls below it, orders waiting too long in a state, lots expiring soon."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import Variant
from app.county import dashboard, performance
from app.kit import clock
from app.orders.models import OrderStatus
from app.supply.models import Lot
from tests.county.fixture import shop_order
from tests.fixtures.builders import auth, make_user, make_variant, receive, token_for
from tests.web.test_stock_pages import HTML, form_post, log_in, receipt_form, receipt_setup


async def test_the_receiving_form_records_a_purchase_price_that_values_the_upward_flow(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    variant, supplier, location = await receipt_setup(db_session)
    await db_session.execute(update(Variant).where(Variant.id == variant.id).values(net_weight_grams=1000))
    await log_in(client, db_session)
    response = await form_post(
        client,
        "/admin/lots/receive",
        "/admin/lots/receive",
        receipt_form(variant, supplier, location, quantity="12.5", purchase_price="8.40"),
    )
    assert response.status_code == 303, response.text
    lot = await db_session.scalar(select(Lot).where(Lot.variant_id == variant.id))
    assert lot is not None and lot.purchase_price_minor == 840
    today = clock.local_date(lot.created_at)
    figures = await performance.performance(db_session, today, today, live=True)
    assert figures.upward_suppliers.kg == Decimal("12.500")
    assert figures.upward_suppliers.value_minor == 10_500  # 12.5 kg × ¥8.40

    refused = await form_post(
        client,
        "/admin/lots/receive",
        "/admin/lots/receive",
        receipt_form(variant, supplier, location, purchase_price="-1"),
    )
    assert refused.status_code == 422 and "收购单价" in refused.text


async def test_the_api_takes_an_optional_purchase_price_and_shows_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    variant, supplier, _ = await receipt_setup(db_session)
    headers = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    body = {
        "sku": variant.sku,
        "supplier_code": supplier.code,
        "quantity": "3",
        "harvest_date": (clock.today() - timedelta(days=1)).isoformat(),
    }
    priced = await client.post("/api/v1/admin/lots", headers=headers, json={**body, "purchase_price_minor": 1_250})
    assert priced.status_code == 201, priced.text
    assert priced.json()["purchase_price_minor"] == 1_250
    unpriced = await client.post("/api/v1/admin/lots", headers=headers, json=body)
    assert unpriced.status_code == 201 and unpriced.json()["purchase_price_minor"] is None
    negative = await client.post("/api/v1/admin/lots", headers=headers, json={**body, "purchase_price_minor": -5})
    assert negative.status_code == 422


async def test_a_reorder_point_set_on_the_product_page_lists_the_variant_below_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    variant = await make_variant(db_session, name_zh="五斤装礼盒")
    await receive(db_session, variant, "3")
    await log_in(client, db_session, Role.admin)
    page = f"/admin/products/{variant.product_id}"
    form = {"name_zh": variant.name_zh, "name_en": variant.name_en, "is_active": "on", "reorder_point": "5"}
    saved = await form_post(client, page, f"{page}/variants/{variant.id}", form)
    assert saved.status_code == 303, saved.text
    await db_session.refresh(variant)
    assert variant.reorder_point == Decimal("5.000")
    assert 'name="reorder_point"' in (await client.get(page, headers=HTML)).text

    listed = (await dashboard.attention(db_session))["below_reorder"]
    assert [(row["sku"], row["available"], row["reorder_point"]) for row in listed.rows] == [
        (variant.sku, Decimal("3.000"), Decimal("5.000"))
    ]
    board = await client.get("/admin", headers=HTML)
    assert variant.sku in board.text and "低于补货点的规格（1）" in board.text

    # Cleared (an empty field): no longer listed.
    await form_post(client, page, f"{page}/variants/{variant.id}", {**form, "reorder_point": ""})
    await db_session.refresh(variant)
    assert variant.reorder_point is None
    assert (await dashboard.attention(db_session))["below_reorder"].count == 0


async def test_orders_waiting_past_their_state_threshold_and_lots_expiring_soon_are_listed(
    db_session: AsyncSession,
) -> None:
    now = clock.now()
    old = await shop_order(db_session, total=1_000, placed_at=now - timedelta(days=3), paid_at=now - timedelta(days=3))
    await shop_order(db_session, total=1_000, placed_at=now - timedelta(hours=5), paid_at=now - timedelta(hours=5))
    unpaid = await shop_order(
        db_session,
        total=1_000,
        placed_at=now - timedelta(hours=3),
        paid_at=None,
        status=OrderStatus.pending_payment,
    )
    variant = await make_variant(db_session)
    soon = await receive(db_session, variant, "4", best_before=clock.today() + timedelta(days=3))
    await receive(db_session, variant, "4", best_before=clock.today() + timedelta(days=30))

    found = await dashboard.attention(db_session, now=now)
    stuck = found["stuck_orders"]
    assert {row["number"] for row in stuck.rows} == {old.number, unpaid.number}  # confirmed 3 days; unpaid 3 h
    assert [row["code"] for row in found["expiring_lots"].rows] == [soon.code]
    assert found["overdue_parcels"].count == 0
    assert ("已确认", "2 天") in found["stuck_after"] and ("待支付", "2 小时") in found["stuck_after"]


async def test_a_paid_presale_order_waiting_for_its_harvest_is_not_stuck_until_the_wave_is_allocated(
    db_session: AsyncSession,
) -> None:
    """A confirmed pre-sale order with no reservation waits for its wave's harvest, not for packing:
    it leaves the stuck list while the wave is open and joins it once the wave is allocated."""
    from app.orders.models import Order, OrderEvent
    from app.presales import service as presales
    from app.presales.models import Wave, WaveStatus
    from tests.presales.helpers import make_wave, order_in, pay

    now = clock.now()
    setup = await make_wave(db_session)
    order = await presales.place(db_session, order_in(setup), stripe_enabled=True)
    await pay(db_session, order)
    long_ago = now - timedelta(days=10)
    await db_session.execute(update(Order).where(Order.id == order.id).values(placed_at=long_ago))
    await db_session.execute(update(OrderEvent).where(OrderEvent.order_id == order.id).values(created_at=long_ago))
    plain = await shop_order(db_session, total=1_000, placed_at=long_ago, paid_at=long_ago)
    await db_session.flush()
    assert (await db_session.get(Order, order.id, populate_existing=True)).status == OrderStatus.confirmed  # type: ignore[union-attr]

    found = await dashboard.attention(db_session, now=now)
    numbers = {row["number"] for row in found["stuck_orders"].rows}
    assert plain.number in numbers and order.number not in numbers

    await db_session.execute(update(Wave).where(Wave.id == setup.wave.id).values(status=WaveStatus.allocated))
    found = await dashboard.attention(db_session, now=now)
    assert order.number in {row["number"] for row in found["stuck_orders"].rows}
