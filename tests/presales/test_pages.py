"""The pre-sale pages: the wave on the shop's home page and its own page (countdown, what is left,
the "立即预订" form with its idempotency key and the per-phone limit), the centre's admin pages
(create, open, allocate, cancel), and the station console's "预售到货"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import Product
from app.kit import clock
from app.orders.models import Order, OrderStatus, PaymentMethod
from app.presales import repository, service
from app.presales.models import Wave, WaveStatus
from tests.fixtures.builders import make_user, receive
from tests.presales.helpers import make_wave, order_in
from tests.web.test_station_console import sign_in
from tests.web.test_stock_pages import HTML, field, log_in

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in China


async def test_a_customer_orders_from_the_wave_page(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    with clock.pinned(NOON):
        setup = await make_wave(db_session, cap=50, pay_at_pickup=True, per_phone=2, title="枇杷预售页测试")
        home = await client.get("/", headers=HTML)
        assert "枇杷预售页测试" in home.text and "还剩 <strong>50</strong> 份" in home.text
        page = await client.get(f"/presales/{setup.wave.code}", headers=HTML)
        assert page.status_code == 200
        assert "距截单 3 天 00:00:00" in page.text
        assert f'data-countdown="{setup.wave.cutoff_at.isoformat()}"' in page.text
        assert "还剩 50 份" in page.text and "立即预订" in page.text
        form = {
            "csrf_token": field(page, "csrf_token"),
            "idempotency_key": field(page, "idempotency_key"),
            "quantity": "2",
            "station_code": setup.stations[1].code,
            "contact_name": "李阿姨",
            "contact_phone": "13800138001",
            "payment_method": "pay_at_pickup",
        }
        placed = await client.post(f"/presales/{setup.wave.code}", data=form)
        assert placed.status_code == 303
        target = placed.headers["location"]
        assert target.startswith("/orders/NP") and target.endswith("?done=placed")
        # The same form sent again (a double tap): the same order.
        again = await client.post(f"/presales/{setup.wave.code}", data=form)
        assert again.headers["location"] == target
        number = target.split("/")[2].split("?")[0]
        order = await db_session.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.status is OrderStatus.confirmed and order.total_minor == 2 * 8800
        order_page = await client.get(target, headers=HTML)
        assert order_page.status_code == 200 and "【预售】" in order_page.text

        page = await client.get(f"/presales/{setup.wave.code}", headers=HTML)
        assert "还剩 48 份" in page.text
        refused = await client.post(
            f"/presales/{setup.wave.code}",
            data={**form, "idempotency_key": field(page, "idempotency_key"), "quantity": "1"},
        )
        assert refused.status_code == 409
        assert "到站付款的预订已达上限" in refused.text and "李阿姨" in refused.text

    with clock.pinned(NOON + timedelta(days=3)):
        closed = await client.get(f"/presales/{setup.wave.code}", headers=HTML)
        assert "本次预售已截单" in closed.text and "立即预订" not in closed.text
        home = await client.get("/?q=", headers=HTML)
        assert "枇杷预售页测试" not in home.text


async def test_the_centre_runs_a_wave_from_the_admin_pages(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    with clock.pinned(NOON):
        setup = await make_wave(db_session, cap=10, pay_at_pickup=True, per_phone=5, cutoff_in=timedelta(hours=2))
        await log_in(client, db_session, Role.admin)
        listing = await client.get("/admin/presales", headers=HTML)
        assert listing.status_code == 200 and setup.wave.code in listing.text
        created = await client.post(
            "/admin/presales",
            data={
                "csrf_token": field(listing, "csrf_token"),
                "idempotency_key": field(listing, "idempotency_key"),
                "title": "杨梅 东魁 预售",
                "sku": setup.variant.sku,
                "price": "128.00",
                "cap": "30",
                "cutoff_date": "2026-12-09",
                "cutoff_time": "20:00",
                "harvest_from": "2026-12-12",
                "harvest_to": "2026-12-20",
                "max_per_order": "3",
                "pickup_boxes_per_phone": "2",
            },
        )
        assert created.status_code == 303
        code = created.headers["location"].rsplit("/", 1)[1]
        wave = await db_session.scalar(select(Wave).where(Wave.code == code))
        assert wave is not None and wave.status is WaveStatus.draft and wave.price_minor == 12800
        assert wave.cutoff_at == datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # 20:00 China
        page = await client.get(f"/admin/presales/{code}", headers=HTML)
        opened = await client.post(
            f"/admin/presales/{code}/open",
            data={"csrf_token": field(page, "csrf_token"), "idempotency_key": field(page, "idempotency_key")},
        )
        assert opened.status_code == 303
        assert await db_session.scalar(select(Wave.status).where(Wave.code == code)) is WaveStatus.open

        # The open wave from the helper: one order, then the harvest, then allocation after the cut-off.
        order = await service.place(
            db_session, order_in(setup, "3", method=PaymentMethod.pay_at_pickup), stripe_enabled=False
        )
        await receive(db_session, setup.variant, "2")
        page = await client.get(f"/admin/presales/{setup.wave.code}", headers=HTML)
        assert "截单后才能分配到货" in page.text and order.number in page.text

    with clock.pinned(NOON + timedelta(hours=3)):
        page = await client.get(f"/admin/presales/{setup.wave.code}", headers=HTML)
        allocate_key = field(page, "idempotency_key", after=f"/admin/presales/{setup.wave.code}/allocate")
        allocated = await client.post(
            f"/admin/presales/{setup.wave.code}/allocate",
            data={"csrf_token": field(page, "csrf_token"), "idempotency_key": allocate_key},
        )
        assert allocated.status_code == 303
        page = await client.get(allocated.headers["location"], headers=HTML)
        assert "已按下单顺序分配到货" in page.text and "部分配货" in page.text
        batches = await repository.batches(db_session, setup.wave.id)
        assert [(b.station_code, b.orders, int(b.boxes)) for b in batches] == [(setup.stations[0].code, 1, 2)]

        # The other wave is cancelled from its page.
        page = await client.get(f"/admin/presales/{code}", headers=HTML)
        cancel_key = field(page, "idempotency_key", after=f"/admin/presales/{code}/cancel")
        cancelled = await client.post(
            f"/admin/presales/{code}/cancel",
            data={"csrf_token": field(page, "csrf_token"), "idempotency_key": cancel_key, "reason": "台风"},
        )
        assert cancelled.status_code == 303
        await db_session.refresh(wave)
        assert (wave.status, wave.cancel_reason) == (WaveStatus.cancelled, "台风")


async def test_a_station_sees_what_is_coming(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    # The open wave from the helper: one order, then the harvest, then allocation after the cut-off.
    setup = await make_wave(db_session, title="预售到站测试", pay_at_pickup=True, per_phone=5)
    for i in range(3):
        await service.place(
            db_session, order_in(setup, "2", station=0, i=i, method=PaymentMethod.pay_at_pickup), stripe_enabled=False
        )
    operator = await make_user(db_session, Role.station_operator, station_id=setup.stations[0].id)
    assert (await sign_in(client, operator)).status_code == 303
    home = await client.get("/station", headers=HTML)
    assert "预售到货" in home.text and "预售到站测试" in home.text
    assert "3 单" in home.text and "6 箱" in home.text
    other = await make_user(db_session, Role.station_operator, station_id=setup.stations[1].id)
    client.cookies.clear()
    assert (await sign_in(client, other)).status_code == 303
    assert "预售到站测试" not in (await client.get("/station", headers=HTML)).text


async def test_the_product_page_shows_its_wave_and_the_api_replays_an_order(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    setup = await make_wave(db_session, title="产品页预售测试", pay_at_pickup=True, per_phone=5)
    slug = await db_session.scalar(select(Product.slug).where(Product.id == setup.variant.product_id))
    product_page = await client.get(f"/products/{slug}", headers=HTML)
    assert "产品页预售测试" in product_page.text and "还剩 <strong>50</strong> 份" in product_page.text

    listed = (await client.get("/api/v1/presales")).json()
    assert setup.wave.code in [w["code"] for w in listed]
    body = {
        "quantity": "2",
        "station_code": setup.stations[0].code,
        "contact": {"name": "王", "phone": "13800138002"},
        "payment_method": "pay_at_pickup",
    }
    url = f"/api/v1/presales/{setup.wave.code}/orders"
    first = await client.post(url, json=body, headers={"Idempotency-Key": "wave-replay-1"})
    again = await client.post(url, json=body, headers={"Idempotency-Key": "wave-replay-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["number"] == again.json()["number"]
    changed = await client.post(url, json={**body, "quantity": "1"}, headers={"Idempotency-Key": "wave-replay-1"})
    assert changed.status_code == 422
    shown = (await client.get(f"/api/v1/presales/{setup.wave.code}")).json()
    assert shown["left"] == "48.000"
    refused = await client.post(url, json={**body, "quantity": "9"}, headers={"Idempotency-Key": "wave-replay-2"})
    assert (refused.status_code, refused.json()["error"]) == (422, "presale_too_many_boxes")
