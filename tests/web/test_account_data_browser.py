"""A customer on the account page in a real browser: downloads their data, then deletes the
account by typing 注销. Screens go to ``test-output/account-data-browser/``."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role, User
from app.db import create_sessionmaker
from tests.fixtures.browser import Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user

pytestmark = needs_chromium


async def test_the_customer_downloads_their_data_and_deletes_the_account(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    username = f"pipl-{uuid4().hex[:8]}"  # the committed database outlives the test
    # A number of its own: other tests in the committed database text the usual test number, and
    # the export holds every SMS sent to the customer's number.
    phone = f"+86139{uuid4().int % 10**8:08d}"
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        user = await make_user(session, Role.customer, username=username, display_name="李阿姨", phone=phone)
        user_id = user.id
        await session.commit()

    shots = Shots("account-data-browser")
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        page = await signed_in_page(browser, base, username, "/account")
        await expect(page.get_by_role("link", name="下载我的数据（JSON）")).to_be_visible()
        await shots.take(page, "account-page")

        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="下载我的数据（JSON）").click()
        download = await download_info.value
        assert download.suggested_filename.startswith("my-data-") and download.suggested_filename.endswith(".json")
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        data = json.loads(saved.read_text(encoding="utf-8"))
        assert data["profile"]["username"] == username and data["profile"]["phone"] == phone
        assert data["orders"] == [] and data["notifications"] == []

        await page.get_by_text("注销账户", exact=True).click()
        await page.get_by_label("请输入“注销”二字确认").fill("注销")
        await shots.take(page, "delete-confirmation")
        await page.get_by_role("button", name="永久注销我的账户").click()
        await expect(page.get_by_role("heading", name="账户已注销")).to_be_visible()
        await shots.take(page, "deleted")

        await page.goto(f"{base}/account")
        await page.wait_for_url(f"{base}/login?next=/account")

    async with sessionmaker() as session:
        gone = await session.get(User, user_id)
        assert gone is not None
        assert (gone.username, gone.phone, gone.is_active) == (f"deleted-{user_id}", None, False)
    assert shots.taken() == ["01-account-page.png", "02-delete-confirmation.png", "03-deleted.png"]
