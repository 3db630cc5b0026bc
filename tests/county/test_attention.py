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


async def test_a_parcel_on_a_shelf_past_its_stations_retention_is_listed_one_within_it_is_not(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """Two parcels scanned in five days ago (the real scan-in: retention from the station's own
    days): at a station keeping parcels 3 days it is overdue, at one keeping them 7 it is not; a
    parcel collected after its retention ended is off the shelf and not listed either."""
    from app.stations import parcels
    from app.stations.models import Parcel, ParcelStatus
    from tests.fixtures.builders import make_route, make_station, pickup_order, sellable_box

    now = clock.now()
    five_days_ago = now - timedelta(days=5)
    with clock.pinned(five_days_ago):
        box = await sellable_box(db_session, sku="RET-BOX", slug="ret-box", stock="10", name_zh="保管期枇杷")
        short = await make_station(db_session, retention_days=3)
        long = await make_station(db_session, retention_days=7)
        route = await make_route(db_session, short, long)
        late = await pickup_order(db_session, box, short, name="赵保管")
        kept = await pickup_order(db_session, box, long, name="钱保管")
        collected = await pickup_order(db_session, box, short, name="孙已取")
        run = await parcels.plan_run(db_session, route_code=route.code, run_date=clock.today(), actor_user_id=None)
        await parcels.dispatch_run(db_session, run.number, actor_user_id=None)
        shelved = {}
        for order, station in ((late, short), (kept, long), (collected, short)):
            tracking = await db_session.scalar(select(Parcel.tracking_number).where(Parcel.order_id == order.id))
            assert tracking is not None
            shelved[order.id] = await parcels.scan_in(
                db_session, station_id=station.id, tracking_number=tracking, actor_user_id=None
            )
    assert shelved[late.id].retention_until == five_days_ago + timedelta(days=3)
    assert shelved[kept.id].retention_until == five_days_ago + timedelta(days=7)
    await db_session.execute(
        update(Parcel)
        .where(Parcel.order_id == collected.id)
        .values(status=ParcelStatus.handed_over, handed_over_at=now - timedelta(days=1))
    )

    listed = await dashboard.attention_list(db_session, "overdue-parcels", now=now)
    assert [(row["tracking_number"], row["order_number"]) for row in listed.rows] == [
        (shelved[late.id].tracking_number, late.number)
    ]
    assert listed.count == 1 and listed.rows[0]["station"] == short.name

    await log_in(client, db_session, Role.county_official)
    page = await client.get("/admin/county/attention/overdue-parcels", headers=HTML)
    assert page.status_code == 200
    assert shelved[late.id].tracking_number in page.text and "赵**" in page.text
    assert shelved[kept.id].tracking_number not in page.text and "赵保管" not in page.text
    assert 'data-count="overdue-parcels">1<' in page.text


async def test_alibaba_sync_problems_count_listings_in_trouble_recent_failed_calls_and_the_connection(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """A listing in error, one rejected, one retrying after failed attempts (an online one with
    none is fine); three calls failed in the last 24 hours (one older, one that worked: neither
    counts); the seller's authorisation needs renewing. 3 + 3 + 1 = 7 problems."""
    from app.crossborder.models import AlibabaConnection, ConnectionStatus, ListingState, SyncLogEntry
    from tests.web.test_crossborder_admin import make_listing

    now = clock.now()
    broken = await make_listing(db_session, state=ListingState.error, state_message="price tiers invalid")
    rejected = await make_listing(db_session, state=ListingState.rejected, state_message="audit: image text")
    retrying = await make_listing(db_session, state=ListingState.online, failed_attempts=2)
    fine = await make_listing(db_session, state=ListingState.online)
    calls = [
        ("alibaba.icbu.product.update", False, timedelta(hours=1)),
        ("alibaba.icbu.product.update", False, timedelta(hours=2)),
        ("alibaba.icbu.photobank.upload", False, timedelta(hours=23)),
        ("alibaba.icbu.product.update", False, timedelta(hours=30)),  # older than a day
        ("alibaba.icbu.product.get", True, timedelta(minutes=5)),  # worked
    ]
    db_session.add_all(
        SyncLogEntry(
            api=api, style="sync", ok=ok, code="" if ok else "15", msg_code="" if ok else "isv.invalid-parameter",
            message="" if ok else f"failed {n}", created_at=now - ago,
        )
        for n, (api, ok, ago) in enumerate(calls)
    )  # fmt: skip
    db_session.add(
        AlibabaConnection(
            id=1,
            access_token_enc="x",
            expires_at=now + timedelta(days=1),
            status=ConnectionStatus.needs_reauth,
            last_error="refresh token expired",
        )
    )
    await db_session.flush()

    found = await dashboard.alibaba_sync(db_session, now=now)
    assert [row["model_number"] for row in found["listings"]] == [
        broken.model_number,
        rejected.model_number,
        retrying.model_number,
    ]
    assert found["listing_count"] == 3 and found["failed_count"] == 3
    assert [row["message"] for row in found["failed_calls"]] == ["failed 0", "failed 1", "failed 2"]  # newest first
    assert found["problems"] == 7
    assert (await dashboard.attention(db_session, now=now))["alibaba_problems"] == 7
    # Paged: the second of three failed calls alone.
    second = await dashboard.alibaba_sync(db_session, now=now, limit=1, offset=1)
    assert [row["message"] for row in second["failed_calls"]] == ["failed 1"] and second["problems"] == 7

    await log_in(client, db_session, Role.county_official)
    board = await client.get("/admin", headers=HTML)
    assert 'data-figure="attention-alibaba-sync"><span class="stat-num">7<' in board.text
    page = await client.get("/admin/county/attention/alibaba-sync", headers=HTML)
    assert page.status_code == 200 and 'data-count="alibaba-sync">7<' in page.text
    assert "国际站授权需要更新" in page.text and "price tiers invalid" in page.text
    assert broken.model_number in page.text and fine.model_number not in page.text
    assert 'data-count="failed-calls">3<' in page.text and "failed 3" not in page.text
    assert 'href="/admin/crossborder' not in page.text  # the official: no link to the listings' editor
