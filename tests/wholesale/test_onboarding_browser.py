"""Onboarding in a real browser: an applicant fills /wholesale/apply on a phone (a credit code with a
wrong check character is fixed after the message), the centre approves it with net-30 terms on the
console, the owner invites a colleague, and the colleague opens the SMS link, sets a password and
signs in. uvicorn on 127.0.0.1 over the committed database, Debian's chromium; screenshots in the
test's tmp dir."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import BuyerCompany, CompanyStatus, PaymentTerms, Role, User
from app.db import create_sessionmaker
from app.notifications.models import NotificationMessage
from tests.fixtures.browser import PHONE, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import DEFAULT_PASSWORD, make_user
from tests.wholesale.helpers import credit_code, wrong_check

pytestmark = needs_chromium


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.step = 0

    async def __call__(self, page: object, name: str) -> Path:
        self.step += 1
        path = self.folder / f"{self.step:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


async def test_apply_approve_invite_and_join(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6]
    name = f"广州越秀鲜果行{tag}"
    owner_name, colleague_name = f"gz-{tag}", f"gz-{tag}-li"
    code = credit_code(int(tag, 16))
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        admin = await make_user(session, Role.admin, username=f"admin-{tag}", display_name="林运营")
        await session.commit()

    shots = Shots(tmp_path / "shots")
    async with app_in_browser(committed_database_url, tmp_path / "data") as (base, browser):
        # 1. The applicant, on a phone.
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await phone.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}/wholesale/apply")
        await page.fill("#f-name", name)
        await page.fill("#f-credit_code", wrong_check(code))
        await page.fill("#f-contact_name", "黄先生")
        await page.fill("#f-contact_phone", "13926010000")
        await page.select_option("#f-addresses-0-city", "广州")
        await page.fill("#f-addresses-0-address", "广州市越秀区大沙头水果市场 2 楼 18 档")
        await page.fill("#f-addresses-0-receiving_from", "05:30")
        await page.fill("#f-addresses-0-receiving_until", "09:00")
        await page.fill("#f-addresses-0-contact_name", "黄先生")
        await page.fill("#f-addresses-0-contact_phone", "13926010000")
        await page.fill("#f-username", owner_name)
        await page.fill("#f-password", DEFAULT_PASSWORD)
        await shots(page, "apply-filled")
        await page.get_by_role("button", name="提交申请").click()
        message = page.locator("#e-credit_code")
        await expect(message).to_contain_text("校验位不正确")
        await expect(page.locator("#f-credit_code")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#f-name")).to_have_value(name)
        await shots(page, "apply-credit-code-refused")
        await page.fill("#f-credit_code", code)
        await page.fill("#f-password", DEFAULT_PASSWORD)  # never sent back into the form
        await page.get_by_role("button", name="提交申请").click()
        await page.wait_for_url(re.compile(r".*/wholesale/applied.*"))
        await expect(page.get_by_role("heading", name="申请已提交")).to_be_visible()
        await shots(page, "applied")
        await phone.close()

        async with sessionmaker() as session:
            company = await session.scalar(select(BuyerCompany).where(BuyerCompany.name == name))
            assert company is not None and company.status is CompanyStatus.pending
            company_id = company.id

        # 2. The centre approves with net-30 terms on the console.
        page = await signed_in_page(browser, base, admin.username, "/admin/companies")
        await page.get_by_role("link", name=name, exact=True).click()
        await page.wait_for_url(f"{base}/admin/companies/{company_id}")
        await page.get_by_label("月结 30 天").check()
        await page.get_by_label("信用额度（元，月结必填）").fill("50000")
        await page.get_by_label("周二").check()
        await page.get_by_label("周五").check()
        await shots(page, "console-terms")
        await page.get_by_role("button", name="按以上条款通过审核").click()
        await expect(page.locator(".notice").first).to_contain_text("已通过审核")
        await expect(page.locator("h1 .tag")).to_have_text("已通过")
        await shots(page, "console-approved")
        await page.context.close()

        async with sessionmaker() as session:
            company = await session.get(BuyerCompany, company_id)
            assert company is not None
            assert (company.status, company.payment_terms, company.credit_limit_minor, company.delivery_weekdays) == (
                CompanyStatus.approved,
                PaymentTerms.net_30,
                5_000_000,
                [2, 5],
            )

        # 3. The owner invites a colleague.
        page = await signed_in_page(browser, base, owner_name, "/wholesale/team")
        await page.get_by_label("同事姓名").fill("李小红")
        await page.get_by_label("同事手机").fill("13926018888")
        await page.get_by_role("button", name="发送邀请").click()
        await expect(page.locator(".notice").first).to_contain_text("已向 李小红 发送邀请短信")
        await expect(page.get_by_text("李小红（+8613926018888）")).to_be_visible()
        await shots(page, "team-invited")
        await page.context.close()

        async with sessionmaker() as session:
            sms = await session.scalar(
                select(NotificationMessage).where(
                    NotificationMessage.template == "buyer_invitation",
                    NotificationMessage.reference == f"company:{company_id}",
                )
            )
            assert sms is not None and sms.recipient == "+8613926018888"
        link = re.search(r"(https?://\S+/wholesale/join\?t=\S+)", sms.body)
        assert link is not None
        target = urlsplit(link.group(1))

        # 4. The colleague opens the link on a phone, sets a password and signs in.
        phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await phone.new_page()
        page.set_default_timeout(10_000)
        await page.goto(f"{base}{target.path}?{target.query}")
        await expect(page.get_by_text(name)).to_be_visible()
        await page.get_by_label("用户名").fill(colleague_name)
        await page.get_by_label("密码", exact=True).fill(DEFAULT_PASSWORD)
        await page.get_by_label("再输入一次密码").fill(DEFAULT_PASSWORD)
        await shots(page, "join-filled")
        await page.get_by_role("button", name="开通账号").click()
        await expect(page.get_by_role("heading", name="账号已开通")).to_be_visible()
        await shots(page, "joined")
        await page.get_by_role("link", name="去登录").click()
        await page.get_by_label("用户名").fill(colleague_name)
        await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url(f"{base}/account")
        await expect(page.get_by_role("link", name="李小红")).to_be_visible()
        await shots(page, "colleague-signed-in")
        await phone.close()

    async with sessionmaker() as session:
        colleague = await session.scalar(select(User).where(User.username == colleague_name))
        assert colleague is not None
        assert (colleague.role, colleague.company_id, colleague.is_company_owner) == (Role.buyer, company_id, False)
    print(f"screenshots: {shots.folder}")
