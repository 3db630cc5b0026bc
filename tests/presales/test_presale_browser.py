"""A customer joins a pre-sale wave in a real browser, on a phone: the wave on the shop's home
page, its page (countdown, what is left), the "立即预订" form, the order page. Then the centre
allocates the harvest from the admin wave page (per-station batches) and the station console
shows what is coming. Screens go to ``test-output/presales/`` (and ``/work/shots/presale`` when
that folder exists)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.kit import clock
from app.orders.models import Order, PaymentMethod
from app.presales import service
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, new_page, signed_in_page
from tests.fixtures.builders import make_user, receive
from tests.presales.helpers import make_wave, order_from_home_page, order_in

pytestmark = needs_chromium
SHOTS_COPY = Path("/work/shots/presale")


async def test_a_customer_joins_a_presale_wave(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid4().hex[:4]
    start = clock.now()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_wave(
            session,
            cap=30,
            pay_at_pickup=True,
            per_phone=3,
            cutoff_in=timedelta(hours=2, minutes=30),
            title=f"始兴枇杷 一级 5 千克箱装 · 首批预售 {tag}",
        )
        # Neighbours ordered before: 7 boxes taken, in both stations.
        for i, quantity in enumerate(["3", "2", "2"]):
            await service.place(
                session,
                order_in(setup, quantity, station=i % 2, i=9000 + i, method=PaymentMethod.pay_at_pickup),
                stripe_enabled=False,
            )
        admin = await make_user(session, Role.admin, username=f"ps-admin-{tag}")
        operator = await make_user(
            session, Role.station_operator, username=f"ps-op-{tag}", station_id=setup.stations[0].id
        )
        await session.commit()

    shots = Shots("presales")
    async with app_in_browser(committed_database_url, tmp_path / "data") as (base, browser):
        phone = await new_page(browser, viewport=PHONE)

        async def countdown_ticks() -> None:
            # The countdown ticks in the browser (the server wrote the time it started from).
            before = await phone.locator(".countdown").first.text_content()
            await phone.wait_for_timeout(1200)
            assert await phone.locator(".countdown").first.text_content() != before
            await shots(phone, "wave-phone")

        number = await order_from_home_page(
            phone,
            base,
            setup,
            shots,
            left=23,
            quantity="2",
            contact_name="黄阿姨",
            contact_phone="13800138077",
            before_ordering=countdown_ticks,
        )

        admin_page = await signed_in_page(browser, base, admin.username, f"/admin/presales/{setup.wave.code}")
        await expect(admin_page.get_by_text(number)).to_be_visible()
        await shots(admin_page, "admin-wave-open")

        station = await signed_in_page(browser, base, operator.username, "/station", viewport=PHONE)
        await expect(station.locator("#presale")).to_contain_text("预售到货")
        await station.locator("#presale").scroll_into_view_if_needed()
        await shots(station, "station-coming-phone")

        # The harvest comes in short (8 boxes for 9 ordered), after the cut-off the centre allocates.
        async with sessionmaker() as session:
            await receive(session, setup.variant, "8")
            await session.commit()
        with clock.pinned(start + timedelta(hours=3)):
            await admin_page.reload()
            await admin_page.get_by_role("button", name="按下单顺序分配到货").click()
            await expect(admin_page.get_by_text("已按下单顺序分配到货")).to_be_visible()
            await expect(admin_page.get_by_text("部分配货")).to_be_visible()
            await shots(admin_page, "admin-wave-allocated")
            await station.reload()
            await expect(station.locator("#presale")).to_contain_text("已分配到货")
            await station.locator("#presale").scroll_into_view_if_needed()
            await shots(station, "station-coming-allocated-phone")
            await phone.goto(f"{base}/orders/{number}")
            await shots(phone, "order-allocated-phone")

    async with sessionmaker() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.reservation_reference == f"order:{number}"
    shots.copy_to(SHOTS_COPY)
