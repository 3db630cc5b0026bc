"""The pickup QR end to end in real browsers: the customer opens the link of the "ready for pickup"
SMS on a phone, proves the phone once, and sees the code and the QR; at the counter PC the operator
scans that QR (decoded from the phone's screen) and then the parcel — two scans, Enter from the
scanner, no typing — takes the cash with one tap and hands the parcel over.

Screenshots: ``test-output/pickup-qr-browser/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.stations import parcels
from app.stations.models import Parcel, ParcelStatus
from tests.fixtures.browser import CHROMIUM, PC, PHONE, Shots, app_in_browser
from tests.fixtures.builders import DEFAULT_PASSWORD
from tests.web.test_station_browser import seed as seed_dispatched

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")


@dataclass(frozen=True)
class Shelved:
    operator: str
    order_number: str
    tracking_number: str
    slot: str
    sms: str


async def seed(engine: AsyncEngine) -> Shelved:
    """Committed: the station console test's pay-at-pickup order (¥68.00), its parcel scanned in
    at the station, and the SMS that told the customer."""
    # Another product name than the shop's browser test looks for on the home page (same database).
    dispatched = await seed_dispatched(engine, product_name="始兴沙田柚")
    async with create_sessionmaker(engine)() as session:
        station = await session.scalar(
            select(Parcel.station_id).where(Parcel.tracking_number == dispatched.tracking_number)
        )
        assert station is not None
        parcel = await parcels.scan_in(
            session, station_id=station, tracking_number=dispatched.tracking_number, actor_user_id=None
        )
        sms = await session.scalar(
            select(NotificationMessage.body).where(
                NotificationMessage.reference == dispatched.order_number,
                NotificationMessage.template == "order_ready_for_pickup",
            )
        )
        assert sms is not None and parcel.shelf_slot is not None
        shelved = Shelved(dispatched.username, dispatched.order_number, parcel.tracking_number, parcel.shelf_slot, sms)
        await session.commit()
    return shelved


async def test_the_customer_shows_the_qr_and_the_station_hands_over_with_two_scans(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    import zxingcpp
    from playwright.async_api import expect

    shelved = await seed(committed_engine)
    shot = Shots("pickup-qr-browser")

    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        # 1. The customer's phone opens the order's address without the SMS link's signature (typed
        # or copied by hand): the phone is asked for once. (The signed link itself is
        # test_pickup_link_browser.py.)
        link = re.search(r"https?://\S+?(/orders/NP\d+)\?t=\S+$", shelved.sms)
        assert link is not None, shelved.sms
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        customer = await phone.new_page()
        customer.set_default_timeout(10_000)
        await customer.goto(base + link.group(1))
        await expect(customer.get_by_label("订单号")).to_have_value(shelved.order_number)
        await expect(customer.get_by_label("下单手机号")).to_be_focused()
        await shot(customer, "link-asks-phone")
        await customer.keyboard.type("13800138000")
        await customer.get_by_role("button", name="查询").click()
        await customer.wait_for_url(f"{base}/orders/{shelved.order_number}")

        # 2. The order page: the code large, the QR above it.
        qr_image = customer.get_by_role("img", name=f"取货二维码，订单 {shelved.order_number}")
        await expect(qr_image).to_be_visible()
        code = customer.locator("#order-pickup-code")
        await expect(code).to_contain_text(re.compile(rf"^取货码 {re.escape(shelved.slot)}-\d{{6}}$"))
        box = await qr_image.bounding_box()
        assert box is not None and box["width"] >= 250  # big enough to scan from a phone held up
        await shot(customer, "order-qr")
        qr_png = tmp_path / "qr.png"
        await qr_image.screenshot(path=str(qr_png))
        decoded = zxingcpp.read_barcode(Image.open(qr_png))
        assert decoded is not None and decoded.format == zxingcpp.BarcodeFormat.QRCode
        scanned_qr = decoded.text
        assert scanned_qr == parcels.pickup_qr(shelved.order_number)
        await phone.close()

        # 3. The counter PC: sign in, 取件交付.
        counter = await browser.new_context(viewport=PC, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await counter.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}/login")
        await page.get_by_label("用户名").fill(shelved.operator)
        await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url(f"{base}/station")
        await page.goto(f"{base}/station/handover")
        parcel_field = page.get_by_label("扫描包裹单号")
        code_field = page.get_by_label("取货码 / 订单二维码")
        await expect(parcel_field).to_be_focused()

        # Scan 1: the customer's QR, into the focused parcel field. It moves to the code field and
        # the parcel it is for is shown, with its shelf slot; the parcel field waits.
        await page.keyboard.type(scanned_qr, delay=5)
        await page.keyboard.press("Enter")
        card = page.locator(".parcel-card")
        await expect(card.locator(".qr-found")).to_contain_text(f"请到货位 {shelved.slot} 取出包裹，再扫包裹面单")
        await expect(card).to_contain_text("到站付款 ¥68.00")
        await expect(code_field).to_have_value(scanned_qr)
        await expect(parcel_field).to_have_value("")
        await expect(parcel_field).to_be_focused()
        assert page.url == f"{base}/station/handover"
        await shot(page, "qr-scanned")

        # Scan 2: the parcel. The money is the only thing left: one tap, then confirm.
        await page.keyboard.type(shelved.tracking_number, delay=5)
        await page.keyboard.press("Enter")
        cash = page.get_by_role("radio", name=re.compile("现金收款"))
        await expect(cash).to_be_focused()
        await shot(page, "parcel-scanned")
        await cash.check()
        await page.get_by_role("button", name=re.compile("确认交付")).click()
        await expect(page.get_by_text("交付完成")).to_be_visible()
        await expect(page.locator(".collected")).to_have_text("已现金收款 ¥68.00")
        await expect(page.get_by_text("凭订单二维码")).to_be_visible()
        await shot(page, "handed-over")
        await counter.close()

    async with create_sessionmaker(committed_engine)() as session:
        order = await session.scalar(select(Order).where(Order.number == shelved.order_number))
        parcel = await session.scalar(select(Parcel).where(Parcel.tracking_number == shelved.tracking_number))
        assert order is not None and parcel is not None
        assert (order.status, order.payment_status, order.paid_minor) == (
            OrderStatus.completed,
            PaymentStatus.paid,
            6800,
        )
        assert (parcel.status, parcel.failed_code_attempts) == (ParcelStatus.handed_over, 0)
    assert shot.taken() == [
        "01-link-asks-phone.png",
        "02-order-qr.png",
        "03-qr-scanned.png",
        "04-parcel-scanned.png",
        "05-handed-over.png",
    ]
