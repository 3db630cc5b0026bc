"""A phone scans the parcel label's "扫码查件" QR code: the real label PDF from the warehouse route is
decoded, and Debian's chromium (390×844) opens the address it holds, while the parcel is on its way
and again once it waits at the station. Screenshots go to ``test-output/parcel-status-browser/``."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.stations import parcels
from app.stations.models import Parcel
from tests.fixtures.builders import auth, make_user, token_for
from tests.stations.test_labels import QR, read_pdf
from tests.web.test_shop_browser import serve
from tests.web.test_station_browser import CHROMIUM, PHONE, seed

SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "parcel-status-browser"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")


async def test_a_phone_opens_the_label_qr(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    # Not 始兴枇杷: the shop's browser test picks that one from the listing by name.
    seeded = await seed(committed_engine, product_name="始兴香菇干")
    async with create_sessionmaker(committed_engine)() as session:
        keeper = auth(await token_for(session, await make_user(session, Role.warehouse)))
        await session.commit()
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    server_engine = create_engine(committed_database_url, null_pool=True)
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(settings, engine=server_engine, task_sender=RecordingSender())
    try:
        with serve(app) as base:
            # The server's port is known once it listens: that is the address its labels print.
            app.state.settings = settings.model_copy(update={"public_base_url": base})
            async with httpx.AsyncClient(base_url=base) as client:
                label = await client.get(
                    "/api/v1/admin/parcels/labels.pdf", params={"tracking": seeded.tracking_number}, headers=keeper
                )
            assert label.status_code == 200, label.text
            [printed] = read_pdf(label.content, "parcel-status-browser-label")
            [url] = printed.codes[QR]
            assert url == f"{base}/p/{seeded.tracking_number}"

            from playwright.async_api import async_playwright

            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                context = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
                page = await context.new_page()
                page.set_default_timeout(10_000)

                await page.goto(url)
                await expect(page.get_by_role("heading", level=1)).to_have_text("运输中")
                await expect(page.locator(".parcel-station")).to_have_text(seeded.station_name)
                await expect(page.locator(".timeline li.now")).to_contain_text("已发车，运往村站")
                await expect(page.locator("main")).not_to_contain_text(seeded.order_number)
                # Readable on a phone: nothing wider than the screen.
                assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                await page.screenshot(path=str(SHOTS / "01-on-the-way.png"), full_page=True)

                async with create_sessionmaker(committed_engine)() as session:
                    parcel = await session.scalar(
                        select(Parcel).where(Parcel.tracking_number == seeded.tracking_number)
                    )
                    assert parcel is not None
                    # The station's scanner reads the same QR code.
                    shelved = await parcels.scan_in(
                        session, station_id=parcel.station_id, tracking_number=url, actor_user_id=None
                    )
                    code = parcels.customer_pickup_code(shelved) or ""
                    await session.commit()

                await page.reload()
                await expect(page.get_by_role("heading", level=1)).to_have_text("在架待取")
                await expect(page.locator(".notice")).to_contain_text("请凭短信中的取件码到站领取")
                await expect(page.locator("main")).not_to_contain_text(code.rsplit("-", 1)[1])
                assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
                await page.screenshot(path=str(SHOTS / "02-at-the-station.png"), full_page=True)
                await browser.close()
    finally:
        await server_engine.dispose()
