"""A buyer orders on the portal in a real browser, at phone and desktop width.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium. The buyer fills three rows of
the quick-order grid, one below its minimum: the page comes back with the message on that row and
the other rows kept; the buyer fixes it, places the order and lands on its confirmation page.
Screens go to ``test-output/wholesale-portal-browser/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from tests.fixtures.browser import PC, PHONE, Shots, app_in_browser, needs_chromium
from tests.fixtures.builders import DEFAULT_PASSWORD
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = needs_chromium


async def fits(page: Page, name: str, width: int) -> None:
    """The page itself never scrolls sideways (only the grid's own scroller may)."""
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the {name} page is {scroll_width}px wide"


async def test_a_buyer_fixes_a_row_below_the_minimum_and_places_the_order(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        rows = [
            await supply_sku(session),
            await supply_sku(session, min_quantity="100"),  # 5 cases of 20 at least
            await supply_sku(session, case_pack=10),
        ]
        ours = await buyer(session, city=city)
        await session.commit()
    plain, moq, small = (v.sku for v in rows)

    shots = Shots("wholesale-portal-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        for width, viewport in (("phone", PHONE), ("desktop", PC)):
            context = await browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = await context.new_page()
            page.set_default_timeout(10_000)
            await page.goto(f"{base}/login?next=/wholesale")
            await page.get_by_label("用户名").fill(ours.user.username)
            await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
            await page.get_by_role("button", name="登录").click()
            await page.wait_for_url(f"{base}/wholesale")

            await page.get_by_label(f"{plain} 箱数").fill("2")
            await page.get_by_label(f"{moq} 箱数").fill("1")
            await page.get_by_label(f"{small} 箱数").fill("3")
            await shots.take(page, f"{width}-grid-filled")
            await page.get_by_role("button", name="提交订单").click()

            await expect(page.locator(f"#err-{moq}")).to_contain_text("起订")
            await expect(page.get_by_role("alert")).to_be_visible()
            await expect(page.get_by_label(f"{plain} 箱数")).to_have_value("2")
            await expect(page.get_by_label(f"{small} 箱数")).to_have_value("3")
            await expect(page.locator(f"#err-{plain}")).to_have_count(0)
            await shots.take(page, f"{width}-below-minimum")
            await fits(page, width, viewport["width"])

            await page.get_by_label(f"{moq} 箱数").fill("5")
            await page.get_by_role("button", name="提交订单").click()
            await expect(page.get_by_role("heading", name="订单")).to_be_visible()
            await expect(page.locator("#order-status")).to_have_text("已确认")
            await expect(page.get_by_role("link", name="下载订货确认单（PDF）")).to_be_visible()
            await expect(page.locator("tbody tr")).to_have_count(3)
            # 40 × 34.50 + 100 × 34.50 + 30 × 34.50
            await expect(page.locator("#order-total")).to_have_text("¥5,865.00")
            await fits(page, width, viewport["width"])
            await shots.take(page, f"{width}-confirmation")
            await context.close()

    assert shots.taken() == [
        "01-phone-grid-filled.png",
        "02-phone-below-minimum.png",
        "03-phone-confirmation.png",
        "04-desktop-grid-filled.png",
        "05-desktop-below-minimum.png",
        "06-desktop-confirmation.png",
    ]
