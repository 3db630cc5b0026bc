"""The brand-store console and a till's enrolment in a real browser: the admin opens a store, adds
a till, sets a clerk's PIN and shows the enrolment QR; the counter PC's browser opens what the QR
holds, enrols, and a clerk signs in on it through the POS API (the till cookie travels by itself);
revoked from the console, the till is refused at its next request. Screens go to
``test-output/store-browser/``."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from tests.fixtures.browser import PC, PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.pos import PIN

pytestmark = needs_chromium


async def test_a_store_its_till_and_the_till_enrolled_in_a_browser(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:5].upper()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        admin = await make_user(session, Role.admin, username=f"admin-pos-{tag.lower()}")
        await session.commit()
    store_code, prefix = f"STORE-{tag}", f"Q{tag}"
    shots = Shots("store-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, admin.username, "/admin/pos/stores")
        await page.get_by_label("编号").fill(store_code)
        await page.get_by_label("名称").fill("始兴墨江市场店")
        await page.get_by_label("地址").fill("始兴县墨江路农贸市场 12 号")
        await page.get_by_role("button", name="创建门店").click()
        await page.wait_for_url(f"{base}/admin/pos/stores/{store_code}?**")
        await expect(page.locator(".notice")).to_contain_text(f"库位 {store_code} 已建立")

        await page.locator("#t-code").fill("T1")
        await page.locator("#t-name").fill("1 号收银台")
        await page.locator("#t-prefix").fill(prefix)
        await page.get_by_role("button", name="添加收银机").click()
        await page.wait_for_url(f"{base}/admin/pos/stores/{store_code}/tills/T1?**")

        # A clerk of this store (made in the user console, here directly) gets a PIN on the store page.
        async with sessionmaker() as session:
            from app.pos.repository import store_by_code

            store = await store_by_code(session, store_code)
            assert store is not None
            clerk = await make_user(session, Role.clerk, username=f"clerk-pos-{tag.lower()}", store_id=store.id)
            await session.commit()
        await page.goto(f"{base}/admin/pos/stores/{store_code}")
        await page.locator(f"#pin-{clerk.id}").fill(PIN)
        await page.locator(f"form[action$='/staff/{clerk.id}/pin'] button").click()
        await expect(page.locator(".notice")).to_contain_text("收银 PIN 已设置")
        await shots.take(page, "store-page")

        await page.goto(f"{base}/admin/pos/stores/{store_code}/tills/T1")
        await page.get_by_role("button", name="生成登记码").click()
        qr = page.locator(".enrol-qr svg")
        await expect(qr).to_be_visible()
        code = (await page.locator("#enrol-code").inner_text()).strip()
        await shots.take(page, "till-enrolment-code")
        qr_png = shots.path / "qr.png"
        await qr.screenshot(path=str(qr_png))
        decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(qr_png))]
        assert len(decoded) == 1 and decoded[0].endswith(f"/pos/enrol?code={code.replace('-', '')}")

        # The counter tablet opens what the QR holds (on this test server) and enrols.
        tablet = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        till_page = await tablet.new_page()
        till_page.set_default_timeout(10_000)
        await till_page.goto(f"{base}/pos/enrol?code={code.replace('-', '')}")
        await expect(till_page.get_by_label("登记码")).to_have_value(code.replace("-", ""))
        await till_page.get_by_label("本机说明").fill("柜台平板")
        await shots.take(till_page, "till-enrol-form")
        await till_page.get_by_role("button", name="登记本机").click()
        await expect(till_page.locator("#enrolled-till")).to_contain_text("1 号收银台")
        await shots.take(till_page, "till-enrolled")
        cookies = {c["name"]: c for c in await tablet.cookies()}
        assert cookies["np_till"]["httpOnly"] is True and cookies["np_till"]["sameSite"] == "Strict"

        # A clerk signs in on it through the POS API; the till cookie is the till.
        signed = await till_page.request.post(
            f"{base}/api/v1/pos/session", data={"username": clerk.username, "pin": PIN}
        )
        assert signed.status == 201, await signed.text()
        session_token = (await signed.json())["access_token"]
        who = await till_page.request.get(
            f"{base}/api/v1/pos/session", headers={"Authorization": f"Bearer {session_token}"}
        )
        assert who.status == 200 and (await who.json())["store_code"] == store_code

        # Revoked from the console: the till and the clerk on it are refused at the next request.
        await page.goto(f"{base}/admin/pos/stores/{store_code}/tills/T1")
        await expect(page.get_by_role("rowheader", name=re.compile("柜台平板"))).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        await page.locator(".admin-table button.danger").first.click()
        await expect(page.locator(".notice")).to_contain_text("已吊销")
        await shots.take(page, "till-revoked")
        after = await till_page.request.get(
            f"{base}/api/v1/pos/session", headers={"Authorization": f"Bearer {session_token}"}
        )
        assert after.status == 401
        again = await till_page.request.post(
            f"{base}/api/v1/pos/session", data={"username": clerk.username, "pin": PIN}
        )
        assert again.status == 401 and (await again.json())["error"] == "till_not_enrolled"

        await page.set_viewport_size(PC)
        await page.goto(f"{base}/admin/pos/stores")
        await expect(page.get_by_role("link", name="始兴墨江市场店")).to_be_visible()
        await shots.take(page, "store-list")
    assert shots.taken() == [
        "01-store-page.png",
        "02-till-enrolment-code.png",
        "03-till-enrol-form.png",
        "04-till-enrolled.png",
        "05-till-revoked.png",
        "06-store-list.png",
        "qr.png",
    ]
