"""A buyer makes a standing order from an order's page in a real browser, at phone and desktop
width: 每周重复 lands on /wholesale/standing with the order's lines and the next week; the buyer
skips that week (the page says so and names the week after) and pauses it.
Screens go to ``test-output/wholesale-standing-browser/``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.wholesale import ordering
from app.wholesale.ordering import BasketLine
from tests.fixtures.browser import PC, PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.test_portal_browser import fits

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = needs_chromium


async def test_repeat_an_order_weekly_and_skip_a_week(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        sausage = await supply_sku(session)
        ours = await buyer(session, city=city)
        numbers = []
        for _ in range(2):
            placed = await ordering.place_order(
                session, ours.principal, [BasketLine(sausage.sku, cases=2)], address_id=ours.address.id
            )
            numbers.append(placed.order.number)
        await session.commit()

    shots = Shots("wholesale-standing-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        for (width, viewport), number in zip((("phone", PHONE), ("desktop", PC)), numbers, strict=True):
            page: Page = await signed_in_page(browser, base, ours.user.username, f"/wholesale/orders/{number}")
            await page.set_viewport_size(viewport)
            await page.get_by_role("button", name="每周重复").click()
            await page.wait_for_url(f"{base}/wholesale/standing?**")
            await expect(page.get_by_role("status")).to_contain_text(f"已按订单 {number} 设置每周")
            card = page.locator("section.standing-order").last
            await expect(card).to_contain_text(sausage.sku)
            await expect(card).to_contain_text("2 箱")
            await expect(card.locator(".standing-next")).to_contain_text("截单前自动下单")
            await shots.take(page, f"{width}-made")
            await fits(page, width, viewport["width"])

            await card.get_by_role("button", name="跳过下一周").click()
            await expect(page.get_by_role("status")).to_contain_text("这一周")
            card = page.locator("section.standing-order").last
            await expect(card.locator(".standing-next")).to_contain_text("已跳过")
            await expect(card.get_by_role("button", name="恢复")).to_have_count(1)  # undo the skip
            await shots.take(page, f"{width}-skipped")
            await card.get_by_role("button", name="暂停").click()
            card = page.locator("section.standing-order").last
            await expect(card.locator(".standing-next")).to_contain_text("已暂停")
            await shots.take(page, f"{width}-paused")
            await page.context.close()
