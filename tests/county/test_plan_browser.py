"""The targets page and the evidence form in a real browser, at 1366 × 768 and on a phone: an admin
records an event with a photo, the county official reads the same pages without forms.
Screens go to ``test-output/county-plan/``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.county.models import AssetKind
from app.db import create_sessionmaker
from tests.county.fixtures import asset
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_station, make_user
from tests.fixtures.images import phone_jpeg

pytestmark = needs_chromium
DESKTOP = {"width": 1366, "height": 768}


async def test_targets_page_and_evidence_form_on_a_desktop_and_a_phone(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid4().hex[:6]  # the committed database outlives the test
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        admin = await make_user(session, Role.admin, username=f"plan-admin-{tag}")
        official = await make_user(session, Role.county_official, username=f"plan-official-{tag}")
        station = await make_station(session, code=f"ST-PL-{tag}", name=f"浏览器村站 {tag}")
        await asset(session, AssetKind.printer, station, date(2021, 11, 20))
        await asset(session, AssetKind.pda, station, date(2021, 11, 21), retired=date(2022, 5, 1))
        await session.commit()
    photo = tmp_path / "salon.jpg"
    photo.write_bytes(phone_jpeg((800, 500)))
    title = f"电商沙龙 {tag}"

    shots = Shots("county-plan")
    async with app_in_browser(committed_database_url, tmp_path / "data") as (base, browser):
        page = await signed_in_page(browser, base, admin.username, "/admin/county/targets")
        await page.set_viewport_size(DESKTOP)
        await expect(page.get_by_role("heading", name="规划目标")).to_be_visible()
        await expect(page.get_by_role("link", name="新增村级站点")).to_be_visible()
        await shots(page, "targets-desktop")

        await page.goto(f"{base}/admin/county/evidence")
        await page.get_by_text("登记一条证据").click()
        await page.locator("#ev-kind").select_option("centre_event")
        await page.locator("#ev-date").fill("2022-03-12")
        await page.locator("#ev-title").fill(title)
        await page.locator("#ev-place").fill("县电子商务公共服务中心")
        await page.locator("#ev-people").fill("46")
        await page.locator("#ev-summary").fill("讲解直播选品与包装。")
        await page.locator("#ev-photos").set_input_files(str(photo))
        await shots(page, "evidence-form-desktop")
        await page.get_by_role("button", name="登记").click()
        await expect(page.get_by_role("heading", name=title)).to_be_visible()
        image = page.get_by_role("img", name=f"{title} 照片 1")
        await expect(image).to_be_visible()
        # 800 × 500 with EXIF "turned 90°": kept upright, so 500 wide. Read once it has loaded: an
        # <img> is visible (laid out) before its bytes arrive, and on a loaded machine (CI) it read 0.
        width = await image.evaluate(
            "img => img.complete ? img.naturalWidth : new Promise((done, failed) => {"
            " img.addEventListener('load', () => done(img.naturalWidth), {once: true});"
            " img.addEventListener('error', () => failed(new Error('the photo did not load')), {once: true}); })"
        )
        assert width == 500
        await shots(page, "evidence-recorded-desktop")

        await page.goto(f"{base}/admin/county/targets?quarter=2022Q1")
        await expect(page.get_by_text(title)).to_be_visible()
        await shots(page, "targets-2022q1-desktop")

        await page.goto(f"{base}/admin/county/assets")
        await page.get_by_text("修改 / 停用").first.click()
        await shots(page, "assets-desktop")
        await page.goto(f"{base}/admin/county/funds/2021.2.1")
        await shots(page, "fund-line-desktop")

        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        await phone.add_cookies(await page.context.cookies())
        mobile = await phone.new_page()
        await mobile.goto(f"{base}/admin/county/targets?quarter=2022Q1")
        await expect(mobile.get_by_role("heading", name="规划目标")).to_be_visible()
        width = await mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width  # no sideways scrolling on a phone
        await shots(mobile, "targets-phone")
        await mobile.goto(f"{base}/admin/county/evidence")
        await mobile.get_by_text("登记一条证据").click()
        await shots(mobile, "evidence-form-phone")

        reader = await signed_in_page(browser, base, official.username, "/admin/county/targets?quarter=2022Q1")
        await reader.set_viewport_size(PHONE)
        await expect(reader.get_by_text(title)).to_be_visible()
        await expect(reader.get_by_text("新增目标（以后年度）")).to_have_count(0)
        await reader.goto(f"{base}/admin/county/evidence")
        await expect(reader.get_by_text("登记一条证据")).to_have_count(0)
        await reader.get_by_role("link", name=title).click()
        await expect(reader.get_by_role("img", name=f"{title} 照片 1")).to_be_visible()
        await expect(reader.get_by_role("button", name="删除这条误登记的记录")).to_have_count(0)
        await shots(reader, "evidence-official-phone")
        await reader.goto(f"{base}/admin/county/funds")
        await shots(reader, "funds-official-phone")
    assert len(shots.taken()) == 10
