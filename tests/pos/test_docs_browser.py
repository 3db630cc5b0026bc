"""The customer's public sale page and the console's Z report in a real browser (chromium): the sale
page on a phone as a receipt's QR code opens it, its lot links leading to the trace page; the Z
report page as a store manager signed in sees it, on a PC and on a phone, with nothing wider than
the screen. Screenshots go to ``test-output/pos-docs-browser/``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.pos.models import StoreManager
from app.pos.sale_models import Sale
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.pos_counter import lot_of
from tests.fixtures.pos_sales import make_shop
from tests.pos.test_shift_console import closed_shift

pytestmark = needs_chromium


async def fits(page: object) -> None:
    """Nothing on the page is wider than its viewport (no sideways scrolling on a phone)."""
    width = await page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    viewport = page.viewport_size  # type: ignore[attr-defined]
    assert width <= viewport["width"], (width, viewport)


async def test_the_public_sale_page_and_the_z_report_in_a_browser(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        shop = await make_shop(session, jin_stock="1", name="太平镇农贸市场店", address="太平镇农贸市场 12 号档")
        shift = await closed_shift(session, shop)  # the 斤 sale: 2 sold, the book held 1
        box_lot = await lot_of(session, shop, shop.box)
        manager = await make_user(session, Role.store_manager, display_name="温店长")
        session.add(StoreManager(store_id=shop.store.id, user_id=manager.id))
        sales = (await session.scalars(select(Sale).where(Sale.shift_id == shift.id).order_by(Sale.id))).all()
        await session.commit()

    shots = Shots("pos-docs-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        # ---- the customer scans the receipt's QR code with a phone ---------------------------------
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await phone.new_page()
        for sale in sales:
            await page.goto(f"{base}/r/{sale.client_id}")
            assert await page.get_by_role("heading", name="太平镇农贸市场店").count() == 1
            await fits(page)
            await shots.take(page, f"sale-{sale.number}-phone")
        assert "账面库存不足" in await page.content()
        first = await browser.new_context(viewport=PHONE, locale="zh-CN")
        trace = await first.new_page()
        await trace.goto(f"{base}/r/{sales[0].client_id}")
        await trace.get_by_role("link", name=f"批次 {box_lot.code}").click()
        await trace.wait_for_url(f"{base}/t/{box_lot.code}")
        await shots.take(trace, "lot-trace-from-sale-phone")
        missing = await page.goto(f"{base}/r/00000000-0000-4000-8000-000000000000")
        assert missing is not None and missing.status == 404

        # ---- the store manager reads the Z report and confirms the variance ------------------------
        console = await signed_in_page(browser, base, manager.username, f"/admin/pos/shifts?store={shop.store.code}")
        await shots.take(console, "shifts-list-pc")
        await console.get_by_role("link", name=str(shift.client_id)[:8].upper()).click()
        await console.wait_for_url(f"{base}/admin/pos/shifts/{shift.id}")
        assert "Z 报表" in await console.content()
        await shots.take(console, "z-report-pc")
        await console.set_viewport_size(PHONE)
        await fits(console)
        await shots.take(console, "z-report-phone")
        await console.set_viewport_size({"width": 1280, "height": 800})
        await console.get_by_role("button", name="我已核实，确认差额").click()
        await console.wait_for_url(f"{base}/admin/pos/shifts/{shift.id}?notice=*")
        assert "店长已批准" in await console.content()
        await shots.take(console, "z-report-confirmed-pc")
    assert len(shots.taken()) == 7
