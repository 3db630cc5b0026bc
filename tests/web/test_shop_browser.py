"""A consumer buys in a real browser: home → product → cart (a boxed and a weighed product) →
checkout with station pickup found by the phone's location → pay at pickup → the order page.

Real all the way down: uvicorn serves ``create_app()`` over HTTP on 127.0.0.1, bound to the
committed test database; Debian's chromium is driven by Playwright with a phone-sized screen.
Every step is screenshotted into ``test-output/shop-browser/`` (gitignored) to be looked at.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.models import PriceListKind
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.kit.quantities import Unit
from app.main import create_app
from app.orders.models import Order, OrderStatus
from tests.fixtures.builders import (
    ensure_price_list,
    ensure_warehouse,
    make_category,
    make_product,
    make_station,
    make_variant,
    receive,
    set_price,
)
from tests.fixtures.http_server import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "shop-browser"
# Where the phone is: next to the test's own station, far from the stations other tests commit.
HERE = (Decimal("24.832000"), Decimal("114.344000"))

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` over real HTTP from a background thread; yields its base URL."""
    with serve_in_thread(app, name="shop server") as base:
        yield base


async def seed(engine: AsyncEngine) -> dict[str, str]:
    """Committed: the retail list, warehouse stock for a boxed and a weighed product, a station."""
    tag = uuid.uuid4().hex[:6]
    async with create_sessionmaker(engine)() as session:
        await ensure_price_list(session, "retail", PriceListKind.retail)
        await ensure_warehouse(session)
        fruit = await make_category(session, slug=f"fruit-{tag}", name_zh="鲜果")
        loquat = await make_product(
            session,
            category=fruit,
            slug=f"loquat-{tag}",
            name_zh="始兴枇杷",
            name_en="Shixing loquat",
            origin_township="太平镇",
            season_months=list(range(1, 13)),
            shelf_life_days=20,
            description_zh="太平镇东湖坪村的白肉枇杷，果大汁多。",
        )
        taro = await make_product(
            session,
            category=fruit,
            slug=f"taro-{tag}",
            name_zh="始兴香芋",
            name_en="Shixing taro",
            origin_township="马市镇",
            season_months=[],
            shelf_life_days=60,
        )
        box = await make_variant(
            session,
            product=loquat,
            unit=Unit.box,
            sku=f"LQ-{tag.upper()}",
            name_zh="特级 5斤装",
            name_en="Grade A 2.5 kg",
        )
        kg = await make_variant(
            session, product=taro, unit=Unit.kg, sku=f"TR-{tag.upper()}", name_zh="散装", name_en="Loose"
        )
        await set_price(session, "retail", box, 6800)
        await set_price(session, "retail", kg, 1850, min_quantity="0.5", increment="0.001")
        await receive(session, box, "10")
        await receive(session, kg, "50")
        station = await make_station(
            session,
            code=f"ST-B{tag.upper()}",
            name="满堂村服务站",
            township="隘子镇",
            village="满堂村",
            address="满堂村委会旁",
            opening_hours="08:00-20:00",
            latitude=HERE[0],
            longitude=HERE[1],
        )
        await session.commit()
    return {"box_sku": box.sku, "taro_sku": kg.sku, "station": station.name}


async def test_a_consumer_buys_in_a_real_browser(
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

    # The server gets its own engine: its connections live on the server thread's event loop.
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
                context = await browser.new_context(
                    viewport={"width": 412, "height": 860},
                    locale="zh-CN",
                    timezone_id="Asia/Shanghai",
                    geolocation={"latitude": float(HERE[0]), "longitude": float(HERE[1])},
                    permissions=["geolocation"],
                )
                page = await context.new_page()
                page.set_default_timeout(10_000)

                # 1. The home page: the season's produce with stock states.
                await page.goto(f"{base}/")
                await expect(page.get_by_role("heading", name="南岭明珠 · 始兴好物")).to_be_visible()
                loquat_card = page.locator(".card", has_text="始兴枇杷")
                await expect(loquat_card.get_by_text("现货")).to_be_visible()
                await shot(page, "home")

                # 2. A boxed product: two boxes.
                await loquat_card.get_by_role("link").click()
                await expect(page.get_by_role("heading", name="始兴枇杷", level=1)).to_be_visible()
                await expect(page.locator(".buy").get_by_text("¥68.00/箱")).to_be_visible()
                await page.get_by_label("数量（箱）").fill("2")
                await shot(page, "product-box")
                await page.get_by_role("button", name="加入购物车").click()
                await expect(page.get_by_text("已加入购物车：始兴枇杷 特级 5斤装，购物车中共 2 箱")).to_be_visible()
                await expect(page.locator(".site-nav .count")).to_have_text("1")
                await shot(page, "added-box")

                # 3. A weighed product: pick 1.5 kg from the weight options.
                await page.get_by_role("navigation", name="主导航").get_by_role("link", name="网店").click()
                await page.locator(".card", has_text="始兴香芋").get_by_role("link").click()
                await expect(page.get_by_role("heading", name="始兴香芋", level=1)).to_be_visible()
                await page.get_by_role("radio", name="1.5 千克").check()
                await shot(page, "product-weighed")
                await page.get_by_role("button", name="加入购物车").click()
                await expect(page.get_by_text("购物车中共 1.5 千克")).to_be_visible()
                await expect(page.locator(".site-nav .count")).to_have_text("2")
                await shot(page, "added-weighed")

                # 4. The cart, priced by the server.
                await (
                    page.get_by_role("navigation", name="主导航").get_by_role("link", name=re.compile("购物车")).click()
                )
                await expect(page.get_by_role("heading", name="购物车")).to_be_visible()
                await expect(page.get_by_text("¥136.00")).to_be_visible()  # 2 × ¥68.00
                await expect(page.get_by_text("¥27.75")).to_be_visible()  # 1.5 kg × ¥18.50
                await expect(page.locator(".summary .price")).to_have_text("¥163.75")
                await shot(page, "cart")

                # 5. Checkout: station pickup, the station list re-sorted from the phone's location.
                await page.get_by_role("link", name="去结算").click()
                await expect(page.get_by_role("heading", name="结算")).to_be_visible()
                await page.get_by_role("button", name="使用我的位置").click()
                await page.wait_for_url(re.compile(r"/checkout\?method=station_pickup&near="))
                await expect(page.get_by_text("按您的位置由近到远排列。")).to_be_visible()
                nearest = page.locator(".station-list li").first
                await expect(nearest).to_contain_text(seeded["station"])
                await expect(nearest).to_contain_text("0.0 公里")
                await expect(nearest).to_contain_text("营业时间 08:00-20:00")
                await expect(nearest.get_by_role("radio")).to_be_checked()
                await page.get_by_label("收货人姓名").fill("李阿姨")
                await page.get_by_label("手机号").fill("13800138000")
                await expect(page.get_by_role("radio", name=re.compile("到站付款"))).to_be_checked()
                await shot(page, "checkout")

                # 6. Place the order: the order page with its number and status.
                await page.get_by_role("button", name="提交订单").click()
                await page.wait_for_url(re.compile(r"/orders/NP\d+\?done=placed$"))
                heading = page.get_by_role("heading", level=1)
                await expect(heading).to_have_text(re.compile(r"^订单 NP\d+$"))
                number = (await heading.inner_text()).removeprefix("订单").strip()
                await expect(page.get_by_text("下单成功！")).to_be_visible()
                await expect(page.locator(".status-line .status")).to_have_text("已确认")
                await expect(page.get_by_text(seeded["station"]).first).to_be_visible()
                await expect(page.get_by_text("取货时付款 ¥163.75")).to_be_visible()
                await expect(page.locator(".site-nav .count")).to_have_count(0)  # the cart is empty now
                await shot(page, "order")
                await browser.close()
    finally:
        await server_engine.dispose()

    async with create_sessionmaker(committed_engine)() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        assert order is not None
        assert (order.status, order.total_minor, order.contact_phone) == (
            OrderStatus.confirmed,
            16375,
            "+8613800138000",
        )
    assert sorted(p.name for p in SHOTS.glob("*.png")) == [
        "01-home.png",
        "02-product-box.png",
        "03-added-box.png",
        "04-product-weighed.png",
        "05-added-weighed.png",
        "06-cart.png",
        "07-checkout.png",
        "08-order.png",
    ]
