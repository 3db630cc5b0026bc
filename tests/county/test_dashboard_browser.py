"""The county dashboard in a real browser, for an admin and for the county official, on a 1366 × 768
screen and a 390 × 844 phone: the charts render (inline SVG, no script), nothing overflows the
phone's width, a figure opens the list behind it, and the official's list shows masked names.

Screenshots go to ``test-output/county-dashboard/`` (gitignored) to be looked at.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.channels import SalesChannel
from app.county import performance
from app.db import create_sessionmaker
from app.kit import clock
from app.orders.models import OrderStatus, PaymentMethod
from tests.county.fixture import MIDNIGHT, NAME_A, build, shop_order
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user, seq

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

pytestmark = needs_chromium

SUNDAY_NOON = MIDNIGHT + timedelta(hours=12)
SCREEN: ViewportSize = {"width": 1366, "height": 768}


async def seed(engine: AsyncEngine) -> tuple[str, str]:
    async with create_sessionmaker(engine)() as session:
        with clock.pinned(SUNDAY_NOON):
            await build(session)
            # A month of shop sales, so the trend has a shape.
            for day in range(2, 30):
                for n in range(day % 4 + 1):
                    paid = SUNDAY_NOON - timedelta(days=day, hours=n)
                    await shop_order(
                        session,
                        total=2_000 + (day * 731 + n * 377) % 9_000,
                        placed_at=paid - timedelta(minutes=5),
                        paid_at=paid,
                        status=OrderStatus.completed,
                        method=PaymentMethod.stripe,
                    )
            admin = await make_user(session, Role.admin, username=f"county-admin-{seq()}")
            official = await make_user(session, Role.county_official, username=f"county-official-{seq()}")
            await performance.refresh_figures(session, full=True)
        await session.commit()
    return admin.username, official.username


WIDER_THAN_THE_SCREEN = """() => {
  const limit = window.innerWidth + 1;
  if (document.documentElement.scrollWidth <= limit) return [];
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit && !e.closest('.table-wrap'))
    .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
}"""


async def wider_than_the_screen(page: Page) -> list[str]:
    """What sticks out past the viewport's right edge (tables scroll inside their own box)."""
    return list(await page.evaluate(WIDER_THAN_THE_SCREEN))


async def test_the_dashboard_on_a_screen_and_a_phone_for_admin_and_official(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    admin, official = await seed(committed_engine)
    shots = Shots("county-dashboard")
    with clock.pinned(SUNDAY_NOON):
        async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
            for who, username in (("admin", admin), ("official", official)):
                for size, viewport in (("1366", SCREEN), ("phone", PHONE)):
                    page = await signed_in_page(browser, base, username, "/admin", viewport=viewport)
                    for period in ("today", "30d"):
                        await page.goto(f"{base}/admin?period={period}")
                        await expect(page.get_by_role("heading", name="订单与销售额（按渠道）")).to_be_visible()
                        charts = page.locator("svg.chart")
                        await expect(charts).to_have_count(4)
                        box = await charts.first.bounding_box()
                        assert box is not None and box["width"] > 250 and box["height"] > 60
                        assert await wider_than_the_screen(page) == [], f"{who} {size} {period}"
                        await shots(page, f"{who}-{size}-{period}")
                    # A figure opens the list behind it.
                    await page.locator('a[data-figure="sales-shop"]').click()
                    await expect(page.get_by_role("heading", name="网店订单明细")).to_be_visible()
                    if who == "official":
                        await expect(page.get_by_text(NAME_A)).to_have_count(0)
                    else:
                        assert await page.get_by_text(NAME_A).count() >= 0
                    assert await wider_than_the_screen(page) == []
                    await shots(page, f"{who}-{size}-shop-list")
                    # Online retail opens shop + wholesale; an attention count its whole list.
                    await page.goto(f"{base}/admin?period=30d")
                    await page.locator('a[data-figure="online-retail"]').click()
                    await expect(page.locator("#grand-total")).to_contain_text(
                        f"{SalesChannel.shop.label_zh} + {SalesChannel.wholesale.label_zh}合计"
                    )
                    assert await wider_than_the_screen(page) == []
                    await shots(page, f"{who}-{size}-online-retail")
                    await page.goto(f"{base}/admin")
                    await page.locator('a[data-figure="attention-stuck-orders"]').click()
                    await expect(page.get_by_role("heading", name="状态停留过久的订单")).to_be_visible()
                    assert await wider_than_the_screen(page) == []
                    await shots(page, f"{who}-{size}-stuck-orders")
                    await page.context.close()
    assert len(shots.taken()) == 20
