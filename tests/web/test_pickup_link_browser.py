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
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus
from app.stations import parcels
from app.stations.models import Parcel, ParcelStatus, Station
from tests.fixtures.builders import DEFAULT_PASSWORD
from tests.web.test_shop_browser import serve
from tests.web.test_station_browser import CHROMIUM, PC, PHONE, seed

SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "pickup-link-browser"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")


async def test_the_customer_shows_the_qr_and_the_operator_scans_it(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

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

    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    server_engine = create_engine(committed_database_url, null_pool=True)
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(settings, engine=server_engine, task_sender=RecordingSender())
    try:
        with serve(app) as base:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                # 1. The customer's phone: the link opens the order without typing the phone.
                phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
                page = await phone.new_page()
                page.set_default_timeout(10_000)
                await page.goto(f"{base}{target.path}?{target.query}")
                await page.wait_for_url(f"{base}/orders/{seeded.order_number}")
                await expect(page.locator("#order-pickup-code")).to_have_text(re.compile(re.escape(code)))
                qr = page.locator(".pickup-qr svg")
                await expect(qr).to_be_visible()
                await page.screenshot(path=str(SHOTS / "01-order-page-phone.png"), full_page=True)
                await qr.screenshot(path=str(SHOTS / "02-qr.png"))
                decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(SHOTS / "02-qr.png"))]
                assert decoded == [parcels.pickup_qr(seeded.order_number)]
                # Without the link (another phone), the order stays hidden.
                stranger = await (await browser.new_context()).new_page()
                answer = await stranger.goto(f"{base}/orders/{seeded.order_number}")
                assert answer is not None and answer.status == 404

                # 2. The counter: sign in, scan the parcel, scan the customer's QR.
                counter = await browser.new_context(viewport=PC, locale="zh-CN", timezone_id="Asia/Shanghai")
                desk = await counter.new_page()
                desk.set_default_timeout(10_000)
                await desk.goto(f"{base}/login")
                await desk.get_by_label("用户名").fill(seeded.username)
                await desk.get_by_label("密码").fill(DEFAULT_PASSWORD)
                await desk.get_by_role("button", name="登录").click()
                await desk.wait_for_url(f"{base}/station")
                await desk.goto(f"{base}/station/handover")
                await expect(desk.get_by_label("扫描包裹单号")).to_be_focused()
                await desk.keyboard.type(seeded.tracking_number, delay=10)
                await desk.keyboard.press("Enter")
                code_field = desk.get_by_label("取货码 / 订单二维码")
                await expect(code_field).to_be_focused()
                await desk.keyboard.type(decoded[0], delay=5)
                await desk.keyboard.press("Enter")
                # Pay at pickup: the money is the one thing left; one tap, then confirm.
                cash = desk.get_by_role("radio", name=re.compile("现金收款"))
                await expect(cash).to_be_visible()
                await cash.check()
                await desk.get_by_role("button", name=re.compile("确认交付")).click()
                await expect(desk.get_by_text("交付完成")).to_be_visible()
                await desk.screenshot(path=str(SHOTS / "03-handover-by-qr.png"), full_page=True)
                await browser.close()
    finally:
        await server_engine.dispose()

    async with sessionmaker() as session:
        order = await session.scalar(select(Order).where(Order.number == seeded.order_number))
        handed = await session.scalar(select(Parcel).where(Parcel.tracking_number == seeded.tracking_number))
        assert order is not None and order.status is OrderStatus.completed
        assert handed is not None and (handed.status, handed.failed_code_attempts) == (ParcelStatus.handed_over, 0)
