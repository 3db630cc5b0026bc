"""A buyer cancels a wholesale order on the portal in a real browser, at phone and desktop width:
the order's page offers 取消订单, the confirm page says what happens and asks for an optional reason,
and after 确认取消订单 the order page shows it cancelled with no cancel button left.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium; the route runs every day, so
the order's trip is still before its cut-off whatever the hour. Screens go to
``test-output/wholesale-cancel-browser/``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.wholesale import ordering
from app.wholesale.ordering import BasketLine
from tests.fixtures.browser import PC, PHONE, Shots, app_in_browser, needs_chromium
from tests.fixtures.builders import DEFAULT_PASSWORD
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku

pytestmark = needs_chromium


async def test_a_buyer_cancels_an_order_after_confirming(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        sku = (await supply_sku(session)).sku
        ours = await buyer(session, city=city)
        numbers = [
            (
                await ordering.place_order(
                    session, ours.principal, [BasketLine(sku, cases=2)], address_id=ours.address.id
                )
            ).order.number
            for _ in range(2)
        ]
        await session.commit()

    shots = Shots("wholesale-cancel-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        for (width, viewport), number in zip((("phone", PHONE), ("desktop", PC)), numbers, strict=True):
            context = await browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = await context.new_page()
            page.set_default_timeout(10_000)
            await page.goto(f"{base}/login?next=/wholesale/orders/{number}")
            await page.get_by_label("用户名").fill(ours.user.username)
            await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await page.wait_for_url(f"{base}/wholesale/orders/{number}")
            await expect(page.locator("#order-status")).to_have_text("已确认")
            await shots.take(page, f"{width}-order")

            await page.get_by_role("link", name="取消订单").click()
            await page.wait_for_url(f"{base}/wholesale/orders/{number}/cancel")
            await expect(page.get_by_role("heading", name=f"取消订单 {number}")).to_be_visible()
            await page.get_by_label("取消原因（选填）").fill("门店临时歇业")
            await shots.take(page, f"{width}-confirm")
            await page.get_by_role("button", name="确认取消订单").click()

            await page.wait_for_url(f"{base}/wholesale/orders/{number}?notice=*")
            await expect(page.locator("#order-status")).to_have_text("已取消")
            await expect(page.get_by_role("status").first).to_contain_text("订单已取消，库存和车位已释放")
            await expect(page.get_by_role("link", name="取消订单")).to_have_count(0)
            await shots.take(page, f"{width}-cancelled")
            width_now = await page.evaluate("document.documentElement.scrollWidth")
            assert width_now <= viewport["width"], f"the {width} page is {width_now}px wide"
            await context.close()

    assert shots.taken() == [
        "01-phone-order.png",
        "02-phone-confirm.png",
        "03-phone-cancelled.png",
        "04-desktop-order.png",
        "05-desktop-confirm.png",
        "06-desktop-cancelled.png",
    ]
