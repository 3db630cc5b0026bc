"""Choosing the pickup station in a real phone-sized browser: nothing is pre-selected for a new
customer; placing the order without a station is refused and says which field; the filter finds a
station by a village it serves as one types (and Enter does not reload the page); the order goes
there; the next checkout has that station chosen, marked 上次选择.

Screenshots: ``test-output/checkout-browser/``.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.models import PriceListKind
from app.db import create_sessionmaker
from app.kit.quantities import Unit
from app.orders.models import Order
from app.stations.models import Station
from tests.fixtures.browser import CHROMIUM, PHONE, Shots, app_in_browser
from tests.fixtures.builders import (
    ensure_price_list,
    ensure_warehouse,
    make_product,
    make_station,
    make_variant,
    receive,
    set_price,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")

# Stations of townships no other browser test uses: code suffix, name, township, village, served.
STATIONS = (
    ("LY", "燎原村服务站", "罗坝镇", "燎原村", ["燎原村", "长江村"]),
    ("SN", "水南村服务站", "深渡水瑶族乡", "水南村", ["水南村"]),
    ("HS", "黄所村服务站", "司前镇", "黄所村", ["黄所村", "车头村"]),
)


async def seed(engine: AsyncEngine) -> tuple[str, dict[str, str]]:
    """Committed: a boxed product in stock and three stations; the product's slug and the codes."""
    tag = uuid.uuid4().hex[:6].upper()
    async with create_sessionmaker(engine)() as session:
        await ensure_price_list(session, "retail", PriceListKind.retail)
        await ensure_warehouse(session)
        product = await make_product(session, slug=f"honey-{tag.lower()}", name_zh="始兴蜂蜜", shelf_life_days=300)
        jar = await make_variant(session, product=product, unit=Unit.piece, sku=f"HN-{tag}", name_zh="500克瓶装")
        await set_price(session, "retail", jar, 5800)
        await receive(session, jar, "20")
        codes = {}
        for n, (suffix, name, township, village, served) in enumerate(STATIONS):
            station = await make_station(
                session,
                code=f"ST-{suffix}{tag}",
                name=name,
                township=township,
                village=village,
                villages_served=served,
                address=f"{village}村委会旁",
                latitude=Decimal("24.60") + Decimal(n) / 10,
                longitude=Decimal("113.90"),
            )
            codes[name] = station.code
        await session.commit()
    return product.slug, codes


async def test_a_customer_finds_and_chooses_a_station_and_it_is_remembered(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import Page, expect

    slug, codes = await seed(committed_engine)
    shot = Shots("checkout-browser")

    async def buy_one(page: Page, base: str) -> None:
        await page.goto(f"{base}/products/{slug}")
        await page.get_by_label("数量（个）").fill("1")
        await page.get_by_role("button", name="加入购物车").click()
        await expect(page.get_by_text("已加入购物车：始兴蜂蜜 500克瓶装")).to_be_visible()
        await page.goto(f"{base}/checkout")
        await expect(page.get_by_role("heading", name="结算")).to_be_visible()

    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        context = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        chosen = page.locator("input[name=station_code]:checked")
        filter_box = page.get_by_label("查找村站")

        # 1. A first checkout: every open station, grouped by township, none of them chosen.
        await buy_one(page, base)
        await expect(chosen).to_have_count(0)
        await expect(page.locator("#station-chosen")).to_have_text("尚未选择自提村站，请在下面选择。")
        for name in codes:
            await expect(page.get_by_text(name, exact=True)).to_be_visible()
        await expect(page.locator(".township-name", has_text="深渡水瑶族乡")).to_be_visible()
        await shot(page, "nothing-chosen")

        # 2. Submitting without a station: refused, the field named, what was typed kept.
        await page.get_by_label("收货人姓名").fill("黄阿婆")
        await page.get_by_label("手机号").fill("13912345678")
        await page.get_by_role("button", name="提交订单").click()
        await expect(page.get_by_role("alert")).to_contain_text("自提村站：请选择自提村站")
        await expect(page.get_by_label("手机号")).to_have_value("13912345678")
        await expect(chosen).to_have_count(0)
        await shot(page, "no-station-refused")

        # 3. The filter, as one types: a village the station serves (长江村 → 燎原村服务站).
        await filter_box.fill("长江")
        listed = page.locator("li[data-search]:visible")
        await expect(listed).to_have_count(1)
        await expect(listed).to_contain_text("燎原村服务站")
        await expect(page.locator("#station-count")).to_contain_text("“长江”找到 1 个村站")
        await expect(page.locator(".township-name", has_text="深渡水瑶族乡")).to_be_hidden()
        url = page.url
        await filter_box.press("Enter")  # the filter is already applied: no reload, nothing lost
        await expect(page.get_by_label("收货人姓名")).to_have_value("黄阿婆")
        assert page.url == url
        # … and by township name.
        await filter_box.fill("司前")
        await expect(listed).to_have_count(1)
        await expect(listed).to_contain_text("黄所村服务站")
        await filter_box.fill("长江")
        await shot(page, "filtered")

        # 4. Choose it and place the order.
        await listed.get_by_text("燎原村服务站").click()
        await expect(page.locator("#station-chosen")).to_have_text("已选：燎原村服务站（罗坝镇 · 燎原村）")
        await filter_box.fill("")
        every = await page.locator("li[data-search]").count()
        await expect(page.locator("li[data-search]:visible")).to_have_count(every)
        await shot(page, "chosen")
        await page.get_by_role("button", name="提交订单").click()
        await page.wait_for_url(re.compile(r"/orders/NP\d+\?done=placed$"))
        number = re.search(r"/orders/(NP\d+)", page.url).group(1)  # type: ignore[union-attr]
        await expect(page.get_by_text("燎原村服务站").first).to_be_visible()
        await shot(page, "placed")

        # 5. The next checkout in this browser: the station is chosen already.
        await buy_one(page, base)
        remembered = page.get_by_role("radio", name=re.compile("燎原村服务站"))
        await expect(remembered).to_be_checked()
        await expect(page.locator("#station-chosen")).to_contain_text("已选：燎原村服务站（罗坝镇 · 燎原村） 上次选择")
        await expect(chosen).to_have_count(1)
        await page.locator("#stations").scroll_into_view_if_needed()
        await shot(page, "remembered")
        await context.close()

    async with create_sessionmaker(committed_engine)() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        assert order is not None
        station = await session.get(Station, order.station_id)
        assert station is not None and station.code == codes["燎原村服务站"]
        assert (order.station_reason, order.contact_phone) == ("顾客选择的自提点", "+8613912345678")
    assert shot.taken() == [
        "01-nothing-chosen.png",
        "02-no-station-refused.png",
        "03-filtered.png",
        "04-chosen.png",
        "05-placed.png",
        "06-remembered.png",
    ]
