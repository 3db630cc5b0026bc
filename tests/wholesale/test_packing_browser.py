"""The warehouse packs a wholesale order in a real browser, opening it with a keyboard-wedge scan.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium. The scan box has the focus
when the page opens; the "scanner" types the order number and Enter, which opens the order with
its lines (the weighed line empty, the counted one at its ordered count). Too many pieces comes
back with the message next to that line; corrected, the order is packed and its case labels are
offered. Screens go to ``test-output/trip-packing-browser/``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.wholesale import ordering
from app.wholesale.ordering import BasketLine
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.test_tripops import weighed_sku

pytestmark = needs_chromium


async def test_a_scanned_order_opens_and_is_packed(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        pieces, loose = await supply_sku(session), await weighed_sku(session)
        ours = await buyer(session, city=city)
        placed = await ordering.place_order(
            session,
            ours.principal,
            [BasketLine(pieces.sku, cases=2), BasketLine(loose.sku, cases=2)],
            address_id=ours.address.id,
        )
        keeper = await make_user(session, Role.warehouse, username=f"packer-{uuid.uuid4().hex[:6]}")
        await session.commit()
    trip, number = placed.trip.trip.number, placed.order.number

    shots = Shots("trip-packing-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, keeper.username, f"/admin/wholesale/trips/{trip}/packing")
        await expect(page.get_by_label("扫码或输入订单号")).to_be_focused()
        await page.keyboard.type(number)  # what a keyboard-wedge scanner sends
        await page.keyboard.press("Enter")
        await expect(page.locator(f"#pack-{number}")).to_contain_text("未打包")
        counted = page.get_by_label(f"{pieces.sku} 打包数量（个）")
        weighed = page.get_by_label(f"{loose.sku} 打包数量（千克）")
        await expect(counted).to_have_value("40")
        await expect(weighed).to_have_value("")
        await counted.fill("41")
        await weighed.fill("19.6")
        await page.get_by_role("button", name="确认打包").click()
        await expect(page.locator(".field-error")).to_have_text("不能多于订购数量 40 个")
        await expect(weighed).to_have_value("19.6")
        await shots.take(page, "line-refused")

        await counted.fill("40")
        await page.get_by_role("button", name="确认打包").click()
        await expect(page.get_by_role("status")).to_contain_text(f"订单 {number}（第 1 站）已打包")
        await expect(page.locator("#packed-progress")).to_contain_text("已打包 1 / 1 单，可以发车")
        await expect(page.locator(f"#row-{number}")).to_contain_text("箱贴")
        await shots.take(page, "packed")
        await page.set_viewport_size(PHONE)
        await page.goto(f"{base}/admin/wholesale/trips/{trip}/packing?order={number}")
        await expect(page.get_by_role("link", name="打印箱贴 PDF")).to_be_visible()
        await shots.take(page, "packed-phone")
