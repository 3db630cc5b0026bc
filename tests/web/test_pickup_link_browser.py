"""The customer opens the link of the "ready for pickup" notice on a phone, sees the pickup code in
large type and the pickup QR; at the counter the operator scans the parcel and then the customer's
QR (two scans, nothing typed by hand) and hands it over.

Real all the way down, like test_station_browser: uvicorn on 127.0.0.1, the committed database,
Debian's chromium. The QR is decoded from the phone's screenshot with zxing-cpp, and what the
scanner "types" at the counter is exactly what was decoded. Screens go to
``test-output/pickup-link-browser/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus
from app.stations import parcels
from app.stations.models import Parcel, ParcelStatus, Station
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.web.test_station_browser import seed

pytestmark = needs_chromium


async def test_the_customer_shows_the_qr_and_the_operator_scans_it(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    # Its own product name: the browser tests share the committed database and its home page.
    seeded = await seed(committed_engine, product_name="始兴蜂蜜")
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        station = await session.scalar(select(Station).where(Station.name == seeded.station_name).limit(1))
        parcel = await session.scalar(select(Parcel).where(Parcel.tracking_number == seeded.tracking_number))
        assert station is not None and parcel is not None
        await parcels.scan_in(
            session, station_id=parcel.station_id, tracking_number=seeded.tracking_number, actor_user_id=None
        )
        notice = await session.scalar(
            select(NotificationMessage).where(
                NotificationMessage.reference == seeded.order_number,
                NotificationMessage.template == "order_ready_for_pickup",
            )
        )
        await session.commit()
        assert notice is not None
        code = parcels.customer_pickup_code(parcel)
        assert code is not None and code in notice.body
    # The notice carries the order's signed link; open it on our test server.
    link = re.search(r"取货二维码：(\S+)", notice.body)
    assert link is not None
    target = urlsplit(link.group(1))
    assert target.path == f"/orders/{seeded.order_number}" and target.query.startswith("t=")

    shots = Shots("pickup-link-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        # 1. The customer's phone: the link opens the order without typing the phone.
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await phone.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}{target.path}?{target.query}")
        await page.wait_for_url(f"{base}/orders/{seeded.order_number}")
        await expect(page.locator("#order-pickup-code")).to_have_text(re.compile(re.escape(code)))
        qr = page.locator(".pickup-qr svg")
        await expect(qr).to_be_visible()
        await shots.take(page, "order-page-phone")
        qr_png = shots.path / "qr.png"
        await qr.screenshot(path=str(qr_png))
        decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(qr_png))]
        assert decoded == [parcels.pickup_qr(seeded.order_number)]
        # Without the link (another phone), the order stays hidden.
        stranger = await (await browser.new_context()).new_page()
        answer = await stranger.goto(f"{base}/orders/{seeded.order_number}")
        assert answer is not None and answer.status == 404

        # 2. The counter: sign in, scan the parcel, scan the customer's QR.
        desk = await signed_in_page(browser, base, seeded.username, "/station/handover")
        await expect(desk.get_by_label("扫描包裹单号")).to_be_focused()
        await desk.keyboard.type(seeded.tracking_number, delay=10)
        await desk.keyboard.press("Enter")
        await expect(desk.get_by_label("取货码 / 订单二维码")).to_be_focused()
        await desk.keyboard.type(decoded[0], delay=5)
        await desk.keyboard.press("Enter")
        # Pay at pickup: the money is the one thing left; one tap, then confirm.
        cash = desk.get_by_role("radio", name=re.compile("现金收款"))
        await expect(cash).to_be_visible()
        await cash.check()
        await desk.get_by_role("button", name=re.compile("确认交付")).click()
        await expect(desk.get_by_text("交付完成")).to_be_visible()
        await shots.take(desk, "handover-by-qr")

    async with sessionmaker() as session:
        order = await session.scalar(select(Order).where(Order.number == seeded.order_number))
        handed = await session.scalar(select(Parcel).where(Parcel.tracking_number == seeded.tracking_number))
        assert order is not None and order.status is OrderStatus.completed
        assert handed is not None and (handed.status, handed.failed_code_attempts) == (ParcelStatus.handed_over, 0)
