"""A station operator works the counter in a real browser: sign in → the console → 入站扫描 (the
tracking number "scanned" by typing it and pressing Enter, as a keyboard-wedge scanner does) →
the pickup code in large type → 取件 (scan the parcel, type the code the customer says, take cash)
→ the handover done, the order completed and paid.

Real all the way down: uvicorn serves ``create_app()`` over HTTP on 127.0.0.1, bound to the
committed test database; Debian's chromium is driven by Playwright on a 1280×800 counter PC, and the
handover page is also shot on a 390×844 phone. Every step is screenshotted into
``test-output/station-browser/`` (gitignored) to be looked at.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.orders.models import Order, OrderStatus, PaymentStatus
from app.stations import parcels
from app.stations.models import Parcel, ParcelStatus
from tests.fixtures.builders import (
    DEFAULT_PASSWORD,
    make_route,
    make_station,
    make_user,
    pickup_order,
    sellable_box,
)
from tests.web.test_shop_browser import serve

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "station-browser"
PC = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")


@dataclass(frozen=True)
class Seeded:
    username: str
    station_name: str
    tracking_number: str
    order_number: str


async def seed(engine: AsyncEngine, *, product_name: str = "始兴枇杷") -> Seeded:
    """Committed: retail prices and warehouse stock, a station on its own route with an operator,
    and one pay-at-pickup order for it, packed and dispatched — through the services. The product
    stays in the shop's listing: other browser tests pick products there by name."""
    tag = uuid.uuid4().hex[:6].upper()
    async with create_sessionmaker(engine)() as session:
        box = await sellable_box(session, sku=f"LQ-ST-{tag}", slug=f"loquat-st-{tag.lower()}", name_zh=product_name)
        station = await make_station(
            session,
            code=f"ST-W{tag}",
            name="东湖坪村服务站",
            township="太平镇",
            village="东湖坪村",
            latitude=Decimal("24.901000"),
            longitude=Decimal("114.101000"),
        )
        route = await make_route(session, station, code=f"RT-W{tag}", name="太平线")
        operator = await make_user(
            session, Role.station_operator, username=f"op-{tag.lower()}", display_name="黄站长", station_id=station.id
        )
        order = await pickup_order(session, box, station)
        run = await parcels.plan_run(session, route_code=route.code, run_date=clock.today(), actor_user_id=None)
        await parcels.dispatch_run(session, run.number, actor_user_id=None)
        parcel = await session.scalar(select(Parcel).where(Parcel.order_id == order.id))
        assert parcel is not None and parcel.status is ParcelStatus.dispatched
        seeded = Seeded(operator.username, station.name, parcel.tracking_number, order.number)
        await session.commit()
    return seeded


async def test_an_operator_scans_in_and_hands_over_in_a_real_browser(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import Page, async_playwright, expect

    seeded = await seed(committed_engine)
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    step = 0

    async def shot(page: Page, name: str) -> None:
        nonlocal step
        step += 1
        await page.screenshot(path=str(SHOTS / f"{step:02d}-{name}.png"), full_page=True)

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
                context = await browser.new_context(viewport=PC, locale="zh-CN", timezone_id="Asia/Shanghai")
                page = await context.new_page()
                page.set_default_timeout(10_000)

                # 1. Sign in: an operator lands on its station's console.
                await page.goto(f"{base}/login")
                await page.get_by_label("用户名").fill(seeded.username)
                await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
                await shot(page, "login")
                await page.get_by_role("button", name="登录").click()
                await page.wait_for_url(f"{base}/station")
                await expect(page.get_by_role("heading", level=1)).to_contain_text(seeded.station_name)
                await expect(page.get_by_role("link", name="村站工作台")).to_be_visible()
                await expect(page.get_by_text("货架上没有待取的包裹。")).to_be_visible()
                await shot(page, "home")

                # 2. 入站扫描: the scanner types the tracking number and presses Enter.
                await page.locator(".big-actions").get_by_role("link", name=re.compile("入站扫描")).click()
                await expect(page.get_by_role("heading", name=re.compile("入站扫描"))).to_be_visible()
                scan_field = page.get_by_label("扫描包裹单号")
                await expect(scan_field).to_be_focused()
                await shot(page, "scan-empty")
                await page.keyboard.type(seeded.tracking_number, delay=15)
                await page.keyboard.press("Enter")
                await expect(page.get_by_text("入站成功：请放到下面的货位")).to_be_visible()
                await expect(page.locator("#shelf-slot")).to_have_text(re.compile(r"1-1"))
                # The console never shows the secret: the customer has it (SMS and order page).
                async with create_sessionmaker(committed_engine)() as session:
                    shelved = await session.scalar(
                        select(Parcel).where(Parcel.tracking_number == seeded.tracking_number)
                    )
                    assert shelved is not None
                    pickup_code = parcels.customer_pickup_code(shelved) or ""
                assert re.fullmatch(r"1-1-\d{6}", pickup_code)
                await expect(page.locator("main")).not_to_contain_text(pickup_code.rsplit("-", 1)[1])
                await expect(page.get_by_text("1 号货架 · 第 1 层")).to_be_visible()
                # Ready for the next parcel: the field is empty and focused again.
                next_field = page.get_by_label("扫描下一件包裹")
                await expect(next_field).to_be_focused()
                await expect(next_field).to_have_value("")
                await shot(page, "scanned")

                # 3. The console now shows it on the shelf.
                await page.get_by_role("navigation", name="村站工作台").get_by_role("link", name="工作台").click()
                shelf_row = page.locator(".shelf-table tbody tr").first
                await expect(shelf_row).to_contain_text("1-1")
                await expect(shelf_row).to_contain_text("李**")
                await expect(shelf_row).to_contain_text("¥68.00")
                await shot(page, "home-shelf")

                # 4. 取件: scan the parcel — Enter moves on to the code field and shows the summary.
                await page.locator(".big-actions").get_by_role("link", name=re.compile("取件交付")).click()
                await expect(page.get_by_role("heading", name=re.compile("取件交付"))).to_be_visible()
                await expect(page.get_by_label("扫描包裹单号")).to_be_focused()
                await page.keyboard.type(seeded.tracking_number, delay=15)
                await page.keyboard.press("Enter")
                code_field = page.get_by_label("取货码 / 订单二维码")
                await expect(code_field).to_be_focused()
                card = page.locator(".parcel-card")
                await expect(card).to_contain_text("李**")
                await expect(card).to_contain_text("到站付款 ¥68.00")
                await expect(page).to_have_url(f"{base}/station/handover")  # nothing was submitted
                # The customer says a wrong code first. Enter with no payment chosen yet moves on to
                # the payment choice instead of submitting.
                await page.keyboard.type("9-9-9999")
                await page.keyboard.press("Enter")
                cash = page.get_by_role("radio", name=re.compile("现金收款"))
                await expect(cash).to_be_focused()
                await expect(page).to_have_url(f"{base}/station/handover")
                await cash.check()
                await page.get_by_role("button", name=re.compile("确认交付")).click()
                # Counted: the attempts left shown, the code cleared and focused, the rest kept.
                await expect(page.get_by_role("alert").first).to_contain_text("取货码不正确，还可尝试 4 次")
                await expect(page.locator(".attempts")).to_have_text("取货码已错 1 次，还可尝试 4 次")
                await expect(code_field).to_be_focused()
                await expect(code_field).to_have_value("")
                await expect(page.get_by_label("扫描包裹单号")).to_have_value(seeded.tracking_number)
                await expect(cash).to_be_checked()
                await shot(page, "handover-wrong-code")
                # The right code, cash chosen.
                await page.keyboard.type(pickup_code)
                await expect(code_field).to_have_value(pickup_code)
                await shot(page, "handover-pc")
                await page.set_viewport_size(PHONE)
                await shot(page, "handover-phone")
                await page.set_viewport_size(PC)

                # 5. Confirm: the handover is done and the cash recorded.
                await page.get_by_role("button", name=re.compile("确认交付")).click()
                await expect(page.get_by_text("交付完成")).to_be_visible()
                await expect(page.locator(".collected")).to_have_text("已现金收款 ¥68.00")
                await expect(page.get_by_role("link", name="下一位取件")).to_be_focused()
                await shot(page, "handover-done")
                await page.set_viewport_size(PHONE)
                await shot(page, "handover-done-phone")

                # 6. The other pages of the console, on the phone and on the PC.
                await page.get_by_role("link", name="返回工作台").click()
                await expect(page.get_by_text("今日已取件")).to_be_visible()
                await shot(page, "home-phone")
                await page.set_viewport_size(PC)
                await page.get_by_role("navigation", name="村站工作台").get_by_role("link", name="上行登记").click()
                await expect(page.get_by_role("heading", name=re.compile("上行登记"))).to_be_visible()
                await expect(page.get_by_text("本站还没有上行记录。")).to_be_visible()
                await shot(page, "upstream")
                await page.get_by_role("navigation", name="村站工作台").get_by_role("link", name="服务案例").click()
                await expect(page.get_by_label("现场照片")).to_have_attribute("capture", "environment")
                await page.set_viewport_size(PHONE)
                await shot(page, "cases-phone")
                await page.set_viewport_size(PC)
                await page.get_by_role("navigation", name="村站工作台").get_by_role("link", name="月度数据").click()
                await expect(page.get_by_text("示范站标准")).to_be_visible()
                await expect(page.locator(".stats li", has_text="已取件").locator(".stat-num")).to_have_text("1")
                await shot(page, "report")
                await browser.close()
    finally:
        await server_engine.dispose()

    async with create_sessionmaker(committed_engine)() as session:
        order = await session.scalar(select(Order).where(Order.number == seeded.order_number))
        assert order is not None
        assert (order.status, order.payment_status, order.paid_minor) == (
            OrderStatus.completed,
            PaymentStatus.paid,
            6800,
        )
        parcel = await session.scalar(select(Parcel).where(Parcel.tracking_number == seeded.tracking_number))
        assert parcel is not None and (parcel.status, parcels.customer_pickup_code(parcel)) == (
            ParcelStatus.handed_over,
            pickup_code,
        )
    assert sorted(p.name for p in SHOTS.glob("*.png")) == [
        "01-login.png",
        "02-home.png",
        "03-scan-empty.png",
        "04-scanned.png",
        "05-home-shelf.png",
        "06-handover-wrong-code.png",
        "07-handover-pc.png",
        "08-handover-phone.png",
        "09-handover-done.png",
        "10-handover-done-phone.png",
        "11-home-phone.png",
        "12-upstream.png",
        "13-cases-phone.png",
        "14-report.png",
    ]
