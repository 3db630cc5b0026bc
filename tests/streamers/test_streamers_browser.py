"""Sellers in a real browser: an admin registers a seller and opens its page (link, QR); the
streamer signs in on a phone and sees its own page. Screens go to ``test-output/streamers/``."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from app.streamers.models import Seller
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user

pytestmark = needs_chromium


async def test_admin_registers_a_seller_and_the_streamer_sees_its_page(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid4().hex[:6]  # the committed database outlives the test
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        admin = await make_user(session, Role.admin, username=f"zb-admin-{tag}")
        streamer = await make_user(session, Role.streamer, username=f"zb-streamer-{tag}")
        await session.commit()

    shots = Shots("streamers")
    async with app_in_browser(committed_database_url, tmp_path / "data") as (base, browser):
        page = await signed_in_page(browser, base, admin.username, "/admin/streamers")
        await page.locator("#s-name").fill(f"始兴好物直播间 {tag}")
        await page.locator("#s-pct").fill("5")
        await page.locator("#s-user").select_option(label=streamer.username)
        await shots(page, "sellers-desktop")
        await page.get_by_role("button", name="登记").click()
        await expect(page.get_by_role("heading", name="带货链接")).to_be_visible()
        await expect(page.locator("svg").first).to_be_visible()
        await shots(page, "seller-desktop")

        phone = await signed_in_page(browser, base, streamer.username, "/streamer", viewport=PHONE)
        await expect(phone.get_by_text("佣金结算单").first).to_be_visible()
        await shots(phone, "streamer-phone")

    async with sessionmaker() as session:
        seller = await session.scalar(select(Seller).where(Seller.user_id == streamer.id))
        assert seller is not None and seller.commission_bps == 500
        await session.delete(seller)
        await session.commit()
