"""A store manager's say at the till, in a real browser (issue 14, items 1, 2 and 7): a discount
within the clerk's limit needs nobody; beyond it the till asks a manager's user name + PIN (an
approval token for that sale) and the sale lands with the manager as approver; taking cash out asks
the same; a return against the receipt number refunds its share in cash, with a manager's PIN; the X report
shows the shift so far; offline, a discount beyond the limit is refused with
the reason on screen. Screens go to ``test-output/till-manager-browser/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.pos.sale_models import CashMovement, Sale
from tests.fixtures.browser import PC, Shots, app_in_browser, needs_chromium
from tests.fixtures.pos import PIN
from tests.fixtures.pos_till import committed_stocked_till

pytestmark = needs_chromium


async def basket_discount(page: Any, amount: str, reason: str) -> None:
    await page.locator("#discount-button").click()
    await page.locator("#dlg-amount").fill(amount)
    await page.locator("#dlg-reason").fill(reason)
    await page.locator("#dialog-ok").click()


async def manager_types(page: Any, username: str, pin: str) -> None:
    await page.locator("#dlg-username").fill(username)
    await page.locator("#dlg-pin").fill(pin)
    await page.locator("#dialog-ok").click()


async def test_a_discount_beyond_the_limit_and_cash_out_take_a_managers_pin(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    shop = await committed_stocked_till(committed_engine)
    shots = Shots("till-manager-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        context = await browser.new_context(viewport=PC, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}/pos/enrol?code={shop.enrol_code}")
        await page.get_by_role("button", name="登记本机").click()
        await page.get_by_role("link", name="打开收银台").click()
        await page.get_by_label("工号").fill(shop.clerk.username)
        await page.locator("#signin-pin").fill(PIN)
        await page.get_by_role("button", name="登录").click()
        await page.locator("#open-float").fill("100")
        await page.get_by_role("button", name="开班").click()

        # 2 kg of pears by the PLU key: ¥37.00.
        await page.locator(f"#plu-keys .key[data-variant='{shop.pear.id}']").click()
        await page.locator("#dlg-weight").fill("2")
        await page.locator("#dialog-ok").click()
        await expect(page.locator("#t-total")).to_have_text("37.00")

        # ¥2.00 off (5 %, within the clerk's 10 %): no manager.
        await basket_discount(page, "2", "老顾客")
        await expect(page.locator("#t-total")).to_have_text("35.00")

        # ¥10.00 off (27 %): the manager types user name and PIN; a wrong PIN is refused in the dialog.
        await basket_discount(page, "10", "品相一般")
        await expect(page.locator("#dialog-title")).to_have_text("店长授权")
        await manager_types(page, shop.manager.username, "0000")
        await expect(page.locator("#dialog-error")).not_to_be_empty()
        await shots.take(page, "manager-pin-refused")
        await manager_types(page, shop.manager.username, PIN)
        await expect(page.locator("#t-total")).to_have_text("27.00")
        await expect(page.locator("#t-discount")).to_contain_text("品相一般")
        await shots.take(page, "discount-approved")
        await page.locator("#pay-button").click()
        await page.get_by_role("button", name="收现金").click()
        await expect(page.locator("#change")).to_have_text("0.00")
        sale_number = (await page.locator("#receipt-view .r-meta", has_text="单号").inner_text()).removeprefix("单号 ")
        await expect(page.locator("#pending")).to_have_text("待上传 0", timeout=15_000)

        # Cash out: the manager's PIN again.
        await page.locator("#menu-button").click()
        await page.locator("#cash-out").click()
        await page.locator("#dlg-amount").fill("50")
        await page.locator("#dlg-reason").fill("存银行")
        await page.locator("#dialog-ok").click()
        await manager_types(page, shop.manager.username, PIN)
        await expect(page.locator("#flash")).to_contain_text("已记录取出 50.00 元")
        await expect(page.locator("#pending")).to_have_text("待上传 0", timeout=15_000)

        # A return of 1 of the 2 kg: the refund is its share of what was paid (¥27.00 ÷ 2), in cash.
        await page.locator("#return-button").click()
        await page.locator("#return-number").fill(sale_number)
        await page.get_by_role("button", name="查找").click()
        await page.get_by_label("沙田梨").fill("3")  # more than was sold: refused on the till
        await page.locator("#return-reason").fill("有磕碰")
        await page.locator("#return-confirm").click()
        await expect(page.locator("#flash")).to_contain_text("不超过未退的数量")
        await page.get_by_label("沙田梨").fill("1")
        await page.locator("#return-confirm").click()
        await manager_types(page, shop.manager.username, PIN)
        await expect(page.locator("#return-refund")).to_have_text("13.50")
        await expect(page.locator("#return-out")).to_contain_text("王店长")
        await shots.take(page, "return-refunded")
        await page.locator("#return-back").click()
        await page.locator("#menu-button").click()
        await expect(page.locator("#shift-facts")).to_contain_text("应有现金 63.50 元")

        await page.locator("#x-report").click()
        await expect(page.locator("#report-title")).to_have_text("X 报表（班中）")
        await expect(page.locator("#report-body [data-field=sales_count]")).to_have_text("1")
        await expect(page.locator("#report-body [data-field=discounts_minor]")).to_have_text("10.00")
        await expect(page.locator("#report-body [data-field=cash_out_minor]")).to_have_text("50.00")
        await expect(page.locator("#report-body [data-field=refunds_minor]")).to_have_text("13.50")
        await expect(page.locator("#report-body [data-field=expected_cash_minor]")).to_have_text("63.50")
        await shots.take(page, "x-report")
        await page.locator("#report-back").click()
        await page.locator("#menu-back").click()
        await expect(page.locator("#basket li")).to_have_count(0)  # the paid basket is gone

        # Offline, a discount beyond the limit cannot be approved: refused, the basket unchanged.
        await page.locator(f"#plu-keys .key[data-variant='{shop.pear.id}']").click()
        await page.locator("#dlg-weight").fill("1")
        await page.locator("#dialog-ok").click()
        await context.set_offline(True)
        await expect(page.locator("#net")).to_have_text("离线")
        await basket_discount(page, "5", "临期")
        await expect(page.locator("#flash")).to_contain_text("离线时不能办理")
        await expect(page.locator("#t-total")).to_have_text("18.50")
        await shots.take(page, "offline-discount-refused")
        await context.set_offline(False)

    async with create_sessionmaker(committed_engine)() as session:
        sale = (await session.execute(select(Sale).where(Sale.till_id == shop.till.id))).scalar_one()
        assert (sale.discount_minor, sale.discount_reason, sale.total_minor) == (1000, "品相一般", 2700)
        assert sale.discount_approved_by_id == shop.manager.id
        moved = (await session.execute(select(CashMovement).where(CashMovement.reason == "存银行"))).scalars().all()
        assert [(m.direction, m.amount_minor, m.approved_by_id) for m in moved] == [("out", 5000, shop.manager.id)]
