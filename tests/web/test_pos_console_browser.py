"""The brand-store console in a real browser: a store manager signs in and lands on its home,
opens the stock exceptions, writes one off, asks the warehouse for goods; the warehouse ships the
request as a transfer. Screens go to ``test-output/pos-console-browser/``."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.kit.quantities import Unit
from app.pos.models import StoreManager
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_category, make_product, make_user, make_variant, receive
from tests.fixtures.pos_console import Line, make_sale, store_with_location

pytestmark = needs_chromium


async def test_a_manager_resolves_an_exception_and_the_warehouse_ships_a_request(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:5].upper()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        store, location = await store_with_location(session, code=f"STORE-{tag}", name=f"仁化丹霞市场店{tag}")
        category = await make_category(session, slug=f"fruit-{tag.lower()}")
        product = await make_product(session, category=category, slug=f"pomelo-{tag.lower()}", name_zh="沙田柚")
        pomelo = await make_variant(session, product=product, sku=f"POM-{tag}", name_zh="单个装", unit=Unit.piece)
        await receive(session, pomelo, "30")  # at the warehouse
        made = await make_sale(session, store, location, [Line(pomelo, "3", 1500, short="3")], made_offline=True)
        manager = await make_user(session, Role.store_manager, username=f"mgr-{tag.lower()}", display_name="李店长")
        session.add(StoreManager(store_id=store.id, user_id=manager.id))
        keeper = await make_user(session, Role.warehouse, username=f"wh-{tag.lower()}")
        await session.commit()
    shots = Shots("pos-console-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, manager.username, "/admin/pos")
        await expect(page.get_by_role("heading", name="门店概览")).to_be_visible()
        await expect(page.locator(f"#h-store-{store.code}")).to_contain_text(store.name)
        await shots.take(page, "manager-home")

        # The exceptions page: the offline sale's shortfall, written off with a note.
        await page.get_by_role("link", name="库存异常").first.click()
        await page.wait_for_url(f"{base}/admin/pos/exceptions**")
        row = page.locator(f"#exc-{made.exceptions[0].id}")
        await expect(row).to_contain_text(made.sale.number)
        await row.locator("summary").click()
        await shots.take(page, "exceptions-open")
        await row.get_by_label("核销损失").check()
        await row.get_by_role("button", name="确认处理").click()
        await expect(page.locator(".errors")).to_contain_text("请填写说明")
        await shots.take(page, "exceptions-refused")
        row = page.locator(f"#exc-{made.exceptions[0].id}")
        await row.get_by_label("核销损失").check()
        await row.get_by_label("说明").fill("断网时售出，柚子已交给顾客，按损耗核销")
        await row.get_by_role("button", name="确认处理").click()
        await expect(page.locator(".notice")).to_contain_text("短缺已处理：核销损失")
        await page.goto(f"{base}/admin/pos/exceptions?status=resolved&store={store.code}")
        await expect(page.locator(f"#exc-{made.exceptions[0].id}")).to_contain_text("李店长")
        await shots.take(page, "exceptions-resolved")

        # The sale the exception came from.
        await page.get_by_role("link", name=made.sale.number).click()
        await expect(page.get_by_role("heading", name=f"销售单 {made.sale.number}")).to_be_visible()
        await shots.take(page, "sale")

        # A replenishment request from the store's page form.
        await page.goto(f"{base}/admin/pos/stores/{store.code}/replenishment/new")
        await page.locator("#r-sku-1").fill(pomelo.sku)
        await page.locator("#r-qty-1").fill("12")
        await page.get_by_label("备注").fill("周末赶集，请周五前送到")
        await shots.take(page, "replenishment-new")
        await page.get_by_role("button", name="提交申请").click()
        await expect(page.locator(".notice")).to_contain_text("已提交")
        number = (await page.locator("article h2 code").first.inner_text()).strip()
        assert number.startswith("BH-")
        await shots.take(page, "replenishment-requested")

        # The phone: the manager's exceptions page on a narrow screen.
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        await phone.add_cookies(await page.context.cookies())
        narrow = await phone.new_page()
        await narrow.goto(f"{base}/admin/pos/exceptions?status=all")
        await shots.take(narrow, "exceptions-phone")
        await phone.close()

        # The warehouse ships it.
        desk = await signed_in_page(browser, base, keeper.username, "/admin/pos/replenishment")
        article = desk.locator(f"#bh-{number}")
        await expect(article).to_contain_text("等待发货")
        await shots.take(desk, "warehouse-waiting")
        await article.get_by_role("button", name="发货（生成调拨单）").click()
        await expect(desk.locator(".notice")).to_contain_text("已发货：调拨单")
        article = desk.locator(f"#bh-{number}")
        await expect(article).to_contain_text("已发货")
        await shots.take(desk, "warehouse-shipped")
        transfer_link = article.locator("a[href^='/admin/transfers#tr-']")
        await transfer_link.click()
        await desk.wait_for_url(f"{base}/admin/transfers#tr-**")
        await expect(desk.locator("#in-transit")).to_contain_text(f"补货申请 {number}")
        await shots.take(desk, "transfer-in-transit")
    assert len(shots.taken()) == 11
