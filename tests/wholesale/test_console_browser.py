"""An admin approves a held wholesale order on the ops console in a real browser.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium. A company with a ¥500 limit
places ¥400 then ¥200: the second is held; the console lists it first with its exposure against
the limit, and "审批通过" (after the confirm dialog) confirms it. Screens go to
``test-output/wholesale-console-browser/``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.wholesale import ordering
from app.wholesale.models import CreditState
from app.wholesale.ordering import BasketLine
from tests.fixtures.browser import Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku

pytestmark = needs_chromium


async def test_an_admin_approves_a_held_order_on_the_console(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6]
    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, name="始兴—测试冷链线", cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        sausage = await supply_sku(session, wholesale_minor=1000)  # ¥200.00 a case
        ours = await buyer(session, city=city, credit_limit_minor=50_000)
        lines = [BasketLine(sausage.sku, cases=2)]
        within = await ordering.place_order(session, ours.principal, lines, address_id=ours.address.id)
        lines = [BasketLine(sausage.sku, cases=1)]
        held = await ordering.place_order(session, ours.principal, lines, address_id=ours.address.id)
        assert held.wholesale.credit_state == CreditState.held.value
        admin = await make_user(session, Role.admin, username=f"console-{tag}")
        company_id, number = ours.company.id, held.order.number
        await session.commit()

    shots = Shots("wholesale-console-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        path = f"/admin/wholesale/orders?company={company_id}"
        page = await signed_in_page(browser, base, admin.username, path)
        held_row = page.locator(f"#order-{number}")
        await expect(held_row).to_contain_text("敞口 ¥600.00 / 额度 ¥500.00 · 超出 ¥100.00")
        await expect(page.locator("tbody tr").first).to_have_id(f"order-{number}")
        await expect(page.locator(f"#order-{within.order.number}")).to_contain_text(CreditState.clear.label_zh)
        await shots.take(page, "held-order-first")

        page.on("dialog", lambda dialog: dialog.accept())
        await held_row.get_by_role("button", name="审批通过").click()
        await expect(page.get_by_role("status")).to_contain_text(f"订单 {number} 已审批")
        await expect(page.get_by_label("采购商")).to_have_value(str(company_id))  # still filtered
        await expect(page.locator(f"#order-{number}")).to_contain_text(CreditState.approved.label_zh)
        await expect(page.get_by_role("button", name="审批通过")).to_have_count(0)
        await shots.take(page, "approved")
