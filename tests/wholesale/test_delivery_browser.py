"""A stop delivered three bags short with one damaged, in a real browser: the warehouse opens the
stop from the trip board, is refused a damage without its photo, records it with the photo; the
buyer then sees the invoice with its credit note in the portal and opens the PDF.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium; the real clock (the trip is
the route's next one). Screens go to ``test-output/delivery-browser/``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from tests.fixtures.browser import Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.deliveries import dispatched_order
from tests.fixtures.images import phone_jpeg
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku

pytestmark = needs_chromium


async def test_the_warehouse_records_a_short_delivery_and_the_buyer_reads_the_credit_note(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6]
    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        sausage = await supply_sku(session, wholesale_minor=3450)
        ours = await buyer(session, city=city)
        order = await dispatched_order(session, ours, [(sausage, 2)])
        keeper = await make_user(session, Role.warehouse, username=f"keeper-{tag}")
        await session.commit()
    photo = tmp_path / "damage.jpg"
    photo.write_bytes(phone_jpeg((400, 300)))

    shots = Shots("delivery-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, keeper.username, f"/admin/wholesale/deliveries/{order.number}")
        page.on("dialog", lambda dialog: dialog.accept())
        await expect(page.get_by_role("heading", level=1)).to_contain_text(order.number)
        await page.get_by_label("签收人").fill("黄先生")
        await page.get_by_label(f"{sausage.sku} 短缺数量").fill("3")
        await page.get_by_label(f"{sausage.sku} 破损数量").fill("1")
        await page.get_by_label(f"{sausage.sku} 说明").fill("少 3 袋，1 袋破")
        await shots.take(page, "stop-form")
        await page.get_by_role("button", name="登记签收并开具结算单").click()
        await expect(page.get_by_role("alert")).to_contain_text("破损须上传照片")
        await expect(page.get_by_label(f"{sausage.sku} 短缺数量")).to_have_value("3")
        await shots.take(page, "damage-without-photo")

        await page.get_by_label(f"{sausage.sku} 破损照片").set_input_files(str(photo))
        await page.get_by_role("button", name="登记签收并开具结算单").click()
        status = page.get_by_role("status")
        await expect(status).to_contain_text("已开具结算单 JS-")
        await expect(status).to_contain_text("红字结算单 HZ-")
        notice = await status.inner_text()
        invoice = re.search(r"JS-\d{8}-\d{4}", notice)
        note = re.search(r"HZ-\d{8}-\d{4}", notice)
        assert invoice and note
        await expect(page.locator("#documents")).to_contain_text("¥1,380.00")
        await shots.take(page, "stop-recorded")

        portal = await signed_in_page(browser, base, ours.user.username, f"/wholesale/orders/{order.number}")
        await portal.get_by_role("link", name=invoice.group(0)).click()
        await expect(portal.locator("#outstanding")).to_have_text("¥1,242.00")  # 1,380.00 − 4 × 34.50
        await expect(portal.locator("#credit-notes")).to_contain_text(note.group(0))
        await shots.take(portal, "buyer-invoice")
        await portal.get_by_role("link", name=note.group(0)).click()
        await expect(portal.locator("#against")).to_contain_text(invoice.group(0))
        await expect(portal.locator("#total")).to_have_text("-¥138.00")
        await shots.take(portal, "buyer-credit-note")
        await portal.goto(f"{base}/wholesale/invoices")
        await shots.take(portal, "buyer-invoices")

    assert shots.taken() == [
        "01-stop-form.png",
        "02-damage-without-photo.png",
        "03-stop-recorded.png",
        "04-buyer-invoice.png",
        "05-buyer-credit-note.png",
        "06-buyer-invoices.png",
    ]
