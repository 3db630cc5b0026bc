"""The quarterly report in a real browser: an admin on a 1366 × 768 screen previews a finished
quarter, issues it and opens the PDF; the county official reads the issued report on a phone
(390 × 844) without an issue button. Screens (and the PDF's first page as PNG) go to
``test-output/county-report/``; the charts must be wide enough to read on both."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.county import reports
from app.county.report_models import QuarterlyReport
from app.db import create_sessionmaker
from tests.county.report_fixtures import FixtureSources
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import DEFAULT_PASSWORD, make_user

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

pytestmark = needs_chromium
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
# The charts' smallest text is 13 units in a 360-unit box: at this width it is at least 11 px.
MIN_CHART_WIDTH = 305


async def test_an_admin_issues_and_the_official_reads_on_a_phone(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:5]
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        admin = await make_user(session, Role.admin, username=f"admin-rep-{tag}", display_name="中心管理员 陈")
        official = await make_user(session, Role.county_official, username=f"official-{tag}", display_name="县领导小组")
        await session.commit()
    period = reports.current_quarter().previous()  # a finished quarter, whatever today is
    shots = Shots("county-report")
    try:
        async with app_in_browser(committed_database_url, tmp_path, state={"report_sources": FixtureSources()}) as (
            base,
            browser,
        ):
            page = await signed_in_page(browser, base, admin.username, "/admin/county/reports")
            await page.set_viewport_size(DESKTOP)
            await expect(page.locator(f"#quarter-{period.label}")).to_contain_text("未发布")
            await shots.take(page, "list-desktop")

            await page.locator(f"#quarter-{period.label}").get_by_role("link", name="预览").click()
            await page.wait_for_url(f"{base}/admin/county/reports/{period.label}")
            await expect(page.locator("#report-state")).to_have_text("未发布 · 预览")
            await expect(page.locator("#preview-warning")).to_be_visible()
            await shots.take(page, "preview-desktop")

            await page.get_by_role("button", name="发布本报告").click()
            await page.wait_for_url(f"{base}/admin/county/reports/{period.label}?version=1**")
            await expect(page.locator("#report-state")).to_have_text("第 1 版（最新）")
            await expect(page.locator(".notice")).to_contain_text("第 1 版")
            for chart in await page.locator(".report-chart svg").all():
                box = await chart.bounding_box()
                assert box is not None and box["width"] >= MIN_CHART_WIDTH, box
            # The issued quarter's own months and evidence, whichever quarter that is.
            months = [period.first_day.replace(month=period.first_day.month + n) for n in range(3)]
            shown = await page.locator("#monthly-table tbody th").all_inner_texts()
            assert shown == [f"{month:%Y-%m}" for month in months]
            monthly_chart = page.locator(".report-chart svg").nth(3)
            for month in months:
                await expect(monthly_chart).to_contain_text(f"{month.month} 月")
            evidence = await page.locator(".evidence-list li li").all_inner_texts()
            assert evidence and all(
                period.first_day.isoformat() <= e[:10] <= period.last_day.isoformat() for e in evidence
            )
            await page.evaluate("window.scrollTo(0, 0)")
            await page.screenshot(path=str(shots.path / "03a-issued-desktop-first-screen.png"))
            await shots.take(page, "issued-desktop")

            answer = await page.request.get(f"{base}/admin/county/reports/{period.label}.pdf")
            assert answer.status == 200
            pdf_path = shots.path / "report.pdf"
            pdf_path.write_bytes(await answer.body())
            rendered = await asyncio.create_subprocess_exec(
                "pdftoppm", "-r", "110", "-png", "-f", "1", "-l", "2", str(pdf_path), str(shots.path / "pdf-page")
            )  # fmt: skip
            assert await rendered.wait() == 0

            phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
            reader = await phone.new_page()
            await reader.goto(f"{base}/login?next=/admin/county/reports/{period.label}")
            await reader.get_by_label("用户名").fill(official.username)
            await reader.get_by_label("密码").fill(DEFAULT_PASSWORD)
            await reader.get_by_role("button", name="登录").click()
            await reader.wait_for_url(f"{base}/admin/county/reports/{period.label}")
            await expect(reader.locator("#report-state")).to_have_text("第 1 版（最新）")
            await expect(reader.get_by_role("button", name="重新发布（第 2 版）")).to_have_count(0)
            await expect(reader.get_by_role("link", name="下载 PDF")).to_be_visible()
            for chart in await reader.locator(".report-chart svg").all():
                box = await chart.bounding_box()
                assert box is not None and box["width"] >= MIN_CHART_WIDTH, box
            # Nothing sticks out sideways except inside a table's own scroller.
            overflow = await reader.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, overflow
            await shots.take(reader, "issued-phone")
            await reader.goto(f"{base}/admin/county/reports")
            await shots.take(reader, "list-phone")
            await phone.close()
    finally:
        async with sessionmaker() as session:
            await session.execute(
                delete(QuarterlyReport).where(
                    QuarterlyReport.year == period.year, QuarterlyReport.quarter == period.quarter
                )
            )
            await session.commit()
    assert (shots.path / "pdf-page-1.png").exists() or (shots.path / "pdf-page-01.png").exists()
