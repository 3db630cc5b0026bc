"""Receiving in a real browser (issue 11 item 9): the warehouse scans a jar of honey, the form
proposes its registered grower and says who grows it; picking the bamboo-shoot co-operative
instead is flagged at once and refused on submit, and goes through only as a confirmed exception
with a reason, which the lots page and the public trace page then show.

Screenshots (PC and phone) go to ``test-output/stock-browser/`` (gitignored) to be looked at.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum import ean

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.supply.models import Lot
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import ensure_warehouse, make_product, make_supplier, make_user, make_variant

REASON = "代收：瑶山蜂农托竹笋合作社转交"

pytestmark = needs_chromium


@dataclass(frozen=True)
class Seeded:
    username: str
    barcode: str
    sku: str
    beekeeper: str
    bamboo: str
    bamboo_code: str
    variant_id: int


async def seed(engine: AsyncEngine) -> Seeded:
    tag = uuid.uuid4().hex[:6].upper()
    async with create_sessionmaker(engine)() as session:
        await ensure_warehouse(session)
        beekeeper = await make_supplier(session, code=f"SUP-BEE-{tag}", name=f"瑶山蜜蜂养殖家庭农场{tag}")
        bamboo = await make_supplier(session, code=f"SUP-BSH-{tag}", name=f"满堂竹笋专业合作社{tag}")
        honey = await make_product(
            session,
            slug=f"honey-{tag.lower()}",
            name_zh="瑶山百花蜜",
            shelf_life_days=540,
            supplier_code=beekeeper.code,  # its usual supplier: registered as its grower
        )
        body = f"6974099{int(tag, 16) % 100000:05d}"
        jar = await make_variant(
            session, product=honey, sku=f"HONEY-{tag}", name_zh="500 克瓶装", barcode=body + ean.calc_check_digit(body)
        )
        keeper = await make_user(session, Role.warehouse, username=f"wh-{tag.lower()}")
        seeded = Seeded(keeper.username, jar.barcode or "", jar.sku, beekeeper.name, bamboo.name, bamboo.code, jar.id)
        await session.commit()
    return seeded


async def test_receiving_from_a_non_grower_needs_a_confirmed_exception_in_a_real_browser(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    seeded = await seed(committed_engine)
    shots = Shots("stock-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, seeded.username, "/admin/lots/receive")

        # 1. The scanner types the barcode and presses Enter: product chosen, its grower proposed
        #    and named as the registered one.
        await expect(page.get_by_label("扫码或输入 SKU")).to_be_focused()
        await page.keyboard.type(seeded.barcode, delay=10)
        await page.keyboard.press("Enter")
        supplier = page.locator("#r-supplier")
        hint = page.locator("#r-supplier-hint")
        await expect(supplier).to_have_value(re.compile(r"^SUP-BEE-"))
        await expect(hint).to_have_text(f"该商品的登记生产者：{seeded.beekeeper}")
        await expect(page.locator("#r-exception")).not_to_have_attribute("open", "")
        await page.get_by_label("数量").fill("24")
        await shots.take(page, "grower-proposed")

        # 2. The bamboo-shoot co-operative instead: flagged at once, the exception opened.
        await supplier.select_option(seeded.bamboo_code)
        await expect(hint).to_contain_text("所选供应商未登记为该商品的生产者")
        await expect(hint).to_have_class(re.compile(r"\bbad\b"))
        await expect(page.locator("#r-exception")).to_have_attribute("open", "")
        await shots.take(page, "non-grower-flagged")

        # 3. Submitted anyway without confirming: refused, nothing received.
        await page.get_by_role("button", name="确认收货入库").click()
        await expect(page.locator("main")).to_contain_text(f"供应商“{seeded.bamboo}”")
        await expect(page.locator("#r-exception")).to_have_attribute("open", "")
        await shots.take(page, "refused")
        async with create_sessionmaker(committed_engine)() as session:
            assert list(await session.scalars(select(Lot.id).where(Lot.variant_id == seeded.variant_id))) == []

        # 4. Confirmed with a reason: received; the lots page shows the exception.
        await page.get_by_label("我确认按例外收货").check()
        await page.get_by_label("例外原因（勾选时必填）").fill(REASON)
        await shots.take(page, "exception-confirmed")
        await page.get_by_role("button", name="确认收货入库").click()
        await page.wait_for_url(re.compile(r"/admin/lots\?lot="))
        new_row = page.locator("tr.new")
        await expect(new_row).to_contain_text("例外收货：非登记生产者")
        await expect(new_row).to_contain_text(f"原因：{REASON} · 确认人 {seeded.username}")
        await shots.take(page, "lots-page")

        # 5. Its public trace page: the co-operative is the source, not the producer.
        await page.get_by_role("link", name="查看追溯页").click()
        await expect(page.get_by_role("heading", name="供货方")).to_be_visible()
        await expect(page.get_by_role("heading", name="生产者")).to_have_count(0)
        await expect(page.locator("main")).to_contain_text("本批次由以下供货方经销或代收，并非其自产。")
        await expect(page.locator("main")).not_to_contain_text(REASON)
        await shots.take(page, "trace-page")

        # 6. The same form on a phone.
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        await phone.add_cookies(await page.context.cookies())
        small = await phone.new_page()
        await small.goto(f"{base}/admin/lots/receive")
        await small.locator("#r-sku").select_option(seeded.sku)
        await small.locator("#r-supplier").select_option(seeded.bamboo_code)
        await expect(small.locator("#r-exception")).to_have_attribute("open", "")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the form scrolls sideways on a phone ({width}px)"
        await shots.take(small, "phone")

    async with create_sessionmaker(committed_engine)() as session:
        lots = list(await session.scalars(select(Lot).where(Lot.variant_id == seeded.variant_id)))
        assert [(lot.quantity_received, lot.grower_exception_reason) for lot in lots] == [(24, REASON)]
        assert lots[0].grower_exception_by_id is not None
