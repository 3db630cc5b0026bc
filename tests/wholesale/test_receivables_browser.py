"""Staff record a payment on a company's account and a buyer reads its statement, in a real browser.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium. A company owes a ¥600 invoice
overdue and a ¥200 one not yet due; the aged receivables list it as overdue; the admin records a
¥700 transfer, which pays the overdue invoice and ¥100 of the other; the buyer's statement page
shows what is left. Screens go to ``test-output/wholesale-receivables-browser/``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.kit import clock
from tests.fixtures.browser import Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.receivables import issue_invoice, order_of
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku

pytestmark = needs_chromium


async def test_staff_record_a_payment_and_the_buyer_reads_the_statement(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6]
    city = unique_city()
    today = clock.today()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, name="始兴—测试冷链线", cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        sku = (await supply_sku(session, wholesale_minor=1000)).sku  # ¥200.00 a case
        ours = await buyer(session, city=city)
        late = await issue_invoice(
            session,
            await order_of(session, ours.principal, ours.address.id, sku, 3),
            issue_date=today - timedelta(days=40),
            due_date=today - timedelta(days=10),
        )
        await issue_invoice(
            session,
            await order_of(session, ours.principal, ours.address.id, sku, 1),
            issue_date=today,
            due_date=today + timedelta(days=30),
        )
        admin = await make_user(session, Role.admin, username=f"money-{tag}")
        company_id, company_name, buyer_name = ours.company.id, ours.company.name, ours.user.username
        await session.commit()

    shots = Shots("wholesale-receivables-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, admin.username, "/admin/wholesale/receivables")
        row = page.locator(f"#company-{company_id}")
        await expect(row).to_contain_text("逾期")
        await expect(row).to_contain_text("¥800.00")
        await shots.take(page, "aged-receivables")

        await row.get_by_role("link", name=company_name).click()
        await expect(page.locator("#open-invoices")).to_contain_text(late.number)
        await page.fill("#p-amount", "700")
        await page.fill("#p-ref", f"ICBC-{tag}")
        await page.click("#payment-form button[type=submit]")
        await expect(page.locator("body")).to_contain_text(f"已登记收款 ¥700.00（ICBC-{tag}）")
        await expect(page.locator("#owed")).to_have_text("¥100.00")
        await expect(page.locator(f"#payment-ICBC-{tag}")).to_contain_text(f"{late.number} ¥600.00")
        await shots.take(page, "payment-recorded")

        portal = await signed_in_page(browser, base, buyer_name, "/wholesale/statements")
        await expect(portal.locator("#statement-pdf")).to_be_visible()
        await shots.take(portal, "buyer-statement")
        await portal.set_viewport_size({"width": 390, "height": 844})
        await shots.take(portal, "buyer-statement-phone")
